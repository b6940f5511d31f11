package changelog

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/replication/wire"
)

// A Position is a consumer's entry in the consumer table: for a replica
// peer, what this replica knows of it (the vector it last reported,
// pulling from here or answering a pull, when, whether it consumes this
// replica's log, and why its last exchange was refused, "" if it was
// not); for an RFC 4533 consumer, the vector it acknowledged and when.
type Position struct {
	Vector   wire.Vector
	Seen     time.Time
	Consumer bool
	Refused  string
}

// AppendBinary appends the value of a position record to b:
//
//	flags (1: bit 0 consumer) | last seen (8, Unix microseconds) |
//	vector (wire.AppendVector) | why it was refused (uvarint length, bytes)
func (p *Position) AppendBinary(b []byte) []byte {
	var flags byte
	if p.Consumer {
		flags |= 1
	}
	b = append(b, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Seen.UnixMicro()))
	b = wire.AppendVector(b, p.Vector)
	return merge.AppendString(b, p.Refused)
}

// DecodePosition decodes a position record.
func DecodePosition(b []byte) (*Position, error) {
	r := wire.NewReader(b)
	flags := r.Take(1)[0]
	seen := int64(binary.BigEndian.Uint64(r.Take(8)))
	v := r.Vector()
	refused := string(r.Take(int(min(r.Uvarint(), uint64(r.Len()+1)))))
	if r.Err() == nil && (r.Len() > 0 || flags&^1 != 0) {
		r.Fail(wire.ErrWire)
	}
	if r.Err() != nil {
		return nil, fmt.Errorf("replication: replica position: %w", r.Err())
	}
	return &Position{Vector: v, Seen: time.UnixMicro(seen), Consumer: flags&1 != 0, Refused: refused}, nil
}
