package access_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/ldap"
)

func openEngine(t testing.TB) *directory.Engine {
	t.Helper()
	return directorytest.Open(t, directory.Options{})
}

func entry(dn string, kv ...string) *directory.Entry {
	en := &directory.Entry{DN: dn, NDN: strings.ToLower(dn)}
	for i := 0; i < len(kv); i += 2 {
		en.Attrs = append(en.Attrs, directory.Attr{Name: kv[i], Values: [][]byte{[]byte(kv[i+1])}})
	}
	return en
}

const (
	alice = "uid=alice,ou=people,dc=example,dc=com"
	bob   = "uid=bob,ou=people,dc=example,dc=com"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ rule, want string }{
		{"", "empty rule"},
		{"from * by * read", `must start with "to"`},
		{"to", "missing target"},
		{"to *", `no "by" clause`},
		{"to * by", "without a subject"},
		{"to * by users", "without an access level"},
		{"to * by users reed", `unknown access "reed"`},
		{"to * by users read extra", `expected "by"`},
		{"to dn.deep=\"dc=x\" by * read", "unknown dn style"},
		{"to dn=\"dc=x by * read", "unterminated quoted string"},
		{"to filter=(cn=a by * read", "unbalanced parentheses"},
		{"to filter=cn=a) by * read", "invalid filter"},
		{"to attrs=cn,,sn by * read", "invalid attribute name"},
		{"to * attrs=cn by * read", "cannot be combined"},
		{"to attrs=cn attrs=sn by * read", "attrs given twice"},
		{"to color=red by * read", "unknown target"},
		{"to * by network=10.0.0.0/33 read", "invalid network"},
		{"to * by group=\"\" read", "invalid group DN"},
		{"to * by dn.sideways=\"dc=x\" read", "unknown dn style"},
		{"to * by role=x read", "unknown subject"},
		{"to * by * =q", `unknown access "=q"`},
	} {
		_, err := access.Parse(tc.rule)
		var se *access.SyntaxError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v; want a SyntaxError with %q", tc.rule, err, tc.want)
		}
	}
}

func TestParseRoundTrip(t *testing.T) {
	for _, rule := range []string{
		`to * by * read`,
		`to dn.subtree="ou=people,dc=example,dc=com" filter=(objectClass=person) attrs=cn,mail,entry by self write by users read by * none`,
		`to dn.children="dc=example,dc=com" by dn.exact="cn=x,dc=example,dc=com" =rsc by group="cn=a b,dc=example,dc=com" add by network=10.1.0.0/16 tls delete by anonymous auth`,
		`to attrs=userPassword by self write by anonymous auth by * none`,
	} {
		r, err := access.Parse(rule)
		if err != nil {
			t.Fatalf("Parse(%q): %v", rule, err)
		}
		again, err := access.Parse(r.String())
		if err != nil || again.String() != r.String() {
			t.Errorf("round trip of %q: %q, %v", rule, r.String(), err)
		}
	}
}

func TestCompileErrorsNameTheRule(t *testing.T) {
	e := openEngine(t)
	_, err := access.Compile(e, []string{"to * by * read", "to attrs=noSuchAttr by * read"})
	if err == nil || !strings.Contains(err.Error(), "access rule 2") || !strings.Contains(err.Error(), "noSuchAttr") {
		t.Fatalf("err = %v", err)
	}
	_, err = access.Compile(e, []string{"to * by * reed"})
	if err == nil || !strings.Contains(err.Error(), "access rule 1: column 11") {
		t.Fatalf("err = %v", err)
	}
}

