package directory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// TestLoaderMatchesAdd bulk-loads entries with tiny sorted runs (so that
// the k-way merge of many run files is exercised), then checks that the
// store answers like one filled by Add: same entries, indexes complete,
// IDs continuing after the load, and a rejected duplicate.
func TestLoaderMatchesAdd(t *testing.T) {
	dir := t.TempDir()
	s, err := schema.Default()
	must(t, err)
	e, err := Open(Options{Dir: filepath.Join(dir, "db"), NoSync: true, BulkLoad: true, Suffix: "dc=example,dc=com", Schema: s})
	must(t, err)
	l, err := e.NewLoader(filepath.Join(dir, "runs"))
	must(t, err)
	l.runs.limit = 64 << 10 // many runs
	ctx := context.Background()
	must(t, l.Add(ctx, "dc=example,dc=com", attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E")))
	must(t, l.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people")))
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 400 {
		uid := fmt.Sprintf("u%d", i)
		must(t, l.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", person(uid, propGiven[r.IntN(len(propGiven))]+" "+propSurname[r.IntN(len(propSurname))], propSurname[r.IntN(len(propSurname))], "mail", uid+"@example.com")))
	}
	if err := l.Add(ctx, "uid=u1,ou=people,dc=example,dc=com", person("u1", "x", "y")); code(err) != ldap.EntryAlreadyExists {
		t.Errorf("duplicate in a load: %v", err)
	}
	if err := l.Add(ctx, "uid=x,ou=nowhere,dc=example,dc=com", person("x", "x", "y")); code(err) != ldap.NoSuchObject {
		t.Errorf("orphan in a load: %v", err)
	}
	if len(l.runs.files) < 5 {
		t.Fatalf("only %d run files: the merge is not exercised", len(l.runs.files))
	}
	must(t, l.Finish())
	must(t, e.Close())

	e, err = Open(Options{Dir: filepath.Join(dir, "db"), Suffix: "dc=example,dc=com", Schema: s})
	must(t, err)
	defer e.Close()
	if e.EntryCount() != 402 {
		t.Fatalf("EntryCount = %d, want 402", e.EntryCount())
	}
	for range 100 {
		f := randomFilter(r, 2)
		if got, want := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f), scanSearch(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f); !slices.Equal(got, want) {
			t.Fatalf("after a bulk load, %s: planned %v, scan %v", f, got, want)
		}
	}
	ch, err := e.Add(ctx, "uid=new,ou=people,dc=example,dc=com", person("new", "N", "N"), WriteOptions{})
	must(t, err)
	if ch.After.ID <= 402 {
		t.Errorf("ID after the load = %d, reuses loaded IDs", ch.After.ID)
	}
	if _, err := e.NewLoader(t.TempDir()); err != ErrNotEmpty {
		t.Errorf("loader on a full store: %v", err)
	}
}

func TestVerifyFindsDamage(t *testing.T) {
	e := openTest(t)
	fillRandom(t, e, rand.New(rand.NewPCG(2, 2)), 50)
	rep, err := e.Verify(context.Background())
	must(t, err)
	if rep.Missing != 0 || rep.Stray != 0 || rep.Orphans != 0 || rep.Entries < 40 {
		t.Fatalf("clean store: %+v", rep)
	}
	// Remove one index key and add a stray one behind the engine's back.
	var victim []byte
	must(t, e.db.Update(func(txn *badgerTxn) error {
		opt := badgerIterOpts()
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Seek([]byte{'s'}); it.Valid(); it.Next() {
			victim = it.Item().KeyCopy(nil)
			break
		}
		if err := txn.Delete(victim); err != nil {
			return err
		}
		return txn.Set(append([]byte{'i', 3, 'u', 'i', 'd', 1, 'z'}, 0, 0, 0, 0, 0, 0, 0, 99), nil)
	}))
	rep, err = e.Verify(context.Background())
	must(t, err)
	if rep.Missing != 1 || rep.Stray != 1 {
		t.Fatalf("damaged store: %+v, want 1 missing and 1 stray", rep)
	}
}
