package merge

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// memberRule is testSchema with the reference rule on member alone, as
// the memberof overlay sets it.
type memberRule struct{ testSchema }

func (memberRule) References() *References {
	return &References{Attrs: []string{"member"}, Placeholder: "cn=nobody"}
}

// A catchUp is a directory of n people under ou=people and a group
// naming every one of them (testdata/gen's staff group), materialised,
// that rounds of a catch-up's changes then change.
type catchUp struct {
	s      *State
	sh     *Shown
	people []UUID // in the group, not yet deleted
	group  UUID
	next   int // CSNs and names
}

const peopleDN = "ou=people," + suffixDN

func newCatchUp(tb testing.TB, n int) *catchUp {
	c := &catchUp{s: NewState(memberRule{}), group: UUID{9, 9}}
	c.apply(tb, suffixAdd())
	ou := UUID{1}
	c.apply(tb, opAdd(c.csn(), ou, suffix, "ou=people", "objectClass: organizationalUnit", "ou: people"))
	var members []string
	for i := range n {
		u := UUID{2, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
		name := fmt.Sprintf("p%d", i)
		c.apply(tb, opAdd(c.csn(), u, ou, "cn="+name, "objectClass: person", "cn: "+name, "sn: "+name))
		c.people = append(c.people, u)
		members = append(members, "cn="+name+","+peopleDN)
	}
	g := opAdd(c.csn(), c.group, suffix, "cn=staff", "objectClass: groupOfNames", "cn: staff")
	g.Attrs = append(g.Attrs, Attribute{Name: "member", Values: members})
	c.apply(tb, g)
	c.sh = c.s.MaterializeAll(func(*Entry) bool { return true })
	c.s.TakeChanged()
	return c
}

func (c *catchUp) csn() change.CSN {
	c.next++
	return change.CSN{Time: epoch + int64(c.next), Replica: 2}
}

func (c *catchUp) apply(tb testing.TB, o *Op) {
	if err := c.s.Apply(o); err != nil {
		tb.Fatal(err)
	}
}

// changes applies one round of a catch-up's changes, as a pull brings
// them: per ten, five adds of new people, three description values
// added to people, two deletes of people, each with the modify that
// takes the person out of the group (the memberof overlay's referential
// integrity, replicated as a change of its own).
func (c *catchUp) changes(tb testing.TB, n int) {
	for k := range n {
		switch r := k % 10; {
		case r < 5:
			u := UUID{3, byte(c.next >> 24), byte(c.next >> 16), byte(c.next >> 8), byte(c.next)}
			name := fmt.Sprintf("new%d", c.next)
			c.apply(tb, opAdd(c.csn(), u, UUID{1}, "cn="+name, "objectClass: person", "cn: "+name, "sn: new"))
		case r < 8:
			c.apply(tb, opMod(c.csn(), c.people[(c.next*7919)%len(c.people)], modAdd("description", fmt.Sprintf("d%d", c.next))))
		default:
			if len(c.people) < 2 {
				tb.Fatal("out of people to delete")
			}
			u := c.people[len(c.people)-1]
			c.people = c.people[:len(c.people)-1]
			i := int(u[1])<<24 | int(u[2])<<16 | int(u[3])<<8 | int(u[4])
			c.apply(tb, opDel(c.csn(), u))
			c.apply(tb, opMod(c.csn(), c.group, modDel("member", fmt.Sprintf("cn=p%d,%s", i, peopleDN))))
		}
	}
}

// BenchmarkRound is one resolution round of a catch-up (MaterializeChanged
// after 100 pulled changes, the group among the rebuilt entries) in
// directories of 10,000 and 100,000 people: what a round costs should
// follow its changes, not the directory's size.
func BenchmarkRound(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("people=%d", n), func(b *testing.B) {
			c := newCatchUp(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				c.changes(b, 100)
				b.StartTimer()
				upd, _ := c.s.MaterializeChanged(c.sh, c.s.TakeChanged())
				if len(upd) < 80 {
					b.Fatalf("%d entries rebuilt", len(upd))
				}
			}
		})
	}
}

