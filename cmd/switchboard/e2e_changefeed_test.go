package main

// Change feeds (persistent search, content synchronization) under load
// and at tricky bases: every committed change is notified once, in
// commit order per entry, as the change left the entry; nothing leaks
// across sibling subtrees whose DNs differ only by escaping.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
