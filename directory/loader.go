package directory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/ristretto/v2/z"

	"github.com/switchboard-ldap/switchboard/change"
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
// Load spreads the work over the CPUs: workers parse, normalise and check
// entries and compute their index keys, in batches; one goroutine commits
// them in input order (duplicate and parent checks, keys into the runs),
// while full runs are sorted and written in the background. IDs follow
// the input order, so the entry records arrive in key order and bypass
// the sort. In Finish, the merge and the StreamWriter's decoding run on
// separate goroutines, and Badger compresses tables on its own.
//
// Write hooks do not run: the overlays act on deletes and renames, never on
// adds.
//
// A load owns the store from NewLoader until Finish or Cancel returns:
// StreamWriter drops the store's tables and writes new ones, and what the
// store holds besides the load (metadata, side records) is read once and
// carried over. So NewLoader waits for the writes in progress, every
// other write is refused meanwhile (ErrLoading), and the engine's own
// background work (value log GC, cache warming, index builds) is stopped
// for good: the engine should be closed and opened again after a load.
// Reads must not run during Finish either (Badger drops its tables under
// them); nothing serves from a store being loaded.
//
// A crash during Finish leaves a store that is neither the old one nor
// the loaded one: Finish writes a mark file (loadMark) into the store's
// directory before it drops the old tables and removes it once the new
// ones are synced, and Open empties a store that still has the mark.
type Loader struct {
	e        *Engine
	ids      map[string]ID // normalised DN -> ID of the entries loaded so far
	nextID   ID
	added    int64
	runs     *runSorter
	scratch  []byte              // the entry record being committed
	omit     map[string]struct{} // side records of the store not carried over
	prepared bool                // Finish dropped the old tables
	ended    bool                // Finish or Cancel ran
	resolved bool                // Resolved: entries stored as given

	// crashAt, set only by tests, runs at the named points of Finish
	// ("prepared", "streaming" after each write to the StreamWriter,
	// "written"): where a test kills the process.
	crashAt func(point string)
}

// ErrNotEmpty is returned by NewLoader for a store that holds entries.
var ErrNotEmpty = errors.New("directory: bulk load needs an empty store")

// ErrLoading refuses a write while a bulk load owns the store.
var ErrLoading = &ldap.Error{Code: ldap.Busy, Message: "the store is being bulk loaded (an import or a replica join); it takes no other write until that is done"}

// loadMark names the file Finish keeps in the store directory while the
// store's tables are replaced: a store that has it was left by a load
// that did not finish, and Open empties it.
const loadMark = "BULK-LOAD"

// runBytes bounds the memory of one sorted run.
const runBytes = 64 << 20

// NewLoader starts a bulk load into the engine's store, which must be
// empty. tmpDir receives the sorted runs (it must have room for about the
// size of the loaded store).
func (e *Engine) NewLoader(tmpDir string) (*Loader, error) {
	if err := e.writable(); err != nil {
		return nil, err
	}
	if !e.loading.CompareAndSwap(false, true) {
		return nil, ErrLoading
	}
	// Writes that began before the flag was set end first; the later
	// ones see it and are refused (beginWrite counts, then looks).
	for e.writers.Load() != 0 {
		time.Sleep(time.Millisecond)
	}
	if e.entries.Load() != 0 {
		e.loading.Store(false)
		return nil, ErrNotEmpty
	}
	// The engine's background writers and readers stop for good.
	e.stopMaintenance()
	e.stopWarming()
	e.stopIndexBuild()
	runs, err := newRunSorter(tmpDir, runBytes)
	if err != nil {
		e.loading.Store(false)
		return nil, err
	}
	return &Loader{e: e, ids: map[string]ID{}, nextID: 1, runs: runs, omit: map[string]struct{}{}}, nil
}

// beginWrite admits a write transaction, or says why the store takes
// none now (a bulk load, a full disk). An admitted write calls endWrite
// once it committed or failed.
func (e *Engine) beginWrite() error {
	e.writers.Add(1)
	if err := e.writable(); err != nil {
		e.writers.Add(-1)
		return err
	}
	return nil
}

func (e *Engine) endWrite() { e.writers.Add(-1) }

// Omit leaves a side record the store holds out of the load: Finish does
// not carry it over, so that it is gone once, and only once, the load is
// complete (a marker of the work the load completes).
func (l *Loader) Omit(key []byte) error {
	if err := checkSide(key); err != nil {
		return err
	}
	l.omit[string(key)] = struct{}{}
	return nil
}

