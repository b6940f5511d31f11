package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// TestSingleListsTable checks the table of one-ID lists on its own: it
// answers what was inserted last for a prefix, and nothing for a prefix
// dropped or never inserted, through growth and drops.
func TestSingleListsTable(t *testing.T) {
	s := newSingleLists()
	want := map[string]uint32{}
	put := func(p string, id uint32) {
		tag, check := s.fingerprint([]byte(p))
		s.insert(tag, check, id)
		want[p] = id
	}
	r := rand.New(rand.NewPCG(3, 4))
	const n = 3 * minSingles // grows the table twice
	for i := range n {
		put(fmt.Sprintf("i\x03uid%d", i), uint32(i))
	}
	if len(s.slots) <= minSingles {
		t.Fatalf("table did not grow: %d slots for %d lists", len(s.slots), n)
	}
	for i := range 1000 { // new IDs for some lists
		p := fmt.Sprintf("i\x03uid%d", r.IntN(n))
		put(p, uint32(n+i))
	}
	var gone []string
	for p := range want {
		if r.IntN(10) == 0 {
			gone = append(gone, p)
		}
	}
	s.drop(gone)
	for _, p := range gone {
		delete(want, p)
		if _, ok := s.lookup([]byte(p)); ok {
			t.Fatalf("%q found after its drop", p)
		}
	}
	for p, id := range want {
		if got, ok := s.lookup([]byte(p)); !ok || got != id {
			t.Fatalf("%q: ID %d, %v, want %d", p, got, ok, id)
		}
	}
	if s.used != len(want) {
		t.Errorf("used = %d, want %d", s.used, len(want))
	}
	if _, ok := s.lookup([]byte("i\x03uidnever")); ok {
		t.Error("a prefix never inserted was found")
	}
	// At its largest the table takes no more lists, and says so.
	big := &singleLists{seeds: s.seeds, slots: make([]singleSlot, maxSingles), used: maxSingles / 4 * 3}
	if tag, check := big.fingerprint([]byte("one more")); big.insert(tag, check, 1) || !big.full() {
		t.Error("a full table took a list")
	}
}

// TestSingleListsDropKeepsProbes checks deletes in the open-addressed
// table: lists whose slots collide and wrap around the end stay findable
// after any of them is dropped.
func TestSingleListsDropKeepsProbes(t *testing.T) {
	s := newSingleLists()
	s.slots = make([]singleSlot, 16)
	// Hand-made tags: homes 14, 14, 15, 0, 14 (wrapping), and 3.
	tags := []uint64{14, 14 + 16, 15, 0, 14 + 32, 3}
	for i, tag := range tags {
		s.insert(tag, uint32(i), uint32(i))
	}
	for drop := range tags {
		c := &singleLists{seeds: s.seeds, slots: slices.Clone(s.slots), used: s.used}
		i, ok := c.find(tags[drop], uint32(drop))
		if !ok {
			t.Fatalf("list %d not found before the drop", drop)
		}
		c.deleteAt(i)
		for j, tag := range tags {
			k, ok := c.find(tag, uint32(j))
			if ok != (j != drop) || (ok && c.slots[k].id != uint32(j)+1) {
				t.Fatalf("after dropping %d: list %d found %v", drop, j, ok)
			}
		}
	}
}

// TestWarmSinglesFollowsWrites checks the fill of the one-ID table when
// a store opens: it holds the unique values' lists and not the shared
// ones, and writes that race the fill never leave a stale list behind:
// afterwards every look-up finds exactly the entries that hold the value.
func TestWarmSinglesFollowsWrites(t *testing.T) {
	opt, e := openOnDisk(t)
	ctx := context.Background()
	const n = 3000 // more than one batch of the fill
	dn := func(i int) string { return fmt.Sprintf("uid=u%d,ou=people,dc=example,dc=com", i) }
	mail := make([]string, n) // the model: entry i's mail
	for i := range n {
		mail[i] = fmt.Sprintf("m%d@x", i)
		// cn is shared by pairs: lists of two IDs, not for the table.
		must(t, errOf(e.Add(ctx, dn(i), person(fmt.Sprintf("u%d", i), fmt.Sprintf("pair %d", i/2), "S", "mail", mail[i]), WriteOptions{})))
	}
	must(t, e.Close())

	// Reopen and write while the table fills: entries swap mail values
	// and take shared ones, which turns lists of one ID into lists of two
	// and back.
	e, err := Open(opt)
	must(t, err)
	defer func() { e.Close() }()
	r := rand.New(rand.NewPCG(5, 6))
	var mu sync.Mutex
	setMail := func(i int, v string) {
		must(t, errOf(e.Modify(ctx, dn(i), []Mod{{Op: change.ModReplace, Attr: Attr{Name: "mail", Values: [][]byte{[]byte(v)}}}}, WriteOptions{})))
		mu.Lock()
		mail[i] = v
		mu.Unlock()
	}
	for w := 0; w < 400; w++ {
		i, j := r.IntN(n), r.IntN(n)
		switch w % 3 {
		case 0:
			a, b := mail[i], mail[j]
			setMail(i, b)
			setMail(j, a)
		case 1:
			setMail(i, mail[j]) // now shared
		default:
			setMail(i, fmt.Sprintf("new%d@x", w))
		}
	}
	<-e.warmDone
	check := func(phase string) {
		t.Helper()
		holders := map[string][]string{}
		for i, m := range mail {
			holders[m] = append(holders[m], dn(i))
		}
		for m, dns := range holders {
			sort.Strings(dns)
			if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(mail="+m+")"); !slices.Equal(got, dns) {
				t.Fatalf("%s: (mail=%s) found %v, want %v", phase, m, got, dns)
			}
		}
		for i := 0; i < n; i += 7 {
			if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, fmt.Sprintf("(uid=u%d)", i)); !slices.Equal(got, []string{dn(i)}) {
				t.Fatalf("%s: (uid=u%d) found %v", phase, i, got)
			}
		}
	}
	check("after writes during the fill")

	// Without writes the fill reads every list of one ID: the uids, the
	// entryUUIDs and the mail values held once, not the cn pairs.
	must(t, e.Close())
	e, err = Open(opt)
	must(t, err)
	<-e.warmDone
	if used := e.cache.singlesUsed(); used < 2*n {
		t.Errorf("the fill found %d lists of one ID, want at least %d", used, 2*n)
	}
	v := &listView{c: e.cache, tok: e.cache.begin()}
	if _, _, ok := v.List(eqPrefix(t, e, "cn", "pair 7")); ok {
		t.Error("a list of two IDs is in the table")
	}
	if ids, n, ok := v.List(eqPrefix(t, e, "uid", "u7")); !ok || n != 1 || len(ids) != 1 {
		t.Errorf("(uid=u7) not in the table after the fill: %v %d %v", ids, n, ok)
	}
	check("after a fill without writes")
	setMail(1, mail[2])
	setMail(3, "fresh@x")
	check("after writes on a filled table")
}

// eqPrefix is the equality posting-list prefix of an already normalised
// value.
func eqPrefix(t *testing.T, e *Engine, attr, norm string) []byte {
	t.Helper()
	a := e.indexes.Lookup(mustAttr(e.schema, attr))
	if a == nil {
		t.Fatalf("%s has no index", attr)
	}
	return a.EqualityPrefix([]byte(norm))
}
