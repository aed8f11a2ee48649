package main

// The hostile corpus: reading the case files of testdata/hostile and
// checking what a run of one produced. The runner is in hostile_test.go;
// the format is described in testdata/hostile/README.md.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// hostileDir is where the corpus lives, seen from cmd/gantry.
const hostileDir = "../../testdata/hostile"

// winMarker is what a case's code prints when its attack worked. Case code
// builds it at run time ("HOSTILE" + "-WIN") so that a traceback quoting
// the source line does not contain it.
const winMarker = "HOSTILE-WIN"

// maxObservation bounds the stdout of `gantry exec` for every case: the
// runtimes keep 16 KiB of output, and a traceback is cut too.
const maxObservation = 64 << 10

// peakRSSLimit is the most resident memory the gantry process may reach.
const peakRSSLimit = 1 << 30

// hostileCase is one file of the corpus.
type hostileCase struct {
	Name     string   // file name without extension
	File     string   // path
	Kind     string   // star, py, both or cmd
	Runtimes []string // starlark and/or python (code cases)

	Desc       string              // hostile:
	Expect     []string            // expect: error types, or "ok"
	ExpectRT   map[string][]string // expect-starlark:, expect-python: replace Expect in that runtime
	Timeout    time.Duration       // timeout: passed as --timeout
	Output     []string            // output: substrings the observation must hold
	Absent     []string            // absent: substrings no output may hold
	Then       string              // then: a second action
	ThenExpect []string            // then-expect: one of these in the second observation
	ThenRT     map[string][]string // then-expect-starlark:, then-expect-python: replace ThenExpect in that runtime
	ThenAbsent []string            // then-absent: substrings the second observation must not hold
	NoWrite    []string            // nowrite: host paths that must not exist afterwards
	Tools      string              // tools: the --tools of exec
	MaxOut     int                 // maxout: a tighter or looser bound of the observation
	Code       string              // the rest of the file, directives unexpanded

	Cmd *cmdCase // for .cmd.yaml
}

// cmdCase is a case that runs gantry commands other than exec.
type cmdCase struct {
	Hostile  string            `yaml:"hostile"`
	Needs    []string          `yaml:"needs"`    // fixtures: broker
	Files    map[string]string `yaml:"files"`    // created in the case directory
	Generate map[string]genner `yaml:"generate"` // generated files
	Timeout  string            `yaml:"timeout"`  // per step
	Steps    []cmdStep         `yaml:"steps"`
	Audit    *auditCheck       `yaml:"audit"`
}

// cmdStep is one gantry command of a cmd case.
type cmdStep struct {
	Args   []string `yaml:"args"`
	Exit   string   `yaml:"exit"` // a number, or "nonzero"
	Output []string `yaml:"output"`
	Absent []string `yaml:"absent"`
}

// auditCheck says what the audit log must hold after all steps.
type auditCheck struct {
	File     string   `yaml:"file"`
	Records  int      `yaml:"records"`
	Outcomes []string `yaml:"outcomes"`
	Contains []string `yaml:"contains"`
}

// genner names a generator of a file and its parameters.
type genner struct {
	GzipBomb *gzipBomb `yaml:"gzip-bomb"`
}

// gzipBomb is a gzip file of Members identical members, each one line of
// LineBytes bytes: a MINT result line whose assistant message is padding.
type gzipBomb struct {
	Members   int  `yaml:"members"`
	LineBytes int  `yaml:"line_bytes"`
	NoNewline bool `yaml:"no_newline"`
}

var (
	headerRE    = regexp.MustCompile(`^#\s*([a-z-]+):\s?(.*)$`)
	caseNameRE  = regexp.MustCompile(`^[a-z0-9_]+$`)
	errorTypeRE = regexp.MustCompile(`^[A-Za-z]+$`)
)

