package main

// SCIM 2.0 (web/scim) end to end: recorded provisioning sequences of
// Entra ID and Okta replayed against a real server, compliance checks,
// bad input and bearer tokens, with the LDAP state checked over LDAP.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

const scimRoot = "cn=admin,dc=example,dc=com"

// startSCIM starts a server with ou=people, ou=groups and a user without
// write rights (uid=reader, password "readerpw").
func startSCIM(t *testing.T, extra ...string) *testServer {
	t.Helper()
	s := startServer(t, "", extra...)
	c := scimLDAP(t, s)
	for _, e := range []struct {
		dn    string
		attrs map[string][]string
	}{
		{testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}}},
		{"ou=people," + testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{"ou=groups," + testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
		{"uid=reader,ou=people," + testSuffix, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {"reader"},
			"cn": {"Reader"}, "sn": {"Reader"}, "userPassword": {"readerpw"}}},
	} {
		req := goldap.NewAddRequest(e.dn, nil)
		for k, v := range e.attrs {
			req.Attribute(k, v)
		}
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", e.dn, err)
		}
	}
	return s
}

// scimLDAP is an LDAP connection bound as the root DN, closed with the test.
func scimLDAP(t *testing.T, s *testServer) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Bind(scimRoot, testRootPass); err != nil {
		t.Fatal(err)
	}
	return c
}

type scimAnswer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// scimDo sends a SCIM request; auth is an Authorization header value.
func scimDo(t *testing.T, s *testServer, auth, method, path, body string, header ...string) scimAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+s.HTTP+"/scim/v2"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := scimAnswer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&a.body); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %q", method, path, resp.StatusCode, b)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return a
}

var rootAuth = basicAuth(scimRoot, testRootPass)

// subset reports where got differs from want: every member of a want
// object must be in got with a matching value; arrays match element by
// element and must have the same length; numbers compare as text.
func subset(want, got any, at string) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", at, got)
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", at, k)
			}
			if d := subset(wv, gv, at+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %d values, got %v", at, len(w), got)
		}
		for i := range w {
			if d := subset(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); d != "" {
				return d
			}
		}
		return ""
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Sprintf("%s: want %v, got %v", at, want, got)
	}
	return ""
}

// A replay step: a request, the answer expected, and the LDAP state
// expected after it.
type replayStep struct {
	Name       string            `json:"name"`
	Method     string            `json:"method"`
	Path       string            `json:"path"`
	Body       json.RawMessage   `json:"body"`
	Status     int               `json:"status"`
	Expect     map[string]any    `json:"expect"`
	Unexpected []string          `json:"unexpected"`
	Save       map[string]string `json:"save"`
	LDAP       *struct {
		DN     string              `json:"dn"`
		Attrs  map[string][]string `json:"attrs"`
		Absent []string            `json:"absent"`
		Gone   bool                `json:"gone"`
	} `json:"ldap"`
	Bind *struct {
		DN       string `json:"dn"`
		Password string `json:"password"`
	} `json:"bind"`
}

