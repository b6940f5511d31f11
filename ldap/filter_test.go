package ldap

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// crossCheckFilters are valid for both RFC 4515 and go-ldap's compiler.
var crossCheckFilters = []string{
	"(cn=John Doe)",
	"(objectClass=*)",
	"(cn=J*)",
	"(cn=*Doe)",
	"(cn=J*D*e)",
	"(cn=*o*)",
	"(cn=a*b*c*d)",
	"(cn=a**b)",
	"(cn=*a**)",
	"(cn=)",
	"(uidNumber>=1000)",
	"(uidNumber<=1000)",
	"(sn~=smith)",
	"(&(objectClass=person)(cn=x))",
	"(|(uid=a)(uid=b)(uid=c))",
	"(!(cn=x))",
	"(&)",
	"(|)",
	"(!(&(a=b)(!(c=d))))",
	"(&(objectClass=inetOrgPerson)(|(uid=jdoe)(mail=jdoe*)))",
	"(&(|(!(a=1))(b>=2))(c<=3)(d~=4)(e=*)(f=g*))",
	"(cn:=John)",
	"(cn:dn:=John)",
	"(cn:caseExactMatch:=John)",
	"(cn:dn:2.5.13.5:=John)",
	"(:dn:2.5.13.5:=John)",
	"(:caseIgnoreMatch:=x)",
	"(o:dn:=Ace Industry)",
	"(cn:dn:=)",
	"(userAccountControl:1.2.840.113556.1.4.803:=2)",
	`(cn=\28paren\29)`,
	`(cn=star\2a)`,
	`(cn=star\2A)`,
	`(cn=*\2a*)`,
	`(cn=back\5cslash)`,
	`(cn=nul\00byte)`,
	`(cn=Lu\c4\8di\c4\87)`,
	"(cn=Lučić)",
	"(cn=日本語*)",
	`(cn=\e4\bd\a0)`,
	"(1.3.6.1.4.1.1466.115.121.1.15=x)",
	"(cn;lang-en=x)",
	"(description=a=b)",
	"(cn=>)",
	"(cn= spaced )",
	"(CN=UPPER)",
	"(&(&(&(&(a=1)))))",
	"(|(&(a=1)(b=2))(&(c=3)(!(d=4))))",
	"(mail=*@example.com)",
	"(telephoneNumber=+1 555*)",
	"(cn=a*b*c*d*e*f*g)",
	"(modifyTimestamp>=20240101000000Z)",
}

// goldapBytes returns go-ldap's encoding of s, with its BOOLEAN TRUE
// (0x01 in dnAttributes) replaced by the 0xFF that RFC 4511 section 5.1
// requires and that we send.
func goldapBytes(t *testing.T, s string) []byte {
	t.Helper()
	p, err := goldap.CompileFilter(s)
	if err != nil {
		t.Fatalf("go-ldap CompileFilter(%q): %v", s, err)
	}
	b := p.Bytes()
	if strings.Contains(s, ":dn") {
		b = bytes.Replace(b, []byte{0x84, 0x01, 0x01}, []byte{0x84, 0x01, 0xff}, 1)
	}
	return b
}

func TestFilterCrossCheckGoLDAP(t *testing.T) {
	for _, s := range crossCheckFilters {
		t.Run(s, func(t *testing.T) {
			p, err := goldap.CompileFilter(s)
			if err != nil {
				t.Fatal(err)
			}
			want, err := goldap.DecompileFilter(p)
			if err != nil {
				t.Fatal(err)
			}
			// Their BER (untouched, BOOLEAN 0x01 and all) through our decoder.
			var req Request
			if err := DecodeRequest(searchWithRawFilter(1, p.Bytes()), &req); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := req.Search.Filter.String(); got != want {
				t.Errorf("String() = %q, go-ldap DecompileFilter = %q", got, want)
			}
			// Our parser and encoder against their compiler.
			f, err := ParseFilter(s)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			if got, want := AppendFilter(nil, f), goldapBytes(t, s); !bytes.Equal(got, want) {
				t.Errorf("AppendFilter = % x\n     go-ldap = % x", got, want)
			}
			if f.String() != want {
				t.Errorf("ParseFilter(%q).String() = %q, want %q", s, f.String(), want)
			}
		})
	}
}

