package m3tooleval

import (
	"slices"
	"strings"
	"sync"
)

var travelOnce = sync.OnceValues(loadTravel)

func stripQuotes(v Value) (string, error) {
	s, ok := v.(Str)
	if !ok {
		return "", &PyError{Type: "AttributeError", Msg: "'" + TypeName(v) + "' object has no attribute 'strip'"}
	}
	return strings.Trim(string(s), `"`), nil
}

func supportedLoc(t *travelTables, loc string) bool {
	for _, l := range t.loc {
		if loc == l || loc == strings.Trim(l, `"`) {
			return true
		}
	}
	return false
}

func locList(t *travelTables) string {
	l := make(List, len(t.loc))
	for i, s := range t.loc {
		l[i] = Str(s)
	}
	return Repr(l)
}

func dictStr(d *Dict, key string) string {
	v, _ := d.Get(Str(key))
	s, _ := v.(Str)
	return string(s)
}

// findFlights is the reference's find_flights(from_location, to_location,
// date): the flights whose ends match (double quotes stripped) on that date.
func findFlights(a []Value) (Value, error) {
	t, err := travelOnce()
	if err != nil {
		return nil, err
	}
	from, err := stripQuotes(a[0])
	if err != nil {
		return nil, err
	}
	to, err := stripQuotes(a[1])
	if err != nil {
		return nil, err
	}
	if !supportedLoc(t, from) {
		return nil, valueError("Origin [%s] is not supported. Supported from_locations: %s", from, locList(t))
	}
	if !supportedLoc(t, to) {
		return nil, valueError("Destination [%s] is not supported. Supported to_locations: %s", to, locList(t))
	}
	out := List{}
	for _, f := range t.flights {
		date, _ := f.Get(Str("date"))
		if strings.Trim(dictStr(f, "to_location"), `"`) == to && Equal(date, a[2]) && strings.Trim(dictStr(f, "from_location"), `"`) == from {
			out = append(out, cloneValue(f))
		}
	}
	return out, nil
}

// bookHotel is the reference's book_hotel(location, *preferences): the
// hotels at the location offering every preference.
func bookHotel(a []Value) (Value, error) {
	t, err := travelOnce()
	if err != nil {
		return nil, err
	}
	loc, err := stripQuotes(a[0])
	if err != nil {
		return nil, err
	}
	if !supportedLoc(t, loc) {
		return nil, valueError("Location [%s] is not supported. Supported locations: %s", loc, locList(t))
	}
	out := List{}
	for _, h := range t.hotels {
		if strings.Trim(dictStr(h, "location"), `"`) != loc {
			continue
		}
		prefs, _ := h.Get(Str("preferences"))
		ok := true
		for _, p := range a[1:] {
			if !pyContains(prefs.(List), p) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, cloneValue(h))
		}
	}
	return out, nil
}

// cloneValue copies the containers of v, so that a caller cannot change
// the tables.
func cloneValue(v Value) Value {
	switch x := v.(type) {
	case List:
		out := make(List, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case Tuple:
		out := make(Tuple, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case Set:
		return slices.Clone(x)
	case *Dict:
		d := &Dict{Keys: slices.Clone(x.Keys), Values: make([]Value, len(x.Values))}
		for i, e := range x.Values {
			d.Values[i] = cloneValue(e)
		}
		return d
	}
	return v
}
