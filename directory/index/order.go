package index

import (
	"encoding/binary"

	"github.com/switchboard-ldap/switchboard/schema"
)

type orderFunc func(v []byte) ([]byte, bool)

// Ordering rules whose comparison is bytewise on the equality normal form,
// mapped to that equality rule.
var byNormalForm = map[string]string{
	"2.5.13.3":       "2.5.13.2",       // caseIgnoreOrderingMatch
	"2.5.13.6":       "2.5.13.5",       // caseExactOrderingMatch
	"2.5.13.9":       "2.5.13.8",       // numericStringOrderingMatch
	"2.5.13.18":      "2.5.13.17",      // octetStringOrderingMatch
	"1.3.6.1.1.16.3": "1.3.6.1.1.16.2", // UUIDOrderingMatch
}

// ByNormalForm reports whether at's ORDERING rule orders values as their
// EQUALITY normal forms compare bytewise (caseIgnoreOrderingMatch for a
// caseIgnoreMatch type): a sort can then normalise each value once
// instead of at every comparison.
func ByNormalForm(at *schema.AttributeType) bool {
	if at.Ordering == nil || at.Equality == nil {
		return false
	}
	eq, ok := byNormalForm[at.Ordering.OID]
	return ok && at.Equality.OID == eq
}

// orderFor returns the key function of an attribute's ORDERING rule, or nil
// when no order-preserving key is known for it.
func orderFor(at *schema.AttributeType) orderFunc {
	if at.Ordering == nil {
		return nil
	}
	switch at.Ordering.OID {
	case "2.5.13.15": // integerOrderingMatch
		return integerKey
	case "2.5.13.28": // generalizedTimeOrderingMatch
		return timeKey
	}
	if ByNormalForm(at) {
		return func(v []byte) ([]byte, bool) {
			n, err := at.Normalize(v)
			return n, err == nil
		}
	}
	return nil
}

// integerKey encodes an RFC 4517 Integer so that byte order is numeric
// order: 0x00 | ^len | ^digits for negatives, 0x01 for zero, 0x02 | len |
// digits for positives (len as 2 bytes, digits without leading zeros).
func integerKey(v []byte) ([]byte, bool) {
	neg := len(v) > 0 && v[0] == '-'
	d := v
	if neg {
		d = v[1:]
	}
	if len(d) == 0 || len(d) > 0xFFFF {
		return nil, false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return nil, false
		}
	}
	if d[0] == '0' {
		if len(d) == 1 && !neg {
			return []byte{0x01}, true
		}
		return nil, false // leading zeros and -0 are not RFC 4517 integers
	}
	out := make([]byte, 0, 3+len(d))
	if neg {
		out = append(out, 0x00)
		out = binary.BigEndian.AppendUint16(out, uint16(0xFFFF-len(d)))
		for _, c := range d {
			out = append(out, 0xFF-c)
		}
		return out, true
	}
	out = append(out, 0x02)
	out = binary.BigEndian.AppendUint16(out, uint16(len(d)))
	return append(out, d...), true
}

// timeKey encodes a GeneralizedTime as its UTC seconds (sign bit flipped)
// and nanoseconds, big-endian.
func timeKey(v []byte) ([]byte, bool) {
	t, err := schema.ParseGeneralizedTime(v)
	if err != nil {
		return nil, false
	}
	out := binary.BigEndian.AppendUint64(nil, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(out, uint32(t.Nanosecond())), true
}
