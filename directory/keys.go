package directory

import (
	"crypto/sha256"
	"encoding/binary"
)

// Key prefixes. They are part of the on-disk format (see doc.go) and must
// not change; a new kind of key gets a new prefix and a format bump.
const (
	prefixMeta     byte = 0x00 // metadata: format version, sequences
	prefixEntry    byte = 'e'  // e | ID                        -> entry record
	prefixDN       byte = 'd'  // d | NDN                       -> ID
	prefixChild    byte = 'c'  // c | parentID | childID        -> (empty)
	prefixEquality byte = 'i'  // i | attr | norm value | ID    -> (empty)
)

// formatVersion is the layout written by this code. Open refuses a store
// with another version rather than misread it.
const formatVersion uint32 = 1

var (
	keyFormat  = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	keyIDSeq   = []byte{prefixMeta, 's', 'e', 'q', '/', 'i', 'd'}
	keySuffix  = []byte{prefixMeta, 's', 'u', 'f', 'f', 'i', 'x'}
	maxIndexed = 256 // longest normalised value kept verbatim in an index key
)

func appendID(b []byte, id ID) []byte { return binary.BigEndian.AppendUint64(b, uint64(id)) }

func readID(b []byte) ID { return ID(binary.BigEndian.Uint64(b)) }

func entryKey(id ID) []byte { return appendID([]byte{prefixEntry}, id) }

func dnKey(ndn string) []byte {
	b := make([]byte, 0, 1+len(ndn))
	b = append(b, prefixDN)
	return append(b, ndn...)
}

func childPrefix(parent ID) []byte { return appendID([]byte{prefixChild}, parent) }

func childKey(parent, child ID) []byte { return appendID(childPrefix(parent), child) }

// equalityPrefix is the key prefix of every ID indexed under (attr, norm):
//
//	i | len(attr) (1B) | attr | len(v) (uvarint) | v
//
// where v is the normalised value, or for values longer than maxIndexed
// bytes, their first maxIndexed bytes followed by the SHA-256 of the whole
// value. Candidates found through the index are always re-checked against
// the filter, so the shortened form only costs a re-check, never a wrong
// answer. Length prefixes keep one value's keys from being a prefix of
// another's.
func equalityPrefix(attr string, norm []byte) []byte {
	if len(norm) > maxIndexed {
		sum := sha256.Sum256(norm)
		norm = append(append([]byte(nil), norm[:maxIndexed]...), sum[:]...)
	}
	b := make([]byte, 0, 2+len(attr)+binary.MaxVarintLen32+len(norm)+8)
	b = append(b, prefixEquality, byte(len(attr)))
	b = append(b, attr...)
	b = binary.AppendUvarint(b, uint64(len(norm)))
	return append(b, norm...)
}

func equalityKey(attr string, norm []byte, id ID) []byte {
	return appendID(equalityPrefix(attr, norm), id)
}
