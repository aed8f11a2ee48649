package m3tooleval

import (
	"math/big"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// impl is a tool's Python function: its parameter names in order, the
// name of its *args parameter, and the function on Python values.
type impl struct {
	params   []string
	variadic string
	// builtin marks a tool that is the language's own builtin in the
	// reference (travel's max and min): code uses the runtime's builtin.
	builtin bool
	fn      func(args []Value) (Value, error)
}

func fixed(params []string, fn func(args []Value) (Value, error)) impl {
	return impl{params: params, fn: fn}
}

func varargs(name string, params []string, fn func(args []Value) (Value, error)) impl {
	return impl{params: params, variadic: name, fn: fn}
}

// familyImpls returns the Python functions of a family's tools, with fresh
// state (the web family's browser).
func familyImpls(family string) map[string]impl {
	switch family {
	case FamilyMessageDecoder:
		return map[string]impl{
			"convert_hex_to_ascii": fixed([]string{"hex_string"}, func(a []Value) (Value, error) { return convertHexToASCII(a[0]) }),
			"reverse_string":       fixed([]string{"s"}, func(a []Value) (Value, error) { return reverseSeq(a[0]) }),
			"caesar_decode":        fixed([]string{"message", "shift"}, func(a []Value) (Value, error) { return caesarDecode(a[0], a[1]) }),
			"string_length": fixed([]string{"s"}, func(a []Value) (Value, error) {
				n, err := pyLen(a[0])
				return MakeInt(int64(n)), err
			}),
			"minimum_value": varargs("args", nil, func(a []Value) (Value, error) { return pyMinMax("min", a) }),
			"maximum_value": varargs("args", nil, func(a []Value) (Value, error) { return pyMinMax("max", a) }),
		}
	case FamilyDNA:
		return map[string]impl{
			"count_nucleotides":              fixed([]string{"dna_sequence"}, func(a []Value) (Value, error) { return countItems(a[0]) }),
			"transcribe_dna_to_mrna":         fixed([]string{"dna_sequence"}, func(a []Value) (Value, error) { return translateStr(a[0], "ACGT", "UGCA") }),
			"translate_mrna_to_amino_acid":   fixed([]string{"mrna_sequence"}, func(a []Value) (Value, error) { return translateCodons(a[0]) }),
			"find_max_nucleotide":            varargs("args", nil, findMaxNucleotide),
			"is_valid_dna_sequence":          fixed([]string{"dna_sequence"}, func(a []Value) (Value, error) { return isValidDNA(a[0]) }),
			"reverse_transcribe_mrna_to_dna": fixed([]string{"mrna_sequence"}, func(a []Value) (Value, error) { return translateStr(a[0], "UCAG", "AGTC") }),
		}
	case FamilyTrade:
		return map[string]impl{
			"convert_currency": fixed([]string{"base_price", "conversion_rate"}, func(a []Value) (Value, error) { return pyMul(a[0], a[1]) }),
			"calculate_tariff": fixed([]string{"price", "tariff_rate"}, func(a []Value) (Value, error) {
				v, err := pyMul(a[0], a[1])
				if err != nil {
					return nil, err
				}
				return arith("/", v, MakeInt(100))
			}),
			"estimate_final_value": fixed([]string{"price", "tariff"}, func(a []Value) (Value, error) { return pyAdd(a[0], a[1]) }),
			"calculator":           fixed([]string{"expression"}, calculatorTool),
			"find_minimum":         varargs("args", nil, func(a []Value) (Value, error) { return pyMinMax("min", a) }),
			"find_maximum":         varargs("args", nil, func(a []Value) (Value, error) { return pyMinMax("max", a) }),
		}
	case FamilyTravel:
		return map[string]impl{
			"find_flights":      fixed([]string{"from_location", "to_location", "date"}, findFlights),
			"book_hotel":        varargs("preferences", []string{"location"}, bookHotel),
			"budget_calculator": fixed([]string{"flight_price", "hotel_price_per_night", "num_nights"}, budgetCalculator),
			"max":               {variadic: "args", builtin: true, fn: func(a []Value) (Value, error) { return builtinMinMax("max", a) }},
			"min":               {variadic: "args", builtin: true, fn: func(a []Value) (Value, error) { return builtinMinMax("min", a) }},
			"sum": varargs("args", nil, func(a []Value) (Value, error) {
				acc := Value(MakeInt(0))
				for _, x := range a {
					var err error
					if acc, err = pyAdd(acc, x); err != nil {
						return nil, err
					}
				}
				return acc, nil
			}),
		}
	case FamilyWeb:
		b := NewBrowser()
		return map[string]impl{
			"click_url": fixed([]string{"url"}, func(a []Value) (Value, error) {
				u, ok := a[0].(Str)
				if !ok {
					return nil, &PyError{Type: "AttributeError", Msg: "'" + TypeName(a[0]) + "' object has no attribute 'replace'"}
				}
				return Str(b.ClickURL(string(u))), nil
			}),
			"go_to_previous_page": fixed(nil, func([]Value) (Value, error) { return Str(b.GoToPreviousPage()), nil }),
			"scroll_down":         fixed(nil, func([]Value) (Value, error) { return Str(b.ScrollDown()), nil }),
			"scroll_up":           fixed(nil, func([]Value) (Value, error) { return Str(b.ScrollUp()), nil }),
			"view":                fixed(nil, func([]Value) (Value, error) { return Str(b.View()), nil }),
			"calculator":          fixed([]string{"expression"}, calculatorTool),
		}
	}
	return nil
}

func calculatorTool(a []Value) (Value, error) {
	e, ok := a[0].(Str)
	if !ok {
		// eval() of a non-str raises; the reference catches everything.
		return Str(CalculatorFailure(StrOf(a[0]))), nil
	}
	return Calculator(string(e)), nil
}

// builtinMinMax is Python's max(*args) or min(*args) without key: one
// argument is iterated.
func builtinMinMax(name string, a []Value) (Value, error) {
	if len(a) == 0 {
		return nil, typeError("%s expected at least 1 argument, got 0", name)
	}
	if len(a) == 1 {
		items, err := pyIter(a[0])
		if err != nil {
			return nil, err
		}
		return pyMinMax(name, items)
	}
	return pyMinMax(name, a)
}

// convertHexToASCII is bytes.fromhex(str(h)).decode('utf-8').
func convertHexToASCII(h Value) (Value, error) {
	s := StrOf(h)
	var out []byte
	hexVal := func(c byte) int {
		switch {
		case c >= '0' && c <= '9':
			return int(c - '0')
		case c >= 'a' && c <= 'f':
			return int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			return int(c-'A') + 10
		}
		return -1
	}
	for i := 0; i < len(s); {
		if strings.IndexByte(" \t\n\r\v\f", s[i]) >= 0 {
			i++
			continue
		}
		if i+1 >= len(s) || hexVal(s[i]) < 0 || hexVal(s[i+1]) < 0 {
			return nil, valueError("non-hexadecimal number found in fromhex() arg at position %d", i)
		}
		out = append(out, byte(hexVal(s[i])<<4|hexVal(s[i+1])))
		i += 2
	}
	if !utf8.Valid(out) { // Python's strict UTF-8: no surrogates, no overlong forms
		return nil, &PyError{Type: "UnicodeDecodeError", Msg: "'utf-8' codec can't decode bytes"}
	}
	return Str(string(out)), nil
}

// reverseSeq is s[::-1].
func reverseSeq(v Value) (Value, error) {
	switch x := v.(type) {
	case Str:
		r := []rune(string(x))
		slices.Reverse(r)
		return Str(string(r)), nil
	case Bytes:
		b := []byte(x)
		slices.Reverse(b)
		return Bytes(b), nil
	case List:
		out := slices.Clone(x)
		slices.Reverse(out)
		return out, nil
	case Tuple:
		out := slices.Clone(x)
		slices.Reverse(out)
		return out, nil
	}
	return nil, typeError("'%s' object is not subscriptable", TypeName(v))
}

// isPyUpper and isPyLower are str.isupper and str.islower of one character.
func isPyUpper(r rune) bool {
	return unicode.IsUpper(r) || unicode.Is(unicode.Other_Uppercase, r)
}
func isPyLower(r rune) bool {
	return unicode.IsLower(r) || unicode.Is(unicode.Other_Lowercase, r)
}

// caesarDecode is the reference's caesar_decode: shift = int(shift), then
// each upper- or lower-case letter moves back by shift modulo 26 from 'A'
// or 'a' (any cased character, as Python's isupper/islower see it).
func caesarDecode(message, shift Value) (Value, error) {
	sv, err := PyInt(shift)
	if err != nil {
		if err == errConvert {
			return nil, valueError("invalid literal for int() with base 10: %s", Repr(shift))
		}
		return nil, typeError("int() argument must be a string, a bytes-like object or a real number, not '%s'", TypeName(shift))
	}
	k := new(big.Int).Mod(sv.(Int).Int, big.NewInt(26)).Int64()
	msg, ok := message.(Str)
	if !ok {
		if _, err := pyIter(message); err != nil {
			return nil, err
		}
		return nil, typeError("ord() expected a character")
	}
	var b strings.Builder
	for _, r := range string(msg) {
		switch {
		case isPyUpper(r):
			b.WriteRune(rune(mod(int64(r)-k-65, 26) + 65))
		case isPyLower(r):
			b.WriteRune(rune(mod(int64(r)-k-97, 26) + 97))
		default:
			b.WriteRune(r)
		}
	}
	return Str(b.String()), nil
}

func mod(a, n int64) int64 {
	r := a % n
	if r < 0 {
		r += n
	}
	return r
}

// countItems is dict(Counter(seq)): counts in order of first appearance.
func countItems(v Value) (Value, error) {
	var items []Value
	if s, ok := v.(Str); ok {
		for _, r := range string(s) {
			items = append(items, Str(string(r)))
		}
	} else {
		var err error
		if items, err = pyIter(v); err != nil {
			return nil, err
		}
	}
	d := &Dict{}
	for _, it := range items {
		if !hashable(it) {
			return nil, typeError("unhashable type: '%s'", TypeName(it))
		}
		n, ok := d.Get(it)
		if !ok {
			d.Set(it, MakeInt(1))
			continue
		}
		d.Set(it, Int{new(big.Int).Add(n.(Int).Int, big.NewInt(1))})
	}
	return d, nil
}

// translateStr is s.translate(str.maketrans(from, to)).
func translateStr(v Value, from, to string) (Value, error) {
	s, ok := v.(Str)
	if !ok {
		return nil, &PyError{Type: "AttributeError", Msg: "'" + TypeName(v) + "' object has no attribute 'translate'"}
	}
	var b strings.Builder
	for _, r := range string(s) {
		if i := strings.IndexRune(from, r); i >= 0 {
			b.WriteByte(to[i])
		} else {
			b.WriteRune(r)
		}
	}
	return Str(b.String()), nil
}

// translateCodons is translate_mrna_to_amino_acid: each three-character
// slice mapped by a three-codon table, 'X' otherwise, joined with '-'.
func translateCodons(v Value) (Value, error) {
	codons := map[string]string{"AUG": "Methionine", "UUU": "Phenylalanine", "UUC": "Phenylalanine"}
	s, ok := v.(Str)
	if !ok {
		if _, err := pyLen(v); err != nil {
			return nil, err
		}
		return nil, typeError("unhashable type: '%s'", TypeName(v))
	}
	r := []rune(string(s))
	var parts []string
	for i := 0; i < len(r); i += 3 {
		codon := string(r[i:min(i+3, len(r))])
		if a, ok := codons[codon]; ok {
			parts = append(parts, a)
		} else {
			parts = append(parts, "X")
		}
	}
	return Str(strings.Join(parts, "-")), nil
}

// findMaxNucleotide is the reference's find_max_nucleotide(*args): pairs
// (k1, v1, k2, v2, ...) into a dict and returns (key, value) of the first
// largest value.
func findMaxNucleotide(a []Value) (Value, error) {
	d := &Dict{}
	for i := 0; i+1 < len(a); i += 2 {
		if !hashable(a[i]) {
			return nil, typeError("unhashable type: '%s'", TypeName(a[i]))
		}
		d.Set(a[i], a[i+1])
	}
	if len(d.Keys) == 0 {
		return nil, valueError("max() arg is an empty sequence")
	}
	best := 0
	for i := 1; i < len(d.Keys); i++ {
		less, err := pyLess(d.Values[best], d.Values[i])
		if err != nil {
			return nil, err
		}
		if less {
			best = i
		}
	}
	return Tuple{d.Keys[best], d.Values[best]}, nil
}

// isValidDNA is set(seq).issubset(set('ACGT')).
func isValidDNA(v Value) (Value, error) {
	var items []Value
	if s, ok := v.(Str); ok {
		for _, r := range string(s) {
			items = append(items, Str(string(r)))
		}
	} else {
		var err error
		if items, err = pyIter(v); err != nil {
			return nil, err
		}
	}
	valid := []Value{Str("A"), Str("C"), Str("G"), Str("T")}
	for _, it := range items {
		if !hashable(it) {
			return nil, typeError("unhashable type: '%s'", TypeName(it))
		}
		if !contains(valid, it) {
			return Bool(false), nil
		}
	}
	return Bool(true), nil
}

func budgetCalculator(a []Value) (Value, error) {
	cost, err := pyMul(a[1], a[2])
	if err != nil {
		return nil, err
	}
	return pyAdd(a[0], cost)
}
