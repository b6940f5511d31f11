package directory

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"github.com/switchboard-ldap/switchboard/change"
)

// Multi-supplier replication (package replication) keeps a replicated
// state of the directory and writes the entries it resolves into the
// store. These are its entry points: they bypass the frontend, access
// control, the schema check, the Stamper and the write hooks, since the
// entries they write were checked (or resolved from checked changes) on
// the replica where each change was made, and they keep every attribute
// they are given, operational ones included.

// An Update is a write that a hook made inside another write's
// transaction (Tx.Update): a derived change, such as referential
// integrity removing a deleted member from its groups.
type Update struct {
	Before, After *Entry
}

// Updates returns the writes hooks made so far in the transaction with
// Tx.Update, in order.
func (tx *Tx) Updates() []Update { return tx.updates }

// NewID allocates an entry ID for ReplaceEntries.
func (e *Engine) NewID() (ID, error) { return e.nextID() }

// ForEachEntry calls fn for every stored entry, in ID order, from one
// snapshot. fn must not keep the entry past the call's return if it
// changes it.
func (e *Engine) ForEachEntry(fn func(*Entry) error) error {
	return e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixEntry}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			id := readID(item.Key()[1:])
			var en *Entry
			if err := item.Value(func(v []byte) error {
				var err error
				en, err = e.decodeEntry(id, v)
				return err
			}); err != nil {
				return err
			}
			if err := fn(en); err != nil {
				return err
			}
		}
		return nil
	})
}

// ForEachEntryParallel calls fn for every stored entry, from one
// snapshot, on one of GOMAXPROCS goroutines, which decode the entries
// too; worker (0 to GOMAXPROCS-1) names the goroutine, so that fn may
// keep state of its own per worker. The order is not set. The first error
// fn returns (or ctx's) ends the walk and is returned.
func (e *Engine) ForEachEntryParallel(ctx context.Context, fn func(worker int, en *Entry) error) error {
	return e.db().View(func(txn *badger.Txn) error {
		return e.forEachEntryIn(ctx, txn, runtime.GOMAXPROCS(0), fn)
	})
}

// forEachEntryIn is ForEachEntryParallel in txn with workers goroutines:
// one reads the records, in batches, and the workers decode them and call
// fn.
func (e *Engine) forEachEntryIn(ctx context.Context, txn *badger.Txn, workers int, fn func(worker int, en *Entry) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type batch struct {
		ids  []ID
		recs [][]byte
	}
	const batchSize = 256
	in := make(chan batch, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range in {
				for i, id := range b.ids {
					if ctx.Err() != nil {
						break // drained, so that the reader is not left blocked
					}
					en := &Entry{}
					var vals [][]byte
					err := e.decodeRecord(en, &vals, id, b.recs[i])
					if err != nil {
						err = fmt.Errorf("entry %d: %w", id, err)
					} else {
						err = fn(w, en)
					}
					if err != nil {
						cancel(err)
					}
				}
			}
		}()
	}
	read := func() error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixEntry}
		it := txn.NewIterator(opt)
		defer it.Close()
		var b batch
		send := func() bool {
			select {
			case in <- b:
				b = batch{}
				return true
			case <-ctx.Done():
				return false
			}
		}
		for it.Rewind(); it.Valid(); it.Next() {
			rec, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			b.ids, b.recs = append(b.ids, readID(it.Item().Key()[1:])), append(b.recs, rec)
			if len(b.ids) == batchSize && !send() {
				return nil
			}
		}
		if len(b.ids) > 0 {
			send()
		}
		return nil
	}
	if err := read(); err != nil {
		cancel(err)
	}
	close(in)
	wg.Wait()
	return context.Cause(ctx)
}

// ReplaceEntries writes, in one transaction, every entry of put in full
// (its ID, ParentID, DN and attributes as given; NDN is computed; an ID
// not stored yet creates the entry) and removes the entries of remove,
// maintaining the DN, child and equality indexes and the entry cache.
// Entries may swap DNs within one call. Nothing is stamped and no hook
// runs: this is how a replica stores what replication resolved.
func (e *Engine) ReplaceEntries(ctx context.Context, put []*Entry, remove []ID) error {
	return e.ReplaceEntriesLogged(ctx, put, remove, nil)
}

// A ChangeLog records changes made outside the write path, as it does
// through its Stamper and WriteHook for the changes that take it.
type ChangeLog interface {
	Stamper
	WriteHook
}

// ReplaceEntriesLogged is ReplaceEntries that tells log about every
// change it makes, so that change feeds (a sync provider, a persistent
// search) see them: each added, changed, renamed or removed entry is a
// Change stamped by log.Stamp and passed to log.OnChange in the
// transaction, and settled with log.Settle after it ended. A nil log
// records nothing.
func (e *Engine) ReplaceEntriesLogged(ctx context.Context, put []*Entry, remove []ID, log ChangeLog) error {
	return e.ReplaceEntriesWith(ctx, put, remove, log, nil)
}

