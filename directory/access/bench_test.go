package access_test

import (
	"testing"

	"github.com/switchboard-ldap/switchboard/directory/access"
)

// BenchmarkEntry is the per-entry cost a search pays: the rules selecting
// an entry, found once, then the read check of each of its attributes, for
// a user under the default rules with an admin group.
func BenchmarkEntry(b *testing.B) {
	e := openEngine(b)
	p, err := access.Compile(e, access.DefaultRules(access.DefaultOptions{AdminGroup: "cn=admins,ou=groups,dc=example,dc=com"}))
	if err != nil {
		b.Fatal(err)
	}
	en := entry(bob, "objectClass", "inetOrgPerson", "uid", "bob", "cn", "Bob", "sn", "B", "givenName", "Bob",
		"mail", "bob@example.com", "telephoneNumber", "1", "title", "t", "description", "d", "userPassword", "x",
		"entryUUID", "u", "createTimestamp", "20250101000000Z", "modifyTimestamp", "20250101000000Z")
	rq := p.For(access.Subject{DN: alice}, func(string) bool { return false })
	b.ReportAllocs()
	readable := 0
	for b.Loop() {
		ea := rq.Entry(en.NDN, en)
		if !ea.Entry().Has(access.Read) {
			b.Fatal("entry not readable")
		}
		for _, a := range en.Attrs {
			if ea.Attr(a.Name).Has(access.Read) {
				readable++
			}
		}
	}
	if readable == 0 {
		b.Fatal("nothing readable")
	}
}

// BenchmarkRequester is the per-request cost: binding a subject to the
// policy (group membership answered from a cache).
func BenchmarkRequester(b *testing.B) {
	e := openEngine(b)
	p, err := access.Compile(e, access.DefaultRules(access.DefaultOptions{AdminGroup: "cn=admins,ou=groups,dc=example,dc=com"}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.For(access.Subject{DN: alice}, func(string) bool { return false })
	}
}
