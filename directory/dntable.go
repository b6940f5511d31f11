package directory

import "hash/maphash"

// dnTable maps normalised DNs to entry IDs for the DN cache without a
// string object per DN: the DNs lie back to back in one byte slice, and a
// map with no pointers in it finds them by a hash of the DN, so the
// garbage collector marks two objects for the whole table rather than one
// per DN (at 100,000 people the DN strings were most of the objects left
// after the entry cache's). A look-up compares the stored bytes, so two
// DNs with the same hash never answer for each other: the later simply
// takes the slot. Bytes of dropped DNs are reclaimed by copying the live
// ones to a new slice once they are half of it.
//
// The caller (entryCache) holds dnMu around every call.
type dnTable struct {
	seed  maphash.Seed
	index map[uint64]dnRef
	arena []byte
	dead  int // bytes of arena that no entry of index refers to
}

type dnRef struct {
	off, n uint32
	id     ID
}

func newDNTable() *dnTable {
	return &dnTable{seed: maphash.MakeSeed(), index: map[uint64]dnRef{}}
}

func (t *dnTable) len() int { return len(t.index) }

// find returns the slot of ndn, if the table holds it.
func (t *dnTable) find(ndn string) (uint64, dnRef, bool) {
	h := maphash.String(t.seed, ndn)
	r, ok := t.index[h]
	return h, r, ok && string(t.arena[r.off:r.off+r.n]) == ndn
}

// get returns the ID of ndn, or 0.
func (t *dnTable) get(ndn string) ID {
	if _, r, ok := t.find(ndn); ok {
		return r.id
	}
	return 0
}

// put records ndn's ID.
func (t *dnTable) put(ndn string, id ID) {
	h, r, same := t.find(ndn)
	if same {
		t.index[h] = dnRef{off: r.off, n: r.n, id: id}
		return
	}
	if old, taken := t.index[h]; taken {
		t.dead += int(old.n)
	}
	t.index[h] = dnRef{off: uint32(len(t.arena)), n: uint32(len(ndn)), id: id}
	t.arena = append(t.arena, ndn...)
	t.compact()
}

// drop forgets ndn.
func (t *dnTable) drop(ndn string) {
	if h, r, ok := t.find(ndn); ok {
		delete(t.index, h)
		t.dead += int(r.n)
		t.compact()
	}
}

// evictOne forgets a DN chosen at random (map iteration starts at a
// random place).
func (t *dnTable) evictOne() {
	for h, r := range t.index {
		delete(t.index, h)
		t.dead += int(r.n)
		return
	}
}

// compact copies the live DNs to a new arena once dropped ones take half
// of it (and at least 64 KiB).
func (t *dnTable) compact() {
	if t.dead < 64<<10 || t.dead < len(t.arena)/2 {
		return
	}
	arena := make([]byte, 0, len(t.arena)-t.dead+len(t.arena)/8)
	for h, r := range t.index {
		off := uint32(len(arena))
		arena = append(arena, t.arena[r.off:r.off+r.n]...)
		t.index[h] = dnRef{off: off, n: r.n, id: r.id}
	}
	t.arena, t.dead = arena, 0
}
