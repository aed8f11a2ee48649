package isolate

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

func TestReadFrame(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		max    int
		frames []string
		err    error
	}{
		{"two frames", "{\"a\":1}\n{}\n", 16, []string{`{"a":1}`, `{}`}, io.EOF},
		{"exactly max", "0123456789\n", 10, []string{"0123456789"}, io.EOF},
		{"one over max", "0123456789a\n", 10, nil, errFrameTooLarge},
		{"no newline, endless", strings.Repeat("x", 100), 10, nil, errFrameTooLarge},
		{"cut at the end", "{}\n{\"a\"", 16, []string{"{}"}, io.ErrUnexpectedEOF},
		{"longer than the reader's buffer", strings.Repeat("y", 40) + "\n", 64, []string{strings.Repeat("y", 40)}, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			var got []string
			var err error
			for {
				var line []byte
				if line, err = readFrame(r, tc.max); err != nil {
					break
				}
				got = append(got, string(line))
			}
			if !reflect.DeepEqual(got, tc.frames) || !errors.Is(err, tc.err) {
				t.Fatalf("frames %q, err %v; want %q, %v", got, err, tc.frames, tc.err)
			}
		})
	}
}

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		line string
		err  string // "" when valid
	}{
		{`{"type":"ready"}`, ""},
		{`{"type":"call","id":1,"name":"rover.drive","args":{"speed":0.5}}`, ""},
		{`{"type":"result","id":2,"result":{"stdout":"x","duration_ns":5}}`, ""},
		{`{"type":"return","id":3,"value":null}`, ""},
		{`{"type":"return","id":3,"error":{"msg":"boom"}}`, ""},
		{`{"type":"return","id":3}`, "a return carries a value or an error"},
		{`{"type":"return","id":3,"value":1,"error":{"msg":"boom"}}`, "a return carries a value or an error"},
		{`{"type":"call","id":1,"name":"x"}`, "call without args"},
		{`{"type":"ready","code":"x"}`, "ready with code"},
		{`{"type":"ready","pid":1}`, "unknown field"},
		{`{"type":"ready"} {"type":"ready"}`, "data after the message"},
		{`{"type":"exec","id":4,"code":"print(1)","deadline_ns":5,"stream":true}`, ""},
		{`{"type":"stdout","id":4,"text":"1\n"}`, ""},
		{`{"type":"stdout","id":4}`, "stdout without text"},
		{`{"type":"stdout","text":"x"}`, "stdout without id"},
		{`{"type":"result","id":4,"result":{},"text":"x"}`, "result with text"},
		{`{"type":"call","id":1,"name":"x","args":{},"stream":true}`, "call with stream"},
		{`{"type":"shell"}`, `unknown type "shell"`},
		{`[]`, "cannot unmarshal"},
		{``, "EOF"},
	}
	for _, tc := range tests {
		_, err := decodeFrame([]byte(tc.line))
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %v, want %q", tc.line, err, tc.err)
		}
	}
}

// TestValueRoundTrip: values keep their Python type across the pipe (an
// integral float stays a float).
func TestValueRoundTrip(t *testing.T) {
	tests := []struct {
		in, want any
	}{
		{nil, nil},
		{true, true},
		{"a\"\n\u00e9\x00", "a\"\n\u00e9\x00"},
		{int64(-3), int64(-3)},
		{3, int64(3)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{1.0, 1.0},
		{-0.5, -0.5},
		{1e300, 1e300},
		{float32(2), 2.0},
		{[]any{int64(1), 2.0, "x"}, []any{int64(1), 2.0, "x"}},
		{[]string{"a"}, []any{"a"}},
		{map[string]any{"k": []any{1.0}}, map[string]any{"k": []any{1.0}}},
		{struct{ A int }{4}, map[string]any{"A": int64(4)}},
		{bigInt("100000000000000000000"), bigInt("100000000000000000000")}, // 10**20: past uint64
		{map[string]any{"$float": "nan"}, map[string]any{"$float": "nan"}},
		{map[string]any{"$float": nil}, map[string]any{"$float": nil}},
		{map[string]any{"$dict": map[string]any{"$float": "inf"}}, map[string]any{"$dict": map[string]any{"$float": "inf"}}},
		{map[string]any{"$float": "nan", "k": 1.0}, map[string]any{"$float": "nan", "k": 1.0}},
	}
	for _, tc := range tests {
		enc, err := encodeValue(nil, tc.in, 0)
		if err != nil {
			t.Fatalf("%#v: %v", tc.in, err)
		}
		got, err := decodeValue(enc)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%#v → %s → %#v (%v), want %#v", tc.in, enc, got, err, tc.want)
		}
	}
	// Non-finite floats cross as tags and come back as such, so a tool
	// can refuse them as in process.
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		enc, err := encodeValue(nil, []any{f}, 0)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		got, err := decodeValue(enc)
		l, _ := got.([]any)
		g, _ := l[0].(float64)
		if err != nil || len(l) != 1 || !(math.IsNaN(f) && math.IsNaN(g) || f == g) {
			t.Errorf("%v → %s → %#v (%v)", f, enc, got, err)
		}
	}
	deep := any(int64(1))
	for range maxDepth + 1 {
		deep = []any{deep}
	}
	for _, bad := range []any{deep, func() {}} {
		if enc, err := encodeValue(nil, bad, 0); err == nil {
			t.Errorf("%#v encoded as %s", bad, enc)
		}
	}
}

// FuzzFrames feeds arbitrary bytes to the frame reader and parser: no
// panic, no frame longer than the limit, and every frame that parses
// survives its own encoding.
func FuzzFrames(f *testing.F) {
	f.Add([]byte("{\"type\":\"ready\"}\n{\"type\":\"call\",\"id\":1,\"name\":\"a\",\"args\":{}}\n"))
	f.Add([]byte("{\"type\":\"result\",\"id\":2,\"result\":{\"stdout\":\"x\",\"error\":{\"type\":\"E\",\"message\":\"m\",\"traceback\":\"t\"},\"duration_ns\":1}}\n"))
	f.Add([]byte("{\"type\":\"return\",\"id\":3,\"value\":[1,2.0,{\"k\":null}]}\n"))
	f.Add([]byte("{\"type\":\"exec\",\"id\":4,\"code\":\"x\",\"stream\":true}\n{\"type\":\"stdout\",\"id\":4,\"text\":\"\\u00e9\\n\"}\n"))
	f.Add([]byte(strings.Repeat("[", 300) + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 256
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		for {
			line, err := readFrame(r, max)
			if err != nil {
				return
			}
			if len(line) > max || bytes.IndexByte(line, '\n') >= 0 {
				t.Fatalf("frame of %d bytes: %q", len(line), line)
			}
			fr, err := decodeFrame(line)
			if err != nil {
				if !errors.Is(err, errBadFrame) {
					t.Fatalf("error %v is not errBadFrame", err)
				}
				continue
			}
			enc, err := encodeFrame(fr, 1<<20)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", fr, err)
			}
			again, err := decodeFrame(bytes.TrimSuffix(enc, []byte("\n")))
			if err != nil || again.Type != fr.Type || again.ID != fr.ID {
				t.Fatalf("%s → %s → %+v, %v", line, enc, again, err)
			}
			if fr.Args != nil {
				decodeValue(fr.Args)
			}
			if fr.Value != nil {
				decodeValue(fr.Value)
			}
		}
	})
}

func bigInt(s string) *big.Int {
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return n
}
