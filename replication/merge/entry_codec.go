package merge

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
)

// EntryStateFormat is the version of the binary form of one entry's
// replicated state (State.AppendEntryState). It is the first byte of
// every encoded entry state, stored in the store and sent in snapshots,
// and only ever grows. Format 3 names each stamp by its place in a table
// of the entry's CSNs; formats 1 and 2 (EntryStateFormat1,
// EntryStateSealed1), which wrote every stamp in full, are still read.
const EntryStateFormat = 3

// EntryStateSealed is the format of an entry state holding values of
// sealed attributes: EntryStateFormat's layout, with each sealed
// attribute's name preceded by 0x00 and its values sealed
// (directory.Sealer). A state without such values keeps EntryStateFormat.
const EntryStateSealed = 4

// The formats written before the table of CSNs (stores and snapshots of
// earlier versions): every stamp in full, 16 bytes. Read, never written.
const (
	EntryStateFormat1 = 1
	EntryStateSealed1 = 2
)

// ErrEntryStateSyntax is returned (wrapped) by State.LoadEntryState.
var ErrEntryStateSyntax = errors.New("replication: invalid encoded entry state")

// AppendEntryState appends the binary form of entry u's state (every
// stamp the merge keeps for it) to b and reports whether s holds u.
//
// The form, after the format byte, is canonical (the table in CSN order,
// placements in their order, attributes by lower-case name, values by
// equality key), so equal states encode equally:
//
//	uvarint k, then k CSNs (16 each): every non-zero stamp of the entry,
//	    ascending, each once
//	added | deleted
//	uvarint n, then n placements: CSN | parent UUID (16) | RDN
//	uvarint n, then n attributes: name | name CSN | cleared CSN |
//	    uvarint m, then m values: value | added CSN | removed CSN
//
// where a string is a uvarint length and its bytes, and a stamp (added,
// CSN, ...) is a uvarint: 0 for none (the zero CSN), i for the table's
// i-th CSN. An entry's stamps are few (an imported entry's values all
// carry its add's CSN), so a stamp takes a byte instead of 16: a person's
// state is a third of format 1's. Formats 1 and 2 are the same without
// the table, each stamp a CSN in full (16 bytes). What the merge derives
// from these (normalised RDNs, value keys) is recomputed by
// LoadEntryState with the State's schema.
//
// With a sealer (SetSealer) that seals some of the entry's attributes,
// the format is EntryStateSealed and the form is canonical but for the
// sealed values (each sealed with a random nonce).
func (s *State) AppendEntryState(b []byte, u UUID) ([]byte, bool) {
	e := s.entries[u]
	if e == nil {
		return b, false
	}
	s.resident(u, e) // on failure the attributes are missing; Err says so
	if b == nil {
		// Sized once: a group's state grown by doubling from nothing
		// copied and collected its bytes several times over.
		b = make([]byte, 0, e.encodedSizeHint())
	}
	format := byte(EntryStateFormat)
	for i := range e.attrs {
		if s.sealer != nil && s.sealer.Sealed(e.attrs[i].name) {
			format = EntryStateSealed
			break
		}
	}
	b = append(b, format)
	tab := e.stampTable(make([]change.CSN, 0, 8))
	b = binary.AppendUvarint(b, uint64(len(tab)))
	for _, c := range tab {
		b = c.AppendBinary(b)
	}
	stamp := func(b []byte, c change.CSN) []byte {
		if c.IsZero() {
			return append(b, 0)
		}
		i, _ := slices.BinarySearchFunc(tab, c, change.CSN.Compare)
		return binary.AppendUvarint(b, uint64(i+1))
	}
	b = stamp(b, e.added)
	b = stamp(b, e.deleted)
	b = binary.AppendUvarint(b, uint64(len(e.places)))
	for i := range e.places {
		p := &e.places[i]
		b = stamp(b, p.csn)
		b = append(b, p.parent[:]...)
		b = appendString(b, p.rdn)
	}
	b = binary.AppendUvarint(b, uint64(len(e.attrs)))
	var sealed []byte
	for i := range e.attrs {
		a := &e.attrs[i]
		seal := format == EntryStateSealed && s.sealer != nil && s.sealer.Sealed(a.name)
		if seal {
			b = binary.AppendUvarint(b, uint64(len(a.name)+1))
			b = append(b, SealedMark)
			b = append(b, a.name...)
		} else {
			b = appendString(b, a.name)
		}
		b = stamp(b, a.nameCSN)
		b = stamp(b, a.cleared)
		b = binary.AppendUvarint(b, uint64(len(a.values)))
		for j := range a.values {
			v := &a.values[j]
			if seal {
				sealed = s.sealer.Seal(sealed[:0], a.name, []byte(v.value))
				b = binary.AppendUvarint(b, uint64(len(sealed)))
				b = append(b, sealed...)
			} else {
				b = appendString(b, v.value)
			}
			b = stamp(b, v.added)
			b = stamp(b, v.removed)
		}
	}
	return b, true
}

