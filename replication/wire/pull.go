package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// OIDPull names the pull extended operation. It lies under 2.25 (ITU-T
// X.667: an OID made from a random UUID needs no registration).
const OIDPull = "2.25.167031871370493812436425452219513702722.1"

// Wire format versions.
const (
	PullRequestVersion  = 1
	PullResponseVersion = 1
	// PullResponseSealed is the response version of a supplier that
	// seals attributes: version 1 with its Sealing after the reason.
	PullResponseSealed = 2
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
	Ops    []merge.Op
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
	b = append(b, PullRequestVersion)
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
	if v := r.take(1); r.err == nil && v[0] != PullRequestVersion {
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
	version := byte(PullResponseVersion)
	if !p.Sealing.IsZero() {
		version = PullResponseSealed
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
	if version == PullResponseSealed {
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
	if r.err == nil && version != PullResponseVersion && version != PullResponseSealed {
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
	if version == PullResponseSealed {
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

// A Generation names one replicated data set: replicas exchange changes
// only within a generation. It is made at the first write of a store and
// copied by every replica that joins.
type Generation [16]byte

// IsZero reports whether g is unset.
func (g Generation) IsZero() bool { return g == Generation{} }

func (g Generation) String() string { return merge.UUID(g).String() }

// A Vector is, per origin replica, the largest CSN of that origin a
// replica has applied: it holds every change of the origin up to it.
type Vector map[uint16]change.CSN

// Clone returns a copy of v.
func (v Vector) Clone() Vector {
	out := make(Vector, len(v))
	for o, c := range v {
		out[o] = c
	}
	return out
}
