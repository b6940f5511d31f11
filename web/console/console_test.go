package console

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/overlay/ppolicy"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/web"
)

const (
	rootDN = "cn=admin,dc=example,dc=com"
	rootPW = "root-secret"
	// policyDN is the default password policy's entry.
	policyDN = "cn=default,ou=policies,dc=example,dc=com"
)

// resolver maps a uid to its DN under ou=people, and a DN to itself.
type resolver struct{}

func (resolver) Resolve(_ context.Context, login string) (string, error) {
	if strings.Contains(login, "=") {
		return login, nil
	}
	return "uid=" + goldap.EscapeDN(login) + ",ou=people," + directorytest.Suffix, nil
}

// fixture is a real directory (engine and LDAP frontend) behind a web
// server carrying the console, served over HTTP on loopback.
type fixture struct {
	t    *testing.T
	pipe *web.Pipe
	srv  *httptest.Server
}

func newFixture(t *testing.T, ops ...Operations) *fixture {
	t.Helper()
	pcfg := ppolicy.Config{Default: policyDN}
	eng := directorytest.Open(t, directory.Options{InMemory: true, Hooks: []directory.WriteHook{ppolicy.NewHook(pcfg)}})
	fe, err := frontend.New(frontend.Config{Engine: eng, Backend: ppolicy.New(eng, eng, pcfg), RootDN: rootDN, RootPassword: []byte(rootPW)})
	if err != nil {
		t.Fatal(err)
	}
	pipe := web.NewPipe()
	ls := &ldap.Server{Handler: fe}
	go ls.Serve(pipe)
	t.Cleanup(func() { ls.Close() })
	ws := &web.Server{Directory: resolver{}, LDAP: pipe}
	cfg := Config{Web: ws, DefaultPolicy: policyDN}
	if len(ops) > 0 {
		cfg.Operations = ops[0]
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ws.Handle("/", c)
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(func() {
		srv.Close()
		c.Close()
		ws.Shutdown(context.Background())
	})
	f := &fixture{t: t, pipe: pipe, srv: srv}
	root := f.ldap(rootDN, rootPW)
	for _, add := range []struct {
		dn    string
		attrs map[string][]string
	}{
		{"dc=example,dc=com", map[string][]string{"objectClass": {"domain"}, "dc": {"example"}}},
		{"ou=people,dc=example,dc=com", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{"ou=groups,dc=example,dc=com", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
		{"ou=policies,dc=example,dc=com", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"policies"}}},
		{policyDN, map[string][]string{"objectClass": {"organizationalRole", "pwdPolicy"}, "cn": {"default"},
			"pwdAttribute": {"userPassword"}, "pwdLockout": {"TRUE"}, "pwdMaxFailure": {"3"}, "pwdMinLength": {"8"}}},
		{"uid=jdoe,ou=people,dc=example,dc=com", map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"jdoe"},
			"cn": {"John Doe"}, "sn": {"Doe"}, "userPassword": {"jdoe-secret"}}},
		{"cn=staff,ou=groups,dc=example,dc=com", map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"staff"},
			"member": {"uid=jdoe,ou=people,dc=example,dc=com"}}},
	} {
		req := goldap.NewAddRequest(add.dn, nil)
		for k, v := range add.attrs {
			req.Attribute(k, v)
		}
		if err := root.Add(req); err != nil {
			t.Fatalf("add %s: %v", add.dn, err)
		}
	}
	return f
}

