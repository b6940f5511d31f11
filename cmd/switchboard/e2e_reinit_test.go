package main

// Reinitialisation from a snapshot, end to end: a replica reinitialised
// online through the admin API while the others take writes, and a
// snapshot transfer cut mid-way that resumes from its cursor.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

// startReinit asks replica i to reinitialise itself from its peer.
func (c *cluster) startReinit(i int, peer string, chunkBytes int) {
	c.t.Helper()
	url := fmt.Sprintf("http://%s/replication/peers/%s/reinit?chunk_bytes=%d", c.servers[i].Admin, peer, chunkBytes)
	resp, err := adminDo("POST", url)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st replication.ReinitStatus
	json.NewDecoder(resp.Body).Decode(&st)
	if resp.StatusCode != http.StatusAccepted || st.Peer != peer {
		c.t.Fatalf("POST %s: %s %+v", url, resp.Status, st)
	}
	// A second one while it runs is refused.
	again, err := adminDo("POST", url)
	if err != nil {
		c.t.Fatal(err)
	}
	again.Body.Close()
	if again.StatusCode != http.StatusConflict && c.status(i).Reinit.Phase == replication.ReinitFetching {
		c.t.Errorf("a second reinitialisation while one runs: %s", again.Status)
	}
}

// awaitReinit waits until replica i's reinitialisation is done, calling
// during (if not nil) with every status seen meanwhile.
func (c *cluster) awaitReinit(i int, timeout time.Duration, during func(replication.ReinitStatus)) replication.ReinitStatus {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st := c.status(i).Reinit
		switch st.Phase {
		case replication.ReinitDone:
			return st
		case replication.ReinitFailed, replication.ReinitNeeded:
			c.t.Fatalf("reinitialisation of replica %d: %+v", i+1, st)
		}
		if during != nil {
			during(st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("replica %d was not reinitialised in %s: %+v", i+1, timeout, c.status(i).Reinit)
	return replication.ReinitStatus{}
}

// TestReinitOnline reinitialises replica 3 through the admin API while
// replicas 1 and 2 take writes (and replica 3 too: refused with
// unavailable while the data is replaced, never half-applied): the three
// converge to one digest, and the metrics count the reinitialisation.
func TestReinitOnline(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.seed()
	conn := dialRoot(t, c.servers[0])
	for k := range 300 {
		mustAdd(t, conn, fmt.Sprintf("cn=base%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"x"}, "description": {strings.Repeat("d", 200)}})
	}
	conn.Close()
	c.converge(30 * time.Second)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var acked, refused atomic.Int64
	for w, s := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := dialRoot(t, s)
			defer conn.Close()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				dn := fmt.Sprintf("cn=w%d-%d,ou=people,%s", w, k, testSuffix)
				req := goldap.NewAddRequest(dn, nil)
				req.Attribute("objectClass", []string{"person"})
				req.Attribute("cn", []string{fmt.Sprintf("w%d-%d", w, k)})
				req.Attribute("sn", []string{"w"})
				err := conn.Add(req)
				switch {
				case err == nil:
					acked.Add(1)
				case w == 2 && goldap.IsErrorWithCode(err, goldap.LDAPResultUnavailable):
					refused.Add(1)
					time.Sleep(10 * time.Millisecond)
				default:
					t.Errorf("add on replica %d: %v", w+1, err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	c.startReinit(2, "r1", 16<<10)
	st := c.awaitReinit(2, 30*time.Second, nil)
	time.Sleep(500 * time.Millisecond) // writes go on after it
	close(stop)
	wg.Wait()
	digest, took := c.converge(60 * time.Second)
	if st.Restarts != 0 || st.Chunks < 3 || int(st.Entries) != st.Total || st.Completed != 1 {
		t.Errorf("reinitialisation status: %+v", st)
	}
	if got := metric(t, c.servers[2], "switchboard_replication_reinitialisations_total"); got != 1 {
		t.Errorf("reinitialisations_total = %v, want 1", got)
	}
	if got := metric(t, c.servers[0], "switchboard_replication_snapshots_taken_total"); got != 1 {
		t.Errorf("snapshots_taken_total on the supplier = %v, want 1", got)
	}
	// Every acknowledged add is everywhere (the digests are equal).
	conn = dialRoot(t, c.servers[2])
	defer conn.Close()
	all := searchAll(t, conn)
	if n := int64(len(all)); n != acked.Load()+302 {
		t.Errorf("%d entries on replica 3, want %d acknowledged adds + 302", n, acked.Load())
	}
	for i := range 2 {
		for _, p := range c.status(i).Peers {
			t.Logf("replica %d peer %s: %s %s", i+1, p.Name, p.State, p.Error)
		}
	}
	t.Logf("snapshot of %d entries in %d chunks (%d bytes); %d adds acknowledged, %d refused on replica 3 during the install; converged in %s, digest %.16s",
		st.Entries, st.Chunks, st.Bytes, acked.Load(), refused.Load(), took.Round(time.Millisecond), digest)
}

// TestReinitResume cuts the link in the middle of a snapshot transfer:
// the consumer reconnects and goes on from its cursor (one snapshot
// taken, every entry received once), then converges.
func TestReinitResume(t *testing.T) {
	c := startCluster(t, 2, nil)
	c.seed()
	conn := dialRoot(t, c.servers[0])
	for k := range 400 {
		mustAdd(t, conn, fmt.Sprintf("cn=r%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"x"}, "description": {strings.Repeat("r", 300)}})
	}
	conn.Close()
	c.converge(30 * time.Second)

	link := c.proxies[1][0] // what replica 2 dials to reach replica 1
	link.SetDelay(20 * time.Millisecond)
	c.startReinit(1, "r1", 4<<10)
	cut := false
	st := c.awaitReinit(1, 40*time.Second, func(st replication.ReinitStatus) {
		if !cut && st.Chunks >= 10 {
			cut = true
			link.Cut()
			time.Sleep(time.Second)
			if now := c.status(1).Reinit; now.Phase != replication.ReinitFetching || now.Chunks >= int64(st.Total) {
				t.Errorf("the cut did not fall mid-transfer: %+v", now)
			}
			link.Heal()
			link.SetDelay(0)
		}
	})
	if !cut {
		t.Fatalf("the transfer ended before it could be cut: %+v", st)
	}
	if st.Resumes < 1 || st.Restarts != 0 || int(st.Entries) != st.Total {
		t.Errorf("after the cut: %+v; want a resume, no restart, every entry once", st)
	}
	if got := metric(t, c.servers[0], "switchboard_replication_snapshots_taken_total"); got != 1 {
		t.Errorf("the supplier took %v snapshots, want 1", got)
	}
	c.converge(30 * time.Second)
	t.Logf("%d entries in %d chunks (%d bytes), %d resumes", st.Entries, st.Chunks, st.Bytes, st.Resumes)
}
