package merge

import (
	"crypto/sha256"
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
)

// Attributes that mark the results of conflict resolution.
const (
	// ConflictAttr holds, on an entry renamed because another entry
	// took its DN first, the DN it was meant to have.
	ConflictAttr = "switchboardConflict"
	// GlueAttr is TRUE on a glue entry: a deleted entry shown because
	// live entries remain below it.
	GlueAttr = "switchboardGlue"
)

// An Entry is one visible entry of a materialised state.
type Entry struct {
	UUID   UUID
	Parent UUID
	DN     string
	// Attrs are sorted by lower-case name; each attribute's values by
	// equality key.
	Attrs []Attribute
	// Glue marks a deleted entry kept as a placeholder for live entries
	// below it. Its only attributes are objectClass, entryUUID, its RDN's values
	// and GlueAttr.
	Glue bool
	// ConflictDN is the DN the entry lost to an earlier entry; empty
	// when it has the DN it asked for.
	ConflictDN string
}

// ConflictKind classifies a Conflict.
type ConflictKind uint8

const (
	// ConflictName: another entry took the same DN first; this one is
	// shown as entryUUID=<uuid>+<rdn> with ConflictAttr.
	ConflictName ConflictKind = 1 + iota
	// ConflictGlue: a deleted entry shown as glue because live entries
	// were added or moved below it concurrently with its deletion.
	ConflictGlue
	// ConflictMove: a modrdn ignored because, with the earlier moves,
	// it would have put the entry below itself. Purge forgets those
	// older than its bound.
	ConflictMove
	// ConflictOrphan: a live entry whose ancestors are not all known
	// here yet; it is not shown until they are.
	ConflictOrphan
)

func (k ConflictKind) String() string {
	switch k {
	case ConflictName:
		return "name"
	case ConflictGlue:
		return "glue"
	case ConflictMove:
		return "move"
	case ConflictOrphan:
		return "orphan"
	}
	return "unknown"
}

// A Conflict is one outcome of conflict resolution that an administrator
// may want to settle by hand.
type Conflict struct {
	Kind  ConflictKind
	Entry UUID
	// DN is where the entry is shown now; empty for an orphan.
	DN string
	// WantedDN is the DN the entry asked for: for ConflictName the DN it
	// lost, for ConflictMove the DN the ignored modrdn asked for (its
	// RDN below the new parent's current DN, if that is known).
	WantedDN string
	// CSN is the change behind the conflict: the losing add or modrdn,
	// the delete of the glue entry, the ignored modrdn.
	CSN change.CSN
}

// view is a resolved state: where every entry is, which entries are
// visible, and the DN each is shown at.
type view struct {
	s       *State
	at      map[UUID]*placement // effective placement
	ignored []placedRecord      // moves that would have made cycles
	anchor  map[UUID]bool       // whether the ancestors chain reaches the root (nil once resolved)
	visible map[UUID]bool       // live and anchored, or glue
	loser   map[UUID]bool       // renamed by a name conflict
	dns     map[UUID]string     // shown DN, memo of one round (see keep)

	// What patch needs to follow adds and deletes of leaves.
	marks     map[UUID]viewMark // per placed entry, as resolved
	names     map[nameKey]UUID  // the visible entry holding each name
	contested map[nameKey]bool  // names claimed by more than one
	children  map[UUID]int      // visible children per entry
	waiting   map[UUID]bool     // unknown parents of placed entries

	// scratch space for attrs
	heads   []attrHead
	vals    []keyedValue
	rank    []int
	refOffs []int
	// Following references (see References), for the entry being built:
	// what its previous build found of each reference value (memo, in
	// the order built; memoAt: where the next value is looked for first,
	// memoIdx: memo's indexes by hash once a value was not there,
	// memoHit: the values met again), the DNs this round's changes may
	// have shown or hidden (affected; nil until followReferences knows
	// them), and what this build finds (refVals; fresh: the DNs of the
	// values looked up afresh; memoUsed if a verdict came from memo).
	refSeed  maphash.Seed
	seeded   bool
	memo     []refValue
	memoAt   int
	memoIdx  []int32
	memoHit  []bool
	affected map[uint64]bool
	refVals  []refValue
	fresh    []uint64
	memoUsed bool
}

// A viewMark is what the view saw of one entry: how many placements it
// had and whether it was live.
type viewMark struct {
	places int
	live   bool
}

// A nameKey is a name among siblings: the parent and the normalised RDN.
type nameKey struct {
	parent UUID
	key    string
}

type placedRecord struct {
	entry UUID
	p     *placement
}

func compareRecords(a, b placedRecord) int {
	if c := a.p.csn.Compare(b.p.csn); c != 0 {
		return c
	}
	if c := a.entry.Compare(b.entry); c != 0 {
		return c
	}
	return comparePlacement(a.p, b.p)
}

// records returns every placement record of s in replay order.
func (s *State) records() []placedRecord {
	n := 0
	for _, e := range s.entries {
		n += len(e.places)
	}
	recs := make([]placedRecord, 0, n)
	for u, e := range s.entries {
		for i := range e.places {
			recs = append(recs, placedRecord{u, &e.places[i]})
		}
	}
	slices.SortFunc(recs, compareRecords)
	return recs
}

// replay applies placement records in order into at, skipping (and
// returning) those that would put an entry below itself.
func replay(at map[UUID]*placement, recs []placedRecord) (ignored []placedRecord) {
	for _, r := range recs {
		if wouldCycle(at, r.entry, r.p.parent) {
			ignored = append(ignored, r)
			continue
		}
		at[r.entry] = r.p
	}
	return ignored
}

