package main

// End-to-end tests through github.com/go-ldap/ldap/v3 (and, for Abandon,
// hand-built BER, since go-ldap never sends an AbandonRequest): controls,
// paging, limits, filter semantics, ModifyDN, Compare and the extended
// operations.

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// dialE2E connects to s; bind is "" for anonymous, else a DN and password.
func dialE2E(t testing.TB, s *testServer, dn, pw string) *goldap.Conn {
	t.Helper()
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatalf("dial %s: %v", s.URL, err)
	}
	c.SetTimeout(30 * time.Second)
	t.Cleanup(func() { c.Close() })
	if dn != "" {
		if err := c.Bind(dn, pw); err != nil {
			t.Fatalf("bind as %s: %v", dn, err)
		}
	}
	return c
}

func dialRoot(t testing.TB, s *testServer) *goldap.Conn {
	return dialE2E(t, s, testRootDN, testRootPass)
}

// wantCode requires err to be an LDAP error with the given result code.
func wantCode(t testing.TB, what string, err error, code uint16) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	if !goldap.IsErrorWithCode(err, code) {
		t.Errorf("%s: got %v, want result code %d (%s)", what, err, code, goldap.LDAPResultCodeMap[code])
	}
}

func searchReq(base string, scope int, filter string, attrs ...string) *goldap.SearchRequest {
	return goldap.NewSearchRequest(base, scope, goldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
}

func goDNs(es []*goldap.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = strings.ToLower(e.DN)
	}
	sort.Strings(out)
	return out
}

// demoInt reports whether an integer attribute of e satisfies f.
func demoInt(e e2eEntry, attr string, f func(int) bool) bool {
	return anyValue(e.get(attr), func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && f(n)
	})
}

func dnHasRDN(dn, rdn string) bool {
	for _, c := range strings.Split(strings.ToLower(dn), ",") {
		if c == rdn {
			return true
		}
	}
	return false
}

