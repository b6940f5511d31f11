package replication

import (
	"context"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
)

// TestLogRecordMeta: every log record a replica writes (its own changes,
// its peers' ops, the feed records of what it resolved) carries its flags
// in the meta byte, which ScanFlags reads for them; records of a store
// from before meta bytes (meta 0) are read instead, and a pull and a
// restart's replay still find every op among them.
func TestLogRecordMeta(t *testing.T) {
	y, gen := resolvedWithOwnChange(t, 30)

	type rec struct {
		key   string
		meta  byte
		flags byte // from the value
	}
	stored := func() []rec {
		var out []rec
		if err := y.eng.View(func(v *directory.View) error {
			return v.RecordKeys(changelog.KeyRecords, nil, false, func(k []byte, meta byte) (bool, error) {
				val, err := v.Record(k)
				out = append(out, rec{string(k), meta, changelog.RecordFlags(val)})
				return true, err
			})
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	scanned := func() map[string]byte {
		out := map[string]byte{}
		if err := y.eng.View(func(v *directory.View) error {
			return changelog.ScanFlags(v, changelog.KeyRecords, nil, false, func(k []byte, flags byte) (bool, error) {
				out[string(k)] = flags
				return true, nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	recs := stored()
	kinds := map[byte]int{}
	for _, r := range recs {
		kinds[r.flags]++
		if r.meta != 0x80|r.flags {
			t.Errorf("record %x: meta %#x, flags %#x", r.key, r.meta, r.flags)
		}
	}
	// Replica 1's 32 ops, the 32 feed records of their resolution, and
	// replica 2's own add (replicated and feed).
	want := map[byte]int{changelog.FlagReplicated: 32, changelog.FlagFeed: 32, changelog.FlagReplicated | changelog.FlagFeed: 1}
	for f, n := range want {
		if kinds[f] != n {
			t.Errorf("%d records of flags %#x, want %d (all: %v)", kinds[f], f, n, kinds)
		}
	}
	for k, f := range scanned() {
		if i := slices.IndexFunc(recs, func(r rec) bool { return r.key == k }); i < 0 || recs[i].flags != f {
			t.Errorf("ScanFlags %x: flags %#x", k, f)
		}
	}

	// A store from before: the same records without meta bytes.
	if err := y.eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
		for _, r := range recs {
			val, err := tx.Record([]byte(r.key))
			if err != nil {
				return err
			}
			if err := tx.PutRecord([]byte(r.key), val); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, r := range stored() {
		if r.meta != 0 {
			t.Fatalf("record %x rewritten with meta %#x", r.key, r.meta)
		}
	}
	for k, f := range scanned() {
		if i := slices.IndexFunc(recs, func(r rec) bool { return r.key == k }); i < 0 || recs[i].flags != f {
			t.Errorf("ScanFlags without meta %x: flags %#x", k, f)
		}
	}
	_, vec := y.r.Position()
	behind := vec.Clone()
	delete(behind, 2)
	resp, err := y.r.Pull(&PullRequest{Generation: gen, Consumer: 1, MaxOps: 1000, Vector: behind})
	if err != nil || len(resp.Ops) != 1 || resp.Ops[0].CSN != vec[2] || resp.Ops[0].Kind != change.Add {
		t.Fatalf("a consumer lacking replica 2's add got %v (%v)", resp.Ops, err)
	}
	before := stateOf(y.r)
	y.reopen()
	if after := stateOf(y.r); after != before {
		t.Errorf("the state replayed from records without meta differs:\n%s\nwant\n%s", after, before)
	}
}
