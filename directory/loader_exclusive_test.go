//go:build unix

package directory

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/schema"
)

// people yields the suffix, ou=people and n people below it.
func people(n int) iter.Seq2[LoadRecord, error] {
	return func(yield func(LoadRecord, error) bool) {
		if !yield(LoadRecord{DN: "dc=example,dc=com", Attrs: attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), Line: 1}, nil) ||
			!yield(LoadRecord{DN: "ou=people,dc=example,dc=com", Attrs: attrs("objectClass", "organizationalUnit", "ou", "people"), Line: 2}, nil) {
			return
		}
		for i := range n {
			uid := fmt.Sprintf("u%d", i)
			if !yield(LoadRecord{DN: "uid=" + uid + ",ou=people,dc=example,dc=com", Attrs: person(uid, "Given "+uid, "Surname", "mail", uid+"@example.com"), Line: 3 + i}, nil) {
				return
			}
		}
	}
}

func openLoadStore(t testing.TB, dir string) *Engine {
	return openLoadStoreWith(t, dir, false)
}

// openLoadStoreWith opens with bulk load options (small tables) if bulk.
func openLoadStoreWith(t testing.TB, dir string, bulk bool) *Engine {
	t.Helper()
	s, err := schema.Default()
	must(t, err)
	e, err := Open(Options{Dir: dir, NoSync: true, BulkLoad: bulk, Suffix: "dc=example,dc=com", Schema: s})
	must(t, err)
	return e
}

// TestLoaderIsExclusive: while a bulk load owns the store, no other write
// is acknowledged and then lost: entry writes and side records written
// during the load, and side records written by a writer racing Finish,
// are either refused (ErrLoading) or found in the store when it is opened
// again; the store's own side records are carried over.
func TestLoaderIsExclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	e := openLoadStore(t, dir)
	ctx := context.Background()
	kept := []byte{PrefixReplication, 'g'}
	must(t, e.UpdateRecords(ctx, func(tx *Tx) error { return tx.PutRecord(kept, []byte("generation")) }))
	l, err := e.NewLoader(filepath.Join(t.TempDir(), "runs"))
	must(t, err)
	if _, err := e.NewLoader(t.TempDir()); !errors.Is(err, ErrLoading) {
		t.Errorf("a second loader during a load: %v", err)
	}
	if _, err := l.Load(ctx, people(3000), 2, nil); err != nil {
		t.Fatal(err)
	}

	// Acknowledged writes: DNs added and side records put.
	var acked []string
	var ackedKeys [][]byte
	if _, err := e.Add(ctx, "uid=during,ou=people,dc=example,dc=com", person("during", "D", "D"), WriteOptions{}); err == nil {
		acked = append(acked, "uid=during,ou=people,dc=example,dc=com")
	} else if !errors.Is(err, ErrLoading) {
		t.Errorf("an add during a load: %v, want ErrLoading", err)
	}
	put := func(k []byte) error {
		return e.UpdateRecords(ctx, func(tx *Tx) error { return tx.PutRecord(k, []byte("v")) })
	}
	if k := []byte{PrefixReplication, 'x', 0}; put(k) == nil {
		ackedKeys = append(ackedKeys, k)
	}
	var (
		stop     atomic.Bool
		wg       sync.WaitGroup
		mu       sync.Mutex
		refusals int
	)
	wg.Go(func() {
		for i := 1; !stop.Load(); i++ {
			k := fmt.Appendf([]byte{PrefixReplication, 'x'}, "%08d", i)
			err := put(k)
			mu.Lock()
			switch {
			case err == nil:
				ackedKeys = append(ackedKeys, k)
			case errors.Is(err, ErrLoading):
				refusals++
			default:
				t.Errorf("a side record during a load: %v", err)
			}
			mu.Unlock()
		}
	})
	finished := make(chan error, 1)
	go func() { finished <- l.Finish() }()
	select {
	case err = <-finished:
	case <-time.After(2 * time.Minute):
		// Badger's StreamWriter replaces its oracle under a committing
		// transaction and waits for it forever.
		t.Fatal("Finish is stuck behind a write racing it")
	}
	stop.Store(true)
	ended := make(chan struct{})
	go func() { wg.Wait(); close(ended) }()
	select {
	case <-ended:
	case <-time.After(30 * time.Second):
		t.Fatal("a writer racing the load is stuck")
	}
	must(t, err)
	if refusals == 0 {
		t.Error("no write was refused during Finish")
	}
	must(t, e.Close())

	e = openLoadStore(t, dir)
	defer e.Close()
	if got, want := e.EntryCount(), int64(3002+len(acked)); got != want {
		t.Errorf("%d entries after the load, want %d", got, want)
	}
	for _, dn := range acked {
		if en, err := e.Get(ctx, dn); err != nil || en == nil {
			t.Errorf("acknowledged add %s lost: %v", dn, err)
		}
	}
	must(t, e.View(func(v *View) error {
		if b, err := v.Record(kept); err != nil || string(b) != "generation" {
			t.Errorf("the store's side record after the load: %q, %v", b, err)
		}
		for _, k := range ackedKeys {
			if b, err := v.Record(k); err != nil || b == nil {
				t.Errorf("acknowledged side record %q lost: %v", k, err)
			}
		}
		return nil
	}))
	rep, err := e.Verify(ctx)
	must(t, err)
	if !rep.Agrees() {
		t.Errorf("verify after the load: %+v", rep)
	}
	// The engine takes writes again after the load.
	if _, err := e.Add(ctx, "uid=after,ou=people,dc=example,dc=com", person("after", "A", "A"), WriteOptions{}); err != nil {
		t.Errorf("an add after the load: %v", err)
	}
}

