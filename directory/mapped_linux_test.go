//go:build linux

package directory

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// mappedRSS returns the resident bytes of this process's mappings of
// files in dir (the Rss lines of /proc/self/smaps).
func mappedRSS(t *testing.T, dir string) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/smaps")
	must(t, err)
	var n int64
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		switch {
		case len(f) >= 5 && bytes.IndexByte(f[0], '-') > 0 && len(f[1]) == 4: // a mapping's first line
			_, _, path, ok := parseMapsLine(sc.Bytes())
			in = ok && filepath.Dir(path) == dir
		case in && len(f) == 3 && string(f[0]) == "Rss:":
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			must(t, err)
			n += kb << 10
		}
	}
	return n
}

// TestReleaseMappedPages: after a pass over every entry has mapped the
// store's value log, ReleaseMappedPages takes most of those pages out of
// the process's RSS, and the entries read the same afterwards.
func TestReleaseMappedPages(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err == nil && fs.Type == unix.TMPFS_MAGIC {
		t.Skip("a tmpfs store's pages cannot be paged out without swap")
	}
	dir, err := filepath.EvalSymlinks(dir)
	must(t, err)
	fillStore(t, dir, 3000) // about 9 MB of value log
	e, err := Open(diskOptions(t, dir))
	must(t, err)
	defer e.Close()
	read := func() (n int, size int) {
		must(t, e.ForEachEntry(func(en *Entry) error {
			n++
			size += len(en.First("description"))
			return nil
		}))
		return n, size
	}
	n, size := read()
	before := mappedRSS(t, dir)
	if before < 8<<20 {
		t.Fatalf("a pass over %d entries left only %d KiB of the store mapped", n, before>>10)
	}
	advised, err := e.ReleaseMappedPages()
	must(t, err)
	after := mappedRSS(t, dir)
	t.Logf("mapped and resident: %d KiB before, %d KiB after; %d MiB of mappings advised", before>>10, after>>10, advised>>20)
	if advised < before || after > before/4 {
		t.Fatalf("mapped and resident: %d KiB before, %d KiB after (advised %d KiB)", before>>10, after>>10, advised>>10)
	}
	if n2, size2 := read(); n2 != n || size2 != size {
		t.Fatalf("after the release: %d entries, %d bytes of description; before: %d, %d", n2, size2, n, size)
	}
}

func TestParseMapsLine(t *testing.T) {
	for _, tc := range []struct {
		line   string
		lo, hi uintptr
		path   string
		ok     bool
	}{
		{"7f1c2a000000-7f1c2a400000 r--s 00000000 fd:01 1234 /var/lib/sb/000001.vlog", 0x7f1c2a000000, 0x7f1c2a400000, "/var/lib/sb/000001.vlog", true},
		{"7f1c2a000000-7f1c2a400000 rw-p 00000000 00:00 0 ", 0, 0, "", false},
		{"7ffd1000-7ffd2000 r-xp 00000000 00:00 0 [vdso]", 0, 0, "", false},
		{"7f1c2a000000-7f1c2a400000 r--s 00000000 fd:01 1234 /var/lib/sb/000002.sst (deleted)", 0, 0, "", false},
		{"2000-1000 r--s 00000000 fd:01 1234 /x", 0, 0, "", false},
		{"zz-1000 r--s 00000000 fd:01 1234 /x", 0, 0, "", false},
		{"", 0, 0, "", false},
	} {
		lo, hi, path, ok := parseMapsLine([]byte(tc.line))
		if ok != tc.ok || lo != tc.lo || hi != tc.hi || path != tc.path {
			t.Errorf("parseMapsLine(%q) = %#x, %#x, %q, %v; want %#x, %#x, %q, %v", tc.line, lo, hi, path, ok, tc.lo, tc.hi, tc.path, tc.ok)
		}
	}
}

func FuzzParseMapsLine(f *testing.F) {
	f.Add([]byte("7f1c2a000000-7f1c2a400000 r--s 00000000 fd:01 1234 /var/lib/sb/000001.vlog"))
	f.Add([]byte("7ffd1000-7ffd2000 r-xp 00000000 00:00 0 [vdso]"))
	f.Add([]byte("1-2 a b c d /"))
	f.Fuzz(func(t *testing.T, line []byte) {
		lo, hi, path, ok := parseMapsLine(line)
		if ok && (hi <= lo || path == "" || path[0] != '/') {
			t.Fatalf("parseMapsLine(%q) = %#x, %#x, %q, true", line, lo, hi, path)
		}
	})
}
