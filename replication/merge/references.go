package merge

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// References is the referential integrity rule of the merge: the
// attributes whose values name other entries by DN (a group's member and
// uniqueMember) show, in every materialised entry, only the values that
// name an entry the same materialisation shows as live. See "Derived
// attributes" in the package documentation.
type References struct {
	// Attrs are the attributes the rule applies to, in lower case.
	Attrs []string
	// Placeholder is the DN that is always shown, and that an attribute
	// whose every value the rule hides shows instead (groupOfNames needs
	// a member): the memberof overlay's placeholder.
	Placeholder string
}

// A ReferenceSchema is a Schema with a referential integrity rule. A
// State whose schema is one applies the rule when it materialises.
type ReferenceSchema interface {
	Schema
	References() *References
}

// references returns s's rule, or nil.
func (s *State) references() *References {
	if rs, ok := s.schema.(ReferenceSchema); ok {
		if r := rs.References(); r != nil && len(r.Attrs) > 0 {
			return r
		}
	}
	return nil
}

// A typeNamer is a Schema that knows attribute types' primary names.
type typeNamer interface {
	// TypeName returns the primary name of the attribute type t (a name
	// or OID), or t if it is unknown.
	TypeName(t string) string
}

func (r *References) applies(lower string) bool { return slices.Contains(r.Attrs, lower) }

// normalDN normalises dn as placements compare names: attribute types in
// lower case, values by their equality key, the AVAs of each RDN sorted.
func (s *State) normalDN(dn ldap.DN) ldap.DN {
	norm := make(ldap.DN, len(dn))
	for i, r := range dn {
		nr := make(ldap.RDN, len(r))
		for j, a := range r {
			t := strings.ToLower(a.Type)
			nr[j] = ldap.AVA{Type: t, Value: s.schema.EqualityKey(t, a.Value)}
		}
		slices.SortFunc(nr, func(a, b ldap.AVA) int {
			if c := strings.Compare(a.Type, b.Type); c != 0 {
				return c
			}
			return strings.Compare(a.Value, b.Value)
		})
		norm[i] = nr
	}
	return norm
}

// referenceDN returns the normalised text of the DN a reference value
// names (the key of the Shown's reference index), and appends to offs
// where each of its RDNs starts in it. The optional #'bits'B UID suffix
// of a uniqueMember value is dropped.
func (s *State) referenceDN(value string, offs []int) (string, []int, bool) {
	if i := strings.LastIndex(value, "#'"); i >= 0 && strings.HasSuffix(value, "'B") {
		value = value[:i]
	}
	dn, err := ldap.ParseDN(value)
	if err != nil {
		return "", offs, false
	}
	if tn, ok := s.schema.(typeNamer); ok {
		// Placements name types by their primary names; a value may use
		// another name or the OID.
		for _, rdn := range dn {
			for i := range rdn {
				rdn[i].Type = tn.TypeName(rdn[i].Type)
			}
		}
	}
	key := s.normalDN(dn).String()
	if len(dn) > 0 {
		offs = append(offs, 0)
	}
	// The RDNs are separated by the commas that are not escaped (a value's
	// comma and backslash are escaped with a backslash; types have none).
	for i := 0; i < len(key); i++ {
		switch key[i] {
		case '\\':
			i++
		case ',':
			offs = append(offs, i+1)
		}
	}
	return key, offs, true
}

// showsLive reports whether the view shows a live entry at the DN whose
// normalised text is key, its RDNs starting at offs: the entry that
// holds each name from the root down. The names compared are substrings
// of key (a DN's text is its RDNs' joined by commas).
func (v *view) showsLive(key string, offs []int) bool {
	rdn := func(j int) string {
		if j+1 < len(offs) {
			return key[offs[j] : offs[j+1]-1]
		}
		return key[offs[j]:]
	}
	// A top entry's name is its whole DN; try every suffix of the DN.
	for top := len(offs) - 1; top >= 0; top-- {
		u, ok := v.names[nameKey{UUID{}, key[offs[top]:]}]
		for j := top - 1; ok && j >= 0; j-- {
			u, ok = v.names[nameKey{u, rdn(j)}]
		}
		if ok {
			e := v.s.entries[u]
			return e != nil && e.live()
		}
	}
	return false
}

// A refValue is what building an entry found of one of its reference
// values: the hash of the value's text with, in its lowest bit, whether
// the value is shown, and the hash of the normalised DN it names (0: it
// names none). 16 bytes a value.
type refValue struct {
	value uint64
	dn    uint64
}

