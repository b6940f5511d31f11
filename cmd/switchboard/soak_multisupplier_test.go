package main

// The multi-supplier soak (issue 15): not run by default, it runs only
// when SWITCHBOARD_SOAK gives the number of people to load:
//
//	SWITCHBOARD_SOAK=1000000 SWITCHBOARD_SOAK_MINUTES=30 \
//	    go test ./cmd/switchboard -run TestMultiSupplierSoak -v -timeout 3h
//
// Replica 1 imports the directory offline and starts; replicas 2 and 3
// join it with "replica join" (timed: it is the reinit figure) and
// start. Each replica pulls from the other two through a proxy the test
// can cut, and clients reach each replica through a proxy too, so a
// replica killed and restarted on new ports keeps its addresses. For the
// soak's duration 8 writers spread over the replicas add, modify and
// delete entries of their own while a chaos loop stops replicas with
// SIGSTOP for a few seconds and kills them with SIGKILL (and restarts
// them) at random; one replica's links are cut for the last part of the
// run and healed when the load stops. Then the test measures the time
// until the three report one digest, one vector and one contextCSN,
// checks each store against its state, and checks every acknowledged
// write on every replica: a lost write or a mismatch fails it.
//
// Other knobs: SWITCHBOARD_SOAK_LDIF (an LDIF made by testdata/gen to
// reuse instead of generating one), SWITCHBOARD_SOAK_MEMORY_MB (each
// replica's memory_limit_mb), SWITCHBOARD_SOAK_PARTITION_SECONDS (how
// long the partition lasts; default a sixth of the run),
// SWITCHBOARD_SOAK_CHUNK_BYTES (replica join's --chunk-bytes),
// SWITCHBOARD_SOAK_CHAOS_SECONDS (the longest gap between two chaos
// events; default 30), SWITCHBOARD_SOAK_PAUSE_MS (each writer's pause
// between writes; default 20), and SWITCHBOARD_SOAK_INJECT, which breaks
// the run on purpose to show the checks catch it: "lose" deletes an
// acknowledged entry behind the writers' backs, "diverge" leaves replica
// 3 cut off and writes on replica 1 (SWITCHBOARD_SOAK_WAIT_SECONDS, the
// longest wait for agreement, default 1800, shortens that run).

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication/replicatest"
)

// soakOutcome is what became of a write: acknowledged, refused with a
// result code, or unknown (the connection broke or timed out before the
// response: either outcome is fine).
type soakOutcome int

const (
	soakAcked soakOutcome = iota
	soakFailed
	soakUnknown
)

// soakLedger is one writer's record of its acknowledged writes, keyed by
// lower-cased DN. The writer owns every key it touches, so each has one
// checkable final state.
type soakLedger struct {
	added   map[string]bool            // acknowledged adds, not deleted since
	deleted map[string]bool            // acknowledged deletes
	tokens  map[string]map[string]bool // acknowledged description values added, by DN
	unknown int
	failed  int
	acked   int
	kinds   [3]int // acknowledged adds, modifies, deletes
}

func newSoakLedger() *soakLedger {
	return &soakLedger{added: map[string]bool{}, deleted: map[string]bool{}, tokens: map[string]map[string]bool{}}
}

