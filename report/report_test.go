package report

import (
	"bytes"
	"errors"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	testenv.Golden(t, *update, name, got)
}

func load(t *testing.T, names ...string) *Comparison {
	t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, filepath.Join("testdata", n))
	}
	runs, err := Load(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return Compare(runs)
}

// TestGolden: the text and Markdown comparisons of three runs.
func TestGolden(t *testing.T) {
	c := load(t, "code", "json", "short")
	var txt, md bytes.Buffer
	if err := c.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMarkdown(&md, "winrate.svg", "turns.svg"); err != nil {
		t.Fatal(err)
	}
	golden(t, "compare.txt", txt.Bytes())
	golden(t, "compare.md", md.Bytes())
}

// TestCompare: the figures behind the tables.
func TestCompare(t *testing.T) {
	c := load(t, "code", "json", "short")
	code, short := c.Runs[0], c.Runs[2]
	// The errored g5 was played again and won: it counts once, as won.
	if code.Stats.Episodes != 6 || code.Stats.Won != 4 || code.Stats.Errored != 0 {
		t.Fatalf("code: %+v", code.Stats)
	}
	if short.Stats.Episodes != 3 || short.Stats.Errored != 1 || short.Stats.Lost != 2 {
		t.Fatalf("short: %+v", short.Stats)
	}
	paired, unpaired := c.Diffs[0], c.Diffs[1]
	// json − code on the same six games: json won g2, code won g3.
	if !paired.Paired || paired.Games != 6 || paired.Table != [4]int{3, 1, 1, 1} || paired.Interval.Estimate != 0 || paired.Method != MethodPaired {
		t.Fatalf("paired: %+v", paired)
	}
	if unpaired.Paired || unpaired.Method != MethodUnpaired {
		t.Fatalf("unpaired: %+v", unpaired)
	}
	if len(unpaired.Identity) != 1 || unpaired.Identity[0].Name != "turns" {
		t.Fatalf("identity differences: %+v", unpaired.Identity)
	}
	if code.Turns[3] != 2 || code.Turns[5] != 2 {
		t.Fatalf("turns: %v", code.Turns)
	}
}

// TestLoadLabels: one folder of several variants labels them by variant;
// a missing folder is an error naming it.
func TestLoadLabels(t *testing.T) {
	dir := t.TempDir()
	var all []byte
	for _, n := range []string{"code", "json"} {
		data, err := os.ReadFile(filepath.Join("testdata", n, "transcripts.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, data...)
	}
	if err := os.WriteFile(filepath.Join(dir, "transcripts.jsonl"), all, 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Label != "openai:qwen2.5-coder-0.5b/code/starlark" || runs[1].Label != "openai:qwen2.5-coder-0.5b/json/starlark" {
		t.Fatalf("labels: %+v", runs)
	}
	if _, err := Load(filepath.Join(dir, "absent")); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("got %v", err)
	}
}

// TestCharts: both charts in both formats; the SVG names every run. The
// edge build refuses both with ErrNoCharts and writes nothing.
func TestCharts(t *testing.T) {
	c := load(t, "code", "json", "short")
	for _, draw := range []func(*bytes.Buffer, string) error{
		func(b *bytes.Buffer, f string) error { return c.WriteWinRateChart(b, f) },
		func(b *bytes.Buffer, f string) error { return c.WriteTurnsChart(b, f) },
	} {
		if !ChartsBuilt {
			var b bytes.Buffer
			if err := draw(&b, SVG); !errors.Is(err, ErrNoCharts) || b.Len() != 0 {
				t.Fatalf("edge build: got %v and %d bytes, want ErrNoCharts and nothing", err, b.Len())
			}
			continue
		}
		var svg, img bytes.Buffer
		if err := draw(&svg, SVG); err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"<svg", "code", "json", "short"} {
			if !strings.Contains(svg.String(), w) {
				t.Fatalf("SVG lacks %q", w)
			}
		}
		if err := draw(&img, PNG); err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(&img); err != nil {
			t.Fatalf("PNG: %v", err)
		}
		if err := draw(&img, "gif"); err == nil {
			t.Fatal("gif accepted")
		}
	}
}