// Resolved makes the load store its entries as Engine.ReplaceEntries
// does what replication resolved: as given, their attribute names
// resolved to the schema's, but without the checks of an add (value
// syntax, repeated values, the schema's rules) and without hashing
// passwords. The entries were checked where they were written, and what
// a merge makes of concurrent changes must load as a replica would store
// it (a join that refused it would never complete). It saves about a
// third of the loader's preparation. Call it before Load or Add.
func (l *Loader) Resolved() { l.resolved = true }

// AddRecord loads a side record (see PrefixReplication) with the entries,
// written by Finish with the side records the store holds already (which
// Finish keeps). Its key must be new: neither in the store nor given
// before. It must not run concurrently with Add or Load.
func (l *Loader) AddRecord(key, value []byte) error {
	if err := checkSide(key); err != nil {
		return err
	}
	return l.runs.add(key, value)
}

// Add loads one entry. Its parent must have been loaded before it.
// Operational attributes in the input (entryUUID, timestamps) are kept.
// An entry that fails leaves the load as it was.
func (l *Loader) Add(ctx context.Context, dn string, attrs []Attr) error {
	it := loadItem{dn: dn, attrs: attrs, id: l.nextID}
	l.nextID++
	l.prepare(ctx, &it)
	return l.commit(&it)
}

// loadItem is one entry on its way through the loader: prepare, which
// any goroutine may run, parses, normalises and checks it and computes its
// index keys; commit, which runs in input order, resolves its parent and
// adds its keys to the runs.
type loadItem struct {
	dn    string
	attrs []Attr
	line  int
	id    ID

	ndn    string
	parent string // the parent's normalised DN; "" for the suffix entry
	format byte   // the entry record's format byte (encodeEntryTail)
	tail   []byte // the entry record after the parent ID
	keys   [][]byte
	err    error
}

func (l *Loader) prepare(ctx context.Context, it *loadItem) {
	e := l.e
	var parsed ldap.DN
	var ndn string
	var attrs []Attr
	var err error
	if l.resolved {
		parsed, ndn, attrs, err = e.prepareResolved(it.dn, it.attrs)
	} else {
		parsed, ndn, attrs, err = e.prepareAdd(ctx, it.dn, it.attrs, WriteOptions{KeepOperational: true})
	}
	if err != nil {
		it.err = err
		return
	}
	if !e.inSuffix(ndn) {
		it.err = noSuchObject("")
		return
	}
	if ndn != e.nsuffix {
		if it.parent, err = e.schema.NormalizeDN(parsed.Parent()); err != nil {
			it.err = err
			return
		}
	}
	en := &Entry{ID: it.id, DN: parsed.String(), NDN: ndn, Attrs: attrs}
	e.stampCreate(ctx, en, true, change.CSN{})
	it.ndn = ndn
	if it.format, it.tail, err = e.encodeEntryTail(it.tail[:0], en); err != nil {
		it.err = err
		return
	}
	it.keys = e.appendIndexKeys(it.keys[:0], e.indexes, en, nil)
}

// prepareResolved is prepareAdd for a load of resolved entries
// (Loader.Resolved): the DN normalised and the attribute names resolved,
// values of one attribute given twice under different names merged,
// nothing checked.
func (e *Engine) prepareResolved(dn string, in []Attr) (ldap.DN, string, []Attr, error) {
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, "", nil, err
	}
	out := make([]Attr, 0, len(in))
	for _, a := range in {
		_, name, err := e.resolveName(a.Name)
		if err != nil {
			return nil, "", nil, err
		}
		if len(a.Values) == 0 {
			continue
		}
		i := slices.IndexFunc(out, func(o Attr) bool { return strings.EqualFold(o.Name, name) })
		if i < 0 {
			out = append(out, Attr{Name: name, Values: a.Values})
		} else {
			out[i].Values = append(slices.Clip(out[i].Values), a.Values...)
		}
	}
	return parsed, ndn, out, nil
}

