package report_test

import (
	"fmt"
	"log"

	"github.com/gantry-dev/gantry/report"
)

// Two runs of the same six games, compared: the difference in win rate is
// paired on games.
func ExampleCompare() {
	runs, err := report.Load("testdata/code", "testdata/json")
	if err != nil {
		log.Fatal(err)
	}
	c := report.Compare(runs)
	for _, s := range c.Runs {
		fmt.Printf("%s: %d/%d won\n", s.Label, s.Stats.Won, s.Stats.Episodes)
	}
	d := c.Diffs[0]
	fmt.Printf("%s − %s: %+.3f [%+.3f, %+.3f], paired: %v\n", d.Run, d.Base, d.Interval.Estimate, d.Interval.Low, d.Interval.High, d.Paired)
	// Output:
	// code: 4/6 won
	// json: 4/6 won
	// json − code: +0.000 [-0.436, +0.436], paired: true
}

func ExampleDiffUnpaired() {
	d := report.DiffUnpaired(56, 70, 48, 80)
	fmt.Printf("%.4f [%.4f, %.4f]\n", d.Estimate, d.Low, d.High)
	// Output: 0.2000 [0.0524, 0.3339]
}
