package alfworld

import (
	"slices"
	"sort"
	"strings"
)

// Grammar selects the text of commands and feedback.
type Grammar int

const (
	// Classic is the grammar of alfworld 0.3 game files (ReAct, MINT,
	// CodeAct): "put X in/on Y", "You arrive at loc N.".
	Classic Grammar = iota
	// Current is alfworld 0.4+: "move X to Y", "You arrive at cabinet 1.",
	// and a "help" command.
	Current
)

func (g Grammar) String() string {
	if g == Current {
		return "current"
	}
	return "classic"
}

// Options configure an Env.
type Options struct {
	Grammar Grammar
	// MaxSteps ends the episode after this many commands (every command
	// counts, accepted or not). 0 means 50, as ReAct and MINT ran;
	// negative means no limit.
	MaxSteps int
}

// NothingHappens is the feedback to any command that is not admissible.
const NothingHappens = "Nothing happens."

type verb uint8

const (
	vLook verb = iota
	vInventory
	vHelp
	vGoto
	vOpen
	vClose
	vExamineR
	vExamineO
	vTake
	vPut
	vUse
	vHeat
	vCool
	vClean
	vSlice
)

type command struct {
	v    verb
	a, b int32
	text string
	next int32 // another command with the same text, -1 for none
}

type commandTable struct {
	cmds   []command
	byText map[string]int32
	rank   []int32 // command -> position in sorted text order
	look   int32
	inv    int32
	help   int32
	// per receptacle / object command ids, -1 when absent
	gotoR, openR, closeR, examR []int32
	examO, useO                 []int32
	take, put                   []int32
	heat, cool, clean, slice    []int32
}

func (g *Game) table(gr Grammar) *commandTable {
	if gr != Current {
		gr = Classic
	}
	g.cmdOnce[gr].Do(func() { g.cmds[gr] = buildTable(g, gr) })
	return g.cmds[gr]
}

func dense(n int) []int32 {
	s := make([]int32, n)
	for i := range s {
		s[i] = -1
	}
	return s
}

