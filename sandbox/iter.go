package sandbox

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Builtins that materialise or walk iterables. Each charges what it builds
// before building it, and those that walk without building (sorting,
// min/max, any/all, sum) poll the action's deadline as they go: over
// range(10**9) they end with the action's time limit, not 30 s later.

// sizedBuiltin wraps the Universe builtin name: before it runs, it charges
// per bytes for each element of its iterable arguments of known length
// (all of them, or the first only).
func sizedBuiltin(name string, per int64, allArgs bool) *starlark.Builtin {
	inner := starlark.Universe[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var n int64
		for i, a := range args {
			if i > 0 && !allArgs {
				break
			}
			n = addSize(n, max(seqLen(a), 0))
		}
		if name == "dict" {
			n += int64(len(kwargs))
		}
		if name == "zip" && len(args) > 0 {
			// zip builds tuples of len(args) up to the shortest.
			short := int64(-1)
			for _, a := range args {
				if l := seqLen(a); l >= 0 && (short < 0 || l < short) {
					short = l
				}
			}
			n = mulSize(max(short, 0), int64(len(args)))
		}
		if err := charge(thread, mulSize(n, per), name+"()"); err != nil {
			return nil, err
		}
		return inner.CallInternal(thread, args, kwargs)
	})
}

// builtinIter implements _gantry_iter(x, kind), the iterable of a comprehension's
// for clause: it charges one element of the list (or dict) being built per
// element of x, and returns x.
func builtinIter(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	if n := seqLen(args[0]); n > 0 {
		per, what := int64(slotBytes), "list comprehension"
		if args[1] == starlark.String("dict") {
			per, what = entryBytes, "dict comprehension"
		}
		if err := charge(thread, mulSize(n, per), what); err != nil {
			return nil, err
		}
	}
	return args[0], nil
}

// builtinIntConv is int() with Python's guard against converting
// enormous decimal strings (quadratic time): at most maxIntDigits digits.
func builtinIntConv(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) > 0 {
		if s, ok := args[0].(starlark.String); ok && len(s) > maxIntDigits+2 {
			return nil, valueError(fmt.Sprintf("Exceeds the limit (%d digits) for integer string conversion: value has %d digits", maxIntDigits, len(s)))
		}
	}
	return starlark.Universe["int"].(*starlark.Builtin).CallInternal(thread, args, kwargs)
}

func builtinAnyAll(name string) *starlark.Builtin {
	want := name == "any"
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var iterable starlark.Iterable
		if err := starlark.UnpackPositionalArgs(name, args, kwargs, 1, &iterable); err != nil {
			return nil, err
		}
		bud := budgetOf(thread)
		iter := iterable.Iterate()
		defer iter.Done()
		var x starlark.Value
		for iter.Next(&x) {
			if bool(x.Truth()) == want {
				return starlark.Bool(want), nil
			}
			if err := bud.tick(); err != nil {
				return nil, err
			}
		}
		return starlark.Bool(!want), nil
	})
}

// builtinMinMax is min/max as Starlark defines them, polling the deadline.
func builtinMinMax(name string) *starlark.Builtin {
	op := syntax.LT
	if name == "max" {
		op = syntax.GT
	}
	return starlark.NewBuiltin(name, func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if len(args) == 0 {
			return nil, fmt.Errorf("%s requires at least one positional argument", name)
		}
		var keyFunc starlark.Callable
		if err := starlark.UnpackArgs(name, nil, kwargs, "key?", &keyFunc); err != nil {
			return nil, err
		}
		var iterable starlark.Value = args
		if len(args) == 1 {
			iterable = args[0]
		}
		iter := starlark.Iterate(iterable)
		if iter == nil {
			return nil, fmt.Errorf("%s: %s value is not iterable", name, iterable.Type())
		}
		defer iter.Done()
		keyOf := func(x starlark.Value) (starlark.Value, error) {
			if keyFunc == nil {
				return x, nil
			}
			return starlark.Call(thread, keyFunc, starlark.Tuple{x}, nil)
		}
		var best starlark.Value
		if !iter.Next(&best) {
			return nil, fmt.Errorf("%s: argument is an empty sequence", name)
		}
		bestKey, err := keyOf(best)
		if err != nil {
			return nil, err
		}
		bud := budgetOf(thread)
		var x starlark.Value
		for iter.Next(&x) {
			k, err := keyOf(x)
			if err != nil {
				return nil, err
			}
			if better, err := starlark.Compare(op, k, bestKey); err != nil {
				return nil, fmt.Errorf("%s: %v", name, err)
			} else if better {
				best, bestKey = x, k
			}
			if err := bud.tick(); err != nil {
				return nil, err
			}
		}
		return best, nil
	})
}

