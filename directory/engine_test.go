package directory

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

func openTest(t testing.TB, hooks ...WriteHook) *Engine {
	return openTestWith(t, Options{Hooks: hooks})
}

// openTestWith opens an in-memory engine for dc=example,dc=com with opt
// (Suffix, Schema and InMemory are filled in) and adds the suffix and
// ou=people.
func openTestWith(t testing.TB, opt Options) *Engine {
	t.Helper()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	opt.InMemory, opt.Suffix, opt.Schema = true, "dc=example,dc=com", s
	e, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"), WriteOptions{})))
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// attrs builds attributes from name, values... runs: a name is a string
// following the previous attribute's values and starting a new run when
// it is one of the known names below.
func attrs(kv ...string) []Attr {
	var out []Attr
	for _, s := range kv {
		if isAttrName(s) {
			out = append(out, Attr{Name: s})
			continue
		}
		out[len(out)-1].Values = append(out[len(out)-1].Values, []byte(s))
	}
	return out
}

var knownNames = []string{"objectClass", "dc", "o", "ou", "cn", "sn", "uid", "mail", "description", "telephoneNumber",
	"givenName", "member", "uidNumber", "gidNumber", "homeDirectory", "userPassword", "title", "entryUUID", "CN", "employeeNumber"}

func isAttrName(s string) bool { return slices.Contains(knownNames, s) }

func person(uid, cn, sn string, extra ...string) []Attr {
	return append(attrs("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson", "uid", uid, "cn", cn, "sn", sn), attrs(extra...)...)
}

func code(err error) ldap.ResultCode {
	var le *ldap.Error
	if errors.As(err, &le) {
		return le.Code
	}
	if err == nil {
		return ldap.Success
	}
	return -1
}

func search(t testing.TB, e *Engine, base string, scope ldap.Scope, filter string) []string {
	t.Helper()
	f, err := ldap.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	var dns []string
	err = e.Search(context.Background(), &SearchRequest{BaseDN: base, Scope: scope, Filter: f}, func(en *Entry) error {
		dns = append(dns, en.DN)
		return nil
	})
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	sort.Strings(dns)
	return dns
}

func TestAddSearchModifyDelete(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "uid=jdoe,ou=people,dc=example,dc=com", person("jdoe", "John Doe", "Doe", "mail", "jdoe@example.com"), WriteOptions{})))

	if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=JDOE)"); len(got) != 1 {
		t.Fatalf("uid=JDOE found %v", got)
	}
	en, err := e.Get(ctx, "UID=jdoe, OU=People,DC=Example,DC=COM")
	must(t, err)
	for _, a := range []string{"entryUUID", "createTimestamp", "modifyTimestamp", "structuralObjectClass", "entryDN", "hasSubordinates"} {
		if en.Get(a) == nil {
			t.Errorf("operational attribute %s missing", a)
		}
	}
	if got := en.First("structuralObjectClass"); got != "inetOrgPerson" {
		t.Errorf("structuralObjectClass = %q", got)
	}

	must(t, errOf(e.Modify(ctx, "uid=jdoe,ou=people,dc=example,dc=com", []Mod{
		{Op: change.ModReplace, Attr: Attr{Name: "mail", Values: [][]byte{[]byte("john@example.com")}}},
		{Op: change.ModAdd, Attr: Attr{Name: "description", Values: [][]byte{[]byte("one"), []byte("two")}}},
		{Op: change.ModDelete, Attr: Attr{Name: "description", Values: [][]byte{[]byte("ONE")}}},
	}, WriteOptions{})))
	if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(mail=jdoe@example.com)"); len(got) != 0 {
		t.Errorf("old mail still indexed: %v", got)
	}
	if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(&(mail=john@example.com)(description=two))"); len(got) != 1 {
		t.Errorf("modified entry not found: %v", got)
	}
	if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(description=one)"); len(got) != 0 {
		t.Errorf("deleted value still matches: %v", got)
	}

	must(t, errOf(e.Delete(ctx, "uid=jdoe,ou=people,dc=example,dc=com", WriteOptions{})))
	if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(uid=jdoe)"); len(got) != 0 {
		t.Errorf("deleted entry found: %v", got)
	}
	if e.EntryCount() != 2 {
		t.Errorf("EntryCount = %d, want 2", e.EntryCount())
	}
}

