package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/m3tooleval"
	"github.com/gantry-dev/gantry/report"
	"github.com/gantry-dev/gantry/task"
	"github.com/gantry-dev/gantry/task/m3task"
	"github.com/gantry-dev/gantry/tool"
)

// envM3 is M3ToolEval's --env name.
const envM3 = "m3tooleval"

// m3Flags are the M3ToolEval flags of eval (--tasks) and run (--task).
type m3Flags struct {
	tasks string
	task  string
}

func (m *m3Flags) registerEval(fl *pflag.FlagSet) {
	fl.StringVar(&m.tasks, "tasks", "", "m3tooleval: only the tasks whose name (family/task) matches this regular expression")
}

func (m *m3Flags) registerRun(fl *pflag.FlagSet) {
	fl.StringVar(&m.task, "task", "", "m3tooleval: the task to play (family/task, or a name that ends one task's); default: the first")
}

// m3Jobs are the M3ToolEval tasks whose names match pattern, in the
// harness's order. Each job's episode takes the format of its variant.
func m3Jobs(pattern string) ([]agent.Job, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("--tasks: %w", err)
	}
	var jobs []agent.Job
	for _, t := range m3tooleval.Tasks() {
		if !re.MatchString(t.Name) {
			continue
		}
		mt := t
		jobs = append(jobs, agent.Job{ID: mt.Name, Start: func(context.Context) (task.Episode, error) { return m3task.Start(mt, "") }})
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("--tasks %q matches none of the %d M3ToolEval tasks (names are family/task: %s)", pattern,
			len(m3tooleval.Tasks()), strings.Join(m3tooleval.Families(), ", "))
	}
	return jobs, nil
}

