package merge

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

var x = id(10) // the entry the examples change

func addX() *Op {
	return opAdd(at(1, 1), x, suffix, "cn=x", "objectClass: person", "cn: x", "sn: X")
}

// TestValueMergeExamples shows, one case per rule, how concurrent changes
// to one entry's values merge. Every case is checked in every delivery
// order.
func TestValueMergeExamples(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []*Op
		attr string
		want []string
	}{{
		name: "concurrent adds to a multi-valued attribute keep both values",
		ops:  []*Op{opMod(at(2, 1), x, modAdd("description", "a")), opMod(at(2, 2), x, modAdd("description", "b"))},
		attr: "description", want: []string{"a", "b"},
	}, {
		name: "a removal newer than the add removes the value",
		ops:  []*Op{opMod(at(3, 1), x, modAdd("description", "a")), opMod(at(4, 2), x, modDel("description", "a"))},
		attr: "description", want: nil,
	}, {
		name: "an add newer than the removal keeps the value",
		ops:  []*Op{opMod(at(3, 2), x, modDel("description", "a")), opMod(at(4, 1), x, modAdd("description", "a"))},
		attr: "description", want: []string{"a"},
	}, {
		name: "deleting the attribute removes values added before it, not after",
		ops: []*Op{
			opMod(at(2, 1), x, modAdd("description", "a")),
			opMod(at(3, 2), x, modDel("description")),
			opMod(at(4, 3), x, modAdd("description", "b")),
		},
		attr: "description", want: []string{"b"},
	}, {
		name: "replace wins over older adds, not over newer ones",
		ops: []*Op{
			opMod(at(2, 2), x, modAdd("description", "old")),
			opMod(at(3, 1), x, modRepl("description", "c")),
			opMod(at(4, 2), x, modAdd("description", "d")),
		},
		attr: "description", want: []string{"c", "d"},
	}, {
		name: "single-valued: the last writer wins",
		ops:  []*Op{opMod(at(4, 2), x, modRepl("displayName", "Bob")), opMod(at(3, 1), x, modRepl("displayName", "Alice"))},
		attr: "displayName", want: []string{"Bob"},
	}, {
		name: "single-valued: concurrent adds to an empty attribute, the newest wins",
		ops:  []*Op{opMod(at(2, 1), x, modAdd("displayName", "Alice")), opMod(at(3, 2), x, modAdd("displayName", "Bob"))},
		attr: "displayName", want: []string{"Bob"},
	}, {
		name: "single-valued: removing the winner does not bring back the loser",
		ops: []*Op{
			opMod(at(2, 1), x, modAdd("displayName", "Alice")),
			opMod(at(3, 2), x, modAdd("displayName", "Bob")),
			opMod(at(4, 2), x, modDel("displayName", "Bob")),
		},
		attr: "displayName", want: nil,
	}, {
		name: "values equal under the matching rule merge; the newest spelling shows",
		ops:  []*Op{opMod(at(2, 1), x, modAdd("description", "Sales")), opMod(at(3, 2), x, modAdd("description", "SALES"))},
		attr: "description", want: []string{"SALES"},
	}, {
		name: "exact-match values stay distinct",
		ops:  []*Op{opMod(at(2, 1), x, modAdd("userPassword", "secret")), opMod(at(3, 2), x, modAdd("userPassword", "Secret"))},
		attr: "userPassword", want: []string{"Secret", "secret"},
	}, {
		name: "within one change, sub-operations apply in order: delete then add keeps the value",
		ops:  []*Op{opMod(at(2, 1), x, modDel("sn", "X"), modAdd("sn", "X"))},
		attr: "sn", want: []string{"X"},
	}, {
		name: "within one change, add then delete removes the value",
		ops:  []*Op{opMod(at(2, 1), x, modAdd("sn", "Y"), modDel("sn", "Y"))},
		attr: "sn", want: []string{"X"},
	}, {
		name: "removing a naming value does not remove it from the entry's RDN",
		ops:  []*Op{opMod(at(2, 1), x, modDel("cn", "x"))},
		attr: "cn", want: []string{"x"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := allOrders(t, append([]*Op{suffixAdd(), addX()}, tc.ops...)...)
			got := values(find(s.Materialize(), x), tc.attr)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("%s = %q, want %q\n%s", tc.attr, got, tc.want, show(s))
			}
		})
	}
}

