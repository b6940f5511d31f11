package changelog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// TestModsOfChangedValues: the modifies ModsOf finds between two states
// of an entry take the first to the second, whatever values were
// removed, added or reordered.
func TestModsOfChangedValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	for round := range 500 {
		var was [][]byte
		for i := range rng.IntN(30) {
			was = append(was, fmt.Appendf(nil, "v%d", i))
		}
		is := slices.Clone(was)
		for range rng.IntN(4) {
			switch r := rng.IntN(3); {
			case r == 0 && len(is) > 0:
				j := rng.IntN(len(is))
				is = slices.Delete(is, j, j+1)
			case r == 1:
				is = slices.Insert(is, rng.IntN(len(is)+1), fmt.Appendf(nil, "n%d", rng.IntN(1000)))
				slices.SortFunc(is, func(a, b []byte) int { return slices.Compare(a, b) })
				is = slices.CompactFunc(is, func(a, b []byte) bool { return slices.Equal(a, b) })
			default:
				rng.Shuffle(len(is), func(a, b int) { is[a], is[b] = is[b], is[a] })
			}
		}
		before := &directory.Entry{Attrs: []directory.Attr{{Name: "member", Values: was}}}
		after := &directory.Entry{Attrs: []directory.Attr{{Name: "member", Values: is}}}
		got := map[string]bool{}
		for _, v := range was {
			got[string(v)] = true
		}
		for _, m := range ModsOf(before, after) {
			switch m.Op {
			case change.ModReplace:
				clear(got)
				fallthrough
			case change.ModAdd:
				for _, v := range m.Values {
					got[v] = true
				}
			case change.ModDelete:
				if len(m.Values) == 0 {
					clear(got)
				}
				for _, v := range m.Values {
					delete(got, v)
				}
			}
		}
		want := map[string]bool{}
		for _, v := range is {
			want[string(v)] = true
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: %q -> %q: the modifies give %v", round, was, is, got)
		}
	}
}

// TestModsOfLargeGroupCost: one member taken out of a group of 20,000
// costs a few allocations, not one per member.
func TestModsOfLargeGroupCost(t *testing.T) {
	var was [][]byte
	for i := range 20000 {
		was = append(was, fmt.Appendf(nil, "uid=m%d,ou=people,dc=example,dc=com", i))
	}
	is := slices.Delete(slices.Clone(was), 7000, 7001)
	before := &directory.Entry{Attrs: []directory.Attr{{Name: "member", Values: was}}}
	after := &directory.Entry{Attrs: []directory.Attr{{Name: "member", Values: is}}}
	allocs := testing.AllocsPerRun(5, func() {
		mods := ModsOf(before, after)
		if len(mods) != 1 || mods[0].Op != change.ModDelete || len(mods[0].Values) != 1 {
			t.Fatalf("mods %v", mods)
		}
	})
	if allocs > 30 {
		t.Errorf("%v allocations for one member of 20,000, want a few", allocs)
	}
}
