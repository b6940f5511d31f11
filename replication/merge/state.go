package merge

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// A UUID is an entry's identity, its RFC 4530 entryUUID. Replication
// names entries by UUID, never by DN: a DN is derived from the chain of
// parents. The zero UUID stands for the root DSE, the parent of every
// naming context's top entry.
type UUID [16]byte

// IsRoot reports whether u is the zero UUID, the root.
func (u UUID) IsRoot() bool { return u == UUID{} }

// String returns the RFC 4122 text form in lower case, as entryUUID is
// written.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// ParseUUID parses the RFC 4122 text form, in either case.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, fmt.Errorf("replication: %q is not a UUID", s)
	}
	h := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:]
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return UUID{}, fmt.Errorf("replication: %q is not a UUID", s)
	}
	return u, nil
}

// Schema is what the merge needs to know about attributes. Attribute
// names are passed in lower case.
type Schema interface {
	// SingleValued reports whether the attribute holds one value at most.
	SingleValued(attr string) bool
	// EqualityKey returns the form of value that equality compares
	// (case folded for caseIgnoreMatch, say). Two values with the same
	// key are the same value.
	EqualityKey(attr, value string) string
}

// exactSchema is the Schema used when none is given: every attribute
// multi-valued, values compared octet by octet.
type exactSchema struct{}

func (exactSchema) SingleValued(string) bool           { return false }
func (exactSchema) EqualityKey(_, value string) string { return value }

// An Attribute is a name and its values.
type Attribute struct {
	Name   string
	Values []string
}

// A Mod is one modification of a modify operation.
type Mod struct {
	Op     change.ModOp // add, delete or replace
	Attr   string
	Values []string
}

// An Op is a replicated change as it travels between replicas: what the
// originating replica did, in terms that need no other state to apply.
type Op struct {
	// CSN orders the change; CSN.Replica is the replica where it
	// originated. Mods[i] is stamped CSN.WithSub(i).
	CSN  change.CSN
	Kind change.Kind
	// Entry is the changed entry's UUID.
	Entry UUID

	// Parent is the parent's UUID (add) or the new parent's (modrdn).
	Parent UUID
	// RDN is the entry's RDN (add) or its new RDN (modrdn), in RFC 4514
	// form. Below the root, an entry's "RDN" is its whole naming
	// context DN ("dc=example,dc=com").
	RDN string
	// Attrs are the added entry's attributes (add).
	Attrs []Attribute
	// Mods are the modifications (modify).
	Mods []Mod
	// DeleteOldRDN asks a modrdn to remove the values of OldRDN that the
	// new RDN does not carry. OldRDN is the RDN the originating replica
	// replaced.
	DeleteOldRDN bool
	OldRDN       string
}

// Origin returns the ID of the replica where the change originated.
func (o *Op) Origin() uint16 { return o.CSN.Replica }

// ModCSN returns the CSN of o.Mods[i].
func (o *Op) ModCSN(i int) change.CSN { return o.CSN.WithSub(uint32(i)) }

// ErrBadOp is returned (wrapped) by Apply for an operation that is
// malformed, as opposed to one that conflicts: malformed operations are
// refused without changing the state.
var ErrBadOp = errors.New("replication: malformed operation")

func badOp(o *Op, format string, args ...any) error {
	return fmt.Errorf("%w: %s %s of %s: %s", ErrBadOp, o.Kind, o.CSN, o.Entry, fmt.Sprintf(format, args...))
}

// placement is one assignment of parent and RDN: by the add and by each
// modrdn.
//
// Every entry of a State holds at least one, so it is kept small: the
// naming values (the first RDN's AVAs) are parsed from rdn again when an
// entry is built (naming), and key shares rdn's bytes when the two are
// equal.
type placement struct {
	csn    change.CSN
	parent UUID
	rdn    string // as written by the originating replica
	key    string // normalised, for comparing names
}

