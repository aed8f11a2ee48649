package report

import "math"

// z95 is the standard normal quantile of a two-sided 95% interval.
const z95 = 1.959963984540054

// Interval is an estimate with its 95% confidence interval.
type Interval struct {
	Estimate float64 `json:"estimate"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
}

// Wilson is the Wilson score interval of x successes in n trials.
func Wilson(x, n int) Interval {
	if n == 0 {
		return Interval{0, 0, 1}
	}
	p := float64(x) / float64(n)
	nf := float64(n)
	z2 := z95 * z95
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z95 * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	return Interval{p, math.Max(0, center-half), math.Min(1, center+half)}
}

// DiffUnpaired is the difference x1/n1 − x2/n2 of two independent
// proportions with Newcombe's hybrid score interval (Newcombe 1998,
// Statistics in Medicine 17:873, method 10), built from the two Wilson
// intervals.
func DiffUnpaired(x1, n1, x2, n2 int) Interval {
	a, b := Wilson(x1, n1), Wilson(x2, n2)
	d := a.Estimate - b.Estimate
	return Interval{d,
		math.Max(-1, d-math.Sqrt(sq(a.Estimate-a.Low)+sq(b.High-b.Estimate))),
		math.Min(1, d+math.Sqrt(sq(a.High-a.Estimate)+sq(b.Estimate-b.Low)))}
}

// DiffPaired is the difference of two proportions measured on the same n
// items, from the paired table: both succeeded (a), only the first (b),
// only the second (c), neither (d). The estimate is (b−c)/n; the interval
// is Newcombe's method 10 for paired data (Newcombe 1998, Statistics in
// Medicine 17:2635): the Wilson intervals of both proportions combined
// with the continuity-corrected correlation φ of the table.
func DiffPaired(a, b, c, d int) Interval {
	n := a + b + c + d
	if n == 0 {
		return Interval{0, -1, 1}
	}
	w1, w2 := Wilson(a+b, n), Wilson(a+c, n)
	p1, p2 := w1.Estimate, w2.Estimate
	diff := p1 - p2
	phi := 0.0
	if den := float64(a+b) * float64(c+d) * float64(a+c) * float64(b+d); den > 0 {
		num := float64(a)*float64(d) - float64(b)*float64(c)
		switch {
		case num > float64(n)/2:
			num -= float64(n) / 2
		case num < 0:
		default:
			num = 0
		}
		phi = num / math.Sqrt(den)
	}
	lo := sq(p1-w1.Low) - 2*phi*(p1-w1.Low)*(w2.High-p2) + sq(w2.High-p2)
	hi := sq(p2-w2.Low) - 2*phi*(p2-w2.Low)*(w1.High-p1) + sq(w1.High-p1)
	return Interval{diff, math.Max(-1, diff-math.Sqrt(math.Max(0, lo))), math.Min(1, diff+math.Sqrt(math.Max(0, hi)))}
}

func sq(x float64) float64 { return x * x }