func TestResultCodes(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dn := "uid=a,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, person("a", "A", "Alpha"), WriteOptions{})))
	tests := []struct {
		name string
		err  error
		want ldap.ResultCode
	}{
		{"add existing", errOf(e.Add(ctx, dn, person("a", "A", "Alpha"), WriteOptions{})), ldap.EntryAlreadyExists},
		{"add no parent", errOf(e.Add(ctx, "uid=b,ou=nowhere,dc=example,dc=com", person("b", "B", "B"), WriteOptions{})), ldap.NoSuchObject},
		{"add outside suffix", errOf(e.Add(ctx, "dc=other,dc=org", attrs("objectClass", "dcObject", "organization", "dc", "other", "o", "x"), WriteOptions{})), ldap.NoSuchObject},
		{"add unknown attribute", errOf(e.Add(ctx, "uid=c,ou=people,dc=example,dc=com", append(person("c", "C", "C"), Attr{Name: "bogus", Values: [][]byte{[]byte("x")}}), WriteOptions{})), ldap.UndefinedAttributeType},
		{"add missing sn", errOf(e.Add(ctx, "uid=d,ou=people,dc=example,dc=com", attrs("objectClass", "inetOrgPerson", "uid", "d", "cn", "D"), WriteOptions{})), ldap.ObjectClassViolation},
		{"add without objectClass", errOf(e.Add(ctx, "uid=e,ou=people,dc=example,dc=com", attrs("uid", "e", "cn", "E", "sn", "E"), WriteOptions{})), ldap.ObjectClassViolation},
		{"add bad syntax", errOf(e.Add(ctx, "uid=f,ou=people,dc=example,dc=com", append(person("f", "F", "F"), Attr{Name: "employeeNumber", Values: nil}), WriteOptions{})), ldap.ProtocolError},
		{"add duplicate value", errOf(e.Add(ctx, "uid=g,ou=people,dc=example,dc=com", person("g", "G", "G", "mail", "x@y", "mail", "X@Y"), WriteOptions{})), ldap.AttributeOrValueExists},
		{"add naming attr missing", errOf(e.Add(ctx, "uid=h,ou=people,dc=example,dc=com", person("other", "H", "H"), WriteOptions{})), ldap.NamingViolation},
		{"add operational", errOf(e.Add(ctx, "uid=i,ou=people,dc=example,dc=com", person("i", "I", "I", "entryUUID", "597ae2f6-16a6-1027-98f4-d28b5365dc14"), WriteOptions{})), ldap.ConstraintViolation},
		{"bad DN", errOf(e.Add(ctx, "uid=,,", person("x", "X", "X"), WriteOptions{})), ldap.InvalidDNSyntax},
		{"delete missing", errOf(e.Delete(ctx, "uid=zz,ou=people,dc=example,dc=com", WriteOptions{})), ldap.NoSuchObject},
		{"delete non-leaf", errOf(e.Delete(ctx, "ou=people,dc=example,dc=com", WriteOptions{})), ldap.NotAllowedOnNonLeaf},
		{"modify RDN value away", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModDelete, Attr: Attr{Name: "uid"}}}, WriteOptions{})), ldap.NotAllowedOnRDN},
		{"modify missing value", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModDelete, Attr: Attr{Name: "mail", Values: [][]byte{[]byte("q")}}}}, WriteOptions{})), ldap.NoSuchAttribute},
		{"modify value exists", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModAdd, Attr: Attr{Name: "cn", Values: [][]byte{[]byte("a")}}}}, WriteOptions{})), ldap.AttributeOrValueExists},
		{"modify structural class", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "objectClass", Values: [][]byte{[]byte("account")}}}}, WriteOptions{})), ldap.ObjectClassModsProhibited},
		{"modify no-user-mod", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "createTimestamp", Values: [][]byte{[]byte("20200101000000Z")}}}}, WriteOptions{})), ldap.ConstraintViolation},
		{"modify single-valued", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModAdd, Attr: Attr{Name: "displayName", Values: [][]byte{[]byte("x"), []byte("y")}}}}, WriteOptions{})), ldap.ConstraintViolation},
		{"modify missing entry", errOf(e.Modify(ctx, "uid=zz,ou=people,dc=example,dc=com", []Mod{{Op: change.ModAdd, Attr: Attr{Name: "cn", Values: [][]byte{[]byte("a")}}}}, WriteOptions{})), ldap.NoSuchObject},
		{"increment non-integer attr", errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModIncrement, Attr: Attr{Name: "cn", Values: [][]byte{[]byte("1")}}}}, WriteOptions{})), ldap.ConstraintViolation},
		{"moddn onto existing", errOf(e.ModifyDN(ctx, "ou=people,dc=example,dc=com", "ou=people", false, nil, WriteOptions{})), ldap.Success},
		{"moddn under itself", errOf(e.ModifyDN(ctx, "ou=people,dc=example,dc=com", "ou=x", false, ptr(dn), WriteOptions{})), ldap.UnwillingToPerform},
		{"moddn missing superior", errOf(e.ModifyDN(ctx, dn, "uid=a", false, ptr("ou=nowhere,dc=example,dc=com"), WriteOptions{})), ldap.NoSuchObject},
		{"moddn removing required", errOf(e.ModifyDN(ctx, dn, "cn=A", true, nil, WriteOptions{})), ldap.Success},
	}
	for _, tc := range tests {
		if got := code(tc.err); got != tc.want {
			t.Errorf("%s: code %d (%v), want %d", tc.name, got, tc.err, tc.want)
		}
	}
	var le *ldap.Error
	err := errOf(e.Delete(ctx, "uid=zz,ou=people,dc=example,dc=com", WriteOptions{}))
	if !errors.As(err, &le) || le.MatchedDN != "ou=people,dc=example,dc=com" {
		t.Errorf("matchedDN = %+v, want ou=people,dc=example,dc=com", err)
	}
}

func ptr(s string) *string { return &s }

