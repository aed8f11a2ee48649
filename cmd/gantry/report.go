package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gantry-dev/gantry/report"
)

func newReportCmd() *cobra.Command {
	var (
		outDir string
		charts string
	)
	cmd := &cobra.Command{
		Use:   "report RUN...",
		Short: "Compare evaluation runs side by side, with confidence intervals and charts",
		Long: `report compares runs: each RUN is a folder gantry eval wrote (--out) or its
transcripts.jsonl, and gives one run per variant in it. It prints, per run,
episodes played, won, lost and errored with the win rate's 95% Wilson
interval; wins per task type; a turns histogram; and the difference in win
rate of each run from the first with its 95% confidence interval: paired on
games (Newcombe's method 10) when both played the same games, else unpaired
(Newcombe's hybrid score). Errored episodes are counted apart and are in no
rate. Settings in which two runs differ (model, format, temperature, ...)
are listed under their difference.

OUT/report.md gets the same tables with two charts, OUT/winrate.svg (win
rate per task type per run) and OUT/turns.svg (turns histogram), or .png
with --charts png; OUT/report.json holds the figures. The edge build draws
no charts: its report.md has the tables alone, and --charts is refused.

  gantry report runs/code runs/json
  gantry report runs/ab --out runs/ab-report --charts png`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !report.ChartsBuilt && cmd.Flags().Changed("charts") {
				return fmt.Errorf("gantry report --charts: %w", report.ErrNoCharts)
			}
			if charts != report.SVG && charts != report.PNG {
				return fmt.Errorf("--charts %q: svg or png", charts)
			}
			runs, err := report.Load(args...)
			if err != nil {
				return err
			}
			c := report.Compare(runs)
			if err := c.WriteText(cmd.OutOrStdout()); err != nil {
				return err
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return fmt.Errorf("output directory: %w", err)
			}
			var names []string
			draws := []func(*bytes.Buffer) error{
				func(b *bytes.Buffer) error { return c.WriteWinRateChart(b, charts) },
				func(b *bytes.Buffer) error { return c.WriteTurnsChart(b, charts) },
			}
			if report.ChartsBuilt {
				names = []string{"winrate." + charts, "turns." + charts}
			} else {
				draws = nil
				fmt.Fprintf(cmd.ErrOrStderr(), "report: no charts: %v\n", report.ErrNoCharts)
			}
			for i, draw := range draws {
				var b bytes.Buffer
				if err := draw(&b); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(outDir, names[i]), b.Bytes(), 0o644); err != nil {
					return fmt.Errorf("report: %w", err)
				}
			}
			var md bytes.Buffer
			if err := c.WriteMarkdown(&md, names...); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(outDir, "report.md"), md.Bytes(), 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			data, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(outDir, "report.json"), append(data, '\n'), 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "\nreport: %s\n", filepath.Join(outDir, "report.md"))
			return nil
		},
	}
	cmd.Flags().StringVar(&outDir, "out", "runs/report", "directory for report.md, report.json and the charts")
	cmd.Flags().StringVar(&charts, "charts", report.SVG, "chart format: svg or png")
	return cmd
}
