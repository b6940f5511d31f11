package directory

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// snapshot renders an entry as text, values and all.
func snapshot(en *Entry) string {
	s := en.DN
	for _, a := range en.Attrs {
		s += fmt.Sprintf("|%s=%q", a.Name, a.Values)
	}
	return s
}

// TestLentAndPrivateEntries checks the two ways Search hands out entries:
// lent ones (Borrow) are decoded into the same Entry and read correctly
// inside the callback; private ones stay intact after later searches
// and may be changed without changing what the engine (its cache) holds.
// The entries differ in size, so that the scratch entry is reused for a
// smaller entry after a larger one.
func TestLentAndPrivateEntries(t *testing.T) {
	for _, cache := range []int64{0, -1} {
		t.Run(fmt.Sprintf("cache=%d", cache), func(t *testing.T) {
			e := openTestWith(t, Options{EntryCacheBytes: cache})
			ctx := context.Background()
			for i := range 6 {
				extra := []string{}
				for j := range 6 - i {
					extra = append(extra, "description", fmt.Sprintf("d%d-%d", i, j))
				}
				if i%2 == 0 {
					extra = append(extra, "mail", fmt.Sprintf("p%d@example.com", i))
				}
				must(t, errOf(e.Add(ctx, fmt.Sprintf("uid=p%d,ou=people,dc=example,dc=com", i), person(fmt.Sprintf("p%d", i), "P", "P", extra...), WriteOptions{})))
			}
			f, err := ldap.ParseFilter("(objectClass=person)")
			must(t, err)
			search := func(borrow, operational bool) (kept []*Entry, seen []string) {
				req := &SearchRequest{BaseDN: "ou=people,dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, Borrow: borrow, Operational: operational}
				must(t, e.Search(ctx, req, func(en *Entry) error {
					seen = append(seen, snapshot(en))
					kept = append(kept, en)
					return nil
				}))
				return kept, seen
			}
			// Twice, so that the second reads through the cache.
			for range 2 {
				for _, op := range []bool{false, true} {
					private, want := search(false, op)
					_, lent := search(true, op)
					if len(want) != 6 || !slices.Equal(lent, want) {
						t.Fatalf("operational=%v: lent entries\n%q\nwant\n%q", op, lent, want)
					}
					for i, en := range private {
						if got := snapshot(en); got != want[i] {
							t.Errorf("private entry changed by later searches:\n%s\nwant\n%s", got, want[i])
						}
					}
					// Changing a private entry changes nothing else.
					private[0].Attrs[0].Values[0] = []byte("changed")
					private[0].Attrs = append(private[0].Attrs, Attr{Name: "cn", Values: [][]byte{[]byte("x")}})
					if _, again := search(false, op); !slices.Equal(again, want) {
						t.Errorf("a change to a private entry showed in the next search")
					}
				}
			}
		})
	}
}

// TestSealedEntriesThroughCache reads an entry with a sealed value again
// and again through the entry cache, lent and private: opening the value
// must leave the cached record sealed (the AEAD once decrypted in place,
// over the record, which the cache now keeps).
func TestSealedEntriesThroughCache(t *testing.T) {
	e := sealedEngine(t)
	ctx := context.Background()
	dn := "uid=s1,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, person("s1", "S", "S", "employeeNumber", "secret-1234"), WriteOptions{})))
	f, err := ldap.ParseFilter("(employeeNumber=secret-1234)")
	must(t, err)
	for i := range 4 {
		n := 0
		req := &SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject, Filter: f, Borrow: i%2 == 0}
		must(t, e.Search(ctx, req, func(en *Entry) error {
			n++
			if got := en.First("employeeNumber"); got != "secret-1234" {
				t.Errorf("read %d: employeeNumber %q", i, got)
			}
			return nil
		}))
		if n != 1 {
			t.Fatalf("read %d: %d entries", i, n)
		}
	}
}