func TestAttributeNameSpelling(t *testing.T) {
	s := allOrders(t, suffixAdd(), addX(),
		opMod(at(2, 1), x, modAdd("Description", "a")),
		opMod(at(3, 2), x, modAdd("DESCRIPTION", "b")))
	e := find(s.Materialize(), x)
	i := slices.IndexFunc(e.Attrs, func(a Attribute) bool { return a.Name == "DESCRIPTION" })
	if i < 0 || !slices.Equal(e.Attrs[i].Values, []string{"a", "b"}) {
		t.Fatalf("want one attribute spelled DESCRIPTION with a and b:\n%s", show(s))
	}
}

// TestSameDNAddThreeReplicas: three replicas add cn=dup concurrently. Each
// applies its own add first and the others' in a different order; all end
// with the same winner (the lowest CSN) and the same two renamed losers.
func TestSameDNAddThreeReplicas(t *testing.T) {
	a, b, c := id(21), id(22), id(23)
	adds := []*Op{
		opAdd(at(5, 1), a, suffix, "cn=dup", "objectClass: person", "cn: dup", "sn: from-1"),
		opAdd(at(3, 2), b, suffix, "cn=dup", "objectClass: person", "cn: dup", "sn: from-2"),
		opAdd(at(3, 3), c, suffix, "cn=DUP", "objectClass: person", "cn: DUP", "sn: from-3"),
	}
	child := opAdd(at(6, 1), id(24), a, "cn=child", "objectClass: person", "cn: child", "sn: c")
	orders := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}}
	var digests [][32]byte
	var conflicts []string
	for r, order := range orders {
		s := apply(t, suffixAdd())
		for _, i := range order {
			if err := s.Apply(adds[i]); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				_ = s.Apply(child)
			}
		}
		digests = append(digests, s.Digest())
		conflicts = append(conflicts, fmt.Sprint(s.Conflicts()))
		if r > 0 && (digests[r] != digests[0] || conflicts[r] != conflicts[0]) {
			t.Fatalf("replica %d differs: %s versus %s", r+1, conflicts[0], conflicts[r])
		}
		if r != 0 {
			continue
		}
		es := s.Materialize()
		// at(3,2) < at(3,3): same time, lower replica ID.
		if e := find(es, b); e.DN != "cn=dup,"+suffixDN || e.ConflictDN != "" || values(e, ConflictAttr) != nil {
			t.Errorf("winner: %+v", e)
		}
		for _, u := range []UUID{a, c} {
			e := find(es, u)
			rdn := map[UUID]string{a: "cn=dup", c: "cn=DUP"}[u]
			want := "entryUUID=" + u.String() + "+" + rdn + "," + suffixDN
			if e.DN != want || !slices.Equal(values(e, ConflictAttr), []string{rdn + "," + suffixDN}) {
				t.Errorf("loser %s: DN %q marker %q, want DN %q\n%s", u, e.DN, values(e, ConflictAttr), want, show(s))
			}
		}
		if e := find(es, id(24)); e.DN != "cn=child,entryUUID="+a.String()+"+cn=dup,"+suffixDN {
			t.Errorf("child of a loser: %q", e.DN)
		}
		cs := s.Conflicts()
		if len(cs) != 2 || cs[0].Kind != ConflictName || cs[0].Entry != a || cs[1].Entry != c ||
			cs[0].WantedDN != "cn=dup,"+suffixDN || cs[0].CSN != at(5, 1) {
			t.Errorf("Conflicts() = %+v", cs)
		}
	}
	allOrders(t, append([]*Op{suffixAdd(), child}, adds...)...)
}

