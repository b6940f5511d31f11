package directory

// Free-space guard.
//
// Badger writes its write-ahead log (.mem), value log (.vlog) and tables
// (.sst) through memory maps of files it first extends with ftruncate:
// the files are sparse, and the disk blocks behind a page are only
// allocated when the page is first written. On a full disk that write
// cannot be refused with an error; the kernel sends SIGBUS and the
// process dies, at the write and again at the next start, when Badger
// flushes the log it replays.
//
// So the engine refuses writes before the disk gets there. The space a
// write may still need is what the filesystem has free minus the holes of
// the mapped log files, the parts Badger has sized but not yet written
// (the headroom). A write is admitted while the headroom stays above a
// reserve (Options.DiskReserve), which leaves room for what Badger writes
// on its own afterwards: the table a memtable flush writes (at most the
// memtable, 64 MiB), a new log file's first pages, compactions. Below it,
// every write answers unwillingToPerform (53) with "the store's disk is
// full"; reads and binds go on. The headroom is measured again at least
// every second while writes arrive and every few seconds in the
// background, so writes resume by themselves once space is freed.
//
// Background writes go through the same guard: side records
// (UpdateRecords: the changelog's and op log's trims, replication state)
// are refused with an error wrapping ErrDiskFull, which their loops log
// once and retry at their next interval; an index build pauses between
// batches (logged) and resumes when the guard finds room.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// DefaultDiskReserve is the headroom below which writes are refused when
// Options.DiskReserve is 0.
const DefaultDiskReserve = 256 << 20

// diskProbe measures the filesystem holding dir: the bytes an
// unprivileged writer may still allocate, and the unwritten (sparse) bytes
// of the mapped log files that Badger will fill without asking.
type diskProbe func(dir string) (avail, holes int64, err error)

// spaceGuard admits writes while the store's disk has room for them.
type spaceGuard struct {
	dir     string
	reserve int64
	probe   diskProbe
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	probed   time.Time // last measurement
	known    bool      // a measurement has succeeded
	headroom int64     // avail - holes at the last measurement
	pending  int64     // bytes admitted since
	full     atomic.Bool
	locked   atomic.Bool // the store is read-only (readonly.go): full whatever the space
	refused  atomic.Uint64
	errs     atomic.Uint64 // probes that failed
	room     atomic.Int64  // headroom at the last measurement, for metrics
}

// Measurement intervals: while the headroom is comfortable a write
// measures again after a second; when it is not, after probeFullEvery,
// so that a client hammering a full store cannot make every request scan
// the directory.
const (
	probeEvery     = time.Second
	probeFullEvery = 100 * time.Millisecond
)

func newSpaceGuard(dir string, reserve int64, probe diskProbe, log *slog.Logger) *spaceGuard {
	if reserve == 0 {
		reserve = DefaultDiskReserve
	}
	return &spaceGuard{dir: dir, reserve: reserve, probe: probe, log: log, now: time.Now}
}

// ErrDiskFull is wrapped by the errors of background writes (side
// records, index builds) refused by the free-space guard, so that their
// callers can put the work off until space is freed instead of failing.
// Client writes get the unwillingToPerform *ldap.Error instead.
var ErrDiskFull = errors.New("directory: the store's disk is full")

// errDiskFull is the answer to a write refused for want of space.
func (g *spaceGuard) errDiskFull() error { return g.errNoRoomFor(0) }

// errNoRoomFor is errDiskFull for a write of size bytes; a large one is
// named, since it may be refused while smaller writes still fit.
func (g *spaceGuard) errNoRoomFor(size int64) error {
	write := ""
	if size >= 1<<20 {
		write = fmt.Sprintf("a write of %d MiB, ", size>>20)
	}
	return &ldap.Error{Code: ldap.UnwillingToPerform, Message: fmt.Sprintf(
		"the store's disk is full: writes are refused until space is freed (%s%d MiB left for the store, %d MiB kept in reserve)",
		write, max(g.room.Load(), 0)>>20, g.reserve>>20)}
}

// admit reports whether a write of about size bytes may be committed:
// nil, or the unwillingToPerform error. A nil guard admits everything.
func (g *spaceGuard) admit(size int64) error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.known {
		// Not measured yet, or the system cannot measure: admit, and try
		// again now and then.
		if g.now().Sub(g.probed) >= probeEvery {
			g.measureLocked()
		}
		if !g.known {
			return nil
		}
	}
	age := g.now().Sub(g.probed)
	margin := g.headroom - g.reserve - g.pending - size
	switch {
	case g.full.Load() && age >= probeFullEvery,
		!g.full.Load() && (age >= probeEvery || margin < (g.headroom-g.reserve)/2):
		g.measureLocked()
		margin = g.headroom - g.reserve - size
	}
	if margin < 0 {
		g.setFull(true)
		g.refused.Add(1)
		return g.errNoRoomFor(size)
	}
	g.pending += size
	return nil
}

