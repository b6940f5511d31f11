package directory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// SearchRequest is a search as the engine runs it.
type SearchRequest struct {
	BaseDN    string
	Scope     ldap.Scope
	Filter    *ldap.Filter
	SizeLimit int // 0: no limit
	// After resumes a paged search: only entries with a larger ID are
	// considered. Entries are always visited in ascending ID order.
	After ID
	// Operational asks for the computed operational attributes (entryDN,
	// subschemaSubentry, hasSubordinates, numSubordinates) on each entry.
	Operational bool
	// Hidden names attributes the requester may not read: filter items on
	// them are Undefined.
	Hidden []string
	// Unlimited exempts the search from the engine's unindexed limit (the
	// administrator's searches).
	Unlimited bool
	// Assertion (RFC 4528) must match the base entry, else the search
	// fails with assertionFailed.
	Assertion *ldap.Filter
	// LookthroughLimit caps the candidate entries the search examines
	// (0: no limit); beyond it the search ends with adminLimitExceeded,
	// the entries already passed to the callback standing.
	LookthroughLimit int
	// Access, when set, decides per entry what the requester may test and
	// see (an access policy): see SearchAccess.
	Access SearchAccess
	// Cost, when set, is the search's work budget and counter (filter.go).
	Cost *SearchCost
	// AnyOrder tells the engine the caller needs the entries in no
	// particular order (no paging cookie, no sort): a size-limited search
	// whose filter the indexes cannot narrow then reads the candidates of
	// the filter's indexed part first and walks the rest of the scope only
	// if they yield fewer entries than SizeLimit (see indexedFirst). Not
	// with After.
	AnyOrder bool
	// Borrow lends the callback an entry that is valid only until it
	// returns: the engine decodes every entry into the same Entry, which
	// saves a copy of its attribute list per entry. The callback must
	// neither keep nor change it (values and names stay valid: they
	// alias immutable records). Without Borrow the entry is the
	// callback's to keep and change.
	Borrow bool
}

// SearchAccess is a requester's access to the entries of one search, as
// an access policy grants it (OpenLDAP's model: filter items need the
// search right on their attribute, returned entries the read right on the
// entry). The engine asks FilterAttr once per filter item when it
// compiles the filter; only items answered AttrPerEntry cost a call per
// entry, so a policy whose answer does not depend on the entry adds
// nothing to the per-entry loop.
type SearchAccess interface {
	// FilterAttr classifies a filter item's attribute for this search.
	FilterAttr(at *schema.AttributeType) AttrAccess
	// Searchable reports whether a filter item may test attribute at of
	// en (asked for AttrPerEntry attributes only); if not, the item is
	// Undefined for en.
	Searchable(en *Entry, at *schema.AttributeType) bool
	// Visible reports whether en, which matched the filter, may be
	// returned.
	Visible(en *Entry) bool
}

// AttrAccess is SearchAccess's answer for a filter attribute.
type AttrAccess uint8

// Values of AttrAccess.
const (
	AttrAllowed  AttrAccess = iota // every entry of the search: test it
	AttrDenied                     // no entry: the item is Undefined
	AttrPerEntry                   // ask Searchable for each entry
)

// ErrStop, returned by a Search callback, ends the search early without
// error (a full page, say).
var ErrStop = errors.New("directory: stop search")

// SubschemaDN is the DN of the subschema subentry.
const SubschemaDN = "cn=Subschema"

