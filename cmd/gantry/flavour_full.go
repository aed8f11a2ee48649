//go:build !edge

package main

// buildFlavour is what this build is, as gantry version prints it: "full"
// has every command; "edge" (go build -tags edge) leaves out what a board
// next to the robots does not need (flavour_edge.go).
const buildFlavour = "full"

// flagNote ends the help of flags the edge build refuses: nothing here.
const flagNote = ""

// check refuses nothing in the full build: eval --queue is here.
func (q *queueFlags) check() error { return nil }
