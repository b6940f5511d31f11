package main

// The admin HTTP API's authentication, against the real binary: every
// route but /healthz, /readyz and loopback /metrics needs a directory
// identity allowed to administer (the root DN, members of admin.group),
// by HTTP Basic or a bearer token made through the API; pprof is off by
// default and its cmdline hides secrets.

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

const (
	adminGroupDN = "cn=api-admins," + testSuffix
	opsDN        = "uid=ops," + testSuffix
	opsPass      = "ops-secret-1"
	plainDN      = "uid=plain," + testSuffix
	plainPass    = "plain-secret-1"
	viewerDN     = "uid=viewer," + testSuffix // in admin.group, read-only under the rules
	viewerPass   = "viewer-secret-1"
	writersDN    = "cn=directory-writers," + testSuffix // access.admin_group: write everywhere
)

type adminAnswer struct {
	status int
	ctype  string
	auth   string // WWW-Authenticate
	body   string
}

// adminCall sends method url with the Authorization value auth (none if
// empty) and body.
func adminCall(t *testing.T, method, url, auth, body string) adminAnswer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return adminAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"), string(b)}
}

func basicAuth(dn, pw string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(dn, pw)
	return req.Header.Get("Authorization")
}

// readerStatus is the answer to an admin group member whom the access
// rules give read but not write on the naming context: GET answers as to
// any allowed identity, every other method 403.
func readerStatus(method string, ok int) int {
	if method == "GET" {
		return ok
	}
	return 403
}