// ldap returns an LDAP connection over the pipe bound as dn.
func (f *fixture) ldap(dn, pw string) *goldap.Conn {
	f.t.Helper()
	c, err := f.pipe.Dial(context.Background(), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	conn := goldap.NewConn(c, false)
	conn.Start()
	f.t.Cleanup(func() { conn.Close() })
	if err := conn.Bind(dn, pw); err != nil {
		f.t.Fatalf("bind %s: %v", dn, err)
	}
	return conn
}

// A browser is an HTTP client with its own cookies.
type browser struct {
	f    *fixture
	c    *http.Client
	csrf string
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// do sends a request and returns the status and body, remembering the
// last CSRF token a page carried.
func (b *browser) do(method, path string, form url.Values, header ...string) (int, string) {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindStringSubmatch(string(out)); m != nil {
		b.csrf = m[1]
	}
	return resp.StatusCode, string(out)
}

func (b *browser) get(path string) (int, string) { return b.do("GET", path, nil) }

// post sends a form with the CSRF token of the last page.
func (b *browser) post(path string, form url.Values) (int, string) {
	b.f.t.Helper()
	form.Set("csrf", b.csrf)
	return b.do("POST", path, form)
}

func (b *browser) login(user, pw string) (int, string) {
	b.f.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"login": {user}, "password": {pw}})
}

func TestLoginAndLogout(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	code, body := b.get("/people")
	if code != 200 || !strings.Contains(body, `action="/login"`) {
		t.Fatalf("not logged in: %d, want the login form", code)
	}
	if code, body := b.login("jdoe", "wrong"); code != http.StatusUnauthorized || !strings.Contains(body, "Invalid user name or password") {
		t.Fatalf("wrong password: %d %q", code, body)
	}
	code, body = b.login("jdoe", "jdoe-secret")
	if code != 200 || !strings.Contains(body, "uid=jdoe,ou=people,dc=example,dc=com") || !strings.Contains(body, "John Doe") {
		t.Fatalf("login: %d, want the people list naming the user:\n%s", code, body)
	}
	if code, _ := b.post("/logout", url.Values{}); code != 200 {
		t.Fatalf("logout: %d", code)
	}
	if code, body := b.get("/people"); code != 200 || !strings.Contains(body, `action="/login"`) {
		t.Fatalf("after logout: %d, want the login form", code)
	}
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	b := f.browser()
	b.get("/login")
	form := url.Values{"login": {"jdoe"}, "password": {"jdoe-secret"}, "csrf": {b.csrf}}
	req, _ := http.NewRequest("POST", f.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err = b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || len(session.Value) < 40 {
		t.Fatalf("session cookie %+v", session)
	}
}

func TestCSRFRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(rootDN, rootPW)
	b.get("/new?kind=person")
	person := func() url.Values {
		return url.Values{"kind": {"person"}, "parent": {"ou=people,dc=example,dc=com"}, "a.uid": {"mallory"}, "a.cn": {"Mallory"}, "a.sn": {"M"}}
	}
	// No token, a wrong token, and the right token from another site.
	if code, _ := b.do("POST", "/new", person()); code != http.StatusForbidden {
		t.Errorf("no token: %d, want 403", code)
	}
	bad := person()
	bad.Set("csrf", "x"+b.csrf)
	if code, _ := b.do("POST", "/new", bad); code != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", code)
	}
	cross := person()
	cross.Set("csrf", b.csrf)
	if code, _ := b.do("POST", "/new", cross, "Origin", "https://evil.example"); code != http.StatusForbidden {
		t.Errorf("foreign origin: %d, want 403", code)
	}
	if code, _ := b.do("POST", "/new", cross, "Origin", "null"); code != http.StatusForbidden {
		t.Errorf("origin null: %d, want 403", code)
	}
	// Another user's session token is no good either.
	other := f.browser()
	other.login("jdoe", "jdoe-secret")
	stolen := person()
	stolen.Set("csrf", other.csrf)
	if code, _ := b.do("POST", "/new", stolen); code != http.StatusForbidden {
		t.Errorf("another session's token: %d, want 403", code)
	}
	root := f.ldap(rootDN, rootPW)
	if _, err := readDN(root, "uid=mallory,ou=people,dc=example,dc=com"); err == nil {
		t.Fatal("a refused form wrote the entry")
	}
	// A login form posted without its cookie's token is refused too.
	fresh := f.browser()
	if code, _ := fresh.do("POST", "/login", url.Values{"login": {"jdoe"}, "password": {"jdoe-secret"}, "csrf": {"guess"}}); code != http.StatusForbidden {
		t.Errorf("login without the form's token: %d, want 403", code)
	}
	// With the token the same form works.
	if code, body := b.post("/new", person()); code != 200 || !strings.Contains(body, "Created uid=mallory") {
		t.Fatalf("with the token: %d\n%s", code, body)
	}
}

