package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/export"
)

func newExportCmd() *cobra.Command {
	var (
		out    string
		format string
		opts   export.Options
	)
	cmd := &cobra.Command{
		Use:   "export RUN... --out FILE.jsonl",
		Short: "Turn eval transcripts into chat-format training data (JSONL)",
		Long: `export reads the transcripts of eval runs (a run folder, whose
transcripts.jsonl files are read, or a transcripts file) and writes one
training conversation per episode, as CodeActInstruct did: by default only
episodes that succeeded; the first user message (instructions, tool
descriptions, example, task) kept as it was, each observation a user turn,
each reply of the model an assistant turn, ending with the model's last
reply. Episodes that ended by an error are never exported.

--require-recovery keeps only episodes in which a turn failed (an error, or a
reply without an action) and a later turn ran without error. --all keeps lost
episodes too. The counts per environment and per filter are printed at the
end. Formats (docs/export.md): openai {"messages": [{"role", "content"}]},
sharegpt {"id", "conversations": [{"from", "value"}]}.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return fmt.Errorf("export: no output file given (--out FILE.jsonl)")
			}
			f, err := export.ParseFormat(format)
			if err != nil {
				return err
			}
			opts.Format = f
			files, err := export.Files(args)
			if err != nil {
				return err
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), ".export-*.jsonl")
			if err != nil {
				return fmt.Errorf("export: %w", err)
			}
			defer os.Remove(tmp.Name())
			w := bufio.NewWriter(tmp)
			sum, err := export.Run(w, files, opts)
			if err == nil {
				err = w.Flush()
			}
			if cerr := tmp.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("export: %w", cerr)
			}
			if err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			total := sum.Total()
			o := cmd.OutOrStdout()
			if err := sum.WriteTable(o, opts); err != nil {
				return err
			}
			fmt.Fprintf(o, "export: %d of %d episodes written to %s (%s, %d transcript files)\n", total.Written, total.Read, out, f, sum.Files)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", "", "the JSONL file to write (replaced)")
	fl.StringVar(&format, "format", "openai", "output format: openai or sharegpt")
	fl.BoolVar(&opts.RequireRecovery, "require-recovery", false, "only episodes where the model hit an error and then recovered")
	fl.BoolVar(&opts.All, "all", false, "lost episodes too (errored ones never)")
	return cmd
}
