package report

import "errors"

// Chart formats WriteWinRateChart and WriteTurnsChart write.
const (
	SVG = "svg"
	PNG = "png"
)

// ErrNoCharts is what the chart writers return in a build without charts
// (the edge build, -tags edge, leaves gonum/plot and its fonts out); the
// text and Markdown reports are in every build.
var ErrNoCharts = errors.New("charts are not in this build (edge); use the full build")