// m3Task finds the task of run --task: an exact name, or the one task
// whose name ends with /NAME.
func m3Task(name string) (m3tooleval.Task, error) {
	all := m3tooleval.Tasks()
	if name == "" {
		return all[0], nil
	}
	if t, ok := m3tooleval.Lookup(name); ok {
		return t, nil
	}
	var found []m3tooleval.Task
	for _, t := range all {
		if strings.HasSuffix(t.Name, "/"+name) {
			found = append(found, t)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return m3tooleval.Task{}, fmt.Errorf("--task %q: no such M3ToolEval task (gantry eval --env m3tooleval lists them in its transcripts; names are family/task)", name)
}

// m3Spec gives a spec made from the flags M3ToolEval's conventions where
// the flags were left at their defaults: the task's 10 turns with an
// answer allowed on each, no stop for a repeated failure, temperature 0
// and 512 completion tokens, the 30-second alarm of a code action, no stop sequence (MINT's </execute> is not
// this harness's). Policies are wrapped to post-process replies as the
// harness does.
func (f *episodeFlags) m3Spec(spec agent.Spec, stream io.Writer) (agent.Spec, error) {
	changed := func(name string) bool { return f.flags != nil && f.flags.Changed(name) }
	switch {
	case f.policy == "replay":
		return spec, fmt.Errorf("--policy replay plays MINT results files, not M3ToolEval episodes")
	case f.model.functionCalls:
		return spec, fmt.Errorf("--function-calls: M3ToolEval's harness reads actions from the reply's text")
	}
	if !changed("turns") {
		spec.Config.MaxTurns = 0
	}
	if !changed("proposals") {
		spec.Config.MaxProposals = 0
	}
	if !changed("stuck") {
		spec.Config.StuckAfter = 0
	}
	spec.Config.BudgetLine = false
	rt := f.rt
	rt.Timeout = f.m3ActionTimeout()
	spec.NewRuntime = func(ctx context.Context, reg *tool.Registry) (agent.Runtime, error) {
		return newRuntime(ctx, rt, reg)
	}
	if f.policy == "openai" {
		cfg := f.openAIConfig(spec.Config.Format, stream)
		if !changed("temperature") {
			cfg.Temperature = m3tooleval.Temperature
		}
		if !changed("max-completion-tokens") {
			cfg.MaxTokens = m3tooleval.MaxTokens
		}
		if !changed("stop") {
			cfg.Stop = nil // M3ToolEval's harness sends no stop sequence
		}
		spec.NewPolicy = func(task.Episode) (agent.Policy, error) {
			p, err := agent.NewOpenAIPolicy(cfg)
			if err != nil {
				return nil, err
			}
			return m3task.Postprocessing(p), nil
		}
	}
	return spec, nil
}

// m3ActionTimeout is the time limit of a code action: the harness's
// alarm unless --action-timeout is given.
func (f *episodeFlags) m3ActionTimeout() time.Duration {
	if f.flags != nil && f.flags.Changed("action-timeout") {
		return f.rt.Timeout
	}
	return m3tooleval.CodeTimeoutSeconds * time.Second
}

// m3Identity is the run identity of M3ToolEval episodes played with spec:
// the flags' identity with the limits and options in effect.
func (f *episodeFlags) m3Identity(spec agent.Spec) agent.RunIdentity {
	id := f.identity(envM3)
	id.MaxTurns, id.MaxProposals = spec.Config.MaxTurns, spec.Config.MaxProposals
	if id.MaxTurns == 0 {
		id.MaxTurns = m3tooleval.MaxTurns
	}
	if id.MaxProposals == 0 {
		id.MaxProposals = m3tooleval.MaxTurns
	}
	if id.Options != nil {
		id.Options["stuck"] = fmt.Sprint(spec.Config.StuckAfter)
		id.Options["action-timeout"] = f.m3ActionTimeout().String()
	}
	return id
}

// m3Table is the paper's table layout for M3ToolEval evaluations: rows are
// the families, the paper's gpt-4-1106-preview figures beside a variant
// of that model.
func m3Table() report.FormatTable {
	return report.FormatTable{
		Groups:        m3tooleval.Families(),
		PublishedName: "CodeAct paper, " + m3task.PaperModel,
		Published: func(v agent.VariantReport) (report.Published, bool) {
			if v.Run == nil || !strings.Contains(v.Run.Model, m3task.PaperModel) {
				return report.Published{}, false
			}
			rate, turns, ok := m3task.Paper(v.Format)
			return report.Published{SuccessRate: rate, AvgTurns: turns}, ok
		},
	}
}

// writeM3Table prints the table and adds it to OUT/report.md.
func writeM3Table(outDir string, rep *agent.Report, out io.Writer) error {
	var b strings.Builder
	if err := m3Table().WriteMarkdown(&b, rep); err != nil {
		return err
	}
	r1, t1, _ := m3task.Paper(task.Code)
	r2, t2, _ := m3task.Paper(task.JSON)
	r3, t3, _ := m3task.Paper(task.Text)
	note := fmt.Sprintf("\nThe paper's %s: code %.1f%% in %.1f turns, json %.1f%% in %.1f, text %.1f%% in %.1f.\n",
		m3task.PaperModel, 100*r1, t1, 100*r2, t2, 100*r3, t3)
	fmt.Fprint(out, b.String()+note)
	f, err := os.OpenFile(filepath.Join(outDir, "report.md"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if _, err := io.WriteString(f, "\n## M3ToolEval, as the CodeAct paper's table\n\n"+b.String()+note); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	return f.Close()
}

// runM3 plays one M3ToolEval episode (gantry run --env m3tooleval).
func runM3(ctx context.Context, out io.Writer, f *episodeFlags, m *m3Flags, stream io.Writer, transcript string) error {
	t, err := m3Task(m.task)
	if err != nil {
		return err
	}
	spec, err := f.spec(stream)
	if err != nil {
		return err
	}
	if spec, err = f.m3Spec(spec, stream); err != nil {
		return err
	}
	te, err := m3task.Start(t, spec.Config.Format)
	if err != nil {
		return err
	}
	ep, cleanup, err := agent.NewEpisode(ctx, t.Name, te, spec)
	if err != nil {
		return err
	}
	defer cleanup()
	return playEpisode(ctx, out, ep, f.policy == "openai", transcript, f.m3Identity(spec))
}

// m3ExecTools are the tools of gantry exec --env m3tooleval:FAMILY: the
// code registry of a fresh episode of the family's first task.
func m3ExecTools(env string) (*tool.Registry, error) {
	family, ok := strings.CutPrefix(env, envM3+":")
	if !ok {
		return nil, fmt.Errorf("unknown --env %q (m3tooleval:FAMILY, FAMILY one of %s)", env, strings.Join(m3tooleval.Families(), ", "))
	}
	for _, t := range m3tooleval.Tasks() {
		if t.Family == family {
			ep, err := m3tooleval.NewEpisode(t, m3tooleval.Code)
			if err != nil {
				return nil, err
			}
			return ep.CodeRegistry(), nil
		}
	}
	return nil, fmt.Errorf("--env %s: no family %q (choose %s)", env, family, strings.Join(m3tooleval.Families(), ", "))
}

// m3ExecObservation is what the harness shows of a code action's result:
// the cell's output with Out[N]: removed, through literal_eval and str().
func m3ExecObservation(res tool.Result) string {
	return m3tooleval.StrOf(m3tooleval.CodeObservation(m3tooleval.IPythonOutput(res, 1)))
}
