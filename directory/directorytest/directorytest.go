// Package directorytest sets up directory engines for tests: a store in a
// temporary directory (or in memory) with the default schema and suffix,
// closed when the test ends, filled from attribute lists or LDIF; and
// stores unpacked from archives (testdata/stores).
//
// Package directory's own internal tests cannot use it (it imports
// directory); they keep their helpers in engine_test.go.
package directorytest

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Suffix is the naming context Open gives an engine unless told another.
const Suffix = "dc=example,dc=com"

// Schema returns the default schema, failing t if it does not load.
func Schema(t testing.TB) *schema.Schema {
	t.Helper()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Open opens an engine with opt, filling in what it leaves out: Schema
// (the default one), Suffix (Suffix), Dir (a new temporary directory,
// unless InMemory) and NoSync (always on: tests need no fsync). The engine
// is closed when the test ends.
func Open(t testing.TB, opt directory.Options) *directory.Engine {
	t.Helper()
	if opt.Schema == nil {
		opt.Schema = Schema(t)
	}
	if opt.Suffix == "" {
		opt.Suffix = Suffix
	}
	if opt.Dir == "" && !opt.InMemory {
		opt.Dir = t.TempDir()
	}
	opt.NoSync = true
	e, err := directory.Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// Attrs builds attributes from name, value pairs; a name repeated adds a
// value to it, in the order given.
func Attrs(t testing.TB, kv ...string) []directory.Attr {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("directorytest: odd attribute list %q", kv)
	}
	var out []directory.Attr
	for i := 0; i < len(kv); i += 2 {
		j := 0
		for j < len(out) && !strings.EqualFold(out[j].Name, kv[i]) {
			j++
		}
		if j == len(out) {
			out = append(out, directory.Attr{Name: kv[i]})
		}
		out[j].Values = append(out[j].Values, []byte(kv[i+1]))
	}
	return out
}

// Add adds the entry dn with the attributes of name, value pairs.
func Add(t testing.TB, e *directory.Engine, dn string, kv ...string) {
	t.Helper()
	if _, err := e.Add(context.Background(), dn, Attrs(t, kv...), directory.WriteOptions{}); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// AddBase adds the suffix entry dc=example,dc=com and ou=people under it.
func AddBase(t testing.TB, e *directory.Engine) {
	t.Helper()
	Add(t, e, Suffix, "objectClass", "top", "objectClass", "dcObject", "objectClass", "organization", "dc", "example", "o", "Example")
	Add(t, e, "ou=people,"+Suffix, "objectClass", "organizationalUnit", "ou", "people")
}

// AddLDIF adds the entries of an LDIF text (content records, or add
// records), in order.
func AddLDIF(t testing.TB, e *directory.Engine, text string) {
	t.Helper()
	for _, rec := range ReadLDIF(t, strings.NewReader(text)) {
		if rec.ChangeType != "" && rec.ChangeType != "add" {
			t.Fatalf("directorytest: LDIF line %d: changetype %s, want entries", rec.Line, rec.ChangeType)
		}
		if _, err := e.Add(context.Background(), rec.DN, slices.Clone(rec.Attrs), directory.WriteOptions{}); err != nil {
			t.Fatalf("LDIF line %d: add %s: %v", rec.Line, rec.DN, err)
		}
	}
}

// ReadLDIF parses every record of r.
func ReadLDIF(t testing.TB, r io.Reader) []*ldif.Record {
	t.Helper()
	lr := ldif.NewReader(r, ldif.ReaderOptions{})
	var out []*ldif.Record
	for {
		rec, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
}

// UnpackStore unpacks a .tar.gz archive of stores into a new temporary
// directory and returns it. Only directories and regular files are
// allowed, and no path may leave the directory.
func UnpackStore(t testing.TB, archive string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unpack(archive, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func unpack(archive, dir string) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("%s: %q leaves the directory", archive, h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return err
			}
			out, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: %q is neither a file nor a directory", archive, h.Name)
		}
	}
}
