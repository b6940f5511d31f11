package main

// End-to-end tests of TLS: StartTLS and LDAPS with the real ldap-utils and
// openssl binaries, tls.require, and certificate reload, against a
// switchboard subprocess using a certificate made by `switchboard cert`.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// tlsTestServer is a server with StartTLS and LDAPS on.
type tlsTestServer struct {
	*testServer
	LDAPS   string // host:port
	CertDir string // ca.pem, server.pem, ...
}

// makeCerts runs `switchboard cert` into a fresh directory (or dir, with
// --force) and returns the directory.
func makeCerts(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	if dir == "" {
		dir = filepath.Join(t.TempDir(), "certs")
	}
	args := append([]string{"cert", "--dir", dir}, extra...)
	if stdout, stderr, code := runCLI(t, "", args...); code != 0 {
		t.Fatalf("switchboard cert: exit %d\n%s%s", code, stdout, stderr)
	}
	return dir
}

func startTLSServer(t *testing.T, require string, extra ...string) *tlsTestServer {
	t.Helper()
	dir := makeCerts(t, "")
	ldaps := freePort(t)
	args := append([]string{"--listen-ldaps", ldaps,
		"--tls.cert-file", filepath.Join(dir, "server.pem"), "--tls.key-file", filepath.Join(dir, "server-key.pem"),
		"--tls.require", require}, extra...)
	s := startServer(t, "", args...)
	return &tlsTestServer{testServer: s, LDAPS: ldaps, CertDir: dir}
}

// tlsTool runs an ldap-utils tool that verifies the server's certificate
// against caFile (LDAPTLS_REQCERT=demand), in an empty directory so that
// no ldaprc is read. It returns the combined output and the exit code.
func tlsTool(t *testing.T, caFile, tool string, args ...string) (string, int) {
	t.Helper()
	return tlsToolEnv(t, []string{"LDAPTLS_CACERT=" + caFile}, tool, args...)
}

// tlsToolEnv is tlsTool with LDAPTLS_* settings of the caller's choice.
func tlsToolEnv(t *testing.T, env []string, tool string, args ...string) (string, int) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install ldap-utils)", tool)
	}
	home := t.TempDir()
	cmd := exec.Command(path, args...)
	cmd.Dir = home
	cmd.Env = append(append(cliEnv(), "HOME="+home, "LDAPTLS_REQCERT=demand"), env...)
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

// openssl runs `openssl s_client` with no input (so it ends after the
// handshake) and returns its output and exit code.
func opensslClient(t *testing.T, args ...string) (string, int) {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	cmd := exec.Command(path, append([]string{"s_client"}, args...)...)
	cmd.Stdin = strings.NewReader("")
	out, _ := cmd.CombinedOutput()
	return string(out), cmd.ProcessState.ExitCode()
}

func TestE2ETLSStartTLSAndLDAPS(t *testing.T) {
	s := startTLSServer(t, "none")
	ca := filepath.Join(s.CertDir, "ca.pem")

	out, code := tlsTool(t, ca, "ldapwhoami", "-x", "-ZZ", "-H", s.URL, "-D", testRootDN, "-w", testRootPass)
	if code != 0 || strings.TrimSpace(out) != "dn:"+testRootDN {
		t.Fatalf("ldapwhoami -ZZ: exit %d\n%s\nlog:\n%s", code, out, s.Log())
	}
	out, code = tlsTool(t, ca, "ldapwhoami", "-x", "-H", "ldaps://"+s.LDAPS, "-D", testRootDN, "-w", testRootPass)
	if code != 0 || strings.TrimSpace(out) != "dn:"+testRootDN {
		t.Fatalf("ldapwhoami over ldaps: exit %d\n%s", code, out)
	}
	out, code = tlsTool(t, ca, "ldapsearch", "-x", "-H", "ldaps://"+s.LDAPS, "-b", "", "-s", "base", "-LLL", "supportedExtension")
	if code != 0 || !strings.Contains(out, "supportedExtension: 1.3.6.1.4.1.1466.20037") {
		t.Fatalf("ldapsearch over ldaps: exit %d\n%s", code, out)
	}

	// A client that does not trust the CA gets no session.
	other := filepath.Join(makeCerts(t, ""), "ca.pem")
	if out, code := tlsTool(t, other, "ldapwhoami", "-x", "-ZZ", "-H", s.URL); code == 0 {
		t.Fatalf("ldapwhoami -ZZ with a foreign CA succeeded:\n%s", out)
	}
	if out, code := tlsTool(t, other, "ldapwhoami", "-x", "-H", "ldaps://"+s.LDAPS); code == 0 {
		t.Fatalf("ldaps with a foreign CA succeeded:\n%s", out)
	}
}