func readDN(c *goldap.Conn, dn string) (*goldap.Entry, error) {
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"*", "pwdAccountLockedTime"}, nil))
	if err != nil {
		return nil, err
	}
	return res.Entries[0], nil
}

func TestStoredXSSIsEscaped(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(rootDN, rootPW)
	b.get("/new?kind=person")
	evil := `<script>alert("xss")</script>`
	code, body := b.post("/new", url.Values{"kind": {"person"}, "parent": {"ou=people,dc=example,dc=com"},
		"a.uid": {"evil"}, "a.cn": {evil}, "a.sn": {`"><img src=x onerror=alert(1)>`}})
	if code != 200 {
		t.Fatalf("create: %d\n%s", code, body)
	}
	_, list := b.get("/people?q=evil")
	for name, page := range map[string]string{"entry": body, "list": list} {
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s page carries the markup unescaped", name)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;") {
			t.Errorf("%s page does not show the cn escaped:\n%s", name, page)
		}
	}
}

func TestFormRefusesBadValues(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(rootDN, rootPW)
	b.get("/new?kind=person")
	code, body := b.post("/new", url.Values{"kind": {"person"}, "parent": {"ou=people,dc=example,dc=com"},
		"a.uid": {"bad"}, "a.cn": {"Bad"}, "a.displayName": {"one\ntwo"}, "a.mail": {"bé@example.com"}})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("bad values: %d, want 422", code)
	}
	for _, want := range []string{"sn: required", "displayName: takes one value, got 2", "mail: the value &#34;bé@example.com&#34; is not a valid IA5 String"} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in the page", want)
		}
	}
	root := f.ldap(rootDN, rootPW)
	if _, err := readDN(root, "uid=bad,ou=people,dc=example,dc=com"); err == nil {
		t.Fatal("a refused form wrote the entry")
	}
	// The server's own refusal (an existing DN) is shown too.
	code, body = b.post("/new", url.Values{"kind": {"person"}, "parent": {"ou=people,dc=example,dc=com"},
		"a.uid": {"jdoe"}, "a.cn": {"Again"}, "a.sn": {"Again"}})
	if code != http.StatusConflict || !strings.Contains(body, "Entry Already Exists") {
		t.Fatalf("existing DN: %d\n%s", code, body)
	}
}

