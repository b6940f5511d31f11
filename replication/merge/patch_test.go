package merge

import (
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// TestPatchCases: which rounds of changes the cached view is patched for
// (the round costs what its changes do) and which resolve the whole
// state again; either way the result equals the full Materialize. The
// directory before each round: the suffix, ou=people with alice and bob,
// and a deleted ou=gone.
func TestPatchCases(t *testing.T) {
	people, gone := id(2), id(3)
	alice, bob := id(10), id(11)
	tests := []struct {
		name    string
		round   func(c *csnSeq) []*Op
		patched bool
	}{
		{"modify", func(c *csnSeq) []*Op {
			return []*Op{opMod(c.next(), alice, modAdd("description", "x"))}
		}, true},
		{"add a leaf", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), people, "cn=carol", "cn: carol")}
		}, true},
		{"delete a leaf", func(c *csnSeq) []*Op {
			return []*Op{opDel(c.next(), bob)}
		}, true},
		{"add a leaf and its child", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), people, "ou=x", "ou: x"), opAdd(c.next(), id(21), id(20), "cn=y", "cn: y")}
		}, true},
		{"add and delete an entry in one round", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), people, "cn=carol", "cn: carol"), opMod(c.next(), id(20), modAdd("description", "x")), opDel(c.next(), id(20))}
		}, true},
		{"add and delete an entry, and add another with its name", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), people, "cn=carol", "cn: carol"), opDel(c.next(), id(20)), opAdd(c.next(), id(21), people, "cn=carol", "cn: carol")}
		}, true},
		{"add and delete an entry below a deleted one", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), gone, "cn=z", "cn: z"), opDel(c.next(), id(20))}
		}, true},
		{"add and delete an entry below an unknown one", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), id(99), "cn=z", "cn: z"), opDel(c.next(), id(20))}
		}, false},
		{"add and delete an entry, then a child of it arrives", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), people, "ou=x", "ou: x"), opDel(c.next(), id(20)), opAdd(c.next(), id(21), id(20), "cn=y", "cn: y")}
		}, false},
		{"add below a deleted entry (glue)", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), gone, "cn=z", "cn: z")}
		}, false},
		{"add at a taken name", func(c *csnSeq) []*Op {
			return []*Op{opAdd(c.next(), id(20), people, "cn=alice", "cn: alice")}
		}, false},
		{"move", func(c *csnSeq) []*Op {
			return []*Op{opMove(c.next(), alice, people, "cn=alicia", "cn=alice")}
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq := &csnSeq{}
			s := NewState(testSchema{})
			applyAll(s, []*Op{
				suffixAdd(),
				opAdd(seq.next(), people, suffix, "ou=people", "ou: people"),
				opAdd(seq.next(), alice, people, "cn=alice", "cn: alice"),
				opAdd(seq.next(), bob, people, "cn=bob", "cn: bob"),
				opAdd(seq.next(), gone, suffix, "ou=gone", "ou: gone"),
				opDel(seq.next(), gone),
			})
			sh := NewShown()
			mirror := map[UUID]Entry{}
			checkRound(t, s, sh, mirror, "before")
			view := sh.view
			for _, o := range tc.round(seq) {
				if err := s.Apply(o); err != nil {
					t.Fatal(err)
				}
			}
			checkRound(t, s, sh, mirror, "round")
			if patched := sh.view == view; patched != tc.patched {
				t.Errorf("view patched %v, want %v", patched, tc.patched)
			}
			// And the round after still follows.
			applyAll(s, []*Op{opAdd(seq.next(), id(30), people, "cn=after", "cn: after"), opDel(seq.next(), alice)})
			checkRound(t, s, sh, mirror, "after")
		})
	}
}

// csnSeq hands out increasing CSNs of replica 2.
type csnSeq struct{ n int }

func (c *csnSeq) next() change.CSN {
	c.n++
	return at(c.n, 2)
}
