package agent

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/tool"
)

// fakeTask is a task.Episode whose answers a test sets.
type fakeTask struct {
	limits    task.Limits
	harness   task.Harness
	promptErr error
	expertErr error
	closed    int
	prompted  task.Limits
}

func (f *fakeTask) Info() task.Info       { return task.Info{Task: "t", Type: "fake"} }
func (f *fakeTask) Tools() *tool.Registry { return counterTools() }
func (f *fakeTask) Prompt(_ task.Format, l task.Limits) (string, error) {
	f.prompted = l
	return fmt.Sprintf("turns %d, proposals %d", l.MaxTurns, l.MaxProposals), f.promptErr
}
func (f *fakeTask) Check(context.Context, string) bool { return false }
func (f *fakeTask) Done() bool                         { return false }
func (f *fakeTask) Won() bool                          { return false }
func (f *fakeTask) Expert(task.Format) (task.Policy, error) {
	return scripted("<solution>x</solution>"), f.expertErr
}
func (f *fakeTask) Conventions() task.Conventions {
	return task.Conventions{Limits: f.limits, Harness: f.harness}
}
func (f *fakeTask) Close() error { f.closed++; return nil }

// TestNewEpisodeLimits: the configuration's budgets win, zero ones take
// the task's, then MINT's; the prompt is told the budgets the loop applies.
func TestNewEpisodeLimits(t *testing.T) {
	tests := []struct {
		name     string
		cfg, tsk task.Limits
		want     task.Limits
	}{
		{"MINT's defaults", task.Limits{}, task.Limits{}, task.Limits{MaxTurns: 5, MaxProposals: 2}},
		{"the task's", task.Limits{}, task.Limits{MaxTurns: 10, MaxProposals: 10}, task.Limits{MaxTurns: 10, MaxProposals: 10}},
		{"the configuration's", task.Limits{MaxTurns: 3, MaxProposals: 1}, task.Limits{MaxTurns: 10, MaxProposals: 10}, task.Limits{MaxTurns: 3, MaxProposals: 1}},
		{"mixed", task.Limits{MaxTurns: 7}, task.Limits{MaxProposals: 4}, task.Limits{MaxTurns: 7, MaxProposals: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ft := &fakeTask{limits: tc.tsk}
			ep, cleanup, err := NewEpisode(context.Background(), "e", ft, Spec{Config: Config{Format: JSON, MaxTurns: tc.cfg.MaxTurns, MaxProposals: tc.cfg.MaxProposals}})
			if err != nil {
				t.Fatal(err)
			}
			cleanup()
			got := task.Limits{MaxTurns: ep.Config.MaxTurns, MaxProposals: ep.Config.MaxProposals}
			if got != tc.want || ft.prompted != tc.want || ep.Prompt != fmt.Sprintf("turns %d, proposals %d", tc.want.MaxTurns, tc.want.MaxProposals) {
				t.Errorf("config %+v, prompt told %+v (%q), want %+v", got, ft.prompted, ep.Prompt, tc.want)
			}
			if ft.closed != 1 || ep.TaskType != "fake" || ep.Task != "t" {
				t.Errorf("closed %d times, type %q, task %q", ft.closed, ep.TaskType, ep.Task)
			}
		})
	}
}

// TestNewEpisodeErrors: a refused format or a missing expert is an error
// that still matches the task's sentinel, and the task episode is closed.
func TestNewEpisodeErrors(t *testing.T) {
	tests := []struct {
		name string
		ft   *fakeTask
		want error
	}{
		{"format", &fakeTask{promptErr: fmt.Errorf("fake: %w", task.ErrFormat)}, task.ErrFormat},
		{"expert", &fakeTask{expertErr: fmt.Errorf("fake: %w", task.ErrNoExpert)}, task.ErrNoExpert},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := NewEpisode(context.Background(), "e", tc.ft, Spec{Config: Config{Format: Text}})
			if !errors.Is(err, tc.want) || tc.ft.closed != 1 {
				t.Errorf("error %v (want %v), closed %d times", err, tc.want, tc.ft.closed)
			}
		})
	}
}
