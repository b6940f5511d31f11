package replication

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// Snapshot limits of a supplier.
const (
	// maxHeldSnapshots bounds the snapshots a supplier holds at once.
	maxHeldSnapshots = 2
	// snapshotIdle is how long a snapshot nobody asks for is kept.
	snapshotIdle = 3 * time.Minute
	// snapshotChunkBytes is the default size of one response's entries.
	snapshotChunkBytes = 4 << 20
	// snapshotMinChunkBytes bounds how small a consumer may ask chunks to
	// be (a chunk always holds at least one entry).
	snapshotMinChunkBytes = 1 << 10
)

// A heldSnapshot is the replicated State of a supplier at one vector,
// encoded: every entry's State.AppendEntryState back to back in data, in
// UUID order. The encoded form is what is sent, and is several times
// smaller than a State.Clone (no maps, no pointers): about the size of
// the entries' data plus two bytes of stamps per value.
type heldSnapshot struct {
	id       SnapshotID
	consumer uint16
	gen      Generation
	floor    change.CSN
	vector   Vector
	uuids    []UUID
	ends     []int // entry i is data[ends[i-1]:ends[i]]
	data     []byte
	lastUsed time.Time
}

func (h *heldSnapshot) entry(i int) []byte {
	start := 0
	if i > 0 {
		start = h.ends[i-1]
	}
	return h.data[start:h.ends[i]]
}

// snapshotStore holds a supplier's snapshots.
type snapshotStore struct {
	mu    sync.Mutex
	held  map[SnapshotID]*heldSnapshot
	timer *time.Timer
	taken int64
	// taking: the bytes reserved by the snapshot being taken (its
	// buffer, sized from its first entries), for heapBytes.
	taking atomic.Int64
}

// errSnapshotBusy is returned when the supplier already holds as many
// snapshots as it may, all in use.
var errSnapshotBusy = &ldap.Error{Code: ldap.Busy, Message: "replication snapshot: the supplier is serving as many snapshots as it may; retry later"}

// Snapshot answers a snapshot request: the entries of the snapshot q.ID
// after q.After, about q.MaxBytes of them (4 MB by default). A request
// with no ID takes a new snapshot of the replicated State, under the
// state's read lock, at the vector it stands at.
func (r *Replicator) Snapshot(q *SnapshotRequest) (*SnapshotResponse, error) {
	if err := r.reinit.servable(); err != nil {
		return nil, err
	}
	now := time.Now()
	st := &r.snaps
	st.mu.Lock()
	st.expire(now)
	var h *heldSnapshot
	if q.ID.IsZero() {
		// A consumer starting again gives up its earlier snapshot.
		for id, o := range st.held {
			if o.consumer == q.Consumer {
				delete(st.held, id)
			}
		}
		if len(st.held) >= maxHeldSnapshots {
			st.mu.Unlock()
			return nil, errSnapshotBusy
		}
		st.mu.Unlock()
		var err error
		if h, err = r.takeSnapshot(q.Consumer); err != nil {
			st.taking.Store(0)
			return nil, err
		}
		st.mu.Lock()
		if len(st.held) >= maxHeldSnapshots {
			st.mu.Unlock()
			st.taking.Store(0)
			return nil, errSnapshotBusy
		}
		if st.held == nil {
			st.held = map[SnapshotID]*heldSnapshot{}
		}
		st.held[h.id] = h
		st.taken++
		st.arm()
		r.snaps.taking.Store(0)
		r.noteHeapChanged()
		r.log.Info("replication: snapshot taken for a consumer", "consumer", q.Consumer, "snapshot", h.id.String(),
			"entries", len(h.uuids), "bytes", len(h.data), "took", time.Since(now))
	} else if h = st.held[q.ID]; h == nil {
		st.mu.Unlock()
		return &SnapshotResponse{Status: SnapshotGone, ID: q.ID, Supplier: r.Replica(),
			Reason: fmt.Sprintf("snapshot %s is not held here (expired after %s idle, or the supplier restarted); start again", q.ID, snapshotIdle)}, nil
	}
	h.lastUsed = now
	st.mu.Unlock()

	limit := q.MaxBytes
	if limit <= 0 || limit > snapshotChunkBytes {
		limit = snapshotChunkBytes
	}
	limit = max(limit, snapshotMinChunkBytes)
	resp := &SnapshotResponse{ID: h.id, Generation: h.gen, Supplier: r.Replica(), Floor: h.floor, Vector: h.vector, Total: len(h.uuids),
		Sealing: sealingOf(r.eng.Sealer())}
	i, found := slices.BinarySearchFunc(h.uuids, q.After, UUID.Compare)
	if found {
		i++
	}
	size := 0
	for ; i < len(h.uuids) && (size < limit || len(resp.Entries) == 0); i++ {
		e := h.entry(i)
		if len(resp.Entries) > 0 && size+len(e) > limit {
			break
		}
		resp.Entries = append(resp.Entries, SnapshotEntry{UUID: h.uuids[i], State: e})
		size += len(e) + 16
	}
	resp.Done = i >= len(h.uuids)
	return resp, nil
}

