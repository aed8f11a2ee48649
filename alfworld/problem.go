package alfworld

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

type kind uint8

const (
	kAgent kind = iota + 1
	kLocation
	kReceptacle
	kObject
	kOType
	kRType
)

var kindNames = map[string]kind{"agent": kAgent, "location": kLocation, "receptacle": kReceptacle,
	"object": kObject, "otype": kOType, "rtype": kRType}

type pred uint8

const (
	pNone pred = iota
	pAtLocation
	pReceptacleAtLocation
	pObjectAtLocation
	pOpenable
	pOpened
	pInReceptacle
	pIsReceptacleObject
	pInReceptacleObject
	pReceptacleType
	pCanContain
	pObjectType
	pHolds
	pHoldsAny
	pIsClean
	pCleanable
	pIsHot
	pHeatable
	pIsCool
	pCoolable
	pPickupable
	pToggleable
	pIsOn
	pIsToggled
	pSliceable
	pIsSliced
	pEq
	pUnused // declared by the domain, changed by no text action
)

var predNames = map[string]pred{
	"atlocation": pAtLocation, "receptacleatlocation": pReceptacleAtLocation, "objectatlocation": pObjectAtLocation,
	"openable": pOpenable, "opened": pOpened, "inreceptacle": pInReceptacle, "isreceptacleobject": pIsReceptacleObject,
	"inreceptacleobject": pInReceptacleObject, "receptacletype": pReceptacleType, "cancontain": pCanContain,
	"objecttype": pObjectType, "holds": pHolds, "holdsany": pHoldsAny, "isclean": pIsClean, "cleanable": pCleanable,
	"ishot": pIsHot, "heatable": pHeatable, "iscool": pIsCool, "coolable": pCoolable, "pickupable": pPickupable,
	"toggleable": pToggleable, "ison": pIsOn, "istoggled": pIsToggled, "sliceable": pSliceable, "issliced": pIsSliced,
	"=":        pEq,
	"moveable": pUnused, "wasinreceptacle": pUnused, "checked": pUnused, "examined": pUnused,
	"isreceptacleobjectfull": pUnused, "holdsanyreceptacleobject": pUnused, "full": pUnused,
}

var predArity = map[pred][]kind{
	pAtLocation: {kAgent, kLocation}, pReceptacleAtLocation: {kReceptacle, kLocation}, pObjectAtLocation: {kObject, kLocation},
	pOpenable: {kReceptacle}, pOpened: {kReceptacle}, pInReceptacle: {kObject, kReceptacle}, pIsReceptacleObject: {kObject},
	pInReceptacleObject: {kObject, kObject}, pReceptacleType: {kReceptacle, kRType}, pCanContain: {kRType, kOType},
	pObjectType: {kObject, kOType}, pHolds: {kAgent, kObject}, pHoldsAny: {kAgent}, pIsClean: {kObject}, pCleanable: {kObject},
	pIsHot: {kObject}, pHeatable: {kObject}, pIsCool: {kObject}, pCoolable: {kObject}, pPickupable: {kObject},
	pToggleable: {kObject}, pIsOn: {kObject}, pIsToggled: {kObject}, pSliceable: {kObject}, pIsSliced: {kObject},
}

type entity struct {
	id   string // as declared
	kind kind
	line int
}

type fact struct {
	p    pred
	args []string // lower-case ids
	line int
}

// parseProblem builds a Game from a PDDL problem of the ALFRED domain, in
// steps: read the sections, check the facts, index the entities the facts
// mention, apply the facts, derive the lookup tables, compile the goal.
func parseProblem(text, domain, task string) (*Game, error) {
	root, err := parseSexpr(text)
	if err != nil {
		return nil, err
	}
	pr, err := readProblem(root)
	if err != nil {
		return nil, err
	}
	used, err := pr.checkFacts()
	if err != nil {
		return nil, err
	}
	g, idx, err := pr.newGame(task, used)
	if err != nil {
		return nil, err
	}
	if err := g.applyFacts(pr.facts, idx); err != nil {
		return nil, err
	}
	if g.AgentStart < 0 {
		return nil, errAt(root, "the agent has no initial location (atLocation)")
	}
	g.deriveTables(domain)
	g.Goal = pr.goal.String()
	if g.goal, g.nVars, err = compileGoal(pr.goal, pr.ents, idx, g.agentName); err != nil {
		return nil, err
	}
	if g.Task == "" {
		g.Task = "UNKNOWN GOAL."
	}
	g.TaskType = taskTypeOfText(g.Task)
	return g, nil
}

