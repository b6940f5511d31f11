package directory

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/switchboard-ldap/switchboard/schema"
)

// TestDisplacedEntryGetsItsDNBack: ReplaceEntries may store an entry at a
// DN a local write gave another entry after replication's resolution
// placed the first there (the next resolution renames one of them).
// Whichever keeps the DN must be found by it afterwards: when the entry
// that took the DN key leaves (removed, renamed, by a resolution or a
// client), the displaced one gets the key back. Without that, an entry
// was left that searches return but no operation on its DN finds, and
// verify reported an orphan after the replicas had converged.
func TestDisplacedEntryGetsItsDNBack(t *testing.T) {
	const dn = "uid=dup,ou=people,dc=example,dc=com"
	ctx := context.Background()
	cases := []struct {
		name  string
		leave func(t *testing.T, e *Engine, taker *Entry)
	}{
		{"taker removed by a resolution", func(t *testing.T, e *Engine, taker *Entry) {
			must(t, e.ReplaceEntries(ctx, nil, []ID{taker.ID}))
		}},
		{"taker renamed by a resolution", func(t *testing.T, e *Engine, taker *Entry) {
			moved := taker.Clone()
			moved.DN = "uid=dup-conflict,ou=people,dc=example,dc=com"
			must(t, e.ReplaceEntries(ctx, []*Entry{moved}, nil))
		}},
		{"taker deleted by a client", func(t *testing.T, e *Engine, taker *Entry) {
			must(t, errOf(e.Delete(ctx, dn, WriteOptions{})))
		}},
		{"taker renamed by a client", func(t *testing.T, e *Engine, taker *Entry) {
			must(t, errOf(e.ModifyDN(ctx, dn, "uid=other", true, nil, WriteOptions{})))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := openTest(t)
			local, err := e.Add(ctx, dn, person("dup", "Local", "L"), WriteOptions{})
			must(t, err)
			taker := placeOver(t, e, local.After)
			if got, _ := e.Entry(dn); got == nil || got.ID != taker.ID {
				t.Fatalf("%s names %v, want the entry stored over it (%d)", dn, got, taker.ID)
			}
			c.leave(t, e, taker)
			got, err := e.Entry(dn)
			if err != nil || got == nil || got.ID != local.After.ID {
				t.Fatalf("after the taker left, %s names %v (err %v), want the displaced entry %d", dn, got, err, local.After.ID)
			}
			checkIndexes(t, e)
			noDisplacedRecords(t, e)
		})
	}

	t.Run("displaced entry leaves first", func(t *testing.T) {
		e := openTest(t)
		local, err := e.Add(ctx, dn, person("dup", "Local", "L"), WriteOptions{})
		must(t, err)
		taker := placeOver(t, e, local.After)
		must(t, e.ReplaceEntries(ctx, nil, []ID{local.After.ID}))
		must(t, e.ReplaceEntries(ctx, nil, []ID{taker.ID}))
		if got, _ := e.Entry(dn); got != nil {
			t.Fatalf("%s still names entry %d", dn, got.ID)
		}
		checkIndexes(t, e)
		noDisplacedRecords(t, e)
	})

	t.Run("across a restart", func(t *testing.T) {
		s, err := schema.Default()
		must(t, err)
		opt := Options{Dir: t.TempDir(), Suffix: "dc=example,dc=com", Schema: s}
		e, err := Open(opt)
		must(t, err)
		must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
		must(t, errOf(e.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"), WriteOptions{})))
		local, err := e.Add(ctx, dn, person("dup", "Local", "L"), WriteOptions{})
		must(t, err)
		taker := placeOver(t, e, local.After)
		must(t, e.Close())
		if e, err = Open(opt); err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		must(t, e.ReplaceEntries(ctx, nil, []ID{taker.ID}))
		if got, _ := e.Entry(dn); got == nil || got.ID != local.After.ID {
			t.Fatalf("after a restart and the taker's removal, %s names %v, want %d", dn, got, local.After.ID)
		}
		checkIndexes(t, e)
	})
}

// placeOver stores, as a resolution would, a new entry at held's DN.
func placeOver(t *testing.T, e *Engine, held *Entry) *Entry {
	t.Helper()
	id, err := e.NewID()
	must(t, err)
	taker := &Entry{ID: id, ParentID: held.ParentID, DN: held.DN, Attrs: person("dup", "Remote", "R")}
	must(t, e.ReplaceEntries(context.Background(), []*Entry{taker}, nil))
	return taker
}

func checkIndexes(t *testing.T, e *Engine) {
	t.Helper()
	rep, err := e.Verify(context.Background())
	must(t, err)
	if !rep.Agrees() {
		t.Fatalf("verify: %+v", rep)
	}
}

func noDisplacedRecords(t *testing.T, e *Engine) {
	t.Helper()
	must(t, e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = keyDisplaced
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			t.Errorf("displaced record left: %q", it.Item().Key())
		}
		return nil
	}))
}
