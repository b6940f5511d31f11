package directory

import (
	"cmp"
	"context"
	"hash/maphash"
	"runtime"
	"slices"
	"sync"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
)

// IndexReport is what Verify found.
type IndexReport struct {
	Entries int // entries checked
	Keys    int // index keys the entries call for
	Missing int // keys the entries call for that the store lacks
	Stray   int // index keys in the store that no entry calls for
	Orphans int // entries without their DN or child key, and DN or child keys that name no such entry
}

// Agrees reports whether the store's keys are what its entries call for.
func (r IndexReport) Agrees() bool { return r.Missing == 0 && r.Stray == 0 && r.Orphans == 0 }

// Verify recomputes every index key, DN key and child key from the
// entries and compares them with the keys the store holds, from one
// snapshot: after a crash, the two must be equal, since an entry and its
// keys commit together. Only complete indexes are checked.
//
// Both sides are compared as sets of 128-bit hashes of the keys (with the
// ID a DN key holds), sorted, so that a store of millions of entries is
// checked in a few bytes a key rather than a map of them: a key missing
// from one side goes unnoticed only if its hash equals another key's (a
// chance of about n²/2¹²⁹ for n keys). The entries are decoded and their
// keys hashed on every CPU, each key prefix is read on its own goroutine.
func (e *Engine) Verify(ctx context.Context) (IndexReport, error) {
	var rep IndexReport
	cfg := e.readyIdx.Load()
	h := keyHasher{maphash.MakeSeed(), maphash.MakeSeed()}
	err := e.db().View(func(txn *badger.Txn) error {
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			gotIdx    [][]keyHash // per prefix
			gotStruct [][]keyHash
			workers   = runtime.GOMAXPROCS(0)
			// Per worker: index keys, DN keys with their ID and child
			// keys, scratch, entries.
			wantIdx    = make([][]keyHash, workers)
			wantStruct = make([][]keyHash, workers)
			scratch    = make([][]byte, workers)
			keyBuf     = make([][][]byte, workers)
			entries    = make([]int, workers)
		)
		// The stored keys, a prefix at a time, while the entries are read.
		sem := make(chan struct{}, workers)
		for _, p := range []byte{index.PrefixPresence, index.PrefixEquality, index.PrefixSubstring,
			index.PrefixOrdering, index.PrefixApprox, prefixChild, prefixDN} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				hs, err := storedKeyHashes(ctx, txn, p, h)
				if err != nil {
					cancel(err)
				}
				slices.SortFunc(hs, keyHash.compare)
				mu.Lock()
				if p == prefixChild || p == prefixDN {
					gotStruct = append(gotStruct, hs)
				} else {
					gotIdx = append(gotIdx, hs)
				}
				mu.Unlock()
			}()
		}
		err := e.forEachEntryIn(ctx, txn, workers, func(w int, en *Entry) error {
			entries[w]++
			keyBuf[w] = e.appendIndexKeys(keyBuf[w][:0], cfg, en, nil)
			for _, k := range keyBuf[w] {
				wantIdx[w] = append(wantIdx[w], h.sum(k))
			}
			b := appendID(append(append(scratch[w][:0], prefixDN), en.NDN...), en.ID)
			wantStruct[w] = append(wantStruct[w], h.sum(b))
			b = appendID(appendID(append(b[:0], prefixChild), en.ParentID), en.ID)
			wantStruct[w] = append(wantStruct[w], h.sum(b))
			scratch[w] = b
			return nil
		})
		if err != nil {
			cancel(err)
		}
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				slices.SortFunc(wantIdx[w], keyHash.compare)
				// An entry may call for one key twice (cn and cn;lang-en
				// feeding one index); keys end with the ID, so no two
				// entries share one.
				wantIdx[w] = slices.Compact(wantIdx[w])
				slices.SortFunc(wantStruct[w], keyHash.compare)
			}()
		}
		wg.Wait()
		if err := context.Cause(ctx); err != nil {
			return err
		}
		for _, n := range entries {
			rep.Entries += n
		}
		keys, seen, stored := countCommon(wantIdx, gotIdx)
		rep.Keys, rep.Missing, rep.Stray = keys, keys-seen, stored-seen
		want, seen, stored := countCommon(wantStruct, gotStruct)
		rep.Orphans = want - seen + stored - seen
		return nil
	})
	return rep, err
}

// storedKeyHashes returns the hashes of the store's keys under prefix p;
// a DN key's hash covers the ID it holds.
func storedKeyHashes(ctx context.Context, txn *badger.Txn, p byte, h keyHasher) ([]keyHash, error) {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = []byte{p}
	it := txn.NewIterator(opt)
	defer it.Close()
	var out []keyHash
	var scratch []byte
	for it.Rewind(); it.Valid(); it.Next() {
		if len(out)%4096 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		k := it.Item().Key()
		if p != prefixDN {
			out = append(out, h.sum(k))
			continue
		}
		scratch = append(scratch[:0], k...)
		err := it.Item().Value(func(v []byte) error {
			scratch = append(scratch, v...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, h.sum(scratch))
	}
	return out, nil
}

// keyHash is a 128-bit hash of a key.
type keyHash struct{ hi, lo uint64 }

func (a keyHash) compare(b keyHash) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// keyHasher hashes keys with two seeds of one process.
type keyHasher struct{ a, b maphash.Seed }

func (h keyHasher) sum(k []byte) keyHash {
	return keyHash{maphash.Bytes(h.a, k), maphash.Bytes(h.b, k)}
}

// countCommon walks the union of the sorted runs of want and of got side
// by side and returns how many distinct hashes each holds and how many
// both hold.
func countCommon(want, got [][]keyHash) (nWant, common, nGot int) {
	w, g := newRunMerge(want), newRunMerge(got)
	wv, wok := w.next()
	gv, gok := g.next()
	for wok || gok {
		switch {
		case !gok || (wok && wv.compare(gv) < 0):
			nWant++
			wv, wok = w.next()
		case !wok || gv.compare(wv) < 0:
			nGot++
			gv, gok = g.next()
		default:
			nWant, nGot, common = nWant+1, nGot+1, common+1
			wv, wok = w.next()
			gv, gok = g.next()
		}
	}
	return nWant, common, nGot
}

// runMerge yields the distinct hashes of a few sorted runs in order.
type runMerge struct {
	runs [][]keyHash
	last keyHash
	any  bool
}

func newRunMerge(runs [][]keyHash) *runMerge {
	return &runMerge{runs: slices.DeleteFunc(slices.Clone(runs), func(r []keyHash) bool { return len(r) == 0 })}
}

func (m *runMerge) next() (keyHash, bool) {
	for {
		best := -1
		for i, r := range m.runs {
			if best < 0 || r[0].compare(m.runs[best][0]) < 0 {
				best = i
			}
		}
		if best < 0 {
			return keyHash{}, false
		}
		v := m.runs[best][0]
		if m.runs[best] = m.runs[best][1:]; len(m.runs[best]) == 0 {
			m.runs = slices.Delete(m.runs, best, best+1)
		}
		if m.any && v == m.last {
			continue
		}
		m.last, m.any = v, true
		return v, true
	}
}
