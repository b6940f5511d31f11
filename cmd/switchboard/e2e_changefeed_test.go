package main

// Change feeds (persistent search, content synchronization) under load
// and at tricky bases: every committed change is notified once, in
// commit order per entry, as the change left the entry; nothing leaks
// across sibling subtrees whose DNs differ only by escaping.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// feedNote is one notification as a test expects or got it.
type feedNote struct {
	dn, description string
	typ             int64 // ECN changeType; 0 without returnECs
	prev            string
}

func (n feedNote) String() string {
	return fmt.Sprintf("%d %s desc=%q prev=%q", n.typ, n.dn, n.description, n.prev)
}

// collectNotes reads up to n entries of search id from p, keyed by their
// cn, until the stream stays silent for a few seconds.
func collectNotes(t *testing.T, p *psClient, id int64, n int) map[string][]feedNote {
	t.Helper()
	out := map[string][]feedNote{}
	for i := range n {
		m, err := p.tryNext(5 * time.Second)
		if err != nil {
			t.Errorf("search #%d: %v after %d of %d notifications", id, err, i, n)
			break
		}
		if m.id != id || m.tag != goldap.ApplicationSearchResultEntry {
			t.Fatalf("got %v, want a notification of search #%d", m, id)
		}
		note := feedNote{dn: strings.ToLower(m.dn)}
		if d := m.attrs["description"]; len(d) > 0 {
			note.description = d[0]
		}
		if m.ecn != nil {
			note.typ, note.prev = m.ecn.changeType, strings.ToLower(m.ecn.previousDN)
		}
		cn := m.attrs["cn"]
		if len(cn) != 1 {
			t.Fatalf("notification without its cn: %v", m)
		}
		out[cn[0]] = append(out[cn[0]], note)
	}
	return out
}

