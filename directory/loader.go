package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Loader bulk-loads entries into a new, empty store, for the offline
// import (what slapadd -q is to slapd). It applies the same checks as Add,
// but instead of a transaction per entry it gathers every key the load
// produces (entries, DN and child index, attribute indexes), sorts them in
// runs of bounded size spilled to temporary files, and merges the runs
// into Badger's StreamWriter, which writes the LSM tree's tables directly,
// with no memtable inserts and no compaction. Nothing is visible until
// Finish; a load that fails leaves the store empty.
//
// Write hooks do not run: the overlays act on deletes and renames, never on
// adds.
type Loader struct {
	e      *Engine
	ids    map[string]ID // normalised DN -> ID of the entries loaded so far
	nextID ID
	added  int64
	runs   *runSorter
}

// ErrNotEmpty is returned by NewLoader for a store that holds entries.
var ErrNotEmpty = errors.New("directory: bulk load needs an empty store")

// runBytes bounds the memory of one sorted run.
const runBytes = 64 << 20

// NewLoader starts a bulk load into the engine's store, which must be
// empty. tmpDir receives the sorted runs (it must have room for about the
// size of the loaded store).
func (e *Engine) NewLoader(tmpDir string) (*Loader, error) {
	if e.entries.Load() != 0 {
		return nil, ErrNotEmpty
	}
	runs, err := newRunSorter(tmpDir, runBytes)
	if err != nil {
		return nil, err
	}
	return &Loader{e: e, ids: map[string]ID{}, nextID: 1, runs: runs}, nil
}

// Add loads one entry. Its parent must have been loaded before it.
// Operational attributes in the input (entryUUID, timestamps) are kept.
func (l *Loader) Add(ctx context.Context, dn string, attrs []Attr) error {
	e := l.e
	parsed, ndn, attrs, err := e.prepareAdd(ctx, dn, attrs, WriteOptions{KeepOperational: true})
	if err != nil {
		return err
	}
	if !e.inSuffix(ndn) {
		return noSuchObject("")
	}
	if _, dup := l.ids[ndn]; dup {
		return &ldap.Error{Code: ldap.EntryAlreadyExists, Message: "entry already exists"}
	}
	var parentID ID
	if ndn != e.nsuffix {
		pn, err := e.schema.NormalizeDN(parsed.Parent())
		if err != nil {
			return err
		}
		var ok bool
		if parentID, ok = l.ids[pn]; !ok {
			return &ldap.Error{Code: ldap.NoSuchObject, Message: "parent entry not loaded before it"}
		}
	}
	id := l.nextID
	l.nextID++
	en := &Entry{ID: id, ParentID: parentID, DN: parsed.String(), NDN: ndn, Attrs: attrs}
	e.stampCreate(ctx, en, true, "")
	rec, err := e.encodeEntry(en)
	if err != nil {
		return err
	}
	if err := l.runs.add(entryKey(id), rec); err != nil {
		return err
	}
	if err := l.runs.add(dnKey(ndn), appendID(nil, id)); err != nil {
		return err
	}
	if err := l.runs.add(childKey(parentID, id), nil); err != nil {
		return err
	}
	for k := range e.indexKeys(e.indexes, en) {
		if err := l.runs.add([]byte(k), nil); err != nil {
			return err
		}
	}
	l.ids[ndn] = id
	l.added++
	return nil
}

// Finish merges the runs into the store and makes the entries visible.
func (l *Loader) Finish() error {
	defer l.runs.close()
	e := l.e
	// Carry over the metadata the store was opened with (format, suffix,
	// indexes); StreamWriter starts from an empty tree. The ID sequence
	// restarts after the last loaded ID.
	meta := map[string][]byte{}
	err := e.db.View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixMeta}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			meta[string(it.Item().KeyCopy(nil))] = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	if e.ids != nil {
		e.ids.Release()
		e.ids = nil
	}
	seq := make([]byte, 8)
	putUint64(seq, uint64(l.nextID))
	meta[string(keyIDSeq)] = seq
	for k, v := range meta {
		if err := l.runs.add([]byte(k), v); err != nil {
			return err
		}
	}

	sw := e.db.NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return fmt.Errorf("directory: bulk load: %w", err)
	}
	buf := z.NewBuffer(32<<20, "switchboard.import")
	defer buf.Release()
	var prev []byte
	err = l.runs.merge(func(k, v []byte) error {
		if prev != nil && string(prev) == string(k) {
			return nil // the same index key from two values of one entry
		}
		prev = append(prev[:0], k...)
		badger.KVToBuffer(&pb.KV{Key: k, Value: v, Version: 1}, buf)
		if buf.LenNoPadding() > 16<<20 {
			if err := sw.Write(buf); err != nil {
				return err
			}
			buf.Reset()
		}
		return nil
	})
	if err == nil {
		err = sw.Write(buf)
	}
	if err == nil {
		err = sw.Flush()
	}
	if err != nil {
		return fmt.Errorf("directory: bulk load: %w", err)
	}
	if e.ids, err = e.db.GetSequence(keyIDSeq, 1000); err != nil {
		return err
	}
	e.entries.Add(l.added)
	return e.db.Sync()
}

// Cancel discards the load.
func (l *Loader) Cancel() { l.runs.close() }

func putUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
