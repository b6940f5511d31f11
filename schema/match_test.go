package schema

import (
	"bytes"
	"errors"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
)

func TestEqualityMatching(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		attr  string
		x, y  string
		equal bool
	}{
		// caseIgnoreMatch
		{"cn", "ÅNGSTRÖM", "ångström", true},
		{"cn", "Foo Bar", "foo bar", true},
		{"cn", "  foo    bar  ", "foo bar", true},
		{"cn", "foo\tbar", "foo bar", true},
		{"cn", "foo\u00a0bar", "foo bar", true},         // NO-BREAK SPACE maps to SPACE
		{"cn", "ﬁsh", "fish", true},                     // NFKC
		{"cn", "A\u030angstrom", "\u00c5ngstrom", true}, // decomposed vs composed
		{"cn", "soft\u00adhyphen", "softhyphen", true},
		{"cn", "zero\u200bwidth", "zerowidth", true},
		{"cn", "Straße", "STRASSE", true}, // full case folding
		{"cn", "foobar", "foo bar", false},
		{"cn", "foo", "fooo", false},
		{"cn", "é", "e", false},
		// caseExactMatch
		{"labeledURI", "http://x  a", "http://x a", true},
		{"labeledURI", "http://X", "http://x", false},
		{"labeledURI", "A\u030a", "\u00c5", true},
		// caseIgnoreIA5Match / caseExactIA5Match
		{"mail", "User@Example.COM", "user@example.com", true},
		{"mail", "a@b", "a@c", false},
		{"homeDirectory", "/home/User", "/home/user", false},
		{"homeDirectory", "/home/user", "/home/user", true},
		// numericStringMatch
		{"x121Address", "123 456", "123456", true},
		{"x121Address", "123", "1234", false},
		// telephoneNumberMatch
		{"telephoneNumber", "+1 555-123-4567", "+15551234567", true},
		{"telephoneNumber", "+1 555 123 4567", "+1 555 123 4568", false},
		// distinguishedNameMatch
		{"member", "CN=Foo\\2C Bar , dc=Example,DC=com", "cn=foo\\, bar,dc=example,dc=com", true},
		{"member", "cn=a+sn=b,dc=x", "SN=B+CN=A,DC=X", true},
		{"member", "2.5.4.3=x,dc=y", "cn=X,dc=Y", true},
		{"member", "commonName=x", "cn=x", true},
		{"member", "cn=x,dc=y", "cn=x,dc=z", false},
		// uniqueMemberMatch
		{"uniqueMember", "CN=Foo,DC=x#'0101'B", "cn=foo,dc=x#'0101'B", true},
		{"uniqueMember", "cn=foo,dc=x#'0101'B", "cn=foo,dc=x#'0110'B", false},
		{"uniqueMember", "cn=foo,dc=x", "cn=foo,dc=x#'0101'B", false},
		// objectIdentifierMatch
		{"objectClass", "inetOrgPerson", "2.16.840.1.113730.3.2.2", true},
		{"objectClass", "INETORGPERSON", "inetorgperson", true},
		{"objectClass", "person", "organizationalPerson", false},
		{"supportedFeatures", "cn", "2.5.4.3", true},
		// booleanMatch
		{"hasSubordinates", "TRUE", "true", true},
		{"hasSubordinates", "TRUE", "FALSE", false},
		// integerMatch
		{"uidNumber", "1000", "1000", true},
		{"uidNumber", "1000", "1001", false},
		// octetStringMatch
		{"userPassword", "secret", "secret", true},
		{"userPassword", "secret", "Secret", false},
		// generalizedTimeMatch
		{"createTimestamp", "20250101120000+0100", "20250101110000Z", true},
		{"createTimestamp", "2025010111Z", "20250101110000.000Z", true},
		{"createTimestamp", "20250101120000Z", "20250101120001Z", false},
		// UUIDMatch
		{"entryUUID", "597AE2F6-16A6-1027-98F4-D28B5365DC14", "597ae2f6-16a6-1027-98f4-d28b5365dc14", true},
		{"entryUUID", "597ae2f6-16a6-1027-98f4-d28b5365dc14", "597ae2f6-16a6-1027-98f4-d28b5365dc15", false},
		// CSNMatch
		{"entryCSN", "20250101120000.000001Z#00000A#001#000000", "20250101120000.000001Z#00000a#001#000000", true},
		{"entryCSN", "20250101120000.000001Z#000000#001#000000", "20250101120000.000001Z#000000#002#000000", false},
		// caseIgnoreListMatch
		{"postalAddress", "1 Main  St$SPRINGFIELD", "1 main st$springfield", true},
		{"postalAddress", "a$b", "a b", false},
		{"postalAddress", `a\24b`, "A\\24B", true},
		// bitStringMatch
		{"x500UniqueIdentifier", "'0101'B", "'0101'B", true},
		// objectIdentifierFirstComponentMatch
		{"attributeTypes", "( 2.5.4.3 NAME 'cn' SUP name )", "2.5.4.3", true},
		{"attributeTypes", "( 2.5.4.3 NAME 'cn' SUP name )", "cn", true},
		{"attributeTypes", "( 2.5.4.3 NAME 'cn' SUP name )", "2.5.4.4", false},
	}
	for _, tt := range tests {
		a := mustAttr(t, s, tt.attr)
		got, err := a.Equal([]byte(tt.x), []byte(tt.y))
		if err != nil {
			t.Errorf("%s: %q vs %q: %v", tt.attr, tt.x, tt.y, err)
			continue
		}
		if got != tt.equal {
			nx, _ := a.Normalize([]byte(tt.x))
			ny, _ := a.Normalize([]byte(tt.y))
			t.Errorf("%s: %q vs %q: equal=%v, want %v (normal forms %q, %q)", tt.attr, tt.x, tt.y, got, tt.equal, nx, ny)
		}
	}
}

