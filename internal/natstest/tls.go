package natstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TLSFiles are the PEM files a TLS cluster uses: one certificate for
// every node (127.0.0.1, server and client use: the nodes present it to
// each other on their routes), its key, and the CA that signed it.
type TLSFiles struct {
	Cert, Key, CA string
	// Pool trusts the CA.
	Pool *x509.CertPool
}

// ClientConfig is a client's TLS configuration that trusts the CA.
func (f *TLSFiles) ClientConfig() *tls.Config {
	return &tls.Config{RootCAs: f.Pool, MinVersion: tls.VersionTLS12}
}

// GenerateTLS makes a CA and a node certificate for 127.0.0.1, valid for
// a day, in a directory removed when the test ends. Nothing is read from
// or written to the repository.
func GenerateTLS(t testing.TB) *TLSFiles {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gantry natstest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	node := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature}
	nodeDER, err := x509.CreateCertificate(rand.Reader, node, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &TLSFiles{Cert: filepath.Join(dir, "node.pem"), Key: filepath.Join(dir, "node.key"), CA: filepath.Join(dir, "ca.pem"),
		Pool: x509.NewCertPool()}
	for _, w := range []struct {
		path, typ string
		der       []byte
	}{{f.CA, "CERTIFICATE", caDER}, {f.Cert, "CERTIFICATE", nodeDER}, {f.Key, "EC PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(w.path, pem.EncodeToMemory(&pem.Block{Type: w.typ, Bytes: w.der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.Pool.AddCert(ca)
	return f
}

// Secured returns the options of a cluster that includes the accounts
// file (deploy/nats/secure/accounts.conf) and requires TLS everywhere, and
// a random password for each user, passed to the servers as
// GANTRY_NATS_<USER>_PASS (the variables the file refers to). The MQTT
// readiness probe logs in as probe, one of users.
func Secured(t testing.TB, accounts, probe string, users ...string) (Options, map[string]string) {
	t.Helper()
	pass := map[string]string{}
	var env []string
	for _, u := range users {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		pass[u] = hex.EncodeToString(b[:])
		env = append(env, "GANTRY_NATS_"+strings.ToUpper(u)+"_PASS="+pass[u])
	}
	return Options{Include: accounts, Env: env, TLS: GenerateTLS(t), ProbeUser: probe, ProbePassword: pass[probe]}, pass
}