func buildTable(g *Game, gr Grammar) *commandTable {
	nO, nR := len(g.Objects), len(g.Receptacles)
	t := &commandTable{byText: map[string]int32{}, look: -1, inv: -1, help: -1,
		gotoR: dense(nR), openR: dense(nR), closeR: dense(nR), examR: dense(nR), examO: dense(nO), useO: dense(nO),
		take: dense(nO * nR), put: dense(nO * nR), heat: dense(nO * nR), cool: dense(nO * nR), clean: dense(nO * nR),
		slice: dense(nO * nO)}
	add := func(v verb, a, b int, text string) int32 {
		id := int32(len(t.cmds))
		c := command{v: v, a: int32(a), b: int32(b), text: text, next: -1}
		if prev, ok := t.byText[text]; ok {
			for t.cmds[prev].next >= 0 {
				prev = t.cmds[prev].next
			}
			t.cmds = append(t.cmds, c)
			t.cmds[prev].next = id
			return id
		}
		t.byText[text] = id
		t.cmds = append(t.cmds, c)
		return id
	}
	t.look = add(vLook, 0, 0, "look")
	t.inv = add(vInventory, 0, 0, "inventory")
	if gr == Current {
		t.help = add(vHelp, 0, 0, "help")
	}
	for r := range g.Receptacles {
		rc := &g.Receptacles[r]
		if rc.Loc >= 0 {
			t.gotoR[r] = add(vGoto, r, 0, "go to "+rc.Name)
		}
		if rc.Openable {
			t.openR[r] = add(vOpen, r, 0, "open "+rc.Name)
			t.closeR[r] = add(vClose, r, 0, "close "+rc.Name)
		}
		t.examR[r] = add(vExamineR, r, 0, "examine "+rc.Name)
	}
	for o := range g.Objects {
		ob := &g.Objects[o]
		t.examO[o] = add(vExamineO, o, 0, "examine "+ob.Name)
		if ob.Toggleable {
			t.useO[o] = add(vUse, o, 0, "use "+ob.Name)
		}
		for r := range g.Receptacles {
			rc := &g.Receptacles[r]
			if ob.Pickupable {
				t.take[o*nR+r] = add(vTake, o, r, "take "+ob.Name+" from "+rc.Name)
			}
			if (ob.Pickupable || o == g.HoldStart) && g.objType[o] >= 0 && g.recType[r] >= 0 && g.Accepts(r, o) {
				if gr == Current {
					t.put[o*nR+r] = add(vPut, o, r, "move "+ob.Name+" to "+rc.Name)
				} else {
					t.put[o*nR+r] = add(vPut, o, r, "put "+ob.Name+" in/on "+rc.Name)
				}
			}
			rt := g.recType[r]
			if rt < 0 {
				continue
			}
			if ob.Heatable && g.heatRT[rt] {
				t.heat[o*nR+r] = add(vHeat, o, r, "heat "+ob.Name+" with "+rc.Name)
			}
			if ob.Coolable && g.coolRT[rt] {
				t.cool[o*nR+r] = add(vCool, o, r, "cool "+ob.Name+" with "+rc.Name)
			}
			if ob.Cleanable && g.cleanRT[rt] {
				t.clean[o*nR+r] = add(vClean, o, r, "clean "+ob.Name+" with "+rc.Name)
			}
		}
		if ob.Sliceable {
			for k := range g.Objects {
				if ot := g.objType[k]; ot >= 0 && g.knifeOT[ot] && k != o {
					t.slice[o*nO+k] = add(vSlice, o, k, "slice "+ob.Name+" with "+g.Objects[k].Name)
				}
			}
		}
	}
	order := make([]int32, len(t.cmds))
	for i := range order {
		order[i] = int32(i)
	}
	sort.SliceStable(order, func(i, j int) bool { return t.cmds[order[i]].text < t.cmds[order[j]].text })
	t.rank = make([]int32, len(t.cmds))
	for pos, id := range order {
		t.rank[id] = int32(pos)
	}
	return t
}

// Env plays one game. It is not safe for concurrent use; make one Env
// per goroutine (they share the Game).
type Env struct {
	g       *Game
	t       *commandTable
	opts    Options
	s       *State
	ev      evaluator
	goalDep uint64
	steps   int
	won     bool
	done    bool
	buf     []byte
	last    []byte
	ids     []int32
	tmp     []int
}

// NewEnv makes an environment for g; call Reset before stepping.
func NewEnv(g *Game, opts Options) *Env {
	if opts.MaxSteps == 0 {
		opts.MaxSteps = 50
	}
	if g.init0 == nil {
		s := newState(g)
		s.initFrom(g)
		g.init0 = s
	}
	e := &Env{g: g, t: g.table(opts.Grammar), opts: opts, s: newState(g)}
	e.ev = evaluator{g: g, s: e.s, bind: make([]int32, g.nVars)}
	for i := range e.ev.bind {
		e.ev.bind[i] = -1
	}
	g.goal.preds(&e.goalDep)
	e.buf = make([]byte, 0, 1024)
	e.last = make([]byte, 0, 1024)
	e.ids = make([]int32, 0, 128)
	e.s.copyFrom(g.init0)
	return e
}

// Game is the game being played.
func (e *Env) Game() *Game { return e.g }

// Options are the options the Env was made with (defaults filled in).
func (e *Env) Options() Options { return e.opts }

// State is a read-only view of the live state; it changes with Step.
func (e *Env) State() *State { return e.s }

// Steps is the number of commands taken since Reset.
func (e *Env) Steps() int { return e.steps }

// Won reports whether the goal formula holds.
func (e *Env) Won() bool { return e.won }

// Done reports whether the episode is over: won, or the step limit reached.
func (e *Env) Done() bool { return e.done }

// Reset restarts the game and returns the opening observation, exactly as
// the reference: "-= Welcome to TextWorld, ALFRED! =-\n\n", the look
// text, "\n\n", and the task.
func (e *Env) Reset() string {
	return string(e.ResetAppend(nil))
}

