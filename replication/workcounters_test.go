package replication

import "testing"

// TestWorkCounters: the counters behind the replication metrics count a
// batch received twice (from two peers) once as applied and twice as
// pulled, and a resolution's entries written and removed.
func TestWorkCounters(t *testing.T) {
	x, y, gen, resp := pulledByEmpty(t, 20)
	for range 2 {
		if _, err := y.r.ApplyRemote(t.Context(), gen, resp.Ops); err != nil {
			t.Fatal(err)
		}
	}
	n := int64(len(resp.Ops))
	if got := y.r.pulled.Load(); got != 2*n {
		t.Errorf("pulled %d, want %d", got, 2*n)
	}
	if got := y.r.applied.Load(); got != n {
		t.Errorf("applied %d, want %d", got, n)
	}
	y.resolve()
	if got := y.r.resolvedWritten.Load(); got != 22 { // the suffix, ou=people, 20 people
		t.Errorf("written %d, want 22", got)
	}
	x.del("cn=p3,ou=people,dc=example,dc=com")
	_, vec := y.r.Position()
	resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, MaxOps: 1000, Vector: vec})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := y.r.ApplyRemote(t.Context(), gen, resp.Ops); err != nil {
		t.Fatal(err)
	}
	y.resolve()
	if got := y.r.resolvedRemoved.Load(); got != 1 {
		t.Errorf("removed %d, want 1", got)
	}
	if got := y.r.rounds.Load(); got != 2 {
		t.Errorf("%d resolutions that wrote, want 2", got)
	}
}
