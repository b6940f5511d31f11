package frontend

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/ldap/ldaptest"
)

const root = "cn=admin,dc=example,dc=com"

func newFrontend(t *testing.T) *Frontend {
	t.Helper()
	e := directorytest.Open(t, directory.Options{})
	f, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), SizeLimit: 20, Access: readablePolicy(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	add := func(dn string, kv ...string) { directorytest.Add(t, e, dn, kv...) }
	add("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "E")
	add("ou=people,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "people")
	for i := range 45 {
		uid := fmt.Sprintf("p%02d", i)
		add("uid="+uid+",ou=people,dc=example,dc=com", "objectClass", "inetOrgPerson", "uid", uid, "cn", "Person "+uid, "sn", "P", "userPassword", "pw"+uid)
	}
	return f
}

// session returns a context for a connection bound as dn ("" anonymous).
func session(dn string) (context.Context, *ldap.Session) {
	s := &ldap.Session{}
	s.SetBind(dn)
	return ldap.WithSession(context.Background(), s), s
}

func searchReq(base string, scope ldap.Scope, filter string, attrs ...string) *ldap.Request {
	f, err := ldap.ParseFilter(filter)
	if err != nil {
		panic(err)
	}
	r := &ldap.Request{MessageID: 1, Op: ldap.OpSearchRequest}
	r.Search = ldap.SearchRequest{BaseObject: []byte(base), Scope: scope, Filter: f}
	for _, a := range attrs {
		r.Search.Attributes = append(r.Search.Attributes, []byte(a))
	}
	return r
}

func pagedControl(size int, cookie []byte) ldap.Control {
	return ldap.Control{OID: []byte(ldap.OIDPagedResults), HasValue: true, Value: ldap.AppendPagedResults(nil, size, cookie)}
}

func cookieOf(t *testing.T, res *ldap.Result) []byte {
	t.Helper()
	for _, c := range res.Controls {
		if c.OID == ldap.OIDPagedResults {
			_, cookie, err := ldap.DecodePagedResults(c.Value)
			if err != nil {
				t.Fatal(err)
			}
			return cookie
		}
	}
	t.Fatal("no paged results control in the result")
	return nil
}

func TestPagedSearchVisitsEveryEntryOnce(t *testing.T) {
	f := newFrontend(t)
	ctx, _ := session("")
	var cookie []byte
	seen := map[string]bool{}
	pages := 0
	for {
		r := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)", "1.1")
		r.Controls = []ldap.Control{pagedControl(10, cookie)}
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		if rec.Code() != ldap.Success {
			t.Fatalf("page %d: %v", pages, rec.Result)
		}
		for _, e := range rec.Entries {
			if seen[e.Entry.DN] {
				t.Fatalf("%s returned twice", e.Entry.DN)
			}
			seen[e.Entry.DN] = true
			if len(e.Entry.Attributes) != 0 {
				t.Fatalf("1.1 returned attributes: %+v", e.Entry.Attributes)
			}
		}
		pages++
		cookie = cookieOf(t, rec.Result)
		if len(cookie) == 0 {
			break
		}
	}
	// 45 entries, pages of 10: the paged search is not cut by the size
	// limit of 20 that applies to the whole of an unpaged search.
	if len(seen) != 45 || pages != 5 {
		t.Fatalf("%d entries in %d pages, want 45 in 5", len(seen), pages)
	}

	// A forged cookie and a cookie replayed with another filter are refused.
	for _, tc := range []struct {
		filter string
		cookie []byte
	}{{"(objectClass=person)", []byte("forged-cookie!!!")}, {"(uid=p0*)", nil}} {
		first := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=person)", "1.1")
		first.Controls = []ldap.Control{pagedControl(10, nil)}
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, first)
		c := tc.cookie
		if c == nil {
			c = cookieOf(t, rec.Result)
		}
		r := searchReq("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, tc.filter, "1.1")
		r.Controls = []ldap.Control{pagedControl(10, c)}
		rec = ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		if rec.Code() != ldap.UnwillingToPerform {
			t.Errorf("cookie %q with %s: code %d, want 53", c, tc.filter, rec.Code())
		}
	}
}

