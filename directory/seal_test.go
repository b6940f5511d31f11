package directory

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/schema"
)

func sealedEngine(t testing.TB) *Engine {
	t.Helper()
	return openTestWith(t, Options{EncryptionKey: bytes.Repeat([]byte{7}, 32), SealedAttributes: []string{"employeeNumber"}})
}

// rawRecord returns the stored record of the entry dn.
func rawRecord(t testing.TB, e *Engine, dn string) []byte {
	t.Helper()
	var out []byte
	err := e.db().View(func(txn *badger.Txn) error {
		nd, err := e.NormalizeDN(dn)
		if err != nil {
			return err
		}
		id, err := lookupDN(txn, nd)
		if err != nil {
			return err
		}
		item, err := txn.Get(entryKey(id))
		if err != nil {
			return err
		}
		out, err = item.ValueCopy(nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSealedRecords(t *testing.T) {
	e := sealedEngine(t)
	ctx := context.Background()
	dn := "uid=a,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, person("a", "A", "A", "employeeNumber", "secret-1234", "description", "open"), WriteOptions{})))
	rec := rawRecord(t, e, dn)
	if rec[0] != entryFormatSealed || bytes.Contains(rec, []byte("secret-1234")) || !bytes.Contains(rec, []byte("open")) {
		t.Fatalf("record format %d, holds the sealed value: %v", rec[0], bytes.Contains(rec, []byte("secret-1234")))
	}
	// An entry without sealed values keeps format 1.
	if rec := rawRecord(t, e, "ou=people,dc=example,dc=com"); rec[0] != entryFormatV1 {
		t.Errorf("an entry without sealed values has format %d", rec[0])
	}
	en, err := e.decodeEntry(1, rec)
	if err != nil || en.First("employeeNumber") != "secret-1234" || en.First("description") != "open" {
		t.Fatalf("decode: %v %v", en, err)
	}
	// Another master key does not open it.
	other, err := newSealer(bytes.Repeat([]byte{8}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	e2 := &Engine{sealer: other}
	if _, err := e2.decodeEntry(1, rec); !errors.Is(err, ErrSealed) {
		t.Errorf("decode with another key: %v, want ErrSealed", err)
	}
	if _, err := (&Engine{}).decodeEntry(1, rec); !errors.Is(err, ErrSealed) {
		t.Errorf("decode without a key: %v, want ErrSealed", err)
	}
	// A sealed value moved to another attribute does not open.
	moved := bytes.Replace(rec, []byte("\x00employeeNumber"), []byte("\x00employeeNumbeR"), 1)
	if _, err := e.decodeEntry(1, moved); !errors.Is(err, ErrSealed) {
		t.Errorf("decode of a value moved to another name: %v", err)
	}
}

// BenchmarkDecodeEntry compares the read path of a record without sealed
// values (format 1, what every store without the option holds) through
// decodeEntry with unmarshalEntry itself, and a record with one sealed
// value.
func BenchmarkDecodeEntry(b *testing.B) {
	e := sealedEngine(b)
	ctx := context.Background()
	must(b, errOf(e.Add(ctx, "uid=a,ou=people,dc=example,dc=com", person("a", "A", "A", "description", "open", "mail", "a@example.com"), WriteOptions{})))
	must(b, errOf(e.Add(ctx, "uid=b,ou=people,dc=example,dc=com", person("b", "B", "B", "description", "open", "mail", "b@example.com", "employeeNumber", "1234"), WriteOptions{})))
	plain := rawRecord(b, e, "uid=a,ou=people,dc=example,dc=com")
	sealed := rawRecord(b, e, "uid=b,ou=people,dc=example,dc=com")
	b.Run("unmarshalEntry", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := unmarshalEntry(1, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeEntry/format1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.decodeEntry(1, plain); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeEntry/sealed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.decodeEntry(1, sealed); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzDecodeSealed: any record of format 2 decodes or fails, never panics.
func FuzzDecodeSealed(f *testing.F) {
	e := sealedEngine(f)
	must(f, errOf(e.Add(context.Background(), "uid=b,ou=people,dc=example,dc=com", person("b", "B", "B", "employeeNumber", "1234", "description", "x"), WriteOptions{})))
	f.Add(rawRecord(f, e, "uid=b,ou=people,dc=example,dc=com"))
	f.Add([]byte{entryFormatSealed, 0, 0, 0, 1, 1, 0, 1, 0})
	f.Add([]byte{entryFormatSealed})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		b[0] = entryFormatSealed
		e.decodeEntry(1, b)
	})
}

// The bulk loader seals as Add does: it prepares records on its workers,
// before the parent's ID is known.
func TestLoaderSeals(t *testing.T) {
	s, err := schema.Default()
	must(t, err)
	dir := t.TempDir()
	e, err := Open(Options{Dir: filepath.Join(dir, "db"), NoSync: true, BulkLoad: true, Suffix: "dc=example,dc=com", Schema: s,
		EncryptionKey: bytes.Repeat([]byte{7}, 32), SealedAttributes: []string{"employeeNumber"}})
	must(t, err)
	defer e.Close()
	l, err := e.NewLoader(filepath.Join(dir, "runs"))
	must(t, err)
	recs := func(yield func(LoadRecord, error) bool) {
		_ = yield(LoadRecord{DN: "dc=example,dc=com", Attrs: attrs("objectClass", "dcObject", "organization", "dc", "example", "o", "E"), Line: 1}, nil) &&
			yield(LoadRecord{DN: "ou=people,dc=example,dc=com", Attrs: attrs("objectClass", "organizationalUnit", "ou", "people"), Line: 2}, nil) &&
			yield(LoadRecord{DN: "uid=a,ou=people,dc=example,dc=com", Attrs: person("a", "A", "A", "employeeNumber", "secret-1234"), Line: 3}, nil)
	}
	if _, err := l.Load(context.Background(), recs, 2, nil); err != nil {
		t.Fatal(err)
	}
	must(t, l.Finish())
	rec := rawRecord(t, e, "uid=a,ou=people,dc=example,dc=com")
	if rec[0] != entryFormatSealed || bytes.Contains(rec, []byte("secret-1234")) {
		t.Fatalf("loaded record: format %d, holds the sealed value in clear: %v", rec[0], bytes.Contains(rec, []byte("secret-1234")))
	}
	en, err := e.Get(context.Background(), "uid=a,ou=people,dc=example,dc=com")
	if err != nil || en.First("employeeNumber") != "secret-1234" {
		t.Fatalf("loaded entry reads back as %v, %v", en, err)
	}
}

// TestSealedPasswordBinds checks that a bind opens a sealed userPassword:
// the bind decodes that one attribute of the record, mark and all.
func TestSealedPasswordBinds(t *testing.T) {
	e := openTestWith(t, Options{EncryptionKey: bytes.Repeat([]byte{7}, 32), SealedAttributes: []string{"userPassword"}})
	ctx := context.Background()
	dn := "uid=p,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, dn, person("p", "P", "P", "userPassword", "right one", "description", "open"), WriteOptions{})))
	if rec := rawRecord(t, e, dn); rec[0] != entryFormatSealed || bytes.Contains(rec, []byte("right one")) {
		t.Fatalf("userPassword not sealed in the record (format %d)", rec[0])
	}
	for range 2 { // the second bind reads the record from the entry cache
		en, err := e.Authenticate(ctx, dn, []byte("right one"))
		if err != nil {
			t.Fatalf("bind with the right password: %v", err)
		}
		if got := en.First("userPassword"); !strings.HasPrefix(got, "{ARGON2}") || len(en.Attrs) != 1 || en.NDN != dn {
			t.Fatalf("bind returned %q with %d attributes, NDN %q", got, len(en.Attrs), en.NDN)
		}
		if _, err := e.Authenticate(ctx, dn, []byte("wrong")); code(err) != 49 {
			t.Fatalf("bind with a wrong password: %v", err)
		}
	}
}

// A KeyID names the master key's sealing key: the same for the same key,
// another for another, zero for none.
func TestSealerKeyID(t *testing.T) {
	a1, err := NewSealer(bytes.Repeat([]byte{1}, 32), []string{"employeeNumber"})
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := NewSealer(bytes.Repeat([]byte{1}, 32), nil)
	b, _ := NewSealer(bytes.Repeat([]byte{2}, 32), []string{"employeeNumber"})
	if a1.KeyID() != a2.KeyID() || a1.KeyID() == b.KeyID() || a1.KeyID() == (KeyID{}) {
		t.Fatalf("key IDs: %s %s %s", a1.KeyID(), a2.KeyID(), b.KeyID())
	}
	var none *Sealer
	if none.KeyID() != (KeyID{}) || none.Names() != nil {
		t.Fatal("a nil Sealer has a key ID or names")
	}
	if n := a1.Names(); len(n) != 1 || n[0] != "employeeNumber" {
		t.Fatalf("names %v", n)
	}
}
