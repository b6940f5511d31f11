package merge

import (
	"fmt"

	"github.com/switchboard-ldap/switchboard/change"
)

// A StateSource reads entries' stored states, as State.AppendEntryState
// wrote them: what a State with a bounded cache reloads the attribute
// stamps of an evicted entry from. The Replicator's reads the store's
// r s records.
type StateSource interface {
	// EntryState returns entry u's encoded state, or nil if none is
	// stored.
	EntryState(u UUID) ([]byte, error)
}

// DefaultStateCacheEntries is how many entries' attribute stamps a State
// with a source keeps in memory when the configuration does not say.
const DefaultStateCacheEntries = 10000

// stateCache is the part of a State that bounds its memory: every entry's
// placements, add and delete stamps (what resolving names needs) stay in
// memory, but only max entries' attribute stamps, the rest being read
// from src when Apply, materialising or encoding needs them. An entry is
// evicted only once its state is stored: never while it is unsaved, nor
// between TakeUnsaved and Saved. Eviction is second chance (CLOCK) over
// the resident entries. What reads attribute stamps (Apply, materialising,
// AppendEntryState, Clone, Purge) may change the cache: at most one may
// run at a time; what reads only placements (Conflicts, Entries, Len,
// Floor) may run beside one.
type stateCache struct {
	src      StateSource
	max      int    // resident entries at most; < 0: no bound
	ring     []UUID // resident entries, in no particular order
	hand     int
	saving   map[UUID]struct{} // taken by TakeUnsaved, not yet Saved
	loads    int64
	evicts   int64
	err      error // the first failure to load; the State is then unusable
	scratch  opDecoder
	residing int // entries whose attribute stamps are in memory
	// retryAt: the last shrink found every resident entry pinned; the
	// next ones wait for Saved, or for this many resident entries,
	// rather than scan the ring at every load.
	retryAt int
}

// SetSource bounds s's memory: at most max entries (negative: no bound)
// keep their attribute stamps in memory, the others are reloaded from
// src. Entries loaded with LoadEntrySkeleton are read from src when
// first needed. Call it on a new State, before use.
func (s *State) SetSource(src StateSource, max int) {
	if max == 0 {
		max = 1
	}
	c := &stateCache{src: src, max: max}
	for u, e := range s.entries {
		if !e.evicted {
			c.ring = append(c.ring, u)
			c.residing++
		}
	}
	s.cache = c
}

// Err returns the first error reading an evicted entry's state from the
// source. Once it is set the State is incomplete: an Apply may have been
// dropped and what it materialised is wrong; the owner must not store
// it, and must open the State again.
func (s *State) Err() error {
	if s.cache == nil {
		return nil
	}
	return s.cache.err
}

// CacheStats returns how many entries' attribute stamps are in memory,
// and how many were loaded and evicted so far.
func (s *State) CacheStats() (resident int, loads, evicts int64) {
	if s.cache == nil {
		return len(s.entries), 0, 0
	}
	return s.cache.residing, s.cache.loads, s.cache.evicts
}

// created records that new entry e (its stamps in memory) joined s.
func (s *State) created(u UUID, e *entryState) {
	if c := s.cache; c != nil {
		c.ring = append(c.ring, u)
		c.residing++
		e.ref = true
	}
}

// resident makes e's attribute stamps resident, reading them from the
// source if e was evicted, and reports whether they are (false: the
// source failed, see Err).
func (s *State) resident(u UUID, e *entryState) bool {
	c := s.cache
	if c == nil {
		return true
	}
	e.ref = true
	if !e.evicted {
		return true
	}
	if c.err != nil {
		return false
	}
	s.shrink(1) // room for e, which must stay until its caller is done
	b, err := c.src.EntryState(u)
	if err == nil && b == nil {
		err = fmt.Errorf("no stored state")
	}
	var attrs []attrState
	if err == nil {
		c.scratch = opDecoder{b: b}
		var full *entryState
		if full, err = s.decodeEntryState(&c.scratch); err == nil && len(c.scratch.b) > 0 {
			err = fmt.Errorf("%w: %d bytes after the entry state", ErrEntryStateSyntax, len(c.scratch.b))
		}
		if err == nil {
			attrs = full.attrs
		}
	}
	if err != nil {
		c.err = fmt.Errorf("replication: read the state of entry %s: %w", u, err)
		return false
	}
	// The stored stamps may predate a Purge made while the entry was
	// evicted: purge them now (purging is idempotent, and a bound
	// subsumes every lower one).
	if !s.floor.IsZero() {
		kept := attrs[:0]
		for i := range attrs {
			a := &attrs[i]
			a.purge(s.floor)
			if len(a.values) > 0 || !a.cleared.IsZero() {
				kept = append(kept, *a)
			}
		}
		clear(attrs[len(kept):])
		attrs = kept
	}
	e.attrs, e.evicted = attrs, false
	c.loads++
	c.ring = append(c.ring, u)
	c.residing++
	return true
}