func TestSizeLimitAndHiddenPassword(t *testing.T) {
	f := newFrontend(t)
	ctx, _ := session("")
	rec := ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(objectClass=person)"))
	if rec.Code() != ldap.SizeLimitExceeded || len(rec.Entries) != 20 {
		t.Fatalf("anonymous search: %d entries, code %d; want 20 and sizeLimitExceeded", len(rec.Entries), rec.Code())
	}
	for _, e := range rec.Entries {
		for _, a := range e.Entry.Attributes {
			if a.Name == "userPassword" {
				t.Fatal("userPassword returned to an anonymous client")
			}
		}
	}
	// Nor can a filter probe it.
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(userPassword=*)"))
	if len(rec.Entries) != 0 {
		t.Fatalf("(userPassword=*) matched %d entries for anonymous", len(rec.Entries))
	}
	// The root DN has no size limit and sees passwords (hashed).
	rctx, _ := session(root)
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(rctx, rec, searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=p01)", "userPassword"))
	if rec.Code() != ldap.Success || len(rec.Entries) != 1 || len(rec.Entries[0].Entry.Attributes) != 1 {
		t.Fatalf("root search: %+v %+v", rec.Result, rec.Entries)
	}
}

func TestRootDSEAndSubschema(t *testing.T) {
	f := newFrontend(t)
	ctx, _ := session("")
	rec := ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, searchReq("", ldap.ScopeBaseObject, "(objectClass=*)", "+"))
	if len(rec.Entries) != 1 {
		t.Fatalf("root DSE: %d entries", len(rec.Entries))
	}
	got := map[string][]string{}
	for _, a := range rec.Entries[0].Entry.Attributes {
		for _, v := range a.Values {
			got[a.Name] = append(got[a.Name], string(v))
		}
	}
	for attr, want := range map[string]string{
		"namingContexts": "dc=example,dc=com", "subschemaSubentry": "cn=Subschema", "supportedLDAPVersion": "3",
		"supportedControl": ldap.OIDPagedResults, "supportedExtension": ldap.OIDPasswordModify, "vendorName": "Switchboard",
		"supportedFeatures": "1.3.6.1.4.1.4203.1.5.1",
	} {
		if !slices.Contains(got[attr], want) {
			t.Errorf("root DSE %s = %q, want it to contain %q", attr, got[attr], want)
		}
	}
	if _, ok := got["objectClass"]; ok {
		t.Error("'+' returned the user attribute objectClass")
	}
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, searchReq("cn=subschema", ldap.ScopeBaseObject, "(objectClass=subschema)", "objectClasses", "attributeTypes", "matchingRuleUse"))
	if len(rec.Entries) != 1 || len(rec.Entries[0].Entry.Attributes) != 3 {
		t.Fatalf("subschema: %+v", rec.Entries)
	}
}

func TestBindRules(t *testing.T) {
	f := newFrontend(t)
	bind := func(name, pw string, version int) (ldap.ResultCode, *ldap.Session) {
		ctx, s := session("")
		r := &ldap.Request{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: version, Name: []byte(name), Simple: true, Password: []byte(pw)}}
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		return rec.Code(), s
	}
	cases := []struct {
		name, pw string
		version  int
		want     ldap.ResultCode
		bound    bool
	}{
		{"", "", 3, ldap.Success, false},
		{root, "secret", 3, ldap.Success, true},
		{"CN=Admin, DC=Example,DC=com", "secret", 3, ldap.Success, true},
		{root, "wrong", 3, ldap.InvalidCredentials, false},
		{root, "", 3, ldap.UnwillingToPerform, false},
		{"uid=p03,ou=people,dc=example,dc=com", "pwp03", 3, ldap.Success, true},
		{"uid=p03,ou=people,dc=example,dc=com", "pwp04", 3, ldap.InvalidCredentials, false},
		{"uid=nobody,ou=people,dc=example,dc=com", "x", 3, ldap.InvalidCredentials, false},
		{root, "secret", 2, ldap.ProtocolError, false},
		{"not a dn", "x", 3, ldap.InvalidDNSyntax, false},
	}
	for _, tc := range cases {
		code, s := bind(tc.name, tc.pw, tc.version)
		if code != tc.want || s.Authenticated() != tc.bound {
			t.Errorf("bind %q/%q v%d: code %d bound %v, want %d %v", tc.name, tc.pw, tc.version, code, s.Authenticated(), tc.want, tc.bound)
		}
	}
}

