package replication

import (
	"context"
	"testing"
	"time"
)

// TestReadersPassAWaitingWriter: while a resolution materialises (minutes
// at a million entries after a start) it holds the State read-locked; a
// pulled batch arriving meanwhile must wait for it, but must not stop
// the State's readers while it waits: with sync.RWMutex a writer queued
// on the lock lets no new reader in, so pulls served by this replica and
// stale checks stood still behind the resolution, and pulls timed out.
func TestReadersPassAWaitingWriter(t *testing.T) {
	_, y, gen, resp := pulledByEmpty(t, 20)
	if _, err := y.r.ApplyRemote(t.Context(), gen, resp.Ops[:10]); err != nil {
		t.Fatal(err)
	}

	entered, release := make(chan struct{}), make(chan struct{})
	y.r.materializing = func() {
		close(entered)
		<-release
	}
	resolved := make(chan error, 1)
	go func() { resolved <- y.r.resolve(context.Background()) }()
	<-entered
	y.r.materializing = nil // (read by the resolution before it blocked)

	applied := make(chan error, 1)
	go func() {
		_, err := y.r.ApplyRemote(context.Background(), gen, resp.Ops[10:])
		applied <- err
	}()
	time.Sleep(100 * time.Millisecond) // the batch now waits for the resolution
	select {
	case err := <-applied:
		t.Fatalf("the batch was applied during the materialisation (err %v)", err)
	default:
	}

	served := make(chan error, 1)
	go func() {
		_, vec := y.r.Position()
		_, err := y.r.Pull(&PullRequest{Generation: gen, Consumer: 3, MaxOps: 100, Vector: vec})
		served <- err
	}()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("pull: %v", err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("a pull from this replica waited behind the batch waiting for the resolution")
	}

	close(release)
	if err := <-resolved; err != nil {
		t.Fatal(err)
	}
	if err := <-applied; err != nil {
		t.Fatalf("the batch after the resolution: %v", err)
	}
	if _, vec := y.r.Position(); vec[1] != resp.Ops[len(resp.Ops)-1].CSN {
		t.Fatalf("replica 2 stands at %s for replica 1, want %s", vec[1], resp.Ops[len(resp.Ops)-1].CSN)
	}
}

// pulledByEmpty returns replica 1 with n people, an empty replica 2, the
// generation, and replica 1's log as replica 2's first pull gets it.
func pulledByEmpty(t *testing.T, n int) (x, y *replica, gen Generation, resp *PullResponse) {
	t.Helper()
	x = openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(n)
	y = openReplica(t, t.TempDir(), 2, MultiConfig{})
	gen, _ = x.r.Position()
	resp, err := x.r.Pull(&PullRequest{Consumer: 2, MaxOps: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return x, y, gen, resp
}