// Search calls fn for every entry within scope that matches the filter, in
// ascending ID order. The entry passed to fn is the caller's to keep and
// change, unless req.Borrow lends it; either way its values are shared
// with the entry cache: replace a value, never write into one.
func (e *Engine) Search(ctx context.Context, req *SearchRequest, fn func(*Entry) error) error {
	var parsed ldap.DN // only to name the matched DN of a missing base
	baseNDN := req.BaseDN
	if !e.knownNDN(baseNDN) {
		var err error
		if parsed, baseNDN, err = e.normalizeBase(req.BaseDN); err != nil {
			return err
		}
	}
	// Every candidate is decoded into sc, and the filter normalises the
	// values it tests into sc.norm; only what is sent is copied out
	// (unless lent).
	sc := getScratch()
	defer putScratch(sc)
	if sc.norm == nil {
		sc.norm = make([]byte, 0, 256)
	}
	opt := compileOptions{access: req.Access, cost: req.Cost, norm: &sc.norm}
	if len(req.Hidden) > 0 {
		opt.hidden = map[string]bool{}
		for _, h := range req.Hidden {
			opt.hidden[strings.ToLower(h)] = true
		}
	}
	m := e.compile(req.Filter, opt)
	withComputed := e.usesComputed(req.Filter)
	ttok := e.trees.begin()
	return e.view(func(txn *badger.Txn, tok readToken) error {
		if !e.inSuffix(baseNDN) {
			return noSuchObject("")
		}
		baseID := e.cache.lookupDN(baseNDN)
		if baseID == 0 {
			var err error
			if baseID, err = lookupDN(txn, baseNDN); err != nil {
				return err
			}
			if baseID == 0 {
				if parsed == nil { // deleted since knownNDN saw it
					parsed, _, _ = e.normalizeBase(req.BaseDN)
				}
				return noSuchObject(e.matchedDN(txn, parsed))
			}
			e.cache.putDN(tok, baseNDN, baseID)
		}
		if req.Assertion != nil {
			base, err := e.getEntry(txn, baseID)
			if err != nil {
				return err
			}
			if base == nil || !e.Match(req.Assertion, base) {
				return &ldap.Error{Code: ldap.AssertionFailed, Message: "assertion control: the base entry does not match"}
			}
		}
		r := index.Reader{Txn: txn}
		if e.cache != nil {
			r.Lists = &listView{e.cache, tok}
		}
		if err := e.resolveChains(r, &m); err != nil {
			return err
		}
		src, err := e.candidates(r, ttok, &m, req, baseID, baseNDN)
		if err != nil {
			return err
		}
		sent, looked := 0, 0
		var stop error
		_, scan := src.(allSource)
		if f, ok := src.(*indexedFirst); ok {
			_, scan = f.rest.(allSource)
		}
		visit := func(id ID, item *badger.Item) bool {
			if id <= req.After {
				return true
			}
			if looked++; req.LookthroughLimit > 0 && looked > req.LookthroughLimit {
				stop = &ldap.Error{Code: ldap.AdminLimitExceeded,
					Message: fmt.Sprintf("lookthrough limit of %d entries exceeded", req.LookthroughLimit)}
				return false
			}
			if err := ctx.Err(); err != nil {
				stop = searchCtxErr(err)
				return false
			}
			if !req.Cost.charge(1) {
				stop = req.Cost.Err()
				return false
			}
			// A full scan caches like a look-up for its first
			// scanEvictLimit entries (size-limited scans that read the same
			// few entries again and again), then only into free room.
			en, err := e.readEntry(txn, tok, id, !scan || looked <= scanEvictLimit, sc, item)
			if err != nil {
				stop = err
				return false
			}
			if en == nil || !e.inScope(en, req.Scope, baseID, baseNDN) {
				return true
			}
			stored := len(en.Attrs)
			if withComputed {
				e.addComputed(txn, ttok, en, req.Cost)
			}
			match := e.eval(&m, en)
			if err := req.Cost.Err(); err != nil {
				stop = err
				return false
			}
			if match != triTrue {
				return true
			}
			if req.Access != nil && !req.Access.Visible(en) {
				return true
			}
			if req.SizeLimit > 0 && sent >= req.SizeLimit {
				stop = &ldap.Error{Code: ldap.SizeLimitExceeded, Message: "size limit exceeded"}
				return false
			}
			switch {
			case withComputed && !req.Operational:
				en.Attrs = en.Attrs[:stored]
			case !withComputed && req.Operational:
				e.addComputed(txn, ttok, en, nil)
			}
			if !req.Borrow {
				en = en.private()
			}
			if err := fn(en); err != nil {
				if !errors.Is(err, ErrStop) {
					stop = err
				}
				return false
			}
			sent++
			return true
		}
		if rs, ok := src.(recordSource); ok {
			rs.eachRecord(r, visit)
		} else {
			src.each(r, func(id ID) bool { return visit(id, nil) })
		}
		if stop != nil {
			return stop
		}
		return nil
	})
}