func (m refValue) hash() uint64 { return m.value &^ 1 }
func (m refValue) shown() bool  { return m.value&1 == 1 }

// shownReference reports whether the reference value is shown, and
// records what it found in v.refVals. placeholder is the normalised
// placeholder DN.
//
// Parsing and looking up a DN is most of a group's build (a group of
// 100,000 members takes ~150 ms), and a group is rebuilt whenever it
// changes: a verdict of the entry's previous build is taken again unless
// this round's changes may have shown or hidden the DN the value names
// (v.affected, known to followReferences, which rebuilds every group
// naming such a DN). Values are told apart by a 64-bit hash of their
// text.
func (v *view) shownReference(r *References, placeholder, value string) bool {
	var h uint64
	if v.seeded {
		h = maphash.String(v.refSeed, value) &^ 1
		if i := v.memoFind(h); i >= 0 {
			v.memoHit[i] = true
			if m := v.memo[i]; m.dn == 0 || !v.affected[m.dn] {
				v.memoUsed = true
				v.refVals = append(v.refVals, m)
				return m.shown()
			}
		}
	}
	shown, key, named := v.referenceVerdict(r, placeholder, value)
	if v.seeded {
		var dn uint64
		if named {
			dn = maphash.String(v.refSeed, key)
			v.fresh = append(v.fresh, dn)
		}
		if shown {
			h |= 1
		}
		v.refVals = append(v.refVals, refValue{h, dn})
	}
	return shown
}

// memoFind returns the index in v.memo of the value with hash h, or -1.
// A build meets the values in the order the previous one did, less
// those removed and plus those added since: the value is looked for
// where the last one was found, a few further (removed values), and
// only then by an index of memo by hash (made once per build).
func (v *view) memoFind(h uint64) int {
	const skip = 64
	for i := v.memoAt; i < len(v.memo) && i <= v.memoAt+skip; i++ {
		if v.memo[i].hash() == h {
			v.memoAt = i + 1
			return i
		}
	}
	if len(v.memo) == 0 {
		return -1
	}
	if len(v.memoIdx) == 0 {
		for i := range v.memo {
			v.memoIdx = append(v.memoIdx, int32(i))
		}
		slices.SortFunc(v.memoIdx, func(a, b int32) int { return cmp.Compare(v.memo[a].hash(), v.memo[b].hash()) })
	}
	j, ok := slices.BinarySearchFunc(v.memoIdx, h, func(i int32, h uint64) int { return cmp.Compare(v.memo[i].hash(), h) })
	if !ok {
		return -1
	}
	i := int(v.memoIdx[j])
	v.memoAt = i + 1
	return i
}

// referenceVerdict parses and looks up a reference value: whether it is
// shown, and the normalised DN it names, if it names one.
func (v *view) referenceVerdict(r *References, placeholder, value string) (shown bool, key string, named bool) {
	key, offs, ok := v.s.referenceDN(value, v.refOffs[:0])
	v.refOffs = offs
	if !ok {
		return value == r.Placeholder, "", false
	}
	if len(offs) == 0 {
		return r.Placeholder == "", key, true // the root DSE is no entry
	}
	if key == placeholder {
		return true, key, true
	}
	return v.showsLive(key, offs), key, true
}

// filterReferences applies the rule to an entry's values being built by
// attrs: a hidden value's head becomes -1, and an attribute left with
// none shows the placeholder.
func (v *view) filterReferences(r *References, heads []attrHead, vals []keyedValue) []keyedValue {
	placeholder, _, _ := v.s.referenceDN(r.Placeholder, nil)
	for h := range heads {
		if !r.applies(heads[h].lower) {
			continue
		}
		had, kept := false, false
		for i := range vals {
			if vals[i].head != h {
				continue
			}
			had = true
			if v.shownReference(r, placeholder, vals[i].value) {
				kept = true
			} else {
				vals[i].head = -1
			}
		}
		if had && !kept {
			vals = append(vals, keyedValue{h, v.s.schema.EqualityKey(heads[h].lower, r.Placeholder), r.Placeholder})
		}
	}
	return vals
}

