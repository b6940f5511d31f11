package directory

import (
	"math"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Subtree scope below the suffix.
//
// Clients search from a base such as ou=people, not from the suffix. A
// subtree search there must cost what the same search from the suffix
// costs: an index look-up and a scope test per candidate, never a walk of
// the subtree per search (which made a search based at ou=people of
// 100,000 people read 100,000 child lists). The store has no index of
// ancestors, so the entries of a subtree are found by walking the child
// index ('c'|parent|child) once and kept, per base, in the cache:
//
//   - a small subtree (at most a share of the store, see treeWalkCap)
//     is kept as the set of its IDs, which the planner intersects with
//     the filter's plan like any other posting list, so a search of a
//     deep OU holding 2% of the people reads only candidates inside it;
//   - a large one (ou=people, holding nearly every entry) is kept as
//     "large, at least n entries": its searches run like searches from
//     the suffix, the candidates of the plan (or of a scan) tested
//     against the base by DN (ldap.InScopeNDN).
//
// The sets follow the writes that change them: an add puts the new ID in
// the sets of the bases above it, a delete takes it out of every set, and
// a rename or move (which changes the DNs the sets are keyed by) drops
// them all. Like every cache here, a set read from a snapshot is kept only
// if no structural write committed or was in flight since that snapshot
// began (treeToken).

// subtree is the cached scope of one base: ids (never changed once
// published: writers replace it) when the subtree is small, else nil and
// n, a lower bound of its size.
type subtree struct {
	ndn string
	ids *roaring.Bitmap
	n   int
}

// large reports whether the subtree was too large to keep as a set.
func (s *subtree) large() bool { return s.ids == nil }

// treeDelta is what one transaction changed of the tree: entries added
// (with their normalised DNs), entries removed, and whether an entry was
// renamed or moved.
type treeDelta struct {
	added   []treeAdd
	removed []treeRemove
	reset   bool
}

type treeAdd struct {
	id, parent ID
	ndn        string
}

type treeRemove struct{ id, parent ID }

func (d *treeDelta) structural() bool {
	return d != nil && (d.reset || len(d.added) > 0 || len(d.removed) > 0)
}

// subtrees is the cache of subtree scopes, by base ID.
type subtrees struct {
	// walkCap, when not 0, replaces the derived cap (tests).
	walkCap int

	mu       sync.Mutex
	epoch    uint64 // moved by every structural commit, under mu
	inflight int    // structural commits in progress, under mu
	sets     map[ID]*subtree
	// kids counts the children of entries with many (numSubordinates
	// of ou=people must not count 100,000 keys on every read).
	kids map[ID]int
}

// maxSubtrees bounds the bases kept: clients use a handful.
const maxSubtrees = 256

// treeToken is what a reader needs to keep a subtree it walked.
type treeToken struct {
	epoch uint64
	ok    bool
}

func (t *subtrees) begin() treeToken {
	t.mu.Lock()
	defer t.mu.Unlock()
	return treeToken{epoch: t.epoch, ok: t.inflight == 0}
}

func (t *subtrees) get(id ID) *subtree {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sets[id]
}

func (t *subtrees) put(tok treeToken, id ID, s *subtree) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !tok.ok || t.epoch != tok.epoch {
		return
	}
	if t.sets == nil {
		t.sets = map[ID]*subtree{}
	}
	if len(t.sets) >= maxSubtrees {
		for k := range t.sets { // random eviction
			delete(t.sets, k)
			break
		}
	}
	t.sets[id] = s
}

func (t *subtrees) writeBegin(d *treeDelta) {
	if !d.structural() {
		return
	}
	t.mu.Lock()
	t.inflight++
	t.mu.Unlock()
}

