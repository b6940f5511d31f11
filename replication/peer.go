package replication

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// PeerConfig names a replica to pull from.
type PeerConfig struct {
	Name     string
	URL      string // ldap://host:port or ldaps://host:port
	BindDN   string
	Password string
	// TLS is used for ldaps:// URLs, and for ldap:// ones through
	// StartTLS (PinnedTLS makes one); nil: plain TCP. With a client
	// certificate and no BindDN the peer binds with SASL EXTERNAL.
	TLS *tls.Config
	// Interval between pulls once caught up (default 200ms).
	Interval time.Duration
	// Batch is the most changes asked for at once (default 500).
	Batch int
	// SnapshotChunk is about how many bytes of entries one snapshot
	// response carries when reinitialising from the peer (0: the
	// supplier's default, 4 MB).
	SnapshotChunk int
}

// PeerState is where a peer stands, for the admin API.
type PeerState string

const (
	PeerConnecting  PeerState = "connecting"
	PeerOK          PeerState = "ok"
	PeerError       PeerState = "error"
	PeerPaused      PeerState = "paused"
	PeerQuarantined PeerState = "quarantined"
	PeerReinit      PeerState = "reinitialise"
)

// A Peer pulls changes from one supplier into a Replicator.
type Peer struct {
	cfg  PeerConfig
	r    *Replicator
	wake chan struct{}

	mu          sync.Mutex
	state       PeerState
	paused      bool
	quarantined bool
	reinit      bool
	retryAt     time.Time // when a peer that refused this replica is asked again
	lastErr     string
	lastPull    time.Time
	applied     int64
	remaining   int
	lagSeconds  float64
	supplier    Vector
	supplierGen Generation
	supplierID  uint16
	diverged    string    // what must be reinitialised, while refused
	divergedLog time.Time // when that was last logged
	sealedLog   time.Time // when a refusal for sealed attributes was last logged
}

// AddPeer registers a peer to pull from; Run pulls from it.
func (r *Replicator) AddPeer(cfg PeerConfig) (*Peer, error) {
	if cfg.Name == "" || cfg.URL == "" {
		return nil, errors.New("replication: a peer needs a name and a URL")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 200 * time.Millisecond
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	p := &Peer{cfg: cfg, r: r, wake: make(chan struct{}, 1), state: PeerConnecting}
	r.peersMu.Lock()
	defer r.peersMu.Unlock()
	if _, dup := r.peers[cfg.Name]; dup {
		return nil, fmt.Errorf("replication: peer %q configured twice", cfg.Name)
	}
	r.peers[cfg.Name] = p
	r.peerOrder = append(r.peerOrder, cfg.Name)
	return p, nil
}

// Peer returns the peer named name, or nil.
func (r *Replicator) Peer(name string) *Peer {
	r.peersMu.Lock()
	defer r.peersMu.Unlock()
	return r.peers[name]
}

// Peers returns the peers in configuration order.
func (r *Replicator) Peers() []*Peer {
	r.peersMu.Lock()
	defer r.peersMu.Unlock()
	out := make([]*Peer, 0, len(r.peerOrder))
	for _, n := range r.peerOrder {
		out = append(out, r.peers[n])
	}
	return out
}

// Pause stops pulling from the peer until Resume.
func (p *Peer) Pause() {
	p.mu.Lock()
	p.paused = true
	p.state = PeerPaused
	p.mu.Unlock()
}

// Resume pulls from the peer again, lifting a pause and a quarantine
// (a peer still too far ahead is quarantined again at its next change).
func (p *Peer) Resume() {
	p.mu.Lock()
	p.paused, p.quarantined, p.reinit, p.diverged = false, false, false, ""
	p.state = PeerConnecting
	p.mu.Unlock()
	p.wakeUp()
}

// wakeUp ends the peer's current wait (the pause between pulls or a
// backoff after a failure) so that it pulls at once.
func (p *Peer) wakeUp() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// reinitRetry is how long a peer that refused this replica (PullReinit)
// is left alone before it is asked again: a refusal because its log no
// longer covers this replica lifts once this replica has caught up
// through another peer; the others (another generation, this replica
// stale) stand until it is reinitialised, and asking costs one request.
const reinitRetry = 30 * time.Second

func (p *Peer) blocked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused || p.quarantined || p.reinit && time.Now().Before(p.retryAt)
}

func (p *Peer) fail(state PeerState, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.lastErr = state, err.Error()
	switch state {
	case PeerQuarantined:
		p.quarantined = true
	case PeerReinit:
		p.reinit = true
		p.retryAt = time.Now().Add(reinitRetry)
	}
}

