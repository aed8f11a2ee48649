package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/alfworld"
	"github.com/gantry-dev/gantry/alfworld/expert"
	"github.com/gantry-dev/gantry/alfworld/scene"
)

// kindNames maps the short task names the CLI accepts to task types.
var kindNames = map[string]scene.Kind{
	"put": scene.Put, "clean": scene.Clean, "heat": scene.Heat,
	"cool": scene.Cool, "examine": scene.Examine, "puttwo": scene.PutTwo,
}

func parseKind(s string) (scene.Kind, error) {
	if s == "" || s == "any" {
		return "", nil
	}
	if k, ok := kindNames[strings.ToLower(s)]; ok {
		return k, nil
	}
	for _, k := range scene.Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown task type %q (put, clean, heat, cool, examine, puttwo, any)", s)
}

func parseRoom(s string) (scene.Room, error) {
	if s == "" || s == "any" {
		return "", nil
	}
	for _, r := range scene.Rooms() {
		if strings.EqualFold(string(r), s) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown room %q (kitchen, livingroom, bedroom, bathroom, any)", s)
}

// verifyScene loads a scene with the engine and plays the expert's plan:
// a game is written only if it is won.
func verifyScene(g *scene.Generator, s *scene.Scene) error {
	game, err := g.Game(s)
	if err != nil {
		return err
	}
	env := alfworld.NewEnv(game, alfworld.Options{})
	env.Reset()
	cmds, err := expert.Plan(env)
	if err != nil {
		return fmt.Errorf("seed %d: %w", s.Seed, err)
	}
	for _, c := range cmds {
		env.Step(c)
	}
	if !env.Won() {
		return fmt.Errorf("seed %d: the expert's plan does not win %q", s.Seed, s.Task.Text)
	}
	return nil
}

func newSceneCmd() *cobra.Command {
	var (
		out, kind, room, split string
		n                      int
		seed                   int64
		problemOnly            bool
	)
	cmd := &cobra.Command{
		Use:   "scene",
		Short: "Generate new ALFWorld games (game.tw-pddl files in alfworld's data layout)",
		Long: `Generate new ALFWorld games of the six task types, in rooms shaped like the real ones.

Games are written as OUT/json_2.1.1/SPLIT/<task>/trial_G<seed>/game.tw-pddl, the layout of
alfworld's own download, so --games OUT plays them. The same seeds give the same files. Each game
is loaded by the engine and won by the expert before it is written.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			k, err := parseKind(kind)
			if err != nil {
				return err
			}
			r, err := parseRoom(room)
			if err != nil {
				return err
			}
			if n < 1 {
				return fmt.Errorf("--n must be at least 1")
			}
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			g := scene.Default()
			for i := 0; i < n; i++ {
				if err := cmd.Context().Err(); err != nil {
					return err
				}
				s, err := g.Generate(seed+int64(i), scene.Options{Kind: k, Room: r})
				if err != nil {
					return err
				}
				if err := verifyScene(g, s); err != nil {
					return err
				}
				dir := filepath.Join(out, "json_2.1.1", split, s.TaskDir(), s.TrialDir())
				if err := os.MkdirAll(dir, 0o755); err != nil {
					return err
				}
				var data []byte
				name := "game.tw-pddl"
				if problemOnly {
					text, err := g.ProblemText(s)
					if err != nil {
						return err
					}
					data, name = []byte(text), "problem.pddl"
				} else if data, err = g.MarshalGameFile(s); err != nil {
					return err
				}
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, data, 0o644); err != nil {
					return fmt.Errorf("write %s: %w", path, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", path, strings.TrimPrefix(s.Task.Text, "Your task is to: "))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory to write the games under")
	f.IntVar(&n, "n", 1, "number of games")
	f.Int64Var(&seed, "seed", 0, "seed of the first game (the others follow: seed+1, seed+2, ...)")
	f.StringVar(&kind, "task", "any", "task type: put, clean, heat, cool, examine, puttwo or any")
	f.StringVar(&room, "room", "any", "room: kitchen, livingroom, bedroom, bathroom or any")
	f.StringVar(&split, "split", "generated", "split directory name under json_2.1.1")
	f.BoolVar(&problemOnly, "pddl", false, "write the bare PDDL problem (problem.pddl) instead of game.tw-pddl")
	return cmd
}
