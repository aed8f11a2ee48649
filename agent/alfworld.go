package agent

import (
	"strings"
)

// ALFWorldTask is the task text MINT gives the model for a game, from the
// environment's opening observation: "Interact with a household to solve a
// task. \n" then the room and the task, without TextWorld's banner.
func ALFWorldTask(opening string) string {
	s := strings.TrimPrefix(opening, "-= Welcome to TextWorld, ALFRED! =-\n\n")
	s = strings.Replace(s, "\n\nYour task is to: ", "\nYour task is to: ", 1)
	return "Interact with a household to solve a task. \n" + strings.TrimRight(s, "\n")
}
