package directory

import (
	"fmt"
	"hash/maphash"
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

// TestDNTableMatchesModel checks the DN table against a map through
// random puts, drops and evictions, with enough churn to compact its
// arena many times, and with a hash that sends every DN to one of a few
// slots, so that DNs keep displacing each other.
func TestDNTableMatchesModel(t *testing.T) {
	for _, collide := range []bool{false, true} {
		tb := newDNTable()
		model := map[string]ID{}
		r := rand.New(rand.NewPCG(9, 10))
		dn := func() string { return fmt.Sprintf("uid=user%d,ou=people,dc=example,dc=com", r.IntN(5000)) }
		compactions, arenaLen := 0, 0
		for step := range 200000 {
			if len(tb.arena) < arenaLen {
				compactions++
			}
			arenaLen = len(tb.arena)
			ndn := dn()
			if collide {
				// Keep only DNs whose hash falls in a few slots.
				if maphash.String(tb.seed, ndn)%8 != 0 {
					continue
				}
			}
			switch r.IntN(4) {
			case 0, 1:
				id := ID(step + 1)
				tb.put(ndn, id)
				model[ndn] = id
			case 2:
				tb.drop(ndn)
				delete(model, ndn)
			default:
				if got, want := tb.get(ndn), model[ndn]; got != want && !(got == 0 && collide) {
					t.Fatalf("step %d: get(%q) = %d, want %d", step, ndn, got, want)
				}
			}
		}
		// Without collisions the table holds exactly the model; with
		// them it holds a subset and never a wrong ID.
		for ndn, id := range model {
			if got := tb.get(ndn); got != id && !(collide && got == 0) {
				t.Fatalf("collide=%v: %q -> %d, want %d", collide, ndn, got, id)
			}
		}
		if !collide && tb.len() != len(model) {
			t.Errorf("%d DNs in the table, %d in the model", tb.len(), len(model))
		}
		if compactions == 0 {
			t.Errorf("collide=%v: the arena was never compacted", collide)
		}
	}
	tb := newDNTable()
	tb.put("cn=a", 1)
	tb.evictOne()
	if tb.len() != 0 || tb.get("cn=a") != 0 {
		t.Error("evictOne left the only DN")
	}
}
