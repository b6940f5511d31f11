package admin

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeDir is a Directory of a root DN, an admin group member and an
// ordinary user; DNs normalise to lower case.
type fakeDir struct {
	passwords map[string]string // normalised DN -> password
	allowed   map[string]bool
	readOnly  map[string]bool // allowed to read only
}

const (
	rootDN   = "cn=root,dc=example"
	memberDN = "uid=ops,dc=example"
	viewerDN = "uid=viewer,dc=example" // allowed to read only
	userDN   = "uid=user,dc=example"
)

func newFakeDir() *fakeDir {
	return &fakeDir{
		passwords: map[string]string{rootDN: "rootpw", memberDN: "opspw", userDN: "userpw", viewerDN: "viewpw"},
		allowed:   map[string]bool{rootDN: true, memberDN: true, viewerDN: true},
		readOnly:  map[string]bool{viewerDN: true},
	}
}

func (d *fakeDir) Bind(_ context.Context, _ netip.Addr, dn string, pw []byte) (string, error) {
	n := strings.ToLower(dn)
	if p, ok := d.passwords[n]; !ok || p != string(pw) {
		return "", ErrInvalidCredentials
	}
	return n, nil
}

func (d *fakeDir) Allowed(_ context.Context, ndn string, write bool) bool {
	return d.allowed[ndn] && (!write || !d.readOnly[ndn])
}

func (d *fakeDir) CertIdentity(context.Context, *x509.Certificate) (string, error) {
	return "", errors.New("no certificates here")
}

// testAdmin serves s on a loopback port until the test ends and returns
// its base URL.
func testAdmin(t *testing.T, s *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

// stubReplication answers the replication API's routes with 200 and the
// route, and a plain-text 404 for an unknown peer.
func stubReplication() http.Handler {
	mux := http.NewServeMux()
	ok := func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(r.Pattern)) }
	mux.HandleFunc("GET /replication", ok)
	mux.HandleFunc("GET /replication/digest", ok)
	mux.HandleFunc("POST /replication/peers/{name}/{act}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != "r1" {
			http.Error(w, "no such peer", http.StatusNotFound)
			return
		}
		ok(w, r)
	})
	return mux
}

func newTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	toks, err := OpenTokens(filepath.Join(t.TempDir(), "admin-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := stubReplication()
	s := &Server{Metrics: NewMetrics(nil), Directory: newFakeDir(), Tokens: toks, Pprof: true,
		Args: []string{"switchboard", "serve"}, Mount: map[string]http.Handler{"/replication": h, "/replication/": h}}
	s.SetReady(true)
	return s, testAdmin(t, s)
}

type answer struct {
	status  int
	header  http.Header
	body    string
	problem Problem
}

// do sends a request with the given Authorization (none if empty).
func do(t *testing.T, method, url, auth, body string) answer {
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
	a := answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		if err := json.Unmarshal(b, &a.problem); err != nil {
			t.Errorf("%s %s: problem body %q: %v", method, url, b, err)
		}
	}
	return a
}

func basic(dn, pw string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(dn, pw)
	return req.Header.Get("Authorization")
}

// protectedRoutes are the routes that need an allowed identity.
var protectedRoutes = []struct{ method, path string }{
	{"GET", "/replication"},
	{"GET", "/replication/digest?store=1"},
	{"POST", "/replication/peers/r1/pause"},
	{"POST", "/replication/peers/r1/resume"},
	{"POST", "/replication/peers/r1/reinit"},
	{"GET", "/debug/pprof/cmdline"},
	{"GET", "/debug/pprof/"},
	{"GET", "/api/v1/whoami"},
	{"GET", "/api/v1/tokens"},
	{"POST", "/api/v1/tokens"},
	{"DELETE", "/api/v1/tokens/0123456789abcdef"},
}

