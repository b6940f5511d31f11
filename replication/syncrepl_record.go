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

// parseUUID parses the text form of a UUID (RFC 9562, 8-4-4-4-12 hex).
func parseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36 {
		return u, false
	}
	j := 0
	for i := 0; i < 36; i++ {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return u, false
			}
			continue
		}
		v, ok := unhex(s[i])
		if !ok {
			return u, false
		}
		u[j/2] |= v << (4 * (1 - j%2))
		j++
	}
	return u, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// formatUUID gives the lower-case text form of u.
func formatUUID(u [16]byte) string {
	const hx = "0123456789abcdef"
	b := make([]byte, 0, 36)
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b = append(b, '-')
		}
		b = append(b, hx[c>>4], hx[c&15])
	}
	return string(b)
}