func TestModifyDNMovesSubtree(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "ou=a,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "a"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=b,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "b"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=sub,ou=a,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "sub"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "uid=x,ou=sub,ou=a,dc=example,dc=com", person("x", "X", "X"), WriteOptions{})))
	must(t, errOf(e.ModifyDN(ctx, "ou=a,dc=example,dc=com", "ou=moved", true, ptr("ou=b,dc=example,dc=com"), WriteOptions{})))

	got := search(t, e, "ou=b,dc=example,dc=com", ldap.ScopeWholeSubtree, "(objectClass=*)")
	want := []string{"ou=b,dc=example,dc=com", "ou=moved,ou=b,dc=example,dc=com", "ou=sub,ou=moved,ou=b,dc=example,dc=com", "uid=x,ou=sub,ou=moved,ou=b,dc=example,dc=com"}
	if !slices.Equal(got, want) {
		t.Fatalf("after move: %v\nwant %v", got, want)
	}
	if _, err := e.Get(ctx, "uid=x,ou=sub,ou=a,dc=example,dc=com"); code(err) != ldap.NoSuchObject {
		t.Errorf("old DN still resolves: %v", err)
	}
	en, err := e.Get(ctx, "ou=moved,ou=b,dc=example,dc=com")
	must(t, err)
	if v := en.Get("ou"); len(v) != 1 || string(v[0]) != "moved" {
		t.Errorf("deleteoldrdn left ou=%q", v)
	}
	if got := search(t, e, "ou=b,dc=example,dc=com", ldap.ScopeSingleLevel, "(objectClass=*)"); len(got) != 1 {
		t.Errorf("one-level under ou=b: %v", got)
	}
}

// TestIndexedMatchesScan checks, for random entries and random filters,
// that a search planned through the equality indexes returns exactly what
// evaluating the filter on every entry returns.
func TestIndexedMatchesScan(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"Anna", "Ben", "Chloé", "Dmitri", "Émile", "Fatima"}
	surnames := []string{"Smith", "Müller", "Ng", "Smith Jr", "O'Brien"}
	mailNames := []string{"anna", "Ben", "chloe", "DMITRI"}
	for i := range 300 {
		uid := fmt.Sprintf("u%d", i)
		cn := names[r.IntN(len(names))] + " " + surnames[r.IntN(len(surnames))]
		extra := []string{}
		if r.IntN(3) == 0 {
			extra = append(extra, "mail", fmt.Sprintf("%s@example.com", mailNames[r.IntN(len(mailNames))]))
		}
		must(t, errOf(e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", person(uid, cn, surnames[r.IntN(len(surnames))], extra...), WriteOptions{})))
	}
	// Modify some, delete some, so the indexes see every kind of write.
	for i := 0; i < 300; i += 7 {
		must(t, errOf(e.Modify(ctx, fmt.Sprintf("uid=u%d,ou=people,dc=example,dc=com", i), []Mod{{Op: change.ModReplace, Attr: Attr{Name: "sn", Values: [][]byte{[]byte(surnames[r.IntN(len(surnames))])}}}}, WriteOptions{})))
	}
	for i := 0; i < 300; i += 11 {
		must(t, errOf(e.Delete(ctx, fmt.Sprintf("uid=u%d,ou=people,dc=example,dc=com", i), WriteOptions{})))
	}
	terms := func() string {
		switch r.IntN(5) {
		case 0:
			return fmt.Sprintf("(uid=u%d)", r.IntN(320))
		case 1:
			return "(sn=" + surnames[r.IntN(len(surnames))] + ")"
		case 2:
			return "(mail=" + mailNames[r.IntN(len(mailNames))] + "@EXAMPLE.com)"
		case 3:
			return "(cn=" + names[r.IntN(len(names))] + "*)"
		}
		return "(objectClass=inetOrgPerson)"
	}
	for range 200 {
		var f string
		switch r.IntN(3) {
		case 0:
			f = terms()
		case 1:
			f = "(&" + terms() + terms() + ")"
		default:
			f = "(|" + terms() + terms() + terms() + ")"
		}
		got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f)
		// The reference: every entry, evaluated without any index.
		parsed, _ := ldap.ParseFilter(f)
		var want []string
		must(t, e.Walk(ctx, func(en *Entry) error {
			if e.Match(parsed, en) {
				want = append(want, en.DN)
			}
			return nil
		}))
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Fatalf("filter %s: indexed %d entries, scan %d\nindexed: %v\nscan: %v", f, len(got), len(want), got, want)
		}
	}
}

