package frontend

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/ldap/ldaptest"
	"github.com/switchboard-ldap/switchboard/schema"
)

// countingBackend counts the entries the engine hands the frontend.
type countingBackend struct {
	*directory.Engine
	entries atomic.Int64
}

func (b *countingBackend) Search(ctx context.Context, req *directory.SearchRequest, fn func(*directory.Entry) error) error {
	return b.Engine.Search(ctx, req, func(en *directory.Entry) error {
		b.entries.Add(1)
		return fn(en)
	})
}

const (
	sortSuffix = "dc=example,dc=com"
	sortPeople = "ou=people," + sortSuffix
	sortDeep   = "ou=deep," + sortPeople
)

// sortDirectory builds a directory of random people: more in ou=people
// than a subtree the engine keeps as a set (1024), so that a search there
// takes the large-subtree path, a small deep OU below it, and a few
// outside. Sort keys are missing, repeated and multi-valued at random.
func sortDirectory(t *testing.T, people int) (*directory.Engine, *countingBackend) {
	t.Helper()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	e, err := directory.Open(directory.Options{Dir: t.TempDir(), NoSync: true, Suffix: sortSuffix, Schema: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	if err := e.WaitIndexes(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l, err := e.NewLoader(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	add := func(dn string, attrs ...directory.Attr) {
		if err := l.Add(ctx, dn, attrs); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	a := func(name string, vals ...string) directory.Attr {
		out := directory.Attr{Name: name}
		for _, v := range vals {
			out.Values = append(out.Values, []byte(v))
		}
		return out
	}
	add(sortSuffix, a("objectClass", "dcObject", "organization"), a("dc", "example"), a("o", "E"))
	add(sortPeople, a("objectClass", "organizationalUnit"), a("ou", "people"))
	add(sortDeep, a("objectClass", "organizationalUnit"), a("ou", "deep"))
	add("ou=other,"+sortSuffix, a("objectClass", "organizationalUnit"), a("ou", "other"))
	r := rand.New(rand.NewPCG(1, 2))
	surnames := []string{"adams", "Adams", "brown", "Clark", "clark ", "Évora", "zed", "B", "b", "Müller"}
	pick := func(n int) []string {
		var out []string
		seen := map[string]bool{}
		for range n {
			v := surnames[r.IntN(len(surnames))] + fmt.Sprint(r.IntN(3))
			if norm := strings.ToLower(strings.ReplaceAll(v, " ", "")); !seen[norm] {
				seen[norm] = true
				out = append(out, v)
			}
		}
		return out
	}
	for i := range people {
		uid := fmt.Sprintf("u%04d", i)
		parent := sortPeople
		switch {
		case i%20 == 0:
			parent = sortDeep
		case i%50 == 1:
			parent = "ou=other," + sortSuffix
		}
		attrs := []directory.Attr{a("objectClass", "inetOrgPerson"), a("uid", uid),
			a("cn", pick(1+r.IntN(2))...), a("sn", pick(1+r.IntN(3))...), a("userPassword", "pw")}
		if r.IntN(5) > 0 {
			attrs[0].Values = append(attrs[0].Values, []byte("posixAccount"))
			attrs = append(attrs, a("uidNumber", fmt.Sprint(r.IntN(400)-100)), a("gidNumber", "1"), a("homeDirectory", "/home/"+uid))
		}
		if r.IntN(4) > 0 {
			attrs = append(attrs, a("givenName", pick(1+r.IntN(2))...))
		}
		if r.IntN(3) > 0 {
			attrs = append(attrs, a("displayName", pick(1)...))
		}
		if r.IntN(6) == 0 {
			attrs = append(attrs, a("mail", uid+"@example.com"))
		}
		add("uid="+uid+","+parent, attrs...)
	}
	if err := l.Finish(); err != nil {
		t.Fatal(err)
	}
	return e, &countingBackend{Engine: e}
}

// sortOutcome is everything a client sees of a sorted search.
func sortOutcome(rec *ldaptest.Recorder) string {
	var b strings.Builder
	fmt.Fprintf(&b, "code %d %q\n", rec.Code(), rec.Result.Diagnostic)
	for _, c := range rec.Result.Controls {
		if c.OID == ldap.OIDPagedResults {
			_, cookie, _ := ldap.DecodePagedResults(c.Value)
			fmt.Fprintf(&b, "paged cookie %x\n", cookie)
			continue
		}
		fmt.Fprintf(&b, "control %s %x\n", c.OID, c.Value)
	}
	for _, en := range rec.Entries {
		fmt.Fprintf(&b, "%s\n", en.Entry.DN)
	}
	return b.String()
}

// TestIndexSortMatchesGather runs sorted, paged and VLV searches on
// random data twice, answered from the sort key's index and by gathering
// and sorting, and requires the same answers: entries and their order,
// result codes, sort and VLV response controls (target position and
// content count), paging cookies. Filters, scopes, keys, directions,
// identities and access rules vary; some of them must gather (an
// unindexed filter item, several keys, entries or key values hidden by
// access rules), and they must give the same answer too.
func TestIndexSortMatchesGather(t *testing.T) {
	e, _ := sortDirectory(t, 1300)
	f, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), SizeLimit: 40, Access: readablePolicy(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	policies := map[string]*access.Policy{"readable": readablePolicy(t, e)}
	for name, rules := range map[string][]string{
		// The deep OU's entries are hidden: visibility is per entry.
		"hidden subtree": {`to dn.subtree="` + sortDeep + `" by * none`, "to attrs=userPassword by * none", "to * by * read"},
		// Some people's sort keys are hidden: their values may not order.
		"hidden keys": {`to filter=(givenName=adams0) attrs=sn,displayName,uidNumber by * none`, "to attrs=userPassword by * none", "to * by * read"},
	} {
		p, err := access.Compile(e, rules)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		policies[name] = p
	}
	r := rand.New(rand.NewPCG(3, 4))
	filters := []string{
		"(objectClass=person)",
		"(&(objectClass=inetOrgPerson)(|(sn=adams0)(sn=brown1)(givenName=clark2)))",
		"(|(cn=b0)(cn=b1)(mail=*))",
		"(sn=nosuchvalue)",
		// Not decided by the indexes alone (substring, NOT, no presence
		// index on objectClass, ordering item): one of them, gathering.
		[]string{"(cn=*ada*)", "(!(sn=adams0))", "(objectClass=*)", "(|(uidNumber>=250)(sn=zed1))"}[r.IntN(4)],
	}
	bases := []struct {
		dn    string
		scope ldap.Scope
	}{
		{sortSuffix, ldap.ScopeWholeSubtree}, {sortPeople, ldap.ScopeWholeSubtree}, {sortPeople, ldap.ScopeChildren},
		{sortDeep, ldap.ScopeWholeSubtree}, {sortPeople, ldap.ScopeSingleLevel}, {sortSuffix, ldap.ScopeChildren},
	}
	keys := [][]key{
		{{"sn", "", false}}, {{"sn", "", true}}, {{"sn", "caseIgnoreOrderingMatch", false}},
		{{"displayName", "", false}}, {{"displayName", "", true}}, {{"cn", "", true}},
		{{"uidNumber", "", false}}, {{"uidNumber", "", true}}, {{"givenName", "", false}},
		{{"mail", "", true}}, {{"sn", "", false}, {"uidNumber", "", true}},
		{{"objectClass", "", false}}, // its index adds superclasses: gathers
	}
	who := []struct{ dn, policy string }{{root, "readable"}, {"", "readable"}, {"", "hidden subtree"}, {"", "hidden keys"}}
	run := func(dn string, req *ldap.Request) (string, string) {
		f.cfg.NoIndexSort = false
		got := sortOutcome(runAs(f, dn, req))
		f.cfg.NoIndexSort = true
		want := sortOutcome(runAs(f, dn, req))
		return got, want
	}
	cases, differ := 0, 0
	for _, flt := range filters {
		for _, b := range bases {
			for _, ki := range r.Perm(len(keys))[:2] {
				k := keys[ki]
				w := who[r.IntN(len(who))]
				f.SetAccess(policies[w.policy])
				base := searchReq(b.dn, b.scope, flt, "uid")
				var ctrls [][]ldap.Control
				ctrls = append(ctrls, []ldap.Control{sortControl(true, k...)})
				ctrls = append(ctrls, []ldap.Control{sortControl(true, k...), vlvOffset(r.IntN(4), r.IntN(6), 1+r.IntN(900), r.IntN(2)*r.IntN(1500))})
				ctrls = append(ctrls, []ldap.Control{sortControl(true, k...), vlvOffset(2, 3, 1+r.IntN(40), 0)})
				ge := []string{"b", "Clark1", "zzz", "", "150", "-5", "m"}[r.IntN(7)]
				ctrls = append(ctrls, []ldap.Control{sortControl(true, k...), vlvGE(r.IntN(3), r.IntN(4), ge)})
				ctrls = append(ctrls, []ldap.Control{sortControl(true, k...), pagedControl(9, nil)})
				for _, c := range ctrls {
					req := *base
					req.Controls = c
					got, want := run(w.dn, &req)
					cases++
					if got != want {
						differ++
						if differ <= 5 {
							t.Errorf("%s base %s scope %d keys %v as %q (%s), controls %d:\nindex:\n%s\ngather:\n%s",
								flt, b.dn, b.scope, k, w.dn, w.policy, len(c), got, want)
						}
					}
					// The second page of a paged search, with the cookie
					// of the first.
					if bytes.Equal(c[len(c)-1].OID, []byte(ldap.OIDPagedResults)) {
						f.cfg.NoIndexSort = true
						rec := runAs(f, w.dn, &req)
						if rec.Code() != ldap.Success {
							continue
						}
						cookie := cookieOf(t, rec.Result)
						if len(cookie) == 0 {
							continue
						}
						req.Controls = []ldap.Control{c[0], pagedControl(9, cookie)}
						got, want := run(w.dn, &req)
						cases++
						if got != want {
							differ++
							t.Errorf("%s base %s keys %v, second page:\nindex:\n%s\ngather:\n%s", flt, b.dn, k, got, want)
						}
					}
				}
			}
		}
	}
	if differ > 0 {
		t.Errorf("%d of %d searches differ", differ, cases)
	}
}

// TestIndexSortReadsPage: a VLV window and a sorted page answered from
// the key's index read only the entries they return (through the
// backend), not every entry of the search, and still count them all.
func TestIndexSortReadsPage(t *testing.T) {
	e, cb := sortDirectory(t, 1300)
	f, err := New(Config{Engine: e, Backend: cb, RootDN: root, RootPassword: []byte("secret"), SizeLimit: 500, Access: readablePolicy(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	all := 0
	if err := e.Search(context.Background(), &directory.SearchRequest{BaseDN: sortPeople, Scope: ldap.ScopeWholeSubtree,
		Filter: mustFilter("(objectClass=inetOrgPerson)"), Unlimited: true}, func(*directory.Entry) error { all++; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		ctrls []ldap.Control
		reads int64 // at most, through the index
	}{
		{"vlv window", []ldap.Control{sortControl(true, key{"displayName", "", false}), vlvOffset(2, 7, 600, 0)}, 10},
		{"vlv reverse", []ldap.Control{sortControl(true, key{"uidNumber", "", true}), vlvOffset(0, 19, 100, 0)}, 20},
		{"page", []ldap.Control{sortControl(true, key{"sn", "caseIgnoreOrderingMatch", false}), pagedControl(20, nil)}, 20},
	} {
		for _, gather := range []bool{false, true} {
			f.cfg.NoIndexSort = gather
			req := searchReq(sortPeople, ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", "uid")
			req.Controls = tc.ctrls
			cb.entries.Store(0)
			rec := runAs(f, "", req)
			if rec.Code() != ldap.Success || len(rec.Entries) == 0 {
				t.Fatalf("%s: code %d, %d entries", tc.name, rec.Code(), len(rec.Entries))
			}
			if v := respControl(t, rec.Result, ldap.OIDVLVResponse); v != nil && intAt(v, 1) != int64(all) {
				t.Errorf("%s: contentCount %d, want %d", tc.name, intAt(v, 1), all)
			}
			n := cb.entries.Load()
			switch {
			case !gather && n > tc.reads:
				t.Errorf("%s from the index: %d entries read for %d returned, want at most %d", tc.name, n, len(rec.Entries), tc.reads)
			case gather && n < int64(all):
				t.Errorf("%s gathered: %d entries read, want all %d (is the counter counting?)", tc.name, n, all)
			}
		}
	}
}

// TestIndexSortFollowsWrites: the key orders and posting lists an
// index-ordered sort keeps between searches follow the writes.
func TestIndexSortFollowsWrites(t *testing.T) {
	e, _ := sortDirectory(t, 300)
	f, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), SizeLimit: 500, Access: readablePolicy(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	first := func(filter string) string {
		t.Helper()
		req := searchReq(sortPeople, ldap.ScopeWholeSubtree, filter, "uid")
		req.Controls = []ldap.Control{sortControl(true, key{"displayName", "", false}), vlvOffset(0, 0, 1, 0)}
		rec := runAs(f, "", req)
		if rec.Code() != ldap.Success || len(rec.Entries) != 1 {
			t.Fatalf("code %d, %d entries", rec.Code(), len(rec.Entries))
		}
		return rec.Entries[0].Entry.DN
	}
	first("(objectClass=inetOrgPerson)") // fills the caches
	ctx := context.Background()
	dn := "uid=u0123," + sortPeople
	if _, err := e.Modify(ctx, dn, []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "displayName", Values: [][]byte{[]byte("   AAAA first")}}},
		{Op: change.ModReplace, Attr: directory.Attr{Name: "mail", Values: [][]byte{[]byte("x@example.com")}}}}, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := first("(objectClass=inetOrgPerson)"); !strings.EqualFold(got, dn) {
		t.Errorf("after the modify, first by displayName is %s, want %s", got, dn)
	}
	if got := first("(&(objectClass=inetOrgPerson)(mail=x@example.com))"); !strings.EqualFold(got, dn) {
		t.Errorf("after the modify, first with the new mail is %s, want %s", got, dn)
	}

	// A value longer than an equality key holds (its key keeps a hash
	// of the rest): the index no longer orders, and sorts gather.
	long := "   AAAA " + strings.Repeat("z", 300)
	if _, err := e.Modify(ctx, dn, []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "displayName", Values: [][]byte{[]byte(long)}}}}, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	dn2 := "uid=u0124," + sortPeople
	if _, err := e.Modify(ctx, dn2, []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "displayName", Values: [][]byte{[]byte(long + "a")}}}}, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time, from what was kept
		if got := first("(objectClass=inetOrgPerson)"); !strings.EqualFold(got, dn) {
			t.Errorf("with long values, first by displayName is %s, want %s", got, dn)
		}
	}
}

func mustFilter(s string) *ldap.Filter {
	f, err := ldap.ParseFilter(s)
	if err != nil {
		panic(err)
	}
	return f
}

// TestIndexSortUnderConcurrentWrites: sorted and VLV searches answered
// from the key's index while writers change the key and other indexed
// values each get a whole, duplicate-free window; once the writers stop,
// the index path answers exactly as the gather path, so no key order or
// posting set kept for an earlier write epoch outlives it, and no entry
// record either: it failed in about half the runs while EntryNDN, which
// reads the index path's entries, cached records of a snapshot older
// than its cache token (see TestCachesIgnoreReadsOlderThanAWrite in
// package directory), and every later read of the entry, the gather
// path's sort among them, saw the value before the write.
func TestIndexSortUnderConcurrentWrites(t *testing.T) {
	const people = 300
	e, _ := sortDirectory(t, people)
	pol := readablePolicy(t, e)
	f, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), SizeLimit: 500, Access: pol})
	if err != nil {
		t.Fatal(err)
	}
	gather, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), SizeLimit: 500, Access: pol, NoIndexSort: true})
	if err != nil {
		t.Fatal(err)
	}
	window := func(f *Frontend, offset int) *ldaptest.Recorder {
		req := searchReq(sortPeople, ldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", "uid")
		req.Controls = []ldap.Control{sortControl(true, key{"displayName", "", false}), vlvOffset(0, 19, offset, 0)}
		return runAs(f, "", req)
	}
	inScope := 0 // people below sortPeople: all but ou=other's
	for i := range people {
		if i%20 == 0 || i%50 != 1 {
			inScope++
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var writers, readers sync.WaitGroup
	var writes atomic.Int64
	for w := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ctx.Err() == nil && i < 200; i++ {
				i := rnd.IntN(people)
				parent := sortPeople // as sortDirectory places them
				switch {
				case i%20 == 0:
					parent = sortDeep
				case i%50 == 1:
					parent = "ou=other," + sortSuffix
				}
				dn := fmt.Sprintf("uid=u%04d,%s", i, parent)
				mods := []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "displayName",
					Values: [][]byte{[]byte(fmt.Sprintf("w%d %05d", w, rnd.IntN(100000)))}}}}
				if _, err := e.Modify(context.Background(), dn, mods, directory.WriteOptions{}); err != nil {
					t.Errorf("modify %s: %v", dn, err)
					return
				}
				writes.Add(1)
			}
		}()
	}
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rnd := rand.New(rand.NewPCG(uint64(r), 11))
			for ctx.Err() == nil {
				rec := window(f, 1+rnd.IntN(inScope-19))
				if rec.Code() != ldap.Success || len(rec.Entries) != 20 {
					t.Errorf("window during writes: code %d, %d entries", rec.Code(), len(rec.Entries))
					return
				}
				seen := map[string]bool{}
				for _, en := range rec.Entries {
					if seen[en.Entry.DN] {
						t.Errorf("window during writes names %s twice", en.Entry.DN)
						return
					}
					seen[en.Entry.DN] = true
				}
			}
		}()
	}
	writers.Wait()
	cancel()
	readers.Wait()
	if writes.Load() == 0 {
		t.Fatal("no write was made")
	}
	for offset := 1; offset <= inScope; offset += 37 {
		a, b := window(f, offset), window(gather, offset)
		if a.Code() != b.Code() || len(a.Entries) != len(b.Entries) {
			t.Fatalf("offset %d: index path code %d, %d entries; gather path code %d, %d entries", offset, a.Code(), len(a.Entries), b.Code(), len(b.Entries))
		}
		for i := range a.Entries {
			if !strings.EqualFold(a.Entries[i].Entry.DN, b.Entries[i].Entry.DN) {
				t.Fatalf("offset %d, entry %d: index path %s, gather path %s", offset, i, a.Entries[i].Entry.DN, b.Entries[i].Entry.DN)
			}
		}
	}
}
