package replication

import (
	"encoding/hex"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
)

// Status is the replica's replication state, as GET /replication shows it.
type Status struct {
	ReplicaID  uint16            `json:"replica_id"`
	Generation string            `json:"generation"`
	Vector     map[string]string `json:"vector"`
	// Settled: the store holds what the replicated state resolves to;
	// Digest is that data's canonical digest (State.Digest).
	Settled     bool         `json:"settled"`
	Digest      string       `json:"digest"`
	Entries     int          `json:"entries"`
	Conflicts   int          `json:"conflicts"`
	Applied     int64        `json:"applied_remote_changes"`
	LocalOps    int64        `json:"local_changes"`
	Refusals    int64        `json:"refusals"`
	ResolvedAt  time.Time    `json:"resolved_at"`
	ResolveTook string       `json:"resolve_took"`
	Peers       []PeerStatus `json:"peers"`
	// PurgeFloor is the State's purge bound: deletions older than it are
	// forgotten, and a replica lacking a change below it is refused.
	PurgeFloor string `json:"purge_floor,omitempty"`
	// Checkpoint is the vector the stored State stands at.
	Checkpoint map[string]string `json:"checkpoint"`
	// OpLogFloors: per origin, the op log starts after this CSN.
	OpLogFloors map[string]string `json:"op_log_floors"`
	Trimmed     int64             `json:"op_log_trimmed"`
	Purged      int64             `json:"purged_entries"`
	LoadTook    string            `json:"load_took"`
	// Replicas are the other replicas this one exchanged with.
	Replicas []ReplicaStatus `json:"replicas"`
	// Reinit is this replica's reinitialisation, if any: Phase
	// "reinitialise" says its data is incomplete and it must be
	// reinitialised (POST /replication/peers/{name}/reinit).
	Reinit ReinitStatus `json:"reinit"`
	// Diverged lists, for each peer this replica cannot replicate with
	// until one side is reinitialised, which side and how (the peers'
	// "diverged").
	Diverged []string `json:"diverged,omitempty"`
}

// ReplicaStatus is what a replica knows of another: its vector when last
// seen, whether it pulls from here, and whether it was refused.
type ReplicaStatus struct {
	ID       uint16            `json:"replica_id"`
	LastSeen time.Time         `json:"last_seen"`
	Consumer bool              `json:"consumer"`
	State    string            `json:"state"` // ok, or reinitialise
	Reason   string            `json:"reason,omitempty"`
	Vector   map[string]string `json:"vector"`
}

// Replicas returns the known replicas by ID.
func (r *Replicator) Replicas() []ReplicaStatus {
	r.posMu.Lock()
	defer r.posMu.Unlock()
	out := []ReplicaStatus{}
	for id, p := range r.known {
		st := ReplicaStatus{ID: id, LastSeen: p.Seen, Consumer: p.Consumer, State: "ok", Reason: p.Refused, Vector: vectorText(p.Vector)}
		if p.Refused != "" {
			st.State = string(PeerReinit)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b ReplicaStatus) int { return int(a.ID) - int(b.ID) })
	return out
}

// Status returns the replica's state.
func (r *Replicator) Status() Status {
	pos := r.position()
	gen, vec := pos.gen, pos.vector
	st := r.storeStatus()
	settled := st.Settled && st.Seq == pos.seq
	out := Status{ReplicaID: r.Replica(), Vector: vectorText(vec), Settled: settled, Digest: hex.EncodeToString(st.Digest[:]),
		Entries: st.Entries, Conflicts: st.Conflicts, Applied: r.applied.Load(), LocalOps: r.localOps.Load(),
		Refusals: r.refusals.Load(), ResolvedAt: st.At, ResolveTook: st.Duration.String(), Peers: []PeerStatus{},
		Trimmed: r.trimmed.Load(), Purged: r.purged.Load(), LoadTook: r.loadTook.String(), Replicas: r.Replicas()}
	if f := pos.purgeFloor; !f.IsZero() {
		out.PurgeFloor = f.String()
	}
	out.OpLogFloors = vectorText(pos.opFloor)
	r.ckptMu.Lock()
	out.Checkpoint = vectorText(r.ckpt)
	r.ckptMu.Unlock()
	if !gen.IsZero() {
		out.Generation = gen.String()
	}
	out.Peers = r.peerStatuses()
	for _, p := range out.Peers {
		if p.Diverged != "" {
			out.Diverged = append(out.Diverged, p.Diverged)
		}
	}
	out.Reinit = r.ReinitStatus()
	return out
}