// TestGoLDAPRead runs the read-only go-ldap checks against one demo server.
func TestGoLDAPRead(t *testing.T) {
	s := startServer(t, "", "--demo")
	root := dialRoot(t, s)
	anon := dialE2E(t, s, "", "")
	people := demoWhere(t, isPerson)
	all := demoWhere(t, func(e2eEntry) bool { return true })

	t.Run("controls", func(t *testing.T) {
		const unknown = "1.3.6.1.4.1.55555.1.1"
		req := searchReq(peopleDN, goldap.ScopeSingleLevel, "(uid=jmuller)", "uid")
		req.Controls = []goldap.Control{goldap.NewControlString(unknown, true, "")}
		res, err := root.Search(req)
		wantCode(t, "search with unknown critical control", err, goldap.LDAPResultUnavailableCriticalExtension)
		if res != nil && len(res.Entries) != 0 {
			t.Errorf("refused search still returned %d entries", len(res.Entries))
		}
		req.Controls = []goldap.Control{goldap.NewControlString(unknown, false, "")}
		res, err = root.Search(req)
		if err != nil || len(res.Entries) != 1 || !strings.EqualFold(res.Entries[0].DN, person("jmuller")) {
			t.Errorf("search with unknown non-critical control: %v, %v", err, res)
		}
		// The same on a write: refused critical means not applied.
		add := goldap.NewAddRequest("ou=ctl,"+testSuffix, []goldap.Control{goldap.NewControlString(unknown, true, "")})
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{"ctl"})
		wantCode(t, "add with unknown critical control", root.Add(add), goldap.LDAPResultUnavailableCriticalExtension)
		_, err = root.Search(searchReq("ou=ctl,"+testSuffix, goldap.ScopeBaseObject, "(objectClass=*)"))
		wantCode(t, "entry of the refused add", err, goldap.LDAPResultNoSuchObject)
		add.Controls = []goldap.Control{goldap.NewControlString(unknown, false, "")}
		wantCode(t, "add with unknown non-critical control", root.Add(add), 0)
		wantCode(t, "cleanup", root.Del(goldap.NewDelRequest("ou=ctl,"+testSuffix, nil)), 0)
	})

	t.Run("paging", func(t *testing.T) {
		res, err := anon.SearchWithPaging(searchReq(peopleDN, goldap.ScopeWholeSubtree, "(objectClass=inetOrgPerson)", "uid"), 37)
		if err != nil {
			t.Fatal(err)
		}
		if got := goDNs(res.Entries); !slices.Equal(got, people) {
			t.Errorf("paged search: %d entries (%d unique wanted), sets differ", len(got), len(people))
		}

		// Page by page: a real cookie continues where the page ended.
		req := searchReq(peopleDN, goldap.ScopeSingleLevel, "(objectClass=inetOrgPerson)", "1.1")
		req.Controls = []goldap.Control{goldap.NewControlPaging(10)}
		p1, err := anon.Search(req)
		if err != nil || len(p1.Entries) != 10 {
			t.Fatalf("first page: %v, %d entries", err, len(p1.Entries))
		}
		ctl, ok := goldap.FindControl(p1.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if !ok || len(ctl.Cookie) == 0 {
			t.Fatalf("first page has no cookie: %v", p1.Controls)
		}
		cookie := ctl.Cookie
		req.Controls = []goldap.Control{&goldap.ControlPaging{PagingSize: 10, Cookie: cookie}}
		p2, err := anon.Search(req)
		if err != nil || len(p2.Entries) != 10 {
			t.Fatalf("second page: %v, %d entries", err, len(p2.Entries))
		}
		for _, dn := range goDNs(p2.Entries) {
			if slices.Contains(goDNs(p1.Entries), dn) {
				t.Errorf("%s on both pages", dn)
			}
		}

		// Forged and replayed cookies are refused (unwillingToPerform).
		for name, c := range map[string][]byte{
			"forged":        []byte("not-a-real-cookie"),
			"forged 16 B":   bytes.Repeat([]byte{0x41}, 16),
			"tampered real": append(slices.Clone(cookie[:len(cookie)-1]), cookie[len(cookie)-1]^0xff),
		} {
			req.Controls = []goldap.Control{&goldap.ControlPaging{PagingSize: 10, Cookie: c}}
			res, err := anon.Search(req)
			wantCode(t, name+" cookie", err, goldap.LDAPResultUnwillingToPerform)
			if res != nil && len(res.Entries) != 0 {
				t.Errorf("%s cookie: %d entries returned", name, len(res.Entries))
			}
		}
		other := searchReq(peopleDN, goldap.ScopeSingleLevel, "(objectClass=person)", "1.1")
		other.Controls = []goldap.Control{&goldap.ControlPaging{PagingSize: 10, Cookie: cookie}}
		_, err = anon.Search(other)
		wantCode(t, "cookie replayed with another filter", err, goldap.LDAPResultUnwillingToPerform)
		// The connection still works.
		if _, err := anon.Search(searchReq(person("jmuller"), goldap.ScopeBaseObject, "(objectClass=*)")); err != nil {
			t.Errorf("search after refused cookies: %v", err)
		}
	})

	t.Run("size limit", func(t *testing.T) {
		for name, c := range map[string]*goldap.Conn{"root": root, "anonymous": anon} {
			req := goldap.NewSearchRequest(peopleDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 10, 0, false, "(objectClass=inetOrgPerson)", []string{"uid"}, nil)
			res, err := c.Search(req)
			wantCode(t, name+" search with SizeLimit 10", err, goldap.LDAPResultSizeLimitExceeded)
			if res == nil || len(res.Entries) != 10 {
				t.Errorf("%s: SizeLimit 10 returned %v entries, want 10", name, res)
				continue
			}
			for _, e := range res.Entries {
				if !slices.Contains(people, strings.ToLower(e.DN)) || len(e.GetAttributeValues("uid")) != 1 {
					t.Errorf("%s: unexpected entry %s", name, e.DN)
				}
			}
		}
		// Exactly at the limit is not exceeding it.
		req := goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 1, 0, false, "(uid=jmuller)", nil, nil)
		if res, err := anon.Search(req); err != nil || len(res.Entries) != 1 {
			t.Errorf("SizeLimit 1 with one match: %v, %v", err, res)
		}
	})

	t.Run("filters", func(t *testing.T) {
		lowerEq := func(attr, v string) func(e2eEntry) bool {
			return func(e e2eEntry) bool {
				return anyValue(e.get(attr), func(x string) bool { return strings.EqualFold(x, v) })
			}
		}
		cases := []struct {
			filter string
			want   []string
		}{
			{"(cn:caseExactMatch:=Ivan Petrov)", demoWhere(t, func(e e2eEntry) bool { return slices.Contains(e.get("cn"), "Ivan Petrov") })},
			{"(cn:caseExactMatch:=ivan petrov)", nil},
			{"(cn:=IVAN PETROV)", demoWhere(t, lowerEq("cn", "ivan petrov"))},
			{"(cn:2.5.13.2:=IVAN PETROV)", demoWhere(t, lowerEq("cn", "ivan petrov"))},
			{"(ou:dn:=people)", demoWhere(t, func(e e2eEntry) bool { return dnHasRDN(e.DN, "ou=people") || lowerEq("ou", "people")(e) })},
			{"(ou=people)", []string{strings.ToLower(peopleDN)}},
			// A rule and no type: every attribute the rule applies to, and
			// with :dn: the DN's AVAs too (RFC 4511 4.5.1.7.7).
			{"(:caseExactMatch:=people)", []string{strings.ToLower(peopleDN)}},
			{"(:dn:2.5.13.5:=people)", demoWhere(t, func(e e2eEntry) bool { return dnHasRDN(e.DN, "ou=people") })},
			{"(:dn:2.5.13.5:=People)", nil},
			{"(uid:dn:=jmuller)", []string{strings.ToLower(person("jmuller"))}},
			// memberOf as Gitea and Nextcloud filter on it.
			{"(memberOf=CN=IT,ou=groups," + testSuffix + ")", demoWhere(t, func(e e2eEntry) bool {
				return slices.Contains(groupsOf(t, e.DN), "cn=it,ou=groups,"+testSuffix)
			})},
			{"(&(objectClass=inetOrgPerson)(memberOf=cn=vpn-users,ou=groups," + testSuffix + "))", demoWhere(t, func(e e2eEntry) bool {
				return slices.Contains(groupsOf(t, e.DN), "cn=vpn-users,ou=groups,"+testSuffix)
			})},
			{"(uidNumber>=10290)", demoWhere(t, func(e e2eEntry) bool { return demoInt(e, "uidNumber", func(n int) bool { return n >= 10290 }) })},
			{"(uidNumber<=9999)", nil},
			{"(&(uidNumber>=10100)(uidNumber<=10109))", demoWhere(t, func(e e2eEntry) bool {
				return demoInt(e, "uidNumber", func(n int) bool { return n >= 10100 && n <= 10109 })
			})},
			{"(gidNumber>=900)", demoWhere(t, func(e e2eEntry) bool { return e.has("gidNumber") })}, // integer, not string, order
			{"(gidNumber>=5001)", demoWhere(t, func(e e2eEntry) bool { return demoInt(e, "gidNumber", func(n int) bool { return n >= 5001 }) })},
			{"(createTimestamp>=20000101000000Z)", all},
			{"(createTimestamp>=199912312300-0100)", all},
			{"(createTimestamp<=20000101000000Z)", nil},
			{"(createTimestamp>=21000101000000Z)", nil},
			{"(&)", all},
			{"(|)", nil},
			{"(!(&))", nil},
			{"(!(|))", all},
			{"(!(nosuchattr=x))", nil},
			{"(|(nosuchattr=x)(uid=jmuller))", []string{strings.ToLower(person("jmuller"))}},
			{"(&(nosuchattr=x)(uid=jmuller))", nil},
			// NOT(Undefined AND TRUE) is Undefined; NOT(Undefined AND FALSE) is TRUE.
			{"(!(&(nosuchattr=x)(uid=jmuller)))", demoWhere(t, func(e e2eEntry) bool { return !strings.EqualFold(e.DN, person("jmuller")) })},
			// An invalid assertion value is Undefined too (RFC 4511 4.5.1.7).
			{"(!(uidNumber>=abc))", nil},
			{"(!(uidNumber=abc))", nil},
			{"(cn:1.2.3.4.5:=x)", nil},
			{"(!(cn:1.2.3.4.5:=x))", nil},
		}
		for _, c := range cases {
			res, err := root.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, c.filter, "1.1"))
			if err != nil {
				t.Errorf("%s: %v", c.filter, err)
				continue
			}
			if got := goDNs(res.Entries); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
				t.Errorf("%s: %d entries, want %d\n got %q\nwant %q", c.filter, len(got), len(c.want), trim(got), trim(c.want))
			}
		}
		// Sanity of the oracle itself.
		if len(all) != 319 || len(people) != 300 {
			t.Fatalf("oracle: %d entries, %d people", len(all), len(people))
		}

		// Approximate match is at least equality (RFC 4511 4.5.1.7.6).
		eq := demoWhere(t, lowerEq("sn", "müller"))
		res, err := root.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, "(sn~=MÜLLER)", "1.1"))
		if err != nil {
			t.Fatal(err)
		}
		got := goDNs(res.Entries)
		for _, dn := range eq {
			if !slices.Contains(got, dn) {
				t.Errorf("(sn~=MÜLLER) misses %s, which (sn=Müller) matches", dn)
			}
		}
		if !slices.Contains(got, strings.ToLower(person("jmuller"))) {
			t.Errorf("(sn~=MÜLLER) found %q, not jmuller", got)
		}
	})

	t.Run("compare", func(t *testing.T) {
		jm := person("jmuller")
		for _, c := range []struct {
			attr, value string
			want        bool
		}{{"cn", "JOSÉ MÜLLER", true}, {"uid", "jmueller", false}, {"uidNumber", "10011", true}, {"uidNumber", "10012", false}, {"objectClass", "posixAccount", true}} {
			ok, err := anon.Compare(jm, c.attr, c.value)
			if err != nil || ok != c.want {
				t.Errorf("compare %s=%s: %v, %v, want %v", c.attr, c.value, ok, err, c.want)
			}
		}
		_, err := anon.Compare(jm, "nosuchattr", "x")
		wantCode(t, "compare unknown attribute", err, goldap.LDAPResultUndefinedAttributeType)
		_, err = anon.Compare("uid=nobody,"+peopleDN, "uid", "nobody")
		wantCode(t, "compare missing entry", err, goldap.LDAPResultNoSuchObject)
	})

	t.Run("whoami and unknown extended operation", func(t *testing.T) {
		if r, err := anon.WhoAmI(nil); err != nil || r.AuthzID != "" {
			t.Errorf("anonymous WhoAmI: %v, %+v", err, r)
		}
		if r, err := root.WhoAmI(nil); err != nil || r.AuthzID != "dn:"+testRootDN {
			t.Errorf("root WhoAmI: %v, %+v", err, r)
		}
		u := dialE2E(t, s, person("jmuller"), "password")
		if r, err := u.WhoAmI(nil); err != nil || r.AuthzID != "dn:"+person("jmuller") {
			t.Errorf("user WhoAmI: %v, %+v", err, r)
		}
		_, err := anon.Extended(goldap.NewExtendedRequest("1.3.6.1.4.1.55555.2.2", nil))
		wantCode(t, "unknown extended operation", err, goldap.LDAPResultProtocolError)
		if r, err := anon.WhoAmI(nil); err != nil || r.AuthzID != "" {
			t.Errorf("WhoAmI after an unknown extended op: %v, %+v", err, r)
		}
	})
}

