package main

import (
	"context"
	"log/slog"
	"os"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication"
)

// memoryHeadroom is what the derived soft memory limit leaves above the
// store's heap budget for everything else: connections, operations in
// flight, the garbage between two collections.
const memoryHeadroom = 32 << 20

// setMemoryLimit sets the Go runtime's soft memory limit
// (debug.SetMemoryLimit) from memory_limit_mb, unless the GOMEMLIMIT
// environment variable set one already, and then returns to the operating
// system what opening the store left behind. A limit derived from the
// store's budget follows the budget as the store and its caches grow
// (followMemoryLimit) until ctx ends.
//
// Without a limit the collector lets the heap grow to twice what is live,
// and what is live here is mostly the caches and the memtable: a server
// with 200 MiB of them would settle near 400 MiB, most of it garbage. The
// derived limit is the store's heap budget (Engine.HeapBudget: the
// memtable arena, the block, index and entry caches, the DN, posting-list
// and bind maps, all full, the tables' bloom filters and block indexes and
// the table of one-ID posting lists as they are now) plus memoryHeadroom:
// 216 MiB with the default sizes and an empty store (no block cache: a new
// store's tables are plain), plus the bytes sorted and VLV searches hold
// at the moment (derivedLimit.setSort, fed by frontend.SortBudget): the
// limit rises while sorts hold memory and falls back when they are done,
// so the heap stays within store budget + limits.sort_memory_mb +
// headroom under any number of concurrent sorts, without raising the
// limit when none runs. The caches are mostly
// pointer-free byte slices (Badger's blocks, the entry cache's records),
// so a collection costs little more than the live request state and the
// maps' keys, and collecting more often costs little CPU: at 243 MiB the
// 100k benchmark ran 80 collections instead of 44 with the same CPU per
// operation, and ended at 373 MiB RSS instead of 452. The limit is soft,
// but one at or below what is live has the collector run back to back
// (up to half the CPU): a 100k replica, 338 MB live under a derived 359
// MiB, collected every 80 ms while idle and spent 8 of its restart's 22 s
// of CPU collecting. So a derived limit never stays below what the last
// collection found live plus a quarter, what the runtime holds beyond the
// live objects (their spans' unused room, stacks, metadata) and
// memoryHeadroom (liveFloor, read every second by followLiveHeap): when
// the estimates fall short, the heap runs at 1.25x what is live, not at
// 2x (no limit) or at the limit without pause.
//
// With multi-supplier replication the replicated state is live heap the
// store's budget does not count (its placements, resolved view and
// fingerprints, and replication.state_cache_entries entries' stamps): the
// derived limit adds the Replicator's estimate of it
// (Replicator.HeapEstimate), followed as the State grows, so that a
// replica's heap, too, stays near what is live rather than twice it,
// while it is idle: while replication has work (changes applied or
// written, Replicator.Activity, in the last busyFor) the floor is twice
// the live heap (busyFloor), since collecting at a quarter above it took
// half the CPU of a catch-up. The
// first resolution after a start rebuilds every entry once; what it
// leaves behind is returned to the operating system when it is done,
// with the store's pages it mapped (releaseMappedPages).
//
// It returns the derived limit, nil when the limit is fixed or none.
func setMemoryLimit(ctx context.Context, cfg *Config, eng *directory.Engine, rep *replication.Replicator, log *slog.Logger) *derivedLimit {
	var derived *derivedLimit
	budget := func() int64 {
		b := eng.HeapBudget()
		if rep != nil {
			b += rep.HeapEstimate()
		}
		return b
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok {
		log.Info("memory limit from GOMEMLIMIT", "limit_mib", debug.SetMemoryLimit(-1)>>20)
	} else if limit := memoryLimit(cfg.MemoryLimitMB, budget()); limit > 0 {
		if cfg.MemoryLimitMB == 0 {
			derived = newDerivedLimit(limit)
			limit = derived.set
			var changed <-chan struct{}
			if rep != nil {
				changed = rep.HeapChanged()
			}
			go followMemoryLimit(ctx, budget, changed, derived, log)
			go derived.followLiveHeap(ctx)
			if rep != nil {
				go derived.followActivity(ctx, rep.Activity, liveHeapPeriod, busyFor, log)
			}
		} else {
			debug.SetMemoryLimit(limit)
		}
		args := []any{"limit_mib", limit >> 20, "store_budget_mib", eng.HeapBudget() >> 20}
		if rep != nil {
			args = append(args, "replication_mib", rep.HeapEstimate()>>20)
		}
		log.Info("soft memory limit", args...)
	}
	debug.FreeOSMemory()
	if rep != nil {
		go func() {
			select {
			case <-ctx.Done():
			case <-rep.FirstResolution():
				debug.FreeOSMemory()
				releaseMappedPages(eng, log)
			}
		}()
	}
	return derived
}

// releaseMappedPages hands back to the kernel the store's pages that a
// replica's first resolution left mapped (Engine.ReleaseMappedPages):
// after seeding an imported store it has read and written every table
// and value log page once, about twice the store a single supplier maps,
// and they would stay in its RSS until the kernel needs the memory.
func releaseMappedPages(eng *directory.Engine, log *slog.Logger) {
	start := time.Now()
	n, err := eng.ReleaseMappedPages()
	if err != nil {
		log.Warn("release the store's mapped pages", "err", err)
		return
	}
	log.Info("released the store's mapped pages", "mapped_mib", n>>20, "took", time.Since(start).Round(time.Millisecond))
}

// setOpenMemoryLimit sets, before a multi-supplier Replicator opens the
// store, the limit setMemoryLimit derives once it has
// (replication.HeapEstimateFor the store's entries): the first start over
// an imported store seeds every entry into the State, and without a limit
// the heap would grow to twice what that leaves live. An empty store
// seeds nothing and gets no limit here: replica join fills one from a
// snapshot it holds in memory, which a limit derived from no entries
// would have the collector chase without pause (3x the join's CPU).
// A derived limit follows the live heap's floor (liveFloor) until the
// returned function is called, when setMemoryLimit takes over.
func setOpenMemoryLimit(cfg *Config, eng *directory.Engine) (stop func()) {
	stop = func() {}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); ok || (cfg.MemoryLimitMB == 0 && eng.EntryCount() == 0) {
		return stop
	}
	limit := memoryLimit(cfg.MemoryLimitMB, eng.HeapBudget()+replication.HeapEstimateFor(int(eng.EntryCount())))
	switch {
	case limit <= 0:
	case cfg.MemoryLimitMB != 0:
		debug.SetMemoryLimit(limit)
	default:
		d := newDerivedLimit(limit)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.followLiveHeap(ctx) }()
		stop = func() { cancel(); <-done }
	}
	return stop
}