func TestNormalizeForms(t *testing.T) {
	s := mustDefault(t)
	tests := []struct{ attr, in, want string }{
		{"cn", "  Foo   BAR ", "foo bar"},
		{"cn", "   ", " "},
		{"cn", "ÅNGSTRÖM", "ångström"},
		{"dc", "Example", "example"},
		{"createTimestamp", "20250101120000+0100", "20250101110000Z"},
		{"createTimestamp", "20250101120000.500Z", "20250101120000.5Z"},
		{"telephoneNumber", "+1 (555) 123-4567", "+1(555)1234567"},
		{"objectClass", "Person", "2.5.6.6"},
		{"objectClass", "unknownClass", "unknownclass"},
		{"member", "CN=Foo\\2C Bar , dc=Example,DC=com", "cn=foo\\, bar,dc=example,dc=com"},
		{"entryUUID", "597AE2F6-16A6-1027-98F4-D28B5365DC14", "597ae2f6-16a6-1027-98f4-d28b5365dc14"},
	}
	for _, tt := range tests {
		got, err := mustAttr(t, s, tt.attr).Normalize([]byte(tt.in))
		if err != nil {
			t.Errorf("%s %q: %v", tt.attr, tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s %q: got %q, want %q", tt.attr, tt.in, got, tt.want)
		}
	}
}

func TestNormalizeErrors(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		attr, in string
		code     ldap.ResultCode
	}{
		{"jpegPhoto", "x", ldap.InappropriateMatching},
		{"uidNumber", "-0", ldap.InvalidAttributeSyntax},
		{"uidNumber", "abc", ldap.InvalidAttributeSyntax},
		{"createTimestamp", "20251301000000Z", ldap.InvalidAttributeSyntax},
		{"cn", "\xff", ldap.InvalidAttributeSyntax},
		{"cn", "bad\ufffd", ldap.InvalidAttributeSyntax},
		{"mail", "é@x", ldap.InvalidAttributeSyntax},
		{"member", "not a dn", ldap.InvalidAttributeSyntax},
		{"hasSubordinates", "maybe", ldap.InvalidAttributeSyntax},
	}
	for _, tt := range tests {
		_, err := mustAttr(t, s, tt.attr).Normalize([]byte(tt.in))
		var le *ldap.Error
		if !errors.As(err, &le) || le.Code != tt.code {
			t.Errorf("%s %q: err %v, want code %d", tt.attr, tt.in, err, tt.code)
		}
	}
}

func TestNormalizeASCIIFastPathNoAlloc(t *testing.T) {
	s := mustDefault(t)
	cn := mustAttr(t, s, "cn")
	v := []byte("already normal value")
	allocs := testing.AllocsPerRun(100, func() {
		n, err := cn.Normalize(v)
		if err != nil || !bytes.Equal(n, v) {
			t.Fatal("unexpected")
		}
	})
	if allocs != 0 {
		t.Errorf("Normalize of a normal ASCII value allocates %v times", allocs)
	}
}

