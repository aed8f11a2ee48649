// Package alfdata opens the real ALFWorld games the repository carries in
// testdata/alfworld, for tests of the alfworld packages and their users.
package alfdata

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// GamesTar is the tarball's path relative to the repository root.
const GamesTar = "testdata/alfworld/valid_unseen.tar.gz"

// Root finds the repository root (the directory holding go.mod) from the
// working directory upwards.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Path is a file under the repository root.
func Path(tb testing.TB, rel string) string {
	tb.Helper()
	root, err := Root()
	if err != nil {
		tb.Fatal(err)
	}
	return filepath.Join(root, rel)
}

// TarFiles reads every file named name (e.g. "game.tw-pddl",
// "gt_traj.txt") from an ALFWorld tarball, keyed by "task/trial".
func TarFiles(path, name string) (map[string][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open games: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("open games %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read games %s: %w", path, err)
		}
		if h.Typeflag != tar.TypeReg || filepath.Base(h.Name) != name {
			continue
		}
		parts := strings.Split(strings.Trim(filepath.ToSlash(h.Name), "/"), "/")
		if len(parts) < 3 {
			continue
		}
		key := parts[len(parts)-3] + "/" + parts[len(parts)-2]
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", h.Name, err)
		}
		out[key] = data
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s in %s", name, path)
	}
	return out, nil
}

// TarGames reads the game.tw-pddl files of a tarball, keyed by "task/trial".
func TarGames(path string) (map[string][]byte, error) { return TarFiles(path, "game.tw-pddl") }

func load(tb testing.TB, name string) map[string][]byte {
	tb.Helper()
	m, err := TarFiles(Path(tb, GamesTar), name)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// Games returns the 134 valid_unseen game files keyed by "task/trial".
func Games(tb testing.TB) map[string][]byte { return load(tb, "game.tw-pddl") }

// Trajectories returns the gt_traj.txt files keyed by "task/trial".
func Trajectories(tb testing.TB) map[string][]byte { return load(tb, "gt_traj.txt") }
