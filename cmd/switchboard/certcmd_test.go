package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func parsePEMCert(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("no PEM certificate in %q", b)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parsePEMCert(t, b)
}

func TestCertCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	var out, errOut bytes.Buffer
	if err := cmdCert([]string{"--dir", dir}, &out, &errOut); err != nil {
		t.Fatalf("cert: %v\n%s", err, errOut.String())
	}
	ca := readCert(t, filepath.Join(dir, "ca.pem"))
	srv := readCert(t, filepath.Join(dir, "server.pem"))
	if !ca.IsCA || srv.IsCA {
		t.Errorf("IsCA: ca %v server %v", ca.IsCA, srv.IsCA)
	}
	if !slices.Equal(srv.DNSNames, []string{"localhost"}) || len(srv.IPAddresses) != 2 ||
		!srv.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")) || !srv.IPAddresses[1].Equal(net.ParseIP("::1")) {
		t.Errorf("SANs: DNS %q IP %v", srv.DNSNames, srv.IPAddresses)
	}
	if d := time.Until(srv.NotAfter); d < 824*24*time.Hour || d > 826*24*time.Hour {
		t.Errorf("server certificate valid for %v, want 825 days", d)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: host, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := srv.Verify(x509.VerifyOptions{Roots: pool, DNSName: "example.org"}); err == nil {
		t.Error("server certificate verifies for example.org")
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")); err != nil {
		t.Errorf("server pair: %v", err)
	}
	if _, err := tls.LoadX509KeyPair(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem")); err != nil {
		t.Errorf("CA pair: %v", err)
	}
	for name, want := range map[string]os.FileMode{"ca-key.pem": 0o600, "server-key.pem": 0o600, "ca.pem": 0o644, "server.pem": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", name, fi.Mode().Perm(), want)
		}
	}

	// No overwrite without --force; nothing changes.
	err := cmdCert([]string{"--dir", dir}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("second run: %v, want a refusal naming --force", err)
	}
	if again := readCert(t, filepath.Join(dir, "server.pem")); again.SerialNumber.Cmp(srv.SerialNumber) != 0 {
		t.Fatal("refused run changed server.pem")
	}
	// A key made world-readable is 0600 again after --force.
	os.Chmod(filepath.Join(dir, "server-key.pem"), 0o644)
	if err := cmdCert([]string{"--dir", dir, "--force", "--hosts", "ldap.example.org,10.1.2.3", "--days", "30"}, io.Discard, io.Discard); err != nil {
		t.Fatalf("--force: %v", err)
	}
	srv2 := readCert(t, filepath.Join(dir, "server.pem"))
	if srv2.SerialNumber.Cmp(srv.SerialNumber) == 0 {
		t.Error("--force kept the serial")
	}
	if !slices.Equal(srv2.DNSNames, []string{"ldap.example.org"}) || len(srv2.IPAddresses) != 1 || !srv2.IPAddresses[0].Equal(net.ParseIP("10.1.2.3")) {
		t.Errorf("--hosts: DNS %q IP %v", srv2.DNSNames, srv2.IPAddresses)
	}
	if d := time.Until(srv2.NotAfter); d < 29*24*time.Hour || d > 31*24*time.Hour {
		t.Errorf("--days 30: valid for %v", d)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "server-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("server-key.pem mode %v after --force", fi.Mode().Perm())
	}
	if err := cmdCert(nil, io.Discard, io.Discard); err == nil {
		t.Error("cert without --dir succeeded")
	}
}

func TestServerTLSConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := cmdCert([]string{"--dir", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	log := (&Config{}).logger()
	var cfg Config
	cfg.TLS.Require = "none"
	if tc, err := serverTLS(&cfg, log); tc != nil || err != nil {
		t.Fatalf("no TLS keys: %v %v", tc, err)
	}
	for _, mutate := range []func(c *Config){
		func(c *Config) { c.ListenLDAPS = "127.0.0.1:0" },
		func(c *Config) { c.TLS.Require = "bind" },
		func(c *Config) { c.TLS.CAFile = filepath.Join(dir, "ca.pem") },
		func(c *Config) { c.TLS.CertFile = filepath.Join(dir, "server.pem") },
		func(c *Config) {
			c.TLS.CertFile, c.TLS.KeyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "ca-key.pem")
		},
		func(c *Config) {
			c.TLS.CertFile, c.TLS.KeyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
			c.TLS.CAFile = filepath.Join(dir, "server-key.pem")
		},
	} {
		c := Config{}
		c.TLS.Require = "none"
		mutate(&c)
		if _, err := serverTLS(&c, log); err == nil {
			t.Errorf("config %+v accepted", c.TLS)
		}
	}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	cfg.TLS.CAFile = filepath.Join(dir, "ca.pem")
	tc, err := serverTLS(&cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if tc.MinVersion != tls.VersionTLS12 || tc.ClientAuth != tls.VerifyClientCertIfGiven || tc.ClientCAs == nil {
		t.Errorf("config: min %x clientAuth %v", tc.MinVersion, tc.ClientAuth)
	}
	if c, err := tc.GetCertificate(&tls.ClientHelloInfo{}); err != nil || c == nil {
		t.Errorf("GetCertificate: %v", err)
	}
}

func TestCertReloaderKeepsOldPairOnMismatch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := cmdCert([]string{"--dir", dir}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	log := (&Config{}).logger()
	r, err := newCertReloader(filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), log)
	if err != nil {
		t.Fatal(err)
	}
	r.interval = 0
	first, _ := r.GetCertificate(nil)
	// A new key but the old certificate (a half-done rotation): keep the old pair.
	key, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if err := writeFileAtomic(filepath.Join(dir, "server-key.pem"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if c, _ := r.GetCertificate(nil); c != first {
		t.Fatal("mismatched pair replaced the loaded certificate")
	}
	// The rotation completes: the new pair is taken.
	if err := cmdCert([]string{"--dir", dir, "--force"}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	c, _ := r.GetCertificate(nil)
	if c == first || c.Leaf == nil || c.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Fatal("new pair not loaded")
	}
}