// heapReading is what the runtime counts against the soft memory limit,
// in two parts: the bytes the last collection found live, and the rest
// that no collection frees (overhead): the unused room in spans holding
// live objects (a heap of many small objects keeps a span for a few live
// ones), stacks and the runtime's metadata. Free pages the runtime can
// return to the operating system are in neither.
type heapReading struct{ live, overhead int64 }

// readHeap reads the heap (runtime/metrics): /gc/heap/live, and for the
// overhead, every byte mapped and not released less the free pages and
// the objects, live or not yet swept.
func readHeap() heapReading {
	s := []rtmetrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
	}
	rtmetrics.Read(s)
	var v [5]int64
	for i := range s {
		if s[i].Value.Kind() != rtmetrics.KindUint64 {
			return heapReading{}
		}
		v[i] = int64(s[i].Value.Uint64())
	}
	return heapReading{live: v[0], overhead: max(0, v[1]-v[2]-v[3]-v[4])}
}

// liveFloor is the lowest derived limit for a heap h: a quarter of the
// live bytes above what the runtime holds for them, and memoryHeadroom,
// for the garbage between two collections. The overhead counts: at a
// million entries a replica's spans held 24% more than its live bytes
// (heap in use 1.75 GB, live 1.41 GB), so a quarter above the live bytes
// alone left the collector no room and it ran back to back, idle, at
// half a CPU (docs/benchmarks/2026-12-06-soak-1m.md).
func liveFloor(h heapReading) int64 { return h.live + h.live/4 + h.overhead + memoryHeadroom }

// busyFloor is the lowest derived limit for a heap h while replication
// has work (derivedLimit.setBusy): what the collector allows without a
// limit (GOGC=100), twice what is live, above the overhead. A replica's
// live heap is mostly small pointer-holding objects (the replicated
// state's placements, views and cached stamps), so each collection
// costs in proportion to it; applying and resolving changes allocates
// fast, and at a quarter above the live heap the collector (marking and
// allocating) took 42-46% of each replica's CPU through a catch-up of
// 60,000 changes at 100k, at twice 28-38%
// (docs/benchmarks/2026-12-05-catchup.md).
func busyFloor(h heapReading) int64 { return 2*h.live + h.overhead + memoryHeadroom }

