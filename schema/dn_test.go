package schema

import (
	"errors"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
)

func TestNormalizeDNString(t *testing.T) {
	s := mustDefault(t)
	tests := []struct{ in, want string }{
		{"", ""},
		{"CN=Foo\\2C Bar , dc=Example,DC=com", "cn=foo\\, bar,dc=example,dc=com"},
		{"cn=foo\\, bar,dc=example,dc=com", "cn=foo\\, bar,dc=example,dc=com"},
		{"SN=B+CN=A,DC=X", "cn=a+sn=b,dc=x"},
		{"cn=A+sn=B,DC=X", "cn=a+sn=b,dc=x"},
		{"2.5.4.3=x,0.9.2342.19200300.100.1.25=Y", "cn=x,dc=y"},
		{"commonName=X", "cn=x"},
		{"fooBar=Some  Value,dc=x", "foobar=some value,dc=x"}, // unknown type: caseIgnore
		{"uid=JDoe", "uid=jdoe"},
		{"cn=\\#hash\\20", "cn=\\#hash"},
		{"cn=\\ lead", "cn=lead"},
		{"cn=a\\+b", "cn=a\\+b"},
		{"cn=ÅNGSTRÖM", "cn=ångström"},
		{"cn=#04024869", "cn=hi"}, // hex form: ParseDN gives the BER octets; prep drops the control bytes
	}
	for _, tt := range tests {
		got, err := s.NormalizeDNString(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
		// Normal forms are fixed points.
		again, err := s.NormalizeDNString(got)
		if err != nil || again != got {
			t.Errorf("%q: renormalising %q gave %q, %v", tt.in, got, again, err)
		}
	}
	for _, bad := range []string{"cn", "cn=x,,dc=y", "uidNumber=abc", "c=DEU", "cn="} {
		_, err := s.NormalizeDNString(bad)
		var le *ldap.Error
		if !errors.As(err, &le) || le.Code != ldap.InvalidDNSyntax {
			t.Errorf("%q: err %v, want invalidDNSyntax", bad, err)
		}
	}
}

func TestNormalizeDNParsed(t *testing.T) {
	s := mustDefault(t)
	dn := ldap.DN{{{Type: "OU", Value: "People"}}, {{Type: "dc", Value: "Example"}}}
	got, err := s.NormalizeDN(dn)
	if err != nil || got != "ou=people,dc=example" {
		t.Errorf("got %q, %v", got, err)
	}
	rdn, err := s.NormalizeRDN(ldap.RDN{{Type: "sn", Value: "B"}, {Type: "cn", Value: "A"}})
	if err != nil || rdn != "cn=a+sn=b" {
		t.Errorf("NormalizeRDN: %q %v", rdn, err)
	}
}