// loadHostileCases reads every case of dir, sorted by name.
func loadHostileCases(dir string) ([]*hostileCase, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("hostile corpus: %w", err)
	}
	var cases []*hostileCase
	seen := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "README.md" {
			continue
		}
		c, err := parseHostileCase(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if prev, dup := seen[c.Name]; dup {
			return nil, fmt.Errorf("hostile corpus: %s and %s have the same case name %q", prev, name, c.Name)
		}
		seen[c.Name] = name
		cases = append(cases, c)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// parseHostileCase reads one case file.
func parseHostileCase(path string) (*hostileCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hostile case: %w", err)
	}
	base := filepath.Base(path)
	c := &hostileCase{File: path}
	switch {
	case strings.HasSuffix(base, ".cmd.yaml"):
		c.Name, c.Kind = strings.TrimSuffix(base, ".cmd.yaml"), "cmd"
		return c, c.parseCmd(data)
	case strings.HasSuffix(base, ".star"):
		c.Name, c.Kind, c.Runtimes = strings.TrimSuffix(base, ".star"), "star", []string{"starlark"}
	case strings.HasSuffix(base, ".py"):
		c.Name, c.Kind, c.Runtimes = strings.TrimSuffix(base, ".py"), "py", []string{"python"}
	case strings.HasSuffix(base, ".both"):
		c.Name, c.Kind, c.Runtimes = strings.TrimSuffix(base, ".both"), "both", []string{"starlark", "python"}
	default:
		return nil, fmt.Errorf("hostile case %s: unknown extension (.star, .py, .both or .cmd.yaml)", base)
	}
	if !caseNameRE.MatchString(c.Name) {
		return nil, fmt.Errorf("hostile case %s: name must be lower case letters, digits and _", base)
	}
	c.Timeout = 2 * time.Second
	lines := strings.SplitAfter(string(data), "\n")
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], "\n")
		if !strings.HasPrefix(line, "#") || strings.HasPrefix(line, "#@") {
			break
		}
		m := headerRE.FindStringSubmatch(line)
		if m == nil {
			continue // a plain comment
		}
		key, val := m[1], strings.TrimSpace(m[2])
		switch key {
		case "hostile":
			c.Desc = val
		case "expect":
			c.Expect = splitAlternatives(val)
		case "expect-starlark", "expect-python":
			if c.ExpectRT == nil {
				c.ExpectRT = map[string][]string{}
			}
			c.ExpectRT[strings.TrimPrefix(key, "expect-")] = splitAlternatives(val)
		case "timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("hostile case %s: timeout %q: want a duration like 2s", base, val)
			}
			c.Timeout = d
		case "output":
			c.Output = append(c.Output, val)
		case "absent":
			c.Absent = append(c.Absent, val)
		case "then":
			if c.Then != "" {
				c.Then += "\n"
			}
			c.Then += val
		case "then-expect":
			c.ThenExpect = splitAlternatives(val)
		case "then-expect-starlark", "then-expect-python":
			if c.ThenRT == nil {
				c.ThenRT = map[string][]string{}
			}
			c.ThenRT[strings.TrimPrefix(key, "then-expect-")] = splitAlternatives(val)
		case "then-absent":
			c.ThenAbsent = append(c.ThenAbsent, val)
		case "nowrite":
			c.NoWrite = append(c.NoWrite, val)
		case "tools":
			c.Tools = val
		case "maxout":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("hostile case %s: maxout %q: want a byte count", base, val)
			}
			c.MaxOut = n
		default:
			return nil, fmt.Errorf("hostile case %s: unknown header %q (hostile, expect, expect-starlark, expect-python, timeout, output, absent, then, then-expect, then-expect-starlark, then-expect-python, then-absent, nowrite, tools, maxout)", base, key)
		}
	}
	c.Code = strings.Join(lines[i:], "")
	switch {
	case c.Desc == "":
		return nil, fmt.Errorf("hostile case %s: no '# hostile:' line saying what the case attacks", base)
	case len(c.Expect) == 0:
		return nil, fmt.Errorf("hostile case %s: no '# expect:' line (an error type such as MemoryError, alternatives with |, or ok)", base)
	case (c.Then == "") != (len(c.ThenExpect) == 0):
		return nil, fmt.Errorf("hostile case %s: 'then' and 'then-expect' go together", base)
	case strings.TrimSpace(c.Code) == "":
		return nil, fmt.Errorf("hostile case %s: no code", base)
	}
	all := append([]string(nil), c.Expect...)
	for rt, e := range c.ExpectRT {
		if c.Kind != "both" && !(c.Kind == "star" && rt == "starlark" || c.Kind == "py" && rt == "python") {
			return nil, fmt.Errorf("hostile case %s: expect-%s for a case that does not run in %s", base, rt, rt)
		}
		all = append(all, e...)
	}
	for _, e := range all {
		if e != "ok" && !errorTypeRE.MatchString(e) {
			return nil, fmt.Errorf("hostile case %s: expect %q is not an error type name or ok", base, e)
		}
	}
	if (len(c.ThenAbsent) > 0 || len(c.ThenRT) > 0) && c.Then == "" {
		return nil, fmt.Errorf("hostile case %s: then-absent or then-expect-RUNTIME without then", base)
	}
	if _, err := expandCode(c.Code, nil); err != nil {
		return nil, fmt.Errorf("hostile case %s: %w", base, err)
	}
	return c, nil
}

