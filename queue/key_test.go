package queue_test

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/queue"
)

var keyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]*$`)

// An episode key is a valid NATS subject token and key-value key whatever
// the variant and game, and names them unambiguously.
func FuzzJobKey(f *testing.F) {
	f.Add("expert/code/starlark", "generated/17")
	f.Add("openai/json/python", "pick_and_place_simple-Mug-None-Shelf-1/trial_T2019 .*>")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, variant, game string) {
		j := queue.Job{Run: "r-1", Variant: variant, Game: game}
		k := j.Key()
		if !keyRE.MatchString(k) {
			t.Fatalf("key %q of %q/%q is not a subject token", k, variant, game)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k, "r-1."))
		if err != nil || string(raw) != variant+"\x00"+game {
			t.Fatalf("key %q does not name %q/%q (%q, %v)", k, variant, game, raw, err)
		}
	})
}

func TestCheckRun(t *testing.T) {
	for _, c := range []struct {
		run string
		ok  bool
	}{
		{"eval-0123abcd", true}, {"a_b-C", true}, {"", false}, {"a.b", false}, {"a b", false},
		{"a*", false}, {"a>", false}, {strings.Repeat("x", 64), true}, {strings.Repeat("x", 65), false},
	} {
		if err := queue.CheckRun(c.run); (err == nil) != c.ok {
			t.Errorf("CheckRun(%q) = %v, want ok=%v", c.run, err, c.ok)
		}
	}
}