// run pulls from the peer until ctx ends.
func (p *Peer) run(ctx context.Context) {
	var conn *goldap.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := p.cfg.Interval
	for ctx.Err() == nil {
		if p.blocked() {
			if conn != nil {
				conn.Close()
				conn = nil
			}
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			case <-time.After(time.Second):
			}
			continue
		}
		if conn == nil {
			var err error
			if conn, err = p.dial(); err != nil {
				p.fail(PeerError, err)
				p.sleep(ctx, &backoff, true)
				continue
			}
		}
		more, err := p.pullOnce(ctx, conn)
		switch {
		case errors.Is(err, ErrQuarantined):
			p.r.refusals.Add(1)
			p.r.log.Error("replication: peer quarantined: its changes are too far ahead of this replica's clock", "peer", p.cfg.Name, "err", err)
			p.fail(PeerQuarantined, err)
			continue
		case errors.Is(err, ErrStalePeer):
			p.r.refusals.Add(1)
			p.divergedFrom(fmt.Sprintf("peer %s was cut off for longer than the tombstone window: reinitialise it from this replica "+
				"(on the peer: POST /replication/peers/<this replica>/reinit, or switchboard replica join --from <this replica's URL> --replace)", p.cfg.Name), err)
			p.fail(PeerReinit, err)
			continue
		case errors.Is(err, ErrReinit):
			p.r.refusals.Add(1)
			p.divergedFrom(fmt.Sprintf("this replica cannot replicate with peer %s until one of them is reinitialised; to replace this replica's data with the peer's: "+
				"POST /replication/peers/%s/reinit on this replica's admin API, or stop it and run switchboard replica join --from %s --replace", p.cfg.Name, p.cfg.Name, p.cfg.URL), err)
			p.fail(PeerReinit, err)
			continue
		case errors.Is(err, ErrSealing):
			// A configuration error on one side: nothing is applied
			// until both seal the same attributes under the same key.
			p.r.refusals.Add(1)
			p.refusedSealed(err)
			p.fail(PeerError, err)
			conn.Close()
			conn = nil
			p.sleep(ctx, &backoff, true)
			continue
		case err != nil:
			p.r.log.Warn("replication: pull failed", "peer", p.cfg.Name, "err", err)
			p.fail(PeerError, err)
			conn.Close()
			conn = nil
			p.sleep(ctx, &backoff, true)
			continue
		}
		backoff = p.cfg.Interval
		if !more {
			p.sleep(ctx, &backoff, false)
		}
	}
}

// divergedFrom reports that this replica and the peer have diverged:
// logged at error level at a refused pull, again every reinitRetry while
// it lasts (a refused peer may be asked more often), and shown in the
// admin API until a pull succeeds.
func (p *Peer) divergedFrom(what string, err error) {
	p.mu.Lock()
	again := p.diverged == what && time.Since(p.divergedLog) < reinitRetry
	p.diverged = what
	if !again {
		p.divergedLog = time.Now()
	}
	gen := p.supplierGen
	p.mu.Unlock()
	if again {
		return
	}
	mine, _ := p.r.Position()
	p.r.log.Error("replication: DIVERGED: "+what, "peer", p.cfg.Name, "generation", mine.String(), "peer_generation", gen.String(), "err", err)
}

// refusedSealed logs, at error level, a pull refused for its sealed
// attributes: at the first refusal and every reinitRetry while it lasts.
func (p *Peer) refusedSealed(err error) {
	p.mu.Lock()
	again := p.lastErr == err.Error() && time.Since(p.sealedLog) < reinitRetry
	if !again {
		p.sealedLog = time.Now()
	}
	p.mu.Unlock()
	if !again {
		p.r.log.Error("replication: REFUSED the peer's changes: sealed attributes", "peer", p.cfg.Name, "err", err)
	}
}

// maxBackoff bounds the wait between two failed pulls from a peer: a
// partition is caught up at most this long after it heals (one dial a
// second per unreachable peer costs nothing), and at once when the peer
// pulls from this replica first (retryPeersOf).
const maxBackoff = time.Second

func (p *Peer) sleep(ctx context.Context, backoff *time.Duration, failed bool) {
	d := p.cfg.Interval
	if failed {
		d = *backoff
		*backoff = min(*backoff*2, maxBackoff)
	}
	select {
	case <-ctx.Done():
	case <-p.wake:
	case <-time.After(d):
	}
}

func (p *Peer) dial() (*goldap.Conn, error) {
	opts := []goldap.DialOpt{goldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second})}
	if p.cfg.TLS != nil {
		opts = append(opts, goldap.DialWithTLSConfig(p.cfg.TLS))
	}
	conn, err := goldap.DialURL(p.cfg.URL, opts...)
	if err != nil {
		return nil, err
	}
	conn.SetTimeout(30 * time.Second)
	if p.cfg.TLS != nil && strings.HasPrefix(strings.ToLower(p.cfg.URL), "ldap://") {
		if err := conn.StartTLS(p.cfg.TLS); err != nil {
			conn.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	switch {
	case p.cfg.BindDN != "":
		if err := conn.Bind(p.cfg.BindDN, p.cfg.Password); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bind as %s: %w", p.cfg.BindDN, err)
		}
	case p.cfg.TLS != nil && len(p.cfg.TLS.Certificates) > 0:
		// Mutual TLS: the supplier maps the certificate to a DN.
		if err := conn.ExternalBind(); err != nil {
			conn.Close()
			return nil, fmt.Errorf("SASL EXTERNAL bind: %w", err)
		}
	}
	return conn, nil
}