// replay runs a recorded sequence from testdata/scim.
func replay(t *testing.T, s *testServer, c *goldap.Conn, file, auth string) {
	t.Helper()
	b, err := os.ReadFile("testdata/scim/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var seq struct {
		Steps []replayStep `json:"steps"`
	}
	if err := json.Unmarshal(b, &seq); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	subst := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
		return s
	}
	for i, st := range seq.Steps {
		where := fmt.Sprintf("%s step %d (%s)", file, i+1, st.Name)
		a := scimDo(t, s, auth, st.Method, subst(st.Path), subst(string(st.Body)))
		if a.status != st.Status {
			t.Fatalf("%s: status %d, want %d: %s", where, a.status, st.Status, a.raw)
		}
		if st.Expect != nil {
			var want any
			json.Unmarshal([]byte(subst(mustJSON(st.Expect))), &want)
			if d := subset(want, a.body, ""); d != "" {
				t.Fatalf("%s: %s\n%s", where, d, a.raw)
			}
		}
		for _, k := range st.Unexpected {
			if _, ok := a.body[k]; ok {
				t.Errorf("%s: the answer has %s: %s", where, k, a.raw)
			}
		}
		for name, key := range st.Save {
			v, _ := a.body[key].(string)
			if v == "" {
				t.Fatalf("%s: no %s to save", where, key)
			}
			vars[name] = v
		}
		if st.LDAP != nil {
			checkLDAP(t, c, where, st.LDAP.DN, st.LDAP.Attrs, st.LDAP.Absent, st.LDAP.Gone)
		}
		if st.Bind != nil {
			bc, err := goldap.DialURL(s.URL)
			if err != nil {
				t.Fatal(err)
			}
			if err := bc.Bind(st.Bind.DN, st.Bind.Password); err != nil {
				t.Errorf("%s: bind as %s: %v", where, st.Bind.DN, err)
			}
			bc.Close()
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// checkLDAP reads dn over LDAP (the write must be visible at once).
func checkLDAP(t *testing.T, c *goldap.Conn, where, dn string, attrs map[string][]string, absent []string, gone bool) {
	t.Helper()
	names := []string{"*", "+"}
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", names, nil))
	if gone {
		if !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			t.Errorf("%s: %s still exists (%v)", where, dn, err)
		}
		return
	}
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("%s: read %s over LDAP: %v", where, dn, err)
	}
	e := res.Entries[0]
	for a, want := range attrs {
		got := e.GetEqualFoldAttributeValues(a)
		if !sameValues(got, want) {
			t.Errorf("%s: %s %s = %q, want %q", where, dn, a, got, want)
		}
	}
	for _, a := range absent {
		if got := e.GetEqualFoldAttributeValues(a); len(got) > 0 {
			t.Errorf("%s: %s has %s %q", where, dn, a, got)
		}
	}
}

func sameValues(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestSCIMProvisioningReplay replays the Entra ID and Okta sequences, one
// with HTTP Basic and one with a SCIM bearer token.
func TestSCIMProvisioningReplay(t *testing.T) {
	s := startSCIM(t)
	c := scimLDAP(t, s)
	replay(t, s, c, "entra.json", rootAuth)
	token := scimToken(t, s, rootAuth, "")
	replay(t, s, c, "okta.json", "Bearer "+token)
}

// scimToken makes a SCIM token through the admin API acting as identity
// (the caller if empty).
func scimToken(t *testing.T, s *testServer, auth, identity string) string {
	t.Helper()
	body := `{"scope": "scim", "name": "test"}`
	if identity != "" {
		body = `{"scope": "scim", "identity": ` + mustJSON(identity) + `}`
	}
	req, _ := http.NewRequest("POST", "http://"+s.Admin+"/api/v1/tokens", strings.NewReader(body))
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var made struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &made); resp.StatusCode != http.StatusCreated || err != nil || made.Token == "" {
		t.Fatalf("make a SCIM token: %d %s", resp.StatusCode, b)
	}
	return made.Token
}

// scimUser creates a user and returns its id.
func scimUser(t *testing.T, s *testServer, body string) string {
	t.Helper()
	a := scimDo(t, s, rootAuth, "POST", "/Users", body)
	if a.status != http.StatusCreated {
		t.Fatalf("create %s: %d %s", body, a.status, a.raw)
	}
	id := a.body["id"].(string)
	if loc := "http://" + s.HTTP + "/scim/v2/Users/" + id; a.header.Get("Location") != loc || a.body["meta"].(map[string]any)["location"] != loc {
		t.Errorf("Location %q, meta.location %v; want %s", a.header.Get("Location"), a.body["meta"], loc)
	}
	return id
}

func userNames(a scimAnswer) []string {
	var out []string
	res, _ := a.body["Resources"].([]any)
	for _, r := range res {
		out = append(out, r.(map[string]any)["userName"].(string))
	}
	return out
}

