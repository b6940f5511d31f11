package directory

// Index-ordered sorted searches (RFC 2891 server-side sort, VLV).
//
// Sorting a search by gathering every matching entry costs a read of
// each: at 100,000 people, every sorted page or VLV window read 100,000
// entries. When the sort has one key whose attribute is indexed in key
// order, and the search's answer can be decided from the indexes alone,
// IndexSort finds the answer without reading an entry:
//
//   - the filter's set comes from posting lists, read whole (exactSet):
//     only AND and OR of equality and presence items on indexed
//     attributes without subtypes or options qualify, and only when the
//     requester may search them in every entry (no per-entry guard), as
//     those sets are exactly the entries for which the filter is True;
//   - the scope's set comes from the child index (one level), the
//     subtree cache (a small subtree) or, for a large subtree such as
//     ou=people, from the entries outside it (outsideSubtree), which are
//     few;
//   - the key's index is walked in key order: the ordering index ('o',
//     already in the sort's order) or the equality index ('i', ordered by
//     length first, so its distinct values are sorted once). An entry
//     takes its place at its least value (its first key in that order),
//     entries without the attribute come last (first in reverse order),
//     and ties keep ascending ID in both directions: the order of the
//     gather-and-sort path exactly.
//
// The result holds 8 bytes per entry plus, for the equality index, the
// distinct values; the caller reads only the entries it returns. Anything
// else (several keys, an unindexed key or filter item, a per-entry access
// decision) makes IndexSort answer nil, and the caller gathers and sorts.

import (
	"bytes"
	"context"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// IndexSortRequest is a search to answer in the order of one sort key.
type IndexSortRequest struct {
	// Search names the base, scope, filter, hidden attributes and access
	// of the search; its limits and Borrow do not apply.
	Search *SearchRequest
	// Attr is the key's attribute type.
	Attr *schema.AttributeType
	// ByEquality orders by the EQUALITY rule's normal form, bytewise;
	// otherwise by Attr's ORDERING rule.
	ByEquality bool
	Reverse    bool
	// Charge, when set, is told of memory before it is allocated; an
	// error from it ends the sort with that error.
	Charge func(n int64) error
}

// IndexSorted is the answer of IndexSort: the matching entries' IDs in
// sort order, and their key values.
type IndexSorted struct {
	ids   []uint32
	group []int32  // per position: the index in vals of its key, -1 for none
	vals  [][]byte // key values: normal forms or ordering keys (OrderKey)
	conv  func(v []byte) ([]byte, bool)
	rev   bool
}

// Len returns the number of entries.
func (s *IndexSorted) Len() int { return len(s.ids) }

// ID returns the ID of the entry at position i (0-based).
func (s *IndexSorted) ID(i int) ID { return ID(s.ids[i]) }

// Target returns the 1-based position of the first entry whose key is at
// or after v in the sort order (at or before it in reverse order), an
// entry without the key counting as larger than any value; Len()+1 when
// there is none (draft-ietf-ldapext-ldapv3-vlv greaterThanOrEqual).
func (s *IndexSorted) Target(v []byte) int {
	k, ok := s.conv(v)
	for i, g := range s.group {
		var hit bool
		switch {
		case g < 0:
			hit = !s.rev
		case ok:
			c := bytes.Compare(s.vals[g], k)
			hit = (!s.rev && c >= 0) || (s.rev && c <= 0)
		}
		if hit {
			return i + 1
		}
	}
	return len(s.ids) + 1
}

// IndexSort answers a sorted search from the indexes (see the comment at
// the top of this file), or returns nil, nil when it cannot: the caller
// then gathers and sorts. Errors are those of Charge and of the store.
func (e *Engine) IndexSort(ctx context.Context, req *IndexSortRequest) (*IndexSorted, error) {
	sr := req.Search
	if sr.Assertion != nil || sr.Scope == ldap.ScopeBaseObject || sr.Filter == nil || e.usesComputed(sr.Filter) {
		return nil, nil
	}
	a, byOrder := e.sortIndex(req.Attr, req.ByEquality)
	if a == nil {
		return nil, nil
	}
	baseNDN := sr.BaseDN
	if !e.knownNDN(baseNDN) {
		var err error
		if _, baseNDN, err = e.normalizeBase(sr.BaseDN); err != nil {
			return nil, nil
		}
	}
	opt := compileOptions{access: sr.Access}
	if len(sr.Hidden) > 0 {
		opt.hidden = map[string]bool{}
		for _, h := range sr.Hidden {
			opt.hidden[strings.ToLower(h)] = true
		}
	}
	m := e.compile(sr.Filter, opt)
	tok, ttok := e.cache.begin(), e.trees.begin()
	var out *IndexSorted
	err := e.db.View(func(txn *badger.Txn) error {
		if !e.inSuffix(baseNDN) {
			return nil
		}
		baseID, err := lookupDN(txn, baseNDN)
		if err != nil || baseID == 0 {
			return err
		}
		r := index.Reader{Txn: txn}
		if e.cache != nil {
			r.Lists = &listView{e.cache, tok}
		}
		set, ok := e.exactSet(r, &m)
		if !ok {
			return nil
		}
		if set, ok = e.inScopeSet(r, ttok, set, sr.Scope, baseID, baseNDN); !ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return searchCtxErr(err)
		}
		out, err = e.orderSet(r, a, byOrder, set, req)
		return err
	})
	if err != nil || out == nil {
		return nil, err
	}
	if req.ByEquality {
		at := req.Attr
		out.conv = func(v []byte) ([]byte, bool) {
			n, err := at.Normalize(v)
			return n, err == nil
		}
	} else {
		out.conv = a.OrderKey
	}
	return out, nil
}

