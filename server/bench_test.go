package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkStepHandler is the server's own cost of a plain step: the
// handler called directly, no network and no client.
func BenchmarkStepHandler(b *testing.B) {
	srv, err := New(Config{NoIsolate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ss, _, err := srv.createSession(b.Context(), nil, createRequest{Runtime: "none", Env: EnvSpec{Game: testGame}})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	url := "/v1/sessions/" + ss.id + "/step"
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%40 == 0 {
			ss.env.Reset()
		}
		req := httptest.NewRequest("POST", url, strings.NewReader(`{"command": "go to desk 1"}`))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