// TestSCIMFilters: filter operators, logic, grouping and complex paths.
func TestSCIMFilters(t *testing.T) {
	s := startSCIM(t)
	for _, u := range []string{
		`{"userName": "alice", "name": {"givenName": "Alice", "familyName": "Adams"}, "emails": [{"value": "alice@work.example", "type": "work"}],
		  "phoneNumbers": [{"value": "+1 555 0001", "type": "mobile"}], "title": "Engineer",
		  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}}`,
		`{"userName": "bob", "name": {"givenName": "Bob", "familyName": "Brown"}, "emails": [{"value": "bob@home.example"}], "title": "Manager"}`,
		`{"userName": "carol", "name": {"givenName": "Carol", "familyName": "Clark"}, "active": false, "externalId": "C-3"}`,
	} {
		scimUser(t, s, u)
	}
	cases := []struct {
		filter string
		want   []string // userNames, sorted; reader is there too
	}{
		{`userName eq "alice"`, []string{"alice"}},
		{`USERNAME EQ "ALICE"`, []string{"alice"}},
		{`userName ne "alice"`, []string{"bob", "carol", "reader"}},
		{`userName co "o"`, []string{"bob", "carol"}},
		{`userName sw "c"`, []string{"carol"}},
		{`userName ew "e"`, []string{"alice"}},
		{`title pr`, []string{"alice", "bob"}},
		{`userName gt "bob"`, []string{"carol", "reader"}},
		{`userName ge "bob"`, []string{"bob", "carol", "reader"}},
		{`userName lt "bob"`, []string{"alice"}},
		{`userName le "bob"`, []string{"alice", "bob"}},
		{`title eq "Engineer" or title eq "Manager"`, []string{"alice", "bob"}},
		{`title pr and not (userName eq "bob")`, []string{"alice"}},
		{`(userName eq "alice" or userName eq "bob") and name.familyName sw "B"`, []string{"bob"}},
		{`userName eq "carol" or userName eq "alice" and title eq "Manager"`, []string{"carol"}},
		{`emails[type eq "work" and value co "@work"]`, []string{"alice"}},
		{`userName gt "b" and userName lt "c"`, []string{"bob"}},
		{`not (userName ge "bob")`, []string{"alice"}},
		{`emails[type eq "work"].value ew "home.example"`, []string{"bob"}},
		{`emails[type eq "home"]`, nil},
		{`emails.value sw "alice"`, []string{"alice"}},
		{`emails pr`, []string{"alice", "bob"}},
		{`phoneNumbers[type eq "mobile"].value eq "+1 555 0001"`, []string{"alice"}},
		{`phoneNumbers[type eq "work"]`, nil},
		{`name.givenName eq "carol"`, []string{"carol"}},
		{`active eq false`, []string{"carol"}},
		{`active eq true and userName ne "reader"`, []string{"alice", "bob"}},
		{`externalId eq "C-3"`, []string{"carol"}},
		{`externalId eq "c-3"`, nil}, // caseExact
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"`, []string{"alice"}},
		{`meta.lastModified gt "2000-01-01T00:00:00Z" and userName eq "bob"`, []string{"bob"}},
		{`meta.resourceType eq "User" and userName eq "bob"`, []string{"bob"}},
		{`nickName pr`, nil},
		// An LDAP filter in a value is a value.
		{`userName eq "*)(uid=*"`, nil},
		{`userName co "*"`, nil},
		{`id eq "not-a-uuid"`, nil},
	}
	for _, tc := range cases {
		a := scimDo(t, s, rootAuth, "GET", "/Users?filter="+url.QueryEscape(tc.filter), "")
		got := userNames(a)
		slices.Sort(got)
		if a.status != 200 || !slices.Equal(got, tc.want) {
			t.Errorf("filter %s: %d %q, want %q (%s)", tc.filter, a.status, got, tc.want, a.raw)
		}
	}
	for _, bad := range []string{`userName`, `userName eq`, `userName xx "a"`, `(userName eq "a"`, `userName eq "a" and`,
		`foo eq "a"`, `emails[type eq "work"`, `userName eq alice`, `name eq "x"`, `password eq "x"`, `meta.created gt "yesterday"`,
		strings.Repeat("(", 100) + `userName pr` + strings.Repeat(")", 100)} {
		a := scimDo(t, s, rootAuth, "GET", "/Users?filter="+url.QueryEscape(bad), "")
		if a.status != 400 || a.body["scimType"] != "invalidFilter" {
			t.Errorf("filter %s: %d %s, want 400 invalidFilter", bad, a.status, a.raw)
		}
	}
}