func TestCompareAndAuthenticate(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dn := "uid=p,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, person("p", "Pat", "Lee", "userPassword", "hunter2"), WriteOptions{})))
	en, _ := e.Get(ctx, dn)
	if pw := en.First("userPassword"); pw == "hunter2" || pw[0] != '{' {
		t.Fatalf("cleartext password stored: %q", pw)
	}
	if _, err := e.Authenticate(ctx, dn, []byte("hunter2")); err != nil {
		t.Errorf("correct password refused: %v", err)
	}
	if _, err := e.Authenticate(ctx, dn, []byte("hunter3")); code(err) != ldap.InvalidCredentials {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := e.Authenticate(ctx, "uid=nobody,ou=people,dc=example,dc=com", []byte("x")); code(err) != ldap.InvalidCredentials {
		t.Errorf("missing entry: %v", err)
	}
	ok, err := e.Compare(ctx, &CompareRequest{DN: dn, Attr: "cn", Value: []byte("PAT"), Hidden: nil})
	if !ok || err != nil {
		t.Errorf("compare cn=PAT: %v %v", ok, err)
	}
	if ok, err := e.Compare(ctx, &CompareRequest{DN: dn, Attr: "sn", Value: []byte("Kim"), Hidden: nil}); ok || err != nil {
		t.Errorf("compare sn=Kim: %v %v", ok, err)
	}
	if _, err := e.Compare(ctx, &CompareRequest{DN: dn, Attr: "mail", Value: []byte("x"), Hidden: nil}); code(err) != ldap.NoSuchAttribute {
		t.Errorf("compare absent attribute: %v", err)
	}
	if _, err := e.Compare(ctx, &CompareRequest{DN: dn, Attr: "nosuch", Value: []byte("x"), Hidden: nil}); code(err) != ldap.UndefinedAttributeType {
		t.Errorf("compare unknown attribute: %v", err)
	}
	if _, err := e.Compare(ctx, &CompareRequest{DN: dn, Attr: "userPassword", Value: []byte("x"), Hidden: []string{"userPassword"}}); code(err) != ldap.InsufficientAccessRights {
		t.Errorf("compare hidden attribute: %v", err)
	}
}

func TestSearchLimitsAndPaging(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	for i := range 25 {
		must(t, errOf(e.Add(ctx, fmt.Sprintf("uid=s%d,ou=people,dc=example,dc=com", i), person(fmt.Sprintf("s%d", i), "S", "S"), WriteOptions{})))
	}
	f, _ := ldap.ParseFilter("(objectClass=person)")
	n := 0
	err := e.Search(ctx, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, SizeLimit: 10}, func(*Entry) error { n++; return nil })
	if code(err) != ldap.SizeLimitExceeded || n != 10 {
		t.Errorf("size limit: %d entries, %v", n, err)
	}
	// Paging by ID: pages of 7 visit every entry exactly once.
	var after ID
	seen := map[string]bool{}
	for {
		var last ID
		count := 0
		err := e.Search(ctx, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, After: after}, func(en *Entry) error {
			if count == 7 {
				return ErrStop
			}
			if seen[en.DN] {
				t.Fatalf("%s seen twice", en.DN)
			}
			seen[en.DN] = true
			count++
			last = en.ID
			return nil
		})
		must(t, err)
		if count < 7 {
			break
		}
		after = last
	}
	if len(seen) != 25 {
		t.Errorf("paging saw %d entries, want 25", len(seen))
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := e.Search(cctx, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f}, func(*Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled search: %v", err)
	}
	if err := e.Search(ctx, &SearchRequest{BaseDN: "ou=missing,dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f}, func(*Entry) error { return nil }); code(err) != ldap.NoSuchObject {
		t.Errorf("missing base: %v", err)
	}
}

func TestFilterSemantics(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "uid=m,ou=people,dc=example,dc=com", person("m", "Zoë  Łukasiewicz", "Łukasiewicz", "telephoneNumber", "+1 555-0100", "uidNumber", "1005", "gidNumber", "100", "homeDirectory", "/home/m", "objectClass", "posixAccount"), WriteOptions{})))
	base := "dc=example,dc=com"
	cases := []struct {
		filter string
		want   int
	}{
		{"(cn=zoë łukasiewicz)", 1},
		{"(cn=ZOË ŁUKASIEWICZ)", 1},
		{"(cn=*kasie*)", 1},
		{"(cn=zo*wicz)", 1},
		{"(cn=*x*)", 0},
		{"(telephoneNumber=+15550100)", 1},
		{"(uidNumber>=1000)", 1},
		{"(uidNumber<=999)", 0},
		{"(uidNumber>=abc)", 0},
		{"(nosuch=x)", 0},
		{"(!(nosuch=x))", 0},
		{"(|(nosuch=x)(uid=m))", 1},
		{"(&)", 3},
		{"(|)", 0},
		{"(!(uid=m))", 2},
		{"(name=Łukasiewicz)", 1}, // sn and cn are subtypes of name
		{"(ou:dn:=people)", 2},    // ou=people itself and uid=m below it
		{"(cn:caseExactMatch:=Zoë Łukasiewicz)", 1},
		{"(cn:caseExactMatch:=zoë łukasiewicz)", 0},
		{"(:caseIgnoreMatch:=m)", 1},
		{"(:nosuchRule:=m)", 0},
		{"(objectClass=INETORGPERSON)", 1},
		{"(sn~=lukasiewicz)", 1}, // phonetic: Łukasiewicz sounds the same
	}
	for _, tc := range cases {
		if got := search(t, e, base, ldap.ScopeWholeSubtree, tc.filter); len(got) != tc.want {
			t.Errorf("%s: %d entries %v, want %d", tc.filter, len(got), got, tc.want)
		}
	}
}

func TestEntryRecordRoundTrip(t *testing.T) {
	en := &Entry{ID: 9, ParentID: 3, DN: "cn=x,dc=example,dc=com", NDN: "cn=x,dc=example,dc=com",
		Attrs: []Attr{{Name: "cn", Values: [][]byte{[]byte("x"), {}}}, {Name: "jpegPhoto", Values: [][]byte{{0, 1, 2, 255}}}}}
	got, err := unmarshalEntry(9, en.marshal(nil))
	must(t, err)
	if got.DN != en.DN || got.ParentID != 3 || len(got.Attrs) != 2 || string(got.Attrs[1].Values[0]) != "\x00\x01\x02\xff" {
		t.Fatalf("round trip: %+v", got)
	}
}

