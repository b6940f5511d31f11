package main

import (
	"encoding/json"
	"html"
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

	goldap "github.com/go-ldap/ldap/v3"
)

// TestWebDiskFull: with the store's filesystem filled past
// limits.disk_reserve_mb, a CardDAV PUT answers 507 Insufficient
// Storage, a SCIM POST and PATCH 507 with a SCIM error body, and a
// console edit shows the form again with the error, status 507. Nothing
// of the refused requests is stored, the server goes on answering, and
// once space is freed the same requests succeed.
func TestWebDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, 512)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte(cardDAVAccess+"limits:\n  disk_reserve_mb: 64\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, filepath.Join(mnt, "data"), "--config", cfg)
	root := dialRoot(t, s)
	const aliceDN = "uid=alice,ou=people," + testSuffix
	for _, e := range []struct {
		dn    string
		attrs map[string][]string
	}{
		{testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}}},
		{"ou=people," + testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{"ou=groups," + testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
		{aliceDN, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"alice"}, "cn": {"Alice"}, "sn": {"A"},
			"title": {"Engineer"}, "userPassword": {"alice-pw"}}},
	} {
		req := goldap.NewAddRequest(e.dn, nil)
		for k, v := range e.attrs {
			req.Attribute(k, v)
		}
		if err := root.Add(req); err != nil {
			t.Fatalf("add %s: %v", e.dn, err)
		}
	}

	// Before the disk fills: a card, a SCIM user, a console session.
	d := newDAVClient(t, s, "alice", "alice-pw")
	d.do("PROPFIND", d.home, map[string]string{"Depth": "1"}, "", 207) // creates "contacts"
	vcard := func(uid string) string {
		return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:Card " + uid + "\r\nN:" + uid + ";;;;\r\nEND:VCARD\r\n"
	}
	put := func(name string) (int, string) {
		code, _, body := d.do("PUT", d.home+"contacts/"+name+".vcf",
			map[string]string{"Content-Type": "text/vcard; charset=utf-8", "If-None-Match": "*"}, vcard(name), 0)
		return code, body
	}
	if code, body := put("before"); code != http.StatusCreated {
		t.Fatalf("PUT before the disk fills: %d %s", code, body)
	}
	created := scimDo(t, s, rootAuth, "POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"jdoe","name":{"familyName":"Doe","givenName":"J"}}`)
	if created.status != http.StatusCreated {
		t.Fatalf("SCIM POST before the disk fills: %d %s", created.status, created.raw)
	}
	jdoe, _ := created.body["id"].(string)
	newUser := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"rsmith","name":{"familyName":"Smith","givenName":"R"}}`
	patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Patched"}]}`
	con := consoleLogin(t, s)

	// Fill the filesystem to 32 MiB below the reserve: the guard refuses
	// writes at its next measurement.
	headroom := int64(metric(t, s, "switchboard_disk_headroom_bytes"))
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, headroom-32<<20), 0o600); err != nil {
		t.Fatalf("filler of %d MiB: %v", (headroom-32<<20)>>20, err)
	}
	time.Sleep(1500 * time.Millisecond)

	if code, body := put("during"); code != http.StatusInsufficientStorage || !strings.Contains(body, "disk is full") {
		t.Errorf("CardDAV PUT on a full disk: %d %s", code, body)
	}
	if code, _, _ := d.do("GET", d.home+"contacts/during.vcf", nil, "", 0); code != http.StatusNotFound {
		t.Errorf("GET of the refused card: %d, want 404", code)
	}
	if code, _, body := d.do("GET", d.home+"contacts/before.vcf", nil, "", 0); code != http.StatusOK || body != vcard("before") {
		t.Errorf("GET of the earlier card: %d %q", code, body)
	}
	scimFull := func(what string, a scimAnswer) {
		t.Helper()
		if a.status != http.StatusInsufficientStorage || a.body["status"] != "507" ||
			!strings.Contains(a.raw, "urn:ietf:params:scim:api:messages:2.0:Error") || !strings.Contains(a.raw, "disk is full") {
			t.Errorf("SCIM %s on a full disk: %d %s", what, a.status, a.raw)
		}
	}
	scimFull("POST", scimDo(t, s, rootAuth, "POST", "/Users", newUser))
	scimFull("PATCH", scimDo(t, s, rootAuth, "PATCH", "/Users/"+jdoe, patch))
	if a := scimDo(t, s, rootAuth, "GET", "/Users?filter="+url.QueryEscape(`userName eq "rsmith"`), ""); a.status != 200 || a.body["totalResults"] != json.Number("0") {
		t.Errorf("the refused SCIM POST left a user: %d %s", a.status, a.raw)
	}
	if a := scimDo(t, s, rootAuth, "GET", "/Users/"+jdoe, ""); a.status != 200 || strings.Contains(a.raw, "Patched") {
		t.Errorf("the refused SCIM PATCH changed the user: %d %s", a.status, a.raw)
	}
	if code, body := con.edit(aliceDN, "a.title", "Edited"); code != http.StatusInsufficientStorage ||
		!strings.Contains(body, `role="alert"`) || !strings.Contains(body, "disk is full") {
		t.Errorf("console edit on a full disk: %d\n%s", code, body)
	}
	if got := entryAttr(t, root, aliceDN, "title"); got != "Engineer" {
		t.Errorf("title after the refused console edit: %q", got)
	}
	// The server is alive: reads, binds and health go on.
	resp, err := http.Get("http://" + s.Admin + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz on a full disk: %v %v", resp, err)
	}
	resp.Body.Close()

	// Space comes back: the same requests succeed.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := put("during")
		if code == http.StatusCreated {
			break
		}
		if code != http.StatusInsufficientStorage || time.Now().After(deadline) {
			t.Fatalf("CardDAV PUT after freeing space: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if a := scimDo(t, s, rootAuth, "POST", "/Users", newUser); a.status != http.StatusCreated {
		t.Errorf("SCIM POST after freeing space: %d %s", a.status, a.raw)
	}
	if a := scimDo(t, s, rootAuth, "PATCH", "/Users/"+jdoe, patch); a.status != http.StatusOK && a.status != http.StatusNoContent {
		t.Errorf("SCIM PATCH after freeing space: %d %s", a.status, a.raw)
	}
	if code, body := con.edit(aliceDN, "a.title", "Edited"); code != http.StatusOK || !strings.Contains(body, "Saved.") {
		t.Errorf("console edit after freeing space: %d\n%s", code, body)
	}
	if got := entryAttr(t, root, aliceDN, "title"); got != "Edited" {
		t.Errorf("title after the console edit: %q", got)
	}
}

