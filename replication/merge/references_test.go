package merge

import (
	"fmt"
	"github.com/switchboard-ldap/switchboard/change"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refSchema is testSchema with the memberof overlay's rule on member and
// uniqueMember (and, for the random tests, description).
type refSchema struct {
	testSchema
	placeholder string
}

// TypeName knows one alias, as the directory schema knows them all.
func (refSchema) TypeName(t string) string {
	if strings.EqualFold(t, "userid") || t == "0.9.2342.19200300.100.1.1" {
		return "uid"
	}
	return t
}

func (s refSchema) References() *References {
	return &References{Attrs: []string{"member", "uniquemember", "description"}, Placeholder: s.placeholder}
}

// TestReferenceRule shows, one case per rule, which member values a
// materialised group shows. Every case is checked in every delivery order
// of its changes, so the result is the same on every replica.
func TestReferenceRule(t *testing.T) {
	var (
		people  = id(2)
		alice   = id(3)
		bob     = id(4)
		alice2  = id(5) // alice deleted and added again
		g       = id(9)
		aliceDN = "uid=alice,ou=people," + suffixDN
		bobDN   = "uid=bob,ou=people," + suffixDN
	)
	base := []*Op{
		suffixAdd(),
		opAdd(at(1, 1), people, suffix, "ou=people", "objectClass: organizationalUnit", "ou: people"),
		opAdd(at(2, 1), alice, people, "uid=alice", "objectClass: person", "uid: alice"),
		opAdd(at(2, 2), bob, people, "uid=bob", "objectClass: person", "uid: bob"),
	}
	group := func(c change.CSN, members ...string) *Op {
		pairs := []string{"objectClass: groupOfNames", "cn: g"}
		for _, m := range members {
			pairs = append(pairs, "member: "+m)
		}
		return opAdd(c, g, suffix, "cn=g", pairs...)
	}
	for _, tc := range []struct {
		name        string
		ops         []*Op
		placeholder string
		attr        string
		want        []string
		noRule      bool
	}{{
		name: "members naming live entries are shown",
		ops:  []*Op{group(at(3, 1), aliceDN, bobDN)},
		want: []string{aliceDN, bobDN},
	}, {
		name: "a member naming an entry deleted concurrently (a later add, unseen delete) is not shown",
		ops:  []*Op{group(at(3, 1), bobDN), opDel(at(4, 1), alice), opMod(at(5, 2), g, modAdd("member", aliceDN))},
		want: []string{bobDN},
	}, {
		name: "the DN is compared by its equality rule, not its spelling",
		ops:  []*Op{group(at(3, 1), "UID=Alice, OU=People, DC=Example, DC=Com")},
		want: []string{"UID=Alice, OU=People, DC=Example, DC=Com"},
	}, {
		name: "a member naming no entry at all is not shown; the group keeps its others",
		ops:  []*Op{group(at(3, 1), bobDN, "uid=nobody,ou=people,"+suffixDN, "not a DN")},
		want: []string{bobDN},
	}, {
		name: "a group whose every member is gone shows the placeholder",
		ops:  []*Op{group(at(3, 1), aliceDN), opDel(at(4, 2), alice)},
		want: []string{""},
	}, {
		name:        "a configured placeholder is shown although it names no entry",
		placeholder: "cn=nobody",
		ops:         []*Op{group(at(3, 1), aliceDN, "cn=nobody"), opDel(at(4, 2), alice)},
		want:        []string{"cn=nobody"},
	}, {
		name: "the placeholder stays beside members added later",
		ops:  []*Op{group(at(3, 1), ""), opMod(at(4, 2), g, modAdd("member", bobDN))},
		want: []string{"", bobDN},
	}, {
		name: "a member renamed concurrently: the old DN is not shown, the new one is",
		ops: []*Op{
			group(at(3, 1), bobDN),
			opMove(at(4, 1), alice, people, "uid=carol", "uid=alice"),
			opMod(at(5, 2), g, modAdd("member", aliceDN)),
			opMod(at(6, 3), g, modAdd("member", "uid=carol,ou=people,"+suffixDN)),
		},
		want: []string{bobDN, "uid=carol,ou=people," + suffixDN},
	}, {
		name: "a person deleted and added again under the same DN is a member again (the value names the DN)",
		ops: []*Op{
			group(at(3, 1), bobDN), opDel(at(4, 1), alice), opMod(at(5, 2), g, modAdd("member", aliceDN)),
			opAdd(at(6, 3), alice2, people, "uid=alice", "objectClass: person", "uid: alice"),
		},
		want: []string{aliceDN, bobDN},
	}, {
		name: "a deleted parent kept as glue for its live child is no member",
		ops: []*Op{
			group(at(3, 1), "ou=people,"+suffixDN, bobDN), opDel(at(4, 1), people),
		},
		want: []string{bobDN},
	}, {
		name: "uniqueMember: the #'bits'B suffix is ignored for the lookup and kept in the value",
		ops: []*Op{opAdd(at(3, 1), g, suffix, "cn=g", "objectClass: groupOfUniqueNames", "cn: g",
			"uniqueMember: "+aliceDN+"#'0101'B", "uniqueMember: uid=gone,"+suffixDN+"#'1'B")},
		attr: "uniqueMember",
		want: []string{aliceDN + "#'0101'B"},
	}, {
		name: "escaped commas and multi-valued RDNs are compared RDN by RDN",
		ops: []*Op{
			opAdd(at(3, 1), id(6), people, `cn=Smith\, John`, "objectClass: person", "cn: Smith, John"),
			opAdd(at(3, 2), id(7), people, "cn=x+uid=y", "objectClass: person", "cn: x", "uid: y"),
			group(at(4, 1), `CN=smith\, john,ou=people,`+suffixDN, "UID=Y+CN=X,ou=people,"+suffixDN, `cn=smith\,ou=people,`+suffixDN),
		},
		want: []string{`CN=smith\, john,ou=people,` + suffixDN, "UID=Y+CN=X,ou=people," + suffixDN},
	}, {
		name: "attribute types are compared by their primary names",
		ops:  []*Op{group(at(3, 1), "userid=alice,ou=people,"+suffixDN, "0.9.2342.19200300.100.1.1=bob,ou=people,"+suffixDN)},
		want: []string{"0.9.2342.19200300.100.1.1=bob,ou=people," + suffixDN, "userid=alice,ou=people," + suffixDN},
	}, {
		name:   "without the rule (memberof disabled) every value is shown",
		noRule: true,
		ops:    []*Op{group(at(3, 1), bobDN), opDel(at(4, 1), alice), opMod(at(5, 2), g, modAdd("member", aliceDN))},
		want:   []string{aliceDN, bobDN},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			attr := tc.attr
			if attr == "" {
				attr = "member"
			}
			var schema Schema = refSchema{placeholder: tc.placeholder}
			if tc.noRule {
				schema = testSchema{}
			}
			ops := append(slices.Clone(base), tc.ops...)
			permutations(ops, func(order []*Op) {
				s := NewState(schema)
				for _, o := range order {
					if err := s.Apply(o); err != nil {
						t.Fatal(err)
					}
				}
				got := values(find(s.Materialize(), g), attr)
				if !slices.Equal(got, tc.want) {
					t.Fatalf("order %v: %s = %q, want %q", csns(order), attr, got, tc.want)
				}
			})
		})
	}
}

