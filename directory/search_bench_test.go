package directory

import (
	"context"
	"math/rand/v2"
	"testing"

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
	for b.Loop() {
		if err := e.Search(ctx, req, func(*Entry) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