// ReplaceEntriesWith is ReplaceEntriesLogged that also calls records, when
// not nil, in the same transaction after the changes, to write side
// records (Tx.PutRecord) that must commit together with them: an RFC 4533
// consumer's cookie, which may then never be ahead of or behind the
// entries it covers. put and remove may both be empty. On a full disk
// the free-space guard refuses it with an error wrapping ErrDiskFull.
func (e *Engine) ReplaceEntriesWith(ctx context.Context, put []*Entry, remove []ID, log ChangeLog, records func(tx *Tx) error) error {
	for _, en := range put {
		ndn, err := e.NormalizeDN(en.DN)
		if err != nil {
			return err
		}
		en.NDN = ndn
	}
	if err := e.beginWrite(); err != nil {
		return err
	}
	defer e.endWrite()
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx := &Tx{View: View{e: e, txn: e.db().NewTransaction(true)}, resolved: true}
		var changes []*Change
		if log != nil {
			changes = []*Change{}
		}
		err := e.replace(tx, put, remove, &changes)
		for _, ch := range changes {
			if err != nil {
				break
			}
			ch.CSN = log.Stamp()
			err = log.OnChange(ctx, tx, ch)
		}
		if err == nil && records != nil {
			err = records(tx)
		}
		if err == nil {
			// The free-space guard, as for entry writes (tx.go): a
			// consumer on a full disk is refused, retries later and keeps
			// its cookie, instead of faulting in Badger's mapped files.
			if err = e.space.admit(tx.bytes); err != nil {
				err = fmt.Errorf("%w: %v", ErrDiskFull, err)
			}
		}
		settle := func(committed bool) {
			for _, ch := range changes {
				if ch.CSN.IsZero() {
					continue
				}
				if committed {
					log.Settle(ch.CSN, ch)
				} else {
					log.Settle(ch.CSN, nil)
				}
			}
		}
		if err != nil {
			tx.txn.Discard()
			settle(false)
			return replaceError(err)
		}
		e.cache.writeBegin()
		e.trees.writeBegin(&tx.tree)
		err = tx.txn.Commit()
		e.cache.writeEnd(tx.touched, tx.goneDNs, tx.goneLists)
		e.trees.writeEnd(&tx.tree, err == nil)
		settle(err == nil)
		if errors.Is(err, badger.ErrConflict) && i < 16 {
			continue
		}
		if err != nil {
			return replaceError(err)
		}
		e.entries.Add(tx.added)
		e.writes.Add(1)
		return nil
	}
}

// ErrTxnTooBig is returned by ReplaceEntries when the changes do not fit
// in one transaction: the caller splits them.
var ErrTxnTooBig = errors.New("directory: too many changes for one transaction")

func replaceError(err error) error {
	switch {
	case errors.Is(err, badger.ErrTxnTooBig):
		return ErrTxnTooBig
	case errors.Is(err, ErrDiskFull):
		return err
	}
	return mapTxnError(err)
}

// replace makes the changes of ReplaceEntries in tx and, when *changes
// is not nil, lists them there.
func (e *Engine) replace(tx *Tx, put []*Entry, remove []ID, changes *[]*Change) error {
	note := func(ch *Change) {
		if *changes != nil {
			*changes = append(*changes, ch)
		}
	}
	// First take every changing entry out of the indexes, so that an
	// entry may take a DN another one leaves in the same call.
	for _, id := range remove {
		old, err := e.getEntry(tx.txn, id)
		if err != nil {
			return err
		}
		if old == nil {
			continue
		}
		if err := e.unindex(tx, old); err != nil {
			return err
		}
		if err := tx.txn.Delete(entryKey(id)); err != nil {
			return err
		}
		tx.added--
		note(&Change{Kind: change.Delete, Before: old})
	}
	// An entry that keeps its DN and parent is rewritten in place: only
	// the index keys its change adds or removes are written (a modify of
	// one value does not rewrite every key of the entry, nor drop every
	// posting list it is in from the cache). One that moves leaves the
	// indexes first and is put back in full below.
	existed := make([]bool, len(put))
	inPlace := make([]*Entry, len(put))
	for i, en := range put {
		old, err := e.getEntry(tx.txn, en.ID)
		if err != nil {
			return err
		}
		switch {
		case old == nil:
			note(&Change{Kind: change.Add, After: en})
			continue
		case old.NDN != en.NDN:
			note(&Change{Kind: change.ModRDN, Before: old, After: en,
				Renamed: []Rename{{ID: en.ID, OldDN: old.DN, OldNDN: old.NDN, NewDN: en.DN, NewNDN: en.NDN}}})
		default:
			note(&Change{Kind: change.Modify, Before: old, After: en})
		}
		existed[i] = true
		if old.NDN == en.NDN && old.ParentID == en.ParentID {
			inPlace[i] = old
			continue
		}
		if err := e.unindex(tx, old); err != nil {
			return err
		}
	}
	for i, en := range put {
		if err := e.putEntry(tx, inPlace[i], en); err != nil {
			return err
		}
		if !existed[i] {
			tx.added++
		}
	}
	return nil
}

// unindex removes en's index, child and DN keys (the DN key only while it
// still names en: leaveDN).
func (e *Engine) unindex(tx *Tx, en *Entry) error {
	tx.touched = append(tx.touched, en.ID)
	for k := range e.indexKeys(e.indexes, en) {
		if err := tx.txn.Delete([]byte(k)); err != nil {
			return err
		}
		tx.listChanged(k)
	}
	if err := tx.txn.Delete(childKey(en.ParentID, en.ID)); err != nil {
		return err
	}
	return e.leaveDN(tx, en.NDN, en.ID)
}
