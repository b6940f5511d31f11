package main

// Multi-supplier replication, end to end: real switchboard processes,
// each accepting writes and pulling from the others through TCP proxies
// that partition the links. Every test asserts convergence through the
// admin API: the replicated state's digest equal on every replica, the
// digest of the stored entries (read in full) equal to it, and the
// vectors equal.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
	"github.com/switchboard-ldap/switchboard/replication/replicatest"
)

type cluster struct {
	t       *testing.T
	servers []*testServer
	proxies [][]*replicatest.Proxy // proxies[i][j]: what replica i dials to pull from j
}

// startCluster starts n replicas, replica i with clock offset offsets[i]
// (nil: none), each pulling from every other through a proxy.
func startCluster(t *testing.T, n int, offsets []time.Duration) *cluster {
	t.Helper()
	return startClusterData(t, n, offsets, nil, "")
}

// startClusterData is startCluster with replica i's store in data[i]
// (an empty string or a missing entry: a fresh one) and extra YAML
// under replication:.
func startClusterData(t *testing.T, n int, offsets []time.Duration, data []string, extra string) *cluster {
	t.Helper()
	return startClusterConfig(t, n, offsets, data, extra, "", nil)
}

// startClusterConfig is startClusterData with top-level YAML top in every
// replica's configuration and args on every replica's command line.
func startClusterConfig(t *testing.T, n int, offsets []time.Duration, data []string, extra, top string, args []string) *cluster {
	t.Helper()
	c := &cluster{t: t, proxies: make([][]*replicatest.Proxy, n)}
	for i := range n {
		c.proxies[i] = make([]*replicatest.Proxy, n)
		for j := range n {
			if i == j {
				continue
			}
			p, err := replicatest.NewProxy("127.0.0.1:1")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.Close() })
			c.proxies[i][j] = p
		}
	}
	for i := range n {
		var b strings.Builder
		b.WriteString(openReadAccess)
		b.WriteString(top)
		fmt.Fprintf(&b, "replication:\n  replica_id: %d\n  multi_supplier: true\n  max_skew: 1h\n  interval: 100ms\n%s", i+1, extra)
		if offsets != nil && offsets[i] != 0 {
			fmt.Fprintf(&b, "  clock_offset: %s\n", offsets[i])
		}
		b.WriteString("  peers:\n")
		for j := range n {
			if j != i {
				fmt.Fprintf(&b, "    - name: r%d\n      url: ldap://%s\n      bind_dn: %s\n      password: %s\n", j+1, c.proxies[i][j].Addr(), testRootDN, testRootPass)
			}
		}
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		dir := ""
		if i < len(data) {
			dir = data[i]
		}
		c.servers = append(c.servers, startServer(t, dir, append([]string{"--config", cfg}, args...)...))
	}
	c.retarget()
	return c
}

// retarget points every proxy at its replica's current address.
func (c *cluster) retarget() {
	for i := range c.proxies {
		for j, p := range c.proxies[i] {
			if p != nil {
				p.SetTarget(c.servers[j].Addr)
			}
		}
	}
}

// isolate cuts replica k off from the others, both ways.
func (c *cluster) isolate(k int) {
	for i := range c.proxies {
		if i != k {
			c.proxies[i][k].Cut()
			c.proxies[k][i].Cut()
		}
	}
}

func (c *cluster) rejoin(k int) {
	for i := range c.proxies {
		if i != k {
			c.proxies[i][k].Heal()
			c.proxies[k][i].Heal()
		}
	}
}

