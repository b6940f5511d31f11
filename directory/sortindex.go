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
	"sync"
	"sync/atomic"

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
	epoch := e.Epoch() // before the snapshot: an order is kept for this epoch
	ttok := e.trees.begin()
	var out *IndexSorted
	err := e.view(func(txn *badger.Txn, tok readToken) error {
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
		set, ok := e.exactSet(func(prefix []byte) *roaring.Bitmap { return e.postingSet(ctx, r, prefix) }, &m)
		if !ok {
			return nil
		}
		if set, ok = e.inScopeSet(r, ttok, set, sr.Scope, baseID, baseNDN); !ok {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return searchCtxErr(err)
		}
		o, ok := e.keyOrderOf(ctx, r, epoch, a, byOrder)
		if err := ctx.Err(); err != nil {
			return searchCtxErr(err)
		}
		if !ok {
			return nil
		}
		out, err = orderSet(o, set, req)
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
	switch {
	case a == nil, len(e.Subtypes(a.Type)) != 1: // subtypes' values sort too
		return nil, false
	case a.Name() == "objectclass", e.virtual(a.Type) != nil:
		// objectClass keys add the superclasses an entry does not list;
		// a computed attribute's values are not the index's.
		return nil, false
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
// list reads a posting list into a bitmap the caller may change.
func (e *Engine) exactSet(list func([]byte) *roaring.Bitmap, m *matcher) (*roaring.Bitmap, bool) {
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
			s, ok := e.exactSet(list, &m.children[i])
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
		return list(a.PresencePrefix()), true
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
		return list(a.EqualityPrefix(v)), true
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

// keyOrder is the order of every entry that has a value of one indexed
// attribute: ids at their least value, ascending, ties by ascending ID;
// group[i] indexes the value of ids[i] in vals. It is built from the
// index once per write epoch (orderCache) and shared: never written.
type keyOrder struct {
	ids   []uint32
	group []int32
	vals  [][]byte
	bytes int64 // memory held, for the cache's bound
	// unusable: the index does not keep the order (a value longer than
	// an equality key holds); kept so that every sort does not walk it
	// again to learn so.
	unusable bool
}

// orderCache keeps the key orders of the last write epoch: every sorted
// search on the same key between two writes reads the index once.
// (The posting lists a sort's filter reads whole are kept with the
// others, in the entry cache's sets, and follow writes list by list.)
//
// Any write moves the epoch and so empties it; the sorts that then miss
// it together (32 clients paging an address book) do not each walk the
// index: the first one builds, the others wait for its result (builds).
// A sort of an older epoch than a running build builds its own.
type orderCache struct {
	mu     sync.Mutex
	epoch  uint64
	orders map[orderID]*keyOrder

	builds builds[orderID, *keyOrder]
	// built counts the key orders walked: what the cache and the shared
	// builds saved is what it did not count (tests).
	built atomic.Int64
	// onBuild, set only by tests, runs as each build starts.
	onBuild func()
}

type orderID struct {
	a       *index.Attribute
	byOrder bool
}

// maxOrderBytes bounds the key orders kept (an order of 100,000 people
// by displayName holds about 3 MiB).
const maxOrderBytes = 32 << 20

// fresh moves the cache to epoch, emptying it, unless it holds a later
// one; it reports whether the cache is of epoch. c.mu is held.
func (c *orderCache) fresh(epoch uint64) bool {
	if epoch > c.epoch || c.orders == nil {
		c.epoch, c.orders = epoch, map[orderID]*keyOrder{}
	}
	return c.epoch == epoch
}

// putOrder keeps o as the order of id in epoch, if the cache is of epoch
// and o fits; c.mu is held.
func (c *orderCache) putOrder(epoch uint64, id orderID, o *keyOrder) {
	if !c.fresh(epoch) {
		return
	}
	held := o.bytes
	for _, x := range c.orders {
		held += x.bytes
	}
	if held > maxOrderBytes {
		clear(c.orders)
	}
	if o.bytes <= maxOrderBytes {
		c.orders[id] = o
	}
}

// postingSet returns the whole posting list under prefix, a bitmap the
// caller may change, through the posting-list cache when there is one.
func (e *Engine) postingSet(ctx context.Context, r index.Reader, prefix []byte) *roaring.Bitmap {
	if v, ok := r.Lists.(*listView); ok {
		return v.Set(ctx, r, prefix)
	}
	return r.Bitmap(prefix)
}

// keyOrderOf returns the order of a's index from the cache, from a build
// of it running in another sort, or by walking the index in the snapshot
// r.Txn, which began after epoch was read. It reports false when the
// index does not keep the order, or ctx ended while it waited.
func (e *Engine) keyOrderOf(ctx context.Context, r index.Reader, epoch uint64, a *index.Attribute, byOrder bool) (*keyOrder, bool) {
	id := orderID{a, byOrder}
	c := &e.orders
	c.mu.Lock()
	if o := c.orders[id]; o != nil && c.epoch == epoch {
		c.mu.Unlock()
		return o, !o.unusable
	}
	f, first := c.builds.join(id, epoch)
	c.mu.Unlock()
	if !first {
		if o, ok := f.wait(ctx); ok {
			return o, !o.unusable
		}
		if ctx.Err() != nil {
			return nil, false
		}
		f = &build[*keyOrder]{epoch: epoch, done: make(chan struct{})} // build it alone
	}
	var o *keyOrder
	defer func() {
		c.mu.Lock()
		if o != nil {
			c.putOrder(epoch, id, o)
		}
		c.builds.finish(id, f, o, o != nil)
		c.mu.Unlock()
	}()
	c.built.Add(1)
	if c.onBuild != nil {
		c.onBuild()
	}
	o, ok := buildKeyOrder(r, a, byOrder)
	if !ok {
		o = &keyOrder{unusable: true}
	}
	return o, ok
}

// valueGroup is one distinct key value and the IDs that have it, as
// ids[first:first+n] of buildKeyOrder's list.
type valueGroup struct {
	val      []byte
	first, n int
}

// buildKeyOrder walks a's ordering (byOrder) or equality index; false
// when a key does not keep its value's order (a long value's hash).
func buildKeyOrder(r index.Reader, a *index.Attribute, byOrder bool) (*keyOrder, bool) {
	var groups []valueGroup
	var ids []uint32 // the walk's IDs, group after group
	var arena []byte
	add := func(val []byte, id uint32) {
		if len(groups) == 0 || !bytes.Equal(groups[len(groups)-1].val, val) {
			if cap(arena)-len(arena) < len(val) {
				arena = make([]byte, 0, max(len(val), 64<<10))
			}
			o := len(arena)
			arena = append(arena, val...)
			groups = append(groups, valueGroup{val: arena[o:len(arena):len(arena)], first: len(ids)})
		}
		ids = append(ids, id)
		groups[len(groups)-1].n++
	}
	ok := true
	if byOrder {
		// Keys come in the sort's order: the groups are sorted already.
		var buf []byte
		r.Postings(a.OrderingPrefix(), func(rest []byte, id uint64) bool {
			if id > 0xFFFFFFFF {
				return true
			}
			buf, ok = index.AppendOrderingValue(buf[:0], rest)
			if ok {
				add(buf, uint32(id))
			}
			return ok
		})
	} else {
		// Keys come by value length, then value: sort the groups.
		r.Postings(a.EqualityHead(), func(rest []byte, id uint64) bool {
			if id > 0xFFFFFFFF {
				return true
			}
			var v []byte
			if v, ok = index.EqualityValue(rest); ok {
				add(v, uint32(id))
			}
			return ok
		})
		slices.SortFunc(groups, func(x, y valueGroup) int { return bytes.Compare(x.val, y.val) })
	}
	if !ok {
		return nil, false
	}
	// An entry takes its place at its first group: its least value.
	seen := roaring.New()
	o := &keyOrder{ids: make([]uint32, 0, len(ids)), group: make([]int32, 0, len(ids))}
	for _, g := range groups {
		gi := int32(len(o.vals))
		placed := false
		for _, id := range ids[g.first : g.first+g.n] {
			if seen.CheckedAdd(id) {
				o.ids = append(o.ids, id)
				o.group = append(o.group, gi)
				placed = true
			}
		}
		if placed {
			o.vals = append(o.vals, g.val)
		}
	}
	o.bytes = int64(len(o.ids))*8 + int64(len(arena)) + int64(len(o.vals))*24 + int64(seen.GetSizeInBytes())
	return o, true
}

// orderSet puts the entries of set in the request's order, following the
// key order o.
func orderSet(o *keyOrder, set *roaring.Bitmap, req *IndexSortRequest) (*IndexSorted, error) {
	n := int(set.GetCardinality())
	if req.Charge != nil {
		if err := req.Charge(int64(n) * 8); err != nil {
			return nil, err
		}
	}
	out := &IndexSorted{ids: make([]uint32, 0, n), group: make([]int32, 0, n), vals: o.vals, rev: req.Reverse}
	with := roaring.New()
	keep := func(i int) {
		if id := o.ids[i]; set.Contains(id) {
			out.ids = append(out.ids, id)
			out.group = append(out.group, o.group[i])
			with.Add(id)
		}
	}
	absent := func() {
		if len(out.ids) == n {
			return
		}
		it := roaring.AndNot(set, with).Iterator()
		for it.HasNext() {
			out.ids = append(out.ids, it.Next())
			out.group = append(out.group, -1)
		}
	}
	if !req.Reverse {
		for i := range o.ids {
			keep(i)
		}
		absent()
		return out, nil
	}
	// Reverse: entries without a value first, then the groups from the
	// greatest, each group's IDs still ascending.
	for i := range o.ids {
		if set.Contains(o.ids[i]) {
			with.Add(o.ids[i])
		}
	}
	absent()
	with = roaring.New()
	for end := len(o.ids); end > 0; {
		start := end - 1
		for start > 0 && o.group[start-1] == o.group[end-1] {
			start--
		}
		for i := start; i < end; i++ {
			keep(i)
		}
		end = start
	}
	return out, nil
}

// EntryNDN returns the normalised DN of entry id, "" if there is none.
func (e *Engine) EntryNDN(ctx context.Context, id ID) (string, error) {
	var ndn string
	err := e.view(func(txn *badger.Txn, tok readToken) error {
		sc := getScratch()
		defer putScratch(sc)
		en, err := e.readEntry(txn, tok, id, true, sc, nil)
		if en != nil {
			ndn = en.NDN
		}
		return err
	})
	return ndn, err
}
