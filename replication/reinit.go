package replication

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// Side records of the persistent State (see the package documentation).
var (
	keyReinit = []byte{directory.PrefixReplication, 'i'} // i -> reinitialisation in progress
)

// Reinitialisation phases, as ReinitStatus.Phase reports them.
const (
	ReinitFetching   = "fetching"     // receiving the snapshot; the replica serves its old data
	ReinitInstalling = "installing"   // replacing the replicated data; local writes refused
	ReinitResolving  = "resolving"    // writing the snapshot's entries to the store
	ReinitDone       = "done"         // the last reinitialisation completed
	ReinitFailed     = "failed"       // the last one failed before it changed anything
	ReinitNeeded     = "reinitialise" // the store's data is incomplete: reinitialise this replica
)

// ReinitStatus is where this replica's reinitialisation stands, for the
// admin API.
type ReinitStatus struct {
	Phase    string    `json:"phase,omitempty"`
	Peer     string    `json:"peer,omitempty"`
	Snapshot string    `json:"snapshot,omitempty"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished,omitzero"`
	// The transfer: chunks and entries received (in all: a snapshot
	// started again counts twice), bytes of entry state, the snapshot's
	// size in entries, reconnections that went on from the cursor, and
	// snapshots lost and started again.
	Chunks   int64 `json:"chunks"`
	Entries  int64 `json:"entries"`
	Bytes    int64 `json:"bytes"`
	Total    int   `json:"total"`
	Resumes  int64 `json:"resumes"`
	Restarts int64 `json:"restarts"`
	Carried  int   `json:"carried_changes"` // changes of this replica's op log kept above the snapshot
	// How long the transfer, the replacement of the replicated data
	// (local writes wait, then are refused) and the store's resolution took.
	Transfer string            `json:"transfer_took,omitempty"`
	Install  string            `json:"install_took,omitempty"`
	Resolve  string            `json:"resolve_took,omitempty"`
	Vector   map[string]string `json:"vector,omitempty"`
	Error    string            `json:"error,omitempty"`
	// Completed counts the reinitialisations completed since start.
	Completed int64 `json:"completed"`
}

// reinitTracker is the reinitialisation state of a Replicator.
type reinitTracker struct {
	mu      sync.Mutex
	running bool
	// marker: the `r i` record is written; the replicated data is being
	// replaced, and neither served nor written to.
	marker bool
	// incomplete: the marker was found at Open, or an installation failed
	// after writing it: the data is incomplete until a reinitialisation
	// completes.
	incomplete bool
	status     ReinitStatus
	baseCtx    context.Context

	completed atomic.Int64
	failed    atomic.Int64
}

// ErrReinitRunning is returned by Reinitialise while another runs.
var ErrReinitRunning = errors.New("replication: a reinitialisation is already running")

// ErrNoPeer reports a peer name the Replicator does not know.
var ErrNoPeer = errors.New("replication: no such peer")

func (t *reinitTracker) start(peer string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.running {
		return false
	}
	t.running = true
	t.status = ReinitStatus{Phase: ReinitFetching, Peer: peer, Started: time.Now(), Completed: t.completed.Load()}
	return true
}

func (t *reinitTracker) update(fn func(s *ReinitStatus)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fn(&t.status)
}

func (t *reinitTracker) setMarker(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.marker = on
	if on {
		t.incomplete = true // until the installation completes
	}
}

func (t *reinitTracker) finish(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running = false
	t.status.Finished = time.Now()
	if err == nil {
		t.incomplete, t.marker = false, false
		t.completed.Add(1)
		t.status.Phase, t.status.Error = ReinitDone, ""
	} else {
		t.failed.Add(1)
		t.status.Error = err.Error()
		t.marker = false
		t.status.Phase = ReinitFailed
		if t.incomplete {
			t.status.Phase = ReinitNeeded
		}
	}
	t.status.Completed = t.completed.Load()
}

// isIncomplete reports whether the data must not be used as a replica's
// (a reinitialisation was interrupted and none completed since).
func (t *reinitTracker) isIncomplete() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.incomplete && !t.running
}

// servable refuses to serve pulls and snapshots from incomplete data.
func (t *reinitTracker) servable() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.marker:
		return &ldap.Error{Code: ldap.Unavailable, Message: "replication: this replica is being reinitialised; its data is incomplete until that completes"}
	case t.incomplete:
		return &ldap.Error{Code: ldap.Unavailable, Message: "replication: this replica's reinitialisation did not complete; its data is incomplete until it is reinitialised"}
	}
	return nil
}

// writable refuses local writes while the data is replaced or incomplete.
func (t *reinitTracker) writable() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.marker:
		return &ldap.Error{Code: ldap.Unavailable, Message: "this replica is being reinitialised; retry shortly or write to another replica"}
	case t.incomplete:
		return &ldap.Error{Code: ldap.Unavailable, Message: "this replica's data is incomplete (an interrupted reinitialisation); reinitialise it first"}
	}
	return nil
}

func (t *reinitTracker) snapshot() ReinitStatus {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.status
	if t.incomplete && !t.running {
		s.Phase = ReinitNeeded
	}
	s.Completed = t.completed.Load()
	return s
}

// ReinitStatus returns where this replica's reinitialisation stands.
func (r *Replicator) ReinitStatus() ReinitStatus { return r.reinit.snapshot() }

