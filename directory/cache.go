package directory

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
)

// entryCache keeps entry records by ID, bounded in bytes, so that a hot
// entry is read without a Badger lookup and block decompression.
//
// It holds the stored record (format byte and all, see Entry.marshal), not
// the decoded Entry: a record is one pointer-free slice of about 1.2 KiB
// for a typical person, where the decoded form is five objects and about
// 3.5 KiB (its attribute list and value slice headers outweigh the
// values). So the same memory holds about three times the entries, and
// the garbage collector has nothing to scan in it. Decoding a record is a
// pass over varints into a reusable Entry (decodeInto): cheaper than the
// Badger look-up it saves, and a search needs its own copy of the
// attribute list anyway. A record is never written after it is cached:
// the entries decoded from it alias it (unsafe.String names, value
// slices).
//
// Beside the records it keeps, under the same rules, normalised DNs to IDs
// (dns), posting lists by index prefix (lists, singles for lists of one
// ID, sets for long lists read whole) and what binds read (binds).
//
// Consistency with writes: a writer registers itself (inflight) before it
// commits and, after commit, bumps epoch and then drops the entries it
// wrote, the DNs it retired and the posting lists it changed. A reader
// notes epoch when its read transaction starts and fills the cache only if
// no writer was in flight then and epoch has not moved since (checked
// under the lock the drops take), so nothing read from an older snapshot
// is cached over a newer one. Under a steady write load the cache simply
// fills less.
type entryCache struct {
	max      int64
	epoch    atomic.Uint64
	inflight atomic.Int64
	shards   [16]cacheShard

	// dns maps normalised DNs to IDs for the bases searches start from
	// and the DNs binds name. A DN's ID changes only when the entry is
	// deleted or renamed; such writes drop the DNs they retire (writeEnd).
	dnMu sync.RWMutex
	dns  *dnTable

	// lists maps posting-list prefixes (index keys without the ID) to
	// the IDs under them, for lists of at most maxListIDs (and some
	// longer ones, see maxLongListIDs): what an equality look-up reads,
	// without opening a store iterator. Writes
	// drop the lists whose keys they add or delete (writeEnd).
	listMu sync.RWMutex
	lists  map[string]cachedList
	// longIDs counts the IDs put in lists longer than maxListIDs since
	// they were last cleared: an upper bound of what they hold, as
	// drops and evictions only lower it (see PutList).
	longIDs int
	// singles holds the lists of exactly one ID apart, compactly and
	// for the whole store if it fits (singles.go).
	singles *singleLists
	// sets holds the whole posting lists of more than maxListIDs that
	// index-ordered sorts read, as bitmaps, maxSetBytes in all: their
	// filters' lists ((objectClass=inetOrgPerson): every person), which
	// a sort reads whole where the planner reads a bound. Under listMu,
	// dropped with lists; setBuilds shares a read of a set between the
	// sorts that miss it at once, and setsRead counts the reads (tests).
	sets      map[string]cachedSet
	setBytes  int64
	setBuilds builds[string, *roaring.Bitmap]
	setsRead  atomic.Int64
	onSetRead func() // set only by tests: runs as a set's read starts

	// binds maps entry IDs to what a simple bind reads of them (the DN
	// and the userPassword values, copied out of the record): a bind of
	// a DN the DN cache knows then reads no record at all. Writes drop
	// the entries they touch, as for records.
	bindMu sync.RWMutex
	binds  map[ID]bindEntry
}

// bindEntry is what a bind needs of an entry.
type bindEntry struct {
	dn string
	pw [][]byte
}

// cachedSet is a long posting list read whole, shared: never written.
type cachedSet struct {
	bm   *roaring.Bitmap
	size int64
}

// cachedList is a posting list's IDs (len(ids) == n), or for a long list
// only a lower bound n of its length (ids nil).
type cachedList struct {
	ids []uint32
	n   int
}

// cacheShard is one lock's share of the records: a least-recently-used
// list threaded through a slice of slots by index, and a map from ID to
// slot. Neither the map nor the links hold pointers, so the garbage
// collector's mark phase visits one slice per shard and the records, not
// three small objects per record (a container/list element, an item and
// the map's pointer to it): at 100,000 people those were about a third
// of the objects it marked on every cycle.
type cacheShard struct {
	mu    sync.Mutex
	items map[ID]int32 // slot of each cached record
	slots []cacheSlot
	free  []int32 // slots to reuse
	head  int32   // most recently used slot, or -1
	tail  int32   // least recently used slot, or -1
	bytes int64
}

