package tool

import (
	"fmt"
	"math"
	"strconv"
)

// DefaultMaxCodeSize is the size limit of one code action both runtimes
// apply unless told otherwise: 1 MiB.
const DefaultMaxCodeSize = 1 << 20

// CodeSizeError is the error of an action whose code has size bytes, more
// than limit. A size below 0 means "more than limit", the exact size being
// unknown (the code was read no further than the limit).
func CodeSizeError(size int64, limit int) *CodeError {
	var msg string
	if size < 0 {
		msg = fmt.Sprintf("the action's code is more than the limit of %s (%d bytes) for one action; send less code per action",
			ByteSize(int64(limit)), limit)
	} else {
		msg = fmt.Sprintf("the action's code is %s (%d bytes), more than the limit of %s (%d bytes) for one action; send less code per action",
			ByteSize(size), size, ByteSize(int64(limit)), limit)
	}
	return &CodeError{Type: "ValueError", Message: msg, Traceback: "ValueError: " + msg}
}

// ByteSize renders n bytes in the largest binary unit that keeps it
// readable: "1 MiB", "1.5 MiB", "300 KiB", "1008 bytes".
func ByteSize(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for (v >= 1024 || v <= -1024) && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + " " + units[u]
}
