//go:build !edge

package report

import (
	"fmt"
	"image/color"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// ChartsBuilt tells whether this build draws charts: it does, with
// gonum/plot (not in the edge build, -tags edge).
const ChartsBuilt = true

// chartWidth and chartHeight are the size of the charts.
const chartWidth, chartHeight = 16 * vg.Centimeter, 9 * vg.Centimeter

// WriteWinRateChart draws the win rate per task type (and overall) of each
// run as grouped bars, in format (SVG or PNG).
func (c *Comparison) WriteWinRateChart(w io.Writer, format string) error {
	groups := append([]string{"all"}, c.TaskTypes...)
	p := plot.New()
	p.Title.Text = "Win rate per task type"
	p.Y.Label.Text = "win rate (%)"
	p.Y.Min, p.Y.Max = 0, 125 // room above the bars for the legend
	p.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 25, Label: "25"}, {Value: 50, Label: "50"}, {Value: 75, Label: "75"}, {Value: 100, Label: "100"}})
	values := make([]plotter.Values, len(c.Runs))
	for i, s := range c.Runs {
		values[i] = append(values[i], 100*s.Stats.SuccessRate)
		for _, t := range c.TaskTypes {
			values[i] = append(values[i], 100*s.ByTaskType[t].SuccessRate)
		}
	}
	if err := groupedBars(p, values, labels(c)); err != nil {
		return err
	}
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	return write(p, w, format)
}

// WriteTurnsChart draws how many played episodes took each number of
// turns, per run, as grouped bars, in format (SVG or PNG).
func (c *Comparison) WriteTurnsChart(w io.Writer, format string) error {
	counts := c.turnCounts()
	p := plot.New()
	p.Title.Text = "Turns per played episode"
	p.X.Label.Text = "turns"
	p.Y.Label.Text = "episodes"
	p.Y.Min = 0
	values := make([]plotter.Values, len(c.Runs))
	for i, s := range c.Runs {
		for _, n := range counts {
			values[i] = append(values[i], float64(s.Turns[n]))
		}
	}
	var names []string
	for _, n := range counts {
		names = append(names, strconv.Itoa(n))
	}
	if len(counts) == 0 {
		names = []string{"none"}
		for i := range values {
			values[i] = plotter.Values{0}
		}
	}
	if err := groupedBars(p, values, labels(c)); err != nil {
		return err
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(names))-0.5
	highest := 1.0
	for _, v := range values {
		for _, x := range v {
			highest = max(highest, x)
		}
	}
	p.Y.Max = highest * 1.3 // room above the bars for the legend
	return write(p, w, format)
}

func labels(c *Comparison) []string {
	var out []string
	for _, s := range c.Runs {
		out = append(out, s.Label)
	}
	return out
}

// groupedBars adds one bar series per run, side by side in each group.
func groupedBars(p *plot.Plot, values []plotter.Values, names []string) error {
	n := len(values)
	if n == 0 {
		return nil
	}
	width := vg.Points(float64(48) / float64(n))
	p.Add(plotter.NewGrid())
	for i, v := range values {
		bars, err := plotter.NewBarChart(v, width)
		if err != nil {
			return fmt.Errorf("chart: %w", err)
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = vg.Length(float64(i)-float64(n-1)/2) * width
		p.Add(bars)
		p.Legend.Add(names[i], bars)
	}
	p.Legend.Top = true
	p.BackgroundColor = color.White
	return nil
}

func write(p *plot.Plot, w io.Writer, format string) error {
	if format != SVG && format != PNG {
		return fmt.Errorf("chart format %q: svg or png", format)
	}
	wt, err := p.WriterTo(chartWidth, chartHeight, format)
	if err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("chart: %w", err)
	}
	return nil
}
