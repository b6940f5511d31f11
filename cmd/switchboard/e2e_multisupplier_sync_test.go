package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// TestMultiSupplierFeedsSyncConsumers: a sync consumer (go-ldap's
// Syncrepl client) of one replica sees the changes made on another:
// incrementally from its cookie (delete phase, not a full refresh) and
// live in refreshAndPersist.
func TestMultiSupplierFeedsSyncConsumers(t *testing.T) {
	c := startCluster(t, 2, nil)
	r1, r2 := dialRoot(t, c.servers[0]), dialRoot(t, c.servers[1])
	addBase(t, r1)
	for i := range 20 {
		addPerson(t, r1, fmt.Sprintf("p%d", i))
	}
	c.converge(20 * time.Second)

	first := refreshOnly(t, r1, nil)
	if first.entries != 23 {
		t.Fatalf("initial refresh on replica 1: %d entries, want 23", first.entries)
	}
	gone := entryUUID(t, r1, "uid=p3,ou=people,"+testSuffix)
	changed := entryUUID(t, r1, "uid=p4,ou=people,"+testSuffix)

	// Changes on replica 2 only.
	addPerson(t, r2, "from-r2")
	if err := r2.Del(goldap.NewDelRequest("uid=p3,ou=people,"+testSuffix, nil)); err != nil {
		t.Fatal(err)
	}
	m := goldap.NewModifyRequest("uid=p4,ou=people,"+testSuffix, nil)
	m.Replace("description", []string{"changed on replica 2"})
	if err := r2.Modify(m); err != nil {
		t.Fatal(err)
	}
	c.converge(20 * time.Second)

	next := refreshOnly(t, r1, first.cookie)
	if !next.refreshDeletes {
		t.Fatalf("refresh from the cookie was a full one (present phase); want the delete phase")
	}
	added := entryUUID(t, r1, "uid=from-r2,ou=people,"+testSuffix)
	if _, ok := next.states[added]; !ok {
		t.Errorf("the entry added on replica 2 was not sent by replica 1; states %v", next.states)
	}
	if _, ok := next.states[changed]; !ok {
		t.Errorf("the entry modified on replica 2 was not sent by replica 1")
	}
	deleted := false
	for _, u := range next.deleted {
		deleted = deleted || u == gone
	}
	if st, ok := next.states[gone]; ok && st == goldap.SyncStateDelete {
		deleted = true
	}
	if !deleted {
		t.Errorf("the entry deleted on replica 2 was not reported deleted by replica 1: %v / %v", next.deleted, next.states)
	}
	if next.entries > 5 {
		t.Errorf("refresh from the cookie sent %d entries for 3 changes", next.entries)
	}

	// Live: refreshAndPersist on replica 1, a write on replica 2.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	watch := dialRoot(t, c.servers[0])
	req := goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"*", "+"}, nil)
	res := watch.Syncrepl(ctx, req, 64, goldap.SyncRequestModeRefreshAndPersist, next.cookie, false)
	seen := make(chan string, 64)
	go func() {
		for res.Next() {
			if e := res.Entry(); e != nil {
				seen <- e.DN
			}
		}
		close(seen)
	}()
	time.Sleep(300 * time.Millisecond) // let the refresh phase end
	addPerson(t, r2, "live-from-r2")
	want := "uid=live-from-r2,ou=people," + testSuffix
	for {
		select {
		case dn, ok := <-seen:
			if !ok {
				t.Fatalf("persist stream ended before %s arrived: %v", want, res.Err())
			}
			if dn == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("%s, written on replica 2, never reached replica 1's persistent sync search", want)
		}
	}
}
