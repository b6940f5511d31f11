package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
)

// keySyncrepl prefixes the position of each RFC 4533 consumer:
//
//	y | name -> version (1) | fingerprint (8, big-endian) | cookie
//
// The fingerprint hashes what the cookie is relative to (provider URL,
// remote base, scope, filter, attribute list, local base); a record whose
// fingerprint differs from the configuration's is ignored, so changing
// any of them starts a full refresh.
var keySyncrepl = []byte{directory.PrefixReplication, 'y'}

const syncreplRecordVersion = 1

func syncreplKey(name string) []byte { return append(append([]byte{}, keySyncrepl...), name...) }

// appendSyncreplRecord encodes a consumer position.
func appendSyncreplRecord(b []byte, fingerprint uint64, cookie []byte) []byte {
	b = append(b, syncreplRecordVersion)
	b = binary.BigEndian.AppendUint64(b, fingerprint)
	return append(b, cookie...)
}

var errSyncreplRecord = errors.New("replication: malformed syncrepl position record")

// decodeSyncreplRecord decodes a consumer position; the cookie is a copy.
func decodeSyncreplRecord(v []byte) (fingerprint uint64, cookie []byte, err error) {
	if len(v) < 9 {
		return 0, nil, errSyncreplRecord
	}
	if v[0] != syncreplRecordVersion {
		return 0, nil, fmt.Errorf("%w: version %d", errSyncreplRecord, v[0])
	}
	return binary.BigEndian.Uint64(v[1:9]), append([]byte{}, v[9:]...), nil
}

// fingerprint hashes the settings a cookie depends on.
func (c *SyncreplConfig) fingerprint() uint64 {
	h := fnv.New64a()
	for _, s := range []string{c.URL, strings.ToLower(c.Base), fmt.Sprint(c.Scope), c.Filter,
		strings.ToLower(strings.Join(c.Attributes, ",")), strings.ToLower(c.LocalBase)} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return h.Sum64()
}