type cacheSlot struct {
	id         ID
	rec        []byte
	size       int64
	prev, next int32 // towards head and tail; -1 at the ends
}

// cacheItemOverhead is what a cached record costs besides its bytes: its
// slot and its share of the shard's map.
const cacheItemOverhead = 96

// unlink takes slot i out of the recency list.
func (s *cacheShard) unlink(i int32) {
	sl := &s.slots[i]
	if sl.prev >= 0 {
		s.slots[sl.prev].next = sl.next
	} else {
		s.head = sl.next
	}
	if sl.next >= 0 {
		s.slots[sl.next].prev = sl.prev
	} else {
		s.tail = sl.prev
	}
}

// pushFront makes slot i the most recently used.
func (s *cacheShard) pushFront(i int32) {
	sl := &s.slots[i]
	sl.prev, sl.next = -1, s.head
	if s.head >= 0 {
		s.slots[s.head].prev = i
	} else {
		s.tail = i
	}
	s.head = i
}

// remove forgets slot i's record.
func (s *cacheShard) remove(i int32) {
	s.unlink(i)
	sl := &s.slots[i]
	delete(s.items, sl.id)
	s.bytes -= sl.size
	*sl = cacheSlot{}
	s.free = append(s.free, i)
}

func newEntryCache(maxBytes int64) *entryCache {
	c := &entryCache{max: maxBytes, dns: newDNTable(), lists: map[string]cachedList{}, sets: map[string]cachedSet{},
		singles: newSingleLists(), binds: map[ID]bindEntry{}}
	for i := range c.shards {
		c.shards[i] = cacheShard{items: map[ID]int32{}, head: -1, tail: -1}
	}
	return c
}

func (c *entryCache) shard(id ID) *cacheShard { return &c.shards[uint64(id)%uint64(len(c.shards))] }

