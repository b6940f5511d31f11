package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// OIDPull names the pull extended operation. It lies under 2.25 (ITU-T
// X.667: an OID made from a random UUID needs no registration).
const OIDPull = "2.25.167031871370493812436425452219513702722.1"

// Wire format versions.
const (
	pullRequestVersion  = 1
	pullResponseVersion = 1
	// pullResponseSealed is the response version of a supplier that
	// seals attributes: version 1 with its Sealing after the reason.
	pullResponseSealed = 2
)

// PullStatus is the supplier's verdict on a pull request.
type PullStatus uint8

const (
	// PullOK: the response carries changes (maybe none).
	PullOK PullStatus = 0
	// PullReinit: the consumer's generation differs, or the supplier's
	// log no longer holds changes the consumer lacks: it must be
	// reinitialised (replaying what it has could resurrect entries).
	PullReinit PullStatus = 1
)

// A PullRequest is what a consumer sends: where it stands.
type PullRequest struct {
	Generation Generation // zero: the consumer has no data yet
	Consumer   uint16
	MaxOps     int
	Vector     Vector
}

// A PullResponse carries up to MaxOps changes the consumer lacks, origin
// by origin in CSN order.
type PullResponse struct {
	Status     PullStatus
	Generation Generation
	Supplier   uint16
	More       bool      // the supplier has more for the consumer
	Now        time.Time // the supplier's clock
	Remaining  int       // changes the consumer still lacks after these (capped)
	Vector     Vector    // the supplier's vector
	// Ops are the changes; the values of sealed attributes are sealed,
	// their names preceded by 0x00, as in the change log.
	Ops    []Op
	Reason string // why, for PullReinit
	// Sealing is what the supplier seals, and under which key.
	Sealing Sealing
}

// AppendBinary encodes the request value:
//
//	version   1 byte (1)
//	gen       16 bytes
//	consumer  2 bytes, big-endian
//	maxops    uvarint
//	n         uvarint, then n times: origin (2 bytes) csn (16 bytes)
func (q *PullRequest) AppendBinary(b []byte) []byte {
	b = append(b, pullRequestVersion)
	b = append(b, q.Generation[:]...)
	b = binary.BigEndian.AppendUint16(b, q.Consumer)
	b = binary.AppendUvarint(b, uint64(q.MaxOps))
	return appendVector(b, q.Vector)
}

func appendVector(b []byte, v Vector) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	for _, o := range sortedOrigins(v) {
		b = binary.BigEndian.AppendUint16(b, o)
		b = v[o].AppendBinary(b)
	}
	return b
}

func sortedOrigins(v Vector) []uint16 {
	out := make([]uint16, 0, len(v))
	for o := range v {
		out = append(out, o)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// ErrWire is returned (wrapped) for a pull message that does not decode.
var ErrWire = errors.New("replication: malformed pull message")

type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) take(n int) []byte {
	if r.err != nil || n > len(r.b) {
		r.err = ErrWire
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *wireReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = ErrWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.err = ErrWire
		return 0
	}
	return int(n)
}

func (r *wireReader) vector() Vector {
	n := r.count(18)
	v := make(Vector, n)
	prev := -1
	for i := 0; i < n && r.err == nil; i++ {
		o := binary.BigEndian.Uint16(r.take(2))
		if int(o) <= prev && r.err == nil {
			r.err = ErrWire // origins are written once each, in increasing order
		}
		prev = int(o)
		c, err := change.DecodeCSN(r.take(change.CSNSize))
		if err != nil && r.err == nil {
			r.err = err
		}
		v[o] = c
	}
	return v
}

// DecodePullRequest decodes a request value.
func DecodePullRequest(b []byte) (*PullRequest, error) {
	r := &wireReader{b: b}
	if v := r.take(1); r.err == nil && v[0] != pullRequestVersion {
		return nil, fmt.Errorf("%w: request version %d", ErrWire, v[0])
	}
	q := &PullRequest{}
	copy(q.Generation[:], r.take(16))
	q.Consumer = binary.BigEndian.Uint16(r.take(2))
	q.MaxOps = int(min(r.uvarint(), 1<<20))
	q.Vector = r.vector()
	if r.err == nil && len(r.b) > 0 {
		r.err = ErrWire
	}
	if r.err != nil {
		return nil, fmt.Errorf("pull request: %w", r.err)
	}
	return q, nil
}

// AppendBinary encodes the response value:
//
//	version   1 byte (1; 2 with sealing)
//	status    1 byte (0 ok, 1 reinitialise)
//	gen       16 bytes
//	supplier  2 bytes
//	flags     1 byte (1 = more)
//	now       8 bytes, microseconds since the epoch
//	remaining uvarint
//	vector    as in the request
//	reason    uvarint length, bytes
//	[version 2: sealing: key ID (8) | n (uvarint, at least 1) × name
//	           (uvarint length, bytes)]
//	n         uvarint, then n times: uvarint length, an Op (Op.AppendBinary)
//
// A supplier that seals no attribute writes version 1, as before sealing
// could replicate.
func (p *PullResponse) AppendBinary(b []byte) []byte {
	version := byte(pullResponseVersion)
	if !p.Sealing.IsZero() {
		version = pullResponseSealed
	}
	b = append(b, version, byte(p.Status))
	b = append(b, p.Generation[:]...)
	b = binary.BigEndian.AppendUint16(b, p.Supplier)
	var flags byte
	if p.More {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Now.UnixMicro()))
	b = binary.AppendUvarint(b, uint64(p.Remaining))
	b = appendVector(b, p.Vector)
	b = merge.AppendString(b, p.Reason)
	if version == pullResponseSealed {
		b = appendSealing(b, p.Sealing)
	}
	b = binary.AppendUvarint(b, uint64(len(p.Ops)))
	var scratch []byte
	for i := range p.Ops {
		scratch = p.Ops[i].AppendBinary(scratch[:0])
		b = binary.AppendUvarint(b, uint64(len(scratch)))
		b = append(b, scratch...)
	}
	return b
}

