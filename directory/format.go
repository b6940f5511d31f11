package directory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Store format versions and their upgrade.
//
// One version, 0x00 "format", covers the whole store: the engine's keys
// and the side records of the packages above it (package replication's
// under 'r'). A store of an earlier version is upgraded in place when it
// is opened, by the registered Migrations from its version up to
// formatVersion, one version at a time; a store of a later version is
// refused. While an upgrade runs, 0x00 "upgrade" records how far it got:
//
//	0x00 "upgrade" -> from version (4) | migration index (2) | cursor
//
// Each Step of a migration commits in its own transaction together with
// that record, and the last step of the last migration from a version
// writes the next version and deletes the record in the same transaction,
// so an upgrade cut off anywhere (a crash, a full disk, an error) resumes
// at the step after the last one committed when the store is opened again.

var keyUpgrade = []byte{prefixMeta, 'u', 'p', 'g', 'r', 'a', 'd', 'e'}

// A Migration rewrites part of a store of format From into format From+1.
// Several migrations may share a From (say, one for the entries and one
// for a package's side records): they run in the order given.
type Migration struct {
	From uint32
	// What says what it changes, for the log.
	What string
	// Step does one bounded piece of the work in tx: from the cursor it
	// returned last (nil at first) it returns the cursor to go on from,
	// or nil when the migration is done. Its writes commit with the
	// cursor, so a step is never applied twice; it must keep to what
	// fits in one transaction (a few thousand keys).
	Step func(ctx context.Context, tx *UpgradeTx, cursor []byte) (next []byte, err error)
}

// Migrations returns the engine's registry of migrations, oldest first.
// From format 1 to 2 the engine's keys did not change (the side records
// did: a package with side records appends its own migrations).
func Migrations() []Migration {
	return []Migration{{From: 1, What: "engine keys: unchanged", Step: func(context.Context, *UpgradeTx, []byte) ([]byte, error) { return nil, nil }}}
}

// An UpgradeTx is the transaction a migration step runs in: raw keys and
// values, whatever their prefix.
type UpgradeTx struct{ txn *badger.Txn }

