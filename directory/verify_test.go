package directory

import (
	"context"
	"errors"
	"maps"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestVerifyFindsStructureDamage damages a store's DN and child keys behind
// the engine's back, one way per case, and checks that Verify counts each
// as an orphan and nothing else.
func TestVerifyFindsStructureDamage(t *testing.T) {
	cases := []struct {
		name    string
		orphans int
		damage  func(txn *badgerTxn, a, b *Entry) error
	}{
		{"DN key deleted", 1, func(txn *badgerTxn, a, _ *Entry) error {
			return txn.Delete(dnKey(a.NDN))
		}},
		{"DN key naming another entry", 2, func(txn *badgerTxn, a, b *Entry) error {
			return txn.Set(dnKey(a.NDN), appendID(nil, b.ID))
		}},
		{"DN key naming no entry", 1, func(txn *badgerTxn, _, _ *Entry) error {
			return txn.Set(dnKey("uid=ghost,dc=example,dc=com"), appendID(nil, 1<<40))
		}},
		{"child key deleted", 1, func(txn *badgerTxn, a, _ *Entry) error {
			return txn.Delete(childKey(a.ParentID, a.ID))
		}},
		{"child key naming no entry", 1, func(txn *badgerTxn, a, _ *Entry) error {
			return txn.Set(childKey(a.ID, 1<<40), nil)
		}},
		{"child key under the wrong parent", 2, func(txn *badgerTxn, a, b *Entry) error {
			if err := txn.Delete(childKey(a.ParentID, a.ID)); err != nil {
				return err
			}
			return txn.Set(childKey(b.ID, a.ID), nil)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := openTest(t)
			fillRandom(t, e, rand.New(rand.NewPCG(3, 3)), 30)
			ctx := context.Background()
			rep, err := e.Verify(ctx)
			must(t, err)
			if !rep.Agrees() || rep.Entries < 20 || rep.Keys == 0 {
				t.Fatalf("clean store: %+v", rep)
			}
			var a, b *Entry
			must(t, e.Walk(ctx, func(en *Entry) error {
				if en.ParentID != 0 && a == nil {
					a = en
				} else if en.ParentID != 0 && b == nil && en.ID != a.ParentID {
					b = en
				}
				return nil
			}))
			if a == nil || b == nil {
				t.Fatal("no two entries below the suffix")
			}
			must(t, e.db().Update(func(txn *badgerTxn) error { return tc.damage(txn, a, b) }))
			got, err := e.Verify(ctx)
			must(t, err)
			if got.Orphans != tc.orphans || got.Missing != 0 || got.Stray != 0 || got.Entries != rep.Entries || got.Keys != rep.Keys {
				t.Errorf("damaged: %+v, want %d orphans and otherwise %+v", got, tc.orphans, rep)
			}
			if got.Agrees() {
				t.Error("Agrees on a damaged store")
			}
		})
	}
}

// TestVerifyCanceled checks that a canceled Verify returns the context's
// error rather than a partial report.
func TestVerifyCanceled(t *testing.T) {
	e := openTest(t)
	fillRandom(t, e, rand.New(rand.NewPCG(4, 4)), 30)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Verify(ctx); err == nil {
		t.Fatal("Verify with a canceled context: no error")
	}
}

// TestForEachEntryParallel: every entry once, the worker index in range,
// the same entries as ForEachEntry, and the first error ends the walk.
func TestForEachEntryParallel(t *testing.T) {
	e := openTest(t)
	fillRandom(t, e, rand.New(rand.NewPCG(5, 5)), 600)
	ctx := context.Background()
	want := map[ID]string{}
	must(t, e.ForEachEntry(func(en *Entry) error { want[en.ID] = en.NDN; return nil }))
	var mu sync.Mutex
	got := map[ID]string{}
	workers := runtime.GOMAXPROCS(0)
	must(t, e.ForEachEntryParallel(ctx, func(w int, en *Entry) error {
		if w < 0 || w >= workers {
			t.Errorf("worker %d of %d", w, workers)
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := got[en.ID]; ok {
			t.Errorf("entry %d given twice", en.ID)
		}
		got[en.ID] = en.NDN
		return nil
	}))
	if !maps.Equal(got, want) {
		t.Fatalf("%d entries given, %d stored, or they differ", len(got), len(want))
	}
	stop := errors.New("stop")
	var n atomic.Int64
	err := e.ForEachEntryParallel(ctx, func(int, *Entry) error {
		if n.Add(1) == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n.Load() >= int64(len(want)) {
		t.Fatalf("after an error at the 10th entry: err %v, %d calls of %d entries", err, n.Load(), len(want))
	}
}