func (c *hostileCase) parseCmd(data []byte) error {
	var cc cmdCase
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cc); err != nil {
		return fmt.Errorf("hostile case %s: %w", filepath.Base(c.File), err)
	}
	c.Cmd = &cc
	c.Desc = cc.Hostile
	c.Timeout = 20 * time.Second
	if cc.Timeout != "" {
		d, err := time.ParseDuration(cc.Timeout)
		if err != nil || d <= 0 {
			return fmt.Errorf("hostile case %s: timeout %q: want a duration", filepath.Base(c.File), cc.Timeout)
		}
		c.Timeout = d
	}
	switch {
	case c.Desc == "":
		return fmt.Errorf("hostile case %s: no 'hostile:' saying what the case attacks", filepath.Base(c.File))
	case len(cc.Steps) == 0:
		return fmt.Errorf("hostile case %s: no steps", filepath.Base(c.File))
	}
	for _, n := range cc.Needs {
		if n != "broker" {
			return fmt.Errorf("hostile case %s: unknown fixture %q (broker)", filepath.Base(c.File), n)
		}
	}
	for i, s := range cc.Steps {
		if len(s.Args) == 0 {
			return fmt.Errorf("hostile case %s: step %d has no args", filepath.Base(c.File), i+1)
		}
		if _, err := parseExit(s.Exit); err != nil {
			return fmt.Errorf("hostile case %s: step %d: %w", filepath.Base(c.File), i+1, err)
		}
	}
	for name, g := range cc.Generate {
		if g.GzipBomb == nil || g.GzipBomb.Members <= 0 || g.GzipBomb.LineBytes <= 0 {
			return fmt.Errorf("hostile case %s: generate %s: want gzip-bomb with members and line_bytes", filepath.Base(c.File), name)
		}
	}
	return nil
}

