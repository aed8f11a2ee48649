package sandbox

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/tool"
)

// The code actions of real model episodes (MINT's ALFWorld records) run
// here against stub tools, and again in CPython with the same stubs; the
// share that runs, and the share whose output is identical, must not fall
// below what docs/sandbox.md reports.

var executeRE = regexp.MustCompile(`(?s)<execute>(.*?)</execute>`)

// mintEpisodes returns, per episode of a MINT results file, its code actions.
func mintEpisodes(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "alfworld", "mint", name+".jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var eps [][]string
	for sc.Scan() {
		var rec struct {
			State struct {
				History []struct{ Role, Content string }
			}
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		var blocks []string
		for _, h := range rec.State.History {
			if h.Role != "assistant" {
				continue
			}
			var parts []string
			for _, m := range executeRE.FindAllStringSubmatch(h.Content, -1) {
				parts = append(parts, strings.TrimSpace(m[1]))
			}
			if len(parts) > 0 {
				blocks = append(blocks, strings.Join(parts, "\n"))
			}
		}
		eps = append(eps, blocks)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return eps
}

var mintTools = []string{"put", "goto", "take_from", "open_receptacle", "close_receptacle", "toggle", "clean", "heat", "cool", "use", "look"}

// stubObservation is what a stub tool returns: deterministic, and shaped
// like the environment's text so that the code's branches are exercised.
func stubObservation(name string, args []string) string {
	switch name {
	case "goto":
		if strings.HasPrefix(args[0], "drawer") || strings.HasPrefix(args[0], "cabinet") || strings.HasPrefix(args[0], "fridge") {
			return "The " + args[0] + " is closed."
		}
		return "On the " + args[0] + ", you see a mug 1, and a apple 2."
	case "open_receptacle":
		return "You open the " + args[0] + ". The " + args[0] + " is open. In it, you see nothing."
	case "look":
		return "You are facing the countertop 1. Next to it, you see nothing."
	}
	return "Nothing happens."
}

const pythonStubs = `
import io, json, sys, contextlib
def _stub(name):
    def f(*args):
        args = [str(a) for a in args] + [""] * 2
        if name == "goto":
            if args[0].startswith(("drawer", "cabinet", "fridge")):
                return "The " + args[0] + " is closed."
            return "On the " + args[0] + ", you see a mug 1, and a apple 2."
        if name == "open_receptacle":
            return "You open the " + args[0] + ". The " + args[0] + " is open. In it, you see nothing."
        if name == "look":
            return "You are facing the countertop 1. Next to it, you see nothing."
        return "Nothing happens."
    return f
out = []
for ep in json.load(sys.stdin):
    ns = {n: _stub(n) for n in %s}
    res = []
    for block in ep:
        buf = io.StringIO()
        err = ""
        with contextlib.redirect_stdout(buf):
            try:
                exec(compile(block, "<action>", "exec"), ns)
            except BaseException as e:
                err = type(e).__name__
        res.append([buf.getvalue(), err])
    out.append(res)
json.dump(out, sys.stdout)
`

func stubRegistry() *tool.Registry {
	reg := tool.NewRegistry()
	for _, n := range mintTools {
		name := n
		reg.MustRegister(tool.Tool{
			Name:   name,
			Params: []tool.Param{{Name: "a", Type: tool.Any}, {Name: "b", Type: tool.Any}},
			Fn: func(_ context.Context, a tool.Args) (any, error) {
				args := []string{fmt.Sprint(a["a"]), fmt.Sprint(a["b"])}
				return stubObservation(name, args), nil
			},
		})
	}
	return reg
}

func TestMINTCodeActions(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	py := testenv.Python(t)
	// Floors: the shares measured when this test was written (docs/sandbox.md).
	floors := map[string]struct{ ran, same float64 }{
		"gpt-4-0613":                   {0.99, 0.99},
		"CodeActAgent-Mistral-7b-v0.1": {0.99, 0.99},
		"gpt-3.5-turbo-0613":           {0.99, 0.99},
	}
	for name, floor := range floors {
		t.Run(name, func(t *testing.T) {
			eps := mintEpisodes(t, name)
			input, _ := json.Marshal(eps)
			quoted, _ := json.Marshal(mintTools)
			cmd := exec.Command(py, "-c", fmt.Sprintf(pythonStubs, quoted))
			cmd.Stdin = strings.NewReader(string(input))
			outData, err := cmd.Output()
			if err != nil {
				t.Fatalf("python: %v", err)
			}
			var want [][][2]string
			if err := json.Unmarshal(outData, &want); err != nil {
				t.Fatal(err)
			}
			total, ran, same := 0, 0, 0
			fails := map[string]int{}
			for i, ep := range eps {
				s, err := New(stubRegistry(), Options{})
				if err != nil {
					t.Fatal(err)
				}
				for j, block := range ep {
					total++
					res, err := s.Exec(context.Background(), block)
					if err != nil {
						t.Fatal(err)
					}
					errType := ""
					if res.Err != nil {
						errType = res.Err.Type
						fails[errType+": "+firstLine(res.Err.Message)]++
					} else {
						ran++
					}
					if res.Stdout == want[i][j][0] && errType == want[i][j][1] {
						same++
					} else if testing.Verbose() {
						t.Logf("episode %d action %d differs:\n%s\n--- gantry (%s)\n%s--- CPython (%s)\n%s", i, j, block, errType, res.Stdout, want[i][j][1], want[i][j][0])
					}
				}
				s.Close()
			}
			rShare, sShare := float64(ran)/float64(total), float64(same)/float64(total)
			t.Logf("%s: %d code actions, %d ran without error (%.1f%%), %d identical to CPython (%.1f%%); errors: %v", name, total, ran, 100*rShare, same, 100*sShare, fails)
			if rShare < floor.ran || sShare < floor.same {
				t.Errorf("compatibility fell: ran %.3f (floor %.2f), identical %.3f (floor %.2f)", rShare, floor.ran, sShare, floor.same)
			}
		})
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}
