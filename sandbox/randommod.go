package sandbox

import (
	"fmt"
	"math"
	"math/rand/v2"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// The random module: seed(n), random(), uniform(a, b), randint(a, b),
// choice(seq), shuffle(list) and sample(seq, k), drawn from the session's
// deterministic source (Options.Seed), so that a replayed episode draws
// the same numbers. shuffle and sample poll the deadline; sample charges
// its result and work memory first.

// rng is the session's deterministic random source.
type rng struct{ r *rand.Rand }

func newRNG(seed int64) *rng {
	return &rng{r: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

func (s *Session) randomModule() *starlarkstruct.Module {
	r := s.rng
	seqArg := func(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Indexable, error) {
		var seq starlark.Indexable
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &seq); err != nil {
			return nil, err
		}
		return seq, nil
	}
	return &starlarkstruct.Module{Name: "random", Members: starlark.StringDict{
		"seed": starlark.NewBuiltin("random.seed", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var n int64
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0, &n); err != nil {
				return nil, err
			}
			r.r = newRNG(n).r
			return starlark.None, nil
		}),
		"random": starlark.NewBuiltin("random.random", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.Float(r.r.Float64()), nil
		}),
		"uniform": starlark.NewBuiltin("random.uniform", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var lo, hi float64
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
				return nil, err
			}
			return starlark.Float(lo + (hi-lo)*r.r.Float64()), nil
		}),
		"randint": starlark.NewBuiltin("random.randint", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var lo, hi int64
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &lo, &hi); err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, valueError(fmt.Sprintf("empty range in randint(%d, %d)", lo, hi))
			}
			// hi-lo+1 overflows int64 for the widest ranges: draw in
			// uint64 (the same stream as Int64N where both apply).
			span := uint64(hi) - uint64(lo)
			if span == math.MaxUint64 {
				return starlark.MakeInt64(int64(r.r.Uint64())), nil
			}
			return starlark.MakeInt64(lo + int64(r.r.Uint64N(span+1))), nil
		}),
		"choice": starlark.NewBuiltin("random.choice", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			seq, err := seqArg(b, args, kwargs)
			if err != nil {
				return nil, err
			}
			if seq.Len() == 0 {
				return nil, &pyError{typ: "IndexError", msg: "Cannot choose from an empty sequence"}
			}
			return seq.Index(r.r.IntN(seq.Len())), nil
		}),
		"shuffle": starlark.NewBuiltin("random.shuffle", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var l *starlark.List
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &l); err != nil {
				return nil, err
			}
			bud := budgetOf(thread)
			for i := l.Len() - 1; i > 0; i-- {
				if err := bud.tick(); err != nil {
					return nil, err
				}
				j := r.r.IntN(i + 1)
				a, c := l.Index(i), l.Index(j)
				if err := l.SetIndex(i, c); err != nil {
					return nil, err
				}
				if err := l.SetIndex(j, a); err != nil {
					return nil, err
				}
			}
			return starlark.None, nil
		}),
		"sample": starlark.NewBuiltin("random.sample", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var seq starlark.Indexable
			var k int
			if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &seq, &k); err != nil {
				return nil, err
			}
			return r.sample(thread, seq, k)
		}),
	}}
}

// permBytes is the population size up to which random.sample draws from a
// permutation of the whole population (the session's random stream as it
// always was); above it, sample draws k distinct indices, in memory
// proportional to k.
const permBytes = 8 << 20

// sample is random.sample(seq, k): the result and the work memory are
// charged before they are allocated, and the deadline is polled.
func (r *rng) sample(thread *starlark.Thread, seq starlark.Indexable, k int) (starlark.Value, error) {
	n := seq.Len()
	if k < 0 || k > n {
		return nil, valueError("Sample larger than population or is negative")
	}
	bud := budgetOf(thread)
	out := int64(k) * slotBytes
	if int64(n)*8 <= permBytes {
		if err := charge(thread, addSize(out, int64(n)*8), "random.sample()"); err != nil {
			return nil, err
		}
		idx := r.r.Perm(n)[:k]
		vals := make([]starlark.Value, k)
		for i, j := range idx {
			vals[i] = seq.Index(j)
		}
		return starlark.NewList(vals), nil
	}
	if err := charge(thread, addSize(out, int64(k)*entryBytes), "random.sample()"); err != nil {
		return nil, err
	}
	seen := make(map[int]struct{}, k)
	vals := make([]starlark.Value, 0, k)
	for len(vals) < k {
		if err := bud.tick(); err != nil {
			return nil, err
		}
		j := r.r.IntN(n)
		if _, dup := seen[j]; dup {
			continue
		}
		seen[j] = struct{}{}
		vals = append(vals, seq.Index(j))
	}
	return starlark.NewList(vals), nil
}