func TestEditRenameDelete(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(rootDN, rootPW)
	dn := "uid=jdoe,ou=people,dc=example,dc=com"
	code, body := b.get("/edit?dn=" + url.QueryEscape(dn))
	if code != 200 || !strings.Contains(body, `name="a.sn" rows="2" required>Doe</textarea>`) {
		t.Fatalf("edit form: %d\n%s", code, body)
	}
	if code, body := b.post("/edit", url.Values{"dn": {dn}, "a.cn": {"John Doe"}, "a.sn": {"Doe"}, "a.uid": {"jdoe"},
		"a.mail": {"jdoe@example.com\njohn@example.com"}}); code != 200 || !strings.Contains(body, "Saved.") {
		t.Fatalf("edit: %d\n%s", code, body)
	}
	root := f.ldap(rootDN, rootPW)
	e, err := readDN(root, dn)
	if err != nil || len(e.GetAttributeValues("mail")) != 2 {
		t.Fatalf("after edit: %v %v", e, err)
	}
	b.get("/rename?dn=" + url.QueryEscape(dn))
	if code, body := b.post("/rename", url.Values{"dn": {dn}, "rdn": {"uid=john"}, "parent": {"ou=groups,dc=example,dc=com"}, "deleteold": {"1"}}); code != 200 || !strings.Contains(body, "Renamed") {
		t.Fatalf("rename: %d\n%s", code, body)
	}
	moved := "uid=john,ou=groups,dc=example,dc=com"
	if _, err := readDN(root, moved); err != nil {
		t.Fatalf("after rename: %v", err)
	}
	b.get("/delete?dn=" + url.QueryEscape(moved))
	if code, _ := b.post("/delete", url.Values{"dn": {moved}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("delete unconfirmed: %d, want 422", code)
	}
	if code, body := b.post("/delete", url.Values{"dn": {moved}, "confirm": {"yes"}}); code != 200 || !strings.Contains(body, "Deleted") {
		t.Fatalf("delete: %d\n%s", code, body)
	}
	if _, err := readDN(root, moved); err == nil {
		t.Fatal("the entry is still there")
	}
}

func TestMembershipPasswordAndLock(t *testing.T) {
	f := newFixture(t)
	root := f.ldap(rootDN, rootPW)
	add := goldap.NewAddRequest("cn=all,ou=groups,dc=example,dc=com", nil)
	add.Attribute("objectClass", []string{"groupOfNames"})
	add.Attribute("cn", []string{"all"})
	add.Attribute("member", []string{"cn=staff,ou=groups,dc=example,dc=com"})
	if err := root.Add(add); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.login(rootDN, rootPW)
	add = goldap.NewAddRequest("uid=ann,ou=people,dc=example,dc=com", nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"ann"})
	add.Attribute("cn", []string{"Ann"})
	add.Attribute("sn", []string{"A"})
	if err := root.Add(add); err != nil {
		t.Fatal(err)
	}
	ann := "uid=ann,ou=people,dc=example,dc=com"
	b.get("/entry?dn=" + url.QueryEscape(ann))
	code, body := b.post("/members", url.Values{"group": {"cn=staff,ou=groups,dc=example,dc=com"}, "member": {ann}, "back": {ann}, "action": {"add"}})
	if code != 200 || !strings.Contains(body, "Added") {
		t.Fatalf("add to group: %d\n%s", code, body)
	}
	// The person's page shows the group and, through it, the nested one.
	if !strings.Contains(body, ">staff</a>") || !regexp.MustCompile(`>all</a> <span class="via">through staff</span>`).MatchString(body) {
		t.Errorf("groups of ann not shown with nesting:\n%s", body)
	}
	// The group's page shows members by uid typed in the form.
	_, body = b.get("/entry?dn=" + url.QueryEscape("cn=all,ou=groups,dc=example,dc=com"))
	if !strings.Contains(body, "through staff") || !strings.Contains(body, ">Ann</a>") {
		t.Errorf("nested members of all not shown:\n%s", body)
	}
	if _, body := b.get("/password?dn=" + url.QueryEscape(ann)); !strings.Contains(body, "At least 8 characters.") ||
		!strings.Contains(body, "3 failed logins lock the account until an administrator unlocks it.") {
		t.Errorf("the password page does not show the policy's rules:\n%s", body)
	}
	if code, body := b.post("/password", url.Values{"dn": {ann}, "password": {"short"}, "again": {"short"}}); code != 422 || !strings.Contains(body, "Constraint Violation") {
		t.Fatalf("a password the policy refuses: %d\n%s", code, body)
	}
	if code, body := b.post("/password", url.Values{"dn": {ann}, "password": {"N3w-pass-word"}, "again": {"N3w-pass-wordX"}}); code != 422 || !strings.Contains(body, "differ") {
		t.Fatalf("mismatched passwords: %d", code)
	}
	if code, body := b.post("/password", url.Values{"dn": {ann}, "password": {"N3w-pass-word"}, "again": {"N3w-pass-word"}}); code != 200 || !strings.Contains(body, "Password set.") {
		t.Fatalf("set password: %d\n%s", code, body)
	}
	f.ldap(ann, "N3w-pass-word") // binds, or fails the test
	// Ann logs in; locking her ends her session at her next request.
	annB := f.browser()
	if code, body := annB.login("ann", "N3w-pass-word"); code != 200 || !strings.Contains(body, ann) {
		t.Fatalf("ann's login: %d", code)
	}
	if code, body := b.post("/lock", url.Values{"dn": {ann}}); code != 200 || !strings.Contains(body, "Locked") || !strings.Contains(body, `id="unlock"`) {
		t.Fatalf("lock: %d\n%s", code, body)
	}
	if code, body := annB.get("/people"); code != 200 || !strings.Contains(body, "the account is locked") {
		t.Fatalf("locked user's next request: %d, want the login form saying why\n%s", code, body)
	}
	if code, _ := annB.login("ann", "N3w-pass-word"); code != http.StatusUnauthorized {
		t.Fatalf("locked user logs in: %d, want 401", code)
	}
	if code, body := b.post("/unlock", url.Values{"dn": {ann}}); code != 200 || !strings.Contains(body, "Unlocked") {
		t.Fatalf("unlock: %d\n%s", code, body)
	}
	if code, _ := annB.login("ann", "N3w-pass-word"); code != 200 {
		t.Fatalf("unlocked user logs in: %d", code)
	}
	// Deleting her entry ends her session too.
	if err := root.Del(goldap.NewDelRequest(ann, nil)); err != nil {
		t.Fatal(err)
	}
	if code, body := annB.get("/groups"); code != 200 || !strings.Contains(body, "no longer exists") {
		t.Fatalf("deleted user's next request: %d\n%s", code, body)
	}
}

