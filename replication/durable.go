package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// Durable state side records (see the package documentation).
var (
	keyEntryState = []byte{directory.PrefixReplication, 's'} // s | UUID -> State.AppendEntryState
	keyCheckpoint = []byte{directory.PrefixReplication, 'k'} // k -> floor CSN | vector
	keyStoreMark  = []byte{directory.PrefixReplication, 'm'} // m -> checkpoint | pending UUIDs (appendStoreMark)
)

// The store mark says which entries of the store may differ from the
// materialisation of the stored State: written with each checkpoint,
// it holds a copy of that checkpoint and the entries whose changes were
// not yet written to the store (changed since the last resolution, or
// taken by one that had not written them). A restart that finds the
// mark beside the same checkpoint rebuilds only those entries and the
// ones its first resolution finds moved (merge.State.ResumeShown),
// instead of every entry. No mark, or one beside another checkpoint (a
// reinitialisation, an older binary): every entry is rebuilt.
//
//	uvarint len | checkpoint | uvarint n | n x 16-byte UUID
//
// Above maxMarkPending pending entries no mark is written.
const maxMarkPending = 20000

func appendStoreMark(b, ckpt []byte, pending []UUID) []byte {
	b = binary.AppendUvarint(b, uint64(len(ckpt)))
	b = append(b, ckpt...)
	b = binary.AppendUvarint(b, uint64(len(pending)))
	for _, u := range pending {
		b = append(b, u[:]...)
	}
	return b
}

func decodeStoreMark(b []byte) (ckpt []byte, pending []UUID, err error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return nil, nil, errors.New("replication: store mark: bad checkpoint length")
	}
	ckpt, b = b[k:k+int(n)], b[k+int(n):]
	n, k = binary.Uvarint(b)
	if k <= 0 || n != uint64(len(b)-k)/16 || uint64(len(b)-k)%16 != 0 {
		return nil, nil, errors.New("replication: store mark: bad pending list")
	}
	b = b[k:]
	pending = make([]UUID, n)
	for i := range pending {
		copy(pending[i][:], b[16*i:])
	}
	return ckpt, pending, nil
}

func entryStateKey(u UUID) []byte { return append(bytes.Clone(keyEntryState), u[:]...) }

// appendCheckpoint encodes the checkpoint: the State's purge floor, then
// the vector the stored entry states stand at (appendVector's form).
func appendCheckpoint(b []byte, floor change.CSN, v Vector) []byte {
	b = floor.AppendBinary(b)
	return wire.AppendVector(b, v)
}

func decodeCheckpoint(b []byte) (change.CSN, Vector, error) {
	r := wire.NewReader(b)
	raw := r.Take(change.CSNSize)
	v := r.Vector()
	if r.Err() == nil && r.Len() > 0 {
		r.Fail(wire.ErrWire)
	}
	if r.Err() != nil {
		return change.CSN{}, nil, fmt.Errorf("replication: checkpoint: %w", r.Err())
	}
	floor, err := change.DecodeCSN(raw)
	if err != nil {
		return change.CSN{}, nil, fmt.Errorf("replication: checkpoint floor: %w", err)
	}
	return floor, v, nil
}

// observe records replica id's vector: consumer when it pulled from this
// replica, refused with the reason when the exchange was refused (its
// position then holds neither the op log nor the purge back, since it
// must be reinitialised anyway).
func (r *Replicator) observe(id uint16, v Vector, consumer bool, refused string) {
	if id == 0 || id == r.Replica() {
		return
	}
	r.posMu.Lock()
	defer r.posMu.Unlock()
	p := r.known[id]
	if p == nil {
		p = &changelog.Position{Vector: Vector{}}
		r.known[id] = p
	}
	p.Seen = time.Now()
	p.Consumer = p.Consumer || consumer
	p.Refused = refused
	if refused != "" {
		return
	}
	for o, c := range v {
		if p.Vector[o].Less(c) {
			p.Vector[o] = c
		}
	}
}