// ResetAppend is Reset appending the observation to dst.
func (e *Env) ResetAppend(dst []byte) []byte {
	e.s.copyFrom(e.g.init0)
	e.steps, e.done = 0, false
	e.won = e.evalGoal()
	b := e.buf[:0]
	b = append(b, "-= Welcome to TextWorld, ALFRED! =-\n\n"...)
	b = e.lookText(b, true)
	b = append(b, "\n\nYour task is to: "...)
	b = append(b, e.g.Task...)
	e.buf = b
	e.last = append(e.last[:0], b...)
	e.done = e.won
	return append(dst, b...)
}

// Step runs one text command and returns the observation, whether the
// episode is done and whether it is won. Once done, every further command
// returns the last observation again without changing anything.
func (e *Env) Step(cmd string) (obs string, done, won bool) {
	b, done, won := e.StepAppend(e.buf[:0], cmd)
	e.buf = b[:0]
	if len(b) == len(NothingHappens) && string(b) == NothingHappens {
		return NothingHappens, done, won
	}
	return string(b), done, won
}

// StepAppend is Step appending the observation to dst; it does not
// allocate when dst has room.
func (e *Env) StepAppend(dst []byte, cmd string) ([]byte, bool, bool) {
	if e.done {
		return append(dst, e.last...), e.done, e.won
	}
	start := len(dst)
	dst = e.apply(dst, strings.TrimSpace(cmd))
	e.steps++
	if e.opts.MaxSteps > 0 && e.steps >= e.opts.MaxSteps {
		e.done = true
	}
	if e.won {
		e.done = true
	}
	e.last = append(e.last[:0], dst[start:]...)
	return dst, e.done, e.won
}

func (e *Env) evalGoal() bool {
	return e.ev.sat(e.g.goal)
}

// changed re-evaluates the goal when a predicate it reads has changed.
func (e *Env) changed(preds uint64) {
	if e.goalDep&preds != 0 {
		e.won = e.evalGoal()
	}
}

// lookup finds the first applicable command with this text.
func (e *Env) lookup(cmd string) (*command, bool) {
	id, ok := e.t.byText[cmd]
	if !ok {
		return nil, false
	}
	for id >= 0 {
		c := &e.t.cmds[id]
		if e.applicable(c) {
			return c, true
		}
		id = c.next
	}
	return nil, false
}

func (e *Env) recHere(r int32) bool { return e.g.Receptacles[r].Loc == e.s.agent }

func (e *Env) reachable(r int32) bool {
	rc := &e.g.Receptacles[r]
	return rc.Loc == e.s.agent && (!rc.Openable || e.s.opened[r])
}

func (e *Env) applicable(c *command) bool {
	s, g := e.s, e.g
	nR := len(g.Receptacles)
	switch c.v {
	case vLook, vInventory, vHelp:
		return true
	case vGoto:
		return g.Receptacles[c.a].Loc != s.agent
	case vOpen:
		return e.recHere(c.a) && !s.opened[c.a]
	case vClose:
		return e.recHere(c.a) && s.opened[c.a]
	case vExamineR:
		return e.recHere(c.a)
	case vExamineO:
		// The domain also allows an object in an open receptacle here,
		// but the reference's translation of that disjunction never
		// grounds it: only the held object can be examined.
		return int(c.a) == s.held
	case vTake:
		return s.held < 0 && s.in[int(c.a)*nR+int(c.b)] && e.reachable(c.b)
	case vPut:
		return s.held == int(c.a) && e.reachable(c.b)
	case vUse:
		for _, r := range g.recsAt[s.agent] {
			if s.in[int(c.a)*nR+r] {
				return true
			}
		}
		return false
	case vHeat, vCool, vClean:
		return s.held == int(c.a) && e.recHere(c.b)
	case vSlice:
		return s.held == int(c.b) && s.objAt[int(c.a)*len(g.Locations)+s.agent]
	}
	return false
}

