package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

func mustAttr(s *schema.Schema, name string) *schema.AttributeType {
	at, _ := s.Attribute(name)
	return at
}

// DefaultIndexes are the indexes kept unless the configuration names
// others: what address-book clients, Keycloak, SSSD and group-aware
// applications filter on, and displayName, by which Outlook sorts its
// address-book browse (an indexed sort key needs no entry reads: see
// sortindex.go). memberOf is indexed so that the
// `(memberOf=cn=admins,...)` filters of Gitea and Nextcloud stay cheap;
// the timestamps so that Keycloak's `(modifyTimestamp>=T)` sync is.
// memberOf, computed by the memberof overlay, needs no index: the planner
// asks the overlay, which reads the member index.
func DefaultIndexes() map[string][]string {
	return map[string][]string{
		"objectClass":     {"eq"},
		"uid":             {"eq", "sub"},
		"cn":              {"eq", "sub", "approx"},
		"sn":              {"eq", "sub", "approx"},
		"givenName":       {"eq", "sub", "approx"},
		"displayName":     {"eq"},
		"mail":            {"pres", "eq", "sub"},
		"member":          {"eq"},
		"uniqueMember":    {"eq"},
		"entryUUID":       {"eq"},
		"uidNumber":       {"eq", "ord"},
		"gidNumber":       {"eq", "ord"},
		"createTimestamp": {"ord"},
		"modifyTimestamp": {"ord"},
	}
}

// Options configure an Engine.
type Options struct {
	// Dir holds the Badger files. Ignored when InMemory is set.
	Dir      string
	InMemory bool
	// MustExist refuses a Dir that holds no store (ErrNoStore) instead of
	// creating one: for offline tools, where a mistyped directory must
	// not read as an empty directory.
	MustExist bool
	// Suffix is the naming context this engine holds, e.g. dc=example,dc=com.
	Suffix string
	Schema *schema.Schema
	Logger *slog.Logger
	// Indexes maps attribute names to index kinds (pres, eq, sub, ord,
	// approx); nil means DefaultIndexes().
	Indexes map[string][]string
	// UnindexedLimit refuses searches that would check more than this many
	// entries without an index (see SearchRequest.Unchecked); 0: no limit.
	UnindexedLimit int
	// Hooks run inside every write transaction, in order (overlays).
	Hooks []WriteHook
	// Stamper gives every write its CSN (entryCSN); nil: writes carry
	// none. Package replication provides it. It also sequences the
	// post-commit stream (Engine.Changes).
	Stamper Stamper
	// ChangeQueue bounds each subscriber's queue of committed changes
	// (Engine.Changes); zero means DefaultChangeQueue.
	ChangeQueue int
	// Virtual attributes are computed at read time (overlays).
	Virtual []VirtualAttribute
	// NoSync turns off fsync on commit. Only for tests and bulk import:
	// with it an acknowledged write can be lost on power failure.
	NoSync bool
	// Now returns the current time; nil means time.Now. Tests pin it.
	Now func() time.Time
	// CacheBytes sizes Badger's block cache (default 64 MiB), which only
	// encrypted stores and stores with compressed tables use.
	CacheBytes int64
	// EntryCacheBytes bounds the cache of entry records (default 64 MiB,
	// about 46,000 typical person entries, the server's default too:
	// entry_cache_mb; negative turns it off, and with it the DN and
	// posting-list caches).
	EntryCacheBytes int64
	// BulkLoad opens the store for a Loader: smaller tables, so that the
	// tables the bulk load writes to the bottom level are 4 MiB, not 64
	// MiB (Badger's StreamWriter holds up to 16 of them in memory at
	// once), compressed with Snappy rather than Zstandard (less CPU and
	// memory while writing; the store is about a quarter larger until
	// compaction rewrites the tables), and a small memtable, which the
	// load does not use. The levels stay as a server opens them, so that
	// the tables land in the last level and the first start does not
	// compact the whole store down.
	BulkLoad bool
	// Passwords hashes cleartext userPassword values on write and verifies
	// simple binds; nil means password.NewHasher(password.Config{}):
	// Argon2id, a pool of half the CPUs working at most 30% of the time.
	Passwords *password.Hasher
	// RehashOnBind re-hashes a userPassword value in the Hasher's current
	// scheme and parameters after a successful bind that verified an
	// older one (see Engine.Authenticate).
	RehashOnBind bool
	// EncryptionKey, 16, 24 or 32 bytes, encrypts the store at rest with
	// AES (Badger's encryption, see encryption.go); nil leaves it in
	// clear. A store is opened with the key it was created with, or with
	// the one RekeyStore last gave it.
	EncryptionKey []byte
	// SealedAttributes are sealed value by value under a key derived from
	// EncryptionKey, which they need (seal.go).
	SealedAttributes []string
	// DataKeyRotation is the age at which Badger starts a new data key
	// (default 10 days).
	DataKeyRotation time.Duration
	// DiskReserve is the free space, in bytes, below which writes are
	// refused with unwillingToPerform (diskspace.go); 0 means
	// DefaultDiskReserve, a negative value turns the guard off.
	DiskReserve int64
	// ValueLogGCInterval is how often the value log is garbage-collected
	// (maintenance.go); 0 means DefaultValueLogGCInterval, a negative
	// value never.
	ValueLogGCInterval time.Duration
	// Migrations upgrade a store of an earlier format (format.go); nil
	// means Migrations(). A package with side records appends its own.
	Migrations []Migration
	// ReadOnlyCopies are subtrees copied from other directories, where
	// local writes are refused (copies.go).
	ReadOnlyCopies []ReadOnlyCopy

	// tune adjusts Badger's options last (tests).
	tune func(badger.Options) badger.Options
	// format replaces formatVersion as the version to write (tests).
	format uint32
	// probe replaces statStore in the free-space guard (tests).
	probe diskProbe
}