func TestParseFilterCanonical(t *testing.T) {
	for _, s := range []string{
		"(cn=x)", "(&(a=b)(c=d))", "(|)", "(cn=a*b*c)", "(cn=*x)", `(cn=\28\29\2a\5c\00)`, `(cn=\c3\a9)`,
		"(cn:dn:1.2.3:=v)", "(:dn:1.2.3:=v)", "(:=v)", "(cn~=a)",
	} {
		f, err := ParseFilter(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if f.String() != s {
			t.Errorf("ParseFilter(%q).String() = %q", s, f.String())
		}
	}
	// Leniencies: no outer parentheses, upper-case :DN and hex.
	for in, want := range map[string]string{
		"uid=jdoe":       "(uid=jdoe)",
		"(cn:DN:=x)":     "(cn:dn:=x)",
		`(cn=\2A\C3\A9)`: `(cn=\2a\c3\a9)`,
		"(cn=é)":         `(cn=\c3\a9)`,
	} {
		f, err := ParseFilter(in)
		if err != nil || f.String() != want {
			t.Errorf("ParseFilter(%q) = %v, %v; want %s", in, f, err, want)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	deep := strings.Repeat("(!", 101) + "(a=b)" + strings.Repeat(")", 101)
	for _, s := range []string{
		"", "(", "()", "(cn)", "(cn=x", "cn=x)", "(cn=x))", "(&(cn=x)", `(cn=\zz)`, `(cn=\2)`, `(cn=\`,
		"(=x)", "(cn=**)", "(cn=*)(x=y)", "(cn=a(b)", "(!)", "(!(a=b)(c=d))", "(cn=\xff)", "(cn:=x*y)",
		"(cn:dn)", "( cn=x)", "(cn=x )x", "(cn>x)", "(cn<x)", "(cn~x)", "(c n=x)", "(cn:=\x00)", "(cn::=x)",
		"(cn:1.2.3)", "(&(a=b) )", deep,
	} {
		if f, err := ParseFilter(s); err == nil {
			t.Errorf("ParseFilter(%q) = %s, want error", s, f)
		} else if !errors.Is(err, ErrFilterSyntax) {
			t.Errorf("ParseFilter(%q) error %v does not wrap ErrFilterSyntax", s, err)
		}
	}
	ok := strings.Repeat("(!", 99) + "(a=b)" + strings.Repeat(")", 99)
	if _, err := ParseFilter(ok); err != nil {
		t.Errorf("100 levels: %v", err)
	}
}

func TestFilterStringEscapesDecodedBytes(t *testing.T) {
	f := &Filter{Kind: FilterSubstrings, Attr: []byte("cn"), Initial: []byte("a(b"), Any: [][]byte{[]byte("*"), []byte{0xff}}, Final: []byte{0}}
	want := `(cn=a\28b*\2a*\ff*\00)`
	if got := f.String(); got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	g, err := ParseFilter(want)
	if err != nil || !bytes.Equal(AppendFilter(nil, g), AppendFilter(nil, f)) {
		t.Errorf("round trip: %v", err)
	}
}

// checkFilterText is the invariant shared by the filter fuzzers: a parsed
// filter prints to text that parses to the same filter, and its BER
// encoding decodes to the same text.
func checkFilterText(t *testing.T, f *Filter) {
	t.Helper()
	s := f.String()
	g, err := ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(String()) of %q: %v", s, err)
	}
	if g.String() != s {
		t.Fatalf("text round trip %q -> %q", s, g.String())
	}
	var req Request
	if err := DecodeRequest(searchWithRawFilter(1, AppendFilter(nil, g)), &req); err != nil {
		t.Fatalf("decoding AppendFilter(%q): %v", s, err)
	}
	if got := req.Search.Filter.String(); got != s {
		t.Fatalf("BER round trip %q -> %q", s, got)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range crossCheckFilters {
		f.Add(s)
	}
	for _, s := range []string{"uid=x", "(:=x)", `(cn=\zz)`, "(cn=**)", "(&(a=b)", strings.Repeat("(!", 120) + "(a=b)" + strings.Repeat(")", 120)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			return
		}
		checkFilterText(t, flt)
	})
}

func FuzzDecodeFilter(f *testing.F) {
	for _, s := range crossCheckFilters {
		p, err := goldap.CompileFilter(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p.Bytes())
	}
	f.Add([]byte{0xa9, 0x03, 0x83, 0x01, 'x'})
	f.Add([]byte{0xa4, 0x06, 0x04, 0x02, 'c', 'n', 0x30, 0x00})
	f.Add([]byte{0xa2, 0x80, 0x87, 0x01, 'a', 0x00, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		var req Request
		if err := DecodeRequest(searchWithRawFilter(1, data), &req); err != nil {
			return
		}
		checkDecodedFilter(t, req.Search.Filter)
	})
}

// checkDecodedFilter is the invariant for filters that came off the wire:
// encoding what we decoded and decoding it again is lossless, and when the
// text form parses (wire filters may hold what text cannot, such as odd
// attribute names or empty substring parts) it is stable.
func checkDecodedFilter(t *testing.T, flt *Filter) {
	t.Helper()
	s := flt.String()
	var req2 Request
	if err := DecodeRequest(searchWithRawFilter(1, AppendFilter(nil, flt)), &req2); err != nil {
		t.Fatalf("re-encoded %q does not decode: %v", s, err)
	}
	if got := req2.Search.Filter.String(); got != s {
		t.Fatalf("re-encode changed %q to %q", s, got)
	}
	if g, err := ParseFilter(s); err == nil {
		checkFilterText(t, g)
	}
}
