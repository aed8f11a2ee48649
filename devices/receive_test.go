package devices_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
)

// chanLink hands every sent message to a channel.
type chanLink struct{ sent chan []byte }

func (l chanLink) Send(_ context.Context, msg []byte) error {
	l.sent <- append([]byte(nil), msg...)
	return nil
}
func (chanLink) Close() error { return nil }

// pendingCall starts a call on a device with a channel link and returns
// the id it was sent with and where its outcome arrives.
func pendingCall(t testing.TB, d *devices.Device, link chanLink) (int64, chan error) {
	done := make(chan error, 1)
	go func() {
		_, err := d.Call(context.Background(), "ping", nil)
		done <- err
	}()
	msg := <-link.sent
	var id int64
	if _, err := fmt.Sscanf(string(msg), `{"id":%d`, &id); err != nil {
		t.Fatalf("request %s: %v", msg, err)
	}
	return id, done
}

func TestReceive(t *testing.T) {
	tests := []struct {
		name    string
		reply   string // %d is the pending id
		wantErr string // "" for success
		garbage int64
	}{
		{"ok", `{"id":%d,"ok":true,"result":{"ts":1}}`, "", 0},
		{"error reply", `{"id":%d,"ok":false,"error":{"code":"busy","message":"moving"}}`, "busy: moving", 0},
		{"error without object", `{"id":%d,"ok":false}`, "internal", 0},
		{"garbage first", "\x00\xff{{{\n" + `{"id":%d,"ok":true,"result":null}`, "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			link := chanLink{sent: make(chan []byte, 1)}
			d := devices.NewDevice("dev", devices.Options{Timeout: 5 * time.Second})
			d.Attach(link)
			d.SetState(devices.Online, nil)
			id, done := pendingCall(t, d, link)
			d.Receive([]byte(`{"id":1,"ok":true,"result":1}`)) // an id nobody waits for
			for _, line := range strings.Split(fmt.Sprintf(tc.reply, id), "\n") {
				d.Receive([]byte(line))
			}
			err := <-done
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			st := d.Stats()
			if st.Stale != 1 || st.Garbage != tc.garbage {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestOfflineFailsInFlight(t *testing.T) {
	link := chanLink{sent: make(chan []byte, 2)}
	d := devices.NewDevice("dev", devices.Options{Timeout: time.Minute})
	d.Attach(link)
	d.SetState(devices.Online, nil)
	_, done := pendingCall(t, d, link)
	d.SetState(devices.Offline, errors.New("port unplugged"))
	err := <-done
	if !errors.Is(err, devices.ErrLost) || !strings.Contains(err.Error(), "port unplugged") {
		t.Fatalf("got %v", err)
	}
	if _, err := d.Call(context.Background(), "ping", nil); !errors.Is(err, devices.ErrOffline) {
		t.Fatalf("call while offline: %v", err)
	}
}

func TestUnreachableResends(t *testing.T) {
	link := chanLink{sent: make(chan []byte, 2)}
	d := devices.NewDevice("dev", devices.Options{Timeout: time.Minute})
	d.Attach(link)
	d.SetState(devices.Online, nil)
	id, done := pendingCall(t, d, link)
	d.SetState(devices.Unreachable, errors.New("broker gone"))
	d.SetState(devices.Online, nil)
	again := <-link.sent
	if !strings.HasPrefix(string(again), fmt.Sprintf(`{"id":%d,`, id)) {
		t.Fatalf("resent %s, want the same id %d", again, id)
	}
	d.Receive([]byte(fmt.Sprintf(`{"id":%d,"ok":true,"result":{}}`, id)))
	d.Receive([]byte(fmt.Sprintf(`{"id":%d,"ok":true,"result":{}}`, id))) // the duplicate answer
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := d.Stats(); st.Replies != 1 || st.Stale != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestTimeoutIncludesStatedDuration(t *testing.T) {
	link := chanLink{sent: make(chan []byte, 1)}
	d := devices.NewDevice("dev", devices.Options{Timeout: 50 * time.Millisecond})
	d.Attach(link)
	d.SetState(devices.Online, nil)
	lo, hi := 0.0, 5000.0
	desc := &devices.Description{Protocol: "gantry/1", Name: "dev", Actions: map[string]devices.ActionDesc{
		"describe": {}, "ping": {}, "get": {}, "stop": {}, "reset": {},
		"wait": {Params: map[string]devices.Param{"ms": {Type: "integer", Unit: "ms", Minimum: &lo, Maximum: &hi}}}}}
	if err := d.SetDescription(desc); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go func() { <-link.sent }()
	_, err := d.Call(context.Background(), "wait", map[string]any{"ms": int64(300)})
	took := time.Since(start)
	if !errors.Is(err, devices.ErrTimeout) || !strings.Contains(err.Error(), "350ms") {
		t.Fatalf("got %v", err)
	}
	if took < 300*time.Millisecond {
		t.Errorf("gave up after %v, before the action's own 300 ms", took)
	}
}

func FuzzReceive(f *testing.F) {
	f.Add([]byte(`{"id":%d,"ok":true,"result":{"ts":1}}`))
	f.Add([]byte(`{"id":%d,"ok":false,"error":{"code":"busy","message":"x"}}`))
	f.Add([]byte(`{"event":"telemetry","ts":5,"data":{"battery":97}}`))
	f.Add([]byte(`{"id":null,"ok":false,"error":{"code":"bad_request","message":"?"}}`))
	f.Add([]byte("\x00\x01"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		link := chanLink{sent: make(chan []byte, 1)}
		d := devices.NewDevice("dev", devices.Options{Timeout: time.Second})
		d.Attach(link)
		d.SetState(devices.Online, nil)
		cancel := d.Subscribe(func(devices.Event) {})
		defer cancel()
		id, done := pendingCall(t, d, link)
		d.Receive([]byte(strings.ReplaceAll(string(msg), "%d", fmt.Sprint(id))))
		d.Receive([]byte(fmt.Sprintf(`{"id":%d,"ok":true,"result":null}`, id)))
		<-done // answered by one of the two; never hangs, never panics
	})
}
