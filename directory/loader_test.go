package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4/pb"
	"google.golang.org/protobuf/proto"

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
	must(t, e.db().Update(func(txn *badgerTxn) error {
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

// TestRunSortOrder checks the word-at-a-time sort against bytes.Compare on
// keys built to be hard for it: long shared prefixes, keys that are
// prefixes of others, zero bytes where the padding goes, empty keys.
func TestRunSortOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	stems := [][]byte{nil, []byte("i\x03uid\x01"), []byte("i\x02cn\x03abcdefghijklmnop"), {0, 0, 0, 0, 0, 0, 0, 0}, []byte("e")}
	var b runBuffer
	var want [][]byte
	for range 20000 {
		k := append([]byte(nil), stems[r.IntN(len(stems))]...)
		for range r.IntN(20) {
			k = append(k, "\x00\x01ab\xff"[r.IntN(5)])
		}
		b.recs = append(b.recs, rec{pfx: keyPrefix(k), off: uint32(len(b.buf)), klen: uint32(len(k))})
		b.buf = append(b.buf, k...)
		want = append(want, k)
	}
	b.sort()
	slices.SortFunc(want, bytes.Compare)
	for i := range b.recs {
		if got := b.key(&b.recs[i]); !bytes.Equal(got, want[i]) {
			t.Fatalf("key %d = %q, want %q", i, got, want[i])
		}
	}
}

// TestLoaderLoad runs the concurrent Load path on the same kind of data as
// TestLoaderMatchesAdd and checks the store against searches by scan, and
// that a failing entry stops the load at that entry, named by its line,
// even when later entries are prepared before it is committed.
func TestLoaderLoad(t *testing.T) {
	s, err := schema.Default()
	must(t, err)
	recs := func(n int, bad int) iter.Seq2[LoadRecord, error] {
		return func(yield func(LoadRecord, error) bool) {
			r := rand.New(rand.NewPCG(9, 9))
			if !yield(LoadRecord{DN: "dc=example,dc=com", Attrs: attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), Line: 1}, nil) ||
				!yield(LoadRecord{DN: "ou=people,dc=example,dc=com", Attrs: attrs("objectClass", "organizationalUnit", "ou", "people"), Line: 2}, nil) {
				return
			}
			for i := range n {
				uid := fmt.Sprintf("u%d", i)
				dn := "uid=" + uid + ",ou=people,dc=example,dc=com"
				if i == bad {
					dn = "uid=" + uid + ",ou=nowhere,dc=example,dc=com"
				}
				a := person(uid, propGiven[r.IntN(len(propGiven))]+" "+propSurname[r.IntN(len(propSurname))], propSurname[r.IntN(len(propSurname))], "mail", uid+"@example.com")
				if !yield(LoadRecord{DN: dn, Attrs: a, Line: 3 + i}, nil) {
					return
				}
			}
		}
	}
	open := func(t *testing.T) (*Engine, *Loader) {
		dir := t.TempDir()
		e, err := Open(Options{Dir: filepath.Join(dir, "db"), NoSync: true, BulkLoad: true, Suffix: "dc=example,dc=com", Schema: s})
		must(t, err)
		l, err := e.NewLoader(filepath.Join(dir, "runs"))
		must(t, err)
		l.runs.limit = 64 << 10
		return e, l
	}
	t.Run("ok", func(t *testing.T) {
		e, l := open(t)
		defer e.Close()
		n, err := l.Load(context.Background(), recs(3000, -1), 3, nil)
		must(t, err)
		if n != 3002 {
			t.Fatalf("Load added %d, want 3002", n)
		}
		must(t, l.Finish())
		if e.EntryCount() != 3002 {
			t.Fatalf("EntryCount = %d", e.EntryCount())
		}
		rep, err := e.Verify(context.Background())
		must(t, err)
		if rep.Missing != 0 || rep.Stray != 0 || rep.Orphans != 0 || rep.Entries != 3002 {
			t.Fatalf("after Load: %+v", rep)
		}
		r := rand.New(rand.NewPCG(5, 5))
		for range 100 {
			f := randomFilter(r, 2)
			if got, want := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f), scanSearch(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, f); !slices.Equal(got, want) {
				t.Fatalf("after Load, %s: planned %v, scan %v", f, got, want)
			}
		}
	})
	t.Run("orphan", func(t *testing.T) {
		e, l := open(t)
		defer e.Close()
		n, err := l.Load(context.Background(), recs(3000, 1700), 3, nil)
		var le *LoadError
		if !errors.As(err, &le) || le.Line != 3+1700 || code(err) != ldap.NoSuchObject {
			t.Fatalf("Load with an orphan: %v", err)
		}
		if n != 2+1700 {
			t.Errorf("Load added %d before the orphan, want %d", n, 2+1700)
		}
		l.Cancel()
	})
	t.Run("read error", func(t *testing.T) {
		e, l := open(t)
		defer e.Close()
		boom := errors.New("boom")
		src := func(yield func(LoadRecord, error) bool) {
			for rec, err := range recs(1000, -1) {
				if rec.Line == 600 {
					yield(LoadRecord{}, boom)
					return
				}
				if !yield(rec, err) {
					return
				}
			}
		}
		if _, err := l.Load(context.Background(), src, 2, nil); err != boom {
			t.Fatalf("Load with a failing input: %v", err)
		}
		l.Cancel()
	})
}