// wouldCycle reports whether placing u below parent makes u its own
// ancestor. at has no cycles, so the walk ends.
func wouldCycle(at map[UUID]*placement, u, parent UUID) bool {
	for p := parent; !p.IsRoot(); {
		if p == u {
			return true
		}
		next, ok := at[p]
		if !ok {
			return false
		}
		p = next.parent
	}
	return false
}

func (s *State) resolve() *view {
	v := &view{
		s:       s,
		at:      make(map[UUID]*placement, len(s.entries)),
		anchor:  make(map[UUID]bool, len(s.entries)),
		visible: make(map[UUID]bool, len(s.entries)),
		loser:   make(map[UUID]bool),
		dns:     make(map[UUID]string, len(s.entries)),
	}
	v.ignored = replay(v.at, s.records())

	// Visible: live entries whose chain reaches the root, and every
	// ancestor of one (deleted ancestors become glue).
	for u, e := range s.entries {
		if e.live() && v.anchored(u) {
			for p := u; !p.IsRoot() && !v.visible[p]; p = v.at[p].parent {
				v.visible[p] = true
			}
		}
	}

	// Names: among visible entries with the same parent and RDN, the
	// one that took the name first keeps it: live before glue, then
	// lowest CSN of the add or modrdn that gave the name, then UUID.
	type claim struct {
		u    UUID
		glue bool
		p    *placement
	}
	claims := make([]claim, 0, len(v.visible))
	for u := range v.visible {
		claims = append(claims, claim{u, !s.entries[u].live(), v.at[u]})
	}
	slices.SortFunc(claims, func(a, b claim) int {
		if c := a.p.parent.Compare(b.p.parent); c != 0 {
			return c
		}
		if c := strings.Compare(a.p.key, b.p.key); c != 0 {
			return c
		}
		if a.glue != b.glue {
			if a.glue {
				return 1
			}
			return -1
		}
		if c := a.p.csn.Compare(b.p.csn); c != 0 {
			return c
		}
		return a.u.Compare(b.u)
	})
	for i := 1; i < len(claims); i++ {
		if claims[i].p.parent == claims[i-1].p.parent && claims[i].p.key == claims[i-1].p.key {
			v.loser[claims[i].u] = true
		}
	}

	v.marks = make(map[UUID]viewMark, len(v.at))
	v.names = make(map[nameKey]UUID, len(claims))
	v.contested = make(map[nameKey]bool)
	v.children = make(map[UUID]int)
	v.waiting = make(map[UUID]bool)
	for u, p := range v.at {
		e := s.entries[u]
		v.marks[u] = viewMark{places: len(e.places), live: e.live()}
		if _, placed := v.at[p.parent]; !placed && !p.parent.IsRoot() {
			v.waiting[p.parent] = true
		}
	}
	for _, c := range claims {
		k := nameKey{c.p.parent, c.p.key}
		if _, taken := v.names[k]; taken {
			v.contested[k] = true
		} else {
			v.names[k] = c.u
		}
		v.children[c.p.parent]++
	}
	return v
}

// patch brings v up to date with the changes of the listed entries, if
// they are only adds of new leaves under live entries, deletes of live
// leaves, new entries already deleted, and changes that do not place
// (modifies): none names a contested name, revives an entry, moves one
// or completes a waiting one. It reports whether it could; when it could not, v is left half
// patched and must be resolved again.
func (v *view) patch(changed map[UUID]struct{}) bool {
	var adds, dels, dead []UUID
	for u := range changed {
		e := v.s.entries[u]
		m, placed := v.marks[u]
		switch {
		case e == nil:
			if placed {
				return false
			}
		case !placed:
			switch {
			case len(e.places) == 0:
			case e.live():
				adds = append(adds, u)
			default:
				dead = append(dead, u) // added and deleted since
			}
		case len(e.places) != m.places:
			return false // moved
		case e.live() && !m.live:
			return false // an add of a deleted entry arrived
		case !e.live() && m.live:
			dels = append(dels, u)
		}
	}
	liveParent := func(p UUID) bool {
		return p.IsRoot() || v.visible[p] && v.marks[p].live
	}
	// Parents before children; children before parents.
	slices.SortFunc(adds, func(a, b UUID) int { return v.s.entries[a].added.Compare(v.s.entries[b].added) })
	slices.SortFunc(dels, func(a, b UUID) int { return v.s.entries[b].deleted.Compare(v.s.entries[a].deleted) })
	for _, u := range adds {
		e := v.s.entries[u]
		if len(e.places) != 1 || !e.live() || v.waiting[u] {
			return false
		}
		p := &e.places[0]
		k := nameKey{p.parent, p.key}
		if _, taken := v.names[k]; taken || !liveParent(p.parent) {
			return false
		}
		v.at[u] = p
		if v.anchor != nil {
			v.anchor[u] = true
		}
		v.visible[u] = true
		v.names[k] = u
		v.children[p.parent]++
		v.marks[u] = viewMark{places: 1, live: true}
	}
	// An entry added and deleted since the last round (both pulled in
	// one batch) is placed but not visible, like a tombstone: nothing
	// changes for the others unless an entry waits for it as a parent.
	for _, u := range dead {
		e := v.s.entries[u]
		p := &e.places[0]
		if _, parentPlaced := v.at[p.parent]; len(e.places) != 1 || v.waiting[u] || !parentPlaced && !p.parent.IsRoot() {
			return false
		}
		v.at[u] = p
		v.marks[u] = viewMark{places: 1, live: false}
	}
	for _, u := range dels {
		p := v.at[u]
		k := nameKey{p.parent, p.key}
		if !v.visible[u] || v.children[u] > 0 || v.contested[k] || v.names[k] != u || !liveParent(p.parent) {
			return false
		}
		v.visible[u] = false
		delete(v.names, k)
		v.children[p.parent]--
		v.marks[u] = viewMark{places: len(v.s.entries[u].places), live: false}
	}
	return true
}