func TestSearchAsYouTypeFragment(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login("jdoe", "jdoe-secret")
	code, body := b.do("GET", "/people?q=doe&fragment=1", nil, "X-Requested-With", "fetch")
	if code != 200 || strings.Contains(body, "<html") || !strings.Contains(body, "John Doe") {
		t.Fatalf("fragment: %d\n%s", code, body)
	}
	if _, body := b.get("/people?q=nobody-like-this"); !strings.Contains(body, "Nothing found") {
		t.Errorf("no match:\n%s", body)
	}
	// A search with filter metacharacters is a literal search.
	if code, body := b.get("/people?q=" + url.QueryEscape("*)(uid=*")); code != 200 || !strings.Contains(body, "Nothing found") {
		t.Errorf("filter injection: %d\n%s", code, body)
	}
	// Logged out, a fetch gets 401 and where to log in.
	anon := f.browser()
	anon.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _ := anon.do("GET", "/people?q=doe&fragment=1", nil, "X-Requested-With", "fetch"); code != http.StatusUnauthorized {
		t.Errorf("logged-out fetch: %d, want 401", code)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{"/people": "/people", "//evil.example/": "", "/\\evil": "", "https://evil.example": "", "": ""} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOversizeFormRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.login(rootDN, rootPW)
	b.get("/new?kind=person")
	code, body := b.post("/new", url.Values{"kind": {"person"}, "parent": {"ou=people,dc=example,dc=com"},
		"a.uid": {"big"}, "a.cn": {"Big"}, "a.sn": {"B"}, "a.description": {strings.Repeat("d\n", 1500)}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "description: 1500 values; at most 1000") {
		t.Fatalf("1500 values: %d", code)
	}
	code, _ = b.post("/new", url.Values{"kind": {"person"}, "parent": {"ou=people,dc=example,dc=com"},
		"a.uid": {"big"}, "a.cn": {"Big"}, "a.sn": {"B"}, "a.description": {strings.Repeat("d", 2<<20)}})
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 2 MiB form: %d, want 413", code)
	}
	root := f.ldap(rootDN, rootPW)
	if _, err := readDN(root, "uid=big,ou=people,dc=example,dc=com"); err == nil {
		t.Fatal("an oversize form wrote the entry")
	}
}
