package expert

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gantry-dev/gantry/alfworld/scene"
)

// readRealProblems reads the 134 valid_unseen problems from the repository's testdata.
func readRealProblems() (map[string]*scene.Problem, error) {
	f, err := os.Open(filepath.Join("..", "..", "testdata", "alfworld", "valid_unseen.tar.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	out := map[string]*scene.Problem{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(h.Name, "/game.tw-pddl") {
			continue
		}
		var gf scene.GameFile
		if err := json.NewDecoder(tr).Decode(&gf); err != nil {
			return nil, err
		}
		p, err := scene.ReadProblem(gf.Problem)
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(h.Name, "/game.tw-pddl")] = p
	}
}