// Register adds the replication metrics to reg.
func (r *Replicator) Register(reg prometheus.Registerer) error {
	lag := func(f func(PeerStatus) float64) func() float64 {
		return func() float64 {
			m := 0.0
			for _, p := range r.Peers() {
				m = max(m, f(p.Status()))
			}
			return m
		}
	}
	// counter exports one of the Replicator's atomic counters.
	counter := func(name, help string, n *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_replication_" + name, Help: help},
			func() float64 { return float64(n.Load()) })
	}
	for _, c := range []prometheus.Collector{
		counter("applied_changes_total", "Changes pulled from peers and applied here.", &r.applied),
		counter("local_changes_total", "Changes made on this replica.", &r.localOps),
		counter("pulled_changes_total", "Changes received in pull responses, those this replica had already (from another peer) included.", &r.pulled),
		counter("resolutions_total", "Resolutions that wrote or removed entries in the store.", &r.rounds),
		counter("resolved_entries_written_total", "Entries written to the store by resolutions.", &r.resolvedWritten),
		counter("resolved_entries_removed_total", "Entries removed from the store by resolutions.", &r.resolvedRemoved),
		counter("refusals_total", "Pulls refused: peers quarantined for clock skew, replicas told to reinitialise, batches refused for sealed attributes.", &r.refusals),
		counter("op_log_trimmed_total", "Ops removed from the op log by trimming.", &r.trimmed),
		counter("purged_entries_total", "Tombstones purged from the replicated state after the tombstone window.", &r.purged),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_reinit_replicas", Help: "Replicas refused because they must be reinitialised (peers and consumers)."},
			func() float64 { return float64(r.reinitCount()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_conflicts", Help: "Entries renamed or shown as glue by conflict resolution."},
			func() float64 { return float64(r.storeStatus().Conflicts) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_lag_changes", Help: "Changes a peer holds that this replica has not applied yet (largest over peers)."},
			lag(func(s PeerStatus) float64 { return float64(s.LagChanges) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_lag_seconds", Help: "How far this replica's vector trails a peer's, in CSN time (largest over peers)."},
			lag(func(s PeerStatus) float64 { return s.LagSeconds })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_replication_quarantined_peers", Help: "Peers not pulled from because of clock skew."},
			func() float64 {
				n := 0
				for _, p := range r.Peers() {
					if p.Status().Quarantined {
						n++
					}
				}
				return float64(n)
			}),
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	if err := reg.Register(newPeerCollector(r)); err != nil {
		return err
	}
	return r.registerReinitMetrics(reg)
}

// reinitCount counts the replicas refused because one side must be
// reinitialised: known replicas refused, and peers in that state not
// already counted by ID.
func (r *Replicator) reinitCount() int {
	ids := map[uint16]bool{}
	for _, k := range r.Replicas() {
		if k.Reason != "" {
			ids[k.ID] = true
		}
	}
	n := len(ids)
	for _, p := range r.Peers() {
		if st := p.Status(); st.Reinit && (st.ReplicaID == 0 || !ids[st.ReplicaID]) {
			n++
		}
	}
	return n
}

// OpLogOrigin describes the change log of one origin.
type OpLogOrigin struct {
	Floor string `json:"floor,omitempty"` // the log starts after it
	// Ops counts the replicated ops (what peers pull), Last is the
	// newest; Records counts every record, the local changes of the
	// store that only change feeds read included.
	Ops     int    `json:"ops"`
	Last    string `json:"last,omitempty"`
	Records int    `json:"records"`
}

// OpLog describes the op log, per origin (by reading every key).
func (r *Replicator) OpLog() (map[string]OpLogOrigin, error) {
	r.smu.RLock()
	floor := r.floor.Clone()
	r.smu.RUnlock()
	out := map[string]OpLogOrigin{}
	for o, f := range floor {
		out[fmt.Sprint(o)] = OpLogOrigin{Floor: f.String()}
	}
	err := r.eng.View(func(v *directory.View) error {
		for _, o := range opOrigins(v) {
			p := changelog.OriginPrefix(o)
			st := out[fmt.Sprint(o)]
			var last []byte
			if err := changelog.ScanFlags(v, p, nil, false, func(k []byte, flags byte) (bool, error) {
				st.Records++
				if flags&changelog.FlagReplicated != 0 {
					st.Ops++
					last = append(last[:0], k[len(p):]...)
				}
				return true, nil
			}); err != nil {
				return err
			}
			if c, err := change.DecodeCSN(last); err == nil {
				st.Last = c.String()
			}
			out[fmt.Sprint(o)] = st
		}
		return nil
	})
	return out, err
}
