// Package task is the contract between the agent loop and the environments
// it plays: ALFWorld, a rover on the device protocol, M3ToolEval, and any
// other. The loop (package agent) imports this package and tool, and no
// environment; an environment is a package that implements Episode.
//
// An episode of a task is started by its package (alfworldtask.Start,
// rovertask.Start, ...) and handed to the loop as an Episode. The loop asks
// it for its tools, its first user message, a judgement of every proposed
// solution, whether the environment has ended the episode, and, when the
// policy is the built-in one, its expert. Episode.Conventions gives the
// harness conventions the episode was published with: its turn and
// proposal limits and, through a Harness, how an assistant reply becomes an
// action and what comes back to the model. MINT's conventions are the
// default (a nil Harness).
//
// To add an environment: write a package whose Start function returns an
// Episode (the package Example is a whole task in one file); hand its
// episodes to agent.NewEpisode, or to agent.Eval as agent.Job values whose
// Start calls it; and, when the published harness is not MINT's, return
// its Harness and limits from Conventions. Nothing in the loop changes.
//
// The vocabulary of a conversation (Message, Usage, Policy, Format, Action)
// is defined here so that both sides speak it; package agent re-exports it
// under the same names.
package task

import (
	"context"
	"errors"

	"github.com/gantry-dev/gantry/tool"
)

// Episode is one started episode of a task: the environment's state, its
// tools bound to that state, and the task's judgement. Its methods are
// called from the loop's goroutine only.
type Episode interface {
	// Info describes the episode for the transcript and the report.
	Info() Info
	// Tools are the episode's tools, bound to this episode's state. Code
	// actions reach them through a runtime built on this registry; json and
	// text actions call them directly.
	Tools() *tool.Registry
	// Prompt renders the first user message for the action format, with the
	// limits the loop will apply. A task that does not support a format
	// returns an error wrapping ErrFormat.
	Prompt(f Format, l Limits) (string, error)
	// Check judges a proposed solution (the text of <solution>, or
	// whatever the Harness parses as the answer).
	Check(ctx context.Context, solution string) bool
	// Done reports that the environment has ended the episode (ALFWorld's
	// done flag: a win or its step limit). Won reports a win the
	// environment decided without a proposal (ALFWorld's goal, or a
	// single-tool task whose action produced the answer). Tasks that are
	// judged by their answers only return false from both.
	Done() bool
	Won() bool
	// Expert returns the task's built-in policy for the format; tasks
	// without one return an error wrapping ErrNoExpert.
	Expert(f Format) (Policy, error)
	// Conventions are the harness conventions of the task.
	Conventions() Conventions
	// Close releases what the episode holds.
	Close() error
}

// Info names an episode.
type Info struct {
	// Task is the task as the model sees it (the end of the first message).
	Task string
	// Type is the task's kind, the report's grouping ("heat", "rover_approach",
	// "dna_sequencer").
	Type string
}

// Limits are the loop's budgets that a prompt may mention.
type Limits struct {
	// MaxTurns is the number of assistant turns.
	MaxTurns int
	// MaxProposals is the number of solutions the model may propose.
	MaxProposals int
}

// Conventions are a harness's budgets and its side of the conversation.
// Zero fields take the loop's defaults (MINT's: 5 turns, 2 proposals).
type Conventions struct {
	Limits
	// Harness parses replies and renders observations; nil means MINT's
	// (agent.MINTHarness).
	Harness Harness
}

// Harness is how a benchmark's harness talks with the model: how an
// assistant reply becomes an action, and the text of every answer. A task
// whose published harness differs from MINT's (M3ToolEval's "Action: ...
// End Action" and "Answer:") supplies its own through Episode.Conventions;
// the loop itself does not change. A Harness may keep state across the
// turns of one episode (an IPython cell counter, a note for the next
// observation): Episode.Conventions returns a fresh one per episode.
type Harness interface {
	// Parse reads the action of an assistant reply in format f. It never
	// fails: a reply without a usable action is an Action of kind ActNone
	// with the reason in Problem.
	Parse(reply string, f Format) Action
	// Observe renders what an executed action produced: the code's output,
	// or a json/text tool call's result (res.Stdout: the string, or the
	// repr of another value) or error (res.Err, whose Cause is the
	// registry's error: errors.As finds a *tool.NotFoundError for an
	// unknown tool). n counts the actions run so far in this episode, this
	// one included (IPython's cell number). The loop then bounds the text
	// to Config.MaxObservation.
	Observe(a Action, res tool.Result, n int) string
	// Invalid is the answer to a reply without an action (a.Kind == ActNone).
	Invalid(a Action, f Format) string
	// Verdict is the answer to a proposed solution.
	Verdict(correct bool) string
	// Message makes the user message that carries an observation. left is
	// the budget left after this turn, nil when the episode has stopped.
	// It returns the message and the budget line it holds ("" for none),
	// which the transcript keeps apart.
	Message(obs string, left *Limits) (msg, budget string)
}

// Errors a task returns, matched with errors.Is.
var (
	// ErrNoExpert: the task has no built-in policy for the format.
	ErrNoExpert = errors.New("no expert policy")
	// ErrFormat: the task does not support the action format.
	ErrFormat = errors.New("action format not supported")
)
