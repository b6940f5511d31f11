package directory

// Background upkeep of the store: the free-space guard's measurements
// (diskspace.go) and the value log's garbage collection.
//
// Badger keeps values over 1 KiB (photos, certificates, large groups) in
// its value log, an append-only file set; a modify or delete leaves the old
// value there. Nothing reclaims that space unless RunValueLogGC is called:
// it picks a value log file whose share of dead values (known from the
// compactions that dropped their keys) is at least the discard ratio,
// copies its live values to the head of the log and deletes it. The engine
// calls it every Options.ValueLogGCInterval, repeatedly until Badger
// finds no file worth rewriting, and measures what is left to reclaim
// after each round.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Defaults of the upkeep.
const (
	DefaultValueLogGCInterval = 10 * time.Minute
	// valueLogDiscardRatio: a file is rewritten when at least half of it
	// is dead, so a rewrite frees at least as much as it writes.
	valueLogDiscardRatio = 0.5
	// maxGCRewrites bounds one round: each rewrite copies up to half a
	// value log file.
	maxGCRewrites = 64
	// diskProbeEvery is how often the guard measures in the background.
	diskProbeEvery = 5 * time.Second
	// valueLogFileSize is the size of one value log file (Badger's
	// default is 1 GiB). GC works file by file and never on the one being
	// written, and a file is created sparse at twice this size (the guard
	// counts that hole): 64 MiB keeps both small.
	valueLogFileSize = 64 << 20
)

// gcStats are the value log GC's counters.
type gcStats struct {
	runs        atomic.Uint64 // rounds
	rewrites    atomic.Uint64 // files rewritten and deleted
	skipped     atomic.Uint64 // rounds skipped for want of disk space
	vlogBytes   atomic.Int64  // value log bytes on disk, after the last round
	reclaimable atomic.Int64  // of which dead values, estimated
	measured    atomic.Bool
}

// ValueLogStats reports the value log and its garbage collection.
type ValueLogStats struct {
	Runs        uint64 // GC rounds since start
	Rewrites    uint64 // value log files rewritten and removed
	Skipped     uint64 // rounds skipped because the disk was nearly full
	Bytes       int64  // value log bytes on disk (as of the last round)
	Reclaimable int64  // estimated bytes of dead values in it
	Measured    bool   // Bytes and Reclaimable are known (a round ran)
}

// ValueLogStats returns the GC's counters and the last measurement.
func (e *Engine) ValueLogStats() ValueLogStats {
	g := &e.gc
	return ValueLogStats{Runs: g.runs.Load(), Rewrites: g.rewrites.Load(), Skipped: g.skipped.Load(),
		Bytes: g.vlogBytes.Load(), Reclaimable: g.reclaimable.Load(), Measured: g.measured.Load()}
}

// startMaintenance starts the background upkeep of a store on disk.
func (e *Engine) startMaintenance(opt Options) {
	if opt.InMemory {
		return
	}
	every := opt.ValueLogGCInterval
	if every == 0 {
		every = DefaultValueLogGCInterval
	}
	if opt.BulkLoad {
		every = -1 // a Loader's StreamWriter owns the store
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.stopMaint, e.maintDone = cancel, make(chan struct{})
	if !e.gc.measured.Load() { // (checkValueLog measured it already)
		// The last run's measurement of the live bytes, with the value
		// log's size as it is now: a scan of every key (~2 s of CPU at
		// 100,000 people, each start) only for metrics is left to the
		// first GC round.
		if live, ok := readLiveMark(opt.Dir); ok {
			e.recordValueLog(live)
		}
	}
	go func() {
		defer close(e.maintDone)
		if !e.gc.measured.Load() {
			e.measureValueLog(ctx) // the metrics start from the store as found
		}
		var probe, gc <-chan time.Time
		if e.space != nil {
			t := time.NewTicker(diskProbeEvery)
			defer t.Stop()
			probe = t.C
		}
		if every > 0 {
			t := time.NewTicker(every)
			defer t.Stop()
			gc = t.C
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-probe:
				if e.readOnly.Load() {
					e.reopenWritable()
				}
				e.space.measure()
			case <-gc:
				e.RunValueLogGC(ctx)
			}
		}
	}()
}