const (
	depIn     = 1<<pInReceptacle | 1<<pObjectAtLocation | 1<<pHolds | 1<<pHoldsAny
	depLoc    = 1 << pAtLocation
	depOpened = 1 << pOpened
)

// apply runs a command text against the state, appending the feedback.
func (e *Env) apply(dst []byte, cmd string) []byte {
	c, ok := e.lookup(cmd)
	if !ok {
		return append(dst, NothingHappens...)
	}
	s, g := e.s, e.g
	nR, nL := len(g.Receptacles), len(g.Locations)
	switch c.v {
	case vLook:
		return e.lookText(dst, false)
	case vInventory:
		if s.held < 0 {
			return append(dst, "You are not carrying anything."...)
		}
		dst = append(dst, "You are carrying: a "...)
		dst = append(dst, g.Objects[s.held].Name...)
		return append(dst, '.')
	case vHelp:
		return append(dst, helpText...)
	case vGoto:
		r := int(c.a)
		s.agent = g.Receptacles[r].Loc
		e.changed(depLoc)
		dst = append(dst, "You arrive at "...)
		if e.opts.Grammar == Current {
			dst = append(dst, g.Receptacles[r].Name...)
		} else {
			dst = append(dst, g.Locations[s.agent].Name...)
		}
		dst = append(dst, ". "...)
		return e.examineRec(dst, r)
	case vOpen:
		s.opened[c.a] = true
		e.changed(depOpened)
		dst = append(dst, "You open the "...)
		dst = append(dst, g.Receptacles[c.a].Name...)
		dst = append(dst, ". "...)
		return e.examineRec(dst, int(c.a))
	case vClose:
		s.opened[c.a] = false
		e.changed(depOpened)
		dst = append(dst, "You close the "...)
		dst = append(dst, g.Receptacles[c.a].Name...)
		return append(dst, '.')
	case vExamineR:
		return e.examineRec(dst, int(c.a))
	case vExamineO:
		return e.examineObj(dst, int(c.a))
	case vTake:
		o, r := int(c.a), int(c.b)
		s.in[o*nR+r] = false
		s.notIn[o*nR+r] = true
		s.objAt[o*nL+s.agent] = false
		s.held = o
		e.changed(depIn)
		dst = append(dst, "You pick up the "...)
		dst = append(dst, g.Objects[o].Name...)
		dst = append(dst, " from the "...)
		dst = append(dst, g.Receptacles[r].Name...)
		return append(dst, '.')
	case vPut:
		o, r := int(c.a), int(c.b)
		s.in[o*nR+r] = true
		s.notIn[o*nR+r] = false
		s.objAt[o*nL+s.agent] = true
		s.held = -1
		e.changed(depIn)
		if e.opts.Grammar == Current {
			dst = append(dst, "You move the "...)
			dst = append(dst, g.Objects[o].Name...)
			dst = append(dst, " to the "...)
		} else {
			dst = append(dst, "You put the "...)
			dst = append(dst, g.Objects[o].Name...)
			dst = append(dst, " in/on the "...)
		}
		dst = append(dst, g.Receptacles[r].Name...)
		return append(dst, '.')
	case vUse:
		o := int(c.a)
		s.flags[o] ^= flOn
		s.flags[o] |= flToggled
		e.changed(1<<pIsOn | 1<<pIsToggled)
		dst = append(dst, "You turn on the "...)
		dst = append(dst, g.Objects[o].Name...)
		return append(dst, '.')
	case vHeat, vCool, vClean:
		o, r := int(c.a), int(c.b)
		var word string
		switch c.v {
		case vHeat:
			s.flags[o] = s.flags[o]&^flCool | flHot
			word = "You heat the "
		case vCool:
			s.flags[o] = s.flags[o]&^flHot | flCool
			word = "You cool the "
		default:
			s.flags[o] |= flClean
			word = "You clean the "
		}
		e.changed(1<<pIsHot | 1<<pIsCool | 1<<pIsClean)
		dst = append(dst, word...)
		dst = append(dst, g.Objects[o].Name...)
		dst = append(dst, " using the "...)
		dst = append(dst, g.Receptacles[r].Name...)
		return append(dst, '.')
	case vSlice:
		s.flags[c.a] |= flSliced
		e.changed(1 << pIsSliced)
		dst = append(dst, "You sliced the "...)
		dst = append(dst, g.Objects[c.a].Name...)
		dst = append(dst, " with the "...)
		dst = append(dst, g.Objects[c.b].Name...)
		return append(dst, '.')
	}
	return append(dst, NothingHappens...)
}

