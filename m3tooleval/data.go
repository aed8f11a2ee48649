package m3tooleval

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// The harness's data, extracted from the published harness by running it
// (see testdata/m3tooleval/HARNESS.md): the tasks with their prompt texts,
// the travel family's tables and the web family's pages.
var (
	//go:embed data/tasks.json
	tasksJSON []byte
	//go:embed data/travel_tables.json
	travelJSON []byte
	//go:embed data/web_pages.jsonl
	webPagesJSONL []byte
)

// decodeValue reads JSON into Python values: objects keep their key order,
// integers stay ints, other numbers are floats.
func decodeValue(dec *json.Decoder) (Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return decodeFrom(dec, tok)
}

func decodeFrom(dec *json.Decoder, tok json.Token) (Value, error) {
	switch x := tok.(type) {
	case nil:
		return NoneValue{}, nil
	case bool:
		return Bool(x), nil
	case string:
		return Str(x), nil
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if i, err := PyIntFromStr(s); err == nil {
				return Int{i}, nil
			}
		}
		f, err := PyFloatFromStr(s)
		if err != nil {
			return nil, fmt.Errorf("number %q: %w", s, err)
		}
		return Float(f), nil
	case json.Delim:
		switch x {
		case '[':
			var out List
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				out = append(out, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			if out == nil {
				out = List{}
			}
			return out, nil
		case '{':
			d := &Dict{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				d.Set(Str(k), v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// ParseJSONValue decodes JSON text into a Python value (see decodeValue).
func ParseJSONValue(data []byte) (Value, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return decodeValue(dec)
}

// travelTables are the flights and hotels of the travel family.
type travelTables struct {
	loc     []string
	flights []*Dict
	hotels  []*Dict
}

func loadTravel() (*travelTables, error) {
	v, err := ParseJSONValue(travelJSON)
	if err != nil {
		return nil, fmt.Errorf("travel tables: %w", err)
	}
	d := v.(*Dict)
	t := &travelTables{}
	loc, _ := d.Get(Str("LOC"))
	for _, l := range loc.(List) {
		t.loc = append(t.loc, string(l.(Str)))
	}
	fl, _ := d.Get(Str("flights"))
	for _, f := range fl.(List) {
		t.flights = append(t.flights, f.(*Dict))
	}
	ho, _ := d.Get(Str("hotels"))
	for _, h := range ho.(List) {
		t.hotels = append(t.hotels, h.(*Dict))
	}
	return t, nil
}

// webPage is one page of the web family's site.
type webPage struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

func loadPages() ([]webPage, error) {
	var pages []webPage
	sc := bufio.NewScanner(bytes.NewReader(webPagesJSONL))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var p webPage
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("web pages: %w", err)
		}
		pages = append(pages, p)
	}
	return pages, sc.Err()
}