// Engine is the Badger-backed directory. It implements Backend.
type Engine struct {
	format uint32 // the store's format version (format.go)
	// store is the open Badger store; it changes once at most, when a
	// store opened read-only on a full disk is reopened for writing
	// (readonly.go). Read it through db.
	store    atomic.Pointer[badger.DB]
	readOnly atomic.Bool // opened read-only, writes refused (readonly.go)
	// displaced: the store may hold 0x00 "displaced" records (tx.go,
	// takeDN); until then no DN key's removal looks for one.
	displaced atomic.Bool
	// valueLogChecked: Open read the value log through (checkValueLog).
	valueLogChecked bool
	// A bulk load (loader.go) owns the store from NewLoader to Finish:
	// loading refuses every other write; writers counts the writes in
	// progress, which NewLoader waits for.
	loading        atomic.Bool
	writers        atomic.Int64
	roDB           *badger.DB // the read-only store, once replaced; closed by Close
	reopen         *reopenState
	schema         *schema.Schema
	suffix         ldap.DN
	nsuffix        string
	indexes        *index.Config                // maintained by every write
	readyIdx       atomic.Pointer[index.Config] // fully built: what the planner uses
	unindexedLimit int
	hooks          []WriteHook
	stamper        Stamper
	changes        *ChangeStream
	virtuals       map[*schema.AttributeType]VirtualAttribute
	virtualList    []VirtualAttribute
	log            *slog.Logger
	now            func() time.Time
	passwords      *password.Hasher
	rehashOnBind   bool
	ids            *badger.Sequence
	heapBudget     int64 // fixed by the options; HeapBudget adds what grows
	entries        atomic.Int64
	writes         atomic.Uint64 // committed write transactions: Epoch

	subtypes subtypeCache
	orders   orderCache // sortindex.go
	dns      dnCache
	cache    *entryCache
	trees    subtrees                       // scopes of subtree searches below the suffix (subtree.go)
	copies   atomic.Pointer[[]readOnlyCopy] // where local writes are refused (copies.go)
	copiesMu sync.Mutex                     // serialises changes to copies
	sealer   *Sealer                        // nil without an encryption key (seal.go)

	// Background fill of the one-ID posting lists (singles.go).
	stopWarm context.CancelFunc
	warmDone chan struct{}

	// Background index build (reindex.go).
	buildMu    sync.Mutex // guards stopBuild, indexBuilt and buildErr (reopened stores)
	stopBuild  context.CancelFunc
	indexBuilt chan struct{}
	buildErr   error // why the latest build failed
	buildDone  atomic.Int64
	buildTotal atomic.Int64

	// Free-space guard and value log GC (diskspace.go, maintenance.go).
	space     *spaceGuard // nil: in memory, or turned off
	gc        gcStats
	stopMaint context.CancelFunc
	maintDone chan struct{}

	// afterSnapshot, set only by tests, runs in view once the read
	// transaction's snapshot has begun: where a test puts a write that
	// the reader must not cache over.
	afterSnapshot func()
}