// soakWriter writes to one replica (through its client proxy) until stop
// is closed: adds of new entries, values added to entries it owns, and
// deletes of entries it added.
func soakWriter(w int, addr string, owned []string, pause time.Duration, stop <-chan struct{}, led *soakLedger, seq *atomic.Int64) {
	rng := rand.New(rand.NewSource(int64(w) + 1))
	var conn *goldap.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	var alive []string // added, acknowledged, not yet deleted (nor being)
	for k := 0; ; k++ {
		select {
		case <-stop:
			return
		default:
		}
		if conn == nil {
			c, err := goldap.DialURL("ldap://"+addr, goldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
			if err == nil {
				c.SetTimeout(10 * time.Second)
				if err = c.Bind(testRootDN, testRootPass); err != nil {
					c.Close()
				}
			}
			if err != nil {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			conn = c
		}
		tok := fmt.Sprintf("sk-%d-%d", w, seq.Add(1))
		var err error
		var dn string
		op := rng.Intn(10)
		switch {
		case op < 5 || len(alive) == 0 && op >= 8:
			dn = fmt.Sprintf("cn=sk-%d-%d,ou=people,%s", w, k, testSuffix)
			req := goldap.NewAddRequest(dn, nil)
			req.Attribute("objectClass", []string{"person"})
			req.Attribute("cn", []string{fmt.Sprintf("sk-%d-%d", w, k)})
			req.Attribute("sn", []string{"soak"})
			err = conn.Add(req)
			if soakClassify(err, led) == soakAcked {
				key := strings.ToLower(dn)
				led.kinds[0]++
				led.added[key] = true
				alive = append(alive, key)
			}
		case op < 8:
			// A unique value added to one of this writer's imported
			// entries (never deleted).
			dn = owned[rng.Intn(len(owned))]
			req := goldap.NewModifyRequest(dn, nil)
			req.Add("description", []string{tok})
			err = conn.Modify(req)
			if soakClassify(err, led) == soakAcked {
				key := strings.ToLower(dn)
				led.kinds[1]++
				if led.tokens[key] == nil {
					led.tokens[key] = map[string]bool{}
				}
				led.tokens[key][tok] = true
			}
		default:
			i := rng.Intn(len(alive))
			key := alive[i]
			alive = slices.Delete(alive, i, i+1)
			err = conn.Del(goldap.NewDelRequest(key, nil))
			switch soakClassify(err, led) {
			case soakAcked:
				led.kinds[2]++
				delete(led.added, key)
				led.deleted[key] = true
			case soakUnknown, soakFailed:
				delete(led.added, key) // either outcome is fine
			}
		}
		if err != nil && soakIsNetwork(err) {
			conn.Close()
			conn = nil
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}

func soakIsNetwork(err error) bool {
	var le *goldap.Error
	return !errors.As(err, &le) || le.ResultCode == goldap.ErrorNetwork
}

func soakClassify(err error, led *soakLedger) soakOutcome {
	switch {
	case err == nil:
		led.acked++
		return soakAcked
	case soakIsNetwork(err):
		led.unknown++
		return soakUnknown
	default:
		led.failed++
		return soakFailed
	}
}

// ownedPeople returns up to n people's DNs from an LDIF made by
// testdata/gen.
func ownedPeople(t *testing.T, ldif string, n int) []string {
	t.Helper()
	f, err := os.Open(ldif)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(out) < n {
		line := sc.Text()
		if strings.HasPrefix(line, "dn: uid=") && strings.HasSuffix(strings.ToLower(line), ",ou=people,"+testSuffix) {
			out = append(out, strings.TrimPrefix(line, "dn: "))
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s holds no people", ldif)
	}
	return out
}

// procMemory returns a process's VmRSS and VmHWM in MiB.
func procMemory(pid int) (rss, hwm int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1, -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

func loadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}

func TestMultiSupplierSoak(t *testing.T) {
	people := envInt("SWITCHBOARD_SOAK", 0)
	if people == 0 {
		t.Skip("set SWITCHBOARD_SOAK=<people> (and SWITCHBOARD_SOAK_MINUTES) to run the multi-supplier soak")
	}
	minutes := envInt("SWITCHBOARD_SOAK_MINUTES", 30)
	run := time.Duration(minutes) * time.Minute
	partition := time.Duration(envInt("SWITCHBOARD_SOAK_PARTITION_SECONDS", int(run.Seconds()/6))) * time.Second
	chaosGap := envInt("SWITCHBOARD_SOAK_CHAOS_SECONDS", 30)
	pause := time.Duration(envInt("SWITCHBOARD_SOAK_PAUSE_MS", 20)) * time.Millisecond
	inject := os.Getenv("SWITCHBOARD_SOAK_INJECT")
	wait := time.Duration(envInt("SWITCHBOARD_SOAK_WAIT_SECONDS", 1800)) * time.Second
	const replicas, writers = 3, 8

	var report []string
	note := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		report = append(report, line)
		t.Log(line)
	}
	defer func() { t.Logf("summary:\n%s", strings.Join(report, "\n")) }()
	note("soak: %d people, %s of load, partition %s, chaos gap <= %ds, writer pause %s; load average %s",
		people, run, partition, chaosGap, pause, loadAverage())

	ldif := os.Getenv("SWITCHBOARD_SOAK_LDIF")
	if ldif == "" {
		ldif = filepath.Join(t.TempDir(), "people.ldif")
		out, err := exec.Command("go", "run", "github.com/switchboard-ldap/switchboard/testdata/gen", "-n", strconv.Itoa(people), "-suffix", testSuffix).Output()
		if err != nil {
			t.Fatalf("testdata/gen: %v", err)
		}
		if err := os.WriteFile(ldif, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	owned := ownedPeople(t, ldif, writers*500)

	// Proxies: peer[i][j] is what replica i dials to pull from j; client[i]
	// is what the writers dial to reach replica i.
	newProxy := func() *replicatest.Proxy {
		p, err := replicatest.NewProxy("127.0.0.1:1")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	c := &cluster{t: t, proxies: make([][]*replicatest.Proxy, replicas)}
	client := make([]*replicatest.Proxy, replicas)
	for i := range replicas {
		client[i] = newProxy()
		c.proxies[i] = make([]*replicatest.Proxy, replicas)
		for j := range replicas {
			if i != j {
				c.proxies[i][j] = newProxy()
			}
		}
	}
	retarget := func() {
		c.retarget()
		for i, p := range client {
			p.SetTarget(c.servers[i].Addr)
		}
	}
	top := ""
	if mb := envInt("SWITCHBOARD_SOAK_MEMORY_MB", 0); mb > 0 {
		top = fmt.Sprintf("memory_limit_mb: %d\n", mb)
	}
	config := func(i int, replication bool) string {
		var b strings.Builder
		b.WriteString(openReadAccess)
		b.WriteString(top)
		if replication {
			fmt.Fprintf(&b, "replication:\n  replica_id: %d\n  multi_supplier: true\n  max_skew: 1h\n  interval: 100ms\n  peers:\n", i+1)
			for j := range replicas {
				if j != i {
					fmt.Fprintf(&b, "    - name: r%d\n      url: ldap://%s\n      bind_dn: %s\n      password: %s\n", j+1, c.proxies[i][j].Addr(), testRootDN, testRootPass)
				}
			}
		}
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	serve := func(data, cfg string) *testServer {
		s := &testServer{Data: data, t: t, args: []string{"--config", cfg, "--bind-throttle.enabled=false"}, startWait: 30 * time.Minute}
		s.start()
		t.Cleanup(s.Stop)
		return s
	}

	// Replica 1: an offline import, then serving with replication on.
	data := make([]string, replicas)
	cfgs := make([]string, replicas)
	for i := range replicas {
		data[i] = filepath.Join(t.TempDir(), "data")
		cfgs[i] = config(i, true)
	}
	start := time.Now()
	if out, err := exec.Command(binary(t), "import", "--data", data[0], "--suffix", testSuffix, ldif).CombinedOutput(); err != nil {
		t.Fatalf("switchboard import: %v\n%s", err, out)
	}
	note("import of %d people: %s", people, time.Since(start).Round(time.Second))
	start = time.Now()
	c.servers = append(c.servers, serve(data[0], cfgs[0]))
	note("replica 1 serving (replication on for the imported store): %s", time.Since(start).Round(time.Second))

	// Replicas 2 and 3 join it, one after the other.
	for i := 1; i < replicas; i++ {
		start = time.Now()
		args := []string{"replica", "join", "--from", c.servers[0].URL, "--config", cfgs[i], "--data", data[i], "--suffix", testSuffix, "--root-dn", testRootDN}
		if n := envInt("SWITCHBOARD_SOAK_CHUNK_BYTES", 0); n > 0 {
			args = append(args, "--chunk-bytes", strconv.Itoa(n))
		}
		cmd := exec.Command(binary(t), args...)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("replica join: %v\n%s", err, out)
		}
		note("replica %d join (an empty store: the bulk loader): %s; %s", i+1, time.Since(start).Round(time.Second), lastLine(string(out)))
		start = time.Now()
		c.servers = append(c.servers, serve(data[i], cfgs[i]))
		note("replica %d serving: %s", i+1, time.Since(start).Round(time.Second))
	}
	retarget()
	start = time.Now()
	for ok, why := soakAgree(t, c); !ok; ok, why = soakAgree(t, c) {
		if time.Since(start) > 30*time.Minute {
			t.Fatalf("the replicas did not agree before the load: %s", why)
		}
		time.Sleep(500 * time.Millisecond)
	}
	note("three replicas agree before the load: %s; load average %s", time.Since(start).Round(time.Second), loadAverage())
	for i, s := range c.servers {
		rss, hwm := procMemory(s.cmd.Process.Pid)
		note("replica %d before the load: VmRSS %d MiB, VmHWM %d MiB", i+1, rss, hwm)
	}

	// The load.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	ledgers := make([]*soakLedger, writers)
	for w := range writers {
		ledgers[w] = newSoakLedger()
		var mine []string
		for k := w; k < len(owned); k += writers {
			mine = append(mine, owned[k])
		}
		if len(mine) == 0 {
			mine = owned
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			soakWriter(w, client[w%replicas].Addr(), mine, pause, stop, ledgers[w], &seq)
		}()
	}

	// The chaos, in the test's goroutine (it alone touches the servers).
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	loadStart := time.Now()
	deadline := loadStart.Add(run)
	partitionAt := deadline.Add(-partition)
	cut := -1
	kills, stops := make([]int, replicas), make([]int, replicas)
	lastFault, lastFaultEnd := "none", time.Time{} // the last kill or stop, and when it ended
	peakRSS := make([]int, replicas)
	sample := func() {
		for i, s := range c.servers {
			if rss, _ := procMemory(s.cmd.Process.Pid); rss > peakRSS[i] {
				peakRSS[i] = rss
			}
		}
	}
	lastProgress := time.Now()
	for {
		gap := time.Duration(1+rng.Intn(chaosGap)) * time.Second
		next := time.Now().Add(gap)
		if cut < 0 && next.After(partitionAt) {
			next = partitionAt
		}
		if next.After(deadline) {
			next = deadline
		}
		for time.Now().Before(next) {
			time.Sleep(min(time.Until(next), time.Second))
			sample()
		}
		if !time.Now().Before(deadline) {
			break
		}
		if cut < 0 && !time.Now().Before(partitionAt) {
			cut = rng.Intn(replicas)
			c.isolate(cut)
			note("%s: replica %d cut off from the others", time.Since(loadStart).Round(time.Second), cut+1)
			continue
		}
		i := rng.Intn(replicas)
		s := c.servers[i]
		if rng.Intn(2) == 0 {
			d := time.Duration(1000+rng.Intn(4000)) * time.Millisecond
			at := time.Since(loadStart)
			s.cmd.Process.Signal(syscall.SIGSTOP)
			time.Sleep(d)
			s.cmd.Process.Signal(syscall.SIGCONT)
			stops[i]++
			lastFault = fmt.Sprintf("replica %d stopped at %s for %s", i+1, at.Round(time.Second), d)
			lastFaultEnd = time.Now()
			t.Logf("%s: replica %d stopped for %s", at.Round(time.Second), i+1, d)
		} else {
			at := time.Since(loadStart)
			s.Kill()
			time.Sleep(time.Duration(rng.Intn(2000)) * time.Millisecond)
			old := s.log
			rs := time.Now()
			s.start()
			if old != nil {
				old.Close()
				os.Remove(old.Name())
			}
			retarget()
			kills[i]++
			lastFault = fmt.Sprintf("replica %d killed at %s, serving again at %s", i+1, at.Round(time.Second), time.Since(loadStart).Round(time.Second))
			lastFaultEnd = time.Now()
			t.Logf("%s: replica %d killed and restarted (serving after %s, at %s)", at.Round(time.Second), i+1, time.Since(rs).Round(time.Millisecond), time.Since(loadStart).Round(time.Second))
		}
		if time.Since(lastProgress) >= time.Minute {
			lastProgress = time.Now()
			var ops strings.Builder
			sample()
			fmt.Fprintf(&ops, "%s: %d writes issued; VmRSS", time.Since(loadStart).Round(time.Second), seq.Load())
			for i, s := range c.servers {
				rss, _ := procMemory(s.cmd.Process.Pid)
				fmt.Fprintf(&ops, " r%d %d MiB", i+1, rss)
			}
			fmt.Fprintf(&ops, "; load average %s", loadAverage())
			t.Log(ops.String())
		}
	}
	close(stop)
	wg.Wait()
	loadStopped := time.Now()
	if cut >= 0 {
		c.rejoin(cut)
	}
	var acked, unknown, failed int
	var kinds [3]int
	for _, l := range ledgers {
		acked += l.acked
		unknown += l.unknown
		failed += l.failed
		for k := range kinds {
			kinds[k] += l.kinds[k]
		}
	}
	note("load: %s, %d writers over %d replicas; %d writes acknowledged (%.0f/s: %d adds, %d modifies, %d deletes), %d unknown (response lost to a kill or stop), %d refused; kills per replica %v, stops per replica %v; load average %s",
		loadStopped.Sub(loadStart).Round(time.Second), writers, replicas, acked, float64(acked)/loadStopped.Sub(loadStart).Seconds(),
		kinds[0], kinds[1], kinds[2], unknown, failed, kills, stops, loadAverage())
	if !lastFaultEnd.IsZero() {
		note("last kill or stop: %s, %s before the load stopped", lastFault, loadStopped.Sub(lastFaultEnd).Round(100*time.Millisecond))
	}

	switch inject {
	case "lose":
		// An acknowledged add disappears (deleted behind the writer's
		// back): the write check must report it.
		for dn := range ledgers[0].added {
			conn := dialRoot(t, c.servers[1])
			if err := conn.Del(goldap.NewDelRequest(dn, nil)); err != nil {
				t.Fatalf("inject: %v", err)
			}
			conn.Close()
			t.Logf("inject: deleted the acknowledged %s", dn)
			break
		}
	case "diverge":
		// Replica 3 stays cut off and replica 1 takes one more write: the
		// agreement check must time out.
		c.isolate(2)
		conn := dialRoot(t, c.servers[0])
		mustAdd(t, conn, "cn=injected,ou=people,"+testSuffix, map[string][]string{"objectClass": {"person"}, "sn": {"x"}})
		conn.Close()
		t.Log("inject: replica 3 cut off, cn=injected added on replica 1")
	}

	// Convergence: one digest, one vector and one contextCSN on all
	// three, polled every 0.5 s.
	var converged time.Duration
	var last string
	for {
		same, why := soakAgree(t, c)
		if same {
			converged = time.Since(loadStopped)
			break
		}
		last = why
		if time.Since(loadStopped) > wait {
			t.Fatalf("the replicas did not agree within %s of the load stopping: %s", wait, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
	note("identical digests, vectors and contextCSN %s after the load stopped (acceptance: <= 10s)", converged.Round(10*time.Millisecond))
	if converged > 10*time.Second {
		t.Errorf("convergence took %s, more than 10s; last disagreement: %s", converged.Round(10*time.Millisecond), last)
	}
	// Each store, read in full, digests to its state's digest.
	for i := range c.servers {
		var dg struct {
			Digest      string `json:"digest"`
			StoreDigest string `json:"store_digest"`
			Entries     int    `json:"entries"`
		}
		if err := getJSON(t, "http://"+c.servers[i].Admin+"/replication/digest?store=1", &dg); err != nil {
			t.Fatal(err)
		}
		if dg.Digest != dg.StoreDigest {
			t.Errorf("replica %d: the stored entries digest to %.16s, the replicated state to %.16s", i+1, dg.StoreDigest, dg.Digest)
		}
		note("replica %d: %d entries, digest %.16s, store digest %.16s", i+1, dg.Entries, dg.Digest, dg.StoreDigest)
	}

	// Every acknowledged write, on every replica.
	for i, s := range c.servers {
		checked, lost := soakCheck(t, s, ledgers)
		note("replica %d: %d acknowledged final states checked, %d lost", i+1, checked, lost)
	}
	for i, s := range c.servers {
		rss, hwm := procMemory(s.cmd.Process.Pid)
		sample()
		note("replica %d: VmRSS %d MiB, VmHWM %d MiB (since its last start), highest VmRSS sampled during the load %d MiB", i+1, rss, hwm, peakRSS[i])
	}
	note("load average at the end: %s", loadAverage())
	// Every store's indexes and DN keys are what its entries call for.
	start = time.Now()
	c.verifyStores()
	note("switchboard verify on the three stores: %s", time.Since(start).Round(time.Second))
}

// soakAgree reports whether every replica is settled with the same
// digest, vector and contextCSN, and if not, why.
func soakAgree(t *testing.T, c *cluster) (bool, string) {
	var d0, ctx0 string
	var v0 map[string]string
	for i, s := range c.servers {
		var dg struct {
			Digest  string            `json:"digest"`
			Settled bool              `json:"settled"`
			Vector  map[string]string `json:"vector"`
		}
		if err := getJSON(t, "http://"+s.Admin+"/replication/digest", &dg); err != nil {
			return false, err.Error()
		}
		csns, err := soakContextCSN(s)
		if err != nil {
			return false, fmt.Sprintf("replica %d: contextCSN: %v", i+1, err)
		}
		ctx := strings.Join(csns, " ")
		why := fmt.Sprintf("replica %d: settled %v digest %.12s vector %v contextCSN %s", i+1, dg.Settled, dg.Digest, dg.Vector, ctx)
		if !dg.Settled {
			return false, why
		}
		if i == 0 {
			d0, v0, ctx0 = dg.Digest, dg.Vector, ctx
			continue
		}
		if dg.Digest != d0 || !mapsEqual(dg.Vector, v0) || ctx != ctx0 {
			return false, why
		}
	}
	return true, ""
}

// soakContextCSN reads the suffix entry's contextCSN values, sorted; a
// replica busy catching up may be slow to answer, which is an answer too.
func soakContextCSN(s *testServer) ([]string, error) {
	conn, err := goldap.DialURL(s.URL, goldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(testRootDN, testRootPass); err != nil {
		return nil, err
	}
	r, err := conn.Search(goldap.NewSearchRequest(testSuffix, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"contextCSN"}, nil))
	if err != nil {
		return nil, err
	}
	if len(r.Entries) != 1 {
		return nil, fmt.Errorf("%d suffix entries", len(r.Entries))
	}
	v := r.Entries[0].GetAttributeValues("contextCSN")
	slices.Sort(v)
	return v, nil
}

// soakCheck reads the soak's entries on one replica and reports every
// acknowledged write that is not there; it returns how many final
// states it checked (an entry present, an entry absent, a value present)
// and how many were wrong.
func soakCheck(t *testing.T, s *testServer, ledgers []*soakLedger) (checked, lost int) {
	t.Helper()
	conn := dialRoot(t, s)
	defer conn.Close()
	conn.SetTimeout(30 * time.Minute)
	res, err := conn.SearchWithPaging(goldap.NewSearchRequest(testSuffix, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(|(cn=sk-*)(description=sk-*))", []string{"description"}, nil), 1000)
	if err != nil {
		t.Fatalf("soak check on %s: %v", s.Addr, err)
	}
	have := map[string]map[string]bool{}
	for _, e := range res.Entries {
		vals := map[string]bool{}
		for _, v := range e.GetAttributeValues("description") {
			vals[v] = true
		}
		have[strings.ToLower(e.DN)] = vals
	}
	report := func(format string, args ...any) {
		lost++
		if lost <= 20 {
			t.Errorf(format, args...)
		}
	}
	for w, l := range ledgers {
		checked += len(l.added) + len(l.deleted)
		for _, toks := range l.tokens {
			checked += len(toks)
		}
		for dn := range l.added {
			if have[dn] == nil {
				report("%s: writer %d's acknowledged add of %s is lost", s.Addr, w, dn)
			}
		}
		for dn := range l.deleted {
			if have[dn] != nil {
				report("%s: writer %d's acknowledged delete of %s is undone", s.Addr, w, dn)
			}
		}
		for dn, toks := range l.tokens {
			for tok := range toks {
				if !have[dn][tok] {
					report("%s: writer %d's acknowledged description %s on %s is lost", s.Addr, w, tok, dn)
				}
			}
		}
	}
	if lost > 20 {
		t.Errorf("%s: %d acknowledged writes lost in all", s.Addr, lost)
	}
	return checked, lost
}