func trim(ss []string) []string {
	if len(ss) > 5 {
		return append(ss[:5:5], fmt.Sprintf("... (%d more)", len(ss)-5))
	}
	return ss
}

func TestGoLDAPWrites(t *testing.T) {
	s := startServer(t, "", "--demo")
	root := dialRoot(t, s)
	groups := "ou=groups," + testSuffix

	// ModifyDN: rename, then move, then the refusals.
	old := person("blopez")
	oldGroups := groupsOf(t, old)
	wantCode(t, "rename", root.ModifyDN(goldap.NewModifyDNRequest(old, "uid=blopez.moved", true, "")), 0)
	_, err := root.Search(searchReq(old, goldap.ScopeBaseObject, "(objectClass=*)"))
	wantCode(t, "old DN after rename", err, goldap.LDAPResultNoSuchObject)
	res, err := root.Search(searchReq(person("blopez.moved"), goldap.ScopeBaseObject, "(objectClass=*)", "uid", "memberOf"))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("renamed entry: %v", err)
	}
	if got := res.Entries[0].GetAttributeValues("uid"); !slices.Equal(got, []string{"blopez.moved"}) {
		t.Errorf("uid after rename with deleteOldRDN = %q", got)
	}
	if got := sortedLower(res.Entries[0].GetAttributeValues("memberOf")); !slices.Equal(got, oldGroups) {
		t.Errorf("memberOf after rename = %q, want %q", got, oldGroups)
	}
	moved := "uid=blopez.moved," + groups
	wantCode(t, "move", root.ModifyDN(goldap.NewModifyDNRequest(person("blopez.moved"), "uid=blopez.moved", false, groups)), 0)
	res, err = root.Search(searchReq(groups, goldap.ScopeSingleLevel, "(uid=blopez.moved)", "uid"))
	if err != nil || len(res.Entries) != 1 || !strings.EqualFold(res.Entries[0].DN, moved) {
		t.Fatalf("moved entry: %v %v", err, res)
	}
	res, err = root.Search(searchReq(groups, goldap.ScopeSingleLevel, "(|(member="+moved+")(uniqueMember="+moved+"))", "1.1"))
	if err != nil || !slices.Equal(goDNs(res.Entries), oldGroups) {
		t.Errorf("groups naming %s after the move: %v %v, want %q", moved, err, res, oldGroups)
	}
	res, err = root.Search(searchReq(groups, goldap.ScopeSingleLevel, "(|(member="+old+")(uniqueMember="+old+"))", "1.1"))
	if err != nil || len(res.Entries) != 0 {
		t.Errorf("groups still naming %s: %v %v", old, err, res)
	}
	wantCode(t, "move under a missing parent", root.ModifyDN(goldap.NewModifyDNRequest(moved, "uid=blopez.moved", false, "ou=nowhere,"+testSuffix)), goldap.LDAPResultNoSuchObject)
	wantCode(t, "rename onto an existing entry", root.ModifyDN(goldap.NewModifyDNRequest(person("jmuller"), "uid=rlefevre", true, "")), goldap.LDAPResultEntryAlreadyExists)
	wantCode(t, "rename of a missing entry", root.ModifyDN(goldap.NewModifyDNRequest(person("nobody"), "uid=x", true, "")), goldap.LDAPResultNoSuchObject)
	anon := dialE2E(t, s, "", "")
	wantCode(t, "anonymous rename", anon.ModifyDN(goldap.NewModifyDNRequest(person("jmuller"), "uid=x", true, "")), goldap.LDAPResultInsufficientAccessRights)

	// Compare sees the write.
	if ok, err := anon.Compare(moved, "uid", "blopez.moved"); err != nil || !ok {
		t.Errorf("compare after move: %v %v", ok, err)
	}
	if ok, err := anon.Compare(moved, "uid", "blopez"); err != nil || ok {
		t.Errorf("compare of the deleted old RDN value: %v %v", ok, err)
	}

	// Password Modify with server-generated passwords.
	user := person("kcerny")
	r, err := root.PasswordModify(goldap.NewPasswordModifyRequest(user, "", ""))
	if err != nil || len(r.GeneratedPassword) < 8 {
		t.Fatalf("admin generated password: %v, %+v", err, r)
	}
	gen1 := r.GeneratedPassword
	u := dialE2E(t, s, user, gen1)
	if w, err := u.WhoAmI(nil); err != nil || w.AuthzID != "dn:"+user {
		t.Errorf("WhoAmI with the generated password: %v %+v", err, w)
	}
	r, err = u.PasswordModify(goldap.NewPasswordModifyRequest("", gen1, ""))
	if err != nil || r.GeneratedPassword == "" || r.GeneratedPassword == gen1 {
		t.Fatalf("self generated password: %v, %+v", err, r)
	}
	gen2 := r.GeneratedPassword
	c, _ := goldap.DialURL(s.URL)
	defer c.Close()
	wantCode(t, "bind with the replaced password", c.Bind(user, gen1), goldap.LDAPResultInvalidCredentials)
	wantCode(t, "bind with the new generated password", c.Bind(user, gen2), 0)
	r, err = u.PasswordModify(goldap.NewPasswordModifyRequest("", gen2, "chosen by me"))
	if err != nil || r.GeneratedPassword != "" {
		t.Errorf("self chosen password: %v, %+v", err, r)
	}
	wantCode(t, "bind with the chosen password", c.Bind(user, "chosen by me"), 0)
	_, err = u.PasswordModify(goldap.NewPasswordModifyRequest("", "wrong old", "x"))
	wantCode(t, "password modify with a wrong old password", err, goldap.LDAPResultInvalidCredentials)
	_, err = anon.PasswordModify(goldap.NewPasswordModifyRequest(user, "", "x"))
	if err == nil {
		t.Error("anonymous password modify succeeded")
	}
	wantCode(t, "bind after the refused changes", c.Bind(user, "chosen by me"), 0)
}

