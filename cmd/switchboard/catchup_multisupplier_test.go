package main

// The catch-up measurement of a healed partition (issue 15's soak
// agreement within 10 s): not run by default, it runs only when
// SWITCHBOARD_CATCHUP gives the number of changes each side of the
// partition makes:
//
//	SWITCHBOARD_CATCHUP=3000 go test ./cmd/switchboard -run TestMultiSupplierCatchUp -v -timeout 30m
//
// Replica 1 imports SWITCHBOARD_CATCHUP_BASE people (default 5,000)
// offline and replicas 2 and 3 are seeded from it with replica join, as
// a deployment does (with SWITCHBOARD_CATCHUP_SEED=pull they start
// empty and pull every entry from replica 1 instead). Then replica 3's
// replication links are cut both ways and both sides write at once, as
// fast as SWITCHBOARD_CATCHUP_CONNS connections per replica (default 2)
// go: on replicas 1 and 2 together SWITCHBOARD_CATCHUP changes, on
// replica 3 as many, each half adds of new entries, 30% a description
// value added to a person of the writer's own, 20% deletes of people of
// the writer's own (members of the generated groups; with
// SWITCHBOARD_CATCHUP_DELETE=added, of entries the writer added, in no
// group, as in the soak). Once replicas 1 and 2 agree, the link is healed and
// the test polls every 100 ms until the three are settled with one
// digest, one vector and one contextCSN (the soak's agreement); that time
// is the catch-up, logged with its rate (the changes both ways over it).
// Each store is then read in full against its state, and every
// acknowledged write checked on every replica.
//
// SWITCHBOARD_CATCHUP_PROFILE=DIR saves CPU and allocation profiles of
// replicas 3 and 1 taken over the first SWITCHBOARD_CATCHUP_PROFILE_SECONDS
// (default 10) after the heal, from the admin listener's /debug/pprof.
// SWITCHBOARD_CATCHUP_LIMIT_SECONDS (default 0: none) fails the test if
// agreement took longer.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/replication"
)