// Filter evaluation normalises every value it tests into one buffer:
// values that need a new form (upper case, extra spaces, Latin letters
// with diacritics) cost no allocation once the buffer is large enough,
// and give what Normalize and SubstringValue give.
func TestAppendNormalizeReusesBuffer(t *testing.T) {
	s := mustDefault(t)
	buf := make([]byte, 0, 64)
	for _, c := range []struct{ attr, v string }{
		{"cn", "Vikas  Smith "}, {"sn", "MÜLLER"}, {"mail", "Ab@Example.COM"}, {"givenName", "Zoë"},
	} {
		a := mustAttr(t, s, c.attr)
		want, err := a.Normalize([]byte(c.v))
		if err != nil {
			t.Fatal(err)
		}
		wantSub, err := a.SubstringValue([]byte(c.v))
		if err != nil {
			t.Fatal(err)
		}
		v := []byte(c.v)
		var got []byte
		allocs := testing.AllocsPerRun(100, func() { got, _ = a.AppendNormalize(buf[:0], v) })
		got = append([]byte(nil), got...)
		var gotSub []byte
		allocs += testing.AllocsPerRun(100, func() { gotSub, _ = a.AppendSubstringValue(buf[:0], v) })
		if allocs != 0 {
			t.Errorf("%s %q: %v allocations per value", c.attr, c.v, allocs)
		}
		if !bytes.Equal(got, want) || !bytes.Equal(gotSub, wantSub) {
			t.Errorf("%s %q: buffered %q and %q, want %q and %q", c.attr, c.v, got, gotSub, want, wantSub)
		}
	}
}

