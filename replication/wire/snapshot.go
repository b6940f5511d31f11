package wire

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// OIDSnapshot names the snapshot extended operation, the full resync of a
// consumer the op log no longer covers (see the package documentation).
const OIDSnapshot = "2.25.167031871370493812436425452219513702722.2"

// Wire format versions of the snapshot operation.
const (
	snapshotRequestVersion  = 1
	snapshotResponseVersion = 1
	// snapshotResponseSealed is the response version of a supplier that
	// seals attributes: version 1 with its Sealing after the reason.
	snapshotResponseSealed = 2
)

// SnapshotStatus is the supplier's verdict on a snapshot request.
type SnapshotStatus uint8

const (
	// SnapshotOK: the response carries the next entries of the snapshot.
	SnapshotOK SnapshotStatus = 0
	// SnapshotGone: the supplier no longer holds the snapshot named by
	// the request (it expired, or the supplier restarted): the consumer
	// must start again with a new one.
	SnapshotGone SnapshotStatus = 1
)

// A SnapshotID names one snapshot held by a supplier.
type SnapshotID [16]byte

// IsZero reports whether id is unset.
func (id SnapshotID) IsZero() bool { return id == SnapshotID{} }

func (id SnapshotID) String() string { return merge.UUID(id).String() }

func newSnapshotID() SnapshotID {
	var id SnapshotID
	rand.Read(id[:])
	return id
}

// A SnapshotRequest asks for the next chunk of a snapshot: the entries
// after the cursor After, in UUID order. A zero ID asks the supplier to
// take a new snapshot; a zero cursor starts from the first entry.
type SnapshotRequest struct {
	Consumer uint16
	ID       SnapshotID
	After    merge.UUID
	MaxBytes int // about how many bytes of entries to send; 0: the supplier's default
}

// A SnapshotEntry is one entry of a snapshot: its UUID and its state in
// State.AppendEntryState's form.
type SnapshotEntry struct {
	UUID  merge.UUID
	State []byte
}

// A SnapshotResponse carries one chunk of a snapshot, with what the whole
// snapshot stands for: the vector it was taken at, the State's floor and
// the generation.
type SnapshotResponse struct {
	Status     SnapshotStatus
	ID         SnapshotID
	Generation Generation
	Supplier   uint16
	Done       bool       // no entries follow these
	Floor      change.CSN // State.Floor of the snapshot
	Vector     Vector
	Total      int    // entries in the whole snapshot
	Reason     string // why, for SnapshotGone
	// Entries' states hold the values of sealed attributes sealed
	// (EntryStateSealed).
	Entries []SnapshotEntry
	// Sealing is what the supplier seals, and under which key.
	Sealing Sealing
}

// AppendBinary encodes the request value:
//
//	version   1 byte (1)
//	consumer  2 bytes, big-endian
//	id        16 bytes (zero: take a new snapshot)
//	after     16 bytes, a UUID (zero: from the first entry)
//	maxbytes  uvarint
func (q *SnapshotRequest) AppendBinary(b []byte) []byte {
	b = append(b, snapshotRequestVersion)
	b = binary.BigEndian.AppendUint16(b, q.Consumer)
	b = append(b, q.ID[:]...)
	b = append(b, q.After[:]...)
	return binary.AppendUvarint(b, uint64(max(q.MaxBytes, 0)))
}

// DecodeSnapshotRequest decodes a request value.
func DecodeSnapshotRequest(b []byte) (*SnapshotRequest, error) {
	r := &wireReader{b: b}
	if v := r.take(1); r.err == nil && v[0] != snapshotRequestVersion {
		return nil, fmt.Errorf("%w: snapshot request version %d", ErrWire, v[0])
	}
	q := &SnapshotRequest{}
	q.Consumer = binary.BigEndian.Uint16(r.take(2))
	copy(q.ID[:], r.take(16))
	copy(q.After[:], r.take(16))
	q.MaxBytes = int(min(r.uvarint(), 1<<30))
	if r.err == nil && len(r.b) > 0 {
		r.err = ErrWire
	}
	if r.err != nil {
		return nil, fmt.Errorf("snapshot request: %w", r.err)
	}
	return q, nil
}

