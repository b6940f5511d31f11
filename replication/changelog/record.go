package changelog

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

// The change log's side records (see "Key layout" in the package
// documentation).
var (
	KeyRecords   = []byte{directory.PrefixReplication, 'o'} // o | origin | CSN -> log record
	KeyFloors    = []byte{directory.PrefixReplication, 'O'} // O | origin       -> floor CSN
	KeyPositions = []byte{directory.PrefixReplication, 'p'} // p | kind | ID    -> consumer position
)

// OriginPrefix is the prefix of origin o's records.
func OriginPrefix(o uint16) []byte { return binary.BigEndian.AppendUint16(bytes.Clone(KeyRecords), o) }

// RecordKey is the key of the record of the change c.
func RecordKey(c change.CSN) []byte { return c.AppendBinary(OriginPrefix(c.Replica)) }

// FloorKey is the key of origin o's floor.
func FloorKey(o uint16) []byte { return binary.BigEndian.AppendUint16(bytes.Clone(KeyFloors), o) }

// recordFormat is the first byte of every log record. Format 1 stores held
// a bare Op (OpFormat 1) under the same keys; the store migration to
// format 2 rewrites them.
const recordFormat = 2

// Flags of a log record.
const (
	// FlagReplicated: the Op is a replicated operation, pulled by peers
	// and replayed into the State at start.
	FlagReplicated = 1 << 0
	// FlagFeed: the record carries what change feeds (RFC 4533 sessions,
	// persistent searches) need.
	FlagFeed = 1 << 1
)

// A LogRecord is one change in the change log.
type LogRecord struct {
	// Op is the change. CSN, Kind and Entry are always set, Attrs (add)
	// and Mods (modify) when known; Parent and RDN only in a replicated
	// op, which alone is applied to the State.
	Op merge.Op
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
	Also []merge.UUID
}

