package main

// End-to-end tests that drive a real switchboard process with the OpenLDAP
// client tools (ldapsearch, ldapadd, ldapmodify, ldapmodrdn, ldapdelete,
// ldapcompare, ldapwhoami, ldappasswd), as administrators and scripts do.
// Expected values come from the request itself or from testdata/demo.ldif,
// parsed independently of the server's own LDIF package.
//
// Exit codes of the tools are the LDAP result codes (RFC 4511 appendix A),
// except where noted (ldappasswd exits 1 on any failed extended operation).

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/testdata"
)

// e2eEntry is one entry of LDIF output.
type e2eEntry struct {
	DN    string
	Attrs map[string][]string // lower-cased attribute description → values
	Names []string            // attribute descriptions in the order printed
}

func (e e2eEntry) get(attr string) []string { return e.Attrs[strings.ToLower(attr)] }

func (e e2eEntry) has(attr string) bool { _, ok := e.Attrs[strings.ToLower(attr)]; return ok }

// one returns the only value of attr, failing the test otherwise.
func (e e2eEntry) one(t testing.TB, attr string) string {
	t.Helper()
	v := e.get(attr)
	if len(v) != 1 {
		t.Fatalf("%s: want exactly one %s value, got %q", e.DN, attr, v)
	}
	return v[0]
}

// e2eParseLDIF parses LDIF content records (RFC 2849) as ldapsearch -LLL
// prints them: folded lines, comments, "::" base64 values, and the empty
// values of a types-only search.
func e2eParseLDIF(text string) ([]e2eEntry, error) {
	var logical []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.HasPrefix(l, " ") && len(logical) > 0 && logical[len(logical)-1] != "" {
			logical[len(logical)-1] += l[1:]
			continue
		}
		logical = append(logical, l)
	}
	var out []e2eEntry
	var cur *e2eEntry
	for i, l := range logical {
		if strings.HasPrefix(l, "#") {
			continue
		}
		if l == "" {
			cur = nil
			continue
		}
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			return nil, fmt.Errorf("logical line %d: no colon: %q", i+1, l)
		}
		switch {
		case strings.HasPrefix(val, ":"):
			b, err := base64.StdEncoding.DecodeString(strings.TrimLeft(val[1:], " "))
			if err != nil {
				return nil, fmt.Errorf("logical line %d: %v", i+1, err)
			}
			val = string(b)
		case strings.HasPrefix(val, "<"):
			return nil, fmt.Errorf("logical line %d: URL values are not expected", i+1)
		default:
			val = strings.TrimLeft(val, " ")
		}
		if cur == nil {
			if strings.EqualFold(name, "version") && len(out) == 0 {
				continue
			}
			if !strings.EqualFold(name, "dn") {
				return nil, fmt.Errorf("logical line %d: record does not start with dn: %q", i+1, l)
			}
			out = append(out, e2eEntry{DN: val, Attrs: map[string][]string{}})
			cur = &out[len(out)-1]
			continue
		}
		key := strings.ToLower(name)
		if _, seen := cur.Attrs[key]; !seen {
			cur.Names = append(cur.Names, name)
		}
		cur.Attrs[key] = append(cur.Attrs[key], val)
	}
	return out, nil
}

// e2eRun runs an ldap-utils tool against s with -H and -x and exactly the
// given arguments: no bind is added, so without -D it runs anonymously.
func e2eRun(t testing.TB, s *testServer, stdin, tool string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("%s not installed (apt-get install ldap-utils)", tool)
	}
	cmd := exec.Command(path, append([]string{"-H", s.URL, "-x"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "LDAPNOINIT=1")
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		t.Fatalf("%s: %v", tool, err)
	}
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}

// asRoot prefixes args with a simple bind as the root DN.
func asRoot(args ...string) []string {
	return append([]string{"-D", testRootDN, "-w", testRootPass}, args...)
}

// asUser prefixes args with a simple bind as dn.
func asUser(dn, pw string, args ...string) []string {
	return append([]string{"-D", dn, "-w", pw}, args...)
}

// e2eSearchCode runs ldapsearch -LLL (unwrapped) with args, which carry
// the bind if any, requires exit code want, and returns the entries.
func e2eSearchCode(t testing.TB, s *testServer, want int, args ...string) []e2eEntry {
	t.Helper()
	out, errOut, code := e2eRun(t, s, "", "ldapsearch", append([]string{"-LLL", "-o", "ldif-wrap=no"}, args...)...)
	if code != want {
		t.Fatalf("ldapsearch %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, code, want, out, errOut)
	}
	entries, err := e2eParseLDIF(out)
	if err != nil {
		t.Fatalf("ldapsearch %q: unparsable output: %v\n%s", args, err, out)
	}
	return entries
}

// e2eSearch searches as the root DN and requires success.
func e2eSearch(t testing.TB, s *testServer, args ...string) []e2eEntry {
	t.Helper()
	return e2eSearchCode(t, s, 0, asRoot(args...)...)
}

// e2eBase reads one entry as the root DN; it must exist.
func e2eBase(t testing.TB, s *testServer, dn string, attrs ...string) e2eEntry {
	t.Helper()
	es := e2eSearch(t, s, append([]string{"-s", "base", "-b", dn, "(objectClass=*)"}, attrs...)...)
	if len(es) != 1 {
		t.Fatalf("base search of %s returned %d entries", dn, len(es))
	}
	return es[0]
}

// e2eGone requires that a base search of dn fails with noSuchObject.
func e2eGone(t testing.TB, s *testServer, dn string) {
	t.Helper()
	e2eSearchCode(t, s, 32, asRoot("-s", "base", "-b", dn, "(objectClass=*)", "1.1")...)
}

// e2eMustTool runs tool with args and requires exit code want.
func e2eMustTool(t testing.TB, s *testServer, want int, stdin, tool string, args ...string) string {
	t.Helper()
	out, errOut, code := e2eRun(t, s, stdin, tool, args...)
	if code != want {
		t.Fatalf("%s %q: exit %d, want %d\nstdout:\n%s\nstderr:\n%s\nstdin:\n%s", tool, args, code, want, out, errOut, stdin)
	}
	return out + errOut
}

func dnsOf(es []e2eEntry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = strings.ToLower(e.DN)
	}
	sort.Strings(out)
	return out
}

