package ldif

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
)

// benchData builds n inetOrgPerson-like entries of roughly 500 bytes each,
// some with base64 values, as written by Writer.
func benchData(b *testing.B, n int) []byte {
	b.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("user%06d", i)
		dn := "uid=" + uid + ",ou=people,dc=example,dc=com"
		cn := "Given" + uid + " Surname"
		if i%5 == 0 {
			cn = "José Müller " + uid
		}
		attrs := []Attr{
			attr("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount"),
			attr("uid", uid), attr("cn", cn), attr("sn", "Surname"), attr("givenName", "Given"+uid),
			attr("mail", uid+"@example.com"), attr("telephoneNumber", "+1 555 0100 "+uid[4:]),
			attr("title", "Senior Engineer"), attr("ou", "Engineering"), attr("employeeNumber", uid[4:]),
			attr("postalAddress", "Example Corp$123 Main Street$Springfield, IL 62701"),
			attr("uidNumber", fmt.Sprint(10000+i)), attr("gidNumber", "10000"),
			attr("homeDirectory", "/home/"+uid), attr("loginShell", "/bin/bash"),
			attr("userPassword", "{SSHA}"+strings.Repeat("A", 32)),
			attr("description", strings.Repeat("lorem ipsum ", 8)),
		}
		if err := w.WriteEntry(dn, attrs); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkReader parses 100k entries (the bulk import path).
func BenchmarkReader(b *testing.B) {
	const n = 100000
	data := benchData(b, n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), ReaderOptions{})
		count := 0
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			count++
		}
		if count != n {
			b.Fatalf("read %d records, want %d", count, n)
		}
	}
	b.ReportMetric(float64(n), "entries/op")
}

func BenchmarkWriter(b *testing.B) {
	attrs := []Attr{
		attr("objectClass", "top", "person", "inetOrgPerson"), attr("cn", "José Müller"),
		attr("sn", "Müller"), attr("mail", "jose@example.com"), attr("description", strings.Repeat("lorem ipsum ", 10)),
	}
	w := NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteEntry("uid=jose,ou=people,dc=example,dc=com", attrs); err != nil {
			b.Fatal(err)
		}
	}
}