// TestE2EPersistentSearchBackToBack: four writers each add, modify,
// rename, modify again and delete their own entries back to back (1,008
// operations); two persistent searches (changesOnly without ECNs, and
// with the initial set and ECNs) get every change once, in order, each
// with the entry as that change left it and its DN of that moment. A
// notifier that reads the entry when it sends drops the modifies before
// a delete and reports a modify before a rename under the later DN.
func TestE2EPersistentSearchBackToBack(t *testing.T) {
	s := startServer(t, "", "--demo")
	root := dialRoot(t, s)
	ou := "ou=churn," + testSuffix
	a := goldap.NewAddRequest(ou, nil)
	a.Attribute("objectClass", []string{"organizationalUnit"})
	a.Attribute("ou", []string{"churn"})
	if err := root.Add(a); err != nil {
		t.Fatal(err)
	}
	const writers, perWriter = 4, 42 // 168 entries, 6 operations each
	filter := "(objectClass=inetOrgPerson)"
	attrs := []string{"cn", "description"}
	p1 := dialPS(t, s)
	id1 := p1.search(ou, filter, attrs, psControl(15, true, false))
	p2 := dialPS(t, s)
	id2 := p2.search(ou, filter, attrs, psControl(15, false, true))
	p1.quiet(300 * time.Millisecond)
	p2.quiet(10 * time.Millisecond) // the initial set is empty: no entry yet

	want1, want2 := map[string][]feedNote{}, map[string][]feedNote{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := goldap.DialURL(s.URL)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			if err := c.Bind(testRootDN, testRootPass); err != nil {
				errs <- err
				return
			}
			for i := range perWriter {
				cn := fmt.Sprintf("w%de%d", w, i)
				dn0 := "uid=" + cn + "," + ou
				dn1 := "uid=" + cn + "-moved," + ou
				add := goldap.NewAddRequest(dn0, nil)
				add.Attribute("objectClass", []string{"inetOrgPerson"})
				add.Attribute("uid", []string{cn})
				add.Attribute("cn", []string{cn})
				add.Attribute("sn", []string{cn})
				mod := func(dn, v string) error {
					m := goldap.NewModifyRequest(dn, nil)
					m.Replace("description", []string{v})
					return c.Modify(m)
				}
				for _, op := range []func() error{
					func() error { return c.Add(add) },
					func() error { return mod(dn0, "m1") },
					func() error { return mod(dn0, "m2") },
					func() error { return c.ModifyDN(goldap.NewModifyDNRequest(dn0, "uid="+cn+"-moved", true, "")) },
					func() error { return mod(dn1, "m3") },
					func() error { return c.Del(goldap.NewDelRequest(dn1, nil)) },
				} {
					if err := op(); err != nil {
						errs <- fmt.Errorf("%s: %w", cn, err)
						return
					}
				}
			}
		}()
		for i := range perWriter {
			cn := fmt.Sprintf("w%de%d", w, i)
			dn0 := strings.ToLower("uid=" + cn + "," + ou)
			dn1 := strings.ToLower("uid=" + cn + "-moved," + ou)
			want2[cn] = []feedNote{{dn0, "", 1, ""}, {dn0, "m1", 4, ""}, {dn0, "m2", 4, ""},
				{dn1, "m2", 8, dn0}, {dn1, "m3", 4, ""}, {dn1, "m3", 2, ""}}
			for _, n := range want2[cn] {
				n.typ, n.prev = 0, ""
				want1[cn] = append(want1[cn], n)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := writers * perWriter * 6
	for _, c := range []struct {
		p    *psClient
		id   int64
		want map[string][]feedNote
	}{{p1, id1, want1}, {p2, id2, want2}} {
		got := collectNotes(t, c.p, c.id, total)
		bad := 0
		for cn, want := range c.want {
			if !slices.Equal(got[cn], want) {
				if bad++; bad <= 5 {
					t.Errorf("search #%d, %s:\n got %v\nwant %v", c.id, cn, got[cn], want)
				}
			}
		}
		if bad > 0 {
			t.Errorf("search #%d: %d of %d entries notified wrongly", c.id, bad, len(c.want))
		}
		c.p.quiet(300 * time.Millisecond) // nothing more: each change once
	}
}

// TestE2EChangeFeedSiblingBases: sibling subtrees whose DNs differ only
// by an escaped comma (ou=b; ou=a\,ou=b, whose DN string ends with the
// first's; ou=a\,b) each get a persistent search and a refreshAndPersist
// sync search; changes in one are notified to its own searches only.
func TestE2EChangeFeedSiblingBases(t *testing.T) {
	s := startServer(t, "", "--demo")
	root := dialRoot(t, s)
	bases := []struct{ rdn, value string }{{`ou=b`, "b"}, {`ou=a\,ou=b`, "a,ou=b"}, {`ou=a\,b`, "a,b"}}
	dns := make([]string, len(bases))
	for i, b := range bases {
		dns[i] = b.rdn + "," + testSuffix
		a := goldap.NewAddRequest(dns[i], nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		a.Attribute("ou", []string{b.value})
		if err := root.Add(a); err != nil {
			t.Fatalf("add %s: %v", dns[i], err)
		}
	}
	ps := make([]*psClient, len(dns))
	ids := make([]int64, len(dns))
	for i, dn := range dns {
		ps[i] = dialPS(t, s)
		ids[i] = ps[i].search(dn, "(objectClass=*)", []string{"cn", "description"}, psControl(15, true, true))
	}
	ps[0].quiet(300 * time.Millisecond)
	// A sync consumer per base too (refreshAndPersist, go-ldap).
	syncs := make([]*syncPersist, len(dns))
	for i, dn := range dns {
		syncs[i] = startSyncPersist(t, s, dn)
	}

	for i, dn := range dns {
		cn := fmt.Sprintf("x%d", i)
		en := "cn=" + cn + "," + dn
		a := goldap.NewAddRequest(en, nil)
		a.Attribute("objectClass", []string{"person"})
		a.Attribute("cn", []string{cn})
		a.Attribute("sn", []string{cn})
		if err := root.Add(a); err != nil {
			t.Fatalf("add %s: %v", en, err)
		}
		m := goldap.NewModifyRequest(en, nil)
		m.Replace("description", []string{"d"})
		if err := root.Modify(m); err != nil {
			t.Fatal(err)
		}
		if err := root.ModifyDN(goldap.NewModifyDNRequest(en, "cn="+cn+"r", true, "")); err != nil {
			t.Fatal(err)
		}
		if err := root.Del(goldap.NewDelRequest("cn="+cn+"r,"+dn, nil)); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range ps {
		for j, typ := range []int64{1, 4, 8, 2} {
			m := p.next(10 * time.Second)
			want := fmt.Sprintf("x%d", i)
			if j >= 2 {
				want += "r"
			}
			if m.id != ids[i] || m.ecn == nil || m.ecn.changeType != typ || !slices.Equal(m.attrs["cn"], []string{want}) ||
				!strings.HasSuffix(strings.ToLower(m.dn), ","+strings.ToLower(dns[i])) {
				t.Fatalf("search at %s, notification %d: got %v %v, want change %d of cn=%s", dns[i], j, m, m.attrs["cn"], typ, want)
			}
		}
		p.quiet(300 * time.Millisecond)
	}
	for i, sp := range syncs {
		got := sp.states(t, 4)
		want := []string{"add x" + fmt.Sprint(i), "modify x" + fmt.Sprint(i), "modify x" + fmt.Sprint(i) + "r", "delete "}
		for k := range got {
			if !strings.HasPrefix(got[k], want[k]) {
				t.Fatalf("sync at %s: got %v, want %v", dns[i], got, want)
			}
		}
		sp.quiet(t, 300*time.Millisecond)
	}
}

// syncPersist is a go-ldap refreshAndPersist sync search run in the
// background.
type syncPersist struct {
	mu   sync.Mutex
	got  []string // "add cn", "modify cn", "delete ", ...
	err  error
	more chan struct{}
}

func startSyncPersist(t *testing.T, s *testServer, base string) *syncPersist {
	t.Helper()
	c := dialRoot(t, s)
	return runSyncPersist(t, c, base, "(objectClass=person)")
}

func runSyncPersist(t *testing.T, c *goldap.Conn, base, filter string) *syncPersist {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	res := c.Syncrepl(ctx, goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"cn"}, nil), 64, goldap.SyncRequestModeRefreshAndPersist, nil, false)
	sp := &syncPersist{more: make(chan struct{}, 1)}
	refreshed := make(chan struct{})
	go func() {
		inPersist := false
		for res.Next() {
			for _, ctl := range res.Controls() {
				switch ctl := ctl.(type) {
				case *goldap.ControlSyncInfo:
					if !inPersist && (ctl.RefreshPresent != nil || ctl.RefreshDelete != nil) {
						inPersist = true
						close(refreshed)
					}
				case *goldap.ControlSyncState:
					if !inPersist {
						continue // the refresh
					}
					name := ""
					if e := res.Entry(); e != nil {
						name = e.GetAttributeValue("cn")
					}
					sp.mu.Lock()
					sp.got = append(sp.got, [...]string{"present", "add", "modify", "delete"}[ctl.State]+" "+name)
					sp.mu.Unlock()
					select {
					case sp.more <- struct{}{}:
					default:
					}
				}
			}
		}
		sp.mu.Lock()
		sp.err = res.Err()
		sp.mu.Unlock()
		if !inPersist {
			close(refreshed)
		}
		select {
		case sp.more <- struct{}{}:
		default:
		}
	}()
	select {
	case <-refreshed:
	case <-time.After(10 * time.Second):
		t.Fatalf("sync search at %s: no end of refresh", base)
	}
	return sp
}

// states waits for n persist-phase states and returns them.
func (sp *syncPersist) states(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		sp.mu.Lock()
		got, err := slices.Clone(sp.got), sp.err
		sp.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if err != nil {
			t.Fatalf("sync search ended: %v after %v", err, got)
		}
		select {
		case <-sp.more:
		case <-deadline:
			t.Fatalf("sync search: got %v, want %d states", got, n)
		}
	}
}

// quiet checks that no more states arrive for a while.
func (sp *syncPersist) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	sp.mu.Lock()
	n := len(sp.got)
	sp.mu.Unlock()
	time.Sleep(d)
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.got) != n {
		t.Fatalf("unexpected states: %v", sp.got[n:])
	}
}

