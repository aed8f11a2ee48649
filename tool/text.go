package tool

import (
	"fmt"

	"github.com/gantry-dev/gantry/internal/repr"
)

// The text helpers every runtime shares: Python's float repr, the
// head-and-tail truncation of long output and messages, and the shortening
// of names from a caller.

// FormatFloat returns Python's repr of a float: "1.0", "0.25",
// "1000000.0", "1e+16", "1.5e-05", "nan", "inf", "-inf" (internal/repr,
// which the device protocol shares).
func FormatFloat(f float64) string { return repr.Float(f) }

// truncMarker stands for the n bytes cut from the middle of a text.
func truncMarker(n int) string { return fmt.Sprintf("\n[... %d bytes truncated ...]\n", n) }

// TruncateParts is Truncate for a text of total bytes of which the caller
// kept only a head and a tail (an output buffer that dropped its middle):
// at most max bytes, the start of head and the end of tail with the marker
// "[... N bytes truncated ...]" between them, cut at rune boundaries. It
// expects total > max > 0 and head and tail from the text's two ends.
func TruncateParts(head, tail string, total, max int) string {
	budget := max - len(truncMarker(total))
	if budget < 0 {
		budget = 0
	}
	h, _ := repr.Head(head, budget/2, repr.Bytes)
	t, _ := repr.Tail(tail, budget-min(budget/2, len(head)))
	return h + truncMarker(total-len(h)-len(t)) + t
}
