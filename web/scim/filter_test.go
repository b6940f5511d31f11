package scim

import (
	"errors"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// fakeResolver knows one user and one group.
type fakeResolver struct{}

const (
	aliceID = "11111111-1111-1111-1111-111111111111"
	aliceDN = "uid=alice,ou=people,dc=example,dc=com"
	staffID = "22222222-2222-2222-2222-222222222222"
	staffDN = "cn=staff,ou=groups,dc=example,dc=com"
)

func (fakeResolver) refOf(dn string) (ref, bool) {
	switch normDN(dn) {
	case normDN(aliceDN):
		return ref{ID: aliceID, Display: "Alice", Type: "User"}, true
	case normDN(staffDN):
		return ref{ID: staffID, Display: "staff", Type: "Group"}, true
	}
	return ref{}, false
}

func (r fakeResolver) dnOf(id, typ string) (string, ref, bool, error) {
	switch {
	case strings.EqualFold(id, aliceID) && (typ == "" || strings.EqualFold(typ, "User")):
		return aliceDN, ref{ID: aliceID, Type: "User"}, true, nil
	case strings.EqualFold(id, staffID) && (typ == "" || strings.EqualFold(typ, "Group")):
		return staffDN, ref{ID: staffID, Type: "Group"}, true, nil
	}
	return "", ref{}, false, nil
}

func TestParseFilter(t *testing.T) {
	cases := []struct{ in, want string }{
		{`userName eq "bjensen"`, `userName eq "bjensen"`},
		{`userName Eq "x" AND title PR`, `(userName eq "x" and title pr)`},
		{`a eq 1 or b eq 2 and c eq 3`, `(a eq 1 or (b eq 2 and c eq 3))`},
		{`(a eq 1 or b eq 2) and c eq 3`, `((a eq 1 or b eq 2) and c eq 3)`},
		{`not (a pr) and b pr`, `(not (a pr) and b pr)`},
		{`emails[type eq "work" and value co "@example.com"]`, `emails[(type eq "work" and value co "@example.com")]`},
		{`emails[type eq "work"].value eq "a@b"`, `emails[(type eq "work" and value eq "a@b")]`},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`,
			`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{`active eq TRUE and x eq null and y ne false`, `((active eq true and x eq null) and y ne false)`},
		{`title eq "quote \" and \\ \u00e9"`, `title eq "quote \" and \\ é"`},
		{`  userName   sw   "J"  `, `userName sw "J"`},
	}
	for _, tc := range cases {
		f, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{``, `userName`, `userName eq`, `userName eq bjensen`, `userName zz "a"`, `(a pr`, `a pr)`,
		`not a pr`, `a[b[c pr]]`, `a.b[c pr]`, `a[b pr`, `a eq "unterminated`, `1abc pr`, `a..b pr`, `foo:a pr`, `a pr and`,
		`a eq "x" "y"`, strings.Repeat("(", 40) + "a pr" + strings.Repeat(")", 40), strings.Repeat("a", maxFilterLen+1), "a eq \"\xff\""} {
		if _, err := ParseFilter(bad); !errors.Is(err, ErrFilter) {
			t.Errorf("%q: %v, want ErrFilter", bad, err)
		}
	}
}

func TestLDAPFilter(t *testing.T) {
	cases := []struct {
		rt         *resourceType
		in, want   string
		postFilter bool
	}{
		{userType, `userName eq "bjensen"`, `(uid=bjensen)`, false},
		{userType, `userName eq "*)(uid=*"`, `(uid=\2a\29\28uid=\2a)`, false},
		{userType, `userName co "a\\b"`, `(uid=*a\5cb*)`, false},
		{userType, `userName sw "J"`, `(uid=J*)`, false},
		{userType, `userName ew "n"`, `(uid=*n)`, false},
		{userType, `userName co ""`, `(uid=*)`, false},
		{userType, `title pr`, `(title=*)`, false},
		{userType, `userName ne "x"`, `(!(uid=x))`, false},
		{userType, `name.familyName eq "J" or name.givenName eq "K"`, `(|(sn=J)(givenName=K))`, false},
		{userType, `not (displayName pr)`, `(!(displayName=*))`, false},
		{userType, `externalId eq "E1"`, `(scimExternalId=E1)`, false},
		{userType, `id eq "` + aliceID + `"`, `(entryUUID=` + aliceID + `)`, false},
		{userType, `id eq "nope"`, ldapFalse, false},
		{userType, `active eq false`, `(pwdAccountLockedTime=000001010000Z)`, false},
		{userType, `active eq true`, `(!(pwdAccountLockedTime=000001010000Z))`, false},
		{userType, `meta.lastModified gt "2011-05-13T04:42:34Z"`, `(&(modifyTimestamp>=20110513044234Z)(!(modifyTimestamp=20110513044234Z)))`, false},
		{userType, `meta.created le "2011-05-13T04:42:34+02:00"`, `(createTimestamp<=20110513024234Z)`, false},
		{userType, `userName gt "m"`, ``, true},
		{userType, `emails[type eq "work"].value co "@example.com"`, `(&(mail=*)(mail=*@example.com*))`, false},
		{userType, `emails[type eq "home"]`, ldapFalse, false},
		{userType, `emails.value eq "a@b"`, `(&(mail=*)(mail=a@b))`, false},
		{userType, `emails pr`, `(&(mail=*)(mail=*))`, false},
		{userType, `userName lt "b" and emails[type eq "home"]`, ldapFalse, false},
		{userType, `phoneNumbers[type eq "mobile"].value eq "1"`, `(&(mobile=*)(mobile=1))`, false},
		{userType, `phoneNumbers[type eq "mobile" or type eq "fax"]`, `(|(mobile=*)(facsimileTelephoneNumber=*))`, false},
		{userType, `addresses[locality eq "Paris"]`, `(&(|(|(|(l=*)(postalCode=*))(st=*))(street=*))(l=Paris))`, false},
		{userType, `groups[value eq "` + staffID + `"]`, `(&(memberOf=*)(memberOf=cn=staff,ou=groups,dc=example,dc=com))`, false},
		{userType, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D"`, `(departmentNumber=R&D)`, false},
		{userType, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "` + aliceID + `"`,
			`(manager=uid=alice,ou=people,dc=example,dc=com)`, false},
		{userType, `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x"`, `(uid=x)`, false},
		{userType, `nickName eq "x"`, ldapFalse, false},
		{userType, `meta.resourceType eq "User"`, ldapTrue, false},
		{groupType, `displayName eq "staff"`, `(cn=staff)`, false},
		{groupType, `members[value eq "` + aliceID + `"]`, `(&(member=*)(member=uid=alice,ou=people,dc=example,dc=com))`, false},
		{groupType, `members.value eq "` + staffID + `"`, `(&(member=*)(member=cn=staff,ou=groups,dc=example,dc=com))`, false},
		{groupType, `members[value eq "33333333-3333-3333-3333-333333333333"]`, ldapFalse, false},
	}
	for _, tc := range cases {
		f, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		tr := &translator{rt: tc.rt, rs: fakeResolver{}}
		got, post, err := tr.ldapFilter(f)
		if err != nil || got != tc.want || (post != nil) != tc.postFilter {
			t.Errorf("%s: %q post %v, %v; want %q post %v", tc.in, got, post != nil, err, tc.want, tc.postFilter)
			continue
		}
		if got != "" {
			if _, err := goldap.CompileFilter(got); err != nil {
				t.Errorf("%s: %q does not compile: %v", tc.in, got, err)
			}
		}
	}
	for _, bad := range []string{`foo eq "x"`, `name eq "x"`, `password eq "x"`, `meta.created gt "x"`, `active co "t"`,
		`emails[primary eq true]`, `members[display eq "x"]`, `urn:x:y pr`, `userName.sub eq "x"`, `meta.version eq "x"`} {
		f, err := ParseFilter(bad)
		if err != nil {
			t.Errorf("%s: %v", bad, err)
			continue
		}
		rt := userType
		if strings.HasPrefix(bad, "members") {
			rt = groupType
		}
		var br *badRequest
		if _, _, err := (&translator{rt: rt, rs: fakeResolver{}}).ldapFilter(f); !errors.As(err, &br) || br.scimType != "invalidFilter" {
			t.Errorf("%s: %v, want invalidFilter", bad, err)
		}
	}
}

// The in-memory test of a filter agrees with what the LDAP filter means.
func TestFilterPredicate(t *testing.T) {
	en := &entry{DN: aliceDN, attrs: map[string][]string{"uid": {"Alice"}, "mail": {"alice@example.com"}, "scimexternalid": {"E1"}}}
	for in, want := range map[string]bool{
		`userName gt "a"`: true, `userName gt "b"`: false, `userName ge "ALICE"`: true, `userName lt "alicf"`: true,
		`userName le "alicd"`: false, `not (userName gt "b")`: true, `userName gt "a" and emails.value co "EXAMPLE"`: true,
		`userName gt "a" and externalId eq "e1"`: false, `userName gt "a" and externalId eq "E1"`: true,
		`userName gt "z" or userName eq "alice"`: true,
	} {
		f, err := ParseFilter(in)
		if err != nil {
			t.Fatal(err)
		}
		_, post, err := (&translator{rt: userType, rs: fakeResolver{}}).ldapFilter(f)
		if err != nil || post == nil {
			t.Errorf("%s: no predicate (%v)", in, err)
			continue
		}
		if got := post(en); got != want {
			t.Errorf("%s: %v, want %v", in, got, want)
		}
	}
}

// FuzzParseFilter: no panic; what parses prints as a filter that parses
// to the same; its LDAP translation is a well-formed LDAP filter.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`userName eq "bjensen"`, `emails[type eq "work" and value co "@x"].value pr`, `not (a pr) or b gt 1`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, `title eq "\u0000*)("`,
		`members[value eq "11111111-1111-1111-1111-111111111111"]`, `meta.created ge "2020-01-01T00:00:00Z"`, `active eq false`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		again, err := ParseFilter(flt.String())
		if err != nil || again.String() != flt.String() {
			t.Fatalf("%q prints as %q, which parses to %v, %v", s, flt.String(), again, err)
		}
		for _, rt := range []*resourceType{userType, groupType} {
			l, _, err := (&translator{rt: rt, rs: fakeResolver{}}).ldapFilter(flt)
			if err == nil && l != "" {
				if _, err := goldap.CompileFilter(l); err != nil {
					t.Fatalf("%q: LDAP filter %q does not compile: %v", s, l, err)
				}
			}
		}
	})
}

// FuzzParsePatchPath: no panic; a path that parses has an attribute.
func FuzzParsePatchPath(f *testing.F) {
	for _, s := range []string{`members`, `members[value eq "x"]`, `emails[type eq "work"].value`, `name.familyName`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, `addresses[type eq "work"].streetAddress`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePatchPath(s)
		if err == nil && p.Attr == "" {
			t.Fatalf("%q parses without an attribute", s)
		}
	})
}