// TestAppendKV checks the hand-written pb.KV encoding against the
// generated code's.
func TestAppendKV(t *testing.T) {
	for _, c := range []struct{ k, v []byte }{
		{[]byte("e\x00\x00\x00\x00\x00\x00\x00\x01"), bytes.Repeat([]byte("x"), 300)},
		{[]byte("i\x03uid"), nil},
		{bytes.Repeat([]byte("k"), 200), []byte{0}},
		{nil, nil},
	} {
		want, err := proto.Marshal(&pb.KV{Key: c.k, Value: c.v, Version: 1})
		must(t, err)
		got := appendKV(nil, c.k, c.v)
		if !bytes.Equal(got, want) || len(got) != kvSize(c.k, c.v) {
			t.Errorf("appendKV(%q, %q) = %x (size %d), want %x", c.k, c.v, got, kvSize(c.k, c.v), want)
		}
	}
}

// TestRunSorterMerge spills many runs, plus a presorted one, and checks
// that the merge yields every pair once, in order, twice over.
func TestRunSorterMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	s, err := newRunSorter(t.TempDir(), 256<<10)
	must(t, err)
	defer s.close()
	var want []string
	for i := range 60000 {
		k := fmt.Appendf(nil, "i%c%06d", 'a'+r.IntN(3), r.IntN(20000))
		if r.IntN(10) == 0 {
			k = append(k, 0) // a key that extends another
		}
		must(t, s.add(k, []byte("v")))
		want = append(want, string(k))
		if i%4 == 0 {
			k := fmt.Appendf(nil, "e%08d", i)
			must(t, s.addSorted(k, nil))
			want = append(want, string(k))
		}
	}
	slices.Sort(want)
	if len(s.files) < 10 {
		t.Fatalf("only %d runs", len(s.files))
	}
	for range 2 {
		var got []string
		must(t, s.merge(func(k, v []byte) error {
			got = append(got, string(k))
			return nil
		}))
		if !slices.Equal(got, want) {
			t.Fatalf("merged %d keys, want %d, or out of order", len(got), len(want))
		}
	}
}