// takeSnapshot encodes the replicated State as it stands, with its
// vector, floor and generation, under the state's read lock (and
// readMu: entries evicted from the State's cache are read back from the
// store): local writes and remote batches wait while it runs (about
// 100 ms per 100,000 entries when they are in memory).
func (r *Replicator) takeSnapshot(consumer uint16) (*heldSnapshot, error) {
	// Local writes commit concurrently, so the vector's local CSN may
	// pass one still in flight: the snapshot claims this replica's own
	// changes only below the first in flight, and the consumer pulls the
	// rest (those the State already holds again, harmlessly).
	below := r.clog.Committed()
	r.matMu.Lock() // held long: writers wait on it, not on smu
	defer r.matMu.Unlock()
	r.smu.RLock()
	defer r.smu.RUnlock()
	r.readMu.Lock() // encoding reads evicted entries into the State's cache
	defer r.readMu.Unlock()
	if r.generation.IsZero() {
		return nil, &ldap.Error{Code: ldap.Unavailable, Message: "replication snapshot: the supplier holds no data yet"}
	}
	h := &heldSnapshot{id: wire.NewSnapshotID(), consumer: consumer, gen: r.generation, floor: r.state.Floor(), vector: r.vector.Clone()}
	if self := r.Replica(); !h.vector[self].Less(below) {
		h.vector[self] = below.Prev()
	}
	h.uuids = r.state.Entries()
	h.ends = make([]int, len(h.uuids))
	i := 0
	// encode appends entry i's state: from memory if it is resident,
	// else its stored record (current: an entry is evicted only once
	// stored), read in the same scan of the r s records.
	encode := func(stored []byte) {
		if i == 1024 {
			// Size the buffer once from the first entries, rather than
			// copying it every time it doubles.
			h.data = slices.Grow(h.data, len(h.data)/i*(len(h.uuids)-i)*9/8)
			r.snaps.taking.Store(int64(cap(h.data) + 24*len(h.uuids)))
			r.noteHeapChanged()
		}
		if stored != nil && r.state.IsEvicted(h.uuids[i]) {
			h.data = append(h.data, stored...)
		} else {
			h.data, _ = r.state.AppendEntryState(h.data, h.uuids[i])
		}
		h.ends[i] = len(h.data)
		i++
	}
	err := r.eng.View(func(v *directory.View) error {
		return v.Records(keyEntryState, nil, false, func(k, val []byte) (bool, error) {
			var u UUID
			copy(u[:], k[len(keyEntryState):])
			for i < len(h.uuids) && h.uuids[i].Compare(u) < 0 {
				encode(nil)
			}
			if i < len(h.uuids) && h.uuids[i] == u {
				encode(val)
			}
			return true, nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("replication: snapshot: read the stored states: %w", err)
	}
	for i < len(h.uuids) {
		encode(nil)
	}
	if err := r.state.Err(); err != nil {
		return nil, err
	}
	return h, nil
}

// expire drops the snapshots idle for snapshotIdle. Called with mu held.
func (st *snapshotStore) expire(now time.Time) {
	for id, h := range st.held {
		if now.Sub(h.lastUsed) >= snapshotIdle {
			delete(st.held, id)
		}
	}
}

// arm makes sure an idle snapshot is dropped even if nobody asks again.
// Called with mu held.
func (st *snapshotStore) arm() {
	if st.timer != nil {
		return
	}
	st.timer = time.AfterFunc(snapshotIdle, func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		st.timer = nil
		st.expire(time.Now())
		if len(st.held) > 0 {
			st.arm()
		}
	})
}

// heapBytes returns the heap the held snapshots and the one being
// taken keep.
func (st *snapshotStore) heapBytes() int64 {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := st.taking.Load()
	for _, h := range st.held {
		n += int64(cap(h.data) + 24*len(h.uuids))
	}
	return n
}

// heldSnapshots returns how many snapshots are held and how many bytes
// they take.
func (st *snapshotStore) heldSnapshots() (n int, bytes int64, taken int64) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, h := range st.held {
		n++
		bytes += int64(len(h.data) + 24*len(h.uuids))
	}
	return n, bytes, st.taken
}

// ServeSnapshot answers one snapshot request (a frontend.ExtendedHandler),
// to the identities that may pull.
func (s *Supplier) ServeSnapshot(_ context.Context, w ldap.ResponseWriter, r *ldap.Request, sess *ldap.Session) {
	if s.Authorize == nil || !s.Authorize(sess) {
		w.WriteResult(&ldap.Result{Code: ldap.InsufficientAccessRights, Diagnostic: "replication snapshot: this identity is not a replication peer"})
		return
	}
	q, err := wire.DecodeSnapshotRequest(r.Extended.Value)
	if err != nil {
		w.WriteResult(&ldap.Result{Code: ldap.ProtocolError, Diagnostic: err.Error()})
		return
	}
	resp, err := s.R.Snapshot(q)
	if err != nil {
		var le *ldap.Error
		if errors.As(err, &le) {
			w.WriteResult(&ldap.Result{Code: le.Code, Diagnostic: le.Message})
			return
		}
		w.WriteResult(&ldap.Result{Code: ldap.Other, Diagnostic: "replication snapshot: " + err.Error()})
		return
	}
	w.WriteResult(&ldap.Result{Code: ldap.Success, ResponseName: OIDSnapshot, ResponseValue: resp.AppendBinary(nil)})
}
