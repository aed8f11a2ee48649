package main

import (
	"strings"

	"github.com/gantry-dev/gantry/agent"
)

// stopSequences turns the --stop values into the stop sequences sent to
// the model: MINT's when none was given, none for "none", otherwise the
// values with \n, \t and \\ read as a newline, a tab and a backslash.
func stopSequences(values []string) []string {
	switch {
	case len(values) == 0:
		return agent.MINTStop()
	case len(values) == 1 && values[0] == "none":
		return nil
	}
	unescape := strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t")
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = unescape.Replace(v)
	}
	return out
}
