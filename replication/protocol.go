package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/changelog"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// maxPullBytes bounds one response's changes (flow control: a consumer
// asks again while More is set).
const maxPullBytes = 4 << 20

// Pull answers a pull request from the op log: the changes of every
// origin above the consumer's vector, in CSN order per origin, up to
// q.MaxOps (and maxPullBytes).
func (r *Replicator) Pull(q *PullRequest) (*PullResponse, error) {
	if err := r.reinit.servable(); err != nil {
		return nil, err
	}
	r.smu.RLock()
	gen, floor, vec := r.generation, r.floor.Clone(), r.vector.Clone()
	applied := r.vector.Clone() // vec becomes the response's vector below
	r.smu.RUnlock()
	sealer := r.eng.Sealer()
	resp := &PullResponse{Generation: gen, Supplier: r.Replica(), Now: r.clog.Clock().Now(), Vector: vec, Sealing: sealingOf(sealer)}
	refuse := func(reason string) (*PullResponse, error) {
		r.refusals.Add(1)
		r.observe(q.Consumer, q.Vector, true, reason)
		r.log.Warn("replication: refused a pull: the consumer must be reinitialised", "consumer", q.Consumer, "reason", reason)
		resp.Status, resp.Reason = PullReinit, reason
		return resp, nil
	}
	if !q.Generation.IsZero() && !gen.IsZero() && q.Generation != gen {
		return refuse(fmt.Sprintf("generation %s differs from the supplier's %s", q.Generation, gen))
	}
	for _, o := range wire.SortedOrigins(floor) {
		if f := floor[o]; q.Vector[o].Less(f) {
			return refuse(fmt.Sprintf("the supplier's log of replica %d starts after %s; the consumer stands at %s", o, f, q.Vector[o]))
		}
	}
	// A consumer with data of its own that was cut off for longer than
	// the tombstone window is refused even where the log covers it: its
	// own changes may name entries purged here. A new consumer (no
	// generation) has none and may catch up from the log.
	if !q.Generation.IsZero() {
		why, err := r.stale(q.Vector)
		if err != nil {
			return nil, err
		}
		if why != "" {
			return refuse("the consumer is stale: " + why)
		}
	}
	r.observe(q.Consumer, q.Vector, true, "")
	r.retryPeersOf(q.Consumer)
	// Local writes commit concurrently: serve this replica's own changes
	// only below the bound under which all have committed, so that a
	// consumer never passes one still in flight.
	self, committed := r.Replica(), r.clog.Committed()
	inFlight := !resp.Vector[self].Less(committed)
	if inFlight {
		// Raised below to the last committed change in the log.
		if f, ok := floor[self]; ok {
			resp.Vector[self] = f
		} else {
			delete(resp.Vector, self)
		}
	}
	maxOps := q.MaxOps
	if maxOps <= 0 || maxOps > 10000 {
		maxOps = 1000
	}
	const remainingCap = 10000
	err := r.eng.View(func(v *directory.View) error {
		size := 0 // resp.Vector is raised below to the last op of each origin
		for _, o := range opOrigins(v) {
			if !q.Vector[o].Less(applied[o]) && (o != self || applied[o].Less(committed)) {
				// The consumer has every change of o this replica has
				// applied (of its own: all committed, served below
				// committed): nothing to send, and no need to read the
				// feed records the log holds above them (a replica that
				// just resolved a catch-up has one per entry written, on
				// its own origin, read again at every pull until its next
				// local write).
				continue
			}
			p := changelog.OriginPrefix(o)
			// The vector read above stands at the last change of each
			// origin but this replica's own with a write in flight:
			// that one is raised to the last committed change, read
			// back from the log's end past the feed records (one per
			// entry a resolution wrote: thousands after a catch-up,
			// which every pull would read again were it done always).
			if o == self && inFlight {
				if err := changelog.ScanFlags(v, p, nil, true, func(k []byte, flags byte) (bool, error) {
					c, err := change.DecodeCSN(k[len(p):])
					if !c.Less(committed) || flags&changelog.FlagReplicated == 0 {
						return true, err // newer than what may be served yet, or not served
					}
					if resp.Vector[o].Less(c) {
						resp.Vector[o] = c
					}
					return false, err
				}); err != nil {
					return err
				}
			}
			after := q.Vector[o]
			start := after.AppendBinary(bytes.Clone(p))
			// Keys and flags only: what is counted past the batch, and
			// the feed records between the ops, are not read.
			err := changelog.ScanFlags(v, p, start, false, func(k []byte, flags byte) (bool, error) {
				c, err := change.DecodeCSN(k[len(p):])
				if err != nil {
					return false, err
				}
				if !after.Less(c) {
					return true, nil
				}
				if o == self && !c.Less(committed) {
					return false, nil
				}
				if flags&changelog.FlagReplicated == 0 {
					return true, nil // a local change of the store only
				}
				if len(resp.Ops) >= maxOps || size >= maxPullBytes {
					resp.More = true
					resp.Remaining++
					return resp.Remaining < remainingCap, nil
				}
				val, err := v.Record(k)
				if err != nil {
					return false, err
				}
				// Sealed values stay sealed on the wire; values of an
				// attribute sealed since the change was logged are
				// sealed now.
				rec, err := changelog.DecodeRecordSealed(val)
				if err != nil {
					return false, err
				}
				size += len(val)
				resp.Ops = append(resp.Ops, *changelog.SealOp(&rec.Op, sealer))
				if resp.Vector[o].Less(c) {
					resp.Vector[o] = c // applied since the vector was read
				}
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// opOrigins lists the origins with changes in the op log.
func opOrigins(v *directory.View) []uint16 {
	var out []uint16
	next := []byte(nil)
	for {
		var o uint16
		found := false
		v.RecordKeys(changelog.KeyRecords, next, false, func(k []byte, _ byte) (bool, error) {
			if len(k) >= len(changelog.KeyRecords)+2 {
				o, found = binary.BigEndian.Uint16(k[len(changelog.KeyRecords):]), true
			}
			return false, nil
		})
		if !found {
			return out
		}
		out = append(out, o)
		if o == 0xffff {
			return out
		}
		next = changelog.OriginPrefix(o + 1)
	}
}

// Supplier answers pull requests on the LDAP frontend. Authorize decides
// who may pull (the bound identity of the session).
type Supplier struct {
	R         *Replicator
	Authorize func(s *ldap.Session) bool
}

// ServeExtended answers one pull request (a frontend.ExtendedHandler).
func (s *Supplier) ServeExtended(_ context.Context, w ldap.ResponseWriter, r *ldap.Request, sess *ldap.Session) {
	if s.Authorize == nil || !s.Authorize(sess) {
		w.WriteResult(&ldap.Result{Code: ldap.InsufficientAccessRights, Diagnostic: "replication pull: this identity is not a replication peer"})
		return
	}
	q, err := wire.DecodePullRequest(r.Extended.Value)
	if err != nil {
		w.WriteResult(&ldap.Result{Code: ldap.ProtocolError, Diagnostic: err.Error()})
		return
	}
	resp, err := s.R.Pull(q)
	var le *ldap.Error
	if errors.As(err, &le) {
		w.WriteResult(&ldap.Result{Code: le.Code, Diagnostic: "replication pull: " + le.Message})
		return
	}
	if err != nil {
		w.WriteResult(&ldap.Result{Code: ldap.Other, Diagnostic: "replication pull: " + err.Error()})
		return
	}
	w.WriteResult(&ldap.Result{Code: ldap.Success, ResponseName: OIDPull, ResponseValue: resp.AppendBinary(nil)})
}
