package replication

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// TestResolutionLetsLocalWritesIn: a round writing thousands of resolved
// entries releases the write lock between its transactions, so a local
// write waits for one transaction, not for the round; local modifies of
// entries the round has yet to write are not overwritten by it, and the
// store ends equal to the state.
func TestResolutionLetsLocalWritesIn(t *testing.T) {
	const n = 2000
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(n)
	y := openReplica(t, t.TempDir(), 2, MultiConfig{})
	pull := func() {
		t.Helper()
		gen, _ := x.r.Position()
		_, vec := y.r.Position()
		resp, err := x.r.Pull(&PullRequest{Generation: gen, Consumer: 2, MaxOps: 10000, Vector: vec})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := y.r.ApplyRemote(t.Context(), gen, resp.Ops); err != nil {
			t.Fatal(err)
		}
	}
	pull()
	y.resolve()
	for i := range n {
		modify(t, x.eng, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "description", "remote")
	}
	pull()

	chunks, local := 0, 0
	y.r.afterStoreChunk = func() {
		chunks++
		if chunks != 1 {
			return
		}
		// Between the round's first and second transactions: local
		// writes, some to entries the round writes later.
		done := make(chan error, 1)
		go func() {
			ctx := context.Background()
			_, err := y.eng.Add(ctx, "cn=local,ou=people,dc=example,dc=com", []directory.Attr{
				{Name: "objectClass", Values: [][]byte{[]byte("person")}},
				{Name: "cn", Values: [][]byte{[]byte("local")}},
				{Name: "sn", Values: [][]byte{[]byte("l")}},
			}, directory.WriteOptions{})
			for i := 0; i < n && err == nil; i += 100 {
				_, err = y.eng.Modify(ctx, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), []directory.Mod{
					{Op: change.ModAdd, Attr: directory.Attr{Name: "telephoneNumber", Values: [][]byte{[]byte("+1 555 0100")}}},
				}, directory.WriteOptions{})
				local++
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("local write during the round: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a local write waited for the resolution's round")
		}
	}
	y.resolve()
	y.r.afterStoreChunk = nil
	if chunks < 4 {
		t.Fatalf("the round wrote %d transactions, want >= 4 for %d entries", chunks, n)
	}
	y.resolve() // what the round left for the local writes
	for i := 0; i < n; i += 100 {
		dn := fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i)
		en, err := y.eng.Get(context.Background(), dn)
		if err != nil || en == nil {
			t.Fatalf("%s: %v", dn, err)
		}
		if en.First("description") != "remote" || en.First("telephoneNumber") != "+1 555 0100" {
			t.Errorf("%s: description %q, telephoneNumber %q", dn, en.First("description"), en.First("telephoneNumber"))
		}
	}
	d1, err := y.r.StoreDigest()
	if err != nil {
		t.Fatal(err)
	}
	if d2 := y.r.state.Digest(); d1 != d2 {
		t.Error("the store does not hold what the state resolves to")
	}
	if local != n/100 {
		t.Errorf("%d local modifies, want %d", local, n/100)
	}
}