func sortedLower(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	sort.Strings(out)
	return out
}

// sameSet compares two value lists as sets of exact strings.
func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

var (
	demoOnce    sync.Once
	demoEntries []e2eEntry
	demoErr     error
)

// demo returns the entries of testdata/demo.ldif, the expected contents of
// a server started with --demo.
func demo(t testing.TB) []e2eEntry {
	t.Helper()
	demoOnce.Do(func() { demoEntries, demoErr = e2eParseLDIF(string(testdata.DemoLDIF)) })
	if demoErr != nil {
		t.Fatalf("demo.ldif: %v", demoErr)
	}
	if len(demoEntries) != 319 {
		t.Fatalf("demo.ldif has %d entries, want 319", len(demoEntries))
	}
	return demoEntries
}

// demoWhere returns the lower-cased DNs of the demo entries for which f holds.
func demoWhere(t testing.TB, f func(e e2eEntry) bool) []string {
	t.Helper()
	var out []string
	for _, e := range demo(t) {
		if f(e) {
			out = append(out, strings.ToLower(e.DN))
		}
	}
	sort.Strings(out)
	return out
}

// demoEntry returns the demo entry with the given DN.
func demoEntry(t testing.TB, dn string) e2eEntry {
	t.Helper()
	for _, e := range demo(t) {
		if strings.EqualFold(e.DN, dn) {
			return e
		}
	}
	t.Fatalf("%s is not in demo.ldif", dn)
	return e2eEntry{}
}

func anyValue(vals []string, f func(string) bool) bool {
	return slices.ContainsFunc(vals, f)
}

func isPerson(e e2eEntry) bool {
	return anyValue(e.get("objectClass"), func(v string) bool { return strings.EqualFold(v, "inetOrgPerson") })
}

const peopleDN = "ou=people," + testSuffix

func person(uid string) string { return "uid=" + uid + "," + peopleDN }

// groupsOf returns the lower-cased DNs of the demo groups that list dn as
// a member or uniqueMember.
func groupsOf(t testing.TB, dn string) []string {
	return demoWhere(t, func(e e2eEntry) bool {
		return anyValue(members(e), func(v string) bool { return strings.EqualFold(v, dn) })
	})
}

// members returns the member and uniqueMember values of a group.
func members(e e2eEntry) []string {
	return append(slices.Clone(e.get("member")), e.get("uniqueMember")...)
}

// ---------------------------------------------------------------------------

func TestLDAPUtilsBulkAdd(t *testing.T) {
	s := startServer(t, "")
	const n = 1000
	const bulk = "ou=bulk," + testSuffix
	nonASCII := func(i int) string { return fmt.Sprintf("Zoë Ærø-Łukasiewicz 山田 %04d", i) }
	var b strings.Builder
	b.WriteString("dn: " + testSuffix + "\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example Corp\n\n")
	b.WriteString("dn: " + bulk + "\nobjectClass: top\nobjectClass: organizationalUnit\nou: bulk\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "dn: uid=bulk%04d,%s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nuid: bulk%04d\n", i, bulk, i)
		if i%100 == 7 {
			fmt.Fprintf(&b, "cn:: %s\n", base64.StdEncoding.EncodeToString([]byte(nonASCII(i))))
		} else {
			fmt.Fprintf(&b, "cn: Bulk User %04d\n", i)
		}
		fmt.Fprintf(&b, "sn: User%04d\ngivenName: Bulk\nmail: bulk%04d@bulk.example.com\nemployeeNumber: %d\ndescription: first\ndescription: second %d\n\n", i, i, 500000+i, i)
	}
	out := e2eMustTool(t, s, 0, b.String(), "ldapadd", asRoot()...)
	if got := strings.Count(out, "adding new entry"); got != n+2 {
		t.Fatalf("ldapadd reported %d adds, want %d", got, n+2)
	}

	// Exactly n entries one level below ou=bulk, each once, as sent.
	es := e2eSearch(t, s, "-b", bulk, "-s", "one", "(objectClass=*)", "1.1")
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("uid=bulk%04d,%s", i, bulk))
	}
	sort.Strings(want)
	if got := dnsOf(es); !slices.Equal(got, want) {
		t.Fatalf("one-level search under %s: %d DNs, want the %d added", bulk, len(got), n)
	}
	if got := len(e2eSearch(t, s, "-b", bulk, "(objectClass=inetOrgPerson)", "1.1")); got != n {
		t.Fatalf("subtree (objectClass=inetOrgPerson) under %s: %d entries, want %d", bulk, got, n)
	}

	// Spot checks, every value exact.
	for _, i := range []int{0, 42, 500, 999} {
		e := e2eBase(t, s, fmt.Sprintf("uid=bulk%04d,%s", i, bulk))
		checks := map[string][]string{
			"uid":            {fmt.Sprintf("bulk%04d", i)},
			"cn":             {fmt.Sprintf("Bulk User %04d", i)},
			"sn":             {fmt.Sprintf("User%04d", i)},
			"givenName":      {"Bulk"},
			"mail":           {fmt.Sprintf("bulk%04d@bulk.example.com", i)},
			"employeeNumber": {fmt.Sprint(500000 + i)},
			"description":    {"first", fmt.Sprintf("second %d", i)},
			"objectClass":    {"top", "person", "organizationalPerson", "inetOrgPerson"},
		}
		for a, v := range checks {
			if !sameSet(e.get(a), v) {
				t.Errorf("%s %s = %q, want %q", e.DN, a, e.get(a), v)
			}
		}
		if len(e.Names) != len(checks) {
			t.Errorf("%s has attributes %v, want exactly %d", e.DN, e.Names, len(checks))
		}
	}

	// The non-ASCII cn comes back byte for byte, base64-encoded on the wire
	// format ldapsearch prints, and is found case-insensitively.
	for _, i := range []int{7, 507, 907} {
		dn := fmt.Sprintf("uid=bulk%04d,%s", i, bulk)
		if got := e2eBase(t, s, dn, "cn").one(t, "cn"); got != nonASCII(i) {
			t.Errorf("%s cn = %q, want %q", dn, got, nonASCII(i))
		}
		raw := e2eMustTool(t, s, 0, "", "ldapsearch", asRoot("-LLL", "-o", "ldif-wrap=no", "-s", "base", "-b", dn, "(objectClass=*)", "cn")...)
		if wantLine := "cn:: " + base64.StdEncoding.EncodeToString([]byte(nonASCII(i))); !strings.Contains(raw, wantLine+"\n") {
			t.Errorf("raw ldapsearch output lacks %q:\n%s", wantLine, raw)
		}
		upper := strings.ToUpper(nonASCII(i))
		got := e2eSearchCode(t, s, 0, "-b", bulk, "(cn="+upper+")", "1.1")
		if len(got) != 1 || !strings.EqualFold(got[0].DN, dn) {
			t.Errorf("(cn=%s) found %v, want only %s", upper, dnsOf(got), dn)
		}
	}

	// Anonymous searches are capped by the default size limit (500).
	if got := e2eSearchCode(t, s, 4, "-b", bulk, "-s", "one", "(objectClass=*)", "1.1"); len(got) != 500 {
		t.Errorf("anonymous search: %d entries before sizeLimitExceeded, want 500", len(got))
	}
}