// ---------------------------------------------------------------------------
// Abandon (RFC 4511 4.11) over a raw connection.

func berMessage(id int64, op *ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	p.AppendChild(op)
	return p.Bytes()
}

func berBind(dn, pw string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "BindRequest")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "version"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "name"))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, "simple"))
	return op
}

func berSearch(t testing.TB, base string, scope int, filter string, attrs ...string) *ber.Packet {
	t.Helper()
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "SearchRequest")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, base, "base"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, scope, "scope"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, "deref"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, "sizeLimit"))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, "timeLimit"))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "typesOnly"))
	f, err := goldap.CompileFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	op.AppendChild(f)
	as := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	for _, a := range attrs {
		as.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, "attr"))
	}
	op.AppendChild(as)
	return op
}

// berResponse is one message from the server: its ID, protocolOp tag and,
// for results, the result code.
type berResponse struct {
	id   int64
	tag  ber.Tag
	code int64
}

func berRead(t testing.TB, c net.Conn) berResponse {
	t.Helper()
	p, err := ber.ReadPacket(c)
	if err != nil {
		t.Fatalf("reading a response: %v", err)
	}
	if len(p.Children) < 2 {
		t.Fatalf("malformed LDAPMessage: %d children", len(p.Children))
	}
	id, _ := p.Children[0].Value.(int64)
	r := berResponse{id: id, tag: p.Children[1].Tag}
	if r.tag != goldap.ApplicationSearchResultEntry && len(p.Children[1].Children) > 0 {
		r.code, _ = p.Children[1].Children[0].Value.(int64)
	}
	return r
}