// TestSCIMPaginationSort: startIndex, count, sortBy, sortOrder.
func TestSCIMPaginationSort(t *testing.T) {
	s := startSCIM(t)
	for _, n := range []string{"dave", "erin", "frank", "grace"} {
		scimUser(t, s, `{"userName": "`+n+`", "displayName": "`+strings.ToUpper(n)+`"}`)
	}
	all := []string{"dave", "erin", "frank", "grace", "reader"}
	cases := []struct {
		query               string
		want                []string
		total, start, items int
	}{
		{"sortBy=userName", all, 5, 1, 5},
		{"sortBy=userName&sortOrder=descending", []string{"reader", "grace", "frank", "erin", "dave"}, 5, 1, 5},
		{"sortBy=userName&startIndex=2&count=2", []string{"erin", "frank"}, 5, 2, 2},
		{"sortBy=userName&startIndex=5&count=2", []string{"reader"}, 5, 5, 1},
		{"sortBy=userName&startIndex=9", nil, 5, 9, 0},
		{"sortBy=userName&startIndex=0&count=1", []string{"dave"}, 5, 1, 1},
		{"sortBy=userName&count=0", nil, 5, 1, 0},
		{"sortBy=userName&count=-3", nil, 5, 1, 0},
		{"sortBy=displayName&sortOrder=descending&filter=" + url.QueryEscape(`displayName pr`), []string{"grace", "frank", "erin", "dave"}, 4, 1, 4},
	}
	for _, tc := range cases {
		a := scimDo(t, s, rootAuth, "GET", "/Users?"+tc.query, "")
		got := userNames(a)
		if a.status != 200 || !slices.Equal(got, tc.want) || fmt.Sprint(a.body["totalResults"]) != fmt.Sprint(tc.total) ||
			fmt.Sprint(a.body["startIndex"]) != fmt.Sprint(tc.start) || fmt.Sprint(a.body["itemsPerPage"]) != fmt.Sprint(tc.items) {
			t.Errorf("%s: %d %q total %v start %v items %v; want %q %d %d %d", tc.query, a.status, got, a.body["totalResults"],
				a.body["startIndex"], a.body["itemsPerPage"], tc.want, tc.total, tc.start, tc.items)
		}
	}
	for _, q := range []string{"sortOrder=sideways", "sortBy=password", "startIndex=x", "count=many"} {
		if a := scimDo(t, s, rootAuth, "GET", "/Users?"+q, ""); a.status != 400 {
			t.Errorf("%s: %d, want 400", q, a.status)
		}
	}
	// attributes and excludedAttributes.
	a := scimDo(t, s, rootAuth, "GET", "/Users?filter=userName+eq+%22dave%22&attributes=displayName", "")
	r := a.body["Resources"].([]any)[0].(map[string]any)
	if r["displayName"] != "DAVE" || r["id"] == nil || r["userName"] != nil {
		t.Errorf("attributes=displayName: %v", r)
	}
	a = scimDo(t, s, rootAuth, "GET", "/Users?filter=userName+eq+%22dave%22&excludedAttributes=displayName,name", "")
	r = a.body["Resources"].([]any)[0].(map[string]any)
	if r["displayName"] != nil || r["name"] != nil || r["userName"] != "dave" {
		t.Errorf("excludedAttributes: %v", r)
	}
}