// TestRenameIntoTakenName: a modrdn and an add race for one DN; the one
// that claimed it first (lower CSN) keeps it, whichever kind it is.
func TestRenameIntoTakenName(t *testing.T) {
	y := id(11)
	s := allOrders(t, suffixAdd(), addX(),
		opMove(at(3, 1), x, suffix, "cn=y", "cn=x"),
		opAdd(at(4, 2), y, suffix, "cn=y", "objectClass: person", "cn: y", "sn: Y"))
	es := s.Materialize()
	if e := find(es, x); e.DN != "cn=y,"+suffixDN || !slices.Equal(values(e, "cn"), []string{"y"}) {
		t.Fatalf("renamed entry: %+v", e)
	}
	if e := find(es, y); e.ConflictDN != "cn=y,"+suffixDN {
		t.Fatalf("added entry should have lost: %+v", e)
	}
}

// TestDeleteRaces: a delete concurrent with a modify, a modrdn, an add of
// a child or a move below it. Every order gives the same outcome, the
// deleted entry never comes back, and children keep a glue parent.
func TestDeleteRaces(t *testing.T) {
	p, child, other := id(30), id(31), id(32)
	base := []*Op{
		suffixAdd(),
		opAdd(at(1, 1), p, suffix, "ou=p", "objectClass: organizationalUnit", "ou: p", "description: keep"),
		opAdd(at(1, 2), other, suffix, "cn=other", "objectClass: person", "cn: other", "sn: O"),
	}
	del := opDel(at(5, 1), p)
	for _, tc := range []struct {
		name     string
		race     []*Op
		glue     bool
		visible  UUID // entry that must be visible below the glue
		visibDN  string
		conflict int
	}{
		{name: "modify after the delete", race: []*Op{opMod(at(6, 2), p, modRepl("description", "new"))}},
		{name: "modify before the delete", race: []*Op{opMod(at(4, 2), p, modRepl("description", "new"))}},
		{name: "modrdn after the delete", race: []*Op{opMove(at(6, 2), p, suffix, "ou=q", "ou=p")}},
		{name: "modify, modrdn and replayed add", race: []*Op{
			opMod(at(6, 2), p, modAdd("description", "x")),
			opMove(at(7, 3), p, suffix, "ou=q", "ou=p"),
			opAdd(at(1, 1), p, suffix, "ou=p", "objectClass: organizationalUnit", "ou: p", "description: keep"),
		}},
		{name: "add of a child", race: []*Op{
			opAdd(at(6, 2), child, p, "cn=c", "objectClass: person", "cn: c", "sn: C"),
		}, glue: true, visible: child, visibDN: "cn=c,ou=p," + suffixDN},
		{name: "add of a child before the delete", race: []*Op{
			opAdd(at(4, 2), child, p, "cn=c", "objectClass: person", "cn: c", "sn: C"),
		}, glue: true, visible: child, visibDN: "cn=c,ou=p," + suffixDN},
		{name: "move below it", race: []*Op{opMove(at(6, 2), other, p, "cn=other", "")},
			glue: true, visible: other, visibDN: "cn=other,ou=p," + suffixDN},
		{name: "modrdn of it and add of a child", race: []*Op{
			opMove(at(6, 2), p, suffix, "ou=renamed", "ou=p"),
			opAdd(at(7, 2), child, p, "cn=c", "objectClass: person", "cn: c", "sn: C"),
			opMod(at(8, 3), p, modAdd("description", "late")),
		}, glue: true, visible: child, visibDN: "cn=c,ou=renamed," + suffixDN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := append(slices.Clone(base), del)
			ops = append(ops, tc.race...)
			s := allOrders(t, ops...)
			es := s.Materialize()
			e := find(es, p)
			if !tc.glue {
				if e != nil {
					t.Fatalf("deleted entry is visible:\n%s", show(s))
				}
				if len(s.Conflicts()) != 0 {
					t.Fatalf("conflicts: %+v", s.Conflicts())
				}
				return
			}
			if e == nil || !e.Glue || !slices.Equal(values(e, GlueAttr), []string{"TRUE"}) || values(e, "description") != nil {
				t.Fatalf("want a glue entry for the deleted parent:\n%s", show(s))
			}
			if c := find(es, tc.visible); c == nil || c.DN != tc.visibDN {
				t.Fatalf("child: %+v\n%s", c, show(s))
			}
			cs := s.Conflicts()
			if len(cs) != 1 || cs[0].Kind != ConflictGlue || cs[0].Entry != p || cs[0].CSN != del.CSN {
				t.Fatalf("Conflicts() = %+v", cs)
			}
			// The administrator settles it by deleting or moving the
			// child; the glue then goes away everywhere.
			settle := opDel(at(20, 3), tc.visible)
			if tc.visible == other {
				settle = opMove(at(20, 3), other, suffix, "cn=other", "")
			}
			s2 := allOrders(t, append(ops, settle)...)
			if find(s2.Materialize(), p) != nil || len(s2.Conflicts()) != 0 {
				t.Fatalf("glue outlived its children:\n%s", show(s2))
			}
		})
	}
}