func TestLDAPUtilsModifyAllChangeTypes(t *testing.T) {
	s := startServer(t, "", "--demo")
	newDN := person("e2e.new")
	renamed := person("e2e.renamed")
	final := "cn=E2E Newcomer," + peopleDN
	victim := person("oking")
	victimGroups := groupsOf(t, victim)
	if len(victimGroups) == 0 {
		t.Fatalf("%s is in no demo group; pick another victim", victim)
	}
	jm := demoEntry(t, person("jmuller"))
	if jm.one(t, "uidNumber") != "10011" || jm.one(t, "title") != "Systems Administrator" {
		t.Fatalf("demo.ldif changed: jmuller is %v", jm.Attrs)
	}

	stream := `dn: ` + newDN + `
changetype: add
objectClass: top
objectClass: inetOrgPerson
objectClass: posixAccount
uid: e2e.new
cn: E2E Newcomer
sn: Newcomer
uidNumber: 20000
gidNumber: 5000
homeDirectory: /home/e2e.new
mail: new@example.com
telephoneNumber: +1 555 0100
description: first
description: second

dn: ` + newDN + `
changetype: modify
add: telephoneNumber
telephoneNumber: +1 555 0101
telephoneNumber: +1 555 0102
-
delete: telephoneNumber
telephoneNumber: +1 555 0100
-
replace: mail
mail: renamed@example.com
-
increment: uidNumber
uidNumber: 5
-
delete: description
-
add: title
title: Tester
-

dn: ` + person("jmuller") + `
changetype: modify
increment: uidNumber
uidNumber: 100
-
replace: title
title: Head of Tests
-
add: description
description: added by ldapmodify
-
delete: mobile
-

dn: ` + newDN + `
changetype: modrdn
newrdn: uid=e2e.renamed
deleteoldrdn: 1

dn: ` + renamed + `
changetype: modrdn
newrdn: cn=E2E Newcomer
deleteoldrdn: 0

dn: ` + victim + `
changetype: delete
`
	out := e2eMustTool(t, s, 0, stream, "ldapmodify", asRoot()...)
	for _, w := range []string{`adding new entry "` + newDN + `"`, `modifying entry "` + newDN + `"`,
		`modifying rdn of entry "` + newDN + `"`, `modifying rdn of entry "` + renamed + `"`, `deleting entry "` + victim + `"`} {
		if !strings.Contains(out, w) {
			t.Errorf("ldapmodify output lacks %q:\n%s", w, out)
		}
	}

	// add + modify + two modrdns: the entry lives on under its final name.
	e2eGone(t, s, newDN)
	e2eGone(t, s, renamed)
	e := e2eBase(t, s, final)
	want := map[string][]string{
		"objectClass":     {"top", "inetOrgPerson", "posixAccount"},
		"uid":             {"e2e.renamed"}, // deleteoldrdn 1 removed e2e.new; deleteoldrdn 0 kept e2e.renamed
		"cn":              {"E2E Newcomer"},
		"sn":              {"Newcomer"},
		"uidNumber":       {"20005"},
		"gidNumber":       {"5000"},
		"homeDirectory":   {"/home/e2e.new"},
		"mail":            {"renamed@example.com"},
		"telephoneNumber": {"+1 555 0101", "+1 555 0102"},
		"title":           {"Tester"},
	}
	for a, v := range want {
		if !sameSet(e.get(a), v) {
			t.Errorf("%s %s = %q, want %q", final, a, e.get(a), v)
		}
	}
	if e.has("description") {
		t.Errorf("%s still has description %q after delete of the whole attribute", final, e.get("description"))
	}
	if len(e.Names) != len(want) {
		t.Errorf("%s has attributes %v, want exactly %d", final, e.Names, len(want))
	}
	if got := e2eSearch(t, s, "-b", peopleDN, "(uid=e2e.renamed)", "1.1"); len(got) != 1 || !strings.EqualFold(got[0].DN, final) {
		t.Errorf("(uid=e2e.renamed) found %v, want %s (equality index follows modrdn)", dnsOf(got), final)
	}
	if got := e2eSearch(t, s, "-b", peopleDN, "(|(uid=e2e.new)(mail=new@example.com)(description=first))", "1.1"); len(got) != 0 {
		t.Errorf("stale index entries: found %v", dnsOf(got))
	}

	// The modify of a demo person.
	j := e2eBase(t, s, person("jmuller"), "*", "+")
	for a, v := range map[string][]string{
		"uidNumber":      {"10111"},
		"title":          {"Head of Tests"},
		"description":    {"added by ldapmodify"},
		"modifiersName":  {testRootDN},
		"uid":            {"jmuller"},
		"cn":             jm.get("cn"),
		"employeeNumber": jm.get("employeeNumber"),
	} {
		if !sameSet(j.get(a), v) {
			t.Errorf("jmuller %s = %q, want %q", a, j.get(a), v)
		}
	}
	if j.has("mobile") {
		t.Errorf("jmuller still has mobile %q", j.get("mobile"))
	}
	if j.one(t, "modifyTimestamp") < j.one(t, "createTimestamp") {
		t.Errorf("modifyTimestamp %s before createTimestamp %s", j.one(t, "modifyTimestamp"), j.one(t, "createTimestamp"))
	}

	// The delete: the entry is gone, and so is its membership everywhere.
	e2eGone(t, s, victim)
	if got := e2eSearch(t, s, "-b", testSuffix, "(|(member="+victim+")(uniqueMember="+victim+"))", "1.1"); len(got) != 0 {
		t.Errorf("groups still reference deleted %s: %v (was in %v)", victim, dnsOf(got), victimGroups)
	}
	for _, g := range victimGroups {
		got := members(e2eBase(t, s, g, "member", "uniqueMember"))
		if want := len(members(demoEntry(t, g))) - 1; len(got) != want {
			t.Errorf("%s has %d members after the delete, want %d", g, len(got), want)
		}
	}
}