// Open opens (creating if needed, unless opt.MustExist) the store in
// opt.Dir. It refuses a directory others may write, a store another
// process holds, and a damaged store (ErrDamaged), and makes the
// directory and its files private (0700, 0600).
func Open(opt Options) (*Engine, error) {
	if opt.Schema == nil {
		return nil, errors.New("directory: Options.Schema is nil")
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	suffix, err := ldap.ParseDN(opt.Suffix)
	if err != nil {
		return nil, fmt.Errorf("directory: suffix %q: %w", opt.Suffix, err)
	}
	nsuffix, err := opt.Schema.NormalizeDN(suffix)
	if err != nil {
		return nil, fmt.Errorf("directory: suffix %q: %w", opt.Suffix, err)
	}
	e := &Engine{
		schema:         opt.Schema,
		suffix:         suffix,
		nsuffix:        nsuffix,
		unindexedLimit: opt.UnindexedLimit,
		hooks:          opt.Hooks,
		stamper:        opt.Stamper,
		changes:        newChangeStream(opt.ChangeQueue, log),
		log:            log,
		now:            opt.Now,
		passwords:      opt.Passwords,
		rehashOnBind:   opt.RehashOnBind,
	}
	if e.passwords == nil {
		e.passwords = password.NewHasher(password.Config{})
	}
	if err := e.setReadOnlyCopies(opt.ReadOnlyCopies); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if e.now == nil {
		e.now = time.Now
	}
	switch {
	case opt.EntryCacheBytes == 0:
		e.cache = newEntryCache(64 << 20)
	case opt.EntryCacheBytes > 0:
		e.cache = newEntryCache(opt.EntryCacheBytes)
	}
	spec := opt.Indexes
	if spec == nil {
		spec = DefaultIndexes()
	}
	if e.indexes, err = index.NewConfig(opt.Schema, spec); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if e.indexes.Lookup(mustAttr(opt.Schema, "objectClass")) == nil {
		return nil, errors.New("directory: objectClass must be indexed (eq)")
	}
	e.virtuals = map[*schema.AttributeType]VirtualAttribute{}
	for _, va := range opt.Virtual {
		at, ok := opt.Schema.Attribute(va.Name())
		if !ok {
			return nil, fmt.Errorf("directory: virtual attribute %s is not in the schema", va.Name())
		}
		if e.indexes.Lookup(at) != nil {
			return nil, fmt.Errorf("directory: %s is computed when read and takes no index", va.Name())
		}
		e.virtuals[at] = va
		e.virtualList = append(e.virtualList, va)
	}
	if err := e.openSealer(opt); err != nil {
		return nil, err
	}

	if !opt.InMemory {
		if err := prepareDir(opt); err != nil {
			return nil, err
		}
	}
	compressed := !opt.InMemory && compressedTables(opt.Dir)
	if compressed {
		// Written by an earlier version: reading its blocks without a
		// cache would decompress one per look-up. Its new tables
		// (flushes, compactions) are compressed too; an export and an
		// import make the store plain.
		log.Info("the store's tables are compressed: reading them through the block cache")
	}
	var full error // the disk cannot take what opening for writing writes
	if !opt.InMemory && opt.DiskReserve >= 0 {
		full = checkStartSpace(opt.Dir)
	}
	bo := badgerOptions(opt, compressed)
	if opt.tune != nil {
		bo = opt.tune(bo)
	}
	bo.Logger = badgerLogger{log}
	e.heapBudget = heapBudget(bo, e.cache)
	var db *badger.DB
	var clean bool
	if full != nil {
		// Serve reads from a read-only store until space is back
		// (readonly.go).
		log.Error("the store's disk is full at start: opening the store read-only; writes are refused until space is freed, "+
			"then the store is reopened for writing by itself", "dir", opt.Dir, "err", full)
		e.readOnly.Store(true)
		e.reopen = &reopenState{opt: opt, bo: bo, spec: spec}
		clean = cleanMarkMatches(opt.Dir) || runMarkHolds(opt.Dir)
		db, err = openReadOnly(opt.Dir, bo, log)
	} else {
		// Taken before Badger opens the store, which may add a value
		// log file; a crash from here on leaves no mark.
		clean = !opt.InMemory && takeCleanMark(opt.Dir)
		if !clean && !opt.InMemory && runMarkHolds(opt.Dir) {
			log.Info("the store was not closed by its last run, on this boot: its value log is whole (the page cache kept what that process wrote); not reading it through", "dir", opt.Dir)
			clean = true
		}
		db, err = openBadger(opt.Dir, bo)
	}
	switch {
	case errors.Is(err, ErrDamaged) || errors.Is(err, ErrInUse):
		return nil, err
	case err != nil:
		return nil, openError(opt, err)
	}
	e.store.Store(db)
	if err := e.emptyInterruptedLoad(opt); err != nil {
		db.Close()
		return nil, err
	}
	if !opt.InMemory {
		// The files Badger created as it opened (LOCK, a new value log
		// and memtable) go private too.
		if err := privateFiles(opt.Dir); err != nil {
			db.Close()
			return nil, err
		}
		// The value log is read through only when the last run did
		// not close the store, or its files are not as that close
		// left them: at 1,000,000 people the read takes tens of
		// seconds, which a clean restart need not pay.
		if !clean {
			if err := e.checkValueLog(opt.Dir); err != nil {
				db.Close()
				return nil, err
			}
			e.valueLogChecked = true
		}
		if !e.readOnly.Load() {
			if err := putRunMark(opt.Dir); err != nil {
				log.Warn("could not mark the store open; a restart after a crash reads the value log through", "err", err)
			}
		}
	}
	if err := e.checkFormat(opt); err != nil {
		db.Close()
		return nil, err
	}
	if !e.readOnly.Load() {
		if err := e.markSealed(opt); err != nil {
			db.Close()
			return nil, err
		}
		if e.ids, err = db.GetSequence(keyIDSeq, 1000); err != nil {
			db.Close()
			return nil, fmt.Errorf("directory: id sequence: %w", err)
		}
	}
	if err := e.countEntries(); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.findDisplaced(); err != nil {
		e.Close()
		return nil, err
	}
	// Before the index build starts, which asks the guard.
	e.startSpaceGuard(opt)
	if err := e.openIndexes(spec); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.warmDNs(); err != nil {
		e.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stopWarm, e.warmDone = cancel, make(chan struct{})
	go func() {
		defer close(e.warmDone)
		e.warmSingles(ctx)
	}()
	e.startMaintenance(opt)
	return e, nil
}

// emptyInterruptedLoad empties a store left by a bulk load that did not
// finish (loader.go): its tables are neither the old ones nor the load's.
func (e *Engine) emptyInterruptedLoad(opt Options) error {
	if opt.InMemory {
		return nil
	}
	if _, err := os.Stat(filepath.Join(opt.Dir, loadMark)); err != nil {
		return nil
	}
	if e.readOnly.Load() {
		return fmt.Errorf("directory: the store in %s was left by a bulk load (an import or a replica join) that did not finish, "+
			"and the disk has no room to empty it: free space and start again", opt.Dir)
	}
	e.log.Warn("the store was left by a bulk load (an import or a replica join) that did not finish: emptying it; run that load again",
		"dir", opt.Dir)
	if err := e.db().DropAll(); err != nil {
		return fmt.Errorf("directory: emptying the store of an interrupted bulk load: %w", err)
	}
	return removeSynced(opt.Dir, loadMark)
}

// stopWarming ends the background fill of the posting-list cache, if it
// runs, and waits for it.
func (e *Engine) stopWarming() {
	if e.stopWarm != nil {
		e.stopWarm()
		<-e.warmDone
	}
}

// warmDNs fills the DN cache from the DN index, up to its bound, so that
// the first bind or base search naming each DN after a start does not
// read the index (a sequential scan: about 50 ms for 100,000 DNs).
func (e *Engine) warmDNs() error {
	if e.cache == nil {
		return nil
	}
	return e.view(func(txn *badger.Txn, tok readToken) error {
		opt := badger.DefaultIteratorOptions
		opt.Prefix = []byte{prefixDN}
		it := txn.NewIterator(opt)
		defer it.Close()
		const batchSize = 1024
		batch := make(map[string]ID, batchSize)
		seen := 0
		for it.Rewind(); it.Valid() && seen < maxCachedDNs; it.Next() {
			seen++
			item := it.Item()
			err := item.Value(func(v []byte) error {
				if len(v) != 8 {
					return errCorrupt
				}
				batch[string(item.Key()[1:])] = readID(v)
				return nil
			})
			if err != nil {
				return err
			}
			if len(batch) == batchSize {
				e.cache.putDNs(tok, batch)
				clear(batch)
			}
		}
		e.cache.putDNs(tok, batch)
		return nil
	})
}

// badgerOptions tunes Badger for a directory: small records (0.5-2 KiB per
// entry, tens of bytes per index key), read-mostly, durable writes.
//
//   - SyncWrites on: an acknowledged write survives kill -9 and power loss.
//     Badger batches concurrent commits into one fsync, which is our group
//     commit.
//   - ValueThreshold 1 KiB: entries up to 1 KiB live in the LSM tree with
//     their keys, so a read is one block lookup instead of a value-log seek;
//     large entries (photos) go to the value log and keep the tree small.
//   - ValueLogFileSize 64 MiB (default 1 GiB): Badger creates each value
//     log file sparse at twice this size and writes it through a memory
//     map, so the free-space guard (diskspace.go) must keep that much in
//     hand; and value log GC (maintenance.go) rewrites whole files, never
//     the one being written.
//   - NumMemtables 1 (default 5): each memtable is an arena of 83 MiB (64
//     MiB plus room for the largest batch), allocated on the Go heap, and
//     NumMemtables counts the full ones waiting to be flushed besides the
//     one filling. With five, a write burst kept up to 500 MiB resident;
//     with two, the 100k benchmark still ended at 746 MiB RSS against
//     slapd's 485. One filling and one being flushed is enough for a
//     directory: a writer waits only when 64 MiB of writes arrive while
//     the previous memtable is still being written out, a fraction of a
//     second (the adddel and modify benchmarks ran no slower with one).
//   - MemTableSize 64 MiB: Badger caps one transaction at 15% of it, and
//     a group entry with 90,000 members (the most a 4 MiB request can
//     carry) needs ~9 MB of index keys in one transaction; with 32 MiB such
//     a write failed with adminLimitExceeded.
//   - No compression and no block cache (compressed false): a table's
//     blocks are read in place from its memory map, as LMDB reads its
//     pages, so a look-up costs about the same whether the store holds
//     100,000 entries or ten times that. With ZSTD and a 64 MiB block
//     cache every read went through the cache's hash map, and at 1,000,000
//     people many blocks missed it and were decompressed: equality
//     searches at 1,000,000 people ran at 0.68-1.15x (mean 0.88x) of their
//     rate at 100,000, against 0.98-1.10x (mean 1.03x) with plain tables
//     (four interleaved pairs each, same binary otherwise). The cost is
//     disk: tables take about twice the bytes (the 100,000-person store
//     298 MB instead of 197, still 0.65x slapd's), kept in the page cache
//     instead of the Go heap.
//   - Compressed (ZSTD level 1 and BlockCacheSize, 64 MiB by default) for
//     encrypted stores, whose blocks must be decrypted into the cache
//     anyway, and for stores whose tables an earlier version compressed
//     (Open finds them: compressedTables). IndexCacheSize 16 MiB with
//     encryption only: Badger keeps the block indexes of unencrypted tables
//     on the heap whatever the cache (tableHeap counts them), and routes
//     them through the index cache only to decrypt them once.
//   - NumCompactors 2 and NumGoroutines 2: this runs on small machines, and
//     compaction must not steal both cores from searches.
//   - Badger's own INFO logging is routed to slog at debug level.
//   - ChecksumVerificationMode OnTableRead: every table's blocks are
//     checked when it is opened (at start, and the new tables of a
//     compaction), so that a damaged table stops the start with its name
//     instead of serving wrong data or panicking when a block is parsed.
//     It reads each table once per start. VerifyValueChecksum likewise
//     checks each value read from the value log (values of 1 KiB and
//     more, a CRC32C each), which Open reads once (checkValueLog).
//
// Engine.HeapBudget adds up what these options (and the entry cache) let
// the store hold on the Go heap, for the server's soft memory limit.
func badgerOptions(opt Options, compressed bool) badger.Options {
	bo := badger.DefaultOptions(opt.Dir)
	if opt.InMemory {
		bo = badger.DefaultOptions("").WithInMemory(true)
	}
	var cache, indexCache int64
	compression := options.None
	if compressed || opt.EncryptionKey != nil {
		compression = options.ZSTD
		if cache = opt.CacheBytes; cache <= 0 {
			cache = 64 << 20
		}
	}
	memtable := int64(64 << 20)
	if opt.EncryptionKey != nil {
		indexCache = 16 << 20
	}
	if opt.BulkLoad {
		// StreamWriter's tables are BaseTableSize times
		// TableSizeMultiplier (2) to the power MaxLevels-2 (5).
		bo = bo.WithBaseTableSize(4 << 20 >> 5)
		memtable = 8 << 20
		if compression != options.None {
			compression = options.Snappy
		}
	}
	return bo.
		WithSyncWrites(!opt.NoSync && !opt.InMemory).
		WithValueThreshold(1 << 10).
		WithValueLogFileSize(valueLogFileSize).
		WithMemTableSize(memtable).
		WithNumMemtables(1).
		WithCompression(compression).
		WithZSTDCompressionLevel(1).
		WithBlockCacheSize(cache).
		WithIndexCacheSize(indexCache).
		WithNumCompactors(2).
		WithNumGoroutines(2).
		WithMetricsEnabled(false).
		WithChecksumVerificationMode(options.OnTableRead).
		WithVerifyValueChecksum(true).
		WithEncryptionKey(opt.EncryptionKey).
		WithEncryptionKeyRotationDuration(dataKeyRotation(opt))
}

// heapBudget is the Go heap that the store's buffers and caches hold when
// full, in steady state: the memtable arena being filled (MemTableSize
// plus Badger's largest batch and its skiplist nodes, 15% of MemTableSize
// each), the block and index caches and the entry cache with its DN,
// posting-list and bind maps. While a full memtable is flushed (NumMemtables allows
// one), its arena is held too, for the second or so that takes.
func heapBudget(bo badger.Options, c *entryCache) int64 {
	arena := bo.MemTableSize + 2*(bo.MemTableSize*15/100)
	n := arena + bo.BlockCacheSize + bo.IndexCacheSize
	if c != nil {
		n += c.max + dnCacheBytes + listCacheBytes + bindCacheBytes
	}
	return n
}

// compressedTables reports whether Badger's manifest in dir lists a table
// with compressed blocks. A new store has no manifest; one that cannot be
// read is left for badger.Open to report.
func compressedTables(dir string) bool {
	f, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		return false
	}
	defer f.Close()
	m, _, err := badger.ReplayManifestFile(f, 0, badger.DefaultOptions(dir))
	if err != nil {
		return false
	}
	for _, t := range m.Tables {
		if t.Compression != options.None {
			return true
		}
	}
	return false
}

// tableHeap is the Go heap that Badger's tables hold whatever the caches:
// every table's bloom filter and, without encryption (which sends them
// through the index cache), its block index. It grows with the store: at
// 1,000,000 people about 100 MB, which a soft memory limit derived without
// it left no room for (the collector ran every 0.35 s, 13% of the CPU).
// HeapBudget measures it each time it is asked.
func tableHeap(db *badger.DB, encrypted bool) int64 {
	var n int64
	for _, t := range db.Tables() {
		n += int64(t.BloomFilterSize)
		if !encrypted {
			n += int64(t.IndexSz)
		}
	}
	return n
}

// HeapBudget returns the Go heap, in bytes, that the store's buffers and
// caches hold at most in steady state (see heapBudget), with what grows
// with the store as it is now: the tables' bloom filters and block indexes
// (tableHeap) and the table of one-ID posting lists (singles.go). A soft
// memory limit must leave room above it, and follow it as it grows.
func (e *Engine) HeapBudget() int64 {
	n := e.heapBudget + tableHeap(e.db(), len(e.db().Opts().EncryptionKey) > 0)
	if e.cache != nil {
		n += e.cache.singles.bytes()
	}
	return n
}

type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any)   { b.l.Error("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Warningf(f string, a ...any) { b.l.Warn("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Infof(f string, a ...any)    { b.l.Debug("badger: " + fmt.Sprintf(f, a...)) }
func (b badgerLogger) Debugf(f string, a ...any)   {}

func (e *Engine) countEntries() error {
	var n int64
	err := e.db().View(func(txn *badger.Txn) error {
		n = int64(index.Reader{Txn: txn}.Count([]byte{prefixEntry}, math.MaxInt))
		return nil
	})
	e.entries.Store(n)
	return err
}

// Close stops a running index build, then flushes and closes the store.
// On a disk too full for the flush it leaves the store as a crash would
// (every acknowledged write is in the write-ahead log, replayed at the
// next start) rather than fault while writing the table.
func (e *Engine) Close() error {
	e.changes.close()
	e.stopMaintenance()
	e.stopWarming()
	e.stopIndexBuild()
	if e.readOnly.Load() {
		// Nothing was written: the store stays as it was found, clean
		// mark included.
		return e.db().Close()
	}
	if e.roDB != nil {
		// The read-only store this one replaced (readonly.go).
		defer e.roDB.Close()
	}
	if !e.closeRoom() {
		e.log.Error("the store's disk is full: not flushing the write-ahead log at close; it is replayed at the next start",
			"dir", e.db().Opts().Dir)
		return errors.New("directory: the store's disk is full: closed without flushing the write-ahead log")
	}
	if e.ids != nil {
		e.ids.Release()
	}
	opts := e.db().Opts()
	if err := e.db().Close(); err != nil {
		return err
	}
	if !opts.InMemory && opts.Dir != "" {
		os.Remove(filepath.Join(opts.Dir, runMark))
		if err := putCleanMark(opts.ValueDir); err != nil {
			e.log.Warn("could not mark the store closed; the next start reads the value log through", "err", err)
		}
	}
	return nil
}

// Schema returns the schema the engine checks entries against.
func (e *Engine) Schema() *schema.Schema { return e.schema }

// Suffix returns the naming context, as configured.
func (e *Engine) Suffix() string { return e.suffix.String() }

// EntryCount returns the number of entries in the store.
func (e *Engine) EntryCount() int64 { return e.entries.Load() }

// Size returns the bytes Badger keeps on disk (LSM tree and value log).
func (e *Engine) Size() int64 {
	lsm, vlog := e.storeSizes()
	return lsm + vlog
}

// Sizes returns the bytes on disk of the store's tables (the LSM tree)
// and of its value log.
func (e *Engine) Sizes() (lsm, vlog int64) { return e.storeSizes() }

// Passwords returns the Hasher that hashes and verifies userPassword
// values (Options.Passwords), for the frontend's Password Modify and root
// bind.
func (e *Engine) Passwords() *password.Hasher { return e.passwords }

// Sync forces everything written so far to disk.
func (e *Engine) Sync() error { return e.db().Sync() }

// identity carries the DN that performs an operation, for creatorsName and
// modifiersName.
type identityKey struct{}

// WithIdentity returns a context naming dn as the author of the operations
// run with it.
func WithIdentity(ctx context.Context, dn string) context.Context {
	return context.WithValue(ctx, identityKey{}, dn)
}

// IdentityFrom returns the identity set by WithIdentity, or "".
func IdentityFrom(ctx context.Context) string {
	s, _ := ctx.Value(identityKey{}).(string)
	return s
}

// normalizeDN parses and normalises a DN, mapping syntax errors to
// invalidDNSyntax (34).
func (e *Engine) normalizeDN(dn string) (ldap.DN, string, error) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return nil, "", &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN: " + err.Error()}
	}
	n, err := e.schema.NormalizeDN(parsed)
	if err != nil {
		return nil, "", &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN: " + err.Error()}
	}
	return parsed, n, nil
}