// scanEvictLimit is how many entries a full scan caches as look-ups do
// before it caches only into free room.
const scanEvictLimit = 1024

// entryScratch is the Entry a search decodes its candidates into, with
// the slice their value lists are cut from: after the first few
// candidates, reading one allocates nothing but, on a cache miss, its
// record.
type entryScratch struct {
	en   Entry
	vals [][]byte
	norm []byte // normal forms of the values the filter tests
}

var scratchPool = sync.Pool{New: func() any { return new(entryScratch) }}

func getScratch() *entryScratch { return scratchPool.Get().(*entryScratch) }

// putScratch returns sc to the pool, unless an unusually large entry grew
// it; it keeps no record alive.
func putScratch(sc *entryScratch) {
	if cap(sc.en.Attrs) > 256 || cap(sc.vals) > 1024 {
		return
	}
	clear(sc.en.Attrs[:cap(sc.en.Attrs)])
	clear(sc.vals[:cap(sc.vals)])
	sc.en = Entry{Attrs: sc.en.Attrs[:0]}
	scratchPool.Put(sc)
}

// readEntry loads entry id through the entry cache and decodes it into
// sc, returning &sc.en, or nil if there is no such entry. The result is
// valid until the next readEntry into sc; private copies it out. item, if
// not nil, is the record's store item, already found (readRecord).
//
// A scan (evict false) fills only free room in the cache.
func (e *Engine) readEntry(txn *badger.Txn, tok readToken, id ID, evict bool, sc *entryScratch, item *badger.Item) (*Entry, error) {
	rec, err := e.readRecord(txn, tok, id, evict, item)
	if err != nil || rec == nil {
		return nil, err
	}
	if err := e.decodeRecord(&sc.en, &sc.vals, id, rec); err != nil {
		return nil, err
	}
	return &sc.en, nil
}

