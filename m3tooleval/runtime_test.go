package m3tooleval

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/bridge"
	"github.com/gantry-dev/gantry/internal/testenv"
	"github.com/gantry-dev/gantry/sandbox"
)

// TestToolsInRuntimes: what code sees of the tools' results in each
// runtime (docs/m3tooleval.md, "How faithful").
func TestToolsInRuntimes(t *testing.T) {
	ctx := context.Background()
	type check struct{ task, code, starlark, python string }
	checks := []check{
		{"trade_calculator/estimate_final_value", "print(convert_currency(5000, 1.5), calculate_tariff(150, 7.5))", "7500.0 11.25", "7500.0 11.25"},
		{"trade_calculator/estimate_final_value", "print(calculator('1e308*10'), calculator('3/0'))", "inf Failed to evaluate expression: 3/0", "inf Failed to evaluate expression: 3/0"},
		{"cryptobotanists_plant_dna_sequencer/reverse_transcribe_palindrome_check", "print(count_nucleotides('TACGCA'))", "{'T': 1, 'A': 2, 'C': 2, 'G': 1}", "{'T': 1, 'A': 2, 'C': 2, 'G': 1}"},
		// A tuple result is a tuple in Starlark, a list in Python.
		{"cryptobotanists_plant_dna_sequencer/reverse_transcribe_palindrome_check", "print(find_max_nucleotide('A', 3, 'G', 4))", "('G', 4)", "['G', 4]"},
		// Travel's max and min are the runtime's builtins; sum is the tool.
		{"travel_itinerary_planning/plan_trip_to_0", "print(max([3, 9, 2]), min([{'p': 2}, {'p': 1}], key=lambda h: h['p']), sum(1, 2.5))", "9 {'p': 1} 3.5", "9 {'p': 1} 3.5"},
		{"travel_itinerary_planning/plan_trip_to_0", "print(find_flights('E', '\"A\"', '2023-12-25'))", "[{'from_location': '\"E\"', 'to_location': '\"A\"', 'date': '2023-12-25', 'price': 450}]", "[{'from_location': '\"E\"', 'to_location': '\"A\"', 'date': '2023-12-25', 'price': 450}]"},
		{"web_browsing/people_in_sales", "click_url('/products')\nprint(scroll_down().split('\\n')[2])", "[Viewing page 2 of 2]", "[Viewing page 2 of 2]"},
	}
	for _, c := range checks {
		task, ok := Lookup(c.task)
		if !ok {
			t.Fatalf("no task %s", c.task)
		}
		e, err := NewEpisode(task, Code)
		if err != nil {
			t.Fatal(err)
		}
		s, err := sandbox.New(e.CodeRegistry(), sandbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Exec(ctx, c.code)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimRight(res.Stdout, "\n"); got != c.starlark || res.Err != nil {
			t.Errorf("Starlark %s: %q (error %v), want %q", c.code, got, res.Err, c.starlark)
		}
	}
	py := testenv.Python(t)
	testenv.LookPath(t, "bwrap")
	for _, c := range checks {
		task, _ := Lookup(c.task)
		e, err := NewEpisode(task, Code)
		if err != nil {
			t.Fatal(err)
		}
		s, err := bridge.New(ctx, e.CodeRegistry(), bridge.Options{Python: py})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Exec(ctx, c.code)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimRight(res.Stdout, "\n"); got != c.python || res.Err != nil {
			t.Errorf("Python %s: %q (error %v), want %q", c.code, got, res.Err, c.python)
		}
	}
}
