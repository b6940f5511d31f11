package changelog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// Config configures a Changelog.
type Config struct {
	// Replica is this server's replica ID (1-4095): the server ID of its
	// CSNs.
	Replica uint16
	// MaxAge and MaxEntries bound the log (defaults 7 days and 1,000,000
	// records); records are trimmed beyond them, but never above the
	// position of a known consumer.
	MaxAge     time.Duration
	MaxEntries int
	// ConsumerExpiry forgets a consumer not seen for this long (default
	// 30 days), so that a consumer gone for good stops holding the log.
	ConsumerExpiry time.Duration
	// MaxSkew bounds how far ahead of this replica's clock a peer's CSN
	// may be (see ClockConfig.MaxSkew); zero means 5 minutes.
	MaxSkew time.Duration
	Logger  *slog.Logger
	// Now is the wall clock; nil means time.Now.
	Now func() time.Time
}

// A Changelog records every write of an engine, in the write's own
// transaction, keyed by origin replica and CSN; it is also the engine's
// Stamper (it issues the CSNs from its Clock) and sequences the engine's
// post-commit stream (directory.Engine.Changes): it publishes every
// commit there once every write stamped before it has settled. Create it
// with New, pass it to directory.Open as a hook and as the Stamper, then
// call Open with the engine.
type Changelog struct {
	cfg   Config
	log   *slog.Logger
	eng   *directory.Engine
	clock *merge.Clock

	mu       sync.Mutex
	inflight map[change.CSN]struct{} // stamped, not settled
	// done holds the commits above an in-flight CSN, in CSN order: they
	// go to the engine's stream once every smaller CSN has settled.
	done    []directory.CommittedChange
	safe    change.CSN            // every local CSN <= safe has settled
	maxSeen map[uint16]change.CSN // the largest CSN in the log per origin

	// bounds is the multi-supplier Replicator that shares the log, set
	// with Share before Open; nil for a single supplier.
	bounds Bounds
}

// Bounds is what the log needs from a multi-supplier Replicator that
// shares it: how far trimming may go, and word of what it removed.
type Bounds interface {
	// TrimLimit is the highest CSN of origin o the log may be trimmed
	// to.
	TrimLimit(o uint16) change.CSN
	// RaiseFloor is called after a trim removed origin o's records up
	// to c.
	RaiseFloor(o uint16, c change.CSN)
}

// Share makes the log a multi-supplier replica's: b bounds trimming, and
// change feeds read only the local origin (see FeedsOrigin). Call it
// before Open.
func (l *Changelog) Share(b Bounds) { l.bounds = b }

