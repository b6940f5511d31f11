package directory

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/schema"
)

// TestValueLogGCShrinksTheLog churns a photo (values go to the value log)
// and checks that a GC round rewrites the dead files away, that the value
// log on disk shrinks, and that the statistics report it.
func TestValueLogGCShrinksTheLog(t *testing.T) {
	dir := t.TempDir()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	open := func() *Engine {
		e, err := Open(Options{Dir: dir, Suffix: "dc=example,dc=com", Schema: s, NoSync: true,
			ValueLogGCInterval: -1, tune: func(bo badger.Options) badger.Options {
				// Small value log files; and two tables in level 0 are
				// enough for a compaction, which drops old versions.
				return bo.WithValueLogFileSize(1 << 20).WithNumLevelZeroTables(1)
			}})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open()
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	dn := "cn=churn,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, attrs("objectClass", "inetOrgPerson", "cn", "churn", "sn", "C"), WriteOptions{})))
	photo := make([]byte, 256<<10)
	// Each close flushes the memtable to a table in level 0; compacting
	// the two drops the old versions, which tells Badger which value log
	// files are dead.
	for range 2 {
		for range 24 {
			rand.Read(photo)
			must(t, errOf(e.Modify(ctx, dn, []Mod{{Op: change.ModReplace, Attr: Attr{Name: "jpegPhoto", Values: [][]byte{photo}}}}, WriteOptions{})))
		}
		must(t, e.Close())
		e = open()
	}
	defer e.Close()
	must(t, e.db().Flatten(1))

	e.measureValueLog(ctx)
	before := e.ValueLogStats()
	if before.Bytes < 8<<20 || before.Reclaimable < before.Bytes/2 {
		t.Fatalf("before GC: %+v", before)
	}
	n := e.RunValueLogGC(ctx)
	after := e.ValueLogStats()
	t.Logf("before %+v, after %+v", before, after)
	if n == 0 || after.Rewrites != uint64(n) || after.Runs != 1 {
		t.Fatalf("GC rewrote %d files: %+v", n, after)
	}
	if after.Bytes >= before.Bytes/2 || after.Reclaimable >= before.Reclaimable {
		t.Fatalf("value log did not shrink: before %+v, after %+v", before, after)
	}
	en, err := e.Get(ctx, dn)
	if err != nil || en == nil || len(findAttr(en, "jpegPhoto").Values[0]) != len(photo) {
		t.Fatalf("entry after GC: %v %v", en, err)
	}
}
