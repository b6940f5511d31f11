package directory

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
)

// singleLists remembers posting lists that hold exactly one ID: what an
// equality look-up on a unique attribute (uid, mail, entryUUID) reads.
// At a million entries the posting-list map (entryCache.lists) holds a
// tenth of them and each miss costs a Badger iterator (about 10 us of a
// 55 us search); this table holds them in 16 bytes each, with no pointers
// for the collector to scan, and is filled from the equality indexes when
// the store opens (Engine.warmSingles).
//
// A slot keys its list by two independent 64-bit hashes of the prefix
// (tag, and the high half of a second one as check), so two prefixes are
// confused only if 96 bits agree: about once in 2^50 look-ups with four
// million lists. The table is open-addressed with linear probing from
// the slot tag names, and deletes shift the slots after them back, so a
// look-up stops at the first free slot. It doubles when three quarters of
// its slots are used, up to maxSingles slots; then it takes no more lists
// (those stay in entryCache.lists).
//
// It follows the entry cache's rules for writes (epoch, inflight): the
// caller checks the read token and the drops happen under mu.
type singleLists struct {
	mu    sync.RWMutex
	seeds [2]maphash.Seed
	slots []singleSlot // len is a power of two
	used  int
}

type singleSlot struct {
	tag   uint64
	check uint32
	id    uint32 // the entry ID plus one; 0: the slot is free
}

const (
	minSingles     = 1 << 16 // slots at first (1 MiB)
	maxSingles     = 1 << 22 // slots at most (64 MiB)
	singleSlotSize = 16
	maxSingleID    = 1<<32 - 2
)

func newSingleLists() *singleLists {
	return &singleLists{
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		slots: make([]singleSlot, minSingles),
	}
}

// fingerprint hashes a posting-list prefix.
func (s *singleLists) fingerprint(prefix []byte) (tag uint64, check uint32) {
	return maphash.Bytes(s.seeds[0], prefix), uint32(maphash.Bytes(s.seeds[1], prefix) >> 32)
}

// fingerprintString is fingerprint of a prefix held as a string (the
// prefixes writes report); maphash gives the same hash for both forms.
func (s *singleLists) fingerprintString(prefix string) (tag uint64, check uint32) {
	return maphash.String(s.seeds[0], prefix), uint32(maphash.String(s.seeds[1], prefix) >> 32)
}

// find returns the slot holding (tag, check), or the free slot where it
// would go; the caller holds mu.
func (s *singleLists) find(tag uint64, check uint32) (int, bool) {
	mask := len(s.slots) - 1
	for i := int(tag) & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.id == 0 {
			return i, false
		}
		if sl.tag == tag && sl.check == check {
			return i, true
		}
	}
}

// full reports whether the table takes no more lists.
func (s *singleLists) full() bool {
	return s.used >= maxSingles/4*3
}

// lookup returns the one ID under prefix, if the table knows it.
func (s *singleLists) lookup(prefix []byte) (uint32, bool) {
	tag, check := s.fingerprint(prefix)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if i, ok := s.find(tag, check); ok {
		return s.slots[i].id - 1, true
	}
	return 0, false
}

// insert records that the list (tag, check) holds exactly id, and
// reports whether the table took it; the caller holds mu.
func (s *singleLists) insert(tag uint64, check, id uint32) bool {
	if id > maxSingleID {
		return false
	}
	i, ok := s.find(tag, check)
	if !ok {
		if s.used >= len(s.slots)/4*3 {
			if len(s.slots) >= maxSingles {
				return false
			}
			s.grow()
			i, _ = s.find(tag, check)
		}
		s.used++
	}
	s.slots[i] = singleSlot{tag: tag, check: check, id: id + 1}
	return true
}

// grow doubles the table; the caller holds mu.
func (s *singleLists) grow() {
	old := s.slots
	s.slots = make([]singleSlot, 2*len(old))
	for _, sl := range old {
		if sl.id != 0 {
			i, _ := s.find(sl.tag, sl.check)
			s.slots[i] = sl
		}
	}
}

// drop forgets the lists under prefixes; the caller holds mu.
func (s *singleLists) drop(prefixes []string) {
	for _, p := range prefixes {
		if i, ok := s.find(s.fingerprintString(p)); ok {
			s.deleteAt(i)
		}
	}
}