func builtinSorted(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var iterable starlark.Iterable
	var key starlark.Callable
	var reverse bool
	if err := starlark.UnpackArgs("sorted", args, kwargs, "iterable", &iterable, "key?", &key, "reverse?", &reverse); err != nil {
		return nil, err
	}
	values, err := collect(thread, iterable, "sorted()")
	if err != nil {
		return nil, err
	}
	if err := sortValues(thread, values, key, reverse); err != nil {
		return nil, err
	}
	return starlark.NewList(values), nil
}

// builtinSort implements list.sort(key=None, reverse=False) in place.
func builtinSort(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("sort() takes no positional arguments")
	}
	l, ok := args[0].(*starlark.List)
	if !ok {
		// Not a list: call the value's own sort method, if it has one.
		fn, err := getAttr(args[0], "sort")
		if err != nil {
			return nil, err
		}
		return starlark.Call(thread, fn, nil, kwargs)
	}
	var key starlark.Callable
	var reverse bool
	if err := starlark.UnpackArgs("sorted", nil, kwargs, "key?", &key, "reverse?", &reverse); err != nil {
		return nil, err
	}
	values, err := collect(thread, l, "list.sort()")
	if err != nil {
		return nil, err
	}
	if err := sortValues(thread, values, key, reverse); err != nil {
		return nil, err
	}
	for i, v := range values {
		if err := l.SetIndex(i, v); err != nil {
			return nil, err
		}
	}
	return starlark.None, nil
}

// collect materialises an iterable for sorting, charging it first.
func collect(thread *starlark.Thread, iterable starlark.Iterable, what string) ([]starlark.Value, error) {
	n := seqLen(iterable)
	if err := charge(thread, mulSize(max(n, 0), slotBytes+pairBytes), what); err != nil {
		return nil, err
	}
	bud := budgetOf(thread)
	values := make([]starlark.Value, 0, max(n, 0))
	iter := iterable.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		values = append(values, x)
		if err := bud.tick(); err != nil {
			return nil, err
		}
		if n < 0 && len(values)%pollEvery == 0 {
			if err := charge(thread, pollEvery*(slotBytes+pairBytes), what); err != nil {
				return nil, err
			}
		}
	}
	return values, nil
}

// sortValues sorts values stably by key (or themselves), as Python's sort:
// with reverse, equal elements keep their order. It is a merge sort that
// polls the action's deadline between comparisons.
func sortValues(thread *starlark.Thread, values []starlark.Value, key starlark.Callable, reverse bool) error {
	type item struct{ k, v starlark.Value }
	items := make([]item, len(values))
	bud := budgetOf(thread)
	for i, v := range values {
		items[i] = item{v, v}
		if key != nil {
			k, err := starlark.Call(thread, key, starlark.Tuple{v}, nil)
			if err != nil {
				return err
			}
			items[i].k = k
		}
	}
	var cmpErr error
	less := func(a, b item) bool {
		if cmpErr != nil {
			return false
		}
		if err := bud.tick(); err != nil {
			cmpErr = err
			return false
		}
		x, y := a.k, b.k
		if reverse {
			x, y = y, x
		}
		lt, err := starlark.Compare(syntax.LT, x, y)
		if err != nil {
			cmpErr = err
		}
		return lt
	}
	// Insertion sort of short runs, then bottom-up merges.
	const run = 16
	n := len(items)
	for lo := 0; lo < n; lo += run {
		hi := min(lo+run, n)
		for i := lo + 1; i < hi; i++ {
			for j := i; j > lo && less(items[j], items[j-1]); j-- {
				items[j], items[j-1] = items[j-1], items[j]
			}
			if cmpErr != nil {
				return cmpErr
			}
		}
	}
	buf := make([]item, n)
	src, dst := items, buf
	for width := run; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if less(src[j], src[i]) {
					dst[k] = src[j]
					j++
				} else {
					dst[k] = src[i]
					i++
				}
				k++
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
			if cmpErr != nil {
				return cmpErr
			}
		}
		src, dst = dst, src
	}
	for i := range values {
		values[i] = src[i].v
	}
	return nil
}

