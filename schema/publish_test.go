package schema

import (
	"strings"
	"testing"
)

func TestSubschemaRoundTrip(t *testing.T) {
	s, err := mustDefault(t).Extend("testdata/custom.schema")
	if err != nil {
		t.Fatal(err)
	}
	pub := s.SubschemaAttributes()
	for _, k := range []string{"attributeTypes", "objectClasses", "ldapSyntaxes", "matchingRules", "matchingRuleUse"} {
		if len(pub[k]) == 0 {
			t.Errorf("%s empty", k)
		}
	}
	var ats []*AttributeTypeDescription
	for _, v := range pub["attributeTypes"] {
		d, err := ParseAttributeType(v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if d.String() != v {
			t.Errorf("round trip changed %q to %q", v, d.String())
		}
		ats = append(ats, d)
	}
	var ocs []*ObjectClassDescription
	for _, v := range pub["objectClasses"] {
		d, err := ParseObjectClass(v)
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		if d.String() != v {
			t.Errorf("round trip changed %q to %q", v, d.String())
		}
		ocs = append(ocs, d)
	}
	// The published definitions alone rebuild an equivalent schema.
	rebuilt, err := build(ats, ocs)
	if err != nil {
		t.Fatal(err)
	}
	if len(rebuilt.Attributes()) != len(s.Attributes()) || len(rebuilt.ObjectClasses()) != len(s.ObjectClasses()) {
		t.Error("rebuilt schema differs in size")
	}
	cn := mustAttr(t, s, "cn").String()
	if cn != "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )" {
		t.Errorf("cn = %s", cn)
	}
	found := false
	for _, v := range pub["matchingRuleUse"] {
		if strings.HasPrefix(v, "( 2.5.13.2 NAME 'caseIgnoreMatch' APPLIES (") && strings.Contains(v, " cn ") {
			found = true
		}
	}
	if !found {
		t.Error("matchingRuleUse for caseIgnoreMatch missing cn")
	}
	for _, v := range pub["ldapSyntaxes"] {
		if strings.Contains(v, "1.3.6.1.4.1.1466.115.121.1.28 ") && !strings.Contains(v, "X-NOT-HUMAN-READABLE 'TRUE'") {
			t.Errorf("JPEG syntax not marked binary: %s", v)
		}
	}
}

func TestParseDefinitions(t *testing.T) {
	good := []string{
		"( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
		"(2.5.4.3 NAME 'cn' SUP name)",
		"( 1.2.3 NAME 'x' DESC 'a \\27quoted\\27 \\5c' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} X-ORIGIN 'me' )",
		"( 1.2.3 SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' )",
		"( 1.2.3 NAME 'x' OBSOLETE SUP name SINGLE-VALUE COLLECTIVE NO-USER-MODIFICATION USAGE dSAOperation )",
	}
	for _, g := range good {
		if _, err := ParseAttributeType(g); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	d, _ := ParseAttributeType(good[2])
	if d.Desc != `a 'quoted' \` || d.SyntaxLen != 256 || len(d.Extensions) != 1 {
		t.Errorf("parsed %+v", d)
	}
	bad := []string{
		"", "(", "( )", "2.5.4.3 NAME 'cn' SUP name", "( 2.5.4.3 NAME 'cn' )", "( cn NAME 'cn' SUP name )",
		"( 2.5.4.3 NAME 'cn' SUP name", "( 2.5.4.3 NAME 'cn' SUP name ) x", "( 2.5.4.3 NAME 'c n' SUP name )",
		"( 2.5.4.3 FOO bar SUP name )", "( 2.5.4.3 NAME 'cn SUP name )", "( 2.5.4.3 DESC 'a\\zz' SUP name )",
		"( 2.5.4.3 SUP name SUP cn )", "( 2.5.4.3 SUP name USAGE sometimes )", "( 1.2.3 SYNTAX 1.2{x} )",
		"( 1.2.3. SUP name )",
	}
	for _, b := range bad {
		if _, err := ParseAttributeType(b); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
	oc, err := ParseObjectClass("( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber ) )")
	if err != nil || oc.Kind != Structural || len(oc.Must) != 2 || len(oc.May) != 2 {
		t.Errorf("person: %+v %v", oc, err)
	}
	if _, err := ParseObjectClass("( 1.2.3 ABSTRACT AUXILIARY )"); err == nil {
		t.Error("two kinds accepted")
	}
}
