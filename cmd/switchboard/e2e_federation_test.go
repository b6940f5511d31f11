package main

// Federation through the admin API (package federation): two Switchboard
// servers with different suffixes, one exporting a filtered view of its
// people to the other, which imports it. N people are loaded
// (SWITCHBOARD_FEDERATION_PEOPLE, default 10,000, the size); a third of them are in
// the exported department.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

const (
	fedSuffixB  = "dc=partner,dc=org"
	fedPartnerB = "cn=beta,cn=federation"
	fedPassword = "correct horse battery"
)

func fedPeople(t *testing.T) int {
	if v := os.Getenv("SWITCHBOARD_FEDERATION_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 30 {
			t.Fatalf("SWITCHBOARD_FEDERATION_PEOPLE=%q: want a number >= 30", v)
		}
		return n
	}
	return 10000
}

// fedCall sends an admin API request with a JSON body (nil: none) as the
// root DN and returns the status, the body and its content type.
func fedCall(t testing.TB, s *testServer, method, path string, body any) (int, []byte, string) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, "http://"+s.Admin+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(testRootDN, testRootPass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header.Get("Content-Type")
}

// fedWant requires a status, and decodes the body into v if not nil.
func fedWant(t testing.TB, s *testServer, method, path string, body any, status int, v any) {
	t.Helper()
	got, out, _ := fedCall(t, s, method, path, body)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, got, status, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}

// addSuffixB adds B's naming context and its people.
func addSuffixB(t testing.TB, c *goldap.Conn) {
	t.Helper()
	a := goldap.NewAddRequest(fedSuffixB, nil)
	a.Attribute("objectClass", []string{"top", "dcObject", "organization"})
	a.Attribute("dc", []string{"partner"})
	a.Attribute("o", []string{"Partner"})
	if err := c.Add(a); err != nil {
		t.Fatalf("add %s: %v", fedSuffixB, err)
	}
	a = goldap.NewAddRequest("ou=people,"+fedSuffixB, nil)
	a.Attribute("objectClass", []string{"organizationalUnit"})
	a.Attribute("ou", []string{"people"})
	if err := c.Add(a); err != nil {
		t.Fatal(err)
	}
}

// fedDept is the department of person i: "42" (exported) for every third.
func fedDept(i int) string {
	if i%3 == 0 {
		return "42"
	}
	return "7"
}

// addFedPeople adds n people p0..p(n-1) under ou=people,suffix, with a
// department, a manager (p0, in the export, or p1, outside it), a
// description and a password that must not be shared.
func addFedPeople(t testing.TB, c *goldap.Conn, suffix string, n int) {
	t.Helper()
	for i := range n {
		a := goldap.NewAddRequest(fmt.Sprintf("uid=p%d,ou=people,%s", i, suffix), nil)
		a.Attribute("objectClass", []string{"inetOrgPerson"})
		a.Attribute("uid", []string{fmt.Sprintf("p%d", i)})
		a.Attribute("cn", []string{fmt.Sprintf("Person %d", i)})
		a.Attribute("sn", []string{fmt.Sprintf("P%d", i)})
		a.Attribute("mail", []string{fmt.Sprintf("p%d@%s", i, suffix)})
		a.Attribute("departmentNumber", []string{fedDept(i)})
		a.Attribute("description", []string{"not shared"})
		a.Attribute("telephoneNumber", []string{"+1 555 0100"})
		if i%100 == 0 {
			// Few: hashing passwords is slow.
			a.Attribute("userPassword", []string{"pw" + strconv.Itoa(i)})
		}
		if i > 1 {
			a.Attribute("manager", []string{fmt.Sprintf("uid=p%d,ou=people,%s", i%2, suffix)})
		}
		if err := c.Add(a); err != nil {
			t.Fatalf("add p%d: %v", i, err)
		}
	}
}

// exportBody is the export the tests make: the department filter and
// five attributes (userPassword is listed, and withheld).
func exportBody(base string) map[string]any {
	return map[string]any{"base": base, "scope": "sub", "filter": "(departmentNumber=42)",
		"attributes": []string{"cn", "sn", "mail", "uid", "manager", "userPassword"}, "password": fedPassword}
}

// copyOf lists the entries below base at s (root's view): DN -> entry.
func copyOf(t testing.TB, s *testServer, base string) map[string]*goldap.Entry {
	t.Helper()
	c := dialRoot(t, s)
	defer c.Close()
	res, err := c.SearchWithPaging(goldap.NewSearchRequest(base, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "entryUUID"}, nil), 500)
	if err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil
		}
		t.Fatalf("search %s: %v", base, err)
	}
	out := map[string]*goldap.Entry{}
	for _, e := range res.Entries {
		out[strings.ToLower(e.DN)] = e
	}
	return out
}

