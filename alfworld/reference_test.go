package alfworld

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/gantry-dev/gantry/internal/alfdata"
)

type refState struct {
	Obs        string   `json:"obs"`
	Admissible []string `json:"admissible"`
	Won        bool     `json:"won"`
}

type refEpisode struct {
	Game       string   `json:"game"`
	Grammar    string   `json:"grammar"`
	Episode    string   `json:"episode"`
	MaxSteps   *int     `json:"max_steps"`
	Init       refState `json:"init"`
	Commands   []string `json:"commands"`
	Obs        []string `json:"obs"`
	Admissible [][]string
	Done       []bool `json:"done"`
	Won        []bool `json:"won"`
}

// TestReferenceTraces replays the reference engine's recorded episodes
// (testdata/alfworld/reference) and compares every observation,
// admissible list, done and won flag.
func TestReferenceTraces(t *testing.T) {
	games := loadAll(t)
	for _, grammar := range []string{"classic", "current"} {
		t.Run(grammar, func(t *testing.T) {
			path := alfdata.Path(t, "testdata/alfworld/reference/"+grammar+".jsonl.gz")
			f, err := os.Open(path)
			if err != nil {
				t.Skipf("reference traces not present: %v", err)
			}
			defer f.Close()
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(zr)
			sc.Buffer(make([]byte, 1<<20), 1<<26)
			episodes, steps, bad := 0, 0, 0
			for sc.Scan() {
				var ep refEpisode
				if err := json.Unmarshal(sc.Bytes(), &ep); err != nil {
					t.Fatal(err)
				}
				var raw struct {
					Admissible [][]string `json:"admissible"`
				}
				if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
					t.Fatal(err)
				}
				ep.Admissible = raw.Admissible
				g := games[ep.Game]
				if g == nil {
					t.Fatalf("unknown game %s", ep.Game)
				}
				opts := Options{MaxSteps: -1}
				if ep.MaxSteps != nil {
					opts.MaxSteps = *ep.MaxSteps
				}
				if grammar == "current" {
					opts.Grammar = Current
				}
				env := NewEnv(g, opts)
				episodes++
				if got := env.Reset(); got != ep.Init.Obs {
					t.Errorf("%s %s reset:\n got %q\nwant %q", ep.Game, ep.Episode, got, ep.Init.Obs)
					bad++
				}
				if got := env.Admissible(); !slices.Equal(got, ep.Init.Admissible) {
					t.Errorf("%s %s reset admissible:\n got %q\nwant %q", ep.Game, ep.Episode, got, ep.Init.Admissible)
					bad++
				}
				for i, c := range ep.Commands {
					obs, done, won := env.Step(c)
					steps++
					if obs != ep.Obs[i] || done != ep.Done[i] || won != ep.Won[i] {
						bad++
						if bad < 20 {
							t.Errorf("%s %s step %d %q:\n got %q done=%v won=%v\nwant %q done=%v won=%v", ep.Game, ep.Episode, i, c, obs, done, won, ep.Obs[i], ep.Done[i], ep.Won[i])
						}
					}
					if adm := env.Admissible(); !slices.Equal(adm, ep.Admissible[i]) {
						bad++
						if bad < 20 {
							t.Errorf("%s %s step %d %q admissible:\n got %q\nwant %q", ep.Game, ep.Episode, i, c, adm, ep.Admissible[i])
						}
					}
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d episodes, %d steps, %d differences", episodes, steps, bad)
		})
	}
}
