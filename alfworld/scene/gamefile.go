package scene

// GameFile is the JSON layout of an ALFWorld game.tw-pddl file.
type GameFile struct {
	Domain   string `json:"pddl_domain"`
	Grammar  string `json:"grammar"`
	Problem  string `json:"pddl_problem"`
	Solvable bool   `json:"solvable"`
}