// peek returns the cached record of id, shared with every other reader:
// the caller must not change it.
func (c *entryCache) peek(id ID) []byte {
	if c == nil {
		return nil
	}
	s := c.shard(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.items[id]
	if !ok {
		return nil
	}
	if s.head != i {
		s.unlink(i)
		s.pushFront(i)
	}
	return s.slots[i].rec
}

// readToken is what a reader needs to fill the cache safely.
type readToken struct {
	epoch uint64
	ok    bool
}

// begin is called before a read transaction starts.
func (c *entryCache) begin() readToken {
	if c == nil {
		return readToken{}
	}
	e := c.epoch.Load()
	return readToken{epoch: e, ok: c.inflight.Load() == 0}
}

// view runs fn in a read transaction, with a token taken before the
// transaction's snapshot began: the only order in which the token rule
// holds. A token taken inside the transaction could name the epoch of a
// write that committed after the snapshot, whose drops have then run
// already; what fn reads of the older snapshot would be cached over that
// write, stale until the next write to the same key. (EntryNDN, which
// reads the entries of index-ordered sorts, did that.)
func (e *Engine) view(fn func(txn *badger.Txn, tok readToken) error) error {
	tok := e.cache.begin()
	return e.db().View(func(txn *badger.Txn) error {
		if e.afterSnapshot != nil {
			e.afterSnapshot()
		}
		return fn(txn, tok)
	})
}

// put caches rec, the record of entry id, which nobody may change
// afterwards, if tok still allows it. With evict false it caches rec only
// into free room: a full scan of a store larger than the cache must not
// push out the entries that indexed look-ups keep hot (an LRU's scan
// problem).
func (c *entryCache) put(tok readToken, id ID, rec []byte, evict bool) {
	if c == nil || !tok.ok || c.epoch.Load() != tok.epoch {
		return
	}
	size := recordSize(rec)
	s := c.shard(id)
	limit := c.max / int64(len(c.shards))
	if size > limit/4 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.epoch.Load() != tok.epoch {
		return
	}
	if !evict && s.bytes+size > limit {
		return
	}
	if i, ok := s.items[id]; ok {
		s.remove(i)
	}
	var i int32
	if n := len(s.free); n > 0 {
		i, s.free = s.free[n-1], s.free[:n-1]
	} else {
		i = int32(len(s.slots))
		s.slots = append(s.slots, cacheSlot{})
	}
	s.slots[i] = cacheSlot{id: id, rec: rec, size: size}
	s.pushFront(i)
	s.items[id] = i
	s.bytes += size
	for s.bytes > limit {
		s.remove(s.tail)
	}
}

// writeBegin and writeEnd bracket a commit; writeEnd drops the written IDs,
// the DNs that no longer name their entry (goneDNs) and the posting lists
// whose keys changed (goneLists).
func (c *entryCache) writeBegin() {
	if c != nil {
		c.inflight.Add(1)
	}
}

func (c *entryCache) writeEnd(ids []ID, goneDNs, goneLists []string) {
	if c == nil {
		return
	}
	// The epoch moves first: a reader that read the old state before the
	// commit either put it back before the drops below (which remove it)
	// or finds the epoch moved and puts nothing (put and putDN check it
	// under the lock the drops take).
	c.epoch.Add(1)
	if len(goneDNs) > 0 {
		c.dnMu.Lock()
		for _, ndn := range goneDNs {
			c.dns.drop(ndn)
		}
		c.dnMu.Unlock()
	}
	if len(goneLists) > 0 {
		c.listMu.Lock()
		for _, k := range goneLists {
			delete(c.lists, k)
			if s, ok := c.sets[k]; ok {
				delete(c.sets, k)
				c.setBytes -= s.size
			}
		}
		c.listMu.Unlock()
		c.singles.mu.Lock()
		c.singles.drop(goneLists)
		c.singles.mu.Unlock()
	}
	dropKeys(&c.bindMu, c.binds, ids)
	for _, id := range ids {
		s := c.shard(id)
		s.mu.Lock()
		if i, ok := s.items[id]; ok {
			s.remove(i)
		}
		s.mu.Unlock()
	}
	c.inflight.Add(-1)
}

// lookupDN returns the cached ID of a normalised DN, or 0.
func (c *entryCache) lookupDN(ndn string) ID {
	if c == nil {
		return 0
	}
	c.dnMu.RLock()
	id := c.dns.get(ndn)
	c.dnMu.RUnlock()
	return id
}

// maxCachedLists bounds the posting-list map, and maxListIDs the lists it
// keeps, about 100 bytes each with the key (listCacheBytes at most). Lists
// of one ID, most of what equality look-ups read, go to the table of
// singles.go instead; this map keeps the names two to sixteen people
// share and the lower bounds of long lists that plans compare.
//
// Longer lists, up to maxLongListIDs, are kept too, longListBudget IDs
// in all: the grams of a substring assertion ((cn=*smith*): a few
// thousand IDs each at 100,000 people), which a search of a small
// subtree would otherwise read key by key to intersect with the subtree
// on every request, costing more than the rest of the search.
const (
	maxCachedLists = 1 << 15
	maxListIDs     = 16
	maxLongListIDs = 1 << 13
	longListBudget = 1 << 20 // IDs: 4 MiB
	maxSetBytes    = 8 << 20
	listCacheBytes = maxCachedLists*100 + longListBudget*4 + maxSetBytes
)

// listView lends the posting-list cache to one read transaction that
// began with tok: it implements index.ListCache.
type listView struct {
	c   *entryCache
	tok readToken
}

// List returns the cached IDs under prefix, shared: never to be written,
// or for a long list its known lower bound (a set's exact length).
func (v *listView) List(prefix []byte) ([]uint32, int, bool) {
	if id, ok := v.c.singles.lookup(prefix); ok {
		return []uint32{id}, 1, true
	}
	v.c.listMu.RLock()
	l, ok := v.c.lists[string(prefix)]
	if !ok {
		if s, isSet := v.c.sets[string(prefix)]; isSet {
			l, ok = cachedList{n: int(s.bm.GetCardinality())}, true
		}
	}
	v.c.listMu.RUnlock()
	return l.ids, l.n, ok
}

// Set returns the whole posting list under prefix as a bitmap the caller
// may change: from the cache (a set, or a list the planner read), from a
// read of it that another reader of the same epoch is making (waiting
// for it, or for ctx), or read in the view's transaction r and cached
// under the rules of put: as a set unless it is short.
func (v *listView) Set(ctx context.Context, r index.Reader, prefix []byte) *roaring.Bitmap {
	c := v.c
	c.listMu.RLock()
	s, ok := c.sets[string(prefix)]
	c.listMu.RUnlock()
	if ok {
		return s.bm.Clone()
	}
	if ids, n, ok := v.List(prefix); ok && len(ids) == n {
		return roaring.BitmapOf(ids...)
	}
	c.listMu.Lock()
	if s, ok := c.sets[string(prefix)]; ok {
		c.listMu.Unlock()
		return s.bm.Clone()
	}
	f, first := &build[*roaring.Bitmap]{done: make(chan struct{})}, true // unshared
	if v.tok.ok {
		f, first = c.setBuilds.join(string(prefix), v.tok.epoch)
	}
	c.listMu.Unlock()
	if !first {
		if bm, ok := f.wait(ctx); ok {
			return bm.Clone()
		}
		f = &build[*roaring.Bitmap]{done: make(chan struct{})} // read it alone
	}
	var bm *roaring.Bitmap
	whole := true
	defer func() { v.putSet(prefix, f, bm, whole) }()
	c.setsRead.Add(1)
	if c.onSetRead != nil {
		c.onSetRead()
	}
	bm = roaring.New()
	r.Scan(prefix, func(id uint64) bool {
		if id > 0xFFFFFFFF {
			whole = false // beyond the bitmap: the list is not cached
		} else {
			bm.Add(uint32(id))
		}
		return true
	})
	bm.RunOptimize()
	return bm.Clone()
}

// putSet caches bm, the list under prefix (nil: the read failed), if the
// read saw the whole list, under the rules of put, and ends the read f.
// A list of at most maxListIDs goes to lists instead; a set beyond the
// budget empties the sets first.
func (v *listView) putSet(prefix []byte, f *build[*roaring.Bitmap], bm *roaring.Bitmap, whole bool) {
	c := v.c
	n := 0
	if bm != nil {
		n = int(bm.GetCardinality())
	}
	if bm != nil && whole && n <= maxListIDs {
		v.PutList(prefix, bm.ToArray(), n)
	}
	c.listMu.Lock()
	defer c.listMu.Unlock()
	if bm != nil && whole && n > maxListIDs && v.tok.ok && c.epoch.Load() == v.tok.epoch {
		if size := int64(bm.GetSizeInBytes()); size <= maxSetBytes/4 {
			if c.setBytes+size > maxSetBytes {
				clear(c.sets)
				c.setBytes = 0
			}
			if old, ok := c.sets[string(prefix)]; ok {
				c.setBytes -= old.size
			}
			c.sets[string(prefix)] = cachedSet{bm: bm, size: size}
			c.setBytes += size
		}
	}
	c.setBuilds.finish(string(prefix), f, bm, bm != nil)
}

// PutList caches the IDs under prefix (or, ids nil, a lower bound n of
// their number), read in the view's transaction, under the rules of put;
// when the cache is full, a random list makes room.
func (v *listView) PutList(prefix []byte, ids []uint32, n int) {
	c := v.c
	if len(ids) > maxLongListIDs || !v.tok.ok || c.epoch.Load() != v.tok.epoch {
		return
	}
	if n == 1 && len(ids) == 1 {
		tag, check := c.singles.fingerprint(prefix)
		c.singles.mu.Lock()
		took := c.epoch.Load() != v.tok.epoch || c.singles.insert(tag, check, ids[0])
		c.singles.mu.Unlock()
		if took {
			return
		}
	}
	l := cachedList{n: n}
	if len(ids) == n {
		l.ids = slices.Clip(slices.Clone(ids))
	}
	c.listMu.Lock()
	if c.epoch.Load() == v.tok.epoch {
		if len(c.lists) >= maxCachedLists {
			evictOne(c.lists)
		}
		if len(l.ids) > maxListIDs {
			if c.longIDs += len(l.ids); c.longIDs > longListBudget {
				// Over budget (an upper bound): start the long
				// lists afresh rather than track each one's size.
				for k, old := range c.lists {
					if len(old.ids) > maxListIDs {
						delete(c.lists, k)
					}
				}
				c.longIDs = len(l.ids)
			}
		}
		if old, ok := c.lists[string(prefix)]; !ok || len(l.ids) == l.n || l.n > old.n {
			c.lists[string(prefix)] = l // a bound never replaces a list, nor a larger bound
		}
	}
	c.listMu.Unlock()
}

// dropLists forgets every cached posting list: an index was built or
// dropped without the writes that keep the cache right.
func (c *entryCache) dropLists() {
	if c == nil {
		return
	}
	c.epoch.Add(1)
	c.listMu.Lock()
	clear(c.lists)
	c.longIDs = 0
	clear(c.sets)
	c.setBytes = 0
	c.listMu.Unlock()
	c.singles.mu.Lock()
	c.singles.reset()
	c.singles.mu.Unlock()
}

// maxCachedBinds bounds the bind cache: a DN and a password hash or two,
// about 160 bytes each with the map's share (bindCacheBytes at most).
const (
	maxCachedBinds = 1 << 17
	bindCacheBytes = maxCachedBinds * 160
)

// lookupBind returns what a bind needs of entry id, if cached; the values
// are shared and never written.
func (c *entryCache) lookupBind(id ID) (bindEntry, bool) {
	if c == nil {
		return bindEntry{}, false
	}
	c.bindMu.RLock()
	b, ok := c.binds[id]
	c.bindMu.RUnlock()
	return b, ok
}

// putBind caches what a bind needs of entry id under the rules of put,
// copying it (the record it came from may leave the cache); when the
// cache is full, a random entry makes room.
func (c *entryCache) putBind(tok readToken, id ID, dn string, pw [][]byte) {
	if c == nil || !tok.ok || c.epoch.Load() != tok.epoch {
		return
	}
	b := bindEntry{dn: strings.Clone(dn), pw: make([][]byte, len(pw))}
	for i, v := range pw {
		b.pw[i] = slices.Clone(v)
	}
	c.bindMu.Lock()
	defer c.bindMu.Unlock()
	if c.epoch.Load() != tok.epoch {
		return
	}
	if len(c.binds) >= maxCachedBinds {
		evictOne(c.binds)
	}
	c.binds[id] = b
}

// maxCachedDNs bounds the DN cache: search bases and bind DNs, about
// 100 bytes each (dnCacheBytes at most). It holds every DN of a directory
// of 100,000 people, whose binds would otherwise read the DN index for
// most of them.
const (
	maxCachedDNs = 1 << 17
	dnCacheBytes = maxCachedDNs * 100
)

// putDN caches a DN's ID under the same rules as put. When the cache is
// full, a random DN makes room.
func (c *entryCache) putDN(tok readToken, ndn string, id ID) {
	if c == nil || !tok.ok || c.epoch.Load() != tok.epoch {
		return
	}
	c.dnMu.Lock()
	if c.epoch.Load() == tok.epoch {
		if c.dns.len() >= maxCachedDNs {
			c.dns.evictOne()
		}
		c.dns.put(ndn, id)
	}
	c.dnMu.Unlock()
}

// putDNs caches many DNs' IDs at once, under the rules of put, into the
// room the DN cache has left.
func (c *entryCache) putDNs(tok readToken, ids map[string]ID) {
	if c == nil || !tok.ok {
		return
	}
	c.dnMu.Lock()
	defer c.dnMu.Unlock()
	if c.epoch.Load() != tok.epoch {
		return
	}
	for ndn, id := range ids {
		if c.dns.len() >= maxCachedDNs {
			return
		}
		c.dns.put(ndn, id)
	}
}

// dropKeys deletes keys from m under mu.
func dropKeys[K comparable, V any](mu *sync.RWMutex, m map[K]V, keys []K) {
	if len(keys) == 0 {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if len(m) == 0 {
		return
	}
	for _, k := range keys {
		delete(m, k)
	}
}

// builds are the running builds of an epoch's cached values, by key, at
// most one per key; the cache that holds them guards them with its lock.
type builds[K comparable, V any] struct {
	m map[K]*build[V]
}

// build is one running build: done closes once v is set (ok) or the
// builder gave up (!ok: its waiters build for themselves).
type build[V any] struct {
	epoch uint64
	done  chan struct{}
	v     V
	ok    bool
}

// join returns the running build of key for epoch and false, or starts
// one, which the caller must end (finish), and returns it and true. A
// build of a later epoch keeps its place (the caller's is not shared).
func (b *builds[K, V]) join(key K, epoch uint64) (*build[V], bool) {
	old, running := b.m[key]
	if running && old.epoch == epoch {
		return old, false
	}
	f := &build[V]{epoch: epoch, done: make(chan struct{})}
	if !running || old.epoch < epoch {
		if b.m == nil {
			b.m = map[K]*build[V]{}
		}
		b.m[key] = f
	}
	return f, true
}

// finish ends the build f of key, handing v (if ok) to its waiters.
func (b *builds[K, V]) finish(key K, f *build[V], v V, ok bool) {
	f.v, f.ok = v, ok
	if b.m[key] == f {
		delete(b.m, key)
	}
	close(f.done)
}

// wait waits for f and returns its value, or false when it gave up or
// ctx ended first.
func (f *build[V]) wait(ctx context.Context) (V, bool) {
	select {
	case <-f.done:
		return f.v, f.ok
	case <-ctx.Done():
		var zero V
		return zero, false
	}
}

// recordSize is the memory a cached record holds.
func recordSize(rec []byte) int64 { return int64(cap(rec)) + cacheItemOverhead }
