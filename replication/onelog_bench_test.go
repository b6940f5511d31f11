package replication

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/schema"
)

// logBytes is the size of eng's side records, keys and values.
func logBytes(b *testing.B, eng *directory.Engine) int {
	n := 0
	err := eng.View(func(v *directory.View) error {
		return v.Records([]byte{directory.PrefixReplication}, nil, false, func(k, val []byte) (bool, error) {
			n += len(k) + len(val)
			return true, nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkLoggedModify: one modify of one entry through the write path
// with its change log record, single- and multi-supplier; log-B/op is
// what the log grows by per write.
func BenchmarkLoggedModify(b *testing.B) {
	run := func(b *testing.B, eng *directory.Engine, dn string) {
		ctx := context.Background()
		before := logBytes(b, eng)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			mods := []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "description", Values: [][]byte{[]byte(fmt.Sprint("d", i))}}}}
			if _, err := eng.Modify(ctx, dn, mods, directory.WriteOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(logBytes(b, eng)-before)/float64(b.N), "log-B/op")
	}
	b.Run("single", func(b *testing.B) {
		eng, _ := openLogB(b)
		addB(b, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
		addB(b, eng, "cn=p,dc=example,dc=com", "objectClass", "person", "cn", "p", "sn", "x")
		run(b, eng, "cn=p,dc=example,dc=com")
	})
	b.Run("multi", func(b *testing.B) {
		r := startReplica(b, 1, "")
		r.seedPeople(1)
		run(b, r.eng, "cn=p0,ou=people,dc=example,dc=com")
	})
}

func openLogB(b *testing.B) (*directory.Engine, *Changelog) {
	b.Helper()
	s, err := schema.Default()
	if err != nil {
		b.Fatal(err)
	}
	l, err := New(Config{Replica: 1})
	if err != nil {
		b.Fatal(err)
	}
	eng, err := directory.Open(directory.Options{Dir: b.TempDir(), NoSync: true, Suffix: "dc=example,dc=com", Schema: s,
		Hooks: []directory.WriteHook{l}, Stamper: l})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { eng.Close() })
	if err := l.Open(eng); err != nil {
		b.Fatal(err)
	}
	return eng, l
}

func addB(b *testing.B, eng *directory.Engine, dn string, attrs ...string) {
	b.Helper()
	var as []directory.Attr
	for i := 0; i+1 < len(attrs); i += 2 {
		as = append(as, directory.Attr{Name: attrs[i], Values: [][]byte{[]byte(attrs[i+1])}})
	}
	if _, err := eng.Add(context.Background(), dn, as, directory.WriteOptions{}); err != nil {
		b.Fatal(err)
	}
}