func csns(ops []*Op) string {
	var b strings.Builder
	for _, o := range ops {
		fmt.Fprintf(&b, " %s", o.CSN)
	}
	return b.String()
}

// refOps is fuzzOps with description values that are DNs of the
// entries fuzzOps places (their RDNs under the root and below each
// other), so that the reference rule has something to find.
func refOps(data []byte) []*Op {
	dns := map[string]string{"a": "cn=a", "A": "CN=A", "b": "cn=b,cn=a", "n": "dc=x,dc=y"}
	ops := fuzzOps(data)
	for _, o := range ops {
		for i := range o.Attrs {
			o.Attrs[i].Values = slices.Clone(o.Attrs[i].Values)
			for j, v := range o.Attrs[i].Values {
				if d, ok := dns[v]; ok && strings.EqualFold(o.Attrs[i].Name, "description") {
					o.Attrs[i].Values[j] = d
				}
			}
		}
		for i := range o.Mods {
			o.Mods[i].Values = slices.Clone(o.Mods[i].Values)
			for j, v := range o.Mods[i].Values {
				if d, ok := dns[v]; ok && strings.EqualFold(o.Mods[i].Attr, "description") {
					o.Mods[i].Values[j] = d
				}
			}
		}
	}
	return ops
}

// TestReferenceRuleIncremental: with the rule on, the mirror kept by
// MaterializeChanged still equals the full Materialize round after round:
// a group is rebuilt when an entry it names appears, goes, or is renamed,
// though the group itself did not change.
func TestReferenceRuleIncremental(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 11))
	hidden, shown := 0, 0
	for seed := range 300 {
		data := make([]byte, 60+seed*2)
		for i := range data {
			data[i] = byte(r.Uint32())
		}
		ops := refOps(data)
		s := NewState(refSchema{})
		sh := NewShown()
		mirror := map[UUID]Entry{}
		for round := 0; len(ops) > 0; round++ {
			n := min(len(ops), 1+r.IntN(4))
			applyAll(s, ops[:n])
			ops = ops[n:]
			if round%5 == 4 {
				s.Purge(change.CSN{Time: epoch + int64(r.IntN(8)), Replica: 1})
			}
			checkRound(t, s, sh, mirror, fmt.Sprintf("seed %d round %d", seed, round))
		}
		for _, e := range mirror {
			for _, v := range values(&e, "description") {
				if v == "" {
					hidden++
				} else {
					shown++
				}
			}
		}
	}
	if hidden == 0 || shown == 0 {
		t.Fatalf("the random changes did not exercise the rule: %d placeholders, %d references shown", hidden, shown)
	}
}