// roomFor reports whether a write of size bytes would be admitted now,
// without counting it (a background job waiting for space).
func (g *spaceGuard) roomFor(size int64) bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.measureLocked()
	return !g.known || g.headroom-g.reserve-size >= 0
}

// measure takes a new measurement (the background loop, start and close).
func (g *spaceGuard) measure() {
	g.mu.Lock()
	g.measureLocked()
	g.mu.Unlock()
}

func (g *spaceGuard) measureLocked() {
	avail, holes, err := g.probe(g.dir)
	g.probed = g.now()
	g.pending = 0
	if err != nil {
		// Keep the last state: a failing statfs must neither stop writes
		// for good nor let them run blind for long.
		if g.errs.Add(1) == 1 {
			g.log.Warn("cannot measure the store's free disk space", "dir", g.dir, "err", err)
		}
		return
	}
	g.known = true
	g.headroom = avail - holes
	g.room.Store(g.headroom)
	g.setFull(g.headroom < g.reserve || g.locked.Load())
}

// setFull records the state, logging each change.
func (g *spaceGuard) setFull(full bool) {
	if g.full.Swap(full) == full {
		return
	}
	if full {
		g.log.Error("the store's disk is full: refusing writes until space is freed; reads and binds go on",
			"dir", g.dir, "headroom_mib", g.room.Load()>>20, "reserve_mib", g.reserve>>20)
	} else {
		g.log.Info("the store's disk has room again: accepting writes", "dir", g.dir, "headroom_mib", g.room.Load()>>20)
	}
}

// headroomNow measures and returns the headroom; false when it cannot be
// measured (or g is nil).
func (g *spaceGuard) headroomNow() (int64, bool) {
	if g == nil {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.measureLocked()
	return g.headroom, g.known
}

// DiskSpace is the state of the store's disk as the engine last measured it.
type DiskSpace struct {
	Guarded  bool  // false for an in-memory store or with the guard off
	Full     bool  // writes are being refused
	Headroom int64 // bytes free for the store, less the log files' unwritten parts
	Reserve  int64
	Refused  uint64 // writes refused for want of space since start
}

// DiskSpace reports the free-space guard's state.
func (e *Engine) DiskSpace() DiskSpace {
	g := e.space
	if g == nil {
		return DiskSpace{}
	}
	return DiskSpace{Guarded: true, Full: g.full.Load(), Headroom: g.room.Load(), Reserve: g.reserve, Refused: g.refused.Load()}
}

// isDiskFull reports whether err says a filesystem ran out of space.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// statStore measures dir (diskProbe): the filesystem's space available
// to unprivileged writers, and the sparse parts of the write-ahead and
// value logs (apparent size minus allocated blocks).
func statStore(dir string) (avail, holes int64, err error) {
	if avail, err = statfsAvail(dir); err != nil {
		return 0, 0, err
	}
	err = eachLogFile(dir, func(size, allocated int64, _ string) {
		holes += max(size-allocated, 0)
	})
	return avail, holes, err
}

// eachLogFile calls fn with the apparent and allocated size of every
// write-ahead (.mem) and value log (.vlog) file in dir.
func eachLogFile(dir string, fn func(size, allocated int64, ext string)) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		ext := filepath.Ext(de.Name())
		if ext != ".mem" && ext != ".vlog" {
			continue
		}
		fi, err := de.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // flushed or collected meanwhile
		}
		if err != nil {
			return err
		}
		fn(fi.Size(), allocatedBytes(fi), ext)
	}
	return nil
}

// checkStartSpace reports (an error) that the store's disk cannot take
// what Badger writes while it opens a store for writing: the tables it
// flushes from the write-ahead logs left by the last run (about their
// written size) and the first pages of a new log and value log. Without
// that room the first write faults (SIGBUS) instead of failing, so Open
// opens the store read-only instead (readonly.go).
func checkStartSpace(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil // a new store: badger.Open creates the directory
	}
	avail, err := statfsAvail(dir)
	if err != nil {
		return nil // cannot tell: let Badger try
	}
	var wal int64
	if err := eachLogFile(dir, func(_, allocated int64, ext string) {
		if ext == ".mem" {
			wal += allocated
		}
	}); err != nil {
		return nil
	}
	const slack = 4 << 20 // new log headers, the ID lease, the format check
	if need := wal + slack; avail < need {
		return fmt.Errorf("directory: the store's disk is full: %s has %d MiB free, and opening the store needs about %d MiB "+
			"(the write-ahead log left by the last run is flushed to a table at start); free space on that filesystem and start again",
			dir, avail>>20, (need+1<<20-1)>>20)
	}
	return nil
}

// walBytes returns the written bytes of the write-ahead logs in dir: about
// what flushing them takes.
func walBytes(dir string) int64 {
	var n int64
	eachLogFile(dir, func(_, allocated int64, ext string) {
		if ext == ".mem" {
			n += allocated
		}
	})
	return n
}
