package change

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Limits of the CSN fields, fixed by the text form.
const (
	MaxCounter = 1<<24 - 1 // six hex digits
	MaxReplica = 1<<12 - 1 // three hex digits
	MaxSub     = 1<<24 - 1
)

// MaxTime is the end of year 9999 in microseconds: the text form has four
// digits of year.
const MaxTime = 253402300799999999

// CSNSize is the length of a CSN's binary form.
const CSNSize = 16

// A CSN is a change sequence number. The zero CSN sorts before every
// other and stands for "nothing yet".
type CSN struct {
	Time    int64  // microseconds since the Unix epoch, UTC
	Counter uint32 // orders CSNs issued in the same microsecond
	Replica uint16 // the replica that issued it
	Sub     uint32 // the sub-operation within one change
}

// IsZero reports whether c is the zero CSN.
func (c CSN) IsZero() bool { return c == CSN{} }

// Compare returns -1, 0 or +1 as c sorts before, equal to or after d.
func (c CSN) Compare(d CSN) int {
	switch {
	case c.Time != d.Time:
		return cmp(c.Time < d.Time)
	case c.Counter != d.Counter:
		return cmp(c.Counter < d.Counter)
	case c.Replica != d.Replica:
		return cmp(c.Replica < d.Replica)
	case c.Sub != d.Sub:
		return cmp(c.Sub < d.Sub)
	}
	return 0
}

func cmp(less bool) int {
	if less {
		return -1
	}
	return 1
}

// Less reports whether c sorts before d.
func (c CSN) Less(d CSN) bool { return c.Compare(d) < 0 }

// WithSub returns c with the sub-operation number n: the parts of one
// change (each modified attribute, say) get their own CSNs that sort
// together.
func (c CSN) WithSub(n uint32) CSN {
	c.Sub = n
	return c
}

// Prev returns the largest CSN of c's replica below c (the zero CSN for
// the smallest).
func (c CSN) Prev() CSN {
	switch {
	case c.Sub > 0:
		c.Sub--
	case c.Counter > 0:
		c.Counter, c.Sub = c.Counter-1, MaxSub
	case c.Time > 0:
		c.Time, c.Counter, c.Sub = c.Time-1, MaxCounter, MaxSub
	default:
		return CSN{}
	}
	return c
}

// Wall returns the CSN's time.
func (c CSN) Wall() time.Time { return time.UnixMicro(c.Time).UTC() }

const textLayout = "20060102150405.000000Z"

// TextSize is the length of a CSN's text form.
const TextSize = len(textLayout) + 1 + 6 + 1 + 3 + 1 + 6

// String returns the text form, as OpenLDAP's entryCSN.
func (c CSN) String() string { return string(c.AppendText(nil)) }

// AppendText appends the text form to b.
func (c CSN) AppendText(b []byte) []byte {
	b = c.Wall().AppendFormat(b, textLayout)
	b = append(b, '#')
	b = appendHex(b, uint64(c.Counter), 6)
	b = append(b, '#')
	b = appendHex(b, uint64(c.Replica), 3)
	b = append(b, '#')
	return appendHex(b, uint64(c.Sub), 6)
}

func appendHex(b []byte, v uint64, width int) []byte {
	const digits = "0123456789abcdef"
	for i := width - 1; i >= 0; i-- {
		b = append(b, digits[(v>>(4*uint(i)))&0xf])
	}
	return b
}

// ErrCSNSyntax is returned (wrapped) by ParseCSN.
var ErrCSNSyntax = errors.New("change: invalid CSN")

// ParseCSN parses the text form. It accepts what OpenLDAP writes: the
// fields are hexadecimal of exactly 6, 3 and 6 digits, in either case.
func ParseCSN(s string) (CSN, error) {
	if len(s) != TextSize || s[22] != '#' || s[29] != '#' || s[33] != '#' {
		return CSN{}, fmt.Errorf("%w: %q is not YYYYmmddHHMMSS.uuuuuuZ#cccccc#sss#mmmmmm", ErrCSNSyntax, s)
	}
	t, err := time.Parse(textLayout, s[:22])
	if err != nil {
		return CSN{}, fmt.Errorf("%w: %q: bad time", ErrCSNSyntax, s)
	}
	if t.Year() < 1970 {
		return CSN{}, fmt.Errorf("%w: %q: before 1970", ErrCSNSyntax, s)
	}
	count, err1 := parseHex(s[23:29])
	rid, err2 := parseHex(s[30:33])
	sub, err3 := parseHex(s[34:40])
	if err1 != nil || err2 != nil || err3 != nil {
		return CSN{}, fmt.Errorf("%w: %q: bad hex field", ErrCSNSyntax, s)
	}
	return CSN{Time: t.UnixMicro(), Counter: uint32(count), Replica: uint16(rid), Sub: uint32(sub)}, nil
}

func parseHex(s string) (uint64, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return 0, ErrCSNSyntax
		}
	}
	return strconv.ParseUint(s, 16, 32)
}

// AppendBinary appends the 16-byte binary form, whose byte order is CSN
// order.
func (c CSN) AppendBinary(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time))
	b = append(b, byte(c.Counter>>16), byte(c.Counter>>8), byte(c.Counter))
	b = binary.BigEndian.AppendUint16(b, c.Replica)
	return append(b, byte(c.Sub>>16), byte(c.Sub>>8), byte(c.Sub))
}

// DecodeCSN reads a binary CSN from the first CSNSize bytes of b.
func DecodeCSN(b []byte) (CSN, error) {
	if len(b) < CSNSize {
		return CSN{}, fmt.Errorf("%w: %d bytes, want %d", ErrCSNSyntax, len(b), CSNSize)
	}
	t := binary.BigEndian.Uint64(b)
	if t > MaxTime {
		return CSN{}, fmt.Errorf("%w: time out of range", ErrCSNSyntax)
	}
	rid := binary.BigEndian.Uint16(b[11:13])
	if rid > MaxReplica {
		return CSN{}, fmt.Errorf("%w: replica ID %d out of range", ErrCSNSyntax, rid)
	}
	return CSN{
		Time:    int64(t),
		Counter: uint32(b[8])<<16 | uint32(b[9])<<8 | uint32(b[10]),
		Replica: rid,
		Sub:     uint32(b[13])<<16 | uint32(b[14])<<8 | uint32(b[15]),
	}, nil
}
