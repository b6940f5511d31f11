package merge

import (
	"fmt"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
)

// benchState builds a 10,000-entry directory: 100 OUs of 99 people, each
// person with seven attributes.
func benchState(b *testing.B) (*State, []UUID) {
	s := NewState(testSchema{})
	if err := s.Apply(suffixAdd()); err != nil {
		b.Fatal(err)
	}
	var people []UUID
	n := 0
	next := func() change.CSN { n++; return change.CSN{Time: epoch + int64(n), Replica: 1} }
	for i := range 100 {
		ou := UUID{1, byte(i)}
		if err := s.Apply(opAdd(next(), ou, suffix, fmt.Sprintf("ou=unit%d", i), "objectClass: organizationalUnit", fmt.Sprintf("ou: unit%d", i))); err != nil {
			b.Fatal(err)
		}
		for j := range 99 {
			u := UUID{2, byte(i), byte(j)}
			name := fmt.Sprintf("user%d.%d", i, j)
			if err := s.Apply(opAdd(next(), u, ou, "uid="+name, "objectClass: inetOrgPerson", "objectClass: person",
				"uid: "+name, "cn: User "+name, "sn: "+name, "displayName: "+name, "mail: "+name+"@example.com",
				"description: one", "description: two")); err != nil {
				b.Fatal(err)
			}
			people = append(people, u)
		}
	}
	if s.Len() != 10001 {
		b.Fatalf("%d entries", s.Len())
	}
	return s, people
}

func BenchmarkApplyModify(b *testing.B) {
	s, people := benchState(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o := opMod(change.CSN{Time: epoch + 1e9 + int64(i), Replica: 2}, people[i%len(people)],
			modRepl("displayName", "renamed"), modAdd("description", "three"), modDel("description", "one"))
		if err := s.Apply(o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyAdd(b *testing.B) {
	s, _ := benchState(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		u := UUID{3, byte(i >> 16), byte(i >> 8), byte(i)}
		o := opAdd(change.CSN{Time: epoch + 1e9 + int64(i), Replica: 2}, u, suffix, fmt.Sprintf("cn=new%d", i),
			"objectClass: person", "cn: new", "sn: new")
		if err := s.Apply(o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMaterialize(b *testing.B) {
	s, _ := benchState(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if len(s.Materialize()) != 10001 {
			b.Fatal("short")
		}
	}
}

func BenchmarkDigest(b *testing.B) {
	s, _ := benchState(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		s.Digest()
	}
}