// sortIndex returns the index to walk for a key on at, and whether it is
// the ordering index (else the equality index); nil when there is none.
func (e *Engine) sortIndex(at *schema.AttributeType, byEquality bool) (*index.Attribute, bool) {
	a := e.ready(at)
	if a == nil {
		// at may be a copy with another ORDERING rule (the key named
		// one): only the stored type's index can serve it.
		if st, ok := e.schema.Attribute(at.Name()); ok {
			a = e.ready(st)
		}
	}
	if a == nil || len(e.Subtypes(a.Type)) != 1 {
		return nil, false // subtypes' values sort too, and have their own indexes
	}
	if byEquality {
		if at.Equality == nil || a.Type.Equality != at.Equality {
			return nil, false
		}
		if a.Has(index.Ordering) && index.ByNormalForm(a.Type) {
			return a, true // ordering keys are the normal forms
		}
		if a.Has(index.Equality) {
			return a, false
		}
		return nil, false
	}
	if at.Ordering != nil && a.Type.Ordering == at.Ordering && a.Has(index.Ordering) {
		return a, true
	}
	return nil, false
}

// exactSet returns the IDs of the entries for which m is True, from the
// indexes alone, or false when the indexes cannot tell exactly.
func (e *Engine) exactSet(r index.Reader, m *matcher) (*roaring.Bitmap, bool) {
	if m.undefined {
		return roaring.New(), true
	}
	if m.guard != nil || len(m.subGuard) > 0 || m.chain != nil {
		return nil, false
	}
	switch m.kind {
	case ldap.FilterAnd, ldap.FilterOr:
		if len(m.children) == 0 {
			if m.kind == ldap.FilterOr {
				return roaring.New(), true // absolute false
			}
			return nil, false // absolute true: left to the scope walk
		}
		var out *roaring.Bitmap
		for i := range m.children {
			s, ok := e.exactSet(r, &m.children[i])
			if !ok {
				return nil, false
			}
			switch {
			case out == nil:
				out = s
			case m.kind == ldap.FilterAnd:
				out.And(s)
			default:
				out.Or(s)
			}
		}
		return out, true
	case ldap.FilterEqualityMatch, ldap.FilterPresent:
	default:
		return nil, false
	}
	if m.at == nil || len(m.names) != 1 || len(m.opts) > 0 || e.virtual(m.at) != nil {
		return nil, false
	}
	a := e.ready(m.at)
	switch {
	case m.kind == ldap.FilterPresent && a.Has(index.Presence):
		return r.Bitmap(a.PresencePrefix()), true
	case m.kind == ldap.FilterEqualityMatch && a.Has(index.Equality):
		v := m.value
		if m.class != nil {
			// objectClass keys include every superclass (indexKeys).
			n, err := m.at.Normalize([]byte(m.class.Name()))
			if err != nil {
				return nil, false
			}
			v = n
		}
		return r.Bitmap(a.EqualityPrefix(v)), true
	}
	return nil, false
}