func builtinSum(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var iterable starlark.Iterable
	var acc starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs("sum", args, kwargs, "iterable", &iterable, "start?", &acc); err != nil {
		return nil, err
	}
	bud := budgetOf(thread)
	iter := iterable.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		if err := checkBinary(thread, "+", acc, x); err != nil {
			return nil, err
		}
		v, err := starlark.Binary(syntax.PLUS, acc, x)
		if err != nil {
			return nil, err
		}
		acc = v
		if err := bud.tick(); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

func builtinMap(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) < 2 || len(kwargs) > 0 {
		return nil, fmt.Errorf("map() must have at least two arguments")
	}
	fn, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("'%s' object is not callable", pyTypeName(args[0]))
	}
	iters := make([]starlark.Iterator, len(args)-1)
	for i, a := range args[1:] {
		it, ok := a.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("'%s' object is not iterable", pyTypeName(a))
		}
		iters[i] = it.Iterate()
		defer iters[i].Done()
	}
	bud := budgetOf(thread)
	var out []starlark.Value
	for {
		call := make(starlark.Tuple, len(iters))
		for i, it := range iters {
			if !it.Next(&call[i]) {
				return starlark.NewList(out), nil
			}
		}
		v, err := starlark.Call(thread, fn, call, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if err := tickCharge(thread, bud, len(out), "map()"); err != nil {
			return nil, err
		}
	}
}

// tickCharge polls the action and charges the list a builtin is building
// every pollEvery elements.
func tickCharge(thread *starlark.Thread, bud *budget, n int, what string) error {
	if err := bud.tick(); err != nil {
		return err
	}
	if n%pollEvery == 0 {
		return charge(thread, pollEvery*slotBytes*2, what)
	}
	return nil
}

func builtinFilter(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn starlark.Value
	var iterable starlark.Iterable
	if err := starlark.UnpackPositionalArgs("filter", args, kwargs, 2, &fn, &iterable); err != nil {
		return nil, err
	}
	bud := budgetOf(thread)
	iter := iterable.Iterate()
	defer iter.Done()
	var out []starlark.Value
	var x starlark.Value
	for i := 1; iter.Next(&x); i++ {
		keep := x.Truth()
		if fn != starlark.None {
			v, err := starlark.Call(thread, fn, starlark.Tuple{x}, nil)
			if err != nil {
				return nil, err
			}
			keep = v.Truth()
		}
		if keep {
			out = append(out, x)
		}
		if err := tickCharge(thread, bud, i, "filter()"); err != nil {
			return nil, err
		}
	}
	return starlark.NewList(out), nil
}

// builtinConcat builds the list [*a, *b, ...] from iterables.
func builtinConcat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n int64
	for _, a := range args {
		n = addSize(n, max(seqLen(a), 0))
	}
	if err := charge(thread, mulSize(n, slotBytes), "list display"); err != nil {
		return nil, err
	}
	bud := budgetOf(thread)
	var out []starlark.Value
	for _, a := range args {
		it, ok := a.(starlark.Iterable)
		if !ok {
			return nil, fmt.Errorf("Value after * must be an iterable, not %s", pyTypeName(a))
		}
		iter := it.Iterate()
		var x starlark.Value
		for iter.Next(&x) {
			out = append(out, x)
			if err := bud.tick(); err != nil {
				iter.Done()
				return nil, err
			}
		}
		iter.Done()
	}
	return starlark.NewList(out), nil
}