// readRecord returns the record of entry id, from the entry cache or the
// store (then caching it as put allows), or nil if there is no such
// entry. The record is shared: it must never be written.
func (e *Engine) readRecord(txn *badger.Txn, tok readToken, id ID, evict bool, item *badger.Item) ([]byte, error) {
	if rec := e.cache.peek(id); rec != nil {
		return rec, nil
	}
	if item == nil {
		var err error
		item, err = txn.Get(entryKey(id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	rec, err := item.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	e.cache.put(tok, id, rec, evict)
	return rec, nil
}

// private returns a copy of en whose attribute list and value lists (with
// room for the computed attributes) are new; names and values are shared,
// as they are immutable.
func (en *Entry) private() *Entry {
	c := &Entry{ID: en.ID, ParentID: en.ParentID, DN: en.DN, NDN: en.NDN}
	total := 0
	for _, a := range en.Attrs {
		total += len(a.Values)
	}
	all := make([][]byte, total)
	c.Attrs = make([]Attr, len(en.Attrs), len(en.Attrs)+computedAttrs)
	for i, a := range en.Attrs {
		vs := all[:len(a.Values):len(a.Values)]
		all = all[len(a.Values):]
		copy(vs, a.Values)
		c.Attrs[i] = Attr{Name: a.Name, Values: vs}
	}
	return c
}

func searchCtxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &ldap.Error{Code: ldap.TimeLimitExceeded, Message: "time limit exceeded"}
	}
	return err
}

// candidates picks the cheaper of the filter's index plan and the scope
// itself, and refuses an unindexed search over a large scope unless
// req.Unlimited. Whatever the base, an indexed search costs its plan and
// a scope test per candidate (inScope), never a walk of the subtree: the
// scope of a subtree below the suffix comes from the cache of subtree.go,
// a set the plan is narrowed by when the subtree is small.
func (e *Engine) candidates(r index.Reader, tok treeToken, m *matcher, req *SearchRequest, baseID ID, baseNDN string) (idSource, error) {
	if req.Scope == ldap.ScopeBaseObject {
		return listSource{baseID}, nil
	}
	var scope idSource
	var set *roaring.Bitmap // the scope as a set, when a small subtree
	scopeSize := 0
	switch {
	case req.Scope == ldap.ScopeSingleLevel:
		scope = &prefixSource{prefix: childPrefix(baseID)}
		scopeSize = r.Count(childPrefix(baseID), estimateCap)
	case baseNDN == e.nsuffix:
		scope = allSource{}
		scopeSize = int(e.entries.Load())
	default:
		st := e.subtree(r.Txn, tok, baseID, baseNDN)
		scopeSize = st.n
		if st.large() {
			scope = allSource{}
			break
		}
		scope, set = &bitmapSource{bm: st.ids}, st.ids
	}
	var p *plan
	if set == nil {
		p = e.planUnion(r, m)
	}
	if p == nil {
		p = e.planFilter(r, m)
	}
	if p != nil && set != nil {
		if (e.unindexedLimit == 0 || scopeSize <= e.unindexedLimit) && p.broad(r, 2*scopeSize) {
			// A list at least twice the subtree ((objectClass=person)
			// in a deep OU): reading or probing it costs more than
			// checking the subtree's entries, which are read anyway.
			p = nil
		} else {
			// The set is shared: intersect only reads it (or clones
			// it when it drives).
			p = e.intersect(r, []*plan{p, {bm: set, est: scopeSize}})
		}
	}
	if req.Scope == ldap.ScopeChildren {
		scopeSize-- // not the base itself
	}
	if p != nil && p.est <= scopeSize {
		return p.source(), nil
	}
	if p == nil && !req.Unlimited && e.unindexedLimit > 0 && scopeSize > e.unindexedLimit {
		return nil, &ldap.Error{Code: ldap.AdminLimitExceeded,
			Message: fmt.Sprintf("unindexed search over %d entries exceeds the limit of %d", scopeSize, e.unindexedLimit)}
	}
	if p == nil && req.AnyOrder && req.SizeLimit > 0 && req.After == 0 {
		if part := e.planPart(r, m); part != nil {
			if set != nil {
				part = e.intersect(r, []*plan{settle(r, part), {bm: set, est: scopeSize}})
			}
			if req.Scope == ldap.ScopeSingleLevel && scopeSize >= estimateCap && part.est >= scopeSize {
				// The children were counted only to estimateCap.
				scopeSize = r.Count(childPrefix(baseID), part.est+1)
			}
			// The candidates can end the search only if they are more
			// than the limit; otherwise the walk follows anyway.
			if (part.large() || part.est > req.SizeLimit) && part.est < scopeSize {
				return &indexedFirst{first: part.source(), rest: scope}, nil
			}
		}
	}
	return scope, nil
}

// indexedFirst yields the candidates of a filter's indexed part (planPart)
// first, then the IDs of the scope it has not yielded yet, each once: a
// size-limited search in any order that finds its limit among the first
// ones never walks the scope. The first are not in ascending order with
// the rest, so a search whose caller resumes by ID (paging) or needs an
// order never uses it.
type indexedFirst struct {
	first, rest idSource
}

func (s *indexedFirst) each(r index.Reader, fn func(ID) bool) {
	s.eachRecord(r, func(id ID, _ *badger.Item) bool { return fn(id) })
}

// eachRecord hands the scope's store items on when the rest is a walk of
// the records (allSource).
func (s *indexedFirst) eachRecord(r index.Reader, fn func(ID, *badger.Item) bool) {
	seen := roaring.New()
	more := true
	s.first.each(r, func(id ID) bool {
		seen.Add(uint32(id))
		more = fn(id, nil)
		return more
	})
	if !more {
		return
	}
	if rs, ok := s.rest.(recordSource); ok {
		rs.eachRecord(r, func(id ID, item *badger.Item) bool {
			return seen.Contains(uint32(id)) || fn(id, item)
		})
		return
	}
	s.rest.each(r, func(id ID) bool {
		return seen.Contains(uint32(id)) || fn(id, nil)
	})
}

// listSource yields a sorted list of IDs.
type listSource []ID

func (s listSource) each(_ index.Reader, fn func(ID) bool) {
	for _, id := range s {
		if !fn(id) {
			return
		}
	}
}

// allSource yields every entry ID in ascending order. (Reading the entry
// records in place during the walk was tried: it measured no faster than
// looking each one up through the entry cache, and slower when the first
// entries are cached, as in size-limited searches.)
type allSource struct{}

func (s allSource) each(r index.Reader, fn func(ID) bool) {
	s.eachRecord(r, func(id ID, _ *badger.Item) bool { return fn(id) })
}

// eachRecord walks the entry records in ID order and hands each with its
// store item: a scan reads the record from the item (its value in the
// table or the value log) rather than looking the key up again, a second
// LSM search per entry.
func (allSource) eachRecord(r index.Reader, fn func(ID, *badger.Item) bool) {
	opt := badger.DefaultIteratorOptions
	opt.PrefetchValues = false
	opt.Prefix = []byte{prefixEntry}
	it := r.Txn.NewIterator(opt)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if !fn(readID(item.Key()[1:]), item) {
			return
		}
	}
}