func TestProtectedRoutes(t *testing.T) {
	_, base := newTestServer(t)
	for _, r := range protectedRoutes {
		for _, c := range []struct {
			who    string
			auth   string
			status int
		}{
			{"no credentials", "", http.StatusUnauthorized},
			{"wrong password", basic(rootDN, "nope"), http.StatusUnauthorized},
			{"unknown DN", basic("cn=nobody", "x"), http.StatusUnauthorized},
			{"bad header", "Basic !!!", http.StatusUnauthorized},
			{"unknown token", "Bearer sbt_nothing", http.StatusUnauthorized},
			{"ordinary user", basic(userDN, "userpw"), http.StatusForbidden},
		} {
			a := do(t, r.method, base+r.path, c.auth, "")
			if a.status != c.status {
				t.Errorf("%s %s, %s: %d %q, want %d", r.method, r.path, c.who, a.status, a.body, c.status)
				continue
			}
			if a.header.Get("Content-Type") != "application/problem+json" || a.problem.Status != c.status ||
				a.problem.Title != http.StatusText(c.status) || a.problem.Type != "about:blank" || a.problem.Detail == "" {
				t.Errorf("%s %s, %s: not a problem: %q %q", r.method, r.path, c.who, a.header.Get("Content-Type"), a.body)
			}
			if got := a.header.Get("WWW-Authenticate"); (c.status == http.StatusUnauthorized) != strings.HasPrefix(got, "Basic ") {
				t.Errorf("%s %s, %s: WWW-Authenticate %q", r.method, r.path, c.who, got)
			}
		}
		for _, who := range []struct{ dn, pw string }{{rootDN, "rootpw"}, {"CN=Root,DC=Example", "rootpw"}, {memberDN, "opspw"}} {
			a := do(t, r.method, base+r.path, basic(who.dn, who.pw), "")
			want := http.StatusOK
			switch {
			case r.method == "POST" && r.path == "/api/v1/tokens":
				want = http.StatusCreated
			case r.method == "DELETE":
				want = http.StatusNotFound // authenticated; no such token
			}
			if a.status != want {
				t.Errorf("%s %s as %s: %d %q, want %d", r.method, r.path, who.dn, a.status, a.body, want)
			}
		}
	}
}

// TestReadOnlyIdentity: requests that only read (GET) and those that
// change state (every other method) ask Directory.Allowed for different
// rights.
func TestReadOnlyIdentity(t *testing.T) {
	_, base := newTestServer(t)
	for _, r := range protectedRoutes {
		a := do(t, r.method, base+r.path, basic(viewerDN, "viewpw"), "")
		if r.method == "GET" {
			if a.status != http.StatusOK {
				t.Errorf("%s %s as a reader: %d %q, want 200", r.method, r.path, a.status, a.body)
			}
			continue
		}
		if a.status != http.StatusForbidden || !strings.Contains(a.problem.Detail, "write access") {
			t.Errorf("%s %s as a reader: %d %q, want 403 naming write access", r.method, r.path, a.status, a.body)
		}
	}
}

func TestOpenRoutes(t *testing.T) {
	s, base := newTestServer(t)
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if a := do(t, "GET", base+p, "", ""); a.status != http.StatusOK {
			t.Errorf("GET %s without credentials: %d %q", p, a.status, a.body)
		}
	}
	s.SetReady(false)
	if a := do(t, "GET", base+"/readyz", "", ""); a.status != http.StatusServiceUnavailable || a.problem.Status != 503 {
		t.Errorf("GET /readyz, not ready: %d %q", a.status, a.body)
	}
}