// writeEnd applies a structural commit's delta (committed false: it did
// not commit) to the cached sets.
func (t *subtrees) writeEnd(d *treeDelta, committed bool) {
	if !d.structural() {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	t.epoch++
	if !committed {
		return
	}
	if d.reset {
		t.sets, t.kids = nil, nil
		return
	}
	for _, a := range d.added {
		if n, ok := t.kids[a.parent]; ok {
			t.kids[a.parent] = n + 1
		}
	}
	for _, r := range d.removed {
		if n, ok := t.kids[r.parent]; ok {
			t.kids[r.parent] = n - 1
		}
	}
	for base, s := range t.sets {
		changed := false
		ids, n := s.ids, s.n
		for _, a := range d.added {
			if a.ndn != s.ndn && !ldap.IsBelowNDN(a.ndn, s.ndn) {
				continue
			}
			if ids != nil && ids.Contains(uint32(a.id)) {
				// Walked from a snapshot that already held the
				// add: put between this commit and its writeEnd.
				continue
			}
			if !changed && ids != nil {
				ids = ids.Clone()
			}
			changed = true
			n++
			if ids != nil {
				ids.Add(uint32(a.id))
			}
		}
		for _, r := range d.removed {
			if ids == nil || !ids.Contains(uint32(r.id)) {
				continue // a large set's bound stays a bound
			}
			if !changed {
				ids = ids.Clone()
			}
			changed = true
			ids.Remove(uint32(r.id))
			n--
		}
		if changed {
			t.sets[base] = &subtree{ndn: s.ndn, ids: ids, n: n}
		}
	}
}

// treeWalkCap is how many entries a subtree may hold and still be kept
// as a set: an eighth of the store, and at least enough to tell whether
// an unindexed search stays within its limit. A larger subtree is searched
// as the suffix is.
func (e *Engine) treeWalkCap() int {
	if e.trees.walkCap > 0 {
		return e.trees.walkCap
	}
	return max(int(e.entries.Load())/8, e.unindexedLimit+1, 1024)
}

// subtree returns the scope of a subtree search at base (not the suffix),
// from the cache or by walking the child index of the snapshot txn, which
// must have begun after tok was taken.
func (e *Engine) subtree(txn *badger.Txn, tok treeToken, base ID, ndn string) *subtree {
	if s := e.trees.get(base); s != nil {
		return s
	}
	s := walkSubtree(txn, base, ndn, e.treeWalkCap())
	e.trees.put(tok, base, s)
	return s
}

// walkSubtree collects base and the entries below it, breadth first,
// until there are more than limit: then it returns a large subtree.
func walkSubtree(txn *badger.Txn, base ID, ndn string, limit int) *subtree {
	ids := []ID{base}
	r := index.Reader{Txn: txn}
	for next := 0; next < len(ids) && len(ids) <= limit; next++ {
		r.Scan(childPrefix(ids[next]), func(id uint64) bool {
			ids = append(ids, ID(id))
			return len(ids) <= limit
		})
	}
	if len(ids) > limit {
		return &subtree{ndn: ndn, n: len(ids)}
	}
	bm := roaring.New()
	for _, id := range ids {
		bm.Add(uint32(id))
	}
	bm.RunOptimize()
	return &subtree{ndn: ndn, ids: bm, n: len(ids)}
}

// manyKids is the number of children from which a count is kept.
const manyKids = 64

// childCount returns how many children entry id has, counting the child
// index in txn (begun after tok was taken) unless the count is kept.
func (e *Engine) childCount(txn *badger.Txn, tok treeToken, id ID) int {
	t := &e.trees
	t.mu.Lock()
	n, ok := t.kids[id]
	t.mu.Unlock()
	if ok {
		return n
	}
	n = index.Reader{Txn: txn}.Count(childPrefix(id), math.MaxInt)
	if n < manyKids {
		return n
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if tok.ok && t.epoch == tok.epoch {
		if t.kids == nil {
			t.kids = map[ID]int{}
		}
		if len(t.kids) >= maxSubtrees {
			clear(t.kids)
		}
		t.kids[id] = n
	}
	return n
}