// openReinit is called by Open in its view: it notes an interrupted
// reinitialisation and returns whether the data is incomplete.
func (r *Replicator) openReinit(v *directory.View) (bool, error) {
	m, err := v.Record(keyReinit)
	if err != nil {
		return false, err
	}
	if m != nil {
		r.reinit.mu.Lock()
		r.reinit.incomplete = true
		r.reinit.status = ReinitStatus{Phase: ReinitNeeded, Error: "a reinitialisation was interrupted: this replica's data is incomplete"}
		r.reinit.mu.Unlock()
		r.log.Error("replication: a reinitialisation of this replica was interrupted; it neither serves nor pulls changes until it is reinitialised again")
	}
	return m != nil, nil
}

// A fetchedSnapshot is a supplier's snapshot, received whole: the entry
// states as received (raw) and a State that holds their placements,
// reading the rest from raw when needed.
type fetchedSnapshot struct {
	id       SnapshotID
	gen      Generation
	supplier uint16
	vector   Vector
	state    *State
	raw      *rawStates
}

// rawStates are entry states as a snapshot sent them, back to back in
// UUID order (several times smaller than decoded): the source of a
// fetched snapshot's State until they are stored. They are held in
// memory (data), or, for a bulk join, written to a file (spill) so that
// the joiner's heap does not grow with the snapshot: in memory are then
// only each entry's UUID and end offset, 24 bytes.
type rawStates struct {
	uuids []UUID
	ends  []int64 // entry i is bytes ends[i-1] to ends[i] of data or the file
	data  []byte
	spill *os.File      // nil: in data
	w     *bufio.Writer // spill's buffered writer; flushed before reads
	size  int64         // bytes written to spill
}