// dnCache remembers the normal form of the DNs searches start from: the
// same few bases (the suffix, ou=people) come with nearly every search,
// and parsing and normalising one costs more than the rest of a lookup.
// A bind's DN passes through it too: the frontend normalises it, then
// Authenticate finds it here. When full, a random DN makes room for the
// new one, so the hot bases stay with high probability while thousands of
// distinct bind DNs pass through (starting over would drop them all every
// few thousand binds). Cached DNs are shared: callers must not modify them.
type dnCache struct {
	mu sync.RWMutex
	m  map[string]normalizedDN
}

type normalizedDN struct {
	parsed ldap.DN
	ndn    string
}

const dnCacheMax = 4096

// normalizeBase is normalizeDN through the cache, for search bases.
func (e *Engine) normalizeBase(dn string) (ldap.DN, string, error) {
	e.dns.mu.RLock()
	n, ok := e.dns.m[dn]
	e.dns.mu.RUnlock()
	if ok {
		return n.parsed, n.ndn, nil
	}
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, "", err
	}
	e.dns.mu.Lock()
	if e.dns.m == nil {
		e.dns.m = make(map[string]normalizedDN, dnCacheMax)
	}
	if len(e.dns.m) >= dnCacheMax {
		evictOne(e.dns.m)
	}
	e.dns.m[dn] = normalizedDN{parsed, ndn}
	e.dns.mu.Unlock()
	return parsed, ndn, nil
}