// inScopeSet narrows set (which it may change) to the search's scope, or
// reports false when the scope is not known as a set.
func (e *Engine) inScopeSet(r index.Reader, tok treeToken, set *roaring.Bitmap, scope ldap.Scope, baseID ID, baseNDN string) (*roaring.Bitmap, bool) {
	switch {
	case scope == ldap.ScopeSingleLevel:
		set.And(r.Bitmap(childPrefix(baseID)))
		return set, true
	case scope != ldap.ScopeWholeSubtree && scope != ldap.ScopeChildren:
		return nil, false
	case baseNDN == e.nsuffix:
		// every entry of the store is at or below the suffix
	default:
		st := e.subtree(r.Txn, tok, baseID, baseNDN)
		if !st.large() {
			set.And(st.ids) // And leaves its argument as it was
			break
		}
		out, ok := e.outsideSubtree(r, baseID, e.treeWalkCap())
		if !ok {
			return nil, false
		}
		set.AndNot(out)
	}
	if scope == ldap.ScopeChildren {
		set.Remove(uint32(baseID))
	}
	return set, true
}

// outsideSubtree returns the entries that are not base nor below it, by
// walking the child index from the suffix around base's subtree; false
// when there are more than limit.
func (e *Engine) outsideSubtree(r index.Reader, base ID, limit int) (*roaring.Bitmap, bool) {
	root, err := lookupDN(r.Txn, e.nsuffix)
	if err != nil || root == 0 || root == base {
		return nil, false
	}
	ids := []ID{root}
	for next := 0; next < len(ids) && len(ids) <= limit; next++ {
		r.Scan(childPrefix(ids[next]), func(id uint64) bool {
			if ID(id) != base {
				ids = append(ids, ID(id))
			}
			return len(ids) <= limit
		})
	}
	if len(ids) > limit {
		return nil, false
	}
	bm := roaring.New()
	for _, id := range ids {
		bm.Add(uint32(id))
	}
	return bm, true
}

// valueGroup is one distinct key value and the IDs that have it, as
// ids[first:first+n] of orderSet's list.
type valueGroup struct {
	val      []byte
	first, n int
}

