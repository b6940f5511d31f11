package replication

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Multi-supplier side records (see the package documentation).
var keyGeneration = []byte{directory.PrefixReplication, 'g'} // g -> 16 bytes

// MultiConfig configures a Replicator.
type MultiConfig struct {
	// Changelog is the replica's changelog, already created (New): the
	// Replicator wraps it as the engine's Stamper and shares its Clock.
	Changelog *Changelog
	Logger    *slog.Logger
	// Settle is how long the Replicator waits after a change before it
	// writes the resolved entries to the store (default 50ms): changes
	// arriving together are resolved together.
	Settle time.Duration
	// OpLogMaxAge and OpLogMaxOps (per origin) bound the op log: older
	// or excess ops are trimmed, but only those the stored State holds
	// and every known consumer has acknowledged (defaults 7 days and
	// 1,000,000; zero MaxOps: no size bound).
	OpLogMaxAge time.Duration
	OpLogMaxOps int
	// TombstoneWindow is how long deletions are remembered: the State is
	// purged below that far back (and below what every known replica
	// has confirmed); a replica not seen for longer is forgotten and
	// must be reinitialised (default 7 days).
	TombstoneWindow time.Duration
	// MaintenanceInterval is how often the op log is trimmed and the
	// State purged (default 1 minute).
	MaintenanceInterval time.Duration
	// References, if set, is the referential integrity rule every
	// resolution applies (the memberof overlay's, when it is enabled):
	// reference values naming no live entry are not shown.
	References *References
	// StateCacheEntries bounds how many entries' attribute stamps the
	// replicated State keeps in memory; the others are read from the
	// store when needed (zero: DefaultStateCacheEntries; negative: no
	// bound, the whole State in memory).
	StateCacheEntries int
}

// A Replicator makes a replica a supplier among suppliers: it keeps the
// replicated State of the directory, fed by the replica's own writes
// (as the engine's Stamper and a write hook) and by the changes it pulls
// from its peers, stores every change in its op log, and writes the
// entries that State.Materialize resolves into the store.
//
// Create it with NewReplicator, pass it to directory.Open as the Stamper
// and as a write hook, then call Open with the engine and Run.
type Replicator struct {
	cfg    MultiConfig
	log    *slog.Logger
	clog   *Changelog
	eng    *directory.Engine
	schema Schema

	// wmu orders writes to the store: local writes hold it shared from
	// Stamp to Settle, so they commit concurrently (and share fsyncs);
	// remote batches and the writes of resolved entries hold it alone,
	// so a resolution never overwrites a local write it did not see.
	// Local writes may commit out of CSN order: Pull serves the local
	// origin's changes only up to Changelog.Settled, below which every
	// stamped write has committed, so every replica's log of an origin
	// is still a prefix of that origin's history.
	wmu sync.RWMutex

	// Local writes between OnChange and Settle, by CSN, under pmu.
	pmu    sync.Mutex
	writes map[change.CSN]*localWrite
	newGen Generation // made by the first write of the store

	smu sync.RWMutex
	// matMu is held by whatever holds smu long (a resolution while it
	// materialises, a snapshot while it encodes; minutes at a million
	// entries) and by every writer before it takes smu (lockState): a
	// writer waiting on smu would stop every new reader of it (pulls,
	// local writes' Stamp, stale checks) until the long holder is done,
	// since sync.RWMutex lets no reader in past a waiting writer; writers
	// wait here instead.
	matMu sync.Mutex
	// readMu is held, with smu shared, by the State's readers that may
	// read evicted entries into its cache (resolution, snapshots): the
	// cache is not safe for concurrent use, and the State's other
	// readers (status, pulls) do not touch it.
	readMu     sync.Mutex
	state      *State
	vector     Vector
	floor      Vector
	generation Generation
	seq        uint64 // state version, under smu
	// pos is what status and pulls read of the above without smu
	// (published under smu by publish): a resolution holds smu shared
	// for minutes at a million entries, and once a writer waits for it
	// every new reader of smu would wait too.
	pos atomic.Pointer[position]
	// What the store may not hold as the State shows it, besides the
	// State's changed entries (the store mark, durable.go): the entries
	// a resolution took and has not written, or those it must retry;
	// unstoredAll: any entry (before the first full resolution, after a
	// reinitialisation or a failed round). Under smu.
	unstored    map[UUID]struct{}
	unstoredAll bool

	// The store's mirror of the state: changed by Settle under mmu
	// (with wmu shared), read and changed by store with wmu held alone.
	mmu        sync.Mutex
	mirror     map[UUID]mirrored
	touchedSeq map[UUID]uint64

	// Resolution, under rmu: what the state showed at the last
	// resolution, and the entries to rebuild at the next one whatever
	// changed (their write was skipped or failed).
	rmu sync.Mutex
	// afterStoreChunk, when set (by tests), runs after each of store's
	// transactions that write entries, the locks released.
	afterStoreChunk func()
	// materializing, when set (by tests), runs as a resolution starts
	// materialising, with matMu held and the State read-locked.
	materializing func()
	mat           *Shown
	matOf         *State // the State mat follows
	retry         map[UUID]struct{}
	// resume, set by Open from a valid store mark, lets the first
	// resolution rebuild only what may differ from the store.
	resume *resumePoint
	// resumed is how many entries the last start's first resolution
	// took from the store without building them.
	resumed int

	// joining: Join owns the engine, from its start on; this Replicator
	// resolves, applies, stores and writes nothing more (errJoining), and
	// the engine must be closed after Join (reinit.go).
	joining atomic.Bool
	// joinPoint, set only by tests, runs at the named points of a Join
	// ("fetched": the snapshot received, before it is installed): where
	// a test measures the heap.
	joinPoint func(point string)

	dirty chan struct{}
	// pullGate is held by the pull from a peer that is being made and
	// applied (enterPull), pullSince when it was taken.
	pullGate  chan struct{}
	pullSince atomic.Int64
	// resolved is closed when the first resolution has written the store.
	resolved     chan struct{}
	resolvedOnce sync.Once
	// heapChanged receives when HeapEstimate jumped (HeapChanged).
	heapChanged chan struct{}

	statusMu sync.Mutex
	status   storeStatus

	applied  atomic.Int64
	localOps atomic.Int64
	rounds   atomic.Int64 // resolutions that wrote or removed entries
	pulled   atomic.Int64 // ops received from peers, duplicates included
	refusals atomic.Int64
	trimmed  atomic.Int64
	purged   atomic.Int64
	loadTook time.Duration
	// Entries written and removed by resolutions.
	resolvedWritten, resolvedRemoved atomic.Int64

	// The last checkpoint written (the stored State stands at it).
	ckptMu    sync.Mutex
	ckpt      Vector
	ckptFloor change.CSN
	ckptMark  []byte // the store mark written with it (nil: none)

	// What this replica knows of the others' positions.
	posMu sync.Mutex
	known map[uint16]*changelog.Position

	peersMu   sync.Mutex
	peers     map[string]*Peer
	peerOrder []string

	reinit reinitTracker // this replica's reinitialisation (reinit.go)
	snaps  snapshotStore // snapshots served to consumers (snapshot.go)
}

