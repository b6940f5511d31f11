package replication

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// TestPullCaughtUpConsumer: a consumer holding everything a supplier has
// applied gets nothing (however many feed records the supplier's log
// holds above its last change); one lacking a change of any origin,
// the supplier's own included, gets exactly what it lacks.
func TestPullCaughtUpConsumer(t *testing.T) {
	y, gen := resolvedWithOwnChange(t, 50)
	_, vec := y.r.Position()

	var resp *PullResponse
	pull := func(v Vector) *PullResponse {
		t.Helper()
		resp, err := y.r.Pull(&PullRequest{Generation: gen, Consumer: 1, MaxOps: 1000, Vector: v})
		if err != nil || resp.Status != PullOK {
			t.Fatalf("pull: %v %+v", err, resp)
		}
		return resp
	}
	if resp := pull(vec); len(resp.Ops) != 0 || resp.More {
		t.Fatalf("a caught-up consumer got %d ops (more %v)", len(resp.Ops), resp.More)
	}
	// Lacking replica 2's own last change.
	behind := vec.Clone()
	behind[2] = change.CSN{}
	resp = pull(behind)
	if len(resp.Ops) != 1 || resp.Ops[0].CSN != vec[2] || resp.Ops[0].Kind != change.Add {
		t.Fatalf("a consumer lacking replica 2's add got %v", resp.Ops)
	}
	// The supplier's vector stands at its last replicated change, not at
	// the feed record written after it.
	if resp.Vector[2] != vec[2] {
		t.Fatalf("the response's vector has replica 2 at %s, want its add's %s", resp.Vector[2], vec[2])
	}
	// Lacking replica 1's last change (forwarded by replica 2).
	behind = vec.Clone()
	behind[1] = change.CSN{Time: vec[1].Time - 1, Replica: 1}
	resp = pull(behind)
	if len(resp.Ops) == 0 || resp.Ops[len(resp.Ops)-1].CSN != vec[1] {
		t.Fatalf("a consumer lacking replica 1's last change got %v", resp.Ops)
	}
	for _, op := range resp.Ops {
		if op.Origin() != 1 {
			t.Fatalf("a consumer lacking only replica 1's changes got %s", op.CSN)
		}
	}
}

// resolvedWithOwnChange returns replica 2 after it pulled and resolved
// replica 1's n people (a feed record on its own origin for each), then
// added cn=y1 (its one replicated op) and resolved, with the generation.
func resolvedWithOwnChange(t *testing.T, n int) (*replica, Generation) {
	t.Helper()
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(n)
	y := openReplica(t, t.TempDir(), 2, MultiConfig{})
	gen, _ := x.r.Position()
	resp, err := x.r.Pull(&PullRequest{Consumer: 2, MaxOps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := y.r.ApplyRemote(t.Context(), gen, resp.Ops); err != nil {
		t.Fatal(err)
	}
	y.resolve()
	y.add("cn=y1,ou=people,dc=example,dc=com", "objectClass", "person", "cn", "y1", "sn", "y")
	y.resolve()
	return y, gen
}

// BenchmarkPullCaughtUp is the pull a caught-up consumer makes every
// interval from a supplier that just resolved a catch-up of 5,000
// entries (a feed record each on its own origin).
func BenchmarkPullCaughtUp(b *testing.B) {
	y, gen, vec := resolvedCatchUp(b)
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		resp, err := y.r.Pull(&PullRequest{Generation: gen, Consumer: 1, MaxOps: 500, Vector: vec})
		if err != nil || len(resp.Ops) != 0 {
			b.Fatalf("pull: %v, %d ops", err, len(resp.Ops))
		}
	}
}

// BenchmarkPullBehindFeedRecords is the pull of a consumer that lacks the
// supplier's own changes, which its log interleaves with the feed
// records of the 5,050 entries it resolved: the one replicated op is
// found among them.
func BenchmarkPullBehindFeedRecords(b *testing.B) {
	y, gen, vec := resolvedCatchUp(b)
	behind := vec.Clone()
	delete(behind, 2)
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		resp, err := y.r.Pull(&PullRequest{Generation: gen, Consumer: 1, MaxOps: 500, Vector: behind})
		if err != nil || len(resp.Ops) != 1 {
			b.Fatalf("pull: %v, %d ops", err, len(resp.Ops))
		}
	}
}

