package replication

import (
	"fmt"
	"time"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Joining. A replica without a generation (an empty store) that has peers
// takes no local write until it has one: a write made before its first
// pull would start a generation of its own, which its peers then refuse
// for good (the data sets never merge). It adopts its peers' generation
// at its first pull from one that has data (or is seeded beforehand by
// switchboard replica join, from a snapshot). It founds a generation
// itself only when it has no peers, or when every peer has answered
// recently that it has none either and this replica's ID is the lowest
// of them all: of several empty replicas started together exactly one
// takes the first write. A local write on a replica that has not joined
// waits up to joinWait for its peers, then is refused (unavailable).

// joinWait is how long a local write on a replica that has not joined
// yet waits for its first pulls before it is refused.
const joinWait = 10 * time.Second

// joinFresh is how recent a peer's "no data yet" answer must be for this
// replica to found a generation on the strength of it.
const joinFresh = 30 * time.Second

// joined reports whether this replica may take a local write: it has a
// generation, or may found one. If not, why says what it waits for.
func (r *Replicator) joined(now time.Time) (ok bool, why string) {
	r.smu.RLock()
	gen := r.generation
	r.smu.RUnlock()
	if !gen.IsZero() {
		return true, ""
	}
	r.pmu.Lock()
	founding := !r.newGen.IsZero()
	r.pmu.Unlock()
	if founding {
		return true, "" // a first local write is committing: it founds the generation
	}
	self := r.Replica()
	for _, p := range r.Peers() {
		p.mu.Lock()
		last, pgen, id := p.lastPull, p.supplierGen, p.supplierID
		p.mu.Unlock()
		switch {
		case last.IsZero() || now.Sub(last) > joinFresh:
			return false, fmt.Sprintf("peer %s (%s) has not answered yet", p.cfg.Name, p.cfg.URL)
		case !pgen.IsZero():
			return false, fmt.Sprintf("peer %s has data (generation %s) that this replica has not pulled yet", p.cfg.Name, pgen)
		case id < self:
			return false, fmt.Sprintf("every replica is empty: the one with the lowest replica ID (peer %s, replica %d) takes the first write", p.cfg.Name, id)
		}
	}
	return true, ""
}

// awaitJoin waits (up to joinWait) until this replica may take a local
// write; it holds no lock meanwhile, so pulls go on.
func (r *Replicator) awaitJoin() {
	if r.state == nil {
		return
	}
	deadline := time.Now().Add(joinWait)
	for i := 0; ; i++ {
		now := time.Now()
		if ok, _ := r.joined(now); ok || now.After(deadline) {
			return
		}
		if i == 0 {
			for _, p := range r.Peers() {
				p.poke() // pull now rather than after a backoff
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// joinError is the refusal of a local write on a replica that has not
// joined its peers.
func joinError(why string) error {
	return &ldap.Error{Code: ldap.Unavailable, Message: "this replica has not joined its peers yet (" + why + "); it adopts their data at its first pull " +
		"from one that has some. Write to another replica, or seed this one first: stop it and run switchboard replica join --from <peer URL>"}
}

// poke wakes the peer's pull loop if it is waiting.
func (p *Peer) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