// New returns a Changelog for cfg; it stamps nothing until Open.
func New(cfg Config) (*Changelog, error) {
	if cfg.Replica == 0 || cfg.Replica > change.MaxReplica {
		return nil, fmt.Errorf("replication: replica ID %d is not in 1..%d", cfg.Replica, change.MaxReplica)
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 7 * 24 * time.Hour
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 1_000_000
	}
	if cfg.ConsumerExpiry <= 0 {
		cfg.ConsumerExpiry = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Changelog{cfg: cfg, log: cfg.Logger, inflight: map[change.CSN]struct{}{}, maxSeen: map[uint16]change.CSN{}}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	return l, nil
}

// Open attaches the log to its engine: it finds the largest CSN of every
// origin, starts the clock above them, and, the first time a single
// supplier's log is used on a store that already holds entries, records
// that the log covers only what comes after now (the floor of the local
// origin). A multi-supplier replica records such entries as changes of
// its own instead (Replicator.Open).
func (l *Changelog) Open(eng *directory.Engine) error {
	var start change.CSN
	empty := true
	err := eng.View(func(v *directory.View) error {
		for _, o := range origins(v) {
			empty = false
			if !l.FeedsOrigin(o) {
				continue
			}
			m, err := lastCSN(v, o)
			if err != nil {
				return err
			}
			l.maxSeen[o] = m
			if start.Less(m) {
				start = m
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication: open changelog: %w", err)
	}
	clock, err := merge.NewClock(merge.ClockConfig{Replica: l.cfg.Replica, MaxSkew: l.cfg.MaxSkew, Now: l.cfg.Now, Start: start})
	if err != nil {
		return err
	}
	l.eng, l.clock = eng, clock
	l.safe = start
	if empty && l.bounds == nil && eng.EntryCount() > 0 {
		// A store that had entries before its log: nothing before now is
		// covered. An empty store: everything is.
		floor := clock.Next()
		err := eng.UpdateRecords(context.Background(), func(tx *directory.Tx) error {
			return tx.PutRecord(FloorKey(l.cfg.Replica), floor.AppendBinary(nil))
		})
		if err != nil {
			return fmt.Errorf("replication: open changelog: %w", err)
		}
		l.maxSeen[l.cfg.Replica] = floor
	}
	return nil
}

// FeedsOrigin reports whether change feeds read origin o's records: every
// origin of a single supplier's log (records of an earlier replica ID
// included), only the local one with multi-supplier replication, whose
// peers' changes reach the store, and the feeds, as local writes of the
// entries they resolve to.
func (l *Changelog) FeedsOrigin(o uint16) bool { return l.bounds == nil || o == l.cfg.Replica }

// Replica returns the local replica ID.
func (l *Changelog) Replica() uint16 { return l.cfg.Replica }

// Clock returns the replica's clock (nil before Open).
func (l *Changelog) Clock() *merge.Clock { return l.clock }

// origins lists the origins that have records or a floor, ascending.
func origins(v *directory.View) []uint16 {
	seen := map[uint16]bool{}
	for _, p := range [][]byte{KeyRecords, KeyFloors} {
		next := []byte(nil)
		for {
			var o uint16
			found := false
			v.RecordKeys(p, next, false, func(k []byte, _ byte) (bool, error) {
				if len(k) >= len(p)+2 {
					o, found = binary.BigEndian.Uint16(k[len(p):]), true
				}
				return false, nil
			})
			if !found {
				break
			}
			seen[o] = true
			if o == 0xffff {
				break
			}
			next = binary.BigEndian.AppendUint16(bytes.Clone(p), o+1)
		}
	}
	out := make([]uint16, 0, len(seen))
	for o := range seen {
		out = append(out, o)
	}
	slices.Sort(out)
	return out
}

// lastCSN returns the largest CSN of origin in the log or its floor.
func lastCSN(v *directory.View, origin uint16) (change.CSN, error) {
	var last change.CSN
	err := v.RecordKeys(OriginPrefix(origin), nil, true, func(k []byte, _ byte) (bool, error) {
		c, err := change.DecodeCSN(k[len(KeyRecords)+2:])
		last = c
		return false, err
	})
	if err != nil {
		return change.CSN{}, err
	}
	f, err := floorOf(v, origin)
	if err != nil {
		return change.CSN{}, err
	}
	if last.Less(f) {
		last = f
	}
	return last, nil
}

// floorOf returns the CSN at and below which origin's log holds nothing
// (zero: the log holds the origin's whole history).
func floorOf(v *directory.View, origin uint16) (change.CSN, error) {
	b, err := v.Record(FloorKey(origin))
	if err != nil || b == nil {
		return change.CSN{}, err
	}
	return change.DecodeCSN(b)
}

// Stamp implements directory.Stamper.
func (l *Changelog) Stamp() change.CSN {
	if l.clock == nil {
		return change.CSN{}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Issue under the lock so that the in-flight set never misses a CSN
	// smaller than one already settled.
	c := l.clock.Next()
	l.inflight[c] = struct{}{}
	return c
}

// Settle implements directory.Stamper: it retires csn and, for a commit,
// advances the safe CSN and publishes the change on the engine's stream.
//
// The stream gets the commits in CSN order, each once every smaller CSN
// has settled: a commit waits for the writes stamped before it. Two
// writes that touch the same entry commit in CSN order (the later one
// read what the earlier one wrote, so its transaction, and its stamp,
// began after that commit: Badger refuses it otherwise), so CSN order is
// commit order wherever order matters, while the order in which writers
// return from their commits (which is what Settle is called in) is not.
func (l *Changelog) Settle(c change.CSN, ch *directory.Change) {
	if c.IsZero() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.inflight, c)
	if ch != nil {
		i, _ := slices.BinarySearchFunc(l.done, c, func(e directory.CommittedChange, c change.CSN) int { return e.CSN.Compare(c) })
		l.done = slices.Insert(l.done, i, directory.CommittedChange{Change: ch, CSN: c})
		if m := l.maxSeen[c.Replica]; m.Less(c) {
			l.maxSeen[c.Replica] = c
		}
	}
	// Everything committed below the smallest in-flight CSN is safe, and
	// goes out in order.
	var low change.CSN
	haveLow := false
	for f := range l.inflight {
		if !haveLow || f.Less(low) {
			low, haveLow = f, true
		}
	}
	n := 0
	for n < len(l.done) && (!haveLow || l.done[n].CSN.Less(low)) {
		n++
	}
	if n == 0 {
		return
	}
	ready := l.done[:n]
	if s := ready[n-1].CSN; l.safe.Less(s) {
		l.safe = s
	}
	// Handed to the engine's stream under l.mu, so that the stream
	// gets them in CSN order whatever order writers settle in.
	for _, ev := range ready {
		ev.Safe = l.safe
		l.eng.Changes().Publish(ev)
	}
	l.done = slices.Delete(l.done, 0, n)
}

// Committed returns a bound on the local CSNs whose writes have all
// ended: every local change with a CSN below it (sub-operations and the
// CSNs a write's hooks drew from the clock included) was committed or
// abandoned, so a reader whose snapshot starts after this call sees all
// of them. It is the smallest CSN still in flight, or, when none is, one
// above every CSN issued so far.
func (l *Changelog) Committed() change.CSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	var low change.CSN
	haveLow := false
	for f := range l.inflight {
		if !haveLow || f.Less(low) {
			low, haveLow = f, true
		}
	}
	if haveLow {
		return low
	}
	// Above every sub-operation of the last CSN.
	last := l.clock.Last()
	if last.Counter < change.MaxCounter {
		last.Counter++
	} else {
		last = change.CSN{Time: last.Time + 1, Replica: last.Replica}
	}
	return last
}

// Safe returns the CSN up to which every local write has committed: a
// reader whose snapshot starts after this call sees every change at or
// below it. It is the local value of contextCSN.
func (l *Changelog) Safe() change.CSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.safe
}

// State returns the cookie state a consumer reaches with a snapshot
// taken after this call: per origin, the safe CSN for the local replica
// and the largest logged CSN for the others.
func (l *Changelog) State() map[uint16]change.CSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[uint16]change.CSN, len(l.maxSeen)+1)
	for o, c := range l.maxSeen {
		out[o] = c
	}
	if !l.safe.IsZero() {
		out[l.cfg.Replica] = l.safe
	} else {
		delete(out, l.cfg.Replica)
	}
	return out
}