// naming returns the naming attribute values: the AVAs of the first RDN.
// rdn was parsed when p was made, so it parses again.
func (p *placement) naming() []ldap.AVA {
	dn, err := ldap.ParseDN(p.rdn)
	if err != nil || len(dn) == 0 {
		return nil
	}
	return dn[0]
}

func comparePlacement(a, b *placement) int {
	if c := a.csn.Compare(b.csn); c != 0 {
		return c
	}
	if c := a.parent.Compare(b.parent); c != 0 {
		return c
	}
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return strings.Compare(a.rdn, b.rdn)
}

// valueState is one value's add and remove stamps. The value is present
// when added > removed and added >= the attribute's cleared.
type valueState struct {
	key     string // the equality key, Schema.EqualityKey of the value
	value   string // the form written by the latest add
	added   change.CSN
	removed change.CSN
}

// attrState is one attribute's stamps. Entries hold attributes, and
// attributes values, in sorted slices rather than maps: most have one
// or two, and a map costs hundreds of bytes even when small.
type attrState struct {
	key     string // the lower-case name
	name    string // display form, from the latest change naming it
	nameCSN change.CSN
	cleared change.CSN   // latest delete of the whole attribute
	values  []valueState // by key
}

// find returns where the value with equality key k is, or would go.
func (a *attrState) find(k string) (int, bool) {
	return slices.BinarySearchFunc(a.values, k, func(v valueState, k string) int { return strings.Compare(v.key, k) })
}

// value returns the state of the value with equality key k, if any.
func (a *attrState) value(k string) *valueState {
	i, ok := a.find(k)
	if !ok {
		return nil
	}
	return &a.values[i]
}

// insertValue adds v (whose key a does not hold) in key order.
func (a *attrState) insertValue(v valueState, room int) {
	if a.values == nil {
		a.values = make([]valueState, 0, room)
	}
	i, _ := a.find(v.key)
	a.values = slices.Insert(a.values, i, v)
}

func (a *attrState) present(v *valueState) bool {
	return !v.added.IsZero() && v.removed.Less(v.added) && !v.added.Less(a.cleared)
}

type entryState struct {
	added   change.CSN // lowest add CSN; zero until the add arrives
	deleted change.CSN // highest delete CSN; zero while not deleted
	places  []placement
	attrs   []attrState // by key; nil while evicted
	// evicted: the attribute stamps are not in memory but in the State's
	// source (see stateCache); ref: used since the cache last looked.
	evicted, ref bool
}

// find returns where the attribute with lower-case name k is, or would go.
func (e *entryState) find(k string) (int, bool) {
	return slices.BinarySearchFunc(e.attrs, k, func(a attrState, k string) int { return strings.Compare(a.key, k) })
}

// attr returns the state of the attribute with lower-case name k, if any.
// The pointer is valid until the next attribute is added to e.
func (e *entryState) attr(k string) *attrState {
	i, ok := e.find(k)
	if !ok {
		return nil
	}
	return &e.attrs[i]
}

func (e *entryState) live() bool { return !e.added.IsZero() && e.deleted.IsZero() }

// A State is the whole replicated directory as a value: every entry ever
// added and not yet purged, with the stamps that let changes merge in any
// order. The zero State is not usable; call NewState. A State is not safe
// for concurrent use.
type State struct {
	schema  Schema
	entries map[UUID]*entryState
	floor   change.CSN        // the largest Purge bound: older changes are ignored
	changed map[UUID]struct{} // since the last TakeChanged
	unsaved map[UUID]struct{} // since the last TakeUnsaved
	// layoutGen counts the changes a Shown's cached view cannot follow
	// entry by entry (purges and loaded entry states).
	layoutGen uint64
	// cache, if set (SetSource), bounds the attribute stamps in memory.
	cache *stateCache
	// sealer seals and opens the values of sealed attributes in encoded
	// entry states (SetSealer); nil: none are sealed.
	sealer Sealer
}