// newSpilledStates returns rawStates kept in a new file in dir, which
// close removes.
func newSpilledStates(dir string) (*rawStates, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "snapshot-states-")
	if err != nil {
		return nil, err
	}
	return &rawStates{spill: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// close removes the file of spilled states.
func (r *rawStates) close() {
	if r != nil && r.spill != nil {
		r.spill.Close()
		os.Remove(r.spill.Name())
		r.spill = nil
	}
}

// reset empties r (the supplier lost the snapshot: it starts again).
func (r *rawStates) reset() error {
	r.uuids, r.ends, r.data = r.uuids[:0], r.ends[:0], r.data[:0]
	if r.spill == nil {
		return nil
	}
	r.w.Reset(r.spill)
	r.size = 0
	if err := r.spill.Truncate(0); err != nil {
		return err
	}
	_, err := r.spill.Seek(0, io.SeekStart)
	return err
}

func (r *rawStates) add(u UUID, b []byte) error {
	r.uuids = append(r.uuids, u)
	if r.spill != nil {
		if _, err := r.w.Write(b); err != nil {
			return fmt.Errorf("spill the snapshot's states: %w", err)
		}
		r.size += int64(len(b))
		r.ends = append(r.ends, r.size)
		return nil
	}
	r.data = append(r.data, b...)
	r.ends = append(r.ends, int64(len(r.data)))
	return nil
}

// reserve sizes the buffers, at the first chunk, for the whole snapshot
// (resp.Total entries of about the first chunk's mean size, and an
// eighth more), rather than copy hundreds of megabytes as they grow.
func (r *rawStates) reserve(resp *SnapshotResponse) {
	if len(r.uuids) != 0 || len(resp.Entries) == 0 || resp.Total <= len(resp.Entries) {
		return
	}
	size := 0
	for _, e := range resp.Entries {
		size += len(e.State)
	}
	total := min(resp.Total, 1<<24) // bounds against a wild Total
	r.uuids = slices.Grow(r.uuids, total)
	r.ends = slices.Grow(r.ends, total)
	if r.spill == nil {
		r.data = slices.Grow(r.data, min(size/len(resp.Entries)*total/8*9, 1<<32))
	}
}

// flush makes what add wrote readable.
func (r *rawStates) flush() error {
	if r.spill == nil {
		return nil
	}
	return r.w.Flush()
}

// entry returns entry i's state: a slice of data, or read from the file.
func (r *rawStates) entry(i int) ([]byte, error) {
	start := int64(0)
	if i > 0 {
		start = r.ends[i-1]
	}
	if r.spill == nil {
		return r.data[start:r.ends[i]:r.ends[i]], nil
	}
	buf := make([]byte, r.ends[i]-start)
	if _, err := r.spill.ReadAt(buf, start); err != nil {
		return nil, fmt.Errorf("read the snapshot's spilled states: %w", err)
	}
	return buf, nil
}

// each calls fn with every entry's index and state, in order; b is
// valid only during the call.
func (r *rawStates) each(fn func(i int, b []byte) error) error {
	if r.spill == nil {
		for i := range r.uuids {
			b, _ := r.entry(i)
			if err := fn(i, b); err != nil {
				return err
			}
		}
		return nil
	}
	in := bufio.NewReaderSize(io.NewSectionReader(r.spill, 0, r.size), 1<<20)
	var buf []byte
	start := int64(0)
	for i, end := range r.ends {
		n := int(end - start)
		buf = slices.Grow(buf[:0], n)[:n]
		if _, err := io.ReadFull(in, buf); err != nil {
			return fmt.Errorf("read the snapshot's spilled states: %w", err)
		}
		if err := fn(i, buf); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// EntryState implements StateSource.
func (r *rawStates) EntryState(u UUID) ([]byte, error) {
	i, ok := slices.BinarySearchFunc(r.uuids, u, UUID.Compare)
	if !ok {
		return nil, nil
	}
	return r.entry(i)
}

// snapshotRetries bounds the consecutive failed requests of a transfer.
const snapshotRetries = 10

// Reinitialise replaces this replica's replicated data with a snapshot
// of the peer cfg names, online: the snapshot is fetched in chunks
// (resuming from the cursor after a dropped connection, starting again
// if the supplier lost it) while the replica keeps serving its old data;
// then, local writes refused, every op log record, state record and
// floor is replaced, the store is resolved to the snapshot, and pulls go
// on incrementally from the snapshot's vector. Changes of this replica's
// op log above the snapshot's vector, in the same generation, are kept.
func (r *Replicator) Reinitialise(ctx context.Context, cfg PeerConfig) error {
	if r.joining.Load() {
		return errJoining
	}
	if !r.reinit.start(cfg.Name) {
		return ErrReinitRunning
	}
	return r.reinitialise(ctx, cfg, "")
}

// Join is Reinitialise for a store that holds no entries (switchboard
// replica join): the snapshot's entries and entry states are written by
// the engine's bulk loader (directory.Loader, as an import), not
// transaction by transaction. tmpDir receives the loader's sorted runs.
//
// Join owns the engine: from its start this Replicator resolves, applies
// pulled changes, stores its state and takes local writes no more
// (errJoining), whatever the outcome, and the engine refuses every other
// write while the loader runs. The engine must be closed afterwards, not
// served from: the load replaced its tables underneath it (the next Open
// reads them). A crash during the load leaves a store that the next Open
// empties (directory.Loader), or one marked as an interrupted
// reinitialisation: either way, join again.
func (r *Replicator) Join(ctx context.Context, cfg PeerConfig, tmpDir string) error {
	if r.eng.EntryCount() != 0 {
		return fmt.Errorf("replication: join: %w", directory.ErrNotEmpty)
	}
	// Under both locks: a resolution, an application of pulled changes
	// or a maintenance round under way ends first; the later ones see
	// the flag.
	r.rmu.Lock()
	r.wmu.Lock()
	first := r.joining.CompareAndSwap(false, true)
	r.wmu.Unlock()
	r.rmu.Unlock()
	if !first {
		return fmt.Errorf("replication: join: %w", ErrReinitRunning)
	}
	if !r.reinit.start(cfg.Name) {
		return ErrReinitRunning
	}
	return r.reinitialise(ctx, cfg, tmpDir)
}

// errJoining refuses what a Replicator would do to its engine once Join
// took it over.
var errJoining = errors.New("replication: this replica's store is being joined to its peers (replica join); it must be opened again afterwards")

// reinitialise is Reinitialise once marked running; with bulk set, Join
// (bulk is the loader's directory).
func (r *Replicator) reinitialise(ctx context.Context, cfg PeerConfig, bulk string) error {
	start := time.Now()
	r.log.Info("replication: reinitialising this replica from a peer's snapshot", "peer", cfg.Name, "url", cfg.URL)
	snap, err := r.fetchSnapshot(ctx, cfg, bulk)
	if snap != nil {
		defer snap.raw.close()
		if bulk != "" && r.joinPoint != nil {
			r.joinPoint("fetched")
		}
	}
	took := time.Since(start)
	r.reinit.update(func(s *ReinitStatus) { s.Transfer = took.String() })
	if err == nil {
		err = r.install(ctx, snap, bulk)
	}
	r.reinit.finish(err)
	if err != nil {
		r.log.Error("replication: reinitialisation failed", "peer", cfg.Name, "err", err)
		return fmt.Errorf("replication: reinitialise from %s: %w", cfg.Name, err)
	}
	st := r.reinit.snapshot()
	r.log.Info("replication: reinitialised", "peer", cfg.Name, "entries", st.Entries, "bytes", st.Bytes, "chunks", st.Chunks,
		"resumes", st.Resumes, "restarts", st.Restarts, "took", time.Since(start))
	for _, p := range r.Peers() {
		p.clearReinit()
	}
	return nil
}

// clearReinit lets a peer refused for want of a reinitialisation be
// pulled from again.
func (p *Peer) clearReinit() {
	p.mu.Lock()
	if p.reinit {
		p.reinit, p.lastErr = false, ""
		if !p.paused && !p.quarantined {
			p.state = PeerConnecting
		}
	}
	p.mu.Unlock()
	p.wakeUp()
}

// retryPeersOf lets the peers this replica pulls from replica id try
// again at once if they were refused or failing: id just pulled with a
// vector this replica serves, so it may have been reinitialised since,
// and the link to it is likely up again (a healed partition is caught
// up from the first pull either side makes, not after a backoff).
func (r *Replicator) retryPeersOf(id uint16) {
	for _, p := range r.Peers() {
		p.mu.Lock()
		refused := p.reinit && p.supplierID == id
		failing := p.state == PeerError && p.supplierID == id
		p.mu.Unlock()
		switch {
		case refused:
			p.clearReinit()
		case failing:
			p.wakeUp()
		}
	}
}

// Snapshot transfer timeouts: the first request of a snapshot waits for
// the supplier to take it (it encodes its whole State, about a second
// per 100,000 entries on a quiet machine, far longer on a loaded one at
// a million), the others for one chunk. A request that times out is
// retried from the cursor, but a first one retried asks for a new
// snapshot, which the supplier would take again from the start.
const (
	snapshotTakeTimeout  = 10 * time.Minute
	snapshotChunkTimeout = 30 * time.Second
)

// A snapshotChunk is one response of a snapshot transfer, as the
// fetching goroutine hands it on (fetchChunks).
type snapshotChunk struct {
	resp *SnapshotResponse
	// restart: the supplier lost the snapshot; resp is the first chunk
	// of a new one, and what was received so far is void.
	restart bool
	err     error
}

// fetchSnapshot receives a whole snapshot from the peer into a new State.
// One goroutine requests the chunks (fetchChunks) while this one checks
// and loads the chunk before: the supplier encodes and sends the next
// chunk while this replica decodes the last.
//
// With spillDir set (a bulk join), the entry states are written to a
// file there rather than held in memory, and only their heads (what
// resolving names needs) are decoded: bulkStore decodes the rest once,
// as it materialises the entries, and checks the states it did not
// decode (see bulkStore). Without it every state is checked whole here,
// before install replaces anything.
func (r *Replicator) fetchSnapshot(ctx context.Context, cfg PeerConfig, spillDir string) (_ *fetchedSnapshot, err error) {
	ctx, cancel := context.WithCancel(ctx)
	chunks := make(chan snapshotChunk, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(chunks)
		r.fetchChunks(ctx, cfg, chunks)
	}()
	defer func() {
		cancel()
		<-done
	}()
	var snap *fetchedSnapshot
	var raw *rawStates
	if spillDir != "" {
		if raw, err = newSpilledStates(spillDir); err != nil {
			return nil, err
		}
	} else {
		raw = &rawStates{}
	}
	defer func() {
		if err != nil {
			raw.close()
		}
	}()
	for c := range chunks {
		if c.err != nil {
			return nil, c.err
		}
		resp := c.resp
		if c.restart {
			snap = nil
			if err := raw.reset(); err != nil {
				return nil, err
			}
			r.reinit.update(func(s *ReinitStatus) { s.Restarts++ })
		}
		if resp.Supplier == r.Replica() {
			return nil, fmt.Errorf("the peer has this replica's ID %d: replica IDs must be unique", resp.Supplier)
		}
		if err := checkSealing(cfg.Name, resp.Sealing, r.eng.Sealer()); err != nil {
			return nil, err
		}
		if snap == nil {
			if resp.Generation.IsZero() {
				return nil, errors.New("the supplier holds no data")
			}
			snap = &fetchedSnapshot{id: resp.ID, gen: resp.Generation, supplier: resp.Supplier, vector: resp.Vector,
				state: merge.NewState(r.schema), raw: raw}
			snap.state.SetSealer(r.eng.Sealer()) // sealed values are checked, and stay sealed in raw
			cache := r.cfg.StateCacheEntries
			if spillDir != "" {
				// A bulk join reads each entry's stamps once, in
				// bulkStore, in the order it loads them: a cache
				// would only hold decoded states no one reads again.
				cache = 1
			}
			snap.state.SetSource(snap.raw, cache)
			snap.state.SetFloor(resp.Floor)
			r.reinit.update(func(s *ReinitStatus) {
				s.Snapshot, s.Total, s.Vector = resp.ID.String(), resp.Total, vectorText(resp.Vector)
			})
		} else if resp.ID != snap.id || resp.Generation != snap.gen {
			return nil, fmt.Errorf("%w: a chunk of snapshot %s answered for snapshot %s", wire.ErrWire, resp.ID, snap.id)
		}
		snap.raw.reserve(resp)
		n := 0
		for _, e := range resp.Entries {
			// Kept encoded: the State holds only what resolving names
			// needs, and reads the rest when needed.
			if spillDir == "" {
				if err := snap.state.CheckEntryState(e.State); err != nil {
					return nil, fmt.Errorf("snapshot entry %s: %w", e.UUID, err)
				}
			}
			if err := snap.raw.add(e.UUID, e.State); err != nil {
				return nil, err
			}
			if err := snap.state.LoadEntrySkeleton(e.UUID, e.State); err != nil {
				return nil, fmt.Errorf("snapshot entry %s: %w", e.UUID, err)
			}
			n += len(e.State)
		}
		r.reinit.update(func(s *ReinitStatus) { s.Chunks++; s.Entries += int64(len(resp.Entries)); s.Bytes += int64(n) })
		if resp.Done {
			if err := raw.flush(); err != nil {
				return nil, fmt.Errorf("spill the snapshot's states: %w", err)
			}
			return snap, nil
		}
	}
	// fetchChunks ended without a last chunk or an error to send: ctx
	// ended.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, errors.New("the snapshot transfer ended early")
}

// fetchChunks requests a snapshot's chunks from the peer, in order, and
// sends them to out until the last (Done), an error, or the end of ctx.
// It resumes from the cursor after a dropped connection and starts again
// if the supplier lost the snapshot. It checks that every chunk's
// entries follow the cursor; their states are checked by the receiver.
func (r *Replicator) fetchChunks(ctx context.Context, cfg PeerConfig, out chan<- snapshotChunk) {
	p := &Peer{cfg: cfg, r: r}
	var conn *goldap.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	send := func(c snapshotChunk) bool {
		select {
		case out <- c:
			return true
		case <-ctx.Done():
			return false
		}
	}
	var id SnapshotID
	var gen Generation
	var cursor UUID
	restart := false
	failures := 0
	backoff := 100 * time.Millisecond
	retry := func(err error) error {
		if conn != nil {
			conn.Close()
			conn = nil
		}
		failures++
		if failures > snapshotRetries || !retryable(err) {
			return err
		}
		r.log.Warn("replication: snapshot transfer interrupted; resuming", "peer", cfg.Name, "err", err, "attempt", failures)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
		return nil
	}
	dropped := false
	for {
		if err := ctx.Err(); err != nil {
			send(snapshotChunk{err: err})
			return
		}
		if conn == nil {
			var err error
			if conn, err = p.dial(); err != nil {
				if err := retry(err); err != nil {
					send(snapshotChunk{err: err})
					return
				}
				dropped = true
				continue
			}
		}
		q := &SnapshotRequest{ID: id, Consumer: r.Replica(), After: cursor, MaxBytes: cfg.SnapshotChunk}
		if id.IsZero() {
			conn.SetTimeout(snapshotTakeTimeout)
		} else {
			conn.SetTimeout(snapshotChunkTimeout)
		}
		resp, err := requestSnapshot(conn, q)
		if err != nil {
			if err := retry(err); err != nil {
				send(snapshotChunk{err: err})
				return
			}
			dropped = true
			continue
		}
		failures, backoff = 0, 100*time.Millisecond
		if dropped && !id.IsZero() && resp.Status == SnapshotOK {
			r.reinit.update(func(s *ReinitStatus) { s.Resumes++ })
		}
		dropped = false
		if resp.Status == SnapshotGone {
			if id.IsZero() {
				send(snapshotChunk{err: fmt.Errorf("%w: the supplier lost a snapshot it had not given", wire.ErrWire)})
				return
			}
			r.log.Warn("replication: the supplier no longer holds the snapshot; starting again", "peer", cfg.Name, "reason", resp.Reason)
			id, gen, cursor, restart = SnapshotID{}, Generation{}, UUID{}, true
			continue
		}
		if id.IsZero() {
			id, gen = resp.ID, resp.Generation
		} else if resp.ID != id || resp.Generation != gen {
			send(snapshotChunk{err: fmt.Errorf("%w: a chunk of snapshot %s answered for snapshot %s", wire.ErrWire, resp.ID, id)})
			return
		}
		if len(resp.Entries) > 0 {
			// The decoder checked their order; the first must follow
			// the cursor.
			if first := resp.Entries[0].UUID; first.Compare(cursor) <= 0 {
				send(snapshotChunk{err: fmt.Errorf("%w: snapshot entry %s is not after the cursor %s", wire.ErrWire, first, cursor)})
				return
			}
			cursor = resp.Entries[len(resp.Entries)-1].UUID
		}
		if !send(snapshotChunk{resp: resp, restart: restart}) {
			return
		}
		restart = false
		if resp.Done {
			return
		}
	}
}

// retryable reports whether a snapshot request may be tried again: a
// network failure or a busy supplier, not a refusal.
func retryable(err error) bool {
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.LDAPResultInsufficientAccessRights, goldap.LDAPResultInvalidCredentials, goldap.LDAPResultProtocolError,
			goldap.LDAPResultUnwillingToPerform, goldap.LDAPResultConfidentialityRequired:
			return false
		}
	}
	return !errors.Is(err, wire.ErrWire) && !errors.Is(err, merge.ErrEntryStateSyntax) && !errors.Is(err, ErrSealing) && !errors.Is(err, directory.ErrSealed) && !errors.Is(err, merge.ErrSealed)
}

func requestSnapshot(conn *goldap.Conn, q *SnapshotRequest) (*SnapshotResponse, error) {
	req := goldap.NewExtendedRequest(OIDSnapshot, ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, string(q.AppendBinary(nil)), ""))
	res, err := conn.Extended(req)
	if err != nil {
		return nil, err
	}
	if res.Value == nil {
		return nil, fmt.Errorf("%w: snapshot response without a value", wire.ErrWire)
	}
	return wire.DecodeSnapshotResponse(res.Value.Data.Bytes())
}

