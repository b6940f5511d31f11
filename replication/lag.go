package replication

import (
	"bytes"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
)

// Lag both ways. What this replica lacks of a peer comes from the peer's
// pull responses (its vector and how many changes it still holds for
// this replica). What the peer lacks of this replica comes from the
// vector the peer last reported (in its pull requests here, or its pull
// responses) against this replica's op log: the ops above that vector,
// and the oldest of this replica's own changes among them, whose age
// grows for as long as the peer does not take it. A peer that has not
// answered for stallAfter is shown "stalled", whatever its last answer
// said.

// PeerStalled is the state of a peer that has not answered a pull for a
// while (stopped, hung, or a link that drops packets silently).
const PeerStalled PeerState = "stalled"

// lackCap bounds how many ops are counted for a peer that lacks many:
// the count is for display, and the scan must stay cheap.
const lackCap = 10000

// stallAfter is how long a peer may go without answering before it is
// shown stalled: several pull intervals, at least five seconds.
func (p *Peer) stallAfter() time.Duration {
	return max(5*time.Second, 20*p.cfg.Interval)
}

// peerLack is what a replica lacks of this one.
type peerLack struct {
	changes int     // ops in this replica's log above its vector (at most lackCap)
	seconds float64 // how far its vector trails this replica's, in CSN time
	oldest  float64 // age in seconds of the oldest own change it lacks
}

// lackOf computes what replica id lacks of this one, from the vector it
// last reported. ok is false when nothing is known of it.
func (r *Replicator) lackOf(id uint16, now time.Time) (peerLack, bool) {
	if id == 0 {
		return peerLack{}, false
	}
	r.posMu.Lock()
	kp := r.known[id]
	var theirs Vector
	if kp != nil {
		theirs = kp.Vector.Clone()
	}
	r.posMu.Unlock()
	if kp == nil {
		return peerLack{}, false
	}
	_, mine := r.Position()
	self := r.Replica()
	var out peerLack
	for o, c := range mine {
		if o == id {
			continue // its own changes it has
		}
		if t := theirs[o]; t.Less(c) {
			out.seconds = max(out.seconds, c.Wall().Sub(t.Wall()).Seconds())
		}
	}
	if r.eng == nil {
		return out, true
	}
	r.eng.View(func(v *directory.View) error {
		for o := range mine {
			if o == id || out.changes >= lackCap {
				continue
			}
			if !theirs[o].Less(mine[o]) {
				continue
			}
			after := changelog.RecordKey(theirs[o])
			if theirs[o].IsZero() {
				after = nil
			}
			first := true
			changelog.ScanFlags(v, changelog.OriginPrefix(o), after, false, func(k []byte, flags byte) (bool, error) {
				if (after != nil && bytes.Equal(k, after)) || flags&changelog.FlagReplicated == 0 {
					return true, nil
				}
				if first && o == self {
					if c, err := change.DecodeCSN(k[len(k)-16:]); err == nil {
						out.oldest = max(0, now.Sub(c.Wall()).Seconds())
					}
				}
				first = false
				out.changes++
				return out.changes < lackCap, nil
			})
		}
		return nil
	})
	return out, true
}

// peerStatus is p.Status with what the peer lacks of this replica, and
// its state turned stalled when it has not answered for a while.
func (r *Replicator) peerStatus(p *Peer, now time.Time) PeerStatus {
	st := p.Status()
	if !st.LastPull.IsZero() {
		st.SilentSeconds = now.Sub(st.LastPull).Seconds()
		if st.State == PeerOK && now.Sub(st.LastPull) > p.stallAfter() {
			st.State = PeerStalled
		}
	}
	if l, ok := r.lackOf(st.ReplicaID, now); ok {
		st.PeerLacksChanges, st.PeerLacksSeconds, st.OldestUnacknowledged = l.changes, l.seconds, l.oldest
	}
	return st
}

// peerStatuses returns the status of every peer, in configuration order.
func (r *Replicator) peerStatuses() []PeerStatus {
	now := time.Now()
	out := []PeerStatus{}
	for _, p := range r.Peers() {
		out = append(out, r.peerStatus(p, now))
	}
	return out
}

// peerCollector exports the per-peer lag, both ways, as labelled gauges.
type peerCollector struct {
	r                      *Replicator
	lagChanges, lagSeconds *prometheus.Desc
	oldest, up, diverged   *prometheus.Desc
}

func newPeerCollector(r *Replicator) *peerCollector {
	return &peerCollector{
		r: r,
		lagChanges: prometheus.NewDesc("switchboard_replication_peer_lag_changes",
			"Changes one side holds that the other lacks: direction=\"in\" those of the peer this replica lacks (as the peer last said), \"out\" those of this replica's op log the peer lacks (at most 10,000).",
			[]string{"peer", "direction"}, nil),
		lagSeconds: prometheus.NewDesc("switchboard_replication_peer_lag_seconds",
			"How far one side's vector trails the other's, in CSN time, by direction as for switchboard_replication_peer_lag_changes.",
			[]string{"peer", "direction"}, nil),
		oldest: prometheus.NewDesc("switchboard_replication_peer_oldest_unacknowledged_seconds",
			"Age of the oldest change made on this replica that the peer has not acknowledged (0: none).",
			[]string{"peer"}, nil),
		up: prometheus.NewDesc("switchboard_replication_peer_up",
			"1 if the peer answered its last pull within the stall time and is replicating (state ok), else 0.",
			[]string{"peer", "state"}, nil),
		diverged: prometheus.NewDesc("switchboard_replication_diverged",
			"1 while this replica cannot replicate with a peer because one of them must be reinitialised (another generation, or refused), else 0.",
			nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *peerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lagChanges, c.lagSeconds, c.oldest, c.up, c.diverged} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *peerCollector) Collect(ch chan<- prometheus.Metric) {
	diverged := 0.0
	for _, st := range c.r.peerStatuses() {
		ch <- prometheus.MustNewConstMetric(c.lagChanges, prometheus.GaugeValue, float64(st.LagChanges), st.Name, "in")
		ch <- prometheus.MustNewConstMetric(c.lagChanges, prometheus.GaugeValue, float64(st.PeerLacksChanges), st.Name, "out")
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, st.LagSeconds, st.Name, "in")
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, st.PeerLacksSeconds, st.Name, "out")
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, st.OldestUnacknowledged, st.Name)
		up := 0.0
		if st.State == PeerOK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, st.Name, string(st.State))
		if st.Diverged != "" {
			diverged = 1
		}
	}
	ch <- prometheus.MustNewConstMetric(c.diverged, prometheus.GaugeValue, diverged)
}
