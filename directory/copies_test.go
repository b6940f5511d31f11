package directory

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Local writes into a read-only copy are refused by the engine itself;
// the consumer's own writes (ReplaceEntriesWith) are not.
func TestReadOnlyCopyRefusesLocalWrites(t *testing.T) {
	e := openTestWith(t, Options{ReadOnlyCopies: []ReadOnlyCopy{
		{Base: "ou=Partner,dc=example,dc=com", Name: "partner", Source: "ldap://partner.example:389", Scope: ldap.ScopeChildren},
		{Base: "ou=hq,dc=example,dc=com", Name: "hq", Source: "ldaps://hq.example", Referral: true, Scope: ldap.ScopeWholeSubtree},
		{Base: "cn=config-copy,dc=example,dc=com", Name: "one", Source: "ldap://one.example"},
	}})
	ctx := context.Background()
	// The base of a ChildrenOnly copy is local.
	must(t, errOf(e.Add(ctx, "ou=partner,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "partner"), WriteOptions{})))
	must(t, errOf(e.Modify(ctx, "ou=partner,dc=example,dc=com", []Mod{{Op: change.ModReplace, Attr: Attr{Name: "description", Values: [][]byte{[]byte("x")}}}}, WriteOptions{})))
	must(t, errOf(e.Add(ctx, "uid=local,ou=people,dc=example,dc=com", attrs("objectClass", "inetOrgPerson", "uid", "local", "cn", "l", "sn", "l"), WriteOptions{})))

	// The consumer writes through ReplaceEntriesWith.
	parent, err := e.Entry("ou=partner,dc=example,dc=com")
	if err != nil || parent == nil {
		t.Fatalf("ou=partner: %v", err)
	}
	id, err := e.NewID()
	must(t, err)
	must(t, e.ReplaceEntriesWith(ctx, []*Entry{{ID: id, ParentID: parent.ID, DN: "uid=copied,ou=partner,dc=example,dc=com",
		Attrs: attrs("objectClass", "inetOrgPerson", "uid", "copied", "cn", "c", "sn", "c")}}, nil, nil, nil))

	refused := func(what string, err error) {
		t.Helper()
		var le *ldap.Error
		if !errors.As(err, &le) || le.Code != ldap.UnwillingToPerform ||
			le.Message != "ou=Partner,dc=example,dc=com is a read-only copy of partner (ldap://partner.example:389)" {
			t.Errorf("%s: got %v, want unwillingToPerform naming partner", what, err)
		}
	}
	in := "UID=copied, ou=partner,dc=example,dc=com"
	refused("add", errOf(e.Add(ctx, "uid=new,ou=partner,dc=example,dc=com", attrs("objectClass", "inetOrgPerson", "uid", "new", "cn", "n", "sn", "n"), WriteOptions{})))
	refused("modify", errOf(e.Modify(ctx, in, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "sn", Values: [][]byte{[]byte("x")}}}}, WriteOptions{})))
	refused("delete", errOf(e.Delete(ctx, in, WriteOptions{})))
	refused("delete of the base", errOf(e.Delete(ctx, "ou=partner,dc=example,dc=com", WriteOptions{Subtree: true})))
	refused("rename within", errOf(e.ModifyDN(ctx, in, "uid=other", true, nil, WriteOptions{})))
	out := "ou=people,dc=example,dc=com"
	refused("move out", errOf(e.ModifyDN(ctx, in, "uid=copied", true, &out, WriteOptions{})))
	into := "ou=partner,dc=example,dc=com"
	refused("move in", errOf(e.ModifyDN(ctx, "uid=local,ou=people,dc=example,dc=com", "uid=local", true, &into, WriteOptions{})))
	refused("rename of the base", errOf(e.ModifyDN(ctx, "ou=partner,dc=example,dc=com", "ou=p2", true, nil, WriteOptions{})))
	refused("rename of the suffix", errOf(e.ModifyDN(ctx, "dc=example,dc=com", "dc=other", true, nil, WriteOptions{})))
	if en, _ := e.Entry(in); en == nil || en.First("sn") != "c" {
		t.Errorf("the copied entry changed: %+v", en)
	}

	// A referral copy: its base is the consumer's too.
	var le *ldap.Error
	err = errOf(e.Add(ctx, "ou=hq,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "hq"), WriteOptions{}))
	if !errors.As(err, &le) || le.Code != ldap.Referral || len(le.Referral) != 1 || le.Referral[0] != "ldaps://hq.example" ||
		!strings.Contains(le.Message, "read-only copy of hq") {
		t.Errorf("add of a referral copy's base: got %#v", err)
	}
	// A base-object copy holds its base entry only.
	err = errOf(e.Add(ctx, "cn=config-copy,dc=example,dc=com", attrs("objectClass", "organizationalRole", "cn", "config-copy"), WriteOptions{}))
	if !errors.As(err, &le) || le.Code != ldap.UnwillingToPerform {
		t.Errorf("add of a base-object copy: got %v, want unwillingToPerform", err)
	}
	if err := e.CheckCopyWrite("cn=x,cn=config-copy,dc=example,dc=com", false, ""); err != nil {
		t.Errorf("below a base-object copy: %v", err)
	}
	// Writes elsewhere go on.
	must(t, errOf(e.Modify(ctx, "uid=local,ou=people,dc=example,dc=com", []Mod{{Op: change.ModReplace, Attr: Attr{Name: "sn", Values: [][]byte{[]byte("x")}}}}, WriteOptions{})))
}

// BenchmarkCheckCopyWrite is the per-write cost with one copy configured.
func BenchmarkCheckCopyWrite(b *testing.B) {
	e := openTestWith(b, Options{ReadOnlyCopies: []ReadOnlyCopy{{Base: "ou=partner,dc=example,dc=com", Name: "p", Source: "ldap://p", Scope: ldap.ScopeWholeSubtree}}})
	b.ReportAllocs()
	for b.Loop() {
		if e.CheckCopyWrite("uid=someone,ou=people,dc=example,dc=com", true, "uid=other,ou=people,dc=example,dc=com") != nil {
			b.Fatal("refused")
		}
	}
}
