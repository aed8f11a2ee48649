package mqtt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-dev/gantry/devices"
	"github.com/gantry-dev/gantry/devices/mqtt"
	"github.com/gantry-dev/gantry/firmware"
	"github.com/gantry-dev/gantry/internal/testenv"
)

// testPKI writes a CA and a server certificate for 127.0.0.1 into dir and
// returns the pool that trusts the CA.
func testPKI(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gantry test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("server.pem", "CERTIFICATE", srvDER)
	write("server.key", "EC PRIVATE KEY", keyDER)
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool
}

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
	pool := testPKI(t, dir)
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-c", "-b", pwFile, "robot", "s3cret").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
	}
	br := startMosquittoConf(t, "ssl", strings.Join([]string{
		"allow_anonymous false",
		"user " + currentUser(t), // run as root, mosquitto would drop to its own user, who cannot read t.TempDir()
		"password_file " + pwFile,
		"cafile " + filepath.Join(dir, "ca.pem"),
		"certfile " + filepath.Join(dir, "server.pem"),
		"keyfile " + filepath.Join(dir, "server.key"),
		""}, "\n"))
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
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
