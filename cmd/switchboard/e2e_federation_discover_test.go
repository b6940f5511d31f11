package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// discoverHash is what a partner computes: SHA-256 of the export's salt
// text and the address, trimmed and lower-cased.
func discoverHash(salt, addr string) string {
	sum := sha256.Sum256([]byte(salt + strings.ToLower(strings.TrimSpace(addr))))
	return hex.EncodeToString(sum[:])
}

type discoverAnswer struct {
	Matches []struct {
		Hash string `json:"hash"`
		DN   string `json:"dn"`
	} `json:"matches"`
}

// discoverCall posts body (a []string of hashes, or a raw string) to s's
// discovery route as user with password pw ("" user: no credentials).
func discoverCall(t testing.TB, s *testServer, user, pw string, body any) (*http.Response, []byte) {
	t.Helper()
	var b []byte
	switch v := body.(type) {
	case string:
		b = []byte(v)
	case []string:
		b, _ = json.Marshal(map[string]any{"hashes": v})
	}
	req, err := http.NewRequest("POST", "http://"+s.Admin+"/api/v1/federation/discover", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

// discoverWant requires a status (a problem+json for errors) and returns
// the matches of a 200.
func discoverWant(t testing.TB, s *testServer, user, pw string, body any, status int) discoverAnswer {
	t.Helper()
	resp, out := discoverCall(t, s, user, pw, body)
	if resp.StatusCode != status {
		t.Fatalf("discover as %q: status %d, want %d: %s", user, resp.StatusCode, status, out)
	}
	var ans discoverAnswer
	if status != http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("discover as %q: %d with %s: %s", user, status, ct, out)
		}
		return ans
	}
	if err := json.Unmarshal(out, &ans); err != nil {
		t.Fatalf("discover: %v: %s", err, out)
	}
	return ans
}