// TestSCIMETag: meta.version, ETag, If-Match (412), If-None-Match (304).
func TestSCIMETag(t *testing.T) {
	s := startSCIM(t)
	id := scimUser(t, s, `{"userName": "hank"}`)
	a := scimDo(t, s, rootAuth, "GET", "/Users/"+id, "")
	etag := a.header.Get("ETag")
	if etag == "" || etag != a.body["meta"].(map[string]any)["version"] || !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("ETag %q, meta.version %v", etag, a.body["meta"])
	}
	if a := scimDo(t, s, rootAuth, "GET", "/Users/"+id, "", "If-None-Match", etag); a.status != http.StatusNotModified {
		t.Errorf("If-None-Match with the version: %d", a.status)
	}
	patch := `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "title", "value": "T1"}]}`
	if a := scimDo(t, s, rootAuth, "PATCH", "/Users/"+id, patch, "If-Match", `W/"stale"`); a.status != http.StatusPreconditionFailed ||
		a.body["status"] != "412" {
		t.Errorf("If-Match stale: %d %s", a.status, a.raw)
	}
	c := scimLDAP(t, s)
	checkLDAP(t, c, "after the 412", "uid=hank,ou=people,"+testSuffix, nil, []string{"title"}, false)
	a = scimDo(t, s, rootAuth, "PATCH", "/Users/"+id, patch, "If-Match", etag)
	if a.status != 200 || a.header.Get("ETag") == etag || a.header.Get("ETag") == "" {
		t.Fatalf("If-Match current: %d ETag %q (was %q) %s", a.status, a.header.Get("ETag"), etag, a.raw)
	}
	// A write over LDAP changes the version.
	newTag := a.header.Get("ETag")
	mod := goldap.NewModifyRequest("uid=hank,ou=people,"+testSuffix, nil)
	mod.Replace("title", []string{"T2"})
	if err := c.Modify(mod); err != nil {
		t.Fatal(err)
	}
	if a := scimDo(t, s, rootAuth, "PUT", "/Users/"+id, `{"userName": "hank", "title": "T3"}`, "If-Match", newTag); a.status != http.StatusPreconditionFailed {
		t.Errorf("PUT with the version before an LDAP write: %d %s", a.status, a.raw)
	}
	if a := scimDo(t, s, rootAuth, "DELETE", "/Users/"+id, "", "If-Match", etag); a.status != http.StatusPreconditionFailed {
		t.Errorf("DELETE with a stale version: %d", a.status)
	}
	// Group membership changes the user's version too.
	a = scimDo(t, s, rootAuth, "GET", "/Users/"+id, "")
	before := a.header.Get("ETag")
	if g := scimDo(t, s, rootAuth, "POST", "/Groups", `{"displayName": "hankers", "members": [{"value": "`+id+`"}]}`); g.status != 201 {
		t.Fatalf("group: %d %s", g.status, g.raw)
	}
	if a := scimDo(t, s, rootAuth, "GET", "/Users/"+id, ""); a.header.Get("ETag") == before {
		t.Error("joining a group did not change the user's version")
	}
}