// FuzzReferenceRuleCommutes: with the rule on, any sequence of changes
// gives the same directory in any order.
func FuzzReferenceRuleCommutes(f *testing.F) {
	f.Add([]byte{0x00, 0, 0, 0, 1, 0x01, 1, 2, 1, 2, 0x22, 3, 0x21, 0, 4})
	f.Add([]byte("add modify delete modrdn and some more bytes to decode into changes"))
	f.Add(slices.Repeat([]byte{0x03, 1, 5, 2, 1, 1, 0x02, 1, 6, 1, 0x61}, 6))
	f.Fuzz(func(t *testing.T, data []byte) {
		ops := refOps(data)
		a := applyAll(NewState(refSchema{}), ops)
		want := a.Digest()
		rev := slices.Clone(ops)
		slices.Reverse(rev)
		r := rand.New(rand.NewPCG(uint64(len(data)), 1))
		for _, order := range [][]*Op{rev, shuffled(r, ops)} {
			if b := applyAll(NewState(refSchema{}), order); b.Digest() != want {
				t.Fatalf("order-dependent:\n%s\nversus\n%s", show(a), show(b))
			}
		}
	})
}

// BenchmarkReferenceRuleGroup: a group of 10,000 members among 10,000
// people, with the rule off and on: a modify of the group (rebuilt with
// every member looked up), and a member deleted and added again (the
// group rebuilt though it did not change).
func BenchmarkReferenceRuleGroup(b *testing.B) {
	const n = 10000
	for _, rule := range []bool{false, true} {
		var schema Schema = testSchema{}
		if rule {
			schema = refSchema{}
		}
		s := NewState(schema)
		s.Apply(suffixAdd())
		pairs := []string{"objectClass: groupOfNames", "cn: big"}
		people := make([]UUID, n)
		for i := range n {
			people[i] = UUID{8, byte(i >> 16), byte(i >> 8), byte(i)}
			s.Apply(opAdd(at(1, 1), people[i], suffix, fmt.Sprintf("uid=p%d", i), "objectClass: person", fmt.Sprintf("uid: p%d", i)))
			pairs = append(pairs, fmt.Sprintf("member: uid=p%d,%s", i, suffixDN))
		}
		group := id(200)
		s.Apply(opAdd(at(2, 1), group, suffix, "cn=big", pairs...))
		sh := NewShown()
		s.MaterializeChanged(sh, s.TakeChanged())
		tick := int64(0)
		next := func() change.CSN { tick++; return change.CSN{Time: epoch + 1e9 + tick, Replica: 2} }
		b.Run(fmt.Sprintf("rule=%v/modify-group", rule), func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				s.Apply(opMod(next(), group, modRepl("description", fmt.Sprint(i))))
				if upd, _ := s.MaterializeChanged(sh, s.TakeChanged()); len(upd) != 1 {
					b.Fatalf("%d entries rebuilt", len(upd))
				}
			}
		})
		b.Run(fmt.Sprintf("rule=%v/readd-member", rule), func(b *testing.B) {
			b.ReportAllocs()
			for i := range b.N {
				u := UUID{9, byte(i >> 16), byte(i >> 8), byte(i)}
				old := people[i%n]
				s.Apply(opDel(next(), old))
				s.Apply(opAdd(next(), u, suffix, fmt.Sprintf("uid=p%d", i%n), "objectClass: person", fmt.Sprintf("uid: p%d", i%n)))
				people[i%n] = u
				s.MaterializeChanged(sh, s.TakeChanged())
			}
		})
	}
}