// bind binds p as dn with a simple bind and requires success.
func (p *psClient) bind(dn, pw string) {
	p.t.Helper()
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationBindRequest, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
	id := p.send(op)
	if m := p.next(10 * time.Second); m.id != id || m.code != 0 {
		p.t.Fatalf("bind as %s: %v", dn, m)
	}
}

// TestE2EChangeFeedRevoked: a persistent search and a refreshAndPersist
// sync search stop sending what their requester may no longer read, as
// the rules and group memberships in force decide at each notification,
// and end with insufficientAccessRights when the requester's own entry
// is locked, deleted or renamed.
func TestE2EChangeFeedRevoked(t *testing.T) {
	const watched = "ou=watched," + testSuffix
	const group = "cn=watchers,ou=groups," + testSuffix
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	rules := `access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to dn.subtree="` + watched + `" by group="` + group + `" read by * none
    - to * by * read
`
	if err := os.WriteFile(cfg, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--demo", "--config", cfg)
	root := dialRoot(t, s)
	a := goldap.NewAddRequest(watched, nil)
	a.Attribute("objectClass", []string{"organizationalUnit"})
	a.Attribute("ou", []string{"watched"})
	if err := root.Add(a); err != nil {
		t.Fatal(err)
	}
	users := []string{"wrevoked", "wlocked", "wdeleted", "wrenamed", "wsync", "wkept"}
	var members []string
	for _, u := range users {
		members = append(members, psAdd(t, root, u, "userPassword", "pw"))
	}
	g := goldap.NewAddRequest(group, nil)
	g.Attribute("objectClass", []string{"groupOfNames"})
	g.Attribute("cn", []string{"watchers"})
	g.Attribute("member", members)
	if err := root.Add(g); err != nil {
		t.Fatal(err)
	}
	ps := map[string]*psClient{}
	ids := map[string]int64{}
	for _, u := range users {
		if u == "wsync" {
			continue
		}
		p := dialPS(t, s)
		p.bind(person(u), "pw")
		ids[u] = p.search(watched, "(objectClass=*)", []string{"cn", "description"}, psControl(15, true, true))
		ps[u] = p
	}
	sc, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	if err := sc.Bind(person("wsync"), "pw"); err != nil {
		t.Fatal(err)
	}
	sp := runSyncPersist(t, sc, watched, "(objectClass=person)")
	ps["wkept"].quiet(300 * time.Millisecond)

	target := "cn=t1," + watched
	add := goldap.NewAddRequest(target, nil)
	add.Attribute("objectClass", []string{"person"})
	add.Attribute("cn", []string{"t1"})
	add.Attribute("sn", []string{"t1"})
	if err := root.Add(add); err != nil {
		t.Fatal(err)
	}
	for u, p := range ps {
		if m := p.next(10 * time.Second); m.id != ids[u] || m.ecn == nil || m.ecn.changeType != 1 {
			t.Fatalf("%s: got %v, want the add of %s", u, m, target)
		}
	}
	if got := sp.states(t, 1); got[0] != "add t1" {
		t.Fatalf("sync: got %v, want [add t1]", got)
	}

	// Out of the group: the next change is not sent to wrevoked nor to
	// the sync consumer; the others still get it.
	m := goldap.NewModifyRequest(group, nil)
	m.Delete("member", []string{person("wrevoked"), person("wsync")})
	if err := root.Modify(m); err != nil {
		t.Fatal(err)
	}
	psModify(t, root, target, "description", "after revocation")
	for u, p := range ps {
		if u == "wrevoked" {
			continue
		}
		if m := p.next(10 * time.Second); m.id != ids[u] || m.ecn == nil || m.ecn.changeType != 4 ||
			!slices.Equal(m.attrs["description"], []string{"after revocation"}) {
			t.Fatalf("%s: got %v, want the modify of %s", u, m, target)
		}
	}
	ps["wrevoked"].quiet(300 * time.Millisecond)
	sp.quiet(t, 10*time.Millisecond)

	// Locked, deleted, renamed: those searches end; wkept's goes on.
	lock := goldap.NewModifyRequest(person("wlocked"), nil)
	lock.Replace("pwdAccountLockedTime", []string{"000001010000Z"})
	if err := root.Modify(lock); err != nil {
		t.Fatal(err)
	}
	if err := root.Del(goldap.NewDelRequest(person("wdeleted"), nil)); err != nil {
		t.Fatal(err)
	}
	if err := root.ModifyDN(goldap.NewModifyDNRequest(person("wrenamed"), "uid=wrenamed2", true, "")); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"wlocked", "wdeleted", "wrenamed"} {
		m := ps[u].next(10 * time.Second)
		if m.id != ids[u] || m.tag != goldap.ApplicationSearchResultDone || m.code != goldap.LDAPResultInsufficientAccessRights {
			t.Fatalf("%s: got %v, want the search ended with insufficientAccessRights", u, m)
		}
		t.Logf("%s: %v", u, m)
	}
	psModify(t, root, target, "description", "last")
	if m := ps["wkept"].next(10 * time.Second); m.id != ids["wkept"] || !slices.Equal(m.attrs["description"], []string{"last"}) {
		t.Fatalf("wkept: got %v, want the last modify", m)
	}
	sp.quiet(t, 300*time.Millisecond)
}