// problem is a PDDL problem's sections as read, before they are checked.
type problem struct {
	root  *node
	ents  map[string]*entity // declared objects, by lower-case id
	order []string           // their lower-case ids in declaration order
	facts []fact             // the :init facts
	goal  *node              // the :goal formula
}

// readProblem reads the sections of (define ...): each at most once,
// :objects, :init and :goal required.
func readProblem(root *node) (*problem, error) {
	if root.head() != "define" {
		return nil, errAt(root, "a PDDL problem starts with (define ...)")
	}
	pr := &problem{root: root, ents: map[string]*entity{}}
	seen := map[string]bool{}
	for _, sec := range root.list[1:] {
		h := sec.head()
		if h == "" {
			return nil, errAt(sec, "expected a section like (:objects ...), got %s", snippet(sec.String()))
		}
		if h != "problem" && h != ":domain" && seen[h] {
			return nil, errAt(sec, "section %s appears twice", h)
		}
		seen[h] = true
		var err error
		switch h {
		case "problem", ":domain", ":requirements", ":metric":
		case ":objects":
			err = pr.readObjects(sec)
		case ":init":
			err = pr.readInit(sec)
		case ":goal":
			if len(sec.list) != 2 {
				return nil, errAt(sec, "(:goal ...) holds exactly one formula")
			}
			pr.goal = sec.list[1]
		default:
			return nil, errAt(sec, "unknown section %s", h)
		}
		if err != nil {
			return nil, err
		}
	}
	if !seen[":objects"] {
		return nil, errAt(root, "no (:objects ...) section")
	}
	if !seen[":init"] {
		return nil, errAt(root, "no (:init ...) section")
	}
	if pr.goal == nil {
		return nil, errAt(root, "no (:goal ...) section")
	}
	return pr, nil
}

// readObjects reads (:objects a b - type c - type ...).
func (pr *problem) readObjects(sec *node) error {
	var pending []*node
	items := sec.list[1:]
	for i := 0; i < len(items); i++ {
		it := items[i]
		if it.isList {
			return errAt(it, "unexpected list in :objects")
		}
		if it.atom != "-" {
			pending = append(pending, it)
			continue
		}
		if i+1 >= len(items) || items[i+1].isList {
			return errAt(it, "'-' without a type in :objects")
		}
		tn := strings.ToLower(items[i+1].atom)
		k, ok := kindNames[tn]
		if !ok {
			return errAt(items[i+1], "unknown type %q (want agent, location, receptacle, object, otype or rtype)", items[i+1].atom)
		}
		if len(pending) == 0 {
			return errAt(it, "type %q without objects", tn)
		}
		for _, o := range pending {
			low := strings.ToLower(o.atom)
			if e, dup := pr.ents[low]; dup && e.kind != k {
				return errAt(o, "object %q declared twice with different types", o.atom)
			} else if dup {
				continue
			}
			pr.ents[low] = &entity{id: o.atom, kind: k, line: o.line}
			pr.order = append(pr.order, low)
		}
		pending = pending[:0]
		i++
	}
	if len(pending) > 0 {
		return errAt(pending[0], "object %q has no type", pending[0].atom)
	}
	return nil
}

// readInit reads the facts of (:init ...), skipping numeric fluents and
// negations.
func (pr *problem) readInit(sec *node) error {
	for _, f := range sec.list[1:] {
		if !f.isList || len(f.list) == 0 {
			return errAt(f, "expected a fact like (inReceptacle o r)")
		}
		if f.head() == "=" || f.head() == "not" {
			continue // numeric fluents (distances, costs); negations
		}
		p, ok := predNames[f.head()]
		if !ok || p == pEq {
			return errAt(f, "unknown predicate %q", f.list[0].String())
		}
		var args []string
		for _, a := range f.list[1:] {
			if a.isList {
				return errAt(a, "fact arguments must be names")
			}
			args = append(args, strings.ToLower(a.atom))
		}
		pr.facts = append(pr.facts, fact{p: p, args: args, line: f.line})
	}
	return nil
}

// checkFacts checks every fact's arity and argument types and returns the
// entities the facts mention (the reference names only those).
func (pr *problem) checkFacts() (map[string]bool, error) {
	used := map[string]bool{}
	for _, f := range pr.facts {
		if p := f.p; p != pUnused {
			want := predArity[p]
			if len(f.args) != len(want) {
				return nil, &SyntaxError{Line: f.line, Msg: fmt.Sprintf("predicate needs %d arguments, got %d", len(want), len(f.args))}
			}
			for i, a := range f.args {
				e, ok := pr.ents[a]
				if !ok {
					return nil, &SyntaxError{Line: f.line, Msg: fmt.Sprintf("undeclared object %q", a)}
				}
				if e.kind != want[i] {
					return nil, &SyntaxError{Line: f.line, Msg: fmt.Sprintf("%q is not of type %s", e.id, kindName(want[i]))}
				}
			}
		} else {
			for _, a := range f.args {
				if _, ok := pr.ents[a]; !ok {
					return nil, &SyntaxError{Line: f.line, Msg: fmt.Sprintf("undeclared object %q", a)}
				}
			}
		}
		for _, a := range f.args {
			used[a] = true
		}
	}
	return used, nil
}