// encodedSizeHint is about the length of e's encoded state: a little
// more for its values, without the stamp table.
func (e *entryState) encodedSizeHint() int {
	n := 64 + len(e.places)*64
	for i := range e.attrs {
		a := &e.attrs[i]
		n += len(a.name) + 8
		for j := range a.values {
			n += len(a.values[j].value) + 8
		}
	}
	return n
}

// stampTable appends every non-zero stamp of e to tab, ascending, each
// once: the table of an encoded entry state.
func (e *entryState) stampTable(tab []change.CSN) []change.CSN {
	add := func(c change.CSN) {
		if !c.IsZero() {
			tab = append(tab, c)
		}
	}
	add(e.added)
	add(e.deleted)
	for i := range e.places {
		add(e.places[i].csn)
	}
	for i := range e.attrs {
		a := &e.attrs[i]
		add(a.nameCSN)
		add(a.cleared)
		for j := range a.values {
			add(a.values[j].added)
			add(a.values[j].removed)
		}
		// Keep the table short as it grows: an entry's values mostly
		// share a handful of stamps.
		if len(tab) > 64 {
			slices.SortFunc(tab, change.CSN.Compare)
			tab = slices.Compact(tab)
		}
	}
	slices.SortFunc(tab, change.CSN.Compare)
	return slices.Compact(tab)
}

// stampReader reads an entry state's stamps: in full (formats 1 and 2),
// or as references to its table of CSNs, which it reads first.
type stampReader struct {
	d   *opDecoder
	tab []change.CSN // nil: stamps in full
}

// newStampReader reads the table of a state in format (already read
// and checked).
func newStampReader(d *opDecoder, format byte) stampReader {
	r := stampReader{d: d}
	if format == EntryStateFormat1 || format == EntryStateSealed1 {
		return r
	}
	n := d.count(change.CSNSize)
	r.tab = make([]change.CSN, 0, n)
	for range n {
		c := d.csn()
		if d.err != nil {
			break
		}
		if c.IsZero() || len(r.tab) > 0 && !r.tab[len(r.tab)-1].Less(c) {
			d.fail("table of CSNs not ascending")
			break
		}
		r.tab = append(r.tab, c)
	}
	return r
}

// csn reads one stamp.
func (r *stampReader) csn() change.CSN {
	d := r.d
	if r.tab == nil {
		return d.csn()
	}
	if d.err != nil {
		return change.CSN{}
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n <= 0:
		d.fail("bad stamp")
		return change.CSN{}
	case n != uvarintLen(v):
		d.fail("stamp not in its shortest form")
		return change.CSN{}
	case v > uint64(len(r.tab)):
		d.fail("stamp %d beyond the table of %d", v, len(r.tab))
		return change.CSN{}
	}
	d.b, d.off = d.b[n:], d.off+n
	if v == 0 {
		return change.CSN{}
	}
	return r.tab[v-1]
}

// stampSize is the fewest bytes a stamp takes in the format r reads.
func (r *stampReader) stampSize() int {
	if r.tab == nil {
		return change.CSNSize
	}
	return 1
}

// readFormat reads an entry state's format byte and refuses an unknown
// one.
func readFormat(d *opDecoder) byte {
	format := d.byte()
	switch format {
	case EntryStateFormat, EntryStateSealed, EntryStateFormat1, EntryStateSealed1:
	default:
		if d.err == nil {
			d.fail("format %d, want %d or %d (or %d or %d of earlier versions)", format, EntryStateFormat, EntryStateSealed, EntryStateFormat1, EntryStateSealed1)
		}
	}
	return format
}

// isSealedFormat reports whether format marks sealed attributes.
func isSealedFormat(format byte) bool {
	return format == EntryStateSealed || format == EntryStateSealed1
}

// LoadEntryState sets entry u's state to the one encoded in b (by
// AppendEntryState), replacing what s held for u. It refuses, leaving s
// as it was, an encoding that is malformed or that names an attribute
// or a value twice.
func (s *State) LoadEntryState(u UUID, b []byte) error {
	if u.IsRoot() {
		return fmt.Errorf("%w: the root has no state", ErrEntryStateSyntax)
	}
	d := opDecoder{b: b}
	e, err := s.decodeEntryState(&d)
	if err == nil && len(d.b) > 0 {
		err = fmt.Errorf("%w: %d bytes after the entry state", ErrEntryStateSyntax, len(d.b))
	}
	if err != nil {
		return err
	}
	if old := s.entries[u]; old != nil {
		s.forget(old)
	}
	s.entries[u] = e
	s.created(u, e)
	s.touch(u)
	s.layoutGen++
	return nil
}

// CheckEntryState reports whether b is an entry state LoadEntryState
// would take, without loading it.
func (s *State) CheckEntryState(b []byte) error {
	d := opDecoder{b: b}
	_, err := s.decodeEntryState(&d)
	if err == nil && len(d.b) > 0 {
		err = fmt.Errorf("%w: %d bytes after the entry state", ErrEntryStateSyntax, len(d.b))
	}
	return err
}