// TestDefaultRules checks the defaults subject by subject.
func TestDefaultRules(t *testing.T) {
	e := openEngine(t)
	p, err := access.Compile(e, access.DefaultRules(access.DefaultOptions{AdminGroup: "cn=admins,ou=groups,dc=example,dc=com"}))
	if err != nil {
		t.Fatal(err)
	}
	person := entry(alice, "objectClass", "inetOrgPerson", "cn", "Alice", "userPassword", "x", "telephoneNumber", "1")
	member := func(dn string) access.Membership {
		return func(g string) bool { return dn == bob && g == "cn=admins,ou=groups,dc=example,dc=com" }
	}
	type want struct{ entry, cn, pw, phone access.Privileges }
	for _, tc := range []struct {
		name string
		subj access.Subject
		want want
	}{
		{"anonymous", access.Subject{}, want{0, 0, access.LevelAuth, 0}},
		{"self", access.Subject{DN: alice}, want{access.LevelRead, access.LevelRead, access.LevelWrite, access.LevelWrite}},
		{"other user", access.Subject{DN: "uid=carol,ou=people,dc=example,dc=com"}, want{access.LevelRead, access.LevelRead, 0, access.LevelRead}},
		{"admin group", access.Subject{DN: bob}, want{access.LevelWrite, access.LevelWrite, access.LevelWrite, access.LevelWrite}},
	} {
		rq := p.For(tc.subj, member(tc.subj.DN))
		ea := rq.Entry(person.NDN, person)
		got := want{ea.Entry(), ea.Attr("cn"), ea.Attr("userPassword"), ea.Attr("telephoneNumber")}
		if got != tc.want {
			t.Errorf("%s: entry/cn/userPassword/telephoneNumber = %v/%v/%v/%v; want %v/%v/%v/%v", tc.name,
				got.entry, got.cn, got.pw, got.phone, tc.want.entry, tc.want.cn, tc.want.pw, tc.want.phone)
		}
	}
	// The Root DSE and the subschema are readable by anyone.
	anon := p.For(access.Subject{}, nil)
	for _, dn := range []string{"", "cn=subschema"} {
		ea := anon.Entry(dn, entry(dn, "objectClass", "top"))
		if !ea.Entry().Has(access.Read) || !ea.Attr("objectClass").Has(access.Read) {
			t.Errorf("anonymous cannot read %q", dn)
		}
	}
}

// TestSubjectsAndTargets: one rule per subject kind and target kind, and
// first match wins, across rules and across clauses.
func TestSubjectsAndTargets(t *testing.T) {
	e := openEngine(t)
	p, err := access.Compile(e, []string{
		`to dn.base="ou=people,dc=example,dc=com" attrs=children by dn.subtree="ou=admins,dc=example,dc=com" add by * read`,
		`to dn.one="ou=people,dc=example,dc=com" filter=(employeeType=contractor) attrs=description by * none`,
		`to dn.one="ou=people,dc=example,dc=com" attrs=description by network=10.0.0.0/8 write by tls compare by users tls search by * disclose`,
		`to dn.children="ou=people,dc=example,dc=com" attrs=entry,cn by anonymous none by group="cn=g,dc=example,dc=com" delete by users read`,
		`to * by * none`,
	})
	if err != nil {
		t.Fatal(err)
	}
	alicE := entry(alice, "objectClass", "person", "cn", "A", "sn", "A")
	contractor := entry(bob, "objectClass", "person", "employeeType", "contractor")
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		name string
		subj access.Subject
		en   *directory.Entry
		attr string
		want access.Privileges
	}{
		{"dn.subtree on children", access.Subject{DN: "cn=x,ou=admins,dc=example,dc=com"}, entry("ou=people,dc=example,dc=com"), "children", access.LevelAdd},
		{"other on children", access.Subject{DN: alice}, entry("ou=people,dc=example,dc=com"), "children", access.LevelRead},
		{"children rule skips the base entry", access.Subject{DN: alice}, entry("ou=people,dc=example,dc=com"), "entry", 0},
		{"filter rule first", access.Subject{Addr: ip("10.1.2.3")}, contractor, "description", 0},
		{"network", access.Subject{Addr: ip("10.1.2.3")}, alicE, "description", access.LevelWrite},
		{"network (v4-mapped v6)", access.Subject{Addr: ip("::ffff:10.1.2.3")}, alicE, "description", access.LevelWrite},
		{"tls before users+tls", access.Subject{DN: alice, TLS: true, Addr: ip("192.0.2.1")}, alicE, "description", access.LevelCompare},
		{"no clause but *", access.Subject{DN: alice, Addr: ip("192.0.2.1")}, alicE, "description", access.LevelDisclose},
		{"anonymous none", access.Subject{}, alicE, "entry", 0},
		{"group", access.Subject{DN: "uid=g1,dc=example,dc=com"}, alicE, "cn", access.LevelDelete},
		{"users", access.Subject{DN: alice}, alicE, "cn", access.LevelRead},
		{"subtypes: sn is not cn", access.Subject{DN: alice}, alicE, "sn", 0},
	} {
		rq := p.For(tc.subj, func(g string) bool { return tc.subj.DN == "uid=g1,dc=example,dc=com" && g == "cn=g,dc=example,dc=com" })
		ea := rq.Entry(tc.en.NDN, tc.en)
		if got := ea.Attr(tc.attr); got != tc.want {
			t.Errorf("%s: %s = %v; want %v", tc.name, tc.attr, got, tc.want)
		}
	}
}