// TestE2ESyncConsumersHoldLog: only the consumers configured in
// replication.consumers (and the root DN) keep the changelog from being
// trimmed under their cookie; an ordinary user's sync search holds
// nothing back, and once its cookie is older than the log it gets
// e-syncRefreshRequired (4096).
func TestE2ESyncConsumersHoldLog(t *testing.T) {
	consumer := person("repl")
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	conf := openReadAccess + `replication:
  consumers: ["` + consumer + `"]
  changelog:
    max_entries: 3
    trim_interval: 200ms
`
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--demo", "--config", cfg, "--log.level", "info") // to see the trims
	root := dialRoot(t, s)
	psAdd(t, root, "repl", "userPassword", "pw")
	psAdd(t, root, "ordinary", "userPassword", "pw")
	dial := func(uid string) *goldap.Conn {
		c := dialE2E(t, s, person(uid), "pw")
		return c
	}
	churn := func(tag string) {
		t.Helper()
		for i := range 10 {
			psModify(t, root, person("ordinary"), "description", fmt.Sprint(tag, i))
		}
	}
	syncFrom := func(c *goldap.Conn, cookie []byte) (*syncResult, error) {
		req := goldap.NewSearchRequest(peopleDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"1.1"}, nil)
		res := c.Syncrepl(context.Background(), req, 64, goldap.SyncRequestModeRefreshOnly, cookie, false)
		out := newSyncResult()
		for res.Next() {
			out.take(t, res)
		}
		return out, res.Err()
	}

	// An ordinary user: its cookie does not hold the log.
	oc := dial("ordinary")
	first, err := syncFrom(oc, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The trimmer (every 200ms) keeps the 3 newest records. Wait for a
	// trim that began after the first ten writes (it follows later ones):
	// it left nothing from before them.
	churn("a")
	n := strings.Count(s.Log(), "changelog trimmed")
	churn("a+")
	for deadline := time.Now().Add(20 * time.Second); strings.Count(s.Log(), "changelog trimmed") <= n; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the changelog was not trimmed; log:\n%s", s.Log())
		}
	}
	if _, err := syncFrom(oc, first.cookie); !goldap.IsErrorWithCode(err, ldapSyncRefreshRequired) {
		t.Fatalf("ordinary user's old cookie: %v, want e-syncRefreshRequired (4096)", err)
	}

	// A configured consumer: the log keeps what it has not read.
	rc := dial("repl")
	first, err = syncFrom(rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	churn("b")
	time.Sleep(time.Second) // five trims, had they anything to take
	got, err := syncFrom(rc, first.cookie)
	if err != nil || !got.refreshDeletes || got.entries != 1 {
		t.Fatalf("consumer's cookie: %v, %d entries, refreshDeletes %v; want the delete phase with the one changed entry",
			err, got.entries, got.refreshDeletes)
	}
}