// keep drops what v memoised while resolving and building, before a
// Shown keeps v for the next round: two maps of every entry (the
// anchors, which only resolving needs, and the DNs, which the next round
// computes again for what it builds).
func (v *view) keep() {
	v.anchor = nil
	if len(v.dns) > 0 {
		v.dns = make(map[UUID]string)
	}
}

// anchored reports whether u's chain of effective parents reaches the
// root, while v is being resolved.
func (v *view) anchored(u UUID) bool {
	if u.IsRoot() {
		return true
	}
	if a, ok := v.anchor[u]; ok {
		return a
	}
	p, ok := v.at[u]
	a := ok && v.anchored(p.parent)
	v.anchor[u] = a
	return a
}

// depth is the number of ancestors of u below the root.
func (v *view) depth(u UUID) int {
	n := 0
	for p := v.at[u].parent; !p.IsRoot(); p = v.at[p].parent {
		n++
	}
	return n
}

// wantedDN is the DN u's placement asks for.
func (v *view) wantedDN(u UUID) string {
	p := v.at[u]
	if p.parent.IsRoot() {
		return p.rdn
	}
	return p.rdn + "," + v.dn(p.parent)
}

// dn is the DN u is shown at.
func (v *view) dn(u UUID) string {
	if d, ok := v.dns[u]; ok {
		return d
	}
	p := v.at[u]
	rdn := p.rdn
	if v.loser[u] {
		rdn = conflictRDN(u, p)
	}
	d := rdn
	if !p.parent.IsRoot() {
		d = rdn + "," + v.dn(p.parent)
	}
	v.dns[u] = d
	return d
}

// conflictRDN is the RDN of an entry that lost its name:
// entryUUID=<uuid>+<its RDN>. Below the root, where the "RDN" is a whole
// DN, the prefix goes on its first RDN.
func conflictRDN(u UUID, p *placement) string {
	return "entryUUID=" + u.String() + "+" + p.rdn
}

// Materialize returns the visible entries of s: live entries whose
// ancestors are known, and glue entries for deleted ancestors of live
// ones, with every conflict resolved. Parents come before their
// children: entries are sorted by depth, then DN, then UUID. The result
// depends only on the set of changes applied to s.
func (s *State) Materialize() []Entry {
	return s.resolve().entries()
}

// MaterializeAll is Materialize for a caller that takes the entries one
// at a time: it calls yield with each visible entry of s, in
// Materialize's order, building each only when it is yielded (with a
// bounded State, only the entry being built is read into memory), until
// yield returns false. It returns the Shown of the result, for
// MaterializeChanged to continue from. s must not change meanwhile.
func (s *State) MaterializeAll(yield func(*Entry) bool) *Shown {
	v := s.resolve()
	sh := NewShown()
	sh.view, sh.viewOf, sh.viewGen = v, s, s.layoutGen
	for _, u := range v.order() {
		row, _, _ := sh.build(v, u)
		if !yield(&row.e) {
			break
		}
	}
	v.keep()
	return sh
}

// MaterializeEach is MaterializeAll for a caller that keeps nothing of
// the result (a bulk join, which stores the entries once): it records
// no Shown, so that what it holds besides the placements does not grow
// with the entries, and takes no fingerprints.
func (s *State) MaterializeEach(yield func(*Entry) bool) {
	v := s.resolve()
	for _, u := range v.order() {
		e := v.entry(u)
		if !yield(&e) {
			break
		}
	}
}

// order returns the visible entries in Materialize's order.
func (v *view) order() []UUID {
	type row struct {
		depth int
		dn    string
		u     UUID
	}
	rows := make([]row, 0, len(v.visible))
	for u := range v.visible {
		rows = append(rows, row{v.depth(u), v.dn(u), u})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		if c := strings.Compare(a.dn, b.dn); c != 0 {
			return c
		}
		return a.u.Compare(b.u)
	})
	out := make([]UUID, len(rows))
	for i := range rows {
		out[i] = rows[i].u
	}
	return out
}

// depthEntry is an entry with its depth below the root.
type depthEntry struct {
	depth int
	e     Entry
}

// canonicalOrder returns the entries of rows in the order Materialize and
// the digest list them: parents before children (by depth), then by DN,
// then by UUID.
func canonicalOrder(rows []depthEntry) []Entry {
	slices.SortFunc(rows, func(a, b depthEntry) int {
		if a.depth != b.depth {
			return a.depth - b.depth
		}
		if c := strings.Compare(a.e.DN, b.e.DN); c != 0 {
			return c
		}
		return a.e.UUID.Compare(b.e.UUID)
	})
	out := make([]Entry, len(rows))
	for i := range rows {
		out[i] = rows[i].e
	}
	return out
}

func (v *view) entries() []Entry {
	rows := make([]depthEntry, 0, len(v.visible))
	for u := range v.visible {
		rows = append(rows, depthEntry{v.depth(u), v.entry(u)})
	}
	return canonicalOrder(rows)
}

// entry materialises visible entry u.
func (v *view) entry(u UUID) Entry {
	e := v.s.entries[u]
	p := v.at[u]
	v.refVals, v.memoUsed = v.refVals[:0], false
	out := Entry{UUID: u, Parent: p.parent, DN: v.dn(u), Glue: !e.live()}
	if v.loser[u] {
		out.ConflictDN = v.wantedDN(u)
	}
	if out.Glue {
		out.Attrs = v.glueAttrs(u, p)
	} else {
		v.s.resident(u, e) // on failure the attributes are wrong; Err says so
		out.Attrs = v.attrs(e, p, out.ConflictDN)
	}
	return out
}

