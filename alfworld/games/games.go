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
	"strings"

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

// ValidUnseen returns the 134 games in MINT's run order.
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

// Find returns the embedded game with the given ID.
func Find(id string) (Game, error) {
	all, err := ValidUnseen()
	if err != nil {
		return Game{}, err
	}
	id = strings.TrimSuffix(strings.TrimPrefix(id, "json_2.1.1/valid_unseen/"), "/game.tw-pddl")
	for _, g := range all {
		if g.ID == id {
			return g, nil
		}
	}
	return Game{}, fmt.Errorf("no embedded game %q", id)
}