func TestLDAPUtilsModRDNNewSuperior(t *testing.T) {
	s := startServer(t, "", "--demo")
	a, b := "ou=a,"+testSuffix, "ou=b,"+testSuffix
	group := "cn=movers,ou=groups," + testSuffix
	e2eMustTool(t, s, 0, `dn: `+a+`
objectClass: organizationalUnit
ou: a

dn: `+b+`
objectClass: organizationalUnit
ou: b

dn: uid=p1,`+a+`
objectClass: inetOrgPerson
uid: p1
cn: Pat One
sn: One

dn: ou=sub,`+a+`
objectClass: organizationalUnit
ou: sub

dn: uid=p2,ou=sub,`+a+`
objectClass: inetOrgPerson
uid: p2
cn: Pat Two
sn: Two

dn: `+group+`
objectClass: groupOfNames
cn: movers
member: uid=p1,`+a+`
member: uid=p2,ou=sub,`+a+`
member: `+person("jmuller")+`
`, "ldapadd", asRoot()...)

	for _, dn := range []string{"uid=p1," + a, "uid=p2,ou=sub," + a} {
		if got := e2eBase(t, s, dn, "memberOf").get("memberOf"); !sameSet(sortedLower(got), []string{group}) {
			t.Fatalf("%s memberOf = %q before the move, want [%s]", dn, got, group)
		}
	}

	e2eMustTool(t, s, 0, "", "ldapmodrdn", asRoot("-s", b, a, "ou=a")...)

	moved := []string{"ou=a," + b, "uid=p1,ou=a," + b, "ou=sub,ou=a," + b, "uid=p2,ou=sub,ou=a," + b}
	if got, want := dnsOf(e2eSearch(t, s, "-b", "ou=a,"+b, "(objectClass=*)", "1.1")), sortedLower(moved); !slices.Equal(got, want) {
		t.Errorf("subtree under the new place = %q, want %q", got, want)
	}
	for _, old := range []string{a, "uid=p1," + a, "ou=sub," + a, "uid=p2,ou=sub," + a} {
		e2eGone(t, s, old)
	}
	// entryDN and the index follow the move.
	if got := e2eBase(t, s, "uid=p2,ou=sub,ou=a,"+b, "entryDN").one(t, "entryDN"); !strings.EqualFold(got, "uid=p2,ou=sub,ou=a,"+b) {
		t.Errorf("entryDN after move = %q", got)
	}
	if got := e2eSearch(t, s, "-b", testSuffix, "(uid=p2)", "1.1"); len(got) != 1 || !strings.EqualFold(got[0].DN, "uid=p2,ou=sub,ou=a,"+b) {
		t.Errorf("(uid=p2) after move found %v", dnsOf(got))
	}
	// The group follows its moved members; their memberOf is unchanged.
	wantMembers := sortedLower([]string{"uid=p1,ou=a," + b, "uid=p2,ou=sub,ou=a," + b, person("jmuller")})
	if got := sortedLower(e2eBase(t, s, group, "member").get("member")); !slices.Equal(got, wantMembers) {
		t.Errorf("%s member after move = %q, want %q", group, got, wantMembers)
	}
	for _, dn := range []string{"uid=p1,ou=a," + b, "uid=p2,ou=sub,ou=a," + b} {
		if got := sortedLower(e2eBase(t, s, dn, "memberOf").get("memberOf")); !slices.Equal(got, []string{group}) {
			t.Errorf("%s memberOf after move = %q, want [%s]", dn, got, group)
		}
	}

	// Renaming a demo person (ldapmodrdn -r): the department groups follow.
	jm := person("jmuller")
	jmGroups := groupsOf(t, jm)
	if len(jmGroups) == 0 {
		t.Fatal("jmuller is in no demo group")
	}
	e2eMustTool(t, s, 0, "", "ldapmodrdn", asRoot("-r", jm, "uid=jmueller")...)
	e2eGone(t, s, jm)
	nj := e2eBase(t, s, person("jmueller"), "uid", "memberOf")
	if got := nj.get("uid"); !sameSet(got, []string{"jmueller"}) {
		t.Errorf("uid after modrdn -r = %q, want [jmueller]", got)
	}
	if got := sortedLower(nj.get("memberOf")); !sameSet(got, append(slices.Clone(jmGroups), group)) {
		t.Errorf("memberOf after rename = %q, want %q", got, append(jmGroups, group))
	}
	for _, g := range append(jmGroups, group) {
		ms := sortedLower(members(e2eBase(t, s, g, "member", "uniqueMember")))
		if slices.Contains(ms, strings.ToLower(jm)) || !slices.Contains(ms, strings.ToLower(person("jmueller"))) {
			t.Errorf("%s members do not follow the rename of %s", g, jm)
		}
	}
}

func TestLDAPUtilsDelete(t *testing.T) {
	s := startServer(t, "", "--demo")
	leaf := person("award")
	e2eMustTool(t, s, 0, "", "ldapdelete", asRoot(leaf)...)
	e2eGone(t, s, leaf)
	if got := len(e2eSearch(t, s, "-b", peopleDN, "-s", "one", "(objectClass=*)", "1.1")); got != 299 {
		t.Errorf("%d people after one delete, want 299", got)
	}
	out := e2eMustTool(t, s, 66, "", "ldapdelete", asRoot(peopleDN)...)
	if !strings.Contains(out, "Operation not allowed on non-leaf (66)") {
		t.Errorf("ldapdelete of a non-leaf: %s", out)
	}
	if got := len(e2eSearch(t, s, "-b", peopleDN, "-s", "one", "(objectClass=*)", "1.1")); got != 299 {
		t.Errorf("%d people after a refused non-leaf delete, want 299", got)
	}
	out = e2eMustTool(t, s, 32, "", "ldapdelete", asRoot("uid=nobody,"+peopleDN)...)
	if !strings.Contains(out, "No such object (32)") || !strings.Contains(strings.ToLower(out), "matched dn: "+strings.ToLower(peopleDN)) {
		t.Errorf("ldapdelete of a missing entry should report noSuchObject with matchedDN %s:\n%s", peopleDN, out)
	}
	e2eMustTool(t, s, 32, "", "ldapdelete", asRoot(leaf)...)
}