// setRefs records what the build of u found of its reference values,
// in the order built (the next build's memo), and indexes u under the
// DNs they name. hit tells which values of the previous memo the build
// met again, fresh the DNs of the values it looked up afresh: only the
// DNs of values not met again can have left u's, and only fresh ones
// joined them. The index holds a hash of each DN: a collision only
// rebuilds a group for nothing.
func (sh *Shown) setRefs(u UUID, vals []refValue, hit []bool, fresh []uint64) {
	old := sh.refMemo[u]
	if len(vals) == 0 && len(old) == 0 {
		return
	}
	var left []uint64
	for i, m := range old {
		if m.dn != 0 && (i >= len(hit) || !hit[i]) {
			left = append(left, m.dn)
		}
	}
	slices.Sort(left)
	left = slices.Compact(left)
	came := slices.Clone(fresh)
	slices.Sort(came)
	came = slices.Compact(came)
	// Of those, the DNs u still names and those it named already.
	stays, had := namedAmong(left, vals), namedAmong(came, old)
	if sh.refs == nil {
		sh.refs, sh.refMemo = map[uint64][]UUID{}, map[UUID][]refValue{}
	}
	for i, h := range left {
		if stays[i] {
			continue
		}
		gs := slices.DeleteFunc(sh.refs[h], func(g UUID) bool { return g == u })
		if len(gs) == 0 {
			delete(sh.refs, h)
		} else {
			sh.refs[h] = gs
		}
	}
	for i, h := range came {
		if !had[i] {
			sh.refs[h] = append(sh.refs[h], u)
		}
	}
	if len(vals) == 0 {
		delete(sh.refMemo, u)
		return
	}
	sh.refMemo[u] = slices.Clone(vals)
}

// namedAmong reports, for each DN hash of dns (sorted, once each),
// whether a value of vals names it.
func namedAmong(dns []uint64, vals []refValue) []bool {
	out := make([]bool, len(dns))
	if len(dns) == 0 {
		return out
	}
	for _, m := range vals {
		if m.dn == 0 {
			continue
		}
		if i, ok := slices.BinarySearch(dns, m.dn); ok {
			out[i] = true
		}
	}
	return out
}

// seed returns the seed of the reference index's hashes.
func (sh *Shown) seed() maphash.Seed {
	if !sh.refSeeded {
		sh.refSeed, sh.refSeeded = maphash.MakeSeed(), true
	}
	return sh.refSeed
}

// refHash hashes a normalised DN for the reference index.
func (sh *Shown) refHash(key string) uint64 { return maphash.String(sh.seed(), key) }

// followReferences rebuilds (into b) the visible groups that name an
// entry whose DN, liveness or visibility this round changed: what they
// show may have changed with it. prev holds what sh showed of the rebuilt
// and gone entries before this round.
func (s *State) followReferences(b *builder, prev map[UUID]*shownEntry, gone []UUID) {
	sh, v := b.sh, b.v
	if s.references() == nil || len(sh.refs) == 0 {
		return
	}
	var keys []string
	add := func(dn string) {
		if dn == "" {
			return
		}
		if k, _, ok := s.referenceDN(dn, nil); ok {
			keys = append(keys, k)
		}
	}
	built := make(map[UUID]bool, len(b.built))
	memoized := map[UUID]bool{}
	for _, e := range b.built {
		built[e.u] = true
		if e.memo {
			memoized[e.u] = true
		}
		old := prev[e.u]
		if old == nil || old.dn != e.dn || old.glue != e.glue {
			add(e.dn)
			if old != nil {
				add(old.dn)
			}
		}
	}
	for _, u := range gone {
		if old := prev[u]; old != nil {
			add(old.dn)
		}
	}
	// A group built this round with verdicts of its previous build is
	// built again if it names an affected DN: those verdicts may be
	// stale. Every other verdict of the previous builds still holds.
	affected := make(map[uint64]bool, len(keys))
	var groups []UUID
	again := map[UUID]bool{}
	for _, k := range keys {
		h := sh.refHash(k)
		affected[h] = true
		for _, g := range sh.refs[h] {
			if v.visible[g] && (!built[g] || memoized[g] && !again[g]) {
				if built[g] {
					again[g] = true
				}
				built[g] = true
				groups = append(groups, g)
			}
		}
	}
	if len(again) > 0 {
		b.rows = slices.DeleteFunc(b.rows, func(r depthEntry) bool { return again[r.e.UUID] })
	}
	v.affected = affected
	for _, g := range groups {
		b.build(g)
	}
	v.affected = nil
}