// parseCounter is memberRule that counts the DNs the reference rule
// parses (it asks the schema for the type names of each RDN's values).
type parseCounter struct {
	memberRule
	avas *int
}

func (p parseCounter) TypeName(t string) string {
	*p.avas++
	return t
}

// TestReferenceRuleRebuildParsesChanges: a group of 1,000 members
// rebuilt after a change parses the values that change concerns, not
// its 1,000 (each member DN has four RDNs), and still equals the full
// Materialize: a member added, one removed with its person deleted, a
// person deleted while the group still names it (hidden), and a person
// added again at that DN (shown again).
func TestReferenceRuleRebuildParsesChanges(t *testing.T) {
	var avas int
	c := &catchUp{s: NewState(parseCounter{avas: &avas}), group: UUID{9, 9}}
	c.apply(t, suffixAdd())
	ou := UUID{1}
	c.apply(t, opAdd(c.csn(), ou, suffix, "ou=people", "objectClass: organizationalUnit", "ou: people"))
	var members []string
	person := func(i int) UUID { return UUID{2, byte(i >> 8), byte(i)} }
	dn := func(i int) string { return fmt.Sprintf("cn=p%d,%s", i, peopleDN) }
	addPerson := func(i int) {
		c.apply(t, opAdd(c.csn(), person(i), ou, fmt.Sprintf("cn=p%d", i), "objectClass: person", fmt.Sprintf("cn: p%d", i), "sn: p"))
	}
	for i := range 1001 {
		addPerson(i)
		if i < 1000 {
			members = append(members, dn(i))
		}
	}
	g := opAdd(c.csn(), c.group, suffix, "cn=staff", "objectClass: groupOfNames", "cn: staff")
	g.Attrs = append(g.Attrs, Attribute{Name: "member", Values: members})
	c.apply(t, g)
	sh := NewShown()
	mirror := map[UUID]Entry{}
	checkRound(t, c.s, sh, mirror, "first build")
	if avas < 4000 {
		t.Fatalf("the first build parsed %d RDNs, want every member's", avas)
	}
	round := func(name string, wantShown int, changes ...*Op) {
		t.Helper()
		for _, o := range changes {
			c.apply(t, o)
		}
		avas = 0
		upd, gone := c.s.MaterializeChanged(sh, c.s.TakeChanged())
		parsed := avas
		for _, u := range gone {
			delete(mirror, u)
		}
		for _, e := range upd {
			mirror[e.UUID] = e
		}
		full := c.s.Materialize()
		if len(full) != len(mirror) {
			t.Errorf("%s: %d entries materialised, %d in full", name, len(mirror), len(full))
		}
		for _, e := range full {
			if !reflect.DeepEqual(mirror[e.UUID], e) {
				t.Errorf("%s: %s materialised as %v, in full as %v", name, e.DN, mirror[e.UUID], e)
			}
		}
		if parsed > 12 {
			t.Errorf("%s: the rebuild parsed %d RDNs, want at most the changed values' (12)", name, parsed)
		}
		if got := len(values(new(mirror[c.group]), "member")); got != wantShown {
			t.Errorf("%s: the group shows %d members, want %d", name, got, wantShown)
		}
	}
	round("member added", 1001, opMod(c.csn(), c.group, modAdd("member", dn(1000))))
	round("member removed with its person", 1000, opDel(c.csn(), person(5)), opMod(c.csn(), c.group, modDel("member", dn(5))))
	round("person deleted, still named", 999, opDel(c.csn(), person(6)))
	round("a person added again at its DN", 1000, opAdd(c.csn(), UUID{4}, ou, "cn=p6", "objectClass: person", "cn: p6", "sn: again"))
	round("a member added while its person goes", 999, opMod(c.csn(), c.group, modAdd("member", dn(5))), opDel(c.csn(), person(7)), opMod(c.csn(), c.group, modDel("member", dn(7))))
	if t.Failed() {
		return
	}
}
