package index

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"
)

// Reader reads posting lists inside one Badger transaction. With Lists
// set, Estimate answers short lists from that cache and fills it.
type Reader struct {
	Txn   *badger.Txn
	Lists ListCache
}

// ListCache keeps what Estimate learnt of posting lists between
// transactions: for a short list the IDs under its prefix, in ascending
// order, and n = len(ids); for a long one only that it holds at least n
// IDs (ids nil). The cache decides what it keeps and must drop a prefix
// whenever a write changes its list. Lists it returns are shared and never
// written.
type ListCache interface {
	List(prefix []byte) (ids []uint32, n int, ok bool)
	PutList(prefix []byte, ids []uint32, n int)
}

func (r Reader) iterator(prefix []byte) *badger.Iterator {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = prefix
	return r.Txn.NewIterator(opt)
}

// Scan calls fn with every ID under prefix, in ascending order, until fn
// returns false.
func (r Reader) Scan(prefix []byte, fn func(id uint64) bool) {
	it := r.iterator(prefix)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) != len(prefix)+8 {
			continue
		}
		if !fn(binary.BigEndian.Uint64(k[len(prefix):])) {
			return
		}
	}
}

// Contains reports whether id is in the posting list under prefix.
func (r Reader) Contains(prefix []byte, id uint64) bool {
	k := binary.BigEndian.AppendUint64(append(make([]byte, 0, len(prefix)+8), prefix...), id)
	_, err := r.Txn.Get(k)
	return err == nil
}

// Estimate counts the IDs under prefix, stopping at limit, in one pass
// that also gathers them while there are at most keep: a short posting
// list (the usual equality lookup) is read once, not counted then read.
// The bitmap is nil when the list was longer than keep or reached limit
// (then n is only a lower bound).
//
// With r.Lists, a list the cache holds, or knows to reach limit, is not
// read from the store; a list read whole (shorter than limit, every ID
// within 32 bits) is offered to the cache, and so is the count of one that
// reached limit, as a lower bound.
func (r Reader) Estimate(prefix []byte, keep, limit int) (int, *roaring.Bitmap) {
	if r.Lists != nil {
		if ids, n, ok := r.Lists.List(prefix); ok {
			switch {
			case n >= limit:
				return limit, nil
			case len(ids) != n:
				// Only a lower bound below limit: count it.
			case n > keep:
				return n, nil
			default:
				return n, roaring.BitmapOf(ids...)
			}
		}
	}
	n := 0
	var ids []uint32
	whole := true
	r.Scan(prefix, func(id uint64) bool {
		if id > 0xFFFFFFFF {
			whole = false
		} else if n < keep {
			ids = append(ids, uint32(id))
		}
		n++
		return n < limit
	})
	switch {
	case r.Lists == nil || !whole:
	case n < limit && len(ids) == n:
		r.Lists.PutList(prefix, ids, n)
	case n >= limit:
		r.Lists.PutList(prefix, nil, n)
	}
	if n >= limit || n > keep || len(ids) != n {
		return n, nil // counting stopped early, or too many to keep
	}
	return n, roaring.BitmapOf(ids...)
}

// Count counts the IDs under prefix, stopping at limit.
func (r Reader) Count(prefix []byte, limit int) int {
	n := 0
	r.Scan(prefix, func(uint64) bool { n++; return n < limit })
	return n
}

// ErrTooLarge reports an ID that does not fit the 32-bit bitmaps.
var ErrTooLarge = errors.New("index: entry ID beyond 2^32")

// Bitmap gathers the posting list under prefix into a bitmap.
func (r Reader) Bitmap(prefix []byte) *roaring.Bitmap {
	bm := roaring.New()
	r.Scan(prefix, func(id uint64) bool {
		if id <= 0xFFFFFFFF {
			bm.Add(uint32(id))
		}
		return true
	})
	return bm
}

// Range gathers the IDs whose ordering key lies between lo and hi (the
// results of OrderKey; nil means unbounded), inclusive, stopping after
// limit IDs (then it reports false: the range is too large to gather).
func (r Reader) Range(a *Attribute, lo, hi []byte, limit int) (*roaring.Bitmap, bool) {
	prefix := a.OrderingPrefix()
	it := r.iterator(prefix)
	defer it.Close()
	start := prefix
	if lo != nil {
		start = a.OrderingBound(lo)
	}
	var end []byte
	if hi != nil {
		end = a.OrderingBound(hi)
	}
	bm := roaring.New()
	n := 0
	for it.Seek(start); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) < 8 {
			continue
		}
		if end != nil && bytes.Compare(k[:len(k)-8], end) > 0 {
			break
		}
		if n++; n > limit {
			return nil, false
		}
		if id := binary.BigEndian.Uint64(k[len(k)-8:]); id <= 0xFFFFFFFF {
			bm.Add(uint32(id))
		}
	}
	return bm, true
}

// Postings calls fn with every key under prefix, in key order, as the
// rest of the key after prefix and before the ID, and the ID, until fn
// returns false. rest is valid only during the call.
func (r Reader) Postings(prefix []byte, fn func(rest []byte, id uint64) bool) {
	it := r.iterator(prefix)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		k := it.Item().Key()
		if len(k) < len(prefix)+8 {
			continue
		}
		if !fn(k[len(prefix):len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:])) {
			return
		}
	}
}