// TestModRDNCycle: a moved below b on one replica while b is moved below
// a on another. The later move is ignored everywhere.
func TestModRDNCycle(t *testing.T) {
	a, b := id(40), id(41)
	s := allOrders(t, suffixAdd(),
		opAdd(at(1, 1), a, suffix, "ou=a", "objectClass: organizationalUnit", "ou: a"),
		opAdd(at(1, 2), b, suffix, "ou=b", "objectClass: organizationalUnit", "ou: b"),
		opMove(at(3, 1), a, b, "ou=a", ""),
		opMove(at(4, 2), b, a, "ou=b", ""),
	)
	es := s.Materialize()
	if find(es, a).DN != "ou=a,ou=b,"+suffixDN || find(es, b).DN != "ou=b,"+suffixDN {
		t.Fatalf("cycle resolution:\n%s", show(s))
	}
	cs := s.Conflicts()
	if len(cs) != 1 || cs[0].Kind != ConflictMove || cs[0].Entry != b || cs[0].CSN != at(4, 2) {
		t.Fatalf("Conflicts() = %+v", cs)
	}
}

// TestMoveIntoOwnSubtreeIgnored: even a single move below a descendant
// (which no origin should send) cannot loop.
func TestSelfParentIgnored(t *testing.T) {
	a := id(40)
	s := allOrders(t, suffixAdd(),
		opAdd(at(1, 1), a, suffix, "ou=a", "ou: a"),
		opMove(at(2, 1), a, a, "ou=a", ""),
	)
	if e := find(s.Materialize(), a); e == nil || e.DN != "ou=a,"+suffixDN {
		t.Fatalf("self move:\n%s", show(s))
	}
}

func TestOrphanWaitsForParent(t *testing.T) {
	c := id(50)
	childAdd := opAdd(at(3, 2), c, id(51), "cn=c", "cn: c")
	s := apply(t, suffixAdd(), childAdd)
	if find(s.Materialize(), c) != nil {
		t.Fatal("orphan shown before its parent arrived")
	}
	if cs := s.Conflicts(); len(cs) != 1 || cs[0].Kind != ConflictOrphan {
		t.Fatalf("Conflicts() = %+v", cs)
	}
	if err := s.Apply(opAdd(at(2, 1), id(51), suffix, "ou=p", "ou: p")); err != nil {
		t.Fatal(err)
	}
	if e := find(s.Materialize(), c); e == nil || e.DN != "cn=c,ou=p,"+suffixDN {
		t.Fatalf("after the parent arrived:\n%s", show(s))
	}
}