// AppendBinary appends the record's stored form to b:
//
//	recordFormat (1) | flags (1) | Op (Op.AppendBinary)
//	[feed: DN, NewDN (uvarint length, bytes) | n (uvarint) × UUID (16)]
//
// The values of sealed attributes (directory.Sealer) are sealed and their
// names preceded by a 0x00 byte, as in the engine's entry records: the
// log holds them no more in clear than the entries do.
func (r *LogRecord) AppendBinary(b []byte, s *directory.Sealer) []byte {
	var flags byte
	if r.Replicated {
		flags |= FlagReplicated
	}
	if r.Feed {
		flags |= FlagFeed
	}
	b = append(b, recordFormat, flags)
	op := SealOp(&r.Op, s)
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

// DecodeRecord decodes a stored log record; s opens sealed values.
func DecodeRecord(b []byte, s *directory.Sealer) (*LogRecord, error) {
	r, err := DecodeRecordSealed(b)
	if err != nil {
		return nil, err
	}
	if err := OpenOp(&r.Op, s); err != nil {
		return nil, fmt.Errorf("%w at CSN %s: %w", ErrLogRecord, r.Op.CSN, err)
	}
	return r, nil
}

// DecodeRecordSealed decodes a stored log record leaving the values of
// sealed attributes sealed, their names marked: what a pull serves.
func DecodeRecordSealed(b []byte) (*LogRecord, error) {
	if len(b) < 2 || b[0] != recordFormat {
		return nil, fmt.Errorf("%w: unknown format", ErrLogRecord)
	}
	flags := b[1]
	if flags&^(FlagReplicated|FlagFeed) != 0 {
		return nil, fmt.Errorf("%w: flags %#x", ErrLogRecord, flags)
	}
	d := merge.NewDecoder(b[2:], 2)
	r := &LogRecord{Op: d.ReadOp(), Replicated: flags&FlagReplicated != 0, Feed: flags&FlagFeed != 0}
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

// RecordFlags returns the flags of a stored record without decoding it (0
// for one that does not decode).
func RecordFlags(b []byte) byte {
	if len(b) < 2 || b[0] != recordFormat {
		return 0
	}
	return b[1]
}

// metaFlags marks a record's meta byte as holding its flags.
const metaFlags = 0x80

// PutRecord writes the log record rec (a stored form: AppendBinary,
// AppendOp) under key in tx, its flags in the meta byte.
func PutRecord(tx *directory.Tx, key, rec []byte) error {
	return tx.PutRecordMeta(key, rec, metaFlags|RecordFlags(rec))
}

// Unreplicated reports whether a record's meta byte shows that it holds
// no replicated op, for directory.View.RecordsSkip: a scan for replicated
// ops skips it unread. False when the meta byte does not tell (a record
// written before meta bytes): the value does.
func Unreplicated(_ []byte, meta byte) bool {
	return meta&metaFlags != 0 && meta&FlagReplicated == 0
}

// Unfed is Unreplicated for feed records: true when the meta byte shows a
// record without feed part.
func Unfed(_ []byte, meta byte) bool {
	return meta&metaFlags != 0 && meta&FlagFeed == 0
}

// ScanFlags calls fn with the key and flags of the records under prefix,
// in key order from start (inclusive; nil: the first) or in reverse from
// the last, until fn returns false. Flags come from the meta byte; only a
// record written without one is read.
func ScanFlags(v *directory.View, prefix, start []byte, reverse bool, fn func(key []byte, flags byte) (bool, error)) error {
	return v.RecordKeys(prefix, start, reverse, func(k []byte, meta byte) (bool, error) {
		if meta&metaFlags == 0 {
			val, err := v.Record(k)
			if err != nil {
				return false, err
			}
			meta = RecordFlags(val)
		}
		return fn(k, meta&^metaFlags)
	})
}

// PutOp writes the replicated op under its CSN in tx (AppendOp).
func PutOp(tx *directory.Tx, op *merge.Op) error {
	return PutRecord(tx, RecordKey(op.CSN), AppendOp(op, tx.Sealer()))
}

// AppendOp is the stored form of a replicated op without feed
// information (a change pulled from a peer, or a derived change).
func AppendOp(op *merge.Op, s *directory.Sealer) []byte {
	return (&LogRecord{Op: *op, Replicated: true}).AppendBinary(nil, s)
}

// SealOp returns o with the values of sealed attributes sealed (o itself
// when there are none).
func SealOp(o *merge.Op, s *directory.Sealer) *merge.Op {
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
	var c *merge.Op
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

// OpenOp opens the sealed values of o in place.
func OpenOp(o *merge.Op, s *directory.Sealer) error {
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
	if r.Op.Entry != (merge.UUID{}) {
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
func uuidOrZero(en *directory.Entry) merge.UUID {
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
			r.Op.Attrs = AttrsOf(ch.After)
		}
	case change.Modify:
		r.Op.Entry, r.DN = uuidOrZero(ch.After), ch.After.DN
		if !r.Replicated {
			r.Op.Mods = ModsOf(ch.Before, ch.After)
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
func deepestFirst(removed []*directory.Entry) []merge.UUID {
	depth := func(e *directory.Entry) int {
		dn, err := ldap.ParseDN(e.DN)
		if err != nil {
			return 0
		}
		return len(dn)
	}
	type item struct {
		uuid  merge.UUID
		depth int
	}
	items := make([]item, len(removed))
	for i, e := range removed {
		items[i] = item{uuidOrZero(e), depth(e)}
	}
	slices.SortStableFunc(items, func(a, b item) int { return b.depth - a.depth })
	out := make([]merge.UUID, len(items))
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
		del, add := directory.ValueChanges(old, a.Values)
		if len(del) > 0 {
			if len(del) == len(old) {
				mods = append(mods, directory.Mod{Op: change.ModReplace, Attr: a})
				continue
			}
			mods = append(mods, directory.Mod{Op: change.ModDelete, Attr: directory.Attr{Name: a.Name, Values: del}})
		}
		if len(add) > 0 {
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

// AttrsOf is the attributes of en as an add's Op carries them.
func AttrsOf(en *directory.Entry) []merge.Attribute {
	out := make([]merge.Attribute, 0, len(en.Attrs))
	for _, a := range en.Attrs {
		out = append(out, merge.Attribute{Name: a.Name, Values: valueStrings(a.Values)})
	}
	return out
}

func valueStrings(vs [][]byte) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// ModsOf is the modifications that turn before into after, as a
// modify's Op carries them: removals before additions.
func ModsOf(before, after *directory.Entry) []merge.Mod {
	var out []merge.Mod
	for _, m := range diff(before, after) { // add, delete and replace only
		out = append(out, merge.Mod{Op: m.Op, Attr: m.Attr.Name, Values: valueStrings(m.Attr.Values)})
	}
	// Removals before additions, so that a value whose spelling changed
	// ends with the new spelling.
	slices.SortStableFunc(out, func(a, b merge.Mod) int {
		rank := func(k change.ModOp) int {
			if k == change.ModDelete {
				return 0
			}
			return 1
		}
		return rank(a.Op) - rank(b.Op)
	})
	return out
}
