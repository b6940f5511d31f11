package directory

import (
	"context"
	"encoding/binary"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
)

// storedIndexKeys returns every index key the store holds for entry id.
func storedIndexKeys(t *testing.T, e *Engine, id ID) map[string]struct{} {
	t.Helper()
	out := map[string]struct{}{}
	txn := e.db().NewTransaction(false)
	defer txn.Discard()
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	it := txn.NewIterator(opt)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		switch k[0] {
		case index.PrefixPresence, index.PrefixEquality, index.PrefixSubstring, index.PrefixOrdering, index.PrefixApprox:
		default:
			continue
		}
		if len(k) > 9 && binary.BigEndian.Uint64(k[len(k)-8:]) == uint64(id) {
			out[string(k)] = struct{}{}
		}
	}
	return out
}

// TestReplaceEntriesValueKeys changes a group's member values (and other
// attributes) in place, at random, and checks after each change that the
// store holds exactly the index keys of the new entry: the keys of an
// index of values alone (member) follow the values that changed.
func TestReplaceEntriesValueKeys(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	// The in-memory store takes values up to 1 KB: a small group.
	dn := func(i int) string { return fmt.Sprintf("uid=m%d,dc=example,dc=com", i) }
	var members []string
	for i := range 12 {
		members = append(members, dn(i))
	}
	kv := []string{"objectClass", "groupOfNames", "objectClass", "extensibleObject", "cn", "g", "description", "d"}
	for _, m := range members {
		kv = append(kv, "member", m)
	}
	g, err := e.Add(ctx, "cn=g,dc=example,dc=com", append(attrs(kv...), Attr{Name: "displayName", Values: [][]byte{[]byte("g")}}), WriteOptions{})
	must(t, err)
	cur := g.After.Clone()
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 300 {
		next := cur.Clone()
		i := slices.IndexFunc(next.Attrs, func(a Attr) bool { return a.Name == "member" || a.Name == "MEMBER" })
		vals := slices.Clone(next.Attrs[i].Values)
		what := rng.IntN(8)
		switch what {
		case 0, 1: // remove one
			if len(vals) > 1 {
				j := rng.IntN(len(vals))
				vals = slices.Delete(vals, j, j+1)
			}
		case 2: // add one, at the end or in the middle
			if len(vals) > 20 {
				break
			}
			v := []byte(dn(100 + step))
			vals = slices.Insert(vals, rng.IntN(len(vals)+1), v)
		case 3: // the same DN written otherwise: same equality key
			j := rng.IntN(len(vals))
			vals[j] = []byte(fmt.Sprintf("UID=%s, DC=Example,dc=com", string(vals[j][4:bytesIndex(vals[j], ',')])))
		case 4: // reorder
			rng.Shuffle(len(vals), func(a, b int) { vals[a], vals[b] = vals[b], vals[a] })
		case 5: // replace several
			for range 3 {
				vals[rng.IntN(len(vals))] = []byte(dn(1000 + rng.IntN(1000)))
			}
			slices.SortFunc(vals, func(a, b []byte) int { return bytesCompare(a, b) })
			vals = slices.CompactFunc(vals, func(a, b []byte) bool { return bytesCompare(a, b) == 0 })
		case 6: // the attribute's name changes case
			if next.Attrs[i].Name == "member" {
				next.Attrs[i].Name = "MEMBER"
			} else {
				next.Attrs[i].Name = "member"
			}
		case 7: // two attributes feed displayName's index, with a common key
			if k := slices.IndexFunc(next.Attrs, func(a Attr) bool { return a.Name == "displayName;lang-en" }); k >= 0 {
				next.Attrs = slices.Delete(next.Attrs, k, k+1)
			} else {
				next.Attrs = append(next.Attrs, Attr{Name: "displayName;lang-en", Values: [][]byte{[]byte("G"), []byte(fmt.Sprintf("x%d", step))}})
			}
		}
		next.Attrs[i].Values = vals
		must(t, e.ReplaceEntries(ctx, []*Entry{next}, nil))
		got := storedIndexKeys(t, e, next.ID)
		want := e.indexKeys(e.indexes, next)
		if !maps.Equal(got, want) {
			for k := range want {
				if _, ok := got[k]; !ok {
					t.Errorf("step %d (change %d): index key %q missing", step, what, k)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("step %d (change %d): stale index key %q", step, what, k)
				}
			}
			t.FailNow()
		}
		cur = next
	}
}

func bytesIndex(b []byte, c byte) int { return slices.Index(b, c) }

func bytesCompare(a, b []byte) int { return slices.Compare(a, b) }

// TestValueKeyChangesCost checks that the index keys of a changed member
// value cost the same in a group of 20 and of 20,000: putEntry normalises
// the values that changed, not all of them.
func TestValueKeyChangesCost(t *testing.T) {
	e := openTest(t)
	at, _ := e.schema.Attribute("member")
	ia := e.indexes.Lookup(at)
	group := func(n int) (before, after *Entry) {
		var vals [][]byte
		for i := range n {
			vals = append(vals, fmt.Appendf(nil, "uid=m%d,ou=people,dc=example,dc=com", i))
		}
		before = &Entry{ID: 7, DN: "cn=g,dc=example,dc=com", Attrs: []Attr{{Name: "member", Values: vals}}}
		after = before.Clone()
		after.Attrs[0].Values = slices.Delete(slices.Clone(vals), n/2, n/2+1)
		after.Attrs[0].Values = append(after.Attrs[0].Values, []byte("uid=new,ou=people,dc=example,dc=com"))
		return before, after
	}
	allocs := func(n int) float64 {
		before, after := group(n)
		return testing.AllocsPerRun(5, func() {
			del, set, ok := e.valueKeyChanges(ia, before, after)
			if !ok || len(del) != 1 || len(set) != 1 {
				t.Fatalf("%d members: %d keys to delete, %d to set, ok %v; want 1, 1", n, len(del), len(set), ok)
			}
		})
	}
	small, large := allocs(20), allocs(20000)
	t.Logf("allocations: %v with 20 members, %v with 20,000", small, large)
	if large > small+20 {
		t.Errorf("one member changed in a group of 20,000 takes %v allocations, of 20: %v; want about the same", large, small)
	}
}