func TestApplyRefusesMalformed(t *testing.T) {
	for _, o := range []*Op{
		{Kind: change.Add, Entry: x, Parent: suffix, RDN: "cn=x"},
		{CSN: at(1, 1), Kind: change.Add, Parent: suffix, RDN: "cn=x"},
		{CSN: at(1, 1), Kind: change.Add, Entry: x, Parent: suffix, RDN: "cn=x,ou=y"},
		{CSN: at(1, 1), Kind: change.Add, Entry: x, Parent: suffix, RDN: "not an rdn"},
		{CSN: at(1, 1), Kind: change.Add, Entry: x, Parent: suffix, RDN: ""},
		{CSN: at(1, 1), Kind: change.Add, Entry: x, Parent: suffix, RDN: "cn=x", Attrs: []Attribute{{Values: []string{"v"}}}},
		{CSN: at(1, 1), Kind: change.Modify, Entry: x, Mods: []Mod{{Op: 9, Attr: "cn"}}},
		{CSN: at(1, 1), Kind: change.Modify, Entry: x, Mods: []Mod{{Op: change.ModAdd}}},
		{CSN: at(1, 1), Kind: change.ModRDN, Entry: x, Parent: suffix, RDN: "cn=y", DeleteOldRDN: true, OldRDN: "=="},
		{CSN: at(1, 1), Kind: 0, Entry: x},
	} {
		s := NewState(nil)
		if err := s.Apply(o); err == nil || s.Len() != 0 {
			t.Errorf("Apply(%+v) = %v, state has %d entries", o, err, s.Len())
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	s := apply(t, suffixAdd(), addX(), opMod(at(2, 1), x, modAdd("description", "a")))
	d := s.Digest()
	c := s.Clone()
	if c.Digest() != d {
		t.Fatal("clone differs")
	}
	for _, o := range []*Op{opMod(at(3, 2), x, modAdd("description", "b")), opMove(at(4, 2), x, suffix, "cn=z", "cn=x"), opDel(at(5, 2), x)} {
		if err := c.Apply(o); err != nil {
			t.Fatal(err)
		}
	}
	if s.Digest() != d || c.Digest() == d {
		t.Fatal("changing the clone changed the original")
	}
}

// TestReplaceDropsHiddenValues: an attribute replaced again and again
// keeps only what can still matter, not every old value until the
// tombstone purge (a photo replaced on each login grew the entry's
// state, and every save of it, by the photo's size).
func TestReplaceDropsHiddenValues(t *testing.T) {
	u := id(2)
	photo := func(n int) string { return strings.Repeat(string(rune('a'+n%26)), 10_000) + strconv.Itoa(n) }
	ops := []*Op{suffixAdd(), opAdd(at(1, 1), u, suffix, "cn=p", "cn: p", "jpegPhoto: "+photo(0))}
	for n := 1; n <= 100; n++ {
		ops = append(ops, opMod(at(1+n, uint16(1+n%3)), u, modRepl("jpegPhoto", photo(n)), modDel("description", "x"+strconv.Itoa(n))))
	}
	s := apply(t, ops...)
	b, _ := s.AppendEntryState(nil, u)
	if len(b) > 3*len(photo(100)) {
		t.Errorf("entry state is %d bytes after 100 replaces of a %d-byte value", len(b), len(photo(100)))
	}
	if got := values(find(s.Materialize(), u), "jpegPhoto"); len(got) != 1 || got[0] != photo(100) {
		t.Errorf("jpegPhoto holds %d values, want the last photo", len(got))
	}
}

// TestHiddenValuesConverge: values hidden by a delete of the attribute,
// dropped on arrival or kept depending on the order, do not change what
// any order of the same changes shows.
func TestHiddenValuesConverge(t *testing.T) {
	u := id(2)
	allOrders(t,
		suffixAdd(),
		opAdd(at(1, 1), u, suffix, "cn=p", "cn: p", "mail: a@x", "mail: b@x"),
		opMod(at(2, 2), u, modAdd("mail", "c@x")),
		opMod(at(3, 1), u, modDel("mail")),
		opMod(at(4, 3), u, modDel("mail", "c@x"), modAdd("mail", "d@x")),
		opMod(at(2, 3), u, modDel("mail", "d@x")),
		opMod(at(5, 2), u, modAdd("mail", "A@x", "c@x")),
		opMod(at(3, 2), u, modRepl("mail", "e@x")),
	)
}