func getJSON(t testing.TB, url string, v any) error {
	t.Helper()
	resp, err := adminDo("GET", url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b strings.Builder
		buf := make([]byte, 4096)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return fmt.Errorf("%s: %s: %s", url, resp.Status, b.String())
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (c *cluster) status(i int) replication.Status {
	var st replication.Status
	if err := getJSON(c.t, "http://"+c.servers[i].Admin+"/replication", &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// converge waits until every replica is settled with the same vector and
// digest, and each replica's stored entries digest to its state's; it
// returns the digest and how long it took.
func (c *cluster) converge(timeout time.Duration, which ...int) (string, time.Duration) {
	c.t.Helper()
	if which == nil {
		for i := range c.servers {
			which = append(which, i)
		}
	}
	start := time.Now()
	var last string
	for time.Since(start) < timeout {
		var d0 string
		var v0 map[string]string
		ok := true
		for n, i := range which {
			var dg struct {
				Digest      string            `json:"digest"`
				Settled     bool              `json:"settled"`
				Vector      map[string]string `json:"vector"`
				StoreDigest string            `json:"store_digest"`
			}
			if err := getJSON(c.t, "http://"+c.servers[i].Admin+"/replication/digest?store=1", &dg); err != nil {
				c.t.Fatal(err)
			}
			last = fmt.Sprintf("replica %d: settled %v digest %.12s store %.12s vector %v", i+1, dg.Settled, dg.Digest, dg.StoreDigest, dg.Vector)
			if !dg.Settled || dg.Digest != dg.StoreDigest {
				ok = false
				break
			}
			if n == 0 {
				d0, v0 = dg.Digest, dg.Vector
				continue
			}
			if dg.Digest != d0 || !mapsEqual(dg.Vector, v0) {
				ok = false
				break
			}
		}
		if ok {
			return d0, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, i := range which {
		st := c.status(i)
		b, _ := json.MarshalIndent(st, "", " ")
		c.t.Logf("replica %d: %s", i+1, b)
	}
	c.t.Fatalf("replicas did not converge in %s; last: %s", timeout, last)
	return "", 0
}

// verifyStores stops every replica and runs switchboard verify on its
// store: the digests compare entries only, and an entry's index or DN
// keys may still disagree with it (an entry found by ID, never by name).
func (c *cluster) verifyStores() {
	c.t.Helper()
	for i, s := range c.servers {
		s.Stop()
		if out, err := s.Verify(); err != nil {
			c.t.Errorf("replica %d: switchboard verify: %v\n%s", i+1, err, out)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func mustAdd(t testing.TB, c *goldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	rdn := strings.SplitN(strings.SplitN(dn, ",", 2)[0], "=", 2)
	if _, ok := attrs[rdn[0]]; !ok {
		req.Attribute(rdn[0], []string{rdn[1]})
	}
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// seedCluster adds the suffix and ou=people on replica 1 and waits until
// every replica has them (and so shares replica 1's generation).
func (c *cluster) seed() {
	c.t.Helper()
	conn := dialRoot(c.t, c.servers[0])
	defer conn.Close()
	mustAdd(c.t, conn, testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	mustAdd(c.t, conn, "ou=people,"+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	c.converge(30 * time.Second)
}

// searchAll returns every entry below the suffix with the attributes
// asked for, by DN.
func searchAll(t testing.TB, c *goldap.Conn, attrs ...string) map[string]*goldap.Entry {
	t.Helper()
	res, err := c.SearchWithPaging(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, nil), 500)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*goldap.Entry{}
	for _, e := range res.Entries {
		out[strings.ToLower(e.DN)] = e
	}
	return out
}

// TestMultiSupplierRandomWrites is acceptance 1, scaled: concurrent random
// adds, modifies, modrdns and deletes on three replicas, one of them cut
// off mid-run; after healing the replicas converge and every acknowledged
// write is there or was superseded. SWITCHBOARD_MS_WRITES (default 900)
// and SWITCHBOARD_MS_CUT_SECONDS (default 5) scale it.
func TestMultiSupplierRandomWrites(t *testing.T) {
	writes := envInt("SWITCHBOARD_MS_WRITES", 900)
	cut := time.Duration(envInt("SWITCHBOARD_MS_CUT_SECONDS", 5)) * time.Second
	c := startCluster(t, 3, nil)
	c.seed()
	// Stable entries are never deleted: every value added to them must
	// survive. Volatile ones are added, renamed and deleted at random.
	const stable, volatile = 30, 60
	conn := dialRoot(t, c.servers[0])
	for k := range stable {
		mustAdd(t, conn, fmt.Sprintf("cn=s%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"s"}})
	}
	conn.Close()
	c.converge(30 * time.Second)

	var seq atomic.Int64
	var mu sync.Mutex
	stableTokens := map[string]bool{} // acknowledged values added to stable entries
	addTokens := map[string]string{}  // acknowledged volatile adds: token -> cn
	deleted := map[string]bool{}      // cns of volatile entries some acknowledged delete removed
	var acked, failed atomic.Int64

	worker := func(s *testServer, w int, n int) {
		conn := dialRoot(t, s)
		defer conn.Close()
		rng := rand.New(rand.NewSource(int64(w)))
		for range n {
			id := seq.Add(1)
			tok := fmt.Sprintf("t%d", id)
			var err error
			kind := rng.Intn(10)
			switch {
			case kind < 4: // value added to a stable entry (by either of its names)
				k := rng.Intn(stable)
				name := fmt.Sprintf("cn=s%d", k)
				if rng.Intn(2) == 0 {
					name = fmt.Sprintf("cn=s%d-r", k)
				}
				req := goldap.NewModifyRequest(name+",ou=people,"+testSuffix, nil)
				req.Add("description", []string{tok})
				if err = conn.Modify(req); err == nil {
					mu.Lock()
					stableTokens[tok] = true
					mu.Unlock()
				}
			case kind < 5: // rename a stable entry between its two names
				k := rng.Intn(stable)
				from, to := fmt.Sprintf("cn=s%d", k), fmt.Sprintf("cn=s%d-r", k)
				if rng.Intn(2) == 0 {
					from, to = to, from
				}
				err = conn.ModifyDN(goldap.NewModifyDNRequest(from+",ou=people,"+testSuffix, to, true, ""))
			case kind < 7:
				cn := fmt.Sprintf("v%d", rng.Intn(volatile))
				req := goldap.NewAddRequest("cn="+cn+",ou=people,"+testSuffix, nil)
				req.Attribute("objectClass", []string{"person"})
				req.Attribute("cn", []string{cn})
				req.Attribute("sn", []string{"v"})
				req.Attribute("description", []string{tok})
				if err = conn.Add(req); err == nil {
					mu.Lock()
					addTokens[tok] = cn
					mu.Unlock()
				}
			case kind < 8:
				cn := fmt.Sprintf("v%d", rng.Intn(volatile))
				req := goldap.NewModifyRequest("cn="+cn+",ou=people,"+testSuffix, nil)
				req.Replace("sn", []string{tok})
				err = conn.Modify(req)
			default:
				cn := fmt.Sprintf("v%d", rng.Intn(volatile))
				if err = conn.Del(goldap.NewDelRequest("cn="+cn+",ou=people,"+testSuffix, nil)); err == nil {
					mu.Lock()
					deleted[cn] = true
					mu.Unlock()
				}
			}
			if err == nil {
				acked.Add(1)
			} else if !goldap.IsErrorAnyOf(err, goldap.LDAPResultNoSuchObject, goldap.LDAPResultEntryAlreadyExists) {
				failed.Add(1)
				t.Errorf("replica %s: unexpected error: %v", s.Addr, err)
				return
			}
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	per := writes / 6
	for w := range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); worker(c.servers[w%3], w, per) }()
	}
	// Cut replica 3 off while the writes run.
	time.Sleep(300 * time.Millisecond)
	c.isolate(2)
	time.Sleep(cut)
	c.rejoin(2)
	wg.Wait()
	elapsed := time.Since(start)
	digest, took := c.converge(60 * time.Second)
	t.Logf("%d operations (%d acknowledged) in %s with replica 3 cut for %s; converged %s after the last write; digest %.16s",
		per*6, acked.Load(), elapsed.Round(time.Millisecond), cut, took.Round(time.Millisecond), digest)

	// Every acknowledged write is there, on every replica (the digests
	// are equal, so one replica's entries stand for all).
	conn = dialRoot(t, c.servers[1])
	defer conn.Close()
	all := searchAll(t, conn, "description")
	have := map[string]bool{}
	for _, e := range all {
		for _, v := range e.GetAttributeValues("description") {
			have[v] = true
		}
	}
	lostStable, superseded, present := 0, 0, 0
	for tok := range stableTokens {
		if have[tok] {
			present++
		} else {
			lostStable++
			t.Errorf("acknowledged value %s added to a stable entry is missing", tok)
		}
	}
	for tok, cn := range addTokens {
		switch {
		case have[tok]:
			present++
		case deleted[cn]:
			superseded++
		default:
			t.Errorf("acknowledged add of cn=%s (%s) is missing and was never deleted", cn, tok)
		}
	}
	t.Logf("acknowledged writes checked: %d present, %d superseded by a delete, %d lost", present, superseded, lostStable)
	if len(stableTokens) == 0 || len(addTokens) == 0 {
		t.Fatal("the workload acknowledged no writes of some kind")
	}
	c.verifyStores()
}

// TestMultiSupplierSameDN is acceptance 3: the same DN added on three
// partitioned replicas: one winner everywhere, the others renamed and
// flagged identically, and reported.
func TestMultiSupplierSameDN(t *testing.T) {
	c := startCluster(t, 3, nil)
	c.seed()
	for i := range 3 {
		c.isolate(i)
	}
	for i, s := range c.servers {
		conn := dialRoot(t, s)
		mustAdd(t, conn, "cn=dup,ou=people,"+testSuffix, map[string][]string{"objectClass": {"person"}, "sn": {fmt.Sprint("from-", i+1)}})
		conn.Close()
	}
	for i := range 3 {
		c.rejoin(i)
	}
	c.converge(30 * time.Second)
	for i, s := range c.servers {
		conn := dialRoot(t, s)
		all := searchAll(t, conn, "sn", "switchboardConflict")
		conn.Close()
		winners, losers := 0, 0
		for dn, e := range all {
			switch {
			case dn == "cn=dup,ou=people,"+testSuffix:
				winners++
				if v := e.GetAttributeValue("switchboardConflict"); v != "" {
					t.Errorf("replica %d: the winner carries switchboardConflict %q", i+1, v)
				}
			case strings.HasPrefix(dn, "entryuuid=") && strings.Contains(dn, "+cn=dup,ou=people,"):
				losers++
				if got := e.GetAttributeValue("switchboardConflict"); !strings.EqualFold(got, "cn=dup,ou=people,"+testSuffix) {
					t.Errorf("replica %d: loser %s has switchboardConflict %q", i+1, dn, got)
				}
			}
		}
		if winners != 1 || losers != 2 {
			t.Errorf("replica %d: %d winners, %d renamed losers; want 1 and 2: %v", i+1, winners, losers, keys(all))
		}
		var conflicts []map[string]string
		if err := getJSON(t, "http://"+s.Admin+"/replication/conflicts", &conflicts); err != nil {
			t.Fatal(err)
		}
		names := 0
		for _, cf := range conflicts {
			if cf["kind"] == "name" {
				names++
			}
		}
		if names != 2 {
			t.Errorf("replica %d reports %d name conflicts, want 2: %v", i+1, names, conflicts)
		}
	}
	c.verifyStores()
}

func keys(m map[string]*goldap.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestMultiSupplierDeleteRaces is acceptance 4: a delete racing a modify,
// a modrdn and an add below it during a partition ends the same
// everywhere, replication goes on, and nothing deleted comes back.
func TestMultiSupplierDeleteRaces(t *testing.T) {
	c := startCluster(t, 2, nil)
	c.seed()
	conn1, conn2 := dialRoot(t, c.servers[0]), dialRoot(t, c.servers[1])
	defer conn1.Close()
	defer conn2.Close()
	p := "ou=people," + testSuffix
	mustAdd(t, conn1, "ou=parent,"+p, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"parent"}})
	mustAdd(t, conn1, "cn=modified,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	mustAdd(t, conn1, "cn=moved,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	c.converge(30 * time.Second)

	c.isolate(0)
	// Replica 1 deletes all three; replica 2 modifies, renames and adds
	// below them.
	for _, dn := range []string{"ou=parent," + p, "cn=modified," + p, "cn=moved," + p} {
		if err := conn1.Del(goldap.NewDelRequest(dn, nil)); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t, conn2, "cn=child,ou=parent,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"child"}})
	mod := goldap.NewModifyRequest("cn=modified,"+p, nil)
	mod.Replace("sn", []string{"changed"})
	if err := conn2.Modify(mod); err != nil {
		t.Fatal(err)
	}
	if err := conn2.ModifyDN(goldap.NewModifyDNRequest("cn=moved,"+p, "cn=renamed", true, "")); err != nil {
		t.Fatal(err)
	}
	c.rejoin(0)
	c.converge(30 * time.Second)
	for i, s := range c.servers {
		conn := dialRoot(t, s)
		all := searchAll(t, conn, "switchboardGlue", "objectClass")
		conn.Close()
		parent := all["ou=parent,"+p]
		if parent == nil || parent.GetAttributeValue("switchboardGlue") != "TRUE" {
			t.Errorf("replica %d: ou=parent should be a glue entry: %v", i+1, parent)
		}
		if all["cn=child,ou=parent,"+p] == nil {
			t.Errorf("replica %d: the child added during the partition is missing", i+1)
		}
		for _, gone := range []string{"cn=modified," + p, "cn=moved," + p, "cn=renamed," + p} {
			if all[gone] != nil {
				t.Errorf("replica %d: %s was deleted but is there", i+1, gone)
			}
		}
	}
	// Pausing a peer through the admin API stops its changes; resuming
	// brings them.
	post := func(url string) {
		resp, err := adminDo("POST", url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST %s: %s", url, resp.Status)
		}
	}
	post("http://" + c.servers[1].Admin + "/replication/peers/r1/pause")
	mustAdd(t, conn1, "cn=while-paused,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	time.Sleep(time.Second)
	if st := c.status(1); st.Peers[0].State != replication.PeerPaused || searchAll(t, conn2)["cn=while-paused,"+p] != nil {
		t.Fatalf("a paused peer's change arrived: %+v", st.Peers)
	}
	post("http://" + c.servers[1].Admin + "/replication/peers/r1/resume")
	c.converge(30 * time.Second)

	// Replication goes on: a later write arrives everywhere, and settling
	// the glue by hand (deleting the child) removes it.
	if err := conn2.Del(goldap.NewDelRequest("cn=child,ou=parent,"+p, nil)); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, conn1, "cn=after,"+p, map[string][]string{"objectClass": {"person"}, "sn": {"after"}})
	c.converge(30 * time.Second)
	for i, s := range c.servers {
		conn := dialRoot(t, s)
		all := searchAll(t, conn)
		conn.Close()
		if all["ou=parent,"+p] != nil || all["cn=after,"+p] == nil {
			t.Errorf("replica %d: after settling: %v", i+1, keys(all))
		}
	}
	c.verifyStores()
}

// TestMultiSupplierClockSkew is acceptance 7: replicas 10 minutes ahead
// and behind converge with every write accepted and CSNs increasing; a
// replica 2 hours ahead is quarantined and reported.
func TestMultiSupplierClockSkew(t *testing.T) {
	c := startCluster(t, 4, []time.Duration{0, 10 * time.Minute, -10 * time.Minute, 2 * time.Hour})
	c.seed()
	// Replicas 1-3 write concurrently; their CSNs carry their skewed
	// clocks, and each must still sort after what its replica saw.
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn := dialRoot(t, c.servers[i])
			defer conn.Close()
			prev := ""
			for k := range 30 {
				dn := fmt.Sprintf("cn=skew-%d-%d,ou=people,%s", i+1, k, testSuffix)
				mustAdd(t, conn, dn, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
				res, err := conn.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"entryCSN"}, nil))
				if err != nil || len(res.Entries) != 1 {
					t.Errorf("read back %s: %v", dn, err)
					return
				}
				csn := res.Entries[0].GetAttributeValue("entryCSN")
				if csn <= prev {
					t.Errorf("replica %d: entryCSN %s after %s: not increasing", i+1, csn, prev)
				}
				prev = csn
			}
		}()
	}
	wg.Wait()
	// Replica 4's change is two hours ahead of the others' clocks.
	conn := dialRoot(t, c.servers[3])
	mustAdd(t, conn, "cn=future,ou=people,"+testSuffix, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	conn.Close()
	c.converge(30*time.Second, 0, 1, 2)
	deadline := time.Now().Add(20 * time.Second)
	for i := range 3 {
		for {
			st := c.status(i)
			var r4 *replication.PeerStatus
			for k := range st.Peers {
				if st.Peers[k].Name == "r4" {
					r4 = &st.Peers[k]
				}
			}
			if r4 != nil && r4.Quarantined && st.Refusals > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica %d does not report r4 quarantined: %+v", i+1, st.Peers)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	conn = dialRoot(t, c.servers[0])
	defer conn.Close()
	if all := searchAll(t, conn); all["cn=future,ou=people,"+testSuffix] != nil {
		t.Error("the change of the quarantined replica was applied")
	}
	resp, err := http.Get("http://" + c.servers[0].Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(b.String(), "switchboard_replication_quarantined_peers 1") {
		t.Error("metrics do not report the quarantined peer")
	}
}

// TestMultiSupplierKill is acceptance 8, scaled: a replica killed with
// SIGKILL under load, SWITCHBOARD_MS_KILLS times (default 3), restarts
// with its log, data and vector in agreement, and nothing acknowledged
// is lost.
func TestMultiSupplierKill(t *testing.T) {
	kills := envInt("SWITCHBOARD_MS_KILLS", 3)
	c := startCluster(t, 2, nil)
	c.seed()
	var mu sync.Mutex
	ackedDNs := map[string]bool{}
	for round := range kills {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w, s := range c.servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := goldap.DialURL(s.URL)
				if err != nil {
					return
				}
				defer conn.Close()
				if conn.Bind(testRootDN, testRootPass) != nil {
					return
				}
				for k := 0; ; k++ {
					select {
					case <-stop:
						return
					default:
					}
					dn := fmt.Sprintf("cn=k%d-%d-%d,ou=people,%s", round, w, k, testSuffix)
					req := goldap.NewAddRequest(dn, nil)
					req.Attribute("objectClass", []string{"person"})
					req.Attribute("cn", []string{strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "cn=")})
					req.Attribute("sn", []string{"x"})
					if conn.Add(req) != nil {
						return // the server died under us
					}
					mu.Lock()
					ackedDNs[strings.ToLower(dn)] = true
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+rand.Intn(500)) * time.Millisecond)
		c.servers[0].Kill()
		close(stop)
		wg.Wait()
		c.servers[0].start()
		c.retarget()
	}
	_, took := c.converge(60 * time.Second)
	conn := dialRoot(t, c.servers[1])
	defer conn.Close()
	all := searchAll(t, conn)
	lost := 0
	for dn := range ackedDNs {
		if all[dn] == nil {
			lost++
			t.Errorf("acknowledged add %s lost", dn)
		}
	}
	t.Logf("%d kills, %d acknowledged adds, %d lost; converged %s after the last restart", kills, len(ackedDNs), lost, took.Round(time.Millisecond))
	c.verifyStores()
}

// TestMultiSupplierReplicaInit seeds a new replica with "replica init"
// from a running one, then serves it: it holds the same data and keeps
// up. A replica of another generation (its own data) is refused and told
// to reinitialise, and its data is left alone.
func TestMultiSupplierReplicaInit(t *testing.T) {
	c := startCluster(t, 2, nil)
	c.seed()
	conn := dialRoot(t, c.servers[0])
	defer conn.Close()
	for k := range 50 {
		mustAdd(t, conn, fmt.Sprintf("cn=init%d,ou=people,%s", k, testSuffix), map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	}
	c.converge(30 * time.Second)

	replicaConfig := func(id int, peer string) string {
		cfg := filepath.Join(t.TempDir(), "config.yaml")
		yaml := openReadAccess + fmt.Sprintf("replication:\n  replica_id: %d\n  multi_supplier: true\n  interval: 100ms\n  peers:\n    - name: r1\n      url: %s\n      bind_dn: %s\n      password: %s\n",
			id, peer, testRootDN, testRootPass)
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	data := filepath.Join(t.TempDir(), "data")
	cfg := replicaConfig(3, c.servers[0].URL)
	cmd := exec.Command(binary(t), "replica", "init", "--from", c.servers[0].URL, "--config", cfg, "--data", data,
		"--suffix", testSuffix, "--root-dn", testRootDN)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("replica init: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	if !strings.Contains(string(out), "snapshot of 52 entries") {
		t.Errorf("replica init did not copy the 52 entries' snapshot: %s", out)
	}
	r3 := startServer(t, data, "--config", cfg)
	c.servers = append(c.servers, r3)
	mustAdd(t, conn, "cn=after-init,ou=people,"+testSuffix, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	c.converge(30*time.Second, 0, 2)

	// A replica that wrote its own data while it had no peers (it
	// founded a generation of its own) is refused once it has them, says
	// so loudly, and names the way out; its data is left alone.
	alone := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(alone, []byte(openReadAccess+"replication:\n  replica_id: 4\n  multi_supplier: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := startServer(t, "", "--config", alone)
	oconn := dialRoot(t, other)
	mustAdd(t, oconn, testSuffix, map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Other"}})
	oconn.Close()
	other.Stop()
	otherCfg := replicaConfig(4, c.servers[0].URL)
	other.args[1] = otherCfg
	other.start()
	oconn = dialRoot(t, other)
	defer oconn.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st replication.Status
		if err := getJSON(t, "http://"+other.Admin+"/replication", &st); err != nil {
			t.Fatal(err)
		}
		if len(st.Peers) == 1 && st.Peers[0].Reinit && st.Refusals > 0 && len(st.Diverged) == 1 {
			if want := "POST /replication/peers/r1/reinit"; !strings.Contains(st.Diverged[0], want) || !strings.Contains(st.Peers[0].Diverged, "replica join --from") {
				t.Errorf("the divergence does not name the way out (%s, replica join): %q", want, st.Diverged[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the foreign replica was not told to reinitialise: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := metric(t, other, "switchboard_replication_diverged"); got != 1 {
		t.Errorf("switchboard_replication_diverged = %v, want 1", got)
	}
	if !strings.Contains(other.Log(), "DIVERGED") {
		t.Errorf("the divergence was not logged")
	}
	if all := searchAll(t, oconn, "o"); len(all) != 1 || all[strings.ToLower(testSuffix)].GetAttributeValue("o") != "Other" {
		t.Errorf("the foreign replica's data changed: %v", keys(all))
	}
	oconn.Close()

	// replica join refuses its store, which holds data, unless told to
	// replace it; with --replace it takes r1's data and generation.
	other.Stop()
	join := func(extra ...string) ([]byte, error) {
		cmd := exec.Command(binary(t), append([]string{"replica", "join", "--from", c.servers[0].URL, "--config", otherCfg, "--data", other.Data,
			"--suffix", testSuffix, "--root-dn", testRootDN}, extra...)...)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
		return cmd.CombinedOutput()
	}
	if out, err := join(); err == nil || !strings.Contains(string(out), "--replace") {
		t.Errorf("replica join on a store with data: %v\n%s", err, out)
	}
	if out, err := join("--replace"); err != nil {
		t.Fatalf("replica join --replace: %v\n%s", err, out)
	}
	other.start()
	c.servers = append(c.servers, other)
	c.converge(30*time.Second, 0, 3)
	if a, b := c.status(0).Generation, c.status(3).Generation; a != b {
		t.Errorf("generation after join --replace %s, want r1's %s", b, a)
	}
}

// TestMultiSupplierPinnedTLS replicates over ldaps with mutual TLS: each
// replica presents a client certificate (mapped to the root DN, bound
// with SASL EXTERNAL) and accepts its peer only by the pinned key. A
// replica pinning the wrong key gets nothing.
func TestMultiSupplierPinnedTLS(t *testing.T) {
	dir := makeCerts(t, "")
	cert, key := clientCert(t, dir)
	server := readCert(t, filepath.Join(dir, "server.pem"))
	sum := sha256.Sum256(server.RawSubjectPublicKeyInfo)
	pin := hex.EncodeToString(sum[:])
	ports := []string{freePort(t), freePort(t), freePort(t)}
	config := func(id int, peer string, pin string) string {
		yaml := openReadAccess + fmt.Sprintf(`replication:
  replica_id: %d
  multi_supplier: true
  interval: 100ms
  peers:
    - name: peer
      url: ldaps://%s
      tls: {cert_file: %q, key_file: %q, pinned_sha256: [%q]}
`, id, peer, cert, key, pin)
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	start := func(id int, ldaps, peer, pin string) *testServer {
		return startServer(t, "", "--config", config(id, peer, pin), "--listen-ldaps", ldaps,
			"--tls.cert-file", filepath.Join(dir, "server.pem"), "--tls.key-file", filepath.Join(dir, "server-key.pem"),
			"--tls.ca-file", filepath.Join(dir, "ca.pem"))
	}
	c := &cluster{t: t, servers: []*testServer{start(1, ports[0], ports[1], pin), start(2, ports[1], ports[0], pin)}}
	wrong := start(3, ports[2], ports[0], strings.Repeat("ab", 32))
	c.seed()
	conn := dialRoot(t, c.servers[1])
	mustAdd(t, conn, "cn=over-tls,ou=people,"+testSuffix, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
	conn.Close()
	c.converge(30 * time.Second)
	var st replication.Status
	if err := getJSON(t, "http://"+wrong.Admin+"/replication", &st); err != nil {
		t.Fatal(err)
	}
	if st.Generation != "" || len(st.Peers) != 1 || st.Peers[0].State != replication.PeerError || !strings.Contains(st.Peers[0].Error, "not pinned") {
		t.Fatalf("a replica pinning another key: %+v", st)
	}
}
