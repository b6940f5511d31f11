package main

// Joining replicas, end to end: a third replica joined with "replica
// join" to two live ones under writes; an empty replica with peers that
// does not fork a generation of its own; a stopped peer whose lag shows
// both ways; contextCSN equal on converged replicas.

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

// contextCSNOf reads the suffix entry's contextCSN values, sorted.
func contextCSNOf(t *testing.T, s *testServer) []string {
	t.Helper()
	conn := dialRoot(t, s)
	defer conn.Close()
	r, err := conn.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"contextCSN"}, nil))
	if err != nil || len(r.Entries) != 1 {
		t.Fatalf("contextCSN of %s: %v", s.Addr, err)
	}
	v := r.Entries[0].GetAttributeValues("contextCSN")
	slices.Sort(v)
	return v
}

// writeLoad adds entries on every given server until stop is closed,
// counting the acknowledged adds.
func writeLoad(t *testing.T, servers []*testServer, prefix string, stop chan struct{}, wg *sync.WaitGroup, acked *atomic.Int64) {
	for w, s := range servers {
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
				dn := fmt.Sprintf("cn=%s%d-%d,ou=people,%s", prefix, w, k, testSuffix)
				req := goldap.NewAddRequest(dn, nil)
				req.Attribute("objectClass", []string{"person"})
				req.Attribute("cn", []string{fmt.Sprintf("%s%d-%d", prefix, w, k)})
				req.Attribute("sn", []string{"w"})
				if err := conn.Add(req); err != nil {
					t.Errorf("add on %s: %v", s.Addr, err)
					return
				}
				acked.Add(1)
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
}

// TestReplicaJoinUnderWrites joins a replica with "replica join" to two
// live ones while both take writes (replica 3 of a three-replica
// topology, its store new): it starts in their generation, takes writes
// at once, and the three converge to one digest and one contextCSN (the
// vector: one value per replica that wrote).
func TestReplicaJoinUnderWrites(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.seed()
	r3 := c.servers[2]
	r3.Stop()
	if err := os.RemoveAll(r3.Data); err != nil {
		t.Fatal(err)
	}
	conn := dialRoot(t, c.servers[0])
	for k := range 200 {
		mustAdd(t, conn, fmt.Sprintf("cn=base%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	}
	conn.Close()
	c.converge(30*time.Second, 0, 1)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var acked atomic.Int64
	writeLoad(t, c.servers[:2], "w", stop, &wg, &acked)
	time.Sleep(300 * time.Millisecond)

	cmd := exec.Command(binary(t), "replica", "join", "--from", c.servers[1].URL, "--config", r3.args[1], "--data", r3.Data,
		"--suffix", testSuffix, "--root-dn", testRootDN, "--chunk-bytes", "8192")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("replica join: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	r3.start()
	c.retarget()
	// The joined replica takes writes at once: it is of their generation.
	writeLoad(t, []*testServer{r3}, "j", stop, &wg, &acked)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	digest, took := c.converge(60 * time.Second)
	gens := map[string]bool{}
	for i := range c.servers {
		gens[c.status(i).Generation] = true
	}
	if len(gens) != 1 {
		t.Errorf("generations after the join: %v, want one", gens)
	}
	conn = dialRoot(t, r3)
	if n := int64(len(searchAll(t, conn))); n != acked.Load()+202 {
		t.Errorf("%d entries on the joined replica, want %d acknowledged adds + 202", n, acked.Load())
	}
	conn.Close()

	// contextCSN: the same on every replica, one value per replica
	// that wrote (all three did).
	var ctx0 []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx0 = contextCSNOf(t, c.servers[0])
		same := len(ctx0) == 3
		for _, s := range c.servers[1:] {
			same = same && slices.Equal(contextCSNOf(t, s), ctx0)
		}
		if same {
			break
		}
		if time.Now().After(deadline) {
			for _, s := range c.servers {
				t.Errorf("contextCSN on %s: %v", s.Addr, contextCSNOf(t, s))
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%d adds acknowledged; converged in %s, digest %.16s, contextCSN %v", acked.Load(), took.Round(time.Millisecond), digest, ctx0)
}

// TestEmptyReplicaDoesNotFork starts an empty replica whose only peer is
// cut off: a write on it does not found a generation of its own (it is
// refused, naming replica join); once the link heals it adopts the
// peer's data and generation and takes writes.
func TestEmptyReplicaDoesNotFork(t *testing.T) {
	c := startCluster(t, 2, nil)
	c.seed()
	c.isolate(1)
	c.servers[1].Stop()
	os.RemoveAll(c.servers[1].Data)
	c.servers[1].start()
	c.retarget()
	conn := dialRoot(t, c.servers[1])
	defer conn.Close()
	start := time.Now()
	req := goldap.NewAddRequest(testSuffix, nil)
	req.Attribute("objectClass", []string{"dcObject", "organization"})
	req.Attribute("dc", []string{"example"})
	req.Attribute("o", []string{"Fork"})
	err := conn.Add(req)
	wantCode(t, "add on an empty replica that has not joined", err, goldap.LDAPResultUnavailable)
	if err != nil && !strings.Contains(err.Error(), "replica join") {
		t.Errorf("the refusal does not name replica join: %v", err)
	}
	t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), err)
	if st := c.status(1); st.Generation != "" {
		t.Fatalf("the empty replica made generation %s", st.Generation)
	}
	c.rejoin(1)
	c.converge(30 * time.Second)
	if a, b := c.status(0).Generation, c.status(1).Generation; a != b || a == "" {
		t.Fatalf("generations %q and %q after the heal", a, b)
	}
	mustAdd(t, conn, "cn=after-join,ou=people,"+testSuffix, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	c.converge(30 * time.Second)
}

// peerMetric reads a labelled peer metric of s (-1: absent).
func peerMetric(t *testing.T, s *testServer, name, labels string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\{` + regexp.QuoteMeta(labels) + `\} (\S+)$`).FindStringSubmatch(metrics(t, s))
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

func peerOf(st replication.Status, name string) replication.PeerStatus {
	for _, p := range st.Peers {
		if p.Name == name {
			return p
		}
	}
	return replication.PeerStatus{}
}

// TestStalledPeerLag stops replica 3 (SIGSTOP) while replica 1 takes
// writes: replica 1 shows it stalled, with what it lacks of replica 1's
// changes and the age of the oldest of them growing, in the admin API and
// the metrics; once it continues, both fall back to nothing and it is ok.
func TestStalledPeerLag(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.seed()
	// Replica 1 knows which replica its peer r3 is once it has pulled
	// from it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if p := peerOf(c.status(0), "r3"); p.State == replication.PeerOK && p.ReplicaID == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica 1 did not pull from r3: %+v", peerOf(c.status(0), "r3"))
		}
	}
	r3 := c.servers[2]
	if err := r3.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			r3.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	conn := dialRoot(t, c.servers[0])
	defer conn.Close()
	var first, last replication.PeerStatus
	for k := range 40 {
		mustAdd(t, conn, fmt.Sprintf("cn=stall%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
		time.Sleep(200 * time.Millisecond)
		p := peerOf(c.status(0), "r3")
		if k == 5 {
			first = p
		}
		last = p
	}
	t.Logf("while stopped: first %+v", first)
	t.Logf("while stopped: last %+v", last)
	if last.State == replication.PeerOK {
		t.Errorf("a stopped peer shows state ok")
	}
	if last.PeerLacksChanges <= first.PeerLacksChanges || last.PeerLacksChanges < 30 {
		t.Errorf("what the stopped peer lacks did not grow: %d then %d", first.PeerLacksChanges, last.PeerLacksChanges)
	}
	if last.OldestUnacknowledged <= first.OldestUnacknowledged || last.OldestUnacknowledged < 5 {
		t.Errorf("the age of the oldest unacknowledged change did not grow: %.1fs then %.1fs", first.OldestUnacknowledged, last.OldestUnacknowledged)
	}
	if last.PeerLacksSeconds <= 0 {
		t.Errorf("peer_lacks_seconds = %v while the peer lacks changes", last.PeerLacksSeconds)
	}
	if got := peerMetric(t, c.servers[0], "switchboard_replication_peer_lag_changes", `direction="out",peer="r3"`); got < 30 {
		t.Errorf("switchboard_replication_peer_lag_changes{peer=r3,direction=out} = %v", got)
	}
	if got := peerMetric(t, c.servers[0], "switchboard_replication_peer_oldest_unacknowledged_seconds", `peer="r3"`); got < 5 {
		t.Errorf("switchboard_replication_peer_oldest_unacknowledged_seconds{peer=r3} = %v", got)
	}
	if got := peerMetric(t, c.servers[0], "switchboard_replication_peer_up", `peer="r3",state="`+string(last.State)+`"`); got != 0 {
		t.Errorf("switchboard_replication_peer_up{peer=r3} = %v, want 0", got)
	}

	if err := r3.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	c.converge(60 * time.Second)
	deadline := time.Now().Add(45 * time.Second)
	for {
		p := peerOf(c.status(0), "r3")
		if p.State == replication.PeerOK && p.PeerLacksChanges == 0 && p.OldestUnacknowledged == 0 && p.LagChanges == 0 {
			t.Logf("after it continued: %+v", p)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the peer did not come back to ok with nothing lacking: %+v", p)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := peerMetric(t, c.servers[0], "switchboard_replication_peer_up", `peer="r3",state="ok"`); got != 1 {
		t.Errorf("switchboard_replication_peer_up{peer=r3,state=ok} = %v, want 1", got)
	}
}