// attrs returns a live entry's visible attributes: present values; for
// a single-valued attribute the one most recently added; the naming
// values of the RDN even if a concurrent change removed them; and the
// conflict marker.
func (v *view) attrs(e *entryState, p *placement, conflictDN string) []Attribute {
	schema := v.s.schema
	heads, vals := v.heads[:0], v.vals[:0]
	head := func(lower, name string) int {
		for i := range heads {
			if heads[i].lower == lower {
				return i
			}
		}
		heads = append(heads, attrHead{lower: lower, name: name, single: schema.SingleValued(lower)})
		return len(heads) - 1
	}
	for i := range e.attrs {
		a := &e.attrs[i]
		h := -1
		var best *valueState
		for j := range a.values {
			vs := &a.values[j]
			if !a.present(vs) {
				continue
			}
			if h < 0 {
				h = head(a.key, a.name)
			}
			if heads[h].single {
				if best == nil || best.added.Less(vs.added) || best.added == vs.added && vs.key > best.key {
					best = vs
				}
				continue
			}
			vals = append(vals, keyedValue{h, vs.key, vs.value})
		}
		if best != nil {
			vals = append(vals, keyedValue{h, best.key, best.value})
		}
	}
	// The RDN's values are always there; on a single-valued attribute
	// the RDN's value replaces any other.
	for _, ava := range p.naming() {
		lower := strings.ToLower(ava.Type)
		vk := schema.EqualityKey(lower, ava.Value)
		h := head(lower, ava.Type)
		found := false
		for i := range vals {
			if vals[i].head != h {
				continue
			}
			if vals[i].key == vk {
				found = true
			} else if heads[h].single {
				vals[i].head = -1
			}
		}
		if !found {
			vals = append(vals, keyedValue{h, vk, ava.Value})
		}
	}
	if conflictDN != "" {
		h := head(strings.ToLower(ConflictAttr), ConflictAttr)
		for i := range vals {
			if vals[i].head == h {
				vals[i].head = -1
			}
		}
		vals = append(vals, keyedValue{h, conflictDN, conflictDN})
	}
	if r := v.s.references(); r != nil {
		vals = v.filterReferences(r, heads, vals)
	}

	// Order: attributes by lower-case name, values by key.
	for i := range heads {
		heads[i].id = i
	}
	slices.SortFunc(heads, func(a, b attrHead) int { return strings.Compare(a.lower, b.lower) })
	rank := v.rank[:0]
	rank = append(rank, make([]int, len(heads))...)
	for r := range heads {
		rank[heads[r].id] = r
	}
	vals = slices.DeleteFunc(vals, func(x keyedValue) bool { return x.head < 0 })
	for i := range vals {
		vals[i].head = rank[vals[i].head]
	}
	slices.SortFunc(vals, func(a, b keyedValue) int {
		if a.head != b.head {
			return a.head - b.head
		}
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	n := 0
	for i := range vals {
		if i == 0 || vals[i].head != vals[i-1].head {
			n++
		}
	}
	attrs := make([]Attribute, 0, n)
	strs := make([]string, len(vals))
	for i := range vals {
		strs[i] = vals[i].value
		if i == 0 || vals[i].head != vals[i-1].head {
			attrs = append(attrs, Attribute{Name: heads[vals[i].head].name})
		}
		last := &attrs[len(attrs)-1]
		last.Values = strs[i-len(last.Values) : i+1 : i+1]
	}
	v.heads, v.vals, v.rank = heads, vals, rank
	return attrs
}

// attrHead and keyedValue are scratch space for attrs.
type attrHead struct {
	lower, name string
	single      bool
	id          int
}

type keyedValue struct {
	head       int
	key, value string
}

// glueAttrs are a glue entry's attributes: objectClass top and
// extensibleObject (so any naming attribute is allowed), the RDN's
// values, GlueAttr and its entryUUID (a stored entry has one).
func (v *view) glueAttrs(u UUID, p *placement) []Attribute {
	attrs := []Attribute{
		{Name: "objectClass", Values: []string{"top", "extensibleObject"}},
		{Name: GlueAttr, Values: []string{"TRUE"}},
		{Name: "entryUUID", Values: []string{u.String()}},
	}
	for _, ava := range p.naming() {
		i := slices.IndexFunc(attrs, func(a Attribute) bool { return strings.EqualFold(a.Name, ava.Type) })
		if i < 0 {
			attrs = append(attrs, Attribute{Name: ava.Type, Values: []string{ava.Value}})
		} else if !slices.Contains(attrs[i].Values, ava.Value) {
			attrs[i].Values = append(attrs[i].Values, ava.Value)
		}
	}
	schema := v.s.schema
	for _, a := range attrs {
		lower := strings.ToLower(a.Name)
		slices.SortFunc(a.Values, func(x, y string) int {
			return strings.Compare(schema.EqualityKey(lower, x), schema.EqualityKey(lower, y))
		})
	}
	slices.SortFunc(attrs, func(a, b Attribute) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return attrs
}

// Conflicts lists the outcomes of conflict resolution in s, sorted by
// kind, then entry UUID, then CSN. Like Materialize, it depends only on
// the set of changes applied.
func (s *State) Conflicts() []Conflict {
	v := s.resolve()
	var out []Conflict
	for u := range v.loser {
		out = append(out, Conflict{Kind: ConflictName, Entry: u, DN: v.dn(u), WantedDN: v.wantedDN(u), CSN: v.at[u].csn})
	}
	for u := range v.visible {
		if e := s.entries[u]; !e.live() {
			out = append(out, Conflict{Kind: ConflictGlue, Entry: u, DN: v.dn(u), CSN: e.deleted})
		}
	}
	for _, r := range v.ignored {
		c := Conflict{Kind: ConflictMove, Entry: r.entry, CSN: r.p.csn}
		if v.visible[r.entry] {
			c.DN = v.dn(r.entry)
		}
		if r.p.parent.IsRoot() {
			c.WantedDN = r.p.rdn
		} else if v.visible[r.p.parent] {
			c.WantedDN = r.p.rdn + "," + v.dn(r.p.parent)
		}
		out = append(out, c)
	}
	for u, e := range s.entries {
		if e.live() && !v.anchored(u) {
			out = append(out, Conflict{Kind: ConflictOrphan, Entry: u, CSN: e.added})
		}
	}
	slices.SortFunc(out, func(a, b Conflict) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		if c := a.Entry.Compare(b.Entry); c != 0 {
			return c
		}
		return a.CSN.Compare(b.CSN)
	})
	return out
}

// digestMagic starts the digested stream and names its version.
//
// The large attributes' sum came later than v2 and kept its name: entries
// without one digest as before (the stores of testdata/stores still
// report the digests their binaries recorded); a binary from before it
// digests an entry holding one differently.
const digestMagic = "switchboard-digest-v2\x00"

// Digest returns a digest of Materialize(s): two replicas that applied
// the same changes have the same digest, and any replica's can be
// recomputed from its entries alone.
//
// Each visible entry has a fingerprint, the SHA-256 of its canonical
// form:
//
//	uuid      16 bytes
//	dn        str
//	flags     1 byte: 1 = glue
//	nattrs    uvarint
//	per attribute, in Materialize order (lower-case name):
//	  name    str, lower case
//	  nvalues uvarint
//	  values  str each, in Materialize order; with LargeAttr values or
//	          more, the sum modulo 2^256 of each value's SHA-256 (of its
//	          str) read as a 256-bit big-endian number instead
//
// where str is a uvarint length followed by that many bytes. A large
// attribute's part does not depend on the order of its values, so a
// stored group of 100,000 members is fingerprinted without putting its
// values in Materialize order (ordering needs each value's equality key:
// for a DN, a parse and a normalisation). The digest
// is the SHA-256 of digestMagic, the number of entries (8 bytes,
// big-endian) and the sum of the fingerprints read as 256-bit big-endian
// numbers, modulo 2^256. A sum does not depend on the order of the
// entries, so a replica keeps its digest up to date entry by entry
// (Shown.Digest) instead of rereading the directory; it is a check that
// replicas agree, not a defence against someone crafting collisions.
// Only visible state counts: stamps, tombstones and purge history do not.
func (s *State) Digest() [32]byte {
	return digest(s.Materialize())
}

// appendCanonical appends e in the digest's canonical form.
func appendCanonical(buf []byte, e *Entry) []byte {
	str := func(b []byte, s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	buf = append(buf, e.UUID[:]...)
	buf = str(buf, e.DN)
	if e.Glue {
		buf = append(buf, 1)
	} else {
		buf = append(buf, 0)
	}
	buf = binary.AppendUvarint(buf, uint64(len(e.Attrs)))
	for _, a := range e.Attrs {
		buf = str(buf, strings.ToLower(a.Name))
		buf = binary.AppendUvarint(buf, uint64(len(a.Values)))
		if len(a.Values) >= LargeAttr {
			buf = appendValueSum(buf, a.Values)
			continue
		}
		for _, v := range a.Values {
			buf = str(buf, v)
		}
	}
	return buf
}

// LargeAttr is the number of values from which an attribute's part of
// the canonical form is the order-free sum of its values' hashes: a
// fingerprint does not need such an attribute's values in order.
const LargeAttr = 64

// appendValueSum appends the sum of the values' SHA-256 (of each one's
// str form), modulo 2^256, big-endian.
func appendValueSum(buf []byte, values []string) []byte {
	var d digestSum
	var b []byte
	for _, v := range values {
		b = binary.AppendUvarint(b[:0], uint64(len(v)))
		b = append(b, v...)
		h := sha256.Sum256(b)
		d.add(&h, 1)
	}
	for i := 3; i >= 0; i-- {
		buf = binary.BigEndian.AppendUint64(buf, d.limbs[i])
	}
	return buf
}

// fingerprint is the SHA-256 of one entry's canonical form.
func fingerprint(e *Entry) [32]byte {
	var buf [512]byte
	b := buf[:0]
	if n := canonicalSize(e); n > len(buf) {
		b = make([]byte, 0, n) // a large group's: grown once, not by doubling
	}
	return sha256.Sum256(appendCanonical(b, e))
}

// canonicalSize is at least the length of e's canonical form.
func canonicalSize(e *Entry) int {
	const uvarint = binary.MaxVarintLen64
	n := len(e.UUID) + uvarint + len(e.DN) + 1 + uvarint
	for _, a := range e.Attrs {
		n += 2*uvarint + len(a.Name)
		for _, v := range a.Values {
			n += uvarint + len(v)
		}
	}
	return n
}

// A digestSum is the running sum of a set of fingerprints and its size.
type digestSum struct {
	limbs [4]uint64 // little-endian limbs of the 256-bit sum
	n     int64
}

func (d *digestSum) add(fp *[32]byte, sign int64) {
	var carry uint64
	for i := range 4 {
		x := binary.BigEndian.Uint64(fp[24-8*i:])
		if sign < 0 {
			x, carry = bits.Sub64(d.limbs[i], x, carry)
		} else {
			x, carry = bits.Add64(d.limbs[i], x, carry)
		}
		d.limbs[i] = x
	}
	d.n += sign
}

func (d *digestSum) sum() [32]byte {
	buf := append([]byte(digestMagic), make([]byte, 8+32)...)
	tail := buf[len(digestMagic):]
	binary.BigEndian.PutUint64(tail, uint64(d.n))
	for i := range 4 {
		binary.BigEndian.PutUint64(tail[8+24-8*i:], d.limbs[i])
	}
	return sha256.Sum256(buf)
}

func digest(entries []Entry) [32]byte {
	var d digestSum
	for i := range entries {
		fp := fingerprint(&entries[i])
		d.add(&fp, 1)
	}
	return d.sum()
}

// Shown is what the last MaterializeChanged of a State showed, so that
// the next one builds only the entries that may differ. A Shown belongs
// to one State and is not safe for concurrent use.
type Shown struct {
	entries   map[UUID]*shownEntry
	sum       digestSum
	conflicts int

	// The last resolved placement, reused while the state's placements
	// are unchanged.
	view    *view
	viewOf  *State
	viewGen uint64

	// The reference index (see References): by the hash of a normalised
	// DN, the visible entries whose reference values name it, and the
	// hashes each entry's values name.
	refs      map[uint64][]UUID
	refMemo   map[UUID][]refValue
	refSeed   maphash.Seed
	refSeeded bool
}

type shownEntry struct {
	place      shownPlace // effective placement
	loser      bool
	glue       bool
	dn         string
	conflictDN string
	fp         [32]byte
}

// A shownPlace is what a Shown keeps of an entry's effective placement:
// enough to tell it from another (a placement's CSN, parent and RDN
// determine its normalised key), without the key itself.
type shownPlace struct {
	csn    change.CSN
	parent UUID
	rdn    string
}

func shownPlaceOf(p *placement) shownPlace { return shownPlace{p.csn, p.parent, p.rdn} }

// is reports whether p is the placement sp was taken from.
func (sp *shownPlace) is(p *placement) bool {
	return sp.csn == p.csn && sp.parent == p.parent && sp.rdn == p.rdn
}

// NewShown returns an empty Shown: the first MaterializeChanged with it
// returns every visible entry.
func NewShown() *Shown { return &Shown{entries: map[UUID]*shownEntry{}} }

// Len returns the number of visible entries.
func (sh *Shown) Len() int { return len(sh.entries) }

// Conflicts returns how many visible entries are glue or renamed.
func (sh *Shown) Conflicts() int { return sh.conflicts }

// Digest returns State.Digest of the state as last materialised.
func (sh *Shown) Digest() [32]byte { return sh.sum.sum() }

func (sh *Shown) set(u UUID, e *shownEntry) {
	if old := sh.entries[u]; old != nil {
		sh.unset(old)
	}
	sh.entries[u] = e
	sh.sum.add(&e.fp, 1)
	if e.glue || e.conflictDN != "" {
		sh.conflicts++
	}
}

func (sh *Shown) forget(u UUID, old *shownEntry) {
	delete(sh.entries, u)
	sh.setRefs(u, nil, nil, nil)
	sh.unset(old)
}

// unset takes what old counted out of the digest and conflicts.
func (sh *Shown) unset(old *shownEntry) {
	sh.sum.add(&old.fp, -1)
	if old.glue || old.conflictDN != "" {
		sh.conflicts--
	}
}

// build materialises visible entry u and records it in sh. It reports
// whether a verdict of the reference rule came from u's previous build.
func (sh *Shown) build(v *view, u UUID) (depthEntry, *[32]byte, bool) {
	v.refSeed, v.seeded = sh.seed(), true
	old := sh.refMemo[u]
	v.memo, v.memoAt, v.memoIdx = old, 0, v.memoIdx[:0]
	v.memoHit = slices.Grow(v.memoHit[:0], len(old))[:len(old)]
	clear(v.memoHit)
	v.fresh = v.fresh[:0]
	out := v.entry(u)
	v.memo = nil
	se := &shownEntry{place: shownPlaceOf(v.at[u]), loser: v.loser[u], glue: out.Glue, dn: out.DN, conflictDN: out.ConflictDN, fp: fingerprint(&out)}
	sh.set(u, se)
	sh.setRefs(u, v.refVals, v.memoHit, v.fresh)
	return depthEntry{v.depth(u), out}, &se.fp, v.memoUsed
}

// A builder collects the entries one materialisation rebuilds: those its
// keep function accepts whole, in rows, and the names of all of them, in
// built, for following references.
type builder struct {
	sh    *Shown
	v     *view
	keep  func(*Entry, *[32]byte) bool
	rows  []depthEntry
	built []builtEntry
}

// A builtEntry is what following references needs of a rebuilt entry;
// memo: whether a verdict of the reference rule came from its previous
// build.
type builtEntry struct {
	u    UUID
	dn   string
	glue bool
	memo bool
}

func (b *builder) build(u UUID) {
	row, fp, memo := b.sh.build(b.v, u)
	b.built = append(b.built, builtEntry{u, row.e.DN, row.e.Glue, memo})
	if b.keep == nil || b.keep(&row.e, fp) {
		b.rows = append(b.rows, row)
	}
}

// materializeModified is MaterializeChanged when sh.view is up to date
// and no entry outside changed moved, was renamed, hidden or shown:
// exactly the changed entries that are visible are rebuilt, and the
// changed ones that are not are gone.
func (s *State) materializeModified(sh *Shown, changed map[UUID]struct{}, keep func(*Entry, *[32]byte) bool) (upd []Entry, gone []UUID) {
	v := sh.view
	b := builder{sh: sh, v: v, keep: keep}
	prev := make(map[UUID]*shownEntry, len(changed))
	for u := range changed {
		prev[u] = sh.entries[u]
		if v.visible[u] {
			b.build(u)
			continue
		}
		if old := sh.entries[u]; old != nil {
			sh.forget(u, old)
		}
		gone = append(gone, u)
	}
	slices.SortFunc(gone, UUID.Compare)
	s.followReferences(&b, prev, gone)
	v.keep()
	return canonicalOrder(b.rows), gone
}

// MaterializeChanged is Materialize for a caller that keeps the previous
// result: given what sh says was shown and the entries whose state
// changed since (State.TakeChanged, plus any the caller wants rebuilt),
// it returns the visible entries that may differ from what sh showed
// (new ones, changed ones, and those whose DN, parent, glue or conflict
// status changed because of a change elsewhere), in Materialize order,
// and the entries that are no longer visible, or that are listed in
// changed and not visible. It updates sh to the new result.
//
// Placement and naming are still resolved for the whole state, which is
// cheap next to building entries; attributes are built only for the
// entries returned.
func (s *State) MaterializeChanged(sh *Shown, changed map[UUID]struct{}) (upd []Entry, gone []UUID) {
	return s.MaterializeChangedFunc(sh, changed, nil)
}

// MaterializeChangedFunc is MaterializeChanged that returns, of the
// entries it rebuilds, only those keep accepts (nil: all): keep sees each
// as it is built, with its fingerprint, and what it refuses is dropped at
// once. sh is updated with every rebuilt entry alike. A caller that
// writes only what differs from what it holds bounds the memory of a
// round that rebuilds every entry (the first after a start) by what
// differs, not by the directory's size.
func (s *State) MaterializeChangedFunc(sh *Shown, changed map[UUID]struct{}, keep func(e *Entry, fp *[32]byte) bool) (upd []Entry, gone []UUID) {
	// The resolved placement of the entries changes only with adds,
	// deletes and moves. A round of modifies reuses the cached view, and
	// so does a round of adds of leaves and deletes of leaves, patched
	// in; anything else resolves the whole state again.
	v := sh.view
	if v != nil && sh.viewOf == s && sh.viewGen == s.layoutGen && v.patch(changed) {
		return s.materializeModified(sh, changed, keep)
	}
	v = s.resolve()
	sh.view, sh.viewOf, sh.viewGen = v, s, s.layoutGen
	moved := make(map[UUID]bool) // memo: whether u's DN may have changed
	var dnMoved func(u UUID) bool
	dnMoved = func(u UUID) bool {
		if u.IsRoot() {
			return false
		}
		if m, ok := moved[u]; ok {
			return m
		}
		prev := sh.entries[u]
		p := v.at[u]
		m := prev == nil || prev.loser != v.loser[u] || !prev.place.is(p) || dnMoved(p.parent)
		moved[u] = m
		return m
	}
	// First decide what to rebuild, comparing with sh as it was; then
	// build, updating sh.
	var rebuild []UUID
	for u := range v.visible {
		_, touched := changed[u]
		if touched || dnMoved(u) || sh.entries[u].glue != !s.entries[u].live() {
			rebuild = append(rebuild, u)
		}
	}
	b := builder{sh: sh, v: v, keep: keep}
	prev := make(map[UUID]*shownEntry, len(rebuild))
	for _, u := range rebuild {
		prev[u] = sh.entries[u]
		b.build(u)
	}
	for u, old := range sh.entries {
		if !v.visible[u] {
			prev[u] = old
			sh.forget(u, old)
			gone = append(gone, u)
		}
	}
	for u := range changed {
		if _, shown := sh.entries[u]; !shown && !v.visible[u] {
			gone = append(gone, u) // listed twice if also forgotten above
		}
	}
	slices.SortFunc(gone, UUID.Compare)
	gone = slices.Compact(gone)
	s.followReferences(&b, prev, gone)
	v.keep()
	return canonicalOrder(b.rows), gone
}

// Purge forgets history that no future change can need: tombstones
// deleted before below, and the stamps of removed values and deleted
// attributes older than below. It does not change what Materialize
// returns.
//
// below must be causally stable for s, which takes two conditions:
//
//  1. every change with a CSN below below, made or still to be made
//     anywhere, has been applied to s; and
//  2. every change not yet applied to s comes from a replica that had
//     already applied every change with a CSN below below when it made
//     it.
//
// The first alone is not enough: a change made during a partition by a
// replica that had not seen a delete can carry a CSN above the bound and
// still name the deleted entry. In practice the replication layer takes
// the smallest position that every replica has confirmed (which gives
// 1, since hybrid logical clocks put every later change above what its
// origin has seen) as it was one full exchange round earlier, or simply
// minus the tombstone lifetime (a week by default), so that changes made
// before the replicas caught up have arrived (which gives 2). A replica
// cut off for longer must be reinitialised rather than resume.
//
// Why that bound prevents resurrection: a removal is remembered only so
// that an older add arriving later stays removed, and a tombstone only so
// that a late change to the entry stays absorbed. By 1 no change older
// than the bound can still arrive (and Purge makes Apply ignore any that
// is replayed); by 2 a newer change that has not arrived was made by a
// replica that had seen the deletion, so it cannot name the deleted
// entry, and a re-added value carries a larger CSN and is a new,
// intended write. Purging earlier would let a late old add resurrect a
// value, or a late modify recreate a stub of a deleted entry.
//
// Purge keeps a tombstone that is still a parent (in its effective
// placement, or in any placement from below onwards) of a kept entry,
// so the DNs and the cycle checks of later moves come out the same.
func (s *State) Purge(below change.CSN) {
	if s.floor.Less(below) {
		s.floor = below
	}
	if !s.purgeable(below) {
		// The full pass resolves every entry (14 s at a million, under
		// the replica's write lock), and it runs every maintenance round.
		return
	}
	s.purgeAll(below)
}

// purgeAll is Purge's pass over every entry.
func (s *State) purgeAll(below change.CSN) {
	s.layoutGen++
	// Placement history below the bound collapses to where each entry
	// was at the bound.
	recs := s.records()
	cut, _ := slices.BinarySearchFunc(recs, below, func(r placedRecord, c change.CSN) int { return r.p.csn.Compare(c) })
	atBound := make(map[UUID]*placement, len(s.entries))
	replay(atBound, recs[:cut])
	final := s.resolve()

	// Candidates: tombstones below the bound, and stubs that never saw
	// their add and have nothing newer than the bound.
	candidate := func(u UUID, e *entryState) bool {
		if !e.deleted.IsZero() {
			return e.deleted.Less(below)
		}
		return e.added.IsZero() && s.newestCSN(u, e).Less(below)
	}
	keep := make(map[UUID]bool, len(s.entries))
	var mark func(u UUID)
	mark = func(u UUID) {
		if u.IsRoot() || keep[u] {
			return
		}
		e := s.entries[u]
		if e == nil {
			return
		}
		keep[u] = true
		if p := atBound[u]; p != nil {
			mark(p.parent)
		}
		if p := final.at[u]; p != nil {
			mark(p.parent)
		}
		for i := range e.places {
			if !e.places[i].csn.Less(below) {
				mark(e.places[i].parent)
			}
		}
	}
	for u, e := range s.entries {
		if !candidate(u, e) || final.visible[u] {
			mark(u)
		}
	}

	for u, e := range s.entries {
		if !keep[u] {
			s.forget(e)
			delete(s.entries, u)
			s.touch(u)
			continue
		}
		var places []placement
		if p := atBound[u]; p != nil {
			places = append(places, *p)
		}
		for _, p := range e.places {
			if !p.csn.Less(below) {
				places = append(places, p)
			}
		}
		changed := !slices.EqualFunc(places, e.places, func(a, b placement) bool { return comparePlacement(&a, &b) == 0 })
		e.places = places
		if e.evicted {
			// Purged when next read from the source (resident).
			if changed {
				s.touch(u)
			}
			continue
		}
		attrs := e.attrs[:0]
		for i := range e.attrs {
			a := &e.attrs[i]
			if a.purge(below) {
				changed = true
			}
			if len(a.values) > 0 || !a.cleared.IsZero() {
				attrs = append(attrs, *a)
			}
		}
		clear(e.attrs[len(attrs):])
		e.attrs = attrs
		if changed {
			s.touch(u)
		}
	}
}

// purgeable reports whether Purge(below) may forget anything beyond
// raising the floor: a tombstone or a stub (an entry that never saw its
// add), placement history below the bound, or in a resident entry a
// stamp below it (an evicted entry is purged when read back). It errs
// towards true (a tombstone or stub kept as a live entry's parent makes
// every purge a full one). One case errs the other way: an entry's one
// placement below the bound is the placement Purge keeps for it at the
// bound, unless replay ignored it as a cycle; it then outlives this
// purge, which changes no resolved entry either way.
func (s *State) purgeable(below change.CSN) bool {
	for _, e := range s.entries {
		if e.deleted.IsZero() && e.added.IsZero() || !e.deleted.IsZero() && e.deleted.Less(below) {
			return true
		}
		n := 0
		for i := range e.places {
			if e.places[i].csn.Less(below) {
				n++
			}
		}
		if n > 1 {
			return true
		}
		if e.evicted {
			continue
		}
		for i := range e.attrs {
			if e.attrs[i].purgeable(below) {
				return true
			}
		}
	}
	return false
}

// purgeable reports whether purge(below) would change a.
func (a *attrState) purgeable(below change.CSN) bool {
	if a.clearedBelow(below) {
		return true
	}
	for i := range a.values {
		if drop, forget := a.purgeValue(&a.values[i], below); drop || forget {
			return true
		}
	}
	return false
}

// purgeValue is what purge(below) does to v: drop it (absent, and what
// removed it is below the bound), or forget its removal stamp (present
// again after a removal below the bound).
func (a *attrState) purgeValue(v *valueState, below change.CSN) (drop, forget bool) {
	if a.present(v) {
		return false, !v.removed.IsZero() && v.removed.Less(below)
	}
	killed := v.removed
	if killed.Less(a.cleared) {
		killed = a.cleared
	}
	return killed.Less(below), false
}

// clearedBelow reports whether a's last clear is below the bound.
func (a *attrState) clearedBelow(below change.CSN) bool {
	return !a.cleared.IsZero() && a.cleared.Less(below)
}

// purge forgets the stamps of a below the bound and reports whether it
// changed anything.
func (a *attrState) purge(below change.CSN) bool {
	changed := false
	kept := a.values[:0]
	for i := range a.values {
		v := &a.values[i]
		drop, forget := a.purgeValue(v, below)
		if drop {
			changed = true
			continue
		}
		if forget {
			v.removed = change.CSN{}
			changed = true
		}
		kept = append(kept, *v)
	}
	clear(a.values[len(kept):])
	a.values = kept
	if a.clearedBelow(below) {
		a.cleared = change.CSN{}
		changed = true
	}
	return changed
}

// newest returns the largest CSN recorded on e.
func (e *entryState) newest() change.CSN {
	n := e.added
	up := func(c change.CSN) {
		if n.Less(c) {
			n = c
		}
	}
	up(e.deleted)
	for _, p := range e.places {
		up(p.csn)
	}
	for _, a := range e.attrs {
		up(a.cleared)
		up(a.nameCSN)
		for _, v := range a.values {
			up(v.added)
			up(v.removed)
		}
	}
	return n
}
