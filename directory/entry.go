package directory

import (
	"encoding/binary"
	"errors"
	"strings"
	"unsafe"

	"github.com/switchboard-ldap/switchboard/change"
)

// ID identifies an entry in the store. IDs are allocated from a Badger
// sequence, never reused, and are part of the on-disk format.
type ID uint64

// Attr is one attribute of an entry: its description in canonical form (the
// schema's primary name, lower-cased options appended as ";opt") and its
// values in the order they were given.
//
// It is an alias of change.Attribute, the attribute shape every layer
// shares, kept so that the engine's many uses need not be rewritten at
// once; new code may use either name.
type Attr = change.Attribute

// Entry is a directory entry as the engine stores it. DN keeps the form the
// client gave; NDN is its normalised form (schema.NormalizeDN), the key of
// the DN index.
type Entry struct {
	ID       ID
	ParentID ID
	DN       string
	NDN      string
	Attrs    []Attr
}

// Get returns the values of the attribute named exactly name (canonical
// form, case-insensitive), or nil.
func (e *Entry) Get(name string) [][]byte {
	for i := range e.Attrs {
		if strings.EqualFold(e.Attrs[i].Name, name) {
			return e.Attrs[i].Values
		}
	}
	return nil
}

// First returns the first value of name as a string, or "".
func (e *Entry) First(name string) string {
	if v := e.Get(name); len(v) > 0 {
		return string(v[0])
	}
	return ""
}

// Set replaces the values of name, adding the attribute if needed; nil or
// empty values remove it.
func (e *Entry) Set(name string, values [][]byte) {
	for i := range e.Attrs {
		if strings.EqualFold(e.Attrs[i].Name, name) {
			if len(values) == 0 {
				e.Attrs = append(e.Attrs[:i], e.Attrs[i+1:]...)
			} else {
				e.Attrs[i].Values = values
			}
			return
		}
	}
	if len(values) > 0 {
		e.Attrs = append(e.Attrs, Attr{Name: name, Values: values})
	}
}

// Clone returns a deep copy, so that overlays and callers never change an
// entry the engine or its cache owns.
func (e *Entry) Clone() *Entry {
	c := &Entry{ID: e.ID, ParentID: e.ParentID, DN: e.DN, NDN: e.NDN, Attrs: make([]Attr, len(e.Attrs))}
	for i, a := range e.Attrs {
		vals := make([][]byte, len(a.Values))
		for j, v := range a.Values {
			vals[j] = append([]byte(nil), v...)
		}
		c.Attrs[i] = Attr{Name: a.Name, Values: vals}
	}
	return c
}

// entryFormatV1 tags the record layout below. It is part of the file format
// and must not change; a new layout gets a new tag.
const entryFormatV1 = 1

// marshal encodes an entry record:
//
//	format (1B = 1) | parentID (uvarint) | len(DN) DN | len(NDN) NDN |
//	nattrs (uvarint) | { len(name) name | nvalues | { len(v) v }... }...
//
// All lengths are uvarints. The ID is the key, so it is not repeated.
func (e *Entry) marshal(b []byte) []byte {
	b = append(b, entryFormatV1)
	b = binary.AppendUvarint(b, uint64(e.ParentID))
	return e.marshalTail(b)
}

