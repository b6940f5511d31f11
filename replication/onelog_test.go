package replication

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
)

// sideRecordKinds are the side records a store may hold (the letter after
// PrefixReplication; see the package documentation): 'o' is the one
// change log.
var sideRecordKinds = map[byte]string{
	'o': "change log", 'O': "change log floors", 'p': "consumer table", 'g': "generation",
	's': "entry states", 'k': "checkpoint", 'm': "store mark", 'i': "reinitialisation marker", 'y': "RFC 4533 consumer cookies",
}

// sideRecords counts the side records of eng by kind letter.
func sideRecords(t *testing.T, eng *directory.Engine) map[byte]int {
	t.Helper()
	out := map[byte]int{}
	err := eng.View(func(v *directory.View) error {
		return v.Records([]byte{directory.PrefixReplication}, nil, false, func(k, _ []byte) (bool, error) {
			if len(k) > 1 {
				out[k[1]]++
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOneLog fails unless eng's side records are all of a known kind,
// with changes in the one change log.
func checkOneLog(t *testing.T, name string, eng *directory.Engine, wantKinds ...byte) {
	t.Helper()
	got := sideRecords(t, eng)
	var kinds []string
	for k, n := range got {
		kinds = append(kinds, fmt.Sprintf("%q:%d", k, n))
		if _, ok := sideRecordKinds[k]; !ok {
			t.Errorf("%s: %d side records of kind %q, which is not in the layout (a second change log?)", name, n, k)
		}
	}
	slices.Sort(kinds)
	for _, k := range wantKinds {
		if got[k] == 0 {
			t.Errorf("%s: no %s records (%q); side records %v", name, sideRecordKinds[k], k, kinds)
		}
	}
	t.Logf("%s: side records %v", name, kinds)
}

// TestOneChangeLog scans the key space of stores after single- and
// multi-supplier writes, and of the format 1 stores after their upgrade:
// changes are only ever in one log, 'o', with its floors and one consumer
// table.
func TestOneChangeLog(t *testing.T) {
	ctx := context.Background()
	t.Run("single", func(t *testing.T) {
		eng, l := openLog(t, Config{Replica: 3})
		add(t, eng, "dc=example,dc=com", "objectClass", "domain", "dc", "example")
		add(t, eng, "ou=a,dc=example,dc=com", "objectClass", "organizationalUnit", "ou", "a")
		add(t, eng, "cn=p,ou=a,dc=example,dc=com", "objectClass", "person", "cn", "p", "sn", "x")
		mods := []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "sn", Values: [][]byte{[]byte("y")}}}}
		if _, err := eng.Modify(ctx, "cn=p,ou=a,dc=example,dc=com", mods, directory.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.ModifyDN(ctx, "ou=a,dc=example,dc=com", "ou=b", true, nil, directory.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := eng.Delete(ctx, "ou=b,dc=example,dc=com", directory.WriteOptions{Subtree: true}); err != nil {
			t.Fatal(err)
		}
		if err := l.Acknowledge(ctx, "consumer", l.State()); err != nil {
			t.Fatal(err)
		}
		recs := records(t, eng, l, nil)
		if len(recs) != 6 || recs[4].Kind != change.ModRDN || len(recs[4].Also) != 1 || recs[5].Kind != change.Delete || len(recs[5].Also) != 1 {
			t.Fatalf("records %+v", recs)
		}
		checkOneLog(t, "single supplier", eng, 'o', 'p')
		if n := sideRecords(t, eng)['o']; n != 6 {
			t.Errorf("%d change log records, want 6", n)
		}
	})
	t.Run("multi", func(t *testing.T) {
		a := startReplica(t, 1, "")
		b := startReplica(t, 2, "")
		a.seedPeople(3)
		if _, err := b.rep.CatchUp(ctx, a.peer()); err != nil {
			t.Fatal(err)
		}
		b.mustAdd("cn=from b,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "b")
		if _, err := a.rep.CatchUp(ctx, b.peer()); err != nil {
			t.Fatal(err)
		}
		if da, db := a.settle(), b.settle(); da != db {
			t.Fatal("digests differ")
		}
		for _, r := range []*testReplica{a, b} {
			if err := r.rep.Maintain(ctx); err != nil {
				t.Fatal(err)
			}
			if err := r.clog.Acknowledge(ctx, "consumer", r.clog.State()); err != nil {
				t.Fatal(err)
			}
		}
		// The change b made reaches a's change feed as a's own change of
		// its store, in the same log as the ops.
		var dns []string
		a.eng.View(func(v *directory.View) error {
			return a.clog.Since(v, nil, func(r *Record) error {
				dns = append(dns, r.DN)
				if r.CSN.Replica != 1 {
					t.Errorf("a's feed gives %s, a change of replica %d", r.CSN, r.CSN.Replica)
				}
				return nil
			})
		})
		if !slices.Contains(dns, "cn=from b,ou=people,dc=example,dc=com") {
			t.Errorf("a's change feed lacks b's add: %q", dns)
		}
		checkOneLog(t, "replica 1", a.eng, 'o', 'p', 'g', 's', 'k', 'm')
		checkOneLog(t, "replica 2", b.eng, 'o', 'p', 'g', 's', 'k', 'm')
	})
	t.Run("format 1 upgraded", func(t *testing.T) {
		dir := directorytest.UnpackStore(t, filepath.Join(storesDir, "single.tar.gz"))
		clog, err := New(Config{Replica: 1})
		if err != nil {
			t.Fatal(err)
		}
		e := directorytest.Open(t, directory.Options{Dir: filepath.Join(dir, "data"), Hooks: []directory.WriteHook{clog}, Stamper: clog,
			Migrations: append(directory.Migrations(), Migrations()...)})
		if err := clog.Open(e); err != nil {
			t.Fatal(err)
		}
		checkOneLog(t, "format 1 single supplier", e, 'o')
		dir = directorytest.UnpackStore(t, filepath.Join(storesDir, "multi.tar.gz"))
		for _, id := range []uint16{1, 2} {
			tr := startReplica(t, id, filepath.Join(dir, fmt.Sprintf("multi%d", id), "data"))
			checkOneLog(t, fmt.Sprintf("format 1 replica %d", id), tr.eng, 'o', 'p', 'g', 's', 'k')
		}
	})
}

// TestReinitialiseFeedGoesOn: an RFC 4533 cookie of a replica stays
// covered across its reinitialisation, and the change feed brings a
// consumer at it to the new content: what the snapshot changed is in the
// log after the cookie.
func TestReinitialiseFeedGoesOn(t *testing.T) {
	ctx := context.Background()
	a := startReplica(t, 1, "")
	b := startReplica(t, 2, "")
	a.seedPeople(4)
	if _, err := b.rep.CatchUp(ctx, a.peer()); err != nil {
		t.Fatal(err)
	}
	b.settle()
	b.mustAdd("cn=mine,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "m")
	cookie := b.clog.State()
	// Changes b has not pulled: its reinitialisation brings them.
	if _, err := a.eng.Delete(ctx, "cn=p1,ou=people,dc=example,dc=com", directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	mods := []directory.Mod{{Op: change.ModReplace, Attr: directory.Attr{Name: "description", Values: [][]byte{[]byte("changed")}}}}
	if _, err := a.eng.Modify(ctx, "cn=p2,ou=people,dc=example,dc=com", mods, directory.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	a.mustAdd("cn=new,ou=people,dc=example,dc=com", "objectClass", "person", "sn", "n")
	if err := b.rep.Reinitialise(ctx, a.peer()); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := b.eng.View(func(v *directory.View) error {
		cov, err := b.clog.Coverage(v)
		if err != nil {
			return err
		}
		if !cov.Covers(cookie) {
			t.Fatalf("the cookie %v from before the reinitialisation is not covered by %v", cookie, cov)
		}
		return b.clog.Since(v, cookie, func(r *Record) error {
			got = append(got, r.Kind.String()+" "+r.DN)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"delete cn=p1,ou=people,dc=example,dc=com", "modify cn=p2,ou=people,dc=example,dc=com",
		"add cn=new,ou=people,dc=example,dc=com"} {
		if !slices.Contains(got, want) {
			t.Errorf("the feed after the cookie lacks %q: %q", want, got)
		}
	}
	// b's own change, not pulled by a before, was carried and stays.
	if n := b.eng.EntryCount(); n != 7 {
		t.Errorf("%d entries after the reinitialisation, want 7 (5 seeded, less one deleted, one added on each replica)", n)
	}
}
