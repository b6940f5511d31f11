package replication

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// smallCache bounds a test replica's State to 8 entries' stamps.
func smallCache(c *MultiConfig) { c.StateCacheEntries = 8 }

// TestBoundedReplicaRestart: a replica whose State keeps 8 entries'
// attribute stamps in memory takes writes, resolves and restarts (the
// stored states loaded as placements only) with the store and the State
// agreeing, and keeps taking writes after the restart.
func TestBoundedReplicaRestart(t *testing.T) {
	a := startReplicaWith(t, 1, "", smallCache)
	a.seedPeople(200)
	a.settle()
	for i := range 50 {
		modify(t, a.eng, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i*3), "description", fmt.Sprint("changed ", i))
	}
	want := a.settle()
	a.rep.smu.Lock()
	resident, loads, evicts := a.rep.state.CacheStats()
	a.rep.smu.Unlock()
	if resident > 8 || loads == 0 || evicts == 0 {
		t.Fatalf("cache: %d resident (bound 8), %d loads, %d evictions", resident, loads, evicts)
	}
	a.close()

	b := startReplicaWith(t, 1, a.dir, smallCache)
	b.rep.smu.Lock()
	resident, _, _ = b.rep.state.CacheStats()
	n := b.rep.state.Len()
	b.rep.smu.Unlock()
	if resident != 0 || n != 202 {
		t.Fatalf("after Open: %d entries, %d of them decoded whole; want 202, none", n, resident)
	}
	if got := b.settle(); got != want {
		t.Fatal("the digest changed across the restart")
	}
	// A round of one modify reads only that entry's stored state.
	b.rep.smu.Lock()
	_, loadsBefore, _ := b.rep.state.CacheStats()
	b.rep.smu.Unlock()
	modify(t, b.eng, "cn=p1,ou=people,dc=example,dc=com", "description", "after the restart")
	if err := b.rep.resolve(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.rep.smu.Lock()
	_, loadsAfter, _ := b.rep.state.CacheStats()
	b.rep.smu.Unlock()
	if loadsAfter-loadsBefore > 1 {
		t.Fatalf("a round of one modify read %d stored states", loadsAfter-loadsBefore)
	}
	b.settle()
	en, err := b.eng.Entry("cn=p1,ou=people,dc=example,dc=com")
	if err != nil || en == nil || en.First("description") != "after the restart" {
		t.Fatalf("after a write: %v %v", en, err)
	}
}

// TestJoinBulkLoads: a new replica joined with Join holds, once opened
// again, the supplier's entries and replicated state, written by the
// bulk loader with the snapshot's entry states; it then takes writes
// that its supplier pulls.
func TestJoinBulkLoads(t *testing.T) {
	a := startReplicaWith(t, 1, "", smallCache) // its snapshot reads stored states
	a.seedPeople(300)
	for i := range 40 {
		modify(t, a.eng, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "description", fmt.Sprint("changed ", i))
	}
	for i := 250; i < 300; i++ {
		if _, err := a.eng.Delete(context.Background(), fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), directory.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := a.settle()

	b := startReplicaWith(t, 2, "", smallCache)
	if err := b.rep.Join(context.Background(), a.peer(), filepath.Join(t.TempDir(), "runs")); err != nil {
		t.Fatal(err)
	}
	if err := b.rep.resolve(context.Background()); err == nil {
		t.Fatal("a bulk-loaded replica resolved again before being reopened")
	}
	b.close()
	c := startReplicaWith(t, 2, b.dir, smallCache)
	if st := c.rep.ReinitStatus(); st.Phase == ReinitNeeded {
		t.Fatalf("the joined replica reopens as incomplete: %+v", st)
	}
	if got := c.settle(); got != want {
		t.Fatal("the joined replica's digest differs from its supplier's")
	}
	// The join left a store mark: the first start took its entries from
	// the store rather than rebuilding them.
	c.rep.smu.Lock()
	resumed := c.rep.resumed
	c.rep.smu.Unlock()
	if int64(resumed) != c.eng.EntryCount() {
		t.Fatalf("the first start after the join took %d of %d entries from the store", resumed, c.eng.EntryCount())
	}
	if c.eng.EntryCount() != a.eng.EntryCount() {
		t.Fatalf("%d entries, the supplier has %d", c.eng.EntryCount(), a.eng.EntryCount())
	}
	a.rep.smu.Lock()
	an := a.rep.state.Len()
	a.rep.smu.Unlock()
	c.rep.smu.Lock()
	cn := c.rep.state.Len()
	c.rep.smu.Unlock()
	if cn != an {
		t.Fatalf("the joined replica's State holds %d entries, the supplier's %d", cn, an)
	}
	ga, _ := a.rep.Position()
	gc, _ := c.rep.Position()
	if ga != gc {
		t.Fatalf("generation %s, the supplier's %s", gc, ga)
	}
	modify(t, c.eng, "cn=p7,ou=people,dc=example,dc=com", "description", "written on the joined replica")
	c.settle()
	if _, err := a.rep.CatchUp(context.Background(), c.peer()); err != nil {
		t.Fatal(err)
	}
	if a.settle() != c.settle() {
		t.Fatal("the supplier did not converge with the joined replica")
	}
}

// TestStateHeapScale measures the live heap a replica holding
// SWITCHBOARD_STATE_HEAP_ENTRIES people keeps (skipped unless set) after
// a restart, with the State unbounded (-1, as every entry's stamps were
// kept before) and bounded (the default cache, and 1,000 entries).
func TestStateHeapScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SWITCHBOARD_STATE_HEAP_ENTRIES"))
	if n <= 0 {
		t.Skip("set SWITCHBOARD_STATE_HEAP_ENTRIES (say 20000) to measure")
	}
	a := startReplica(t, 1, "")
	a.seedPeople(n)
	a.settle()
	a.close()
	for _, cache := range []int{-1, DefaultStateCacheEntries, 1000} {
		before := heapNow()
		t0 := time.Now()
		r := startReplicaWith(t, 1, a.dir, func(c *MultiConfig) { c.StateCacheEntries = cache })
		opened := time.Since(t0)
		r.settle()
		settled := time.Since(t0)
		r.rep.smu.Lock()
		resident, _, _ := r.rep.state.CacheStats()
		r.rep.smu.Unlock()
		held := heapNow() - before
		t.Logf("cache %d: %d entries, %d with stamps in memory; open %s, settled %s; live heap %.0f MiB (%.0f bytes per entry)",
			cache, n+2, resident, opened.Round(time.Millisecond), settled.Round(time.Millisecond), held, held*(1<<20)/float64(n+2))
		r.close()
	}
}

