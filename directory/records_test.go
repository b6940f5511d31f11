package directory

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/schema"
)

// TestRecordMeta: a side record's meta byte (PutRecordMeta; 0 from
// PutRecord) is shown by RecordKeys and RecordsSkip, for small values and
// for values in the value log, after a reopen too; a record skip passes
// over never reaches fn, and Records still sees every record.
func TestRecordMeta(t *testing.T) {
	s, err := schema.Default()
	must(t, err)
	dir := filepath.Join(t.TempDir(), "db")
	open := func() *Engine {
		e, err := Open(Options{Dir: dir, NoSync: true, Suffix: "dc=example,dc=com", Schema: s})
		must(t, err)
		return e
	}
	prefix := []byte{PrefixReplication, 'm'}
	key := func(i int) []byte { return fmt.Appendf(slices.Clone(prefix), "%03d", i) }
	value := func(i int) []byte {
		if i%2 == 0 {
			return make([]byte, 4<<10) // in the value log
		}
		return fmt.Appendf(nil, "v%d", i)
	}
	meta := func(i int) byte { return byte(i % 4) } // 0: as PutRecord
	e := open()
	must(t, e.UpdateRecords(context.Background(), func(tx *Tx) error {
		for i := range 40 {
			var err error
			if meta(i) == 0 {
				err = tx.PutRecord(key(i), value(i))
			} else {
				err = tx.PutRecordMeta(key(i), value(i), meta(i))
			}
			if err != nil {
				return err
			}
		}
		return nil
	}))
	if err := e.UpdateRecords(context.Background(), func(tx *Tx) error {
		return tx.PutRecordMeta([]byte("enot side"), nil, 1)
	}); err == nil {
		t.Error("PutRecordMeta wrote a key outside the side records")
	}
	check := func(e *Engine) {
		t.Helper()
		must(t, e.View(func(v *View) error {
			i := 0
			err := v.RecordKeys(prefix, nil, false, func(k []byte, m byte) (bool, error) {
				if string(k) != string(key(i)) || m != meta(i) {
					t.Errorf("RecordKeys: %q meta %d, want %q meta %d", k, m, key(i), meta(i))
				}
				i++
				return true, nil
			})
			if i != 40 {
				t.Errorf("RecordKeys saw %d records, want 40", i)
			}
			must(t, err)
			var seen []string
			err = v.RecordsSkip(prefix, key(10), false, func(_ []byte, m byte) bool { return m == 2 }, func(k, val []byte) (bool, error) {
				var j int
				fmt.Sscanf(string(k[len(prefix):]), "%d", &j)
				if meta(j) == 2 || string(val) != string(value(j)) {
					t.Errorf("RecordsSkip passed record %d (meta %d, %d bytes)", j, meta(j), len(val))
				}
				seen = append(seen, string(k))
				return true, nil
			})
			if len(seen) != 22 { // 30 from key 10, less the 8 of meta 2
				t.Errorf("RecordsSkip passed %d records, want 22", len(seen))
			}
			must(t, err)
			n := 0
			must(t, v.Records(prefix, nil, true, func(k, val []byte) (bool, error) { n++; return true, nil }))
			if n != 40 {
				t.Errorf("Records saw %d records, want 40", n)
			}
			return nil
		}))
	}
	check(e)
	must(t, e.Close())
	e = open()
	defer e.Close()
	check(e)
}