// SetSealer makes AppendEntryState seal the values of the attributes sl
// seals, and the decoders of entry states open them (see
// EntryStateSealed). Call it on a new State, before use.
func (s *State) SetSealer(sl Sealer) { s.sealer = sl }

// A Sealer seals and opens the values of sealed attributes;
// *directory.Sealer is the one the server uses. The merge rules know it
// only through this interface, so that they need no storage.
type Sealer interface {
	// Sealed reports whether the values of attribute name are sealed.
	Sealed(name string) bool
	// Seal appends the sealed form of v, a value of name, to dst.
	Seal(dst []byte, name string, v []byte) []byte
	// Open opens a value sealed by Seal; it may write over sealed.
	Open(name string, sealed []byte) ([]byte, error)
}

// ErrSealed reports a sealed value that cannot be opened because the
// State has no Sealer.
var ErrSealed = errors.New("replication: sealed attribute value and no encryption key")

// NewState returns an empty state. A nil schema treats every attribute
// as multi-valued with values compared octet by octet.
func NewState(schema Schema) *State {
	if schema == nil {
		schema = exactSchema{}
	}
	return &State{schema: schema, entries: make(map[UUID]*entryState)}
}

// Len returns the number of entries the state holds, tombstones included.
func (s *State) Len() int { return len(s.entries) }

// Clone returns a deep copy of s, every entry's stamps in memory (it
// reads evicted ones from the source; the copy has no source).
func (s *State) Clone() *State {
	c := &State{schema: s.schema, floor: s.floor, sealer: s.sealer, entries: make(map[UUID]*entryState, len(s.entries))}
	for u, e := range s.entries {
		s.resident(u, e)
		ne := &entryState{added: e.added, deleted: e.deleted, places: slices.Clone(e.places), attrs: slices.Clone(e.attrs)}
		for i := range ne.attrs {
			ne.attrs[i].values = slices.Clone(ne.attrs[i].values)
		}
		c.entries[u] = ne
	}
	return c
}