// deleteAt frees slot i and shifts back the slots after it that probed
// past it, so that look-ups still reach them before a free slot; the
// caller holds mu.
func (s *singleLists) deleteAt(i int) {
	mask := len(s.slots) - 1
	s.used--
	for j := (i + 1) & mask; s.slots[j].id != 0; j = (j + 1) & mask {
		home := int(s.slots[j].tag) & mask
		if (j-home)&mask >= (j-i)&mask {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = singleSlot{}
}

// reset forgets every list and shrinks the table; the caller holds mu.
func (s *singleLists) reset() {
	s.slots = make([]singleSlot, minSingles)
	s.used = 0
}

// singlesFull reports whether the table of one-ID lists has grown as far
// as it may.
func (c *entryCache) singlesFull() bool {
	c.singles.mu.RLock()
	defer c.singles.mu.RUnlock()
	return c.singles.full()
}

// singlesUsed returns the number of one-ID lists the table holds.
func (c *entryCache) singlesUsed() int {
	c.singles.mu.RLock()
	defer c.singles.mu.RUnlock()
	return c.singles.used
}

// bytes is the heap the table holds.
func (s *singleLists) bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int64(len(s.slots)) * singleSlotSize
}

// single is one list of one ID found by warmSingles.
type single struct {
	tag   uint64
	check uint32
	id    uint32
}

// putSingles records lists of one ID read in a transaction that began
// with tok, under the rules of put. It reports false when the epoch has
// moved (a write committed since tok) or the table is full, and nothing
// more can be added under tok.
func (c *entryCache) putSingles(tok readToken, batch []single) bool {
	if c == nil || !tok.ok {
		return false
	}
	s := c.singles
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.epoch.Load() != tok.epoch {
		return false
	}
	for _, b := range batch {
		if s.used >= maxSingles/4*3 {
			return false
		}
		s.insert(b.tag, b.check, b.id)
	}
	return true
}

// warmBatch is how many lists of one ID warmSingles reads per transaction.
const warmBatch = 4096

// warmSingles fills the table of one-ID posting lists from the equality
// indexes, in the background after Open and after a background index
// build, until ctx ends, the indexes are
// read or the table is full: a scan of the equality keys in key order
// (attributes with shorter names first) that passes over a longer list
// with one seek. A million people (uid, mail, cn, sn, entryUUID indexed)
// (2.4 million lists of one ID) take 1.5 s of one core, 100,000 people
// 0.16 s.
//
// It reads warmBatch lists per transaction and hands them to the cache
// under the rules of put: a batch during which a write committed is read
// again, up to three times, and then left for searches to fill.
func (e *Engine) warmSingles(ctx context.Context) {
	if e.cache == nil {
		return
	}
	start := time.Now()
	defer func() {
		e.log.Info("posting-list cache warmed from the equality indexes",
			"lists", e.cache.singlesUsed(), "elapsed", time.Since(start).Round(time.Millisecond))
	}()
	next := []byte{index.PrefixEquality}
	tries := 0
	for next != nil && ctx.Err() == nil && !e.cache.singlesFull() {
		tok := e.cache.begin()
		batch, after, err := e.readSingles(next)
		if err != nil {
			e.log.Warn("warming the posting-list cache", "err", err)
			return
		}
		if !e.cache.putSingles(tok, batch) && tries < 3 {
			tries++
			continue
		}
		tries = 0
		next = after
	}
}

// readSingles reads up to warmBatch lists of one ID from the equality
// keys at or after from, and returns the key to continue at (nil at the
// end).
func (e *Engine) readSingles(from []byte) (batch []single, after []byte, err error) {
	err = e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		opt.Prefix = []byte{index.PrefixEquality}
		it := txn.NewIterator(opt)
		defer it.Close()
		var prefix []byte
		for it.Seek(from); it.Valid() && len(batch) < warmBatch; {
			k := it.Item().Key()
			if len(k) <= 9 {
				it.Next()
				continue
			}
			prefix = append(prefix[:0], k[:len(k)-8]...)
			id := binary.BigEndian.Uint64(k[len(k)-8:])
			it.Next()
			if it.Valid() && bytes.HasPrefix(it.Item().Key(), prefix) {
				// A longer list: seek past its largest possible ID.
				it.Seek(append(append(prefix, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), 0))
				continue
			}
			if id <= maxSingleID {
				tag, check := e.cache.singles.fingerprint(prefix)
				batch = append(batch, single{tag: tag, check: check, id: uint32(id)})
			}
		}
		if it.Valid() {
			after = it.Item().KeyCopy(nil)
		}
		return nil
	})
	return batch, after, err
}
