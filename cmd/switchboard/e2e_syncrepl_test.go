package main

// RFC 4533 provider end to end: go-ldap's Syncrepl client against the real
// binary (refreshOnly with and without a cookie, the delete phase, the
// persist phase), and OpenLDAP slapd as a syncrepl consumer
// (e2e_syncrepl_slapd_test.go).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// syncResult is what one sync search returned.
type syncResult struct {
	states         map[string]goldap.ControlSyncStateState // entryUUID -> last state
	dns            map[string]string                       // entryUUID -> DN
	deleted        []string                                // from syncIdSet
	cookie         []byte                                  // last cookie seen
	refreshDeletes bool
	entries        int
}

func newSyncResult() *syncResult {
	return &syncResult{states: map[string]goldap.ControlSyncStateState{}, dns: map[string]string{}}
}

// take records one response of a sync search; it reports whether the
// refresh phase ended with it.
func (r *syncResult) take(t *testing.T, res goldap.Response) bool {
	t.Helper()
	ended := false
	for _, c := range res.Controls() {
		switch c := c.(type) {
		case *goldap.ControlSyncState:
			r.states[c.EntryUUID.String()] = c.State
			if e := res.Entry(); e != nil {
				r.dns[c.EntryUUID.String()] = e.DN
			}
			r.entries++
			if c.Cookie != nil {
				r.cookie = c.Cookie
			}
		case *goldap.ControlSyncInfo:
			switch {
			case c.NewCookie != nil:
				r.cookie = c.NewCookie.Cookie
			case c.RefreshDelete != nil:
				r.cookie, ended, r.refreshDeletes = c.RefreshDelete.Cookie, c.RefreshDelete.RefreshDone, true
			case c.RefreshPresent != nil:
				r.cookie, ended = c.RefreshPresent.Cookie, c.RefreshPresent.RefreshDone
			case c.SyncIdSet != nil:
				for _, u := range c.SyncIdSet.SyncUUIDs {
					r.deleted = append(r.deleted, u.String())
				}
			}
		case *goldap.ControlSyncDone:
			r.cookie, r.refreshDeletes, ended = c.Cookie, c.RefreshDeletes, true
		}
	}
	return ended
}

func refreshOnly(t *testing.T, c *goldap.Conn, cookie []byte) *syncResult {
	t.Helper()
	req := goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "+"}, nil)
	res := c.Syncrepl(context.Background(), req, 64, goldap.SyncRequestModeRefreshOnly, cookie, false)
	out := newSyncResult()
	for res.Next() {
		out.take(t, res)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("sync search: %v", err)
	}
	return out
}

func entryUUID(t *testing.T, c *goldap.Conn, dn string) string {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"entryUUID", "entryCSN"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	if res.Entries[0].GetAttributeValue("entryCSN") == "" {
		t.Errorf("%s has no entryCSN", dn)
	}
	return res.Entries[0].GetAttributeValue("entryUUID")
}

func addPerson(t testing.TB, c *goldap.Conn, uid string) {
	t.Helper()
	addPersonAt(t, c, uid, "ou=people,"+testSuffix)
}

// addPersonAt adds person uid below parent.
func addPersonAt(t testing.TB, c *goldap.Conn, uid, parent string) {
	t.Helper()
	a := goldap.NewAddRequest("uid="+uid+","+parent, nil)
	a.Attribute("objectClass", []string{"inetOrgPerson"})
	a.Attribute("uid", []string{uid})
	a.Attribute("cn", []string{"Person " + uid})
	a.Attribute("sn", []string{uid})
	if err := c.Add(a); err != nil {
		t.Fatalf("add %s: %v", uid, err)
	}
}

