package ldap

// Low-level BER reading and writing for the LDAPv3 subset of BER (RFC 4511
// section 5.1): single-octet tags (LDAP never needs tag numbers above 30),
// definite lengths of at most four length octets, primitive OCTET STRINGs.
// Readers work on byte slices and never allocate; writers append to a
// caller-supplied slice.

import (
	"bufio"
	"errors"
	"io"
)

// Sentinel errors.
var (
	// ErrPDUTooLarge reports a PDU whose declared length exceeds the limit.
	ErrPDUTooLarge = errors.New("ldap: PDU exceeds size limit")
	// ErrMalformedPDU reports framing that cannot be an LDAPMessage: a tag
	// other than SEQUENCE, an indefinite length or an oversized length field.
	// The stream cannot be resynchronised after it.
	ErrMalformedPDU = errors.New("ldap: malformed PDU framing")
)

// BER identifier octets used by LDAP.
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagSet         = 0x31

	classContext   = 0x80
	classApp       = 0x40
	bitConstructed = 0x20
)

// maxInt is LDAP's maxInt (RFC 4511 section 4.1.1): 2^31-1.
const maxInt = 1<<31 - 1

// ReadPDU reads one complete LDAPMessage TLV from r into buf[:0], growing
// buf if needed, and returns the PDU bytes (header included). The message
// must be a SEQUENCE with a definite length of at most four length octets.
// A declared length over max returns ErrPDUTooLarge before the body is read
// or any memory is allocated for it. io.EOF before the first octet is
// returned as io.EOF; EOF inside a PDU is io.ErrUnexpectedEOF.
func ReadPDU(r *bufio.Reader, buf []byte, max int) ([]byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err // io.EOF at a clean boundary stays io.EOF
	}
	if tag != tagSequence {
		return nil, ErrMalformedPDU
	}
	var hdr [6]byte
	hdr[0] = tag
	l0, err := r.ReadByte()
	if err != nil {
		return nil, unexpected(err)
	}
	hdr[1] = l0
	n := 2
	var length int
	switch {
	case l0 < 0x80:
		length = int(l0)
	case l0 == 0x80 || l0 > 0x84:
		// Indefinite form is forbidden (RFC 4511 section 5.1); more than
		// four length octets cannot describe a PDU we would accept.
		return nil, ErrMalformedPDU
	default:
		k := int(l0 & 0x7f)
		for i := 0; i < k; i++ {
			c, err := r.ReadByte()
			if err != nil {
				return nil, unexpected(err)
			}
			hdr[n] = c
			n++
			length = length<<8 | int(c)
		}
	}
	if length > max || length < 0 {
		return nil, ErrPDUTooLarge
	}
	total := n + length
	if cap(buf) < total {
		buf = make([]byte, total)
	}
	buf = buf[:total]
	copy(buf, hdr[:n])
	if _, err := io.ReadFull(r, buf[n:]); err != nil {
		return nil, unexpected(err)
	}
	return buf, nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// berError is a static description of a decoding problem; it carries no
// allocation on the success path.
type berError string

func (e berError) Error() string { return string(e) }

const (
	errTruncated   berError = "truncated element"
	errHighTag     berError = "multi-octet tags are not used by LDAP"
	errIndefinite  berError = "indefinite length"
	errLongLength  berError = "length field longer than 4 octets"
	errOverrun     berError = "element length exceeds enclosing element"
	errBadInteger  berError = "malformed INTEGER"
	errIntRange    berError = "INTEGER out of range"
	errBadBoolean  berError = "malformed BOOLEAN"
	errTrailing    berError = "trailing data"
	errUnexpTag    berError = "unexpected tag"
	errBadNull     berError = "malformed NULL"
	errTooDeep     berError = "filter nested too deeply"
	errTooMany     berError = "filter has too many nodes"
	errSubstrings  berError = "malformed substrings filter"
	errEmptyVals   berError = "attribute has no values"
	errBadEnum     berError = "enumerated value out of range"
	errBadAuth     berError = "unsupported authentication choice"
	errBadMsgID    berError = "invalid message ID"
	errUnknownOp   berError = "unrecognised protocol operation"
	errNotMessage  berError = "LDAPMessage is not a SEQUENCE"
	errExtensible  berError = "malformed extensible match filter"
	errNotPrimitiv berError = "expected primitive encoding"
)