// TestLoaderOmit: a side record the load omits is gone after it, the
// others stay.
func TestLoaderOmit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	e := openLoadStore(t, dir)
	ctx := context.Background()
	marker, kept := []byte{PrefixReplication, 'i'}, []byte{PrefixReplication, 'g'}
	must(t, e.UpdateRecords(ctx, func(tx *Tx) error {
		if err := tx.PutRecord(marker, []byte("m")); err != nil {
			return err
		}
		return tx.PutRecord(kept, []byte("k"))
	}))
	l, err := e.NewLoader(t.TempDir())
	must(t, err)
	must(t, l.Omit(marker))
	if _, err := l.Load(ctx, people(10), 1, nil); err != nil {
		t.Fatal(err)
	}
	must(t, l.Finish())
	must(t, e.View(func(v *View) error {
		if b, _ := v.Record(marker); b != nil {
			t.Error("the omitted record is still there")
		}
		if b, _ := v.Record(kept); string(b) != "k" {
			t.Errorf("the kept record: %q", b)
		}
		return nil
	}))
	must(t, e.Close())
}

// TestLoaderCrash kills a process in the middle of a bulk load (Finish
// has dropped the old tables; all or none of the new ones are written)
// and opens its store again: it is empty, and a new load into it works.
func TestLoaderCrash(t *testing.T) {
	if point := os.Getenv("DIRECTORY_LOADER_CRASH_AT"); point != "" {
		crashingLoad(t, os.Getenv("DIRECTORY_LOADER_CRASH_DIR"), point)
		return
	}
	for _, point := range []string{"prepared", "streaming", "written"} {
		t.Run(point, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestLoaderCrash$", "-test.count=1")
			cmd.Env = append(os.Environ(), "DIRECTORY_LOADER_CRASH_AT="+point, "DIRECTORY_LOADER_CRASH_DIR="+dir)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the loading process was not killed: %v\n%s", err, out)
			}
			e := openLoadStore(t, dir)
			if n := e.EntryCount(); n != 0 {
				t.Errorf("%d entries in the store of the interrupted load, want none", n)
			}
			must(t, e.View(func(v *View) error {
				return v.Records([]byte{PrefixReplication}, nil, false, func(k, _ []byte) (bool, error) {
					t.Errorf("side record %q left by the interrupted load", k)
					return true, nil
				})
			}))
			if _, err := os.Stat(filepath.Join(dir, loadMark)); err == nil {
				t.Error("the load mark is still there")
			}
			l, err := e.NewLoader(t.TempDir())
			must(t, err)
			if _, err := l.Load(context.Background(), people(20000), 2, nil); err != nil {
				t.Fatal(err)
			}
			must(t, l.Finish())
			must(t, e.Close())
			e = openLoadStore(t, dir)
			defer e.Close()
			if n := e.EntryCount(); n != 20002 {
				t.Errorf("%d entries after loading again, want 20002", n)
			}
			rep, err := e.Verify(context.Background())
			must(t, err)
			if rep.Missing != 0 || rep.Stray != 0 || rep.Orphans != 0 || rep.Entries != 20002 {
				t.Errorf("verify after loading again: %+v", rep)
			}
		})
	}
}

// crashingLoad is TestLoaderCrash's child: a load of 20,000 people with
// a side record, killed at point (a second after the first or the last
// write to the StreamWriter: the tables completed meanwhile are in the
// store's manifest, the last one is not).
func crashingLoad(t *testing.T, dir, point string) {
	e := openLoadStoreWith(t, dir, true) // tables of 4 MiB: several are written
	must(t, e.UpdateRecords(context.Background(), func(tx *Tx) error {
		return tx.PutRecord([]byte{PrefixReplication, 'g'}, []byte("generation"))
	}))
	l, err := e.NewLoader(filepath.Join(filepath.Dir(dir), "runs"))
	must(t, err)
	must(t, l.AddRecord([]byte{PrefixReplication, 's', 1}, []byte("state")))
	if _, err := l.Load(context.Background(), people(20000), 2, nil); err != nil {
		t.Fatal(err)
	}
	l.crashAt = func(p string) {
		if p == point {
			if p != "prepared" {
				time.Sleep(time.Second) // the tables written so far are registered
			}
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
	}
	l.Finish()
	t.Fatal("not killed")
}
