package ldap

// Distinguished names in their RFC 4514 string form.

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// MaxDNRDNs bounds the number of RDNs ParseDN accepts.
const MaxDNRDNs = 512

// AVA is one attribute type and value of an RDN. Value is unescaped: for
// the #hex form it holds the decoded octets.
type AVA struct {
	Type, Value string
}

// RDN is a relative distinguished name: one or more AVAs joined by '+'.
type RDN []AVA

// DN is a distinguished name. DN[0] is the leftmost (most specific) RDN;
// the root DN has no RDNs.
type DN []RDN

// ErrDNSyntax wraps every ParseDN error.
var ErrDNSyntax = errors.New("ldap: invalid DN syntax")

type dnSyntaxError struct {
	pos int
	msg string
}

func (e *dnSyntaxError) Error() string {
	return "ldap: invalid DN at offset " + itoa(e.pos) + ": " + e.msg
}

func (e *dnSyntaxError) Unwrap() error { return ErrDNSyntax }

// ParseDN parses an RFC 4514 distinguished name. The empty string is the
// root DN. As RFC 4514 section 4 permits, spaces around ',', '+' and '='
// are ignored, as is ';' used as an RDN separator (RFC 2253). Attribute
// types are descriptors or numeric OIDs; values use the string form with
// '\' escapes or the '#' hex form. Values must be valid UTF-8 (hex form
// excepted), and the characters '"', '+', ',', ';', '<', '>', '\' and NUL
// must be escaped.
func ParseDN(s string) (DN, error) { return parseDN(s, true) }

// parseDN is ParseDN; with plain false every value takes the general
// unescaping path (the fuzz target checks both paths agree).
func parseDN(s string, plain bool) (DN, error) {
	if s == "" {
		return DN{}, nil
	}
	if !utf8.ValidString(s) {
		return nil, &dnSyntaxError{0, "invalid UTF-8"}
	}
	p := dnParser{s: s, noPlain: !plain}
	// Two allocations for the usual DN: the RDN list and one array that
	// every RDN's AVAs are cut from, sized by the separators (escaped
	// ones only make it larger than needed).
	seps := strings.Count(s, ",") + strings.Count(s, ";") + 1
	dn := make(DN, 0, min(seps, MaxDNRDNs))
	avas := make([]AVA, 0, min(seps+strings.Count(s, "+"), 4*MaxDNRDNs))
	start := 0 // the current RDN's first AVA in avas
	for {
		ava, err := p.ava()
		if err != nil {
			return nil, err
		}
		avas = append(avas, ava) // should it grow, the RDNs cut so far keep the old array
		if p.pos == len(s) {
			dn = append(dn, RDN(avas[start:len(avas):len(avas)]))
			break
		}
		switch s[p.pos] {
		case '+':
			p.pos++
			continue
		case ',', ';':
			p.pos++
			dn = append(dn, RDN(avas[start:len(avas):len(avas)]))
			start = len(avas)
			if len(dn) >= MaxDNRDNs {
				return nil, p.errf("too many RDNs")
			}
		default:
			return nil, p.errf("expected ',' or '+'")
		}
	}
	return dn, nil
}

type dnParser struct {
	s       string
	pos     int
	noPlain bool // tests: no plainValue fast path
}

func (p *dnParser) errf(msg string) error { return &dnSyntaxError{p.pos, msg} }

func (p *dnParser) skipSpaces() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// attrType reads descr / numericoid (RFC 4512 section 1.4).
func (p *dnParser) attrType() (string, error) {
	start := p.pos
	if p.pos >= len(p.s) {
		return "", p.errf("missing attribute type")
	}
	switch c := p.s[p.pos]; {
	case isAlpha(c):
		for p.pos < len(p.s) && (isAlpha(p.s[p.pos]) || isDigit(p.s[p.pos]) || p.s[p.pos] == '-') {
			p.pos++
		}
	case isDigit(c):
		for {
			if p.pos >= len(p.s) || !isDigit(p.s[p.pos]) {
				return "", p.errf("bad numeric OID")
			}
			if p.s[p.pos] == '0' && p.pos+1 < len(p.s) && isDigit(p.s[p.pos+1]) {
				return "", p.errf("leading zero in numeric OID")
			}
			for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
				p.pos++
			}
			if p.pos < len(p.s) && p.s[p.pos] == '.' {
				p.pos++
				continue
			}
			break
		}
	default:
		return "", p.errf("missing attribute type")
	}
	return p.s[start:p.pos], nil
}

func (p *dnParser) ava() (AVA, error) {
	p.skipSpaces()
	t, err := p.attrType()
	if err != nil {
		return AVA{}, err
	}
	p.skipSpaces()
	if p.pos >= len(p.s) || p.s[p.pos] != '=' {
		return AVA{}, p.errf("expected '='")
	}
	p.pos++
	p.skipSpaces()
	v, err := p.value()
	if err != nil {
		return AVA{}, err
	}
	return AVA{Type: t, Value: v}, nil
}