// marshalTail appends the part of the record that follows the parent ID.
func (e *Entry) marshalTail(b []byte) []byte {
	b = appendString(b, e.DN)
	b = appendString(b, e.NDN)
	b = binary.AppendUvarint(b, uint64(len(e.Attrs)))
	for _, a := range e.Attrs {
		b = appendString(b, a.Name)
		b = binary.AppendUvarint(b, uint64(len(a.Values)))
		for _, v := range a.Values {
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errCorrupt = errors.New("directory: corrupt entry record")

// unmarshalEntry decodes a record written by marshal. Values are copied out
// of b, which Badger owns only for the life of the transaction.
//
// Four allocations make an entry whatever its size: the copy of the record,
// the Entry, its attribute list and one slice that every attribute's value
// list is cut from. The DN, the normalised DN and the attribute names are
// strings over the copy (unsafe.String): it is never written after
// decoding, so they stay valid and immutable as strings must be.
func unmarshalEntry(id ID, b []byte) (*Entry, error) {
	if len(b) == 0 || b[0] != entryFormatV1 {
		return nil, errCorrupt
	}
	return unmarshalBody(id, b[1:])
}

// unmarshalBody decodes a record after its format byte (see
// unmarshalEntry) into a new Entry over a copy of b.
func unmarshalBody(id ID, b []byte) (*Entry, error) {
	e := &Entry{}
	var vals [][]byte
	if err := decodeInto(e, &vals, id, append([]byte(nil), b...)); err != nil {
		return nil, err
	}
	return e, nil
}

// decodeInto decodes a record body (after its format byte) into dst in one
// pass, reusing dst.Attrs and *vals, the slice every attribute's value
// list is cut from, when they are large enough: decoding into the same dst
// again allocates nothing. The DN, names and values alias b, which must
// never be written afterwards (a cached or freshly copied record).
func decodeInto(dst *Entry, vals *[][]byte, id ID, b []byte) error {
	r := reader{b: b}
	dst.ID = id
	dst.ParentID = ID(r.uvarint())
	dst.DN = r.str()
	dst.NDN = r.str()
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return errCorrupt
	}
	attrs := dst.Attrs[:0]
	if uint64(cap(attrs)) < n {
		// Room for the computed attributes a search may add.
		attrs = make([]Attr, 0, n+computedAttrs)
	}
	attrs = attrs[:n]
	all := (*vals)[:0]
	if cap(all) == 0 {
		all = make([][]byte, 0, n+n/2) // most attributes have one value
	}
	for i := range attrs {
		attrs[i].Name = r.str()
		nv := r.uvarint()
		if nv > uint64(len(r.b)) { // every value takes a byte at least
			return errCorrupt
		}
		// Should all grow, the lists cut so far keep the old array,
		// which nothing writes any more.
		start := len(all)
		for range nv {
			all = append(all, r.bytes())
		}
		attrs[i].Values = all[start:len(all):len(all)]
	}
	dst.Attrs = attrs
	*vals = all
	if r.err {
		return errCorrupt
	}
	return nil
}

// decodeOneAttr decodes a record body as decodeInto does, but keeps only
// the attribute named attr (compared without case, a sealed attribute's
// mark aside), stepping over the values of the others without slicing
// them. dst gets a new attribute list; values alias b.
func decodeOneAttr(dst *Entry, id ID, b []byte, attr string) error {
	r := reader{b: b}
	dst.ID = id
	dst.ParentID = ID(r.uvarint())
	dst.DN = r.str()
	dst.NDN = r.str()
	dst.Attrs = nil
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		return errCorrupt
	}
	for range n {
		name := r.str()
		nv := r.uvarint()
		if nv > uint64(len(r.b)) {
			return errCorrupt
		}
		bare := name // a sealed attribute's name keeps its mark for decodeRecordAttr
		if len(bare) > 0 && bare[0] == sealedMark {
			bare = bare[1:]
		}
		if len(bare) != len(attr) || !strings.EqualFold(bare, attr) {
			for range nv {
				r.skip()
			}
			continue
		}
		vals := make([][]byte, nv)
		for i := range vals {
			vals[i] = r.bytes()
		}
		dst.Attrs = append(dst.Attrs, Attr{Name: name, Values: vals})
	}
	if r.err {
		return errCorrupt
	}
	return nil
}

// computedAttrs is the number of attributes addComputed appends.
const computedAttrs = 4

type reader struct {
	b   []byte
	err bool
}

func (r *reader) uvarint() uint64 {
	if len(r.b) > 0 && r.b[0] < 0x80 { // most lengths and counts fit one byte
		v := uint64(r.b[0])
		r.b = r.b[1:]
		return v
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = true
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

// str returns the next length-prefixed bytes as a string sharing the
// reader's buffer, which must never be written afterwards.
func (r *reader) str() string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// skip steps over the next length-prefixed bytes.
func (r *reader) skip() {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = true
		r.b = nil
		return
	}
	r.b = r.b[n:]
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.err = true
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}
