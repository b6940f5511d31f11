package merge

import (
	"fmt"
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