// entryAttr reads one value of an entry over LDAP.
func entryAttr(t *testing.T, c *goldap.Conn, dn, attr string) string {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{attr}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValue(attr)
}

// consoleClient is a plain HTTP client logged in to the web console as
// the root DN.
type consoleClient struct {
	t    *testing.T
	c    *http.Client
	base string
}

func consoleLogin(t *testing.T, s *testServer) *consoleClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cc := &consoleClient{t: t, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}, base: "http://" + s.HTTP}
	_, body := cc.read(cc.c.Get(cc.base + "/login"))
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the login form has no CSRF token")
	}
	if code, body := cc.read(cc.c.PostForm(cc.base+"/login", url.Values{"csrf": {m[1]}, "login": {testRootDN}, "password": {testRootPass}})); code != http.StatusOK {
		t.Fatalf("console login: %d %s", code, body)
	}
	return cc
}

func (cc *consoleClient) read(resp *http.Response, err error) (int, string) {
	cc.t.Helper()
	if err != nil {
		cc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var (
	formInputRE    = regexp.MustCompile(`<input[^>]* name="([^"]+)" value="([^"]*)"`)
	formTextareaRE = regexp.MustCompile(`(?s)<textarea[^>]* name="([^"]+)"[^>]*>(.*?)</textarea>`)
)

// edit submits the console's edit form of dn as the browser would, with
// field set to value, and returns the final status and page.
func (cc *consoleClient) edit(dn, field, value string) (int, string) {
	cc.t.Helper()
	code, page := cc.read(cc.c.Get(cc.base + "/edit?" + url.Values{"dn": {dn}}.Encode()))
	if code != http.StatusOK {
		cc.t.Fatalf("GET /edit: %d %s", code, page)
	}
	form := url.Values{}
	for _, m := range formInputRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	for _, m := range formTextareaRE.FindAllStringSubmatch(page, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	if !form.Has(field) || !form.Has("csrf") {
		cc.t.Fatalf("the edit form has no %s or csrf: %v", field, form)
	}
	form.Set(field, value)
	return cc.read(cc.c.PostForm(cc.base+"/edit", form))
}