// newGame returns a Game holding the problem's entities, in sorted order
// of their ids (objects, receptacles and locations only when a fact
// mentions them), and the index of each entity in its table.
func (pr *problem) newGame(task string, used map[string]bool) (*Game, map[string]int, error) {
	var usedIDs []string
	for id := range used {
		usedIDs = append(usedIDs, id)
	}
	names := demangle(usedIDs)
	g := &Game{Task: task, AgentStart: -1, HoldStart: -1, CanContain: map[string][]string{},
		otypeIdx: map[string]int{}, rtypeIdx: map[string]int{}, objByName: map[string]int{}, recByName: map[string]int{}}
	idx := map[string]int{}
	sorted := append([]string(nil), pr.order...)
	sort.Strings(sorted)
	for _, low := range sorted {
		e := pr.ents[low]
		switch e.kind {
		case kObject:
			if !used[low] {
				continue
			}
			idx[low] = len(g.Objects)
			g.Objects = append(g.Objects, Object{ID: e.id, Name: names[low], Loc: -1})
		case kReceptacle:
			if !used[low] {
				continue
			}
			idx[low] = len(g.Receptacles)
			g.Receptacles = append(g.Receptacles, Receptacle{ID: e.id, Name: names[low], Loc: -1})
		case kLocation:
			if !used[low] {
				continue
			}
			idx[low] = len(g.Locations)
			g.Locations = append(g.Locations, Location{ID: e.id, Name: names[low]})
		case kOType:
			idx[low] = len(g.otypes)
			g.otypeIdx[low] = len(g.otypes)
			g.otypes = append(g.otypes, strings.TrimSuffix(e.id, "Type"))
		case kRType:
			idx[low] = len(g.rtypes)
			g.rtypeIdx[low] = len(g.rtypes)
			g.rtypes = append(g.rtypes, strings.TrimSuffix(e.id, "Type"))
		case kAgent:
			if g.agentName == "" || used[low] {
				g.agentName = low
			}
		}
	}
	if g.agentName == "" {
		return nil, nil, errAt(pr.root, "no agent declared")
	}
	g.objType = make([]int, len(g.Objects))
	g.recType = make([]int, len(g.Receptacles))
	for i := range g.objType {
		g.objType[i] = -1
	}
	for i := range g.recType {
		g.recType[i] = -1
	}
	g.canContain = make([]bool, len(g.rtypes)*len(g.otypes))
	return g, idx, nil
}

// applyFacts sets the initial state the facts describe.
func (g *Game) applyFacts(facts []fact, idx map[string]int) error {
	for _, f := range facts {
		a := f.args
		switch f.p {
		case pAtLocation:
			if a[0] == g.agentName {
				g.AgentStart = idx[a[1]]
			}
		case pHolds:
			if a[0] == g.agentName {
				g.HoldStart = idx[a[1]]
			}
		case pReceptacleAtLocation:
			r := idx[a[0]]
			if g.Receptacles[r].Loc >= 0 && g.Receptacles[r].Loc != idx[a[1]] {
				return &SyntaxError{Line: f.line, Msg: fmt.Sprintf("receptacle %q at two locations", a[0])}
			}
			g.Receptacles[r].Loc = idx[a[1]]
		case pObjectAtLocation:
			g.Objects[idx[a[0]]].Loc = idx[a[1]]
		case pOpenable:
			g.Receptacles[idx[a[0]]].Openable = true
		case pOpened:
			g.Receptacles[idx[a[0]]].Opened = true
		case pInReceptacle:
			o := &g.Objects[idx[a[0]]]
			r := idx[a[1]]
			if !containsInt(o.In, r) {
				o.In = append(o.In, r)
			}
		case pIsReceptacleObject:
			g.Objects[idx[a[0]]].ReceptacleObject = true
		case pInReceptacleObject:
			outer := &g.Objects[idx[a[1]]]
			if !containsInt(outer.Contains, idx[a[0]]) {
				outer.Contains = append(outer.Contains, idx[a[0]])
			}
		case pReceptacleType:
			g.recType[idx[a[0]]] = idx[a[1]]
		case pObjectType:
			g.objType[idx[a[0]]] = idx[a[1]]
		case pCanContain:
			g.canContain[idx[a[0]]*len(g.otypes)+idx[a[1]]] = true
		case pIsClean, pCleanable, pIsHot, pHeatable, pIsCool, pCoolable,
			pPickupable, pToggleable, pIsOn, pIsToggled, pSliceable, pIsSliced:
			*objectFlag(&g.Objects[idx[a[0]]], f.p) = true
		}
	}
	return nil
}

