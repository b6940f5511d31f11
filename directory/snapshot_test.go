package directory

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// TestCachesIgnoreReadsOlderThanAWrite puts a write between a reader's
// snapshot and what the reader caches of it, deterministically (the
// afterSnapshot hook of view runs the write once the reader's snapshot
// has begun), for every reader that fills a cache: the write commits and
// runs its cache drops before the reader puts what it read, so only the
// token taken before the snapshot keeps that older state out. Afterwards
// every read must see the write.
//
// EntryNDN (the entries of index-ordered sorts and VLV windows) took its
// token inside the transaction: its record of the older snapshot stayed
// cached over the write, and gathered sorts then sorted by the old value
// (TestIndexSortUnderConcurrentWrites in package frontend).
func TestCachesIgnoreReadsOlderThanAWrite(t *testing.T) {
	ctx := context.Background()
	const dn = "uid=s,ou=people,dc=example,dc=com"
	display := func(v string) []Mod {
		return []Mod{{Op: change.ModReplace, Attr: Attr{Name: "displayName", Values: [][]byte{[]byte(v)}}}}
	}
	setup := func(t *testing.T) (*Engine, ID) {
		e := openTest(t)
		must(t, errOf(e.Add(ctx, dn, person("s", "S", "S", "userPassword", "p0"), WriteOptions{})))
		must(t, errOf(e.Modify(ctx, dn, display("old"), WriteOptions{})))
		must(t, errOf(e.Add(ctx, "uid=t,ou=people,dc=example,dc=com", person("t", "T", "T"), WriteOptions{})))
		must(t, errOf(e.Modify(ctx, "uid=t,ou=people,dc=example,dc=com", display("mid"), WriteOptions{})))
		en, err := e.Stored(ctx, dn)
		must(t, err)
		return e, en.ID
	}
	// inSnapshot makes the next view run write once its snapshot has
	// begun; the returned check fails the test if no view ran it.
	inSnapshot := func(t *testing.T, e *Engine, write func() error) (check func()) {
		ran := false
		e.afterSnapshot = func() {
			e.afterSnapshot = nil
			ran = true
			must(t, write())
		}
		return func() {
			t.Helper()
			e.afterSnapshot = nil
			if !ran {
				t.Fatal("the read ran no view: the write was not put in its snapshot")
			}
		}
	}
	toNew := func(e *Engine) func() error {
		return func() error { return errOf(e.Modify(ctx, dn, display("new"), WriteOptions{})) }
	}
	displayNow := func(t *testing.T, e *Engine) string {
		t.Helper()
		en, err := e.Get(ctx, dn)
		must(t, err)
		return en.First("displayName")
	}
	sorted := func(t *testing.T, e *Engine, filter string) []ID {
		t.Helper()
		at, _ := e.schema.Attribute("displayName")
		f, err := ldap.ParseFilter(filter)
		must(t, err)
		s, err := e.IndexSort(ctx, &IndexSortRequest{Attr: at, ByEquality: true,
			Search: &SearchRequest{BaseDN: "ou=people,dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f}})
		must(t, err)
		if s == nil {
			t.Fatal("IndexSort did not answer from the index")
		}
		var ids []ID
		for i := range s.Len() {
			ids = append(ids, s.ID(i))
		}
		return ids
	}

	t.Run("EntryNDN/entry cache", func(t *testing.T) {
		e, id := setup(t)
		done := inSnapshot(t, e, toNew(e))
		if _, err := e.EntryNDN(ctx, id); err != nil {
			t.Fatal(err)
		}
		done()
		if got := displayNow(t, e); got != "new" {
			t.Fatalf("displayName %q after the write, want \"new\": the entry cache kept the record of the older snapshot", got)
		}
	})
	t.Run("Search/entry cache", func(t *testing.T) {
		e, _ := setup(t)
		done := inSnapshot(t, e, toNew(e))
		search(t, e, dn, ldap.ScopeBaseObject, "(objectClass=*)")
		done()
		if got := displayNow(t, e); got != "new" {
			t.Fatalf("displayName %q after the write, want \"new\"", got)
		}
	})
	t.Run("Search/posting lists", func(t *testing.T) {
		// The old value's list of one ID (the table of singles) and
		// the new value's empty list (the list map) are both read in
		// the older snapshot.
		e, _ := setup(t)
		done := inSnapshot(t, e, toNew(e))
		search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(|(displayName=old)(displayName=new))")
		done()
		if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(displayName=old)"); len(got) != 0 {
			t.Fatalf("(displayName=old) finds %v after the write", got)
		}
		if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(displayName=new)"); len(got) != 1 {
			t.Fatalf("(displayName=new) finds %v after the write, want %s", got, dn)
		}
	})
	t.Run("Search/DN cache", func(t *testing.T) {
		e, _ := setup(t)
		done := inSnapshot(t, e, func() error { return errOf(e.ModifyDN(ctx, dn, "uid=s2", true, nil, WriteOptions{})) })
		search(t, e, dn, ldap.ScopeBaseObject, "(objectClass=*)")
		done()
		err := e.Search(ctx, &SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}}, func(*Entry) error { return nil })
		if code(err) != ldap.NoSuchObject {
			t.Fatalf("a search of the renamed entry's old DN: %v, want noSuchObject", err)
		}
	})
	t.Run("Search/subtree cache", func(t *testing.T) {
		e, _ := setup(t)
		done := inSnapshot(t, e, func() error {
			return errOf(e.Add(ctx, "uid=late,ou=people,dc=example,dc=com", person("late", "L", "L"), WriteOptions{}))
		})
		search(t, e, "ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=s)")
		done()
		if got := search(t, e, "ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=late)"); len(got) != 1 {
			t.Fatalf("a subtree search finds %v of the entry added, want it", got)
		}
	})
	t.Run("Authenticate/bind cache", func(t *testing.T) {
		e, _ := setup(t)
		done := inSnapshot(t, e, func() error {
			return errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "userPassword", Values: [][]byte{[]byte("p1")}}}}, WriteOptions{}))
		})
		if _, err := e.Authenticate(ctx, dn, []byte("p0")); err != nil {
			t.Fatalf("bind in the older snapshot: %v", err)
		}
		done()
		if _, err := e.Authenticate(ctx, dn, []byte("p0")); code(err) != ldap.InvalidCredentials {
			t.Fatalf("the old password binds after the change: %v", err)
		}
	})
	t.Run("IndexSort/key order", func(t *testing.T) {
		e, id := setup(t)
		// "old" sorts after t's "mid", "aaa" before it.
		done := inSnapshot(t, e, func() error { return errOf(e.Modify(ctx, dn, display("aaa"), WriteOptions{})) })
		before := sorted(t, e, "(objectClass=inetOrgPerson)")
		done()
		after := sorted(t, e, "(objectClass=inetOrgPerson)")
		if len(before) != 2 || before[1] != id || len(after) != 2 || after[0] != id {
			t.Fatalf("order %v in the older snapshot and %v after the write; want %d last, then first", before, after, id)
		}
	})
	t.Run("IndexSort/posting set", func(t *testing.T) {
		e, id := setup(t)
		done := inSnapshot(t, e, toNew(e))
		if got := sorted(t, e, "(displayName=old)"); !slices.Equal(got, []ID{id}) {
			t.Fatalf("(displayName=old) in the older snapshot sorts %v, want [%d]", got, id)
		}
		done()
		if got := sorted(t, e, "(displayName=old)"); len(got) != 0 {
			t.Fatalf("(displayName=old) sorts %v after the write, want none", got)
		}
	})
}