// FuzzEntryRecord feeds arbitrary bytes to the record decoder: it must
// reject or decode them, never panic, and what it decodes re-encodes to a
// record that decodes to the same entry. Decoded into a scratch entry that
// a larger record used before (a search's reuse), it decodes the same.
func FuzzEntryRecord(f *testing.F) {
	en := &Entry{ParentID: 1, DN: "cn=a", NDN: "cn=a", Attrs: []Attr{{Name: "cn", Values: [][]byte{[]byte("a")}}}}
	f.Add(en.marshal(nil))
	f.Add([]byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{})
	big := &Entry{DN: "cn=big", NDN: "cn=big"}
	for i := range 8 {
		big.Attrs = append(big.Attrs, Attr{Name: fmt.Sprint("a", i), Values: [][]byte{[]byte("x"), []byte("y"), []byte("z")}})
	}
	bigRec := big.marshal(nil)
	f.Add(bigRec)
	bind := &Entry{ParentID: 3, DN: "uid=u,dc=x", NDN: "uid=u,dc=x", Attrs: []Attr{
		{Name: "cn", Values: [][]byte{[]byte("U")}},
		{Name: "userPassword", Values: [][]byte{[]byte("{SSHA}x"), []byte("{SSHA}y")}},
		{Name: "mail", Values: [][]byte{[]byte("u@x")}},
	}}
	f.Add(bind.marshal(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		e1, err := unmarshalEntry(1, b)
		var sc entryScratch
		if err := decodeInto(&sc.en, &sc.vals, 2, bigRec[1:]); err != nil {
			t.Fatal(err)
		}
		if len(b) > 0 {
			err2 := decodeInto(&sc.en, &sc.vals, 1, b[1:])
			if err == nil && (err2 != nil || snapshot(&sc.en) != snapshot(e1)) {
				t.Fatalf("decoded into a used scratch: %v\n%s\nwant\n%s", err2, snapshot(&sc.en), snapshot(e1))
			}
		}
		// The bind's partial decode agrees with the whole one: same
		// names, and each attribute alone has the values it has in full.
		if len(b) > 0 {
			for _, name := range []string{"cn", "userPassword", "a3"} {
				var one Entry
				err3 := decodeOneAttr(&one, 1, b[1:], name)
				if err == nil && err3 != nil {
					t.Fatalf("decodeOneAttr(%s) fails on a record that decodes: %v", name, err3)
				}
				if err != nil || err3 != nil {
					continue
				}
				if one.DN != e1.DN || one.NDN != e1.NDN || one.ParentID != e1.ParentID {
					t.Fatalf("decodeOneAttr names %q %q, want %q %q", one.DN, one.NDN, e1.DN, e1.NDN)
				}
				var want []Attr
				for _, a := range e1.Attrs {
					if strings.EqualFold(a.Name, name) {
						want = append(want, a)
					}
				}
				if len(one.Attrs) != len(want) {
					t.Fatalf("decodeOneAttr(%s): %d attributes, want %d", name, len(one.Attrs), len(want))
				}
				for i := range want {
					if !reflect.DeepEqual(one.Attrs[i].Values, want[i].Values) {
						t.Fatalf("decodeOneAttr(%s): values %q, want %q", name, one.Attrs[i].Values, want[i].Values)
					}
				}
			}
		}
		if err != nil {
			return
		}
		e2, err := unmarshalEntry(1, e1.marshal(nil))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if e1.DN != e2.DN || len(e1.Attrs) != len(e2.Attrs) {
			t.Fatalf("round trip changed the entry")
		}
	})
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, _ := schema.Default()
	open := func(suffix string) (*Engine, error) {
		return Open(Options{Dir: dir, Suffix: suffix, Schema: s})
	}
	e, err := open("dc=example,dc=com")
	must(t, err)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), WriteOptions{})))
	must(t, e.Close())
	if _, err := open("dc=other,dc=org"); err == nil {
		t.Fatal("opened a store with another suffix")
	}
	e, err = open("DC=Example, DC=com")
	must(t, err)
	defer e.Close()
	if e.EntryCount() != 1 {
		t.Errorf("EntryCount after reopen = %d", e.EntryCount())
	}
	if got := search(t, e, "dc=example,dc=com", ldap.ScopeBaseObject, "(o=e)"); len(got) != 1 {
		t.Errorf("entry lost on reopen: %v", got)
	}
}

// errOf drops the Change a write returns.
func errOf(_ *Change, err error) error { return err }

// TestEntryCacheNeverServesStale races readers against writers on a few
// entries; once the writers stop, every read must see the last write.
func TestEntryCacheNeverServesStale(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	const n = 5
	for i := range n {
		must(t, errOf(e.Add(ctx, fmt.Sprintf("uid=c%d,ou=people,dc=example,dc=com", i), person(fmt.Sprintf("c%d", i), "C", "C", "description", "0"), WriteOptions{})))
	}
	stop := raceReaders(4, func() {
		for i := range n {
			e.Get(ctx, fmt.Sprintf("uid=c%d,ou=people,dc=example,dc=com", i))
		}
	})
	last := make([]int, n)
	for round := 1; round <= 60; round++ {
		i := round % n
		must(t, errOf(e.Modify(ctx, fmt.Sprintf("uid=c%d,ou=people,dc=example,dc=com", i), []Mod{{Op: change.ModReplace, Attr: Attr{Name: "description", Values: [][]byte{[]byte(fmt.Sprint(round))}}}}, WriteOptions{})))
		last[i] = round
	}
	stop()
	for i := range n {
		en, err := e.Get(ctx, fmt.Sprintf("uid=c%d,ou=people,dc=example,dc=com", i))
		must(t, err)
		if got := en.First("description"); got != fmt.Sprint(last[i]) {
			t.Errorf("c%d: description %s after the writes, want %d", i, got, last[i])
		}
	}
}