// appendList writes "a x", "a x, and a y", "a x, a y, and a z"; "nothing"
// for none.
func appendList(dst []byte, n int, item func(i int) string, article bool) []byte {
	if n == 0 {
		return append(dst, "nothing"...)
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			if i == n-1 {
				dst = append(dst, ", and "...)
			} else {
				dst = append(dst, ", "...)
			}
		}
		if article {
			dst = append(dst, "a "...)
		}
		dst = append(dst, item(i)...)
	}
	return dst
}

func (e *Env) objectsIn(r int) []int {
	e.tmp = e.s.AppendObjectsIn(e.tmp[:0], r)
	return e.tmp
}

func (e *Env) objName(i int) string { return e.g.Objects[e.tmp[i]].Name }

func (e *Env) examineRec(dst []byte, r int) []byte {
	g := e.g
	rc := &g.Receptacles[r]
	if rc.Openable && !e.s.opened[r] {
		dst = append(dst, "The "...)
		dst = append(dst, rc.Name...)
		return append(dst, " is closed."...)
	}
	if rc.Openable {
		dst = append(dst, "The "...)
		dst = append(dst, rc.Name...)
		dst = append(dst, " is open. In it, you see "...)
	} else {
		dst = append(dst, "On the "...)
		dst = append(dst, rc.Name...)
		dst = append(dst, ", you see "...)
	}
	objs := e.objectsIn(r)
	dst = appendList(dst, len(objs), e.objName, true)
	return append(dst, '.')
}

func (e *Env) examineObj(dst []byte, o int) []byte {
	g, s := e.g, e.s
	ob := &g.Objects[o]
	f := s.flags[o]
	clean, hot, cool, sliced := f&flClean != 0, f&flHot != 0, f&flCool != 0, f&flSliced != 0
	var pre, post string
	switch {
	case ob.ReceptacleObject:
		dst = append(dst, "This is a normal "...)
		dst = append(dst, ob.Name...)
		dst = append(dst, ". In it, you see "...)
		e.tmp = append(e.tmp[:0], ob.Contains...)
		dst = appendList(dst, len(e.tmp), e.objName, true)
		return append(dst, '.')
	case clean && hot && sliced:
		pre = "This is a hot and clean sliced "
	case clean && cool && sliced:
		pre = "This is a cool and clean sliced "
	case clean && sliced:
		pre = "This is a clean sliced "
	case hot && sliced:
		pre = "This is a hot sliced "
	case cool && sliced:
		pre = "This is a cool sliced "
	case clean && hot:
		pre = "This is a hot and clean "
	case clean && cool:
		pre = "This is a cool and clean "
	case hot:
		pre = "This is a hot "
	case clean:
		pre = "This is a clean "
	case cool:
		pre = "This is a cold "
	case ob.Toggleable && f&flToggled != 0:
		pre, post = "This ", " is on."
	case ob.Sliceable && sliced:
		pre = "This is a sliced "
	default:
		pre = "There's nothing special about "
	}
	dst = append(dst, pre...)
	dst = append(dst, ob.Name...)
	if post != "" {
		return append(dst, post...)
	}
	return append(dst, '.')
}

