package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// consoleGet logs in to s's web console as the root DN with a plain HTTP
// client and returns the body of path.
func consoleGet(t *testing.T, s *testServer, path string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	base := "http://" + s.HTTP
	read := func(resp *http.Response, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d\n%s", resp.Request.URL, resp.StatusCode, b)
		}
		return string(b)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(read(c.Get(base + "/login")))
	if m == nil {
		t.Fatal("the login form has no CSRF token")
	}
	read(c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "login": {testRootDN}, "password": {testRootPass}}))
	return read(c.Get(base + path))
}

// TestConsoleFederation: the console's federation page shows an export
// and an import as the federation package reports them (the entries
// the export sent, the import's state and entries), the partner's filter
// escaped, after the import copied the entries.
func TestConsoleFederation(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	people := "ou=people," + testSuffix
	addFedPeople(t, ac, testSuffix, 6)
	ex := exportBody(people)
	ex["filter"] = "(|(departmentNumber=42)(description=<script>x</script>))"
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", ex, http.StatusCreated, nil)
	// The server imports its own export below a local base of its own.
	local := "ou=mirror," + testSuffix
	fedWant(t, a, "PUT", "/api/v1/federation/imports/mirror", map[string]any{"source": a.URL, "bind_dn": fedPartnerB,
		"password": fedPassword, "remote_base": people, "local_base": local}, http.StatusCreated, nil)
	eventually(t, 10*time.Second, "the import's copy", func() bool { return len(copyOf(t, a, local)) == 2 })
	eventually(t, 10*time.Second, "the import persisting", func() bool {
		var im struct {
			State string `json:"state"`
		}
		fedWant(t, a, "GET", "/api/v1/federation/imports/mirror", nil, http.StatusOK, &im)
		return im.State == "persisting"
	})

	body := consoleGet(t, a, "/federation")
	for _, want := range []string{
		`id="exports"`, "beta", fedPartnerB, people,
		"(|(departmentNumber=42)(description=&lt;script&gt;x&lt;/script&gt;))",
		"withheld: userPassword", `<td>2<div class="dn">`, // entries sent: the import's refresh
		`id="imports"`, "mirror", a.URL, local, "persisting", "<td>2</td>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("federation page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>x") {
		t.Error("the export's filter is not escaped")
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
	}
}

// TestConsoleIndexBuild: a server reopened with an index its store
// lacks builds it in the background, and the console's server page
// shows that build's end with the entries it covered; a new store
// shows none.
func TestConsoleIndexBuild(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, 30)
	ac.Close()
	if body := consoleGet(t, a, "/server"); strings.Contains(body, `id="index-build"`) {
		t.Fatalf("a new store shows an index build:\n%s", body)
	}
	a.Stop()

	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(openReadAccess+"indexes:\n  objectClass: [eq]\n  description: [eq]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, a.Data, "--config", cfg)
	var body string
	eventually(t, 20*time.Second, "the index build's end on the server page", func() bool {
		body = consoleGet(t, b, "/server")
		return strings.Contains(body, "done: 33 entries covered")
	})
	if !strings.Contains(body, `id="index-build"`) {
		t.Errorf("server page:\n%s", body)
	}
}