func TestMetricsAccess(t *testing.T) {
	// From loopback (the test's address), /metrics is open unless
	// configured authenticated.
	s := &Server{Metrics: NewMetrics(nil), Directory: newFakeDir(), MetricsAccess: MetricsAuthenticated}
	base := testAdmin(t, s)
	if a := do(t, "GET", base+"/metrics", "", ""); a.status != http.StatusUnauthorized {
		t.Errorf("GET /metrics, authenticated access, no credentials: %d", a.status)
	}
	if a := do(t, "GET", base+"/metrics", basic(userDN, "userpw"), ""); a.status != http.StatusForbidden {
		t.Errorf("GET /metrics, authenticated access, ordinary user: %d", a.status)
	}
	if a := do(t, "GET", base+"/metrics", basic(rootDN, "rootpw"), ""); a.status != http.StatusOK || !strings.Contains(a.body, "go_goroutines") {
		t.Errorf("GET /metrics as root: %d", a.status)
	}
	// A non-loopback client under the default (loopback) access needs
	// credentials: exercised on the guard directly, as the test has no
	// other address to connect from.
	g := (&Server{Directory: newFakeDir()}).metricsGuard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	for _, c := range []struct {
		remote string
		status int
	}{{"192.0.2.7:4000", 401}, {"[2001:db8::1]:4000", 401}, {"127.0.0.1:4000", 200}, {"[::1]:4000", 200}, {"[::ffff:127.0.0.1]:1", 200}} {
		req, _ := http.NewRequest("GET", "/metrics", nil)
		req.RemoteAddr = c.remote
		rec := &recorder{header: http.Header{}}
		g.ServeHTTP(rec, req)
		if rec.status == 0 {
			rec.status = 200
		}
		if rec.status != c.status {
			t.Errorf("/metrics from %s under loopback access: %d, want %d", c.remote, rec.status, c.status)
		}
	}
	if _, err := ParseMetricsAccess("everyone"); err == nil {
		t.Error("ParseMetricsAccess accepted a bad value")
	}
}