func addBase(t testing.TB, c *goldap.Conn) {
	t.Helper()
	a := goldap.NewAddRequest(testSuffix, nil)
	a.Attribute("objectClass", []string{"top", "dcObject", "organization"})
	a.Attribute("dc", []string{"example"})
	a.Attribute("o", []string{"Example"})
	if err := c.Add(a); err != nil {
		t.Fatalf("add suffix: %v", err)
	}
	for _, ou := range []string{"people", "groups"} {
		a := goldap.NewAddRequest("ou="+ou+","+testSuffix, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		a.Attribute("ou", []string{ou})
		if err := c.Add(a); err != nil {
			t.Fatalf("add ou=%s: %v", ou, err)
		}
	}
}

func TestSyncreplGoLDAP(t *testing.T) {
	s := startServer(t, "")
	c := dialRoot(t, s)
	addBase(t, c)
	for i := range 5 {
		addPerson(t, c, fmt.Sprintf("p%d", i))
	}

	// Initial refresh: everything, as add, parents first.
	first := refreshOnly(t, c, nil)
	if first.entries != 8 || first.refreshDeletes {
		t.Fatalf("initial refresh: %d entries, refreshDeletes %v; want 8, false", first.entries, first.refreshDeletes)
	}
	if !strings.HasPrefix(string(first.cookie), "csn=") || !strings.Contains(string(first.cookie), "#001#") {
		t.Errorf("cookie %q is not csn=<CSN of replica 1>", first.cookie)
	}
	gone := entryUUID(t, c, "uid=p1,ou=people,"+testSuffix)
	changed := entryUUID(t, c, "uid=p2,ou=people,"+testSuffix)
	moved := entryUUID(t, c, "uid=p3,ou=people,"+testSuffix)

	// Nothing changed: the log covers the cookie and sends nothing.
	same := refreshOnly(t, c, first.cookie)
	if same.entries != 0 || len(same.deleted) != 0 || !same.refreshDeletes {
		t.Errorf("unchanged refresh: %d entries, %d deleted, refreshDeletes %v", same.entries, len(same.deleted), same.refreshDeletes)
	}

	// Changes: the delete phase sends exactly them.
	if err := c.Del(goldap.NewDelRequest("uid=p1,ou=people,"+testSuffix, nil)); err != nil {
		t.Fatal(err)
	}
	m := goldap.NewModifyRequest("uid=p2,ou=people,"+testSuffix, nil)
	m.Replace("description", []string{"changed"})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyDN(goldap.NewModifyDNRequest("uid=p3,ou=people,"+testSuffix, "uid=p3b", true, "")); err != nil {
		t.Fatal(err)
	}
	addPerson(t, c, "p9")
	delta := refreshOnly(t, c, first.cookie)
	if !delta.refreshDeletes || delta.entries != 3 || !slices.Equal(delta.deleted, []string{gone}) {
		t.Errorf("delta refresh: %d entries %v, deleted %v, refreshDeletes %v; want 3 entries, [%s], true",
			delta.entries, delta.dns, delta.deleted, delta.refreshDeletes, gone)
	}
	if delta.dns[changed] == "" || delta.dns[moved] != "uid=p3b,ou=people,"+testSuffix {
		t.Errorf("delta refresh entries: %v", delta.dns)
	}
	if string(delta.cookie) <= string(first.cookie) {
		t.Errorf("cookie did not advance: %q then %q", first.cookie, delta.cookie)
	}

	// A cookie from before the log (a CSN older than anything kept,
	// here of an unknown replica) still works: replicas the log never saw
	// are ignored; a malformed cookie is a protocol error.
	req := goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil)
	res := c.Syncrepl(context.Background(), req, 8, goldap.SyncRequestModeRefreshOnly, []byte("csn=garbage"), false)
	for res.Next() {
	}
	if err := res.Err(); !goldap.IsErrorWithCode(err, goldap.LDAPResultProtocolError) {
		t.Errorf("malformed cookie: %v, want protocolError", err)
	}

	// refreshAndPersist: the refresh from the cookie, then live changes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pc := dialRoot(t, s)
	pres := pc.Syncrepl(ctx, goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"*", "+"}, nil), 64, goldap.SyncRequestModeRefreshAndPersist, delta.cookie, false)
	live := newSyncResult()
	for pres.Next() {
		if live.take(t, pres) {
			break
		}
	}
	if live.entries != 0 || !live.refreshDeletes {
		t.Fatalf("persist refresh from an up-to-date cookie: %d entries, refreshDeletes %v", live.entries, live.refreshDeletes)
	}
	addPerson(t, c, "p10")
	m = goldap.NewModifyRequest("uid=p2,ou=people,"+testSuffix, nil)
	m.Replace("description", []string{"again"})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(goldap.NewDelRequest("uid=p9,ou=people,"+testSuffix, nil)); err != nil {
		t.Fatal(err)
	}
	// Not in the content (filter): no message.
	mo := goldap.NewModifyRequest("ou=groups,"+testSuffix, nil)
	mo.Replace("description", []string{"x"})
	if err := c.Modify(mo); err != nil {
		t.Fatal(err)
	}
	var got []goldap.ControlSyncStateState
	deadline := time.After(10 * time.Second)
	for len(got) < 3 {
		done := make(chan bool)
		go func() { done <- pres.Next() }()
		select {
		case ok := <-done:
			if !ok {
				t.Fatalf("persist ended: %v", pres.Err())
			}
			for _, ctl := range pres.Controls() {
				if st, ok := ctl.(*goldap.ControlSyncState); ok {
					got = append(got, st.State)
					if st.Cookie == nil {
						t.Errorf("persist entry without a cookie")
					}
				}
			}
		case <-deadline:
			t.Fatalf("persist phase: got %v after 10 s", got)
		}
	}
	want := []goldap.ControlSyncStateState{goldap.SyncStateAdd, goldap.SyncStateModify, goldap.SyncStateDelete}
	if !slices.Equal(got, want) {
		t.Errorf("persist states %v, want %v", got, want)
	}
	// contextCSN on the suffix entry: one value, for replica 1.
	r, err := c.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"contextCSN"}, nil))
	if err != nil || len(r.Entries) != 1 || len(r.Entries[0].GetAttributeValues("contextCSN")) != 1 || !strings.Contains(r.Entries[0].GetAttributeValue("contextCSN"), "#001#") {
		t.Errorf("contextCSN: %v %v", r, err)
	}
}

