package schema

import (
	"bytes"
	"testing"
)

func FuzzParseAttributeType(f *testing.F) {
	f.Add("( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )")
	f.Add("( 1.2.3 NAME 'x' DESC 'a \\27q\\27' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{256} SINGLE-VALUE X-ORIGIN ( 'a' 'b' ) )")
	f.Add("( 1.2.3 SUP name USAGE dSAOperation NO-USER-MODIFICATION )")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAttributeType(s)
		if err != nil {
			return
		}
		// What parses must print and parse back to the same text.
		out := d.String()
		d2, err := ParseAttributeType(out)
		if err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if d2.String() != out {
			t.Fatalf("unstable: %q -> %q", out, d2.String())
		}
	})
}

func FuzzParseObjectClass(f *testing.F) {
	f.Add("( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ description ) )")
	f.Add("( 1.2.3 NAME 'x' ABSTRACT X-ORIGIN 'y' )")
	f.Add("(1.2.3 AUXILIARY MAY a)")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseObjectClass(s)
		if err != nil {
			return
		}
		out := d.String()
		d2, err := ParseObjectClass(out)
		if err != nil {
			t.Fatalf("reparse of %q: %v", out, err)
		}
		if d2.String() != out {
			t.Fatalf("unstable: %q -> %q", out, d2.String())
		}
	})
}

func FuzzSchemaFile(f *testing.F) {
	for _, p := range []string{"testdata/custom.schema", "testdata/custom.ldif"} {
		if b, err := readFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("objectidentifier A 1.2\nattributetype ( A:1 NAME 'a' SUP name )\nobjectclass ( A:2 NAME 'b' MAY a )"))
	s := mustDefault(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ats, ocs, err := ParseSchemaFile(data)
		if err != nil {
			return
		}
		// Building may fail (bad references); it must not panic.
		_, _ = s.ExtendDefinitions(ats, ocs)
	})
}

func FuzzNormalize(f *testing.F) {
	for _, v := range []string{"ÅNGSTRÖM", "ﬁ", "A\u030a", "  a  b  ", "soft\u00adhyphen", "Straße", "\u0345", "ǅ", "\u1e9e", "x\u200by", "Vikas Smith", "  MÜller\tX ", "\t", "ab@Example.COM"} {
		f.Add([]byte(v))
	}
	s := mustDefault(f)
	attrs := []*AttributeType{mustAttr(f, s, "cn"), mustAttr(f, s, "labeledURI"), mustAttr(f, s, "telephoneNumber"),
		mustAttr(f, s, "mail"), mustAttr(f, s, "postalAddress"), mustAttr(f, s, "member"), mustAttr(f, s, "createTimestamp")}
	f.Fuzz(func(t *testing.T, v []byte) {
		for _, a := range attrs {
			n, err := a.Normalize(v)
			if err != nil {
				continue
			}
			n = append([]byte(nil), n...)
			// The buffered forms equal the allocated ones, whatever
			// the buffer held before.
			buf := []byte("stale bytes left in the buffer")
			if an, err := a.AppendNormalize(buf[:3], v); err != nil || !bytes.Equal(an, n) {
				t.Fatalf("%s: AppendNormalize(%q) = %q, %v; Normalize gives %q", a.Name(), v, an, err, n)
			}
			if a.Substr != nil {
				checkPrefix(t, a, v)
				sv, serr := a.SubstringValue(v)
				asv, aerr := a.AppendSubstringValue(buf[:0], v)
				if (serr == nil) != (aerr == nil) || !bytes.Equal(sv, asv) {
					t.Fatalf("%s: AppendSubstringValue(%q) = %q, %v; SubstringValue gives %q, %v", a.Name(), v, asv, aerr, sv, serr)
				}
			}
			n2, err := a.Normalize(n)
			if err != nil {
				t.Fatalf("%s: normal form %q of %q does not normalise: %v", a.Name(), n, v, err)
			}
			if !bytes.Equal(n, n2) {
				t.Fatalf("%s: not idempotent: %q -> %q -> %q", a.Name(), v, n, n2)
			}
			for _, p := range []SubstringPart{SubInitial, SubAny, SubFinal} {
				if a.Substr != nil {
					_, _ = a.NormalizeSubstring(v, p)
				}
			}
		}
	})
}

// FuzzNormalizeDN checks that a normalised DN is its own normal form: the
// directory takes a DN that equals a stored entry's normalised DN byte for
// byte as already normal, without parsing it.
func FuzzNormalizeDN(f *testing.F) {
	for _, v := range []string{"uid=jdoe,ou=People,dc=Example,dc=com", "CN=John  Smith+sn=X,O=a\\,b", "cn=#04024869",
		"cn=\\ x\\ ,dc=y", "2.5.4.3=Ångström", "mail=A@B.example", "cn=a\\2cb", "member=uid=x\\,dc=y", "cn=\\23x"} {
		f.Add(v)
	}
	s := mustDefault(f)
	f.Fuzz(func(t *testing.T, dn string) {
		n, err := s.NormalizeDNString(dn)
		if err != nil {
			return
		}
		n2, err := s.NormalizeDNString(n)
		if err != nil {
			t.Fatalf("normal form %q of %q does not normalise: %v", n, dn, err)
		}
		if n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", dn, n, n2)
		}
	})
}

// checkPrefix checks HasSubstringPrefix against SubstringValue for initial
// pieces made from v itself: its first half, and a few bytes of its
// normal form (which must match).
func checkPrefix(t *testing.T, a *AttributeType, v []byte) {
	sv, err := a.SubstringValue(v)
	var pieces [][]byte
	if p, err := a.NormalizeSubstring(v[:len(v)/2], SubInitial); err == nil {
		pieces = append(pieces, p)
	}
	if err == nil {
		for _, n := range []int{1, 2, len(sv) / 2, len(sv)} {
			if n <= len(sv) {
				pieces = append(pieces, sv[:n])
			}
		}
	}
	for _, p := range pieces {
		match, ok := a.HasSubstringPrefix(v, p)
		if !ok {
			continue
		}
		if want := err == nil && bytes.HasPrefix(sv, p); match != want {
			t.Fatalf("%s: HasSubstringPrefix(%q, %q) = %v; SubstringValue gives %q, %v", a.Name(), v, p, match, sv, err)
		}
	}
}
