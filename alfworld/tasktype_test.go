package alfworld

import (
	"strings"
	"testing"
)

// TestTaskTypeName: both spellings read, the short one printed.
func TestTaskTypeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"heat", "heat"}, {"pick_heat_then_place_in_recep", "heat"}, {"pick_heat_then_place_in_recep-Egg-None-Microwave-2", "heat"},
		{"pick_two_obj_and_place", "puttwo"}, {"puttwo", "puttwo"}, {"look_at_obj_in_light", "examine"}, {"unknown", "unknown"}, {"", "unknown"},
	}
	for _, tc := range tests {
		if got := TaskTypeName(tc.in); got != tc.want {
			t.Errorf("TaskTypeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := ParseTaskTypeName("boil"); err == nil || !strings.Contains(err.Error(), "put, clean, heat, cool, examine, puttwo") {
		t.Fatalf("got %v", err)
	}
}

func FuzzParseTaskTypeName(f *testing.F) {
	f.Add("heat")
	f.Add("pick_heat_then_place_in_recep-Egg-None-Microwave-2")
	f.Fuzz(func(t *testing.T, s string) {
		tt, err := ParseTaskTypeName(s)
		if err != nil {
			return
		}
		// What is read prints as a name that reads back the same.
		if back, err := ParseTaskTypeName(TaskTypeName(s)); err != nil || back != tt {
			t.Fatalf("%q read as %v, printed %q, read back %v (%v)", s, tt, TaskTypeName(s), back, err)
		}
	})
}
