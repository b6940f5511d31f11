package directory

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
)

// markEntries is a test migration from format 1: it counts, under a side
// record per entry, how often a step has handled that entry, batch
// entries per step. fail, when set, is asked before each step.
func markEntries(batch int, calls *int, fail func(call int) error) Migration {
	return Migration{From: 1, What: "mark every entry", Step: func(_ context.Context, tx *UpgradeTx, cursor []byte) ([]byte, error) {
		*calls++
		if fail != nil {
			if err := fail(*calls); err != nil {
				return nil, err
			}
		}
		var last []byte
		n := 0
		err := tx.Scan([]byte{prefixEntry}, cursor, func(key, _ []byte) (bool, error) {
			mark := append([]byte{PrefixReplication, 'T'}, key[1:]...)
			old, err := tx.Get(mark)
			if err != nil {
				return false, err
			}
			var c byte
			if old != nil {
				c = old[0]
			}
			// Written before a failure injected below: the
			// transaction must not commit it.
			if err := tx.Set(mark, []byte{c + 1}); err != nil {
				return false, err
			}
			last, n = key, n+1
			return n < batch, nil
		})
		if err != nil {
			return nil, err
		}
		if n < batch {
			return nil, nil // done
		}
		return last, nil
	}}
}

// storeWithEntries makes a format 1 store holding the suffix, ou=people
// and n people, closed; it returns the options to open it again.
func storeWithEntries(t *testing.T, n int) Options {
	t.Helper()
	opt, e := openOnDisk(t)
	must(t, e.Close())
	// Made by a binary of format 1.
	must(t, os.RemoveAll(opt.Dir))
	opt.format = 1
	e, err := Open(opt)
	must(t, err)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	must(t, errOf(e.Add(ctx, "ou=people,dc=example,dc=com", attrs("objectClass", "organizationalUnit", "ou", "people"), WriteOptions{})))
	for i := range n {
		must(t, errOf(e.Add(context.Background(), fmt.Sprintf("uid=u%d,ou=people,dc=example,dc=com", i),
			person(fmt.Sprintf("u%d", i), "U", "X"), WriteOptions{})))
	}
	must(t, e.Close())
	return opt
}

// marks returns the test migration's count per entry ID.
func marks(t *testing.T, e *Engine) map[uint64]byte {
	t.Helper()
	out := map[uint64]byte{}
	err := e.View(func(v *View) error {
		return v.Records([]byte{PrefixReplication, 'T'}, nil, false, func(k, val []byte) (bool, error) {
			out[binary.BigEndian.Uint64(k[2:])] = val[0]
			return true, nil
		})
	})
	must(t, err)
	return out
}

func TestFormatUpgradeRuns(t *testing.T) {
	opt := storeWithEntries(t, 40)
	var calls int
	var logBuf bytes.Buffer
	opt.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	opt.format, opt.Migrations = 2, []Migration{markEntries(7, &calls, nil)}
	e, err := Open(opt)
	must(t, err)
	if e.FormatVersion() != 2 {
		t.Errorf("FormatVersion = %d after the upgrade, want 2", e.FormatVersion())
	}
	m := marks(t, e)
	if len(m) != 42 || calls != 7 {
		t.Errorf("%d entries marked in %d steps, want 42 in 7", len(m), calls)
	}
	for id, c := range m {
		if c != 1 {
			t.Errorf("entry %d marked %d times", id, c)
		}
	}
	for _, want := range []string{`msg="upgrading the store's format" from=1 to=2`, `what="mark every entry"`, `msg="store format upgraded" to=2`} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, logBuf.String())
		}
	}
	must(t, e.Close())

	calls = 0
	e, err = Open(opt)
	must(t, err)
	defer e.Close()
	if calls != 0 || e.FormatVersion() != 2 {
		t.Errorf("opened again: %d steps ran, version %d; want none, 2", calls, e.FormatVersion())
	}
}