// parseExit reads a step's expected exit: a status, or "nonzero" (any
// status but 0; never a signal or a kill).
func parseExit(s string) (int, error) {
	switch s {
	case "", "0":
		return 0, nil
	case "nonzero":
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 {
		return 0, fmt.Errorf("exit %q: want a status or nonzero", s)
	}
	return n, nil
}

func splitAlternatives(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

var (
	repeatRE      = regexp.MustCompile(`^#@ repeat (\d+): (".*")$`)
	placeholderRE = regexp.MustCompile(`@@([A-Z_]+)@@`)
)

// expandCode turns a case body into the code gantry runs: each
// `#@ repeat N: "text"` line becomes text (a Go string literal) repeated N
// times, and each @@NAME@@ its value from vars. An unknown placeholder is
// an error; with nil vars only the syntax is checked, nothing generated.
func expandCode(body string, vars map[string]string) (string, error) {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#@") {
			m := repeatRE.FindStringSubmatch(line)
			if m == nil {
				return "", fmt.Errorf("bad directive %q (want #@ repeat N: \"text\")", line)
			}
			n, err := strconv.Atoi(m[1])
			if err != nil || n <= 0 || n > 1<<28 {
				return "", fmt.Errorf("directive %q: bad count", line)
			}
			text, err := strconv.Unquote(m[2])
			if err != nil {
				return "", fmt.Errorf("directive %q: %w", line, err)
			}
			if vars != nil {
				b.WriteString(strings.Repeat(text, n))
			}
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	out := b.String()
	var bad []string
	out = placeholderRE.ReplaceAllStringFunc(out, func(p string) string {
		name := p[2 : len(p)-2]
		if !isPlaceholder(name) {
			bad = append(bad, name)
			return p
		}
		if v, ok := vars[name]; ok {
			return v
		}
		return p
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("unknown placeholder(s) %s", strings.Join(bad, ", "))
	}
	return out, nil
}

// isPlaceholder says whether @@name@@ is a placeholder a case may use; see
// the README.
func isPlaceholder(name string) bool {
	switch name {
	case "DIR", "HOSTDIR", "HOSTHOME", "SESSIONS", "RAND", "SOCK", "TMPSOCK", "ABSTRACT", "TCP", "BROKER":
		return true
	}
	return false
}

// hostileRun is what one run of gantry produced.
type hostileRun struct {
	args      []string
	stdout    string // at most capturedOutput bytes
	stdoutLen int64  // all of it
	stderr    string
	exitCode  int    // -1 when killed by a signal
	signal    string // the signal that ended gantry, if any
	killed    bool   // the test killed it: it did not end by itself
	peakRSS   int64  // bytes: gantry's own high-water mark (VmHWM), sampled
	elapsed   time.Duration
	leftovers []string // processes or files left behind
}

// fatalRE finds a Go runtime crash or panic in gantry's stderr.
var fatalRE = regexp.MustCompile(`(?m)^(fatal error:|panic:|goroutine \d+ |runtime: (out of memory|goroutine stack exceeds))`)

// problems lists every way r breaks the promises all runs share: gantry
// ended by itself, without a Go crash, within the memory bound, showing no
// secret and no successful attack, and left nothing behind.
func (r *hostileRun) problems(canary string, absent []string) []string {
	var p []string
	if r.killed {
		p = append(p, fmt.Sprintf("gantry did not end by itself: killed by the test after %s", r.elapsed.Round(time.Millisecond)))
	} else if r.signal != "" {
		p = append(p, fmt.Sprintf("gantry died of signal %s", r.signal))
	}
	if m := fatalRE.FindString(r.stderr); m != "" {
		p = append(p, fmt.Sprintf("Go runtime crash in stderr (%q)", strings.TrimSpace(m)))
	}
	if r.peakRSS >= peakRSSLimit {
		p = append(p, fmt.Sprintf("peak RSS of gantry %d MiB, limit %d MiB", r.peakRSS>>20, peakRSSLimit>>20))
	}
	all := r.stdout + "\n" + r.stderr
	if canary != "" && strings.Contains(all, canary) {
		p = append(p, "a secret of gantry's environment (the canary) is visible in the output")
	}
	if strings.Contains(all, winMarker) {
		p = append(p, fmt.Sprintf("the attack reported success (%s in the output)", winMarker))
	}
	for _, a := range absent {
		if strings.Contains(all, a) {
			p = append(p, fmt.Sprintf("output holds %q, which must not appear", a))
		}
	}
	for _, l := range r.leftovers {
		p = append(p, "left behind: "+l)
	}
	return p
}

// errorLineRE matches the line that names a raised error in a traceback.
func errorLineRE(typ string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(?:[A-Za-z_][A-Za-z_0-9]*\.)*` + regexp.QuoteMeta(typ) + `(?::|\s*$)`)
}

// anyErrorRE matches any Python-style error line.
var anyErrorRE = regexp.MustCompile(`(?m)^(?:Traceback \(most recent call last\):|[A-Z][A-Za-z]*(?:Error|Exception|Interrupt|Died|Exit)(?::|\s*$))`)

// matchExpect says whether an observation shows one of the expected
// outcomes: an error of one of the named types, or for "ok" no error.
func matchExpect(obs string, expect []string) bool {
	for _, e := range expect {
		if e == "ok" {
			if !anyErrorRE.MatchString(obs) {
				return true
			}
			continue
		}
		if errorLineRE(e).MatchString(obs) {
			return true
		}
	}
	return false
}

// expectFor is what the case expects in a runtime (starlark-isolate is
// starlark).
func (c *hostileCase) expectFor(runtime string) []string {
	if e, ok := c.ExpectRT[strings.TrimSuffix(runtime, "-isolate")]; ok {
		return e
	}
	return c.Expect
}

// backstopLimit is the action limit of a run whose expected outcome is not
// TimeoutError. Such a case tests another limit (memory, recursion, output,
// processes) or that the code succeeds; the deadline is only a backstop,
// and its short `timeout:` would make the outcome depend on how fast a busy
// machine is: a memory bomb reaches MemoryError after a fixed amount of
// work (memory is charged before it is allocated), which takes 0.3-1.5 s on
// an idle core and more than 2 s on a loaded one. Under this limit the
// case's own limit is always what ends it, and a case whose limit fails
// still fails: as a TimeoutError it does not expect, or earlier, on the
// address-space cap or the peak RSS.
const backstopLimit = time.Minute

// actionLimit is the --timeout (and --action-timeout) of a run of c in
// runtime: the case's own `timeout:` where it expects TimeoutError (the
// deadline is what it tests, alone or as one acceptable answer), else at
// least backstopLimit.
func (c *hostileCase) actionLimit(runtime string) time.Duration {
	for _, e := range c.expectFor(runtime) {
		if e == "TimeoutError" {
			return c.Timeout
		}
	}
	return max(c.Timeout, backstopLimit)
}

// execProblems checks a `gantry exec` run of c against c's expectations
// in runtime, on top of the shared promises.
func (c *hostileCase) execProblems(r *hostileRun, runtime, canary string) []string {
	p := r.problems(canary, c.Absent)
	if r.killed || r.signal != "" {
		return p
	}
	expect := c.expectFor(runtime)
	wantOK := len(expect) == 1 && expect[0] == "ok"
	okAllowed := false
	for _, e := range expect {
		okAllowed = okAllowed || e == "ok"
	}
	switch {
	case r.exitCode == 0 && !okAllowed:
		p = append(p, fmt.Sprintf("exit status 0, want 1 (an error: %s)", strings.Join(expect, " or ")))
	case r.exitCode == 1 && wantOK:
		p = append(p, "exit status 1, want 0 (no error)")
	case r.exitCode != 0 && r.exitCode != 1:
		p = append(p, fmt.Sprintf("exit status %d, want 0 or 1", r.exitCode))
	}
	if !matchExpect(r.stdout, expect) {
		p = append(p, fmt.Sprintf("observation does not show %s", strings.Join(expect, " or ")))
	}
	for _, o := range c.Output {
		if !strings.Contains(r.stdout, o) {
			p = append(p, fmt.Sprintf("observation lacks %q", o))
		}
	}
	maxOut := maxObservation
	if c.MaxOut > 0 {
		maxOut = c.MaxOut
	}
	if r.stdoutLen > int64(maxOut) {
		p = append(p, fmt.Sprintf("observation is %d bytes, more than %d: output and tracebacks must be cut", r.stdoutLen, maxOut))
	}
	if strings.HasPrefix(r.stderr, "gantry:") {
		p = append(p, "gantry failed instead of answering with an observation: "+firstLine(r.stderr))
	}
	return p
}

// observations splits the printed conversation of `gantry run` into its
// observations.
func observations(out string) []string {
	var obs []string
	var cur *strings.Builder
	for _, line := range strings.SplitAfter(out, "\n") {
		trimmed := strings.TrimRight(line, "\n")
		if strings.HasPrefix(trimmed, "=== ") && strings.HasSuffix(trimmed, " ===") || strings.HasPrefix(trimmed, "=== WON: ") || strings.HasPrefix(trimmed, "=== LOST: ") {
			if cur != nil {
				obs = append(obs, cur.String())
				cur = nil
			}
			if trimmed == "=== observation ===" {
				cur = &strings.Builder{}
			}
			continue
		}
		if cur != nil {
			cur.WriteString(line)
		}
	}
	if cur != nil {
		obs = append(obs, cur.String())
	}
	return obs
}

// thenProblems checks a two-action run (`gantry run --policy replay`):
// the first observation shows the expected outcome, the second one of the
// then-expect texts.
func (c *hostileCase) thenProblems(r *hostileRun, runtime, canary string) []string {
	p := r.problems(canary, c.Absent)
	if r.killed || r.signal != "" {
		return p
	}
	obs := observations(r.stdout)
	if len(obs) < 2 {
		return append(p, fmt.Sprintf("the episode shows %d observations, want the hostile action's and the next one's", len(obs)))
	}
	expect := c.expectFor(runtime)
	if !matchExpect(obs[0], expect) {
		p = append(p, fmt.Sprintf("first observation does not show %s", strings.Join(expect, " or ")))
	}
	thenExpect := c.ThenExpect
	if e, ok := c.ThenRT[strings.TrimSuffix(runtime, "-isolate")]; ok {
		thenExpect = e
	}
	found := false
	for _, want := range thenExpect {
		found = found || strings.Contains(obs[1], want)
	}
	if !found {
		p = append(p, fmt.Sprintf("the next action's observation shows none of %q: the session is not usable afterwards", thenExpect))
	}
	for _, a := range c.ThenAbsent {
		if strings.Contains(obs[1], a) {
			p = append(p, fmt.Sprintf("the next action's observation holds %q: the earlier action reached into it", a))
		}
	}
	return p
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// excerpt shortens s for a failure message: head and tail.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n/2] + fmt.Sprintf("\n[... %d bytes ...]\n", len(s)-n) + s[len(s)-n/2:]
}

// report is the failure message of a run.
func (r *hostileRun) report(c *hostileCase, runtime, what string, problems []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostile case %s (%s, %s): %s\n", c.Name, runtime, what, c.Desc)
	fmt.Fprintf(&b, "  file: %s\n  expected: %s", c.File, strings.Join(c.expectFor(runtime), " | "))
	if c.Then != "" && what == "then" {
		fmt.Fprintf(&b, "; then %q shows one of %q", c.Then, c.ThenExpect)
	}
	fmt.Fprintf(&b, "\n  command: %s\n", strings.Join(r.args, " "))
	status := fmt.Sprintf("exit %d", r.exitCode)
	switch {
	case r.killed:
		status = "killed by the test"
	case r.signal != "":
		status = "died of " + r.signal
	}
	fmt.Fprintf(&b, "  %s after %s, peak RSS %d MiB\n", status, r.elapsed.Round(time.Millisecond), r.peakRSS>>20)
	for _, p := range problems {
		fmt.Fprintf(&b, "  PROBLEM: %s\n", p)
	}
	if obs := observations(r.stdout); what == "then" && len(obs) > 0 {
		for i, o := range obs {
			fmt.Fprintf(&b, "  --- observation %d ---\n%s\n", i+1, indent(excerpt(o, 1200)))
		}
	} else {
		fmt.Fprintf(&b, "  --- stdout (%d bytes) ---\n%s\n", r.stdoutLen, indent(excerpt(r.stdout, 1600)))
	}
	fmt.Fprintf(&b, "  --- stderr ---\n%s", indent(excerpt(r.stderr, 1200)))
	return b.String()
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "    (empty)"
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// errNoPrlimit says the memory cap cannot be set.
var errNoPrlimit = errors.New("prlimit (util-linux) is not installed: the test cannot cap gantry's memory")