// evictOne deletes one key of m, chosen at random: Go starts every
// iteration over a map at a random position.
func evictOne[K comparable, V any](m map[K]V) {
	for k := range m {
		delete(m, k)
		return
	}
}

// NormalizeDN returns the normal form of a DN (schema.NormalizeDN),
// remembering the answer for the DNs searches use again and again.
func (e *Engine) NormalizeDN(dn string) (string, error) {
	if e.knownNDN(dn) {
		return dn, nil
	}
	_, ndn, err := e.normalizeBase(dn)
	return ndn, err
}

// knownNDN reports whether dn is, byte for byte, the normalised DN of an
// entry in the DN cache. Then it is its own normal form (a normal form
// normalises to itself: schema's FuzzNormalizeDN), and a bind or search
// naming it, as clients that copy DNs from results do, skips parsing.
func (e *Engine) knownNDN(dn string) bool {
	return dn != "" && e.cache.lookupDN(dn) != 0
}

// inSuffix reports whether ndn is the suffix or below it.
func (e *Engine) inSuffix(ndn string) bool {
	return ndn == e.nsuffix || ldap.IsBelowNDN(ndn, e.nsuffix)
}

// Subtypes returns the canonical names of at and every attribute type
// derived from it. The map is shared: do not modify it.
func (e *Engine) Subtypes(at *schema.AttributeType) map[string]bool {
	return e.subtypes.names(e.schema, at)
}

