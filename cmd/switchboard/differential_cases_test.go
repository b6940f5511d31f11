package main

// The searches of TestDifferentialSlapd: some generated from the demo data
// with a fixed seed, the rest written by hand to reach the corners of
// RFC 4511 filters, RFC 4517 matching rules and RFC 4518 string preparation.

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
	"golang.org/x/text/unicode/norm"

	"github.com/switchboard-ldap/switchboard/directory/ldif"
)

const (
	peopleBase = "ou=people,dc=example,dc=com"
	groupsBase = "ou=groups,dc=example,dc=com"
)

// demoPerson is what the generated searches need of one person.
type demoPerson struct {
	dn    string
	attrs map[string][]string // lower-case type -> values
}

func (p demoPerson) first(attr string) string {
	if v := p.attrs[attr]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func readDemoPeople(t *testing.T, path string) []demoPerson {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := ldif.NewReader(f, ldif.ReaderOptions{})
	var people []demoPerson
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if !strings.HasSuffix(strings.ToLower(rec.DN), ","+peopleBase) {
			continue
		}
		p := demoPerson{dn: rec.DN, attrs: map[string][]string{}}
		for _, a := range rec.Attrs {
			k := strings.ToLower(a.Name)
			for _, v := range a.Values {
				p.attrs[k] = append(p.attrs[k], string(v))
			}
		}
		people = append(people, p)
	}
	if len(people) < 100 {
		t.Fatalf("%s: only %d people", path, len(people))
	}
	return people
}

// escapeFilter escapes a value for a string filter (RFC 4515 3).
func escapeFilter(s string) string { return goldap.EscapeFilter(s) }

// runeSlice returns runes [i, j) of s, clamped.
func runeSlice(s string, i, j int) string {
	r := []rune(s)
	if j > len(r) {
		j = len(r)
	}
	if i > j {
		i = j
	}
	return string(r[i:j])
}

// differentialCases builds the search list.
func differentialCases(t *testing.T, demoPath string) []diffCase {
	people := readDemoPeople(t, demoPath)
	cases := generatedCases(people)
	cases = append(cases, handCases(people)...)
	return cases
}