// TestSortsAfterAWriteBuildOnce: a write empties the kept key orders,
// and an add drops the posting list of (objectClass=inetOrgPerson) too;
// 32 sorts that then miss them at once (held together until each has
// its snapshot) walk the order and read the list once, not once each,
// and all get the same answer. A write that leaves the filter's list
// as it was (a displayName change) makes them walk the order only.
func TestSortsAfterAWriteBuildOnce(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	const people, sorts = 500, 32
	displayed := func(uid, v string) []Attr {
		return append(person(uid, "P", "P"), Attr{Name: "displayName", Values: [][]byte{[]byte(v)}})
	}
	for i := range people {
		dn := fmt.Sprintf("uid=p%d,ou=people,dc=example,dc=com", i)
		must(t, errOf(e.Add(ctx, dn, displayed(fmt.Sprintf("p%d", i), fmt.Sprintf("d%05d", (i*7919)%people)), WriteOptions{})))
	}
	at, _ := e.schema.Attribute("displayName")
	f, err := ldap.ParseFilter("(objectClass=inetOrgPerson)")
	must(t, err)
	sortIDs := func() ([]ID, error) {
		s, err := e.IndexSort(ctx, &IndexSortRequest{Attr: at, ByEquality: true,
			Search: &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f}})
		if err != nil || s == nil {
			return nil, fmt.Errorf("IndexSort: %v, %v", s, err)
		}
		ids := make([]ID, s.Len())
		for i := range ids {
			ids[i] = s.ID(i)
		}
		return ids, nil
	}
	// Each build (of an order, or a read of a list) waits until all the
	// sorts have started one (as they would without a shared build:
	// none finds the cache filled), or for 300 ms.
	barrier := func() func() {
		var builders atomic.Int64
		others := make(chan struct{})
		return func() {
			if builders.Add(1) == sorts {
				close(others)
			}
			select {
			case <-others:
			case <-time.After(300 * time.Millisecond):
			}
		}
	}
	// together runs the sorts at once and returns what they built.
	together := func() (orders, sets int64, first ID) {
		t.Helper()
		var arrived sync.WaitGroup
		arrived.Add(sorts)
		e.afterSnapshot = func() { arrived.Done(); arrived.Wait() }
		e.orders.onBuild, e.cache.onSetRead = barrier(), barrier()
		orders0, sets0 := e.orders.built.Load(), e.cache.setsRead.Load()
		results := make([][]ID, sorts)
		errs := make([]error, sorts)
		var done sync.WaitGroup
		for i := range sorts {
			done.Go(func() { results[i], errs[i] = sortIDs() })
		}
		done.Wait()
		e.afterSnapshot, e.orders.onBuild, e.cache.onSetRead = nil, nil, nil
		for i := range sorts {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if !slices.Equal(results[i], results[0]) {
				t.Fatalf("sort %d answered differently from sort 0", i)
			}
		}
		return e.orders.built.Load() - orders0, e.cache.setsRead.Load() - sets0, results[0][0]
	}
	if _, err := sortIDs(); err != nil { // warm: the order and list of this epoch
		t.Fatal(err)
	}

	must(t, errOf(e.Add(ctx, "uid=new,ou=people,dc=example,dc=com", displayed("new", "a"), WriteOptions{})))
	orders, sets, first := together()
	added, err := e.Stored(ctx, "uid=new,ou=people,dc=example,dc=com")
	must(t, err)
	if orders != 1 || sets != 1 || first != added.ID {
		t.Fatalf("after an add, %d sorts built %d orders and read %d lists, the first entry %d; want 1, 1 and %d", sorts, orders, sets, first, added.ID)
	}

	must(t, errOf(e.Modify(ctx, "uid=p1,ou=people,dc=example,dc=com", []Mod{{Op: change.ModReplace,
		Attr: Attr{Name: "displayName", Values: [][]byte{[]byte("0")}}}}, WriteOptions{})))
	orders, sets, first = together()
	p1, err := e.Stored(ctx, "uid=p1,ou=people,dc=example,dc=com")
	must(t, err)
	if orders != 1 || sets != 0 || first != p1.ID {
		t.Fatalf("after a displayName change, %d sorts built %d orders and read %d lists, the first entry %d; want 1, 0 and %d", sorts, orders, sets, first, p1.ID)
	}
}