// bounding returns the positions of the replicas that bound trimming and
// purging: seen within the tombstone window and not refused.
func (r *Replicator) bounding(now time.Time) map[uint16]changelog.Position {
	r.posMu.Lock()
	defer r.posMu.Unlock()
	out := map[uint16]changelog.Position{}
	for id, p := range r.known {
		if p.Refused == "" && now.Sub(p.Seen) <= r.cfg.TombstoneWindow {
			out[id] = changelog.Position{Vector: p.Vector.Clone(), Seen: p.Seen, Consumer: p.Consumer}
		}
	}
	return out
}

// stateBatch is the encoded state of the entries that changed, and the
// checkpoint they stand at.
type stateBatch struct {
	keys   [][]byte
	vals   [][]byte // nil: the entry left the State
	us     []UUID
	floor  change.CSN
	vector Vector
	// pending are the entries the store may not hold as the State shows
	// them (the store mark); all: every entry may differ.
	pending []UUID
	all     bool
}

// takeBatch takes the entries changed since the last call, under smu.
func (r *Replicator) takeBatch() stateBatch {
	ch := r.state.TakeUnsaved()
	b := stateBatch{floor: r.state.Floor(), vector: r.vector.Clone()}
	for u := range ch {
		b.us = append(b.us, u)
	}
	slices.SortFunc(b.us, UUID.Compare)
	b.all = r.unstoredAll
	if !b.all {
		seen := map[UUID]struct{}{}
		add := func(u UUID) {
			if _, ok := seen[u]; !ok {
				seen[u] = struct{}{}
				b.pending = append(b.pending, u)
			}
		}
		r.state.Changed(add)
		for u := range r.unstored {
			add(u)
		}
		b.all = len(b.pending) > maxMarkPending
		slices.SortFunc(b.pending, UUID.Compare)
	}
	for _, u := range b.us {
		val, ok := r.state.AppendEntryState(nil, u)
		if !ok {
			val = nil
		}
		b.keys = append(b.keys, entryStateKey(u))
		b.vals = append(b.vals, val)
	}
	return b
}

// saveState writes the entry states that changed since the last save,
// then the checkpoint. With a purge bound above the State's floor it
// first saves, then purges below bound and saves again: the checkpoint
// before the purge holds every change below the bound (Purge's
// precondition), so a crash between the purged records and the second
// checkpoint replays only changes at or above the bound. It returns how
// many entries the purge removed. The caller holds wmu.
func (r *Replicator) saveState(ctx context.Context, purge change.CSN) (int, error) {
	r.lockState()
	batches := []stateBatch{r.takeBatch()}
	purged := 0
	if r.state.Floor().Less(purge) {
		before := r.state.Len()
		r.state.Purge(purge)
		purged = before - r.state.Len()
		batches = append(batches, r.takeBatch())
		r.publish()
	}
	stateErr := r.state.Err()
	state := r.state
	r.unlockState()
	if stateErr != nil {
		// What the State holds is incomplete: storing it, or a
		// checkpoint past what it dropped, would lose changes. A
		// restart loads it again from the store and the op log.
		return 0, fmt.Errorf("replication: save state: %w", stateErr)
	}
	for i, b := range batches {
		if err := r.writeBatch(ctx, b); err != nil {
			// Whatever was not written must be in the next save.
			r.lockState()
			for _, later := range batches[i:] {
				for _, u := range later.us {
					r.state.Touch(u)
				}
			}
			r.unlockState()
			return 0, fmt.Errorf("replication: save state: %w", err)
		}
	}
	// Stored: the entries may leave memory now.
	r.lockState()
	if r.state == state {
		r.state.Saved()
	}
	r.unlockState()
	return purged, nil
}

// storeSource reads entry states from the store's r s records: the
// source of the Replicator's State.
type storeSource struct{ eng *directory.Engine }

func (s storeSource) EntryState(u UUID) ([]byte, error) {
	var out []byte
	err := s.eng.View(func(v *directory.View) error {
		var err error
		out, err = v.Record(entryStateKey(u))
		return err
	})
	return out, err
}

