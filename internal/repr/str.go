package repr

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Str returns CPython's repr of a str: single quotes unless s holds a
// single quote and no double quote; backslash, the chosen quote, \t, \n and
// \r escaped; other characters that str.isprintable rejects written as
// \xhh, \uhhhh or \Uhhhhhhhh; everything else (é, ✓, emoji) as itself. A
// byte that is not UTF-8 is shown as Python holds it after decoding with
// surrogateescape (\udcXX).
func Str(s string) string {
	quote := strQuote(s)
	b := make([]byte, 0, len(s)+2)
	b = append(b, quote)
	for i := 0; i < len(s); {
		var n int
		b, n = appendStrRune(b, s[i:], quote)
		i += n
	}
	return string(append(b, quote))
}

// StrLen returns len(Str(s)) without building it.
func StrLen(s string) int {
	quote := strQuote(s)
	var scratch [10]byte
	n := 2
	for i := 0; i < len(s); {
		b, size := appendStrRune(scratch[:0], s[i:], quote)
		n += len(b)
		i += size
	}
	return n
}

func strQuote(s string) byte {
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		return '"'
	}
	return '\''
}

const hexDigits = "0123456789abcdef"

// appendStrRune appends the first character of s as it appears inside
// Str's quotes, and returns how many bytes of s it took.
func appendStrRune(b []byte, s string, quote byte) ([]byte, int) {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return appendHex(append(b, `\udc`...), uint32(s[0]), 2), 1
	}
	switch {
	case r == rune(quote) || r == '\\':
		return append(b, '\\', byte(r)), size
	case r == '\t':
		return append(b, `\t`...), size
	case r == '\n':
		return append(b, `\n`...), size
	case r == '\r':
		return append(b, `\r`...), size
	case r < ' ' || r == 0x7f:
		return appendHex(append(b, `\x`...), uint32(r), 2), size
	case r < 0x7f || isPrintable(r):
		return append(b, s[:size]...), size
	case r <= 0xff:
		return appendHex(append(b, `\x`...), uint32(r), 2), size
	case r <= 0xffff:
		return appendHex(append(b, `\u`...), uint32(r), 4), size
	default:
		return appendHex(append(b, `\U`...), uint32(r), 8), size
	}
}

func appendHex(b []byte, v uint32, digits int) []byte {
	for shift := 4 * (digits - 1); shift >= 0; shift -= 4 {
		b = append(b, hexDigits[(v>>shift)&0xf])
	}
	return b
}

// isPrintable is Python's str.isprintable for one character: not in the
// categories Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (the space excepted). Go's
// unicode.IsPrint draws the same line (up to the Unicode versions of the
// two tables).
func isPrintable(r rune) bool {
	return r == ' ' || unicode.IsPrint(r)
}