// AppendBinary encodes the response value:
//
//	version   1 byte (1; 2 with sealing)
//	status    1 byte (0 ok, 1 gone)
//	id        16 bytes
//	gen       16 bytes
//	supplier  2 bytes
//	flags     1 byte (1 = done)
//	floor     16 bytes, a binary CSN
//	vector    uvarint n, then n times: origin (2 bytes) csn (16 bytes)
//	total     uvarint
//	reason    uvarint length, bytes
//	[version 2: sealing, as in a pull response]
//	n         uvarint, then n times: UUID (16 bytes), uvarint length,
//	          the entry's state (State.AppendEntryState)
//
// Entries come in strictly ascending UUID order.
func (p *SnapshotResponse) AppendBinary(b []byte) []byte {
	version := byte(snapshotResponseVersion)
	if !p.Sealing.IsZero() {
		version = snapshotResponseSealed
	}
	b = append(b, version, byte(p.Status))
	b = append(b, p.ID[:]...)
	b = append(b, p.Generation[:]...)
	b = binary.BigEndian.AppendUint16(b, p.Supplier)
	var flags byte
	if p.Done {
		flags |= 1
	}
	b = append(b, flags)
	b = p.Floor.AppendBinary(b)
	b = appendVector(b, p.Vector)
	b = binary.AppendUvarint(b, uint64(p.Total))
	b = merge.AppendString(b, p.Reason)
	if version == snapshotResponseSealed {
		b = appendSealing(b, p.Sealing)
	}
	// The entries are nearly all of it (megabytes): room for them at
	// once rather than copies as b grows.
	n := binary.MaxVarintLen64
	for _, e := range p.Entries {
		n += len(e.UUID) + binary.MaxVarintLen64 + len(e.State)
	}
	b = slices.Grow(b, n)
	b = binary.AppendUvarint(b, uint64(len(p.Entries)))
	for _, e := range p.Entries {
		b = append(b, e.UUID[:]...)
		b = binary.AppendUvarint(b, uint64(len(e.State)))
		b = append(b, e.State...)
	}
	return b
}

// DecodeSnapshotResponse decodes a response value. It checks the form:
// entries in ascending UUID order, none the root, none empty; the
// entries' states are checked when loaded (State.LoadEntryState).
func DecodeSnapshotResponse(b []byte) (*SnapshotResponse, error) {
	r := &wireReader{b: b}
	version := r.take(1)[0]
	if r.err == nil && version != snapshotResponseVersion && version != snapshotResponseSealed {
		return nil, fmt.Errorf("%w: snapshot response version %d", ErrWire, version)
	}
	p := &SnapshotResponse{Status: SnapshotStatus(r.take(1)[0])}
	if r.err == nil && p.Status > SnapshotGone {
		return nil, fmt.Errorf("%w: snapshot status %d", ErrWire, p.Status)
	}
	copy(p.ID[:], r.take(16))
	copy(p.Generation[:], r.take(16))
	p.Supplier = binary.BigEndian.Uint16(r.take(2))
	flags := r.take(1)[0]
	if r.err == nil && flags&^1 != 0 {
		r.err = ErrWire
	}
	p.Done = flags&1 != 0
	if c, err := change.DecodeCSN(r.take(change.CSNSize)); err != nil && r.err == nil {
		r.err = err
	} else {
		p.Floor = c
	}
	p.Vector = r.vector()
	p.Total = int(min(r.uvarint(), 1<<40))
	p.Reason = string(r.take(int(min(r.uvarint(), uint64(len(r.b)+1)))))
	if version == snapshotResponseSealed {
		p.Sealing = r.sealing()
	}
	const minEntry = 16 + 1 + 1
	n := r.count(minEntry)
	if n > 0 {
		p.Entries = make([]SnapshotEntry, 0, n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		var e SnapshotEntry
		copy(e.UUID[:], r.take(16))
		l := r.uvarint()
		if r.err != nil || l == 0 || l > uint64(len(r.b)) {
			r.err = ErrWire
			break
		}
		e.State = r.take(int(l))
		if e.UUID.IsRoot() || i > 0 && p.Entries[i-1].UUID.Compare(e.UUID) >= 0 {
			r.err = fmt.Errorf("%w: snapshot entries out of order", ErrWire)
			break
		}
		p.Entries = append(p.Entries, e)
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = ErrWire
	}
	if r.err != nil {
		return nil, fmt.Errorf("snapshot response: %w", r.err)
	}
	return p, nil
}
