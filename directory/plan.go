package directory

import (
	"iter"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// The planner turns a compiled filter into a source of candidate IDs, in
// ascending order, from the indexes:
//
//   - an indexed equality, presence, approximate or substring item reads
//     its posting lists (substrings: the intersection of its grams);
//     >= and <= read a range of the ordering index into a bitmap;
//   - AND drives from its smallest child (estimated by counting its
//     posting list up to a cap) and narrows by the others: a child whose
//     posting list is large is probed per candidate (one key lookup)
//     instead of being read; unindexed children are left to the filter;
//   - OR unions its children, and is unindexed if any child is;
//   - NOT and unindexed items give no plan: the scope is walked instead;
//     but a size-limited search in any order (SearchRequest.AnyOrder)
//     whose filter has no plan only because an OR has an unindexed child
//     first reads the candidates of the filter's indexed part (planPart),
//     and walks the rest of the scope only if they yield fewer entries
//     than the limit (indexedFirst, search.go).
//
// Every candidate is checked against the whole filter afterwards, so a
// plan may return a superset of the answer but never less.

// estimateCap bounds the counting of a posting list for estimates: a list
// that reaches it is "large", and large lists are probed or streamed, never
// counted further. Counting costs a key read per ID, so the cap stays
// small: (objectClass=inetOrgPerson) must not cost 100,000 key reads (nor
// 512: 150 µs) before the planner learns that uid=x has one. At 64 the
// count still cost the AND case 20 µs of its 79 per search at 100,000
// people; lists between 16 and a few thousand IDs are counted again when
// no path is smaller (see intersect).
const estimateCap = 16

// gatherCap bounds the posting lists and ranges read into bitmaps; larger
// ones are probed or left to the filter.
const gatherCap = 1 << 18

// recountCap bounds the second, longer count of an intersection's paths
// when none is known to be small at estimateCap (the grams of
// (cn=*smith*) at 100,000 people: 1,000 to 4,000 IDs each): reading a
// list of a few thousand IDs costs less than a key lookup per candidate
// into it.
const recountCap = 8192

// gatherPerProbe is about how many posting-list IDs one read can gather
// for the cost of one key lookup (a probe): a large list is read whole
// when it holds fewer than gatherPerProbe IDs per candidate.
const gatherPerProbe = 8

// fewCandidates is the size of a candidate set at which an intersection
// stops probing large posting lists: a probe costs about what reading a
// candidate's entry does, and the entries of candidates that match are
// read anyway ((&(objectClass=inetOrgPerson)(uid=x)) probed the
// objectClass index for the one uid=x).
const fewCandidates = 2

// idSource yields candidate IDs in ascending order.
type idSource interface {
	each(r index.Reader, fn func(ID) bool)
}

// prefixSource streams one posting list, filtered by probes into others.
type prefixSource struct {
	prefix []byte
	probes [][]byte
}

func (s *prefixSource) each(r index.Reader, fn func(ID) bool) {
	r.Scan(s.prefix, func(id uint64) bool {
		for _, p := range s.probes {
			if !r.Contains(p, id) {
				return true
			}
		}
		return fn(ID(id))
	})
}

// bitmapSource yields a gathered set, filtered by probes.
type bitmapSource struct {
	bm     *roaring.Bitmap
	probes [][]byte
}

func (s *bitmapSource) each(r index.Reader, fn func(ID) bool) {
	it := s.bm.Iterator()
	for it.HasNext() {
		id := uint64(it.Next())
		ok := true
		for _, p := range s.probes {
			if !r.Contains(p, id) {
				ok = false
				break
			}
		}
		if ok && !fn(ID(id)) {
			return
		}
	}
}

// plan is a node's access path: one posting list (prefix, which can also
// serve as a probe) or a gathered set (bm); either way filtered by probes,
// other posting lists each ID must be in. est estimates its size: exact
// for a set and for a list counted to its end, a lower bound for a list
// whose counting stopped at estimateCap (large).
type plan struct {
	prefix []byte
	bm     *roaring.Bitmap
	probes [][]byte
	est    int
	// union, when set, is a streaming OR of these plans (planUnion); it
	// is only ever a whole plan, never a part of an intersection.
	union []*plan
}

// large reports whether p is a posting list too long to have been counted.
func (p *plan) large() bool { return p.bm == nil && p.est >= estimateCap }

// gather reads p into a set, applying its probes.
func (p *plan) gather(r index.Reader) *roaring.Bitmap {
	if p.bm == nil {
		p.bm = r.Bitmap(p.prefix)
	}
	if len(p.probes) > 0 {
		out := roaring.New()
		(&bitmapSource{bm: p.bm, probes: p.probes}).each(r, func(id ID) bool { out.Add(uint32(id)); return true })
		p.bm, p.probes = out, nil
	}
	p.est = int(p.bm.GetCardinality())
	return p.bm
}

// planFilter returns an access path for m, or nil if the indexes cannot
// narrow it.
func (e *Engine) planFilter(r index.Reader, m *matcher) *plan {
	if m.undefined {
		// An Undefined item matches nothing on its own; in an OR it
		// contributes nothing either.
		return &plan{bm: roaring.New()}
	}
	switch m.kind {
	case ldap.FilterAnd:
		return e.planAnd(r, m)
	case ldap.FilterOr:
		if len(m.children) == 0 {
			return &plan{bm: roaring.New()} // absolute false
		}
		parts, total, _ := e.planParts(r, m)
		if parts == nil || total > gatherCap {
			return nil
		}
		return gatherUnion(r, parts)
	case ldap.FilterNot:
		return nil
	}
	if va := e.virtual(m.at); va != nil {
		if m.kind == ldap.FilterEqualityMatch && len(m.names) == 1 {
			return e.planVirtual(&View{e: e, txn: r.Txn}, va, m.value)
		}
		return nil
	}
	a := e.ready(m.at)
	if a == nil || len(m.names) != 1 {
		return nil // not indexed, or a supertype that covers several types
	}
	single := func(prefix []byte) *plan {
		n, bm := r.Estimate(prefix, estimateCap, estimateCap)
		return &plan{prefix: prefix, bm: bm, est: n}
	}
	switch m.kind {
	case ldap.FilterEqualityMatch:
		if a.Has(index.Equality) && m.class == nil {
			return single(a.EqualityPrefix(m.value))
		}
		if a.Has(index.Equality) && m.class != nil {
			// objectClass keys include every superclass (see indexKeys).
			n, err := m.at.Normalize([]byte(m.class.Name()))
			if err == nil {
				return single(a.EqualityPrefix(n))
			}
		}
	case ldap.FilterPresent:
		if a.Has(index.Presence) {
			return single(a.PresencePrefix())
		}
	case ldap.FilterApproxMatch:
		if a.Has(index.Approx) {
			return single(a.ApproxPrefix(m.value))
		}
	case ldap.FilterSubstrings:
		if !a.Has(index.Substring) {
			return nil
		}
		grams := index.QueryGrams(m.initial, m.any, m.final)
		if len(grams) == 0 {
			return nil
		}
		var parts []*plan
		for _, g := range grams {
			parts = append(parts, single(a.GramPrefix(g)))
		}
		return e.intersect(r, parts)
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		if !a.Has(index.Ordering) {
			return nil
		}
		k, ok := a.OrderKey(m.value)
		if !ok {
			return &plan{bm: roaring.New()}
		}
		var bm *roaring.Bitmap
		if m.kind == ldap.FilterGreaterOrEqual {
			bm, ok = r.Range(a, k, nil, gatherCap)
		} else {
			bm, ok = r.Range(a, nil, k, gatherCap)
		}
		if !ok {
			return nil
		}
		return &plan{bm: bm, est: int(bm.GetCardinality())}
	case ldap.FilterExtensible:
		if m.chain != nil && m.chain.resolved {
			return &plan{bm: m.chain.ids, est: int(m.chain.ids.GetCardinality())}
		}
		if m.at != nil && m.rule == m.at.Equality && a.Has(index.Equality) && !m.dnAttrs {
			return single(a.EqualityPrefix(m.value))
		}
	}
	return nil
}

func (e *Engine) planAnd(r index.Reader, m *matcher) *plan {
	if len(m.children) == 0 {
		return nil // absolute true: everything in scope
	}
	var parts []*plan
	for i := range m.children {
		if p := e.planFilter(r, &m.children[i]); p != nil {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return e.intersect(r, parts)
}

// intersect combines access paths. The smallest path of known size drives:
// it is gathered, and the other known ones are intersected with it in
// memory. Large posting lists, whose size is unknown beyond estimateCap,
// become probes, one key lookup per candidate, unless counting them up to
// gatherPerProbe IDs per candidate shows reading them is cheaper. When
// every path is large, they are counted again up to recountCap and the
// moderate ones gathered; only when all stay large does one of them
// stream, probing the rest. (Gathering a large list because its capped
// estimate looked small made (&(mail=*)(|(cn=ab*)...)), Outlook's filter,
// read the whole presence index on every search.)
func (e *Engine) intersect(r index.Reader, parts []*plan) *plan {
	if len(parts) == 1 {
		return parts[0]
	}
	smallest := func() *plan {
		var drv *plan
		for _, p := range parts {
			if !p.large() && (drv == nil || p.est < drv.est) {
				drv = p
			}
		}
		return drv
	}
	drv := smallest()
	if drv == nil {
		// Every path is large at estimateCap: count further, up to
		// recountCap, gathering those that turn out moderate.
		for _, p := range parts {
			if n, bm := r.Estimate(p.prefix, recountCap, recountCap); bm != nil {
				p.bm, p.est = bm, n
			} else {
				p.est = n
			}
		}
		drv = smallest()
	}
	if drv == nil {
		out := &plan{prefix: parts[0].prefix, est: parts[0].est, probes: slices.Clone(parts[0].probes)}
		for _, p := range parts[1:] {
			out.probes = append(append(out.probes, p.prefix), p.probes...)
		}
		return out
	}
	bm := drv.gather(r).Clone()
	var probes [][]byte
	for _, p := range parts {
		if p == drv {
			continue
		}
		if bm.IsEmpty() {
			return &plan{bm: bm}
		}
		if p.large() && bm.GetCardinality() <= fewCandidates {
			// The filter checks each candidate on its entry anyway,
			// which is read for the answer: a probe would cost a key
			// lookup per candidate for nothing when they match.
			continue
		}
		if p.large() {
			limit := min(gatherCap, int(bm.GetCardinality())*gatherPerProbe)
			if limit <= estimateCap || p.est >= limit || r.Count(p.prefix, limit) >= limit {
				probes = append(append(probes, p.prefix), p.probes...)
				continue
			}
		}
		bm.And(p.gather(r))
	}
	return &plan{bm: bm, probes: probes, est: int(bm.GetCardinality())}
}

// planPart plans the part of m the indexes can answer when m as a whole
// has no plan because an OR has an unindexed child: the unindexed
// children of an OR are taken to match nothing, the unindexed children
// of an AND to match everything. The result is neither a superset nor a
// subset of the answer, only a cheap place to look first: a size-limited
// search in any order reads its candidates, tests them against the whole
// filter, and walks the rest of the scope only if they yield fewer
// entries than the limit (see indexedFirst). An OR's part streams its
// children's lists (a union plan), so that the search reads about as many
// IDs as it needs, not every candidate; settle gathers it where it must
// be intersected. nil means the indexes know nothing useful about m.
func (e *Engine) planPart(r index.Reader, m *matcher) *plan {
	if m.undefined {
		return &plan{bm: roaring.New()}
	}
	switch m.kind {
	case ldap.FilterAnd:
		var parts []*plan
		for i := range m.children {
			if p := e.planPart(r, &m.children[i]); p != nil {
				parts = append(parts, p)
			}
		}
		switch len(parts) {
		case 0:
			return nil
		case 1:
			return parts[0]
		}
		for i, p := range parts {
			parts[i] = settle(r, p)
		}
		return e.intersect(r, parts)
	case ldap.FilterOr:
		var parts []*plan
		total := 0
		for i := range m.children {
			p := e.planPart(r, &m.children[i])
			switch {
			case p == nil:
				continue
			case p.union != nil: // (|a(|b c)) streams a, b and c
				parts = append(parts, p.union...)
			default:
				parts = append(parts, p)
			}
			total += p.est
		}
		switch len(parts) {
		case 0:
			return &plan{bm: roaring.New()}
		case 1:
			return parts[0]
		}
		return &plan{union: parts, est: total}
	}
	return e.planFilter(r, m)
}

// settle returns p ready to be intersected: a union plan gathered into a
// set, its large lists counted through the list cache first (which keeps
// lists of up to recountCap IDs: an autocomplete's prefixes come back
// again and again); any other plan as it is.
func settle(r index.Reader, p *plan) *plan {
	if p.union == nil {
		return p
	}
	for _, u := range p.union {
		if u.large() && len(u.probes) == 0 {
			if n, bm := r.Estimate(u.prefix, recountCap, recountCap); bm != nil {
				u.bm, u.est = bm, n
			}
		}
	}
	return gatherUnion(r, p.union)
}

// streamUnion is the size from which an OR at the top of a filter streams
// its children's lists instead of gathering them: Thunderbird's
// (|(cn=ab*)(mail=ab*)(sn=ab*)) with a size limit of 100 then reads about
// a hundred IDs of each list, not every match (tens of thousands at
// 1,000,000 people).
const streamUnion = 1024

// planUnion returns a streaming union for a filter that is an OR of
// indexed items some of which are large, or nil: the ordinary plan then
// applies. Only the top of a filter streams: an intersection needs its
// parts as sets or as lists it can probe.
func (e *Engine) planUnion(r index.Reader, m *matcher) *plan {
	if m.kind != ldap.FilterOr || m.undefined || len(m.children) < 2 {
		return nil
	}
	parts, total, large := e.planParts(r, m)
	switch {
	case parts == nil:
		return nil
	case !large && total <= streamUnion:
		return gatherUnion(r, parts)
	}
	return &plan{union: parts, est: total}
}

// planParts plans each child of an OR: nil if one is unindexed, else the
// plans, the sum of their estimates and whether one is large.
func (e *Engine) planParts(r index.Reader, m *matcher) (parts []*plan, total int, large bool) {
	parts = make([]*plan, 0, len(m.children))
	for i := range m.children {
		p := e.planFilter(r, &m.children[i])
		if p == nil {
			return nil, 0, false
		}
		parts = append(parts, p)
		total += p.est
		large = large || p.large()
	}
	return parts, total, large
}

// gatherUnion reads the parts of an OR into one set.
func gatherUnion(r index.Reader, parts []*plan) *plan {
	bm := roaring.New()
	for _, p := range parts {
		bm.Or(p.gather(r))
	}
	return &plan{bm: bm, est: int(bm.GetCardinality())}
}

// unionSource merges its parts' ascending streams into one, without
// repeats.
type unionSource []idSource

func (s unionSource) each(r index.Reader, fn func(ID) bool) {
	type head struct {
		next func() (ID, bool)
		id   ID
	}
	heads := make([]head, 0, len(s))
	for _, src := range s {
		next, stop := iter.Pull(func(yield func(ID) bool) { src.each(r, yield) })
		defer stop()
		if id, ok := next(); ok {
			heads = append(heads, head{next, id})
		}
	}
	for len(heads) > 0 {
		low := heads[0].id
		for _, h := range heads[1:] {
			low = min(low, h.id)
		}
		if !fn(low) {
			return
		}
		for i := 0; i < len(heads); {
			if heads[i].id != low {
				i++
				continue
			}
			if id, ok := heads[i].next(); ok {
				heads[i].id = id
				i++
			} else {
				heads = slices.Delete(heads, i, i+1)
			}
		}
	}
}

// broad reports whether p is one posting list of at least n IDs. The
// count goes through the list cache, which keeps such a lower bound, so
// it is read once, not on every search.
func (p *plan) broad(r index.Reader, n int) bool {
	if p.prefix == nil || len(p.probes) > 0 || !p.large() {
		return false
	}
	if p.est >= n {
		return true
	}
	m, _ := r.Estimate(p.prefix, 0, n)
	return m >= n
}

// source turns a plan into a stream of IDs.
func (p *plan) source() idSource {
	if p.union != nil {
		srcs := make(unionSource, len(p.union))
		for i, u := range p.union {
			srcs[i] = u.source()
		}
		return srcs
	}
	if p.bm != nil {
		return &bitmapSource{bm: p.bm, probes: p.probes}
	}
	return &prefixSource{prefix: p.prefix, probes: p.probes}
}

// ready returns the index of at with the kinds that are fully built, or
// nil.
func (e *Engine) ready(at *schema.AttributeType) *index.Attribute {
	return e.readyIdx.Load().Lookup(at)
}
