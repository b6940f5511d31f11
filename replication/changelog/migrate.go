package changelog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// Store format 1 kept two change logs; format 2 keeps one. The keys of
// format 1 that the migration folds into the change log and removes:
var (
	legacyLog      = []byte{directory.PrefixReplication, 'l'} // l | origin | CSN -> RFC 4533 record
	legacyFloor    = []byte{directory.PrefixReplication, 'f'} // f | origin       -> floor CSN
	legacyBase     = []byte{directory.PrefixReplication, 'b'} // b                -> base floor CSN
	legacyConsumer = []byte{directory.PrefixReplication, 'c'} // c | consumer ID  -> RFC 4533 position
	legacyReplica  = []byte{directory.PrefixReplication, 'a'} // a | replica      -> replica position
)

// Migrations returns the upgrades of the change log's side records, to
// run after directory.Migrations(): from format 1 to 2, the RFC 4533
// changelog and the op log become one change log (see the package
// documentation). multiSupplier is the key of the record whose presence
// marks a multi-supplier replica's store (its generation).
func Migrations(multiSupplier []byte) []directory.Migration {
	return []directory.Migration{
		{From: 1, What: "replication: op log records into the change log, with the RFC 4533 changelog's record of the same change", Step: migrateOps},
		{From: 1, What: "replication: the other RFC 4533 changelog records into the change log", Step: migrateChangelog},
		{From: 1, What: "replication: one floor per origin, one consumer table", Step: func(ctx context.Context, tx *directory.UpgradeTx, cursor []byte) ([]byte, error) {
			return migrateFloors(ctx, tx, cursor, multiSupplier)
		}},
	}
}

// migrateBatch bounds the records one migration step rewrites.
const migrateBatch = 1000

// migrateOps rewrites the op log's bare ops (OpFormat 1) as log records
// of replicated ops; an RFC 4533 record of the same change (a local
// write of a multi-supplier replica) gives it its feed information and
// is removed.
func migrateOps(_ context.Context, tx *directory.UpgradeTx, cursor []byte) ([]byte, error) {
	var last []byte
	n := 0
	err := tx.Scan(KeyRecords, cursor, func(k, v []byte) (bool, error) {
		last = k
		n++
		if len(v) > 0 && v[0] == recordFormat {
			return n < migrateBatch, nil
		}
		op, err := merge.DecodeOp(v)
		if err != nil {
			return false, fmt.Errorf("op log record %x: %w", k, err)
		}
		rec := &LogRecord{Op: op, Replicated: true}
		lk := append(bytes.Clone(legacyLog), k[len(KeyRecords):]...)
		old, err := tx.Get(lk)
		if err != nil {
			return false, err
		}
		if old != nil {
			if lr, err := decodeLegacyRecord(old); err == nil {
				rec.Feed, rec.DN, rec.NewDN, rec.Also = true, lr.DN, lr.NewDN, lr.Also
			}
			if err := tx.Delete(lk); err != nil {
				return false, err
			}
		}
		return n < migrateBatch, tx.Set(k, rec.AppendBinary(nil, nil))
	})
	if err != nil || n < migrateBatch {
		return nil, err
	}
	return last, nil
}

// migrateChangelog moves the RFC 4533 records that have no op (every
// record of a single supplier; the entries a multi-supplier replica
// resolved) into the change log as records of changes the store saw.
// The values of sealed attributes move as they are, sealed.
func migrateChangelog(_ context.Context, tx *directory.UpgradeTx, cursor []byte) ([]byte, error) {
	var last []byte
	n := 0
	err := tx.Scan(legacyLog, cursor, func(k, v []byte) (bool, error) {
		last = k
		n++
		if len(k) != len(legacyLog)+2+change.CSNSize {
			return n < migrateBatch, tx.Delete(k)
		}
		c, err := change.DecodeCSN(k[len(legacyLog)+2:])
		if err != nil {
			return false, fmt.Errorf("changelog key %x: %w", k, err)
		}
		lr, err := decodeLegacyRecord(v)
		if err != nil {
			// Nothing could read it before either: it is dropped, and its
			// origin's floor raised over it below.
			fk := append(bytes.Clone(legacyFloor), k[len(legacyLog):len(legacyLog)+2]...)
			old, err := tx.Get(fk)
			if err != nil {
				return false, err
			}
			if f, err := change.DecodeCSN(old); old == nil || (err == nil && f.Less(c)) {
				if err := tx.Set(fk, c.AppendBinary(nil)); err != nil {
					return false, err
				}
			}
			return n < migrateBatch, tx.Delete(k)
		}
		lr.Op.CSN = c
		if err := tx.Set(RecordKey(c), lr.AppendBinary(nil, nil)); err != nil {
			return false, err
		}
		return n < migrateBatch, tx.Delete(k)
	})
	if err != nil || n < migrateBatch {
		return nil, err
	}
	return last, nil
}