// recordSource is an idSource that walks the entry records themselves
// (allSource) and can hand each ID with its record's store item.
type recordSource interface {
	eachRecord(r index.Reader, fn func(ID, *badger.Item) bool)
}

// inScope reports whether en is within the search's scope: by ID where
// the base or the parent decides, by DN otherwise.
func (e *Engine) inScope(en *Entry, scope ldap.Scope, baseID ID, baseNDN string) bool {
	switch {
	case scope == ldap.ScopeBaseObject:
		return en.ID == baseID
	case scope == ldap.ScopeSingleLevel:
		return en.ParentID == baseID
	case en.ID == baseID:
		return scope == ldap.ScopeWholeSubtree
	case baseNDN == e.nsuffix:
		return true // every other entry of the store is below the suffix
	}
	return ldap.IsBelowNDN(en.NDN, baseNDN)
}

// addComputed appends the operational attributes derived at read time,
// charging cost (if set) for what it reads. txn must have begun after tok
// was taken (see childCount).
func (e *Engine) addComputed(txn *badger.Txn, tok treeToken, en *Entry, cost *SearchCost) {
	e.addVirtual(&View{e: e, txn: txn, cost: cost}, en)
	kids := e.childCount(txn, tok, en.ID)
	cost.charge(1)
	has := "FALSE"
	if kids > 0 {
		has = "TRUE"
	}
	en.Attrs = append(en.Attrs,
		Attr{Name: "entryDN", Values: [][]byte{[]byte(en.DN)}},
		Attr{Name: "subschemaSubentry", Values: [][]byte{[]byte(SubschemaDN)}},
		Attr{Name: "hasSubordinates", Values: [][]byte{[]byte(has)}},
		Attr{Name: "numSubordinates", Values: [][]byte{[]byte(strconv.Itoa(kids))}},
	)
}

