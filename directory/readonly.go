package directory

// Read-only start on a full disk.
//
// Opening a store for writing makes Badger write through memory maps: it
// flushes the write-ahead logs left by the last run to tables and starts
// a new log and value log. On a disk with no room for that (checkStartSpace)
// those writes would fault (SIGBUS). Open then opens the store read-only
// instead: Badger replays the logs into memory and writes nothing, so
// searches, compares and binds are served while every write is refused
// with the disk-full unwillingToPerform, and nothing else is written (no
// ID lease, no index build, no clean mark, no value log GC).
//
// Badger opens a write-ahead log read-only only when it holds nothing
// past its last record; the log of a run that was killed, or closed on a
// full disk, is still at its full (sparse) size. openReadOnly cuts such a
// log back to its last record, as a writable open would: truncating frees
// blocks and needs none.
//
// The background upkeep tries every few seconds whether the disk has room
// to open the store for writing again; when it has, a second, writable
// Badger instance is opened on the directory and replaces the read-only
// one for every later operation, without a restart. Reads already running
// finish on the read-only instance, which sees the same data (nothing was
// written meanwhile); it is closed with the engine, and holds the replayed
// logs in memory until then. It keeps the directory's shared lock, so
// another process still cannot open the store for writing.

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// reopenState is what reopening a read-only store for writing needs.
type reopenState struct {
	opt  Options
	bo   badger.Options
	spec map[string][]string
}

// ReadOnly reports whether the store was opened read-only for want of disk
// space and has not been reopened for writing yet.
func (e *Engine) ReadOnly() bool { return e.readOnly.Load() }

// db returns the open Badger store.
func (e *Engine) db() *badger.DB { return e.store.Load() }

// writable returns nil, or the disk-full error while the store is
// read-only.
func (e *Engine) writable() error {
	if e.loading.Load() {
		return ErrLoading
	}
	if !e.readOnly.Load() {
		return nil
	}
	if e.space != nil {
		e.space.refused.Add(1)
		return e.space.errDiskFull()
	}
	return &ldap.Error{Code: ldap.UnwillingToPerform, Message: "the store's disk is full: the store is read-only until space is freed"}
}

// truncateNeeded matches Badger's refusal to open a write-ahead log
// read-only: the log's file ID, the end of its last record and its size.
var truncateNeeded = regexp.MustCompile(`while opening fid: (\d+)\b.*end offset: (\d+) < size: (\d+)`)

// openReadOnly opens the store in dir read-only, first cutting each
// write-ahead log back to its last record when Badger asks for it.
func openReadOnly(dir string, bo badger.Options, log *slog.Logger) (*badger.DB, error) {
	bo.ReadOnly = true
	// First cut each log back to its written part: on some filesystems
	// (tmpfs) even reading a hole through a memory map allocates a page,
	// and faults on a full disk. The records end in its last written page.
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	for _, path := range mems {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		end, err := writtenEnd(path)
		if err != nil || end >= fi.Size() {
			continue
		}
		log.Info("cutting the write-ahead log back to its written part", "file", path, "bytes", end)
		if err := os.Truncate(path, end); err != nil {
			return nil, fmt.Errorf("directory: opening the store read-only: %w", err)
		}
	}
	for range 64 {
		db, err := openBadger(dir, bo)
		if err == nil {
			return db, nil
		}
		m := truncateNeeded.FindStringSubmatch(err.Error())
		if m == nil {
			return nil, err
		}
		fid, _ := strconv.Atoi(m[1])
		end, _ := strconv.ParseInt(m[2], 10, 64)
		size, _ := strconv.ParseInt(m[3], 10, 64)
		path := filepath.Join(dir, fmt.Sprintf("%05d.mem", fid))
		fi, serr := os.Stat(path)
		if serr != nil || fi.Size() != size || end >= size {
			return nil, fmt.Errorf("directory: opening the store read-only: %w", err)
		}
		log.Info("cutting the write-ahead log back to its last record", "file", path, "bytes", end)
		if err := os.Truncate(path, end); err != nil {
			return nil, fmt.Errorf("directory: opening the store read-only: %w", err)
		}
	}
	return nil, errors.New("directory: opening the store read-only: too many write-ahead logs to cut back")
}

// reopenWritable replaces a read-only store by a writable one once the
// disk has room to open it: it reports whether it did. It runs in the
// background upkeep, never beside another call of itself.
func (e *Engine) reopenWritable() bool {
	r := e.reopen
	if !e.readOnly.Load() || r == nil {
		return false
	}
	if checkStartSpace(r.opt.Dir) != nil {
		return false
	}
	bo := r.bo
	// The read-only instance holds the directory's lock, shared.
	bo.BypassLockGuard = true
	// A crash from here on must read the value log through at the next
	// start.
	takeCleanMark(r.opt.Dir)
	db, err := openBadger(r.opt.Dir, bo)
	if err != nil {
		e.log.Error("the store's disk has room again, but reopening the store for writing failed; trying again later", "err", err)
		return false
	}
	if err := privateFiles(r.opt.Dir); err != nil {
		e.log.Warn("reopening the store for writing", "err", err)
	}
	ids, err := db.GetSequence(keyIDSeq, 1000)
	if err != nil {
		db.Close()
		e.log.Error("the store's disk has room again, but reopening the store for writing failed; trying again later", "err", err)
		return false
	}
	e.ids = ids
	e.roDB = e.store.Swap(db)
	e.readOnly.Store(false)
	e.log.Info("the store's disk has room again: reopened the store for writing", "dir", r.opt.Dir)
	if err := e.markSealed(r.opt); err != nil {
		e.log.Warn("reopening the store for writing", "err", err)
	}
	if err := e.openIndexes(r.spec); err != nil {
		e.log.Error("reopening the store for writing: indexes", "err", err)
	}
	e.space.locked.Store(false)
	e.space.measure()
	return true
}
