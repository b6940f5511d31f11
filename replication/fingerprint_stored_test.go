package replication

import (
	"errors"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// TestFingerprintStored: the workers' pass gives every stored entry once,
// with the fingerprint the one-at-a-time computation gives, and an error
// of the caller's ends it with that error.
func TestFingerprintStored(t *testing.T) {
	x := openReplica(t, t.TempDir(), 1, MultiConfig{})
	x.population(700) // several batches for each worker
	want := map[UUID][32]byte{}
	if err := x.eng.ForEachEntry(func(en *directory.Entry) error {
		u, err := merge.ParseUUID(en.First("entryUUID"))
		if err == nil {
			want[u] = x.r.fullFingerprint(u, en)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := map[UUID][32]byte{}
	if err := x.r.fingerprintStored(func(en *directory.Entry, u UUID, fp *[32]byte) error {
		if _, dup := got[u]; dup {
			t.Errorf("%s given twice", en.DN)
		}
		got[u] = *fp
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(want) != 702 {
		t.Fatalf("%d entries given, %d stored (want 702)", len(got), len(want))
	}
	for u, fp := range want {
		if got[u] != fp {
			t.Fatalf("entry %s: fingerprint differs from the one-at-a-time pass", u)
		}
	}

	stop := errors.New("enough")
	n := 0
	err := x.r.fingerprintStored(func(*directory.Entry, UUID, *[32]byte) error {
		if n++; n == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 10 {
		t.Fatalf("after an error at the 10th entry: err %v, %d calls", err, n)
	}
}
