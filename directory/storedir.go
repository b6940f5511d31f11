package directory

// Checks Open makes on the data directory before and after Badger opens
// it: that the store exists when the caller needs one, that the
// directory is private, that no other process holds it, and that the
// files Badger reads are intact.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// ErrNoStore is wrapped by Open's error when Options.MustExist is set and
// the directory holds no store.
var ErrNoStore = errors.New("directory: no store")

// ErrInUse is wrapped by Open's error when another process holds the store.
var ErrInUse = errors.New("directory: the store is in use")

// ErrDamaged is wrapped by Open's error when a file of the store fails its
// checksum or is cut short.
var ErrDamaged = errors.New("directory: the store is damaged")

// prepareDir readies opt.Dir for Badger. It refuses a missing store when
// opt.MustExist is set, a directory that group or others may write (one
// of them could have replaced the files), and a store another process
// holds (naming it). It makes the directory 0700 and the files in it
// 0600: entries hold password hashes.
func prepareDir(opt Options) error {
	dir := opt.Dir
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opt.MustExist:
		return fmt.Errorf("%w in %s: the directory does not exist (check --data)", ErrNoStore, dir)
	case errors.Is(err, fs.ErrNotExist):
		return os.MkdirAll(dir, 0o700)
	case err != nil:
		return fmt.Errorf("directory: %w", err)
	case !st.IsDir():
		return fmt.Errorf("directory: %s is not a directory", dir)
	}
	if opt.MustExist {
		if _, err := os.Stat(filepath.Join(dir, badger.ManifestFilename)); err != nil {
			return fmt.Errorf("%w in %s: it holds no %s (check --data)", ErrNoStore, dir, badger.ManifestFilename)
		}
	}
	if perm := st.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("directory: the data directory %s may be written by group or others (mode %04o): its files could have been replaced; check them, then make it private: chmod 700 %s", dir, perm, dir)
	}
	if err := lockHolder(dir); err != nil {
		return err
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("directory: make %s private: %w", dir, err)
		}
	}
	return privateFiles(dir)
}

// privateFiles takes the permissions of group and others off the files
// in dir. Badger creates its files 0666 less the umask; the server sets
// the umask to 077 (cmd/switchboard), and this covers a library user and
// the files an earlier version left.
func privateFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	for _, en := range ents {
		info, err := en.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(filepath.Join(dir, en.Name()), info.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("directory: make %s private: %w", filepath.Join(dir, en.Name()), err)
		}
	}
	return nil
}

// lockHolder returns an error naming the process that holds the store in
// dir, if one does. Badger writes the holder's pid into its LOCK file.
func lockHolder(dir string) error {
	l, err := lockDir(dir)
	if err == nil {
		l.Close()
		return nil
	}
	return inUseError(dir)
}

// inUseError says which process holds the store in dir and how to stop it.
func inUseError(dir string) error {
	b, _ := os.ReadFile(filepath.Join(dir, "LOCK"))
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("%w: %s is held by another process (a running server or an offline command); stop it first", ErrInUse, dir)
	}
	return fmt.Errorf("%w: %s is held by process %d (a running switchboard?); stop it first (kill %d, or stop its service), or give another --data", ErrInUse, dir, pid, pid)
}

// storeFileRE finds the name of a Badger file in an error message.
var storeFileRE = regexp.MustCompile(`[0-9]+\.(sst|vlog|mem)\b|MANIFEST|KEYREGISTRY|DISCARD`)

// damagedError describes a store Badger could not open or read because a
// file is damaged, naming the file and the ways to recover.
func damagedError(dir, what string, err error) error {
	file := storeFileRE.FindString(err.Error())
	switch {
	case file != "":
		file = filepath.Join(dir, file)
	case strings.HasPrefix(err.Error(), "value log"):
		file = filepath.Join(dir, "*.vlog")
	default:
		file = "a file in " + dir
	}
	return fmt.Errorf("%w: %s %s: %v. A damaged store is not served; 'switchboard verify --data %s' repeats this check. "+
		"Restore the last good export into a new directory ('switchboard import --data NEWDIR FILE.ldif') and serve that, or restore a backup of %s",
		ErrDamaged, file, what, err, dir, dir)
}

// isDamage reports whether a badger.Open error comes from a damaged file
// rather than from the options or the environment.
func isDamage(err error) bool {
	s := err.Error()
	for _, m := range []string{"checksum", "Checksum", "failed to read index", "failed to initialize table", "corrupt", "Corrupt", "invalid wire-format", "Invalid value pointer", "truncat"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// openBadger is badger.Open that turns a panic (Badger asserts on some
// damaged files) and a checksum failure into a damagedError, and a lost
// race for the directory lock into inUseError.
func openBadger(dir string, bo badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, damagedError(dir, "could not be opened", fmt.Errorf("%v", r))
		}
	}()
	db, err = badger.Open(bo)
	switch {
	case err == nil:
		return db, nil
	case strings.Contains(err.Error(), "Cannot acquire directory lock"):
		return nil, inUseError(dir)
	case dir != "" && isDamage(err):
		return nil, damagedError(dir, "failed its check", err)
	}
	return nil, err
}