type recorder struct {
	header http.Header
	status int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(s int)           { r.status = s }

func TestProblems(t *testing.T) {
	_, base := newTestServer(t)
	root := basic(rootDN, "rootpw")
	for _, c := range []struct {
		method, path string
		status       int
		detail       string
	}{
		{"GET", "/no-such-page", 404, "404 page not found"},
		{"POST", "/replication/peers/r9/pause", 404, "no such peer"}, // a mounted handler's http.Error
		{"DELETE", "/healthz", 405, "Method Not Allowed"},
	} {
		a := do(t, c.method, base+c.path, root, "")
		if a.status != c.status || a.header.Get("Content-Type") != "application/problem+json" || a.problem.Status != c.status || a.problem.Detail != c.detail {
			t.Errorf("%s %s: %d %q %q", c.method, c.path, a.status, a.header.Get("Content-Type"), a.body)
		}
	}
}

func TestTokens(t *testing.T) {
	s, base := newTestServer(t)
	root := basic(rootDN, "rootpw")
	a := do(t, "POST", base+"/api/v1/tokens", basic(memberDN, "opspw"), `{"name": "monitoring"}`)
	var made tokenCreated
	if err := json.Unmarshal([]byte(a.body), &made); a.status != http.StatusCreated || err != nil {
		t.Fatalf("create: %d %q %v", a.status, a.body, err)
	}
	if !strings.HasPrefix(made.Secret, tokenPrefix) || made.Identity != memberDN || made.Name != "monitoring" || made.ID == "" || made.Hash != "" {
		t.Fatalf("created %+v", made)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Error("the token's answer may be cached")
	}
	bearer := "Bearer " + made.Secret
	// The token authenticates as its identity.
	a = do(t, "GET", base+"/api/v1/whoami", bearer, "")
	var id Identity
	if json.Unmarshal([]byte(a.body), &id); a.status != 200 || id.DN != memberDN || id.Method != MethodToken || id.TokenID != made.ID {
		t.Fatalf("whoami with the token: %d %q", a.status, a.body)
	}
	if a := do(t, "POST", base+"/replication/peers/r1/pause", bearer, ""); a.status != 200 {
		t.Errorf("pause with the token: %d %q", a.status, a.body)
	}
	// A token cannot make tokens.
	if a := do(t, "POST", base+"/api/v1/tokens", bearer, ""); a.status != http.StatusForbidden {
		t.Errorf("create with a token: %d %q", a.status, a.body)
	}
	// The file keeps the hash, not the secret, mode 0600.
	b, err := os.ReadFile(s.Tokens.path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), made.Secret) || strings.Contains(string(b), strings.TrimPrefix(made.Secret, tokenPrefix)) {
		t.Fatal("the token file holds the secret")
	}
	if st, _ := os.Stat(s.Tokens.path); st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v", st.Mode().Perm())
	}
	// The list shows it, without secret or hash.
	a = do(t, "GET", base+"/api/v1/tokens", root, "")
	if a.status != 200 || !strings.Contains(a.body, made.ID) || strings.Contains(a.body, made.Secret) || strings.Contains(a.body, "sha256") {
		t.Errorf("list: %d %q", a.status, a.body)
	}
	// Loaded again from the file, it still works.
	again, err := OpenTokens(s.Tokens.path)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := again.lookup(made.Secret); !ok || k.ID != made.ID {
		t.Error("the reloaded tokens do not know the token")
	}
	// Its identity leaving the admin group takes its rights.
	s.Directory.(*fakeDir).allowed[memberDN] = false
	if a := do(t, "GET", base+"/api/v1/whoami", bearer, ""); a.status != http.StatusForbidden {
		t.Errorf("token of an identity no longer allowed: %d", a.status)
	}
	s.Directory.(*fakeDir).allowed[memberDN] = true
	// Revoked, it no longer authenticates.
	if a := do(t, "DELETE", base+"/api/v1/tokens/"+made.ID, root, ""); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %q", a.status, a.body)
	}
	if a := do(t, "GET", base+"/api/v1/whoami", bearer, ""); a.status != http.StatusUnauthorized {
		t.Errorf("revoked token: %d", a.status)
	}
	if a := do(t, "DELETE", base+"/api/v1/tokens/"+made.ID, root, ""); a.status != http.StatusNotFound {
		t.Errorf("revoke twice: %d", a.status)
	}
	// An expired token does not authenticate.
	a = do(t, "POST", base+"/api/v1/tokens", root, `{"ttl": "1h"}`)
	if json.Unmarshal([]byte(a.body), &made); a.status != http.StatusCreated || made.Expires.IsZero() {
		t.Fatalf("create with ttl: %d %q", a.status, a.body)
	}
	if a := do(t, "GET", base+"/api/v1/whoami", "Bearer "+made.Secret, ""); a.status != 200 {
		t.Errorf("fresh token: %d", a.status)
	}
	s.Tokens.mu.Lock()
	s.Tokens.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	s.Tokens.mu.Unlock()
	if a := do(t, "GET", base+"/api/v1/whoami", "Bearer "+made.Secret, ""); a.status != http.StatusUnauthorized {
		t.Errorf("expired token: %d", a.status)
	}
	// Bad requests.
	for _, body := range []string{`{"ttl": "soon"}`, `{"ttl": "-1h"}`, `{"nmae": "x"}`, `[`} {
		if a := do(t, "POST", base+"/api/v1/tokens", root, body); a.status != http.StatusBadRequest || a.problem.Status != 400 {
			t.Errorf("create with %s: %d %q", body, a.status, a.body)
		}
	}
	if a := do(t, "POST", base+"/api/v1/tokens", root, strings.Repeat(" ", 8<<10)); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("create with a large body: %d", a.status)
	}
}

func TestOpenTokensRejectsBadFile(t *testing.T) {
	for _, body := range []string{`{`, `{"tokens":[{"id":"a","identity":"cn=x","sha256":"00"}]}`,
		`{"tokens":[{"id":"","identity":"cn=x","sha256":"` + strings.Repeat("0", 64) + `"}]}`} {
		p := filepath.Join(t.TempDir(), "t.json")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := OpenTokens(p); err == nil {
			t.Errorf("OpenTokens accepted %s", body)
		}
	}
}

