package m3tooleval

import (
	"math"
	"math/big"
	"sync"
)

// The C library's pow, exp and log (which CPython calls) are correctly
// rounded in practice; Go's math.Pow is not (it can be several units in
// the last place off). These compute in 200-bit precision and round once.

const hpPrec = 200

func hpNew() *big.Float { return new(big.Float).SetPrec(hpPrec) }

var hpLn2 = sync.OnceValue(func() *big.Float {
	// ln 2 = 2 atanh(1/3).
	third := hpNew().Quo(hpNew().SetInt64(1), hpNew().SetInt64(3))
	return atanhSeries(third)
})

// atanhSeries is 2 atanh(z) = 2 (z + z^3/3 + z^5/5 + ...) for small |z|.
func atanhSeries(z *big.Float) *big.Float {
	z2 := hpNew().Mul(z, z)
	term := hpNew().Set(z)
	sum := hpNew().Set(z)
	eps := hpNew().SetMantExp(big.NewFloat(1), -hpPrec-8)
	for k := int64(3); ; k += 2 {
		term.Mul(term, z2)
		t := hpNew().Quo(term, hpNew().SetInt64(k))
		if t.Sign() == 0 || hpNew().Abs(t).Cmp(eps) < 0 {
			break
		}
		sum.Add(sum, t)
	}
	return sum.Mul(sum, hpNew().SetInt64(2))
}

// hpLog is the natural logarithm of x > 0.
func hpLog(x *big.Float) *big.Float {
	m := hpNew()
	e := x.MantExp(m) // x = m * 2^e, m in [0.5, 1)
	if m.Cmp(big.NewFloat(math.Sqrt2/2)) < 0 {
		m.SetMantExp(m, 1)
		e--
	}
	one := hpNew().SetInt64(1)
	z := hpNew().Quo(hpNew().Sub(m, one), hpNew().Add(m, one))
	res := atanhSeries(z)
	return res.Add(res, hpNew().Mul(hpLn2(), hpNew().SetInt64(int64(e))))
}

// hpExp is e^t for |t| < 1000.
func hpExp(t *big.Float) *big.Float {
	ln2 := hpLn2()
	kf, _ := hpNew().Quo(t, ln2).Float64()
	k := math.Round(kf)
	r := hpNew().Sub(t, hpNew().Mul(ln2, hpNew().SetFloat64(k)))
	const halvings = 12
	r.SetMantExp(r, -halvings)
	sum := hpNew().SetInt64(1)
	term := hpNew().SetInt64(1)
	eps := hpNew().SetMantExp(big.NewFloat(1), -hpPrec-8)
	for n := int64(1); n < 200; n++ {
		term.Mul(term, r)
		term.Quo(term, hpNew().SetInt64(n))
		sum.Add(sum, term)
		if hpNew().Abs(term).Cmp(eps) < 0 {
			break
		}
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	return sum.SetMantExp(sum, int(k))
}

// hpPow is x**y for finite x > 0 and finite y, correctly rounded but for
// the rarest ties.
func hpPow(x, y float64) float64 {
	lx := hpLog(hpNew().SetFloat64(x))
	t := hpNew().Mul(lx, hpNew().SetFloat64(y))
	tf, _ := t.Float64()
	switch {
	case tf > 710:
		return math.Inf(1)
	case tf < -746:
		return 0
	}
	f, _ := hpExp(t).Float64()
	return f
}

// hpExpF and hpLogF are exp and log of a float, correctly rounded.
func hpExpF(x float64) float64 {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0) || x > 710 || x < -746:
		return math.Exp(x)
	case x == 0:
		return 1
	}
	f, _ := hpExp(hpNew().SetFloat64(x)).Float64()
	return f
}

func hpLogF(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) {
		return math.Log(x)
	}
	f, _ := hpLog(hpNew().SetFloat64(x)).Float64()
	return f
}

// hpAtanSmall is atan(z) by its series after halving the angle until
// |z| < 1/8 (atan z = 2 atan(z / (1 + sqrt(1 + z^2)))).
func hpAtanSmall(z *big.Float) *big.Float {
	z = hpNew().Set(z)
	doublings := 0
	limit := big.NewFloat(0.125)
	for hpNew().Abs(z).Cmp(limit) > 0 {
		one := hpNew().SetInt64(1)
		s := hpNew().Sqrt(hpNew().Add(one, hpNew().Mul(z, z)))
		z.Quo(z, s.Add(s, one))
		doublings++
	}
	z2 := hpNew().Mul(z, z)
	term := hpNew().Set(z)
	sum := hpNew().Set(z)
	eps := hpNew().SetMantExp(big.NewFloat(1), -hpPrec-8)
	for k := int64(3); ; k += 2 {
		term.Mul(term, z2)
		term.Neg(term)
		t := hpNew().Quo(term, hpNew().SetInt64(k))
		if t.Sign() == 0 || hpNew().Abs(t).Cmp(eps) < 0 {
			break
		}
		sum.Add(sum, t)
	}
	return sum.SetMantExp(sum, doublings)
}

var hpPi = sync.OnceValue(func() *big.Float {
	// pi = 4 atan(1).
	p := hpAtanSmall(hpNew().SetInt64(1))
	return p.SetMantExp(p, 2)
})

// hpAtan2F is atan2(y, x) of floats, correctly rounded (finite, not both 0).
func hpAtan2F(y, x float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) || y == 0 || x == 0 {
		return math.Atan2(y, x)
	}
	a := hpAtanSmall(hpNew().Quo(hpNew().SetFloat64(y), hpNew().SetFloat64(x)))
	if x < 0 {
		if y >= 0 {
			a.Add(a, hpPi())
		} else {
			a.Sub(a, hpPi())
		}
	}
	f, _ := a.Float64()
	return f
}

// hpSinCosF is sin and cos of a float, correctly rounded, for |x| < 1e6
// (larger arguments use Go's).
func hpSinCosF(x float64) (float64, float64) {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
		return math.Sin(x), math.Cos(x)
	}
	bx := hpNew().SetFloat64(x)
	halfPi := hpNew().SetMantExp(hpPi(), -1)
	kf, _ := hpNew().Quo(bx, halfPi).Float64()
	k := int64(math.Round(kf))
	r := hpNew().Sub(bx, hpNew().Mul(halfPi, hpNew().SetInt64(k)))
	// Taylor series of sin and cos of r, |r| <= pi/4.
	r2 := hpNew().Mul(r, r)
	eps := hpNew().SetMantExp(big.NewFloat(1), -hpPrec-8)
	sin, cos := hpNew().Set(r), hpNew().SetInt64(1)
	ts, tc := hpNew().Set(r), hpNew().SetInt64(1)
	for n := int64(1); n < 100; n++ {
		ts.Mul(ts, r2)
		ts.Quo(ts, hpNew().SetInt64((2*n)*(2*n+1)))
		ts.Neg(ts)
		tc.Mul(tc, r2)
		tc.Quo(tc, hpNew().SetInt64((2*n-1)*(2*n)))
		tc.Neg(tc)
		sin.Add(sin, ts)
		cos.Add(cos, tc)
		if hpNew().Abs(ts).Cmp(eps) < 0 && hpNew().Abs(tc).Cmp(eps) < 0 {
			break
		}
	}
	switch ((k % 4) + 4) % 4 {
	case 1:
		sin, cos = cos, sin.Neg(sin)
	case 2:
		sin, cos = sin.Neg(sin), cos.Neg(cos)
	case 3:
		sin, cos = cos.Neg(cos), sin
	}
	s, _ := sin.Float64()
	c, _ := cos.Float64()
	return s, c
}
