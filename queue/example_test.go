package queue_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gantry-dev/gantry/agent"
	"github.com/gantry-dev/gantry/queue"
)

// A worker process runs the episodes; the collector queues them and
// gathers the results into a report.
func Example() {
	ctx := context.Background()
	cfg := queue.Config{URL: "nats://n1:4222,nats://n2:4222,nats://n3:4222"}

	// On each worker machine:
	go func() {
		run := func(ctx context.Context, j queue.Job) (*agent.Transcript, error) {
			// Rebuild the episode of j.Game from j.Settings and play it.
			return &agent.Transcript{ID: j.Game, StopReason: "done"}, nil
		}
		if err := queue.Work(ctx, cfg, run, queue.WorkerOptions{Concurrency: 4}); err != nil {
			log.Print(err)
		}
	}()

	// On the collector:
	jobs := []queue.Job{
		{Run: "demo", Variant: "expert/code/starlark", Game: "generated/1", Settings: []byte(`{}`)},
		{Run: "demo", Variant: "expert/code/starlark", Game: "generated/2", Settings: []byte(`{}`)},
	}
	recs, err := queue.Collect(ctx, cfg, jobs, queue.CollectOptions{
		Progress: func(done, total int) { fmt.Printf("%d/%d\n", done, total) },
	})
	if err != nil {
		log.Fatal(err)
	}
	rep := agent.NewReport(queue.Results(recs))
	fmt.Println(rep.Variants[0].Episodes)
}