func (l *Loader) commit(it *loadItem) error {
	if it.err != nil {
		return it.err
	}
	if _, dup := l.ids[it.ndn]; dup {
		return &ldap.Error{Code: ldap.EntryAlreadyExists, Message: "entry already exists"}
	}
	var parentID ID
	if it.parent != "" {
		var ok bool
		if parentID, ok = l.ids[it.parent]; !ok {
			return &ldap.Error{Code: ldap.NoSuchObject, Message: "parent entry not loaded before it"}
		}
	}
	id := it.id
	rec := append(l.scratch[:0], it.format)
	rec = binary.AppendUvarint(rec, uint64(parentID))
	rec = append(rec, it.tail...)
	l.scratch = rec
	if err := l.runs.addSorted(entryKey(id), rec); err != nil {
		return err
	}
	if err := l.runs.add(dnKey(it.ndn), appendID(nil, id)); err != nil {
		return err
	}
	if err := l.runs.add(childKey(parentID, id), nil); err != nil {
		return err
	}
	for _, k := range it.keys {
		if err := l.runs.add(k, nil); err != nil {
			return err
		}
	}
	l.ids[it.ndn] = id
	l.added++
	return nil
}

// LoadRecord is one entry of Load's input.
type LoadRecord struct {
	DN    string
	Attrs []Attr
	Line  int // where the record starts in the input, for errors
}

// LoadError is the error of the entry that stopped a Load.
type LoadError struct {
	Line int
	DN   string
	Err  error
}

func (e *LoadError) Error() string {
	return fmt.Sprintf("line %d: dn %q: %v", e.Line, e.DN, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// loadBatch is the unit of work of Load: a few hundred entries, so that
// the hand-offs between goroutines cost little per entry.
type loadBatch struct {
	items []loadItem
	done  chan struct{} // closed when every item is prepared
}

const loadBatchSize = 256

// Load adds the entries that records yields, in order, as Add would, and
// returns how many it added. Up to workers goroutines prepare entries
// (parse, normalise, check, compute index keys) while one commits them in
// input order; the calling goroutine runs records. The first entry that
// fails, in input order, stops the load with a *LoadError; records' own
// error stops it as is. progress, if not nil, is called from time to time
// with the number of entries added so far.
func (l *Loader) Load(ctx context.Context, records iter.Seq2[LoadRecord, error], workers int, progress func(int)) (int, error) {
	if workers < 1 {
		workers = 1
	}
	work := make(chan *loadBatch, workers)
	order := make(chan *loadBatch, 2*workers)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				for i := range b.items {
					l.prepare(ctx, &b.items[i])
				}
				close(b.done)
			}
		})
	}
	var (
		n         int
		commitErr error
		committed = make(chan struct{})
		free      = make(chan *loadBatch, 3*workers+2) // batches to reuse
	)
	go func() {
		defer close(committed)
		for b := range order {
			<-b.done
			if commitErr == nil {
				for i := range b.items {
					it := &b.items[i]
					if err := l.commit(it); err != nil {
						commitErr = &LoadError{Line: it.line, DN: it.dn, Err: err}
						close(stop)
						break
					}
					n++
				}
				if progress != nil && commitErr == nil {
					progress(n)
				}
			}
			select {
			case free <- b:
			default:
			}
		}
	}()

	var readErr error
	var b *loadBatch
	send := func() bool {
		select {
		case order <- b:
		case <-stop:
			return false
		}
		work <- b
		b = nil
		return true
	}
	stopped := false
	for rec, err := range records {
		if err != nil {
			readErr = err
			break
		}
		if err := ctx.Err(); err != nil {
			readErr = err
			break
		}
		if b == nil {
			select {
			case b = <-free:
				b.items = b.items[:0]
			default:
				b = &loadBatch{items: make([]loadItem, 0, loadBatchSize)}
			}
			b.done = make(chan struct{})
		}
		// Reuse the buffers of the item's earlier life, if any.
		if len(b.items) < cap(b.items) {
			b.items = b.items[:len(b.items)+1]
		} else {
			b.items = append(b.items, loadItem{})
		}
		it := &b.items[len(b.items)-1]
		*it = loadItem{dn: rec.DN, attrs: rec.Attrs, line: rec.Line, id: l.nextID, tail: it.tail[:0], keys: it.keys[:0]}
		l.nextID++
		if len(b.items) == loadBatchSize && !send() {
			stopped = true
			break
		}
	}
	if b != nil && len(b.items) > 0 && !stopped {
		send()
	}
	close(work)
	close(order)
	wg.Wait()
	<-committed
	if commitErr != nil {
		return n, commitErr
	}
	return n, readErr
}

// Finish merges the runs into the store and makes the entries visible.
// If it fails after it began replacing the store's tables, the engine
// goes on refusing writes, and the store is emptied when next opened.
func (l *Loader) Finish() error {
	if l.ended {
		return errors.New("directory: bulk load: Finish after Finish or Cancel")
	}
	l.ended = true
	defer l.runs.close()
	err := l.finish()
	if err == nil || !l.prepared {
		l.e.loading.Store(false)
	}
	return err
}

