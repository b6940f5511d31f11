package wire

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// Sealing is what a replica says of its sealed attributes in its pull and
// snapshot responses: the KeyID of its sealing key and the attributes it
// seals (canonical names, in lower-case order). The zero Sealing: it
// seals none.
type Sealing struct {
	Key        KeyID
	Attributes []string
}

// A KeyID names a sealing key (directory.KeyID): replicas that seal
// under the same key announce the same KeyID.
type KeyID [8]byte

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether the replica seals no attribute.
func (s Sealing) IsZero() bool { return len(s.Attributes) == 0 }

// appendSealing appends s's wire form: key ID (8) | n (uvarint) × name
// (uvarint length, bytes).
func appendSealing(b []byte, s Sealing) []byte {
	b = append(b, s.Key[:]...)
	b = binary.AppendUvarint(b, uint64(len(s.Attributes)))
	for _, n := range s.Attributes {
		b = merge.AppendString(b, n)
	}
	return b
}

// sealing reads what appendSealing wrote. A response that carries it
// seals at least one attribute, each named once.
func (r *wireReader) sealing() Sealing {
	var s Sealing
	copy(s.Key[:], r.take(len(s.Key)))
	n := r.count(2)
	for i := 0; i < n && r.err == nil; i++ {
		l := r.uvarint()
		if r.err == nil && (l == 0 || l > uint64(len(r.b))) {
			r.err = ErrWire
			break
		}
		name := string(r.take(int(l)))
		if r.err == nil && slices.ContainsFunc(s.Attributes, func(x string) bool { return strings.EqualFold(x, name) }) {
			r.err = fmt.Errorf("%w: sealed attribute %q named twice", ErrWire, name)
		}
		s.Attributes = append(s.Attributes, name)
	}
	if r.err == nil && n == 0 {
		r.err = fmt.Errorf("%w: sealing without attributes", ErrWire)
	}
	return s
}
