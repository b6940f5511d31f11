package main

import (
	"context"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
)

// TestMemoryLimit starts the server with memory_limit_mb unset, set, and
// -1, and reads the runtime's soft memory limit back from /metrics
// (go_gc_gomemlimit_bytes).
func TestMemoryLimit(t *testing.T) {
	limit := func(s *testServer) float64 {
		t.Helper()
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + s.Admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^go_gc_gomemlimit_bytes ([0-9.e+]+)$`).FindSubmatch(b)
		if m == nil {
			t.Fatal("/metrics has no go_gc_gomemlimit_bytes")
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	const mib = 1 << 20
	// Derived: the memtable arena of 64 MiB plus 2 x 15%, the 64 MiB
	// entry cache with its DN map (131,072 x 100 bytes), posting-list map
	// (32,768 x 100 bytes), bind map (131,072 x 160 bytes), table of
	// one-ID lists (1 MiB when empty), long posting lists (4 MiB) and
	// sort posting sets (8 MiB), and 32 MiB of headroom. No block cache: a new store's tables are plain
	// (and no index cache without encryption).
	const maps = 131072*100 + 32768*100 + 131072*160 + 1*mib + 4*mib + 8*mib
	want := float64(64*mib + 2*(64*mib*15/100) + 64*mib + maps + 32*mib)
	// The live heap's floor (1.25 x the server's live heap + 32 MiB) may
	// hold a derived limit higher: a server whose live heap passed ~157
	// MiB at start (a multi-supplier one, now and then) reads above want.
	derived := func(got, want float64) bool { return got >= want && got <= want+64*mib }
	if got := limit(startServer(t, "")); !derived(got, want) {
		t.Errorf("derived limit %.0f MiB, want %.0f MiB", got/mib, want/mib)
	}
	// Raising the entry cache raises it; the block cache serves only
	// encrypted and compressed stores.
	if got := limit(startServer(t, "", "--cache-mb", "128", "--entry-cache-mb", "128")); !derived(got, want+64*mib) {
		t.Errorf("derived limit with larger caches %.0f MiB, want %.0f MiB", got/mib, want/mib+64)
	}
	// entry_cache_mb 0 turns the cache off (not back to a default), and
	// the maps with it. What is left is near what is live (the memtable
	// arena), so the live heap's floor (liveFloor) may hold it higher.
	if got := limit(startServer(t, "", "--entry-cache-mb", "0")); got < want-64*mib-maps || got >= want {
		t.Errorf("derived limit without the entry cache %.0f MiB, want %.0f MiB (or the live heap's floor, below %.0f)", got/mib, (want-64*mib-maps)/mib, want/mib)
	}
	// A multi-supplier replica's is derived too, with the replicated
	// state's estimate on top (an empty store's State holds nothing, so
	// the estimate starts at 0 and follows the State as it grows).
	if got := limit(startServer(t, "", "--replication.multi-supplier")); !derived(got, want) {
		t.Errorf("multi-supplier: derived limit %.0f MiB, want %.0f MiB", got/mib, want/mib)
	}
	if got := limit(startServer(t, "", "--memory-limit-mb", "200")); got != 200*mib {
		t.Errorf("memory_limit_mb 200: limit %.0f MiB", got/mib)
	}
	if got := limit(startServer(t, "", "--memory-limit-mb", "-1")); got < 1<<62 {
		t.Errorf("memory_limit_mb -1: limit %.0f MiB, want none", got/mib)
	}
}

// TestDerivedLimitFollowsSorts: the derived soft memory limit rises by
// the bytes the sort budget grants and falls back when they are given
// back; the store's budget moves it too.
func TestDerivedLimitFollowsSorts(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	const base = 300 << 20
	debug.SetMemoryLimit(base)
	d := &derivedLimit{store: base, set: base}
	frontend.NewSortBudget(128<<20, 0).Observe(d.setSort) // the server's wiring
	check := func(what string, want int64) {
		t.Helper()
		if got := debug.SetMemoryLimit(-1); got != want {
			t.Errorf("%s: limit %d MiB, want %d MiB", what, got>>20, want>>20)
		}
	}
	d.setSort(64 << 20)
	check("sorts hold 64 MiB", base+64<<20)
	d.setStore(base + 10<<20)
	check("store budget grew", base+74<<20)
	d.setSort(0)
	check("sorts done", base+10<<20)
}

// TestOpenMemoryLimitSkipsAnEmptyStore: before a multi-supplier replica
// opens, a store with entries gets the limit its seeding needs, but an
// empty one (replica join fills it from a snapshot held in memory) keeps
// none, since a limit derived from no entries made the collector run
// without pause through the whole join.
func TestOpenMemoryLimitSkipsAnEmptyStore(t *testing.T) {
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		t.Skip("GOMEMLIMIT is set")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	eng := directorytest.Open(t, directory.Options{})
	cfg := &Config{}
	debug.SetMemoryLimit(math.MaxInt64)
	setOpenMemoryLimit(cfg, eng)
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("empty store: limit %d MiB, want none", got>>20)
	}
	directorytest.AddBase(t, eng)
	stop := setOpenMemoryLimit(cfg, eng)
	defer stop() // its follower would go on setting the process's limit under later tests
	if got := debug.SetMemoryLimit(-1); got == math.MaxInt64 {
		t.Error("a store with entries: no limit")
	}
}

// TestDerivedLimitKeepsAboveTheLiveHeap: a derived limit below what is
// live (the estimates fell short) would have the collector run back to
// back; the live heap's floor lifts it to a quarter above what is live,
// so churn collects every few tens of MB instead.
func TestDerivedLimitKeepsAboveTheLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const small = 16 << 20
	d := &derivedLimit{store: small}
	d.apply()
	live := make([][]byte, 128)
	for i := range live {
		live[i] = make([]byte, 1<<20)
	}
	runtime.GC()
	got := d.setHeap(readHeap())
	if got < 128<<20+32<<20+memoryHeadroom {
		t.Fatalf("limit %d MiB with 128 MiB live, want at least %d MiB", got>>20, (160<<20+memoryHeadroom)>>20)
	}
	if set := debug.SetMemoryLimit(-1); set != got {
		t.Fatalf("runtime limit %d MiB, derived %d MiB", set>>20, got>>20)
	}
	cycles := func() uint64 {
		s := []rtmetrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
		rtmetrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := cycles()
	var sink []byte
	for range 4096 { // 256 MiB of garbage
		sink = make([]byte, 64<<10)
	}
	_ = sink
	// About 64 MiB between two collections: 4 or 5 (under the store's
	// 16 MiB alone, one every allocation or so).
	if n := cycles() - before; n > 12 {
		t.Errorf("%d collections for 256 MiB of garbage over 128 MiB live", n)
	}
	runtime.KeepAlive(live)
	d.setHeap(heapReading{})
	if set := debug.SetMemoryLimit(-1); set != small {
		t.Errorf("live floor gone: limit %d MiB, want the store's %d MiB", set>>20, small>>20)
	}
}

// TestDerivedLimitBusyFloor: while replication has work the derived
// limit leaves the collector twice the live heap (a quarter above it had
// the collector take half of a catch-up's CPU), and once the work has
// stopped for the idle period it is back at a quarter above.
func TestDerivedLimitBusyFloor(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const small = 16 << 20
	live := heapReading{live: 400 << 20, overhead: 60 << 20}
	d := &derivedLimit{store: small}
	if got := d.setHeap(live); got != liveFloor(live) {
		t.Fatalf("idle: limit %d MiB, want %d MiB", got>>20, liveFloor(live)>>20)
	}
	var activity atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.followActivity(ctx, activity.Load, 10*time.Millisecond, 300*time.Millisecond, slog.New(slog.DiscardHandler))
	}()
	limit := func() int64 { return debug.SetMemoryLimit(-1) }
	waitFor := func(what string, want int64, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for limit() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: limit %d MiB, want %d MiB", what, limit()>>20, want>>20)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if got := limit(); got != liveFloor(live) {
		t.Fatalf("no activity: limit %d MiB, want the idle floor %d MiB", got>>20, liveFloor(live)>>20)
	}
	activity.Add(1)
	waitFor("replication busy", busyFloor(live), time.Second)
	// Work every 100 ms keeps it busy past the idle period.
	for range 6 {
		time.Sleep(100 * time.Millisecond)
		activity.Add(1)
		if got := limit(); got != busyFloor(live) {
			t.Fatalf("still busy: limit %d MiB, want %d MiB", got>>20, busyFloor(live)>>20)
		}
	}
	waitFor("replication idle", liveFloor(live), 2*time.Second)
	cancel()
	<-done
}

// TestLiveFloorCountsSpans: a heap of many small objects of which few
// stay live keeps most of its spans in use, and the soft limit counts
// them. The idle floor must leave the collector room above what the
// runtime holds, not only a quarter above the live bytes (a 1M replica's
// spans held 24% more than its live bytes, and its collector ran back to
// back while idle).
func TestLiveFloorCountsSpans(t *testing.T) {
	const n, keepEvery = 4 << 20, 16 // 4M objects of 64 bytes, one in 16 kept
	all := make([]*[64]byte, n)
	for i := range all {
		all[i] = new([64]byte)
	}
	kept := make([]*[64]byte, 0, n/keepEvery)
	for i := 0; i < n; i += keepEvery {
		kept = append(kept, all[i])
	}
	all = nil
	runtime.GC()
	h := readHeap()
	if h.live < int64(len(kept))*64 {
		t.Fatalf("live %d MiB, below the %d MiB kept", h.live>>20, len(kept)*64>>20)
	}
	if h.overhead < 128<<20 {
		t.Fatalf("overhead %d MiB: the kept objects' spans (about 240 MiB of them unused) are not counted", h.overhead>>20)
	}
	s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/heap/free:bytes"}}
	rtmetrics.Read(s)
	held := int64(s[0].Value.Uint64() - s[1].Value.Uint64() - s[2].Value.Uint64())
	if floor := liveFloor(h); floor < held+h.live/4 {
		t.Errorf("idle floor %d MiB, the runtime holds %d MiB: no room for a quarter of the %d MiB live", floor>>20, held>>20, h.live>>20)
	}
	if floor := busyFloor(h); floor < held+h.live {
		t.Errorf("busy floor %d MiB, the runtime holds %d MiB: no room for the %d MiB live again", floor>>20, held>>20, h.live>>20)
	}
	runtime.KeepAlive(kept)
}
