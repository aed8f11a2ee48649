package scene

import (
	"fmt"
	"math"
	"strings"
)

// Stats summarises a set of scenes of one room kind (or of all kinds).
type Stats struct {
	Games int
	// Receptacles is the mean number of receptacles per game.
	Receptacles float64
	// ObjectsPerReceptacle is the mean number of objects a receptacle holds
	// (an object in two receptacles at once counts for both).
	ObjectsPerReceptacle float64
	// Empty is the share of receptacles that hold nothing.
	Empty float64
	// Openable is the share of receptacles that open; all of them start
	// closed, so it is also the share of closed receptacles.
	Openable float64
	// SharedLoc is the share of receptacles reached from the same spot as
	// another receptacle.
	SharedLoc float64
	// Objects is the mean number of (typed) objects per game.
	Objects float64
	// InReceptacle is the share of objects that lie in a receptacle.
	InReceptacle float64
}

// Measure computes the statistics of a set of scenes.
func Measure(scenes []*Scene) Stats {
	var st Stats
	var recs, objsIn, held, empty, openable, shared, objs int
	for _, s := range scenes {
		st.Games++
		recs += len(s.Receptacles)
		holds := map[string]int{}
		for _, o := range s.Objects {
			if o.Type == "" {
				continue
			}
			objs++
			if o.In != "" {
				holds[o.In]++
				objsIn++
				held++
			}
			for _, r := range o.Also {
				holds[r]++
				held++
			}
		}
		locs := map[string]int{}
		for _, r := range s.Receptacles {
			locs[r.Loc]++
		}
		for _, r := range s.Receptacles {
			if holds[r.ID] == 0 {
				empty++
			}
			if r.Openable {
				openable++
			}
			if locs[r.Loc] > 1 {
				shared++
			}
		}
	}
	if st.Games == 0 {
		return st
	}
	g, r := float64(st.Games), float64(recs)
	st.Receptacles = r / g
	if recs > 0 {
		st.ObjectsPerReceptacle = float64(held) / r
		st.Empty = float64(empty) / r
		st.Openable = float64(openable) / r
		st.SharedLoc = float64(shared) / r
	}
	st.Objects = float64(objs) / g
	if objs > 0 {
		st.InReceptacle = float64(objsIn) / float64(objs)
	}
	return st
}

// Tolerance bounds how far generated statistics may stray from real ones:
// Rel is relative (for counts), Abs absolute (for shares).
type Tolerance struct {
	Rel, Abs float64
}

// DefaultTolerance is what the generator is held to against the real
// games: counts within 15 %, shares within 0.10.
func DefaultTolerance() Tolerance { return Tolerance{Rel: 0.15, Abs: 0.10} }

// Compare lists the statistics of got that stray from want by more than tol.
func Compare(want, got Stats, tol Tolerance) []string {
	var bad []string
	rel := func(name string, w, g float64) {
		if math.Abs(g-w) > tol.Rel*math.Abs(w) {
			bad = append(bad, fmt.Sprintf("%s: real %.3f, generated %.3f (more than %.0f%% apart)", name, w, g, tol.Rel*100))
		}
	}
	abs := func(name string, w, g float64) {
		if math.Abs(g-w) > tol.Abs {
			bad = append(bad, fmt.Sprintf("%s: real %.3f, generated %.3f (more than %.2f apart)", name, w, g, tol.Abs))
		}
	}
	rel("receptacles per game", want.Receptacles, got.Receptacles)
	rel("objects per receptacle", want.ObjectsPerReceptacle, got.ObjectsPerReceptacle)
	rel("objects per game", want.Objects, got.Objects)
	abs("share of empty receptacles", want.Empty, got.Empty)
	abs("share of openable (closed) receptacles", want.Openable, got.Openable)
	abs("share of receptacles at a shared spot", want.SharedLoc, got.SharedLoc)
	abs("share of objects in receptacles", want.InReceptacle, got.InReceptacle)
	return bad
}

// Table renders real and generated statistics per room as a Markdown table.
func Table(rooms []Room, real, gen map[Room]Stats) string {
	var b strings.Builder
	b.WriteString("| room | games (real / generated) | receptacles per game | objects per receptacle | empty receptacles | openable (closed at start) | at a shared spot | objects per game | objects in receptacles |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rooms {
		w, g := real[r], gen[r]
		fmt.Fprintf(&b, "| %s | %d / %d | %.1f / %.1f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.1f / %.1f | %.2f / %.2f |\n",
			r, w.Games, g.Games, w.Receptacles, g.Receptacles, w.ObjectsPerReceptacle, g.ObjectsPerReceptacle,
			w.Empty, g.Empty, w.Openable, g.Openable, w.SharedLoc, g.SharedLoc, w.Objects, g.Objects, w.InReceptacle, g.InReceptacle)
	}
	return b.String()
}