// recordBatch bounds the records of one install transaction.
const recordBatch = 5000

// install replaces the replica's replicated data with snap. See
// Reinitialise.
func (r *Replicator) install(ctx context.Context, snap *fetchedSnapshot, bulk string) error {
	clock := r.clog.Clock()
	var top change.CSN
	for _, c := range snap.vector {
		if top.Less(c) {
			top = c
		}
	}
	if err := clock.Observe(top); err != nil {
		return fmt.Errorf("%w: %w", ErrQuarantined, err)
	}
	start := time.Now()
	r.reinit.update(func(s *ReinitStatus) { s.Phase = ReinitInstalling })

	// Wait for the write in progress; the ones after it are refused
	// until the installation completes.
	r.wmu.Lock()
	locked := true
	defer func() {
		if locked {
			r.wmu.Unlock()
		}
	}()
	r.reinit.mu.Lock()
	wasIncomplete := r.reinit.incomplete
	r.reinit.mu.Unlock()
	// Changes of this replica's op log above the snapshot's vector are
	// kept when they continue it: same generation, the log of their
	// origin starts at or below the snapshot's vector, and none of the
	// origin's changes above that vector is below the snapshot's purge
	// floor (staleOrigins).
	r.smu.RLock()
	sameGen := r.generation == snap.gen && !wasIncomplete
	myFloor := r.floor.Clone()
	r.smu.RUnlock()
	var stale map[uint16]change.CSN
	if sameGen {
		var err error
		if stale, err = r.staleOrigins(snap.vector, snap.state.Floor()); err != nil {
			return fmt.Errorf("read the change log: %w", err)
		}
	}
	keep := func(c change.CSN) bool {
		f := myFloor[c.Replica]
		_, cut := stale[c.Replica]
		return sameGen && !cut && snap.vector[c.Replica].Less(c) && !snap.vector[c.Replica].Less(f)
	}
	for o, first := range stale {
		r.log.Warn("replication: this replica's log holds changes the snapshot's supplier purged past (this replica was cut off for longer than the tombstone window); they are dropped",
			"origin", o, "from", first, "purge_floor", snap.state.Floor())
	}
	if err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		return tx.PutRecord(keyReinit, snap.id[:])
	}); err != nil {
		return err
	}
	r.reinit.setMarker(true)

	// The change log: replicated ops are dropped unless kept; what
	// change feeds read of a change the store saw stays (without its op)
	// while it is above the new floor of its origin, so that the feed
	// goes on across the reinitialisation: the store's entries are
	// rewritten below through the log, and an RFC 4533 consumer is
	// brought from its cookie to the new content like any other change.
	var carried []Op
	sealer := r.eng.Sealer()
	err := r.sweepLog(ctx, func(k, val []byte) ([]byte, bool, error) {
		c, err := change.DecodeCSN(k[len(changelog.KeyRecords)+2:])
		if err != nil {
			return nil, false, nil
		}
		rec, err := changelog.DecodeRecord(val, sealer)
		if err != nil {
			return nil, false, nil
		}
		if rec.Replicated && keep(c) {
			carried = append(carried, rec.Op)
			return nil, true, nil
		}
		if !rec.Feed || !r.clog.FeedsOrigin(c.Replica) || !snap.vector[c.Replica].Less(c) {
			return nil, false, nil
		}
		if !rec.Replicated {
			return nil, true, nil
		}
		rec.Replicated = false
		rec.Op = Op{CSN: rec.Op.CSN, Kind: rec.Op.Kind, Entry: rec.Op.Entry, Attrs: rec.Op.Attrs, Mods: rec.Op.Mods}
		return rec.AppendBinary(nil, sealer), true, nil
	})
	for _, p := range [][]byte{keyEntryState, keyCheckpoint, keyStoreMark, changelog.KeyFloors} {
		if err != nil {
			break
		}
		err = r.deleteRecords(ctx, p, nil)
	}
	if err != nil {
		return fmt.Errorf("clear the replicated data: %w", err)
	}

	// The snapshot's State (as received; with bulk, the loader writes
	// it with the entries), then its floors and checkpoint.
	raw := snap.raw
	for start := 0; bulk == "" && start < len(raw.uuids); start += recordBatch {
		end := min(start+recordBatch, len(raw.uuids))
		err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
			for i := start; i < end; i++ {
				b, err := raw.entry(i)
				if err != nil {
					return err
				}
				if err := tx.PutRecord(entryStateKey(raw.uuids[i]), b); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("write the snapshot's state: %w", err)
		}
	}
	ckpt := appendCheckpoint(nil, snap.state.Floor(), snap.vector)
	err = r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		for o, c := range snap.vector {
			if err := tx.PutRecord(changelog.FloorKey(o), c.AppendBinary(nil)); err != nil {
				return err
			}
		}
		if err := tx.PutRecord(keyGeneration, snap.gen[:]); err != nil {
			return err
		}
		return tx.PutRecord(keyCheckpoint, ckpt)
	})
	if err != nil {
		return fmt.Errorf("write the snapshot's checkpoint: %w", err)
	}
	// End every subscription to the engine's stream (persistent RFC 4533
	// sessions and persistent searches): they search again and are
	// brought up to date from their cookies.
	r.eng.Changes().EndAll(errReinitialised)

	state := snap.state
	if bulk == "" {
		// Stored above already: its entries' stamps are read back
		// from the store from now on.
		state.SetSource(storeSource{r.eng}, r.cfg.StateCacheEntries)
	}
	state.TakeUnsaved()
	state.Saved()
	vec := snap.vector.Clone()
	for i := range carried {
		state.Apply(&carried[i])
		if vec[carried[i].Origin()].Less(carried[i].CSN) {
			vec[carried[i].Origin()] = carried[i].CSN
		}
	}
	r.lockState()
	r.state, r.vector, r.floor, r.generation = state, vec, snap.vector.Clone(), snap.gen
	r.seq++
	r.unstoredAll, r.unstored = true, nil
	r.publish()
	r.unlockState()
	r.ckptMu.Lock()
	r.ckpt, r.ckptFloor, r.ckptMark = snap.vector.Clone(), snap.state.Floor(), nil
	r.ckptMu.Unlock()
	installed := time.Now()
	r.reinit.update(func(s *ReinitStatus) {
		s.Phase, s.Carried, s.Vector, s.Install = ReinitResolving, len(carried), vectorText(vec), installed.Sub(start).String()
	})
	r.wmu.Unlock()
	locked = false

	// The store: every entry rewritten or removed as the new State
	// resolves. Local writes are still refused, so nothing is skipped.
	if bulk != "" {
		// The loader leaves the marker out: it is gone once the load is.
		if err := r.bulkStore(ctx, raw, bulk); err != nil {
			return fmt.Errorf("write the snapshot's entries: %w", err)
		}
		// The store now holds the checkpointed State's materialisation
		// and nothing else: a store mark with nothing pending lets the
		// first start resume from it instead of rebuilding every entry
		// (about 7 minutes of resolution under the State's lock at 1M).
		// Changes carried from the log would be pending: none are in
		// the empty store a join starts from, and without a mark the
		// first start rebuilds, as before.
		if len(carried) == 0 {
			mark := appendStoreMark(nil, ckpt, nil)
			if err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error { return tx.PutRecord(keyStoreMark, mark) }); err != nil {
				return fmt.Errorf("mark the joined store: %w", err)
			}
		}
	} else if err := r.resolve(ctx); err != nil {
		return fmt.Errorf("write the snapshot's entries: %w", err)
	}
	r.reinit.update(func(s *ReinitStatus) { s.Resolve = time.Since(installed).String() })
	if bulk == "" {
		if err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error { return tx.DeleteRecord(keyReinit) }); err != nil {
			return err
		}
	}
	r.reinit.setMarker(false)
	r.markDirty()
	return nil
}

