package main

import (
	"os"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

// TestSyncreplConsumerGlue: a consumer whose filter leaves out the
// organizational units (only people are sent) holds glue entries for
// them, as OpenLDAP's syncrepl does, instead of failing the refresh: in
// the refresh, in persist mode, across a restart; a glue entry goes when
// nothing is below it.
func TestSyncreplConsumerGlue(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	people := "ou=people," + testSuffix
	// Children before their parents' siblings, so that the provider's
	// order does not always put a unit first.
	addOU(t, ac, "ou=sales,"+people)
	addOU(t, ac, "ou=west,ou=sales,"+people)
	addPersonAt(t, ac, "w0", "ou=west,ou=sales,"+people)
	addOU(t, ac, "ou=eng,"+people)
	for _, uid := range []string{"p0", "p1"} {
		addPersonAt(t, ac, uid, people)
	}
	addPersonAt(t, ac, "s0", "ou=sales,"+people)
	addPersonAt(t, ac, "s1", "ou=sales,"+people)
	addPersonAt(t, ac, "e0", "ou=eng,"+people)

	local := "ou=partner," + testSuffix
	cfg := syncreplServerConfig(t, "name: partner", "provider: "+a.URL, "bind_dn: "+testRootDN, "password: "+testRootPass,
		"search_base: "+people, "scope: sub", "filter: (objectClass=inetOrgPerson)",
		"local_base: "+local, "type: refreshAndPersist")
	b := startServer(t, "", "--config", cfg)
	bc := dialRoot(t, b)
	// The suffix, not ou=partner: a subtree copy's base is glue too when
	// the provider does not send it. The consumer may have tried before
	// the suffix existed: it retries.
	addBase(t, bc)
	waitStatus(t, b, time.Minute, "copied the people under glue", func(st replication.SyncreplStatus) bool {
		return st.Entries == 6 && st.Glue == 4
	})
	isGlue := func(dn string) bool { t.Helper(); return isGlueEntry(t, bc, dn) }
	exists := func(dn string) bool { t.Helper(); return entryExists(t, bc, dn) }
	for _, dn := range []string{local, "ou=sales," + local, "ou=west,ou=sales," + local, "ou=eng," + local} {
		if !isGlue(dn) {
			t.Errorf("%s: not glue", dn)
		}
	}
	for _, dn := range []string{"uid=w0,ou=west,ou=sales," + local, "uid=s1,ou=sales," + local, "uid=p0," + local, "uid=e0,ou=eng," + local} {
		if !exists(dn) {
			t.Errorf("%s: missing", dn)
		}
	}

	// Persist mode: a person in a new unit gets glue at once; the last
	// person of a unit leaving takes the glue with it.
	addOU(t, ac, "ou=ops,"+people)
	addPersonAt(t, ac, "o0", "ou=ops,"+people)
	waitStatus(t, b, 30*time.Second, "added o0 under new glue", func(st replication.SyncreplStatus) bool {
		return st.Entries == 7 && st.Glue == 5
	})
	if !exists("uid=o0,ou=ops,"+local) || !isGlue("ou=ops,"+local) {
		t.Fatal("o0 is not under glue ou=ops")
	}
	if err := ac.Del(goldap.NewDelRequest("uid=e0,ou=eng,"+people, nil)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 30*time.Second, "removed e0 and its glue", func(st replication.SyncreplStatus) bool {
		return st.Entries == 6 && st.Glue == 4
	})
	if exists("ou=eng," + local) {
		t.Error("glue ou=eng is still there with nothing below it")
	}
	// w0 moves up: ou=west is left empty; ou=sales still holds s0 and s1.
	mv := goldap.NewModifyDNRequest("uid=w0,ou=west,ou=sales,"+people, "uid=w0", true, people)
	if err := ac.ModifyDN(mv); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, 30*time.Second, "moved w0 and removed glue ou=west", func(st replication.SyncreplStatus) bool {
		return st.Glue == 3
	})
	if !exists("uid=w0,"+local) || exists("ou=west,ou=sales,"+local) || !exists("ou=sales,"+local) {
		t.Error("after the move: want uid=w0 under the base, no ou=west, ou=sales kept")
	}

	// Restarted, the consumer knows its glue again from the store.
	b.Restart()
	bc = dialRoot(t, b)
	addPersonAt(t, ac, "s2", "ou=sales,"+people)
	waitStatus(t, b, time.Minute, "added s2 after the restart", func(st replication.SyncreplStatus) bool {
		return st.Entries == 7 && st.Glue == 3
	})
	if !exists("uid=s2,ou=sales," + local) {
		t.Error("s2 missing under glue ou=sales after the restart")
	}
}