// checkValueLog reads every value the store keeps in its value log (the
// values of ValueThreshold bytes or more), so that a value log cut short
// (a truncated copy, a damaged disk) stops the start instead of serving
// part of the data: Badger cuts the last value log file back to its last
// whole record and opens the others as they are. It reads only what the
// value log holds that is live, once. As it goes it measures what
// measureValueLog would (the live bytes), sparing the first maintenance
// pass a second scan of every key.
func (e *Engine) checkValueLog(dir string) error {
	threshold := e.db().Opts().ValueThreshold
	var live int64
	err := e.db().View(func(txn *badger.Txn) error {
		opt := badger.DefaultIteratorOptions
		opt.PrefetchValues = false
		it := txn.NewIterator(opt)
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			// ValueSize is the value's length give or take its record
			// header. Badger answers a pointer past the end of its file
			// with an empty value and no error.
			size := item.ValueSize()
			if size > threshold {
				live += size
			}
			if size < threshold-16 {
				continue
			}
			var n int
			err := item.Value(func(v []byte) error { n = len(v); return nil })
			if err == nil && int64(n) < size-32 {
				err = fmt.Errorf("a value of about %d bytes reads as %d bytes", size, n)
			}
			if err != nil {
				return damagedError(dir, "is cut short or damaged (a record refers to a value the value log does not hold whole)",
					fmt.Errorf("value log: %w", err))
			}
		}
		return nil
	})
	if err == nil {
		e.recordValueLog(live)
	}
	return err
}

// storeSizes returns the bytes of the store's tables (the LSM tree) and
// of its value log files, measured on disk: Badger's own Size counts
// only with its metrics on, which cost every read.
func (e *Engine) storeSizes() (lsm, vlog int64) {
	for _, t := range e.db().Tables() {
		lsm += int64(t.OnDiskSize)
	}
	dir := e.db().Opts().ValueDir
	if dir == "" || e.db().Opts().InMemory {
		return lsm, 0
	}
	ents, _ := os.ReadDir(dir)
	for _, en := range ents {
		if strings.HasSuffix(en.Name(), ".vlog") {
			if info, err := en.Info(); err == nil {
				// Blocks, not the length: Badger sizes the file it
				// appends to far beyond what it has written.
				vlog += diskUsage(info)
			}
		}
	}
	return lsm, vlog
}

// CheckNotInUse returns an error (wrapping ErrInUse) naming the process
// that holds the store in dir, if one does; nil when none does or dir is
// missing.
func CheckNotInUse(dir string) error {
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	return lockHolder(dir)
}

// cleanMark names the file Close leaves in the store directory: the
// value log files' names and sizes as the close left them. Open takes it
// away (so a crash leaves none) and skips checkValueLog when it is there
// and the files match it.
const cleanMark = "CLEAN-CLOSE"

// vlogSizes lists the value log files of dir as "name size" lines.
func vlogSizes(dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, en := range ents {
		if !strings.HasSuffix(en.Name(), ".vlog") {
			continue
		}
		info, err := en.Info()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "%s %d\n", en.Name(), info.Size())
	}
	return b.String(), nil
}

// putCleanMark records, after a clean close, the value log as it is.
func putCleanMark(dir string) error {
	sizes, err := vlogSizes(dir)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, cleanMark), []byte(sizes), 0o600)
}

// takeCleanMark removes the mark and reports whether it was there and
// the value log files are as it recorded them.
func takeCleanMark(dir string) bool {
	clean := cleanMarkMatches(dir)
	if err := os.Remove(filepath.Join(dir, cleanMark)); err != nil {
		return false
	}
	return clean
}

// cleanMarkMatches reports whether the mark is there and the value log
// files are as it recorded them, leaving it in place.
func cleanMarkMatches(dir string) bool {
	mark, err := os.ReadFile(filepath.Join(dir, cleanMark))
	if err != nil {
		return false
	}
	sizes, err := vlogSizes(dir)
	return err == nil && sizes == string(mark)
}

// runMark names the file Open leaves in the store directory while the
// store is open for writing (runIdentity: the boot, the device and inode
// of the directory and of its value log files), and Close takes away. A
// start that finds it (the last run ended without closing the store)
// skips checkValueLog when the boot is the same and none of the files it
// lists was replaced: a process that died (kill -9, a panic, the OOM
// killer) left every byte it wrote in the kernel's page cache, so no
// value can be cut short; only a crash of the machine, or a copy, can
// do that. At 100,000 people the read costs ~3 s of CPU, at 1,000,000
// tens of seconds, at each restart after a kill.
const runMark = "RUN-MARK"

// putRunMark records the run's identity. It need not be durable: a mark
// lost with the machine names another boot anyway.
func putRunMark(dir string) error {
	id, ok := runIdentity(dir)
	if !ok {
		return nil
	}
	return os.WriteFile(filepath.Join(dir, runMark), []byte(id), 0o600)
}

// runMarkHolds reports whether the run mark is there, from this boot,
// with the directory as it recorded it and each value log file it lists
// either gone (value log GC removes files) or the same file.
func runMarkHolds(dir string) bool {
	mark, err := os.ReadFile(filepath.Join(dir, runMark))
	if err != nil {
		return false
	}
	now, ok := runIdentity(dir)
	if !ok {
		return false
	}
	have := map[string]string{}
	for _, line := range strings.Split(now, "\n") {
		if name, rest, ok := strings.Cut(line, " "); ok {
			have[name] = rest
		}
	}
	lines := strings.Split(strings.TrimSuffix(string(mark), "\n"), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "boot ") || !strings.HasPrefix(lines[1], ". ") {
		return false
	}
	for i, line := range lines {
		name, rest, ok := strings.Cut(line, " ")
		if !ok {
			return false
		}
		got, present := have[name]
		switch {
		case i < 2 && got != rest: // the boot, the directory
			return false
		case i >= 2 && present && got != rest:
			return false
		}
	}
	return true
}

// writeSynced writes the file name in dir and makes it durable, the
// directory entry included.
func writeSynced(dir, name string, data []byte) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(dir)
}

// removeSynced removes the file name from dir, durably.
func removeSynced(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
