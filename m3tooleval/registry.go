package m3tooleval

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"sort"
	"strconv"

	"go.starlark.net/starlark"

	"github.com/gantry-dev/gantry/tool"
)

// registryTool makes a tool.Tool of a harness tool: the reference
// function's parameters, of type any (the tools check their arguments as
// Python does), and its *args as a variadic parameter.
func registryTool(spec ToolSpec, im impl, e *Episode) tool.Tool {
	params := make([]tool.Param, 0, len(im.params)+1)
	for _, p := range im.params {
		params = append(params, tool.Param{Name: p, Type: tool.Any, Required: true})
	}
	if im.variadic != "" {
		params = append(params, tool.Param{Name: im.variadic, Type: tool.Any, Variadic: true})
	}
	name := spec.Name
	return tool.Tool{
		Name:    name,
		Doc:     spec.Description,
		Params:  params,
		Returns: tool.Any,
		Fn: func(ctx context.Context, args tool.Args) (any, error) {
			vals := make([]Value, 0, len(args))
			for _, p := range im.params {
				vals = append(vals, FromGo(args[p]))
			}
			if im.variadic != "" {
				for _, v := range args.List(im.variadic) {
					vals = append(vals, FromGo(v))
				}
			}
			res, err := im.fn(vals)
			if e.trace != nil {
				e.trace(name, vals, res, err)
			}
			if err != nil {
				var pe *PyError
				if errors.As(err, &pe) && (pe.Type == "TypeError" || pe.Type == "ValueError") {
					return nil, &tool.ArgError{Tool: name, Msg: pe.Msg, Value: pe.Type == "ValueError"}
				}
				return nil, err
			}
			return ToGo(res), nil
		},
	}
}

// FromGo converts a tool argument as the runtimes hand it over (tool.Args:
// string, int64, *big.Int, float64, bool, nil, []any, map[string]any,
// json.Number) to a Python value, and ToGo's results back. Tuples arrive
// as lists; a dict's keys are sorted (Go maps have no order).
func FromGo(v any) Value {
	switch x := v.(type) {
	case nil:
		return NoneValue{}
	case Value:
		return x
	case bool:
		return Bool(x)
	case string:
		return Str(x)
	case int:
		return MakeInt(int64(x))
	case int64:
		return MakeInt(x)
	case int32:
		return MakeInt(int64(x))
	case uint64:
		return Int{new(big.Int).SetUint64(x)}
	case *big.Int:
		return Int{new(big.Int).Set(x)}
	case float64:
		return Float(x)
	case float32:
		return Float(float64(x))
	case GoFloat:
		return Float(float64(x))
	case GoTuple:
		out := make(Tuple, len(x))
		for i, e := range x {
			out[i] = FromGo(e)
		}
		return out
	case *GoDict:
		d := &Dict{}
		for i, k := range x.Keys {
			d.Set(FromGo(k), FromGo(x.Values[i]))
		}
		return d
	case json.Number:
		if i, err := PyIntFromStr(string(x)); err == nil {
			return Int{i}
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return Float(f)
	case []any:
		out := make(List, len(x))
		for i, e := range x {
			out[i] = FromGo(e)
		}
		return out
	case []string:
		out := make(List, len(x))
		for i, e := range x {
			out[i] = Str(e)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := &Dict{}
		for _, k := range keys {
			d.Set(Str(k), FromGo(x[k]))
		}
		return d
	}
	return Str(tool.Repr(v))
}

// ToGo converts a tool's result for the runtimes: str, int (int64 or
// *big.Int), bool, nil and lists as the tool package expects them; floats,
// tuples and dicts as values that keep their Python form both in Starlark
// (StarlarkValue) and through JSON to the Python worker (MarshalJSON: a
// float keeps its ".0", a dict its order; a tuple arrives as a list).
func ToGo(v Value) any {
	switch x := v.(type) {
	case NoneValue, EllipsisValue, nil:
		return nil
	case Bool:
		return bool(x)
	case Int:
		if x.IsInt64() {
			return x.Int64()
		}
		return new(big.Int).Set(x.Int)
	case Float:
		return GoFloat(x)
	case Str:
		return string(x)
	case Bytes:
		return string(x)
	case Complex:
		return Repr(x)
	case List:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToGo(e)
		}
		return out
	case Set:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToGo(e)
		}
		return out
	case Tuple:
		out := make(GoTuple, len(x))
		for i, e := range x {
			out[i] = ToGo(e)
		}
		return out
	case *Dict:
		d := &GoDict{}
		for i, k := range x.Keys {
			d.Keys = append(d.Keys, ToGo(k))
			d.Values = append(d.Values, ToGo(x.Values[i]))
		}
		return d
	}
	return Repr(v)
}

// GoFloat is a float result that the Python worker reads back as a float
// (JSON "7500.0", not "7500").
type GoFloat float64

// MarshalJSON writes the float as Python's repr does; the infinities as
// 1e999 and -1e999 (which Python's json reads as inf and -inf), nan as null.
func (f GoFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte("null"), nil
	case math.IsInf(x, 1):
		return []byte("1e999"), nil
	case math.IsInf(x, -1):
		return []byte("-1e999"), nil
	}
	return []byte(FloatRepr(x)), nil
}

// StarlarkValue is the float in Starlark.
func (f GoFloat) StarlarkValue() (starlark.Value, error) { return starlark.Float(f), nil }

// GoTuple is a tuple result: a tuple in Starlark, a list in Python.
type GoTuple []any

// MarshalJSON writes the tuple as a JSON array.
func (t GoTuple) MarshalJSON() ([]byte, error) { return json.Marshal([]any(t)) }

// StarlarkValue is the tuple in Starlark.
func (t GoTuple) StarlarkValue() (starlark.Value, error) {
	out := make(starlark.Tuple, len(t))
	for i, e := range t {
		v, err := toStarlark(e)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// GoDict is a dict result in insertion order.
type GoDict struct {
	Keys   []any
	Values []any
}

// MarshalJSON writes the dict as a JSON object in order (keys as str()).
func (d *GoDict) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, k := range d.Keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		ks, ok := k.(string)
		if !ok {
			ks = StrOf(FromGo(k))
		}
		kb, err := json.Marshal(ks)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(d.Values[i])
		if err != nil {
			return nil, err
		}
		buf = append(append(append(buf, kb...), ':'), vb...)
	}
	return append(buf, '}'), nil
}

// StarlarkValue is the dict in Starlark, in order.
func (d *GoDict) StarlarkValue() (starlark.Value, error) {
	out := starlark.NewDict(len(d.Keys))
	for i, k := range d.Keys {
		sk, err := toStarlark(k)
		if err != nil {
			return nil, err
		}
		sv, err := toStarlark(d.Values[i])
		if err != nil {
			return nil, err
		}
		if err := out.SetKey(sk, sv); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// toStarlark converts a ToGo result to Starlark.
func toStarlark(v any) (starlark.Value, error) {
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case *big.Int:
		return starlark.MakeBigInt(x), nil
	case []any:
		out := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := toStarlark(e)
			if err != nil {
				return nil, err
			}
			out[i] = sv
		}
		return starlark.NewList(out), nil
	case interface {
		StarlarkValue() (starlark.Value, error)
	}:
		return x.StarlarkValue()
	}
	return nil, errors.New("m3tooleval: no Starlark form for a result")
}