// resolvedCatchUp returns replica 2 after it resolved 5,050 entries of
// replica 1, made one change of its own, and resolved 5,000 modifies of
// replica 1 more, with its generation and vector.
func resolvedCatchUp(b *testing.B) (*replica, Generation, Vector) {
	x := openReplica(b, b.TempDir(), 1, MultiConfig{})
	x.population(5000)
	y := openReplica(b, b.TempDir(), 2, MultiConfig{})
	gen, _ := x.r.Position()
	for {
		_, vec := y.r.Position()
		resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, MaxOps: 1000, Vector: vec})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := y.r.ApplyRemote(b.Context(), gen, resp.Ops); err != nil {
			b.Fatal(err)
		}
		if !resp.More {
			break
		}
	}
	y.resolve()
	y.add("cn=y1,ou=people,dc=example,dc=com", "objectClass", "person", "cn", "y1", "sn", "y")
	y.resolve()
	for i := range 5000 { // resolved entries written after y's last change
		modify(b, x.eng, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "description", "changed")
	}
	time.Sleep(10 * time.Millisecond)
	_, vec := y.r.Position()
	resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, MaxOps: 10000, Vector: vec})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := y.r.ApplyRemote(b.Context(), gen, resp.Ops); err != nil {
		b.Fatal(err)
	}
	y.resolve()
	_, vec = y.r.Position()
	return y, gen, vec
}

// TestFailingPeerRetriedWhenItPulls: a peer whose pulls fail backs off
// at most maxBackoff (1 s), and is woken at once when the replica it
// pulls from pulls from this one (the link is up again); one merely
// waiting between pulls is not woken.
func TestFailingPeerRetriedWhenItPulls(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	p, err := x.r.AddPeer(PeerConfig{Name: "r2", URL: "ldap://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	backoff := p.cfg.Interval
	for range 20 {
		p.sleep(ctx, &backoff, true)
	}
	if backoff > maxBackoff || maxBackoff > time.Second {
		t.Fatalf("backoff grew to %s", backoff)
	}

	woken := func() bool {
		select {
		case <-p.wake:
			return true
		default:
			return false
		}
	}
	p.mu.Lock()
	p.supplierID, p.state = 2, PeerOK
	p.mu.Unlock()
	x.r.retryPeersOf(2)
	if woken() {
		t.Fatal("a peer in good health was woken")
	}
	p.fail(PeerError, errors.New("connection refused"))
	x.r.retryPeersOf(3)
	if woken() {
		t.Fatal("a failing peer was woken by another replica's pull")
	}
	x.r.retryPeersOf(2)
	if !woken() {
		t.Fatal("a failing peer was not woken by its supplier's pull")
	}
}

// BenchmarkPullBacklog is one pull of 500 ops by a consumer that lacks
// 5,050 adds and 5,000 modifies whose records (a 1,200-byte value each)
// live in the value log: the ops past the batch are only counted.
func BenchmarkPullBacklog(b *testing.B) {
	x := openReplica(b, b.TempDir(), 1, MultiConfig{})
	x.population(5000)
	long := strings.Repeat("x", 1200)
	for i := range 5000 {
		modify(b, x.eng, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "description", long)
	}
	gen, _ := x.r.Position()
	b.ResetTimer()
	b.ReportAllocs()
	for range b.N {
		resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, MaxOps: 500})
		if err != nil || len(resp.Ops) != 500 || !resp.More {
			b.Fatalf("pull: %v, %d ops, more %v", err, len(resp.Ops), resp.More)
		}
	}
}
