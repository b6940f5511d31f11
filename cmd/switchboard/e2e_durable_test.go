package main

// Multi-supplier replication with a bounded op log and purged
// tombstones, end to end: acceptance 6 (a consumer that has seen nothing
// of an origin catches up from a trimmed log without a
// reinitialisation) and the refusal half of acceptance 5 (a replica
// offline past the tombstone window is refused both ways, and nothing
// deleted comes back).

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

// startClusterWith is startCluster with extra YAML under replication:.
func startClusterWith(t *testing.T, n int, extra string) *cluster {
	t.Helper()
	return startClusterData(t, n, nil, nil, extra)
}

func (c *cluster) opLog(i int) map[string]replication.OpLogOrigin {
	c.t.Helper()
	var out map[string]replication.OpLogOrigin
	if err := getJSON(c.t, "http://"+c.servers[i].Admin+"/replication/oplog", &out); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last: %s", timeout, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reinitialisations counts, over the replicas, the peers in state
// reinitialise, the replicas refused, and the refusals.
func (c *cluster) reinitialisations(which ...int) (peers, replicas int, refusals int64) {
	for _, i := range which {
		st := c.status(i)
		refusals += st.Refusals
		for _, p := range st.Peers {
			if p.Reinit {
				peers++
			}
		}
		for _, r := range st.Replicas {
			if r.State != "ok" {
				replicas++
			}
		}
	}
	return
}

// TestMultiSupplierTrimmedLogCatchUp is acceptance 6: with the op log
// trimmed aggressively (ops older than 300ms and beyond 5 per origin),
// a replica that has seen nothing of replica 2's changes is cut off
// while replicas 1 and 2 write; their logs are trimmed up to what it
// acknowledged and no further, and once healed it catches up from the
// log with no reinitialisation.
func TestMultiSupplierTrimmedLogCatchUp(t *testing.T) {
	c := startClusterWith(t, 3, "  maintenance_interval: 200ms\n  op_log:\n    max_age: 300ms\n    max_ops: 5\n")
	// Replica 1 makes the data (of empty replicas, the one with the
	// lowest ID takes the first write): replica 2 has no changes of its
	// own yet.
	conn1 := dialRoot(t, c.servers[0])
	defer conn1.Close()
	mustAdd(t, conn1, testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	mustAdd(t, conn1, "ou=people,"+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	c.converge(30 * time.Second)
	// Replicas 1 and 2 know replica 3 as a consumer that has seen
	// nothing of replica 2.
	for _, i := range []int{0, 1} {
		waitFor(t, 10*time.Second, "replica 3 known as a consumer", func() (bool, string) {
			st := c.status(i)
			for _, r := range st.Replicas {
				if r.ID == 3 && r.Consumer && r.Vector["1"] != "" && r.Vector["2"] == "" {
					return true, ""
				}
			}
			return false, fmt.Sprint(st.Replicas)
		})
	}
	c.isolate(2)

	// Load on replicas 1 and 2: adds, modifies and deletes.
	const perReplica = 60
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := dialRoot(t, c.servers[w])
			defer conn.Close()
			for k := range perReplica {
				dn := fmt.Sprintf("cn=w%d-%d,ou=people,%s", w+1, k, testSuffix)
				mustAdd(t, conn, dn, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
				if k%10 == 9 {
					if err := conn.Del(delReq(fmt.Sprintf("cn=w%d-%d,ou=people,%s", w+1, k-5, testSuffix))); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	c.converge(30*time.Second, 0, 1)

	// Both logs are trimmed up to replica 3's position on replica 1's
	// changes, and keep every change of replica 2.
	for _, i := range []int{0, 1} {
		waitFor(t, 10*time.Second, fmt.Sprintf("replica %d trimming replica 1's changes", i+1), func() (bool, string) {
			ol := c.opLog(i)
			return ol["1"].Floor != "" && c.status(i).Trimmed > 0, fmt.Sprint(ol)
		})
		ol := c.opLog(i)
		if ol["2"].Floor != "" || ol["2"].Ops < perReplica {
			t.Fatalf("replica %d trimmed changes of replica 2 that replica 3 never saw: %+v", i+1, ol)
		}
		if ol["1"].Ops < perReplica {
			t.Fatalf("replica %d trimmed replica 1's changes past replica 3's position: %+v", i+1, ol)
		}
		t.Logf("replica %d op log while replica 3 is away: %+v (%d ops trimmed)", i+1, ol, c.status(i).Trimmed)
	}

	c.rejoin(2)
	_, took := c.converge(30 * time.Second)
	peers, replicas, refusals := c.reinitialisations(0, 1, 2)
	t.Logf("replica 3 caught up from the trimmed logs in %s; reinitialisations: %d peers, %d replicas, %d refusals", took.Round(time.Millisecond), peers, replicas, refusals)
	if peers+replicas != 0 || refusals != 0 {
		t.Fatalf("catching up needed a reinitialisation: %d peers, %d replicas, %d refusals", peers, replicas, refusals)
	}
	conn3 := dialRoot(t, c.servers[2])
	defer conn3.Close()
	if all := searchAll(t, conn3); len(all) != 2+2*(perReplica-perReplica/10) {
		t.Fatalf("replica 3 holds %d entries, want %d", len(all), 2+2*(perReplica-perReplica/10))
	}
	// Now that replica 3 has them, replica 2's changes are trimmed too.
	waitFor(t, 10*time.Second, "replica 2's changes trimmed once replica 3 has them", func() (bool, string) {
		ol := c.opLog(1)
		return ol["2"].Floor != "" && ol["2"].Ops <= 5, fmt.Sprint(ol)
	})
}

// TestMultiSupplierStaleReplicaRefused is the refusal half of acceptance
// 5: with a 3-second tombstone window, replica 3 is cut off (after
// adding a child below an entry the others then delete, and modifying
// another) and stopped past the window while replicas 1 and 2 delete
// and modify entries and purge the tombstones. On restart it is refused
// both ways and every replica reports "reinitialise"; no data changes
// on either side, and nothing deleted reappears.
func TestMultiSupplierStaleReplicaRefused(t *testing.T) {
	c := startClusterWith(t, 3, "  tombstone_window: 3s\n  maintenance_interval: 200ms\n  op_log:\n    max_age: 1s\n")
	c.seed()
	p := "ou=people," + testSuffix
	conn1 := dialRoot(t, c.servers[0])
	defer conn1.Close()
	mustAdd(t, conn1, "ou=x,"+p, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"x"}})
	for k := range 4 {
		mustAdd(t, conn1, fmt.Sprintf("cn=d%d,%s", k, p), map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	}
	mustAdd(t, conn1, "cn=m0,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	c.converge(30 * time.Second)

	// Replica 3, cut off, writes what would resurrect the deleted
	// entries if the others took it.
	c.isolate(2)
	conn3 := dialRoot(t, c.servers[2])
	mustAdd(t, conn3, "cn=child,ou=x,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	mod := modReq("cn=d0,"+p, "description", "from replica 3")
	if err := conn3.Modify(mod); err != nil {
		t.Fatal(err)
	}
	before3 := entryDump(searchAll(t, conn3, "description", "sn"))
	conn3.Close()
	c.servers[2].Stop()

	deleted := []string{"cn=d0," + p, "cn=d1," + p, "cn=d2," + p, "cn=d3," + p, "ou=x," + p}
	for _, dn := range deleted {
		if err := conn1.Del(delReq(dn)); err != nil {
			t.Fatal(err)
		}
	}
	conn2 := dialRoot(t, c.servers[1])
	defer conn2.Close()
	if err := conn2.Modify(modReq("cn=m0,"+p, "sn", "changed")); err != nil {
		t.Fatal(err)
	}
	digest, _ := c.converge(30*time.Second, 0, 1)
	// Replicas 1 and 2 forget replica 3 after the window and purge the
	// tombstones.
	for _, i := range []int{0, 1} {
		waitFor(t, 20*time.Second, fmt.Sprintf("replica %d purging the tombstones", i+1), func() (bool, string) {
			st := c.status(i)
			return st.Purged >= int64(len(deleted)), fmt.Sprintf("purged %d, floor %s", st.Purged, st.PurgeFloor)
		})
	}

	c.servers[2].start()
	c.retarget()
	c.rejoin(2)
	for i := range 3 {
		waitFor(t, 15*time.Second, fmt.Sprintf("replica %d reporting reinitialise", i+1), func() (bool, string) {
			st := c.status(i)
			n := 0
			for _, pe := range st.Peers {
				if pe.Reinit && pe.State == replication.PeerReinit && (i == 2 || pe.Name == "r3") {
					n++
				}
			}
			want := 1
			if i == 2 {
				want = 2
			}
			// Replicas 1 and 2 also list replica 3 as refused (until
			// they forget it, a window after it stopped trying).
			refused := i == 2
			for _, r := range st.Replicas {
				if r.ID == 3 && r.State == string(replication.PeerReinit) && r.Reason != "" {
					refused = true
				}
			}
			return n == want && refused && st.Refusals > 0, fmt.Sprintf("%+v %+v refusals %d", st.Peers, st.Replicas, st.Refusals)
		})
	}
	// nothingBack checks that none of the deleted entries (nor replica 3's
	// child under the deleted OU) is on replica i, and returns what is.
	nothingBack := func(i int, when string) map[string]*goldap.Entry {
		t.Helper()
		conn := dialRoot(t, c.servers[i])
		all := searchAll(t, conn, "sn")
		conn.Close()
		for _, dn := range append(deleted, "cn=child,ou=x,"+p) {
			if all[strings.ToLower(dn)] != nil {
				t.Errorf("replica %d%s: %s is back", i+1, when, dn)
			}
		}
		return all
	}
	// Refused, the pulls stop; give stray ones time anyway.
	time.Sleep(time.Second)
	for _, i := range []int{0, 1} {
		var dg struct {
			Digest string `json:"digest"`
		}
		if err := getJSON(t, "http://"+c.servers[i].Admin+"/replication/digest", &dg); err != nil {
			t.Fatal(err)
		}
		if dg.Digest != digest {
			t.Errorf("replica %d's data changed after the stale replica came back", i+1)
		}
		all := nothingBack(i, "")
		if e := all[strings.ToLower("cn=m0,"+p)]; e == nil || e.GetAttributeValue("sn") != "changed" {
			t.Errorf("replica %d: the modification of cn=m0 is lost", i+1)
		}
		if m := metrics(t, c.servers[i]); !strings.Contains(m, "switchboard_replication_reinit_replicas 1") {
			t.Errorf("replica %d: metrics do not count the stale replica", i+1)
		}
	}
	conn3 = dialRoot(t, c.servers[2])
	defer conn3.Close()
	if after := entryDump(searchAll(t, conn3, "description", "sn")); after != before3 {
		t.Errorf("the stale replica's data changed:\n%s\nwas\n%s", after, before3)
	}
	if log := c.servers[2].Log(); !strings.Contains(log, "must be reinitialised") {
		t.Errorf("the stale replica does not log why it is refused:\n%s", log)
	}

	// Reinitialised online from replica 1, replica 3 holds what the
	// others hold, and brings back nothing deleted: its own changes from
	// before the window are below every purge floor and change nothing.
	c.startReinit(2, "r1", 1<<20)
	if st := c.awaitReinit(2, 30*time.Second, nil); st.Carried != 0 {
		// Its only changes were made before the others purged past
		// them: carried, they would leave it refusing its peers.
		t.Errorf("the reinitialisation carried %d of the stale replica's changes", st.Carried)
	}
	t.Logf("the stale replica's changes dropped at the reinitialisation (not trimmed before it): %v",
		strings.Contains(c.servers[2].Log(), "they are dropped"))
	if got, _ := c.converge(30 * time.Second); got != digest {
		t.Errorf("after the reinitialisation the replicas agree on another digest than before it")
	}
	for i := range 3 {
		nothingBack(i, ", after the reinitialisation")
		for _, pe := range c.status(i).Peers {
			if pe.State == replication.PeerReinit {
				t.Errorf("replica %d still refuses peer %s after the reinitialisation: %s", i+1, pe.Name, pe.Error)
			}
		}
	}
}

func entryDump(all map[string]*goldap.Entry) string {
	var lines []string
	for dn, e := range all {
		var attrs []string
		for _, a := range e.Attributes {
			vals := append([]string(nil), a.Values...)
			sort.Strings(vals)
			attrs = append(attrs, strings.ToLower(a.Name)+"="+strings.Join(vals, "|"))
		}
		sort.Strings(attrs)
		lines = append(lines, dn+" "+strings.Join(attrs, " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func metrics(t *testing.T, s *testServer) string {
	t.Helper()
	resp, err := http.Get("http://" + s.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func delReq(dn string) *goldap.DelRequest { return goldap.NewDelRequest(dn, nil) }

func modReq(dn, attr, value string) *goldap.ModifyRequest {
	m := goldap.NewModifyRequest(dn, nil)
	m.Replace(attr, []string{value})
	return m
}
