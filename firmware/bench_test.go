package firmware

import (
	"bufio"
	"context"
	"fmt"
	"testing"
)

// BenchmarkPTYRoundTrip measures a ping request/reply line round trip to
// the Go rover over a creack/pty pair, and reports the line-rate floor of a
// real 115200-baud link for the same bytes (bytes x 10 / baud, both ways).
func BenchmarkPTYRoundTrip(b *testing.B) {
	p, err := OpenPTY()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	r := NewRover(Options{})
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.ServeLines(ctx, p.Master) }()
	defer func() { cancel(); <-done }()
	f, err := openRaw(p.Path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	req := []byte(`{"id":1,"action":"ping"}` + "\n")
	f.Write(req)
	reply, err := br.ReadBytes('\n')
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req = fmt.Appendf(req[:0], `{"id":%d,"action":"ping"}`+"\n", 1000000+i)
		if _, err := f.Write(req); err != nil {
			b.Fatal(err)
		}
		if _, err := br.ReadBytes('\n'); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	bytes := len(`{"id":1000000,"action":"ping"}`+"\n") + len(reply) + 6
	b.ReportMetric(float64(bytes), "bytes/rt")
	b.ReportMetric(float64(bytes*10)/115200*1e6, "µs-line-rate-115200")
}