// PinnedTLS returns a client TLS configuration that presents the key
// pair (certFile, keyFile; none if empty) and accepts the peer only if
// the SHA-256 of its certificate's public key (SubjectPublicKeyInfo, hex)
// is one of pins: the peer is trusted by its key, not by a CA, and a
// renewed certificate with the same key still matches.
func PinnedTLS(certFile, keyFile string, pins []string) (*tls.Config, error) {
	if len(pins) == 0 {
		return nil, errors.New("replication: TLS pinning needs at least one pinned_sha256")
	}
	want := map[string]bool{}
	for _, p := range pins {
		b, err := hex.DecodeString(strings.ReplaceAll(p, ":", ""))
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("replication: pinned_sha256 %q is not 64 hex digits", p)
		}
		want[string(b)] = true
	}
	cfg := &tls.Config{
		MinVersion: tls.VersionTLS12,
		// The chain is not checked against CAs: the pin is the trust.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("replication: the peer sent no certificate")
			}
			cert, err := x509.ParseCertificate(raw[0])
			if err != nil {
				return err
			}
			sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
			if !want[string(sum[:])] {
				return fmt.Errorf("replication: the peer's key %x is not pinned", sum)
			}
			return nil
		},
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("replication: client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// pullWait is how long a pull waits for the replica's pull from another
// peer to be applied (enterPull).
const pullWait = time.Second

// enterPull waits until no pull from another peer is being made and
// applied, and returns what ends this one's turn. A replica's peers are
// pulled concurrently, each with the replica's vector: while it is
// behind, two peers holding the same changes would each send all of
// them, and the second copy is read from the supplier's log, encoded,
// sent and decoded only to be dropped (in a catch-up of 30,000 changes
// two replicas received 56,000 and 59,500). Taking turns, the next pull
// asks from the vector the last one left. A turn held for pullWait (a
// peer that stopped answering, a batch waiting for a long resolution)
// is not waited for: the pulls go on side by side as before.
func (r *Replicator) enterPull(ctx context.Context) (leave func()) {
	take := func() func() {
		r.pullSince.Store(time.Now().UnixNano())
		return func() { <-r.pullGate }
	}
	select {
	case r.pullGate <- struct{}{}:
		return take()
	default:
	}
	wait := pullWait - time.Duration(time.Now().UnixNano()-r.pullSince.Load())
	if wait <= 0 {
		return func() {}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case r.pullGate <- struct{}{}:
		return take()
	case <-t.C:
	case <-ctx.Done():
	}
	return func() {}
}

// pullOnce asks for one batch and applies it; it reports whether the
// supplier has more.
func (p *Peer) pullOnce(ctx context.Context, conn *goldap.Conn) (bool, error) {
	defer p.r.enterPull(ctx)()
	gen, vec := p.r.Position()
	q := &PullRequest{Generation: gen, Consumer: p.r.Replica(), MaxOps: p.cfg.Batch, Vector: vec}
	req := goldap.NewExtendedRequest(OIDPull, ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, string(q.AppendBinary(nil)), ""))
	res, err := conn.Extended(req)
	if err != nil {
		return false, err
	}
	if res.Value == nil {
		return false, errors.New("pull: response without a value")
	}
	resp, err := wire.DecodePullResponse(res.Value.Data.Bytes())
	if err != nil {
		return false, err
	}
	if resp.Supplier == p.r.Replica() {
		return false, fmt.Errorf("the peer has this replica's ID %d: replica IDs must be unique", resp.Supplier)
	}
	p.mu.Lock()
	p.supplierGen, p.supplierID = resp.Generation, resp.Supplier
	p.mu.Unlock()
	// A supplier cut off for longer than the tombstone window is
	// refused, whatever it answers (it may refuse this replica only
	// because it forgot it while it was away).
	if !gen.IsZero() && gen == resp.Generation {
		why, err := p.r.stale(resp.Vector)
		if err != nil {
			return false, err
		}
		if why != "" {
			p.r.observe(resp.Supplier, resp.Vector, false, why)
			return false, fmt.Errorf("%w: %s", ErrStalePeer, why)
		}
	}
	if resp.Status == PullReinit {
		return false, fmt.Errorf("%w: %s", ErrReinit, resp.Reason)
	}
	if resp.Generation.IsZero() {
		// An empty peer is known from now on as a consumer that has
		// seen nothing: this replica's op log is kept until it has the
		// changes (otherwise a trim before its first pull here would
		// leave it to be reinitialised before it ever held data).
		p.r.observe(resp.Supplier, resp.Vector, true, "")
		p.record(resp, 0, vec)
		return false, nil // the supplier has no data yet
	}
	// The whole batch opens, or none of it is applied.
	if err := openPulled(p.cfg.Name, resp, p.r.eng.Sealer()); err != nil {
		return false, err
	}
	p.r.observe(resp.Supplier, resp.Vector, false, "")
	n, err := p.r.ApplyRemote(ctx, resp.Generation, resp.Ops)
	if err != nil {
		return false, err
	}
	_, after := p.r.Position()
	p.record(resp, n, after)
	return resp.More, nil
}