func generatedCases(people []demoPerson) []diffCase {
	rng := rand.New(rand.NewPCG(20240501, 7))
	picked := rng.Perm(len(people))[:40]
	sub := goldap.ScopeWholeSubtree
	var cs []diffCase
	add := func(c diffCase) {
		if c.base == "" {
			c.base = testSuffix
			c.scope = sub
		}
		cs = append(cs, c)
	}
	for n, idx := range picked {
		p := people[idx]
		uid := p.first("uid")
		add(diffCase{name: "gen uid eq", filter: "(uid=" + escapeFilter(uid) + ")", attrs: []string{"cn", "sn", "mail", "uidNumber"}})
		for _, cn := range p.attrs["cn"] {
			add(diffCase{name: "gen cn eq", filter: "(cn=" + escapeFilter(cn) + ")", attrs: []string{"uid", "cn"}})
		}
		if n%2 == 0 {
			cn := p.first("cn")
			dc := diffCase{name: "gen cn upper", filter: "(cn=" + escapeFilter(strings.ToUpper(cn)) + ")", attrs: []string{"uid"}}
			if strings.ContainsRune(cn, 'ς') {
				dc.divergent, dc.want = finalSigma, holders(people, "cn", cn)
			}
			add(dc)
		}
		add(diffCase{name: "gen sn eq", base: peopleBase, scope: goldap.ScopeSingleLevel,
			filter: "(sn=" + escapeFilter(p.first("sn")) + ")", attrs: []string{"sn", "givenName"}})
		add(diffCase{name: "gen mail upper", filter: "(mail=" + escapeFilter(strings.ToUpper(p.first("mail"))) + ")", attrs: []string{"mail"}})

		// Substrings of the first cn value, in runes so scripts stay whole.
		cn := p.first("cn")
		l := utf8.RuneCountInString(cn)
		switch n % 4 {
		case 0:
			add(diffCase{name: "gen substr initial", filter: "(cn=" + escapeFilter(runeSlice(cn, 0, 3)) + "*)", attrs: []string{"cn"}})
		case 1:
			add(diffCase{name: "gen substr any", filter: "(cn=*" + escapeFilter(runeSlice(cn, 1, 4)) + "*)", attrs: []string{"cn"}})
		case 2:
			add(diffCase{name: "gen substr final", filter: "(sn=*" + escapeFilter(runeSlice(p.first("sn"), 1, 99)) + ")", attrs: []string{"sn"}})
		case 3:
			add(diffCase{name: "gen substr combo", filter: "(cn=" + escapeFilter(runeSlice(cn, 0, 1)) + "*" +
				escapeFilter(runeSlice(cn, l/2, l/2+1)) + "*" + escapeFilter(runeSlice(cn, l-1, l)) + ")", attrs: []string{"cn"}})
		}

		// telephoneNumberMatch ignores spaces and hyphens (RFC 4517 4.2.28).
		tel := p.first("telephonenumber")
		switch n % 3 {
		case 0:
			add(diffCase{name: "gen tel no spaces", filter: "(telephoneNumber=" + escapeFilter(strings.ReplaceAll(tel, " ", "")) + ")", attrs: []string{"telephoneNumber"}})
		case 1:
			add(diffCase{name: "gen tel hyphens", filter: "(telephoneNumber=" + escapeFilter(strings.ReplaceAll(tel, " ", "-")) + ")", attrs: []string{"telephoneNumber"}})
		case 2:
			add(diffCase{name: "gen tel substr", filter: "(telephoneNumber=*" + escapeFilter(runeSlice(strings.ReplaceAll(tel, " ", ""), len(tel)-6, 99)) + ")", attrs: []string{"telephoneNumber"}})
		}

		// Integer ordering around this person's uidNumber.
		num := p.first("uidnumber")
		if n%2 == 0 {
			add(diffCase{name: "gen uidNumber >=", base: peopleBase, scope: goldap.ScopeSingleLevel, filter: "(uidNumber>=" + num + ")", attrs: []string{"uidNumber"}})
		} else {
			add(diffCase{name: "gen uidNumber <=", filter: "(&(objectClass=posixAccount)(uidNumber<=" + num + "))", attrs: []string{"1.1"}})
		}

		// The person's manager, by a DN spelled in upper case.
		if m := p.first("manager"); m != "" && n%3 == 0 {
			add(diffCase{name: "gen manager upper", filter: "(manager=" + escapeFilter(strings.ToUpper(m)) + ")", attrs: []string{"uid", "manager"}})
		}

		// Nesting with this person's attributes.
		add(diffCase{name: "gen nested", filter: fmt.Sprintf("(&(objectClass=inetOrgPerson)(|(uid=%s)(&(ou=%s)(employeeType=%s)))(!(uidNumber<=%s)))",
			escapeFilter(uid), escapeFilter(p.first("ou")), escapeFilter(p.first("employeetype")), "10000"), attrs: []string{"uid", "ou", "employeeType"}})

		// The whole entry, by base search.
		if n%4 == 0 {
			add(diffCase{name: "gen base *", base: p.dn, scope: goldap.ScopeBaseObject, filter: "(objectClass=*)", attrs: []string{"*"}})
		}
		if n%4 == 1 {
			add(diffCase{name: "gen base * root", base: p.dn, scope: goldap.ScopeBaseObject, filter: "(objectClass=*)", root: true})
		}
		if n%5 == 0 {
			add(diffCase{name: "gen base +", base: p.dn, scope: goldap.ScopeBaseObject, filter: "(objectClass=*)", attrs: []string{"+"}})
		}
		// A member search by differently cased DN.
		if n%5 == 2 {
			add(diffCase{name: "gen member mixed case", base: groupsBase, scope: sub,
				filter: "(member=" + escapeFilter(mixCase(p.dn)) + ")", attrs: []string{"cn"}})
		}
	}
	return cs
}