// lookText is the look feedback; intro selects the opening's variant,
// which lists every receptacle when the agent stands where there is none.
func (e *Env) lookText(dst []byte, intro bool) []byte {
	g, s := e.g, e.s
	here := g.recsAt[s.agent]
	if len(here) == 0 {
		dst = append(dst, "You are in the middle of a room. Looking quickly around you, you see "...)
		if intro {
			dst = appendList(dst, len(g.Receptacles), func(i int) string { return g.Receptacles[i].Name }, true)
		} else {
			dst = append(dst, "nothing"...)
		}
		return append(dst, '.')
	}
	dst = append(dst, "You are facing the "...)
	dst = appendList(dst, len(here), func(i int) string { return g.Receptacles[here[i]].Name }, false)
	dst = append(dst, ". Next to it, you see "...)
	nR, nL := len(g.Receptacles), len(g.Locations)
	e.tmp = e.tmp[:0]
	for o := range g.Objects {
		if !s.objAt[o*nL+s.agent] {
			continue
		}
		for _, r := range here {
			if s.notIn[o*nR+r] {
				e.tmp = append(e.tmp, o)
			}
		}
	}
	dst = appendList(dst, len(e.tmp), e.objName, true)
	return append(dst, '.')
}

// Admissible returns the admissible commands of the current state, sorted
// by code point as the reference sorts them.
func (e *Env) Admissible() []string {
	return e.AppendAdmissible(nil)
}

// AppendAdmissible is Admissible appending to dst.
func (e *Env) AppendAdmissible(dst []string) []string {
	ids := e.admissibleIDs()
	for _, id := range ids {
		dst = append(dst, e.t.cmds[id].text)
	}
	return dst
}

func (e *Env) admissibleIDs() []int32 {
	g, s, t := e.g, e.s, e.t
	nR, nO := len(g.Receptacles), len(g.Objects)
	ids := e.ids[:0]
	add := func(id int32) {
		if id >= 0 {
			ids = append(ids, id)
		}
	}
	add(t.look)
	add(t.inv)
	add(t.help)
	for r := range g.Receptacles {
		if g.Receptacles[r].Loc != s.agent {
			add(t.gotoR[r])
		}
	}
	here := g.recsAt[s.agent]
	for _, r := range here {
		add(t.examR[r])
		if g.Receptacles[r].Openable {
			if s.opened[r] {
				add(t.closeR[r])
			} else {
				add(t.openR[r])
			}
		}
	}
	if s.held >= 0 {
		o := s.held
		add(t.examO[o])
		for _, r := range here {
			if e.reachable(int32(r)) {
				add(t.put[o*nR+r])
			}
			add(t.heat[o*nR+r])
			add(t.cool[o*nR+r])
			add(t.clean[o*nR+r])
		}
		for co := 0; co < nO; co++ {
			if t.slice[co*nO+o] >= 0 && s.objAt[co*len(g.Locations)+s.agent] {
				add(t.slice[co*nO+o])
			}
		}
	}
	for o := 0; o < nO; o++ {
		seenUse := false
		for _, r := range here {
			if !s.in[o*nR+r] {
				continue
			}
			if !seenUse && t.useO[o] >= 0 {
				add(t.useO[o])
				seenUse = true
			}
			if e.reachable(int32(r)) && s.held < 0 {
				add(t.take[o*nR+r])
			}
		}
	}
	rank := t.rank
	slices.SortFunc(ids, func(a, b int32) int { return int(rank[a]) - int(rank[b]) })
	// Drop duplicate texts (two commands with one text).
	out := ids[:0]
	for i, id := range ids {
		if i > 0 && t.cmds[id].text == t.cmds[out[len(out)-1]].text {
			continue
		}
		out = append(out, id)
	}
	e.ids = out
	return out
}

const helpText = "Available commands:\n  look:                             look around your current location\n  inventory:                        check your current inventory\n  go to (receptacle):               move to a receptacle\n  open (receptacle):                open a receptacle\n  close (receptacle):               close a receptacle\n  take (object) from (receptacle):  take an object from a receptacle\n  move (object) to (receptacle):  place an object in or on a receptacle\n  examine (something):              examine a receptacle or an object\n  use (object):                     use an object\n  heat (object) with (receptacle):  heat an object using a receptacle\n  clean (object) with (receptacle): clean an object using a receptacle\n  cool (object) with (receptacle):  cool an object using a receptacle\n  slice (object) with (object):     slice an object using a sharp object\n"
