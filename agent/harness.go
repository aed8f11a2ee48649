package agent

import (
	"fmt"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// MINTHarness returns MINT's conventions as a task.Harness, the loop's
// default: actions in <execute> (or a JSON call, or a command line, by
// format) and answers in <solution>, parsed by ParseAction; observations
// as "Observation:\n" + the output, IPython's "Out[N]: value" when
// cfg.NotebookOut, and MINT's budget line when cfg.BudgetLine; "Your
// answer is correct." or "Your answer is wrong."; MINT's "I don't
// understand your input." for a reply without an action. With cfg.NoRepair
// an <execute> block whose closing tag is missing is no action.
func MINTHarness(cfg Config) task.Harness { return mintHarness{cfg} }

type mintHarness struct{ cfg Config }

func (h mintHarness) Parse(reply string, f Format) Action {
	a := ParseActionMode(reply, f, h.cfg.Parse)
	if a.Repaired && h.cfg.NoRepair {
		a = Action{Kind: ActNone, Problem: "unclosed <execute> block"}
	}
	return a
}

func (h mintHarness) Observe(_ Action, res tool.Result, n int) string {
	if h.cfg.NotebookOut && res.Value != "" {
		res.Value = fmt.Sprintf("Out[%d]: %s", n, res.Value)
	}
	return res.Observation()
}

func (h mintHarness) Invalid(_ Action, f Format) string { return invalidActionText(f) }

func (h mintHarness) Verdict(correct bool) string {
	if correct {
		return "Your answer is correct."
	}
	return "Your answer is wrong."
}

func (h mintHarness) Message(obs string, left *task.Limits) (string, string) {
	content := "Observation:\n" + obs
	budget := ""
	if h.cfg.BudgetLine && left != nil {
		budget = budgetLine(left.MaxTurns, left.MaxProposals)
		content += "\n" + budget
	}
	return content + "\n", budget
}

// budgetLine is MINT's reminder of the budget left.
func budgetLine(stepsLeft, proposalsLeft int) string {
	line := fmt.Sprintf("You have %d steps left and %d chances to propose solution left.", stepsLeft, proposalsLeft)
	if stepsLeft == 1 {
		line += "\nYou should take the last step to propose a solution."
	}
	return line
}

// invalidActionText is MINT's answer to a message without an action.
func invalidActionText(f Format) string {
	switch f {
	case JSON:
		return "I don't understand your input. \nIf you want to call a tool, reply with one JSON object: {\"tool\": \"<name>\", \"args\": {...}}.\nIf you want to give me an answer, please use <solution> YOUR_SOLUTION_HERE </solution>.\nFor example: The answer to the question is <solution> 42 </solution>. \n"
	case Text:
		return "I don't understand your input. \nReply with one command on its own line, for example: go to cabinet 1.\nIf you want to give me an answer, please use <solution> YOUR_SOLUTION_HERE </solution>.\nFor example: The answer to the question is <solution> 42 </solution>. \n"
	}
	return "I don't understand your input. \nIf you want to execute code, please use <execute> YOUR_CODE_HERE </execute>.\nIf you want to give me an answer, please use <solution> YOUR_SOLUTION_HERE </solution>.\nFor example: The answer to the question is <solution> 42 </solution>. \n"
}