func TestE2ETLSOpenSSL(t *testing.T) {
	s := startTLSServer(t, "none")
	ca := filepath.Join(s.CertDir, "ca.pem")

	out, code := opensslClient(t, "-connect", s.Addr, "-starttls", "ldap", "-CAfile", ca, "-verify_return_error")
	if code != 0 || !(strings.Contains(out, "Protocol  : TLSv1.3") || strings.Contains(out, "Protocol  : TLSv1.2")) ||
		!strings.Contains(out, "Verify return code: 0 (ok)") {
		t.Fatalf("openssl -starttls ldap: exit %d\n%s", code, out)
	}
	out, code = opensslClient(t, "-connect", s.LDAPS, "-CAfile", ca, "-verify_return_error", "-tls1_2")
	if code != 0 || !strings.Contains(out, "Protocol  : TLSv1.2") {
		t.Fatalf("openssl -tls1_2 over ldaps: exit %d\n%s", code, out)
	}
	// TLS 1.1 is refused, over StartTLS and LDAPS. (openssl prints a
	// "Protocol" line even for a failed handshake: the exit code and the
	// absent cipher tell.)
	for _, args := range [][]string{
		{"-connect", s.Addr, "-starttls", "ldap", "-tls1_1"},
		{"-connect", s.LDAPS, "-tls1_1"},
	} {
		out, code := opensslClient(t, append(args, "-CAfile", ca)...)
		if code == 0 || strings.Contains(out, "Verify return code: 0 (ok)") && !strings.Contains(out, "Cipher is (NONE)") {
			t.Fatalf("openssl %v: exit %d, handshake not refused\n%s", args, code, out)
		}
	}
}

func TestE2ETLSRequireBind(t *testing.T) {
	s := startTLSServer(t, "bind")
	ca := filepath.Join(s.CertDir, "ca.pem")

	out, code := tlsTool(t, ca, "ldapwhoami", "-x", "-H", s.URL, "-D", testRootDN, "-w", testRootPass)
	if code != 13 || !strings.Contains(out, "Confidentiality required") {
		t.Fatalf("cleartext password bind: exit %d, want 13\n%s", code, out)
	}
	out, code = tlsTool(t, ca, "ldapsearch", "-x", "-H", s.URL, "-b", "cn=Subschema", "-s", "base", "-LLL", "objectClass")
	if code != 0 || !strings.Contains(out, "dn: cn=Subschema") {
		t.Fatalf("anonymous cleartext search: exit %d\n%s", code, out)
	}
	out, code = tlsTool(t, ca, "ldapwhoami", "-x", "-ZZ", "-H", s.URL, "-D", testRootDN, "-w", testRootPass)
	if code != 0 || strings.TrimSpace(out) != "dn:"+testRootDN {
		t.Fatalf("ldapwhoami -ZZ: exit %d\n%s", code, out)
	}
}

func TestE2ETLSRequireAll(t *testing.T) {
	s := startTLSServer(t, "all")
	ca := filepath.Join(s.CertDir, "ca.pem")

	out, code := tlsTool(t, ca, "ldapsearch", "-x", "-H", s.URL, "-b", "cn=Subschema", "-s", "base", "-LLL", "objectClass")
	if code != 13 {
		t.Fatalf("cleartext search: exit %d, want 13\n%s", code, out)
	}
	// The Root DSE stays readable, so clients can find StartTLS.
	out, code = tlsTool(t, ca, "ldapsearch", "-x", "-H", s.URL, "-b", "", "-s", "base", "-LLL", "supportedExtension")
	if code != 0 || !strings.Contains(out, "1.3.6.1.4.1.1466.20037") {
		t.Fatalf("cleartext Root DSE: exit %d\n%s", code, out)
	}
	out, code = tlsTool(t, ca, "ldapsearch", "-x", "-ZZ", "-H", s.URL, "-b", "cn=Subschema", "-s", "base", "-LLL", "objectClass")
	if code != 0 || !strings.Contains(out, "dn: cn=Subschema") {
		t.Fatalf("search after StartTLS: exit %d\n%s", code, out)
	}
	out, code = tlsTool(t, ca, "ldapwhoami", "-x", "-H", "ldaps://"+s.LDAPS, "-D", testRootDN, "-w", testRootPass)
	if code != 0 {
		t.Fatalf("ldaps bind: exit %d\n%s", code, out)
	}
}

