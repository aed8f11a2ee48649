// Package alfworld is a re-implementation of the ALFWorld text household
// (alfworld on TextWorld's PDDL backend) with the reference's exact text.
//
// Load a game with LoadGameFile or ParseGameFile (a game.tw-pddl), or
// ParseProblem (a bare PDDL problem of the ALFRED domain); LoadDir lists
// the games of an alfworld data directory. NewEnv plays a Game: Reset
// gives the opening observation, Step runs a text command, Admissible
// lists the admissible commands sorted as the reference sorts them. The
// episode is won when the problem's own goal formula holds, and done when
// won or after Options.MaxSteps commands (50 by default).
//
// Planners read the live state through Env.State: the agent's location
// (AgentLoc), the held object (Holding), which object is in which
// receptacle (In, AppendObjectsIn, AppendReceptaclesOf), open receptacles
// (Opened) and object flags (Clean, Hot, Cool, Toggled, On, Sliced).
// Indices refer to Game.Objects, Game.Receptacles and Game.Locations.
//
// StepAppend, ResetAppend and AppendAdmissible write into caller buffers
// and do not allocate. An Env is for one goroutine; Envs share a Game.
//
// RegisterTools exposes MINT's Python functions (goto, take_from, put,
// ...) and a step(command) tool through a tool.Registry.
package alfworld
