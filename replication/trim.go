package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// A consumer's position, the value of its side record:
//
//	lastSeen (8 bytes, Unix microseconds) | n × (origin (2) | CSN (16))
func encodePosition(seen time.Time, state map[uint16]change.CSN) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(seen.UnixMicro()))
	os := make([]uint16, 0, len(state))
	for o := range state {
		os = append(os, o)
	}
	slices.Sort(os)
	for _, o := range os {
		b = binary.BigEndian.AppendUint16(b, o)
		b = state[o].AppendBinary(b)
	}
	return b
}

func decodePosition(b []byte) (time.Time, map[uint16]change.CSN, error) {
	if len(b) < 8 || (len(b)-8)%(2+change.CSNSize) != 0 {
		return time.Time{}, nil, errors.New("replication: malformed consumer position")
	}
	seen := time.UnixMicro(int64(binary.BigEndian.Uint64(b)))
	state := map[uint16]change.CSN{}
	for p := b[8:]; len(p) > 0; p = p[2+change.CSNSize:] {
		c, err := change.DecodeCSN(p[2:])
		if err != nil {
			return time.Time{}, nil, err
		}
		state[binary.BigEndian.Uint16(p)] = c
	}
	return seen, state, nil
}

func consumerKey(id string) []byte { return append(bytes.Clone(keyConsumer), id...) }

// Acknowledge records that consumer id has everything up to state (the
// CSNs of the cookie it presented): the log is not trimmed above it.
// Positions only move forward.
func (l *Changelog) Acknowledge(ctx context.Context, id string, state map[uint16]change.CSN) error {
	return l.eng.UpdateRecords(ctx, func(tx *directory.Tx) error {
		old, err := tx.Record(consumerKey(id))
		if err != nil {
			return err
		}
		merged := map[uint16]change.CSN{}
		if old != nil {
			if _, prev, err := decodePosition(old); err == nil {
				merged = prev
			}
		}
		for o, c := range state {
			if merged[o].Less(c) {
				merged[o] = c
			}
		}
		return tx.PutRecord(consumerKey(id), encodePosition(l.cfg.Now(), merged))
	})
}

// Consumer is a known consumer and its acknowledged position.
type Consumer struct {
	ID       string
	LastSeen time.Time
	State    map[uint16]change.CSN
}

// Consumers lists the known consumers.
func (l *Changelog) Consumers() ([]Consumer, error) {
	var out []Consumer
	err := l.eng.View(func(v *directory.View) error {
		return v.Records(keyConsumer, nil, false, func(k, val []byte) (bool, error) {
			seen, st, err := decodePosition(val)
			if err != nil {
				return false, err
			}
			out = append(out, Consumer{ID: string(k[len(keyConsumer):]), LastSeen: seen, State: st})
			return true, nil
		})
	})
	return out, err
}

// trimBatch bounds the deletes of one transaction.
const trimBatch = 5000

// Trim removes the records older than MaxAge and the oldest beyond
// MaxEntries, but none above the position of a known consumer; consumers
// not seen for ConsumerExpiry are forgotten first. It returns how many
// records it removed.
func (l *Changelog) Trim(ctx context.Context) (int, error) {
	now := l.cfg.Now()
	consumers, err := l.Consumers()
	if err != nil {
		return 0, err
	}
	live := consumers[:0]
	for _, c := range consumers {
		if now.Sub(c.LastSeen) > l.cfg.ConsumerExpiry {
			l.log.Info("replication: forgetting a consumer not seen for long", "consumer", c.ID, "last_seen", c.LastSeen)
			id := c.ID
			if err := l.eng.UpdateRecords(ctx, func(tx *directory.Tx) error { return tx.DeleteRecord(consumerKey(id)) }); err != nil {
				return 0, err
			}
			continue
		}
		live = append(live, c)
	}
	var os []uint16
	var total int
	err = l.eng.View(func(v *directory.View) error {
		os = origins(v)
		return v.Records(keyLog, nil, false, func(_, _ []byte) (bool, error) {
			total++
			return true, nil
		})
	})
	if err != nil {
		return 0, err
	}
	// The size bound: the CSN of the excess-th oldest record overall.
	var sizeCut change.CSN
	if excess := total - l.cfg.MaxEntries; excess > 0 {
		var oldest []change.CSN
		l.eng.View(func(v *directory.View) error {
			for _, o := range os {
				p := logPrefix(o)
				n := 0
				v.Records(p, nil, false, func(k, _ []byte) (bool, error) {
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
	ageCut := change.CSN{Time: now.Add(-l.cfg.MaxAge).UnixMicro()}
	removed := 0
	for _, o := range os {
		cut := ageCut
		if cut.Less(sizeCut) {
			cut = sizeCut
		}
		for _, c := range live {
			if p := c.State[o]; p.Less(cut) {
				cut = p // a consumer that has seen nothing of o holds it all
			}
		}
		n, err := l.trimOrigin(ctx, o, cut)
		removed += n
		if err != nil {
			return removed, err
		}
	}
	return removed, nil
}

// trimOrigin removes origin's records at or below cut and raises its
// floor to the last one removed.
func (l *Changelog) trimOrigin(ctx context.Context, origin uint16, cut change.CSN) (int, error) {
	n, _, err := trimLog(ctx, l.eng, logPrefix(origin), floorKey(origin), func(c change.CSN, _ int) bool { return !cut.Less(c) })
	if err != nil {
		return n, fmt.Errorf("replication: trim: %w", err)
	}
	return n, nil
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
			return v.Records(p, nil, false, func(k, _ []byte) (bool, error) {
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
