package audit

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
)

// Log is an append-only, hash-chained audit file with size-based
// rotation. It is safe for concurrent use: records are formatted by their
// callers in parallel and appended one at a time, so they never
// interleave, and with Sync the fsyncs of concurrent appends are grouped.
type Log struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex // guards everything below, and the file's contents
	f       *os.File
	size    int64
	head    Digest
	written uint64 // records appended since Open (all files)
	buf     []byte
	closed  bool

	syncMu sync.Mutex    // one fsync at a time; waiters ride on the next one
	synced atomic.Uint64 // records known to be on disk
}

// OpenLog opens (or creates) cfg.File for appending. An existing file is
// read to find the chain value to continue from; a record left unfinished
// by a crash is cut off and the cut is itself recorded in the chain.
func OpenLog(cfg Config) (*Log, error) {
	cfg = cfg.withDefaults()
	if cfg.File == "" {
		return nil, errors.New("audit: no file configured")
	}
	l := &Log{cfg: cfg, log: cfg.Logger}
	data, err := os.ReadFile(cfg.File)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("audit: %w", err)
	}
	f, err := os.OpenFile(cfg.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l.f = f
	if len(data) == 0 {
		// A new file, or one a crash left empty right after a rotation:
		// continue the chain of the newest rotated file, if any.
		prev := Genesis
		if old, err := os.ReadFile(cfg.File + ".1"); err == nil {
			if seg, _ := parseFile(cfg.File+".1", old); seg.End > 0 {
				prev = seg.Head
			}
		}
		if err := l.start(prev); err != nil {
			f.Close()
			return nil, err
		}
		return l, nil
	}
	seg, verr := parseFile(cfg.File, data)
	switch {
	case verr == nil:
	case verr.Truncated:
		// Cut the unfinished record off, then say so in the chain, with the
		// digest of what was cut, so the loss is visible and attributable.
		cut := data[seg.End:]
		if err := f.Truncate(int64(seg.End)); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: dropping an unfinished record: %w", err)
		}
		l.log.Warn("audit: dropped an unfinished record left by a crash", "file", cfg.File, "line", verr.Line, "bytes", len(cut))
		defer l.appendNote(fmt.Sprintf("recovery: dropped %d bytes of an unfinished record at line %d, sha256 %x", len(cut), verr.Line, sha256.Sum256(cut)))
	case seg.End == 0:
		f.Close()
		return nil, fmt.Errorf("audit: %s is not a switchboard audit log: %v", cfg.File, verr)
	default:
		// Keep going: the break stays in the file for `switchboard audit
		// verify` to report; new records chain from the last good one.
		l.log.Error("audit: the existing log fails verification", "err", verr)
		seg.End = len(data)
	}
	l.size, l.head = int64(seg.End), seg.Head
	return l, nil
}

// start writes a header chaining from prev to the (empty) current file.
func (l *Log) start(prev Digest) error {
	h := header(prev)
	if _, err := l.f.Write(h); err != nil {
		return fmt.Errorf("audit: writing header: %w", err)
	}
	l.size, l.head = int64(len(h)), prev
	return nil
}

// appendNote appends a comment-only record written by the log itself.
func (l *Log) appendNote(note string) {
	ev := []byte("# op: note\n")
	ev = appendComment(ev, "note", note)
	if err := l.Append(ev); err != nil {
		l.log.Error("audit: writing a note", "err", err)
	}
}

// Append chains body (one record's lines, each ending in "\n", no blank
// line) and appends it, rotating first if the file would outgrow
// MaxBytes. With Sync it returns once the record is on disk.
func (l *Log) Append(body []byte) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return errors.New("audit: log is closed")
	}
	d := next(l.head, body)
	l.buf = frame(l.buf[:0], body, d)
	if l.cfg.MaxBytes > 0 && l.size+int64(len(l.buf)) > l.cfg.MaxBytes && l.size > int64(headerLen) {
		if err := l.rotate(); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	n, err := l.f.Write(l.buf)
	if err != nil {
		// Take back a partial write so that the next record does not
		// follow garbage; the chain head stays where it was.
		if n > 0 {
			l.f.Truncate(l.size)
		}
		l.mu.Unlock()
		return fmt.Errorf("audit: %w", err)
	}
	l.size += int64(n)
	l.head = d
	l.written++
	seq := l.written
	l.mu.Unlock()
	if !l.cfg.Sync {
		return nil
	}
	return l.syncTo(seq)
}

// syncTo returns once record seq is on disk. Group commit: one caller
// fsyncs everything written so far while the others wait on syncMu; when
// they get it, their record is usually covered already.
func (l *Log) syncTo(seq uint64) error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced.Load() >= seq {
		return nil
	}
	l.mu.Lock()
	f, upTo := l.f, l.written
	l.mu.Unlock()
	if err := f.Sync(); err != nil {
		if l.synced.Load() >= seq { // a rotation synced and closed the file
			return nil
		}
		return fmt.Errorf("audit: fsync: %w", err)
	}
	l.markSynced(upTo)
	return nil
}

func (l *Log) markSynced(n uint64) {
	for {
		cur := l.synced.Load()
		if cur >= n || l.synced.CompareAndSwap(cur, n) {
			return
		}
	}
}

// rotate moves FILE.i to FILE.i+1 (dropping FILE.Keep), FILE to FILE.1,
// and starts a new FILE whose header carries the chain head. Called with
// mu held.
func (l *Log) rotate() error {
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit: fsync before rotation: %w", err)
	}
	l.markSynced(l.written)
	l.f.Close()
	name := l.cfg.File
	os.Remove(name + "." + strconv.Itoa(l.cfg.Keep))
	for i := l.cfg.Keep - 1; i >= 1; i-- {
		if err := os.Rename(name+"."+strconv.Itoa(i), name+"."+strconv.Itoa(i+1)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return l.reopen(fmt.Errorf("audit: rotation: %w", err))
		}
	}
	if err := os.Rename(name, name+".1"); err != nil {
		return l.reopen(fmt.Errorf("audit: rotation: %w", err))
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return l.reopen(fmt.Errorf("audit: rotation: %w", err))
	}
	l.f = f
	if err := l.start(l.head); err != nil {
		return err
	}
	l.log.Info("audit: rotated", "file", name, "chain", l.head.String())
	return nil
}

// reopen reopens the current file after a failed rotation, so that the
// log keeps working (over its size limit), and returns err.
func (l *Log) reopen(err error) error {
	f, oerr := os.OpenFile(l.cfg.File, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if oerr != nil {
		return errors.Join(err, oerr)
	}
	l.f = f
	if st, serr := f.Stat(); serr == nil && st.Size() == 0 {
		if herr := l.start(l.head); herr != nil {
			return errors.Join(err, herr)
		}
	}
	return err
}

// Head returns the chain value of the last record appended: keep it
// somewhere else (the server logs it when it rotates and when it closes)
// to detect a log cut back to an earlier record.
func (l *Log) Head() Digest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.head
}

// Close syncs and closes the file.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	err := l.f.Sync()
	if err == nil {
		l.markSynced(l.written)
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.log.Info("audit: closed", "file", l.cfg.File, "chain", l.head.String())
	return err
}
