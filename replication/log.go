package replication

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// The change log's side records (see "Change log" in the package
// documentation).
var (
	keyOps       = []byte{directory.PrefixReplication, 'o'} // o | origin | CSN -> log record
	keyOpFloor   = []byte{directory.PrefixReplication, 'O'} // O | origin       -> floor CSN
	keyPositions = []byte{directory.PrefixReplication, 'p'} // p | kind | ID    -> consumer position
)

func opPrefix(o uint16) []byte { return binary.BigEndian.AppendUint16(bytes.Clone(keyOps), o) }

func opKey(c change.CSN) []byte { return c.AppendBinary(opPrefix(c.Replica)) }

// opFloorKey is the key of origin o's floor.
func opFloorKey(o uint16) []byte { return binary.BigEndian.AppendUint16(bytes.Clone(keyOpFloor), o) }

// logFormat is the first byte of every log record. Format 1 stores held
// a bare Op (OpFormat 1) under the same keys; the store migration to
// format 2 rewrites them.
const logFormat = 2

// Flags of a log record.
const (
	// logReplicated: the Op is a replicated operation, pulled by peers
	// and replayed into the State at start.
	logReplicated = 1 << 0
	// logFeed: the record carries what change feeds (RFC 4533 sessions,
	// persistent searches) need.
	logFeed = 1 << 1
)

// A LogRecord is one change in the change log.
type LogRecord struct {
	// Op is the change. CSN, Kind and Entry are always set, Attrs (add)
	// and Mods (modify) when known; Parent and RDN only in a replicated
	// op, which alone is applied to the State.
	Op Op
	// Replicated marks Op as a replicated operation (multi-supplier):
	// peers pull it and the Replicator replays it.
	Replicated bool
	// Feed marks a change the store saw, described for change feeds by
	// Op.Kind, Op.Entry and the fields below. Replicated operations of
	// other replicas have none: their effect on the store is logged
	// under a local CSN when it is written.
	Feed bool
	// DN is the target's DN before the change (after it, for an add or a
	// modify).
	DN string
	// NewDN is the target's DN after a modrdn.
	NewDN string
	// Also lists the entryUUIDs of the descendants a subtree delete
	// removed (deepest first) or a modrdn moved with the target.
	Also []UUID
}

// appendBinary appends the record's stored form to b:
//
//	logFormat (1) | flags (1) | Op (Op.AppendBinary)
//	[feed: DN, NewDN (uvarint length, bytes) | n (uvarint) × UUID (16)]
//
// The values of sealed attributes (directory.Sealer) are sealed and their
// names preceded by a 0x00 byte, as in the engine's entry records: the
// log holds them no more in clear than the entries do.
func (r *LogRecord) appendBinary(b []byte, s *directory.Sealer) []byte {
	var flags byte
	if r.Replicated {
		flags |= logReplicated
	}
	if r.Feed {
		flags |= logFeed
	}
	b = append(b, logFormat, flags)
	op := sealOp(&r.Op, s)
	b = op.AppendBinary(b)
	if r.Feed {
		b = merge.AppendString(b, r.DN)
		b = merge.AppendString(b, r.NewDN)
		b = binary.AppendUvarint(b, uint64(len(r.Also)))
		for _, u := range r.Also {
			b = append(b, u[:]...)
		}
	}
	return b
}

// ErrLogRecord is returned (wrapped) for a log record that does not
// decode.
var ErrLogRecord = errors.New("replication: malformed change log record")

// decodeLogRecord decodes a stored log record; s opens sealed values.
func decodeLogRecord(b []byte, s *directory.Sealer) (*LogRecord, error) {
	r, err := decodeLogRecordSealed(b)
	if err != nil {
		return nil, err
	}
	if err := openOp(&r.Op, s); err != nil {
		return nil, fmt.Errorf("%w at CSN %s: %w", ErrLogRecord, r.Op.CSN, err)
	}
	return r, nil
}

// decodeLogRecordSealed decodes a stored log record leaving the values of
// sealed attributes sealed, their names marked: what a pull serves.
func decodeLogRecordSealed(b []byte) (*LogRecord, error) {
	if len(b) < 2 || b[0] != logFormat {
		return nil, fmt.Errorf("%w: unknown format", ErrLogRecord)
	}
	flags := b[1]
	if flags&^(logReplicated|logFeed) != 0 {
		return nil, fmt.Errorf("%w: flags %#x", ErrLogRecord, flags)
	}
	d := merge.NewDecoder(b[2:], 2)
	r := &LogRecord{Op: d.ReadOp(), Replicated: flags&logReplicated != 0, Feed: flags&logFeed != 0}
	if r.Feed {
		r.DN = d.ReadString()
		r.NewDN = d.ReadString()
		n := d.ReadCount(16)
		for i := 0; i < n && d.Err() == nil; i++ {
			r.Also = append(r.Also, d.ReadUUID())
		}
	}
	if d.Err() == nil && d.Len() > 0 {
		d.Fail("%d bytes after the record", d.Len())
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: %w", ErrLogRecord, d.Err())
	}
	return r, nil
}

// logFlags returns the flags of a stored record without decoding it (0
// for one that does not decode).
func logFlags(b []byte) byte {
	if len(b) < 2 || b[0] != logFormat {
		return 0
	}
	return b[1]
}

// appendOpRecord is the stored form of a replicated op without feed
// information (a change pulled from a peer, or a derived change).
func appendOpRecord(op *Op, s *directory.Sealer) []byte {
	return (&LogRecord{Op: *op, Replicated: true}).appendBinary(nil, s)
}

