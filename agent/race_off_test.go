//go:build !race

package agent

// raceEnabled: the test binary was built with -race.
const raceEnabled = false
