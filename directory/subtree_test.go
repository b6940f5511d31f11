package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/switchboard-ldap/switchboard/change"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// scopedBases builds a tree below ou=people: a deep OU with a few people
// (ou=berlin,ou=eng), its parent with a few more, and a sibling of ou=eng
// whose RDN value ends in ",ou=eng" (escaped), which no search of ou=eng
// may reach.
func scopedBases(t *testing.T, e *Engine) []string {
	ctx := context.Background()
	const people = "ou=people,dc=example,dc=com"
	ous := []string{"ou=eng," + people, "ou=berlin,ou=eng," + people, `ou=x\,ou=eng,` + people}
	for _, dn := range ous {
		p, _ := ldap.ParseDN(dn)
		must(t, errOf(e.Add(ctx, dn, attrs("objectClass", "organizationalUnit", "ou", p[0][0].Value), WriteOptions{})))
	}
	for i, n := range []int{20, 30, 10} {
		for j := range n {
			uid := fmt.Sprintf("s%d-%d", i, j)
			must(t, errOf(e.Add(ctx, "uid="+uid+","+ous[i], person(uid, "Ann Smith", "Smith", "mail", uid+"@example.com"), WriteOptions{})))
		}
	}
	return append([]string{"dc=example,dc=com", people, "uid=u1," + people}, ous...)
}

// scopedScan is scanSearch for every scope, children included.
func scopedScan(t *testing.T, e *Engine, base string, scope ldap.Scope, filter string) []string {
	t.Helper()
	f, err := ldap.ParseFilter(filter)
	must(t, err)
	bn, _ := e.schema.NormalizeDNString(base)
	var out []string
	must(t, e.Walk(context.Background(), func(en *Entry) error {
		if ldap.InScopeNDN(en.NDN, bn, scope) && e.Match(f, en) {
			out = append(out, en.DN)
		}
		return nil
	}))
	sort.Strings(out)
	return out
}

// TestScopedPlanMatchesScan is the planner's property test at every base
// and scope: subtree searches below the suffix use the cached subtree
// scopes (kept as sets, or, with a walk cap of 8, as "large"), and the
// tree changes under them (adds, deletes, renames, moves) between
// searches. Every search must return what a scan of the whole store with
// the same scope test returns.
func TestScopedPlanMatchesScan(t *testing.T) {
	for _, walkCap := range []int{0, 8} {
		t.Run(fmt.Sprintf("walkCap=%d", walkCap), func(t *testing.T) {
			e := openTest(t)
			e.trees.walkCap = walkCap
			r := rand.New(rand.NewPCG(5, uint64(walkCap)))
			fillRandom(t, e, r, 200)
			bases := scopedBases(t, e)
			ctx := context.Background()
			ous := bases[3:]
			next := 0
			write := func() {
				next++
				switch r.IntN(5) {
				case 0, 1: // add
					uid := fmt.Sprintf("w%d", next)
					must(t, errOf(e.Add(ctx, "uid="+uid+","+ous[r.IntN(len(ous))], person(uid, "Ben Smyth", "Smyth"), WriteOptions{})))
				case 2: // delete one of a subtree's people
					dns := scopedScan(t, e, ous[r.IntN(len(ous))], ldap.ScopeSingleLevel, "(uid=*)")
					if len(dns) > 0 {
						must(t, errOf(e.Delete(ctx, dns[r.IntN(len(dns))], WriteOptions{})))
					}
				case 3: // move someone to another OU
					dns := scopedScan(t, e, ous[r.IntN(len(ous))], ldap.ScopeSingleLevel, "(uid=*)")
					if len(dns) > 0 {
						to := ous[r.IntN(len(ous))]
						dn, _ := ldap.ParseDN(dns[0])
						must(t, errOf(e.ModifyDN(ctx, dns[0], dn[0].String(), true, &to, WriteOptions{})))
					}
				case 4: // rename in place
					dns := scopedScan(t, e, ous[r.IntN(len(ous))], ldap.ScopeSingleLevel, "(uid=*)")
					if len(dns) > 0 {
						must(t, errOf(e.ModifyDN(ctx, dns[0], fmt.Sprintf("uid=r%d", next), true, nil, WriteOptions{})))
					}
				}
			}
			for i := range 800 {
				if i%10 == 0 {
					write()
				}
				f := randomFilter(r, 2)
				base, scope := bases[r.IntN(len(bases))], ldap.Scope(r.IntN(4))
				got := search(t, e, base, scope, f)
				want := scopedScan(t, e, base, scope, f)
				if !slices.Equal(got, want) {
					t.Fatalf("search %d: base %s scope %d filter %s: planned %d entries, scan %d\nplanned: %v\nscan: %v", i, base, scope, f, len(got), len(want), got, want)
				}
			}
		})
	}
}

