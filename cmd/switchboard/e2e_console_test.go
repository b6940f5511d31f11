package main

// The web console (web/console) driven in headless Chromium through the
// DevTools protocol (chromedp), against two real replicas: log in, create
// a person, add them to a group, reset their password and bind with it
// over LDAP, lock and unlock, see the replication peer; a cross-site form
// and a stored script in a cn both fail. With -console.screenshots the
// test saves the main pages to docs/screenshots/.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/replication/replicatest"
	"github.com/switchboard-ldap/switchboard/testdata"
)

var consoleScreenshots = flag.Bool("console.screenshots", false, "save the web console's main pages to docs/screenshots/")

// requireBrowserEnv, when set (CI sets it), turns a missing Chromium into
// a failure instead of a skip.
const requireBrowserEnv = "SWITCHBOARD_REQUIRE_CHROMIUM"

// chromiumPath finds a Chromium binary, skipping (or failing under CI)
// the test when there is none.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(requireBrowserEnv) != "" {
		t.Fatalf("no chromium binary found, and %s is set: install Debian's chromium (apt-get install chromium)", requireBrowserEnv)
	}
	t.Skipf("no chromium binary found (apt-get install chromium); set %s to make this a failure", requireBrowserEnv)
	return ""
}

// consolePolicy is the default password policy of the console's test.
const consolePolicy = "cn=default,ou=policies," + testSuffix

// startConsolePair starts two replicas pulling from each other through
// proxies, with the password policy on, and loads the demo organisation
// into the first through LDAP.
func startConsolePair(t *testing.T) (*testServer, *testServer) {
	t.Helper()
	p12, err := replicatest.NewProxy("127.0.0.1:1") // 1 pulls from 2 through it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p12.Close() })
	p21, err := replicatest.NewProxy("127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p21.Close() })
	var servers []*testServer
	for i, via := range []*replicatest.Proxy{p12, p21} {
		auditConf := ""
		if i == 0 {
			auditConf = "audit:\n  file: " + filepath.Join(t.TempDir(), "audit.log") + "\n"
		}
		cfg := fmt.Sprintf(`%s%soverlays:
  ppolicy:
    enabled: true
    default: %s
replication:
  replica_id: %d
  multi_supplier: true
  max_skew: 1h
  interval: 200ms
  peers:
    - name: r%d
      url: ldap://%s
      bind_dn: %s
      password: %s
`, openReadAccess, auditConf, consolePolicy, i+1, 2-i, via.Addr(), testRootDN, testRootPass)
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		servers = append(servers, startServer(t, "", "--config", path))
	}
	p12.SetTarget(servers[1].Addr)
	p21.SetTarget(servers[0].Addr)

	root := dialRoot(t, servers[0])
	rd := ldif.NewReader(bytes.NewReader(testdata.DemoLDIF), ldif.ReaderOptions{})
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		add := goldap.NewAddRequest(rec.DN, nil)
		for _, a := range rec.Attrs {
			vals := make([]string, len(a.Values))
			for i, v := range a.Values {
				vals[i] = string(v)
			}
			add.Attribute(a.Name, vals)
		}
		if err := root.Add(add); err != nil {
			t.Fatalf("demo data: add %s: %v", rec.DN, err)
		}
	}
	mustAdd(t, root, "ou=policies,"+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"policies"}})
	mustAdd(t, root, consolePolicy, map[string][]string{"objectClass": {"organizationalRole", "pwdPolicy"}, "cn": {"default"},
		"pwdAttribute": {"userPassword"}, "pwdLockout": {"TRUE"}, "pwdMaxFailure": {"5"}, "pwdLockoutDuration": {"900"},
		"pwdMinLength": {"10"}, "pwdCheckQuality": {"1"}, "pwdInHistory": {"3"}, "pwdMaxAge": {"7776000"}, "pwdExpireWarning": {"604800"}})
	return servers[0], servers[1]
}

func TestConsoleInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	a, _ := startConsolePair(t)
	base := "http://" + a.HTTP

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%s: %v\npage:\n%s", what, err, html)
		}
	}
	shots := map[string][]byte{}
	shot := func(name string) {
		t.Helper()
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		shots[name] = buf
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}

	// Log in as the root DN.
	run("login form", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#login")))
	shot("login")
	run("log in",
		chromedp.SendKeys(chromedp.CSS("#login"), testRootDN),
		chromedp.SendKeys(chromedp.CSS("#password"), testRootPass),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#results")))
	if got := text(".count"); !strings.Contains(got, "found") {
		t.Fatalf("people list: %q", got)
	}
	// Search as you type: the list narrows without a page load.
	run("search as you type", chromedp.SendKeys(chromedp.CSS("#q"), "lefevre"),
		chromedp.WaitVisible(`//td[contains(., "rlefevre")]`))
	if got := text("#results"); strings.Contains(got, "rtaylor") {
		t.Errorf("search for lefevre still lists rtaylor")
	}
	shot("people")

	// Create a person through the schema form.
	run("new person form", chromedp.Navigate(base+"/new?kind=person"), chromedp.WaitVisible(chromedp.CSS("#a-uid")))
	shot("new-person")
	run("create",
		chromedp.SendKeys(chromedp.CSS("#a-uid"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#a-cn"), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS("#a-sn"), "Lovelace"),
		chromedp.SendKeys(chromedp.CSS("#a-givenName"), "Ada"),
		chromedp.SendKeys(chromedp.CSS("#a-mail"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#a-title"), "Analyst"),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#attrs")))
	ada := "uid=ada,ou=people," + testSuffix
	if got := text(".flash"); !strings.Contains(got, "Created "+ada) {
		t.Fatalf("after create: %q", got)
	}

	// Add her to a group from her page.
	run("add to group",
		chromedp.SendKeys(chromedp.CSS("#add-group"), "cn=staff,ou=groups,"+testSuffix),
		chromedp.Click(chromedp.CSS("#add-group-submit")),
		chromedp.WaitVisible(chromedp.CSS("#groups")))
	if got := text("#groups"); !strings.Contains(got, "staff") {
		t.Fatalf("groups of ada: %q", got)
	}
	root := dialRoot(t, a)
	res, err := root.Search(goldap.NewSearchRequest("cn=staff,ou=groups,"+testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(member="+ada+")", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("staff has no member %s over LDAP: %v", ada, err)
	}
	// Nest groups from the groups' pages: admins into leadership, and
	// Ada (typed by uid) into admins; her page shows leadership through
	// admins, and leadership's page her, nested.
	leadership, admins := "cn=leadership,ou=groups,"+testSuffix, "cn=admins,ou=groups,"+testSuffix
	run("nest admins in leadership",
		chromedp.Navigate(base+"/entry?dn="+url.QueryEscape(leadership)), chromedp.WaitVisible(chromedp.CSS("#add-member")),
		chromedp.SendKeys(chromedp.CSS("#add-member"), admins), chromedp.Click(chromedp.CSS("#add-member-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	run("add ada to admins",
		chromedp.Navigate(base+"/entry?dn="+url.QueryEscape(admins)), chromedp.WaitVisible(chromedp.CSS("#add-member")),
		chromedp.SendKeys(chromedp.CSS("#add-member"), "ada"), chromedp.Click(chromedp.CSS("#add-member-submit")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	run("ada's groups", chromedp.Navigate(base+"/entry?dn="+url.QueryEscape(ada)), chromedp.WaitVisible(chromedp.CSS("#groups")))
	if got := text("#groups"); !strings.Contains(got, "admins") || !strings.Contains(got, "leadership through admins") {
		t.Errorf("ada's groups, nested: %q", got)
	}
	shot("person")

	// Reset her password, with the policy's rules shown, and bind with it.
	run("password page", chromedp.Click(chromedp.CSS("#set-password")), chromedp.WaitVisible(chromedp.CSS("#rules")))
	if got := text("#rules"); !strings.Contains(got, "At least 10 characters.") {
		t.Errorf("policy rules: %q", got)
	}
	shot("password")
	const pw = "Correct-Horse-42"
	run("set password",
		chromedp.SendKeys(chromedp.CSS("#new-password"), pw),
		chromedp.SendKeys(chromedp.CSS("#new-password-again"), pw),
		chromedp.Click(chromedp.CSS("#password-submit")),
		chromedp.WaitVisible(chromedp.CSS("#attrs")))
	dialE2E(t, a, ada, pw) // binds, or fails the test

	// Lock: LDAP binds fail; unlock: they work again.
	run("lock", chromedp.Click(chromedp.CSS("#lock")), chromedp.WaitVisible(chromedp.CSS("#unlock")))
	if got := text("#account-state"); !strings.Contains(got, "Locked") {
		t.Errorf("account state after lock: %q", got)
	}
	c, err := goldap.DialURL(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(ada, pw); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Errorf("bind while locked: %v, want invalidCredentials", err)
	}
	run("unlock", chromedp.Click(chromedp.CSS("#unlock")), chromedp.WaitVisible(chromedp.CSS("#lock")))
	if got := text("#account-state"); !strings.Contains(got, "Active") {
		t.Errorf("account state after unlock: %q", got)
	}
	if err := c.Bind(ada, pw); err != nil {
		t.Errorf("bind after unlock: %v", err)
	}

	// A group page, with nested members.
	run("group page", chromedp.Navigate(base+"/entry?dn="+url.QueryEscape(leadership)), chromedp.WaitVisible(chromedp.CSS("#members")))
	if got := text("#members"); !strings.Contains(got, "Ada Lovelace through admins") {
		t.Errorf("leadership's members, nested: %q", got)
	}
	shot("group")

	// The replication peer, once it has pulled.
	deadline := time.Now().Add(60 * time.Second)
	for {
		run("replication page", chromedp.Navigate(base+"/replication"), chromedp.WaitVisible(chromedp.CSS("#peers")))
		if got := text("#peers .peer-state"); strings.Contains(got, "ok") {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("peer r2 not ok after a minute: %q", text("#peers"))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got := text("#peers"); !strings.Contains(got, "r2") || !strings.Contains(got, "replica 2") {
		t.Errorf("peers table: %q", got)
	}
	shot("replication")
	// The audit log: Ada's records, by the root DN, and the chain intact.
	run("audit page", chromedp.Navigate(base+"/audit?"+url.Values{"who": {"cn=admin"}, "what": {"uid=ada"}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#audit")))
	if got := text("#audit"); !strings.Contains(got, "modify") || !strings.Contains(got, "add") || strings.Contains(got, "rlefevre") {
		t.Errorf("audit records for ada: %q", got)
	}
	run("verify chain", chromedp.Click(chromedp.CSS("#verify")), chromedp.WaitVisible(chromedp.CSS("#chain .badge")))
	if got := text("#chain"); !strings.Contains(got, "intact") {
		t.Errorf("audit chain: %q", got)
	}
	run("audit filter", chromedp.Navigate(base+"/audit?"+url.Values{"what": {"uid=ada"}}.Encode()), chromedp.WaitVisible(chromedp.CSS("#audit")))
	shot("audit")
	run("server page", chromedp.Navigate(base+"/server"), chromedp.WaitVisible(chromedp.CSS("#listeners")))
	if got := text("#listeners"); !strings.Contains(got, a.Addr) || !strings.Contains(got, a.HTTP) {
		t.Errorf("listeners: %q", got)
	}
	shot("server")

	// A stored script in a cn is shown as text, never run.
	const evil = `<script>window.__xss=1</script><img src=x onerror="window.__xss=2">`
	run("xss person",
		chromedp.Navigate(base+"/new?kind=person"), chromedp.WaitVisible(chromedp.CSS("#a-uid")),
		chromedp.SendKeys(chromedp.CSS("#a-uid"), "evil"),
		chromedp.SendKeys(chromedp.CSS("#a-cn"), evil),
		chromedp.SendKeys(chromedp.CSS("#a-sn"), "Evil"),
		chromedp.Click(chromedp.CSS("#save")),
		chromedp.WaitVisible(chromedp.CSS("#attrs")))
	for _, page := range []string{"/entry?dn=" + url.QueryEscape("uid=evil,ou=people,"+testSuffix), "/people?q=evil"} {
		run("xss "+page, chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS("main")))
		xss := eval(`window.__xss !== undefined`)
		injected := eval(`document.querySelectorAll("main script, main img").length > 0`)
		if xss || injected {
			t.Errorf("%s: the cn's markup became elements (ran: %v, elements: %v)", page, xss, injected)
		}
		if got := text("main"); !strings.Contains(got, "<script>window.__xss=1</script>") {
			t.Errorf("%s: the cn is not shown as text: %q", page, got)
		}
	}

	// A form on another site posting to the console with the session's
	// cookie is refused, and writes nothing.
	evilSite := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<form id="f" method="post" action="%s/new">
<input name="kind" value="person"><input name="parent" value="ou=people,%s">
<input name="a.uid" value="csrf-victim"><input name="a.cn" value="x"><input name="a.sn" value="x"></form>
<script>document.getElementById("f").submit()</script>`, base, testSuffix)
	}))
	defer evilSite.Close()
	run("csrf", chromedp.Navigate(evilSite.URL), chromedp.WaitVisible(chromedp.CSS("main")))
	status := text("main")
	if !strings.Contains(status, "refused") && !strings.Contains(status, "security token") {
		t.Errorf("cross-site form: %q, want a refusal", status)
	}
	res, err = root.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(uid=csrf-victim)", []string{"1.1"}, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Fatalf("the cross-site form wrote an entry (%v)", err)
	}

	if *consoleScreenshots {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, png := range shots {
			if err := os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
