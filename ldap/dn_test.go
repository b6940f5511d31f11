package ldap

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

func TestParseDNValid(t *testing.T) {
	tests := []struct {
		in   string
		want DN
		str  string // String() of the result
	}{
		{"", DN{}, ""},
		{"dc=example,dc=com", DN{{{"dc", "example"}}, {{"dc", "com"}}}, "dc=example,dc=com"},
		{"cn=a\\,b,dc=x", DN{{{"cn", "a,b"}}, {{"dc", "x"}}}, `cn=a\,b,dc=x`},
		{`cn=\23x`, DN{{{"cn", "#x"}}}, `cn=\#x`},
		{`cn=x\23`, DN{{{"cn", "x#"}}}, `cn=x#`},
		{"cn=#04024869", DN{{{"cn", "\x04\x02Hi"}}}, "cn=\x04\x02Hi"},
		{"cn=#FF00", DN{{{"cn", "\xff\x00"}}}, "cn=#ff00"},
		{`cn=\ lead`, DN{{{"cn", " lead"}}}, `cn=\ lead`},
		{`cn=trail\ `, DN{{{"cn", "trail "}}}, `cn=trail\ `},
		{`cn=\ \ `, DN{{{"cn", "  "}}}, `cn=\ \ `},
		{"cn = John Smith , dc = example", DN{{{"cn", "John Smith"}}, {{"dc", "example"}}}, "cn=John Smith,dc=example"},
		{"  cn=x  +  sn=y  ", DN{{{"cn", "x"}, {"sn", "y"}}}, "cn=x+sn=y"},
		{"cn=x+sn=y,dc=z", DN{{{"cn", "x"}, {"sn", "y"}}, {{"dc", "z"}}}, "cn=x+sn=y,dc=z"},
		{"2.5.4.3=x", DN{{{"2.5.4.3", "x"}}}, "2.5.4.3=x"},
		{"cn=x;dc=y", DN{{{"cn", "x"}}, {{"dc", "y"}}}, "cn=x,dc=y"},
		{"cn=", DN{{{"cn", ""}}}, "cn="},
		{"cn=,dc=x", DN{{{"cn", ""}}, {{"dc", "x"}}}, "cn=,dc=x"},
		{`cn=\e6\97\a5\e6\9c\ac`, DN{{{"cn", "日本"}}}, "cn=日本"},
		{"cn=日本", DN{{{"cn", "日本"}}}, "cn=日本"},
		{`cn=\"q\"\<\>\;\+\=\\`, DN{{{"cn", `"q"<>;+=\`}}}, `cn=\"q\"\<\>\;\+=\\`},
		{`cn=a\00b`, DN{{{"cn", "a\x00b"}}}, `cn=a\00b`},
		{"cn=a=b", DN{{{"cn", "a=b"}}}, "cn=a=b"},
		{"x-my-attr=1", DN{{{"x-my-attr", "1"}}}, "x-my-attr=1"},
		{"cn=#04024869 ,dc=x", DN{{{"cn", "\x04\x02Hi"}}, {{"dc", "x"}}}, "cn=\x04\x02Hi,dc=x"},
	}
	for _, tc := range tests {
		got, err := ParseDN(tc.in)
		if err != nil {
			t.Errorf("ParseDN(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseDN(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		if s := got.String(); s != tc.str {
			t.Errorf("ParseDN(%q).String() = %q, want %q", tc.in, s, tc.str)
		}
		again, err := ParseDN(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip of %q: %#v, %v", tc.in, again, err)
		}
	}
}

func TestParseDNInvalid(t *testing.T) {
	for _, in := range []string{
		`cn=\`, "cn=#zz", "cn=#", "cn=#123", "=x", "cn=a,,dc=x", "cn=a,", ",cn=a", "cn", "cn=a+", "+cn=a",
		"cn=a\x00b", "cn=\xff", `cn=\zz`, `cn=\4`, `cn=a"b`, "cn=a<b", "cn=a>b", "1cn=x", "2.5..4=x",
		"2.5.04=x", "c_n=x", "cn=#0102 x", "cn=x y,", " = x", `cn=\c3`, "cn=a,dc=b,",
		strings.Repeat("cn=x,", 512) + "cn=y",
	} {
		if dn, err := ParseDN(in); err == nil {
			t.Errorf("ParseDN(%q) = %#v, want error", in, dn)
		} else if !errors.Is(err, ErrDNSyntax) {
			t.Errorf("ParseDN(%q): %v does not wrap ErrDNSyntax", in, err)
		}
	}
	if _, err := ParseDN(strings.Repeat("cn=x,", 511) + "cn=y"); err != nil {
		t.Errorf("512 RDNs: %v", err)
	}
}

func TestDNParentRoot(t *testing.T) {
	dn, err := ParseDN("cn=a+sn=b,ou=people,dc=example")
	if err != nil {
		t.Fatal(err)
	}
	if dn.IsRoot() || dn[0].String() != "cn=a+sn=b" {
		t.Errorf("first RDN %s", dn[0])
	}
	p := dn.Parent()
	if p.String() != "ou=people,dc=example" {
		t.Errorf("parent %s", p)
	}
	root := p.Parent().Parent()
	if !root.IsRoot() || root.String() != "" || !root.Parent().IsRoot() {
		t.Errorf("root %q", root)
	}
}

// TestDNAgainstGoLDAP checks our parse of the values against go-ldap's.
func TestDNAgainstGoLDAP(t *testing.T) {
	for _, s := range []string{
		"cn=John Smith,ou=people,dc=example,dc=com", `cn=a\,b+sn=c\+d,dc=x`, `cn=\23x`, `cn=x\ `,
		"uid=jdoe , ou = people", `cn=\e6\97\a5`,
		// Not "cn=#04024869": go-ldap BER-decodes the hex form to "Hi",
		// while our AVA.Value keeps the octets (04 02 48 69) as they are.
	} {
		ours, err := ParseDN(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		theirs, err := goldap.ParseDN(s)
		if err != nil {
			t.Fatalf("go-ldap %s: %v", s, err)
		}
		if len(ours) != len(theirs.RDNs) {
			t.Fatalf("%s: %d RDNs, go-ldap %d", s, len(ours), len(theirs.RDNs))
		}
		for i, r := range theirs.RDNs {
			for j, a := range r.Attributes {
				if ours[i][j].Type != a.Type || ours[i][j].Value != a.Value {
					t.Errorf("%s: RDN %d AVA %d = %+v, go-ldap %+v", s, i, j, ours[i][j], *a)
				}
			}
		}
	}
}

func FuzzParseDN(f *testing.F) {
	for _, s := range []string{
		"", "dc=example,dc=com", `cn=a\,b`, `cn=\23x`, "cn=#04024869", `cn=\ x\ `, "cn=x+sn=y", "2.5.4.3=x",
		" cn = x ; dc = y ", `cn=\`, "cn=#zz", "=x", "cn=a,,dc=x", "cn=\x00", "cn=\xff", `cn=\c3\a9`, "cn=#ff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		dn, err := ParseDN(s)
		slow, slowErr := parseDN(s, false)
		if (err == nil) != (slowErr == nil) || !reflect.DeepEqual(dn, slow) {
			t.Fatalf("%q: fast path %#v, %v; general path %#v, %v", s, dn, err, slow, slowErr)
		}
		if err != nil {
			if !errors.Is(err, ErrDNSyntax) {
				t.Fatalf("error %v does not wrap ErrDNSyntax", err)
			}
			return
		}
		if len(dn) > MaxDNRDNs {
			t.Fatalf("%d RDNs", len(dn))
		}
		out := dn.String()
		again, err := ParseDN(out)
		if err != nil {
			t.Fatalf("ParseDN(%q) (from %q): %v", out, s, err)
		}
		if !reflect.DeepEqual(again, dn) {
			t.Fatalf("round trip %q -> %q: %#v != %#v", s, out, again, dn)
		}
		if again.String() != out {
			t.Fatalf("String not stable: %q -> %q", out, again.String())
		}
	})
}
