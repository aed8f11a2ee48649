package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

const (
	aliceSecret = "alice-0123456789abcdef"
	bobSecret   = "bob-0123456789abcdef"
)

func testTokens(t testing.TB) *Tokens {
	t.Helper()
	bobHash := sha256.Sum256([]byte(bobSecret))
	ts, err := ParseTokens([]byte(`
tokens:
  - name: alice
    token: ` + aliceSecret + `
    runtimes: [starlark, none]
    envs: [alfworld]
    max_sessions: 2
  - name: bob
    sha256: ` + hex.EncodeToString(bobHash[:]) + `
    runtimes: [none]
  - name: carol
    token: carol-0123456789abcdef
    envs: [m3tooleval]
`))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestParseTokens(t *testing.T) {
	tests := []struct {
		name, text, err string
	}{
		{"empty", ``, "no tokens"},
		{"no entries", `tokens: []`, "no tokens"},
		{"no name", "tokens:\n  - token: 0123456789abcdef0", "has no name"},
		{"duplicate name", "tokens:\n  - {name: a, token: 0123456789abcdef0}\n  - {name: a, token: 0123456789abcdef1}", "appears twice"},
		{"short token", "tokens:\n  - {name: a, token: short}", "shorter than 16"},
		{"both", "tokens:\n  - {name: a, token: 0123456789abcdef0, sha256: " + strings.Repeat("0", 64) + "}", "both token and sha256"},
		{"neither", "tokens:\n  - {name: a}", "neither token nor sha256"},
		{"bad hash", "tokens:\n  - {name: a, sha256: xyz}", "not 64 hex digits"},
		{"same secret", "tokens:\n  - {name: a, token: 0123456789abcdef0}\n  - {name: b, token: 0123456789abcdef0}", "same secret"},
		{"unknown field", "tokens:\n  - {name: a, token: 0123456789abcdef0, max_session: 3}", "not found"},
		{"negative quota", "tokens:\n  - {name: a, token: 0123456789abcdef0, max_sessions: -1}", "negative"},
		{"json", `{"tokens": [{"name": "a", "token": "0123456789abcdef0"}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, err := ParseTokens([]byte(tt.text))
			if tt.err == "" {
				if err != nil || ts.Len() != 1 {
					t.Fatalf("ParseTokens: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrTokenFile) {
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func FuzzParseTokens(f *testing.F) {
	f.Add([]byte("tokens:\n  - {name: a, token: 0123456789abcdef0, runtimes: [none]}"))
	f.Add([]byte(`{"tokens": [{"name": "a", "sha256": "` + strings.Repeat("ab", 32) + `"}]}`))
	f.Add([]byte("tokens:\n  - name: a\n    token: 0123456789abcdef0\n    devices: [rover, 'arm-*']\n    device_reset: true\n" +
		"    device_policy: {default: {allow: [distance]}, devices: {rover: {bounds: {drive: {speed: {max: 0.2}}}, rate: 2}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ParseTokens(data)
		if err == nil && ts.Len() == 0 {
			t.Fatal("no error and no tokens")
		}
	})
}

func TestTokens(t *testing.T) {
	h := newHarness(t, Config{NoIsolate: true, Tokens: testTokens(t)})
	ctx := context.Background()
	tests := []struct {
		name, header, body string
		status             int
		code               string
	}{
		{"no token", "", `{"runtime": "none"}`, 401, "no_token"},
		{"bad token", "Bearer not-a-token-of-this-server", `{"runtime": "none"}`, 401, "bad_token"},
		{"not bearer", "Basic " + aliceSecret, `{"runtime": "none"}`, 401, "bad_token"},
		{"runtime not allowed", "Bearer " + aliceSecret, `{"runtime": "python"}`, 403, "forbidden"},
		{"runtime not allowed (bob)", "Bearer " + bobSecret, `{"runtime": "starlark"}`, 403, "forbidden"},
		{"environment not allowed", "Bearer carol-0123456789abcdef", `{"runtime": "none", "env": {"kind": "alfworld"}}`, 403, "forbidden"},
		{"lower-case scheme", "bearer " + bobSecret, `{"runtime": "none"}`, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", h.ts.URL+"/v1/sessions", strings.NewReader(tt.body))
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := h.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var body []byte
			body, _ = readAll(resp)
			h.check("POST", "/v1/sessions", resp, body)
			r := response{status: resp.StatusCode, body: body}
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, body)
			}
			if tt.code != "" && r.errCode(t) != tt.code {
				t.Fatalf("code %q, want %q", r.errCode(t), tt.code)
			}
			if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}

	// Quota: alice may hold two sessions.
	a := h.create(aliceSecret, map[string]any{"runtime": "none", "env": game()})
	h.create(aliceSecret, map[string]any{"runtime": "starlark", "env": game()})
	r := h.raw(ctx, aliceSecret, "POST", "/v1/sessions", map[string]any{"runtime": "none"})
	if r.status != http.StatusTooManyRequests || r.errCode(t) != "quota" {
		t.Fatalf("over quota: %d %s", r.status, r.body)
	}
	// Another token's session does not exist for bob.
	for _, p := range []string{"/v1/sessions/" + a.ID, "/v1/sessions/" + a.ID + "/tools"} {
		if r := h.raw(ctx, bobSecret, "GET", p, nil); r.status != 404 {
			t.Fatalf("bob reads alice's session: %d %s", r.status, r.body)
		}
	}
	var list struct{ Sessions []SessionInfo }
	h.raw(ctx, bobSecret, "GET", "/v1/sessions", nil).decode(t, &list)
	if len(list.Sessions) != 1 { // the one made in the table above
		t.Fatalf("bob's sessions: %+v", list)
	}
	// Deleting one frees the quota.
	h.raw(ctx, aliceSecret, "DELETE", "/v1/sessions/"+a.ID, nil)
	h.create(aliceSecret, map[string]any{"runtime": "none"})

	logs := h.log.String()
	for _, secret := range []string{aliceSecret, bobSecret, "not-a-token-of-this-server"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("a token appears in the log:\n%s", logs)
		}
	}
	if !strings.Contains(logs, `"owner":"alice"`) {
		t.Fatalf("the log does not name the token's owner:\n%s", logs)
	}
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}
