package mqtt_test

import (
	"context"
	"crypto/tls"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/natstest"
	"github.com/gantry-dev/gantry/internal/testenv"
)

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

// TestTLSAndCredentials runs the rover and the gateway against a mosquitto
// that requires TLS and a password.
func TestTLSAndCredentials(t *testing.T) {
	passwd := testenv.LookPath(t, "mosquitto_passwd")
	dir := t.TempDir()
	pki := natstest.GenerateTLS(t)
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-c", "-b", pwFile, "robot", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	br := startMosquittoConf(t, "ssl", strings.Join([]string{
		"allow_anonymous false",
		"user " + currentUser(t), // run as root, mosquitto would drop to its own user, who cannot read t.TempDir()
		"password_file " + pwFile,
		"cafile " + pki.CA,
		"certfile " + pki.Cert,
		"keyfile " + pki.Key,
		""}, "\n"))
	tc := pki.ClientConfig()
	serveRover(t, br.url, firmware.Options{}, firmware.MQTTOptions{Username: "robot", Password: "s3cret", TLSConfig: tc})

	hub := devices.NewHub(devices.HubOptions{})
	defer hub.Close()
	bus := connectBus(t, br.url, hub, mqtt.Options{Username: "robot", Password: "s3cret", TLSConfig: tc})
	waitDevices(t, bus, "rover")
	if _, err := hub.Call(context.Background(), "rover", "ping", nil); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		opts mqtt.Options
		want string
	}{
		{"wrong password", mqtt.Options{Username: "robot", Password: "guess", TLSConfig: tc}, "not authorized"},
		{"no credentials", mqtt.Options{TLSConfig: tc}, "not authorized"},
		{"untrusted certificate", mqtt.Options{Username: "robot", Password: "s3cret", TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12}}, "certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := devices.NewHub(devices.HubOptions{})
			defer h.Close()
			tc.opts.Broker = br.url
			tc.opts.ConnectTimeout = 3 * time.Second
			b, err := mqtt.Connect(context.Background(), h, tc.opts)
			if err == nil {
				b.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(strings.ToLower(err.Error()), tc.want) {
				t.Fatalf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}