// finalSigma explains the one place where slapd departs from RFC 4518.
const finalSigma = "RFC 4518 2.4 case-folds with RFC 3454 table B.2, which maps GREEK SMALL LETTER FINAL SIGMA " +
	"U+03C2 to U+03C3, so ΝΊΚΟΣ matches Νίκος; slapd's case folding leaves U+03C2 alone and finds nothing"

// holders returns the DNs of the people with value among attr's values.
func holders(people []demoPerson, attr, value string) []string {
	var dns []string
	for _, p := range people {
		for _, v := range p.attrs[attr] {
			if v == value {
				dns = append(dns, p.dn)
				break
			}
		}
	}
	return dns
}

// mixCase alternates upper and lower case letters.
func mixCase(s string) string {
	var b strings.Builder
	for i, r := range []rune(s) {
		if i%2 == 0 {
			b.WriteString(strings.ToUpper(string(r)))
		} else {
			b.WriteString(strings.ToLower(string(r)))
		}
	}
	return b.String()
}

func handCases(people []demoPerson) []diffCase {
	sub, one, base := goldap.ScopeWholeSubtree, goldap.ScopeSingleLevel, goldap.ScopeBaseObject
	var cs []diffCase
	// s adds a subtree search from the suffix.
	s := func(name, filter string, attrs ...string) {
		if attrs == nil {
			attrs = []string{"1.1"}
		}
		cs = append(cs, diffCase{name: name, base: testSuffix, scope: sub, filter: filter, attrs: attrs})
	}
	c := func(dc diffCase) {
		if dc.base == "" {
			dc.base = testSuffix
		}
		cs = append(cs, dc)
	}
	nfd := func(s string) string { return norm.NFD.String(s) }

	// Presence and absolute true/false (RFC 4526).
	s("present objectClass", "(objectClass=*)")
	s("present mobile", "(mobile=*)", "mobile")
	s("present mozillaNickname", "(mozillaNickname=*)", "mozillaNickname", "mozillaSecondEmail")
	s("present manager", "(manager=*)")
	s("absent manager", "(!(manager=*))", "objectClass")
	s("present description", "(description=*)", "description")
	s("present member", "(member=*)", "cn")
	s("present uniqueMember", "(uniqueMember=*)", "cn")
	s("present supertype name", "(name=*)")
	s("absolute true", "(&)")
	s("absolute false", "(|)")
	s("not absolute false", "(!(|))")
	s("not absolute true", "(!(&))")
	s("and with absolute true", "(&(&)(uid=jmuller))", "uid")

	// Undefined (RFC 4511 4.5.1.7): unknown types, rules a type lacks, bad values.
	s("unknown type", "(nosuch=x)")
	s("not unknown type", "(!(nosuch=x))")
	s("or unknown type", "(|(nosuch=x)(uid=jmuller))", "uid")
	s("and unknown type", "(&(nosuch=x)(uid=jmuller))")
	s("not and unknown type", "(!(&(nosuch=x)(uid=jmuller)))")
	s("not or unknown type", "(!(|(nosuch=x)(uid=jmuller)))")
	s("unknown type present", "(nosuch=*)")
	s("not unknown type present", "(!(nosuch=*))")
	s("no ordering rule cn", "(cn>=M)")
	s("not no ordering rule cn", "(!(cn>=M))")
	s("no substr rule homeDirectory", "(homeDirectory=/home/j*)")
	s("not no substr rule homeDirectory", "(!(homeDirectory=/home/j*))")
	s("integer assertion not a number", "(uidNumber=abc)")
	s("not integer assertion not a number", "(!(uidNumber=abc))")
	s("integer ordering not a number", "(uidNumber>=abc)")
	s("member not a DN", "(member=not a dn)")
	s("not member not a DN", "(!(member=not a dn))")
	s("IA5 assertion with non-ASCII", "(mail=josé.muller@example.com)")
	s("not IA5 assertion with non-ASCII", "(&(uid=j*)(!(mail=josé.muller@example.com)))", "uid")

	// Attribute descriptions: case, OIDs, aliases, options.
	s("attr name upper", "(CN=john mcallister)", "cn")
	s("attr name OID", "(2.5.4.3=John McAllister)", "cn")
	s("attr alias commonName", "(commonName=John McAllister)", "commonName")
	s("attr alias surname", "(surname=McAllister)", "surname", "userid")
	s("attr option not held", "(cn;lang-en=John McAllister)", "cn")
	s("supertype name eq", "(name=Engineering)", "cn", "ou")
	s("supertype name people", "(name=people)")

	// objectClass matching (objectIdentifierMatch, RFC 4517 4.2.26).
	s("oc upper", "(objectClass=INETORGPERSON)")
	s("oc lower type", "(objectclass=groupofnames)", "cn")
	s("oc by OID", "(objectClass=2.16.840.1.113730.3.2.2)")
	s("oc posixGroup", "(objectClass=posixGroup)", "cn", "gidNumber", "objectClass")
	s("oc posixGroup and groupOfNames", "(&(objectClass=posixGroup)(objectClass=groupOfNames))", "cn")
	s("oc mozilla", "(objectClass=mozillaAbPersonAlpha)", "uid", "mozillaNickname")
	s("oc organizationalUnit upper type", "(OBJECTCLASS=organizationalUnit)", "ou", "description")
	s("oc top", "(objectClass=top)")
	s("oc unknown class", "(objectClass=noSuchClass)")
	s("not oc unknown class", "(!(objectClass=bogusClass))")
	s("not oc unknown class in and", "(&(uid=j*)(!(objectClass=bogusClass)))", "uid")
	s("not oc unknown numeric OID", "(!(objectClass=1.2.3.4.5.6.7))")
	s("not unknown extensible rule", "(!(cn:9.9.9.9:=x))")
	s("not extensible unknown type", "(!(bogusAttr:caseIgnoreMatch:=x))")
	s("not extensible ordering rule as equality", "(!(cn:caseIgnoreOrderingMatch:=x))")
	s("not bogusAttr", "(!(bogusAttr=x))")

	// Scopes: subordinateSubtree (children, 3) as OpenLDAP serves it,
	// and values out of range, which get protocolError on a connection
	// that stays up for the next search.
	const children = 3
	c(diffCase{name: "children of suffix", scope: children, filter: "(objectClass=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "children of people", base: peopleBase, scope: children, filter: "(objectClass=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "children of people uid", base: peopleBase, scope: children, filter: "(uid=jmuller)", attrs: []string{"uid"}})
	c(diffCase{name: "children of a person", base: people[0].dn, scope: children, filter: "(objectClass=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "children of groups", base: groupsBase, scope: children, filter: "(cn=*)", attrs: []string{"cn"}})
	c(diffCase{name: "children of missing", base: "ou=nowhere," + testSuffix, scope: children, filter: "(objectClass=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "subtree of people", base: peopleBase, scope: sub, filter: "(|(cn=jo*)(mail=jo*)(sn=jo*))", attrs: []string{"cn"}})
	c(diffCase{name: "subtree of a person", base: people[0].dn, scope: sub, filter: "(objectClass=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "scope 7", scope: 7, filter: "(objectClass=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "scope 7 people", base: peopleBase, scope: 7, filter: "(uid=jmuller)", attrs: []string{"1.1"}})
	c(diffCase{name: "deref 9", scope: sub, deref: 9, filter: "(uid=jmuller)", attrs: []string{"1.1"}})
	c(diffCase{name: "negative size limit", scope: sub, sizeLimit: -1, filter: "(uid=jmuller)", attrs: []string{"1.1"}})
	c(diffCase{name: "negative time limit", scope: sub, timeLimit: -5, filter: "(uid=jmuller)", attrs: []string{"1.1"}})
	c(diffCase{name: "after the bad scopes", base: peopleBase, scope: sub, filter: "(uid=jmuller)", attrs: []string{"uid"}})
	s("oc substr", "(objectClass=inet*)")
	s("structuralObjectClass", "(structuralObjectClass=groupOfUniqueNames)", "cn")

	// caseIgnoreMatch and RFC 4518: case, spaces, Unicode.
	s("spaces insignificant", "(cn=  John   McAllister )", "cn")
	s("spaces lower", "(cn=john mcallister)", "cn")
	s("spaces upper", "(cn=JOHN MCALLISTER)", "cn")
	s("space missing", "(cn=JohnMcAllister)", "cn")
	s("accents exact", "(cn=José Müller)", "cn")
	s("accents upper", "(cn=JOSÉ MÜLLER)", "cn")
	s("accents decomposed", "(cn="+nfd("José Müller")+")", "cn")
	s("accents stripped no match", "(cn=Jose Muller)", "cn")
	s("hex escaped UTF-8", `(cn=Jos\c3\a9 M\c3\bcller)`, "cn")
	s("full-width letters", "(cn=Ｊｏｈｎ Ｍｃａｌｌｉｓｔｅｒ)", "cn")
	s("full-width substring", "(sn=Ｍｃ*)", "sn")
	s("ligature-free Ærø lower", "(sn=ærø)", "sn")
	s("Ærø upper", "(cn=SØREN ÆRØ)", "cn")
	s("Polish L stroke lower", "(sn=łukasiewicz)", "sn")
	s("Czech upper", "(sn=ČERNÝ)", "sn")
	s("Turkish dotless i exact", "(sn=Yılmaz)", "sn")
	s("Turkish dotless i upper ASCII I", "(sn=YILMAZ)", "sn")
	s("Cyrillic upper", "(cn=ИВАН ПЕТРОВ)", "cn")
	s("Cyrillic lower", "(sn=петров)", "sn")
	s("Greek lower tonos", "(cn=νίκος παπαδόπουλος)", "cn")
	c(diffCase{name: "Greek upper final sigma", scope: sub, filter: "(sn=ΠΑΠΑΔΌΠΟΥΛΟΣ)", attrs: []string{"sn"},
		divergent: finalSigma, want: holders(people, "sn", "Παπαδόπουλος")})
	c(diffCase{name: "Greek upper final sigma substring", scope: sub, filter: "(sn=*ΟΥΛΟΣ)", attrs: []string{"sn"},
		divergent: finalSigma, want: holders(people, "sn", "Παπαδόπουλος")})
	s("Vietnamese lower", "(cn=trần ngọc ánh)", "cn")
	s("Vietnamese decomposed", "(cn="+nfd("Trần Ngọc Ánh")+")", "cn")
	s("Vietnamese second order", "(cn=Ngọc Ánh Trần)", "cn")
	s("Japanese sn", "(sn=山田)", "sn")
	s("Japanese initial", "(cn=山田*)", "cn")
	s("Japanese final", "(cn=*太郎)", "cn")
	s("Japanese romanised macron", "(cn=yamada tarō)", "cn")
	s("Korean conjoining jamo", "(sn=\u1100\u1161\u11bc)", "sn")
	s("Korean precomposed", "(sn=강)", "sn")
	s("Arabic", "(cn=محمد علي)", "cn")
	s("Hebrew", "(sn=כהן)", "sn")
	s("Devanagari", "(cn=राहुल शर्मा)", "cn")
	s("Chinese with tone marks upper", "(cn=WÁNG FĀNG)", "cn")
	s("Irish fada substring", "(sn=ó*)", "sn")
	s("escaped star literal", `(cn=\2a)`)
	s("escaped parens", `(cn=a\28b\29)`)

	// Substrings.
	s("substr initial space", "(cn=John *)", "cn")
	s("substr final space", "(cn=* McAllister)", "cn")
	s("substr across space", "(cn=*n Mc*)", "cn")
	s("substr multi any", "(cn=*a*e*o*)")
	s("substr overlapping pieces", "(sn=*ll*ll*)", "sn")
	s("substr initial+final overlap", "(uid=jm*mjmuller)")
	s("substr mail domain", "(mail=*@example.com)")
	s("substr mail upper", "(mail=JOHN.*@*.COM)", "mail")
	s("substr gecos IA5", "(gecos=*MULLER)", "gecos")
	s("substr departmentNumber", "(departmentNumber=d00*)", "departmentNumber")
	s("substr tel", "(telephoneNumber=+44*7946*)", "telephoneNumber")
	s("substr tel hyphens", "(telephoneNumber=+1-555-01*)")
	s("substr postalAddress", "(postalAddress=*fifth avenue*)", "postalAddress")

	// Other syntaxes.
	s("tel no spaces", "(telephoneNumber=+15550198)", "telephoneNumber")
	s("tel odd spacing", "(telephoneNumber=+1  555-01 98)", "telephoneNumber")
	s("mail upper", "(mail=JOHN.MCALLISTER@EXAMPLE.COM)", "mail")
	s("gecos caseIgnoreIA5", "(gecos=jose muller)", "gecos")
	s("homeDirectory caseExactIA5", "(homeDirectory=/home/jmuller)", "homeDirectory")
	s("homeDirectory wrong case", "(homeDirectory=/HOME/JMULLER)")
	s("loginShell", "(loginShell=/bin/bash)")
	s("employeeNumber", "(employeeNumber=100011)", "employeeNumber")
	s("departmentNumber case", "(departmentNumber=d000)", "departmentNumber")
	s("preferredLanguage case", "(preferredLanguage=FR)")
	s("employeeType", "(employeeType=contractor)")
	s("postalAddress caseIgnoreList", "(postalAddress=example corp$350 fifth avenue$new york, ny 10118$usa)", "postalAddress")
	s("postalAddress spaces around $", "(postalAddress=Example Corp $ 350 Fifth Avenue $ New York, NY 10118 $ USA)", "postalAddress")
	s("postalCode", "(postalCode=10118)")
	s("businessCategory", "(businessCategory=D001)", "cn", "businessCategory")

	// Integer ordering and equality (RFC 4517 4.2.19, 4.2.20).
	s("uidNumber eq", "(uidNumber=10011)", "uid")
	s("uidNumber leading zero", "(uidNumber=010011)", "uid")
	s("uidNumber >= high", "(uidNumber>=10290)", "uidNumber")
	s("uidNumber <= low", "(uidNumber<=10005)", "uidNumber")
	s("uidNumber range", "(&(uidNumber>=10100)(uidNumber<=10110))", "uidNumber")
	s("uidNumber negative", "(uidNumber>=-5)")
	s("uidNumber huge", "(uidNumber<=99999999999999999999999)")
	s("gidNumber >= 5001", "(gidNumber>=5001)", "cn", "gidNumber")
	s("gidNumber <= 4999", "(gidNumber<=4999)")
	s("not gidNumber 5000", "(!(gidNumber=5000))", "cn")
	s("shadowLastChange >=", "(shadowLastChange>=19595)")
	s("shadowLastChange <=", "(shadowLastChange<=19000)")

	// DN-valued attributes (distinguishedNameMatch, uniqueMemberMatch).
	s("member exact", "(member=uid=jmuller,ou=people,dc=example,dc=com)", "cn")
	s("member upper", "(member=UID=JMULLER,OU=PEOPLE,DC=EXAMPLE,DC=COM)", "cn")
	s("member spaces", "(member=uid=jmuller, ou=people, dc=example, dc=com)", "cn")
	s("member attr OID", "(member=0.9.2342.19200300.100.1.1=jmuller,ou=people,dc=example,dc=com)", "cn")
	s("member missing", "(member=uid=nosuch,ou=people,dc=example,dc=com)")
	s("owner", "(owner=uid=rlefevre,ou=people,dc=example,dc=com)", "cn")
	s("manager CEO", "(manager=uid=rlefevre,ou=people,dc=example,dc=com)", "uid")
	s("uniqueMember upper", "(uniqueMember=UID=RLEFEVRE,OU=PEOPLE,DC=EXAMPLE,DC=COM)", "cn")
	s("uniqueMember non-member", "(uniqueMember=uid=rtaylor,ou=people,dc=example,dc=com)", "cn")
	s("entryDN eq", "(entryDN=UID=JMULLER,ou=people,dc=example,dc=com)", "entryDN")
	s("hasSubordinates TRUE", "(hasSubordinates=TRUE)")

	// Operational time stamps are per server: compare only all or none.
	c(diffCase{name: "createTimestamp >= 2000", scope: sub, filter: "(createTimestamp>=20000101000000Z)", attrs: []string{"1.1"}, mode: modeCount})
	c(diffCase{name: "createTimestamp <= 1999", scope: sub, filter: "(createTimestamp<=19990101000000Z)", attrs: []string{"1.1"}, mode: modeCount})

	// Extensible match (RFC 4511 4.5.1.7.7).
	s("ext caseExact match", "(cn:caseExactMatch:=John McAllister)", "cn")
	s("ext caseExact wrong case", "(cn:caseExactMatch:=john mcallister)")
	s("ext caseIgnore", "(cn:caseIgnoreMatch:=JOHN MCALLISTER)", "cn")
	s("ext rule by OID", "(cn:2.5.13.2:=engineering)", "cn")
	s("ext integerMatch", "(uidNumber:integerMatch:=10011)", "uid")
	s("ext no rule type only", "(sn:=Müller)", "sn")
	s("ext dn ou people", "(ou:dn:=people)")
	s("ext dn ou People case", "(ou:dn:=People)")
	s("ext dn ou groups", "(ou:dn:=groups)", "cn")
	s("ext dn dc", "(dc:dn:=example)")
	s("ext dn uid", "(uid:dn:=jmuller)", "uid")
	s("ext dn cn group", "(cn:dn:=Human Resources)", "cn")
	s("ext dn caseExact", "(ou:dn:caseExactMatch:=people)")
	s("ext dn caseExact wrong case", "(ou:dn:caseExactMatch:=People)")
	s("ext not dn", "(&(objectClass=groupOfNames)(!(ou:dn:=groups)))")
	s("ext rule no type", "(:caseExactMatch:=Engineering)", "cn", "ou")
	s("ext rule no type OID", "(:2.5.13.2:=legal)", "cn")
	s("ext rule no type dn", "(:dn:caseIgnoreMatch:=people)")
	s("ext unknown rule", "(cn:nosuchMatch:=x)")
	s("ext unknown type", "(nosuch:caseIgnoreMatch:=x)")

	// Approximate match: ours must be a subset of slapd's.
	for _, f := range []string{"(cn~=John McAllister)", "(cn~=john  mcallister)", "(sn~=MÜLLER)", "(uid~=JMULLER)", "(ou~=human resources)"} {
		c(diffCase{name: "approx", scope: sub, filter: f, attrs: []string{"cn"}, mode: modeSubset})
	}

	// Boolean nesting.
	s("double negation", "(!(!(uid=jmuller)))", "uid")
	s("or of groups", "(|(cn=staff)(cn=developers)(cn=nosuch))", "cn", "gidNumber")
	s("deep nesting", "(&(|(ou=Engineering)(ou=IT))(!(employeeType=Contractor))(uidNumber>=10100))", "uid", "ou", "employeeType")
	s("deep nesting 2", "(|(&(objectClass=groupOfNames)(cn=*s))(&(objectClass=inetOrgPerson)(|(sn=Smith)(sn=Müller))(!(mobile=*))))", "cn")
	s("and of ors", "(&(|(l=London)(l=Paris))(|(title=*Engineer*)(title=*Manager*)))", "l", "title")
	s("not of and of not", "(!(&(!(objectClass=person))(!(objectClass=groupOfNames))))")

	// Scopes and bases.
	for _, b := range []string{testSuffix, peopleBase, groupsBase, "uid=jmuller,ou=people,dc=example,dc=com", "cn=Human Resources,ou=groups,dc=example,dc=com"} {
		for _, sc := range []int{base, one, sub} {
			c(diffCase{name: "scope", base: b, scope: sc, filter: "(objectClass=*)", attrs: []string{"objectClass"}})
		}
	}
	c(diffCase{name: "base DN with spaces", base: "cn=Human Resources, ou=groups, dc=example, dc=com", scope: base, filter: "(objectClass=*)", attrs: []string{"cn"}})
	c(diffCase{name: "base DN upper", base: "CN=HUMAN RESOURCES,OU=GROUPS,DC=EXAMPLE,DC=COM", scope: base, filter: "(objectClass=*)", attrs: []string{"cn"}})
	c(diffCase{name: "base filter false", base: peopleBase, scope: base, filter: "(uid=jmuller)"})
	c(diffCase{name: "one level people filter", base: peopleBase, scope: one, filter: "(sn=Smith)", attrs: []string{"cn"}})

	// Missing bases: noSuchObject with matchedDN (RFC 4511 4.1.9).
	for _, b := range []string{"ou=nowhere,dc=example,dc=com", "uid=nobody,ou=people,dc=example,dc=com",
		"cn=x,uid=jmuller,ou=people,dc=example,dc=com", "cn=a,cn=b,ou=groups,dc=example,dc=com"} {
		c(diffCase{name: "missing base", base: b, scope: sub, filter: "(objectClass=*)"})
	}

	// Attribute selections (RFC 4511 4.5.1.8, RFC 3673).
	jm := "uid=jmuller,ou=people,dc=example,dc=com"
	for _, attrs := range [][]string{nil, {"*"}, {"1.1"}, {"+"}, {"*", "+"}, {"cn", "+"}, {"CN", "Mail"},
		{"commonName"}, {"nosuchattr"}, {"cn", "1.1"}, {"objectClass"}, {"entryDN"}, {"hasSubordinates"},
		{"structuralObjectClass"}, {"subschemaSubentry"}, {"name"}, {"userPassword"}, {"creatorsName", "modifiersName"},
		{"createTimestamp", "entryUUID"}, {"memberOf", "cn"}} {
		c(diffCase{name: "attrs", base: jm, scope: base, filter: "(objectClass=*)", attrs: attrs})
	}
	c(diffCase{name: "attrs root password", base: jm, scope: base, filter: "(objectClass=*)", attrs: []string{"userPassword"}, root: true})
	c(diffCase{name: "filter on hidden password", scope: sub, filter: "(userPassword=*)", attrs: []string{"1.1"}})
	c(diffCase{name: "attrs + on groups", base: groupsBase, scope: sub, filter: "(objectClass=*)", attrs: []string{"+"}})
	c(diffCase{name: "attrs + on suffix", base: testSuffix, scope: base, filter: "(objectClass=*)", attrs: []string{"+", "*"}})
	c(diffCase{name: "attrs hasSubordinates all", scope: sub, filter: "(|(objectClass=organizationalUnit)(objectClass=dcObject)(uid=jmuller))", attrs: []string{"hasSubordinates"}})
	c(diffCase{name: "attrs name supertype groups", base: groupsBase, scope: one, filter: "(objectClass=*)", attrs: []string{"name"}})
	c(diffCase{name: "typesOnly *", base: jm, scope: base, filter: "(objectClass=*)", typesOnly: true})
	c(diffCase{name: "typesOnly list", scope: sub, filter: "(cn=*Müller*)", attrs: []string{"cn", "mail", "mobile"}, typesOnly: true})
	c(diffCase{name: "typesOnly groups", base: groupsBase, scope: one, filter: "(objectClass=*)", attrs: []string{"member", "uniqueMember", "cn"}, typesOnly: true})

	// Size limits (RFC 4511 4.5.1.4): compare code and count.
	for _, n := range []int{1, 5, 299, 300, 301} {
		c(diffCase{name: "size limit", scope: sub, filter: "(objectClass=inetOrgPerson)", attrs: []string{"1.1"}, sizeLimit: n, mode: modeCount})
	}
	c(diffCase{name: "size limit one match", scope: sub, filter: "(uid=jmuller)", sizeLimit: 1, mode: modeCount})
	c(diffCase{name: "size limit root", scope: sub, filter: "(objectClass=*)", attrs: []string{"1.1"}, sizeLimit: 10, root: true, mode: modeCount})
	return cs
}
