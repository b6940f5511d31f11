package merge

import (
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

// shownReference reports whether the reference value is shown, and
// records the DN it names for the Shown's reference index. placeholder
// is the normalised placeholder DN.
func (v *view) shownReference(r *References, placeholder, value string) bool {
	key, offs, ok := v.s.referenceDN(value, v.refOffs[:0])
	v.refOffs = offs
	if !ok {
		return value == r.Placeholder
	}
	v.refKeys = append(v.refKeys, key)
	if len(offs) == 0 {
		return r.Placeholder == "" // the root DSE is no entry
	}
	if key == placeholder {
		return true
	}
	return v.showsLive(key, offs)
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

// setRefs records which DNs the group u's reference values name; it
// sorts keys. The index holds a hash of each DN: a collision only
// rebuilds a group for nothing.
func (sh *Shown) setRefs(u UUID, keys []string) {
	if len(keys) == 0 && len(sh.refHashes[u]) == 0 {
		return
	}
	hashes := make([]uint64, 0, len(keys))
	for _, k := range keys {
		hashes = append(hashes, sh.refHash(k))
	}
	slices.Sort(hashes)
	hashes = slices.Compact(hashes)
	if slices.Equal(hashes, sh.refHashes[u]) {
		return
	}
	for _, h := range sh.refHashes[u] {
		gs := slices.DeleteFunc(sh.refs[h], func(g UUID) bool { return g == u })
		if len(gs) == 0 {
			delete(sh.refs, h)
		} else {
			sh.refs[h] = gs
		}
	}
	if len(hashes) == 0 {
		delete(sh.refHashes, u)
		return
	}
	if sh.refs == nil {
		sh.refs, sh.refHashes = map[uint64][]UUID{}, map[UUID][]uint64{}
	}
	sh.refHashes[u] = slices.Clip(hashes)
	for _, h := range hashes {
		sh.refs[h] = append(sh.refs[h], u)
	}
}

// refHash hashes a normalised DN for the reference index.
func (sh *Shown) refHash(key string) uint64 {
	if !sh.refSeeded {
		sh.refSeed, sh.refSeeded = maphash.MakeSeed(), true
	}
	return maphash.String(sh.refSeed, key)
}

// followReferences adds to rows the visible groups that name an entry
// whose DN, liveness or visibility this round changed: what they show
// may have changed with it. prev holds what sh showed of the rebuilt
// and gone entries before this round.
func (s *State) followReferences(sh *Shown, v *view, prev map[UUID]*shownEntry, rows []depthEntry, gone []UUID) []depthEntry {
	if s.references() == nil || len(sh.refs) == 0 {
		return rows
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
	built := make(map[UUID]bool, len(rows))
	for i := range rows {
		e := &rows[i].e
		built[e.UUID] = true
		old := prev[e.UUID]
		if old == nil || old.dn != e.DN || old.glue != e.Glue {
			add(e.DN)
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
	var groups []UUID
	for _, k := range keys {
		for _, g := range sh.refs[sh.refHash(k)] {
			if !built[g] && v.visible[g] {
				built[g] = true
				groups = append(groups, g)
			}
		}
	}
	for _, g := range groups {
		rows = append(rows, sh.build(v, g))
	}
	return rows
}