// serverSerial returns the serial number of the certificate the server
// presents to a new LDAPS connection.
func serverSerial(t *testing.T, addr string) string {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func TestE2ETLSCertificateReload(t *testing.T) {
	s := startTLSServer(t, "none")
	before := serverSerial(t, s.LDAPS)
	makeCerts(t, s.CertDir, "--force")
	pem, err := os.ReadFile(filepath.Join(s.CertDir, "server.pem"))
	if err != nil {
		t.Fatal(err)
	}
	want := parsePEMCert(t, pem).SerialNumber.String()
	if want == before {
		t.Fatal("switchboard cert --force made the same serial")
	}
	deadline := time.Now().Add(10 * time.Second)
	for got := before; got != want; got = serverSerial(t, s.LDAPS) {
		if time.Now().After(deadline) {
			t.Fatalf("server still presents serial %s, want %s\nlog:\n%s", got, want, s.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// StartTLS serves the new certificate too, verified with the new CA.
	ca := filepath.Join(s.CertDir, "ca.pem")
	if out, code := tlsTool(t, ca, "ldapwhoami", "-x", "-ZZ", "-H", s.URL, "-D", testRootDN, "-w", testRootPass); code != 0 {
		t.Fatalf("ldapwhoami -ZZ after reload: exit %d\n%s", code, out)
	}
}

var (
	oidDC = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidCN = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// clientCert writes a client certificate for the subject
// cn=admin,dc=example,dc=com signed by the CA in caDir (made by
// `switchboard cert`) and returns the certificate and key file names.
func clientCert(t *testing.T, caDir string) (certFile, keyFile string) {
	t.Helper()
	ca, err := tls.LoadX509KeyPair(filepath.Join(caDir, "ca.pem"), filepath.Join(caDir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		// From the root down, as certificates store it.
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: oidDC, Value: "com"}, {Type: oidDC, Value: "example"}, {Type: oidCN, Value: "admin"}}},
		NotBefore:   time.Now().Add(-time.Hour),
		NotAfter:    time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Leaf, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestE2ETLSClientCertificateExternal(t *testing.T) {
	// The server trusts client certificates from its own development CA.
	dir := makeCerts(t, "")
	ldaps := freePort(t)
	s := startServer(t, "", "--listen-ldaps", ldaps,
		"--tls.cert-file", filepath.Join(dir, "server.pem"), "--tls.key-file", filepath.Join(dir, "server-key.pem"),
		"--tls.ca-file", filepath.Join(dir, "ca.pem"))
	ca := "LDAPTLS_CACERT=" + filepath.Join(dir, "ca.pem")
	cert, key := clientCert(t, dir)
	withCert := []string{ca, "LDAPTLS_CERT=" + cert, "LDAPTLS_KEY=" + key}

	for _, url := range []string{"ldap://" + s.Addr, "ldaps://" + ldaps} {
		args := []string{"-Q", "-Y", "EXTERNAL", "-H", url}
		if strings.HasPrefix(url, "ldap:") {
			args = append(args, "-ZZ")
		}
		out, code := tlsToolEnv(t, withCert, "ldapwhoami", args...)
		if code != 0 || !strings.Contains(out, "dn:"+testRootDN) {
			t.Fatalf("ldapwhoami -Y EXTERNAL %s: exit %d\n%s\nlog:\n%s", url, code, out, s.Log())
		}
	}
	// TLS without a client certificate: EXTERNAL is inappropriate (48),
	// simple binds still work. (libsasl will not even try EXTERNAL
	// without a certificate, so go-ldap sends it.)
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, filepath.Join(dir, "ca.pem")))
	c, err := goldap.DialURL("ldaps://"+ldaps, goldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.ExternalBind(); !goldap.IsErrorWithCode(err, goldap.LDAPResultInappropriateAuthentication) {
		t.Fatalf("EXTERNAL without a certificate: %v, want inappropriateAuthentication (48)", err)
	}
	// go-ldap with the client certificate over StartTLS.
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := goldap.DialURL("ldap://" + s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.StartTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: []tls.Certificate{pair}}); err != nil {
		t.Fatalf("StartTLS with a client certificate: %v", err)
	}
	if err := c2.ExternalBind(); err != nil {
		t.Fatalf("EXTERNAL with a certificate: %v", err)
	}
	if who, err := c2.WhoAmI(nil); err != nil || who.AuthzID != "dn:"+testRootDN {
		t.Fatalf("who am I after EXTERNAL: %+v %v", who, err)
	}
	if out, code := tlsToolEnv(t, []string{ca}, "ldapwhoami", "-x", "-ZZ", "-H", s.URL, "-D", testRootDN, "-w", testRootPass); code != 0 {
		t.Fatalf("simple bind without a client certificate: exit %d\n%s", code, out)
	}
	out, code := tlsToolEnv(t, []string{ca}, "ldapsearch", "-x", "-ZZ", "-H", s.URL, "-b", "", "-s", "base", "-LLL", "supportedSASLMechanisms")
	if code != 0 || !strings.Contains(out, "supportedSASLMechanisms: EXTERNAL") {
		t.Fatalf("Root DSE: exit %d\n%s", code, out)
	}
	// A certificate from another CA does not get through the handshake.
	foreign, fkey := clientCert(t, makeCerts(t, ""))
	out, code = tlsToolEnv(t, []string{ca, "LDAPTLS_CERT=" + foreign, "LDAPTLS_KEY=" + fkey}, "ldapwhoami", "-Q", "-Y", "EXTERNAL", "-H", "ldaps://"+ldaps)
	if code == 0 {
		t.Fatalf("a foreign client certificate was accepted:\n%s", out)
	}
}
