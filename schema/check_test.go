package schema

import (
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
)

func TestCheck(t *testing.T) {
	s := mustDefault(t)
	type entry struct {
		rdn   string
		ocs   []string
		attrs map[string][]string
	}
	person := func(extra map[string][]string, ocs ...string) entry {
		a := map[string][]string{"cn": {"John Smith"}, "sn": {"Smith"}}
		for k, v := range extra {
			a[k] = v
		}
		if ocs == nil {
			ocs = []string{"top", "person"}
		}
		return entry{"cn=John Smith", ocs, a}
	}
	tests := []struct {
		name string
		e    entry
		code ldap.ResultCode
	}{
		{"valid person", person(nil), ldap.Success},
		{"valid inetOrgPerson", person(map[string][]string{"mail": {"j@x"}, "uid": {"js"}}, "inetOrgPerson"), ldap.Success},
		{"posixGroup aux with groupOfNames", entry{"cn=g", []string{"groupOfNames", "posixGroup"},
			map[string][]string{"cn": {"g"}, "member": {"cn=a"}, "gidNumber": {"100"}}}, ldap.Success},
		{"rdn case-insensitive", entry{"CN=JOHN  SMITH", []string{"person"}, map[string][]string{"cn": {"john smith"}, "sn": {"s"}}}, ldap.Success},
		{"multi-valued rdn", entry{"cn=John Smith+sn=Smith", []string{"person"}, map[string][]string{"cn": {"John Smith"}, "sn": {"Smith"}}}, ldap.Success},
		{"operational attrs allowed", person(map[string][]string{"createTimestamp": {"20250101000000Z"}}), ldap.Success},
		{"subtype of allowed type", entry{"cn=x", []string{"device"}, map[string][]string{"cn": {"x"}, "o": {"o"}}}, ldap.Success},
		{"extensibleObject", person(map[string][]string{"uidNumber": {"5"}}, "person", "extensibleObject"), ldap.Success},
		{"no objectClass", entry{"cn=x", nil, map[string][]string{"cn": {"x"}}}, ldap.ObjectClassViolation},
		{"unknown objectClass", person(nil, "person", "noSuchClass"), ldap.InvalidAttributeSyntax},
		{"no structural", entry{"uid=x", []string{"top", "uidObject"}, map[string][]string{"uid": {"x"}}}, ldap.ObjectClassViolation},
		{"abstract only", entry{"cn=x", []string{"top"}, map[string][]string{"cn": {"x"}}}, ldap.ObjectClassViolation},
		{"two unrelated structural", person(map[string][]string{"ou": {"x"}}, "person", "organizationalUnit"), ldap.ObjectClassViolation},
		{"structural chain ok", person(nil, "person", "organizationalPerson", "inetOrgPerson"), ldap.Success},
		{"missing MUST", entry{"cn=x", []string{"person"}, map[string][]string{"cn": {"x"}}}, ldap.ObjectClassViolation},
		{"missing aux MUST", person(nil, "person", "posixAccount"), ldap.ObjectClassViolation},
		{"not allowed", person(map[string][]string{"mail": {"a@b"}}), ldap.ObjectClassViolation},
		{"bad syntax", person(map[string][]string{"uidNumber": {"x"}}, "inetOrgPerson", "posixAccount"), ldap.InvalidAttributeSyntax},
		{"empty value", person(map[string][]string{"description": {""}}), ldap.InvalidAttributeSyntax},
		{"no values", person(map[string][]string{"description": {}}), ldap.InvalidAttributeSyntax},
		{"single-valued", person(map[string][]string{"displayName": {"a", "b"}}, "inetOrgPerson"), ldap.ConstraintViolation},
		{"duplicate values", person(map[string][]string{"description": {"Hello", "hello "}}), ldap.AttributeOrValueExists},
		{"duplicate objectClass", person(nil, "person", "PERSON"), ldap.AttributeOrValueExists},
		{"rdn value missing", entry{"cn=Other", []string{"person"}, map[string][]string{"cn": {"x"}, "sn": {"s"}}}, ldap.NamingViolation},
		{"rdn attr missing", entry{"uid=x", []string{"person"}, map[string][]string{"cn": {"x"}, "sn": {"s"}}}, ldap.NamingViolation},
		{"rdn unknown type", entry{"foo=x", []string{"person"}, map[string][]string{"cn": {"x"}, "sn": {"s"}}}, ldap.NamingViolation},
	}
	for _, tt := range tests {
		dn, err := ldap.ParseDN(tt.e.rdn)
		if err != nil {
			t.Fatal(err)
		}
		var ocs [][]byte
		for _, o := range tt.e.ocs {
			ocs = append(ocs, []byte(o))
		}
		m := map[string][][]byte{}
		for k, vs := range tt.e.attrs {
			m[k] = [][]byte{}
			for _, v := range vs {
				m[k] = append(m[k], []byte(v))
			}
		}
		attrs, lerr := s.AttrsOf(m)
		if lerr != nil {
			t.Fatalf("%s: %v", tt.name, lerr)
		}
		got := s.Check(dn[0], ocs, attrs)
		code := ldap.Success
		if got != nil {
			code = got.Code
		}
		if code != tt.code {
			t.Errorf("%s: got %v, want code %d", tt.name, got, tt.code)
		}
	}
}

