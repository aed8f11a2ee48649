// Package spelling finds the name a misspelling most likely meant, for the
// "did you mean" hints of configuration files, device policies and device
// calls.
package spelling

import (
	"sort"
	"strings"
)

// maxLen bounds the names Distance compares letter by letter: a longer name
// (a forged one, say) is only ever equal or far.
const maxLen = 64

// Far is the distance Distance reports between different names longer than
// 64 bytes.
const Far = 1 << 30

// Distance is the optimal-string-alignment distance between a and b: the
// fewest insertions, deletions, substitutions and swaps of neighbouring
// bytes that turn a into b, no substring edited twice.
func Distance(a, b string) int {
	if len(a) > maxLen || len(b) > maxLen {
		if a == b {
			return 0
		}
		return Far
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Options says how Nearest compares and how near is near enough.
type Options struct {
	// FoldCase compares names without regard to case.
	FoldCase bool
	// Near reports whether a candidate at distance d from name is a likely
	// misspelling of it.
	Near func(name, candidate string, d int) bool
}

// Nearest returns the candidate closest to name by Distance among those
// opt.Near accepts, or "" when it accepts none. Ties go to the first in
// sorted order.
func Nearest(name string, candidates []string, opt Options) string {
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	key := name
	if opt.FoldCase {
		key = strings.ToLower(name)
	}
	best, bestD := "", Far
	for _, c := range sorted {
		other := c
		if opt.FoldCase {
			other = strings.ToLower(c)
		}
		if d := Distance(key, other); d < bestD && opt.Near(name, c, d) {
			best, bestD = c, d
		}
	}
	return best
}