// TestScanDoesNotEvict checks the entry cache's scan resistance: entries
// loaded by a full scan fill only free room and never push out entries
// that look-ups cached.
func TestScanDoesNotEvict(t *testing.T) {
	record := func(id ID) []byte {
		en := &Entry{ID: id, DN: fmt.Sprintf("uid=u%06d,dc=example,dc=com", id), Attrs: []Attr{{Name: "cn", Values: [][]byte{make([]byte, 200)}}}}
		return en.marshal(nil)
	}
	one := recordSize(record(1))
	c := newEntryCache(16 * one * 8) // eight entries per shard
	tok := c.begin()
	hot := []ID{16, 32, 48} // all in shard 0
	for _, id := range hot {
		c.put(tok, id, record(id), true)
	}
	for id := ID(64); id < 64+16*100; id += 16 { // a scan through shard 0
		c.put(tok, id, record(id), false)
	}
	for _, id := range hot {
		if c.peek(id) == nil {
			t.Errorf("scan evicted hot entry %d", id)
		}
	}
	if n := len(c.shards[0].items); n != 8 {
		t.Errorf("shard holds %d entries, want its room of 8", n)
	}
	// A look-up still evicts the least recently used entry.
	c.put(tok, 5008, record(5008), true)
	if c.peek(5008) == nil || len(c.shards[0].items) != 8 {
		t.Errorf("look-up did not replace an entry: %d entries", len(c.shards[0].items))
	}
}

// TestDNCacheFollowsDeletesAndRenames checks that the DN cache drops the
// DNs a delete or a rename retires, and only those: a DN deleted and added
// again, or renamed away and reused, must name the new entry, while
// readers race the writers.
func TestDNCacheFollowsDeletesAndRenames(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dn := func(s string) string { return "uid=" + s + ",ou=people,dc=example,dc=com" }
	must(t, errOf(e.Add(ctx, dn("keep"), person("keep", "K", "K", "description", "kept"), WriteOptions{})))
	stop := raceReaders(3, func() {
		e.Get(ctx, dn("d"))
		e.Get(ctx, dn("r"))
		e.Get(ctx, dn("keep"))
	})
	for round := 1; round <= 40; round++ {
		v := fmt.Sprint(round)
		must(t, errOf(e.Add(ctx, dn("d"), person("d", "D", "D", "description", v), WriteOptions{})))
		if en, err := e.Get(ctx, dn("d")); err != nil || en.First("description") != v {
			t.Fatalf("round %d: uid=d read %v, %v after its add", round, en, err)
		}
		// Rename it away, then reuse the old DN for another entry.
		must(t, errOf(e.ModifyDN(ctx, dn("d"), "uid=r", true, nil, WriteOptions{})))
		if _, err := e.Get(ctx, dn("d")); err == nil {
			t.Fatalf("round %d: uid=d still found after its rename", round)
		}
		must(t, errOf(e.Add(ctx, dn("d"), person("d", "D", "D", "description", "again "+v), WriteOptions{})))
		if en, err := e.Get(ctx, dn("d")); err != nil || en.First("description") != "again "+v {
			t.Fatalf("round %d: reused uid=d read %v, %v", round, en, err)
		}
		must(t, errOf(e.Delete(ctx, dn("d"), WriteOptions{})))
		must(t, errOf(e.Delete(ctx, dn("r"), WriteOptions{})))
		if _, err := e.Get(ctx, dn("r")); err == nil {
			t.Fatalf("round %d: uid=r still found after its delete", round)
		}
	}
	stop()
	if en, err := e.Get(ctx, dn("keep")); err != nil || en.First("description") != "kept" {
		t.Errorf("uid=keep read %v, %v", en, err)
	}
	if _, err := e.Get(ctx, dn("d")); err == nil {
		t.Error("uid=d found after its last delete")
	}
}

// TestDNCacheEvictsWhenFull checks that a full DN cache makes room for new
// DNs (a random one leaves) instead of refusing them.
func TestDNCacheEvictsWhenFull(t *testing.T) {
	c := newEntryCache(1 << 20)
	tok := c.begin()
	for i := range maxCachedDNs + 100 {
		c.putDN(tok, fmt.Sprintf("uid=u%d", i), ID(i+1))
	}
	if n := c.dns.len(); n != maxCachedDNs {
		t.Errorf("%d DNs cached, want %d", n, maxCachedDNs)
	}
	last := maxCachedDNs + 99
	if id := c.lookupDN(fmt.Sprintf("uid=u%d", last)); id != ID(last+1) {
		t.Errorf("newest DN not cached: %d", id)
	}
}

// TestListCacheFollowsWrites checks that the posting-list cache never
// answers an equality look-up with a list a write has changed: values
// move between entries, entries come and go, while readers race the
// writers filling the cache; after each write the look-ups must see it.
func TestListCacheFollowsWrites(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	dn := func(s string) string { return "uid=" + s + ",ou=people,dc=example,dc=com" }
	for _, u := range []string{"a", "b"} {
		must(t, errOf(e.Add(ctx, dn(u), person(u, u, u, "mail", u+"@x"), WriteOptions{})))
	}
	stop := raceReaders(3, func() {
		for _, f := range []string{"(mail=a@x)", "(mail=b@x)", "(mail=shared@x)", "(uid=c)", "(&(uid=a)(mail=shared@x))"} {
			fl, _ := ldap.ParseFilter(f)
			e.Search(ctx, &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: fl}, func(*Entry) error { return nil })
		}
	})
	want := func(round int, filter string, dns ...string) {
		t.Helper()
		got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, filter)
		sort.Strings(dns)
		if !slices.Equal(got, dns) {
			t.Fatalf("round %d: %s found %v, want %v", round, filter, got, dns)
		}
	}
	setMail := func(u, mail string) {
		must(t, errOf(e.Modify(ctx, dn(u), []Mod{{Op: change.ModReplace, Attr: Attr{Name: "mail", Values: [][]byte{[]byte(mail)}}}}, WriteOptions{})))
	}
	for round := 1; round <= 30; round++ {
		setMail("a", "shared@x")
		want(round, "(mail=a@x)")
		want(round, "(mail=shared@x)", dn("a"))
		want(round, "(&(uid=a)(mail=shared@x))", dn("a"))
		setMail("b", "shared@x")
		want(round, "(mail=shared@x)", dn("a"), dn("b"))
		must(t, errOf(e.Add(ctx, dn("c"), person("c", "c", "c", "mail", "shared@x"), WriteOptions{})))
		want(round, "(uid=c)", dn("c"))
		want(round, "(mail=shared@x)", dn("a"), dn("b"), dn("c"))
		must(t, errOf(e.Delete(ctx, dn("c"), WriteOptions{})))
		want(round, "(uid=c)")
		want(round, "(mail=shared@x)", dn("a"), dn("b"))
		setMail("a", "a@x")
		setMail("b", "b@x")
		want(round, "(mail=a@x)", dn("a"))
		want(round, "(mail=shared@x)")
		want(round, "(&(uid=a)(mail=shared@x))")
	}
	stop()
}