func TestPprofOffByDefault(t *testing.T) {
	base := testAdmin(t, &Server{Directory: newFakeDir()})
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/profile"} {
		if a := do(t, "GET", base+p, basic(rootDN, "rootpw"), ""); a.status != http.StatusNotFound {
			t.Errorf("GET %s with pprof off: %d", p, a.status)
		}
	}
}

func TestCmdlineRedacted(t *testing.T) {
	s := &Server{Directory: newFakeDir(), Pprof: true,
		Args: []string{"switchboard", "serve", "--root-password=hunter2", "--data", "d", "--root-password", "hunter3",
			"--replication.peer-secret=hunter4", "--passwords.max-argon2-time=3"}}
	base := testAdmin(t, s)
	a := do(t, "GET", base+"/debug/pprof/cmdline", basic(rootDN, "rootpw"), "")
	if a.status != 200 {
		t.Fatalf("cmdline: %d %q", a.status, a.body)
	}
	want := "switchboard\x00serve\x00--root-password=REDACTED\x00--data\x00d\x00--root-password\x00REDACTED\x00--replication.peer-secret=REDACTED\x00--passwords.max-argon2-time=3"
	if a.body != want {
		t.Errorf("cmdline %q, want %q", a.body, want)
	}
}

func TestRedactArgs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"serve --root-password=x", "serve --root-password=REDACTED"},
		{"serve -root-password x --data d", "serve -root-password REDACTED --data d"},
		{"serve --root-password-file f", "serve --root-password-file REDACTED"},
		{"serve --root-password --data d", "serve --root-password --data d"}, // no value to hide
		{"serve --passwords.rehash-on-bind d", "serve --passwords.rehash-on-bind d"},
		{"serve --ROOT-PASSWORD=x", "serve --ROOT-PASSWORD=REDACTED"},
		{"serve -- --root-password=x", "serve -- --root-password=x"},
		{"serve --root-password", "serve --root-password"},
	} {
		if got := strings.Join(RedactArgs(strings.Fields(c.in)), " "); got != c.want {
			t.Errorf("RedactArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzRedactArgs(f *testing.F) {
	f.Add("serve\x00--root-password=x\x00--data\x00d")
	f.Add("--root-password\x00secret")
	f.Fuzz(func(t *testing.T, s string) {
		in := strings.Split(s, "\x00")
		out := RedactArgs(in)
		if len(out) != len(in) {
			t.Fatalf("RedactArgs changed the length: %q -> %q", in, out)
		}
		for i, a := range in {
			if a == "--" {
				break
			}
			name, _, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if ok && strings.HasPrefix(a, "-") && secretFlag(name) && !strings.HasSuffix(out[i], "="+redacted) {
				t.Fatalf("secret flag %q shown as %q", a, out[i])
			}
		}
	})
}

func TestParseAuthorization(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
		c  credentials
	}{
		{basic("cn=a,dc=b", "p:w"), true, credentials{scheme: "basic", user: "cn=a,dc=b", password: "p:w"}},
		{"basic " + strings.TrimPrefix(basic("u", ""), "Basic "), true, credentials{scheme: "basic", user: "u"}},
		{"Bearer sbt_abc", true, credentials{scheme: "bearer", token: "sbt_abc"}},
		{"Bearer", false, credentials{}},
		{"Bearer a b", false, credentials{}},
		{"Basic", false, credentials{}},
		{"Basic bm9jb2xvbg==", false, credentials{}}, // "nocolon"
		{"Basic OnB3", false, credentials{}},         // ":pw", no user
		{"Digest x", false, credentials{}},
		{"", false, credentials{}},
	} {
		got, ok := parseAuthorization(c.in)
		if ok != c.ok || got != c.c {
			t.Errorf("parseAuthorization(%q) = %+v, %v", c.in, got, ok)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{basic("cn=a", "b"), "Bearer sbt_x", "Basic", "Basic ====", "bearer  x ", "Negotiate abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := parseAuthorization(s)
		if !ok {
			return
		}
		switch c.scheme {
		case "basic":
			if c.user == "" || strings.Contains(c.user, ":") {
				t.Fatalf("%q: user %q", s, c.user)
			}
		case "bearer":
			if c.token == "" || strings.ContainsAny(c.token, " \t") {
				t.Fatalf("%q: token %q", s, c.token)
			}
		default:
			t.Fatalf("%q: scheme %q", s, c.scheme)
		}
	})
}

func FuzzParseTokenFile(f *testing.F) {
	f.Add([]byte(`{"tokens":[{"id":"a","identity":"cn=x","sha256":"` + strings.Repeat("ab", 32) + `"}]}`))
	f.Add([]byte(`{"tokens":[]}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		toks, err := parseTokenFile(b)
		if err != nil {
			return
		}
		for _, k := range toks {
			if k.ID == "" || k.Identity == "" || len(k.Hash) != 64 {
				t.Fatalf("accepted %+v", k)
			}
		}
	})
}

func TestSCIMTokens(t *testing.T) {
	s, base := newTestServer(t)
	member := basic(memberDN, "opspw")
	made := func(body string) (answer, tokenCreated) {
		a := do(t, "POST", base+"/api/v1/tokens", member, body)
		var tc tokenCreated
		json.Unmarshal([]byte(a.body), &tc)
		return a, tc
	}
	a, scim := made(`{"name": "entra", "scope": "scim"}`)
	if a.status != http.StatusCreated || scim.Scope != ScopeSCIM || scim.Identity != memberDN {
		t.Fatalf("create a SCIM token: %d %q", a.status, a.body)
	}
	// A SCIM token does not open the admin API, nor an admin token SCIM.
	if a := do(t, "GET", base+"/api/v1/whoami", "Bearer "+scim.Secret, ""); a.status != http.StatusUnauthorized {
		t.Errorf("admin API with a SCIM token: %d", a.status)
	}
	if k, ok := s.Tokens.Verify(scim.Secret, ScopeSCIM); !ok || k.ID != scim.ID {
		t.Error("Verify does not know the SCIM token")
	}
	_, adm := made(`{"name": "ops"}`)
	if _, ok := s.Tokens.Verify(adm.Secret, ScopeSCIM); ok {
		t.Error("an admin token verifies for SCIM")
	}
	// Another identity: only for SCIM tokens, and as TokenIdentity says.
	if a, _ := made(`{"scope": "scim", "identity": "uid=svc,dc=example,dc=com"}`); a.status != http.StatusNotImplemented {
		t.Errorf("identity without TokenIdentity: %d %q", a.status, a.body)
	}
	s.TokenIdentity = func(_ context.Context, caller, dn string) (string, error) {
		if dn == rootDN && caller != rootDN {
			return "", errors.New("only the root DN may make tokens acting as the root DN")
		}
		return strings.ToLower(dn), nil
	}
	if a, tc := made(`{"scope": "scim", "identity": "UID=svc,dc=example,dc=com"}`); a.status != http.StatusCreated || tc.Identity != "uid=svc,dc=example,dc=com" {
		t.Errorf("identity: %d %q", a.status, a.body)
	}
	for _, body := range []string{`{"scope": "scim", "identity": "` + rootDN + `"}`, `{"identity": "uid=svc,dc=example,dc=com"}`, `{"scope": "ldap"}`} {
		if a, _ := made(body); a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %q", body, a.status, a.body)
		}
	}
	// Revoked, it no longer verifies.
	if a := do(t, "DELETE", base+"/api/v1/tokens/"+scim.ID, member, ""); a.status != http.StatusNoContent {
		t.Fatalf("revoke: %d", a.status)
	}
	if _, ok := s.Tokens.Verify(scim.Secret, ScopeSCIM); ok {
		t.Error("a revoked SCIM token verifies")
	}
}
