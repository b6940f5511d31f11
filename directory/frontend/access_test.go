package frontend

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/directory/password"
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
		Changes: []ldap.Change{{Operation: change.ModReplace, Attribute: ldap.Attribute{Name: "description", Values: [][]byte{[]byte("x")}}}}}}
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
	m.Modify.Changes[0].Attribute.Name = "cn"
	m.Controls = nil
	if rec := runAs(f, s3, m); rec.Code() != ldap.InsufficientAccessRights {
		t.Errorf("modify cn as s3: code %d, want 50", rec.Code())
	}
}

// TestBindRefusedByAccessRunsDummy: a bind refused because the rules give
// no auth right on the entry's userPassword runs the dummy verification,
// as a bind to a missing entry does, so that its time does not tell that
// the entry exists; a wrong password checked for real does not add one.
func TestBindRefusedByAccessRunsDummy(t *testing.T) {
	h := password.NewHasher(password.Config{Argon2: password.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}})
	e := directorytest.Open(t, directory.Options{Passwords: h})
	p, err := access.Compile(e, []string{
		`to dn.base="uid=hidden,dc=example,dc=com" by * none`,
		"to attrs=userPassword by anonymous auth by * none",
		"to * by * read",
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{Engine: e, RootDN: root, RootPassword: []byte("secret"), Access: p})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	add := func(dn string, kv ...string) {
		var attrs []directory.Attr
		for i := 0; i < len(kv); i += 2 {
			attrs = append(attrs, directory.Attr{Name: kv[i], Values: [][]byte{[]byte(kv[i+1])}})
		}
		if err := errOf(e.Add(ctx, dn, attrs, directory.WriteOptions{})); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	add("dc=example,dc=com", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "E")
	for _, uid := range []string{"hidden", "visible"} {
		add("uid="+uid+",dc=example,dc=com", "objectClass", "inetOrgPerson", "uid", uid, "cn", uid, "sn", "S", "userPassword", "pw")
	}
	for _, tc := range []struct {
		dn    string
		dummy bool
	}{
		{"uid=hidden,dc=example,dc=com", true},
		{"uid=missing,dc=example,dc=com", true},
		{"uid=visible,dc=example,dc=com", false},
	} {
		before := h.DummyVerifications()
		r := &ldap.Request{MessageID: 1, Op: ldap.OpBindRequest, Bind: ldap.BindRequest{Version: 3, Name: []byte(tc.dn), Simple: true, Password: []byte("wrong")}}
		rec := runAs(f, "", r)
		if rec.Code() != ldap.InvalidCredentials || rec.Result.Diagnostic != "invalid credentials" {
			t.Errorf("bind %s: %v; want invalidCredentials", tc.dn, rec.Result)
		}
		if dummy := h.DummyVerifications() > before; dummy != tc.dummy {
			t.Errorf("bind %s: dummy verification %v; want %v", tc.dn, dummy, tc.dummy)
		}
	}
}

// TestSupertypeItemsHonourSubtypeAccess: an item on a supertype, (name=x),
// must not test the values of a subtype the requester may not search
// (givenName of others here), in a filter, the assertion control or a
// compare; the requester's own givenName it may.
func TestSupertypeItemsHonourSubtypeAccess(t *testing.T) {
	f := staffFrontend(t)
	p, err := access.Compile(f.engine, []string{
		"to attrs=givenName by self read by * none",
		"to attrs=userPassword by anonymous auth by * none",
		"to * by users read by * none",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.SetAccess(p)
	s1, s3 := "uid=s1,"+staff, "uid=s3,"+staff // givenName Zed and Amy
	for _, tc := range []struct {
		filter string
		want   []string
	}{
		{"(name=Zed)", nil},
		{"(name=Amy)", []string{"s3"}},
		{"(name=Z*)", nil},
		{"(name:caseIgnoreMatch:=Zed)", nil},
	} {
		rec := runAs(f, s3, searchReq(staff, ldap.ScopeSingleLevel, tc.filter, "1.1"))
		if got := uids(rec); rec.Code() != ldap.Success || !slices.Equal(got, tc.want) {
			t.Errorf("%s as s3: %v %v; want %v", tc.filter, rec.Result, got, tc.want)
		}
	}
	r := searchReq(s1, ldap.ScopeBaseObject, "(objectClass=*)", "1.1")
	r.Controls = []ldap.Control{filterControl(ldap.OIDAssertion, "(name=Zed)", true)}
	if rec := runAs(f, s3, r); rec.Code() != ldap.AssertionFailed {
		t.Errorf("assertion (name=Zed) on s1 as s3: code %d, want 122", rec.Code())
	}
	cmp := &ldap.Request{MessageID: 7, Op: ldap.OpCompareRequest, Compare: ldap.CompareRequest{Entry: []byte(s1), Attr: []byte("name"), Value: []byte("Zed")}}
	if rec := runAs(f, s3, cmp); rec.Code() == ldap.CompareTrue {
		t.Errorf("compare name:Zed on s1 as s3 is compareTrue: it reads s1's givenName")
	}
	cmp = &ldap.Request{MessageID: 8, Op: ldap.OpCompareRequest, Compare: ldap.CompareRequest{Entry: []byte(s3), Attr: []byte("name"), Value: []byte("Amy")}}
	if rec := runAs(f, s3, cmp); rec.Code() != ldap.CompareTrue {
		t.Errorf("compare name:Amy on s3 as s3: code %d, want compareTrue", rec.Code())
	}
}

// TestAnonymousNoSuchObjectHint: every noSuchObject sent to an anonymous
// session carries the same hint to bind, whether the entry is missing or
// hidden (result code, matchedDN and text identical: no oracle); an
// authenticated session gets the plain text.
func TestAnonymousNoSuchObjectHint(t *testing.T) {
	f := staffFrontend(t)
	p, err := access.Compile(f.engine, []string{
		`to dn.base="uid=s2,` + staff + `" by users read by * none`,
		"to attrs=userPassword by anonymous auth by * none",
		"to * by * read",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.SetAccess(p)
	type answer struct {
		code    ldap.ResultCode
		matched string
		text    string
	}
	ask := func(who, base string) answer {
		rec := runAs(f, who, searchReq(base, ldap.ScopeBaseObject, "(objectClass=*)"))
		return answer{rec.Code(), rec.Result.MatchedDN, rec.Result.Diagnostic}
	}
	hidden := ask("", "uid=s2,"+staff)
	missing := ask("", "uid=nobody,"+staff)
	if hidden != missing {
		t.Fatalf("anonymous: hidden %+v, missing %+v: they must be identical", hidden, missing)
	}
	if missing.code != ldap.NoSuchObject || missing.text != anonymousNoSuchObjectText || !strings.Contains(missing.text, "bind") {
		t.Fatalf("anonymous noSuchObject: %+v; want the hint to bind", missing)
	}
	if got := ask("", "ou=nowhere,"+staff); got.text != anonymousNoSuchObjectText {
		t.Errorf("anonymous, missing parent: %+v", got)
	}
	if got := ask("uid=s1,"+staff, "uid=nobody,"+staff); got.code != ldap.NoSuchObject || got.text != noSuchObjectText {
		t.Errorf("authenticated: %+v; want the plain text", got)
	}
}

// TestWriteExistenceAnswers decides add, rename and delete over (exists x
// visible): a requester who may not make the write gets one answer
// whether the target is missing, hidden or visible (the access checks come
// first); one who may make it learns what the write itself must tell,
// entryAlreadyExists (68) or notAllowedOnNonLeaf (66), and the same full
// response for a hidden entry as for a visible one. slapd answers 68
// before any access check; this is stricter.
func TestWriteExistenceAnswers(t *testing.T) {
	f := staffFrontend(t)
	writer, reader := "uid=s1,"+staff, "uid=s2,"+staff
	p, err := access.Compile(f.engine, []string{
		`to filter=(description=secret) by * none`,
		"to attrs=userPassword by anonymous auth by * none",
		`to dn.subtree="` + staff + `" by dn.base="` + writer + `" write by * read`,
		"to * by * read",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.SetAccess(p)
	ctx := context.Background()
	add := func(dn string, kv ...string) {
		var attrs []directory.Attr
		for i := 0; i < len(kv); i += 2 {
			attrs = append(attrs, directory.Attr{Name: kv[i], Values: [][]byte{[]byte(kv[i+1])}})
		}
		if err := errOf(f.engine.Add(ctx, dn, attrs, directory.WriteOptions{})); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	person := func(dn, uid, desc string) {
		add(dn, "objectClass", "inetOrgPerson", "uid", uid, "cn", uid, "sn", "S", "description", desc)
	}
	person("uid=h,"+staff, "h", "secret")
	for _, ou := range []string{"hiddenkids", "visiblekids", "leaf"} {
		add("ou="+ou+","+staff, "objectClass", "organizationalUnit", "ou", ou)
	}
	person("uid=k,ou=hiddenkids,"+staff, "k", "secret")
	person("uid=k,ou=visiblekids,"+staff, "k", "open")

	type answer struct {
		Code    ldap.ResultCode
		Matched string
		Text    string
	}
	run := func(who string, r *ldap.Request) answer {
		rec := runAs(f, who, r)
		return answer{rec.Code(), rec.Result.MatchedDN, rec.Result.Diagnostic}
	}
	addReq := func(dn string) *ldap.Request {
		r := &ldap.Request{MessageID: 2, Op: ldap.OpAddRequest}
		r.Add.Entry = []byte(dn)
		uid := strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "uid=")
		for _, kv := range [][2]string{{"objectClass", "inetOrgPerson"}, {"uid", uid}, {"cn", "x"}, {"sn", "x"}} {
			r.Add.Attributes = append(r.Add.Attributes, ldap.Attribute{Name: kv[0], Values: [][]byte{[]byte(kv[1])}})
		}
		return r
	}
	renameReq := func(newRDN string) *ldap.Request {
		r := &ldap.Request{MessageID: 3, Op: ldap.OpModifyDNRequest}
		r.ModifyDN = ldap.ModifyDNRequest{Entry: []byte("uid=s4," + staff), NewRDN: []byte(newRDN), DeleteOldRDN: true}
		return r
	}
	delReq := func(dn string) *ldap.Request {
		return &ldap.Request{MessageID: 4, Op: ldap.OpDelRequest, Delete: []byte(dn)}
	}
	same := func(what string, answers ...answer) {
		t.Helper()
		for _, a := range answers[1:] {
			if a != answers[0] {
				t.Errorf("%s: %+v and %+v differ", what, answers[0], a)
			}
		}
	}

	// The reader may not write: missing, hidden and visible look alike.
	same("add by a reader (missing, hidden, visible)",
		run(reader, addReq("uid=nobody,"+staff)), run(reader, addReq("uid=h,"+staff)), run(reader, addReq("uid=s3,"+staff)))
	same("rename by a reader onto (missing, hidden, visible)",
		run(reader, renameReq("uid=nobody")), run(reader, renameReq("uid=h")), run(reader, renameReq("uid=s3")))
	same("delete by a reader (leaf, hidden children, visible children)",
		run(reader, delReq("ou=leaf,"+staff)), run(reader, delReq("ou=hiddenkids,"+staff)), run(reader, delReq("ou=visiblekids,"+staff)))
	if a := run(reader, addReq("uid=h,"+staff)); a.Code != ldap.InsufficientAccessRights {
		t.Errorf("add by a reader: %+v; want 50", a)
	}

	// The writer: a hidden entry answers as a visible one; only a write
	// that can succeed tells them from a missing one.
	hidden, visible := run(writer, addReq("uid=h,"+staff)), run(writer, addReq("uid=s3,"+staff))
	same("add by the writer onto (hidden, visible)", hidden, visible)
	if hidden.Code != ldap.EntryAlreadyExists {
		t.Errorf("add onto an existing entry: %+v; want 68", hidden)
	}
	hidden, visible = run(writer, renameReq("uid=h")), run(writer, renameReq("uid=s3"))
	same("rename by the writer onto (hidden, visible)", hidden, visible)
	if hidden.Code != ldap.EntryAlreadyExists {
		t.Errorf("rename onto an existing entry: %+v; want 68", hidden)
	}
	hidden, visible = run(writer, delReq("ou=hiddenkids,"+staff)), run(writer, delReq("ou=visiblekids,"+staff))
	same("delete by the writer of (hidden children, visible children)", hidden, visible)
	if hidden.Code != ldap.NotAllowedOnNonLeaf {
		t.Errorf("delete of a non-leaf: %+v; want 66", hidden)
	}
	for _, r := range []*ldap.Request{addReq("uid=new," + staff), renameReq("uid=free"), delReq("ou=leaf," + staff)} {
		if a := run(writer, r); a.Code != ldap.Success {
			t.Errorf("%v by the writer: %+v; want success", r.Op, a)
		}
	}
}

// TestSearchBaseNotLoaded: when the rules grant search on the base from
// its DN alone, a reader's search looks the base up without loading it,
// so that it allocates about as much as the root DN's; the answers for a
// missing base and a base the rules hide stay those of target.
func TestSearchBaseNotLoaded(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	f := staffFrontend(t)
	f.SetAccess(readablePolicy(t, f.engine))
	reader := "uid=s3," + staff
	req := searchReq(staff, ldap.ScopeSingleLevel, "(uid=s1)")
	allocs := func(dn string) float64 {
		ctx, _ := session(dn)
		w := &countWriter{}
		return testing.AllocsPerRun(200, func() { f.ServeLDAP(ctx, w, req) })
	}
	root, user := allocs(f.cfg.RootDN), allocs(reader)
	t.Logf("allocations per search: root DN %.0f, reader %.0f", root, user)
	// Loading the base entry cost the reader 25 allocations more than the
	// root DN here; without it, 9.
	if user-root > 16 {
		t.Errorf("a reader's search allocates %.0f more than the root DN's; the base entry is loaded again", user-root)
	}

	// A missing base: noSuchObject naming the deepest visible ancestor.
	rec := runAs(f, reader, searchReq("ou=none,"+staff, ldap.ScopeWholeSubtree, "(objectClass=*)"))
	if rec.Code() != ldap.NoSuchObject || rec.Result.MatchedDN != staff {
		t.Errorf("missing base: %+v", rec.Result)
	}
	// A base the rules hide looks missing.
	p, err := access.Compile(f.engine, []string{"to dn.subtree=" + staff + " by * none", "to * by * read"})
	if err != nil {
		t.Fatal(err)
	}
	f.SetAccess(p)
	rec = runAs(f, reader, searchReq(staff, ldap.ScopeWholeSubtree, "(objectClass=*)"))
	if rec.Code() != ldap.NoSuchObject || rec.Result.MatchedDN != "dc=example,dc=com" || len(rec.Entries) != 0 {
		t.Errorf("hidden base: %+v", rec.Result)
	}
}