func TestGoLDAPAbandon(t *testing.T) {
	s := startServer(t, "")
	root := dialRoot(t, s)
	for _, dn := range []string{testSuffix, "ou=big," + testSuffix} {
		add := goldap.NewAddRequest(dn, nil)
		if dn == testSuffix {
			add.Attribute("objectClass", []string{"dcObject", "organization"})
			add.Attribute("dc", []string{"example"})
			add.Attribute("o", []string{"Example"})
		} else {
			add.Attribute("objectClass", []string{"organizationalUnit"})
			add.Attribute("ou", []string{"big"})
		}
		if err := root.Add(add); err != nil {
			t.Fatal(err)
		}
	}
	// 60 entries of 300 KiB: 18 MiB of results, far more than the socket
	// buffers hold, so the search is still running when it is abandoned.
	const n, size = 60, 300 << 10
	for i := 0; i < n; i++ {
		add := goldap.NewAddRequest(fmt.Sprintf("cn=big%02d,ou=big,%s", i, testSuffix), nil)
		add.Attribute("objectClass", []string{"person"})
		add.Attribute("cn", []string{fmt.Sprintf("big%02d", i)})
		add.Attribute("sn", []string{"Big"})
		add.Attribute("description", []string{strings.Repeat(string(rune('a'+i%26)), size)})
		if err := root.Add(add); err != nil {
			t.Fatal(err)
		}
	}

	c, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(64 << 10)
	c.SetDeadline(time.Now().Add(30 * time.Second))
	write := func(b []byte) {
		t.Helper()
		if _, err := c.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write(berMessage(1, berBind(testRootDN, testRootPass)))
	if r := berRead(t, c); r.id != 1 || r.tag != goldap.ApplicationBindResponse || r.code != 0 {
		t.Fatalf("bind: %+v", r)
	}
	write(berMessage(2, berSearch(t, "ou=big,"+testSuffix, goldap.ScopeSingleLevel, "(objectClass=person)", "description")))
	if r := berRead(t, c); r.id != 2 || r.tag != goldap.ApplicationSearchResultEntry {
		t.Fatalf("first search response: %+v", r)
	}
	abandon := ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, goldap.ApplicationAbandonRequest, int64(2), "AbandonRequest")
	write(berMessage(3, abandon))
	time.Sleep(200 * time.Millisecond) // let the server act on it before the pipe drains
	whoami := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedRequest, nil, "ExtendedRequest")
	whoami.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, goldap.ControlTypeWhoAmI, "name"))
	write(berMessage(4, whoami))

	entries := 1
	gotWhoAmI, sentSearch, gotEntry := false, false, false
	for {
		r := berRead(t, c)
		switch {
		case r.id == 2 && r.tag == goldap.ApplicationSearchResultEntry:
			entries++
		case r.id == 2:
			t.Fatalf("abandoned search got a response %+v after %d entries", r, entries)
		case r.id == 3:
			t.Fatalf("AbandonRequest got a response %+v", r)
		case r.id == 4 && r.tag == goldap.ApplicationExtendedResponse && r.code == 0:
			gotWhoAmI = true
			write(berMessage(5, berSearch(t, "cn=big07,ou=big,"+testSuffix, goldap.ScopeBaseObject, "(objectClass=*)", "cn")))
			sentSearch = true
		case r.id == 5 && r.tag == goldap.ApplicationSearchResultEntry && sentSearch:
			gotEntry = true
		case r.id == 5 && r.tag == goldap.ApplicationSearchResultDone:
			if r.code != 0 || !gotEntry || !gotWhoAmI {
				t.Fatalf("after the abandon: search result %+v, entry %v, WhoAmI %v", r, gotEntry, gotWhoAmI)
			}
			if entries >= n {
				t.Errorf("all %d entries arrived: the search was not abandoned", entries)
			}
			t.Logf("abandoned after %d of %d entries", entries, n)
			// Nothing more may arrive for the abandoned search.
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if p, err := ber.ReadPacket(c); err == nil {
				t.Errorf("unexpected message after the abandon: %v", p.Children)
			}
			return
		default:
			t.Fatalf("unexpected response %+v", r)
		}
	}
}