const ldapSyncRefreshRequired = 4096

// TestE2ESyncDeletePhaseHidesUnreadable: the delete phase of a sync
// search names the entryUUIDs of entries the consumer may have held and
// may read, and no others: not those of hidden entries that changed or
// went, nor of entries outside its base, nor of entries added since its
// cookie.
func TestE2ESyncDeletePhaseHidesUnreadable(t *testing.T) {
	const secret = "ou=secret," + peopleDN
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	rules := `access:
  rules:
    - to attrs=userPassword by self write by anonymous auth by * none
    - to dn.subtree="` + secret + `" by users none by * none
    - to * by * read
`
	if err := os.WriteFile(cfg, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "", "--demo", "--config", cfg)
	root := dialRoot(t, s)
	a := goldap.NewAddRequest(secret, nil)
	a.Attribute("objectClass", []string{"organizationalUnit"})
	a.Attribute("ou", []string{"secret"})
	if err := root.Add(a); err != nil {
		t.Fatal(err)
	}
	addAt := func(dn, cn string) string {
		t.Helper()
		a := goldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"person"})
		a.Attribute("cn", []string{cn})
		a.Attribute("sn", []string{cn})
		if err := root.Add(a); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
		return entryUUID(t, root, dn)
	}
	hiddenMod := addAt("cn=h1,"+secret, "h1")
	hiddenDel := addAt("cn=h2,"+secret, "h2")
	visibleDel := addAt("cn=v1,"+peopleDN, "v1")
	outside := addAt("cn=o1,ou=groups,"+testSuffix, "o1")
	psAdd(t, root, "reader", "userPassword", "pw")
	c := dialE2E(t, s, person("reader"), "pw")
	sync := func(cookie []byte) *syncResult {
		t.Helper()
		req := goldap.NewSearchRequest(peopleDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"cn"}, nil)
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
	first := sync(nil)
	for _, u := range []string{hiddenMod, hiddenDel, outside} {
		if _, ok := first.states[u]; ok {
			t.Fatalf("the refresh sent %s, which the reader may not read or is outside the base", u)
		}
	}

	psModify(t, root, "cn=h1,"+secret, "description", "changed")
	for _, dn := range []string{"cn=h2," + secret, "cn=v1," + peopleDN, "cn=o1,ou=groups," + testSuffix} {
		if err := root.Del(goldap.NewDelRequest(dn, nil)); err != nil {
			t.Fatal(err)
		}
	}
	brief := addAt("cn=v2,"+peopleDN, "v2")
	if err := root.Del(goldap.NewDelRequest("cn=v2,"+peopleDN, nil)); err != nil {
		t.Fatal(err)
	}
	got := sync(first.cookie)
	if !got.refreshDeletes {
		t.Fatalf("no delete phase")
	}
	if !slices.Equal(got.deleted, []string{visibleDel}) {
		t.Errorf("deleted %v, want only %s (v1); hidden h1 %s, hidden h2 %s, outside o1 %s, added since v2 %s",
			got.deleted, visibleDel, hiddenMod, hiddenDel, outside, brief)
	}
	if got.entries != 0 {
		t.Errorf("the delete phase sent %d entries: %v", got.entries, got.dns)
	}

	// A subtree delete names its descendants by entryUUID alone: the
	// reader cannot be told which it may know of, and refreshes again.
	addAt("cn=h3,"+secret, "h3")
	if err := root.Del(goldap.NewDelRequest(secret, []goldap.Control{goldap.NewControlString("1.2.840.113556.1.4.805", true, "")})); err != nil {
		t.Fatalf("tree delete: %v", err)
	}
	req := goldap.NewSearchRequest(peopleDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"cn"}, nil)
	res := c.Syncrepl(context.Background(), req, 64, goldap.SyncRequestModeRefreshOnly, got.cookie, true)
	var leaked []string
	for res.Next() {
		out := newSyncResult()
		out.take(t, res)
		leaked = append(leaked, out.deleted...)
	}
	if err := res.Err(); !goldap.IsErrorWithCode(err, ldapSyncRefreshRequired) || len(leaked) > 0 {
		t.Errorf("after a hidden subtree delete: %v, deleted %v; want e-syncRefreshRequired and nothing named", err, leaked)
	}
}
