package schema

import (
	"testing"
	"time"
)

func TestSyntaxValidators(t *testing.T) {
	s := mustDefault(t)
	tests := []struct {
		oid  string
		good []string
		bad  []string
	}{
		{SyntaxDirectory, []string{"a", "Ångström", " "}, []string{"", "\xff\xfe"}},
		{SyntaxIA5, []string{"user@example.com", "a b"}, []string{"", "é"}},
		{SyntaxPrintable, []string{"Abc 12'()+,-./:?="}, []string{"", "a@b", "a*b", "é"}},
		{SyntaxNumericString, []string{"123 456", "0"}, []string{"", "12a", "+1"}},
		{SyntaxTelephone, []string{"+1 555 123-4567", "(0)30 1234"}, []string{"", "555#1", "tel;123"}},
		{SyntaxInteger, []string{"0", "1", "-1", "123456789012345678901234567890"}, []string{"", "-0", "01", "-01", "+1", "1a", " 1", "-"}},
		{SyntaxBoolean, []string{"TRUE", "FALSE"}, []string{"true", "T", "", "yes"}},
		{SyntaxGeneralized, []string{"20250101120000Z", "2025010112Z", "202501011200Z", "20250101120000.5Z",
			"20250101120000,123+0100", "20250101120000-0530", "20240229000000Z", "2025010112+01", "19991231235960Z"},
			[]string{"2", "20251301", "99999999999999Z", "20251301120000Z", "20250132120000Z", "20250230120000Z",
				"20230229000000Z", "20250101240000Z", "20250101126000Z", "20250101120000", "20250101120000.Z",
				"20250101120000+2400", "20250101120000+01000", "2025010112000Z", "20250101120000ZZ"}},
		{SyntaxDN, []string{"", "cn=foo,dc=example,dc=com", "2.5.4.3=x", "cn=a+sn=b"}, []string{"cn", "=x", "cn=a,,", "\xff=x"}},
		{SyntaxNameAndUID, []string{"cn=foo,dc=x", "cn=foo,dc=x#'0101'B"}, []string{"cn", "cn=foo#'012'B,"}},
		{SyntaxOID, []string{"2.5.4.3", "cn", "x-foo"}, []string{"", "2.5.", "02.5", "1cn", "a b"}},
		{SyntaxOctetString, []string{"", "\x00\xff"}, nil},
		{SyntaxJPEG, []string{"\xff\xd8\xff"}, nil},
		{SyntaxPostalAddress, []string{"1 Main St$Springfield", `a\24b$c\5Cd`}, []string{"", "a$$b", "a$", `a\2`, `a\41`}},
		{SyntaxCountryString, []string{"DE", "us"}, []string{"D", "DEU", "é1", "D*"}},
		{SyntaxUUID, []string{"597ae2f6-16a6-1027-98f4-d28b5365dc14", "597AE2F6-16A6-1027-98F4-D28B5365DC14"},
			[]string{"597ae2f616a6102798f4d28b5365dc14", "597ae2f6-16a6-1027-98f4-d28b5365dc1g", "597ae2f6-16a6-1027-98f4d-28b5365dc14"}},
		{SyntaxBitString, []string{"'0101'B", "''B"}, []string{"0101", "'0121'B", "'01'", "'01'b"}},
		{SyntaxCertificate, []string{"\x30\x82"}, nil},
		{SyntaxAttributeType, []string{"( 2.5.4.3 NAME 'cn' )"}, []string{""}},
		{oidSyntaxPrefix + "52", []string{"12345$DE$ans"}, []string{""}},
		{oidSyntaxPrefix + "22", []string{"+1 555 1234"}, []string{"+1#2"}},
	}
	for _, tt := range tests {
		syn, ok := s.Syntax(tt.oid)
		if !ok {
			t.Fatalf("syntax %s missing", tt.oid)
		}
		for _, v := range tt.good {
			if err := syn.Validate([]byte(v)); err != nil {
				t.Errorf("%s (%s): %q rejected: %v", syn.Desc, tt.oid, v, err)
			}
		}
		for _, v := range tt.bad {
			if err := syn.Validate([]byte(v)); err == nil {
				t.Errorf("%s (%s): %q accepted", syn.Desc, tt.oid, v)
			}
		}
	}
}

func TestParseGeneralizedTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
	}{
		{"20250101120000Z", time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)},
		{"20250101120000+0100", time.Date(2025, 1, 1, 11, 0, 0, 0, time.UTC)},
		{"20250101120000-0130", time.Date(2025, 1, 1, 13, 30, 0, 0, time.UTC)},
		{"2025010112.5Z", time.Date(2025, 1, 1, 12, 30, 0, 0, time.UTC)},
		{"202501011230.5Z", time.Date(2025, 1, 1, 12, 30, 30, 0, time.UTC)},
		{"20250101123045,25Z", time.Date(2025, 1, 1, 12, 30, 45, 250000000, time.UTC)},
		{"20250101000000+01", time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseGeneralizedTime([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) {
			t.Errorf("%s = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := FormatGeneralizedTime(time.Date(2025, 1, 1, 12, 0, 0, 500000000, time.UTC)); got != "20250101120000.5Z" {
		t.Errorf("FormatGeneralizedTime = %s", got)
	}
}

func TestUnknownSyntaxFallsBackToOctetString(t *testing.T) {
	s := mustDefault(t)
	d, err := ParseAttributeType("( 1.2.3.4.5 NAME 'weird' SYNTAX 1.2.3.4.99 )")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := s.ExtendDefinitions([]*AttributeTypeDescription{d}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := mustAttr(t, ns, "weird")
	if a.Syntax == nil || a.Syntax.OID != "1.2.3.4.99" || a.Syntax.Validate([]byte("")) != nil || a.Syntax.Validate([]byte{0xff}) != nil {
		t.Errorf("unknown syntax did not fall back to octet string: %+v", a.Syntax)
	}
}
