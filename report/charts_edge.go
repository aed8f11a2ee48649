//go:build edge

package report

import "io"

// ChartsBuilt tells whether this build draws charts: the edge build does
// not (ErrNoCharts).
const ChartsBuilt = false

// WriteWinRateChart returns ErrNoCharts: the edge build draws no charts.
func (c *Comparison) WriteWinRateChart(w io.Writer, format string) error { return ErrNoCharts }

// WriteTurnsChart returns ErrNoCharts: the edge build draws no charts.
func (c *Comparison) WriteTurnsChart(w io.Writer, format string) error { return ErrNoCharts }