// TestFederationDiscover: a partner with the discovery right finds an
// address of its export's view by salted hash and nothing else; wrong
// credentials, a missing right, too many hashes, a spent rate limit and
// a revoked export are refused; every request is audited without its
// hashes. SWITCHBOARD_DISCOVERY_PEOPLE sets the people loaded (default
// 300; the timings are logged).
func TestFederationDiscover(t *testing.T) {
	n := 300
	if v := os.Getenv("SWITCHBOARD_DISCOVERY_PEOPLE"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 30 {
			t.Fatalf("SWITCHBOARD_DISCOVERY_PEOPLE=%q: want a number >= 30", v)
		}
	}
	logA := filepath.Join(t.TempDir(), "audit.log")
	a := startServer(t, "", "--audit.file", logA)
	ac := dialRoot(t, a)
	addBase(t, ac)
	addFedPeople(t, ac, testSuffix, n)
	people := "ou=people," + testSuffix

	body := exportBody(people)
	body["discovery"] = true
	var ex struct {
		Discovery bool   `json:"discovery"`
		Salt      string `json:"discovery_salt"`
	}
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", body, http.StatusCreated, &ex)
	if !ex.Discovery || len(ex.Salt) != 64 {
		t.Fatalf("export: %+v", ex)
	}
	// The salt stays as long as discovery does; GET shows it.
	body["filter"] = "(|(departmentNumber=42)(uid=p1))"
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", body, http.StatusOK, &ex)
	var got struct {
		Salt string `json:"discovery_salt"`
	}
	fedWant(t, a, "GET", "/api/v1/federation/exports/beta", nil, http.StatusOK, &got)
	if got.Salt != ex.Salt {
		t.Fatalf("the salt changed: %s, then %s", ex.Salt, got.Salt)
	}
	body["filter"] = "(departmentNumber=42)"
	fedWant(t, a, "PUT", "/api/v1/federation/exports/beta", body, http.StatusOK, nil)
	noRight := exportBody(people)
	fedWant(t, a, "PUT", "/api/v1/federation/exports/gamma", noRight, http.StatusCreated, nil)
	salt := ex.Salt
	mail := func(i int) string { return fmt.Sprintf("p%d@%s", i, testSuffix) }

	// A hit (written otherwise than stored: normalised), by DN and by
	// export name; the first request builds the index.
	hit := discoverHash(salt, "  "+strings.ToUpper(mail(3))+" ")
	start := time.Now()
	ans := discoverWant(t, a, fedPartnerB, fedPassword, []string{hit}, http.StatusOK)
	cold := time.Since(start)
	if len(ans.Matches) != 1 || ans.Matches[0].Hash != hit || !strings.EqualFold(ans.Matches[0].DN, "uid=p3,"+people) {
		t.Fatalf("hit: %+v", ans)
	}
	start = time.Now()
	ans = discoverWant(t, a, "beta", fedPassword, []string{strings.ToUpper(hit)}, http.StatusOK)
	warm := time.Since(start)
	if len(ans.Matches) != 1 {
		t.Fatalf("hit by name: %+v", ans)
	}
	t.Logf("%d people: first request (index built) %v, next %v", n, cold.Round(time.Microsecond), warm.Round(time.Microsecond))
	// A miss; an address outside the view (department 7); the right
	// address with another salt; an address of the view among them.
	outside := discoverHash(salt, mail(1))
	ans = discoverWant(t, a, fedPartnerB, fedPassword,
		[]string{discoverHash(salt, "nobody@example.com"), outside, discoverHash(strings.Repeat("0", 64), mail(3)), discoverHash(salt, mail(6))},
		http.StatusOK)
	if len(ans.Matches) != 1 || !strings.EqualFold(ans.Matches[0].DN, "uid=p6,"+people) {
		t.Fatalf("miss, outside, wrong salt, hit: %+v", ans)
	}
	// A new entry of the view is found at once; one moved out is not.
	add := goldap.NewAddRequest("uid=new,"+people, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"new"})
	add.Attribute("cn", []string{"New"})
	add.Attribute("sn", []string{"New"})
	add.Attribute("mail", []string{"New.Person@Example.com"})
	add.Attribute("departmentNumber", []string{"42"})
	if err := ac.Add(add); err != nil {
		t.Fatal(err)
	}
	mod := goldap.NewModifyRequest("uid=p6,"+people, nil)
	mod.Replace("departmentNumber", []string{"7"})
	if err := ac.Modify(mod); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	ans = discoverWant(t, a, fedPartnerB, fedPassword, []string{discoverHash(salt, "new.person@example.com"), discoverHash(salt, mail(6))}, http.StatusOK)
	rebuilt := time.Since(start)
	if len(ans.Matches) != 1 || !strings.EqualFold(ans.Matches[0].DN, "uid=new,"+people) {
		t.Fatalf("after the changes: %+v", ans)
	}
	t.Logf("%d people: after a change (index rebuilt, password known) %v", n, rebuilt.Round(time.Microsecond))

	// Refusals, each a problem.
	resp, _ := discoverCall(t, a, fedPartnerB, "wrong password!", []string{hit})
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("wrong password: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	discoverWant(t, a, "cn=nobody,cn=federation", fedPassword, []string{hit}, http.StatusUnauthorized)
	discoverWant(t, a, "nobody", fedPassword, []string{hit}, http.StatusUnauthorized)
	discoverWant(t, a, "", "", []string{hit}, http.StatusUnauthorized)
	discoverWant(t, a, testRootDN, testRootPass, []string{hit}, http.StatusUnauthorized) // not a partner
	discoverWant(t, a, "gamma", fedPassword, []string{hit}, http.StatusForbidden)
	many := make([]string, 101)
	for i := range many {
		many[i] = discoverHash(salt, fmt.Sprintf("x%d@example.com", i))
	}
	discoverWant(t, a, "beta", fedPassword, many, http.StatusRequestEntityTooLarge)
	for _, bad := range []string{`{"hashes": ["*"]}`, `{"hashes": []}`, `{"hashes": ["` + hit + `"], "filter": "(mail=*)"}`, `not json`} {
		discoverWant(t, a, "beta", fedPassword, bad, http.StatusBadRequest)
	}

	// The rate limit: 1000 hashes at once, then 10 a second.
	limited := false
	for i := 0; i < 12 && !limited; i++ {
		resp, out := discoverCall(t, a, "beta", fedPassword, many[:100])
		switch resp.StatusCode {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			limited = true
			if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 ||
				resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("429: Retry-After %q, %s: %s", resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), out)
			}
		default:
			t.Fatalf("request %d: %d %s", i, resp.StatusCode, out)
		}
	}
	if !limited {
		t.Fatal("1,200 hashes in a row: never limited")
	}

	// Audit: who, how many, how many matched; never a hash or an address.
	recs := auditRecords(t, logA, "federation.discover")
	var okRec, badRec, limRec bool
	for _, r := range recs {
		okRec = okRec || strings.Contains(r, "# who: "+fedPartnerB+"\n") && strings.Contains(r, "# object: beta\n") &&
			strings.Contains(r, "# detail: hashes=4\n") && strings.Contains(r, "# detail: matched=1\n") && strings.Contains(r, "# result: 0 success\n")
		badRec = badRec || strings.Contains(r, "# who: "+fedPartnerB+"\n") && strings.Contains(r, "invalid credentials")
		limRec = limRec || strings.Contains(r, "rate limit")
	}
	if !okRec || !badRec || !limRec {
		t.Fatalf("audit records (success %v, bad password %v, limited %v):\n%s", okRec, badRec, limRec, strings.Join(recs, "\n\n"))
	}
	if b, _ := os.ReadFile(logA); bytes.Contains(b, []byte(hit)) || bytes.Contains(b, []byte(outside)) {
		t.Fatal("the audit log holds a hash")
	}
	if v, ok := fedMetric(t, a, `switchboard_federation_discover_matches_total{export="beta"}`); !ok || v < 4 {
		t.Fatalf("discover matches metric %v %v", v, ok)
	}
	if v, ok := fedMetric(t, a, `switchboard_federation_discover_limited_total{export="beta"}`); !ok || v < 1 {
		t.Fatalf("discover limited metric %v %v", v, ok)
	}

	// Revoked: the partner's credentials are refused.
	fedWant(t, a, "DELETE", "/api/v1/federation/exports/beta", nil, http.StatusNoContent, nil)
	discoverWant(t, a, fedPartnerB, fedPassword, []string{hit}, http.StatusUnauthorized)
	discoverWant(t, a, "beta", fedPassword, []string{hit}, http.StatusUnauthorized)
}