func TestE2EAdminAuth(t *testing.T) {
	// The root password as a flag, to see it redacted from pprof's
	// command line (the harness also sets it in the environment).
	// The access rules decide what each member of admin.group may do
	// through the admin API: writers write, other users read.
	rules := filepath.Join(t.TempDir(), "access.yaml")
	if err := os.WriteFile(rules, []byte(`access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to * by group="`+writersDN+`" write by users read by * none
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--config", rules, "--demo", "--admin-pprof", "--root-password", testRootPass, "--replication.multi-supplier",
		"--admin.group", adminGroupDN)
	conn := dialRoot(t, s)
	defer conn.Close()
	for _, u := range []struct{ dn, uid, pw string }{{opsDN, "ops", opsPass}, {plainDN, "plain", plainPass}, {viewerDN, "viewer", viewerPass}} {
		mustAdd(t, conn, u.dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "cn": {u.uid}, "sn": {u.uid}, "userPassword": {u.pw}})
	}
	mustAdd(t, conn, adminGroupDN, map[string][]string{"objectClass": {"groupOfNames"}, "member": {opsDN, viewerDN}})
	// The rules decide what each member may do: ops may write (through
	// access.admin_group), viewer only read (users read).
	mustAdd(t, conn, writersDN, map[string][]string{"objectClass": {"groupOfNames"}, "member": {opsDN}})

	base := "http://" + s.Admin
	routes := []struct {
		method, path string
		ok           int // the answer to an allowed identity
	}{
		{"GET", "/replication", 200},
		{"GET", "/replication/digest?store=1", 200},
		{"GET", "/replication/oplog", 200},
		{"GET", "/replication/conflicts", 200},
		{"POST", "/replication/peers/nope/pause", 404},
		{"POST", "/replication/peers/nope/resume", 404},
		{"POST", "/replication/peers/nope/reinit", 404},
		{"GET", "/debug/pprof/cmdline", 200},
		{"GET", "/debug/pprof/", 200},
		{"GET", "/api/v1/whoami", 200},
		{"GET", "/api/v1/tokens", 200},
		{"DELETE", "/api/v1/tokens/0000000000000000", 404},
	}
	for _, r := range routes {
		for _, c := range []struct {
			who    string
			auth   string
			status int
		}{
			{"no credentials", "", 401},
			{"wrong password", basicAuth(testRootDN, "wrong"), 401},
			{"ordinary user", basicAuth(plainDN, plainPass), 403},
			{"root DN", basicAuth(testRootDN, testRootPass), r.ok},
			{"admin group member", basicAuth(opsDN, opsPass), r.ok},
			{"admin group member who may only read", basicAuth(viewerDN, viewerPass), readerStatus(r.method, r.ok)},
		} {
			a := adminCall(t, r.method, base+r.path, c.auth, "")
			if a.status != c.status {
				t.Errorf("%s %s as %s: %d %q, want %d", r.method, r.path, c.who, a.status, a.body, c.status)
			}
			if a.status >= 400 && a.ctype != "application/problem+json" {
				t.Errorf("%s %s as %s: error as %q: %q", r.method, r.path, c.who, a.ctype, a.body)
			}
			if (a.status == 401) != strings.HasPrefix(a.auth, "Basic ") {
				t.Errorf("%s %s as %s: %d with WWW-Authenticate %q", r.method, r.path, c.who, a.status, a.auth)
			}
		}
	}
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if a := adminCall(t, "GET", base+p, "", ""); a.status != 200 {
			t.Errorf("GET %s without credentials from loopback: %d", p, a.status)
		}
	}

	// pprof's command line does not show the password.
	a := adminCall(t, "GET", base+"/debug/pprof/cmdline", basicAuth(testRootDN, testRootPass), "")
	if strings.Contains(a.body, testRootPass) || !strings.Contains(a.body, "--root-password\x00REDACTED") {
		t.Errorf("pprof cmdline: %q", a.body)
	}

	// A token made by the group member acts as it, until revoked.
	a = adminCall(t, "POST", base+"/api/v1/tokens", basicAuth(opsDN, opsPass), `{"name": "e2e"}`)
	var tok struct {
		ID, Token, Identity string
	}
	if err := json.Unmarshal([]byte(a.body), &tok); a.status != 201 || err != nil || tok.Token == "" || tok.ID == "" {
		t.Fatalf("token create: %d %q", a.status, a.body)
	}
	bearer := "Bearer " + tok.Token
	if a := adminCall(t, "GET", base+"/replication/digest?store=1", bearer, ""); a.status != 200 {
		t.Errorf("digest with the token: %d %q", a.status, a.body)
	}
	if a := adminCall(t, "GET", base+"/api/v1/whoami", bearer, ""); a.status != 200 || !strings.Contains(a.body, `"bearer"`) || !strings.Contains(a.body, "uid=ops") {
		t.Errorf("whoami with the token: %d %q", a.status, a.body)
	}
	if a := adminCall(t, "GET", base+"/api/v1/tokens", basicAuth(testRootDN, testRootPass), ""); !strings.Contains(a.body, tok.ID) || strings.Contains(a.body, tok.Token) {
		t.Errorf("token list: %q", a.body)
	}
	if a := adminCall(t, "DELETE", base+"/api/v1/tokens/"+tok.ID, basicAuth(testRootDN, testRootPass), ""); a.status != 204 {
		t.Errorf("token revoke: %d %q", a.status, a.body)
	}
	if a := adminCall(t, "GET", base+"/api/v1/whoami", bearer, ""); a.status != 401 {
		t.Errorf("revoked token: %d", a.status)
	}
	// Removed from the group, the member is refused.
	a = adminCall(t, "POST", base+"/api/v1/tokens", basicAuth(opsDN, opsPass), "")
	if err := json.Unmarshal([]byte(a.body), &tok); a.status != 201 || err != nil {
		t.Fatalf("token create: %d %q", a.status, a.body)
	}
	if err := conn.Del(goldap.NewDelRequest(adminGroupDN, nil)); err != nil {
		t.Fatal(err)
	}
	if a := adminCall(t, "GET", base+"/replication", basicAuth(opsDN, opsPass), ""); a.status != 403 {
		t.Errorf("former member with a password: %d", a.status)
	}
	if a := adminCall(t, "GET", base+"/replication", "Bearer "+tok.Token, ""); a.status != 403 {
		t.Errorf("former member with a token: %d", a.status)
	}
	// The secret never reaches the log.
	if strings.Contains(s.Log(), tok.Token) {
		t.Error("the token is in the server's log")
	}
}

func TestE2EAdminPprofOffByDefault(t *testing.T) {
	s := startServer(t, "", "--admin-listen", "0.0.0.0:0")
	// Listening beyond loopback is warned about.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(s.Log(), "admin HTTP API listens beyond loopback") {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about the admin port beyond loopback; log:\n%s", s.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s2 := startServer(t, "")
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline"} {
		if a := adminCall(t, "GET", "http://"+s2.Admin+p, basicAuth(testRootDN, testRootPass), ""); a.status != 404 {
			t.Errorf("GET %s with pprof off: %d", p, a.status)
		}
	}
	if strings.Contains(s2.Log(), "beyond loopback") {
		t.Error("a loopback admin port is warned about")
	}
}

func TestE2EAdminClientCertificate(t *testing.T) {
	dir := makeCerts(t, "")
	s := startServer(t, "", "--admin.tls",
		"--tls.cert-file", filepath.Join(dir, "server.pem"), "--tls.key-file", filepath.Join(dir, "server-key.pem"),
		"--tls.ca-file", filepath.Join(dir, "ca.pem"))
	pool := x509.NewCertPool()
	pool.AddCert(readCert(t, filepath.Join(dir, "ca.pem")))
	certFile, keyFile := clientCert(t, dir) // subject: the root DN
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	get := func(certs []tls.Certificate, auth string) (int, string) {
		t.Helper()
		c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", Certificates: certs}}}
		req, _ := http.NewRequest("GET", "https://"+s.Admin+"/api/v1/whoami", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("GET whoami over TLS: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get([]tls.Certificate{pair}, ""); code != 200 || !strings.Contains(body, `"cert"`) || !strings.Contains(body, testRootDN) {
		t.Errorf("with the root DN's certificate: %d %q", code, body)
	}
	if code, body := get(nil, ""); code != 401 {
		t.Errorf("without a certificate or credentials: %d %q", code, body)
	}
	if code, body := get(nil, basicAuth(testRootDN, testRootPass)); code != 200 || !strings.Contains(body, `"basic"`) {
		t.Errorf("Basic over TLS: %d %q", code, body)
	}
	// Plain HTTP is not served.
	if resp, err := http.Get("http://" + s.Admin + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("the TLS admin port answered plain HTTP")
		}
	}
}

func TestAdminConfigRefused(t *testing.T) {
	for _, c := range []struct{ flag, want string }{
		{"--admin.max-connections=0", "admin.max_connections"},
		{"--admin.metrics-access=everyone", "metrics access"},
		{"--admin.group=not a dn", "admin.group"},
		{"--admin.tls", "admin.tls needs tls.cert_file"},
	} {
		_, stderr, code := runCLI(t, "", "serve", "--data", filepath.Join(t.TempDir(), "data"), "--listen", freePort(t),
			"--admin-listen", freePort(t), "--http-listen", "", "--root-password", "x", c.flag)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("serve %s: exit %d, %q", c.flag, code, stderr)
		}
	}
}