// TestLoaderSideRecords: a bulk load keeps the side records the store
// held before it and writes those given with AddRecord.
func TestLoaderSideRecords(t *testing.T) {
	dir := t.TempDir()
	s, err := schema.Default()
	must(t, err)
	e, err := Open(Options{Dir: filepath.Join(dir, "db"), NoSync: true, Suffix: "dc=example,dc=com", Schema: s})
	must(t, err)
	ctx := context.Background()
	kept := []byte{PrefixReplication, 'k', 'e', 'p', 't'}
	must(t, e.UpdateRecords(ctx, func(tx *Tx) error { return tx.PutRecord(kept, []byte("before")) }))
	l, err := e.NewLoader(filepath.Join(dir, "runs"))
	must(t, err)
	l.runs.limit = 4 << 10 // several runs
	if err := l.AddRecord([]byte("enot side"), nil); err == nil {
		t.Fatal("AddRecord took a key outside the side records")
	}
	for i := range 300 {
		must(t, l.AddRecord(fmt.Appendf([]byte{PrefixReplication}, "s%05d", i), fmt.Appendf(nil, "state %d", i)))
	}
	must(t, l.Add(ctx, "dc=example,dc=com", attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E")))
	must(t, l.Finish())
	must(t, e.Close())

	e, err = Open(Options{Dir: filepath.Join(dir, "db"), Suffix: "dc=example,dc=com", Schema: s})
	must(t, err)
	defer e.Close()
	if e.EntryCount() != 1 {
		t.Fatalf("EntryCount = %d, want 1", e.EntryCount())
	}
	must(t, e.View(func(v *View) error {
		if b, err := v.Record(kept); err != nil || string(b) != "before" {
			t.Errorf("the record held before the load: %q, %v", b, err)
		}
		n := 0
		err := v.Records([]byte{PrefixReplication, 's'}, nil, false, func(k, val []byte) (bool, error) {
			if want := fmt.Sprintf("state %d", n); string(val) != want {
				t.Errorf("record %q = %q, want %q", k, val, want)
			}
			n++
			return true, nil
		})
		if n != 300 {
			t.Errorf("%d records loaded, want 300", n)
		}
		return err
	}))
}

// TestLoaderResolved: a load of resolved entries (a replica join) stores
// what the merge made, as ReplaceEntries would, even when an add would be
// refused (a person without sn, as concurrent modifies may leave one; a
// value given twice), with its attribute names resolved and its indexes
// built; a plain load refuses the same entry.
func TestLoaderResolved(t *testing.T) {
	s, err := schema.Default()
	must(t, err)
	recs := func(yield func(LoadRecord, error) bool) {
		if !yield(LoadRecord{DN: "dc=example,dc=com", Attrs: attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E")}, nil) {
			return
		}
		yield(LoadRecord{DN: "cn=Ann,dc=example,dc=com", Attrs: attrs("objectClass", "person", "CN", "Ann", "commonName", "ann", "description", "x", "description", "x")}, nil)
	}
	for _, resolved := range []bool{false, true} {
		dir := t.TempDir()
		e, err := Open(Options{Dir: filepath.Join(dir, "db"), NoSync: true, BulkLoad: true, Suffix: "dc=example,dc=com", Schema: s})
		must(t, err)
		l, err := e.NewLoader(filepath.Join(dir, "runs"))
		must(t, err)
		if resolved {
			l.Resolved()
		}
		n, err := l.Load(context.Background(), recs, 2, nil)
		if !resolved {
			if err == nil || code(err) != ldap.ObjectClassViolation && code(err) != ldap.AttributeOrValueExists {
				t.Fatalf("plain load of an unchecked entry: %d added, %v", n, err)
			}
			l.Cancel()
			e.Close()
			continue
		}
		must(t, err)
		must(t, l.Finish())
		if got := search(t, e, "dc=example,dc=com", ldap.ScopeWholeSubtree, "(cn=ann)"); len(got) != 1 {
			t.Fatalf("resolved load: (cn=ann) finds %v", got)
		}
		en, err := e.Get(context.Background(), "cn=ann,dc=example,dc=com")
		must(t, err)
		var names []string
		for _, a := range en.Attrs {
			names = append(names, a.Name)
		}
		if !slices.Contains(names, "cn") || slices.Contains(names, "CN") || slices.Contains(names, "commonName") {
			t.Errorf("resolved load: attribute names %v, want cn resolved and merged", names)
		}
		rep, err := e.Verify(context.Background())
		must(t, err)
		if rep.Missing != 0 || rep.Stray != 0 || rep.Entries != 2 {
			t.Fatalf("after a resolved load: %+v", rep)
		}
		e.Close()
	}
}