// WithComputed returns a copy of en, an entry as a committed change left
// it (it may since have changed, moved or gone), with the computed
// operational attributes a search adds: entryDN from en's own DN, the
// subordinates and virtual attributes as the store holds them now. It is
// how a change feed sends an entry as of its change.
func (e *Engine) WithComputed(en *Entry) (*Entry, error) {
	c := en.private()
	tok := e.trees.begin()
	err := e.db().View(func(txn *badger.Txn) error {
		e.addComputed(txn, tok, c, nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Get returns the entry named dn with computed operational attributes, or
// a noSuchObject error.
func (e *Engine) Get(ctx context.Context, dn string) (*Entry, error) {
	return e.get(ctx, dn, true)
}

// Stored returns the entry named dn as stored, without the attributes the
// engine computes or the overlays derive (memberOf), or a noSuchObject
// error: what an access check needs when no rule tests the entry's
// attributes.
func (e *Engine) Stored(ctx context.Context, dn string) (*Entry, error) {
	return e.get(ctx, dn, false)
}

// Exists reports whether an entry has the normalised DN ndn, without
// loading it: from the DN cache, else from the store's DN key.
func (e *Engine) Exists(ndn string) (bool, error) {
	if e.knownNDN(ndn) {
		return true, nil
	}
	if ndn == "" || !e.inSuffix(ndn) {
		return false, nil
	}
	var id ID
	err := e.view(func(txn *badger.Txn, tok readToken) error {
		var err error
		id, err = e.idOfNDN(txn, tok, ndn)
		return err
	})
	return id != 0, err
}

// idOfNDN returns the ID of the entry with the normalised DN ndn (0 when
// there is none): from the DN cache, else from the store's DN key, which
// it then caches under tok.
func (e *Engine) idOfNDN(txn *badger.Txn, tok readToken, ndn string) (ID, error) {
	if id := e.cache.lookupDN(ndn); id != 0 {
		return id, nil
	}
	id, err := lookupDN(txn, ndn)
	if err == nil && id != 0 {
		e.cache.putDN(tok, ndn, id)
	}
	return id, err
}

func (e *Engine) get(ctx context.Context, dn string, computed bool) (*Entry, error) {
	var out *Entry
	err := e.Search(ctx, &SearchRequest{BaseDN: dn, Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}, Operational: computed},
		func(en *Entry) error { out = en; return ErrStop })
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, noSuchObject("")
	}
	return out, nil
}

// CompareRequest is a compare as the engine runs it.
type CompareRequest struct {
	DN, Attr string
	Value    []byte
	// Hidden names attributes the requester may not compare.
	Hidden []string
	// Assertion (RFC 4528) must match the entry, else assertionFailed.
	Assertion *ldap.Filter
}

// Compare tests an attribute value assertion against an entry (RFC 4511
// 4.10): it returns compareTrue or compareFalse as a bool, or an error
// with noSuchObject, undefinedAttributeType, noSuchAttribute or
// inappropriateMatching.
func (e *Engine) Compare(ctx context.Context, req *CompareRequest) (bool, error) {
	dn, attr, value, hidden := req.DN, req.Attr, req.Value, req.Hidden
	base, _ := schema.SplitOptions(attr)
	at, ok := e.schema.Attribute(base)
	if !ok || !schema.ValidDescription(attr) {
		return false, &ldap.Error{Code: ldap.UndefinedAttributeType, Message: attr + ": attribute type undefined"}
	}
	for _, h := range hidden {
		if strings.EqualFold(h, at.Name()) {
			return false, &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "no compare access to " + at.Name()}
		}
	}
	if at.Equality == nil {
		return false, &ldap.Error{Code: ldap.InappropriateMatching, Message: at.Name() + ": no equality matching rule"}
	}
	en, err := e.Get(ctx, dn)
	if err != nil {
		return false, err
	}
	if req.Assertion != nil && !e.Match(req.Assertion, en) {
		return false, &ldap.Error{Code: ldap.AssertionFailed, Message: "assertion control: the entry does not match"}
	}
	names := e.subtypes.names(e.schema, at)
	if len(hidden) > 0 && len(names) > 1 {
		// The values of a subtype the requester may not compare
		// (title below name) are not compared either.
		names = maps.Clone(names)
		for _, h := range hidden {
			if sub, ok := e.schema.Attribute(h); ok && sub != at {
				delete(names, sub.Name())
			}
		}
	}
	nv, err := at.Normalize(value)
	if err != nil {
		return false, &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: at.Name() + ": " + err.Error()}
	}
	seen := false
	for _, a := range en.Attrs {
		if !names[baseName(a.Name)] {
			continue
		}
		seen = true
		for _, v := range a.Values {
			if n, err := at.Normalize(v); err == nil && string(n) == string(nv) {
				return true, nil
			}
		}
	}
	if !seen {
		return false, &ldap.Error{Code: ldap.NoSuchAttribute, Message: at.Name() + ": no such attribute"}
	}
	return false, nil
}