// shrink evicts clean entries until at most max-room are resident (or
// none more can be).
func (s *State) shrink(room int) {
	c := s.cache
	if c == nil || c.max < 0 || c.residing <= c.max-room || c.residing < c.retryAt {
		return
	}
	// Two passes over the ring clear every reference bit once; what is
	// left is pinned (unsaved or being saved).
	for budget := 2 * len(c.ring); c.residing > c.max-room && budget > 0 && len(c.ring) > 0; budget-- {
		if c.hand >= len(c.ring) {
			c.hand = 0
		}
		u := c.ring[c.hand]
		e := s.entries[u]
		if e == nil || e.evicted {
			c.drop(c.hand) // purged or reloaded since; counted when it left
			continue
		}
		if _, ok := s.unsaved[u]; ok {
			c.hand++
			continue
		}
		if _, ok := c.saving[u]; ok {
			c.hand++
			continue
		}
		if e.ref {
			e.ref = false
			c.hand++
			continue
		}
		e.attrs, e.evicted = nil, true
		c.drop(c.hand)
		c.residing--
		c.evicts++
	}
	// Over the bound with every entry pinned (a round of many changes
	// not saved yet): the bound is exceeded until the next save, or
	// until enough entries were read to be worth another scan.
	c.retryAt = 0
	if c.residing > c.max-room {
		c.retryAt = c.residing + max(c.max/4, 64)
	}
}

// isEvicted reports whether entry u's attribute stamps are not in
// memory (its stored state is then current but for a pending purge).
func (s *State) isEvicted(u UUID) bool {
	e := s.entries[u]
	return e != nil && e.evicted
}

// drop removes ring[i], moving the last one there.
func (c *stateCache) drop(i int) {
	last := len(c.ring) - 1
	c.ring[i] = c.ring[last]
	c.ring = c.ring[:last]
}

// forget records that entry e left s (a Purge removed it).
func (s *State) forget(e *entryState) {
	if s.cache != nil && !e.evicted {
		s.cache.residing-- // its ring slot goes at the next shrink
	}
}

// Saved records that the entries taken by the last TakeUnsaved (and any
// before it) are stored: they may be evicted now. It evicts down to the
// bound.
func (s *State) Saved() {
	if s.cache == nil {
		return
	}
	s.cache.saving = nil
	s.cache.retryAt = 0
	s.shrink(0)
}

// LoadEntrySkeleton is LoadEntryState for a State with a source: it
// keeps only what resolving names needs (the add, delete and placement
// stamps) and leaves the attribute stamps in the source until needed.
// It does not mark u changed or unsaved.
func (s *State) LoadEntrySkeleton(u UUID, b []byte) error {
	if s.cache == nil {
		return fmt.Errorf("replication: LoadEntrySkeleton needs a State with a source")
	}
	if u.IsRoot() {
		return fmt.Errorf("%w: the root has no state", ErrEntryStateSyntax)
	}
	d := opDecoder{b: b}
	e, err := s.decodeSkeleton(&d)
	if err != nil {
		return err
	}
	if old := s.entries[u]; old != nil {
		s.forget(old)
	}
	e.evicted = true
	s.entries[u] = e
	s.layoutGen++
	return nil
}

// decodeSkeleton decodes the head of an entry state: its format, add and
// delete stamps and placements, as decodeEntryState does, ignoring the
// attributes that follow.
func (s *State) decodeSkeleton(d *opDecoder) (*entryState, error) {
	format := readFormat(d)
	stamps := newStampReader(d, format)
	csn := stamps.csn
	e := &entryState{}
	e.added, e.deleted = csn(), csn()
	e.places = s.decodePlacements(d, csn, stamps.stampSize())
	if d.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEntryStateSyntax, d.err)
	}
	return e, nil
}

// decodePlacements reads a counted list of placements, in their order;
// a stamp takes at least stampSize bytes.
func (s *State) decodePlacements(d *opDecoder, csn func() change.CSN, stampSize int) []placement {
	minPlacement := stampSize + 16 + 1
	n := d.count(minPlacement)
	if n == 0 {
		return nil
	}
	places := make([]placement, 0, n)
	for range n {
		c := csn()
		parent := d.uuid()
		rdn := d.string()
		if d.err != nil {
			break
		}
		o := Op{CSN: c, Kind: change.ModRDN}
		p, _, err := s.place(&o, parent, rdn)
		if err != nil {
			d.fail("placement: %v", err)
			break
		}
		if len(places) > 0 && comparePlacement(&places[len(places)-1], &p) >= 0 {
			d.fail("placements out of order")
			break
		}
		places = append(places, p)
	}
	return places
}

// newestCSN is the largest CSN recorded on e, its attribute stamps
// included (read from the source if e was evicted: only for stubs, which
// are rare).
func (s *State) newestCSN(u UUID, e *entryState) change.CSN {
	s.resident(u, e)
	return e.newest()
}