func TestOrdering(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		attr string
		x, y string
		want int
	}{
		{"createTimestamp", "20250101120000Z", "20250101120001Z", -1},
		{"createTimestamp", "20250101120000+0100", "20250101110000Z", 0},
		{"createTimestamp", "20250101120000-0100", "20250101120000Z", 1},
		{"createTimestamp", "2025010112.5Z", "20250101123000Z", 0},
		{"uidNumber", "9", "10", -1},
		{"uidNumber", "-10", "-9", -1},
		{"uidNumber", "-1", "0", -1},
		{"uidNumber", "123456789012345678901234567890", "99", 1},
		{"uidNumber", "42", "42", 0},
		{"dnQualifier", "ABC", "abd", -1},
		{"dnQualifier", "ABC", "abc", 0},
		{"entryUUID", "00000000-0000-0000-0000-00000000000A", "00000000-0000-0000-0000-00000000000b", -1},
		{"numSubordinates", "2", "10", -1},
		// CSNOrderingMatch: time, then counter, then replica.
		{"entryCSN", "20250101120000.000001Z#00000F#001#000000", "20250101120000.000002Z#000000#000#000000", -1},
		{"entryCSN", "20250101120000.000001Z#00000B#001#000000", "20250101120000.000001Z#00000a#fff#000000", 1},
		{"contextCSN", "20250101120000.000001Z#000000#002#000000", "20250101120000.000001Z#000000#001#000000", 1},
	}
	for _, tt := range tests {
		got, err := mustAttr(t, s, tt.attr).Compare([]byte(tt.x), []byte(tt.y))
		if err != nil {
			t.Errorf("%s %q %q: %v", tt.attr, tt.x, tt.y, err)
			continue
		}
		if sign(got) != tt.want {
			t.Errorf("%s: Compare(%q, %q) = %d, want %d", tt.attr, tt.x, tt.y, got, tt.want)
		}
	}
	if _, err := mustAttr(t, s, "cn").Compare([]byte("a"), []byte("b")); err == nil {
		t.Error("cn has no ordering rule; Compare should fail")
	}
	// numericStringOrderingMatch via a loaded attribute.
	d, _ := ParseAttributeType("( 1.2.3.9 NAME 'numOrd' EQUALITY numericStringMatch ORDERING numericStringOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.36 )")
	ns, err := s.ExtendDefinitions([]*AttributeTypeDescription{d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := mustAttr(t, ns, "numOrd").Compare([]byte("1 2"), []byte("13")); err != nil || c >= 0 {
		t.Errorf("numericStringOrdering 12 < 13: %d %v", c, err)
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// substrMatch is the matcher the engine is expected to implement on top of
// SubstringValue and NormalizeSubstring.
func substrMatch(t *testing.T, a *AttributeType, value string, initial string, any []string, final string) bool {
	t.Helper()
	v, err := a.SubstringValue([]byte(value))
	if err != nil {
		t.Fatal(err)
	}
	if initial != "" {
		p, err := a.NormalizeSubstring([]byte(initial), SubInitial)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(v, p) {
			return false
		}
		v = v[len(p):]
	}
	for _, s := range any {
		p, err := a.NormalizeSubstring([]byte(s), SubAny)
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(v, p)
		if i < 0 {
			return false
		}
		v = v[i+len(p):]
	}
	if final != "" {
		p, err := a.NormalizeSubstring([]byte(final), SubFinal)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(v, p) {
			return false
		}
	}
	return true
}

func TestSubstrings(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		attr, value, initial string
		any                  []string
		final                string
		want                 bool
	}{
		{"cn", "John  Smith", "JOHN ", nil, "", true},
		{"cn", "John Smith", "john  s", nil, "", true},
		{"cn", "John Smith", "", []string{"n s"}, "", true},
		{"cn", "John Smith", "", nil, "SMITH  ", true},
		{"cn", "John Smith", "smith", nil, "", false},
		{"cn", "ÅNGSTRÖM", "ång", nil, "öm", true},
		{"labeledURI", "http://Example", "", []string{"Exam"}, "", false}, // no SUBSTR: see below
		{"telephoneNumber", "+1 555-123-4567", "", []string{"5123"}, "", true},
		{"mail", "User@Example.com", "user@", nil, ".COM", true},
		{"x121Address", "12 34 56", "1234", nil, "", true},
		{"memberUid", "Alice", "al", nil, "", false},
		{"memberUid", "Alice", "Al", nil, "", true},
	}
	for _, tt := range tests {
		a := mustAttr(t, s, tt.attr)
		if a.Substr == nil {
			if _, err := a.NormalizeSubstring([]byte("x"), SubAny); err == nil {
				t.Errorf("%s has no SUBSTR rule but NormalizeSubstring succeeded", tt.attr)
			}
			continue
		}
		if got := substrMatch(t, a, tt.value, tt.initial, tt.any, tt.final); got != tt.want {
			t.Errorf("%s %q (%q %q %q) = %v, want %v", tt.attr, tt.value, tt.initial, tt.any, tt.final, got, tt.want)
		}
	}
}

func TestApproxKey(t *testing.T) {
	s := mustDefault(t)
	cn := mustAttr(t, s, "cn")
	for _, pair := range [][2]string{{"Maier", "Meyer"}, {"Mayer", "MEIER"}, {"Jon Smyth", "John Smith"}, {"Müller", "Muller"},
		{"Strauß", "Strauss"}, {"Łukasiewicz", "lukasiewicz"}, {"山田 太郎", "山田  太郎"}} {
		if a, b := cn.ApproxKey([]byte(pair[0])), cn.ApproxKey([]byte(pair[1])); !bytes.Equal(a, b) {
			t.Errorf("ApproxKey(%q) = %q, ApproxKey(%q) = %q: want equal", pair[0], a, pair[1], b)
		}
	}
	for _, pair := range [][2]string{{"Smith John", "John Smith"}, {"Maier", "Miller"}, {"Ng", "Nguyen"}} {
		if a, b := cn.ApproxKey([]byte(pair[0])), cn.ApproxKey([]byte(pair[1])); bytes.Equal(a, b) {
			t.Errorf("ApproxKey(%q) = ApproxKey(%q) = %q: want different", pair[0], pair[1], a)
		}
	}
	if got := string(cn.ApproxKey([]byte("Robert Rupert"))); got != "R163 R163" {
		t.Errorf("ApproxKey(Robert Rupert) = %q, want R163 R163", got)
	}
}

func TestDedupCheck(t *testing.T) {
	s := mustDefault(t)
	cn := mustAttr(t, s, "cn")
	err := cn.DedupCheck([][]byte{[]byte("Foo"), []byte("bar"), []byte("  FOO ")})
	var le *ldap.Error
	if !errors.As(err, &le) || le.Code != ldap.AttributeOrValueExists {
		t.Errorf("duplicate not detected: %v", err)
	}
	if err := cn.DedupCheck([][]byte{[]byte("Foo"), []byte("Foo bar")}); err != nil {
		t.Errorf("distinct values: %v", err)
	}
	jp := mustAttr(t, s, "jpegPhoto")
	if err := jp.DedupCheck([][]byte{{1}, {1}}); err == nil {
		t.Error("byte-equal values of a type without equality not detected")
	}
}