// countRecords counts a store's side records under prefix.
func countRecords(t *testing.T, eng *directory.Engine, prefix []byte) int {
	t.Helper()
	n := 0
	if err := eng.View(func(v *directory.View) error {
		return v.Records(prefix, nil, false, func(_, _ []byte) (bool, error) { n++; return true, nil })
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestJoinIsExclusive: a replica joined with Join while its own
// background work runs (resolution, maintenance every millisecond with
// its checkpoint and state saves) and another writer puts side records
// reopens with every side record of the snapshot (generation,
// checkpoint, floors, the state of every entry), the supplier's digest,
// and each side record the writer had acknowledged.
func TestJoinIsExclusive(t *testing.T) {
	a := startReplicaWith(t, 1, "", smallCache)
	a.seedPeople(1500)
	for i := range 30 {
		modify(t, a.eng, fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "description", fmt.Sprint("changed ", i))
	}
	want := a.settle()
	if err := a.rep.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}

	b := startReplicaWith(t, 2, "", func(c *MultiConfig) { smallCache(c); c.MaintenanceInterval = time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { b.rep.Run(ctx) })
	wg.Go(func() { b.rep.RunMaintenance(ctx) })
	var acked [][]byte
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			b.rep.markDirty()
			k := fmt.Appendf([]byte{directory.PrefixReplication, 'z'}, "%08d", i)
			if b.eng.UpdateRecords(ctx, func(tx *directory.Tx) error { return tx.PutRecord(k, []byte("x")) }) == nil {
				acked = append(acked, k)
			}
			time.Sleep(200 * time.Microsecond)
		}
	})
	err := b.rep.Join(context.Background(), a.peer(), filepath.Join(t.TempDir(), "runs"))
	cancel()
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("the replica's background work is stuck after the join")
	}
	if err != nil {
		t.Fatal(err)
	}
	b.close()

	c := startReplicaWith(t, 2, b.dir, smallCache)
	if st := c.rep.ReinitStatus(); st.Phase == ReinitNeeded {
		t.Fatalf("the joined replica reopens as incomplete: %+v", st)
	}
	ga, _ := a.rep.Position()
	gc, _ := c.rep.Position()
	if gc != ga {
		t.Errorf("generation %s after the join, the supplier's %s", gc, ga)
	}
	for _, p := range []struct {
		name   string
		prefix []byte
	}{{"entry states", keyEntryState}, {"checkpoint", keyCheckpoint}, {"op log floors", changelog.KeyFloors}} {
		if na, nc := countRecords(t, a.eng, p.prefix), countRecords(t, c.eng, p.prefix); nc == 0 || p.name == "entry states" && nc != na {
			t.Errorf("%s: %d records after the join, the supplier holds %d", p.name, nc, na)
		}
	}
	if n := countRecords(t, c.eng, keyReinit); n != 0 {
		t.Error("the reinitialisation marker is still there")
	}
	if err := c.eng.View(func(v *directory.View) error {
		for _, k := range acked {
			if b, err := v.Record(k); err != nil || b == nil {
				t.Errorf("acknowledged side record %q lost: %v", k, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if c.eng.EntryCount() != a.eng.EntryCount() {
		t.Errorf("%d entries, the supplier has %d", c.eng.EntryCount(), a.eng.EntryCount())
	}
	if got := c.settle(); got != want {
		t.Error("the joined replica's digest differs from its supplier's")
	}
}

// liveHeap returns the bytes of the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestJoinSpillsTheSnapshot: a replica joining with Join does not hold
// the snapshot's entry states in its heap once received (they wait in a
// file beside the loader's runs): the heap grows by less than a quarter
// of the snapshot (before, by all of it: at 1M entries 1.3 GB).
func TestJoinSpillsTheSnapshot(t *testing.T) {
	a := startReplicaWith(t, 1, "", smallCache)
	a.seedPeople(0)
	big := strings.Repeat("x", 16<<10)
	for i := range 600 {
		a.mustAdd(fmt.Sprintf("cn=p%d,ou=people,dc=example,dc=com", i), "objectClass", "person", "sn", "x", "description", fmt.Sprint(i, big))
	}
	want := a.settle()

	b := startReplicaWith(t, 2, "", smallCache)
	before := liveHeap()
	var grew uint64
	b.rep.joinPoint = func(point string) {
		if point != "fetched" {
			return
		}
		// The supplier's copy of the snapshot is in this heap too.
		a.rep.snaps.mu.Lock()
		clear(a.rep.snaps.held)
		a.rep.snaps.mu.Unlock()
		if now := liveHeap(); now > before {
			grew = now - before
		}
	}
	peer := a.peer()
	peer.SnapshotChunk = 256 << 10
	if err := b.rep.Join(context.Background(), peer, filepath.Join(t.TempDir(), "runs")); err != nil {
		t.Fatal(err)
	}
	st := b.rep.ReinitStatus()
	if st.Bytes < 600*16<<10 {
		t.Fatalf("a snapshot of %d bytes: the entries are not as large as meant", st.Bytes)
	}
	t.Logf("snapshot %d bytes; the heap grew by %d bytes while holding it", st.Bytes, grew)
	if grew > uint64(st.Bytes)/4 {
		t.Fatalf("the heap grew by %d bytes holding a snapshot of %d bytes", grew, st.Bytes)
	}
	b.close()
	c := startReplicaWith(t, 2, b.dir, smallCache)
	if got := c.settle(); got != want {
		t.Fatal("the joined replica's digest differs from its supplier's")
	}
}

// TestJoinRefusesABadState: a Join decodes each entry state once (those
// of visible entries as it materialises them, the others as it adds
// them to the load), and refuses a snapshot with a state it cannot read
// whole, of a live entry or of a deleted one, leaving no entries.
func TestJoinRefusesABadState(t *testing.T) {
	for _, deleted := range []bool{false, true} {
		t.Run(fmt.Sprint("deleted=", deleted), func(t *testing.T) {
			a := startReplicaWith(t, 1, "", smallCache)
			a.seedPeople(50)
			dn := "cn=p7,ou=people,dc=example,dc=com"
			en, err := a.eng.Entry(dn)
			if err != nil || en == nil {
				t.Fatal(dn, err)
			}
			u, err := merge.ParseUUID(en.First("entryUUID"))
			if err != nil {
				t.Fatal(err)
			}
			if deleted {
				if _, err := a.eng.Delete(context.Background(), dn, directory.WriteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			a.settle()
			// Opened again, its State holds no entry's stamps in memory.
			a.close()
			a = startReplicaWith(t, 1, a.dir, smallCache)
			a.rep.smu.Lock()
			evicted := a.rep.state.IsEvicted(u)
			a.rep.smu.Unlock()
			if !evicted {
				t.Fatal("the entry's state is in the supplier's memory: its snapshot would not carry the stored one")
			}
			// Its stored state, with a byte too many: its head (what the
			// receipt decodes) reads, the whole does not.
			b, err := storeSource{a.eng}.EntryState(u)
			if err != nil || b == nil {
				t.Fatal(b, err)
			}
			if err := a.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
				return tx.PutRecord(entryStateKey(u), append(b, 0))
			}); err != nil {
				t.Fatal(err)
			}

			j := startReplicaWith(t, 2, "", smallCache)
			err = j.rep.Join(context.Background(), a.peer(), filepath.Join(t.TempDir(), "runs"))
			if !errors.Is(err, merge.ErrEntryStateSyntax) {
				t.Fatalf("Join of a snapshot with a bad state: %v", err)
			}
			j.close()
			k := startReplicaWith(t, 2, j.dir, smallCache)
			if n := k.eng.EntryCount(); n != 0 {
				t.Fatalf("the failed join left %d entries", n)
			}
		})
	}
}

// BenchmarkJoin joins a new replica to a supplier of 2,000 people with
// Join, as switchboard replica join does: run with -benchmem (each state
// was decoded twice before, and every entry recorded in a Shown).
func BenchmarkJoin(b *testing.B) {
	a := startReplicaWith(b, 1, "", smallCache)
	a.seedPeople(2000)
	a.settle()
	for b.Loop() {
		b.StopTimer()
		j := startReplicaWith(b, 2, "", smallCache)
		b.StartTimer()
		if err := j.rep.Join(context.Background(), a.peer(), filepath.Join(b.TempDir(), "runs")); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		j.close()
		b.StartTimer()
	}
}