func TestMultiSupplierCatchUp(t *testing.T) {
	changes := envInt("SWITCHBOARD_CATCHUP", 0)
	if changes == 0 {
		t.Skip("set SWITCHBOARD_CATCHUP=<changes each side> to measure the catch-up of a healed partition")
	}
	people := envInt("SWITCHBOARD_CATCHUP_BASE", 5000)
	conns := envInt("SWITCHBOARD_CATCHUP_CONNS", 2)
	profDir := os.Getenv("SWITCHBOARD_CATCHUP_PROFILE")
	profSeconds := envInt("SWITCHBOARD_CATCHUP_PROFILE_SECONDS", 10)
	limit := time.Duration(envInt("SWITCHBOARD_CATCHUP_LIMIT_SECONDS", 0)) * time.Second
	deleteAdded := os.Getenv("SWITCHBOARD_CATCHUP_DELETE") == "added"
	pullSeed := os.Getenv("SWITCHBOARD_CATCHUP_SEED") == "pull"

	var report []string
	note := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		report = append(report, line)
		t.Log(line)
	}
	defer func() { t.Logf("summary:\n%s", strings.Join(report, "\n")) }()
	note("catch-up: %d people, %d changes each side, %d connections per replica; load average %s", people, changes, conns, loadAverage())

	ldif := filepath.Join(t.TempDir(), "people.ldif")
	out, err := exec.Command("go", "run", "github.com/switchboard-ldap/switchboard/testdata/gen", "-n", strconv.Itoa(people), "-suffix", testSuffix).Output()
	if err != nil {
		t.Fatalf("testdata/gen: %v", err)
	}
	if err := os.WriteFile(ldif, out, 0o600); err != nil {
		t.Fatal(err)
	}
	top := ""
	if profDir != "" {
		top = "admin_pprof: true\n"
	}
	start := time.Now()
	var data []string
	if pullSeed {
		data = []string{filepath.Join(t.TempDir(), "data")}
		if out, err := exec.Command(binary(t), "import", "--data", data[0], "--suffix", testSuffix, ldif).CombinedOutput(); err != nil {
			t.Fatalf("switchboard import: %v\n%s", err, out)
		}
	} else {
		data = joinedStores(t, ldif, 3, top)
		note("import and two joins: %s", time.Since(start).Round(time.Millisecond))
		start = time.Now()
	}
	c := startClusterConfig(t, 3, nil, data, "", top, nil)
	c.converge(30 * time.Minute)
	note("three replicas agree on the %d imported people %s after start", people, time.Since(start).Round(time.Millisecond))

	// Each writer owns people to modify and people to delete; replica 3's
	// writers write as much as those of replicas 1 and 2 together.
	writers := 3 * conns
	owned := ownedPeople(t, ldif, people)
	perWriter := len(owned) / writers
	var acked, unexpected atomic.Int64
	var mu sync.Mutex
	var added, deleted []string
	values := map[string][]string{} // DN -> acknowledged description values
	write := func(w int, s *testServer, n int) {
		conn := dialRoot(t, s)
		defer conn.Close()
		mine := owned[w*perWriter : (w+1)*perWriter]
		toModify, toDelete := mine[:len(mine)/2], mine[len(mine)/2:]
		var mineAdded []string
		for k := range n {
			var err error
			switch r := k % 10; {
			case r < 5:
				cn := fmt.Sprintf("cu-%d-%d", w, k)
				dn := "cn=" + cn + ",ou=people," + testSuffix
				req := goldap.NewAddRequest(dn, nil)
				req.Attribute("objectClass", []string{"person"})
				req.Attribute("cn", []string{cn})
				req.Attribute("sn", []string{"catch-up"})
				if err = conn.Add(req); err == nil {
					mu.Lock()
					added = append(added, dn)
					mu.Unlock()
					mineAdded = append(mineAdded, dn)
				}
			case r < 8:
				dn := toModify[k%len(toModify)]
				v := fmt.Sprintf("cu-%d-%d", w, k)
				req := goldap.NewModifyRequest(dn, nil)
				req.Add("description", []string{v})
				if err = conn.Modify(req); err == nil {
					mu.Lock()
					values[dn] = append(values[dn], v)
					mu.Unlock()
				}
			default:
				if deleteAdded {
					// As the soak's writers do: entries in no group.
					toDelete = mineAdded
				}
				if len(toDelete) == 0 {
					continue
				}
				dn := toDelete[0]
				toDelete = toDelete[1:]
				if deleteAdded {
					mineAdded = toDelete
				}
				if err = conn.Del(goldap.NewDelRequest(dn, nil)); err == nil {
					mu.Lock()
					deleted = append(deleted, dn)
					mu.Unlock()
				}
			}
			if err != nil {
				unexpected.Add(1)
				t.Errorf("writer %d: %v", w, err)
				return
			}
			acked.Add(1)
		}
	}

	c.isolate(2)
	wstart := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		i := w % 3
		n := changes / (2 * conns) // replicas 1 and 2 share one side's changes
		if i == 2 {
			n = changes / conns
		}
		wg.Add(1)
		go func() { defer wg.Done(); write(w, c.servers[i], n) }()
	}
	wg.Wait()
	if unexpected.Load() > 0 {
		t.FailNow()
	}
	wtook := time.Since(wstart)
	c.converge(30*time.Minute, 0, 1)
	note("%d changes acknowledged while replica 3 was cut off (%d adds, %d deletes), written in %s; replicas 1 and 2 agree %s later; load average %s",
		acked.Load(), len(added), len(deleted), wtook.Round(time.Millisecond), (time.Since(wstart) - wtook).Round(time.Millisecond), loadAverage())

	var prof sync.WaitGroup
	if profDir != "" {
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{2, 0} {
			prof.Add(1)
			go func() {
				defer prof.Done()
				saveProfile(t, c.servers[i], "profile", profSeconds, filepath.Join(profDir, fmt.Sprintf("catchup-r%d.pprof", i+1)))
			}()
			prof.Add(1)
			go func() {
				defer prof.Done()
				saveProfile(t, c.servers[i], "allocs", profSeconds, filepath.Join(profDir, fmt.Sprintf("catchup-r%d.allocs.pprof", i+1)))
			}()
		}
		time.Sleep(100 * time.Millisecond) // let the profiles start
	}
	var cpu0 [3]time.Duration
	var work0 [3][]float64
	for i, s := range c.servers {
		cpu0[i] = procCPU(s.cmd.Process.Pid)
		work0[i] = replicationWork(t, s)
	}
	heal := time.Now()
	stopTrace := make(chan struct{})
	traced := make(chan struct{})
	go func() { // what each replica did when, for reading where the time goes
		defer close(traced)
		for {
			select {
			case <-stopTrace:
				return
			case <-time.After(500 * time.Millisecond):
			}
			var line []string
			for i := range c.servers {
				var st replication.Status
				if getJSON(t, "http://"+c.servers[i].Admin+"/replication", &st) != nil {
					continue
				}
				f := fmt.Sprintf("r%d settled=%v resolve=%s", i+1, st.Settled, st.ResolveTook)
				for _, p := range st.Peers {
					f += fmt.Sprintf(" %s:%s/%d/lag%d", p.Name, p.State, p.Applied, p.LagChanges)
				}
				line = append(line, f)
			}
			t.Logf("trace %6.2fs: %s", time.Since(heal).Seconds(), strings.Join(line, " | "))
		}
	}()
	c.rejoin(2)
	var why string
	agreed := false
	for !agreed && time.Since(heal) < 30*time.Minute {
		if agreed, why = soakAgree(t, c); !agreed {
			time.Sleep(100 * time.Millisecond)
		}
	}
	took := time.Since(heal)
	close(stopTrace)
	<-traced
	if !agreed {
		t.Fatalf("the replicas did not agree within 30 minutes of the heal; last: %s", why)
	}
	var cpu []string
	for i, s := range c.servers {
		cpu = append(cpu, fmt.Sprintf("r%d %s", i+1, (procCPU(s.cmd.Process.Pid)-cpu0[i]).Round(time.Millisecond)))
	}
	total := int(acked.Load())
	note("agreement (settled, digest, vector, contextCSN) %s after the heal: %.0f changes/s (%d changes both ways); CPU (user+sys) meanwhile: %s; load average %s",
		took.Round(time.Millisecond), float64(total)/took.Seconds(), total, strings.Join(cpu, ", "), loadAverage())
	for i, s := range c.servers {
		w := replicationWork(t, s)
		for k := range w {
			w[k] -= work0[i][k]
		}
		note("replica %d after the heal: %.0f changes pulled, %.0f applied; %.0f resolutions wrote %.0f entries and removed %.0f", i+1, w[0], w[1], w[2], w[3], w[4])
	}
	prof.Wait()

	digest, _ := c.converge(10 * time.Minute)
	note("store digests equal the state digest on all three: %.16s", digest)
	for i, s := range c.servers {
		conn := dialRoot(t, s)
		all := searchAll(t, conn, "description")
		conn.Close()
		lost := 0
		gone := map[string]bool{}
		for _, dn := range deleted {
			gone[dn] = true
		}
		for _, dn := range added {
			if !gone[dn] && all[strings.ToLower(dn)] == nil {
				lost++
			}
		}
		for _, dn := range deleted {
			if all[strings.ToLower(dn)] != nil {
				lost++
			}
		}
		for dn, vs := range values {
			e := all[strings.ToLower(dn)]
			have := map[string]bool{}
			if e != nil {
				for _, v := range e.GetAttributeValues("description") {
					have[v] = true
				}
			}
			for _, v := range vs {
				if !have[v] {
					lost++
				}
			}
		}
		if lost > 0 {
			t.Errorf("replica %d: %d acknowledged writes missing", i+1, lost)
		}
	}
	if limit > 0 && took > limit {
		t.Errorf("agreement took %s, more than %s", took.Round(time.Millisecond), limit)
	}
}