// value reads an attribute value and the unescaped spaces after it.
func (p *dnParser) value() (string, error) {
	s := p.s
	if p.pos < len(s) && s[p.pos] == '#' {
		// hexstring = SHARP 1*hexpair
		p.pos++
		start := p.pos
		for p.pos < len(s) && s[p.pos] != ',' && s[p.pos] != '+' && s[p.pos] != ';' && s[p.pos] != ' ' {
			p.pos++
		}
		h := s[start:p.pos]
		if len(h) == 0 || len(h)%2 != 0 {
			return "", p.errf("bad hex value")
		}
		out := make([]byte, len(h)/2)
		for i := range out {
			hi, ok1 := unhex(h[2*i])
			lo, ok2 := unhex(h[2*i+1])
			if !ok1 || !ok2 {
				return "", &dnSyntaxError{start + 2*i, "bad hex value"}
			}
			out[i] = hi<<4 | lo
		}
		p.skipSpaces()
		return string(out), nil
	}
	// Most values need no unescaping: return them as a substring of the
	// DN, with no copy.
	if !p.noPlain {
		if v, ok := p.plainValue(); ok {
			return v, nil
		}
	}
	var out []byte
	keep := 0 // length of out without trailing unescaped spaces
	for p.pos < len(s) {
		c := s[p.pos]
		switch c {
		case ',', '+', ';':
			goto done
		case '\\':
			if p.pos+1 >= len(s) {
				return "", p.errf("truncated escape")
			}
			e := s[p.pos+1]
			switch e {
			case ' ', '"', '#', '+', ',', ';', '<', '=', '>', '\\':
				out = append(out, e)
				p.pos += 2
			default:
				if p.pos+2 >= len(s) {
					return "", p.errf("bad escape")
				}
				hi, ok1 := unhex(e)
				lo, ok2 := unhex(s[p.pos+2])
				if !ok1 || !ok2 {
					return "", p.errf("bad escape")
				}
				out = append(out, hi<<4|lo)
				p.pos += 3
			}
			keep = len(out)
		case 0, '"', '<', '>':
			return "", p.errf("character must be escaped")
		default:
			out = append(out, c)
			p.pos++
			if c != ' ' {
				keep = len(out)
			}
		}
	}
done:
	out = out[:keep]
	if !utf8.Valid(out) {
		return "", p.errf("value is not valid UTF-8")
	}
	return string(out), nil
}

// plainValue reads a value made only of printable ASCII that needs no
// unescaping, up to the next separator, dropping the spaces after it; it
// reports false, reading nothing, for any other value (escapes, quotes,
// control or non-ASCII bytes), which value then reads the long way.
func (p *dnParser) plainValue() (string, bool) {
	s := p.s
	end, keep := p.pos, p.pos
	for ; end < len(s); end++ {
		c := s[end]
		if c == ',' || c == '+' || c == ';' {
			break
		}
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '<' || c == '>' {
			return "", false
		}
		if c != ' ' {
			keep = end + 1
		}
	}
	v := s[p.pos:keep]
	p.pos = end
	return v, true
}

// IsRoot reports whether d is the root DN (no RDNs).
func (d DN) IsRoot() bool { return len(d) == 0 }

// Parent returns the DN of d's superior: d without its first RDN. The
// parent of the root DN is the root DN.
func (d DN) Parent() DN {
	if len(d) == 0 {
		return d
	}
	return d[1:]
}

// String returns the RFC 4514 form of d with minimal escaping.
func (d DN) String() string {
	var b strings.Builder
	for i, r := range d {
		if i > 0 {
			b.WriteByte(',')
		}
		r.appendTo(&b)
	}
	return b.String()
}

// String returns the RFC 4514 form of r, its AVAs joined with '+'.
func (r RDN) String() string {
	var b strings.Builder
	r.appendTo(&b)
	return b.String()
}

func (r RDN) appendTo(b *strings.Builder) {
	for i, a := range r {
		if i > 0 {
			b.WriteByte('+')
		}
		b.WriteString(a.Type)
		b.WriteByte('=')
		writeDNValue(b, a.Value)
	}
}

// writeDNValue escapes v per RFC 4514 section 2.4. Values that are not
// valid UTF-8 (which only the #hex form can produce) are written in #hex
// form so that parsing the output gives back the same octets.
func writeDNValue(b *strings.Builder, v string) {
	const hex = "0123456789abcdef"
	if !utf8.ValidString(v) {
		b.WriteByte('#')
		for i := 0; i < len(v); i++ {
			b.WriteByte(hex[v[i]>>4])
			b.WriteByte(hex[v[i]&0xf])
		}
		return
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		case i == 0 && (c == ' ' || c == '#'):
			b.WriteByte('\\')
			b.WriteByte(c)
		case i == len(v)-1 && c == ' ':
			b.WriteString(`\ `)
		default:
			b.WriteByte(c)
		}
	}
}
