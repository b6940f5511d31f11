package main

// The replication benchmark (issue 5, acceptance 10): not a timed test,
// it runs only when SWITCHBOARD_MS_BENCH gives the number of people to
// load (e.g. 100000) and logs its figures:
//
//	SWITCHBOARD_MS_BENCH=100000 go test ./cmd/switchboard -run TestMultiSupplierBenchmark -v -timeout 60m
//
// 1. Catch-up of adds: replica 1 imports the directory offline; replicas
//    2 and 3 start empty and pull every entry from the op log.
// 2. Durable write throughput (modify, 8 connections, switchboard-bench)
//    against one replica on its own, against one replica of three, and
//    spread over all three at once.
// 3. Catch-up of modifies: replica 3 is stopped while replica 1 takes
//    SWITCHBOARD_MS_BENCH_CHANGES modifies (default: as many as people),
//    then started again; the time until all three agree is the catch-up.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMultiSupplierBenchmark(t *testing.T) {
	people := envInt("SWITCHBOARD_MS_BENCH", 0)
	if people == 0 {
		t.Skip("set SWITCHBOARD_MS_BENCH=<people> to run the replication benchmark")
	}
	changes := envInt("SWITCHBOARD_MS_BENCH_CHANGES", people)
	dir := t.TempDir()
	bench := filepath.Join(dir, "switchboard-bench")
	if out, err := exec.Command("go", "build", "-o", bench, "github.com/switchboard-ldap/switchboard/cmd/switchboard-bench").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ldif := filepath.Join(dir, "people.ldif")
	out, err := exec.Command("go", "run", "github.com/switchboard-ldap/switchboard/testdata/gen", "-n", strconv.Itoa(people), "-suffix", testSuffix).Output()
	if err != nil {
		t.Fatalf("testdata/gen: %v", err)
	}
	if err := os.WriteFile(ldif, out, 0o600); err != nil {
		t.Fatal(err)
	}
	load := func() string {
		data := filepath.Join(t.TempDir(), "data")
		start := time.Now()
		if out, err := exec.Command(binary(t), "import", "--data", data, "--suffix", testSuffix, ldif).CombinedOutput(); err != nil {
			t.Fatalf("switchboard import: %v\n%s", err, out)
		}
		t.Logf("import of %d people: %s", people, time.Since(start).Round(time.Millisecond))
		return data
	}
	var report []string
	note := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		report = append(report, line)
		t.Log(line)
	}
	// modify runs switchboard-bench's durable modify against each server
	// at once and returns the total rate.
	modify := func(servers []*testServer, d time.Duration, ops int) float64 {
		var mu sync.Mutex
		total := 0.0
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				args := []string{"-addr", s.Addr, "-op", "modify", "-conns", "8", "-warmup", "1s", "-data", ldif,
					"-base", testSuffix, "-bind-dn", testRootDN, "-bind-pw", testRootPass, "-tsv"}
				if ops > 0 {
					args = append(args, "-ops", strconv.Itoa(ops))
				} else {
					args = append(args, "-duration", d.String())
				}
				out, err := exec.Command(bench, args...).Output()
				if err != nil {
					t.Errorf("switchboard-bench: %v", err)
					return
				}
				f := strings.Split(strings.TrimSpace(lastLine(string(out))), "\t")
				if len(f) < 4 {
					t.Errorf("switchboard-bench printed %q", out)
					return
				}
				rate, _ := strconv.ParseFloat(f[3], 64)
				mu.Lock()
				total += rate
				mu.Unlock()
			}()
		}
		wg.Wait()
		return total
	}

	// One replica on its own, multi-supplier on (its op log and state).
	{
		c := startClusterData(t, 1, nil, []string{load()}, "")
		c.converge(10 * time.Minute)
		note("write throughput, one replica alone: %.0f modifies/s", modify(c.servers, 10*time.Second, 0))
		c.servers[0].Stop()
	}

	c := startClusterData(t, 3, nil, []string{load()}, "")
	start := time.Now()
	_, _ = c.converge(30 * time.Minute)
	note("catch-up of %d adds by two empty replicas (pulled from the op log, stored, resolved): %s",
		people, time.Since(start).Round(time.Millisecond))

	note("write throughput, one replica of three: %.0f modifies/s", modify(c.servers[:1], 10*time.Second, 0))
	c.converge(10 * time.Minute)
	note("write throughput, spread over three replicas: %.0f modifies/s in total", modify(c.servers, 10*time.Second, 0))
	c.converge(10 * time.Minute)

	c.servers[2].Stop()
	wstart := time.Now()
	rate := modify(c.servers[:1], 0, changes)
	note("%d modifies on replica 1 while replica 3 was down: %.0f/s, %s", changes, rate, time.Since(wstart).Round(time.Millisecond))
	c.converge(10*time.Minute, 0, 1)
	start = time.Now()
	c.servers[2].start()
	c.retarget()
	t.Logf("replica 3 listening again after %s", time.Since(start).Round(time.Millisecond))
	stop := make(chan struct{})
	go func() { // progress, for reading where the time goes
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Second):
			}
			for i := range c.servers {
				var st struct {
					Entries int               `json:"entries"`
					Settled bool              `json:"settled"`
					Vector  map[string]string `json:"vector"`
					Took    string            `json:"resolve_took"`
				}
				if getJSON(t, "http://"+c.servers[i].Admin+"/replication", &st) == nil {
					t.Logf("  replica %d: entries %d settled %v vector %v last resolution %s", i+1, st.Entries, st.Settled, st.Vector, st.Took)
				}
			}
		}
	}()
	_, took := c.converge(30 * time.Minute)
	close(stop)
	note("catch-up of %d modifies by the restarted replica 3: %s (%.0f changes/s, restart included)",
		changes, took.Round(time.Millisecond), float64(changes)/time.Since(start).Seconds())
	t.Logf("summary:\n%s", strings.Join(report, "\n"))
}

func lastLine(s string) string {
	var last string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			last = sc.Text()
		}
	}
	return last
}