// mirrored is what the store holds of one entry: its ID and the key of
// its fingerprint (fpKey). One map of them is a replica's largest
// structure after the State: 16 bytes a value, not the 8 + 32 of an ID
// and a whole fingerprint in two maps.
type mirrored struct {
	id directory.ID
	fp uint64
}

// fpKey is the part of a fingerprint the mirror keeps to tell whether
// the store holds an entry as materialised: two different entries share
// it with probability 2^-64, when the entry would not be written again
// until it next changes.
func fpKey(fp *[32]byte) uint64 { return binary.BigEndian.Uint64(fp[:8]) }

// A localWrite is what a local write's OnChange derived, for its Settle.
type localWrite struct {
	ops   []Op
	touch []touched
}

type touched struct {
	u  UUID
	en *directory.Entry // nil: removed
}

// storeStatus is what the last resolution left in the store.
type storeStatus struct {
	Digest    [32]byte
	Seq       uint64 // the state version it resolved
	Settled   bool   // the store holds Materialize of that version
	Entries   int
	Conflicts int
	At        time.Time
	Duration  time.Duration
}

// NewReplicator returns a Replicator for cfg; it does nothing until Open.
func NewReplicator(cfg MultiConfig) (*Replicator, error) {
	if cfg.Changelog == nil {
		return nil, errors.New("replication: MultiConfig.Changelog is nil")
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 50 * time.Millisecond
	}
	if cfg.OpLogMaxAge <= 0 {
		cfg.OpLogMaxAge = 7 * 24 * time.Hour
	}
	if cfg.OpLogMaxOps < 0 {
		cfg.OpLogMaxOps = 0
	}
	if cfg.TombstoneWindow <= 0 {
		cfg.TombstoneWindow = 7 * 24 * time.Hour
	}
	if cfg.MaintenanceInterval <= 0 {
		cfg.MaintenanceInterval = time.Minute
	}
	if cfg.StateCacheEntries == 0 {
		cfg.StateCacheEntries = DefaultStateCacheEntries
	}
	r := &Replicator{cfg: cfg, log: cfg.Logger, clog: cfg.Changelog, vector: Vector{}, floor: Vector{},
		mirror: map[UUID]mirrored{}, touchedSeq: map[UUID]uint64{},
		mat: merge.NewShown(), retry: map[UUID]struct{}{}, unstoredAll: true, writes: map[change.CSN]*localWrite{},
		dirty: make(chan struct{}, 1), resolved: make(chan struct{}), heapChanged: make(chan struct{}, 1), peers: map[string]*Peer{}, ckpt: Vector{}, known: map[uint16]*changelog.Position{},
		pullGate: make(chan struct{}, 1)}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	cfg.Changelog.Share((*logBounds)(r))
	return r, nil
}

// FirstResolution returns a channel closed once the first resolution
// after Open has brought the store up to date: the moment the memory it
// took (every entry rebuilt once) is garbage.
func (r *Replicator) FirstResolution() <-chan struct{} { return r.resolved }

// Heap the replicated state keeps, as HeapEstimate counts it: per entry
// of the State, its placements, the resolved view, what the last
// resolution showed and the store's mirror (BenchmarkResolvedHeap
// measures the first three), and per entry whose attribute stamps are in
// memory (replication.state_cache_entries of them, more between a round
// of changes and its save) what a person entry's stamps take (about
// 9.7 KB each in a heap profile of the 100k benchmark directory).
const (
	heapPerEntry         = 1000
	heapPerResidentEntry = 10 << 10
)

// HeapEstimate returns about how many bytes of heap the replicated state
// keeps live: what a soft memory limit derived from the store's budget
// must add for a multi-supplier replica.
func (r *Replicator) HeapEstimate() int64 {
	r.smu.RLock()
	defer r.smu.RUnlock()
	if r.state == nil {
		return 0
	}
	resident, _, _ := r.state.CacheStats()
	return int64(r.state.Len())*heapPerEntry + int64(resident)*heapPerResidentEntry + r.snaps.heapBytes()
}

// HeapChanged returns a channel that receives when HeapEstimate changed
// by much at once (a snapshot taken for a consumer, or dropped), so that
// a soft memory limit derived from it follows at once rather than at its
// next period: a supplier holding a snapshot the limit does not count
// would collect without pause while it serves it.
func (r *Replicator) HeapChanged() <-chan struct{} { return r.heapChanged }

// noteHeapChanged signals HeapChanged.
func (r *Replicator) noteHeapChanged() {
	select {
	case r.heapChanged <- struct{}{}:
	default:
	}
}

// HeapEstimateFor is HeapEstimate before Open, for a store of entries
// entries (Engine.EntryCount): what the State will hold once it has
// loaded or seeded them, with a full cache of stamps and a batch being
// seeded.
func HeapEstimateFor(entries int) int64 {
	return int64(entries)*heapPerEntry + int64(min(entries, DefaultStateCacheEntries+seedBatch))*heapPerResidentEntry
}

// Replica returns the local replica ID.
func (r *Replicator) Replica() uint16 { return r.clog.Replica() }

// dirSchema is the directory schema as the merge needs it.
type dirSchema struct {
	s    *schema.Schema
	refs *References
}

// References implements ReferenceSchema.
func (d dirSchema) References() *References { return d.refs }

// TypeName implements typeNamer.
func (d dirSchema) TypeName(t string) string {
	if at := d.attr(t); at != nil {
		return at.Name()
	}
	return t
}

func (d dirSchema) attr(name string) *schema.AttributeType {
	base, _ := schema.SplitOptions(name)
	at, _ := d.s.Attribute(base)
	return at
}