// TestSubtreeCacheFollowsRacingWrites races subtree searches of a deep OU
// against writers adding and deleting people in it; once the writers
// stop, every search must see the tree as it is.
func TestSubtreeCacheFollowsRacingWrites(t *testing.T) {
	e := openTest(t)
	r := rand.New(rand.NewPCG(9, 9))
	fillRandom(t, e, r, 50)
	bases := scopedBases(t, e)
	ctx := context.Background()
	eng := bases[3]
	stop := raceReaders(3, func() {
		for _, b := range bases[1:] {
			search(t, e, b, ldap.ScopeWholeSubtree, "(objectClass=person)")
		}
	})
	for i := range 300 {
		dn := fmt.Sprintf("uid=race%d,%s", i, bases[4])
		must(t, errOf(e.Add(ctx, dn, person(fmt.Sprintf("race%d", i), "R", "R"), WriteOptions{})))
		if i%3 == 0 {
			must(t, errOf(e.Delete(ctx, dn, WriteOptions{})))
		}
	}
	stop()
	for _, b := range append([]string{eng}, bases...) {
		for _, scope := range []ldap.Scope{ldap.ScopeWholeSubtree, ldap.ScopeChildren} {
			if got, want := search(t, e, b, scope, "(objectClass=person)"), scopedScan(t, e, b, scope, "(objectClass=person)"); !slices.Equal(got, want) {
				t.Fatalf("%s scope %d: %d entries, scan %d", b, scope, len(got), len(want))
			}
		}
	}
}

// TestSubtreeFromOldSnapshotNotKept: a subtree walked in a snapshot that
// began before a structural commit must not be cached over it.
func TestSubtreeFromOldSnapshotNotKept(t *testing.T) {
	e := openTest(t)
	bases := scopedBases(t, e)
	ctx := context.Background()
	eng := bases[3]
	ndn, err := e.NormalizeDN(eng)
	must(t, err)
	id := e.cache.lookupDN(ndn)
	tok := e.trees.begin()
	txn := e.db().NewTransaction(false)
	defer txn.Discard()
	if id == 0 {
		if id, err = lookupDN(txn, ndn); err != nil || id == 0 {
			t.Fatalf("lookupDN(%s) = %d, %v", ndn, id, err)
		}
	}
	must(t, errOf(e.Add(ctx, "uid=late,"+eng, person("late", "L", "L"), WriteOptions{})))
	old := e.subtree(txn, tok, id, ndn) // walked in the old snapshot
	if old.n != 1+20+1+30 {
		t.Fatalf("old snapshot's subtree holds %d entries", old.n)
	}
	if got := search(t, e, eng, ldap.ScopeWholeSubtree, "(uid=late)"); len(got) != 1 {
		t.Fatalf("after the add, (uid=late) below %s found %v", eng, got)
	}
	if s := e.trees.get(id); s != nil && s.n != old.n+1 {
		t.Fatalf("cached subtree holds %d entries, want %d", s.n, old.n+1)
	}
}

// TestSubtreeWalkedAfterCommitCountsAddOnce: a reader whose token
// precedes a structural write but whose snapshot follows its commit puts
// a set that holds the added entry already; the write's delta, applied
// to that set afterwards, must not count the entry twice.
func TestSubtreeWalkedAfterCommitCountsAddOnce(t *testing.T) {
	var c subtrees
	const base, added ID = 10, 12
	tok := c.begin()
	d := &treeDelta{added: []treeAdd{{id: added, parent: base, ndn: "uid=n,ou=b"}}}
	c.writeBegin(d)
	// (commit; the reader's snapshot begins and walks: base, 11, 12)
	c.put(tok, base, &subtree{ndn: "ou=b", ids: roaring.BitmapOf(10, 11, 12), n: 3})
	c.writeEnd(d, true)
	s := c.get(base)
	if s == nil || s.n != 3 || s.ids.GetCardinality() != 3 {
		t.Fatalf("subtree after the delta: %+v, want 3 entries counted 3", s)
	}
}