// orderSet walks a's ordering (byOrder) or equality index and puts the
// entries of set in the request's order.
func (e *Engine) orderSet(r index.Reader, a *index.Attribute, byOrder bool, set *roaring.Bitmap, req *IndexSortRequest) (*IndexSorted, error) {
	n := int(set.GetCardinality())
	charge := func(b int64) error {
		if req.Charge == nil {
			return nil
		}
		return req.Charge(b)
	}
	// ids and group, plus the set of IDs placed (a bitmap: at most a
	// bit per ID of the store).
	if err := charge(int64(n)*8 + int64(e.entries.Load())/8); err != nil {
		return nil, err
	}
	var groups []valueGroup
	var ids []uint32 // the walk's IDs in set, groups after groups
	var arena []byte
	charged := int64(n) * 4 // ids, counted within n*8 above until it grows past n
	var stop error
	add := func(val []byte, id uint32) bool {
		if len(groups) == 0 || !bytes.Equal(groups[len(groups)-1].val, val) {
			if cap(arena)-len(arena) < len(val) {
				size := max(len(val), 64<<10)
				if stop = charge(int64(size)); stop != nil {
					return false
				}
				arena = make([]byte, 0, size)
			}
			o := len(arena)
			arena = append(arena, val...)
			if len(groups) == cap(groups) {
				grow := max(1024, cap(groups))
				if stop = charge(int64(grow) * 40); stop != nil {
					return false
				}
				groups = slices.Grow(groups, grow)
			}
			groups = append(groups, valueGroup{val: arena[o:len(arena):len(arena)], first: len(ids)})
		}
		if int64(len(ids)+1)*4 > charged {
			grow := max(int64(len(ids)), 1024) * 4
			if stop = charge(grow); stop != nil {
				return false
			}
			charged += grow
		}
		ids = append(ids, id)
		groups[len(groups)-1].n++
		return true
	}
	seen := roaring.New()
	ok := true
	var buf []byte
	if byOrder {
		// Keys come in the sort's order: an entry's first key is its
		// least value.
		r.Postings(a.OrderingPrefix(), func(rest []byte, id uint64) bool {
			if id > 0xFFFFFFFF || !set.Contains(uint32(id)) || seen.Contains(uint32(id)) {
				return true
			}
			var good bool
			buf, good = index.AppendOrderingValue(buf[:0], rest)
			v := buf
			if !good {
				ok = false
				return false
			}
			seen.Add(uint32(id))
			return add(v, uint32(id))
		})
	} else {
		// Keys come by value length, then value: the groups are sorted
		// afterwards, and an entry placed at the first group it is in.
		r.Postings(a.EqualityHead(), func(rest []byte, id uint64) bool {
			if id > 0xFFFFFFFF || !set.Contains(uint32(id)) {
				return true
			}
			v, good := index.EqualityValue(rest)
			if !good {
				ok = false // a long value's hash: its order is lost
				return false
			}
			return add(v, uint32(id))
		})
		slices.SortFunc(groups, func(x, y valueGroup) int { return bytes.Compare(x.val, y.val) })
	}
	if stop != nil {
		return nil, stop
	}
	if !ok {
		return nil, nil
	}
	out := &IndexSorted{ids: make([]uint32, 0, n), group: make([]int32, 0, n), rev: req.Reverse}
	absent := func() {
		it := set.Iterator()
		for it.HasNext() {
			if id := it.Next(); !seen.Contains(id) {
				out.ids = append(out.ids, id)
				out.group = append(out.group, -1)
			}
		}
	}
	place := func(g int) {
		gr := &groups[g]
		gi := int32(len(out.vals))
		placed := false
		for _, id := range ids[gr.first : gr.first+gr.n] {
			if !byOrder {
				if seen.Contains(id) {
					continue // placed at a lesser value
				}
				seen.Add(id)
			}
			out.ids = append(out.ids, id)
			out.group = append(out.group, gi)
			placed = true
		}
		if placed {
			out.vals = append(out.vals, gr.val)
		}
	}
	if req.Reverse {
		// Placing in ascending order first decides each entry's least
		// value; then the groups are laid out from the greatest.
		if !byOrder {
			for g := range groups {
				kept := ids[groups[g].first:groups[g].first]
				for _, id := range ids[groups[g].first : groups[g].first+groups[g].n] {
					if !seen.Contains(id) {
						seen.Add(id)
						kept = append(kept, id)
					}
				}
				groups[g].n = len(kept)
			}
			byOrder = true // groups now hold each entry once
		}
		absent()
		for g := len(groups) - 1; g >= 0; g-- {
			place(g)
		}
		return out, nil
	}
	for g := range groups {
		place(g)
	}
	absent()
	return out, nil
}

// EntryNDN returns the normalised DN of entry id, "" if there is none.
func (e *Engine) EntryNDN(ctx context.Context, id ID) (string, error) {
	var ndn string
	err := e.db.View(func(txn *badger.Txn) error {
		sc := getScratch()
		defer putScratch(sc)
		en, err := e.readEntry(txn, e.cache.begin(), id, true, sc, nil)
		if en != nil {
			ndn = en.NDN
		}
		return err
	})
	return ndn, err
}