// TestFormatUpgradeResumes cuts an upgrade off with a failing step: Open
// fails and says so, the failed step leaves nothing, and the next Open
// goes on after the last step that committed, so every entry is handled
// exactly once and the migrations after it run too.
func TestFormatUpgradeResumes(t *testing.T) {
	opt := storeWithEntries(t, 40)
	boom := errors.New("injected failure")
	var calls, secondCalls int
	second := Migration{From: 1, What: "second", Step: func(_ context.Context, tx *UpgradeTx, cursor []byte) ([]byte, error) {
		secondCalls++
		return nil, tx.Set([]byte{PrefixReplication, 'U'}, []byte("done"))
	}}
	opt.format = 2
	opt.Migrations = []Migration{markEntries(7, &calls, func(call int) error {
		if call == 3 {
			return boom
		}
		return nil
	}), second}
	if e, err := Open(opt); err == nil {
		e.Close()
		t.Fatal("Open succeeded with a failing migration")
	} else if !errors.Is(err, boom) || !strings.Contains(err.Error(), "opening it again resumes") {
		t.Fatalf("Open: %v; want the failure and that opening again resumes", err)
	}

	// The store is still of format 1, with the upgrade record: the
	// version moves only with the last step. A binary of format 1 must
	// not write it meanwhile.
	old := opt
	old.format, old.Migrations = 1, nil
	if e, err := Open(old); err == nil || !strings.Contains(err.Error(), "upgrade of the store from format 1 to 2 was cut off") {
		if e != nil {
			e.Close()
		}
		t.Fatalf("Open at format 1 during the upgrade: %v", err)
	}
	calls = 0
	opt.Migrations = []Migration{markEntries(7, &calls, nil), second}
	e, err := Open(opt)
	must(t, err)
	defer e.Close()
	m := marks(t, e)
	if len(m) != 42 {
		t.Errorf("%d entries marked after resuming, want 42", len(m))
	}
	for id, c := range m {
		if c != 1 {
			t.Errorf("entry %d handled %d times", id, c)
		}
	}
	must(t, e.View(func(v *View) error {
		if r, err := v.Record([]byte{PrefixReplication, 'U'}); string(r) != "done" || err != nil {
			t.Errorf("the second migration's record: %q, %v", r, err)
		}
		return nil
	}))
	// 7 steps in all: 2 committed before the failure, 5 after it.
	if calls != 5 || secondCalls != 1 || e.FormatVersion() != 2 {
		t.Errorf("resumed with %d steps of the first migration and %d of the second, version %d; want 5, 1, 2",
			calls, secondCalls, e.FormatVersion())
	}
}

func TestFormatNewerRefused(t *testing.T) {
	opt, e := openOnDisk(t)
	must(t, e.Close())
	// A later binary's store: written with the next version.
	newer := opt
	newer.Dir, newer.format = t.TempDir(), formatVersion+1
	opt.Dir = newer.Dir
	e, err := Open(newer)
	must(t, err)
	must(t, e.Close())
	e, err = Open(opt)
	if err == nil {
		e.Close()
		t.Fatal("a store of a newer format opened")
	}
	want := fmt.Sprintf("the store is in format %d, newer than this binary's (%d)", formatVersion+1, formatVersion)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: %v; want %q", err, want)
	}
}

func TestFormatUpgradeGaps(t *testing.T) {
	opt := storeWithEntries(t, 1)
	var calls int
	opt.format, opt.Migrations = 3, []Migration{markEntries(7, &calls, nil)}
	if e, err := Open(opt); err == nil || !strings.Contains(err.Error(), "no upgrade from store format 2") {
		if e != nil {
			e.Close()
		}
		t.Fatalf("Open without a migration from 2: %v", err)
	}
	opt.format = 1
	if e, err := Open(opt); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		if e != nil {
			e.Close()
		}
		t.Fatalf("the store is of format 2 now; Open at format 1: %v", err)
	}
}

// FuzzDecodeUpgrade: any record decodes or is refused, never panics, and
// what decodes encodes back to the same bytes.
func FuzzDecodeUpgrade(f *testing.F) {
	f.Add(encodeUpgrade(1, 0, []byte("e\x00\x00\x00\x00\x00\x00\x00\x07")), uint32(1))
	f.Add(encodeUpgrade(1, 2, nil), uint32(1))
	f.Add([]byte{0, 0, 0}, uint32(1))
	f.Fuzz(func(t *testing.T, rec []byte, version uint32) {
		idx, cursor, err := decodeUpgrade(rec, version)
		if err != nil {
			return
		}
		if got := encodeUpgrade(version, idx, cursor); !bytes.Equal(got, rec) {
			t.Fatalf("%x decodes to %d, %x, which encode to %x", rec, idx, cursor, got)
		}
	})
}