// TestLDAPUtilsRead runs the read-only checks against one demo server.
func TestLDAPUtilsRead(t *testing.T) {
	s := startServer(t, "", "--demo")
	jm := person("jmuller")

	t.Run("compare", func(t *testing.T) {
		for _, c := range []struct {
			dn, ava string
			code    int
			out     string
		}{
			{jm, "uid:jmuller", 6, "TRUE"},
			{jm, "uid:jmueller", 5, "FALSE"},
			{jm, "cn:JOSÉ MÜLLER", 6, "TRUE"},               // caseIgnoreMatch, Unicode
			{jm, "uidNumber:10011", 6, "TRUE"},              // integerMatch
			{jm, "mail:JOSE.MULLER@EXAMPLE.COM", 6, "TRUE"}, // caseIgnoreIA5Match
			{jm, "nosuchattr:x", 17, "UNDEFINED"},
			{jm, "description:x", 16, "UNDEFINED"}, // known type, absent from the entry (as slapd)
			{"uid=nobody," + peopleDN, "uid:nobody", 32, "UNDEFINED"},
		} {
			out := e2eMustTool(t, s, c.code, "", "ldapcompare", c.dn, c.ava)
			if !strings.Contains(out, c.out) {
				t.Errorf("ldapcompare %s %s: output %q lacks %s", c.dn, c.ava, out, c.out)
			}
		}
	})

	t.Run("whoami", func(t *testing.T) {
		if out := e2eMustTool(t, s, 0, "", "ldapwhoami"); strings.TrimSpace(out) != "anonymous" {
			t.Errorf("anonymous ldapwhoami = %q", out)
		}
		if out := e2eMustTool(t, s, 0, "", "ldapwhoami", asRoot()...); strings.TrimSpace(out) != "dn:"+testRootDN {
			t.Errorf("root ldapwhoami = %q", out)
		}
		// The authzId is the normalized DN, as slapd prints it.
		if out := e2eMustTool(t, s, 0, "", "ldapwhoami", asUser("CN=Admin, DC=Example,DC=COM", testRootPass)...); strings.TrimSpace(out) != "dn:"+testRootDN {
			t.Errorf("root (mixed-case DN) ldapwhoami = %q", out)
		}
		if out := e2eMustTool(t, s, 0, "", "ldapwhoami", asUser("UID=JMuller,OU=People,"+testSuffix, "password")...); strings.TrimSpace(out) != "dn:"+jm {
			t.Errorf("demo user ldapwhoami = %q", out)
		}
	})

	t.Run("paged", func(t *testing.T) {
		out, errOut, code := e2eRun(t, s, "", "ldapsearch", "-LLL", "-E", "pr=50/noprompt", "-b", peopleDN, "(objectClass=inetOrgPerson)", "1.1")
		if code != 0 {
			t.Fatalf("paged ldapsearch exit %d: %s", code, errOut)
		}
		// ldapsearch ends each page with a "# pagedresults: cookie=" comment.
		var pages []string
		var cur strings.Builder
		for _, l := range strings.SplitAfter(out, "\n") {
			if strings.HasPrefix(l, "# pagedresults: cookie=") {
				pages = append(pages, cur.String())
				cur.Reset()
				continue
			}
			cur.WriteString(l)
		}
		if strings.TrimSpace(cur.String()) != "" {
			t.Errorf("entries after the last page marker:\n%s", cur.String())
		}
		total := 0
		seen := map[string]bool{}
		for i, p := range pages {
			es, err := e2eParseLDIF(p)
			if err != nil {
				t.Fatalf("page %d: %v", i, err)
			}
			if len(es) > 50 {
				t.Errorf("page %d has %d entries, page size is 50", i, len(es))
			}
			for _, e := range es {
				if seen[strings.ToLower(e.DN)] {
					t.Errorf("%s returned twice", e.DN)
				}
				seen[strings.ToLower(e.DN)] = true
				total++
			}
		}
		want := demoWhere(t, isPerson)
		if total != 300 || len(want) != 300 {
			t.Fatalf("paged search returned %d entries, demo has %d people, want 300", total, len(want))
		}
		for _, dn := range want {
			if !seen[dn] {
				t.Errorf("paged search missed %s", dn)
			}
		}
		if len(pages) < 6 {
			t.Errorf("300 entries in pages of 50 came in %d pages", len(pages))
		}
	})

	t.Run("attribute selection", func(t *testing.T) {
		op := e2eSearchCode(t, s, 0, "-s", "base", "-b", jm, "(objectClass=*)", "+")[0]
		uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
		gtime := regexp.MustCompile(`^[0-9]{14}Z$`)
		for a, ok := range map[string]func(string) bool{
			"entryUUID":             uuid.MatchString,
			"createTimestamp":       gtime.MatchString,
			"modifyTimestamp":       gtime.MatchString,
			"creatorsName":          func(v string) bool { return v == testRootDN },
			"entryDN":               func(v string) bool { return strings.EqualFold(v, jm) },
			"structuralObjectClass": func(v string) bool { return v == "inetOrgPerson" },
			"subschemaSubentry":     func(v string) bool { return strings.EqualFold(v, "cn=Subschema") },
			"hasSubordinates":       func(v string) bool { return v == "FALSE" },
		} {
			if v := op.get(a); len(v) != 1 || !ok(v[0]) {
				t.Errorf("+: %s = %q", a, v)
			}
		}
		for _, a := range []string{"cn", "uid", "objectClass", "mail", "userPassword"} {
			if op.has(a) {
				t.Errorf("+ returned user attribute %s", a)
			}
		}
		if got := e2eSearchCode(t, s, 0, "-s", "base", "-b", peopleDN, "(objectClass=*)", "hasSubordinates")[0].get("hasSubordinates"); !slices.Equal(got, []string{"TRUE"}) {
			t.Errorf("ou=people hasSubordinates = %q", got)
		}

		dnOnly := e2eSearchCode(t, s, 0, "-b", peopleDN, "(uid=j*)", "1.1")
		if len(dnOnly) == 0 {
			t.Fatal("(uid=j*) found nothing")
		}
		for _, e := range dnOnly {
			if len(e.Names) != 0 {
				t.Errorf("1.1 returned attributes %v for %s", e.Names, e.DN)
			}
		}

		user := e2eSearchCode(t, s, 0, "-s", "base", "-b", jm, "(objectClass=*)", "*")[0]
		d := demoEntry(t, jm)
		for _, a := range d.Names {
			if strings.EqualFold(a, "userPassword") {
				if user.has(a) {
					t.Error("anonymous * returned userPassword")
				}
				continue
			}
			if !sameSet(user.get(a), d.get(a)) {
				t.Errorf("*: %s = %q, demo.ldif has %q", a, user.get(a), d.get(a))
			}
		}
		for _, a := range []string{"entryUUID", "createTimestamp", "modifyTimestamp", "creatorsName", "modifiersName", "entryDN", "structuralObjectClass", "subschemaSubentry", "hasSubordinates", "memberOf"} {
			if user.has(a) {
				t.Errorf("* returned operational attribute %s", a)
			}
		}
		if root := e2eBase(t, s, jm, "*"); !sameSet(root.get("userPassword"), d.get("userPassword")) {
			t.Errorf("root * userPassword = %q, want %q", root.get("userPassword"), d.get("userPassword"))
		}
		both := e2eSearchCode(t, s, 0, "-s", "base", "-b", jm, "(objectClass=*)", "*", "+")[0]
		if !both.has("cn") || !both.has("entryUUID") || !both.has("memberOf") {
			t.Errorf("* + returned %v", both.Names)
		}

		types := e2eSearchCode(t, s, 0, "-A", "-s", "base", "-b", jm, "(objectClass=*)", "cn", "mail", "uidNumber")[0]
		if !slices.Equal(sortedLower(types.Names), []string{"cn", "mail", "uidnumber"}) {
			t.Errorf("typesOnly returned attributes %v", types.Names)
		}
		for _, a := range types.Names {
			for _, v := range types.get(a) {
				if v != "" {
					t.Errorf("typesOnly returned value %q for %s", v, a)
				}
			}
		}
	})

	t.Run("root DSE", func(t *testing.T) {
		dse := e2eSearchCode(t, s, 0, "-s", "base", "-b", "", "(objectClass=*)", "+")
		if len(dse) != 1 || dse[0].DN != "" {
			t.Fatalf("root DSE search returned %v", dnsOf(dse))
		}
		r := dse[0]
		if got := r.get("namingContexts"); !slices.Equal(got, []string{testSuffix}) {
			t.Errorf("namingContexts = %q", got)
		}
		for a, want := range map[string][]string{
			"supportedControl":     {"1.2.840.113556.1.4.319"},
			"supportedExtension":   {"1.3.6.1.4.1.4203.1.11.1", "1.3.6.1.4.1.4203.1.11.3"},
			"supportedFeatures":    {"1.3.6.1.4.1.4203.1.5.1", "1.3.6.1.1.14"},
			"supportedLDAPVersion": {"3"},
			"vendorName":           {"Switchboard"},
			"subschemaSubentry":    {"cn=Subschema"},
		} {
			for _, w := range want {
				if !slices.Contains(r.get(a), w) {
					t.Errorf("root DSE %s = %q, lacks %s", a, r.get(a), w)
				}
			}
		}
		// Without "+" the Root DSE's operational attributes stay hidden
		// (RFC 4512 section 5.1).
		plain := e2eSearchCode(t, s, 0, "-s", "base", "-b", "", "(objectClass=*)")
		if len(plain) != 1 || plain[0].has("namingContexts") || plain[0].has("supportedControl") {
			t.Errorf("root DSE with no attributes requested: %v", plain)
		}
		// ... but are returned when named.
		named := e2eSearchCode(t, s, 0, "-s", "base", "-b", "", "(objectClass=*)", "namingContexts")
		if len(named) != 1 || !slices.Equal(named[0].get("namingContexts"), []string{testSuffix}) {
			t.Errorf("root DSE namingContexts by name: %v", named)
		}
	})

	t.Run("subschema", func(t *testing.T) {
		// Discover the subentry as a client does (RFC 4512 4.4).
		sub := e2eSearchCode(t, s, 0, "-s", "base", "-b", jm, "(objectClass=*)", "subschemaSubentry")[0].one(t, "subschemaSubentry")
		es := e2eSearchCode(t, s, 0, "-b", sub, "-s", "base", "(objectClass=subschema)",
			"objectClasses", "attributeTypes", "ldapSyntaxes", "matchingRules", "matchingRuleUse")
		if len(es) != 1 {
			t.Fatalf("subschema search returned %d entries", len(es))
		}
		ss := es[0]
		for _, a := range []string{"objectClasses", "attributeTypes", "ldapSyntaxes", "matchingRules", "matchingRuleUse"} {
			if len(ss.get(a)) == 0 {
				t.Errorf("subschema %s is empty", a)
			}
		}
		var inet string
		for _, v := range ss.get("objectClasses") {
			if strings.Contains(v, "NAME 'inetOrgPerson'") {
				inet = v
			}
		}
		for _, w := range []string{"( 2.16.840.1.113730.3.2.2 ", "SUP organizationalPerson", "STRUCTURAL", "MAY (", " mail ", " uid ", " displayName "} {
			if !strings.Contains(inet, w) {
				t.Errorf("inetOrgPerson definition %q lacks %q", inet, w)
			}
		}
		found := false
		for _, v := range ss.get("attributeTypes") {
			if strings.HasPrefix(v, "( 2.5.4.3 ") && strings.Contains(v, "'cn'") {
				found = true
			}
		}
		if !found {
			t.Error("attributeTypes lacks cn (2.5.4.3)")
		}
		if !anyValue(ss.get("ldapSyntaxes"), func(v string) bool { return strings.HasPrefix(v, "( 1.3.6.1.4.1.1466.115.121.1.15 ") }) {
			t.Error("ldapSyntaxes lacks Directory String")
		}
		if !anyValue(ss.get("matchingRules"), func(v string) bool { return strings.Contains(v, "NAME 'caseIgnoreMatch'") }) {
			t.Error("matchingRules lacks caseIgnoreMatch")
		}
	})

	t.Run("thunderbird autocomplete", func(t *testing.T) {
		got := e2eSearchCode(t, s, 0, "-b", testSuffix, "(|(cn=jo*)(mail=jo*)(sn=jo*))", "cn", "mail", "displayName")
		want := demoWhere(t, func(e e2eEntry) bool {
			for _, a := range []string{"cn", "mail", "sn"} {
				if anyValue(e.get(a), func(v string) bool { return strings.HasPrefix(strings.ToLower(v), "jo") }) {
					return true
				}
			}
			return false
		})
		if len(want) == 0 || !slices.Equal(dnsOf(got), want) {
			t.Errorf("autocomplete found %q, want %q", dnsOf(got), want)
		}
		for _, e := range got {
			if e.has("telephoneNumber") || !e.has("mail") {
				t.Errorf("%s: returned %v, asked for cn mail displayName", e.DN, e.Names)
			}
		}
	})

	t.Run("macos contacts empty base", func(t *testing.T) {
		got := e2eSearchCode(t, s, 0, "-b", "", "(|(givenname=José)(sn=x)(cn=x)(mail=x))", "cn", "givenName")
		want := demoWhere(t, func(e e2eEntry) bool {
			return anyValue(e.get("givenName"), func(v string) bool { return strings.ToLower(v) == "josé" })
		})
		if len(want) == 0 || !slices.Equal(dnsOf(got), want) {
			t.Errorf("empty-base subtree search found %q, want %q", dnsOf(got), want)
		}
	})

	t.Run("unicode case-insensitive", func(t *testing.T) {
		for _, c := range []struct{ filter, attr, value string }{
			{"(cn=JOSÉ MÜLLER)", "cn", "josé müller"},
			{"(cn=josé müller)", "cn", "josé müller"},
			{"(sn=ПЕТРОВ)", "sn", "петров"},
			{"(cn=SØREN ÆRØ)", "cn", "søren ærø"},
			{"(sn=ŁUKASIEWICZ)", "sn", "łukasiewicz"},
			{"(cn=νίκος παπαδόπουλος)", "cn", "νίκος παπαδόπουλος"},
			{"(cn=山田 太郎)", "cn", "山田 太郎"},
		} {
			got := e2eSearchCode(t, s, 0, "-b", testSuffix, c.filter, "1.1")
			want := demoWhere(t, func(e e2eEntry) bool {
				return anyValue(e.get(c.attr), func(v string) bool { return strings.ToLower(v) == c.value })
			})
			if len(want) == 0 || !slices.Equal(dnsOf(got), want) {
				t.Errorf("%s found %q, want %q", c.filter, dnsOf(got), want)
			}
		}
		// Substrings with non-ASCII pieces.
		got := e2eSearchCode(t, s, 0, "-b", testSuffix, "(sn=*ÜLLER)", "1.1")
		want := demoWhere(t, func(e e2eEntry) bool {
			return anyValue(e.get("sn"), func(v string) bool { return strings.HasSuffix(strings.ToLower(v), "üller") })
		})
		if len(want) == 0 || !slices.Equal(dnsOf(got), want) {
			t.Errorf("(sn=*ÜLLER) found %q, want %q", dnsOf(got), want)
		}
		if !utf8.ValidString(strings.Join(dnsOf(got), "")) {
			t.Error("invalid UTF-8 in DNs")
		}
	})
}

