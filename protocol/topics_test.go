package protocol

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSplitTopic(t *testing.T) {
	cases := []struct {
		prefix, topic, name, kind string
		ok                        bool
	}{
		{"gantry", "gantry/rover/res", "rover", "res", true},
		{"gantry", "gantry/rover/evt", "rover", "evt", true},
		{"gantry", "gantry/rover/desc", "rover", "desc", true},
		{"gantry", "gantry/rover/status", "rover", "status", true},
		{"lab/floor1", "lab/floor1/arm_2/res", "arm_2", "res", true},
		{"gantry", "gantry/rover/req", "", "", false}, // our own requests
		{"gantry", "gantry/rover/res/x", "", "", false},
		{"gantry", "gantry/ro ver/res", "", "", false},
		{"gantry", "gantry/9lives/res", "", "", false},
		{"gantry", "gantry//res", "", "", false},
		{"gantry", "gantryx/rover/res", "", "", false},
		{"gantry", "gantry", "", "", false},
		{"gantry", "other/rover/res", "", "", false},
	}
	for _, c := range cases {
		name, kind, ok := SplitTopic(c.prefix, c.topic)
		if name != c.name || kind != c.kind || ok != c.ok {
			t.Errorf("SplitTopic(%q, %q) = %q, %q, %v; want %q, %q, %v", c.prefix, c.topic, name, kind, ok, c.name, c.kind, c.ok)
		}
	}
}

func FuzzSplitTopic(f *testing.F) {
	for _, s := range [][2]string{
		{"gantry", "gantry/rover/res"}, {"gantry", "gantry/rover/status"}, {"lab/x", "lab/x/a/evt"},
		{"gantry", "gantry//desc"}, {"gantry", "gantry/a/b/c"}, {"g", "g/\xff/res"}, {"gantry", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, prefix, topic string) {
		name, kind, ok := SplitTopic(prefix, topic)
		if !ok {
			if name != "" || kind != "" {
				t.Fatalf("not ok but name %q kind %q", name, kind)
			}
			return
		}
		if !IsIdent(name) {
			t.Fatalf("name %q is not an identifier", name)
		}
		if prefix+"/"+name+"/"+kind != topic {
			t.Fatalf("%q does not rebuild %q", []string{prefix, name, kind}, topic)
		}
	})
}

func TestParseStatus(t *testing.T) {
	cases := []struct {
		payload string
		online  bool
		err     string
	}{
		{`{"state":"online"}`, true, ""},
		{`{"state":"offline"}`, false, ""},
		{` {"state":"online","since":3} `, true, ""},
		{`{"state":"asleep"}`, false, `state "asleep"`},
		{`{"state":1}`, false, "cannot unmarshal"},
		{`{}`, false, `no "state"`},
		{`null`, false, `no "state"`},
		{`"online"`, false, "cannot unmarshal"},
		{`online`, false, "invalid character"},
		{`{"state":"online"} x`, false, "invalid character"},
		{"", false, "unexpected end"},
	}
	for _, c := range cases {
		online, err := ParseStatus([]byte(c.payload))
		switch {
		case c.err == "" && err != nil:
			t.Errorf("ParseStatus(%q): %v", c.payload, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseStatus(%q): error %v, want one saying %q", c.payload, err, c.err)
		case online != c.online:
			t.Errorf("ParseStatus(%q) = %v", c.payload, online)
		}
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{`{"state":"online"}`, `{"state":"offline"}`, `{"state":"x"}`, `{}`, `null`, ``, `{"state":"online","a":[1,{}]}`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		online, err := ParseStatus(p)
		if err != nil && online {
			t.Fatal("online with an error")
		}
		if err == nil && !json.Valid(p) {
			t.Fatalf("%q accepted: not JSON", p)
		}
	})
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"gantry", "lab/floor1", "a/b/c", "x-y_z"} {
		if err := CheckPrefix(p); err != nil {
			t.Errorf("CheckPrefix(%q): %v", p, err)
		}
	}
	for _, p := range []string{"", "/", "a/", "/a", "a//b", "a/+", "#", "a/#", "$SYS", "a\x00b"} {
		if err := CheckPrefix(p); err == nil {
			t.Errorf("CheckPrefix(%q): no error", p)
		}
	}
}
