package merge

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/switchboard-ldap/switchboard/change"
)

// OpFormat is the version of the binary form of an Op that AppendBinary
// writes. It is the first byte of every encoded Op, part of the log and
// wire formats, and only ever grows.
const OpFormat = 1

// ErrOpSyntax is returned (wrapped) by DecodeOp.
var ErrOpSyntax = errors.New("replication: invalid encoded operation")

// AppendBinary appends the binary form of o (see "Operation format" in
// the package doc) to b.
func (o *Op) AppendBinary(b []byte) []byte {
	b = append(b, OpFormat)
	b = o.CSN.AppendBinary(b)
	b = append(b, byte(o.Kind))
	b = append(b, o.Entry[:]...)
	switch o.Kind {
	case change.Add:
		b = append(b, o.Parent[:]...)
		b = appendString(b, o.RDN)
		b = binary.AppendUvarint(b, uint64(len(o.Attrs)))
		for _, a := range o.Attrs {
			b = appendString(b, a.Name)
			b = appendStrings(b, a.Values)
		}
	case change.Modify:
		b = binary.AppendUvarint(b, uint64(len(o.Mods)))
		for _, m := range o.Mods {
			b = append(b, byte(m.Op)+1) // the op log's values: 1 add, 2 delete, 3 replace
			b = appendString(b, m.Attr)
			b = appendStrings(b, m.Values)
		}
	case change.ModRDN:
		b = append(b, o.Parent[:]...)
		b = appendString(b, o.RDN)
		if o.DeleteOldRDN {
			b = append(b, 1)
			b = appendString(b, o.OldRDN)
		} else {
			b = append(b, 0)
		}
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendStrings(b []byte, ss []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(ss)))
	for _, s := range ss {
		b = appendString(b, s)
	}
	return b
}

// DecodeOp decodes the binary form of an Op. It accepts exactly what
// AppendBinary writes: the encoding is canonical, so equal operations
// have equal encodings. It checks the form, not the meaning: Apply still
// refuses an operation whose RDN does not parse, say.
func DecodeOp(b []byte) (Op, error) {
	d := opDecoder{b: b}
	o := d.op()
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the operation", len(d.b))
	}
	if d.err != nil {
		return Op{}, d.err
	}
	return o, nil
}

type opDecoder struct {
	b   []byte
	off int // bytes consumed, for error messages
	err error
}

func (d *opDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrOpSyntax, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *opDecoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	out := d.b[:n]
	d.b, d.off = d.b[n:], d.off+n
	return out
}

func (d *opDecoder) byte() byte {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

// csn reads a CSN in its binary form (zero once the input failed).
func (d *opDecoder) csn() change.CSN {
	p := d.take(change.CSNSize)
	if p == nil {
		return change.CSN{}
	}
	c, err := change.DecodeCSN(p)
	if err != nil {
		d.fail("%v", err)
	}
	return c
}

func (d *opDecoder) uuid() UUID {
	var u UUID
	copy(u[:], d.take(len(u)))
	return u
}

// count reads a uvarint count of items that take at least min bytes each
// and refuses counts the remaining input cannot hold.
func (d *opDecoder) count(min int) int {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad length")
		return 0
	}
	if n != uvarintLen(v) {
		d.fail("length not in its shortest form")
		return 0
	}
	d.b, d.off = d.b[n:], d.off+n
	if v > uint64(len(d.b)/min) {
		d.fail("length %d beyond the input", v)
		return 0
	}
	return int(v)
}

// uvarintLen is the length of v's shortest uvarint form, without the
// allocation of measuring binary.AppendUvarint(nil, v).
func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

func (d *opDecoder) string() string {
	return string(d.take(d.count(1)))
}

func (d *opDecoder) strings() []string {
	n := d.count(1)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		out = append(out, d.string())
	}
	return out
}

func (d *opDecoder) op() Op {
	if v := d.byte(); d.err == nil && v != OpFormat {
		d.fail("format %d, want %d", v, OpFormat)
	}
	var o Op
	o.CSN = d.csn()
	o.Kind = change.Kind(d.byte())
	o.Entry = d.uuid()
	if d.err != nil {
		return o
	}
	switch o.Kind {
	case change.Add:
		o.Parent = d.uuid()
		o.RDN = d.string()
		if n := d.count(2); n > 0 {
			o.Attrs = make([]Attribute, 0, n)
			for range n {
				o.Attrs = append(o.Attrs, Attribute{Name: d.string(), Values: d.strings()})
			}
		}
	case change.Modify:
		if n := d.count(3); n > 0 {
			o.Mods = make([]Mod, 0, n)
			for range n {
				// Stored as the change.ModOp plus one (1 add, 2 delete,
				// 3 replace).
				k := d.byte()
				if d.err == nil && (k < 1 || k > 3) {
					d.fail("modification kind %d", k)
				}
				o.Mods = append(o.Mods, Mod{Op: change.ModOp(k - 1), Attr: d.string(), Values: d.strings()})
			}
		}
	case change.Delete:
	case change.ModRDN:
		o.Parent = d.uuid()
		o.RDN = d.string()
		switch d.byte() {
		case 0:
		case 1:
			o.DeleteOldRDN = true
			o.OldRDN = d.string()
		default:
			d.fail("bad modrdn flags")
		}
	default:
		d.fail("operation kind %d", o.Kind)
	}
	return o
}
