package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/internal/cputime"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// BenchmarkUnindexedScan measures the per-entry cost of a search the
// indexes cannot narrow (no index on description, givenName's substring
// index left out of the OR): every entry is loaded, through the entry
// cache, and tested. Reported per search over about 2,000 entries.
func BenchmarkUnindexedScan(b *testing.B) {
	e := openTest(b)
	fillRandom(b, e, rand.New(rand.NewPCG(1, 2)), 2200)
	f, err := ldap.ParseFilter("(&(objectClass=person)(|(description=*zz*)(cn=*Jos*)(sn=*ül*)))")
	if err != nil {
		b.Fatal(err)
	}
	req := &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, Unlimited: true}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for b.Loop() {
		if err := e.Search(ctx, req, func(*Entry) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu)
}

// BenchmarkOutlookScan measures the per-entry cost of Outlook's
// autocomplete filter where nothing narrows it (givenName unindexed, as
// in the benchmark matrix): every one of about 2,000 people is read and
// tested, and none matches. Reported per search.
func BenchmarkOutlookScan(b *testing.B) {
	e := openTestWith(b, Options{Indexes: map[string][]string{"objectClass": {"eq"},
		"uid": {"eq", "sub"}, "cn": {"eq", "sub"}, "sn": {"eq", "sub"}, "mail": {"eq", "sub"}}})
	fillRandom(b, e, rand.New(rand.NewPCG(1, 2)), 2200)
	f, err := ldap.ParseFilter("(&(mail=*)(|(mail=zz*)(|(cn=zz*)(|(sn=zz*)(givenName=zz*)))))")
	if err != nil {
		b.Fatal(err)
	}
	req := &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, SizeLimit: 100, Unlimited: true, Borrow: true}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for b.Loop() {
		if err := e.Search(ctx, req, func(*Entry) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu)
}

// BenchmarkEqualitySearch measures an indexed point look-up, (uid=x) over
// 2,000 people, as the LDAP frontend runs it (the entry lent to the
// callback): with the entry in the entry cache, and with the cache off
// (a Badger read per search).
func BenchmarkEqualitySearch(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache int64
	}{{"cached", 0}, {"uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			e := openTestWith(b, Options{EntryCacheBytes: bc.cache})
			fillRandom(b, e, rand.New(rand.NewPCG(1, 2)), 2000)
			filters := make([]*ldap.Filter, 64)
			for i := range filters {
				uid := i*31 + 1
				if uid%11 == 3 { // deleted by fillRandom
					uid++
				}
				f, err := ldap.ParseFilter(fmt.Sprintf("(uid=u%d)", uid))
				if err != nil {
					b.Fatal(err)
				}
				filters[i] = f
			}
			ctx := context.Background()
			req := &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Borrow: true}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				req.Filter = filters[i%len(filters)]
				i++
				n := 0
				if err := e.Search(ctx, req, func(*Entry) error { n++; return nil }); err != nil || n != 1 {
					b.Fatalf("%d entries, %v", n, err)
				}
			}
		})
	}
}

// BenchmarkSizeLimitedOr measures Thunderbird's autocomplete, an OR of
// three prefix substrings with a size limit of 10, over 20,000 people of
// whom about a third match: a size-limited search must cost about what
// it returns (the union streams), not every match. Also at ou=people and
// as a subtree search of a base holding every person, which must cost
// about the same.
func BenchmarkSizeLimitedOr(b *testing.B) {
	e := openTest(b)
	fillRandom(b, e, rand.New(rand.NewPCG(3, 4)), 20000)
	f, err := ldap.ParseFilter("(|(cn=an*)(mail=an*)(sn=an*))")
	if err != nil {
		b.Fatal(err)
	}
	for _, base := range []string{"dc=example,dc=com", "ou=people,dc=example,dc=com"} {
		b.Run(base[:strings.IndexByte(base, ',')], func(b *testing.B) {
			req := &SearchRequest{BaseDN: base, Scope: ldap.ScopeWholeSubtree, Filter: f, SizeLimit: 10, Borrow: true}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				err := e.Search(ctx, req, func(*Entry) error { n++; return nil })
				if code(err) != ldap.SizeLimitExceeded || n != 10 {
					b.Fatalf("%d entries, %v", n, err)
				}
			}
		})
	}
}

// An unindexed scan normalises the values its filter tests into the
// search's buffer: testing mixed-case names and addresses (Outlook's
// autocomplete filter, givenName unindexed) allocates nothing per entry
// once the records are cached.
func TestScanFilterDoesNotAllocatePerEntry(t *testing.T) {
	// The matrix's indexes: givenName has none, so nothing narrows the OR.
	e := openTestWith(t, Options{Indexes: map[string][]string{"objectClass": {"eq"},
		"uid": {"eq", "sub"}, "cn": {"eq", "sub"}, "sn": {"eq", "sub"}, "mail": {"eq", "sub"}}})
	fillRandom(t, e, rand.New(rand.NewPCG(5, 6)), 400)
	f, err := ldap.ParseFilter("(&(mail=*)(|(mail=zz*)(|(cn=zz*)(|(sn=zz*)(givenName=zz*)))))")
	if err != nil {
		t.Fatal(err)
	}
	req := &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, Unlimited: true, Borrow: true}
	ctx := context.Background()
	search := func() {
		n := 0
		if err := e.Search(ctx, req, func(*Entry) error { n++; return nil }); err != nil || n != 0 {
			t.Fatalf("%d entries, %v", n, err)
		}
	}
	search() // cache the records
	// A search costs a few dozen allocations whatever its size (the
	// transaction, the compiled filter); 400 people must not add one
	// each.
	allocs := testing.AllocsPerRun(10, search)
	if allocs > 100 {
		t.Errorf("a scan of 400 people allocates %v times", allocs)
	}
}