func TestAttrsIncludeSubtypes(t *testing.T) {
	e := openEngine(t)
	p, err := access.Compile(e, []string{"to attrs=name by * read", "to * by * none"})
	if err != nil {
		t.Fatal(err)
	}
	rq := p.For(access.Subject{}, nil)
	ea := rq.Entry(alice, entry(alice))
	if !ea.Attr("cn").Has(access.Read) || !ea.Attr("sn;lang-en").Has(access.Read) || ea.Attr("mail").Has(access.Read) {
		t.Errorf("attrs=name: cn %v, sn;lang-en %v, mail %v", ea.Attr("cn"), ea.Attr("sn;lang-en"), ea.Attr("mail"))
	}
}

func TestStatic(t *testing.T) {
	e := openEngine(t)
	p, err := access.Compile(e, access.DefaultRules(access.DefaultOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	user := p.For(access.Subject{DN: alice}, nil)
	anon := p.For(access.Subject{}, nil)
	for _, tc := range []struct {
		name    string
		rq      *access.Requester
		base    string
		scope   ldap.Scope
		attr    string
		want    access.Privileges
		knownOK bool
	}{
		{"user cn", user, "dc=example,dc=com", ldap.ScopeWholeSubtree, "cn", access.LevelRead, true},
		{"user password: self decides", user, "dc=example,dc=com", ldap.ScopeWholeSubtree, "userPassword", 0, false},
		{"anonymous password", anon, "dc=example,dc=com", ldap.ScopeWholeSubtree, "userPassword", access.LevelAuth, true},
		{"anonymous entry", anon, "dc=example,dc=com", ldap.ScopeWholeSubtree, "entry", 0, true},
		{"anonymous root DSE", anon, "", ldap.ScopeBaseObject, "entry", access.LevelRead, true},
	} {
		got, ok := tc.rq.Static(tc.base, tc.scope, tc.attr)
		if ok != tc.knownOK || (ok && got != tc.want) {
			t.Errorf("%s: Static = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.knownOK)
		}
	}
}

// TestDefaultRulesAddressBooks: the entries below a user's entry (the
// personal address books of package web/carddav) are the user's to
// create, change and delete, their vCards the user's alone to read, and
// searches still decide visibility without looking at each entry.
func TestDefaultRulesAddressBooks(t *testing.T) {
	e := openEngine(t)
	admins := "cn=admins,ou=groups,dc=example,dc=com"
	p, err := access.Compile(e, access.DefaultRules(access.DefaultOptions{AdminGroup: admins}))
	if err != nil {
		t.Fatal(err)
	}
	bookDN := "switchboardName=contacts," + alice
	book := entry(bookDN, "objectClass", "switchboardAddressBook", "switchboardName", "contacts")
	card := entry("switchboardName=x.vcf,"+bookDN, "objectClass", "switchboardCard", "switchboardName", "x.vcf", "switchboardVCard", "BEGIN:VCARD")
	person := entry(alice, "objectClass", "inetOrgPerson", "cn", "Alice")
	carol := "uid=carol,ou=people,dc=example,dc=com"
	type want struct{ ownChildren, ownEntry, ownOC, bookChildren, cardEntry, cardVCard, cardOC access.Privileges }
	for _, tc := range []struct {
		name string
		subj string
		want want
	}{
		{"owner", alice, want{access.LevelWrite, access.LevelRead, access.LevelRead, access.LevelWrite, access.LevelWrite, access.LevelWrite, access.LevelWrite}},
		{"other user", carol, want{access.LevelRead, access.LevelRead, access.LevelRead, access.LevelRead, access.LevelRead, 0, access.LevelRead}},
		{"anonymous", "", want{}},
		{"admin group", bob, want{access.LevelWrite, access.LevelWrite, access.LevelWrite, access.LevelWrite, access.LevelWrite, access.LevelWrite, access.LevelWrite}},
	} {
		rq := p.For(access.Subject{DN: tc.subj}, func(g string) bool { return tc.subj == bob && g == admins })
		ue := rq.Entry(person.NDN, person)
		be := rq.Entry(book.NDN, book)
		ce := rq.Entry(card.NDN, card)
		got := want{ue.Children(), ue.Entry(), ue.Attr("objectClass"), be.Children(), ce.Entry(), ce.Attr("switchboardVCard"), ce.Attr("objectClass")}
		if got != tc.want {
			t.Errorf("%s: own children/entry/objectClass, book children, card entry/vCard/objectClass = %v; want %v", tc.name, got, tc.want)
		}
	}
	// A user's search of the whole tree needs no per-entry check to know
	// each entry is visible, nor for cn; for the vCard it does.
	rq := p.For(access.Subject{DN: carol}, nil)
	for _, tc := range []struct {
		attr    string
		want    access.Privileges
		has, ok bool
	}{
		{"entry", access.Read, true, true},
		{"cn", access.Search, true, true},
		{"switchboardVCard", access.Read, false, false},
	} {
		has, ok := rq.StaticHas("dc=example,dc=com", ldap.ScopeWholeSubtree, tc.attr, tc.want)
		if has != tc.has || ok != tc.ok {
			t.Errorf("StaticHas(%s, %v) = %v, %v; want %v, %v", tc.attr, tc.want, has, ok, tc.has, tc.ok)
		}
	}
	if has, ok := p.For(access.Subject{}, nil).StaticHas("dc=example,dc=com", ldap.ScopeWholeSubtree, "switchboardVCard", access.Read); has || !ok {
		t.Errorf("anonymous StaticHas(switchboardVCard) = %v, %v; want false, true", has, ok)
	}
}

// TestStaticHasFilterRule: a rule with a filter is no obstacle when the
// rules after it give the same answer.
func TestStaticHasFilterRule(t *testing.T) {
	e := openEngine(t)
	p, err := access.Compile(e, []string{
		"to filter=(employeeType=contractor) attrs=telephoneNumber by self read by users read by * none",
		"to filter=(employeeType=contractor) attrs=mobile by * none",
		"to * by users read by * none",
	})
	if err != nil {
		t.Fatal(err)
	}
	rq := p.For(access.Subject{DN: alice}, nil)
	for _, tc := range []struct {
		attr    string
		has, ok bool
	}{{"telephoneNumber", true, true}, {"mobile", false, false}, {"cn", true, true}} {
		has, ok := rq.StaticHas("dc=example,dc=com", ldap.ScopeWholeSubtree, tc.attr, access.Read)
		if has != tc.has || ok != tc.ok {
			t.Errorf("StaticHas(%s) = %v, %v; want %v, %v", tc.attr, has, ok, tc.has, tc.ok)
		}
	}
}
