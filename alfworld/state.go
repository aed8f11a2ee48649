package alfworld

// Object state flags.
const (
	flClean uint8 = 1 << iota
	flHot
	flCool
	flToggled
	flOn
	flSliced
)

// State is the changing part of a game: where the agent is, what it
// holds, which object is in which receptacle, what is open, hot, cool,
// clean, on or sliced. Env.State returns a read-only view; do not keep it
// across steps if you need a snapshot (use Clone).
type State struct {
	g      *Game
	agent  int
	held   int
	in     []bool // [o*nR+r] inReceptacle
	notIn  []bool // [o*nR+r] inReceptacle deleted during play (the reference keeps such facts)
	objAt  []bool // [o*nL+l] objectAtLocation
	opened []bool
	flags  []uint8
}

func newState(g *Game) *State {
	nO, nR, nL := len(g.Objects), len(g.Receptacles), len(g.Locations)
	s := &State{g: g, in: make([]bool, nO*nR), notIn: make([]bool, nO*nR), objAt: make([]bool, nO*nL),
		opened: make([]bool, nR), flags: make([]uint8, nO)}
	return s
}

func (s *State) initFrom(g *Game) {
	s.agent, s.held = g.AgentStart, g.HoldStart
	nR, nL := len(g.Receptacles), len(g.Locations)
	for o := range g.Objects {
		ob := &g.Objects[o]
		for _, r := range ob.In {
			s.in[o*nR+r] = true
		}
		if ob.Loc >= 0 {
			s.objAt[o*nL+ob.Loc] = true
		}
		var f uint8
		if ob.Clean {
			f |= flClean
		}
		if ob.Hot {
			f |= flHot
		}
		if ob.Cool {
			f |= flCool
		}
		if ob.Toggled {
			f |= flToggled
		}
		if ob.On {
			f |= flOn
		}
		if ob.Sliced {
			f |= flSliced
		}
		s.flags[o] = f
	}
	for r := range g.Receptacles {
		s.opened[r] = g.Receptacles[r].Opened
	}
}

// copyFrom overwrites s with t (same game) without allocating.
func (s *State) copyFrom(t *State) {
	s.agent, s.held = t.agent, t.held
	copy(s.in, t.in)
	copy(s.notIn, t.notIn)
	copy(s.objAt, t.objAt)
	copy(s.opened, t.opened)
	copy(s.flags, t.flags)
}

// Clone returns an independent copy.
func (s *State) Clone() *State {
	c := newState(s.g)
	c.copyFrom(s)
	return c
}

// Game is the game this state belongs to.
func (s *State) Game() *Game { return s.g }

// AgentLoc is the agent's location (an index into Game.Locations).
func (s *State) AgentLoc() int { return s.agent }

// Holding is the object the agent holds, -1 for none.
func (s *State) Holding() int { return s.held }

// In reports whether object o is in receptacle r.
func (s *State) In(o, r int) bool { return s.in[o*len(s.g.Receptacles)+r] }

// ObjectLoc reports whether object o is at location l.
func (s *State) ObjectAt(o, l int) bool { return s.objAt[o*len(s.g.Locations)+l] }

// Opened reports whether receptacle r is open.
func (s *State) Opened(r int) bool { return s.opened[r] }

// Clean, Hot, Cool, Toggled, On and Sliced report an object's state.
func (s *State) Clean(o int) bool   { return s.flags[o]&flClean != 0 }
func (s *State) Hot(o int) bool     { return s.flags[o]&flHot != 0 }
func (s *State) Cool(o int) bool    { return s.flags[o]&flCool != 0 }
func (s *State) Toggled(o int) bool { return s.flags[o]&flToggled != 0 }
func (s *State) On(o int) bool      { return s.flags[o]&flOn != 0 }
func (s *State) Sliced(o int) bool  { return s.flags[o]&flSliced != 0 }

// AppendObjectsIn appends the objects in receptacle r, in the order the
// reference lists them.
func (s *State) AppendObjectsIn(dst []int, r int) []int {
	nR := len(s.g.Receptacles)
	for o := range s.g.Objects {
		if s.in[o*nR+r] {
			dst = append(dst, o)
		}
	}
	return dst
}

// AppendReceptaclesOf appends the receptacles holding object o.
func (s *State) AppendReceptaclesOf(dst []int, o int) []int {
	nR := len(s.g.Receptacles)
	for r := 0; r < nR; r++ {
		if s.in[o*nR+r] {
			dst = append(dst, r)
		}
	}
	return dst
}

func (s *State) holds(p pred, a, b int32) bool {
	if a < 0 || (b < 0 && len(predArity[p]) == 2) {
		return false
	}
	g := s.g
	switch p {
	case pAtLocation:
		return a == 0 && int(b) == s.agent
	case pReceptacleAtLocation:
		return g.Receptacles[a].Loc == int(b)
	case pObjectAtLocation:
		return s.objAt[int(a)*len(g.Locations)+int(b)]
	case pOpenable:
		return g.Receptacles[a].Openable
	case pOpened:
		return s.opened[a]
	case pInReceptacle:
		return s.in[int(a)*len(g.Receptacles)+int(b)]
	case pIsReceptacleObject:
		return g.Objects[a].ReceptacleObject
	case pInReceptacleObject:
		return containsInt(g.Objects[b].Contains, int(a))
	case pReceptacleType:
		return g.recType[a] == int(b)
	case pObjectType:
		return g.objType[a] == int(b)
	case pCanContain:
		return g.canContain[int(a)*len(g.otypes)+int(b)]
	case pHolds:
		return a == 0 && int(b) == s.held
	case pHoldsAny:
		return a == 0 && s.held >= 0
	case pIsClean:
		return s.flags[a]&flClean != 0
	case pCleanable:
		return g.Objects[a].Cleanable
	case pIsHot:
		return s.flags[a]&flHot != 0
	case pHeatable:
		return g.Objects[a].Heatable
	case pIsCool:
		return s.flags[a]&flCool != 0
	case pCoolable:
		return g.Objects[a].Coolable
	case pPickupable:
		return g.Objects[a].Pickupable
	case pToggleable:
		return g.Objects[a].Toggleable
	case pIsOn:
		return s.flags[a]&flOn != 0
	case pIsToggled:
		return s.flags[a]&flToggled != 0
	case pSliceable:
		return g.Objects[a].Sliceable
	case pIsSliced:
		return s.flags[a]&flSliced != 0
	}
	return false
}
