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

func compareRefValues(a, b refValue) int {
	if c := cmp.Compare(a.value, b.value); c != 0 {
		return c
	}
	return cmp.Compare(a.dn, b.dn)
}

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
		if i, ok := slices.BinarySearchFunc(v.memo, h, func(m refValue, h uint64) int { return cmp.Compare(m.hash(), h) }); ok {
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
		}
		if shown {
			h |= 1
		}
		v.refVals = append(v.refVals, refValue{h, dn})
	}
	return shown
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

// setRefs records what the build of u found of its reference values
// (the next build's memo) and indexes u under the DNs they name; it
// sorts vals. The index holds a hash of each DN: a collision only
// rebuilds a group for nothing. Only the DNs that changed are indexed
// again.
func (sh *Shown) setRefs(u UUID, vals []refValue) {
	old := sh.refMemo[u]
	if len(vals) == 0 && len(old) == 0 {
		return
	}
	var memo []refValue
	if len(vals) > 0 {
		memo = slices.Clone(vals)
		slices.SortFunc(memo, compareRefValues)
		memo = slices.Compact(memo)
	}
	was, is := namedDNs(old), namedDNs(memo)
	drop := func(h uint64) {
		gs := slices.DeleteFunc(sh.refs[h], func(g UUID) bool { return g == u })
		if len(gs) == 0 {
			delete(sh.refs, h)
		} else {
			sh.refs[h] = gs
		}
	}
	if sh.refs == nil {
		sh.refs, sh.refMemo = map[uint64][]UUID{}, map[UUID][]refValue{}
	}
	for len(was) > 0 || len(is) > 0 {
		switch {
		case len(is) == 0 || len(was) > 0 && was[0] < is[0]:
			drop(was[0])
			was = was[1:]
		case len(was) == 0 || is[0] < was[0]:
			sh.refs[is[0]] = append(sh.refs[is[0]], u)
			is = is[1:]
		default:
			was, is = was[1:], is[1:]
		}
	}
	if len(memo) == 0 {
		delete(sh.refMemo, u)
		return
	}
	sh.refMemo[u] = memo
}

// namedDNs returns the hashes of the DNs vals name, sorted, once each.
func namedDNs(vals []refValue) []uint64 {
	out := make([]uint64, 0, len(vals))
	for _, r := range vals {
		if r.dn != 0 {
			out = append(out, r.dn)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
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