// Authenticate checks a simple bind's password against the entry's
// userPassword values. Every failure is invalidCredentials (49), so a
// client cannot tell a missing entry from a wrong password; the
// exceptions are busy (51) when the password hashing pool's queue is full
// and the context's own error when it ends while waiting for the pool.
//
// Verification goes through the engine's password.Hasher: expensive
// schemes wait for a slot of its bounded pool, and stored values whose
// cost exceeds its caps are refused (logged at warn level, never matched).
// A failure that checked no value of an expensive scheme (no such entry,
// no userPassword, only cheap or refused values) also runs the Hasher's
// dummy verification, which costs what a value of the configured scheme
// costs: the time of the answer does not tell which entries exist.
//
// With Options.RehashOnBind, a successful bind that verified a value not
// in the Hasher's current scheme and parameters replaces that value with
// a new hash of the same password (see rehash).
//
// The entry returned holds the entry's names and its userPassword only:
// a bind decodes nothing else of the record.
func (e *Engine) Authenticate(ctx context.Context, dn string, pw []byte) (*Entry, error) {
	en, err := e.bindEntry(dn)
	if err != nil || en == nil {
		return nil, e.FailBind(ctx, pw)
	}
	costly := false
	for _, stored := range en.Get("userPassword") {
		costly = costly || e.passwords.Costly(stored)
		ok, err := e.passwords.Verify(ctx, stored, pw)
		if err := BindError(ctx, err); err != nil {
			return nil, err
		}
		if errors.Is(err, password.ErrCostTooHigh) || errors.Is(err, password.ErrMalformed) {
			e.log.Warn("userPassword value refused", "dn", en.DN, "err", err)
		}
		if ok {
			if e.rehashOnBind && e.passwords.NeedsRehash(stored) {
				e.rehash(ctx, en, stored, pw)
			}
			return en, nil
		}
	}
	if !costly {
		return nil, e.FailBind(ctx, pw)
	}
	return nil, errInvalidCredentials()
}

// FailBind answers a simple bind that has no password to check (no such
// entry, no userPassword, or no right to use it) after the Hasher's dummy
// verification of pw, so that it takes as long as a wrong password would:
// invalidCredentials, or busy or the context's error as a real
// verification would have answered.
func (e *Engine) FailBind(ctx context.Context, pw []byte) error {
	if err := BindError(ctx, e.passwords.VerifyDummy(ctx, pw)); err != nil {
		return err
	}
	return errInvalidCredentials()
}

// BindError maps the error of a password verification to the bind's
// answer: busy for a full pool, the context's error when it ended, nil
// for the rest (a value that cannot match just does not). Overlays that
// verify passwords for a bind (ppolicy) answer the same way.
func BindError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, password.ErrBusy):
		return &ldap.Error{Code: ldap.Busy, Message: "too many binds in progress; retry"}
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return nil
}

func errInvalidCredentials() error {
	return &ldap.Error{Code: ldap.InvalidCredentials, Message: "invalid credentials"}
}