// TestSyncreplConsumerScopeOneKeepsBase: with scope one the provider
// never sends the base entry, so the local base (created locally, as the
// README says) is not the consumer's: a full refresh after a change of
// configuration keeps it instead of failing to remove it from under the
// copied entries.
func TestSyncreplConsumerScopeOneKeepsBase(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	for _, uid := range []string{"p0", "p1", "p2"} {
		addPerson(t, ac, uid)
	}
	local := "ou=partner," + testSuffix
	item := func(filter string) []string {
		return []string{"name: partner", "provider: " + a.URL, "bind_dn: " + testRootDN, "password: " + testRootPass,
			"search_base: ou=people," + testSuffix, "scope: one", "filter: " + filter, "local_base: " + local, "type: refreshAndPersist"}
	}
	cfg := syncreplServerConfig(t, item("(objectClass=inetOrgPerson)")...)
	b := startServer(t, "", "--config", cfg)
	bc := dialRoot(t, b)
	addBase(t, bc)
	addOU(t, bc, local)
	waitStatus(t, b, time.Minute, "copied the people", func(st replication.SyncreplStatus) bool { return st.Entries == 3 })

	// Another filter: the stored cookie no longer applies, full refresh.
	again := syncreplServerConfig(t, item("(uid=*)")...)
	data, err := os.ReadFile(again)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, data, 0o600); err != nil {
		t.Fatal(err)
	}
	b.Restart()
	st := waitStatus(t, b, time.Minute, "refreshed in full again", func(st replication.SyncreplStatus) bool {
		return st.FullRefreshes >= 1 && st.Refreshes >= 1 && st.Entries == 3
	})
	if st.LastError != "" {
		t.Errorf("the full refresh failed first: %s", st.LastError)
	}
	bc = dialRoot(t, b)
	res, err := bc.Search(goldap.NewSearchRequest(local, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"ou"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("the local base after the full refresh: %v", err)
	}
}

// TestSyncreplConsumerDeleteKeepsChildrenAsGlue: with a partial feed an
// entry can leave the provider's content (it no longer matches the
// filter) while entries below it still match: the consumer keeps it as
// glue, as OpenLDAP's syncrepl does, and removes the glue with its last
// child, instead of failing the session or orphaning the children.
func TestSyncreplConsumerDeleteKeepsChildrenAsGlue(t *testing.T) {
	a := startServer(t, "")
	ac := dialRoot(t, a)
	addBase(t, ac)
	people := "ou=people," + testSuffix
	addOU(t, ac, "ou=sales,"+people)
	addPersonAt(t, ac, "s0", "ou=sales,"+people)
	addPersonAt(t, ac, "s1", "ou=sales,"+people)
	local := "ou=partner," + testSuffix
	cfg := syncreplServerConfig(t, "name: partner", "provider: "+a.URL, "bind_dn: "+testRootDN, "password: "+testRootPass,
		"search_base: "+people, "scope: sub", "filter: (!(description=hidden))",
		"local_base: "+local, "type: refreshAndPersist")
	b := startServer(t, "", "--config", cfg)
	bc := dialRoot(t, b)
	addBase(t, bc)
	// (It may have failed before the suffix existed: Errors counts.)
	before := waitStatus(t, b, time.Minute, "copied the unit and its people", func(st replication.SyncreplStatus) bool {
		return st.Entries == 4 && st.Glue == 0 && st.State == replication.SyncreplPersisting
	})
	hide := goldap.NewModifyRequest("ou=sales,"+people, nil)
	hide.Add("description", []string{"hidden"})
	if err := ac.Modify(hide); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, b, 30*time.Second, "ou=sales left the content, kept as glue", func(st replication.SyncreplStatus) bool {
		return st.Entries == 3 && st.Glue == 1 || st.Errors > before.Errors
	})
	if st.Errors > before.Errors {
		t.Fatalf("the session failed: %s", st.LastError)
	}
	if !isGlueEntry(t, bc, "ou=sales,"+local) || !entryExists(t, bc, "uid=s0,ou=sales,"+local) {
		t.Fatal("ou=sales is not glue over s0")
	}
	for _, uid := range []string{"s0", "s1"} {
		if err := ac.Del(goldap.NewDelRequest("uid="+uid+",ou=sales,"+people, nil)); err != nil {
			t.Fatal(err)
		}
	}
	waitStatus(t, b, 30*time.Second, "the glue went with the last child", func(st replication.SyncreplStatus) bool {
		return st.Entries == 1 && st.Glue == 0
	})
	if entryExists(t, bc, "ou=sales,"+local) {
		t.Error("glue ou=sales is still there with nothing below it")
	}
}

// addOU adds the organizational unit dn.
func addOU(t testing.TB, c *goldap.Conn, dn string) {
	t.Helper()
	r := goldap.NewAddRequest(dn, nil)
	r.Attribute("objectClass", []string{"organizationalUnit"})
	rdn, _ := goldap.ParseDN(dn)
	r.Attribute("ou", []string{rdn.RDNs[0].Attributes[0].Value})
	if err := c.Add(r); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// isGlueEntry reports whether the entry at dn is syncrepl glue.
func isGlueEntry(t testing.TB, c *goldap.Conn, dn string) bool {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"switchboardGlue", "objectClass", "ou"}, nil))
	if err != nil {
		t.Fatalf("read %s: %v", dn, err)
	}
	return res.Entries[0].GetAttributeValue("switchboardGlue") == "TRUE"
}

// entryExists reports whether dn names an entry.
func entryExists(t testing.TB, c *goldap.Conn, dn string) bool {
	t.Helper()
	_, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return false
	}
	if err != nil {
		t.Fatalf("read %s: %v", dn, err)
	}
	return true
}
