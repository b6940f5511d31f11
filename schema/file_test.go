package schema

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExtendDotSchema(t *testing.T) {
	s := mustDefault(t)
	ns, err := s.Extend("testdata/custom.schema")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Attribute("sbPwdMaxAge"); ok {
		t.Fatal("Extend modified the original schema")
	}
	a := mustAttr(t, ns, "sbPasswordAttribute")
	if a.OID != "1.3.6.1.4.1.99999.1.2" || !a.SingleValue || a.Equality.Name() != "objectIdentifierMatch" {
		t.Errorf("sbPwdAttribute: %s", a)
	}
	note := mustAttr(t, ns, "sbNote")
	if note.Desc != `it's a note with a backslash \ in it` || note.Sup.Name() != "description" || note.Equality.Name() != "caseIgnoreMatch" {
		t.Errorf("sbNote: %q %s", note.Desc, note)
	}
	badge := mustAttr(t, ns, "sbBadge")
	if badge.Syntax.OID != "1.3.6.1.4.1.99999.3.1" || badge.SyntaxLen != 32 {
		t.Errorf("sbBadge syntax: %s", badge)
	}
	if !mustAttr(t, ns, "sbPwdChangedTime").IsOperational() {
		t.Error("sbPwdChangedTime not operational")
	}
	emp, ok := ns.ObjectClass("sbEmployee")
	if !ok || len(emp.Sup) != 1 || emp.Sup[0].Name() != "inetOrgPerson" {
		t.Fatal("sbEmployee")
	}
	st, err := ns.StructuralClass([][]byte{[]byte("sbEmployee"), []byte("inetOrgPerson"), []byte("sbPwdPolicy")})
	if err != nil || st != emp {
		t.Errorf("StructuralClass: %v %v", st, err)
	}
	if !strings.Contains(note.String(), "X-ORIGIN ( 'one' 'two' )") || !strings.Contains(note.String(), `it\27s`) {
		t.Errorf("sbNote String: %s", note)
	}
}

func TestExtendLDIF(t *testing.T) {
	s := mustDefault(t)
	ns, err := s.Extend("testdata/custom.ldif")
	if err != nil {
		t.Fatal(err)
	}
	c := mustAttr(t, ns, "sbColour")
	if c.OID != "1.3.6.1.4.1.99999.10.1" || c.Desc != "favourite colour" || c.Syntax.OID != SyntaxDirectory {
		t.Errorf("sbColour: %s", c)
	}
	if mustAttr(t, ns, "sbShape").Sup.Name() != "name" {
		t.Error("sbShape (base64 value)")
	}
	mustAttr(t, ns, "sbSize")
	for _, n := range []string{"sbThing", "sbSized"} {
		if _, ok := ns.ObjectClass(n); !ok {
			t.Errorf("missing %s", n)
		}
	}
}

func TestSchemaFileErrors(t *testing.T) {
	bad := []string{
		"attributetype ( 1.2.3 NAME 'x' SUP nosuch )",
		"attributetype ( Undefined:1 NAME 'x' SUP name )",
		"attributetype ( 1.2.3 NAME 'x' EQUALITY noSuchMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
		"attributetype ( 1.2.3 NAME 'x' EQUALITY caseIgnoreOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
		"attributetype ( 1.2.3 NAME 'cn' SUP name )", // name clash with 2.5.4.3
		"objectclass ( 1.2.3 NAME 'x' SUP person AUXILIARY )",
		"objectclass ( 1.2.3 NAME 'x' MUST nosuch )",
		"frobnicate ( 1.2.3 )",
		"attributetype ( 1.2.3 NAME 'x' SUP name",
		"attributetype ( 1.2.4 NAME 'a' SUP b )\nattributetype ( 1.2.5 NAME 'b' SUP a )",
	}
	s := mustDefault(t)
	dir := t.TempDir()
	for i, b := range bad {
		p := filepath.Join(dir, "bad.schema")
		if err := os.WriteFile(p, []byte(b), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Extend(p); err == nil {
			t.Errorf("%d: %q accepted", i, b)
		}
	}
}

func TestExtendReplacesByOID(t *testing.T) {
	s := mustDefault(t)
	d, err := ParseObjectClass("( 1.3.6.1.1.1.2.2 NAME 'posixGroup' SUP top STRUCTURAL MUST ( cn $ gidNumber ) )")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := s.ExtendDefinitions(nil, []*ObjectClassDescription{d})
	if err != nil {
		t.Fatal(err)
	}
	if pg, _ := ns.ObjectClass("posixGroup"); pg.Kind != Structural {
		t.Error("redefinition did not replace")
	}
	if pg, _ := s.ObjectClass("posixGroup"); pg.Kind != Auxiliary {
		t.Error("original schema changed")
	}
}

// TestSystemOpenLDAPSchema loads the schema files of an installed OpenLDAP
// when they are present.
func TestSystemOpenLDAPSchema(t *testing.T) {
	dir := "/etc/ldap/schema"
	files := []string{"core.schema", "cosine.schema", "inetorgperson.schema", "nis.schema"}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Skipf("%s not present", f)
		}
	}
	s := mustDefault(t)
	var err error
	for _, f := range files {
		if s, err = s.Extend(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"dsa", "pilotPerson", "inetOrgPerson", "posixAccount", "nisMap"} {
		if _, ok := s.ObjectClass(n); !ok {
			t.Errorf("missing %s", n)
		}
	}
	// The LDIF forms load too.
	l, err := mustDefault(t).Extend(filepath.Join(dir, "core.ldif"))
	if err != nil {
		t.Skipf("core.ldif: %v", err)
	}
	mustAttr(t, l, "knowledgeInformation")
}
