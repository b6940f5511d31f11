package replication

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// A Record is one change in the changelog: enough to replay it on a
// replica that holds the state before it.
type Record struct {
	CSN  change.CSN
	Kind change.Kind
	UUID string // entryUUID of the target
	DN   string // the target's DN before the change (after it, for an add)
	// NewDN is the target's DN after a modrdn.
	NewDN string
	// Attrs is the whole entry of an add, operational attributes included.
	Attrs []directory.Attr
	// Mods are the modifications of a modify, as the difference between
	// the entry before and after: add and delete of values, delete of a
	// whole attribute (no values). Operational attributes are included.
	Mods []directory.Mod
	// Also lists the entryUUIDs of the descendants a subtree delete
	// removed (deepest first) or a modrdn moved with the target.
	Also []string
}

// recordVersion is the first byte of every encoded record.
const recordVersion = 1

// Encoded record, after the version byte and the op byte, with every
// string and value as a uvarint length followed by the bytes:
//
//	uuid, dn
//	add:    nattrs { name, nvalues { value } }
//	modify: nmods { op (1 byte: change.ModAdd/ModDelete/ModReplace), name, nvalues { value } }
//	delete: nalso { uuid }
//	modrdn: newdn, nalso { uuid }
//
// The CSN is not in the value: it is the key. The values of sealed
// attributes (directory.Sealer) are sealed, and their names preceded by a
// 0x00 byte, as in the engine's entry records: the log holds them no more
// in clear than the entries do.
func (r *Record) appendBinary(b []byte, s *directory.Sealer) []byte {
	b = append(b, recordVersion, byte(r.Kind))
	b = appendStr(b, r.UUID)
	b = appendStr(b, r.DN)
	switch r.Kind {
	case change.Add:
		b = binary.AppendUvarint(b, uint64(len(r.Attrs)))
		for _, a := range r.Attrs {
			b = appendAttr(b, a, s)
		}
	case change.Modify:
		b = binary.AppendUvarint(b, uint64(len(r.Mods)))
		for _, m := range r.Mods {
			b = append(b, byte(m.Op))
			b = appendAttr(b, m.Attr, s)
		}
	case change.Delete:
		b = appendList(b, r.Also)
	case change.ModRDN:
		b = appendStr(b, r.NewDN)
		b = appendList(b, r.Also)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendAttr(b []byte, a directory.Attr, s *directory.Sealer) []byte {
	if s.Sealed(a.Name) {
		b = binary.AppendUvarint(b, uint64(len(a.Name)+1))
		b = append(b, sealedMark)
		b = append(b, a.Name...)
		b = binary.AppendUvarint(b, uint64(len(a.Values)))
		var sealed []byte
		for _, v := range a.Values {
			sealed = s.Seal(sealed[:0], a.Name, v)
			b = binary.AppendUvarint(b, uint64(len(sealed)))
			b = append(b, sealed...)
		}
		return b
	}
	b = appendStr(b, a.Name)
	b = binary.AppendUvarint(b, uint64(len(a.Values)))
	for _, v := range a.Values {
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// sealedMark precedes the name of a sealed attribute.
const sealedMark = 0x00

func appendList(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendStr(b, s)
	}
	return b
}

// ErrRecord is returned (wrapped) for a changelog record that does not
// decode.
var ErrRecord = errors.New("replication: malformed changelog record")

// recordReader decodes with bounds checks: a corrupt record is an error,
// never a panic or a huge allocation.
type recordReader struct {
	b      []byte
	err    error
	sealer *directory.Sealer
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items each at least min bytes long.
func (r *recordReader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.err = ErrRecord
		return 0
	}
	return int(n)
}

func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = ErrRecord
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) str() string { return string(r.bytes()) }

func (r *recordReader) attr() directory.Attr {
	a := directory.Attr{Name: r.str()}
	sealed := len(a.Name) > 0 && a.Name[0] == sealedMark
	if sealed {
		a.Name = a.Name[1:]
	}
	n := r.count(1)
	for i := 0; i < n && r.err == nil; i++ {
		v := append([]byte(nil), r.bytes()...)
		if sealed && r.err == nil {
			if v, r.err = r.sealer.Open(a.Name, v); r.err != nil {
				break
			}
		}
		a.Values = append(a.Values, v)
	}
	return a
}

func (r *recordReader) list() []string {
	n := r.count(1)
	var out []string
	for i := 0; i < n && r.err == nil; i++ {
		out = append(out, r.str())
	}
	return out
}

// decodeRecord decodes a record value; csn comes from its key, s opens
// sealed values.
func decodeRecord(csn change.CSN, v []byte, s *directory.Sealer) (*Record, error) {
	if len(v) < 2 || v[0] != recordVersion {
		return nil, fmt.Errorf("%w: unknown version", ErrRecord)
	}
	rec := &Record{CSN: csn, Kind: change.Kind(v[1])}
	r := &recordReader{b: v[2:], sealer: s}
	rec.UUID = r.str()
	rec.DN = r.str()
	switch rec.Kind {
	case change.Add:
		n := r.count(2)
		for i := 0; i < n && r.err == nil; i++ {
			rec.Attrs = append(rec.Attrs, r.attr())
		}
	case change.Modify:
		n := r.count(3)
		for i := 0; i < n && r.err == nil; i++ {
			if len(r.b) == 0 {
				r.err = ErrRecord
				break
			}
			op := change.ModOp(r.b[0])
			r.b = r.b[1:]
			if op != change.ModAdd && op != change.ModDelete && op != change.ModReplace {
				r.err = ErrRecord
				break
			}
			rec.Mods = append(rec.Mods, directory.Mod{Op: op, Attr: r.attr()})
		}
	case change.Delete:
		rec.Also = r.list()
	case change.ModRDN:
		rec.NewDN = r.str()
		rec.Also = r.list()
	default:
		return nil, fmt.Errorf("%w: unknown operation %d", ErrRecord, v[1])
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = ErrRecord
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w at CSN %s", r.err, csn)
	}
	return rec, nil
}

// recordOf builds the changelog record of a change, reading the moved
// descendants of a modrdn through rd.
func recordOf(csn change.CSN, ch *directory.Change, rd directory.Reader) (*Record, error) {
	r := &Record{CSN: csn}
	switch ch.Kind {
	case change.Add:
		r.Kind, r.UUID, r.DN, r.Attrs = change.Add, ch.After.First("entryUUID"), ch.After.DN, ch.After.Attrs
	case change.Modify:
		r.Kind, r.UUID, r.DN, r.Mods = change.Modify, ch.After.First("entryUUID"), ch.After.DN, diff(ch.Before, ch.After)
	case change.Delete:
		r.Kind, r.UUID, r.DN = change.Delete, ch.Before.First("entryUUID"), ch.Before.DN
		// Deepest first, so that replaying the deletes one by one never
		// removes an entry that still has children.
		r.Also = make([]string, len(ch.Removed))
		sortDeepestFirst(r.Also, ch.Removed)
	case change.ModRDN:
		r.Kind, r.UUID, r.DN, r.NewDN = change.ModRDN, ch.Before.First("entryUUID"), ch.Before.DN, ch.After.DN
		for _, rn := range ch.Renamed[1:] {
			en, err := rd.Get(rn.ID)
			if err != nil {
				return nil, err
			}
			if en != nil {
				r.Also = append(r.Also, en.First("entryUUID"))
			}
		}
	}
	return r, nil
}

// sortDeepestFirst orders the UUIDs of removed entries by the depth of
// their DNs, deepest first.
func sortDeepestFirst(uuids []string, removed []*directory.Entry) {
	depth := func(e *directory.Entry) int {
		dn, err := ldap.ParseDN(e.DN)
		if err != nil {
			return 0
		}
		return len(dn)
	}
	type item struct {
		uuid  string
		depth int
	}
	items := make([]item, len(removed))
	for i, e := range removed {
		items[i] = item{e.First("entryUUID"), depth(e)}
	}
	// Insertion sort, stable: subtree deletes are small.
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].depth > items[j-1].depth; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	for i := range items {
		uuids[i] = items[i].uuid
	}
}

// diff returns modifications that turn before into after: per attribute,
// the values removed (ModDelete) and added (ModAdd), or a delete of the
// whole attribute. Values are compared bytewise: a value rewritten in
// another form shows as a delete and an add, which replays the same.
func diff(before, after *directory.Entry) []directory.Mod {
	var mods []directory.Mod
	had := make(map[string]int, len(before.Attrs))
	for i, a := range before.Attrs {
		had[a.Name] = i
	}
	for _, a := range after.Attrs {
		i, ok := had[a.Name]
		if !ok {
			mods = append(mods, directory.Mod{Op: change.ModAdd, Attr: a})
			continue
		}
		delete(had, a.Name)
		old := before.Attrs[i].Values
		if del := minus(old, a.Values); len(del) > 0 {
			if len(del) == len(old) {
				mods = append(mods, directory.Mod{Op: change.ModReplace, Attr: a})
				continue
			}
			mods = append(mods, directory.Mod{Op: change.ModDelete, Attr: directory.Attr{Name: a.Name, Values: del}})
		}
		if add := minus(a.Values, old); len(add) > 0 {
			mods = append(mods, directory.Mod{Op: change.ModAdd, Attr: directory.Attr{Name: a.Name, Values: add}})
		}
	}
	for _, a := range before.Attrs {
		if _, gone := had[a.Name]; gone {
			mods = append(mods, directory.Mod{Op: change.ModDelete, Attr: directory.Attr{Name: a.Name}})
		}
	}
	return mods
}

// minus returns the values of a not in b.
func minus(a, b [][]byte) [][]byte {
	if len(b) <= 8 {
		var out [][]byte
	next:
		for _, v := range a {
			for _, w := range b {
				if string(v) == string(w) {
					continue next
				}
			}
			out = append(out, v)
		}
		return out
	}
	in := make(map[string]struct{}, len(b))
	for _, w := range b {
		in[string(w)] = struct{}{}
	}
	var out [][]byte
	for _, v := range a {
		if _, ok := in[string(v)]; !ok {
			out = append(out, v)
		}
	}
	return out
}
