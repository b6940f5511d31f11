package directory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-ldap/switchboard/schema"
)

// diskOptions are the options of a store in dir for these tests.
func diskOptions(t *testing.T, dir string) Options {
	t.Helper()
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	return Options{Dir: dir, Suffix: "dc=example,dc=com", Schema: s, NoSync: true}
}

// fillStore writes the suffix and n entries of about 3 KB each (so that
// they go to the value log) into a new store in dir, and closes it.
func fillStore(t *testing.T, dir string, n int) {
	t.Helper()
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	ctx := context.Background()
	must(t, errOf(e.Add(ctx, "dc=example,dc=com", attrs("objectClass", "top", "dcObject", "organization", "dc", "example", "o", "Example"), WriteOptions{})))
	for i := range n {
		cn := fmt.Sprintf("u%d", i)
		must(t, errOf(e.Add(ctx, "cn="+cn+",dc=example,dc=com", attrs("objectClass", "person", "cn", cn, "sn", "x",
			"description", strings.Repeat("d", 3000)), WriteOptions{})))
	}
	must(t, e.Close())
}

// storeFiles returns the paths of the files in dir with suffix ext.
func storeFiles(t *testing.T, dir, ext string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(m) == 0 {
		t.Fatalf("no %s files in %s: %v", ext, dir, err)
	}
	return m
}

func TestOpenRefusesCorruptTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		flip func(n int) (int, int) // the byte range to invert in a file of n bytes
	}{
		{"block", func(n int) (int, int) { return n / 3, n/3 + 64 }},
		{"index", func(n int) (int, int) { return n - 40, n - 8 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fillStore(t, dir, 200)
			sst := storeFiles(t, dir, ".sst")[0]
			b, err := os.ReadFile(sst)
			must(t, err)
			from, to := tc.flip(len(b))
			for i := from; i < to; i++ {
				b[i] ^= 0xff
			}
			must(t, os.WriteFile(sst, b, 0o600))
			e, err := Open(diskOptions(t, dir))
			if err == nil {
				e.Close()
				t.Fatal("a store with a damaged table opened")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), sst) || !strings.Contains(err.Error(), "switchboard verify") {
				t.Fatalf("error does not name the damage, the file %s and the recovery: %v", sst, err)
			}
		})
	}
}

func TestOpenRefusesTruncatedValueLog(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 200)
	for _, f := range storeFiles(t, dir, ".vlog") {
		st, err := os.Stat(f)
		must(t, err)
		must(t, os.Truncate(f, st.Size()/2))
	}
	e, err := Open(diskOptions(t, dir))
	if err == nil {
		n := e.EntryCount()
		e.Close()
		t.Fatalf("a store with half its value log opened (%d entries)", n)
	}
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), ".vlog") {
		t.Fatalf("error does not name the value log: %v", err)
	}
}

func TestOpenMustExist(t *testing.T) {
	opt := diskOptions(t, filepath.Join(t.TempDir(), "typo"))
	opt.MustExist = true
	if _, err := Open(opt); !errors.Is(err, ErrNoStore) {
		t.Fatalf("Open of a missing directory with MustExist: %v", err)
	}
	if _, err := os.Stat(opt.Dir); err == nil {
		t.Error("Open with MustExist created the directory")
	}
	opt.Dir = t.TempDir() // exists, holds no store
	if _, err := Open(opt); !errors.Is(err, ErrNoStore) {
		t.Fatalf("Open of an empty directory with MustExist: %v", err)
	}
	fillStore(t, opt.Dir, 1)
	e, err := Open(opt)
	must(t, err)
	e.Close()
}

func TestOpenMakesStorePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	must(t, os.Mkdir(dir, 0o755))
	must(t, os.Chmod(dir, 0o755))
	fillStore(t, dir, 1)
	must(t, os.Chmod(dir, 0o755))
	stray := filepath.Join(dir, "MANIFEST")
	must(t, os.Chmod(stray, 0o644))
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	defer e.Close()
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %04o, want 0700", st.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	for _, en := range ents {
		info, _ := en.Info()
		if info.Mode().IsRegular() && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o, want none for group and others", en.Name(), info.Mode().Perm())
		}
	}
}