func TestLDAPUtilsPasswords(t *testing.T) {
	s := startServer(t, "", "--demo")
	user := person("kcerny")
	whoami := func(pw string, want int) {
		t.Helper()
		out := e2eMustTool(t, s, want, "", "ldapwhoami", asUser(user, pw)...)
		if want == 0 && strings.TrimSpace(out) != "dn:"+user {
			t.Errorf("ldapwhoami as %s = %q", user, out)
		}
		if want == 49 && !strings.Contains(out, "Invalid credentials (49)") {
			t.Errorf("failed bind output: %q", out)
		}
	}
	whoami("password", 0) // the demo password

	// The administrator sets the password.
	out := e2eMustTool(t, s, 0, "", "ldappasswd", asRoot("-s", "Adm1n-set pw", user)...)
	if strings.Contains(out, "New password") {
		t.Errorf("ldappasswd -s printed a generated password: %q", out)
	}
	whoami("Adm1n-set pw", 0)
	whoami("password", 49)
	stored := e2eBase(t, s, user, "userPassword").one(t, "userPassword")
	if !strings.HasPrefix(stored, "{") || strings.Contains(stored, "Adm1n-set") {
		t.Errorf("userPassword is stored as %q, want a {SCHEME} hash", stored)
	}
	if e2eSearchCode(t, s, 0, "-s", "base", "-b", user, "(objectClass=*)", "userPassword")[0].has("userPassword") {
		t.Error("anonymous read userPassword")
	}
	if got := e2eSearchCode(t, s, 0, "-b", peopleDN, "(userPassword=*)", "1.1"); len(got) != 0 {
		t.Errorf("anonymous filter on userPassword matched %d entries", len(got))
	}

	// Self-service change with the old password.
	e2eMustTool(t, s, 0, "", "ldappasswd", asUser(user, "Adm1n-set pw", "-a", "Adm1n-set pw", "-s", "Self-chosen 2")...)
	whoami("Self-chosen 2", 0)
	whoami("Adm1n-set pw", 49)

	// Wrong old password: the server answers invalidCredentials (49);
	// ldappasswd exits 1 for any failed extended operation.
	o, e, code := e2eRun(t, s, "", "ldappasswd", asUser(user, "Self-chosen 2", "-a", "not-it", "-s", "never")...)
	if code == 0 || !strings.Contains(o+e, "Invalid credentials (49)") {
		t.Errorf("wrong old password: exit %d, output %q", code, o+e)
	}
	whoami("Self-chosen 2", 0)
	whoami("never", 49)

	// Another user may not change it.
	o, e, code = e2eRun(t, s, "", "ldappasswd", asUser(person("jmuller"), "password", "-s", "hijacked", user)...)
	if code == 0 || !strings.Contains(o+e, "Insufficient access (50)") {
		t.Errorf("other user's ldappasswd: exit %d, output %q", code, o+e)
	}
	whoami("hijacked", 49)

	// A server-generated password (no -s), self-service and by the admin.
	gen := regexp.MustCompile(`(?m)^New password: (\S+)$`)
	out = e2eMustTool(t, s, 0, "", "ldappasswd", asUser(user, "Self-chosen 2")...)
	m := gen.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ldappasswd without -s printed no new password: %q", out)
	}
	whoami(m[1], 0)
	whoami("Self-chosen 2", 49)
	out = e2eMustTool(t, s, 0, "", "ldappasswd", asRoot(user)...)
	m2 := gen.FindStringSubmatch(out)
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("admin ldappasswd without -s: %q (previous %q)", out, m[1])
	}
	whoami(m2[1], 0)
	whoami(m[1], 49)

	// Anonymous password modify is refused.
	o, e, code = e2eRun(t, s, "", "ldappasswd", "-s", "x", user)
	if code == 0 {
		t.Errorf("anonymous ldappasswd succeeded: %q", o+e)
	}
	whoami(m2[1], 0)
}