// Apply merges one change into s. Applying the same set of changes in any
// order, each any number of times, gives the same state: every stamp is
// merged by taking a maximum (or minimum), and ties between different
// data under one CSN are broken by comparing the data. A change never
// fails because of a conflict; Apply returns an error wrapping ErrBadOp
// only for a malformed change, and then leaves s as it was, or (with a
// source) the error reading the entry's stored state (see Err).
//
// A change older than the bound of an earlier Purge is ignored: it was
// applied before the purge (that is Purge's precondition), and applying
// it again could recreate what the purge forgot.
func (s *State) Apply(o *Op) error {
	if o.CSN.IsZero() {
		return badOp(o, "zero CSN")
	}
	if o.CSN.Less(s.floor) {
		return nil
	}
	if o.Entry.IsRoot() {
		return badOp(o, "the root cannot be changed")
	}
	switch o.Kind {
	case change.Add:
		p, _, err := s.place(o, o.Parent, o.RDN)
		if err != nil {
			return err
		}
		for _, a := range o.Attrs {
			if a.Name == "" {
				return badOp(o, "attribute with no name")
			}
		}
		e := s.entry(o.Entry)
		if !s.resident(o.Entry, e) {
			return s.cache.err
		}
		s.touch(o.Entry)
		if e.attrs == nil {
			e.attrs = make([]attrState, 0, len(o.Attrs)) // no room wasted by growing
		}
		if e.added.IsZero() || o.CSN.Less(e.added) {
			e.added = o.CSN
		}
		e.addPlacement(p)
		for _, a := range o.Attrs {
			s.addValues(e, a.Name, a.Values, o.CSN)
		}
	case change.Modify:
		if len(o.Mods) > change.MaxSub+1 {
			return badOp(o, "%d modifications, at most %d", len(o.Mods), change.MaxSub+1)
		}
		for _, m := range o.Mods {
			if m.Attr == "" {
				return badOp(o, "modification with no attribute")
			}
			if m.Op > change.ModReplace {
				return badOp(o, "modification %v", m.Op)
			}
		}
		e := s.entry(o.Entry)
		if !s.resident(o.Entry, e) {
			return s.cache.err
		}
		s.touch(o.Entry)
		for i, m := range o.Mods {
			c := o.ModCSN(i)
			switch m.Op {
			case change.ModAdd:
				s.addValues(e, m.Attr, m.Values, c)
			case change.ModDelete:
				if len(m.Values) == 0 {
					s.attr(e, m.Attr, c).clear(c)
				} else {
					s.removeValues(e, m.Attr, m.Values, c)
				}
			case change.ModReplace:
				s.attr(e, m.Attr, c).clear(c)
				s.addValues(e, m.Attr, m.Values, c)
			}
		}
	case change.Delete:
		e := s.entry(o.Entry)
		s.touch(o.Entry)
		if e.deleted.Less(o.CSN) {
			e.deleted = o.CSN
		}
	case change.ModRDN:
		p, naming, err := s.place(o, o.Parent, o.RDN)
		if err != nil {
			return err
		}
		var old []ldap.AVA
		if o.DeleteOldRDN {
			dn, err := ldap.ParseDN(o.OldRDN)
			if err != nil || len(dn) == 0 {
				return badOp(o, "old RDN %q: not an RDN", o.OldRDN)
			}
			old = dn[0]
		}
		e := s.entry(o.Entry)
		if !s.resident(o.Entry, e) {
			return s.cache.err
		}
		s.touch(o.Entry)
		e.addPlacement(p)
		for _, a := range old {
			if !s.hasAVA(naming, a) {
				s.removeValues(e, a.Type, []string{a.Value}, o.CSN)
			}
		}
		for _, a := range naming {
			s.addValues(e, a.Type, []string{a.Value}, o.CSN)
		}
	default:
		return badOp(o, "unknown kind")
	}
	return nil
}

// place parses a placement's RDN. Below the root it is a whole DN;
// elsewhere exactly one RDN.
func (s *State) place(o *Op, parent UUID, rdn string) (placement, []ldap.AVA, error) {
	dn, err := ldap.ParseDN(rdn)
	if err != nil {
		return placement{}, nil, badOp(o, "RDN %q: %v", rdn, err)
	}
	if len(dn) == 0 || len(dn) > 1 && !parent.IsRoot() {
		return placement{}, nil, badOp(o, "RDN %q: want one RDN below a non-root parent", rdn)
	}
	p := placement{csn: o.CSN, parent: parent, rdn: rdn}
	if p.key = s.normalDN(dn).String(); p.key == rdn {
		p.key = rdn
	}
	return p, dn[0], nil
}

func (s *State) hasAVA(avas []ldap.AVA, a ldap.AVA) bool {
	t := strings.ToLower(a.Type)
	k := s.schema.EqualityKey(t, a.Value)
	for _, b := range avas {
		if strings.EqualFold(b.Type, a.Type) && s.schema.EqualityKey(t, b.Value) == k {
			return true
		}
	}
	return false
}

func (s *State) entry(u UUID) *entryState {
	e := s.entries[u]
	if e == nil {
		e = &entryState{}
		s.entries[u] = e
		s.created(u, e)
	}
	return e
}

func (e *entryState) addPlacement(p placement) {
	i, found := slices.BinarySearchFunc(e.places, &p, func(a placement, b *placement) int { return comparePlacement(&a, b) })
	if !found {
		e.places = slices.Insert(e.places, i, p)
	}
}

// attr returns the entry's state for attribute name, creating it, and
// lets the change stamped c propose its spelling of the name.
func (s *State) attr(e *entryState, name string, c change.CSN) *attrState {
	k := strings.ToLower(name)
	i, ok := e.find(k)
	if !ok {
		e.attrs = slices.Insert(e.attrs, i, attrState{key: k, name: name, nameCSN: c})
		return &e.attrs[i]
	}
	a := &e.attrs[i]
	if a.nameCSN.Less(c) || a.nameCSN == c && name < a.name {
		a.name, a.nameCSN = name, c
	}
	return a
}

