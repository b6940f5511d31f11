package directory

import "encoding/binary"

// Key prefixes. They are part of the on-disk format (see doc.go) and must
// not change; a new kind of key gets a new prefix and a format bump.
const (
	prefixMeta  byte = 0x00 // metadata: format version, sequences
	prefixEntry byte = 'e'  // e | ID                        -> entry record
	prefixDN    byte = 'd'  // d | NDN                       -> ID
	prefixChild byte = 'c'  // c | parentID | childID        -> (empty)
	// Index keys ('p', 'i', 's', 'o', 'a') are laid out by package index.
	// Side records ('r', PrefixReplication in records.go) are laid out by
	// package replication: its change log, floors and consumer table.
)

// formatVersion is the layout written by this code. Open upgrades a store
// of an earlier version (format.go) and refuses one of a later version
// rather than misread it.
const formatVersion uint32 = 2

var (
	keyFormat  = []byte{prefixMeta, 'f', 'o', 'r', 'm', 'a', 't'}
	keyIDSeq   = []byte{prefixMeta, 's', 'e', 'q', '/', 'i', 'd'}
	keySuffix  = []byte{prefixMeta, 's', 'u', 'f', 'f', 'i', 'x'}
	keyIndexes = []byte{prefixMeta, 'i', 'n', 'd', 'e', 'x', 'e', 's'}
	// keyDisplaced prefixes the entries whose DN key another entry with
	// the same DN took (tx.go, takeDN): under the metadata prefix, which
	// older binaries never read, so no format bump.
	keyDisplaced = []byte{prefixMeta, 'd', 'i', 's', 'p', 'l', 'a', 'c', 'e', 'd'}
)

func appendID(b []byte, id ID) []byte { return binary.BigEndian.AppendUint64(b, uint64(id)) }

func readID(b []byte) ID { return ID(binary.BigEndian.Uint64(b)) }

func entryKey(id ID) []byte { return appendID([]byte{prefixEntry}, id) }

func dnKey(ndn string) []byte {
	b := make([]byte, 0, 1+len(ndn))
	b = append(b, prefixDN)
	return append(b, ndn...)
}

// displacedPrefix is 0x00 "displaced" | uvarint len(NDN) | NDN, the
// prefix of the entries displaced from ndn.
func displacedPrefix(ndn string) []byte {
	b := make([]byte, 0, len(keyDisplaced)+binary.MaxVarintLen64+len(ndn)+8)
	b = append(b, keyDisplaced...)
	b = binary.AppendUvarint(b, uint64(len(ndn)))
	return append(b, ndn...)
}

func displacedKey(ndn string, id ID) []byte { return appendID(displacedPrefix(ndn), id) }

func childPrefix(parent ID) []byte { return appendID([]byte{prefixChild}, parent) }

func childKey(parent, child ID) []byte { return appendID(childPrefix(parent), child) }