// saveProfile writes a profile of s over the next seconds to path: kind
// is "profile" (CPU) or "allocs" (the allocations made meanwhile).
func saveProfile(t *testing.T, s *testServer, kind string, seconds int, path string) {
	resp, err := adminDo("GET", fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", s.Admin, kind, seconds))
	if err != nil {
		t.Errorf("profile: %v", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Errorf("profile: %v", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		t.Errorf("profile: %v", err)
	}
}

// procCPU returns the user and system CPU time a process has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th of them, in clock ticks (100 a second).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return time.Duration(u+st) * 10 * time.Millisecond
}

// joinedStores imports ldif into replica 1's store and seeds replicas
// 2..n from it with replica join, as the README's steps do: replica 1
// serves alone (replication on, no peers) while the others join, and is
// stopped before the stores are returned. top is prepended to each
// configuration's replication section.
func joinedStores(t *testing.T, ldif string, n int, top string) []string {
	t.Helper()
	data := make([]string, n)
	for i := range data {
		data[i] = filepath.Join(t.TempDir(), "data")
	}
	if out, err := exec.Command(binary(t), "import", "--data", data[0], "--suffix", testSuffix, ldif).CombinedOutput(); err != nil {
		t.Fatalf("switchboard import: %v\n%s", err, out)
	}
	config := func(id int) string {
		path := filepath.Join(t.TempDir(), "config.yaml")
		body := fmt.Sprintf("%s%sreplication:\n  replica_id: %d\n  multi_supplier: true\n  max_skew: 1h\n", openReadAccess, top, id)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	s := &testServer{Data: data[0], t: t, args: []string{"--config", config(1), "--bind-throttle.enabled=false"}, startWait: 30 * time.Minute}
	s.start()
	defer s.Stop()
	for i := 1; i < n; i++ {
		cmd := exec.Command(binary(t), "replica", "join", "--from", s.URL, "--config", config(i+1), "--data", data[i], "--suffix", testSuffix, "--root-dn", testRootDN)
		cmd.Env = append(os.Environ(), "SWITCHBOARD_ROOT_PASSWORD="+testRootPass)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("replica join: %v\n%s", err, out)
		}
	}
	return data
}

// replicationWork reads a replica's replication counters: changes
// pulled (duplicates included) and applied, resolutions, entries they
// wrote and removed.
func replicationWork(t *testing.T, s *testServer) []float64 {
	var out []float64
	for _, name := range []string{"pulled_changes_total", "applied_changes_total", "resolutions_total", "resolved_entries_written_total", "resolved_entries_removed_total"} {
		out = append(out, metric(t, s, "switchboard_replication_"+name))
	}
	return out
}
