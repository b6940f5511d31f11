package ldap

import (
	"bytes"
	"testing"
)

func BenchmarkDecodeSearch(b *testing.B) {
	pdu := validSearchPDU(b)
	var req Request
	if err := DecodeRequest(pdu, &req); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pdu)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := DecodeRequest(pdu, &req); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEntry is a 14-attribute inetOrgPerson-like entry.
func benchEntry() *Entry {
	v := func(s ...string) [][]byte {
		out := make([][]byte, len(s))
		for i := range s {
			out[i] = []byte(s[i])
		}
		return out
	}
	return &Entry{DN: "uid=jdoe,ou=people,dc=example,dc=com", Attributes: []Attribute{
		{Name: "objectClass", Values: v("top", "person", "organizationalPerson", "inetOrgPerson")},
		{Name: "uid", Values: v("jdoe")},
		{Name: "cn", Values: v("John Doe", "Johnny Doe")},
		{Name: "sn", Values: v("Doe")},
		{Name: "givenName", Values: v("John")},
		{Name: "mail", Values: v("jdoe@example.com", "john.doe@example.com")},
		{Name: "telephoneNumber", Values: v("+1 555 0100")},
		{Name: "title", Values: v("Engineer")},
		{Name: "ou", Values: v("People", "Engineering")},
		{Name: "employeeNumber", Values: v("12345")},
		{Name: "displayName", Values: v("John Doe")},
		{Name: "description", Values: [][]byte{bytes.Repeat([]byte("d"), 200)}},
		{Name: "memberOf", Values: v("cn=staff,ou=groups,dc=example,dc=com", "cn=eng,ou=groups,dc=example,dc=com")},
		{Name: "userPassword", Values: v("{SSHA}c2VjcmV0c2VjcmV0c2VjcmV0")},
	}}
}

func BenchmarkEncodeEntry(b *testing.B) {
	e := benchEntry()
	buf := AppendEntry(nil, 2, e, false, nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = AppendEntry(buf[:0], 2, e, false, nil)
	}
}

func BenchmarkEncodeResult(b *testing.B) {
	res := &Result{Code: Success, Controls: []ResponseControl{{OID: OIDPagedResults, Value: []byte{0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00}}}}
	buf := AppendResult(nil, 2, OpSearchResultDone, res)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		buf = AppendResult(buf[:0], 2, OpSearchResultDone, res)
	}
}

// TestCodecAllocations holds the hot paths to their allocation budget in
// ordinary test runs, not only when benchmarks are run.
func TestCodecAllocations(t *testing.T) {
	pdu := validSearchPDU(t)
	var req Request
	if err := DecodeRequest(pdu, &req); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = DecodeRequest(pdu, &req) }); n != 0 {
		t.Errorf("DecodeRequest(search): %v allocs/op, want 0", n)
	}
	e := benchEntry()
	buf := AppendEntry(nil, 2, e, false, nil)
	if n := testing.AllocsPerRun(100, func() { buf = AppendEntry(buf[:0], 2, e, false, nil) }); n != 0 {
		t.Errorf("AppendEntry: %v allocs/op, want 0", n)
	}
	res := &Result{Code: NoSuchObject, MatchedDN: "dc=example,dc=com", Diagnostic: "no such entry"}
	buf = AppendResult(buf[:0], 2, OpSearchResultDone, res)
	if n := testing.AllocsPerRun(100, func() { buf = AppendResult(buf[:0], 2, OpSearchResultDone, res) }); n != 0 {
		t.Errorf("AppendResult: %v allocs/op, want 0", n)
	}
}
