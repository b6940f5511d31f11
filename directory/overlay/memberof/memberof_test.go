package memberof

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/ldap"
)

type fixture struct {
	t *testing.T
	e *directory.Engine
}

func setup(t *testing.T) *fixture {
	ov := New(Config{})
	e := directorytest.Open(t, directory.Options{InMemory: true, Hooks: []directory.WriteHook{ov}, Virtual: []directory.VirtualAttribute{ov}})
	f := &fixture{t, e}
	directorytest.AddBase(t, e)
	f.add("ou=groups,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "groups")
	for _, u := range []string{"ann", "bob", "cat"} {
		f.add("uid="+u+",ou=people,dc=example,dc=com", "objectClass", "inetOrgPerson", "uid", u, "cn", u, "sn", u)
	}
	return f
}

// add takes name, value pairs.
func (f *fixture) add(dn string, kv ...string) {
	f.t.Helper()
	directorytest.Add(f.t, f.e, dn, kv...)
}

func (f *fixture) values(dn, attr string) []string {
	f.t.Helper()
	en, err := f.e.Get(context.Background(), dn)
	if err != nil {
		f.t.Fatalf("get %s: %v", dn, err)
	}
	var out []string
	for _, v := range en.Get(attr) {
		out = append(out, string(v))
	}
	sort.Strings(out)
	return out
}

func (f *fixture) expect(dn, attr string, want ...string) {
	f.t.Helper()
	sort.Strings(want)
	if got := f.values(dn, attr); !slices.Equal(got, want) {
		f.t.Errorf("%s %s = %q, want %q", dn, attr, got, want)
	}
}

const (
	ann    = "uid=ann,ou=people,dc=example,dc=com"
	bob    = "uid=bob,ou=people,dc=example,dc=com"
	cat    = "uid=cat,ou=people,dc=example,dc=com"
	admins = "cn=admins,ou=groups,dc=example,dc=com"
)

func TestMembershipFollowsGroupChanges(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.add(admins, "objectClass", "groupOfNames", "cn", "admins", "member", "UID=Ann, ou=People,dc=example,dc=com")
	f.expect(ann, "memberOf", admins)
	f.expect(bob, "memberOf")

	mods := []directory.Mod{
		{Op: change.ModAdd, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte(bob)}}},
		{Op: change.ModDelete, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte(ann)}}},
	}
	if err := errOf(f.e.Modify(ctx, admins, mods, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect(ann, "memberOf")
	f.expect(bob, "memberOf", admins)

	// A uniqueMember group.
	vpn := "cn=vpn,ou=groups,dc=example,dc=com"
	f.add(vpn, "objectClass", "groupOfUniqueNames", "cn", "vpn", "uniqueMember", cat)
	f.expect(cat, "memberOf", vpn)

	// Deleting the group removes memberOf from its members.
	if err := errOf(f.e.Delete(ctx, vpn, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect(cat, "memberOf")
}

func TestNewEntryPicksUpExistingGroups(t *testing.T) {
	f := setup(t)
	dan := "uid=dan,ou=people,dc=example,dc=com"
	f.add(admins, "objectClass", "groupOfNames", "cn", "admins", "member", dan)
	f.add(dan, "objectClass", "inetOrgPerson", "uid", "dan", "cn", "dan", "sn", "dan")
	f.expect(dan, "memberOf", admins)
}

func TestReferentialIntegrity(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.add(admins, "objectClass", "groupOfNames", "cn", "admins", "member", ann)
	if err := errOf(f.e.Modify(ctx, admins, []directory.Mod{{Op: change.ModAdd, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte(bob)}}}}, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}

	// Deleting a member removes it from the group.
	if err := errOf(f.e.Delete(ctx, bob, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect(admins, "member", ann)

	// Renaming and moving a member renames it in the group; its memberOf stays.
	if err := errOf(f.e.Add(ctx, "ou=staff,dc=example,dc=com", []directory.Attr{{Name: "objectClass", Values: [][]byte{[]byte("organizationalUnit")}}, {Name: "ou", Values: [][]byte{[]byte("staff")}}}, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	sup := "ou=staff,dc=example,dc=com"
	if err := errOf(f.e.ModifyDN(ctx, ann, "uid=ann", false, &sup, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	moved := "uid=ann,ou=staff,dc=example,dc=com"
	f.expect(admins, "member", moved)
	f.expect(moved, "memberOf", admins)

	// Renaming the group renames memberOf on its members.
	if err := errOf(f.e.ModifyDN(ctx, admins, "cn=root", true, nil, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect(moved, "memberOf", "cn=root,ou=groups,dc=example,dc=com")

	// Moving the whole ou=staff subtree renames members below it too.
	if err := errOf(f.e.ModifyDN(ctx, "ou=staff,dc=example,dc=com", "ou=crew", true, nil, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect("cn=root,ou=groups,dc=example,dc=com", "member", "uid=ann,ou=crew,dc=example,dc=com")

	// Deleting the last member leaves the placeholder, keeping the group valid.
	if err := errOf(f.e.Delete(ctx, "uid=ann,ou=crew,dc=example,dc=com", directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect("cn=root,ou=groups,dc=example,dc=com", "member", "")
}

func TestMemberOfIsNotUserModifiable(t *testing.T) {
	f := setup(t)
	err := errOf(f.e.Modify(context.Background(), ann, []directory.Mod{{Op: change.ModAdd, Attr: directory.Attr{Name: "memberOf", Values: [][]byte{[]byte(admins)}}}}, directory.WriteOptions{}))
	if err == nil {
		t.Fatal("a client could write memberOf")
	}
	// And memberOf filters are answered.
	fl, _ := ldap.ParseFilter("(memberOf=" + admins + ")")
	f.add(admins, "objectClass", "groupOfNames", "cn", "admins", "member", cat)
	var got []string
	err = f.e.Search(context.Background(), &directory.SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: fl},
		func(en *directory.Entry) error { got = append(got, en.DN); return nil })
	if err != nil || len(got) != 1 || got[0] != cat {
		t.Fatalf("memberOf search: %v %v", got, err)
	}
}

// errOf drops the Change a write returns.
func errOf(_ *directory.Change, err error) error { return err }

// TestInChain checks LDAP_MATCHING_RULE_IN_CHAIN over nested groups, with
// a cycle: staff contains devs, devs contains ann and ops, ops contains
// bob and staff.
func TestInChain(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	staff, devs, ops := "cn=staff,ou=groups,dc=example,dc=com", "cn=devs,ou=groups,dc=example,dc=com", "cn=ops,ou=groups,dc=example,dc=com"
	f.add(staff, "objectClass", "groupOfNames", "cn", "staff", "member", cat)
	f.add(ops, "objectClass", "groupOfNames", "cn", "ops", "member", bob)
	f.add(devs, "objectClass", "groupOfNames", "cn", "devs", "member", ann)
	for _, m := range [][2]string{{staff, devs}, {devs, ops}, {ops, staff}} {
		if err := errOf(f.e.Modify(ctx, m[0], []directory.Mod{{Op: change.ModAdd, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte(m[1])}}}}, directory.WriteOptions{})); err != nil {
			t.Fatal(err)
		}
	}
	find := func(filter string) []string {
		fl, err := ldap.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		err = f.e.Search(ctx, &directory.SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: fl},
			func(en *directory.Entry) error { got = append(got, en.DN); return nil })
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		return got
	}
	want := []string{devs, ops, staff, ann, bob, cat}
	sort.Strings(want)
	if got := find("(memberOf:1.2.840.113556.1.4.1941:=" + staff + ")"); !slices.Equal(got, want) {
		t.Errorf("transitive members of staff = %v, want %v", got, want)
	}
	if got := find("(&(objectClass=inetOrgPerson)(memberOf:1.2.840.113556.1.4.1941:=" + ops + "))"); len(got) != 3 {
		t.Errorf("people under ops (cycle back through staff) = %v", got)
	}
	groups := []string{devs, ops, staff}
	sort.Strings(groups)
	if got := find("(member:1.2.840.113556.1.4.1941:=" + bob + ")"); !slices.Equal(got, groups) {
		t.Errorf("groups containing bob = %v, want %v", got, groups)
	}
	if got := find("(memberOf=" + staff + ")"); len(got) != 2 {
		t.Errorf("direct members of staff = %v", got)
	}
}

// TestSubtreeDeleteAndAssertion covers the tree delete option (with the
// overlay cleaning up group membership for every removed entry) and the
// assertion option.
func TestSubtreeDeleteAndAssertion(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	f.add(admins, "objectClass", "groupOfNames", "cn", "admins", "member", ann)
	if err := errOf(f.e.Modify(ctx, admins, []directory.Mod{{Op: change.ModAdd, Attr: directory.Attr{Name: "member", Values: [][]byte{[]byte(bob)}}}}, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	notBob, _ := ldap.ParseFilter("(!(uid=bob))")
	_, err := f.e.Delete(ctx, bob, directory.WriteOptions{Assertion: notBob})
	var le *ldap.Error
	if !errors.As(err, &le) || le.Code != ldap.AssertionFailed {
		t.Fatalf("delete with a failing assertion: %v", err)
	}
	if _, err := f.e.Delete(ctx, "ou=people,dc=example,dc=com", directory.WriteOptions{}); !errors.As(err, &le) || le.Code != ldap.NotAllowedOnNonLeaf {
		t.Fatalf("non-leaf delete: %v", err)
	}
	ch, err := f.e.Delete(ctx, "ou=people,dc=example,dc=com", directory.WriteOptions{Subtree: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Removed) != 3 {
		t.Errorf("subtree delete removed %d descendants, want 3", len(ch.Removed))
	}
	f.expect(admins, "member", "")
	if f.e.EntryCount() != 3 {
		t.Errorf("EntryCount = %d, want 3", f.e.EntryCount())
	}
}

// TestReferentialIntegritySpelling: a deleted or renamed member leaves
// its groups whether a group spells its DN as the entry does or
// otherwise (another case, spaces, a uniqueMember with a UID).
func TestReferentialIntegritySpelling(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	const annOther = "UID=Ann, ou=People,dc=example,dc=com"
	f.add(admins, "objectClass", "groupOfNames", "cn", "admins", "member", annOther, "member", bob, "member", cat)
	f.add("cn=vpn,ou=groups,dc=example,dc=com", "objectClass", "groupOfUniqueNames", "cn", "vpn",
		"uniqueMember", bob+"#'01'B", "uniqueMember", bob, "uniqueMember", cat)
	for _, dn := range []string{ann, bob} {
		if err := errOf(f.e.Delete(ctx, dn, directory.WriteOptions{})); err != nil {
			t.Fatal(err)
		}
	}
	f.expect(admins, "member", cat)
	f.expect("cn=vpn,ou=groups,dc=example,dc=com", "uniqueMember", cat)
	if err := errOf(f.e.ModifyDN(ctx, cat, "uid=kit", true, nil, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	f.expect(admins, "member", "uid=kit,ou=people,dc=example,dc=com")
}

// TestReplaceDNCost: taking a member spelt as its entry's DN out of a
// group of 10,000 normalises no DN (it allocated for every value).
func TestReplaceDNCost(t *testing.T) {
	f := setup(t)
	var vals [][]byte
	for i := range 10000 {
		vals = append(vals, []byte("uid=m"+strconv.Itoa(i)+",ou=people,dc=example,dc=com"))
	}
	g := &directory.Entry{DN: admins, Attrs: []directory.Attr{{Name: "member", Values: vals}}}
	const dn = "uid=m5000,ou=people,dc=example,dc=com"
	err := f.e.View(func(v *directory.View) error {
		ndn, _ := normalize(v, dn)
		allocs := testing.AllocsPerRun(5, func() {
			en := g.Clone()
			if !replaceDN(v, en, "member", dn, ndn, nil) || len(en.Get("member")) != 9999 {
				t.Fatal("the member was not removed")
			}
		})
		clone := testing.AllocsPerRun(5, func() { g.Clone() })
		if allocs-clone > 10 {
			t.Errorf("removing one member of 10,000 took %v allocations besides the clone, want a few", allocs-clone)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