// openOnDisk opens a new store in a temporary directory, without fsync,
// and adds dc=example,dc=com and ou=people under it: for tests that close
// and reopen it with the returned options.
func openOnDisk(t *testing.T) (Options, *Engine) {
	t.Helper()
	s, _ := schema.Default()
	opt := Options{Dir: t.TempDir(), Suffix: "dc=example,dc=com", Schema: s, NoSync: true}
	e, err := Open(opt)
	must(t, err)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"), WriteOptions{})))
	return opt, e
}

// raceReaders runs read in a loop on n goroutines until the returned stop
// is called, which waits for them: readers filling the caches while a test
// writes.
func raceReaders(n int, read func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				read()
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// TestOpenWarmsDNCache checks that reopening a store fills the DN cache
// from the DN index, and that the warmed DNs name the right entries.
func TestOpenWarmsDNCache(t *testing.T) {
	opt, e := openOnDisk(t)
	ctx := context.Background()
	for i := range 50 {
		must(t, errOf(e.Add(ctx, fmt.Sprintf("uid=w%d,ou=people,dc=example,dc=com", i), person(fmt.Sprintf("w%d", i), "W", "W"), WriteOptions{})))
	}
	must(t, e.Close())
	e, err := Open(opt)
	must(t, err)
	defer e.Close()
	if n := e.cache.dns.len(); n != 52 {
		t.Fatalf("%d DNs cached after opening, want 52", n)
	}
	for i := range 50 {
		dn := fmt.Sprintf("uid=w%d,ou=people,dc=example,dc=com", i)
		en, err := e.Get(ctx, dn)
		if err != nil || en.First("uid") != fmt.Sprintf("w%d", i) || en.ID != e.cache.lookupDN(dn) {
			t.Fatalf("%s: %v, %v", dn, en, err)
		}
	}
}

// TestModifyKeepsIndexesExact makes random modifies that touch indexed
// attributes, their subtypes with options (cn;lang-de feeds cn's index
// with cn), objectClass and unindexed ones, then checks with Verify that
// the stored index keys are exactly those the entries call for: a modify
// rewrites only the indexes its changed attributes feed, and must neither
// leave a key behind nor drop one another attribute still needs.
func TestModifyKeepsIndexesExact(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(9, 10))
	const n = 30
	dn := func(i int) string { return fmt.Sprintf("uid=m%d,ou=people,dc=example,dc=com", i) }
	for i := range n {
		must(t, errOf(e.Add(ctx, dn(i), person(fmt.Sprintf("m%d", i), "Ann Lee", "Lee", "mail", "a@x", "description", "d"), WriteOptions{})))
	}
	names := []string{"cn", "cn;lang-de", "sn", "mail", "description", "telephoneNumber", "givenName", "objectClass"}
	values := []string{"Ann Lee", "Lee", "Bo", "a@x", "b@x", "posixAccount", "x"}
	applied := 0
	for range 600 {
		name := names[r.IntN(len(names))]
		v := values[r.IntN(len(values))]
		op := []change.ModOp{change.ModAdd, change.ModDelete, change.ModReplace}[r.IntN(3)]
		if name == "objectClass" {
			// posixAccount needs its MUST attributes: add them with it.
			op, v = change.ModAdd, "posixAccount"
		}
		mods := []Mod{{Op: op, Attr: Attr{Name: name, Values: [][]byte{[]byte(v)}}}}
		if name == "objectClass" {
			mods = append(mods,
				Mod{Op: change.ModReplace, Attr: Attr{Name: "uidNumber", Values: [][]byte{[]byte(fmt.Sprint(r.IntN(9)))}}},
				Mod{Op: change.ModReplace, Attr: Attr{Name: "gidNumber", Values: [][]byte{[]byte("1")}}},
				Mod{Op: change.ModReplace, Attr: Attr{Name: "homeDirectory", Values: [][]byte{[]byte("/h")}}})
		}
		if _, err := e.Modify(ctx, dn(r.IntN(n)), mods, WriteOptions{}); err == nil {
			applied++ // schema refusals (deleting a missing value...) are part of the mix
		}
	}
	if applied < 200 {
		t.Fatalf("only %d of 600 modifies applied", applied)
	}
	rep, err := e.Verify(ctx)
	must(t, err)
	if !rep.Agrees() {
		t.Fatalf("after random modifies: %+v", rep)
	}
	// And the indexes answer like the entries: cn=Ann Lee through cn and
	// cn;lang-de both.
	got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(cn=Ann Lee)")
	want := 0
	for i := range n {
		en, err := e.Get(ctx, dn(i))
		must(t, err)
		for _, a := range en.Attrs {
			if strings.EqualFold(baseName(a.Name), "cn") && slices.ContainsFunc(a.Values, func(v []byte) bool { return string(v) == "Ann Lee" }) {
				want++
				break
			}
		}
	}
	if len(got) != want {
		t.Errorf("(cn=Ann Lee) found %d entries, %d hold the value", len(got), want)
	}
}

