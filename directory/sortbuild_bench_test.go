package directory

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/internal/cputime"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// BenchmarkSortsAfterWrite measures what 32 concurrent index-ordered
// sorts by displayName cost right after a write, which empties the kept
// key orders: per operation one displayName change, then the 32 sorts
// of 20,000 people at once. Without a shared build, the sorts that miss
// the order while another walks the index walk it too.
func BenchmarkSortsAfterWrite(b *testing.B) {
	ctx := context.Background()
	s, err := schema.Default()
	if err != nil {
		b.Fatal(err)
	}
	e, err := Open(Options{Dir: b.TempDir(), NoSync: true, Suffix: "dc=example,dc=com", Schema: s})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	if err := e.WaitIndexes(ctx); err != nil {
		b.Fatal(err)
	}
	l, err := e.NewLoader(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	const people, sorts = 20000, 32
	add := func(dn string, attrs []Attr) {
		if err := l.Add(ctx, dn, attrs); err != nil {
			b.Fatal(err)
		}
	}
	add("dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"))
	add("ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"))
	for i := range people {
		add(fmt.Sprintf("uid=p%d,ou=people,dc=example,dc=com", i), append(person(fmt.Sprintf("p%d", i), "P", "P"),
			Attr{Name: "displayName", Values: [][]byte{[]byte(fmt.Sprintf("d%05d", (i*7919)%people))}}))
	}
	if err := l.Finish(); err != nil {
		b.Fatal(err)
	}
	at, _ := e.schema.Attribute("displayName")
	f, err := ldap.ParseFilter("(objectClass=inetOrgPerson)")
	if err != nil {
		b.Fatal(err)
	}
	req := &IndexSortRequest{Attr: at, ByEquality: true,
		Search: &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f}}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	n := 0
	for b.Loop() {
		n++
		mods := []Mod{{Op: change.ModReplace, Attr: Attr{Name: "displayName", Values: [][]byte{[]byte(fmt.Sprint(n))}}}}
		if _, err := e.Modify(ctx, "uid=p1,ou=people,dc=example,dc=com", mods, WriteOptions{}); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		for range sorts {
			wg.Go(func() {
				if s, err := e.IndexSort(ctx, req); err != nil || s == nil || s.Len() != people {
					b.Errorf("IndexSort: %v, %v", s, err)
				}
			})
		}
		wg.Wait()
	}
	cputime.Report(b, cpu)
}