// TestLongPostingSetFollowsWrites: a posting list an index-ordered sort
// reads whole (every person) is kept among the sets; it stays across
// writes that leave it as it was, and leaves with the writes that change
// it, or that commit between a sort's snapshot and its keeping the set.
func TestLongPostingSetFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s, err := schema.Default()
	must(t, err)
	e, err := Open(Options{Dir: t.TempDir(), NoSync: true, Suffix: "dc=example,dc=com", Schema: s})
	must(t, err)
	t.Cleanup(func() { e.Close() })
	must(t, e.WaitIndexes(ctx))
	l, err := e.NewLoader(t.TempDir())
	must(t, err)
	must(t, l.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example")))
	must(t, l.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people")))
	const people = 600
	displayed := func(uid, v string) []Attr {
		return append(person(uid, "P", "P"), Attr{Name: "displayName", Values: [][]byte{[]byte(v)}})
	}
	for i := range people {
		must(t, l.Add(ctx, fmt.Sprintf("uid=p%d,ou=people,dc=example,dc=com", i), displayed(fmt.Sprintf("p%d", i), fmt.Sprintf("d%05d", i))))
	}
	must(t, l.Finish())
	at, _ := e.schema.Attribute("displayName")
	f, err := ldap.ParseFilter("(objectClass=inetOrgPerson)")
	must(t, err)
	// sorted returns the first and last entries' IDs, the number sorted
	// and the number of sets read so far.
	sorted := func() (first, last ID, n int, reads int64) {
		t.Helper()
		s, err := e.IndexSort(ctx, &IndexSortRequest{Attr: at, ByEquality: true,
			Search: &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f}})
		if err != nil || s == nil {
			t.Fatalf("IndexSort: %v, %v", s, err)
		}
		return s.ID(0), s.ID(s.Len() - 1), s.Len(), e.cache.setsRead.Load()
	}
	idOf := func(uid string) ID {
		en, err := e.Stored(ctx, "uid="+uid+",ou=people,dc=example,dc=com")
		must(t, err)
		return en.ID
	}
	if _, _, n, reads := sorted(); n != people || reads != 1 {
		t.Fatalf("first sort: %d entries, %d sets read; want %d, 1", n, reads, people)
	}
	e.cache.listMu.RLock()
	kept := len(e.cache.sets)
	e.cache.listMu.RUnlock()
	if kept != 1 {
		t.Fatalf("%d sets kept, want 1 (every person)", kept)
	}
	must(t, errOf(e.Modify(ctx, "uid=p7,ou=people,dc=example,dc=com", []Mod{{Op: change.ModReplace,
		Attr: Attr{Name: "displayName", Values: [][]byte{[]byte("0")}}}}, WriteOptions{})))
	if first, _, n, reads := sorted(); first != idOf("p7") || n != people || reads != 1 {
		t.Fatalf("after a displayName change: first %d, %d entries, %d sets read; want %d, %d, 1 (the set kept)", first, n, reads, idOf("p7"), people)
	}
	must(t, errOf(e.Add(ctx, "uid=late,ou=people,dc=example,dc=com", displayed("late", "zzz"), WriteOptions{})))
	if _, last, n, reads := sorted(); last != idOf("late") || n != people+1 || reads != 2 {
		t.Fatalf("after an add: last %d, %d entries, %d sets read; want %d, %d, 2 (the set read again)", last, n, reads, idOf("late"), people+1)
	}
	must(t, errOf(e.Delete(ctx, "uid=late,ou=people,dc=example,dc=com", WriteOptions{})))
	if _, _, n, reads := sorted(); n != people || reads != 3 {
		t.Fatalf("after a delete: %d entries, %d sets read; want %d, 3", n, reads, people)
	}
	// An add between a sort's snapshot and what it caches: the set of
	// the older snapshot must not be kept over it.
	e.afterSnapshot = func() {
		e.afterSnapshot = nil
		must(t, errOf(e.Add(ctx, "uid=later,ou=people,dc=example,dc=com", displayed("later", "zzz"), WriteOptions{})))
	}
	if _, _, n, _ := sorted(); n != people {
		t.Fatalf("a sort whose snapshot precedes an add: %d entries, want %d", n, people)
	}
	if _, last, n, _ := sorted(); last != idOf("later") || n != people+1 {
		t.Fatalf("after that add: last %d, %d entries; want %d, %d", last, n, idOf("later"), people+1)
	}
}