// readTLV splits the first element off b. It returns the identifier octet,
// the contents and the remainder after the element.
func readTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errTruncated
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errHighTag
	}
	l0 := b[1]
	p := 2
	var n int
	switch {
	case l0 < 0x80:
		n = int(l0)
	case l0 == 0x80:
		return 0, nil, nil, errIndefinite
	case l0 > 0x84:
		return 0, nil, nil, errLongLength
	default:
		k := int(l0 & 0x7f)
		if len(b) < 2+k {
			return 0, nil, nil, errTruncated
		}
		for i := 0; i < k; i++ {
			n = n<<8 | int(b[2+i])
		}
		p += k
	}
	if n < 0 || n > len(b)-p {
		return 0, nil, nil, errOverrun
	}
	return tag, b[p : p+n : p+n], b[p+n:], nil
}

// expect reads one element that must carry the identifier want.
func expect(b []byte, want byte) (content, rest []byte, err error) {
	tag, c, r, err := readTLV(b)
	if err != nil {
		return nil, nil, err
	}
	if tag != want {
		return nil, nil, errUnexpTag
	}
	return c, r, nil
}

// parseInt decodes the contents of an INTEGER or ENUMERATED of at most four
// octets (two's complement, big endian).
func parseInt(c []byte) (int64, error) {
	if len(c) == 0 {
		return 0, errBadInteger
	}
	if len(c) > 4 {
		return 0, errIntRange
	}
	v := int64(int8(c[0]))
	for _, x := range c[1:] {
		v = v<<8 | int64(x)
	}
	return v, nil
}

// readInt reads an element with identifier tag holding an integer in [lo, hi].
func readInt(b []byte, tag byte, lo, hi int64) (int64, []byte, error) {
	c, rest, err := expect(b, tag)
	if err != nil {
		return 0, nil, err
	}
	v, err := parseInt(c)
	if err != nil {
		return 0, nil, err
	}
	if v < lo || v > hi {
		return 0, nil, errIntRange
	}
	return v, rest, nil
}

// parseBool decodes BOOLEAN contents: one octet, zero is FALSE. Any non-zero
// octet is accepted as TRUE (BER); we always send 0xFF.
func parseBool(c []byte) (bool, error) {
	if len(c) != 1 {
		return false, errBadBoolean
	}
	return c[0] != 0, nil
}

// checkElements reports whether b is a sequence of well-formed elements.
// It is used to skip SEQUENCE extensions (RFC 4511 section 4: extensibility
// implied) while still refusing garbage.
func checkElements(b []byte) error {
	for len(b) > 0 {
		_, _, r, err := readTLV(b)
		if err != nil {
			return err
		}
		b = r
	}
	return nil
}

// Writing.

// lenSize is the number of octets of the length field for n content octets.
func lenSize(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n <= 0xff:
		return 2
	case n <= 0xffff:
		return 3
	case n <= 0xffffff:
		return 4
	}
	return 5
}

// tlvSize is the encoded size of an element with n content octets.
func tlvSize(n int) int { return 1 + lenSize(n) + n }

func appendHeader(b []byte, tag byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, tag, byte(n))
	case n <= 0xff:
		return append(b, tag, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, tag, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, tag, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, tag, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendString(b []byte, tag byte, s string) []byte {
	return append(appendHeader(b, tag, len(s)), s...)
}

func appendBytes(b []byte, tag byte, s []byte) []byte {
	return append(appendHeader(b, tag, len(s)), s...)
}

// intSize is the number of content octets of the minimal encoding of v.
func intSize(v int64) int {
	n := 1
	for v > 127 || v < -128 {
		v >>= 8
		n++
	}
	return n
}

func appendInt(b []byte, tag byte, v int64) []byte {
	n := intSize(v)
	b = append(b, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*uint(i))))
	}
	return b
}

func appendBool(b []byte, tag byte, v bool) []byte {
	if v {
		return append(b, tag, 1, 0xff)
	}
	return append(b, tag, 1, 0)
}