// migrateFloors makes one floor per origin: the higher of the op log's
// and the RFC 4533 changelog's (or, on a single supplier, the changelog's
// base floor for an origin it never trimmed), and moves both consumer
// tables into one. On a multi-supplier store the base floor is dropped:
// the op log there holds every change of the store's entries (they were
// recorded as local adds), so the floor would refuse peers it can serve,
// and the changelog's trims are in the per-origin floors.
func migrateFloors(_ context.Context, tx *directory.UpgradeTx, _ []byte, multiSupplier []byte) ([]byte, error) {
	gen, err := tx.Get(multiSupplier)
	if err != nil {
		return nil, err
	}
	var base change.CSN
	if b, err := tx.Get(legacyBase); err != nil {
		return nil, err
	} else if b != nil && gen == nil {
		if base, err = change.DecodeCSN(b); err != nil {
			return nil, fmt.Errorf("changelog base floor: %w", err)
		}
	}
	floors := map[uint16]change.CSN{}
	raise := func(o uint16, c change.CSN) {
		if f, ok := floors[o]; !ok || f.Less(c) {
			floors[o] = c
		}
	}
	trimmed := map[uint16]bool{}
	for _, p := range [][]byte{KeyFloors, legacyFloor} {
		err := tx.Scan(p, nil, func(k, v []byte) (bool, error) {
			if len(k) != len(p)+2 {
				return true, nil
			}
			c, err := change.DecodeCSN(v)
			if err != nil {
				return false, fmt.Errorf("floor %x: %w", k, err)
			}
			o := binary.BigEndian.Uint16(k[len(p):])
			raise(o, c)
			if bytes.Equal(p, legacyFloor) {
				trimmed[o] = true
				return true, tx.Delete(k)
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if !base.IsZero() {
		// Every origin with records, the one the base floor stood for.
		var after []byte
		for {
			var o uint16
			found := false
			if err := tx.Scan(KeyRecords, after, func(k, _ []byte) (bool, error) {
				if len(k) >= len(KeyRecords)+2 {
					o, found = binary.BigEndian.Uint16(k[len(KeyRecords):]), true
				}
				return false, nil
			}); err != nil {
				return nil, err
			}
			if !found {
				break
			}
			if !trimmed[o] {
				raise(o, base)
			}
			after = append(OriginPrefix(o), bytes.Repeat([]byte{0xff}, change.CSNSize)...)
		}
	}
	for o, c := range floors {
		if err := tx.Set(FloorKey(o), c.AppendBinary(nil)); err != nil {
			return nil, err
		}
	}
	if err := tx.Delete(legacyBase); err != nil {
		return nil, err
	}
	// The consumer tables.
	err = tx.Scan(legacyConsumer, nil, func(k, v []byte) (bool, error) {
		if p, err := decodeLegacyPosition(v); err == nil {
			if err := tx.Set(syncPositionKey(string(k[len(legacyConsumer):])), p.AppendBinary(nil)); err != nil {
				return false, err
			}
		}
		return true, tx.Delete(k)
	})
	if err != nil {
		return nil, err
	}
	err = tx.Scan(legacyReplica, nil, func(k, v []byte) (bool, error) {
		if len(k) == len(legacyReplica)+2 {
			if _, err := DecodePosition(v); err == nil {
				if err := tx.Set(ReplicaPositionKey(binary.BigEndian.Uint16(k[len(legacyReplica):])), v); err != nil {
					return false, err
				}
			}
		}
		return true, tx.Delete(k)
	})
	return nil, err
}

// decodeLegacyPosition decodes an RFC 4533 consumer's position of format
// 1: last seen (8 bytes, Unix microseconds) | n × (origin (2) | CSN (16)).
func decodeLegacyPosition(b []byte) (*Position, error) {
	if len(b) < 8 || (len(b)-8)%(2+change.CSNSize) != 0 {
		return nil, errors.New("replication: malformed consumer position")
	}
	p := &Position{Consumer: true, Vector: wire.Vector{}}
	p.Seen = time.UnixMicro(int64(binary.BigEndian.Uint64(b)))
	for q := b[8:]; len(q) > 0; q = q[2+change.CSNSize:] {
		c, err := change.DecodeCSN(q[2 : 2+change.CSNSize])
		if err != nil {
			return nil, err
		}
		p.Vector[binary.BigEndian.Uint16(q)] = c
	}
	return p, nil
}

// decodeLegacyRecord decodes an RFC 4533 changelog record of format 1
// into a log record with feed information (the CSN, from the key, is not
// set). A record is a version byte (1), the kind (1-4), then
// uvarint-length-prefixed fields: entryUUID, DN, and for an add every
// attribute (name, values), for a modify the modifications (op byte 0-2,
// name, values), for a delete the entryUUIDs of the removed descendants,
// for a modrdn the new DN and the entryUUIDs of the moved descendants. A
// sealed attribute's name begins with 0x00 and its values are sealed, as
// in the change log: they are copied as they are.
func decodeLegacyRecord(v []byte) (*LogRecord, error) {
	if len(v) < 2 || v[0] != 1 {
		return nil, fmt.Errorf("%w: unknown version", ErrLogRecord)
	}
	d := &legacyReader{b: v[2:]}
	r := &LogRecord{Feed: true, Op: merge.Op{Kind: change.Kind(v[1])}}
	r.Op.Entry, _ = merge.ParseUUID(d.str())
	r.DN = d.str()
	attr := func() (string, []string) {
		name := d.str()
		n := d.count(1)
		var vs []string
		for i := 0; i < n && d.err == nil; i++ {
			vs = append(vs, d.str())
		}
		return name, vs
	}
	list := func() {
		n := d.count(1)
		for i := 0; i < n && d.err == nil; i++ {
			u, _ := merge.ParseUUID(d.str())
			r.Also = append(r.Also, u)
		}
	}
	switch r.Op.Kind {
	case change.Add:
		n := d.count(2)
		for i := 0; i < n && d.err == nil; i++ {
			name, vs := attr()
			r.Op.Attrs = append(r.Op.Attrs, merge.Attribute{Name: name, Values: vs})
		}
	case change.Modify:
		n := d.count(3)
		for i := 0; i < n && d.err == nil; i++ {
			if len(d.b) == 0 {
				d.err = ErrLogRecord
				break
			}
			op := change.ModOp(d.b[0])
			d.b = d.b[1:]
			if op != change.ModAdd && op != change.ModDelete && op != change.ModReplace {
				d.err = ErrLogRecord
				break
			}
			name, vs := attr()
			r.Op.Mods = append(r.Op.Mods, merge.Mod{Op: op, Attr: name, Values: vs})
		}
	case change.Delete:
		list()
	case change.ModRDN:
		r.NewDN = d.str()
		list()
	default:
		return nil, fmt.Errorf("%w: unknown operation %d", ErrLogRecord, v[1])
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = ErrLogRecord
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: format 1 changelog record", d.err)
	}
	return r, nil
}

// legacyReader decodes with bounds checks: a corrupt record is an error,
// never a panic or a huge allocation.
type legacyReader struct {
	b   []byte
	err error
}

func (r *legacyReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrLogRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items each at least min bytes long.
func (r *legacyReader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.err = ErrLogRecord
		return 0
	}
	return int(n)
}

func (r *legacyReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = ErrLogRecord
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
