package repr

import (
	"fmt"
	"unicode/utf8"
)

// Truncation of long text lives here, once for every package: the head of a
// text (Head), its tail (Tail), and the markers that say a text was cut
// (Shorten's "...", CountMark's "... (N bytes)"). The conventions differ by
// caller and stay theirs: the tool registry's head-and-tail truncation of
// output (tool.Truncate) and M3ToolEval's cut at a number of characters are
// built on Head and Tail.

// Unit is what a length given to Head or Tail counts.
type Unit int

const (
	// Bytes counts bytes of UTF-8; a cut never splits a character, so it
	// keeps fewer bytes rather than part of one.
	Bytes Unit = iota
	// Chars counts characters (runes) as Python's len does; a byte that is
	// not valid UTF-8 is one character, kept as U+FFFD by a cut (as
	// Go's []rune conversion does).
	Chars
)

// Head returns the first max units of s and whether it cut anything: s
// itself when it is not longer than max.
func Head(s string, max int, u Unit) (string, bool) {
	if u == Chars {
		i, n := 0, 0
		for i < len(s) && n < max {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			n++
		}
		if i == len(s) {
			return s, false
		}
		return string([]rune(s[:i])), true
	}
	if len(s) <= max {
		return s, false
	}
	n := max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// Tail returns the last max bytes of s, fewer so as not to start inside a
// character, and whether it cut anything.
func Tail(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false
	}
	start := len(s) - max
	for start < len(s) && !utf8.RuneStart(s[start]) {
		start++
	}
	return s[start:], true
}

// Shorten returns s, or when it is longer than max bytes its first max
// bytes (fewer, so as not to split a UTF-8 sequence) and "...".
func Shorten(s string, max int) string {
	if h, cut := Head(s, max, Bytes); cut {
		return h + "..."
	}
	return s
}

// CountMark is the marker after a head kept of a text of n bytes:
// "... (n bytes)".
func CountMark(n int) string { return fmt.Sprintf("... (%d bytes)", n) }