func (p *Peer) record(resp *PullResponse, n int, mine Vector) {
	lag := 0.0
	for o, c := range resp.Vector {
		if m := mine[o]; m.Less(c) {
			lag = max(lag, c.Wall().Sub(m.Wall()).Seconds())
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.lastErr, p.reinit, p.diverged = PeerOK, "", false, ""
	if p.paused {
		p.state = PeerPaused // paused while this pull was in flight
	}
	p.lastPull = time.Now()
	p.applied += int64(n)
	p.remaining = resp.Remaining
	p.lagSeconds = lag
	p.supplier = resp.Vector
	p.supplierGen = resp.Generation
	p.supplierID = resp.Supplier
}

// CatchUp pulls everything a supplier has that this replica lacks, then
// writes the resolved entries: replica init seeds a new replica with it.
// It returns the number of changes applied.
func (r *Replicator) CatchUp(ctx context.Context, cfg PeerConfig) (int64, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	p := &Peer{cfg: cfg, r: r}
	conn, err := p.dial()
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	for {
		more, err := p.pullOnce(ctx, conn)
		if err != nil {
			return p.applied, err
		}
		if !more {
			break
		}
	}
	return p.applied, r.resolve(ctx)
}

// RunPeers pulls from every peer until ctx ends.
func (r *Replicator) RunPeers(ctx context.Context) {
	var wg sync.WaitGroup
	for _, p := range r.Peers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx)
		}()
	}
	wg.Wait()
}

// PeerStatus is a peer's state for the admin API.
type PeerStatus struct {
	Name        string    `json:"name"`
	URL         string    `json:"url"`
	State       PeerState `json:"state"`
	Paused      bool      `json:"paused"`
	Quarantined bool      `json:"quarantined"`
	Reinit      bool      `json:"reinitialise"`
	Error       string    `json:"error,omitempty"`
	LastPull    time.Time `json:"last_pull"`
	Applied     int64     `json:"applied"`
	// LagChanges and LagSeconds are what this replica lacks of the peer:
	// the changes the peer holds for it (as the peer last said) and how
	// far this replica's vector trails the peer's, in CSN time.
	LagChanges int     `json:"lag_changes"`
	LagSeconds float64 `json:"lag_seconds"`
	// PeerLacksChanges and PeerLacksSeconds are the other way: the ops
	// of this replica's log above the vector the peer last reported (at
	// most 10,000), and how far that vector trails this replica's.
	// OldestUnacknowledged is the age in seconds of the oldest change
	// made here that the peer has not reported having.
	PeerLacksChanges     int     `json:"peer_lacks_changes"`
	PeerLacksSeconds     float64 `json:"peer_lacks_seconds"`
	OldestUnacknowledged float64 `json:"oldest_unacknowledged_seconds"`
	// SilentSeconds is the time since the peer last answered a pull.
	SilentSeconds float64           `json:"silent_seconds"`
	ReplicaID     uint16            `json:"replica_id"`
	Generation    string            `json:"generation,omitempty"`
	Vector        map[string]string `json:"vector"`
	// Diverged says, while one side must be reinitialised before the two
	// can replicate, which and how.
	Diverged string `json:"diverged,omitempty"`
}

// Status returns the peer's state.
func (p *Peer) Status() PeerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := PeerStatus{Name: p.cfg.Name, URL: p.cfg.URL, State: p.state, Paused: p.paused, Quarantined: p.quarantined, Reinit: p.reinit,
		Error: p.lastErr, LastPull: p.lastPull, Applied: p.applied, LagChanges: p.remaining, LagSeconds: p.lagSeconds,
		ReplicaID: p.supplierID, Vector: vectorText(p.supplier), Diverged: p.diverged}
	if !p.supplierGen.IsZero() {
		st.Generation = p.supplierGen.String()
	}
	return st
}

func vectorText(v Vector) map[string]string {
	out := make(map[string]string, len(v))
	for o, c := range v {
		out[fmt.Sprint(o)] = c.String()
	}
	return out
}