// saveChunk bounds the records of one transaction.
const saveChunk = 1000

func (r *Replicator) writeBatch(ctx context.Context, b stateBatch) error {
	ckpt := appendCheckpoint(nil, b.floor, b.vector)
	var mark []byte
	if !b.all {
		mark = appendStoreMark(nil, ckpt, b.pending)
	}
	r.ckptMu.Lock()
	same := len(b.keys) == 0 && b.floor == r.ckptFloor && vectorEqual(b.vector, r.ckpt) && bytes.Equal(mark, r.ckptMark)
	r.ckptMu.Unlock()
	if same {
		return nil
	}
	for i := 0; i == 0 || i < len(b.keys); i += saveChunk {
		end := min(i+saveChunk, len(b.keys))
		last := end == len(b.keys)
		err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
			for j := i; j < end; j++ {
				var err error
				if b.vals[j] == nil {
					err = tx.DeleteRecord(b.keys[j])
				} else {
					err = tx.PutRecord(b.keys[j], b.vals[j])
				}
				if err != nil {
					return err
				}
			}
			if last {
				if err := tx.PutRecord(keyCheckpoint, ckpt); err != nil {
					return err
				}
				if mark == nil {
					return tx.DeleteRecord(keyStoreMark)
				}
				return tx.PutRecord(keyStoreMark, mark)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	r.ckptMu.Lock()
	r.ckpt, r.ckptFloor, r.ckptMark = b.vector, b.floor, mark
	r.ckptMu.Unlock()
	return nil
}

func vectorEqual(a, b Vector) bool {
	if len(a) != len(b) {
		return false
	}
	for o, c := range a {
		if d, ok := b[o]; !ok || d != c {
			return false
		}
	}
	return true
}

// loadState loads the stored entry states and the checkpoint into the
// State, if there is a checkpoint, and returns the checkpoint's vector
// (nil: none, the whole op log must be replayed).
func (r *Replicator) loadState(v *directory.View) (Vector, error) {
	raw, err := v.Record(keyCheckpoint)
	if err != nil || raw == nil {
		return nil, err
	}
	floor, vec, err := decodeCheckpoint(raw)
	if err != nil {
		return nil, err
	}
	// Only what resolving names needs is decoded; the attribute stamps
	// are read when first needed (the State's source).
	err = v.Records(keyEntryState, nil, false, func(k, val []byte) (bool, error) {
		if len(k) != len(keyEntryState)+16 {
			return false, fmt.Errorf("entry state record %x: bad key", k)
		}
		var u UUID
		copy(u[:], k[len(keyEntryState):])
		if err := r.state.LoadEntrySkeleton(u, val); err != nil {
			return false, fmt.Errorf("entry state of %s: %w", u, err)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	r.state.SetFloor(floor)
	r.state.TakeUnsaved() // what is stored needs no saving
	r.state.Saved()
	r.ckpt, r.ckptFloor = vec.Clone(), floor
	mark, err := v.Record(keyStoreMark)
	if err != nil || mark == nil {
		return vec, err
	}
	if ckpt, pending, err := decodeStoreMark(mark); err != nil || !bytes.Equal(ckpt, raw) {
		r.log.Info("replication: the store mark does not match the checkpoint: every entry is rebuilt", "err", err)
	} else {
		r.resume = &resumePoint{state: r.state, pending: pending, stored: map[UUID]merge.StoredEntry{}}
		r.ckptMark = mark
	}
	return vec, nil
}

// loadReplicas loads the known replicas' positions from the consumer
// table.
func (r *Replicator) loadReplicas(v *directory.View) error {
	prefix := changelog.PositionKey(changelog.PositionReplica, nil)
	return v.Records(prefix, nil, false, func(k, val []byte) (bool, error) {
		if len(k) != len(prefix)+2 {
			return true, nil
		}
		p, err := changelog.DecodePosition(val)
		if err != nil {
			return false, err
		}
		r.known[binary.BigEndian.Uint16(k[len(prefix):])] = p
		return true, nil
	})
}

// stale reports why a replica with vector v cannot exchange changes
// with this one ("" if it can): for some origin it lacks a change of
// this replica's that is below the State's purge floor. Such a replica
// was cut off for longer than the tombstone window: what it holds may
// name entries purged here (taking its changes could bring them back),
// and what it lacks includes deletions whose tombstones are gone.
func (r *Replicator) stale(v Vector) (string, error) {
	r.smu.RLock()
	floor, mine, opFloor := r.state.Floor(), r.vector.Clone(), r.floor.Clone()
	r.smu.RUnlock()
	if floor.IsZero() {
		return "", nil
	}
	for _, o := range wire.SortedOrigins(mine) {
		theirs := v[o]
		if !theirs.Less(mine[o]) || !theirs.Less(floor) {
			continue
		}
		if theirs.Less(opFloor[o]) {
			return fmt.Sprintf("it stands at %s for replica %d, below this replica's purge floor %s, and the changes it lacks were trimmed", theirs, o, floor), nil
		}
		// The first change it lacks, from the change log.
		var next change.CSN
		p := changelog.OriginPrefix(o)
		err := r.eng.View(func(view *directory.View) error {
			return changelog.ScanFlags(view, p, theirs.AppendBinary(bytes.Clone(p)), false, func(k []byte, flags byte) (bool, error) {
				c, err := change.DecodeCSN(k[len(p):])
				if err != nil {
					return false, err
				}
				if !theirs.Less(c) || flags&changelog.FlagReplicated == 0 {
					return true, nil // what it has, or what peers never pull
				}
				next = c
				return false, nil
			})
		})
		if err != nil {
			return "", err
		}
		if next.IsZero() || next.Less(floor) {
			return fmt.Sprintf("it lacks changes of replica %d from %s, below this replica's purge floor %s (it was cut off for longer than the tombstone window)", o, theirs, floor), nil
		}
	}
	return "", nil
}

// purgeBound is the bound below which the State may be purged: the
// tombstone window back from now (on this replica's clock), and no further than what every known
// replica has confirmed (for each origin that replica lags on here, its
// position: what it lacks stays above the bound).
func (r *Replicator) purgeBound(now time.Time) change.CSN {
	bound := change.CSN{Time: now.Add(-r.cfg.TombstoneWindow).UnixMicro()}
	r.smu.RLock()
	mine := r.vector.Clone()
	r.smu.RUnlock()
	for _, p := range r.bounding(time.Now()) {
		for o, c := range mine {
			if theirs := p.Vector[o]; theirs.Less(c) && theirs.Less(bound) {
				bound = theirs
			}
		}
	}
	return bound
}

// Maintain runs one round of maintenance: it forgets the replicas not
// seen for the tombstone window, saves the others' positions, saves the
// State (purging it below purgeBound), then trims the op log.
func (r *Replicator) Maintain(ctx context.Context) error {
	if r.joining.Load() {
		return nil // Join owns the store; the engine is closed after it
	}
	now := time.Now()
	r.posMu.Lock()
	var forget []uint16
	var save [][2][]byte
	for id, p := range r.known {
		if now.Sub(p.Seen) > r.cfg.TombstoneWindow {
			forget = append(forget, id)
			r.log.Warn("replication: forgetting a replica not seen for longer than the tombstone window; it must be reinitialised to replicate again",
				"replica", id, "last_seen", p.Seen)
			delete(r.known, id)
			continue
		}
		save = append(save, [2][]byte{changelog.ReplicaPositionKey(id), p.AppendBinary(nil)})
	}
	r.posMu.Unlock()
	err := r.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		for _, id := range forget {
			if err := tx.DeleteRecord(changelog.ReplicaPositionKey(id)); err != nil {
				return err
			}
		}
		for _, kv := range save {
			if err := tx.PutRecord(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication: save replica positions: %w", err)
	}

	r.wmu.Lock()
	if r.joining.Load() {
		r.wmu.Unlock()
		return nil
	}
	bound := r.purgeBound(r.clog.Clock().Now())
	purged, err := r.saveState(ctx, bound)
	r.wmu.Unlock()
	if err != nil {
		return err
	}
	if purged > 0 {
		r.purged.Add(int64(purged))
		r.log.Info("replication: purged tombstones", "entries", purged, "below", bound)
	}
	n, err := r.trimOpLog(ctx, now)
	if n > 0 {
		r.trimmed.Add(int64(n))
		r.log.Debug("replication: op log trimmed", "ops", n)
	}
	return err
}

// trimOpLog trims the change log with the op log's bounds: per origin,
// the oldest records older than OpLogMaxAge or beyond OpLogMaxOps, never
// above trimLimit nor a registered consumer's position (Changelog.TrimWith).
func (r *Replicator) trimOpLog(ctx context.Context, now time.Time) (int, error) {
	return r.clog.TrimWith(ctx, now, changelog.Retention{MaxAge: r.cfg.OpLogMaxAge, MaxPerOrigin: r.cfg.OpLogMaxOps})
}

// trimLimit is the highest CSN of origin o the log may be trimmed to:
// the saved checkpoint (the stored State holds what is below it) and the
// position of every known replica that consumes this log (one that has
// seen nothing of an origin holds all of it).
func (r *Replicator) trimLimit(o uint16) change.CSN {
	r.ckptMu.Lock()
	limit := r.ckpt[o]
	r.ckptMu.Unlock()
	for _, p := range r.bounding(time.Now()) {
		if p.Consumer {
			limit = minCSN(limit, p.Vector[o])
		}
	}
	return limit
}

// raiseFloor raises origin o's floor to c after a trim removed the
// records up to it.
func (r *Replicator) raiseFloor(o uint16, c change.CSN) {
	r.lockState()
	defer r.unlockState()
	if r.floor[o].Less(c) {
		r.floor[o] = c
		r.publish()
	}
}

func minCSN(a, b change.CSN) change.CSN {
	if b.Less(a) {
		return b
	}
	return a
}

// logBounds is the Replicator as the change log sees it
// (changelog.Bounds).
type logBounds Replicator

func (b *logBounds) TrimLimit(o uint16) change.CSN { return (*Replicator)(b).trimLimit(o) }

func (b *logBounds) RaiseFloor(o uint16, c change.CSN) { (*Replicator)(b).raiseFloor(o, c) }

// RunMaintenance runs Maintain every MultiConfig.MaintenanceInterval
// until ctx ends.
func (r *Replicator) RunMaintenance(ctx context.Context) {
	t := time.NewTicker(r.cfg.MaintenanceInterval)
	defer t.Stop()
	deferred := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := r.Maintain(ctx)
		switch {
		case errors.Is(err, directory.ErrDiskFull):
			// The checkpoint, tombstone purge and op log trim write
			// before they free anything: they wait for the guard.
			if !deferred {
				r.log.Warn("replication: maintenance (checkpoint, tombstone purge, op log trim) put off: the store's disk is full; it runs again once space is freed")
			}
			deferred = true
		case err != nil && ctx.Err() == nil:
			r.log.Error("replication: maintenance", "err", err)
		case err == nil:
			if deferred {
				r.log.Info("replication: maintenance runs again: the store's disk has room")
			}
			deferred = false
		}
	}
}

// ErrStalePeer is returned (wrapped) when a peer was cut off for longer
// than the tombstone window: its changes are refused, and it must be
// reinitialised.
var ErrStalePeer = errors.New("replication: the peer must be reinitialised")

// A resumePoint is what Open found of a store written up to a store
// mark, for the first resolution (merge.State.ResumeShown).
type resumePoint struct {
	state   *State // the State Open loaded
	pending []UUID
	stored  map[UUID]merge.StoredEntry
}
