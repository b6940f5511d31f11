package directory

import (
	"context"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Loader bulk-loads entries, for the offline import: the same checks as
// Add, but the writes go through a Badger WriteBatch instead of one
// transaction per entry, with no conflict detection and no limit on the
// size of one entry's index changes (a group of 100,000 members is one
// entry with 100,000 index keys). It must be the only writer: `switchboard
// import` loads into a new store that no server has open, and makes it
// visible only when the whole file loaded (all or nothing). Write hooks do
// not run; the overlays act on deletes and renames, never on adds.
type Loader struct {
	e     *Engine
	wb    *badger.WriteBatch
	ids   map[string]ID // normalised DN -> ID of the entries loaded so far
	added int64
}

// NewLoader starts a bulk load.
func (e *Engine) NewLoader() *Loader {
	return &Loader{e: e, wb: e.db.NewWriteBatch(), ids: map[string]ID{}}
}

// Add loads one entry. Its parent must be loaded first or already stored.
// Operational attributes in the input (entryUUID, timestamps) are kept.
func (l *Loader) Add(ctx context.Context, dn string, attrs []Attr) error {
	e := l.e
	parsed, ndn, attrs, err := e.prepareAdd(dn, attrs, WriteOptions{KeepOperational: true})
	if err != nil {
		return err
	}
	if !e.inSuffix(ndn) {
		return noSuchObject("")
	}
	exists, err := l.lookup(ndn)
	if err != nil {
		return err
	}
	if exists != 0 {
		return &ldap.Error{Code: ldap.EntryAlreadyExists, Message: "entry already exists"}
	}
	var parentID ID
	if ndn != e.nsuffix {
		pn, err := e.schema.NormalizeDN(parsed.Parent())
		if err != nil {
			return err
		}
		if parentID, err = l.lookup(pn); err != nil {
			return err
		}
		if parentID == 0 {
			return noSuchObject("")
		}
	}
	id, err := e.nextID()
	if err != nil {
		return err
	}
	en := &Entry{ID: id, ParentID: parentID, DN: parsed.String(), NDN: ndn, Attrs: attrs}
	e.stampCreate(ctx, en, true)
	if err := l.wb.Set(entryKey(id), en.marshal(nil)); err != nil {
		return err
	}
	if err := l.wb.Set(dnKey(ndn), appendID(nil, id)); err != nil {
		return err
	}
	if err := l.wb.Set(childKey(parentID, id), nil); err != nil {
		return err
	}
	for k := range e.indexKeys(e.indexes, en) {
		if err := l.wb.Set([]byte(k), nil); err != nil {
			return err
		}
	}
	l.ids[ndn] = id
	l.added++
	return nil
}

func (l *Loader) lookup(ndn string) (ID, error) {
	if id, ok := l.ids[ndn]; ok {
		return id, nil
	}
	var id ID
	err := l.e.db.View(func(txn *badger.Txn) error {
		var err error
		id, err = lookupDN(txn, ndn)
		return err
	})
	return id, err
}

// Finish writes what is still buffered and syncs the store.
func (l *Loader) Finish() error {
	if err := l.wb.Flush(); err != nil {
		return fmt.Errorf("directory: bulk load: %w", err)
	}
	l.e.entries.Add(l.added)
	return l.e.db.Sync()
}

// Cancel drops what is still buffered.
func (l *Loader) Cancel() { l.wb.Cancel() }
