package changelog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// The consumer table: every reader that holds the log back registers its
// position under KeyPositions, by kind:
//
//	p | 's' | consumer ID -> an RFC 4533 consumer (syncprov)
//	p | 'r' | replica (2) -> a replica peer (multi-supplier)
//
// The value is a Position (see its AppendBinary): flags, when last
// seen, the vector it holds (per origin, the last CSN it has), and why
// it was refused. A position holds every origin it names, and an origin
// it does not name entirely (it has seen nothing of it): trimming never
// passes it. An RFC 4533 consumer holds only the origins change feeds
// read (Changelog.FeedsOrigin); a replica holds every origin, as long as
// it consumes this replica's log and was not refused.
const (
	positionSync    = 's'
	PositionReplica = 'r'
)

func PositionKey(kind byte, id []byte) []byte {
	return append(append(bytes.Clone(KeyPositions), kind), id...)
}

func syncPositionKey(id string) []byte { return PositionKey(positionSync, []byte(id)) }

func ReplicaPositionKey(id uint16) []byte {
	return PositionKey(PositionReplica, binary.BigEndian.AppendUint16(nil, id))
}

// Acknowledge records that consumer id has everything up to state (the
// CSNs of the cookie it presented): the log is not trimmed above it.
// Positions only move forward.
func (l *Changelog) Acknowledge(ctx context.Context, id string, state map[uint16]change.CSN) error {
	return l.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		old, err := tx.Record(syncPositionKey(id))
		if err != nil {
			return err
		}
		merged := wire.Vector{}
		if old != nil {
			if p, err := DecodePosition(old); err == nil {
				merged = p.Vector
			}
		}
		for o, c := range state {
			if merged[o].Less(c) {
				merged[o] = c
			}
		}
		p := &Position{Vector: merged, Seen: l.cfg.Now(), Consumer: true}
		return tx.PutRecord(syncPositionKey(id), p.AppendBinary(nil))
	})
}

// Consumer is a known RFC 4533 consumer and its acknowledged position.
type Consumer struct {
	ID       string
	LastSeen time.Time
	State    map[uint16]change.CSN
}

// Consumers lists the known RFC 4533 consumers.
func (l *Changelog) Consumers() ([]Consumer, error) {
	var out []Consumer
	p := PositionKey(positionSync, nil)
	err := l.eng.View(func(v *directory.View) error {
		return v.Records(p, nil, false, func(k, val []byte) (bool, error) {
			pos, err := DecodePosition(val)
			if err != nil {
				return false, err
			}
			out = append(out, Consumer{ID: string(k[len(p):]), LastSeen: pos.Seen, State: pos.Vector})
			return true, nil
		})
	})
	return out, err
}

// trimBatch bounds the deletes of one transaction.
const trimBatch = 5000

// A Retention bounds the log: records older than MaxAge (zero: no age
// bound), the oldest beyond MaxTotal over all origins and beyond
// MaxPerOrigin of one origin (zero: no bound) are trimmed, but never
// above a registered consumer's position or what the Replicator needs.
type Retention struct {
	MaxAge       time.Duration // records older than this go
	MaxTotal     int           // the oldest beyond this many over all origins go
	MaxPerOrigin int           // the oldest beyond this many of one origin go
}

// Trim removes the records older than MaxAge and the oldest beyond
// MaxEntries, but none above the position of a registered consumer (or,
// with multi-supplier replication, above the Replicator's checkpoint);
// RFC 4533 consumers not seen for ConsumerExpiry are forgotten first. It
// returns how many records it removed.
func (l *Changelog) Trim(ctx context.Context) (int, error) {
	return l.TrimWith(ctx, l.cfg.Now(), Retention{MaxAge: l.cfg.MaxAge, MaxTotal: l.cfg.MaxEntries})
}

