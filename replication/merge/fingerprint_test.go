package merge

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// TestFingerprintLargeAttributes: an attribute of LargeAttr values or
// more fingerprints the same in any order of its values (a store's group
// need not be sorted by equality key to be compared), and still tells a
// changed, added or removed value; smaller attributes keep their order's
// canonical form.
func TestFingerprintLargeAttributes(t *testing.T) {
	members := func(n int) []string {
		var vs []string
		for i := range n {
			vs = append(vs, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i))
		}
		return vs
	}
	entry := func(vs []string) *Entry {
		return &Entry{UUID: UUID{1}, DN: "cn=staff,ou=groups,dc=example,dc=com", Attrs: []Attribute{
			{Name: "cn", Values: []string{"staff"}},
			{Name: "member", Values: vs},
			{Name: "objectClass", Values: []string{"groupOfNames", "top"}},
		}}
	}
	rng := rand.New(rand.NewSource(1))
	for _, n := range []int{LargeAttr, LargeAttr + 1, 1000} {
		vs := members(n)
		want := fingerprint(entry(vs))
		shuffled := slices.Clone(vs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := fingerprint(entry(shuffled)); got != want {
			t.Errorf("%d values: the order changed the fingerprint", n)
		}
		changed := slices.Clone(vs)
		changed[n/2] += "x"
		if fingerprint(entry(changed)) == want {
			t.Errorf("%d values: a changed value kept the fingerprint", n)
		}
		if fingerprint(entry(vs[1:])) == want || fingerprint(entry(append(slices.Clone(vs), "cn=new"))) == want {
			t.Errorf("%d values: a value removed or added kept the fingerprint", n)
		}
		// Each value is hashed whole: bytes moved from one value to
		// another change the sum.
		moved := slices.Clone(vs)
		moved[0], moved[1] = moved[0]+"1", moved[1][:len(moved[1])-1]
		if fingerprint(entry(moved)) == want {
			t.Errorf("%d values: bytes moved between values kept the fingerprint", n)
		}
	}
	small := members(LargeAttr - 1)
	rev := slices.Clone(small)
	slices.Reverse(rev)
	if fingerprint(entry(small)) == fingerprint(entry(rev)) {
		t.Error("a small attribute's fingerprint ignored its order (its canonical form is in Materialize order)")
	}
}
