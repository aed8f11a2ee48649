package agent

import (
	"strings"
	"testing"
)

func TestParseAction(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		msg    string
		want   Action
	}{
		{"one block", Code, "<thought>x</thought>\n<execute>\nprint(1)\n</execute>", Action{Kind: ActExecute, Code: "print(1)"}},
		{"blocks joined", Code, "<execute>a = 1</execute> then <execute>print(a)</execute>", Action{Kind: ActExecute, Code: "a = 1\nprint(a)"}},
		{"cut-off tag repaired", Code, "<execute>\nprint(goto('desk 1'))\n", Action{Kind: ActExecute, Code: "print(goto('desk 1'))", Repaired: true}},
		{"fenced python", Code, "Let me run:\n```python\nprint(2)\n```", Action{Kind: ActExecute, Code: "print(2)"}},
		{"solution", Code, "<thought>done</thought> <solution> done </solution>", Action{Kind: ActSolution, Solution: "done"}},
		{"solution wins over code (MINT)", Code, "<execute>print(1)</execute>\n<solution>done</solution>", Action{Kind: ActSolution, Solution: "done"}},
		{"unclosed solution", Code, "The answer is <solution> 42", Action{Kind: ActSolution, Solution: "42", Repaired: true}},
		{"no action", Code, "I will think about it.", Action{Kind: ActNone, Problem: "no <execute> or <solution> block"}},
		{"empty block runs nothing", Code, "<execute>   </execute>", Action{Kind: ActExecute, Code: ""}},
		{"nested tags", Code, "<execute><execute>print(1)</execute></execute>", Action{Kind: ActExecute, Code: "<execute>print(1)"}},
		{"json call", JSON, `<thought>go</thought> {"tool": "goto", "args": {"receptacle": "desk 1"}}`, Action{Kind: ActExecute, Tool: "goto", Args: map[string]any{"receptacle": "desk 1"}, Code: "goto(receptacle='desk 1')"}},
		{"json numbers", JSON, `{"tool": "rover.drive", "args": {"speed": 0.5, "ms": 800}}`, Action{Kind: ActExecute, Tool: "rover.drive", Args: map[string]any{"speed": 0.5, "ms": int64(800)}, Code: "rover.drive(ms=800, speed=0.5)"}},
		{"json skips other objects", JSON, `{"note": 1} {"tool": "look", "args": {}}`, Action{Kind: ActExecute, Tool: "look", Args: map[string]any{}, Code: "look()"}},
		{"json malformed", JSON, `{"tool": "look", "args": {`, Action{Kind: ActNone, Problem: `no JSON object of the form {"tool": "...", "args": {...}}`}},
		{"text command", Text, "<thought>first the cabinet</thought>\n> go to cabinet 1", Action{Kind: ActExecute, Command: "go to cabinet 1", Code: "step(command='go to cabinet 1')"}},
		{"text think line skipped", Text, "think: where is it?\nopen drawer 1", Action{Kind: ActExecute, Command: "open drawer 1", Code: "step(command='open drawer 1')"}},
		{"text empty", Text, "  \n\n", Action{Kind: ActNone, Problem: "no command line"}},
		{"text cut off inside a thought", Text, "<thought> I need a bowl. </thought>\n<thought> I see a", Action{Kind: ActNone, Problem: "no command line (the reply ended inside <thought>)"}},
		{"text command before a cut-off thought", Text, "<thought>a</thought>\ngo to desk 1\n<thought> then", Action{Kind: ActExecute, Command: "go to desk 1", Code: "step(command='go to desk 1')"}},
		{"text solution in an unclosed thought", Text, "<thought> reply with <solution> YOUR_SOLUTION_HERE </solution> when", Action{Kind: ActNone, Problem: "no command line (the reply ended inside <thought>)"}},
		{"text solution after a closed thought", Text, "<thought>done</thought> <solution>done</solution>", Action{Kind: ActSolution, Solution: "done"}},
		{"text multi-line thought", Text, "<thought>\nopen drawer 1?\n</thought>\nopen drawer 2", Action{Kind: ActExecute, Command: "open drawer 2", Code: "step(command='open drawer 2')"}},
		{"json solution in an unclosed thought", JSON, `<thought> answer with <solution> x </solution> or {"tool": "look", "args": {}}`, Action{Kind: ActNone, Problem: `no JSON object of the form {"tool": "...", "args": {...}}`}},
		{"json call before a cut-off thought", JSON, `{"tool": "look", "args": {}} <thought> next I`, Action{Kind: ActExecute, Tool: "look", Args: map[string]any{}, Code: "look()"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseAction(tc.msg, tc.format)
			if got.Kind != tc.want.Kind || got.Code != tc.want.Code || got.Solution != tc.want.Solution || got.Repaired != tc.want.Repaired ||
				got.Tool != tc.want.Tool || got.Command != tc.want.Command || got.Problem != tc.want.Problem || renderCall("x", got.Args) != renderCall("x", tc.want.Args) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestParseMINTAction checks MINT's reading of code-format messages
// (GeneralEnv.parse_action), case by case.
func TestParseMINTAction(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want Action
	}{
		{"one block", "<thought>x</thought>\n<execute>\nprint(1)\n</execute>", Action{Kind: ActExecute, Code: "print(1)"}},
		{"blocks joined", "<execute>a = 1</execute> then <execute> print(a) </execute>", Action{Kind: ActExecute, Code: "a = 1\nprint(a)"}},
		{"two complete blocks and a cut-off third", "<execute>\nx = 1\n</execute>\n<execute>\nprint(x)\n</execute>\n<execute>\nprint(goto('desk", Action{Kind: ActExecute, Code: "x = 1\nprint(x)"}},
		{"cut-off block alone", "<execute>\nprint(goto('desk 1'))\n", Action{Kind: ActNone, Problem: ProblemNoCode}},
		{"fenced python is not code", "Let me run:\n```python\nprint(2)\n```", Action{Kind: ActNone, Problem: ProblemNoCode}},
		{"empty block", "<execute>   </execute>", Action{Kind: ActNone, Problem: ProblemNoCode}},
		{"empty and full block", "<execute></execute><execute>b</execute>", Action{Kind: ActExecute, Code: "\nb"}},
		{"solution", "<solution> 42 </solution>", Action{Kind: ActSolution, Solution: "42"}},
		{"solutions joined", "<solution>a</solution> and <solution> b </solution>", Action{Kind: ActSolution, Solution: "a\nb"}},
		{"solution wins over code", "<execute>print(1)</execute>\n<solution>done</solution>", Action{Kind: ActSolution, Solution: "done"}},
		{"unclosed solution is a proposal without answer", "<execute>print(1)</execute> The answer is <solution> 42", Action{Kind: ActSolution, Problem: ProblemNoAnswer}},
		{"solution in a thought counts", "<thought>reply <solution>x</solution></thought>", Action{Kind: ActSolution, Solution: "x"}},
		{"python whitespace stripped", "<execute>\x1cprint(1)\x1f</execute>", Action{Kind: ActExecute, Code: "print(1)"}},
		{"nested tags", "<execute><execute>print(1)</execute></execute>", Action{Kind: ActExecute, Code: "<execute>print(1)"}},
		{"no action", "I will think about it.", Action{Kind: ActNone, Problem: ProblemNoCode}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ParseMINTAction(tc.msg)
			if got.Kind != tc.want.Kind || got.Code != tc.want.Code || got.Solution != tc.want.Solution || got.Problem != tc.want.Problem || got.Repaired {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if m := ParseActionMode(tc.msg, Code, ParseMINT); m.Kind != got.Kind || m.Code != got.Code {
				t.Errorf("ParseActionMode differs: %+v", m)
			}
		})
	}
}

func TestParseParseMode(t *testing.T) {
	for in, want := range map[string]ParseMode{"mint": ParseMINT, " MINT ": ParseMINT, "lenient": ParseLenient, "": ParseLenient} {
		if got, err := ParseParseMode(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	if _, err := ParseParseMode("strict"); err == nil || !strings.Contains(err.Error(), "mint or lenient") {
		t.Errorf("got %v", err)
	}
}

func TestParseHugeMessage(t *testing.T) {
	msg := strings.Repeat("blah ", 1<<20) + "<execute>print(1)</execute>"
	if a := ParseAction(msg, Code); a.Kind != ActNone {
		t.Fatalf("a block past the read limit was parsed: %+v", a.Kind)
	}
	msg = "<execute>print(1)</execute>" + strings.Repeat("x", 5<<20)
	if a := ParseAction(msg, Code); a.Kind != ActExecute || a.Code != "print(1)" {
		t.Fatalf("got %+v", a.Kind)
	}
}

// TestParseMINTBlocks parses every assistant turn of the recorded episodes:
// each holds code or a solution (or is one of the few that MINT itself
// answered with "I don't understand your input").
func TestParseMINTBlocks(t *testing.T) {
	for _, name := range mintFiles {
		recs, err := ReadRecords("../testdata/alfworld/mint/" + name + ".jsonl.gz")
		if err != nil {
			t.Fatal(err)
		}
		counts := map[ActionKind]int{}
		invalid := 0
		for _, r := range recs {
			for i, msg := range r.Assistant {
				a := ParseMINTAction(msg)
				counts[a.Kind]++
				understood := a.Problem == ""
				if strings.HasPrefix(r.Observations[i], "Observation:\nI don't understand your input.") {
					invalid++
					if understood {
						t.Errorf("%s turn %d: MINT found no action, gantry found %s", r.TaskID, i+1, a.Kind)
					}
				} else if !understood && r.Observations[i] != "" {
					t.Errorf("%s turn %d: no action parsed from\n%s", r.TaskID, i+1, msg)
				}
			}
		}
		t.Logf("%s: %v (MINT answered %d turns with 'I don't understand')", name, counts, invalid)
	}
}

var mintFiles = []string{"gpt-4-0613", "CodeActAgent-Mistral-7b-v0.1", "gpt-3.5-turbo-0613"}

func FuzzParseAction(f *testing.F) {
	for _, s := range []string{"<execute>print(1)</execute>", "<solution>x</solution>", `{"tool": "a", "args": {"b": [1, {"c": 2.5}]}}`, "```python\nx\n```", "<execute>", "> go to desk 1", "<thought> I see a", "<execute>a</execute><execute>b", "<solution>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		m := ParseMINTAction(msg)
		switch {
		case m.Kind == ActExecute && (m.Code == "" || strings.Contains(msg, "<solution>") || !strings.Contains(msg, "</execute>")):
			t.Fatalf("MINT: code %q from %q", m.Code, msg)
		case m.Kind == ActSolution && !strings.Contains(msg, "<solution>"):
			t.Fatalf("MINT: a proposal without <solution> in %q", msg)
		case m.Kind == ActNone && m.Problem != ProblemNoCode:
			t.Fatalf("MINT: no action, problem %q", m.Problem)
		}
		if a := ParseAction(msg, Text); a.Kind == ActExecute && strings.Contains(a.Command, "<thought>") {
			t.Fatalf("text: a thought became the command %q", a.Command)
		}
		for _, format := range []Format{Code, JSON, Text} {
			a := ParseAction(msg, format)
			switch a.Kind {
			case ActExecute, ActSolution, ActNone:
			default:
				t.Fatalf("unknown kind %q", a.Kind)
			}
			if a.Kind == ActNone && a.Problem == "" {
				t.Fatal("no action without a reason")
			}
		}
	})
}