// TestSCIMErrors: errors in SCIM's form with scimType, and nothing
// written by a refused request.
func TestSCIMErrors(t *testing.T) {
	s := startSCIM(t)
	c := scimLDAP(t, s)
	id := scimUser(t, s, `{"userName": "ivan", "emails": [{"value": "ivan@example.com"}]}`)
	count := func() int {
		res, err := c.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		return len(res.Entries)
	}
	readIvan := func() map[string][]string {
		res, err := c.Search(goldap.NewSearchRequest("uid=ivan,ou=people,"+testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"*"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]string{}
		for _, a := range res.Entries[0].Attributes {
			m[strings.ToLower(a.Name)] = a.Values
		}
		return m
	}
	entries, ivan := count(), readIvan()
	long := strings.Repeat("x", 2000)
	patch := func(ops string) string {
		return `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [` + ops + `]}`
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		scimType                 string
	}{
		{"unknown attribute", "POST", "/Users", `{"userName": "x1", "favouriteColour": "blue"}`, 400, "invalidValue"},
		{"unknown sub-attribute", "POST", "/Users", `{"userName": "x1", "name": {"nick": "x"}}`, 400, "invalidValue"},
		{"unknown extension attribute", "POST", "/Users", `{"userName": "x1", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"salary": "1"}}`, 400, "invalidValue"},
		{"number for a string", "POST", "/Users", `{"userName": 42}`, 400, "invalidSyntax"},
		{"string for an array", "POST", "/Users", `{"userName": "x1", "emails": "x@example.com"}`, 400, "invalidSyntax"},
		{"object for a boolean", "POST", "/Users", `{"userName": "x1", "active": {}}`, 400, "invalidSyntax"},
		{"oversize value", "POST", "/Users", `{"userName": "x1", "displayName": "` + long + `"}`, 400, "invalidValue"},
		{"NUL in a value", "POST", "/Users", `{"userName": "x1", "displayName": "a\u0000b"}`, 400, "invalidValue"},
		{"no userName", "POST", "/Users", `{"displayName": "x"}`, 400, "invalidValue"},
		{"not JSON", "POST", "/Users", `{"userName": `, 400, "invalidSyntax"},
		{"two JSON values", "POST", "/Users", `{"userName": "x1"} {}`, 400, "invalidSyntax"},
		{"an array body", "POST", "/Users", `[]`, 400, "invalidSyntax"},
		{"userName taken", "POST", "/Users", `{"userName": "IVAN"}`, 409, "uniqueness"},
		{"unstored phone type", "POST", "/Users", `{"userName": "x1", "phoneNumbers": [{"type": "satellite", "value": "1"}]}`, 400, "invalidValue"},
		{"unknown member", "POST", "/Groups", `{"displayName": "g1", "members": [{"value": "00000000-0000-0000-0000-000000000000"}]}`, 400, "invalidValue"},
		{"no displayName", "POST", "/Groups", `{"members": []}`, 400, "invalidValue"},
		{"PATCH without schemas", "PATCH", "/Users/" + id, `{"Operations": [{"op": "replace", "path": "title", "value": "x"}]}`, 400, "invalidSyntax"},
		{"PATCH unknown op", "PATCH", "/Users/" + id, patch(`{"op": "merge", "path": "title", "value": "x"}`), 400, "invalidSyntax"},
		{"PATCH bad path", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "emails[type eq", "value": "x"}`), 400, "invalidPath"},
		{"PATCH unknown path", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "shoeSize", "value": "x"}`), 400, "invalidPath"},
		{"PATCH read-only", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "groups", "value": []}`), 400, "mutability"},
		{"PATCH remove without path", "PATCH", "/Users/" + id, patch(`{"op": "remove"}`), 400, "noTarget"},
		{"PATCH no target", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "emails[value co \"zzz\"].type", "value": "work"}`), 400, "noTarget"},
		{"PATCH wrong type", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "active", "value": "maybe"}`), 400, "invalidSyntax"},
		// A good operation before a bad one: nothing is written.
		{"PATCH half bad", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "title", "value": "x"}, {"op": "replace", "path": "userName", "value": 7}`), 400, "invalidSyntax"},
		{"PATCH oversize", "PATCH", "/Users/" + id, patch(`{"op": "replace", "path": "title", "value": "` + long + `"}`), 400, "invalidValue"},
		{"PUT unknown attribute", "PUT", "/Users/" + id, `{"userName": "ivan", "colour": "x"}`, 400, "invalidValue"},
		{"PUT no userName", "PUT", "/Users/" + id, `{"title": "x"}`, 400, "invalidValue"},
		{"malformed id", "GET", "/Users/not-an-id", "", 404, ""},
		{"no such id", "DELETE", "/Users/00000000-0000-0000-0000-000000000000", "", 404, ""},
		{"no such endpoint", "GET", "/Bulk", "", 404, ""},
	}
	for _, tc := range cases {
		a := scimDo(t, s, rootAuth, tc.method, tc.path, tc.body)
		if a.status != tc.status || a.body["status"] != fmt.Sprint(tc.status) || (a.body["scimType"] != nil || tc.scimType != "") && a.body["scimType"] != tc.scimType ||
			!slices.Contains(toStrings(a.body["schemas"]), "urn:ietf:params:scim:api:messages:2.0:Error") || a.body["detail"] == "" {
			t.Errorf("%s: %d %s, want %d %q", tc.name, a.status, a.raw, tc.status, tc.scimType)
		}
	}
	if n := count(); n != entries {
		t.Errorf("refused requests changed the directory: %d entries, was %d", n, entries)
	}
	if got := readIvan(); !reflect.DeepEqual(got, ivan) {
		t.Errorf("refused requests changed ivan: %v, was %v", got, ivan)
	}
	// A DN in a userName is a value: the entry lands under ou=people.
	a := scimDo(t, s, rootAuth, "POST", "/Users", `{"userName": "evil,ou=groups,dc=example,dc=com"}`)
	if a.status != 201 {
		t.Fatalf("userName with a comma: %d %s", a.status, a.raw)
	}
	checkLDAP(t, c, "escaped RDN", `uid=evil\,ou\=groups\,dc\=example\,dc\=com,ou=people,`+testSuffix, map[string][]string{"uid": {"evil,ou=groups,dc=example,dc=com"}}, nil, false)
	// Wrong media type, oversize body, no credentials.
	if a := scimDo(t, s, rootAuth, "POST", "/Users", "", "Content-Type", "text/plain"); a.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", a.status)
	}
	big := `{"userName": "x2", "displayName": "` + strings.Repeat("y", 2<<20) + `"}`
	if a := scimDo(t, s, rootAuth, "POST", "/Users", big); a.status != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB body: %d", a.status)
	}
	a = scimDo(t, s, "", "GET", "/Users", "")
	if a.status != 401 || a.body["status"] != "401" || a.header.Get("WWW-Authenticate") == "" {
		t.Errorf("no credentials: %d %s %q", a.status, a.raw, a.header.Get("WWW-Authenticate"))
	}
	if a := scimDo(t, s, basicAuth(scimRoot, "wrong"), "GET", "/Users", ""); a.status != 401 {
		t.Errorf("wrong password: %d", a.status)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range asAnySlice(v) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func asAnySlice(v any) []any {
	l, _ := v.([]any)
	return l
}

// TestSCIMSchemaEndpoints: /ServiceProviderConfig, /Schemas, /ResourceTypes.
func TestSCIMSchemaEndpoints(t *testing.T) {
	s := startSCIM(t)
	a := scimDo(t, s, "", "GET", "/ServiceProviderConfig", "")
	want := map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"patch": map[string]any{"supported": true}, "bulk": map[string]any{"supported": false}, "filter": map[string]any{"supported": true, "maxResults": 1000},
		"sort": map[string]any{"supported": true}, "etag": map[string]any{"supported": true}, "changePassword": map[string]any{"supported": true}}
	if d := subset(want, a.body, ""); a.status != 200 || d != "" {
		t.Errorf("ServiceProviderConfig: %d %s %s", a.status, d, a.raw)
	}
	a = scimDo(t, s, "", "GET", "/Schemas", "")
	var ids []string
	for _, r := range asAnySlice(a.body["Resources"]) {
		ids = append(ids, r.(map[string]any)["id"].(string))
	}
	if a.status != 200 || !slices.Equal(ids, []string{"urn:ietf:params:scim:schemas:core:2.0:User",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group"}) {
		t.Errorf("Schemas: %d %q", a.status, ids)
	}
	a = scimDo(t, s, "", "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")
	var names []string
	for _, at := range asAnySlice(a.body["attributes"]) {
		names = append(names, at.(map[string]any)["name"].(string))
	}
	if a.status != 200 || !slices.Contains(names, "userName") || !slices.Contains(names, "emails") || slices.Contains(names, "nickName") {
		t.Errorf("User schema attributes: %q", names)
	}
	a = scimDo(t, s, "", "GET", "/ResourceTypes", "")
	want = map[string]any{"totalResults": 2, "Resources": []any{
		map[string]any{"id": "User", "endpoint": "/Users", "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
			"schemaExtensions": []any{map[string]any{"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": false}}},
		map[string]any{"id": "Group", "endpoint": "/Groups", "schema": "urn:ietf:params:scim:schemas:core:2.0:Group"}}}
	if d := subset(want, a.body, ""); a.status != 200 || d != "" {
		t.Errorf("ResourceTypes: %s %s", d, a.raw)
	}
	if a := scimDo(t, s, "", "GET", "/ResourceTypes/Group", ""); a.status != 200 || a.body["name"] != "Group" {
		t.Errorf("ResourceTypes/Group: %d %s", a.status, a.raw)
	}
	if a := scimDo(t, s, "", "GET", "/Schemas/urn:nope", ""); a.status != 404 {
		t.Errorf("unknown schema: %d", a.status)
	}
}

// TestSCIMTokens: a SCIM bearer token acts as its directory identity,
// whose access rules apply; a locked identity or a revoked token stops
// working; admin tokens do not open SCIM; no network client binds with
// the in-process identity.
func TestSCIMTokens(t *testing.T) {
	s := startSCIM(t)
	c := scimLDAP(t, s)
	rootTok := scimToken(t, s, rootAuth, "")
	if a := scimDo(t, s, "Bearer "+rootTok, "POST", "/Users", `{"userName": "judy"}`); a.status != 201 {
		t.Fatalf("create with the root's token: %d %s", a.status, a.raw)
	}
	readerTok := scimToken(t, s, rootAuth, "uid=reader,ou=people,"+testSuffix)
	if a := scimDo(t, s, "Bearer "+readerTok, "GET", "/Users?filter=userName+eq+%22judy%22", ""); a.status != 200 || fmt.Sprint(a.body["totalResults"]) != "1" {
		t.Errorf("read with the reader's token: %d %s", a.status, a.raw)
	}
	a := scimDo(t, s, "Bearer "+readerTok, "POST", "/Users", `{"userName": "kate"}`)
	if a.status != http.StatusForbidden || a.body["status"] != "403" {
		t.Errorf("write with the reader's token: %d %s, want 403", a.status, a.raw)
	}
	checkLDAP(t, c, "refused write", "uid=kate,ou=people,"+testSuffix, nil, nil, true)
	// HTTP Basic as the reader: the same rules.
	if a := scimDo(t, s, basicAuth("reader", "readerpw"), "POST", "/Users", `{"userName": "kate"}`); a.status != http.StatusForbidden {
		t.Errorf("write as the reader over Basic: %d %s", a.status, a.raw)
	}
	// A token whose identity is locked does not work.
	add := goldap.NewAddRequest("uid=locked,ou=people,"+testSuffix, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"locked"})
	add.Attribute("cn", []string{"L"})
	add.Attribute("sn", []string{"L"})
	add.Attribute("pwdAccountLockedTime", []string{"000001010000Z"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	lockedTok := scimToken(t, s, rootAuth, "uid=locked,ou=people,"+testSuffix)
	if a := scimDo(t, s, "Bearer "+lockedTok, "GET", "/Users", ""); a.status != 401 {
		t.Errorf("token of a locked identity: %d %s", a.status, a.raw)
	}
	// An admin API token is not a SCIM token, and a bogus one is refused.
	adminTok := adminToken(t, s)
	for _, tok := range []string{adminTok, "sbt_bogus", rootTok + "x"} {
		if a := scimDo(t, s, "Bearer "+tok, "GET", "/Users", ""); a.status != 401 || a.header.Get("WWW-Authenticate") == "" {
			t.Errorf("token %.8s...: %d", tok, a.status)
		}
	}
	// A network client cannot bind as an identity with SASL EXTERNAL.
	nc, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.ExternalBind(); err == nil {
		t.Error("SASL EXTERNAL over the network succeeded")
	}
}

// adminToken makes an admin API token as the root DN.
func adminToken(t *testing.T, s *testServer) string {
	t.Helper()
	req, _ := http.NewRequest("POST", "http://"+s.Admin+"/api/v1/tokens", strings.NewReader(`{}`))
	req.Header.Set("Authorization", rootAuth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var made struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&made)
	if made.Token == "" {
		t.Fatalf("admin token: %d", resp.StatusCode)
	}
	return made.Token
}

// TestSCIMDeactivateRefusesBind: with the password policy on, a user
// deactivated through SCIM cannot bind over LDAP, and can again once
// reactivated.
func TestSCIMDeactivateRefusesBind(t *testing.T) {
	s := startPPolicyServer(t, "pwdLockout: TRUE\n", map[string]string{})
	id := scimUser(t, s, `{"userName": "lena", "password": "lena-pw-1"}`)
	bind := func() error {
		c, err := goldap.DialURL(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Bind("uid=lena,ou=people,"+testSuffix, "lena-pw-1")
	}
	if err := bind(); err != nil {
		t.Fatalf("bind as the new user: %v", err)
	}
	active := func(v string) {
		t.Helper()
		a := scimDo(t, s, rootAuth, "PATCH", "/Users/"+id,
			`{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "replace", "path": "active", "value": `+v+`}]}`)
		if a.status != 200 || fmt.Sprint(a.body["active"]) != v {
			t.Fatalf("active=%s: %d %s", v, a.status, a.raw)
		}
	}
	active("false")
	if err := bind(); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Errorf("bind while deactivated: %v, want invalidCredentials", err)
	}
	active("true")
	if err := bind(); err != nil {
		t.Errorf("bind once reactivated: %v", err)
	}
}