// clear records a delete of the whole attribute stamped c. Values whose
// stamps are all below the new cleared stamp are dropped: no change can
// make them matter again (an add below cleared stays hidden, one above
// it makes a new record that behaves the same), and keeping them would
// grow the entry's state with every replace until the tombstone purge
// (a photo replaced a hundred times kept every old photo for a week).
func (a *attrState) clear(c change.CSN) {
	if !a.cleared.Less(c) {
		return
	}
	a.cleared = c
	kept := a.values[:0]
	for _, v := range a.values {
		if a.dominated(&v) {
			continue
		}
		kept = append(kept, v)
	}
	clear(a.values[len(kept):])
	a.values = kept
}

// dominated reports whether every stamp of v is below the attribute's
// cleared stamp, so that v neither shows nor hides anything.
func (a *attrState) dominated(v *valueState) bool {
	return v.added.Less(a.cleared) && v.removed.Less(a.cleared)
}

func (s *State) addValues(e *entryState, name string, values []string, c change.CSN) {
	a := s.attr(e, name, c)
	k := strings.ToLower(name)
	if len(values) > 0 && s.schema.SingleValued(k) {
		// A single-valued attribute is a register: writing it replaces
		// whatever was written before, here or elsewhere.
		a.clear(c)
	}
	if c.Less(a.cleared) && len(a.values) == 0 {
		return // hidden by a later delete of the attribute
	}
	if len(a.values) == 0 && len(values) > 16 {
		// Many values into an empty attribute (a large group's add):
		// sorted at once, not inserted one by one (quadratic: a
		// million-member group took hours). Of values with the same key
		// the smallest is kept, as the loop below keeps it.
		vals := make([]valueState, len(values))
		for i, v := range values {
			vals[i] = valueState{key: s.valueKey(k, v), value: v, added: c}
		}
		slices.SortFunc(vals, func(x, y valueState) int {
			if d := strings.Compare(x.key, y.key); d != 0 {
				return d
			}
			return strings.Compare(x.value, y.value)
		})
		a.values = slices.CompactFunc(vals, func(x, y valueState) bool { return x.key == y.key })
		return
	}
	for _, v := range values {
		vk := s.valueKey(k, v)
		vs := a.value(vk)
		switch {
		case vs == nil && c.Less(a.cleared):
			// Hidden by a later delete of the attribute from the start.
		case vs == nil:
			a.insertValue(valueState{key: vk, value: v, added: c}, len(values))
		case vs.added.Less(c):
			vs.value, vs.added = v, c
		case vs.added == c && v < vs.value:
			vs.value = v
		}
	}
}

// valueKey is Schema.EqualityKey(attr, v), sharing v's bytes when the
// two are equal (values already in normal form are the common case).
func (s *State) valueKey(attr, v string) string {
	if k := s.schema.EqualityKey(attr, v); k != v {
		return k
	}
	return v
}

func (s *State) removeValues(e *entryState, name string, values []string, c change.CSN) {
	a := s.attr(e, name, c)
	k := strings.ToLower(name)
	for _, v := range values {
		vk := s.valueKey(k, v)
		vs := a.value(vk)
		switch {
		case vs == nil && c.Less(a.cleared):
			// The attribute's later delete hides the adds it would.
		case vs == nil:
			// Remember the removal: the add it removes may arrive later.
			a.insertValue(valueState{key: vk, value: v, removed: c}, len(values))
		case vs.removed.Less(c):
			vs.removed = c
		}
	}
}

// Compare orders UUIDs bytewise, returning -1, 0 or +1.
func (u UUID) Compare(v UUID) int { return bytes.Compare(u[:], v[:]) }
