//go:build linux

package directory

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// ReleaseMappedPages asks the kernel to take back the pages of the
// store's files (Badger's tables, value log and memtable logs, all
// memory-mapped) that this process has mapped, and returns how many bytes
// of mappings it advised. Call it after a pass that read or wrote the
// whole store once and will not again: a replica's first resolution
// after seeding an imported store, whose every table and value log page
// stays counted in the process's RSS (RssFile) until the kernel needs
// the memory, though nothing will read most of it again. Pages read
// later are faulted in again from the page cache or the disk.
//
// It uses MADV_PAGEOUT, not MADV_DONTNEED: the mappings are found by
// reading /proc/self/maps, and a table Badger unmaps meanwhile (a
// compaction) may leave its addresses to a new anonymous mapping of the
// Go runtime, which MADV_DONTNEED would zero; MADV_PAGEOUT never changes
// what memory holds (anonymous pages it cannot page out without swap
// stay, dirty file pages stay until written back). Clean file pages it
// reclaims leave the page cache too.
func (e *Engine) ReleaseMappedPages() (int64, error) {
	db := e.db()
	if db == nil || db.Opts().InMemory {
		return 0, nil
	}
	dirs := map[string]bool{}
	for _, d := range []string{db.Opts().Dir, db.Opts().ValueDir} {
		if d == "" {
			continue
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if real, err := filepath.EvalSymlinks(d); err == nil {
			d = real
		}
		dirs[d] = true
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("directory: release mapped pages: %w", err)
	}
	var advised int64
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		lo, hi, path, ok := parseMapsLine(sc.Bytes())
		if !ok || !dirs[filepath.Dir(path)] {
			continue
		}
		// An error is a mapping gone since the read (ENOMEM) or
		// advice the kernel does not take (EINVAL before Linux 5.4):
		// nothing to undo either way.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, lo, hi-lo, unix.MADV_PAGEOUT); errno == 0 {
			advised += int64(hi - lo)
		}
	}
	return advised, nil
}

// parseMapsLine parses one line of /proc/self/maps ("lo-hi perms offset
// dev inode path") into its address range and path; ok is false for a
// mapping without a path, a path with spaces, or a malformed line.
func parseMapsLine(line []byte) (lo, hi uintptr, path string, ok bool) {
	f := bytes.Fields(line)
	if len(f) != 6 || f[5][0] != '/' {
		return 0, 0, "", false
	}
	a, b, found := bytes.Cut(f[0], []byte{'-'})
	if !found {
		return 0, 0, "", false
	}
	l, err1 := strconv.ParseUint(string(a), 16, 64)
	h, err2 := strconv.ParseUint(string(b), 16, 64)
	if err1 != nil || err2 != nil || h <= l {
		return 0, 0, "", false
	}
	return uintptr(l), uintptr(h), string(f[5]), true
}