// startSpaceGuard sets up the free-space guard of a store on disk and
// takes its first measurement.
func (e *Engine) startSpaceGuard(opt Options) {
	if opt.InMemory || opt.DiskReserve < 0 {
		return
	}
	probe := opt.probe
	if probe == nil {
		probe = statStore
	}
	e.space = newSpaceGuard(opt.Dir, opt.DiskReserve, probe, e.log)
	e.space.measure()
	if e.readOnly.Load() {
		e.space.locked.Store(true)
		e.space.setFull(true)
	} else if e.space.full.Load() {
		e.log.Error("the store's disk is full at start: serving reads, refusing writes until space is freed", "dir", opt.Dir)
	}
}

// stopMaintenance ends the background upkeep.
func (e *Engine) stopMaintenance() {
	if e.stopMaint != nil {
		e.stopMaint()
		<-e.maintDone
	}
}

// RunValueLogGC runs one round of value log garbage collection: rewrites
// files at least half dead until none is left or ctx ends, then measures
// the value log. It returns the number of files rewritten. The round is
// skipped when the disk has less headroom than one value log file, which
// a rewrite may take before it frees the old one.
func (e *Engine) RunValueLogGC(ctx context.Context) int {
	if e.db().Opts().InMemory || e.readOnly.Load() {
		return 0
	}
	// A rewrite is a write: not while a bulk load owns the store.
	if e.beginWrite() != nil {
		return 0
	}
	defer e.endWrite()
	e.gc.runs.Add(1)
	n := 0
	if room, ok := e.space.headroomNow(); ok && room < valueLogFileSize {
		e.gc.skipped.Add(1)
		e.log.Warn("value log GC skipped: the store's disk is nearly full", "headroom_mib", room>>20)
	} else {
		for n < maxGCRewrites && ctx.Err() == nil {
			err := e.db().RunValueLogGC(valueLogDiscardRatio)
			if err != nil {
				if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
					e.log.Warn("value log GC failed", "err", err)
				}
				break
			}
			n++
		}
	}
	e.gc.rewrites.Add(uint64(n))
	if n > 0 {
		e.log.Info("value log GC rewrote files", "files", n)
	}
	e.measureValueLog(ctx)
	return n
}

// measureValueLog records the value log's size on disk and an estimate of
// its dead bytes: the size less the values the store still points to
// (those over the value threshold, found by a key-only scan).
// It gives up, recording nothing, when ctx ends.
func (e *Engine) measureValueLog(ctx context.Context) {
	var live int64
	threshold := e.db().Opts().ValueThreshold
	err := e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		it := txn.NewIterator(opt)
		defer it.Close()
		seen := 0
		for it.Rewind(); it.Valid(); it.Next() {
			if seen++; seen%4096 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if n := it.Item().ValueSize(); n > threshold {
				live += n
			}
		}
		return nil
	})
	if err != nil {
		return
	}
	e.recordValueLog(live)
}

// recordValueLog records the value log's size on disk and, given the
// bytes of it the store still points to, its dead bytes.
func (e *Engine) recordValueLog(live int64) {
	var vlog int64
	if err := eachLogFile(e.db().Opts().Dir, func(_, allocated int64, ext string) {
		if ext == ".vlog" {
			vlog += allocated
		}
	}); err != nil {
		return
	}
	e.gc.vlogBytes.Store(vlog)
	e.gc.reclaimable.Store(max(vlog-live, 0))
	e.gc.measured.Store(true)
	if !e.readOnly.Load() {
		// For the next start; a metric, so neither synced nor checked.
		os.WriteFile(filepath.Join(e.db().Opts().Dir, liveMark), strconv.AppendInt(nil, live, 10), 0o600)
	}
}

// liveMark names the file in the store directory that keeps the live
// value log bytes (those the store still points to) of the last
// measurement, for the metrics of the next start (startMaintenance).
const liveMark = "VLOG-LIVE"

// readLiveMark returns the live bytes the last measurement recorded.
func readLiveMark(dir string) (int64, bool) {
	b, err := os.ReadFile(filepath.Join(dir, liveMark))
	if err != nil {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil && n >= 0
}

// closeRoom reports whether the disk can take the table Badger writes
// when it closes (the memtable, about the written size of the write-ahead
// log). Without it, closing would fault; the log is left to be replayed.
func (e *Engine) closeRoom() bool {
	if e.space == nil {
		return true
	}
	avail, err := statfsAvail(e.db().Opts().Dir)
	if err != nil {
		return true
	}
	return avail >= walBytes(e.db().Opts().Dir)+4<<20
}