// DecodePullResponse decodes a response value.
func DecodePullResponse(b []byte) (*PullResponse, error) {
	r := &wireReader{b: b}
	version := r.take(1)[0]
	if r.err == nil && version != pullResponseVersion && version != pullResponseSealed {
		return nil, fmt.Errorf("%w: response version %d", ErrWire, version)
	}
	p := &PullResponse{Status: PullStatus(r.take(1)[0])}
	copy(p.Generation[:], r.take(16))
	p.Supplier = binary.BigEndian.Uint16(r.take(2))
	p.More = r.take(1)[0]&1 != 0
	p.Now = time.UnixMicro(int64(binary.BigEndian.Uint64(r.take(8))))
	p.Remaining = int(min(r.uvarint(), 1<<40))
	p.Vector = r.vector()
	p.Reason = string(r.take(int(min(r.uvarint(), uint64(len(r.b)+1)))))
	if version == pullResponseSealed {
		p.Sealing = r.sealing()
	}
	n := r.count(1)
	for i := 0; i < n && r.err == nil; i++ {
		l := r.uvarint()
		if l > uint64(len(r.b)) {
			r.err = ErrWire
			break
		}
		op, err := merge.DecodeOp(r.take(int(l)))
		if err != nil {
			r.err = err
			break
		}
		p.Ops = append(p.Ops, op)
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = ErrWire
	}
	if r.err != nil {
		return nil, fmt.Errorf("pull response: %w", r.err)
	}
	return p, nil
}

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
	for _, o := range sortedOrigins(floor) {
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
	if !resp.Vector[self].Less(committed) {
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
			p := opPrefix(o)
			if err := v.Records(p, nil, true, func(k, val []byte) (bool, error) {
				c, err := change.DecodeCSN(k[len(p):])
				if (o == self && !c.Less(committed)) || logFlags(val)&logReplicated == 0 {
					return true, err // newer than what may be served yet, or not served
				}
				if resp.Vector[o].Less(c) {
					resp.Vector[o] = c
				}
				return false, err
			}); err != nil {
				return err
			}
			after := q.Vector[o]
			start := after.AppendBinary(bytes.Clone(p))
			err := v.Records(p, start, false, func(k, val []byte) (bool, error) {
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
				if logFlags(val)&logReplicated == 0 {
					return true, nil // a local change of the store only
				}
				if len(resp.Ops) >= maxOps || size >= maxPullBytes {
					resp.More = true
					resp.Remaining++
					return resp.Remaining < remainingCap, nil
				}
				// Sealed values stay sealed on the wire; values of an
				// attribute sealed since the change was logged are
				// sealed now.
				rec, err := decodeLogRecordSealed(val)
				if err != nil {
					return false, err
				}
				size += len(val)
				resp.Ops = append(resp.Ops, *sealOp(&rec.Op, sealer))
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
		v.Records(keyOps, next, false, func(k, _ []byte) (bool, error) {
			if len(k) >= len(keyOps)+2 {
				o, found = binary.BigEndian.Uint16(k[len(keyOps):]), true
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
		next = opPrefix(o + 1)
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
	q, err := DecodePullRequest(r.Extended.Value)
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