func TestCriticalControlsAndWrites(t *testing.T) {
	f := newFrontend(t)
	ctx, _ := session("")
	r := searchReq("dc=example,dc=com", ldap.ScopeBaseObject, "(objectClass=*)")
	r.Controls = []ldap.Control{{OID: []byte("1.2.3.4.5"), Critical: true}}
	rec := ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, r)
	if rec.Code() != ldap.UnavailableCriticalExtension {
		t.Errorf("unknown critical control: code %d", rec.Code())
	}
	r.Controls[0].Critical = false
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, r)
	if rec.Code() != ldap.Success || len(rec.Entries) != 1 {
		t.Errorf("unknown non-critical control: code %d, %d entries", rec.Code(), len(rec.Entries))
	}
	del := &ldap.Request{MessageID: 2, Op: ldap.OpDelRequest, Delete: []byte("uid=p01,ou=people,dc=example,dc=com")}
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(ctx, rec, del)
	if rec.Code() != ldap.InsufficientAccessRights {
		t.Errorf("anonymous delete: code %d", rec.Code())
	}
	rctx, _ := session(root)
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(rctx, rec, del)
	if rec.Code() != ldap.Success {
		t.Errorf("root delete: code %d %s", rec.Code(), rec.Result.Diagnostic)
	}
}

