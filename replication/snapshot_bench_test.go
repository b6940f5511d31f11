package replication

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
)

// heapPeak samples the live heap until stop is called and returns the
// largest value seen, in MiB.
func heapPeak() (stop func() float64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() float64 {
		close(done)
		<-finished
		return float64(peak.Load()) / (1 << 20)
	}
}

func heapNow() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// TestSnapshotResyncScale measures a full resync of
// SWITCHBOARD_SNAPSHOT_ENTRIES entries (skipped unless set; the note's
// figure is for 100000): the supplier's snapshot (time under the read
// lock, bytes held) and the consumer's Reinitialise (transfer, install,
// resolve), with the heap of the process (both replicas live in it).
func TestSnapshotResyncScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SWITCHBOARD_SNAPSHOT_ENTRIES"))
	if n <= 0 {
		t.Skip("set SWITCHBOARD_SNAPSHOT_ENTRIES (say 100000) to measure a full resync")
	}
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(0)
	// The bulk of the data arrives as a peer's changes, in batches (much
	// faster than n LDAP adds, and the same State).
	gen, _ := a.rep.Position()
	_, vec := a.rep.Position()
	var parent UUID
	a.rep.smu.RLock()
	for _, e := range a.rep.state.Materialize() {
		if !e.Parent.IsRoot() {
			parent = e.UUID
		}
	}
	a.rep.smu.RUnlock()
	base := vec[1]
	base.Replica = 9
	start := time.Now()
	for i := 0; i < n; i += 1000 {
		ops := make([]Op, 0, 1000)
		for j := i; j < min(i+1000, n); j++ {
			c := base
			c.Counter = 0
			c.Time = base.Time + int64(j) + 1
			var u UUID
			copy(u[:], fmt.Sprintf("u%015d", j))
			ops = append(ops, Op{CSN: c, Kind: change.Add, Entry: u, Parent: parent, RDN: fmt.Sprintf("cn=bulk%d", j), Attrs: []Attribute{
				{Name: "objectClass", Values: []string{"person", "organizationalPerson", "inetOrgPerson"}},
				{Name: "cn", Values: []string{fmt.Sprintf("bulk%d", j)}}, {Name: "sn", Values: []string{"Bulk"}},
				{Name: "mail", Values: []string{fmt.Sprintf("bulk%d@example.com", j)}}, {Name: "uid", Values: []string{fmt.Sprintf("b%d", j)}},
				{Name: "telephoneNumber", Values: []string{"+1 555 0100"}}, {Name: "description", Values: []string{"a bulk-loaded person of the scale test"}},
				{Name: "entryUUID", Values: []string{u.String()}}, {Name: "entryCSN", Values: []string{c.String()}},
				{Name: "createTimestamp", Values: []string{"20260101000000Z"}}, {Name: "creatorsName", Values: []string{snapRootDN}},
			}})
		}
		if _, err := a.rep.ApplyRemote(context.Background(), gen, ops); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.rep.resolve(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("supplier loaded with %d entries in %s; heap %.0f MiB", a.eng.EntryCount(), time.Since(start).Round(time.Millisecond), heapNow())

	// The supplier's side alone: one snapshot taken, then dropped.
	before := heapNow()
	t0 := time.Now()
	h, err := a.rep.takeSnapshot(2)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(t0)
	held := heapNow() - before
	t.Logf("supplier: snapshot of %d entries encoded in %s under the read lock: %.1f MiB of entry state (+%.1f MiB index); heap +%.0f MiB",
		len(h.uuids), took.Round(time.Millisecond), float64(len(h.data))/(1<<20), float64(24*len(h.uuids))/(1<<20), held)
	h = nil

	// The consumer's full resync.
	before = heapNow()
	stop := heapPeak()
	t0 = time.Now()
	if err := b.rep.Reinitialise(context.Background(), a.peer()); err != nil {
		t.Fatal(err)
	}
	total := time.Since(t0)
	peak := stopAndSubtract(stop, before)
	st := b.rep.ReinitStatus()
	t.Logf("consumer: %d entries, %.1f MiB in %d chunks; resync %s (transfer %s, install %s, resolve %s); process heap peak +%.0f MiB over %.0f MiB (both replicas live here)",
		st.Entries, float64(st.Bytes)/(1<<20), st.Chunks, total.Round(time.Millisecond), st.Transfer, st.Install, st.Resolve, peak, before)
	if b.eng.EntryCount() != a.eng.EntryCount() {
		t.Fatalf("%d entries stored, the supplier has %d", b.eng.EntryCount(), a.eng.EntryCount())
	}
	if da, db := a.settle(), b.settle(); da != db {
		t.Fatal("digests differ")
	}
}

func stopAndSubtract(stop func() float64, before float64) float64 { return stop() - before }