// objectFlag returns the field of o that a one-argument predicate on
// objects (isClean, heatable, ...) states.
func objectFlag(o *Object, p pred) *bool {
	switch p {
	case pIsClean:
		return &o.Clean
	case pCleanable:
		return &o.Cleanable
	case pIsHot:
		return &o.Hot
	case pHeatable:
		return &o.Heatable
	case pIsCool:
		return &o.Cool
	case pCoolable:
		return &o.Coolable
	case pPickupable:
		return &o.Pickupable
	case pToggleable:
		return &o.Toggleable
	case pIsOn:
		return &o.On
	case pIsToggled:
		return &o.Toggled
	case pSliceable:
		return &o.Sliceable
	case pIsSliced:
		return &o.Sliced
	}
	panic(fmt.Sprintf("alfworld: predicate %d is not an object flag", p))
}

// deriveTables fills the lookup tables the simulator uses: types by name,
// receptacles by location, objects and receptacles by name and by type,
// CanContain by type name, and the receptacle types of cleaning, heating
// and cooling (from the domain's actions) and the knife types.
func (g *Game) deriveTables(domain string) {
	for i := range g.Objects {
		sort.Ints(g.Objects[i].In)
		sort.Ints(g.Objects[i].Contains)
		if t := g.objType[i]; t >= 0 {
			g.Objects[i].Type = g.otypes[t]
		}
	}
	g.recsAt = make([][]int, len(g.Locations))
	for r := range g.Receptacles {
		rc := &g.Receptacles[r]
		if t := g.recType[r]; t >= 0 {
			rc.Type = g.rtypes[t]
		}
		if rc.Loc >= 0 {
			g.recsAt[rc.Loc] = append(g.recsAt[rc.Loc], r)
		}
		g.recByName[rc.Name] = r
	}
	for o := range g.Objects {
		g.objByName[g.Objects[o].Name] = o
	}
	g.objsOfType = make([][]int, len(g.otypes))
	for o, t := range g.objType {
		if t >= 0 {
			g.objsOfType[t] = append(g.objsOfType[t], o)
		}
	}
	g.recsOfType = make([][]int, len(g.rtypes))
	for r, t := range g.recType {
		if t >= 0 {
			g.recsOfType[t] = append(g.recsOfType[t], r)
		}
	}
	for rt, rname := range g.rtypes {
		for ot, oname := range g.otypes {
			if g.canContain[rt*len(g.otypes)+ot] {
				g.CanContain[rname] = append(g.CanContain[rname], oname)
			}
		}
	}
	g.cleanRT = g.rtypeSet(domainTypes(domain, "CleanObject", "SinkBasinType"))
	g.heatRT = g.rtypeSet(domainTypes(domain, "HeatObject", "MicrowaveType"))
	g.coolRT = g.rtypeSet(domainTypes(domain, "CoolObject", "FridgeType"))
	g.knifeOT = make([]bool, len(g.otypes))
	for _, k := range []string{"knifetype", "butterknifetype"} {
		if i, ok := g.otypeIdx[k]; ok {
			g.knifeOT[i] = true
		}
	}
}

func kindName(k kind) string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	return "?"
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (g *Game) rtypeSet(types []string) []bool {
	out := make([]bool, len(g.rtypes))
	for _, t := range types {
		if i, ok := g.rtypeIdx[strings.ToLower(t)]; ok {
			out[i] = true
		}
	}
	return out
}

var rtypeLineRE = regexp.MustCompile(`(?m)^[ \t]*\(receptacleType \?r (\w+)\)`)

// domainTypes reads which receptacle types an action of the domain text
// accepts (uncommented "(receptacleType ?r XType)" lines); def when the
// domain is absent or says nothing.
func domainTypes(domain, action, def string) []string {
	i := strings.Index(domain, "(:action "+action)
	if i < 0 {
		return []string{def}
	}
	block := domain[i:]
	if j := strings.Index(block[1:], "(:action"); j >= 0 {
		block = block[:j+1]
	}
	var out []string
	for _, m := range rtypeLineRE.FindAllStringSubmatch(block, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		return []string{def}
	}
	return out
}