func (d dirSchema) SingleValued(name string) bool {
	at := d.attr(name)
	return at != nil && at.SingleValue
}

func (d dirSchema) EqualityKey(name, value string) string {
	at := d.attr(name)
	if at == nil || at.Equality == nil {
		return value
	}
	n, err := at.Normalize([]byte(value))
	if err != nil || string(n) == value {
		return value // values already in normal form are the common case
	}
	return string(n)
}

// Open loads the replicated state and the store's entries into the
// mirror, after the Changelog's Open: the stored entry states, then the
// op log above the checkpoint (the whole op log if there is none, as in
// a store written before states were stored). Stored entries the State
// does not know (replication switched on for an existing directory, an
// offline load) are recorded as local adds first.
func (r *Replicator) Open(eng *directory.Engine) error {
	start := time.Now()
	r.eng = eng
	r.schema = dirSchema{eng.Schema(), r.cfg.References}
	r.state = r.newState()
	var maxSeen change.CSN
	var ckpt Vector
	replayed := 0
	incomplete := false
	err := eng.View(func(v *directory.View) error {
		var err error
		if incomplete, err = r.openReinit(v); err != nil {
			return err
		}
		g, err := v.Record(keyGeneration)
		if err != nil {
			return err
		}
		copy(r.generation[:], g)
		if err := v.Records(changelog.KeyFloors, nil, false, func(k, val []byte) (bool, error) {
			c, err := change.DecodeCSN(val)
			if err == nil && len(k) == len(changelog.KeyFloors)+2 {
				r.floor[binary.BigEndian.Uint16(k[len(changelog.KeyFloors):])] = c
			}
			return true, err
		}); err != nil {
			return err
		}
		if err := r.loadReplicas(v); err != nil {
			return err
		}
		if ckpt, err = r.loadState(v); err != nil {
			return err
		}
		for o, c := range ckpt {
			r.vector[o] = c
		}
		for o, c := range r.floor {
			if r.vector[o].Less(c) {
				r.vector[o] = c
			}
		}
		for _, c := range r.vector {
			if maxSeen.Less(c) {
				maxSeen = c
			}
		}
		for _, o := range opOrigins(v) {
			p := changelog.OriginPrefix(o)
			after := ckpt[o]
			var start []byte
			if !after.IsZero() {
				start = after.AppendBinary(bytes.Clone(p))
			}
			err := v.RecordsSkip(p, start, false, changelog.Unreplicated, func(k, val []byte) (bool, error) {
				c, err := change.DecodeCSN(k[len(p):])
				if err != nil {
					return false, fmt.Errorf("op log key %x: %w", k, err)
				}
				if !after.Less(c) || changelog.RecordFlags(val)&changelog.FlagReplicated == 0 {
					return true, nil
				}
				rec, err := changelog.DecodeRecord(val, eng.Sealer())
				if err != nil {
					return false, fmt.Errorf("op log record %x: %w", k, err)
				}
				op := rec.Op
				r.state.Apply(&op) // a malformed op was refused everywhere; it stays refused
				replayed++
				if r.vector[op.Origin()].Less(op.CSN) {
					r.vector[op.Origin()] = op.CSN
				}
				if maxSeen.Less(op.CSN) {
					maxSeen = op.CSN
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication: load state: %w", err)
	}
	clock := r.clog.Clock()
	if clock == nil {
		return errors.New("replication: open the Changelog before the Replicator")
	}
	clock.Observe(maxSeen) // resume above every change seen; a refused one was never stored

	// The mirror: which entry is where, and what it holds. Entries the
	// State does not know are remembered by ID only, and read again in
	// batches to be seeded: a store loaded offline may hold millions.
	var unknown []directory.ID
	err = r.fingerprintStored(func(en *directory.Entry, u UUID, fp *[32]byte) error {
		r.mirror[u] = mirrored{en.ID, fpKey(fp)}
		if r.resume != nil {
			// en.DN aliases the entry's whole decoded record: cloned, the
			// Shown built from it keeps the DN only (~1.1 KB an entry
			// otherwise, for as long as the entry is not rebuilt).
			st := merge.StoredEntry{DN: strings.Clone(en.DN), Fingerprint: *fp, Glue: en.Get(merge.GlueAttr) != nil}
			for _, a := range en.Attrs {
				st.References = st.References || r.state.IsReferenceAttr(a.Name)
			}
			r.resume.stored[u] = st
		}
		if !r.state.Has(u) {
			unknown = append(unknown, en.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication: load entries: %w", err)
	}
	slices.Sort(unknown) // seeded in ID order, as the store holds them
	if incomplete {
		r.resume = nil
	}
	if len(unknown) > 0 && !incomplete {
		if err := r.seed(unknown); err != nil {
			return err
		}
	}
	r.loadTook = time.Since(start)
	r.lockState()
	r.publish()
	r.unlockState()
	r.log.Info("replication: state loaded", "entries", r.state.Len(), "from_checkpoint", ckpt != nil,
		"ops_replayed", replayed, "took", r.loadTook.Round(time.Millisecond))
	r.markDirty()
	return nil
}

// newState returns an empty State whose entries' stamps are read from the
// store when they are not in memory.
func (r *Replicator) newState() *State {
	s := merge.NewState(r.schema)
	s.SetSealer(r.eng.Sealer())
	s.SetSource(storeSource{r.eng}, r.cfg.StateCacheEntries)
	return s
}

// seed records as local adds the entries of the store that the op log
// does not know: a store that predates replication, or entries loaded
// offline (ldif load) while the server was down. Without this the first
// resolution would remove them.
//
// It works in batches of seedBatch entries: each batch's ops are stored
// in the op log, applied to the State, and the entries' states stored
// with a checkpoint, so that the State may evict them again (an unsaved
// entry's stamps stay in memory, several KB each).
func (r *Replicator) seed(unknown []directory.ID) error {
	clock := r.clog.Clock()
	gen := r.generation
	if gen.IsZero() {
		gen = newGeneration()
	}
	r.generation = gen
	ctx := context.Background()
	uuidOf := func(v *directory.View, id directory.ID) (UUID, error) {
		if id == 0 {
			return UUID{}, nil
		}
		en, err := v.Get(id)
		if err != nil {
			return UUID{}, err
		}
		if en == nil {
			return UUID{}, fmt.Errorf("entry %d not found", id)
		}
		return r.uuidOf(en)
	}
	for start := 0; start < len(unknown); start += seedBatch {
		if start%(seedReleaseBatches*seedBatch) == 0 {
			// What Open's scan and the batches before read and
			// wrote is not read again before the first
			// resolution: hand its pages back.
			if _, err := r.eng.ReleaseMappedPages(); err != nil {
				r.log.Warn("replication: seed: release the store's mapped pages", "err", err)
			}
		}
		ids := unknown[start:min(start+seedBatch, len(unknown))]
		ops := make([]Op, 0, len(ids))
		err := r.eng.View(func(v *directory.View) error {
			for _, id := range ids {
				en, err := v.Get(id)
				if err != nil {
					return err
				}
				if en == nil {
					continue // removed since the scan: nothing to record
				}
				op := Op{CSN: clock.Next(), Kind: change.Add, Attrs: changelog.AttrsOf(en)}
				if op.Entry, err = r.uuidOf(en); err != nil {
					return err
				}
				if op.Parent, err = uuidOf(v, en.ParentID); err != nil {
					return fmt.Errorf("entry %q: parent: %w", en.DN, err)
				}
				if op.RDN, err = r.rdnOf(en); err != nil {
					return err
				}
				ops = append(ops, op)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("replication: seed op log: %w", err)
		}
		err = r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
			for i := range ops {
				if err := changelog.PutOp(tx, &ops[i]); err != nil {
					return err
				}
			}
			return tx.PutRecord(keyGeneration, gen[:])
		})
		if err != nil {
			return fmt.Errorf("replication: seed op log: %w", err)
		}
		r.lockState()
		for i := range ops {
			r.state.Apply(&ops[i])
			if r.vector[ops[i].Origin()].Less(ops[i].CSN) {
				r.vector[ops[i].Origin()] = ops[i].CSN
			}
		}
		b := r.takeBatch()
		r.publish()
		r.unlockState()
		// The states of this batch (and of whatever the replay before
		// it left unsaved), and the checkpoint they stand at.
		if err := r.writeBatch(ctx, b); err != nil {
			return fmt.Errorf("replication: seed state: %w", err)
		}
		r.lockState()
		r.state.Saved()
		r.unlockState()
	}
	r.log.Info("replication: recorded the existing entries in the op log", "entries", len(unknown), "generation", gen.String())
	return nil
}

// seedBatch is how many entries seed records per batch.
const seedBatch = 1000

// seedReleaseBatches is how many batches seed records between two
// releases of the store's mapped pages (Engine.ReleaseMappedPages; the
// first before the first batch, for what Open's checksum pass and scan
// of every entry mapped: at 1M entries 3.7 GB of 5.1 GB VmHWM): each
// batch's op log records and entry states (4.5 KB an entry at 1M) are
// written through Badger's maps, and without a release a 1M-entry seeding
// kept the whole store it wrote in its RSS (VmHWM 8.2 GB).
const seedReleaseBatches = 100

func newGeneration() Generation {
	var g Generation
	rand.Read(g[:])
	return g
}

// Stamp implements directory.Stamper: it takes the write lock shared,
// released by the matching Settle.
func (r *Replicator) Stamp() change.CSN {
	r.smu.RLock()
	noGen := r.generation.IsZero()
	r.smu.RUnlock()
	if noGen {
		r.awaitJoin()
	}
	r.wmu.RLock()
	return r.clog.Stamp()
}

// Settle implements directory.Stamper: a committed write's changes join
// the replicated state.
func (r *Replicator) Settle(c change.CSN, ch *directory.Change) {
	defer r.wmu.RUnlock()
	r.clog.Settle(c, ch)
	r.pmu.Lock()
	w := r.writes[c]
	delete(r.writes, c)
	gen := r.newGen
	r.pmu.Unlock()
	if ch == nil || w == nil || r.state == nil {
		return
	}
	r.lockState()
	if r.generation.IsZero() {
		r.generation = gen
	}
	for i := range w.ops {
		op := &w.ops[i]
		r.state.Apply(op)
		if r.vector[op.Origin()].Less(op.CSN) {
			r.vector[op.Origin()] = op.CSN
		}
	}
	r.seq++
	seq := r.seq
	r.publish()
	r.unlockState()
	r.localOps.Add(int64(len(w.ops)))
	r.mmu.Lock()
	for _, t := range w.touch {
		r.touchedSeq[t.u] = seq
		if t.en == nil {
			delete(r.mirror, t.u)
			continue
		}
		r.mirror[t.u] = mirrored{t.en.ID, r.storedFingerprint(t.u, t.en)}
	}
	r.mmu.Unlock()
	r.markDirty()
}

// Name implements directory.WriteHook.
func (r *Replicator) Name() string { return "replication" }

// OnChange implements directory.WriteHook: it turns the local write (and
// what earlier hooks derived from it) into Ops and stores them in the
// op log, in the write's transaction.
func (r *Replicator) OnChange(_ context.Context, tx *directory.Tx, ch *directory.Change) error {
	if r.state == nil || ch.CSN.IsZero() {
		return nil
	}
	if r.joining.Load() {
		return &ldap.Error{Code: ldap.Unavailable, Message: errJoining.Error()}
	}
	if err := r.reinit.writable(); err != nil {
		return err
	}
	ops, touch, err := r.opsOf(tx, ch, ch.CSN)
	if err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	// Refuse here what Apply would refuse later: a write the state
	// cannot take must not be acknowledged.
	scratch := merge.NewState(r.schema)
	for i := range ops {
		if err := scratch.Apply(&ops[i]); err != nil {
			return err
		}
		if err := changelog.PutOp(tx, &ops[i]); err != nil {
			return err
		}
	}
	r.smu.RLock()
	noGen := r.generation.IsZero()
	r.smu.RUnlock()
	if noGen && len(ops) > 0 {
		if ok, why := r.joined(time.Now()); !ok {
			return joinError(why)
		}
	}
	r.pmu.Lock()
	if noGen && len(ops) > 0 && r.newGen.IsZero() {
		r.newGen = newGeneration()
	}
	gen := r.newGen
	r.writes[ch.CSN] = &localWrite{ops: ops, touch: touch}
	r.pmu.Unlock()
	if noGen && len(ops) > 0 {
		if err := tx.PutRecord(keyGeneration, gen[:]); err != nil {
			return err
		}
	}
	return nil
}

func (r *Replicator) uuidOf(en *directory.Entry) (UUID, error) {
	u, err := merge.ParseUUID(en.First("entryUUID"))
	if err != nil {
		return UUID{}, fmt.Errorf("entry %q: %w", en.DN, err)
	}
	return u, nil
}

func (r *Replicator) parentUUID(rd directory.Reader, id directory.ID) (UUID, error) {
	if id == 0 {
		return UUID{}, nil
	}
	p, err := rd.Get(id)
	if err != nil {
		return UUID{}, err
	}
	if p == nil {
		return UUID{}, fmt.Errorf("parent %d not found", id)
	}
	return r.uuidOf(p)
}

// rdnOf is the RDN an Op gives the entry: its first RDN, or its whole DN
// below the root, with attribute types in their schema names.
func (r *Replicator) rdnOf(en *directory.Entry) (string, error) {
	dn, err := ldap.ParseDN(en.DN)
	if err != nil || len(dn) == 0 {
		return "", fmt.Errorf("entry DN %q: %v", en.DN, err)
	}
	sch := r.eng.Schema()
	canon := func(rdn ldap.RDN) ldap.RDN {
		out := make(ldap.RDN, len(rdn))
		for i, a := range rdn {
			if at, ok := sch.Attribute(a.Type); ok {
				a.Type = at.Name()
			}
			out[i] = a
		}
		return out
	}
	if en.ParentID == 0 {
		out := make(ldap.DN, len(dn))
		for i := range dn {
			out[i] = canon(dn[i])
		}
		return out.String(), nil
	}
	return canon(dn[0]).String(), nil
}

func valueStrings(vs [][]byte) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// placementOf returns what places en in the tree: its UUID, its parent's
// and its RDN.
func (r *Replicator) placementOf(tx *directory.Tx, en *directory.Entry) (u, parent UUID, rdn string, err error) {
	if u, err = r.uuidOf(en); err != nil {
		return
	}
	if parent, err = r.parentUUID(tx, en.ParentID); err != nil {
		return
	}
	rdn, err = r.rdnOf(en)
	return
}

// opsOf converts a committed-to-be local change into Ops: the change
// itself at c, and every derived write (Tx.Updates) as a modify with a
// CSN of its own.
func (r *Replicator) opsOf(tx *directory.Tx, ch *directory.Change, c change.CSN) ([]Op, []touched, error) {
	var ops []Op
	var touch []touched
	clock := r.clog.Clock()
	switch ch.Kind {
	case change.Add:
		u, p, rdn, err := r.placementOf(tx, ch.After)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, Op{CSN: c, Kind: change.Add, Entry: u, Parent: p, RDN: rdn, Attrs: changelog.AttrsOf(ch.After)})
		touch = append(touch, touched{u, ch.After})
	case change.Modify:
		u, err := r.uuidOf(ch.After)
		if err != nil {
			return nil, nil, err
		}
		if mods := changelog.ModsOf(ch.Before, ch.After); len(mods) > 0 {
			ops = append(ops, Op{CSN: c, Kind: change.Modify, Entry: u, Mods: mods})
		}
		touch = append(touch, touched{u, ch.After})
	case change.Delete:
		u, err := r.uuidOf(ch.Before)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, Op{CSN: c, Kind: change.Delete, Entry: u})
		touch = append(touch, touched{u, nil})
		for i, d := range ch.Removed {
			du, err := r.uuidOf(d)
			if err != nil {
				return nil, nil, err
			}
			ops = append(ops, Op{CSN: c.WithSub(uint32(i + 1)), Kind: change.Delete, Entry: du})
			touch = append(touch, touched{du, nil})
		}
	case change.ModRDN:
		u, p, rdn, err := r.placementOf(tx, ch.After)
		if err != nil {
			return nil, nil, err
		}
		ops = append(ops, Op{CSN: c, Kind: change.ModRDN, Entry: u, Parent: p, RDN: rdn})
		if mods := changelog.ModsOf(ch.Before, ch.After); len(mods) > 0 {
			ops = append(ops, Op{CSN: clock.Next(), Kind: change.Modify, Entry: u, Mods: mods})
		}
		touch = append(touch, touched{u, ch.After})
		for _, rn := range ch.Renamed[1:] {
			d, err := tx.Get(rn.ID)
			if err != nil || d == nil {
				return nil, nil, fmt.Errorf("moved entry %d: %v", rn.ID, err)
			}
			du, err := r.uuidOf(d)
			if err != nil {
				return nil, nil, err
			}
			touch = append(touch, touched{du, d})
		}
	}
	for _, up := range tx.Updates() {
		u, err := r.uuidOf(up.After)
		if err != nil {
			return nil, nil, err
		}
		if mods := changelog.ModsOf(up.Before, up.After); len(mods) > 0 {
			ops = append(ops, Op{CSN: clock.Next(), Kind: change.Modify, Entry: u, Mods: mods})
		}
		touch = append(touch, touched{u, up.After})
	}
	return ops, touch, nil
}

// storedFingerprint is the key of the fingerprint of a stored entry
// (fpKey), comparable with that of the materialised entry it should be.
func (r *Replicator) storedFingerprint(u UUID, en *directory.Entry) uint64 {
	fp := r.fullFingerprint(u, en)
	return fpKey(&fp)
}

// fingerprintStored calls fn, one call at a time, with every stored
// entry, its UUID and its fingerprint, in no set order. The store's
// workers, one per CPU, decode the entries and compute the fingerprints
// (normalising and sorting every value): most of the work of a start,
// which reads the whole store.
func (r *Replicator) fingerprintStored(fn func(en *directory.Entry, u UUID, fp *[32]byte) error) error {
	var mu sync.Mutex
	return r.eng.ForEachEntryParallel(context.Background(), func(_ int, en *directory.Entry) error {
		u, err := merge.ParseUUID(en.First("entryUUID"))
		if err != nil {
			return fmt.Errorf("entry %q: entryUUID: %w", en.DN, err)
		}
		fp := r.fullFingerprint(u, en)
		mu.Lock()
		defer mu.Unlock()
		return fn(en, u, &fp)
	})
}

// fullFingerprint is the fingerprint of a stored entry.
func (r *Replicator) fullFingerprint(u UUID, en *directory.Entry) [32]byte {
	e := r.storedEntry(u, en)
	return merge.Fingerprint(&e)
}

// storedEntry is a stored entry in Materialize's form, for comparing.
func (r *Replicator) storedEntry(u UUID, en *directory.Entry) Entry {
	out := Entry{UUID: u, DN: en.DN, Glue: en.Get(merge.GlueAttr) != nil}
	for _, a := range en.Attrs {
		out.Attrs = append(out.Attrs, Attribute{Name: a.Name, Values: valueStrings(a.Values)})
	}
	canonicalize(r.schema, out.Attrs)
	return out
}

// canonicalize sorts attributes by lower-case name and values by
// equality key, as Materialize orders them, for a fingerprint: the values
// of an attribute with merge.LargeAttr values or more stay as they are.
func canonicalize(s Schema, attrs []Attribute) {
	// Names lowered once (a stored entry's attributes are usually in
	// order already: then nothing moves).
	lowers := make([]keyedAttr, len(attrs))
	sorted := true
	for i, a := range attrs {
		lowers[i] = keyedAttr{strings.ToLower(a.Name), a}
		sorted = sorted && (i == 0 || lowers[i-1].key <= lowers[i].key)
	}
	if !sorted {
		slices.SortStableFunc(lowers, func(a, b keyedAttr) int { return strings.Compare(a.key, b.key) })
		for i := range lowers {
			attrs[i] = lowers[i].attr
		}
	}
	var keyed []keyedString
	for _, a := range attrs {
		if len(a.Values) < 2 || len(a.Values) >= merge.LargeAttr {
			continue // a large attribute's fingerprint is order-free
		}
		// Each value's key once: a comparison sort would normalise every
		// value ~2 log n times (a group of 100k members, 3.4M DNs).
		lower := strings.ToLower(a.Name)
		keyed = keyed[:0]
		for _, v := range a.Values {
			keyed = append(keyed, keyedString{s.EqualityKey(lower, v), v})
		}
		slices.SortFunc(keyed, func(x, y keyedString) int {
			if c := strings.Compare(x.key, y.key); c != 0 {
				return c
			}
			return strings.Compare(x.value, y.value)
		})
		for i := range keyed {
			a.Values[i] = keyed[i].value
		}
	}
}

// A keyedString is a value with its equality key, for sorting.
type keyedString struct{ key, value string }

// A keyedAttr is an attribute with its name in lower case, for sorting.
type keyedAttr struct {
	key  string
	attr Attribute
}

// lockState takes the State for writing: matMu first (see there), then
// smu.
func (r *Replicator) lockState() {
	r.matMu.Lock()
	r.smu.Lock()
}

func (r *Replicator) unlockState() {
	r.smu.Unlock()
	r.matMu.Unlock()
}

func (r *Replicator) markDirty() {
	select {
	case r.dirty <- struct{}{}:
	default:
	}
}

// Run writes resolved entries to the store whenever the state changed,
// until ctx ends.
func (r *Replicator) Run(ctx context.Context) {
	r.reinit.setContext(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.dirty:
		}
		// Let changes arriving together be resolved together.
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.cfg.Settle):
		}
		if err := r.resolve(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Error("replication: writing resolved entries", "err", err)
			r.markDirty()
			time.Sleep(time.Second)
		}
	}
}

// resolve materialises what changed in the state since the last
// resolution and writes what differs into the store.
func (r *Replicator) resolve(ctx context.Context) error {
	if r.joining.Load() {
		return errJoining
	}
	if r.reinit.isIncomplete() {
		return nil // the state is not the replica's until a reinitialisation completes
	}
	start := time.Now()
	r.rmu.Lock()
	defer r.rmu.Unlock()
	if r.joining.Load() {
		return errJoining
	}
	r.lockState()
	seq := r.seq
	changed := r.state.TakeChanged()
	if changed == nil {
		changed = map[UUID]struct{}{}
	}
	for u := range r.retry {
		changed[u] = struct{}{}
	}
	clear(r.retry)
	swapped := r.matOf != r.state
	r.matOf = r.state
	resume := r.resume
	r.resume = nil
	if !swapped || resume == nil || resume.state != r.state {
		resume = nil
	}
	// Until this round has written them, what it took may differ in the
	// store (the store mark); after a swap, anything may.
	if swapped {
		r.unstoredAll, r.unstored = true, nil
	} else {
		r.unstored = maps.Clone(changed)
	}
	r.unlockState()
	if swapped && resume == nil {
		// A new State (at start, or installed by a reinitialisation):
		// every stored entry is looked at, so that those it does not
		// hold are removed.
		r.mmu.Lock()
		for u := range r.mirror {
			changed[u] = struct{}{}
		}
		r.mmu.Unlock()
	}
	// Materialising reads evicted entries' stamps into the State's
	// cache (readMu).
	r.matMu.Lock()
	r.smu.RLock()
	r.readMu.Lock()
	if r.materializing != nil {
		r.materializing()
	}
	if resume != nil {
		// A restart with a store mark: the store held the checkpoint's
		// materialisation but for the pending entries.
		sh, rebuild := r.state.ResumeShown(resume.stored)
		r.mat, r.resumed = sh, sh.Len()
		for _, u := range resume.pending {
			rebuild[u] = struct{}{}
		}
		r.log.Info("replication: resuming from the store", "entries", len(resume.stored), "kept", sh.Len(), "rebuilt", len(rebuild), "pending", len(resume.pending))
		maps.Copy(changed, rebuild)
	}
	fps := map[UUID]uint64{} // of the entries kept, for store
	upd, gone := r.state.MaterializeChangedFunc(r.mat, changed, func(e *Entry, fp *[32]byte) bool {
		// What the store holds already needs no writing (store checks
		// again, under the write lock): after a start every entry is
		// rebuilt, and holding them all would take GBs.
		r.mmu.Lock()
		defer r.mmu.Unlock()
		k := fpKey(fp)
		old, ok := r.mirror[e.UUID]
		keep := !ok || old.fp != k || r.touchedSeq[e.UUID] > seq
		if keep {
			fps[e.UUID] = k
		} else {
			delete(fps, e.UUID) // (a group built again in the round)
		}
		return keep
	})
	stateErr := r.state.Err()
	r.readMu.Unlock()
	r.smu.RUnlock()
	r.matMu.Unlock()
	if stateErr != nil {
		r.mat, r.matOf = merge.NewShown(), nil // what it showed is unknown
		r.lockState()
		r.unstoredAll = true
		r.unlockState()
		return stateErr
	}

	written, removed, err := r.store(ctx, seq, upd, fps, gone)
	r.resolvedWritten.Add(int64(written))
	r.resolvedRemoved.Add(int64(removed))
	if err != nil {
		// Rebuild everything of this round next time.
		for i := range upd {
			r.retry[upd[i].UUID] = struct{}{}
		}
		for _, u := range gone {
			r.retry[u] = struct{}{}
		}
		if errors.Is(err, errStateSwapped) {
			r.markDirty() // the next round rebuilds from the new State
			return nil
		}
		return err
	}
	r.lockState()
	r.unstored = maps.Clone(r.retry)
	if swapped {
		r.unstoredAll = false // every entry was looked at
	}
	r.unlockState()
	// The State's changed entries and the checkpoint. With the write
	// lock held alone no local write is between its Stamp and Settle, so
	// the checkpoint's vector has no hole below it.
	r.wmu.Lock()
	_, err = r.saveState(ctx, change.CSN{})
	r.wmu.Unlock()
	if err != nil {
		return err
	}
	r.smu.RLock()
	settled := len(r.retry) == 0 && r.seq == seq
	r.smu.RUnlock()
	if len(r.retry) > 0 {
		r.markDirty()
	}
	r.statusMu.Lock()
	r.status = storeStatus{Digest: r.mat.Digest(), Seq: seq, Settled: settled, Entries: r.mat.Len(), Conflicts: r.mat.Conflicts(), At: time.Now(), Duration: time.Since(start)}
	r.statusMu.Unlock()
	r.resolvedOnce.Do(func() { close(r.resolved) })
	if written+removed > 0 {
		r.rounds.Add(1)
		r.log.Debug("replication: resolved", "rebuilt", len(upd), "written", written, "removed", removed, "took", time.Since(start))
	}
	return nil
}

// store writes the rebuilt entries that differ from the store's, and
// removes the entries no longer visible, as of state version seq. An
// entry a local write touched after seq, or whose parent is not stored
// yet, is left for the next resolution (r.retry).
//
// Each transaction (storeChunk entries) holds the write lock alone, and
// it is released between them: local writes and pulled changes wait for
// one transaction, not for the whole round (which, after a start or a
// long partition, writes many thousands). A local write between two
// transactions is seen by the next one (touchedSeq); a reinitialisation
// that installed a new State ends the round (errStateSwapped).
func (r *Replicator) store(ctx context.Context, seq uint64, upd []Entry, fps map[UUID]uint64, gone []UUID) (written, removed int, err error) {
	r.smu.RLock()
	state := r.state
	r.smu.RUnlock()
	lock := func() error {
		r.wmu.Lock()
		r.mmu.Lock()
		r.smu.RLock()
		swapped := r.state != state
		r.smu.RUnlock()
		if swapped {
			r.mmu.Unlock()
			r.wmu.Unlock()
			return errStateSwapped
		}
		return nil
	}
	unlock := func() {
		r.mmu.Unlock()
		r.wmu.Unlock()
	}
	// Removals first (they only free DNs), then the entries to write,
	// parents before children, in transactions of at most storeChunk
	// entries, halved while a transaction is too big for the store.
	// The mirror follows each committed transaction: should a later one
	// fail (a full disk), the next round must know the entries already
	// stored, or it would store a new entry under a DN already taken.
	for i := 0; i < len(gone); {
		if err := lock(); err != nil {
			return written, removed, err
		}
		var remove []directory.ID
		var removeU []UUID
		for ; i < len(gone) && len(remove) < storeChunk; i++ {
			u := gone[i]
			st, ok := r.mirror[u]
			if !ok {
				continue
			}
			if r.touchedSeq[u] > seq {
				r.retry[u] = struct{}{} // a local write changed it after this resolution
				continue
			}
			remove = append(remove, st.id)
			removeU = append(removeU, u)
		}
		done := 0
		err := r.replace(ctx, nil, remove, func(_, n int) {
			for _, u := range removeU[done : done+n] {
				delete(r.mirror, u)
			}
			done += n
		})
		unlock()
		removed += done
		if err != nil {
			return written, removed, err
		}
	}
	for i := 0; i < len(upd); {
		if err := lock(); err != nil {
			return written, removed, err
		}
		put, putFP, putU, err := r.storeBatch(upd, &i, seq, fps)
		done := 0
		if err == nil {
			err = r.replace(ctx, put, nil, func(n, _ int) {
				for j := done; j < done+n; j++ {
					r.mirror[putU[j]] = mirrored{put[j].ID, putFP[j]}
				}
				done += n
			})
		}
		unlock()
		written += done
		if err != nil {
			return written, removed, err
		}
		if r.afterStoreChunk != nil {
			r.afterStoreChunk()
		}
	}
	r.wmu.Lock()
	r.mmu.Lock()
	for u, s := range r.touchedSeq {
		if s <= seq {
			delete(r.touchedSeq, u) // this resolution saw the local write
		}
	}
	r.mmu.Unlock()
	r.wmu.Unlock()
	return written, removed, nil
}

// storeChunk is the most entries store writes or removes in one
// transaction.
const storeChunk = 500

// errStateSwapped ends a resolution whose State a reinitialisation
// replaced while it was writing: the next one starts from the new State.
var errStateSwapped = errors.New("replication: the State was replaced during the resolution")

// storeBatch makes the next transaction of store from upd[*i:], with
// wmu and mmu held: the entries that differ from the store's (at most
// storeChunk), their fingerprints and UUIDs, advancing *i past the
// entries it looked at; those to leave for the next round go to r.retry.
func (r *Replicator) storeBatch(upd []Entry, i *int, seq uint64, fps map[UUID]uint64) (put []*directory.Entry, putFP []uint64, putU []UUID, err error) {
	newIDs := map[UUID]directory.ID{}
	idOf := func(u UUID) (directory.ID, bool) {
		if m, ok := r.mirror[u]; ok {
			return m.id, true
		}
		id, ok := newIDs[u]
		return id, ok
	}
	for ; *i < len(upd) && len(put) < storeChunk; *i++ {
		m := &upd[*i]
		if r.touchedSeq[m.UUID] > seq {
			r.retry[m.UUID] = struct{}{} // a local write changed it after this resolution
			continue
		}
		fp, ok := fps[m.UUID] // the materialisation's, as resolve kept it
		if !ok {
			full := merge.Fingerprint(m)
			fp = fpKey(&full)
		}
		if old, ok := r.mirror[m.UUID]; ok && old.fp == fp {
			continue
		}
		var parent directory.ID
		if !m.Parent.IsRoot() {
			var ok bool
			if parent, ok = idOf(m.Parent); !ok {
				r.retry[m.UUID] = struct{}{}
				continue
			}
		}
		id, ok := idOf(m.UUID)
		if !ok {
			if id, err = r.eng.NewID(); err != nil {
				return nil, nil, nil, err
			}
			newIDs[m.UUID] = id
		}
		en := &directory.Entry{ID: id, ParentID: parent, DN: m.DN}
		for _, a := range m.Attrs {
			vals := make([][]byte, len(a.Values))
			for j, v := range a.Values {
				vals[j] = []byte(v)
			}
			en.Attrs = append(en.Attrs, directory.Attr{Name: a.Name, Values: vals})
		}
		put = append(put, en)
		putFP = append(putFP, fp)
		putU = append(putU, m.UUID)
	}
	return put, putFP, putU, nil
}

// replace writes put and removes remove through the engine, in halves
// (recursively) when they do not fit in one transaction, calling
// committed with the number of entries written and removed after each
// transaction that commits (in order: a prefix of put and of remove).
func (r *Replicator) replace(ctx context.Context, put []*directory.Entry, remove []directory.ID, committed func(put, removed int)) error {
	err := r.eng.ReplaceEntriesLogged(ctx, put, remove, r.clog)
	if err == nil {
		committed(len(put), len(remove))
		return nil
	}
	if !errors.Is(err, directory.ErrTxnTooBig) || len(put)+len(remove) < 2 {
		return err
	}
	if len(remove) > 1 {
		h := len(remove) / 2
		if err := r.replace(ctx, nil, remove[:h], committed); err != nil {
			return err
		}
		return r.replace(ctx, put, remove[h:], committed)
	}
	h := len(put) / 2
	if err := r.replace(ctx, put[:h], remove, committed); err != nil {
		return err
	}
	return r.replace(ctx, put[h:], nil, committed)
}

// ErrQuarantined is returned (wrapped) by ApplyRemote when a change's CSN
// is too far ahead of the local clock: its peer must be quarantined.
var ErrQuarantined = errors.New("replication: peer quarantined")

// ApplyRemote stores and applies changes pulled from a peer, with the
// peer's generation (adopted if this replica has none yet). It returns
// the number of changes that were new here. Changes of one origin must
// come in CSN order, each batch continuing where the vector stands (the
// supplier streams them so).
func (r *Replicator) ApplyRemote(ctx context.Context, gen Generation, ops []Op) (int, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	if r.joining.Load() {
		return 0, errJoining
	}
	r.smu.RLock()
	mine := r.generation
	vec := r.vector.Clone()
	r.smu.RUnlock()
	if !mine.IsZero() && mine != gen {
		return 0, fmt.Errorf("%w: generation %s, this replica's is %s", ErrReinit, gen, mine)
	}
	if r.reinit.isIncomplete() {
		return 0, fmt.Errorf("%w: this replica's data is incomplete (an interrupted reinitialisation)", ErrReinit)
	}
	r.pulled.Add(int64(len(ops)))
	self := r.Replica()
	fresh := ops[:0:0]
	for i := range ops {
		o := &ops[i]
		if o.Origin() == self || !vec[o.Origin()].Less(o.CSN) {
			continue
		}
		if err := r.clog.Clock().Observe(o.CSN); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrQuarantined, err)
		}
		vec[o.Origin()] = o.CSN
		fresh = append(fresh, *o)
	}
	if len(fresh) == 0 && !mine.IsZero() {
		return 0, nil
	}
	err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		for i := range fresh {
			if err := changelog.PutOp(tx, &fresh[i]); err != nil {
				return err
			}
		}
		if mine.IsZero() {
			return tx.PutRecord(keyGeneration, gen[:])
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	r.lockState()
	r.generation = gen
	for i := range fresh {
		r.state.Apply(&fresh[i])
	}
	r.vector = vec
	r.seq++
	r.publish()
	r.unlockState()
	r.applied.Add(int64(len(fresh)))
	if len(fresh) > 0 {
		r.markDirty()
	}
	return len(fresh), nil
}

// ErrReinit is returned (wrapped) when a replica cannot be brought up to
// date from the changes it lacks and must be reinitialised.
var ErrReinit = errors.New("replication: the replica must be reinitialised")

// Activity counts the changes this replica has taken (its own and its
// peers') and the resolutions that wrote entries: it moves while
// replication has work (what the server's memory limit follows).
func (r *Replicator) Activity() int64 {
	return r.applied.Load() + r.localOps.Load() + r.rounds.Load()
}

// Position returns the replica's generation and vector.
func (r *Replicator) Position() (Generation, Vector) {
	p := r.position()
	return p.gen, p.vector.Clone()
}

// A position is what publish makes of the replica's position.
type position struct {
	gen        Generation
	vector     Vector
	seq        uint64
	opFloor    Vector     // the op log's floors
	purgeFloor change.CSN // the State's
}

// publish publishes the position for readers without smu; the caller
// holds smu alone and calls it after each change of generation, vector,
// seq or floors.
func (r *Replicator) publish() {
	var purge change.CSN
	if r.state != nil {
		purge = r.state.Floor()
	}
	r.pos.Store(&position{gen: r.generation, vector: r.vector.Clone(), seq: r.seq, opFloor: r.floor.Clone(), purgeFloor: purge})
}

// position returns the last published position (empty before Open).
func (r *Replicator) position() *position {
	if p := r.pos.Load(); p != nil {
		return p
	}
	return &position{vector: Vector{}, opFloor: Vector{}}
}

// Status is the resolution state for the admin API.
func (r *Replicator) storeStatus() storeStatus {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	return r.status
}

// Conflicts lists the conflicts in the replicated state.
func (r *Replicator) Conflicts() []Conflict {
	r.smu.RLock()
	defer r.smu.RUnlock()
	return r.state.Conflicts()
}

// StoreDigest computes the digest of what the store holds, by reading
// every entry: it equals the state's digest once the store is settled.
func (r *Replicator) StoreDigest() ([32]byte, error) {
	var d merge.DigestSum
	err := r.fingerprintStored(func(_ *directory.Entry, _ UUID, fp *[32]byte) error {
		d.Add(fp)
		return nil
	})
	if err != nil {
		return [32]byte{}, err
	}
	return d.Sum(), nil
}