func (l *Loader) finish() error {
	e := l.e
	l.ids = nil // not needed any more, and large
	// Carry over the metadata the store was opened with (format, suffix,
	// indexes) and its side records; StreamWriter starts from an empty
	// tree. The ID sequence restarts after the last loaded ID.
	meta := map[string][]byte{}
	err := e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixMeta}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if bytes.HasPrefix(it.Item().Key(), keyDisplaced) {
				continue // of entries the load replaced
			}
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
	err = e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{PrefixReplication}
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			if _, ok := l.omit[string(item.Key())]; ok {
				continue
			}
			if err := item.Value(func(v []byte) error { return l.runs.add(item.Key(), v) }); err != nil {
				return err
			}
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

	dir := e.db().Opts().Dir
	onDisk := !e.db().Opts().InMemory && dir != ""
	if onDisk {
		if err := writeSynced(dir, loadMark, nil); err != nil {
			return fmt.Errorf("directory: bulk load: %w", err)
		}
	}
	l.prepared = true
	sw := e.db().NewStreamWriter()
	if err := sw.Prepare(); err != nil {
		return fmt.Errorf("directory: bulk load: %w", err)
	}
	l.crash("prepared")
	// The merge fills one buffer while StreamWriter.Write, on another
	// goroutine, takes the previous one.
	const nbuf = 2
	free := make(chan *z.Buffer, nbuf)
	for range nbuf {
		b := z.NewBuffer(8<<20, "switchboard.import")
		defer b.Release()
		free <- b
	}
	full := make(chan *z.Buffer)
	written := make(chan error, 1)
	go func() {
		var err error
		for b := range full {
			if err == nil {
				err = sw.Write(b)
				l.crash("streaming")
			}
			b.Reset()
			free <- b
		}
		written <- err
	}()
	buf := <-free
	var prev []byte
	err = l.runs.merge(func(k, v []byte) error {
		if prev != nil && string(prev) == string(k) {
			return nil // the same index key from two values of one entry
		}
		prev = append(prev[:0], k...)
		appendKV(buf.SliceAllocate(kvSize(k, v))[:0], k, v)
		if buf.LenNoPadding() > 4<<20 {
			full <- buf
			buf = <-free
		}
		return nil
	})
	full <- buf
	close(full)
	if werr := <-written; err == nil {
		err = werr
	}
	if err == nil {
		l.crash("written")
		err = sw.Flush()
	}
	if err != nil {
		sw.Cancel() // lets Badger take writes again; this engine refuses them
		return fmt.Errorf("directory: bulk load: %w", err)
	}
	if e.ids, err = e.db().GetSequence(keyIDSeq, 1000); err != nil {
		return err
	}
	if err := e.db().Sync(); err != nil {
		return err
	}
	e.entries.Add(l.added)
	if onDisk {
		if err := removeSynced(dir, loadMark); err != nil {
			return fmt.Errorf("directory: bulk load: %w", err)
		}
	}
	return nil
}

func (l *Loader) crash(point string) {
	if l.crashAt != nil {
		l.crashAt(point)
	}
}

// appendKV appends the protocol buffers encoding of Badger's pb.KV message
// with key k, value v and version 1, which is what StreamWriter.Write
// reads (badger.KVToBuffer writes the same bytes, through reflection and
// an allocation per pair): field 1 key and field 2 value as
// length-delimited bytes, omitted when empty as proto3 does, and field 4
// version as a varint.
func appendKV(b, k, v []byte) []byte {
	const bytesType, varintType = 2, 0 // protobuf wire types
	if len(k) > 0 {
		b = append(b, 1<<3|bytesType)
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	if len(v) > 0 {
		b = append(b, 2<<3|bytesType)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return append(b, 4<<3+varintType, 1)
}

// kvSize is the length of appendKV's encoding.
func kvSize(k, v []byte) int {
	n := 2
	if len(k) > 0 {
		n += 1 + uvarintLen(uint64(len(k))) + len(k)
	}
	if len(v) > 0 {
		n += 1 + uvarintLen(uint64(len(v))) + len(v)
	}
	return n
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Cancel discards the load, if Finish did not run.
func (l *Loader) Cancel() {
	if l.ended {
		return
	}
	l.ended = true
	l.runs.close()
	l.e.loading.Store(false)
}

func putUint64(b []byte, v uint64) {
	for i := 7; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
}
