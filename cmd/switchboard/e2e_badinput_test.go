package main

import (
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// Bad inputs 7, 13 and 20 of the research note that had no test over the
// wire: huge and binary DNs, extreme page sizes and a paged search given
// up half way, and Unicode look-alikes. Each gets an LDAP result and the
// connection keeps working.
func TestE2EBadInputsOverTheWire(t *testing.T) {
	s := startServer(t, "", "--demo")
	c, err := goldap.DialURL(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(testRootDN, testRootPass); err != nil {
		t.Fatal(err)
	}
	search := func(base, filter string, controls ...goldap.Control) (*goldap.SearchResult, uint16) {
		t.Helper()
		res, err := c.Search(goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, filter, []string{"cn"}, controls))
		if err == nil {
			return res, 0
		}
		var le *goldap.Error
		if !asLDAPError(err, &le) || le.ResultCode >= 200 {
			t.Fatalf("search base %.40q filter %q: %v (connection lost?)", base, filter, err)
		}
		return res, le.ResultCode
	}
	alive := func(what string) {
		t.Helper()
		if res, code := search(testSuffix, "(uid=rtaylor)"); code != 0 || len(res.Entries) != 1 {
			t.Fatalf("after %s: code %d", what, code)
		}
	}

	// 7: a base DN of 10,000 RDNs, a NUL byte, invalid UTF-8.
	for name, base := range map[string]string{
		"10,000 RDNs":  strings.Repeat("cn=a,", 10000) + testSuffix,
		"NUL byte":     "cn=a\x00b," + testSuffix,
		"invalid UTF8": "cn=\xff\xfe," + testSuffix,
	} {
		_, code := search(base, "(objectClass=*)")
		if code != goldap.LDAPResultInvalidDNSyntax && code != goldap.LDAPResultNoSuchObject {
			t.Errorf("%s: code %d, want invalidDNSyntax or noSuchObject", name, code)
		}
		alive(name)
	}

	// 13: page size 0 ends a paged search (RFC 2696 section 3); 2^31
	// does not fit the INTEGER (0..maxInt) and is a protocol error.
	first := goldap.NewControlPaging(5)
	res, code := search(testSuffix, "(objectClass=person)", first)
	cookie := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging).Cookie
	if code != 0 || len(res.Entries) != 5 || len(cookie) == 0 {
		t.Fatalf("first page: code %d, %d entries, cookie %x", code, len(res.Entries), cookie)
	}
	stop := goldap.NewControlPaging(0)
	stop.SetCookie(cookie)
	res, code = search(testSuffix, "(objectClass=person)", stop)
	if code != 0 || len(res.Entries) != 0 || len(goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging).Cookie) != 0 {
		t.Errorf("page size 0 with a cookie: code %d, %d entries", code, len(res.Entries))
	}
	if _, code := search(testSuffix, "(objectClass=person)", rawPaging(1<<31)); code != goldap.LDAPResultProtocolError {
		t.Errorf("page size 2^31: code %d, want protocolError", code)
	}
	if _, code := search(testSuffix, "(objectClass=person)", rawPaging(-1)); code != goldap.LDAPResultProtocolError {
		t.Errorf("page size -1: code %d, want protocolError", code)
	}
	alive("odd page sizes")

	// 20: fullwidth letters fold to ASCII (RFC 4518 maps by NFKC), but a
	// Cyrillic look-alike is another letter and must not match.
	if res, code := search(testSuffix, "(uid=ｒｔａｙｌｏｒ)"); code != 0 || len(res.Entries) != 1 {
		t.Errorf("fullwidth uid: code %d, %d entries; want the entry", code, len(res.Entries))
	}
	if res, code := search(testSuffix, "(uid=rt\u0430ylor)"); code != 0 || len(res.Entries) != 0 {
		t.Errorf("Cyrillic look-alike uid: code %d, %d entries; want none", code, len(res.Entries))
	}
}

// rawPaging is a paged results control with any INTEGER as its size.
type rawPaging int64

func (p rawPaging) GetControlType() string { return goldap.ControlTypePaging }
func (p rawPaging) String() string         { return "raw paging" }
func (p rawPaging) Encode() *ber.Packet {
	pkt := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
	pkt.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, goldap.ControlTypePaging, "Type"))
	val := ber.Encode(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, nil, "Value")
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Paging")
	seq.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(p), "Size"))
	seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "Cookie"))
	val.AppendChild(seq)
	pkt.AppendChild(val)
	return pkt
}
