package directory

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCacheShardMatchesModel checks a shard's recency list against a
// plain slice kept in most-recently-used order, through random puts,
// look-ups and drops: the same records, evicted in the same order.
func TestCacheShardMatchesModel(t *testing.T) {
	const shards = len((*entryCache)(nil).shards)
	rec := make([]byte, 100)
	size := recordSize(rec)
	const room = 12
	c := newEntryCache(int64(shards) * room * size)
	s := &c.shards[0]
	var model []ID // most recent first
	find := func(id ID) int { return slices.Index(model, id) }
	r := rand.New(rand.NewPCG(7, 8))
	for step := range 20000 {
		id := ID(r.IntN(40)) * ID(shards) // all in shard 0
		switch r.IntN(3) {
		case 0: // put, evicting the least recent beyond room
			c.put(c.begin(), id, rec, true)
			if i := find(id); i >= 0 {
				model = slices.Delete(model, i, i+1)
			}
			model = slices.Insert(model, 0, id)
			if len(model) > room {
				model = model[:room]
			}
		case 1: // look-up
			got := c.peek(id) != nil
			i := find(id)
			if got != (i >= 0) {
				t.Fatalf("step %d: peek(%d) = %v, model has it: %v", step, id, got, i >= 0)
			}
			if i >= 0 {
				model = slices.Insert(slices.Delete(model, i, i+1), 0, id)
			}
		default: // a write drops it
			c.writeBegin()
			c.writeEnd([]ID{id}, nil, nil)
			if i := find(id); i >= 0 {
				model = slices.Delete(model, i, i+1)
			}
		}
		var order []ID
		for i := s.head; i >= 0; i = s.slots[i].next {
			order = append(order, s.slots[i].id)
		}
		if !slices.Equal(order, model) || len(s.items) != len(model) || s.bytes != int64(len(model))*size {
			t.Fatalf("step %d: shard holds %v (%d indexed, %d bytes), model %v", step, order, len(s.items), s.bytes, model)
		}
		var back []ID
		for i := s.tail; i >= 0; i = s.slots[i].prev {
			back = slices.Insert(back, 0, s.slots[i].id)
		}
		if !slices.Equal(back, model) {
			t.Fatalf("step %d: backward links give %v, want %v", step, back, model)
		}
	}
}