// TestBadOperationInputs covers the operation-level items of the research
// notes' bad-input list (11-15, 17): each gets the right result code.
func TestBadOperationInputs(t *testing.T) {
	f := newFrontend(t)
	rctx, _ := session(root)
	run := func(ctx context.Context, r *ldap.Request) *ldaptest.Recorder {
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(ctx, rec, r)
		if rec.Result == nil {
			t.Fatalf("no result for %+v", r)
		}
		return rec
	}
	person := func(dn string, extra ...ldap.Attribute) *ldap.Request {
		r := &ldap.Request{MessageID: 3, Op: ldap.OpAddRequest}
		r.Add.Entry = []byte(dn)
		r.Add.Attributes = append([]ldap.Attribute{
			{Name: "objectClass", Values: [][]byte{[]byte("inetOrgPerson")}},
			{Name: "cn", Values: [][]byte{[]byte("X")}},
			{Name: "sn", Values: [][]byte{[]byte("Y")}},
		}, extra...)
		return r
	}
	// 11: unknown SASL mechanism; LDAP versions 2 and 4.
	for _, r := range []*ldap.Request{
		{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: 3, Mechanism: []byte("NOPE")}},
		{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: 4, Simple: true}},
	} {
		ctx, _ := session("")
		rec := run(ctx, r)
		if want := map[bool]ldap.ResultCode{true: ldap.AuthMethodNotSupported, false: ldap.ProtocolError}[r.Bind.Version == 3]; rec.Code() != want {
			t.Errorf("bind %+v: code %d, want %d", r.Bind, rec.Code(), want)
		}
	}
	// 12, 13: duplicate paging controls, malformed values.
	r := searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=p01)")
	r.Controls = []ldap.Control{pagedControl(5, nil), pagedControl(5, nil)}
	if rec := run(rctx, r); rec.Code() != ldap.ProtocolError {
		t.Errorf("duplicate paging control: %d", rec.Code())
	}
	r.Controls = []ldap.Control{{OID: []byte(ldap.OIDPagedResults), Critical: true, HasValue: true, Value: []byte{0x30, 0x03, 0x02, 0x01, 0xff}}}
	if rec := run(rctx, r); rec.Code() != ldap.ProtocolError {
		t.Errorf("negative page size: %d", rec.Code())
	}
	r.Controls = []ldap.Control{{OID: []byte(ldap.OIDPagedResults), HasValue: true, Value: []byte("junk")}}
	if rec := run(rctx, r); rec.Code() != ldap.ProtocolError {
		t.Errorf("malformed paging value: %d", rec.Code())
	}
	// 14: odd attribute descriptions are ignored in a search, refused in an add.
	r = searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=p01)", "cn;;", "1.2.3.", "cn;binary")
	for range 10000 {
		r.Search.Attributes = append(r.Search.Attributes, []byte("nosuchattr"))
	}
	if rec := run(rctx, r); rec.Code() != ldap.Success || len(rec.Entries) != 1 {
		t.Errorf("odd requested attributes: code %d, %d entries", rec.Code(), len(rec.Entries))
	}
	for _, desc := range []string{"cn;;", "1.2.3.", "nosuch"} {
		rec := run(rctx, person("cn=bad,dc=example,dc=com", ldap.Attribute{Name: desc, Values: [][]byte{[]byte("v")}}))
		if rec.Code() != ldap.UndefinedAttributeType {
			t.Errorf("add with %q: code %d", desc, rec.Code())
		}
	}
	// 15: no objectClass; 100,000 values; a large value.
	noOC := person("cn=X,dc=example,dc=com")
	noOC.Add.Attributes = noOC.Add.Attributes[1:]
	if rec := run(rctx, noOC); rec.Code() != ldap.ObjectClassViolation {
		t.Errorf("add without objectClass: %d", rec.Code())
	}
	many := ldap.Attribute{Name: "description"}
	for i := range 100000 {
		many.Values = append(many.Values, []byte(fmt.Sprintf("v%d", i)))
	}
	if rec := run(rctx, person("cn=X,dc=example,dc=com", many)); rec.Code() != ldap.Success {
		t.Errorf("add with 100,000 values: %d %s", rec.Code(), rec.Result.Diagnostic)
	}
	big := ldap.Attribute{Name: "description", Values: [][]byte{make([]byte, 3<<20)}}
	for i := range big.Values[0] {
		big.Values[0][i] = 'a' + byte(i%26)
	}
	if rec := run(rctx, person("cn=X,ou=people,dc=example,dc=com", big)); rec.Code() != ldap.Success {
		t.Errorf("add with a 3 MiB value: %d %s", rec.Code(), rec.Result.Diagnostic)
	}
	// 17: modrdn under itself, onto an existing DN, removing a required value.
	moddn := func(dn, rdn string, del bool, sup string) ldap.ResultCode {
		r := &ldap.Request{MessageID: 4, Op: ldap.OpModifyDNRequest, ModifyDN: ldap.ModifyDNRequest{Entry: []byte(dn), NewRDN: []byte(rdn), DeleteOldRDN: del}}
		if sup != "" {
			r.ModifyDN.HasNewSuperior, r.ModifyDN.NewSuperior = true, []byte(sup)
		}
		return run(rctx, r).Code()
	}
	if c := moddn("ou=people,dc=example,dc=com", "ou=people", false, "uid=p01,ou=people,dc=example,dc=com"); c != ldap.UnwillingToPerform {
		t.Errorf("modrdn under itself: %d", c)
	}
	if c := moddn("uid=p01,ou=people,dc=example,dc=com", "uid=p02", false, ""); c != ldap.EntryAlreadyExists {
		t.Errorf("modrdn onto existing: %d", c)
	}
	if c := moddn("cn=X,dc=example,dc=com", "sn=Y", true, ""); c != ldap.ObjectClassViolation {
		t.Errorf("modrdn deleting the only cn: %d", c)
	}
	if c := moddn("cn=X,dc=example,dc=com", "sn=Y", false, ""); c != ldap.Success {
		t.Errorf("modrdn keeping the old RDN value: %d", c)
	}
}

// errOf drops the Change a write returns.
func errOf(_ *directory.Change, err error) error { return err }

