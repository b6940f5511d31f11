package replication

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/change"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// storesDir holds the stores written by the binary of store format 1
// (see its README.md).
const storesDir = "../testdata/stores"

// TestFormat1SingleStoreChangelog opens the single-supplier store of
// format 1 with its RFC 4533 changelog: the writes made after the demo
// data are read back, in order, as that binary logged them.
func TestFormat1SingleStoreChangelog(t *testing.T) {
	dir := directorytest.UnpackStore(t, filepath.Join(storesDir, "single.tar.gz"))
	clog, err := New(Config{Replica: 1, MaxSkew: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	e := directorytest.Open(t, directory.Options{Dir: filepath.Join(dir, "data"), Hooks: []directory.WriteHook{clog}, Stamper: clog,
		Migrations: append(directory.Migrations(), Migrations()...)})
	if err := clog.Open(e); err != nil {
		t.Fatal(err)
	}
	var got []string
	err = e.View(func(v *directory.View) error {
		return clog.Since(v, nil, func(r *Record) error {
			s := fmt.Sprintf("%s %s", r.Kind, r.DN)
			if r.Kind == change.ModRDN {
				s += " -> " + r.NewDN
			}
			if r.Kind == change.Modify {
				for _, m := range r.Mods {
					if m.Attr.Name == "mail" || m.Attr.Name == "telephoneNumber" {
						s += fmt.Sprintf(" %s:%q", m.Attr.Name, m.Attr.Values)
					}
				}
			}
			got = append(got, s)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	probe := "cn=Format Probe,ou=People,dc=example,dc=com"
	want := []string{
		"add " + probe,
		"modify " + probe + ` mail:["probe@example.com"] telephoneNumber:["+1 555 0100"]`,
		"modrdn " + probe + " -> cn=Format Probe2,ou=People,dc=example,dc=com",
		"delete cn=Format Probe2,ou=People,dc=example,dc=com",
		"add cn=Format Kept,ou=People,dc=example,dc=com",
	}
	if len(got) < len(want) || !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("changelog ends with\n%q\nwant\n%q", got[max(0, len(got)-len(want)):], want)
	}
}

// TestFormat1MultiSupplierStore opens both replicas of the multi-supplier
// pair of format 1: each loads its replicated state (checkpoint, state
// records, op log) to the digest and vector that binary reported, its
// entries digest the same, and replaying its op log alone from scratch
// gives that digest too.
func TestFormat1MultiSupplierStore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(storesDir, "multi.digest"))
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Digest      string            `json:"digest"`
		StoreDigest string            `json:"store_digest"`
		Vector      map[string]string `json:"vector"`
	}
	if err := json.Unmarshal(b, &rec); err != nil || rec.Digest == "" || rec.StoreDigest == "" {
		t.Fatalf("multi.digest: %v, %+v", err, rec)
	}
	dir := directorytest.UnpackStore(t, filepath.Join(storesDir, "multi.tar.gz"))
	for _, id := range []uint16{1, 2} {
		tr := startReplica(t, id, filepath.Join(dir, fmt.Sprintf("multi%d", id), "data"))
		if v := tr.eng.FormatVersion(); v != 2 {
			t.Errorf("replica %d: FormatVersion = %d, want 2 (upgraded from 1)", id, v)
		}
		// What the replica's resolver does first when it starts.
		if err := tr.rep.resolve(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := tr.rep.Status()
		if st.Digest != rec.Digest || !st.Settled || st.Entries != 4 {
			t.Errorf("replica %d: digest %s, settled %v, %d entries; want %s, true, 4", id, st.Digest, st.Settled, st.Entries, rec.Digest)
		}
		if fmt.Sprint(st.Vector) != fmt.Sprint(rec.Vector) || fmt.Sprint(st.Checkpoint) != fmt.Sprint(rec.Vector) {
			t.Errorf("replica %d: vector %v, checkpoint %v; want %v", id, st.Vector, st.Checkpoint, rec.Vector)
		}
		d, err := tr.rep.StoreDigest()
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(d[:]) != rec.StoreDigest {
			t.Errorf("replica %d: store digest %x, want %s", id, d, rec.StoreDigest)
		}

		// The op log holds every change of both origins.
		var ops []Op
		err = tr.eng.View(func(v *directory.View) error {
			for _, o := range opOrigins(v) {
				err := v.Records(changelog.OriginPrefix(o), nil, false, func(_, val []byte) (bool, error) {
					rec, err := changelog.DecodeRecord(val, nil)
					if err == nil && rec.Replicated {
						ops = append(ops, rec.Op)
					}
					return err == nil, err
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("replica %d: op log: %v", id, err)
		}
		slices.SortFunc(ops, func(a, b Op) int { return a.CSN.Compare(b.CSN) })
		s := merge.NewState(dirSchema{s: tr.eng.Schema()})
		for i := range ops {
			if err := s.Apply(&ops[i]); err != nil {
				t.Fatalf("replica %d: op %s: %v", id, ops[i].CSN, err)
			}
		}
		if d := s.Digest(); hex.EncodeToString(d[:]) != rec.Digest || len(ops) < 8 {
			t.Errorf("replica %d: the op log's %d ops replay to %x, want %s", id, len(ops), d, rec.Digest)
		}
	}
}
