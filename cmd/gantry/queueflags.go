package main

import "github.com/spf13/pflag"

// queueFlags are eval's flags for a distributed run (queue.go; the edge
// build keeps the flags and refuses them, flavour_edge.go).
type queueFlags struct {
	url string
	run string
	ca  string
}

func (q *queueFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&q.url, "queue", "", "run the episodes on gantry workers through NATS JetStream at this URL (nats://host:4222, comma-separated for a cluster; docs/scale-out.md)"+flagNote)
	fl.StringVar(&q.ca, "queue-ca", "", "with --queue tls://...: PEM file of the CA that signed the NATS servers' certificates"+flagNote)
	fl.StringVar(&q.run, "run", "", "with --queue: the run's name, whose stored results are reused (default: derived from the settings, the games and --out)"+flagNote)
}