// TestHeapBudgetCountsTables checks that the heap budget counts what
// Badger's tables keep on the heap (bloom filters, block indexes), which
// grows with the store, on top of the configured caches.
func TestHeapBudgetCountsTables(t *testing.T) {
	dir := t.TempDir()
	s, _ := schema.Default()
	opt := Options{Dir: dir, Suffix: "dc=example,dc=com", Schema: s, NoSync: true}
	e, err := Open(opt)
	must(t, err)
	fixed := heapBudget(badgerOptions(opt, false), e.cache) + minSingles*singleSlotSize
	if got := e.HeapBudget(); got != fixed {
		t.Fatalf("empty store: budget %d, want the caches' %d", got, fixed)
	}
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	for i := range 200 {
		must(t, errOf(e.Add(ctx, fmt.Sprintf("cn=t%d,dc=example,dc=com", i), attrs("objectClass", "organizationalRole", "cn", fmt.Sprintf("t%d", i)), WriteOptions{})))
	}
	must(t, e.Close()) // flushes the memtable into a table
	e, err = Open(opt)
	must(t, err)
	defer e.Close()
	if tables := tableHeap(e.db(), false); tables <= 0 || e.HeapBudget() != fixed+tables {
		t.Fatalf("budget %d with %d bytes of tables, want %d + the tables", e.HeapBudget(), tables, fixed)
	}
}

// TestBindCacheFollowsPasswordChanges checks that the bind cache never
// lets an old password in: binds race password changes, and after each
// change the old password fails and the new one works; a deleted entry
// binds no more, and one added again under its DN binds with its own.
func TestBindCacheFollowsPasswordChanges(t *testing.T) {
	e := openTestWith(t, Options{Passwords: password.NewHasher(password.Config{Scheme: "ssha512"})})
	ctx := context.Background()
	dn := "uid=pw,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, person("pw", "P", "P", "userPassword", "p0"), WriteOptions{})))
	stop := raceReaders(3, func() {
		e.Authenticate(ctx, dn, []byte("p0"))
		e.Authenticate(ctx, dn, []byte("p1"))
	})
	bind := func(pw string) error { _, err := e.Authenticate(ctx, dn, []byte(pw)); return err }
	for round := 1; round <= 40; round++ {
		old, now := fmt.Sprintf("p%d", round-1), fmt.Sprintf("p%d", round)
		if err := bind(old); err != nil {
			t.Fatalf("round %d: bind with the current password %s: %v", round, old, err)
		}
		must(t, errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "userPassword", Values: [][]byte{[]byte(now)}}}}, WriteOptions{})))
		if err := bind(old); code(err) != ldap.InvalidCredentials {
			t.Fatalf("round %d: the old password %s still binds: %v", round, old, err)
		}
		if err := bind(now); err != nil {
			t.Fatalf("round %d: the new password %s fails: %v", round, now, err)
		}
	}
	stop()
	last := "p40"
	must(t, errOf(e.Delete(ctx, dn, WriteOptions{})))
	if err := bind(last); code(err) != ldap.InvalidCredentials {
		t.Fatalf("a deleted entry binds: %v", err)
	}
	must(t, errOf(e.Add(ctx, dn, person("pw", "P", "P", "userPassword", "again"), WriteOptions{})))
	if bind(last) == nil || bind("again") != nil {
		t.Fatal("the entry added again under the DN binds with the old entry's password, or not with its own")
	}
}

// TestCompressedStoreKeepsBlockCache checks how Open reads the tables: a
// new store's plain, without a block cache; a store whose tables an
// earlier version compressed, through the cache, and still readable.
func TestCompressedStoreKeepsBlockCache(t *testing.T) {
	s, _ := schema.Default()
	plain := Options{Dir: t.TempDir(), Suffix: "dc=example,dc=com", Schema: s, NoSync: true}
	e, err := Open(plain)
	must(t, err)
	must(t, errOf(e.Add(context.Background(), "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	if o := e.db().Opts(); o.Compression != options.None || o.BlockCacheSize != 0 {
		t.Errorf("new store: compression %v, block cache %d", o.Compression, o.BlockCacheSize)
	}
	must(t, e.Close())
	if compressedTables(plain.Dir) {
		t.Error("a store written plain reads as compressed")
	}

	old := plain
	old.Dir = t.TempDir()
	db, err := badger.Open(badgerOptions(old, true).WithLogger(nil))
	must(t, err)
	must(t, db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("\x00legacy"), []byte("x")) }))
	must(t, db.Close()) // flushes the memtable into a ZSTD table
	if !compressedTables(old.Dir) {
		t.Fatal("a ZSTD store reads as plain")
	}
	e, err = Open(old)
	must(t, err)
	defer e.Close()
	if o := e.db().Opts(); o.Compression != options.ZSTD || o.BlockCacheSize == 0 {
		t.Errorf("compressed store: compression %v, block cache %d", o.Compression, o.BlockCacheSize)
	}
	must(t, e.db().View(func(txn *badger.Txn) error { _, err := txn.Get([]byte("\x00legacy")); return err }))
}