// bindEntry returns the entry dn with its DN, normalised DN and
// userPassword only, from the bind cache when it holds the entry the DN
// cache names (no read transaction then), otherwise through entryByDN,
// caching the answer. It returns nil, nil when there is no such entry.
func (e *Engine) bindEntry(dn string) (*Entry, error) {
	ndn, err := e.NormalizeDN(dn)
	if err != nil {
		return nil, err
	}
	if id := e.cache.lookupDN(ndn); id != 0 {
		if b, ok := e.cache.lookupBind(id); ok {
			return &Entry{ID: id, DN: b.dn, NDN: ndn, Attrs: []Attr{{Name: "userPassword", Values: b.pw}}}, nil
		}
	}
	tok := e.cache.begin()
	en, err := e.entryByDN(ndn, "userPassword")
	if err == nil && en != nil && !e.sealer.Sealed("userPassword") {
		// (Sealed values stay sealed in the caches: they are opened
		// for each read.)
		e.cache.putBind(tok, en.ID, en.DN, en.Get("userPassword"))
	}
	return en, err
}

// entryByDN loads an entry by DN through the entry cache, without the
// computed attributes of a search, with its DN, normalised DN and the one
// attribute named attr, or every attribute when attr is "" (values shared
// with the cached record, so never to be written): the bind path. It
// returns nil, nil when there is no such entry.
func (e *Engine) entryByDN(dn, attr string) (*Entry, error) {
	ndn, err := e.NormalizeDN(dn) // the frontend has just normalised dn the same way
	if err != nil {
		return nil, err
	}
	var en *Entry
	err = e.view(func(txn *badger.Txn, tok readToken) error {
		id, err := e.idOfNDN(txn, tok, ndn)
		if err != nil || id == 0 {
			return err
		}
		rec, err := e.readRecord(txn, tok, id, true, nil)
		if err != nil || rec == nil {
			return err
		}
		en = new(Entry)
		if attr == "" {
			var vals [][]byte
			return e.decodeRecord(en, &vals, id, rec)
		}
		return e.decodeRecordAttr(en, id, rec, attr)
	})
	return en, err
}

// rehash replaces the userPassword value old of en, which pw has just
// matched, by a hash in the current scheme. It is best effort: a failure
// is logged and the bind still succeeds.
//
// The write is an ordinary Modify (delete old value, add new one) in the
// entry's own name, so modifyTimestamp, modifiersName and the change log
// move like for any other change: the stored value did change, and
// replicas and backups must see it. Deleting the exact old value makes it
// a compare-and-swap: if the password was changed meanwhile, the delete
// fails (noSuchAttribute) and nothing is written.
func (e *Engine) rehash(ctx context.Context, en *Entry, old, pw []byte) {
	h, err := e.passwords.Hash(ctx, pw)
	if err != nil {
		e.log.Debug("rehash on bind: hashing failed", "dn", en.DN, "err", err)
		return
	}
	mods := []Mod{
		{Op: change.ModDelete, Attr: Attr{Name: "userPassword", Values: [][]byte{old}}},
		{Op: change.ModAdd, Attr: Attr{Name: "userPassword", Values: [][]byte{h}}},
	}
	if _, err := e.Modify(WithIdentity(ctx, en.DN), en.DN, mods, WriteOptions{}); err != nil {
		e.log.Warn("rehash on bind: write failed; the old hash stays", "dn", en.DN, "err", err)
		return
	}
	e.log.Debug("rehash on bind: userPassword upgraded", "dn", en.DN, "scheme", e.passwords.Scheme())
}

// Walk calls fn for every entry, parents before children (depth first from
// the suffix), all from one consistent snapshot: the order an LDIF export
// needs so that it can be imported again.
func (e *Engine) Walk(ctx context.Context, fn func(*Entry) error) error {
	return e.db().View(func(txn *badger.Txn) error {
		id, err := lookupDN(txn, e.nsuffix)
		if err != nil || id == 0 {
			return err
		}
		stack := []ID{id}
		for len(stack) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			en, err := e.getEntry(txn, top)
			if err != nil {
				return err
			}
			if en == nil {
				continue
			}
			if err := fn(en); err != nil {
				return err
			}
			kids, err := scanIDs(txn, childPrefix(top), nil)
			if err != nil {
				return err
			}
			for i := len(kids) - 1; i >= 0; i-- {
				stack = append(stack, kids[i])
			}
		}
		return nil
	})
}