// TestUnindexedLimitOverLDAP: a search with no usable index over more
// entries than the engine's limit gets adminLimitExceeded for ordinary
// users, with the entries found before the limit was known withheld, and
// runs for the root DN.
func TestUnindexedLimitOverLDAP(t *testing.T) {
	e := directorytest.Open(t, directory.Options{UnindexedLimit: 20})
	add := func(dn string, kv ...string) { directorytest.Add(t, e, dn, kv...) }
	add("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "E")
	for i := range 30 {
		add(fmt.Sprintf("cn=p%d,dc=example,dc=com", i), "objectClass", "person", "cn", fmt.Sprintf("p%d", i), "sn", "x", "description", fmt.Sprint(i%3))
	}
	f, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), Access: readablePolicy(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		bind, filter string
		want         ldap.ResultCode
		entries      int
	}{
		{"", "(description=1)", ldap.AdminLimitExceeded, 0},
		{"", "(&(cn=p1)(description=1))", ldap.Success, 1},
		{root, "(description=1)", ldap.Success, 10},
	} {
		sctx, _ := session(tc.bind)
		rec := ldaptest.NewRecorder()
		f.ServeLDAP(sctx, rec, searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, tc.filter))
		if rec.Code() != tc.want || len(rec.Entries) != tc.entries {
			t.Errorf("%q %s: code %d with %d entries, want %d with %d", tc.bind, tc.filter, rec.Code(), len(rec.Entries), tc.want, tc.entries)
		}
	}
}

// TestSizeLimitedSearchSendsIndexedMatchesFirst: an unpaged search with a
// size limit whose filter has an OR with an unindexed child sends the
// matches of the indexed children first (the engine's AnyOrder); without
// a limit, and paged, it sends every match exactly once.
func TestSizeLimitedSearchSendsIndexedMatchesFirst(t *testing.T) {
	f := newFrontend(t)
	// uid=p2* to p4* are indexed, the NOT is not: 35 people and the two
	// entries without a uid match; the indexed children name 25.
	const filter = "(|(uid=p2*)(uid=p3*)(uid=p4*)(!(uid=p0*)))"
	anon, _ := session("")
	rec := ldaptest.NewRecorder()
	f.ServeLDAP(anon, rec, searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, filter, "1.1"))
	if rec.Code() != ldap.SizeLimitExceeded || len(rec.Entries) != 20 {
		t.Fatalf("anonymous: %d entries, code %d; want 20 and sizeLimitExceeded", len(rec.Entries), rec.Code())
	}
	var got []string
	for _, e := range rec.Entries {
		got = append(got, e.Entry.DN)
	}
	for i, dn := range got {
		if want := fmt.Sprintf("uid=p%d,ou=people,dc=example,dc=com", 20+i); dn != want {
			t.Fatalf("entries %v, want uid=p20 to p39 (the first indexed candidates)", got)
		}
	}

	rootCtx, _ := session(root)
	rec = ldaptest.NewRecorder()
	f.ServeLDAP(rootCtx, rec, searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, filter, "1.1"))
	if rec.Code() != ldap.Success || len(rec.Entries) != 37 {
		t.Fatalf("root DN: %d entries, code %d; want 37", len(rec.Entries), rec.Code())
	}
	var all []string
	for _, e := range rec.Entries {
		all = append(all, e.Entry.DN)
	}

	// Paged, as the root DN with a client size limit above the page
	// size, and anonymously under the server's limit of 20: every match
	// once, the pages resuming where the last one ended.
	for _, who := range []context.Context{rootCtx, anon} {
		var cookie []byte
		var paged []string
		for pages := 0; ; pages++ {
			r := searchReq("dc=example,dc=com", ldap.ScopeWholeSubtree, filter, "1.1")
			r.Search.SizeLimit = 100
			r.Controls = []ldap.Control{pagedControl(6, cookie)}
			rec := ldaptest.NewRecorder()
			f.ServeLDAP(who, rec, r)
			if rec.Code() != ldap.Success || pages > 10 {
				t.Fatalf("page %d: %v", pages, rec.Result)
			}
			for _, e := range rec.Entries {
				paged = append(paged, e.Entry.DN)
			}
			if cookie = cookieOf(t, rec.Result); len(cookie) == 0 {
				break
			}
		}
		if !slices.Equal(paged, all) {
			t.Fatalf("paged: %d entries %v, want %v", len(paged), paged, all)
		}
	}
}
