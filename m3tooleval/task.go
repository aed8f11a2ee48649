// Package m3tooleval is M3ToolEval, the CodeAct paper's own benchmark: 82
// tasks in five families (DNA sequencing, message decoding, trade
// calculation, travel planning, web browsing) that compose several tools
// over several turns, in three action formats (code, json, text).
//
// The package reproduces the published harness: the tasks and their tools
// (written in Go from the harness's descriptions and data, reproducing the
// reference's results exactly), the prompt of each format byte for byte,
// the post-processing and parsing of replies with the harness's messages,
// the observations (IPython's output with Out[N]: removed, the empty-output
// message, the 2,000-character cut, ast.literal_eval and str()), the answer
// check as the reference code really behaves, and the fixed settings (10
// turns, temperature 0, 512 tokens). Python values are modelled by Value,
// with Python's repr() and str().
//
// An Episode holds one task's fresh tool state and its tool registry, for
// the Starlark sandbox, the Python worker and the json/text actions; Step
// plays one assistant reply through the harness's rules.
package m3tooleval

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// The five task families, named as the harness names them.
const (
	FamilyMessageDecoder = "message_decoder"
	FamilyDNA            = "cryptobotanists_plant_dna_sequencer"
	FamilyTrade          = "trade_calculator"
	FamilyTravel         = "travel_itinerary_planning"
	FamilyWeb            = "web_browsing"
)

// Families lists the families in the harness's order.
func Families() []string {
	return []string{FamilyMessageDecoder, FamilyDNA, FamilyTrade, FamilyTravel, FamilyWeb}
}

// ToolSpec is a tool as the prompt shows it.
type ToolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Signature   string `json:"signature"`
}

// Task is one M3ToolEval task.
type Task struct {
	// Name is "family/task".
	Name   string
	Family string
	// Instruction is the task's text in the prompt.
	Instruction string
	// Expected is the expected output as a Python value; ExpectedType its
	// Python type ("str", "int", "float", "list", "dict", "bool", "tuple").
	Expected     Value
	ExpectedType string
	// SingleTool marks a task solved by an action whose result already
	// equals the expected output.
	SingleTool bool
	// Tools are the task's tools in the prompt's order.
	Tools []ToolSpec
}

type taskJSON struct {
	Name         string          `json:"name"`
	Instruction  string          `json:"instruction"`
	Expected     json.RawMessage `json:"expected_output"`
	ExpectedType string          `json:"expected_output_type"`
	SingleTool   bool            `json:"is_single_tool_task"`
	Tools        []ToolSpec      `json:"tools"`
}

var tasksOnce = sync.OnceValues(loadTasks)

func loadTasks() ([]Task, error) {
	var raw []taskJSON
	if err := json.Unmarshal(tasksJSON, &raw); err != nil {
		return nil, fmt.Errorf("m3tooleval tasks: %w", err)
	}
	out := make([]Task, 0, len(raw))
	for _, r := range raw {
		v, err := ParseJSONValue(r.Expected)
		if err != nil {
			return nil, fmt.Errorf("m3tooleval task %s: expected output: %w", r.Name, err)
		}
		switch r.ExpectedType {
		case "tuple":
			if l, ok := v.(List); ok {
				v = Tuple(l)
			}
		case "float":
			if i, ok := v.(Int); ok {
				f, _ := intToFloat(i.Int)
				v = Float(f)
			}
		}
		family, _, _ := strings.Cut(r.Name, "/")
		out = append(out, Task{
			Name: r.Name, Family: family, Instruction: r.Instruction,
			Expected: v, ExpectedType: r.ExpectedType, SingleTool: r.SingleTool, Tools: r.Tools,
		})
	}
	return out, nil
}

// Tasks returns the 82 tasks in the harness's order (a fresh copy).
func Tasks() []Task {
	ts, err := tasksOnce()
	if err != nil {
		panic(err) // embedded data, checked by tests
	}
	out := make([]Task, len(ts))
	copy(out, ts)
	return out
}

// Lookup returns the task with the given name.
func Lookup(name string) (Task, bool) {
	for _, t := range Tasks() {
		if t.Name == name {
			return t, true
		}
	}
	return Task{}, false
}

// FamilyTools returns the tools of a family as its tasks list them (every
// task of a family has the same tools).
func FamilyTools(family string) ([]ToolSpec, bool) {
	for _, t := range Tasks() {
		if t.Family == family {
			return t.Tools, true
		}
	}
	return nil, false
}
