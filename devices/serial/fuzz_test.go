package serial_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/protocol"
)

// scripted is the device side of a byte stream: once the gateway's request
// is written, reads return what build makes of the request's id, chunk
// bytes at a time, then block until Close.
type scripted struct {
	chunk int
	build func(id int64) []byte

	mu     sync.Mutex
	stream []byte // everything the device sends
	unread []byte
	ready  chan struct{} // closed when stream is set
	closed chan struct{}
	once   sync.Once
}

func newScripted(chunk int, build func(id int64) []byte) *scripted {
	return &scripted{chunk: chunk, build: build, ready: make(chan struct{}), closed: make(chan struct{})}
}

func (s *scripted) Write(p []byte) (int, error) {
	var req protocol.Request
	if err := json.Unmarshal(bytes.TrimSpace(p), &req); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		s.stream = s.build(req.ID)
		s.unread = s.stream
		close(s.ready)
	}
	return len(p), nil
}

func (s *scripted) Read(p []byte) (int, error) {
	select {
	case <-s.ready:
	case <-s.closed:
		return 0, io.ErrClosedPipe
	}
	s.mu.Lock()
	n := min(len(p), s.chunk, len(s.unread))
	copy(p, s.unread[:n])
	s.unread = s.unread[n:]
	s.mu.Unlock()
	if n > 0 {
		return n, nil
	}
	<-s.closed
	return 0, io.ErrClosedPipe
}

func (s *scripted) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// wantReply is what a device should make of stream for a request with id:
// the first complete line of at most MaxLine bytes (newline included) that
// decodes as a reply (not an event) carrying id.
func wantReply(stream []byte, id int64) (json.RawMessage, *devices.DeviceError, bool) {
	lines := bytes.Split(stream, []byte("\n"))
	for _, line := range lines[:len(lines)-1] { // the last piece has no newline
		if len(line)+1 > protocol.MaxLine {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var in struct { // the fields devices reads from a message
			ID     *int64               `json:"id"`
			OK     *bool                `json:"ok"`
			Result json.RawMessage      `json:"result"`
			Error  *devices.DeviceError `json:"error"`
			Event  *string              `json:"event"`
			TS     int64                `json:"ts"`
			Data   json.RawMessage      `json:"data"`
		}
		if json.Unmarshal(line, &in) != nil || in.Event != nil || in.OK == nil || in.ID == nil || *in.ID != id {
			continue
		}
		if !*in.OK {
			if in.Error == nil { // devices reports it as internal, in its own words
				return nil, &devices.DeviceError{Code: protocol.CodeInternal}, true
			}
			return nil, in.Error, true
		}
		if len(in.Result) == 0 {
			return json.RawMessage("null"), nil, true
		}
		return in.Result, nil, true
	}
	return nil, nil, false
}

// FuzzLineLink feeds arbitrary bytes from the device side into a LineLink
// ("$ID" in them becomes the pending request's id), then a newline and the
// real reply. The link must not panic, and the call must get the first
// complete reply line for its id.
func FuzzLineLink(f *testing.F) {
	long := strings.Repeat("y", 5000)
	for _, seed := range []struct {
		chunk uint8
		data  string
	}{
		{0, ""},
		{7, "\x00\x01\xfe\xff\x80junk"},
		{1, `{"id":$ID,"ok":true,"result":"early"}`},
		{3, `{"id":$ID,"ok":true,"res`},
		{200, `{"id":$ID,"ok":true,"result":"` + long + `"}`},
		{64, long + "\n" + `{"id":$ID,"ok":true,"result":[1,2,3]}` + "\r\n"},
		{5, `{"id":$ID,"ok":false,"error":{"code":"busy","message":"a drive is in flight"}}`},
		{5, `{"id":$ID,"ok":false}`},
		{9, `{"id":$ID,"ok":true}`},
		{9, `{"event":"telemetry","id":$ID,"ok":true,"result":"event"}`},
		{9, `{"id":$ID,"ok":null,"result":"no"}` + "\n" + `{"id":$ID,"ok":true,"ts":1.5,"result":"badts"}`},
		{2, `{"id":null,"ok":false,"error":{"code":"line_too_long","message":"..."}}`},
		{11, `{"id":1$ID,"ok":true,"result":"other id"}` + "\n\n \r\n" + `{"ID":$ID,"OK":true,"Result":"case"}`},
		{13, `{"id":$ID,"ok":true,"result":1}{"x":2}` + "\n" + `[` + "\n" + `"\ud800"`},
		{17, "\r\r\r\n\n\n" + `{"id":$ID,"ok":true,"result":"after blanks"}` + "\r"},
	} {
		f.Add(seed.chunk, []byte(seed.data))
	}
	f.Fuzz(func(t *testing.T, chunk uint8, data []byte) {
		s := newScripted(int(chunk)%97+1, func(id int64) []byte {
			sid := []byte(strconv.FormatInt(id, 10))
			b := bytes.ReplaceAll(data, []byte("$ID"), sid)
			b = append(b, '\n')
			return append(b, `{"id":`+string(sid)+`,"ok":true,"result":"real"}`+"\n"...)
		})
		d := devices.NewDevice("rover", devices.Options{Timeout: 3 * time.Second})
		d.Attach(devices.NewLineLink(s, d))
		defer d.Close()
		raw, err := d.Call(context.Background(), "ping", nil)
		<-s.ready
		wantRes, wantErr, ok := wantReply(s.stream, lastID(s.stream))
		if !ok {
			t.Fatalf("the oracle found no reply in %q", s.stream)
		}
		if wantErr != nil {
			var de *devices.DeviceError
			if !errors.As(err, &de) || de.Code != wantErr.Code || wantErr.Message != "" && de.Message != wantErr.Message {
				t.Fatalf("got %s, %v; want device error %+v", raw, err, wantErr)
			}
			return
		}
		if err != nil || !bytes.Equal(raw, wantRes) {
			t.Fatalf("got %s, %v; want %s", raw, err, wantRes)
		}
	})
}

// lastID is the id of the real reply, the stream's last line.
func lastID(stream []byte) int64 {
	body := stream[:len(stream)-1]
	var r struct{ ID int64 }
	json.Unmarshal(body[bytes.LastIndexByte(body, '\n')+1:], &r)
	return r.ID
}
