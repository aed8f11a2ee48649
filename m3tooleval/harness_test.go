package m3tooleval

import (
	"context"
	"strings"
	"testing"

	"github.com/gantry-dev/gantry/sandbox"
	"github.com/gantry-dev/gantry/tool"
)

// TestPrompts: every task's prompt in every format, byte for byte as the
// harness builds it (prompts.json, written by gen_golden.py).
func TestPrompts(t *testing.T) {
	var golden map[string]string
	loadJSON(t, "prompts.json", &golden)
	if len(golden) != 82*3 {
		t.Fatalf("%d golden prompts, want 246", len(golden))
	}
	for _, task := range Tasks() {
		for _, f := range Formats() {
			want, ok := golden[task.Name+"|"+string(f)]
			if !ok {
				t.Fatalf("no golden prompt for %s %s", task.Name, f)
			}
			if got := task.Prompt(f); got != want {
				t.Errorf("%s %s: prompt differs\n got %q\nwant %q", task.Name, f, got, want)
			}
		}
	}
}

func TestPostprocess(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  Answer: 5", "Answer: 5"},
		{"Thought: x\nAction: view() End Action", "Thought: x\nAction: view() End Action"},
		{"Action: a End Action\nThought: more\nAction: b End Action", "Action: a End Action"},
		{"Action: a\nThought: wait\nAnswer: 3", "Action: a"},
		{"Action: a End Action trailing\nAnswer: 3", "Action: a End Action"},
		{"Answer: 3\nAnswer: 4", "Answer: 3"},
		// No "Action:": the harness searches from index 6 (-1 + 7).
		{"Answer: 3 End Action x\nAnswer: 4", "Answer: 3 End Action"},
		{"Answer: Thought: 3\nAnswer: 4", "Answer:"},
		{"héllo Answer: 3\nAction: x", "héllo Answer: 3"},
		{"\u3000Answer: 3", "Answer: 3"},
	}
	for _, c := range cases {
		if got := Postprocess(c.in); got != c.want {
			t.Errorf("Postprocess(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Parsed
	}{
		{"Answer: 5 ", Parsed{Kind: KindAnswer, Content: "5"}},
		{"Thought: x Action: view() End Action", Parsed{Kind: KindAction, Content: "view() "}},
		{"Action:\nprint(1)\nEnd Action", Parsed{Kind: KindAction, Content: "print(1)\n"}},
		{"Action: a Action: b", Parsed{Kind: KindAction, Content: "a ", Extra: MsgExtraAction}},
		{"Answer: 1 Answer: 2", Parsed{Kind: KindAnswer, Content: "1", Extra: MsgExtraAnswer}},
		{"Answer: 1 Action: x", Parsed{Kind: KindInvalid, Content: MsgBoth}},
		{"just text", Parsed{Kind: KindInvalid, Content: MsgNeither}},
		{"Action: no end", Parsed{Kind: KindAction, Content: "no end"}},
	}
	for _, c := range cases {
		if got := Parse(c.in); got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// TestCheckAnswer: the check as the reference code behaves, quirks included.
func TestCheckAnswer(t *testing.T) {
	f := func(x float64) Value { return Float(x) }
	cases := []struct {
		answer   Value
		expected Value
		want     bool
	}{
		{Str("fchahcufcu"), Str("fchahcufcu"), true},
		{Str("'fchahcufcu'"), Str("fchahcufcu"), true}, // literal_eval before str()
		{Str("161.25"), f(161.25), true},
		{Str("161.250"), f(161.25), true},
		{Str("161"), f(161.25), true}, // int(161.25) == int("161"): the quirk
		{Str("161.3"), f(161.25), false},
		{Str("380.42"), f(380.41999999999996), false},
		{Str("380"), f(380.41999999999996), true},
		{Str("8100"), f(8100), true},
		{Str("8100.0"), MakeInt(8100), true},
		{Str("1050"), MakeInt(1050), true},
		{Str("1,050"), MakeInt(1050), false},
		{Str("False"), Bool(false), true},
		{Str("0"), Bool(false), true}, // int(False) == 0
		{Str("false"), Bool(false), false},
		{Str("('A', 3)"), Tuple{Str("A"), MakeInt(3)}, true},
		{Str("['A', 3]"), Tuple{Str("A"), MakeInt(3)}, false},
		{Str("('A',3)"), Tuple{Str("A"), MakeInt(3)}, false}, // a list or tuple expected: str() of the answer as given
		{Str("[36380.0, 48150.0, 68480.0]"), List{f(36380), f(48150), f(68480)}, true},
		{Str("[36380, 48150, 68480]"), List{f(36380), f(48150), f(68480)}, false},
		{Str("{'T': 1, 'A': 2, 'C': 2, 'G': 1}"), &Dict{Keys: []Value{Str("T"), Str("A"), Str("C"), Str("G")}, Values: []Value{MakeInt(1), MakeInt(2), MakeInt(2), MakeInt(1)}}, true},
		{Str("{'A': 2, 'T': 1, 'C': 2, 'G': 1}"), &Dict{Keys: []Value{Str("T"), Str("A"), Str("C"), Str("G")}, Values: []Value{MakeInt(1), MakeInt(2), MakeInt(2), MakeInt(1)}}, false},
		{Str("296-500-1338"), Str("296-500-1338"), true},
		{Str(" 4 "), MakeInt(4), true},
		// Single-tool results: values, not strs.
		{MakeInt(4), MakeInt(4), true},
		{f(4.7), MakeInt(4), true}, // int(4.7) == 4
		{List{MakeInt(1)}, List{MakeInt(1)}, true},
	}
	for _, c := range cases {
		if got := CheckAnswer(c.answer, c.expected); got != c.want {
			t.Errorf("CheckAnswer(%s, %s) = %v, want %v", Repr(c.answer), Repr(c.expected), got, c.want)
		}
	}
}

func TestCodeObservation(t *testing.T) {
	cases := []struct{ output, want string }{
		{"", MsgNoOutput},
		{"1.50\n", "1.5"},
		{"'abc'\n", "abc"},
		{"(1, 2)\n", "(1, 2)"},
		{"hello world\n", "hello world\n"},
		{"Out[3]: 42\n", "42"},
		{"x\nOut[1]: 'y'\n", "x\n 'y'\n"},
		{"Out[12]: Out[1]: 5\n", "5"},
		{"{'a': 1.0}\n", "{'a': 1.0}"},
		{"1\n2\n", "1\n2\n"},
		{strings.Repeat("a", 2001), strings.Repeat("a", 2000) + MsgTruncated},
		{strings.Repeat("é", 2000), strings.Repeat("é", 2000)},
		{"[" + strings.Repeat("1, ", 800) + "1]", "[" + strings.Repeat("1, ", 666) + "1" + MsgTruncated},
	}
	for _, c := range cases {
		if got := StrOf(CodeObservation(c.output)); got != c.want {
			t.Errorf("CodeObservation(%.60q) = %.80q, want %.80q", c.output, got, c.want)
		}
	}
	r := tool.Result{Stdout: "a\n", Value: "5"}
	if got := IPythonOutput(r, 2); got != "a\nOut[2]: 5\n" {
		t.Errorf("IPythonOutput = %q", got)
	}
}

func TestConvertLikePython(t *testing.T) {
	var cases []struct {
		Text string `json:"text"`
		Repr string `json:"repr"`
		Type string `json:"type"`
	}
	loadJSON(t, "convert.json", &cases)
	for _, c := range cases {
		v, err := tryConvert(Str(c.Text))
		if err != nil {
			t.Fatalf("tryConvert(%q): %v", c.Text, err)
		}
		if Repr(v) != c.Repr || TypeName(v) != c.Type {
			t.Errorf("convert(%q) = %s (%s), want %s (%s)", c.Text, Repr(v), TypeName(v), c.Repr, c.Type)
		}
	}
}

func TestPyJSONLoads(t *testing.T) {
	var cases []struct {
		Text  string `json:"text"`
		OK    bool   `json:"ok"`
		Str   string `json:"str"`
		Error string `json:"error"`
	}
	loadJSON(t, "json_errors.json", &cases)
	for _, c := range cases {
		v, err := PyJSONLoads(c.Text)
		switch {
		case c.OK && err != nil:
			t.Errorf("json.loads(%q): %v, want %s", c.Text, err, c.Str)
		case c.OK && StrOf(v) != c.Str:
			t.Errorf("json.loads(%q) = %s, want %s", c.Text, StrOf(v), c.Str)
		case !c.OK && err == nil:
			t.Errorf("json.loads(%q) = %s, want error %q", c.Text, StrOf(v), c.Error)
		case !c.OK && err.Error() != c.Error:
			t.Errorf("json.loads(%q): error %q, want %q", c.Text, err, c.Error)
		}
	}
}

// TestJSONAndTextActions: the harness's messages for json and text actions.
func TestJSONAndTextActions(t *testing.T) {
	task, _ := Lookup("message_decoder/full_alien_message_decoding")
	e, err := NewEpisode(task, JSON)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ action, want string }{
		{`{"tool": "reverse_string", "args": ["abc"]}`, "cba"},
		{`{"tool": "reverse_string", "args": "abc"}`, "cba"},
		{`{"tool": "string_length", "args": ["abcd"]} `, "4"},
		{`{"tool": "caesar_decode", "args": ["abc", "4"]}`, "wxy"},
		{`{"tool": "minimum_value", "args": [3, 1.5, 2]}`, "1.5"},
		{`{"tool": "nope", "args": []}`, "Cound not find tool with name nope"},
		{`{"tool": 5, "args": []}`, "Cound not find tool with name 5"},
		{`{"tool": "reverse_string", "args": [5]}`, "Failed to execute tool reverse_string with args (5,). Did you try to invoke more than one tool at a time?"},
		{`{"tool": "reverse_string", "args": []}`, "Failed to execute tool reverse_string with args (). Did you try to invoke more than one tool at a time?"},
		{`{"tool": "caesar_decode", "args": ["a", "x"]}`, "Failed to execute tool caesar_decode with args ('a', 'x'). Did you try to invoke more than one tool at a time?"},
		{`{"tool": "reverse_string"}`, msgInvalidJSONHead + "'args'"},
		{`{"args": []}`, msgInvalidJSONHead + "'tool'"},
		{`["reverse_string"]`, msgInvalidJSONHead + "list indices must be integers or slices, not str"},
		{`5`, msgInvalidJSONHead + "'int' object is not subscriptable"},
		{`reverse_string("abc")`, msgInvalidJSONHead + "Expecting value: line 1 column 1 (char 0)"},
	}
	for _, c := range cases {
		if got := e.ExecuteJSON(c.action); got != c.want {
			t.Errorf("json %s = %q, want %q", c.action, got, c.want)
		}
	}
	text := []struct{ action, want string }{
		{"reverse_string, abc ", "cba"},
		{"  string_length ,  abcd", "4"},
		{"caesar_decode, abc, 4", "wxy"},
		{"minimum_value, 3, 1.5, 2", "1.5"},
		{"reverse_string, 123", "Failed to execute tool reverse_string with args (123,). Did you try to invoke more than one tool at a time?"},
		{"reverse_string, a, b", "Failed to execute tool reverse_string with args ('a', 'b'). Did you try to invoke more than one tool at a time?"},
		{"view", "Cound not find tool with name view"},
	}
	for _, c := range text {
		if got := e.ExecuteText(c.action); got != c.want {
			t.Errorf("text %q = %q, want %q", c.action, got, c.want)
		}
	}
}

// TestSingleToolTask: for a single-tool task an action whose result is the
// expected output solves it (no task of the 82 is one; the rule is the
// harness's).
func TestSingleToolTask(t *testing.T) {
	base, _ := Lookup("message_decoder/full_alien_message_decoding")
	task := base
	task.SingleTool = true
	task.Expected = Str("cba")
	for _, f := range Formats() {
		e, err := NewEpisode(task, f)
		if err != nil {
			t.Fatal(err)
		}
		var run CodeRunner
		// In code, printed text keeps its newline unless it parses as a
		// literal: printing the repr is what matches.
		action := map[Format]string{Code: "print(repr(reverse_string('abc')))", JSON: `{"tool": "reverse_string", "args": ["abc"]}`, Text: "reverse_string, abc"}[f]
		if f == Code {
			s, err := sandbox.New(e.CodeRegistry(), sandbox.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			run = s
		}
		wrong := "Action: reverse_string('ab') End Action"
		if f == Code {
			wrong = "Action: print(reverse_string('abc')) End Action" // "cba\n" is not "cba"
		}
		miss, err := e.Step(context.Background(), wrong, run)
		if err != nil {
			t.Fatal(err)
		}
		if miss.Correct || miss.Done {
			t.Errorf("%s: a wrong action solved the task: %+v", f, miss)
		}
		turn, err := e.Step(context.Background(), "Action: "+action+" End Action", run)
		if err != nil {
			t.Fatal(err)
		}
		if !turn.Correct || !turn.Done || turn.User != "" {
			t.Errorf("%s: the action's result did not solve the task: %+v", f, turn)
		}
	}
}

// TestStepFlow: an episode's turns, messages and limits.
func TestStepFlow(t *testing.T) {
	ctx := context.Background()
	task, _ := Lookup("message_decoder/hex_caesar_combined_decoding")
	e, err := NewEpisode(task, Text)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		reply, user string
		done        bool
	}{
		{"I think so.", MsgNeither, false},
		{"Action: x End Action\nAnswer: 1", "Cound not find tool with name x", false},
		{"Action: convert_hex_to_ascii, 4d4f5252 End Action", "MORR", false},
		{"Answer: MORR", MsgWrongAnswer, false},
	}
	for i, s := range steps {
		turn, err := e.Step(ctx, s.reply, nil)
		if err != nil {
			t.Fatal(err)
		}
		if turn.User != s.user || turn.Done != s.done {
			t.Errorf("step %d: user %q done %v, want %q %v", i, turn.User, turn.Done, s.user, s.done)
		}
	}
	for e.Turns() < MaxTurns-1 {
		if _, err := e.Step(ctx, "Answer: no", nil); err != nil {
			t.Fatal(err)
		}
	}
	last, err := e.Step(ctx, "Answer: KMPP", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !last.Correct || !last.Done || last.User != "" || e.Turns() != MaxTurns {
		t.Errorf("last turn %+v after %d turns", last, e.Turns())
	}
	if _, err := e.Step(ctx, "Answer: KMPP", nil); err != ErrEpisodeDone {
		t.Errorf("step after the end: %v", err)
	}
	// Post-processing cuts a reply before its second Answer: or Action:,
	// so in the harness's loop a reply never holds both, nor two actions:
	// the "both" message and the extra-action reminder cannot be reached.
	e2, _ := NewEpisode(task, JSON)
	turn, _ := e2.Step(ctx, "Action: {} End Action Answer: x", nil)
	if turn.User != msgInvalidJSONHead+"'tool'" {
		t.Errorf("both: %q", turn.User)
	}
	turn, _ = e2.Step(ctx, "Action: {\"tool\": \"reverse_string\", \"args\": [\"ab\"]} End Action\nAction: x", nil)
	if turn.User != "ba" {
		t.Errorf("extra action: %q", turn.User)
	}
}
