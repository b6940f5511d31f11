package changelog

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/directorytest"
)

// legacyDeleteRecord is a format 1 RFC 4533 record of a delete.
func legacyDeleteRecord(uuid, dn string) []byte {
	b := []byte{1, byte(change.Delete)}
	for _, s := range []string{uuid, dn} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return append(b, 0) // no descendants
}

// TestFormat1ChangelogMigration upgrades the format 1 single-supplier
// store with more format 1 records put in beside its own: 1,500 RFC 4533
// records of another origin (more than one migration step), one that
// does not decode below them, a base floor, and a consumer's position.
// They all end in the one change log: the records as feed records, the
// broken one dropped with its origin's floor raised over it (a cookie
// older than it gets a full refresh), the base floor as the floor of
// every origin never trimmed, the position in the consumer table.
// keyGeneration is the record that marks a multi-supplier store (the
// Replicator's generation, package replication).
var keyGeneration = []byte{directory.PrefixReplication, 'g'}

func TestFormat1ChangelogMigration(t *testing.T) {
	dir := filepath.Join(directorytest.UnpackStore(t, filepath.Join("../../testdata/stores", "single.tar.gz")), "data")
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	const origin, n = 9, 1500
	csn := func(i int) change.CSN { return change.CSN{Time: int64(1_000_000 + i), Replica: origin} }
	base := change.CSN{Time: 500, Replica: 1}
	seen := time.Now().Truncate(time.Microsecond)
	cookie := change.CSN{Time: 1_000_100, Replica: origin}
	wb := db.NewWriteBatch()
	for i := 1; i <= n; i++ {
		k := csn(i).AppendBinary(binary.BigEndian.AppendUint16(bytes.Clone(legacyLog), origin))
		u := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		if err := wb.Set(k, legacyDeleteRecord(u, fmt.Sprintf("cn=gone%d,dc=example,dc=com", i))); err != nil {
			t.Fatal(err)
		}
	}
	broken := csn(0).AppendBinary(binary.BigEndian.AppendUint16(bytes.Clone(legacyLog), origin))
	pos := binary.BigEndian.AppendUint64(nil, uint64(seen.UnixMicro()))
	pos = cookie.AppendBinary(binary.BigEndian.AppendUint16(pos, origin))
	for k, v := range map[string][]byte{
		string(broken):     {1, 9, 9},
		string(legacyBase): base.AppendBinary(nil),
		string(append(bytes.Clone(legacyConsumer), "c1"...)): pos,
	} {
		if err := wb.Set([]byte(k), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	clog, err := New(Config{Replica: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := directorytest.Open(t, directory.Options{Dir: dir, Hooks: []directory.WriteHook{clog}, Stamper: clog,
		Migrations: append(directory.Migrations(), Migrations(keyGeneration)...)})
	if err := clog.Open(e); err != nil {
		t.Fatal(err)
	}
	if v := e.FormatVersion(); v != 2 {
		t.Fatalf("format %d, want 2", v)
	}
	checkLogOnly(t, e, 'o', 'O', 'p')
	var got []*Record
	var cov Coverage
	err = e.View(func(v *directory.View) error {
		var err error
		if cov, err = clog.Coverage(v); err != nil {
			return err
		}
		return clog.Since(v, map[uint16]change.CSN{origin: csn(0)}, func(r *Record) error {
			if r.CSN.Replica == origin {
				got = append(got, r)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n || got[0].CSN != csn(1) || got[0].Kind != change.Delete || got[0].DN != "cn=gone1,dc=example,dc=com" ||
		got[0].UUID != "00000000-0000-0000-0000-000000000001" || got[n-1].CSN != csn(n) {
		t.Fatalf("%d records of origin %d, first %+v", len(got), origin, got[0])
	}
	if cov[origin] != csn(0) || cov[1] != base {
		t.Errorf("floors %v, want %s for origin %d (the broken record) and %s for 1 (the base floor)", cov, csn(0), origin, base)
	}
	if cov.Covers(map[uint16]change.CSN{1: base, origin: {Time: 999_999, Replica: origin}}) {
		t.Error("a cookie older than the dropped record is covered")
	}
	cs, err := clog.Consumers()
	if err != nil || len(cs) != 1 || cs[0].ID != "c1" || cs[0].State[origin] != cookie || !cs[0].LastSeen.Equal(seen) {
		t.Fatalf("consumers %+v (%v), want c1 at %s seen %s", cs, err, cookie, seen)
	}
}

// FuzzDecodeLegacyRecord: a format 1 changelog record decodes or is
// refused, never panics; what decodes is stored in the change log's form
// and reads back the same.
func FuzzDecodeLegacyRecord(f *testing.F) {
	u := "00000000-0000-0000-0000-000000000075"
	f.Add(legacyDeleteRecord(u, "cn=x"))
	for _, h := range []string{
		"0102017504636e3d780300016101013101016200020163010132",
		"0104017504636e3d7804636e3d79010176",
		"010101750161010263" + "6e0101" + "61",
	} {
		b, _ := hex.DecodeString(h)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeLegacyRecord(b)
		if err != nil {
			return
		}
		for _, a := range r.Op.Attrs {
			if strings.HasPrefix(a.Name, "\x00") {
				return // a sealed attribute: opened with the store's key
			}
		}
		for _, m := range r.Op.Mods {
			if strings.HasPrefix(m.Attr, "\x00") {
				return
			}
		}
		enc := r.AppendBinary(nil, nil)
		back, err := DecodeRecord(enc, nil)
		if err != nil || !bytes.Equal(back.AppendBinary(nil, nil), enc) {
			t.Fatalf("a format 1 record does not survive its move: %v\n%+v\n%+v", err, r, back)
		}
	})
}

// checkLogOnly fails unless eng's side records are all the change log's
// (records, floors, consumer positions: a single supplier's store has no
// others), with some of each kind in want.
func checkLogOnly(t *testing.T, eng *directory.Engine, want ...byte) {
	t.Helper()
	got := map[byte]int{}
	err := eng.View(func(v *directory.View) error {
		return v.Records([]byte{directory.PrefixReplication}, nil, false, func(k, _ []byte) (bool, error) {
			if len(k) > 1 {
				got[k[1]]++
			}
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range got {
		if k != KeyRecords[1] && k != KeyFloors[1] && k != KeyPositions[1] {
			t.Errorf("%d side records of kind %q, which is not the change log's", n, k)
		}
	}
	for _, k := range want {
		if got[k] == 0 {
			t.Errorf("no side records of kind %q; side records %v", k, got)
		}
	}
}
