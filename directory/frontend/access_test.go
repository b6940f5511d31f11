package frontend

import (
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// TestControlsSeeOnlyReadable: with givenName readable by its owner only
// (a rule that depends on the entry), sorting, the assertion control,
// matched values and post-read reveal nobody else's givenName.
func TestControlsSeeOnlyReadable(t *testing.T) {
	f := staffFrontend(t)
	p, err := access.Compile(f.engine, []string{
		"to attrs=givenName by self read by * none",
		"to attrs=userPassword by anonymous auth by * none",
		"to attrs=description by users write by * none",
		"to * by users read by * none",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.SetAccess(p)
	s3 := "uid=s3," + staff // givenName Amy; s1 Zed, s4 Bob

	// Sorted by givenName, as s3: only s3's own value is a key; the others
	// have none and sort last, in ID order, with no givenName returned.
	r := searchReq(staff, ldap.ScopeSingleLevel, "(objectClass=person)", "givenName")
	r.Controls = []ldap.Control{sortControl(true, key{attr: "givenName", rule: "caseIgnoreOrderingMatch"})}
	rec := runAs(f, s3, r)
	if got := uids(rec); rec.Code() != ldap.Success || !slices.Equal(got, []string{"s3", "s1", "s2", "s4"}) {
		t.Errorf("sort by givenName as s3: %v %v; want [s3 s1 s2 s4]", rec.Result, got)
	}
	for _, e := range rec.Entries {
		if len(e.Entry.Attributes) > 0 && e.Entry.DN != s3 {
			t.Errorf("givenName of %s returned to s3", e.Entry.DN)
		}
	}
	// A filter on givenName matches only s3's own entry.
	rec = runAs(f, s3, searchReq(staff, ldap.ScopeSingleLevel, "(givenName=*)", "1.1"))
	if got := uids(rec); !slices.Equal(got, []string{"s3"}) {
		t.Errorf("(givenName=*) as s3: %v", got)
	}
	// The assertion control cannot probe s1's givenName: Undefined, so
	// the assertion fails whatever the value.
	for _, v := range []string{"Zed", "Nobody"} {
		r := searchReq("uid=s1,"+staff, ldap.ScopeBaseObject, "(objectClass=*)", "1.1")
		r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, "(givenName="+v+")", true)}
		if rec := runAs(f, s3, r); rec.Code() != ldap.AssertionFailed {
			t.Errorf("assertion (givenName=%s) on s1 as s3: code %d, want 122", v, rec.Code())
		}
	}
	// Matched values on givenName returns nothing of s1.
	r = searchReq("uid=s1,"+staff, ldap.ScopeBaseObject, "(objectClass=*)", "givenName", "cn")
	flt, _ := ldap.ParseFilter("(givenName=*)")
	item := ldap.AppendFilter(nil, flt)
	r.Controls = []ldap.Control{{OID: []byte(ldap.OIDMatchedValues), Critical: true, HasValue: true, Value: append([]byte{0x30, byte(len(item))}, item...)}}
	rec = runAs(f, s3, r)
	if rec.Code() != ldap.Success || len(rec.Entries) != 1 || len(rec.Entries[0].Entry.Attributes) != 0 {
		t.Errorf("matched values as s3: %v %+v", rec.Result, rec.Entries)
	}
	// Post-read after a permitted write leaves out s1's givenName.
	m := &ldap.Request{MessageID: 5, Op: ldap.OpModifyRequest, Modify: ldap.ModifyRequest{Object: []byte("uid=s1," + staff),
		Changes: []ldap.Change{{Operation: ldap.ModReplace, Attribute: ldap.Attribute{Type: []byte("description"), Values: [][]byte{[]byte("x")}}}}}}
	m.Controls = []ldap.Control{selectionControl(ldap.OIDPostRead, "givenName", "description")}
	rec = runAs(f, s3, m)
	if rec.Code() != ldap.Success {
		t.Fatalf("modify description as s3: %v", rec.Result)
	}
	post := respControl(t, rec.Result, ldap.OIDPostRead)
	if post == nil || len(post.Children[1].Children) != 1 || post.Children[1].Children[0].Children[0].Value.(string) != "description" {
		t.Errorf("post-read as s3 must hold description only")
	}
	// Writing an attribute without the right: 50 (the entry is disclosed).
	m.Modify.Changes[0].Attribute.Type = []byte("cn")
	m.Controls = nil
	if rec := runAs(f, s3, m); rec.Code() != ldap.InsufficientAccessRights {
		t.Errorf("modify cn as s3: code %d, want 50", rec.Code())
	}
}