// Name implements directory.WriteHook.
func (l *Changelog) Name() string { return "changelog" }

// OnChange implements directory.WriteHook: it writes the change's record
// in the change's transaction. With multi-supplier replication the
// Replicator, an earlier hook, has already written the change's
// replicated op under the same key: the record then gains what change
// feeds need.
func (l *Changelog) OnChange(_ context.Context, tx *directory.Tx, ch *directory.Change) error {
	if ch.CSN.IsZero() {
		return nil // no stamper: nothing to key the record by
	}
	key := RecordKey(ch.CSN)
	rec := &LogRecord{Op: merge.Op{CSN: ch.CSN}}
	old, err := tx.Record(key)
	if err != nil {
		return fmt.Errorf("changelog: %w", err)
	}
	if old != nil {
		if rec, err = DecodeRecord(old, tx.Sealer()); err != nil {
			return fmt.Errorf("changelog: %w", err)
		}
	}
	if err := describe(rec, ch, tx); err != nil {
		return fmt.Errorf("changelog: %w", err)
	}
	return PutRecord(tx, key, rec.AppendBinary(nil, tx.Sealer()))
}

// Coverage is what the log can replay: for every origin it has seen, the
// CSN after which it holds every change of that origin. A zero CSN means
// the whole history.
type Coverage map[uint16]change.CSN

// Coverage reads the coverage in v's snapshot: the floor of every origin
// change feeds read.
func (l *Changelog) Coverage(v *directory.View) (Coverage, error) {
	cov := Coverage{}
	for _, o := range append(origins(v), l.cfg.Replica) {
		if !l.FeedsOrigin(o) {
			continue
		}
		f, err := floorOf(v, o)
		if err != nil {
			return nil, err
		}
		cov[o] = f
	}
	return cov, nil
}

// Covers reports whether the log can bring a consumer at state (its
// cookie's CSNs per origin) up to date: for every origin, the consumer
// has seen at least up to the floor. An origin missing from state counts
// as "seen nothing", covered only if the log holds its whole history.
func (c Coverage) Covers(state map[uint16]change.CSN) bool {
	for o, floor := range c {
		if s := state[o]; s.Less(floor) {
			return false
		}
	}
	return true
}

// Since calls fn for every change the store saw after state (per origin,
// the records above state[o] that carry feed information), origin by
// origin in CSN order, from v's snapshot.
func (l *Changelog) Since(v *directory.View, state map[uint16]change.CSN, fn func(*Record) error) error {
	for _, o := range origins(v) {
		if !l.FeedsOrigin(o) {
			continue
		}
		p := OriginPrefix(o)
		start := state[o].AppendBinary(bytes.Clone(p))
		err := v.RecordsSkip(p, start, false, Unfed, func(k, val []byte) (bool, error) {
			c, err := change.DecodeCSN(k[len(p):])
			if err != nil {
				return false, err
			}
			if !state[o].Less(c) || RecordFlags(val)&FlagFeed == 0 {
				return true, nil // the cookie's own CSN, or a peer's op
			}
			rec, err := DecodeRecord(val, l.eng.Sealer())
			if err != nil {
				return false, err
			}
			return true, fn(feedRecord(rec))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