// TestChangelogSurvivesKill writes while the server is killed with
// SIGKILL, restarts it, and checks that the changelog and the entries
// agree: a sync from the start of the log lists exactly the entries that
// exist, and every entryCSN is covered by contextCSN.
func TestChangelogSurvivesKill(t *testing.T) {
	s := startServer(t, "")
	c := dialRoot(t, s)
	addBase(t, c)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		wc, err := goldap.DialURL(s.URL)
		if err != nil {
			done <- 0
			return
		}
		wc.Bind(testRootDN, testRootPass)
		n := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			a := goldap.NewAddRequest(fmt.Sprintf("uid=k%d,ou=people,%s", i, testSuffix), nil)
			a.Attribute("objectClass", []string{"inetOrgPerson"})
			a.Attribute("uid", []string{fmt.Sprintf("k%d", i)})
			a.Attribute("cn", []string{"k"})
			a.Attribute("sn", []string{"k"})
			if wc.Add(a) != nil {
				done <- n
				return
			}
			if i%3 == 2 {
				wc.Del(goldap.NewDelRequest(fmt.Sprintf("uid=k%d,ou=people,%s", i-1, testSuffix), nil))
			}
			n++
		}
	}()
	time.Sleep(700 * time.Millisecond)
	s.Kill()
	close(stop)
	written := <-done
	s.start()
	c = dialRoot(t, s)

	res, err := c.SearchWithPaging(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"entryUUID", "entryCSN"}, nil), 500)
	if err != nil {
		t.Fatal(err)
	}
	ctx := contextCSN(t, s.URL)
	if len(ctx) != 1 {
		t.Fatalf("contextCSN after restart: %v", ctx)
	}
	want := map[string]bool{}
	for _, e := range res.Entries {
		want[e.GetAttributeValue("entryUUID")] = true
		if csn := e.GetAttributeValue("entryCSN"); csn == "" || csn > ctx[0] {
			t.Errorf("%s: entryCSN %q not covered by contextCSN %s", e.DN, csn, ctx[0])
		}
	}
	all := refreshOnly(t, c, []byte("rid=001,csn=19700101000000.000000Z#000000#001#000000"))
	if !all.refreshDeletes {
		t.Fatalf("the log does not cover its own start")
	}
	for u := range all.states {
		if !want[u] {
			t.Errorf("the log lists %s as present; it is not", u)
		}
	}
	for u := range want {
		if _, ok := all.states[u]; !ok {
			t.Errorf("entry %s exists but the log has no record of it", u)
		}
	}
	t.Logf("%d writes before SIGKILL; %d entries after restart, all in the log", written, len(want))
}