// TrimWith is Trim with the given bounds; now is the wall clock.
func (l *Changelog) TrimWith(ctx context.Context, now time.Time, ret Retention) (int, error) {
	var held []wire.Vector // positions, each holding the origins it names or lacks
	var heldFeed []wire.Vector
	var expired [][]byte
	err := l.eng.View(func(v *directory.View) error {
		return v.Records(KeyPositions, nil, false, func(k, val []byte) (bool, error) {
			if len(k) <= len(KeyPositions) {
				return true, nil
			}
			p, err := DecodePosition(val)
			if err != nil {
				return false, err
			}
			switch k[len(KeyPositions)] {
			case positionSync:
				if now.Sub(p.Seen) > l.cfg.ConsumerExpiry {
					l.log.Info("replication: forgetting a consumer not seen for long", "consumer", string(k[len(KeyPositions)+1:]), "last_seen", p.Seen)
					expired = append(expired, bytes.Clone(k))
					return true, nil
				}
				heldFeed = append(heldFeed, p.Vector)
			case PositionReplica:
				if p.Consumer && p.Refused == "" {
					held = append(held, p.Vector)
				}
			}
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	if len(expired) > 0 {
		if err := l.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
			for _, k := range expired {
				if err := tx.DeleteRecord(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	var os []uint16
	counts := map[uint16]int{}
	total := 0
	err = l.eng.View(func(v *directory.View) error {
		os = origins(v)
		return v.RecordKeys(KeyRecords, nil, false, func(k []byte, _ byte) (bool, error) {
			if len(k) >= len(KeyRecords)+2 {
				counts[binary.BigEndian.Uint16(k[len(KeyRecords):])]++
			}
			total++
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	// The size bound: the CSN of the excess-th oldest record overall.
	var sizeCut change.CSN
	if excess := total - ret.MaxTotal; ret.MaxTotal > 0 && excess > 0 {
		var oldest []change.CSN
		l.eng.View(func(v *directory.View) error {
			for _, o := range os {
				p := OriginPrefix(o)
				n := 0
				v.RecordKeys(p, nil, false, func(k []byte, _ byte) (bool, error) {
					if c, err := change.DecodeCSN(k[len(p):]); err == nil {
						oldest = append(oldest, c)
					}
					n++
					return n < excess, nil
				})
			}
			return nil
		})
		slices.SortFunc(oldest, change.CSN.Compare)
		if len(oldest) >= excess {
			sizeCut = oldest[excess-1]
		}
	}
	var ageCut change.CSN
	if ret.MaxAge > 0 {
		ageCut = change.CSN{Time: now.Add(-ret.MaxAge).UnixMicro()}
	}
	cut := ageCut
	if cut.Less(sizeCut) {
		cut = sizeCut
	}
	removed := 0
	for _, o := range os {
		excess := 0
		if ret.MaxPerOrigin > 0 {
			excess = counts[o] - ret.MaxPerOrigin
		}
		if cut.IsZero() && excess <= 0 {
			continue
		}
		// The highest CSN of o that may go: a position that has seen
		// nothing of o holds it all.
		limit := change.CSN{Time: math.MaxInt64}
		for _, p := range held {
			limit = minCSN(limit, p[o])
		}
		if l.FeedsOrigin(o) {
			for _, p := range heldFeed {
				limit = minCSN(limit, p[o])
			}
		}
		if l.bounds != nil {
			limit = minCSN(limit, l.bounds.TrimLimit(o))
		}
		if limit.IsZero() {
			continue
		}
		drop := func(c change.CSN, before int) bool {
			return !limit.Less(c) && (!cut.Less(c) || before < excess)
		}
		n, last, err := trimLog(ctx, l.eng, OriginPrefix(o), FloorKey(o), drop)
		removed += n
		if n > 0 && l.bounds != nil {
			l.bounds.RaiseFloor(o, last)
		}
		if err != nil {
			return removed, fmt.Errorf("replication: trim the log of replica %d: %w", o, err)
		}
	}
	return removed, nil
}

func minCSN(a, b change.CSN) change.CSN {
	if b.Less(a) {
		return b
	}
	return a
}

// trimLog deletes the records of a log keyed p | CSN from the oldest on,
// in transactions of at most trimBatch, while drop(csn, records deleted
// before it) holds, and writes the CSN of the last one deleted under
// floor in each transaction. It returns how many it deleted and that
// last CSN.
func trimLog(ctx context.Context, eng *directory.Engine, p, floor []byte, drop func(c change.CSN, before int) bool) (int, change.CSN, error) {
	removed := 0
	var top change.CSN
	for {
		var keys [][]byte
		var last change.CSN
		err := eng.View(func(v *directory.View) error {
			return v.RecordKeys(p, nil, false, func(k []byte, _ byte) (bool, error) {
				c, err := change.DecodeCSN(k[len(p):])
				if err != nil {
					return false, err
				}
				if len(keys) == trimBatch || !drop(c, removed+len(keys)) {
					return false, nil
				}
				keys = append(keys, bytes.Clone(k))
				last = c
				return true, nil
			})
		})
		if err != nil || len(keys) == 0 {
			return removed, top, err
		}
		err = eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
			for _, k := range keys {
				if err := tx.DeleteRecord(k); err != nil {
					return err
				}
			}
			return tx.PutRecord(floor, last.AppendBinary(nil))
		})
		if err != nil {
			return removed, top, err
		}
		removed += len(keys)
		top = last
	}
}

// RunTrimmer trims the log every interval until ctx ends.
func (l *Changelog) RunTrimmer(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	deferred := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := l.Trim(ctx)
			switch {
			case errors.Is(err, directory.ErrDiskFull):
				// A trim writes (deletes are records too) before it frees
				// anything: it waits for the guard like any write.
				if !deferred {
					l.log.Warn("replication: changelog trim put off: the store's disk is full; it runs again once space is freed",
						"records_trimmed", n)
				}
				deferred = true
			case err != nil && ctx.Err() == nil:
				l.log.Warn("replication: trimming the changelog", "err", err)
			case err == nil:
				if deferred {
					l.log.Info("replication: changelog trim runs again: the store's disk has room")
				}
				deferred = false
				if n > 0 {
					l.log.Info("replication: changelog trimmed", "records", n)
				}
			}
		}
	}
}
