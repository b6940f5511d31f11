package console

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFederationPage: the exports and imports are shown with their
// state, and strings a partner or an operator supplied (filters, names,
// DNs, errors from the partner's server) are escaped.
func TestFederationPage(t *testing.T) {
	now := time.Now()
	f := newFixture(t, fakeOps{fed: &Federation{
		Exports: []Export{{Partner: "acme", BindDN: "cn=acme,cn=federation", Base: "ou=people,dc=example,dc=com", Scope: "one",
			Filter: "(&(objectClass=person)(description=<script>alert(1)</script>))", Attributes: []string{"cn", "mail"},
			Withheld: []string{"userPassword"}, EntriesSent: 4217, Searches: 9, LastFetch: now.Add(-90 * time.Second)}},
		Imports: []Import{
			{Name: "globex", Source: "ldaps://ldap.globex.example", RemoteBase: "ou=staff,o=globex", LocalBase: "ou=globex,dc=example,dc=com",
				State: "persisting", Entries: 311, LastChange: now.Add(-2 * time.Minute)},
			{Name: "initech", Source: "ldap://ldap.initech.example", RemoteBase: "o=initech", LocalBase: "ou=initech,dc=example,dc=com",
				Interval: 10 * time.Minute, State: "failed", Entries: 12, LastError: `bind: <img src=x onerror="alert(2)">`,
				LastErrorAt: now, Failure: "the source refused the consumer", PurgeAt: now.Add(24 * time.Hour)},
		}}})
	b := f.browser()
	b.login(rootDN, rootPW)
	code, body := b.get("/federation")
	if code != 200 {
		t.Fatalf("GET /federation: %d\n%s", code, body)
	}
	for _, want := range []string{
		`id="exports"`, "acme", "cn=acme,cn=federation", "ou=people,dc=example,dc=com", "scope one", "cn, mail",
		"withheld: userPassword", "4217", "9 searches",
		`id="imports"`, "globex", "ldaps://ldap.globex.example", "ou=globex,dc=example,dc=com", "persisting", "311", "persistent",
		"initech", `<span class="badge bad">failed</span>`, "polls every 10m0s", "the source refused the consumer", "copy purged",
		"(&amp;(objectClass=person)(description=&lt;script&gt;alert(1)&lt;/script&gt;))",
		"bind: &lt;img src=x onerror=&#34;alert(2)&#34;&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("federation page lacks %q", want)
		}
	}
	// The ages count from the fixture's clock; a slow login (password
	// hashing on a loaded machine) adds a few seconds.
	for _, re := range []string{`1m3\ds ago`, `2m\ds ago`} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("federation page lacks an age matching %s", re)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Errorf("a partner-supplied string is not escaped:\n%s", body)
	}
	if !strings.Contains(body, `href="/federation" class="here"`) {
		t.Error("the menu does not mark the federation page")
	}

	// Others than the operators do not see it.
	o := f.browser()
	o.login("jdoe", "jdoe-secret")
	if code, _ := o.get("/federation"); code != 403 {
		t.Errorf("federation page for jdoe: %d, want 403", code)
	}
	if _, body := o.get("/people"); strings.Contains(body, `href="/federation"`) {
		t.Error("the menu offers jdoe the federation page")
	}
}

// TestFederationPageEmpty: no agreements, and no federation at all.
func TestFederationPageEmpty(t *testing.T) {
	f := newFixture(t, fakeOps{fed: &Federation{}})
	b := f.browser()
	b.login(rootDN, rootPW)
	if code, body := b.get("/federation"); code != 200 || !strings.Contains(body, "No exports.") || !strings.Contains(body, "No imports.") {
		t.Errorf("empty federation: %d\n%s", code, body)
	}
	f = newFixture(t, fakeOps{})
	b = f.browser()
	b.login(rootDN, rootPW)
	if code, body := b.get("/federation"); code != 200 || !strings.Contains(body, "This server has no federation.") {
		t.Errorf("no federation: %d\n%s", code, body)
	}
}

// TestServerPageIndexBuild: a running build shows its progress, a
// finished one its count, a failed one why; none, nothing.
func TestServerPageIndexBuild(t *testing.T) {
	for _, c := range []struct {
		name  string
		build *IndexBuild
		want  []string
	}{
		{"running", &IndexBuild{Running: true, Done: 250, Total: 1000},
			[]string{`<progress max="100" value="25"></progress>`, "building: 250 of 1000 entries (25%)"}},
		{"running past its total", &IndexBuild{Running: true, Done: 1010, Total: 1000},
			[]string{`value="99"`, "(99%)"}},
		{"done", &IndexBuild{Done: 1000, Total: 1000}, []string{"done: 1000 entries covered"}},
		{"failed", &IndexBuild{Done: 50, Total: 1000, Error: "disk <b>gone</b>"},
			[]string{"failed</span> after 50 of 1000 entries: disk &lt;b&gt;gone&lt;/b&gt;; the new indexes stay unused"}},
		{"none", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, fakeOps{server: &ServerState{Entries: 1000, IndexBuild: c.build}})
			b := f.browser()
			b.login(rootDN, rootPW)
			code, body := b.get("/server")
			if code != 200 {
				t.Fatalf("GET /server: %d\n%s", code, body)
			}
			if got := strings.Contains(body, `id="index-build"`); got != (c.build != nil) {
				t.Errorf("index build shown: %v, want %v", got, c.build != nil)
			}
			for _, w := range c.want {
				if !strings.Contains(body, w) {
					t.Errorf("server page lacks %q:\n%s", w, body)
				}
			}
		})
	}
}