func TestResolveAttribute(t *testing.T) {
	s := mustDefault(t)
	a, opts, err := s.ResolveAttribute("CN;lang-en;binary")
	if err != nil || a.Name() != "cn" || len(opts) != 2 || opts[0] != "lang-en" {
		t.Errorf("got %v %v %v", a, opts, err)
	}
	for _, bad := range []string{"nosuch", "cn;;", "1.2.3.", "cn;", ";x", "c n"} {
		if _, _, err := s.ResolveAttribute(bad); err == nil || err.Code != ldap.UndefinedAttributeType {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, name := range []string{"commonName", "2.5.4.3", "COMMONNAME", "cn;x-foo"} {
		if a, ok := s.Attribute(name); !ok || a.OID != "2.5.4.3" {
			t.Errorf("Attribute(%q) failed", name)
		}
	}
	if base, o := SplitOptions("cn;lang-en"); base != "cn" || len(o) != 1 {
		t.Errorf("SplitOptions: %q %q", base, o)
	}
	for desc, want := range map[string]bool{"cn": true, "cn;lang-en": true, "2.5.4.3;x": true, "cn;;": false, "1.2.3.": false, "": false, "-cn": false, "01.2": false} {
		if ValidDescription(desc) != want {
			t.Errorf("ValidDescription(%q) != %v", desc, want)
		}
	}
}

func TestStructuralClassAndHelpers(t *testing.T) {
	s := mustDefault(t)
	bs := func(v ...string) (out [][]byte) {
		for _, x := range v {
			out = append(out, []byte(x))
		}
		return out
	}
	o, err := s.StructuralClass(bs("top", "person", "inetOrgPerson", "organizationalPerson", "posixAccount"))
	if err != nil || o.Name() != "inetOrgPerson" {
		t.Errorf("StructuralClass = %v, %v", o, err)
	}
	if e := s.CheckStructuralChange(bs("person"), bs("person", "posixAccount")); e != nil {
		t.Errorf("adding aux class: %v", e)
	}
	if e := s.CheckStructuralChange(bs("person"), bs("organizationalPerson")); e == nil || e.Code != ldap.ObjectClassModsProhibited {
		t.Errorf("changing structural class: %v", e)
	}
	rdn := ldap.RDN{{Type: "CN", Value: "John Smith"}}
	cn, sn := mustAttr(t, s, "cn"), mustAttr(t, s, "sn")
	if !s.InRDN(rdn, cn, []byte("john  smith")) || s.InRDN(rdn, cn, []byte("john")) || s.InRDN(rdn, sn, []byte("John Smith")) {
		t.Error("InRDN wrong")
	}
	inet, _ := s.ObjectClass("inetOrgPerson")
	must := map[string]bool{}
	for _, a := range inet.AllMust() {
		must[a.Name()] = true
	}
	if len(must) != 3 || !must["cn"] || !must["sn"] || !must["objectClass"] {
		t.Errorf("inetOrgPerson AllMust = %v", must)
	}
	may := map[string]bool{}
	for _, a := range inet.AllMay() {
		may[a.Name()] = true
	}
	for _, n := range []string{"mail", "telephoneNumber", "title", "userPassword", "jpegPhoto"} {
		if !may[n] {
			t.Errorf("inetOrgPerson AllMay lacks %s", n)
		}
	}
	if may["cn"] {
		t.Error("AllMay contains a MUST attribute")
	}
}

func TestBuiltins(t *testing.T) {
	s := mustDefault(t)
	for _, n := range []string{"memberOf", "entryUUID", "entryDN", "hasSubordinates", "numSubordinates", "vendorName",
		"mozillaSecondEmail", "mozillaCustom4", "nsAIMid", "shadowExpire", "labeledURI", "userCertificate", "jpegPhoto",
		"departmentNumber", "subschemaSubentry", "supportedSASLMechanisms", "mozillaHomeStreet2"} {
		if _, ok := s.Attribute(n); !ok {
			t.Errorf("missing attribute %s", n)
		}
	}
	for _, n := range []string{"mozillaAbPersonAlpha", "posixGroup", "shadowAccount", "friendlyCountry", "account",
		"document", "domain", "residentialPerson", "applicationProcess", "groupOfUniqueNames", "subschema", "alias"} {
		if _, ok := s.ObjectClass(n); !ok {
			t.Errorf("missing class %s", n)
		}
	}
	mo := mustAttr(t, s, "memberOf")
	if !mo.IsOperational() || mo.Usage != DirectoryOperation || mo.Syntax.OID != SyntaxDN {
		t.Errorf("memberOf: %v", mo)
	}
	if pg, _ := s.ObjectClass("posixGroup"); pg.Kind != Auxiliary {
		t.Error("posixGroup must be AUXILIARY")
	}
	cn := mustAttr(t, s, "cn")
	if cn.Sup == nil || cn.Sup.Name() != "name" || cn.Equality == nil || cn.Equality.Name() != "caseIgnoreMatch" || cn.Syntax.OID != SyntaxDirectory {
		t.Error("cn did not inherit from name")
	}
	if cn.IsOperational() || mustAttr(t, s, "mail").SyntaxLen != 256 {
		t.Error("flags wrong")
	}
}

func TestConcurrentReaders(t *testing.T) {
	s := mustDefault(t)
	done := make(chan bool)
	for i := 0; i < 4; i++ {
		go func() {
			defer func() { done <- true }()
			for j := 0; j < 200; j++ {
				a, _ := s.Attribute("CN")
				_, _ = a.Normalize([]byte("Ångström  X"))
				_, _ = s.NormalizeDNString("cn=x,dc=y")
				_ = s.SubschemaAttributes()
			}
		}()
	}
	for i := 0; i < 4; i++ {
		<-done
	}
}
