// Package games carries the 134 ALFWorld games of the valid_unseen split
// (the evaluation split ReAct, MINT and the CodeAct paper used), embedded in
// the binary so that gantry runs offline with no data to download.
//
// The games are ALFWorld's data (MIT licence), as distributed with MINT
// (xingyaoww/mint-bench, data/processed/alfworld/json_2.1.1/valid_unseen).
package games

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/gantry-dev/gantry/alfworld"
)

//go:embed valid_unseen.tar.gz
var validUnseen []byte

//go:embed gamefile_id.txt
var runOrder string

// Game is one embedded game.
type Game struct {
	// ID is "<task>/<trial>", as MINT's task_id names it.
	ID   string
	Data []byte // the game.tw-pddl file
}

// ValidUnseen returns the 134 games in MINT's run order, unpacking the
// embedded archive (some 50 ms) on every call: a caller that needs the
// games more than once holds a Set.
func ValidUnseen() ([]Game, error) {
	zr, err := gzip.NewReader(bytes.NewReader(validUnseen))
	if err != nil {
		return nil, fmt.Errorf("embedded games: %w", err)
	}
	tr := tar.NewReader(zr)
	byID := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("embedded games: %w", err)
		}
		if !strings.HasSuffix(h.Name, "/game.tw-pddl") {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("embedded games: %w", err)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(h.Name, "json_2.1.1/valid_unseen/"), "/game.tw-pddl")
		byID[id] = data
	}
	var out []Game
	for _, id := range strings.Fields(runOrder) {
		data, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("embedded games: %s listed in the run order but missing", id)
		}
		out = append(out, Game{ID: id, Data: data})
	}
	return out, nil
}

// Load parses an embedded game. Its task type comes from its folder name.
func (g Game) Load() (*alfworld.Game, error) {
	game, err := alfworld.ParseGameFile(g.Data)
	if err != nil {
		return nil, fmt.Errorf("game %s: %w", g.ID, err)
	}
	game.Path = g.ID
	if t, err := alfworld.ParseTaskType(strings.SplitN(g.ID, "/", 2)[0]); err == nil {
		game.TaskType = t
	}
	return game, nil
}

// Set is the embedded split for a caller that looks games up more than
// once (a command replaying or picking many): it unpacks the archive on
// first use, once, and shares the games among its users. It is safe for
// concurrent use; the zero Set is not usable (NewSet).
type Set struct {
	all func() ([]Game, error)
}

// NewSet returns a Set that has not unpacked anything yet.
func NewSet() *Set { return &Set{all: sync.OnceValues(ValidUnseen)} }

// All returns the 134 games in MINT's run order. The slice is the caller's;
// the games' Data is shared and must not be modified.
func (s *Set) All() ([]Game, error) {
	all, err := s.all()
	return slices.Clone(all), err
}

// Find returns the game with the given ID (a task id, or a path ending in
// json_2.1.1/valid_unseen/<id>/game.tw-pddl).
func (s *Set) Find(id string) (Game, error) {
	all, err := s.all()
	if err != nil {
		return Game{}, err
	}
	return find(all, id)
}

// Find returns the embedded game with the given ID, unpacking the archive
// for this one call (Set.Find does it once for many).
func Find(id string) (Game, error) {
	all, err := ValidUnseen()
	if err != nil {
		return Game{}, err
	}
	return find(all, id)
}

func find(all []Game, id string) (Game, error) {
	id = strings.TrimSuffix(strings.TrimPrefix(id, "json_2.1.1/valid_unseen/"), "/game.tw-pddl")
	for _, g := range all {
		if g.ID == id {
			return g, nil
		}
	}
	return Game{}, fmt.Errorf("no embedded game %q", id)
}
