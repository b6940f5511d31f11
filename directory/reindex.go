package directory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/switchboard-ldap/switchboard/directory/index"
)

// Index changes. The store records which indexes it holds (meta key
// "indexes": lines "attr kind,kind" sorted). When the configuration adds an
// index, Open starts building it in the background: writes maintain it at
// once, and the planner uses it only when the build has covered every
// entry. An index the configuration drops is deleted at Open.

type indexSpec map[string]index.Kind // lower-cased attribute name -> kinds

func (e *Engine) specOf(cfg *index.Config) indexSpec {
	s := indexSpec{}
	for _, a := range cfg.Attributes() {
		s[a.Name()] = a.Kinds
	}
	return s
}

func (s indexSpec) encode() []byte {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s %s\n", n, s[n])
	}
	return []byte(b.String())
}

func decodeSpec(b []byte) (indexSpec, error) {
	s := indexSpec{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		name, kinds, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("directory: bad index record %q", line)
		}
		k, err := index.ParseKinds(strings.Split(kinds, ","))
		if err != nil {
			return nil, err
		}
		s[name] = k
	}
	return s, nil
}

// toConfig builds an index.Config for the kinds of spec.
func (e *Engine) toConfig(s indexSpec) (*index.Config, error) {
	m := map[string][]string{}
	for name, k := range s {
		if k != 0 {
			m[name] = strings.Split(k.String(), ",")
		}
	}
	return index.NewConfig(e.schema, m)
}

// openIndexes compares the configured indexes with those the store holds,
// drops the removed ones and starts building the added ones.
func (e *Engine) openIndexes(spec map[string][]string) error {
	want := e.specOf(e.indexes)
	var have indexSpec
	err := e.db().View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyIndexes)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		have, err = decodeSpec(v)
		return err
	})
	if err != nil {
		return err
	}
	if have == nil && e.entries.Load() == 0 {
		have = want // a new store: every index is complete from the start
	}
	if have == nil {
		have = indexSpec{}
	}
	ready, added := indexSpec{}, indexSpec{}
	for name, k := range want {
		ready[name] = k & have[name]
		if extra := k &^ have[name]; extra != 0 {
			added[name] = extra
		}
	}
	if e.readOnly.Load() {
		// Nothing may be written: the complete indexes serve, and the
		// rest waits until the store is reopened for writing.
		rc, err := e.toConfig(ready)
		if err != nil {
			return err
		}
		e.readyIdx.Store(rc)
		e.cache.dropLists()
		e.setBuild(nil, closedChan())
		if len(added) > 0 {
			e.log.Warn("the store is read-only: the new indexes are built once it is reopened for writing", "indexes", strings.TrimSpace(string(added.encode())))
		}
		return nil
	}
	for name, k := range have {
		if gone := k &^ want[name]; gone != 0 {
			if err := e.dropIndex(name, gone); err != nil {
				return err
			}
			e.log.Info("dropped index", "attr", name, "kinds", gone.String())
		}
	}
	rc, err := e.toConfig(ready)
	if err != nil {
		return err
	}
	e.readyIdx.Store(rc)
	e.cache.dropLists()
	if err := e.saveSpec(ready); err != nil {
		return err
	}
	if len(added) == 0 {
		e.setBuild(nil, closedChan())
		return nil
	}
	ac, err := e.toConfig(added)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.setBuild(cancel, done)
	go func() {
		defer close(done)
		if err := e.buildIndexes(ctx, ac); err != nil {
			if !errors.Is(err, context.Canceled) {
				e.log.Error("index build failed; the new indexes stay unused", "err", err)
				e.buildMu.Lock()
				e.buildErr = err
				e.buildMu.Unlock()
			}
			return
		}
		if err := e.saveSpec(want); err != nil {
			e.log.Error("recording built indexes", "err", err)
			return
		}
		e.readyIdx.Store(e.indexes)
		e.cache.dropLists()
		// The one-ID table was emptied with the rest; fill it again,
		// new equality indexes included.
		e.warmSingles(ctx)
	}()
	return nil
}

// setBuild records the running index build (cancel is nil for none).
func (e *Engine) setBuild(cancel context.CancelFunc, done chan struct{}) {
	e.buildMu.Lock()
	e.stopBuild, e.indexBuilt, e.buildErr = cancel, done, nil
	e.buildMu.Unlock()
}