func (s *State) decodeEntryState(d *opDecoder) (*entryState, error) {
	format := readFormat(d)
	stamps := newStampReader(d, format)
	csn := stamps.csn
	e := &entryState{}
	e.added, e.deleted = csn(), csn()
	e.places = s.decodePlacements(d, csn, stamps.stampSize())
	minAttr := 1 + 2*stamps.stampSize() + 1
	nattrs := d.count(minAttr)
	if nattrs > 0 {
		e.attrs = make([]attrState, 0, nattrs)
	}
	for range nattrs {
		a := attrState{name: d.string(), nameCSN: csn(), cleared: csn()}
		sealed := isSealedFormat(format) && IsSealedName(a.name)
		if sealed {
			a.name = a.name[1:]
		}
		a.key = strings.ToLower(a.name)
		if d.err == nil && (a.name == "" || a.name[0] == SealedMark) {
			d.fail("attribute with no name")
		}
		minValue := 1 + 2*stamps.stampSize()
		n := d.count(minValue)
		if n > 0 {
			a.values = make([]valueState, 0, n)
		}
		for range n {
			v := valueState{value: d.string(), added: csn(), removed: csn()}
			if d.err != nil {
				break
			}
			if sealed {
				if s.sealer == nil {
					return nil, fmt.Errorf("%w: %s is sealed and this replica has no encryption key", ErrSealed, a.name)
				}
				clear, err := s.sealer.Open(a.name, []byte(v.value))
				if err != nil {
					return nil, err
				}
				v.value = string(clear)
			}
			v.key = s.valueKey(a.key, v.value)
			a.values = append(a.values, v)
		}
		if d.err != nil {
			break
		}
		// Stored in key order; the keys are recomputed, so sort again
		// in case the schema's matching rules changed since.
		slices.SortFunc(a.values, func(x, y valueState) int { return strings.Compare(x.key, y.key) })
		for j := 1; j < len(a.values); j++ {
			if a.values[j].key == a.values[j-1].key {
				d.fail("attribute %q: value %q repeated", a.name, a.values[j].value)
			}
		}
		a.values = slices.Clip(a.values)
		e.attrs = append(e.attrs, a)
	}
	e.attrs = slices.Clip(e.attrs)
	slices.SortFunc(e.attrs, func(x, y attrState) int { return strings.Compare(x.key, y.key) })
	for j := 1; j < len(e.attrs) && d.err == nil; j++ {
		if e.attrs[j].key == e.attrs[j-1].key {
			d.fail("attribute %q repeated", e.attrs[j].name)
		}
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEntryStateSyntax, d.err)
	}
	return e, nil
}

// Floor returns the bound of the latest Purge: changes below it are
// ignored. It is part of a snapshot of the state.
func (s *State) Floor() change.CSN { return s.floor }

// SetFloor raises the purge bound to c (when restoring a snapshot).
func (s *State) SetFloor(c change.CSN) {
	if s.floor.Less(c) {
		s.floor = c
	}
}

// Entries returns the UUIDs of every entry s holds, tombstones included,
// in UUID order.
func (s *State) Entries() []UUID {
	out := make([]UUID, 0, len(s.entries))
	for u := range s.entries {
		out = append(out, u)
	}
	slices.SortFunc(out, UUID.Compare)
	return out
}

// touch records that entry u changed, for TakeChanged and TakeUnsaved.
func (s *State) touch(u UUID) {
	if s.changed == nil {
		s.changed = map[UUID]struct{}{}
	}
	if s.unsaved == nil {
		s.unsaved = map[UUID]struct{}{}
	}
	s.changed[u] = struct{}{}
	s.unsaved[u] = struct{}{}
}

// TakeChanged returns the entries whose state changed (or that a Purge
// removed) since the previous call, and forgets them: what to
// materialise again.
func (s *State) TakeChanged() map[UUID]struct{} {
	c := s.changed
	s.changed = nil
	return c
}

// Changed calls f with each entry changed since the last TakeChanged,
// without taking them.
func (s *State) Changed(f func(UUID)) {
	for u := range s.changed {
		f(u)
	}
}

// TakeUnsaved is TakeChanged for a second reader, independent of the
// first: what to store again.
//
// With a source, the entries taken stay in memory until Saved.
func (s *State) TakeUnsaved() map[UUID]struct{} {
	c := s.unsaved
	s.unsaved = nil
	if s.cache != nil && len(c) > 0 {
		if s.cache.saving == nil {
			s.cache.saving = make(map[UUID]struct{}, len(c))
		}
		for u := range c {
			s.cache.saving[u] = struct{}{}
		}
	}
	return c
}

// SealedMark precedes the name of a sealed attribute.
const SealedMark = 0x00

// IsSealedName reports whether an attribute name in an encoded op or
// entry state carries SealedMark: its values are sealed.
func IsSealedName(name string) bool { return len(name) > 0 && name[0] == SealedMark }