func TestLDAPUtilsErrors(t *testing.T) {
	s := startServer(t, "", "--demo")
	jm := person("jmuller")
	for _, c := range []struct {
		name   string
		code   int
		ldif   string
		anon   bool
		result string
	}{
		{"add existing entry", 68, "dn: " + peopleDN + "\nchangetype: add\nobjectClass: organizationalUnit\nou: people\n", false, "Already exists (68)"},
		{"add under missing parent", 32, "dn: uid=x,ou=nowhere," + testSuffix + "\nchangetype: add\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\n", false, "No such object (32)"},
		{"add with unknown attribute", 17, "dn: uid=x," + peopleDN + "\nchangetype: add\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\nfavouriteColour: blue\n", false, "Undefined attribute type (17)"},
		{"add without sn", 65, "dn: uid=x," + peopleDN + "\nchangetype: add\nobjectClass: inetOrgPerson\nuid: x\ncn: x\n", false, "Object class violation (65)"},
		{"add with invalid DN", 34, "dn: uid=x,,ou=people," + testSuffix + "\nchangetype: add\nobjectClass: inetOrgPerson\nuid: x\ncn: x\nsn: x\n", false, "Invalid DN syntax (34)"},
		{"modify removing the RDN value", 67, "dn: " + jm + "\nchangetype: modify\ndelete: uid\nuid: jmuller\n", false, "Operation not allowed on RDN (67)"},
		{"modify replacing the RDN value", 67, "dn: " + jm + "\nchangetype: modify\nreplace: uid\nuid: other\n", false, "Operation not allowed on RDN (67)"},
		{"second value of single-valued uidNumber", 19, "dn: " + jm + "\nchangetype: modify\nadd: uidNumber\nuidNumber: 5\n", false, "Constraint violation (19)"},
		{"duplicate value", 20, "dn: " + jm + "\nchangetype: modify\nadd: mail\nmail: JOSE.Muller@example.com\n", false, "Type or value exists (20)"},
		{"delete a value that is not there", 16, "dn: " + jm + "\nchangetype: modify\ndelete: mail\nmail: nobody@example.com\n", false, "No such attribute (16)"},
		{"modify a missing entry", 32, "dn: uid=nobody," + peopleDN + "\nchangetype: modify\nreplace: title\ntitle: x\n", false, "No such object (32)"},
		{"atomic modify: failing second change", 19, "dn: " + jm + "\nchangetype: modify\nreplace: title\ntitle: Should Not Stick\n-\nadd: uidNumber\nuidNumber: 7\n-\n", false, "Constraint violation (19)"},
		{"anonymous add", 50, "dn: ou=anon," + testSuffix + "\nchangetype: add\nobjectClass: organizationalUnit\nou: anon\n", true, "Insufficient access (50)"},
		{"anonymous modify", 50, "dn: " + jm + "\nchangetype: modify\nreplace: title\ntitle: x\n", true, "Insufficient access (50)"},
		{"anonymous delete", 50, "dn: " + jm + "\nchangetype: delete\n", true, "Insufficient access (50)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var args []string
			if !c.anon {
				args = asRoot()
			}
			out := e2eMustTool(t, s, c.code, c.ldif, "ldapmodify", args...)
			if !strings.Contains(out, c.result) {
				t.Errorf("output lacks %q:\n%s", c.result, out)
			}
		})
	}
	// Nothing of the failed writes stuck.
	e := e2eBase(t, s, jm)
	d := demoEntry(t, jm)
	for _, a := range d.Names {
		if !sameSet(e.get(a), d.get(a)) {
			t.Errorf("after the failed writes jmuller %s = %q, demo.ldif has %q", a, e.get(a), d.get(a))
		}
	}
	if len(e.Names) != len(d.Names) {
		t.Errorf("after the failed writes jmuller has %v, demo.ldif %v", e.Names, d.Names)
	}
	for _, dn := range []string{"uid=x," + peopleDN, "ou=anon," + testSuffix} {
		e2eGone(t, s, dn)
	}

	// Binds.
	for _, c := range []struct {
		name, dn, pw string
		code         int
		result       string
	}{
		{"unauthenticated bind (DN, empty password)", jm, "", 53, "Server is unwilling to perform (53)"},
		{"wrong password", jm, "wrong", 49, "Invalid credentials (49)"},
		{"wrong root password", testRootDN, "wrong", 49, "Invalid credentials (49)"},
		{"unknown DN", "uid=nobody," + peopleDN, "password", 49, "Invalid credentials (49)"},
		{"invalid DN", "not a dn", "password", 34, "Invalid DN syntax (34)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := e2eMustTool(t, s, c.code, "", "ldapwhoami", asUser(c.dn, c.pw)...)
			if !strings.Contains(out, c.result) {
				t.Errorf("output lacks %q:\n%s", c.result, out)
			}
		})
	}
}