// sealOp returns o with the values of sealed attributes sealed (o itself
// when there are none).
func sealOp(o *Op, s *directory.Sealer) *Op {
	if s == nil {
		return o
	}
	sealAttr := func(name string, vs []string) (string, []string) {
		if !s.Sealed(name) {
			return name, vs
		}
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = string(s.Seal(nil, name, []byte(v)))
		}
		return "\x00" + name, out
	}
	var c *Op
	for i, a := range o.Attrs {
		if s.Sealed(a.Name) {
			if c == nil {
				cp := *o
				cp.Attrs, cp.Mods = slices.Clone(o.Attrs), slices.Clone(o.Mods)
				c = &cp
			}
			c.Attrs[i].Name, c.Attrs[i].Values = sealAttr(a.Name, a.Values)
		}
	}
	for i, m := range o.Mods {
		if s.Sealed(m.Attr) {
			if c == nil {
				cp := *o
				cp.Attrs, cp.Mods = slices.Clone(o.Attrs), slices.Clone(o.Mods)
				c = &cp
			}
			c.Mods[i].Attr, c.Mods[i].Values = sealAttr(m.Attr, m.Values)
		}
	}
	if c == nil {
		return o
	}
	return c
}

// openOp opens the sealed values of o in place.
func openOp(o *Op, s *directory.Sealer) error {
	open := func(name *string, vs []string) error {
		if !merge.IsSealedName(*name) {
			return nil
		}
		*name = (*name)[1:]
		for i, v := range vs {
			p, err := s.Open(*name, []byte(v))
			if err != nil {
				return err
			}
			vs[i] = string(p)
		}
		return nil
	}
	for i := range o.Attrs {
		if err := open(&o.Attrs[i].Name, o.Attrs[i].Values); err != nil {
			return err
		}
	}
	for i := range o.Mods {
		if err := open(&o.Mods[i].Attr, o.Mods[i].Values); err != nil {
			return err
		}
	}
	return nil
}

// A Record is a logged change as change feeds read it (Changelog.Since).
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

// feedRecord is r as change feeds read it.
func feedRecord(r *LogRecord) *Record {
	out := &Record{CSN: r.Op.CSN, Kind: r.Op.Kind, DN: r.DN, NewDN: r.NewDN}
	if r.Op.Entry != (UUID{}) {
		out.UUID = r.Op.Entry.String()
	}
	for _, a := range r.Op.Attrs {
		out.Attrs = append(out.Attrs, directory.Attr{Name: a.Name, Values: byteValues(a.Values)})
	}
	for _, m := range r.Op.Mods {
		out.Mods = append(out.Mods, directory.Mod{Op: m.Op, Attr: directory.Attr{Name: m.Attr, Values: byteValues(m.Values)}})
	}
	for _, u := range r.Also {
		out.Also = append(out.Also, u.String())
	}
	return out
}

func byteValues(vs []string) [][]byte {
	if vs == nil {
		return nil
	}
	out := make([][]byte, len(vs))
	for i, v := range vs {
		out[i] = []byte(v)
	}
	return out
}

// uuidOrZero is the entryUUID of en, zero if it has none that parses.
func uuidOrZero(en *directory.Entry) UUID {
	u, _ := merge.ParseUUID(en.First("entryUUID"))
	return u
}

// describe adds to r what change feeds need of ch (and, when r holds no
// replicated op, the change's kind, target and values), reading the
// moved descendants of a modrdn through rd.
func describe(r *LogRecord, ch *directory.Change, rd directory.Reader) error {
	r.Feed = true
	if !r.Replicated {
		r.Op.Kind = ch.Kind
	}
	switch ch.Kind {
	case change.Add:
		r.Op.Entry, r.DN = uuidOrZero(ch.After), ch.After.DN
		if !r.Replicated {
			r.Op.Attrs = attrsOf(ch.After)
		}
	case change.Modify:
		r.Op.Entry, r.DN = uuidOrZero(ch.After), ch.After.DN
		if !r.Replicated {
			r.Op.Mods = modsOf(ch.Before, ch.After)
		}
	case change.Delete:
		r.Op.Entry, r.DN = uuidOrZero(ch.Before), ch.Before.DN
		// Deepest first, so that replaying the deletes one by one never
		// removes an entry that still has children.
		r.Also = deepestFirst(ch.Removed)
	case change.ModRDN:
		r.Op.Entry, r.DN, r.NewDN = uuidOrZero(ch.Before), ch.Before.DN, ch.After.DN
		r.Also = nil
		for _, rn := range ch.Renamed[1:] {
			en, err := rd.Get(rn.ID)
			if err != nil {
				return err
			}
			if en != nil {
				r.Also = append(r.Also, uuidOrZero(en))
			}
		}
	}
	return nil
}

// deepestFirst returns the UUIDs of removed entries ordered by the depth
// of their DNs, deepest first.
func deepestFirst(removed []*directory.Entry) []UUID {
	depth := func(e *directory.Entry) int {
		dn, err := ldap.ParseDN(e.DN)
		if err != nil {
			return 0
		}
		return len(dn)
	}
	type item struct {
		uuid  UUID
		depth int
	}
	items := make([]item, len(removed))
	for i, e := range removed {
		items[i] = item{uuidOrZero(e), depth(e)}
	}
	slices.SortStableFunc(items, func(a, b item) int { return b.depth - a.depth })
	out := make([]UUID, len(items))
	for i := range items {
		out[i] = items[i].uuid
	}
	return out
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