// stopIndexBuild ends the running index build, if any, and waits for it.
func (e *Engine) stopIndexBuild() {
	e.buildMu.Lock()
	stop, done := e.stopBuild, e.indexBuilt
	e.buildMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

func (e *Engine) saveSpec(s indexSpec) error {
	return e.db().Update(func(txn *badger.Txn) error { return txn.Set(keyIndexes, s.encode()) })
}

// dropIndex deletes every key of the given kinds of one attribute.
func (e *Engine) dropIndex(name string, kinds index.Kind) error {
	prefixes := map[index.Kind]byte{index.Presence: index.PrefixPresence, index.Equality: index.PrefixEquality,
		index.Substring: index.PrefixSubstring, index.Ordering: index.PrefixOrdering, index.Approx: index.PrefixApprox}
	for k, p := range prefixes {
		if kinds&k == 0 {
			continue
		}
		prefix := append([]byte{p, byte(len(name))}, name...)
		if err := e.db().DropPrefix(prefix); err != nil {
			return fmt.Errorf("directory: dropping index %s %s: %w", name, k, err)
		}
	}
	return nil
}

// IndexBuild reports the progress of a background index build: entries
// covered so far and in all (0, 0 when none is running).
func (e *Engine) IndexBuild() (done, total int64) {
	return e.buildDone.Load(), e.buildTotal.Load()
}

// IndexBuildState reports whether a background index build is running,
// and why the latest one failed (nil if it did not fail).
func (e *Engine) IndexBuildState() (running bool, err error) {
	e.buildMu.Lock()
	defer e.buildMu.Unlock()
	if e.indexBuilt != nil {
		select {
		case <-e.indexBuilt:
		default:
			running = true
		}
	}
	return running, e.buildErr
}

// WaitIndexes blocks until a background index build started at Open has
// finished (or ctx ends).
func (e *Engine) WaitIndexes(ctx context.Context) error {
	e.buildMu.Lock()
	built := e.indexBuilt
	e.buildMu.Unlock()
	select {
	case <-built:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// buildIndexes writes the keys of cfg for every entry, in batches of
// entries, each batch one transaction that also reads the entries it
// indexes, so that a concurrent write to one of them makes the batch retry
// rather than index a stale value.
func (e *Engine) buildIndexes(ctx context.Context, cfg *index.Config) error {
	const batch = 50
	e.buildTotal.Store(e.entries.Load())
	e.buildDone.Store(0)
	start, last := time.Now(), time.Now()
	e.log.Info("building indexes", "indexes", strings.TrimSpace(string(e.specOf(cfg).encode())), "entries", e.entries.Load())
	var after ID
	for {
		var ids []ID
		err := e.db().View(func(txn *badger.Txn) error {
			opt := badger.DefaultIteratorOptions
			opt.PrefetchValues = false
			opt.Prefix = []byte{prefixEntry}
			it := txn.NewIterator(opt)
			defer it.Close()
			for it.Seek(entryKey(after + 1)); it.Valid() && len(ids) < batch; it.Next() {
				ids = append(ids, readID(it.Item().Key()[1:]))
			}
			return nil
		})
		if err != nil || len(ids) == 0 {
			break
		}
		for attempt := 0; ; attempt++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			txn := e.db().NewTransaction(true)
			err = func() error {
				var size int64
				for _, id := range ids {
					en, err := e.getEntry(txn, id)
					if err != nil || en == nil {
						continue
					}
					for k := range e.indexKeys(cfg, en) {
						if err := txn.Set([]byte(k), nil); err != nil {
							return err
						}
						size += int64(len(k))
					}
				}
				if err := e.space.admit(size); err != nil {
					return ErrDiskFull
				}
				return txn.Commit()
			}()
			txn.Discard()
			if errors.Is(err, badger.ErrConflict) && attempt < 100 {
				continue
			}
			if errors.Is(err, ErrDiskFull) {
				// Put off, not failed: the batch is tried again once
				// the guard admits it.
				if err := e.waitForSpace(ctx, "index build"); err != nil {
					return err
				}
				attempt = -1
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		after = ids[len(ids)-1]
		e.buildDone.Add(int64(len(ids)))
		if time.Since(last) > 5*time.Second {
			e.log.Info("building indexes", "done", e.buildDone.Load(), "total", e.buildTotal.Load())
			last = time.Now()
		}
	}
	e.log.Info("indexes built", "entries", e.buildDone.Load(), "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// waitForSpace blocks a background job (what names it in the log) until
// the free-space guard finds room again, or ctx ends. It logs the pause
// and the resumption.
func (e *Engine) waitForSpace(ctx context.Context, what string) error {
	e.log.Warn(what+" paused: the store's disk is full; it resumes by itself once space is freed",
		"headroom_mib", max(e.space.room.Load(), 0)>>20, "reserve_mib", e.space.reserve>>20)
	t := time.NewTicker(probeFullEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if e.space.roomFor(0) {
			e.log.Info(what + " resumed: the store's disk has room again")
			return nil
		}
	}
}
