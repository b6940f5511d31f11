package index

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// fakeLists is a ListCache that records what Estimate asks and offers.
type fakeLists struct{ m map[string]fakeList }

type fakeList struct {
	ids []uint32
	n   int
}

func (f *fakeLists) List(prefix []byte) ([]uint32, int, bool) {
	l, ok := f.m[string(prefix)]
	return l.ids, l.n, ok
}

func (f *fakeLists) PutList(prefix []byte, ids []uint32, n int) {
	f.m[string(prefix)] = fakeList{slices.Clone(ids), n}
}

// TestEstimateThroughListCache checks Estimate's use of a ListCache: a
// complete list is answered from it, a lower bound that reaches the limit
// too, a bound below the limit is counted again, and what the store tells
// is offered back (the list, or the bound when counting stopped).
func TestEstimateThroughListCache(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	short, long := []byte("i\x03uid\x01a"), []byte("p\x03uid")
	err = db.Update(func(txn *badger.Txn) error {
		for id := uint64(1); id <= 40; id++ {
			if id == 7 {
				if err := txn.Set(binary.BigEndian.AppendUint64(slices.Clone(short), id), nil); err != nil {
					return err
				}
			}
			if err := txn.Set(binary.BigEndian.AppendUint64(slices.Clone(long), id), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lists := &fakeLists{m: map[string]fakeList{}}
	err = db.View(func(txn *badger.Txn) error {
		r := Reader{Txn: txn, Lists: lists}
		if n, bm := r.Estimate(short, 16, 16); n != 1 || bm == nil || !bm.Contains(7) {
			t.Errorf("short list from the store: %d, %v", n, bm)
		}
		if l := lists.m[string(short)]; l.n != 1 || !slices.Equal(l.ids, []uint32{7}) {
			t.Errorf("short list offered as %+v", l)
		}
		if n, bm := r.Estimate(long, 16, 16); n != 16 || bm != nil {
			t.Errorf("long list from the store: %d, %v", n, bm)
		}
		if l := lists.m[string(long)]; l.n != 16 || l.ids != nil {
			t.Errorf("long list offered as %+v, want the bound 16", l)
		}
		// From the cache: the store is not consulted (a lie shows it).
		lists.m[string(short)] = fakeList{[]uint32{9}, 1}
		if n, bm := r.Estimate(short, 16, 16); n != 1 || bm == nil || !bm.Contains(9) {
			t.Errorf("cached short list: %d, %v", n, bm)
		}
		if n, bm := r.Estimate(long, 16, 16); n != 16 || bm != nil {
			t.Errorf("cached bound at the limit: %d, %v", n, bm)
		}
		// A bound below a larger limit is counted in the store again.
		if n, bm := r.Estimate(long, 100, 100); n != 40 || bm == nil || bm.GetCardinality() != 40 {
			t.Errorf("bound below the limit: %d, %v", n, bm)
		}
		if l := lists.m[string(long)]; l.n != 40 || len(l.ids) != 40 {
			t.Errorf("recounted list offered as n=%d with %d IDs", l.n, len(l.ids))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