// busyFor is how long after replication's last work (Replicator.Activity)
// a derived limit keeps the busy floor.
const busyFor = 10 * time.Second

// liveHeapPeriod is how often followLiveHeap reads the live heap.
const liveHeapPeriod = time.Second

// derivedLimit is a soft memory limit derived from the store's heap
// budget (with the headroom) and the bytes sorts hold now, and never
// below the live heap's floor.
type derivedLimit struct {
	mu    sync.Mutex
	store int64       // memoryLimit(0, the store's budget and the replication estimate)
	sort  int64       // bytes granted by the sort memory budget
	heap  heapReading // the heap last read
	busy  bool        // replication has work: busyFloor, not liveFloor
	set   int64       // the limit last set
}

// newDerivedLimit sets and returns a derived limit of the store's budget
// store, above the live heap's floor.
func newDerivedLimit(store int64) *derivedLimit {
	d := &derivedLimit{store: store, heap: readHeap()}
	d.apply()
	return d
}

// setHeap follows the heap, h; it reports the limit.
func (d *derivedLimit) setHeap(h heapReading) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.heap = h
	return d.apply()
}

// setBusy switches between the floors of a replica with replication
// work and of an idle one; it reports the limit.
func (d *derivedLimit) setBusy(busy bool) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.busy = busy
	return d.apply()
}

// followLiveHeap sets the live heap's floor every liveHeapPeriod until
// ctx ends.
func (d *derivedLimit) followLiveHeap(ctx context.Context) {
	t := time.NewTicker(liveHeapPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.setHeap(readHeap())
		}
	}
}

// followActivity gives the derived limit the busy floor while activity
// (Replicator.Activity) moves, read every period, and the idle floor
// once it has not moved for idle, returning to the operating system then
// what the busy heap left free, until ctx ends.
func (d *derivedLimit) followActivity(ctx context.Context, activity func() int64, period, idle time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	last, lastMoved, busy := activity(), time.Time{}, false
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n := activity(); n != last {
				last, lastMoved = n, now
				if !busy {
					busy = true
					log.Debug("soft memory limit: replication busy", "limit_mib", d.setBusy(true)>>20)
				}
			} else if busy && now.Sub(lastMoved) >= idle {
				busy = false
				limit := d.setBusy(false)
				debug.FreeOSMemory()
				log.Debug("soft memory limit: replication idle", "limit_mib", limit>>20)
			}
		}
	}
}

// setStore follows the store's budget; it reports the limit.
func (d *derivedLimit) setStore(n int64) int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.store = n
	return d.apply()
}

// setSort follows the sort budget's bytes in use
// (frontend.SortBudget.Observe).
func (d *derivedLimit) setSort(n int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sort = n
	d.apply()
}

func (d *derivedLimit) apply() int64 {
	var floor int64
	switch {
	case d.heap.live == 0: // not read yet
	case d.busy:
		floor = busyFloor(d.heap)
	default:
		floor = liveFloor(d.heap)
	}
	if limit := max(d.store+d.sort, floor); limit != d.set {
		debug.SetMemoryLimit(limit)
		d.set = limit
	}
	return d.set
}

// memoryLimitPeriod is how often a derived memory limit is measured again.
const memoryLimitPeriod = 10 * time.Second

// followMemoryLimit derives the soft memory limit again every
// memoryLimitPeriod: the tables' heap grows with the store, and the table
// of one-ID posting lists fills in the background after a start (from 1 to
// 64 MiB at a million people). It derives it at once when changed
// receives (Replicator.HeapChanged: a snapshot taken for a consumer, a
// few hundred MB per 100,000 entries that the collector would otherwise
// chase without pause while the snapshot is served).
func followMemoryLimit(ctx context.Context, budget func() int64, changed <-chan struct{}, d *derivedLimit, log *slog.Logger) {
	limit := d.store
	t := time.NewTicker(memoryLimitPeriod)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed:
		}
		if next := memoryLimit(0, budget()); next != limit {
			set := d.setStore(next)
			if next>>20 != limit>>20 {
				log.Debug("soft memory limit", "limit_mib", set>>20, "store_mib", next>>20)
			}
			limit = next
		}
	}
}

// memoryLimit returns the limit memory_limit_mb asks for, in bytes, or 0
// for none.
func memoryLimit(mb int, budget int64) int64 {
	switch {
	case mb < 0:
		return 0
	case mb > 0:
		return int64(mb) << 20
	}
	return budget + memoryHeadroom
}