// staleOrigins returns, per origin, the first change of the change log
// above vector that is below floor (a snapshot's vector and purge
// floor), for the origins that have one. A replica cut off for longer
// than the tombstone window may hold such changes of its own: its
// supplier never had them and purged the tombstones they may name, so
// they cannot be carried across a reinitialisation from it (carried,
// they would be changes below the replica's new purge floor that its
// peers lack: stale would refuse every peer, for good). Nor can that
// origin's later changes, which continue them: what a replica serves of
// an origin is a prefix of its history.
func (r *Replicator) staleOrigins(vector Vector, floor change.CSN) (map[uint16]change.CSN, error) {
	if floor.IsZero() {
		return nil, nil
	}
	out := map[uint16]change.CSN{}
	err := r.eng.View(func(v *directory.View) error {
		for _, o := range opOrigins(v) {
			after := vector[o]
			if !after.Less(floor) {
				continue // every change above the vector is above the floor
			}
			p := changelog.OriginPrefix(o)
			err := changelog.ScanFlags(v, p, after.AppendBinary(bytes.Clone(p)), false, func(k []byte, flags byte) (bool, error) {
				c, err := change.DecodeCSN(k[len(p):])
				if err != nil {
					return false, err
				}
				if !after.Less(c) || flags&changelog.FlagReplicated == 0 {
					return true, nil // what the snapshot has, or what peers never pull
				}
				if c.Less(floor) {
					out[o] = c
				}
				return false, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// bulkStore writes the State's entries, as it materialises them, and the
// snapshot's entry states with the engine's bulk loader into a store
// that holds no entries (Join). The State reads its evicted entries
// from raw until the load is done, from the store afterwards.
//
// Materialising decodes the state of every visible live entry (and
// fails, State.Err, on one it cannot read); the other states (deleted
// entries, glue) are checked whole as they are added to the load, so
// that every state is decoded once and none that is stored unchecked.
// The entries are not kept: the Replicator is not used after a Join.
func (r *Replicator) bulkStore(ctx context.Context, raw *rawStates, tmpDir string) error {
	l, err := r.eng.NewLoader(tmpDir)
	if err != nil {
		return err
	}
	if err := l.Omit(keyReinit); err != nil {
		l.Cancel()
		return err
	}
	// Stored as the resolution would store them (ReplaceEntries): what
	// the merge made of the replicas' checked writes, unchecked.
	l.Resolved()
	r.lockState()
	state := r.state
	decoded := make([]uint64, (len(raw.uuids)+63)/64) // bit i: raw entry i was decoded
	records := func(yield func(directory.LoadRecord, error) bool) {
		state.MaterializeEach(func(e *Entry) bool {
			if !e.Glue {
				if i, ok := slices.BinarySearchFunc(raw.uuids, e.UUID, UUID.Compare); ok {
					decoded[i/64] |= 1 << (i % 64)
				}
			}
			return yield(directory.LoadRecord{DN: e.DN, Attrs: dirAttrs(e.Attrs)}, nil)
		})
	}
	n, err := l.Load(ctx, records, runtime.GOMAXPROCS(0), nil)
	if err == nil {
		err = state.Err()
	}
	if err == nil {
		err = raw.each(func(i int, b []byte) error {
			if decoded[i/64]&(1<<(i%64)) == 0 {
				if err := state.CheckEntryState(b); err != nil {
					return fmt.Errorf("snapshot entry %s: %w", raw.uuids[i], err)
				}
			}
			return l.AddRecord(entryStateKey(raw.uuids[i]), b)
		})
	}
	r.unlockState()
	if err != nil {
		l.Cancel()
		return err
	}
	if err := l.Finish(); err != nil {
		return err
	}
	r.lockState()
	state.SetSource(storeSource{r.eng}, r.cfg.StateCacheEntries)
	r.unlockState()
	r.rmu.Lock()
	r.mat, r.matOf = merge.NewShown(), nil // what it showed is not kept
	r.rmu.Unlock()
	r.log.Info("replication: entries bulk loaded", "entries", n, "states", len(raw.uuids))
	return nil
}

// dirAttrs converts materialised attributes to the engine's.
func dirAttrs(attrs []Attribute) []directory.Attr {
	out := make([]directory.Attr, 0, len(attrs))
	for _, a := range attrs {
		vals := make([][]byte, len(a.Values))
		for j, v := range a.Values {
			vals[j] = []byte(v)
		}
		out = append(out, directory.Attr{Name: a.Name, Values: vals})
	}
	return out
}

// deleteRecords deletes every record under prefix, in batches, except
// those keep (nil: none) says to keep.
func (r *Replicator) deleteRecords(ctx context.Context, prefix []byte, keep func(k, v []byte) (bool, error)) error {
	var next []byte
	for {
		var del [][]byte
		var last []byte
		err := r.eng.View(func(v *directory.View) error {
			return v.Records(prefix, next, false, func(k, val []byte) (bool, error) {
				if next != nil && bytes.Equal(k, next) {
					return true, nil
				}
				last = bytes.Clone(k)
				if keep != nil {
					if ok, err := keep(k, val); err != nil || ok {
						return err == nil && len(del) < recordBatch, err
					}
				}
				del = append(del, last)
				return len(del) < recordBatch, nil
			})
		})
		if err != nil {
			return err
		}
		if len(del) > 0 {
			if err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
				for _, k := range del {
					if err := tx.DeleteRecord(k); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if last == nil || bytes.Equal(last, next) {
			return nil
		}
		next = last
	}
}

// sweepLog goes through the change log in batches: fn returns, for each
// record, whether it stays and, if so, a new value for it (nil: as it
// is); a record that does not stay is deleted.
func (r *Replicator) sweepLog(ctx context.Context, fn func(k, v []byte) (rewrite []byte, keep bool, err error)) error {
	var next []byte
	for {
		var del, put, putVal [][]byte
		var last []byte
		err := r.eng.View(func(v *directory.View) error {
			return v.Records(changelog.KeyRecords, next, false, func(k, val []byte) (bool, error) {
				if next != nil && bytes.Equal(k, next) {
					return true, nil
				}
				last = bytes.Clone(k)
				nv, ok, err := fn(k, val)
				switch {
				case err != nil:
					return false, err
				case !ok:
					del = append(del, last)
				case nv != nil:
					put, putVal = append(put, last), append(putVal, nv)
				}
				return len(del)+len(put) < recordBatch, nil
			})
		})
		if err != nil {
			return err
		}
		if len(del)+len(put) > 0 {
			if err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
				for _, k := range del {
					if err := tx.DeleteRecord(k); err != nil {
						return err
					}
				}
				for i, k := range put {
					if err := changelog.PutRecord(tx, k, putVal[i]); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if last == nil || bytes.Equal(last, next) {
			return nil
		}
		next = last
	}
}

// errReinitialised ends the engine's stream subscriptions when the
// store was reinitialised under them.
var errReinitialised = errors.New("replication: the replica was reinitialised from a snapshot")

// registerReinitMetrics adds the snapshot and reinitialisation metrics.
func (r *Replicator) registerReinitMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_replication_reinitialisations_total", Help: "Reinitialisations of this replica from a peer's snapshot that completed."},
			func() float64 { return float64(r.reinit.completed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_replication_reinitialisation_failures_total", Help: "Reinitialisations of this replica that failed."},
			func() float64 { return float64(r.reinit.failed.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_reinitialising", Help: "1 while this replica is being reinitialised or must be (its data is incomplete)."},
			func() float64 {
				if r.ReinitStatus().Phase == ReinitNeeded || r.reinit.runningNow() {
					return 1
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_replication_snapshots_taken_total", Help: "Snapshots taken for consumers to reinitialise from."},
			func() float64 { _, _, n := r.snaps.heldSnapshots(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_snapshot_bytes", Help: "Memory held by the snapshots being served."},
			func() float64 { _, b, _ := r.snaps.heldSnapshots(); return float64(b) }),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (t *reinitTracker) runningNow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.running
}

func (t *reinitTracker) setContext(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.baseCtx = ctx
}

func (t *reinitTracker) context() context.Context {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.baseCtx == nil {
		return context.Background()
	}
	return t.baseCtx
}

// StartReinit starts reinitialising this replica from the named peer, in
// the background (ReinitStatus reports its progress); chunk, if
// positive, sizes the snapshot's chunks. It fails with ErrNoPeer or
// ErrReinitRunning.
func (r *Replicator) StartReinit(peer string, chunk int) error {
	p := r.Peer(peer)
	if p == nil {
		return fmt.Errorf("%w: %q", ErrNoPeer, peer)
	}
	cfg := p.cfg
	if chunk > 0 {
		cfg.SnapshotChunk = chunk
	}
	if !r.reinit.start(cfg.Name) {
		return ErrReinitRunning
	}
	go r.reinitialise(r.reinit.context(), cfg, "")
	return nil
}