// Get returns a copy of the value of key, or nil, nil when there is none.
func (tx *UpgradeTx) Get(key []byte) ([]byte, error) {
	item, err := tx.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// Set writes key.
func (tx *UpgradeTx) Set(key, value []byte) error { return tx.txn.Set(key, value) }

// Delete removes key.
func (tx *UpgradeTx) Delete(key []byte) error { return tx.txn.Delete(key) }

// Scan calls fn with the keys under prefix after the key after (all of
// them when after is nil), in order, until fn returns false. Key and value
// are copies.
func (tx *UpgradeTx) Scan(prefix, after []byte, fn func(key, value []byte) (bool, error)) error {
	it := tx.txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	start := prefix
	if after != nil {
		start = append(bytes.Clone(after), 0)
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		more, err := fn(item.KeyCopy(nil), v)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func encodeVersion(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// FormatVersion returns the store's format version, which Open brought up
// to the version this code writes.
func (e *Engine) FormatVersion() uint32 { return e.format }

// checkFormat writes the format version into a new store, upgrades one of
// an earlier version and refuses one of a later version, or for another
// suffix.
func (e *Engine) checkFormat(opt Options) error {
	target := formatVersion
	if opt.format != 0 {
		target = opt.format
	}
	migs := opt.Migrations
	if migs == nil {
		migs = Migrations()
	}
	var version uint32
	var fresh bool
	// A store opened read-only on a full disk (readonly.go) is only read:
	// a new store cannot be made and an old one not upgraded there.
	update := e.db().Update
	if e.readOnly.Load() {
		update = e.db().View
	}
	err := update(func(txn *badger.Txn) error {
		item, err := txn.Get(keyFormat)
		if errors.Is(err, badger.ErrKeyNotFound) {
			if e.readOnly.Load() {
				return errors.New("directory: a new store cannot be made: the disk is full")
			}
			if _, err := txn.Get(keyUpgrade); err == nil {
				return errors.New("directory: the store has an upgrade in progress but no format version: damaged")
			}
			fresh, version = true, target
			if err := txn.Set(keyFormat, encodeVersion(target)); err != nil {
				return err
			}
			return txn.Set(keySuffix, []byte(e.nsuffix))
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if len(v) != 4 {
			return fmt.Errorf("directory: store format record %x is not a version", v)
		}
		version = binary.BigEndian.Uint32(v)
		if version > target {
			return fmt.Errorf("directory: the store is in format %d, newer than this binary's (%d): run the version of switchboard that wrote it, or a later one", version, target)
		}
		item, err = txn.Get(keySuffix)
		if err != nil {
			return fmt.Errorf("directory: store has no suffix record: %w", err)
		}
		s, _ := item.ValueCopy(nil)
		if string(s) != e.nsuffix {
			return fmt.Errorf("directory: store holds suffix %q, configured suffix is %q", s, e.nsuffix)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !fresh && version == target {
		// A later binary's upgrade cut off: this one would write the
		// store under the upgrade's feet.
		if ok, err := e.hasUpgradeRecord(); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("directory: an upgrade of the store from format %d to %d was cut off: open it with the binary that began it (a later one)", version, version+1)
			}
			return err
		}
	}
	if !fresh && version < target {
		if e.readOnly.Load() {
			return fmt.Errorf("directory: the store in format %d needs an upgrade to %d, which cannot run while the disk is full", version, target)
		}
		if version, err = e.upgrade(version, target, migs); err != nil {
			return err
		}
	}
	e.format = version
	return nil
}

// upgrade runs the migrations from version up to target, resuming an
// upgrade cut off before, and returns the version reached.
func (e *Engine) upgrade(version, target uint32, migs []Migration) (uint32, error) {
	for _, m := range migs {
		if m.From >= target {
			return version, fmt.Errorf("directory: migration %q from format %d is beyond this binary's format %d", m.What, m.From, target)
		}
	}
	start := time.Now()
	e.log.Info("upgrading the store's format", "from", version, "to", target)
	ctx := context.Background()
	for version < target {
		var group []Migration
		for _, m := range migs {
			if m.From == version {
				group = append(group, m)
			}
		}
		if len(group) == 0 {
			return version, fmt.Errorf("directory: no upgrade from store format %d; export with the version that wrote it and import", version)
		}
		idx, cursor, err := e.upgradeProgress(version)
		if err != nil {
			return version, err
		}
		if idx >= len(group) {
			return version, fmt.Errorf("directory: the upgrade record names migration %d from format %d, which has %d: damaged", idx, version, len(group))
		}
		if idx > 0 || cursor != nil {
			e.log.Info("resuming an interrupted upgrade", "from", version, "migration", group[idx].What)
		}
		for idx < len(group) {
			m := group[idx]
			if cursor == nil {
				e.log.Info("store migration", "from", version, "to", version+1, "what", m.What)
			}
			err := e.db().Update(func(txn *badger.Txn) error {
				next, err := m.Step(ctx, &UpgradeTx{txn}, cursor)
				if err != nil {
					return err
				}
				i := idx
				if len(next) == 0 {
					i++
				}
				if i == len(group) {
					if err := txn.Set(keyFormat, encodeVersion(version+1)); err != nil {
						return err
					}
					return txn.Delete(keyUpgrade)
				}
				return txn.Set(keyUpgrade, encodeUpgrade(version, i, next))
			})
			if err != nil {
				return version, fmt.Errorf("directory: upgrading the store from format %d (%s): %w; opening it again resumes", version, m.What, err)
			}
			// Read back what committed rather than track it twice.
			if idx, cursor, err = e.upgradeProgress(version); err != nil {
				return version, err
			}
			if idx == 0 && cursor == nil {
				break // the version moved on
			}
		}
		version++
	}
	e.log.Info("store format upgraded", "to", version, "took", time.Since(start).Round(time.Millisecond))
	return version, nil
}

func (e *Engine) hasUpgradeRecord() (bool, error) {
	var ok bool
	err := e.db().View(func(txn *badger.Txn) error {
		_, err := txn.Get(keyUpgrade)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// upgradeProgress reads the upgrade record: the index of the migration
// from version to run and its cursor (0, nil when none has begun).
func (e *Engine) upgradeProgress(version uint32) (int, []byte, error) {
	var rec []byte
	err := e.db().View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyUpgrade)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		rec, err = item.ValueCopy(nil)
		return err
	})
	if err != nil || rec == nil {
		return 0, nil, err
	}
	return decodeUpgrade(rec, version)
}

// encodeUpgrade returns the upgrade record: from version, migration
// index, cursor.
func encodeUpgrade(version uint32, idx int, cursor []byte) []byte {
	rec := binary.BigEndian.AppendUint32(nil, version)
	rec = binary.BigEndian.AppendUint16(rec, uint16(idx))
	return append(rec, cursor...)
}

// decodeUpgrade decodes an upgrade record of a store of format version.
func decodeUpgrade(rec []byte, version uint32) (int, []byte, error) {
	if len(rec) < 6 {
		return 0, nil, fmt.Errorf("directory: upgrade record %x is damaged", rec)
	}
	if from := binary.BigEndian.Uint32(rec); from != version {
		return 0, nil, fmt.Errorf("directory: upgrade record is for format %d, the store is in format %d: damaged", from, version)
	}
	cursor := rec[6:]
	if len(cursor) == 0 {
		cursor = nil
	}
	return int(binary.BigEndian.Uint16(rec[4:])), cursor, nil
}