func TestOpenRefusesWritableDir(t *testing.T) {
	for _, mode := range []os.FileMode{0o775, 0o777, 0o722} {
		dir := filepath.Join(t.TempDir(), "data")
		must(t, os.Mkdir(dir, 0o700))
		must(t, os.Chmod(dir, mode))
		_, err := Open(diskOptions(t, dir))
		if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
			t.Errorf("mode %04o: Open did not refuse with the fix: %v", mode, err)
		}
	}
}

func TestOpenInUseNamesHolder(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	defer e.Close()
	_, err = Open(diskOptions(t, dir))
	pid := strconv.Itoa(os.Getpid())
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "process "+pid) || !strings.Contains(err.Error(), "kill "+pid) {
		t.Fatalf("second Open: %v", err)
	}
}

func TestSizeCountsFiles(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 50)
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	defer e.Close()
	lsm, vlog := e.Sizes()
	if lsm <= 0 || vlog < 50*3000 || e.Size() != lsm+vlog {
		t.Fatalf("Sizes() = %d, %d; Size() = %d", lsm, vlog, e.Size())
	}
}

// TestCleanCloseSkipsValueLogRead: a store closed cleanly opens without
// reading its value log through, unless its value log files changed
// since that close (a truncated copy of a cleanly closed store), and a
// store that was not closed (no mark) is read through.
func TestCleanCloseSkipsValueLogRead(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 200)
	if _, err := os.Stat(filepath.Join(dir, cleanMark)); err != nil {
		t.Fatalf("no mark after a clean close: %v", err)
	}
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	if _, err := os.Stat(filepath.Join(dir, cleanMark)); err == nil {
		t.Fatal("the mark outlived the open: a crash now would skip the check")
	}
	must(t, e.Close())
	for _, f := range storeFiles(t, dir, ".vlog") {
		st, err := os.Stat(f)
		must(t, err)
		must(t, os.Truncate(f, st.Size()/2))
	}
	if e, err := Open(diskOptions(t, dir)); err == nil {
		e.Close()
		t.Fatal("a cleanly closed store whose value log was then cut opened")
	} else if !errors.Is(err, ErrDamaged) {
		t.Fatalf("error: %v", err)
	}
}

// TestValueLogCheckMeasures: the read of the value log after an unclean
// stop measures it as maintenance would, so that maintenance does not
// scan every key a second time as the server starts.
func TestValueLogCheckMeasures(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 200)
	must(t, os.Remove(filepath.Join(dir, cleanMark))) // as after kill -9
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	defer e.Close()
	got := e.ValueLogStats()
	if !got.Measured || got.Bytes == 0 {
		t.Fatalf("not measured by the check: %+v", got)
	}
	e.measureValueLog(context.Background())
	if want := e.ValueLogStats(); want.Bytes != got.Bytes || want.Reclaimable != got.Reclaimable {
		t.Fatalf("the check measured %d/%d bytes, maintenance %d/%d", got.Bytes, got.Reclaimable, want.Bytes, want.Reclaimable)
	}
}

// TestValueLogMeasureRemembered: a start takes the live value log bytes
// from the last run's measurement (VLOG-LIVE) instead of scanning every
// key for its metrics, and a measurement records them for the next.
func TestValueLogMeasureRemembered(t *testing.T) {
	dir := t.TempDir()
	fillStore(t, dir, 200)
	must(t, os.WriteFile(filepath.Join(dir, liveMark), []byte("1"), 0o600))
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	defer e.Close()
	got := e.ValueLogStats()
	if !got.Measured || got.Bytes == 0 || got.Reclaimable != got.Bytes-1 {
		t.Fatalf("not taken from the last measurement (1 live byte): %+v", got)
	}
	e.measureValueLog(context.Background())
	live, ok := readLiveMark(dir)
	if st := e.ValueLogStats(); !ok || live <= 1 || st.Reclaimable != max(st.Bytes-live, 0) {
		t.Fatalf("measured %+v, recorded %d live bytes (%v)", st, live, ok)
	}
}

// FuzzLiveMark: readLiveMark takes whatever VLOG-LIVE holds without
// failing, and only a non-negative decimal number.
func FuzzLiveMark(f *testing.F) {
	dir := f.TempDir()
	for _, s := range []string{"1", "0", "123456789", "-1", "", "x", "9999999999999999999999", " 1", "1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		must(t, os.WriteFile(filepath.Join(dir, liveMark), b, 0o600))
		n, ok := readLiveMark(dir)
		if ok && (n < 0 || strings.Trim(string(b), "+0123456789") != "") {
			t.Fatalf("%q read as %d", b, n)
		}
	})
}