// poll reports whether cond holds within limit.
func poll(limit time.Duration, cond func() bool) bool {
	for start := time.Now(); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > limit {
			return false
		}
	}
	return true
}

// eventually polls cond every 50 ms until it holds or limit passes.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// TestFederationExportImport: A exports its department 42 to B, which
// imports it; B's copy is exact, A's changes reach it within 5 s, the
// partner sees nothing else over LDAP, both survive restarts, and
// revoking the export ends the partner's session within 1 s and purges
// B's copy after the import's grace period.
func TestFederationExportImport(t *testing.T) {
	n := fedPeople(t)
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	start := time.Now()
	addFedPeople(t, ac, testSuffix, n)
	t.Logf("loaded %d people at A in %v", n, time.Since(start).Round(time.Millisecond))
	b := startServer(t, "", "--suffix", fedSuffixB)
	bc := dialRoot(t, b)
	addSuffixB(t, bc)

	// The export.
	people := "ou=people," + testSuffix
	var ex struct {
		BindDN     string   `json:"bind_dn"`
		Attributes []string `json:"attributes"`
		Withheld   []string `json:"withheld"`
	}
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", exportBody(people), http.StatusCreated, &ex)
	if ex.BindDN != fedPartnerB || !slices.Equal(ex.Withheld, []string{"userPassword"}) || len(ex.Attributes) != 5 {
		t.Fatalf("export: %+v", ex)
	}

	// The partner's view over LDAP.
	pc := dialE2E(t, a, fedPartnerB, fedPassword)
	res, err := pc.SearchWithPaging(goldap.NewSearchRequest(people, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "+"}, nil), 500)
	if err != nil {
		t.Fatal(err)
	}
	want := (n + 2) / 3
	if len(res.Entries) != want {
		t.Fatalf("the partner sees %d entries, want %d", len(res.Entries), want)
	}
	allowed := map[string]bool{"objectclass": true, "cn": true, "sn": true, "mail": true, "uid": true, "manager": true,
		"entryuuid": true, "entrycsn": true, "createtimestamp": true, "modifytimestamp": true}
	for _, e := range res.Entries {
		for _, at := range e.Attributes {
			if !allowed[strings.ToLower(at.Name)] {
				t.Fatalf("%s: the partner reads %s", e.DN, at.Name)
			}
		}
		if m := e.GetAttributeValue("manager"); m != "" && !strings.HasPrefix(m, "uid=p0,") {
			t.Fatalf("%s: the partner reads manager %s, outside the export", e.DN, m)
		}
	}
	// Filters on what it may not read match nothing; entries outside
	// the view do not exist for it; compare sees only the view.
	res, err = pc.Search(goldap.NewSearchRequest(people, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(|(description=*)(departmentNumber=7)(userPassword=*))", []string{"dn"}, nil))
	if err != nil || len(res.Entries) != 0 {
		t.Fatalf("searching hidden attributes: %d entries, %v", len(res.Entries), err)
	}
	_, err = pc.Search(goldap.NewSearchRequest("ou=groups,"+testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", nil, nil))
	wantCode(t, "search outside the export", err, goldap.LDAPResultNoSuchObject)
	_, err = pc.Compare("uid=p1,"+people, "cn", "Person 1")
	wantCode(t, "compare on an entry outside the export", err, goldap.LDAPResultNoSuchObject)
	if ok, err := pc.Compare("uid=p3,"+people, "cn", "Person 3"); err != nil || !ok {
		t.Fatalf("compare cn of p3: %v %v", ok, err)
	}
	if ok, err := pc.Compare("uid=p3,"+people, "manager", "uid=p1,"+people); err != nil || ok {
		t.Fatalf("compare manager of p3 with p1 (outside): %v %v, want false", ok, err)
	}
	wantCode(t, "partner write", pc.Modify(modReplace("uid=p3,"+people, "sn", "X")), goldap.LDAPResultInsufficientAccessRights)
	pc.Close()

	// The import at B.
	local := "ou=alpha," + fedSuffixB
	imp := map[string]any{"source": a.URL, "bind_dn": fedPartnerB, "password": fedPassword,
		"remote_base": people, "local_base": local, "grace": "3s"}
	start = time.Now()
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alpha", imp, http.StatusCreated, nil)
	eventually(t, 2*time.Minute, "B's copy complete", func() bool { return len(copyOf(t, b, local)) == want })
	t.Logf("B copied %d of %d people in %v", want, n, time.Since(start).Round(time.Millisecond))
	checkCopy(t, a, b, people, local)
	// A second import polls with refreshOnly and a cookie.
	pollLocal := "ou=alphapoll," + fedSuffixB
	pollImp := map[string]any{"source": a.URL, "bind_dn": fedPartnerB, "password": fedPassword,
		"remote_base": people, "local_base": pollLocal, "interval": "1s"}
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alphapoll", pollImp, http.StatusCreated, nil)
	eventually(t, time.Minute, "B's polled copy complete", func() bool { return len(copyOf(t, b, pollLocal)) == want })

	// A's changes reach B within 5 s, in both copies.
	within := func(what string, cond func(map[string]*goldap.Entry) bool) {
		t.Helper()
		d := eventually(t, 5*time.Second, what, func() bool { return cond(copyOf(t, b, local)) })
		// refreshOnly: the next poll (1 s); an entry that left the view
		// costs a full present phase, whose time grows with the export.
		dp := eventually(t, 30*time.Second, what+" (refreshOnly)", func() bool {
			m := map[string]*goldap.Entry{}
			for dn, e := range copyOf(t, b, pollLocal) {
				m[strings.ToLower(strings.Replace(dn, strings.ToLower(pollLocal), strings.ToLower(local), 1))] = e
			}
			return cond(m)
		})
		t.Logf("%s: %v (refreshOnly: %v)", what, d.Round(time.Millisecond), dp.Round(time.Millisecond))
	}
	at := func(uid string) string { return strings.ToLower("uid=" + uid + "," + local) }
	if err := ac.Modify(modReplace("uid=p3,"+people, "sn", "Changed")); err != nil {
		t.Fatal(err)
	}
	within("modify", func(m map[string]*goldap.Entry) bool {
		return m[at("p3")] != nil && m[at("p3")].GetAttributeValue("sn") == "Changed"
	})
	uuid6 := copyOf(t, b, local)[at("p6")].GetAttributeValue("entryUUID")
	if err := ac.ModifyDN(goldap.NewModifyDNRequest("uid=p6,"+people, "uid=p6r", true, "")); err != nil {
		t.Fatal(err)
	}
	within("rename", func(m map[string]*goldap.Entry) bool {
		return m[at("p6")] == nil && m[at("p6r")] != nil && m[at("p6r")].GetAttributeValue("entryUUID") == uuid6
	})
	if err := ac.Modify(modReplace("uid=p9,"+people, "departmentNumber", "7")); err != nil {
		t.Fatal(err)
	}
	within("modify out of the filter", func(m map[string]*goldap.Entry) bool { return m[at("p9")] == nil })
	if err := ac.Modify(modReplace("uid=p9,"+people, "departmentNumber", "42")); err != nil {
		t.Fatal(err)
	}
	within("modify back into the filter", func(m map[string]*goldap.Entry) bool { return m[at("p9")] != nil })
	groups := "ou=groups," + testSuffix
	if err := ac.ModifyDN(goldap.NewModifyDNRequest("uid=p12,"+people, "uid=p12", true, groups)); err != nil {
		t.Fatal(err)
	}
	within("move out of the base", func(m map[string]*goldap.Entry) bool { return m[at("p12")] == nil })
	if err := ac.ModifyDN(goldap.NewModifyDNRequest("uid=p12,"+groups, "uid=p12", true, people)); err != nil {
		t.Fatal(err)
	}
	within("move back", func(m map[string]*goldap.Entry) bool { return m[at("p12")] != nil })
	if err := ac.Del(goldap.NewDelRequest("uid=p15,"+people, nil)); err != nil {
		t.Fatal(err)
	}
	within("delete", func(m map[string]*goldap.Entry) bool { return m[at("p15")] == nil })
	checkCopy(t, a, b, people, local)
	checkCopy(t, a, b, people, pollLocal)
	// DELETE stops an import and purges its copy at once.
	fedWant(t, b, "DELETE", "/api/v1/federation/imports/alphapoll", nil, http.StatusNoContent, nil)
	if m := copyOf(t, b, pollLocal); m != nil {
		t.Fatalf("%d entries left under %s after the import's DELETE", len(m), pollLocal)
	}

	// The copy is read-only at B, naming the import.
	err = bc.Modify(modReplace(at("p3"), "sn", "local"))
	wantCode(t, "local write into the copy", err, goldap.LDAPResultUnwillingToPerform)
	if err == nil || !strings.Contains(err.Error(), "federation.alpha") {
		t.Errorf("refusal does not name the import: %v", err)
	}

	// What the partner fetched, and when.
	var list []struct {
		Name  string `json:"name"`
		Stats struct {
			Entries   int64     `json:"entries_sent"`
			LastFetch time.Time `json:"last_fetch"`
			Binds     int64     `json:"binds"`
		} `json:"stats"`
	}
	fedWant(t, a, "GET", "/api/v1/federation/exports", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].Name != "beta" || list[0].Stats.Entries < int64(want) || list[0].Stats.LastFetch.IsZero() || list[0].Stats.Binds < 2 {
		t.Fatalf("export list: %+v", list)
	}

	// Both survive restarts: B's import resumes and A's export binds. A
	// comes back on another port: B's import is told with a PUT.
	a.Restart()
	b.Restart()
	imp["source"] = a.URL
	fedWant(t, b, "PUT", "/api/v1/federation/imports/alpha", imp, http.StatusOK, nil)
	ac = dialRoot(t, a)
	if err := ac.Modify(modReplace("uid=p18,"+people, "sn", "After restart")); err != nil {
		t.Fatal(err)
	}
	if !poll(30*time.Second, func() bool {
		e := copyOf(t, b, local)[at("p18")]
		return e != nil && e.GetAttributeValue("sn") == "After restart"
	}) {
		_, st, _ := fedCall(t, b, "GET", "/api/v1/federation/imports/alpha", nil)
		t.Fatalf("a change after both restarts did not arrive; import: %s\nB's log:\n%s\nA's log:\n%s", st, tail(b.Log(), 3000), tail(a.Log(), 3000))
	}
	checkCopy(t, a, b, people, local)

	// Revocation: the partner's sync session ends within 1 s, its bind
	// fails, and B purges its copy after the grace period.
	pc = dialE2E(t, a, fedPartnerB, fedPassword)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sync := pc.Syncrepl(ctx, goldap.NewSearchRequest(people, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"cn"}, nil), 64, goldap.SyncRequestModeRefreshAndPersist, nil, false)
	ended := make(chan time.Time, 1)
	go func() {
		for sync.Next() {
		}
		ended <- time.Now()
	}()
	time.Sleep(500 * time.Millisecond) // past the refresh
	select {
	case <-ended:
		t.Fatalf("the partner's sync session ended before the revocation: %v", sync.Err())
	default:
	}
	revoked := time.Now()
	fedWant(t, a, "DELETE", "/api/v1/federation/exports/beta", nil, http.StatusNoContent, nil)
	select {
	case at := <-ended:
		t.Logf("the partner's session ended %v after the revocation began", at.Sub(revoked).Round(time.Millisecond))
		if at.Sub(revoked) > time.Second {
			t.Errorf("the partner's session ended %v after the revocation, want within 1 s", at.Sub(revoked))
		}
	case <-time.After(time.Second):
		t.Fatal("the partner's sync session did not end within 1 s of the revocation")
	}
	c, err := goldap.DialURL(a.URL)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, "the revoked partner's bind", c.Bind(fedPartnerB, fedPassword), goldap.LDAPResultInvalidCredentials)
	c.Close()
	var st struct {
		State   string `json:"state"`
		Failure string `json:"failure"`
	}
	eventually(t, 30*time.Second, "B's import reports the revocation", func() bool {
		fedWant(t, b, "GET", "/api/v1/federation/imports/alpha", nil, http.StatusOK, &st)
		return st.State == "failed" || st.State == "purged"
	})
	t.Logf("B's import: %+v", st)
	eventually(t, 30*time.Second, "B purges its copy after the grace period", func() bool {
		fedWant(t, b, "GET", "/api/v1/federation/imports/alpha", nil, http.StatusOK, &st)
		return st.State == "purged" && copyOf(t, b, local) == nil
	})
	fedWant(t, b, "DELETE", "/api/v1/federation/imports/alpha", nil, http.StatusNoContent, nil)
	fedWant(t, b, "GET", "/api/v1/federation/imports/alpha", nil, http.StatusNotFound, nil)
}

func modReplace(dn, attr, value string) *goldap.ModifyRequest {
	m := goldap.NewModifyRequest(dn, nil)
	m.Replace(attr, []string{value})
	return m
}

// checkCopy compares B's copy under local with A's department 42 under
// people: the same entries by entryUUID, DNs and in-export manager
// values rewritten, nothing but the shared attributes.
func checkCopy(t *testing.T, a, b *testServer, people, local string) {
	t.Helper()
	ac := dialRoot(t, a)
	defer ac.Close()
	res, err := ac.SearchWithPaging(goldap.NewSearchRequest(people, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(departmentNumber=42)", []string{"*", "entryUUID"}, nil), 500)
	if err != nil {
		t.Fatal(err)
	}
	got := copyOf(t, b, local)
	if len(got) != len(res.Entries) {
		t.Fatalf("B holds %d entries, A exports %d", len(got), len(res.Entries))
	}
	rewrite := func(dn string) string {
		return strings.ToLower(strings.TrimSuffix(strings.ToLower(dn), strings.ToLower(people)) + local)
	}
	for _, src := range res.Entries {
		dst := got[rewrite(src.DN)]
		if dst == nil {
			t.Fatalf("%s is missing at B", src.DN)
		}
		if dst.GetAttributeValue("entryUUID") != src.GetAttributeValue("entryUUID") {
			t.Fatalf("%s: entryUUID %s at B, %s at A", src.DN, dst.GetAttributeValue("entryUUID"), src.GetAttributeValue("entryUUID"))
		}
		for _, name := range []string{"cn", "sn", "mail", "uid"} {
			if !slices.Equal(dst.GetAttributeValues(name), src.GetAttributeValues(name)) {
				t.Fatalf("%s: %s %v at B, %v at A", src.DN, name, dst.GetAttributeValues(name), src.GetAttributeValues(name))
			}
		}
		for _, name := range []string{"description", "departmentNumber", "telephoneNumber", "userPassword"} {
			if v := dst.GetAttributeValues(name); len(v) > 0 {
				t.Fatalf("%s: %s copied to B: %v", dst.DN, name, v)
			}
		}
		wantMgr := ""
		if m := src.GetAttributeValue("manager"); strings.HasPrefix(strings.ToLower(m), "uid=p0,") {
			wantMgr = rewrite(m)
		}
		if got := strings.ToLower(dst.GetAttributeValue("manager")); got != wantMgr {
			t.Fatalf("%s: manager %q at B, want %q", dst.DN, got, wantMgr)
		}
	}
}

// TestFederationBadInputs: every endpoint answers bad input with a 4xx
// problem+json and changes nothing; unauthenticated calls get 401.
func TestFederationBadInputs(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, 3)
	people := "ou=people," + testSuffix
	fedWant(t, a, "PUT", "/api/v1/federation/exports/good", exportBody(people), http.StatusCreated, nil)
	_, before, _ := fedCall(t, a, "GET", "/api/v1/federation/exports", nil)
	stored, err := os.ReadFile(a.Data + "/federation.json")
	if err != nil {
		t.Fatal(err)
	}

	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range m {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	ex := exportBody(people)
	nowhere := freePort(t)
	imp := map[string]any{"source": a.URL, "bind_dn": "cn=good,cn=federation", "password": fedPassword,
		"remote_base": people, "local_base": "ou=copy," + testSuffix}
	cases := []struct {
		method, path string
		body         any
		status       int
		detail       string
	}{
		{"PUT", "/api/v1/federation/exports/bad%20name", ex, 400, "export name"},
		{"PUT", "/api/v1/federation/exports/x", "{", 400, "not the JSON object"},
		{"PUT", "/api/v1/federation/exports/x", "", 400, "empty"},
		{"PUT", "/api/v1/federation/exports/x", `{"base":"ou=people,dc=example,dc=com"} {}`, 400, "after the JSON object"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "colour", "blue"), 400, "unknown field"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "base", nil), 400, "base is required"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "base", "not a dn"), 400, "is not a DN"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "base", "ou=people,dc=elsewhere"), 400, "outside the naming context"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "scope", "base"), 400, "neither sub nor one"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "filter", "(departmentNumber=42"), 400, "does not parse"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "filter", "(colour=red)"), 400, "not in the schema"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "attributes", []string{"cn", "colour"}), 400, `attribute "colour" is not in the schema`},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "attributes", []string{}), 400, "attributes is required"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "attributes", []string{"userPassword", "pwdHistory"}), 400, "never are"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "password", nil), 400, "password is required"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "password", "short"), 400, "too short"},
		{"PUT", "/api/v1/federation/exports/x", with(ex, "attributes", "cn"), 400, "not the JSON object"},
		{"PUT", "/api/v1/federation/exports/good", with(ex, "filter", "((("), 400, "does not parse"},
		{"GET", "/api/v1/federation/exports/nope", nil, 404, "no export named nope"},
		{"DELETE", "/api/v1/federation/exports/nope", nil, 404, "no export named nope"},
		{"POST", "/api/v1/federation/exports/x", ex, 405, ""},

		{"PUT", "/api/v1/federation/imports/bad%2Fname", imp, 400, ""},
		{"PUT", "/api/v1/federation/imports/x", "[]", 400, "not the JSON object"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "source", nil), 400, "source is required"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "source", "http://example.com"), 400, "want ldap://host:port"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "bind_dn", nil), 400, "bind_dn and password are required"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "bind_dn", "nonsense"), 400, "is not a DN"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "remote_base", "==="), 400, "is not a DN"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "local_base", "ou=copy,dc=elsewhere"), 400, "not below the naming context"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "local_base", testSuffix), 400, "not below the naming context"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "local_base", "uid=copy,"+testSuffix), 400, "its RDN must be"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "local_base", people), 409, "overlaps local data"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "local_base", "ou=copy,ou=missing,"+testSuffix), 409, "parent entry does not exist"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "filter", "(cn=a"), 400, "does not parse"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "attributes", []string{"colour"}), 400, "not in the schema"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "interval", "often"), 400, "want a number with a unit"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "interval", "10ms"), 400, "at least 1s"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "grace", "-1h"), 400, "negative"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "on_write", "ignore"), 400, "neither refuse nor referral"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "ca_file", "/nonexistent/ca.pem"), 400, "ca_file"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "source", "ldap://"+nowhere), 422, "unreachable"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "source", "ldaps://"+a.Addr), 422, "TLS"},
		{"PUT", "/api/v1/federation/imports/x", with(imp, "password", "wrong password!"), 422, "refused the bind"},
		{"GET", "/api/v1/federation/imports/nope", nil, 404, "no import named nope"},
		{"DELETE", "/api/v1/federation/imports/nope", nil, 404, "no import named nope"},
	}
	for _, c := range cases {
		status, body, ct := fedCall(t, a, c.method, c.path, c.body)
		if status != c.status || ct != "application/problem+json" {
			t.Errorf("%s %s %v: %d %s, want %d problem+json: %s", c.method, c.path, c.body, status, ct, c.status, body)
			continue
		}
		var p struct {
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(body, &p); err != nil || p.Status != status || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s %s %v: problem %s, want detail with %q", c.method, c.path, c.body, body, c.detail)
		}
	}
	_, after, _ := fedCall(t, a, "GET", "/api/v1/federation/exports", nil)
	// The statistics move (the probes bind); the exports must not.
	withoutStats := func(b []byte) string {
		var v []map[string]any
		json.Unmarshal(b, &v)
		for _, e := range v {
			delete(e, "stats")
		}
		out, _ := json.Marshal(v)
		return string(out)
	}
	if withoutStats(before) != withoutStats(after) {
		t.Errorf("the exports changed:\n%s\nthen\n%s", before, after)
	}
	var imports []any
	fedWant(t, a, "GET", "/api/v1/federation/imports", nil, http.StatusOK, &imports)
	if len(imports) != 0 {
		t.Errorf("imports after bad requests: %v", imports)
	}
	if now, _ := os.ReadFile(a.Data + "/federation.json"); !bytes.Equal(now, stored) {
		t.Errorf("federation.json changed:\n%s\nthen\n%s", stored, now)
	}
	if m := copyOf(t, a, "ou=copy,"+testSuffix); m != nil {
		t.Errorf("a refused import left its local base")
	}

	// Unauthenticated, or with a wrong password: 401 everywhere. The
	// partner's identity is no admin either.
	for _, route := range []string{"GET /api/v1/federation/exports", "GET /api/v1/federation/exports/good",
		"PUT /api/v1/federation/exports/good", "DELETE /api/v1/federation/exports/good",
		"GET /api/v1/federation/imports", "GET /api/v1/federation/imports/x",
		"PUT /api/v1/federation/imports/x", "DELETE /api/v1/federation/imports/x"} {
		method, path, _ := strings.Cut(route, " ")
		for _, who := range [][2]string{{}, {testRootDN, "wrong"}, {fedPartnerB, fedPassword}} {
			req, _ := http.NewRequest(method, "http://"+a.Admin+path, strings.NewReader(`{}`))
			if who[0] != "" {
				req.SetBasicAuth(who[0], who[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s as %q: %d %s, want 401 problem+json", route, who[0], resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	}
	if now, _ := os.ReadFile(a.Data + "/federation.json"); !bytes.Equal(now, stored) {
		t.Errorf("federation.json changed by unauthenticated requests")
	}
}

// TestFederationLoop: A exports its people to B and B its people to A,
// each importing the other's into a subtree inside its own export's
// base. Imported subtrees are not exported again, so after 1,000
// changes on each side every entry exists once on each server and the
// copies settle.
func TestFederationLoop(t *testing.T) {
	n := fedPeople(t)
	a := startServer(t, "")
	b := startServer(t, "", "--suffix", fedSuffixB)
	ac, bc := dialRoot(t, a), dialRoot(t, b)
	addBase(t, ac)
	addSuffixB(t, bc)
	addFedPeople(t, ac, testSuffix, n)
	addFedPeople(t, bc, fedSuffixB, n)
	peopleA, peopleB := "ou=people,"+testSuffix, "ou=people,"+fedSuffixB
	shared := func(base string) map[string]any {
		return map[string]any{"base": base, "filter": "(objectClass=inetOrgPerson)",
			"attributes": []string{"cn", "sn", "mail", "uid"}, "password": fedPassword}
	}
	fedWant(t, a, "PUT", "/api/v1/federation/exports/tob", shared(peopleA), http.StatusCreated, nil)
	fedWant(t, b, "PUT", "/api/v1/federation/exports/toa", shared(peopleB), http.StatusCreated, nil)
	fromA, fromB := "ou=froma,"+peopleB, "ou=fromb,"+peopleA
	fedWant(t, b, "PUT", "/api/v1/federation/imports/froma", map[string]any{"source": a.URL, "bind_dn": "cn=tob,cn=federation",
		"password": fedPassword, "remote_base": peopleA, "local_base": fromA}, http.StatusCreated, nil)
	fedWant(t, a, "PUT", "/api/v1/federation/imports/fromb", map[string]any{"source": b.URL, "bind_dn": "cn=toa,cn=federation",
		"password": fedPassword, "remote_base": peopleB, "local_base": fromB}, http.StatusCreated, nil)
	eventually(t, 2*time.Minute, "both copies complete", func() bool {
		return len(copyOf(t, a, fromB)) == n && len(copyOf(t, b, fromA)) == n
	})

	// 1,000 changes on each side, at the same time.
	start := time.Now()
	errc := make(chan error, 2)
	for _, side := range []struct {
		c      *goldap.Conn
		people string
	}{{ac, peopleA}, {bc, peopleB}} {
		go func() {
			for k := range 1000 {
				if err := side.c.Modify(modReplace(fmt.Sprintf("uid=p%d,%s", k%n, side.people), "sn", fmt.Sprintf("change %d", k))); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("2 x 1000 changes in %v", time.Since(start).Round(time.Millisecond))

	// Each copy equals its source, by entryUUID and sn.
	var why string
	same := func(src *testServer, people string, dst *testServer, local string) bool {
		want := copyOf(t, src, people)
		got := copyOf(t, dst, local)
		if len(got) != n {
			why = fmt.Sprintf("%s holds %d entries, want %d", local, len(got), n)
			return false
		}
		for dn, e := range want {
			if strings.HasPrefix(dn, "ou=") {
				continue // the import's own base
			}
			c := got[strings.Replace(dn, strings.ToLower(people), strings.ToLower(local), 1)]
			if c == nil || c.GetAttributeValue("entryUUID") != e.GetAttributeValue("entryUUID") || c.GetAttributeValue("sn") != e.GetAttributeValue("sn") {
				why = fmt.Sprintf("%s: copy %v", dn, c)
				if c != nil {
					why = fmt.Sprintf("%s: uuid %s sn %s, copy uuid %s sn %s", dn, e.GetAttributeValue("entryUUID"), e.GetAttributeValue("sn"),
						c.GetAttributeValue("entryUUID"), c.GetAttributeValue("sn"))
				}
				return false
			}
		}
		return true
	}
	if !poll(time.Minute, func() bool { return same(a, peopleA, b, fromA) && same(b, peopleB, a, fromB) }) {
		_, sa, _ := fedCall(t, a, "GET", "/api/v1/federation/imports", nil)
		_, sb, _ := fedCall(t, b, "GET", "/api/v1/federation/imports", nil)
		t.Fatalf("the copies did not catch up: %s\nA: %s\nB: %s\nA's log: %s\nB's log: %s", why, sa, sb, tail(a.Log(), 2000), tail(b.Log(), 2000))
	}
	d := time.Since(start)
	t.Logf("caught up %v after the changes began", d.Round(time.Millisecond))

	// Nothing exists twice on either server, and nothing moves any more.
	for _, s := range []*testServer{a, b} {
		c := dialRoot(t, s)
		suffix := testSuffix
		if s == b {
			suffix = fedSuffixB
		}
		res, err := c.SearchWithPaging(goldap.NewSearchRequest(suffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"entryUUID"}, nil), 1000)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]string{}
		for _, e := range res.Entries {
			u := e.GetAttributeValue("entryUUID")
			if prev, dup := seen[u]; dup {
				t.Fatalf("entryUUID %s twice: %s and %s", u, prev, e.DN)
			}
			seen[u] = e.DN
		}
		// The suffix, ou=people, ou=groups (A) or not (B), n people, the
		// import's base and n copies.
		if len(res.Entries) < 2*n+3 || len(res.Entries) > 2*n+4 {
			t.Fatalf("%s holds %d entries, want 2x%d and the bases", suffix, len(res.Entries), n)
		}
		c.Close()
	}
	applied := func() [2]int64 {
		var x, y struct {
			Status struct {
				Applied int64 `json:"applied"`
			} `json:"status"`
		}
		fedWant(t, a, "GET", "/api/v1/federation/imports/fromb", nil, http.StatusOK, &x)
		fedWant(t, b, "GET", "/api/v1/federation/imports/froma", nil, http.StatusOK, &y)
		return [2]int64{x.Status.Applied, y.Status.Applied}
	}
	first := applied()
	time.Sleep(2 * time.Second)
	if then := applied(); then != first {
		t.Fatalf("the copies still change with no change at the sources: applied %v, then %v", first, then)
	}
	t.Logf("applied changes: %v", first)
}

// TestFederationImportFromSlapd: an import whose source is OpenLDAP
// slapd with syncprov: the copy is made under local_base with DNs
// rewritten and only the attributes asked for, changes at slapd arrive,
// and DELETE purges the copy.
func TestFederationImportFromSlapd(t *testing.T) {
	tools, reason, ok := findSlapd()
	if !ok {
		t.Skip(reason)
	}
	const n = 200
	prov := startSyncprovSlapd(t, tools, writePeopleLDIF(t, n), true)
	pc := dialSlapd(t, prov.URL)
	b := startServer(t, "", "--suffix", fedSuffixB)
	addSuffixB(t, dialRoot(t, b))
	people := "ou=people," + testSuffix
	local := "ou=slapd," + fedSuffixB
	fedWant(t, b, "PUT", "/api/v1/federation/imports/slapd", map[string]any{"source": prov.URL, "bind_dn": testRootDN,
		"password": "secret", "remote_base": people, "local_base": local, "attributes": []string{"cn", "sn", "mail", "uid"}},
		http.StatusCreated, nil)
	eventually(t, time.Minute, "the copy of slapd's people", func() bool { return len(copyOf(t, b, local)) == n })
	for dn, e := range copyOf(t, b, local) {
		if !strings.HasSuffix(dn, ","+strings.ToLower(local)) || e.GetAttributeValue("description") != "" || e.GetAttributeValue("mail") == "" {
			t.Fatalf("copied entry %s: %v", dn, e.Attributes)
		}
	}
	at := func(uid string) string { return strings.ToLower("uid=" + uid + "," + local) }
	uuid6 := copyOf(t, b, local)[at("p6")].GetAttributeValue("entryUUID")
	if err := pc.Modify(modReplace("uid=p3,"+people, "sn", "Changed")); err != nil {
		t.Fatal(err)
	}
	if err := pc.ModifyDN(goldap.NewModifyDNRequest("uid=p6,"+people, "uid=p6r", true, "")); err != nil {
		t.Fatal(err)
	}
	if err := pc.Del(goldap.NewDelRequest("uid=p5,"+people, nil)); err != nil {
		t.Fatal(err)
	}
	d := eventually(t, 5*time.Second, "slapd's changes at B", func() bool {
		m := copyOf(t, b, local)
		return m[at("p3")] != nil && m[at("p3")].GetAttributeValue("sn") == "Changed" && m[at("p5")] == nil &&
			m[at("p6")] == nil && m[at("p6r")] != nil && m[at("p6r")].GetAttributeValue("entryUUID") == uuid6
	})
	t.Logf("slapd's modify, rename and delete arrived within %v", d.Round(time.Millisecond))
	fedWant(t, b, "DELETE", "/api/v1/federation/imports/slapd", nil, http.StatusNoContent, nil)
	if m := copyOf(t, b, local); m != nil {
		t.Fatalf("%d entries left after DELETE", len(m))
	}
}