// TestNumSubordinatesFollowsWrites: the kept child counts of entries with
// many children follow adds, deletes and moves.
func TestNumSubordinatesFollowsWrites(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	const people = "ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, "ou=other,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "other"), WriteOptions{})))
	num := func(dn string) string {
		t.Helper()
		en, err := e.Get(ctx, dn)
		must(t, err)
		return string(en.Get("numSubordinates")[0])
	}
	want := 0
	for i := range manyKids + 10 {
		must(t, errOf(e.Add(ctx, fmt.Sprintf("uid=k%d,%s", i, people), person(fmt.Sprintf("k%d", i), "K", "K"), WriteOptions{})))
		want++
	}
	for step := range 30 {
		if got := num(people); got != fmt.Sprint(want) {
			t.Fatalf("step %d: numSubordinates of %s = %s, want %d", step, people, got, want)
		}
		switch step % 3 {
		case 0:
			must(t, errOf(e.Add(ctx, fmt.Sprintf("uid=n%d,%s", step, people), person(fmt.Sprintf("n%d", step), "N", "N"), WriteOptions{})))
			want++
		case 1:
			must(t, errOf(e.Delete(ctx, fmt.Sprintf("uid=k%d,%s", step, people), WriteOptions{})))
			want--
		case 2:
			to := "ou=other,dc=example,dc=com"
			must(t, errOf(e.ModifyDN(ctx, fmt.Sprintf("uid=k%d,%s", step, people), fmt.Sprintf("uid=k%d", step), true, &to, WriteOptions{})))
			want--
		}
	}
	if got := num("ou=other,dc=example,dc=com"); got != "10" {
		t.Errorf("numSubordinates of ou=other = %s, want 10", got)
	}
}

// A substring search of a small subtree reads its grams' posting lists,
// a few hundred IDs each over the whole directory, to intersect them with
// the subtree: the list cache keeps such lists, so that the next search
// reads none of them from the store, and writes that add or remove a gram
// key drop them.
func TestLongGramListsCachedAndDropped(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "ou=deep,ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "deep"), WriteOptions{})))
	for i := range 300 {
		uid := fmt.Sprintf("s%d", i)
		must(t, errOf(e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", person(uid, "Pat Smith "+uid, "Smith"), WriteOptions{})))
	}
	deep := func(uid string) string { return "uid=" + uid + ",ou=deep,ou=people,dc=example,dc=com" }
	must(t, errOf(e.Add(ctx, deep("d1"), person("d1", "Jo Smith", "Smith"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, deep("d2"), person("d2", "Jo Jones", "Jones"), WriteOptions{})))
	long := func() int {
		e.cache.listMu.RLock()
		defer e.cache.listMu.RUnlock()
		n := 0
		for _, l := range e.cache.lists {
			if len(l.ids) > maxListIDs {
				n++
			}
		}
		return n
	}
	want := func(dns ...string) {
		t.Helper()
		got := search(t, e, "ou=deep,ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree, "(cn=*smith*)")
		if !slices.Equal(got, dns) {
			t.Fatalf("found %v, want %v", got, dns)
		}
	}
	want(deep("d1"))
	if long() == 0 {
		t.Fatal("no posting list longer than maxListIDs is cached after the search")
	}
	must(t, errOf(e.Modify(ctx, deep("d2"), []Mod{{Op: change.ModReplace, Attr: Attr{Name: "cn", Values: [][]byte{[]byte("Jo Smithers")}}}}, WriteOptions{})))
	want(deep("d1"), deep("d2"))
	must(t, errOf(e.Delete(ctx, deep("d1"), WriteOptions{})))
	want(deep("d2"))
}