// Match reports whether en matches f (True, not Undefined). It serves
// entries the engine does not store, such as the Root DSE.
func (e *Engine) Match(f *ldap.Filter, en *Entry) bool {
	m := e.compile(f, compileOptions{})
	return e.eval(&m, en) == triTrue
}

// Epoch counts the write transactions committed so far. Anything derived
// from the directory's contents (an access policy's group memberships,
// say) stays valid while Epoch does not move.
func (e *Engine) Epoch() uint64 { return e.writes.Load() }

// CompiledFilter is a filter compiled once against the schema, for
// matching many entries the caller holds (access rules' filters). It is
// safe for concurrent use. In-chain items are Undefined: they need a
// search's transaction.
type CompiledFilter struct {
	e *Engine
	m matcher
}

// CompileFilter compiles f for repeated Match calls.
func (e *Engine) CompileFilter(f *ldap.Filter) *CompiledFilter {
	return &CompiledFilter{e: e, m: e.compile(f, compileOptions{})}
}

// CompileSearchFilter compiles f as a search with access acc evaluates
// it: items on attributes acc does not let the requester search are
// Undefined. A nil acc is unrestricted (CompileFilter).
func (e *Engine) CompileSearchFilter(f *ldap.Filter, acc SearchAccess) *CompiledFilter {
	return &CompiledFilter{e: e, m: e.compile(f, compileOptions{access: acc})}
}

// Match reports whether en matches the filter (True, not Undefined).
func (c *CompiledFilter) Match(en *Entry) bool { return c.e.eval(&c.m, en) == triTrue }
