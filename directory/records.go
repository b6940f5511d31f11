package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/switchboard-ldap/switchboard/change"
)

// A Stamper gives every write a change sequence number (CSN), which the
// engine stores as the entry's entryCSN and hands to write hooks in
// Change.CSN. Package replication implements it with its hybrid logical
// clock.
//
// Every Stamp is matched by exactly one Settle once the transaction that
// used the CSN committed or was given up (a failed write, or an attempt
// retried after a conflict, which stamps again): the stamper can tell
// which CSNs are still in flight and so which CSN everything before has
// committed up to.
type Stamper interface {
	// Stamp returns a new CSN for a write transaction about to run.
	Stamp() change.CSN
	// Settle reports the end of the transaction that got csn: ch is the
	// committed change, nil when nothing was committed.
	Settle(csn change.CSN, ch *Change)
}

// Side records: keys under PrefixReplication hold state that package
// replication keeps in the same store as the entries (its one change log,
// the log's floors, the consumers' positions), so that it commits in
// the same transactions as the changes. The engine never interprets them;
// the layout after the prefix byte is package replication's (see its
// package documentation).
const PrefixReplication byte = 'r'

var errNotSide = errors.New("directory: side records must start with PrefixReplication")

func checkSide(key []byte) error {
	if len(key) == 0 || key[0] != PrefixReplication {
		return errNotSide
	}
	return nil
}

// CSN returns the CSN the transaction's write was stamped with (the zero
// CSN when the engine has no Stamper).
func (tx *Tx) CSN() change.CSN { return tx.csn }

// PutRecord writes a side record in the transaction.
func (tx *Tx) PutRecord(key, value []byte) error {
	if err := checkSide(key); err != nil {
		return err
	}
	tx.bytes += int64(len(key) + len(value))
	return tx.txn.Set(key, value)
}

// PutRecordMeta is PutRecord with a byte of metadata kept beside the
// value (Badger's user meta), which RecordKeys and RecordsSkip show
// without reading the value: a value of 1 KiB or more lives in the value
// log, and reading it is a file read and a checksum.
func (tx *Tx) PutRecordMeta(key, value []byte, meta byte) error {
	if err := checkSide(key); err != nil {
		return err
	}
	tx.bytes += int64(len(key) + len(value) + 1)
	return tx.txn.SetEntry(badger.NewEntry(key, value).WithMeta(meta))
}

// DeleteRecord removes a side record in the transaction.
func (tx *Tx) DeleteRecord(key []byte) error {
	if err := checkSide(key); err != nil {
		return err
	}
	tx.bytes += int64(len(key))
	return tx.txn.Delete(key)
}

// Record returns a copy of the value of a side record, or nil, nil if
// there is none.
func (v *View) Record(key []byte) ([]byte, error) {
	if err := checkSide(key); err != nil {
		return nil, err
	}
	item, err := v.txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return item.ValueCopy(nil)
}

// Records calls fn for the side records under prefix, in key order from
// start (inclusive; nil means the first), or in reverse key order from
// the last key under prefix when reverse is set (start is then ignored).
// The slices are valid only during the call. fn returns false to stop.
func (v *View) Records(prefix, start []byte, reverse bool, fn func(key, value []byte) (bool, error)) error {
	return v.RecordsSkip(prefix, start, reverse, nil, fn)
}

// RecordsSkip is Records that first asks skip, when not nil, about each
// record's key and meta byte (PutRecordMeta; 0 for a record written by
// PutRecord): a record it skips is not passed to fn, and its value is
// not read.
func (v *View) RecordsSkip(prefix, start []byte, reverse bool, skip func(key []byte, meta byte) bool, fn func(key, value []byte) (bool, error)) error {
	return v.records(prefix, start, reverse, func(item *badger.Item) (bool, error) {
		if skip != nil && skip(item.Key(), item.UserMeta()) {
			return true, nil
		}
		var more bool
		err := item.Value(func(val []byte) error {
			var err error
			more, err = fn(item.Key(), val)
			return err
		})
		return more, err
	})
}

// RecordKeys is Records for the keys and meta bytes alone: no value is
// read.
func (v *View) RecordKeys(prefix, start []byte, reverse bool, fn func(key []byte, meta byte) (bool, error)) error {
	return v.records(prefix, start, reverse, func(item *badger.Item) (bool, error) {
		return fn(item.Key(), item.UserMeta())
	})
}

func (v *View) records(prefix, start []byte, reverse bool, fn func(*badger.Item) (bool, error)) error {
	if err := checkSide(prefix); err != nil {
		return err
	}
	opt := badger.DefaultIteratorOptions
	opt.Prefix = prefix
	opt.Reverse = reverse
	opt.PrefetchValues = false
	it := v.txn.NewIterator(opt)
	defer it.Close()
	switch {
	case reverse:
		// Seek to just past the prefix: the largest key under it.
		end := append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
		it.Seek(end)
	case start != nil:
		it.Seek(start)
	default:
		it.Seek(prefix)
	}
	for ; it.ValidForPrefix(prefix); it.Next() {
		more, err := fn(it.Item())
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// View runs fn in a read transaction: one consistent snapshot of the
// entries and the side records.
func (e *Engine) View(fn func(v *View) error) error {
	return e.db().View(func(txn *badger.Txn) error {
		return fn(&View{e: e, txn: txn})
	})
}

// UpdateRecords runs fn in a write transaction that changes side records
// only: no hook runs and nothing is stamped. It retries on conflict. On a
// full disk the free-space guard refuses it with an error wrapping
// ErrDiskFull.
func (e *Engine) UpdateRecords(ctx context.Context, fn func(tx *Tx) error) error {
	if err := e.beginWrite(); err != nil {
		if errors.Is(err, ErrLoading) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrDiskFull, err)
	}
	defer e.endWrite()
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx := &Tx{View: View{e: e, txn: e.db().NewTransaction(true)}}
		err := fn(tx)
		if err == nil {
			// The free-space guard, as for entry writes (tx.go).
			if err = e.space.admit(tx.bytes); err != nil {
				tx.txn.Discard()
				return fmt.Errorf("%w: %v", ErrDiskFull, err)
			}
			err = tx.txn.Commit()
		} else {
			tx.txn.Discard()
		}
		if errors.Is(err, badger.ErrConflict) && i < 16 {
			continue
		}
		if err != nil {
			return fmt.Errorf("directory: side records: %w", err)
		}
		return nil
	}
}
