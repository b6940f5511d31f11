package schema

import (
	"errors"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// NormalizeDN returns the canonical string form of dn used by
// distinguishedNameMatch: two DNs match iff their canonical forms are equal.
//
// Each attribute type becomes the lower-cased primary name of its type
// (its OID when it has no name); each value becomes the equality normal
// form under that type's EQUALITY rule (the value itself when there is
// none). Types the schema does not know are kept lower-cased and their
// values compared with caseIgnoreMatch, so DNs naming unknown types still
// work. The AVAs of a multi-valued RDN are sorted. Values are escaped as
// RFC 4514 section 2.4 requires, plus control characters and bytes that
// are not UTF-8, as \hh. An invalid value gives an invalidDNSyntax
// *ldap.Error.
func (s *Schema) NormalizeDN(dn ldap.DN) (string, error) {
	var b strings.Builder
	size := 0
	for _, rdn := range dn {
		for _, ava := range rdn {
			size += len(ava.Type) + len(ava.Value) + 2
		}
	}
	b.Grow(size + size/8) // room for a few escapes
	var avas []string
	var scratch []byte // every value's bytes in turn, for the matching rule
	for i, rdn := range dn {
		if i > 0 {
			b.WriteByte(',')
		}
		if len(rdn) == 1 {
			if err := s.writeAVA(&b, rdn[0], &scratch); err != nil {
				return "", err
			}
			continue
		}
		avas = avas[:0]
		for _, ava := range rdn {
			var ab strings.Builder
			if err := s.writeAVA(&ab, ava, &scratch); err != nil {
				return "", err
			}
			avas = append(avas, ab.String())
		}
		sort.Strings(avas)
		for j, a := range avas {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(a)
		}
	}
	return b.String(), nil
}

// NormalizeDNString parses an RFC 4514 DN and normalises it as NormalizeDN
// does. A parse error gives an invalidDNSyntax *ldap.Error.
func (s *Schema) NormalizeDNString(dn string) (string, error) {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return "", &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN: " + err.Error()}
	}
	return s.NormalizeDN(d)
}

// NormalizeRDN returns the canonical form of one RDN.
func (s *Schema) NormalizeRDN(rdn ldap.RDN) (string, error) {
	return s.NormalizeDN(ldap.DN{rdn})
}

// writeAVA writes the normal form of ava to b. *scratch is a buffer the
// value's bytes are copied into, reused from one AVA to the next.
func (s *Schema) writeAVA(b *strings.Builder, ava ldap.AVA, scratch *[]byte) error {
	a, ok := s.Attribute(ava.Type)
	v := append((*scratch)[:0], ava.Value...)
	*scratch = v
	var norm []byte
	var err error
	switch {
	case !ok:
		writeLower(b, ava.Type)
		norm, err = normCaseIgnore(v)
	case a.Equality == nil:
		writeLower(b, a.Name())
		norm = v
	default:
		writeLower(b, a.Name())
		if a.Syntax != nil {
			if err = a.Syntax.Validate(v); err != nil {
				break
			}
		}
		norm, err = a.Equality.norm(v)
	}
	if err == nil && len(norm) == 0 && len(v) > 0 {
		// Only characters preparation removes (controls, say): two such
		// values would name the same entry, and the normal form would
		// not be a DN.
		err = errors.New("value has no significant characters")
	}
	if err != nil {
		return &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN: " + ava.Type + ": " + err.Error()}
	}
	b.WriteByte('=')
	escapeDNValue(b, norm)
	return nil
}

// writeLower writes s to b with ASCII letters lower-cased (attribute
// type names and OIDs are ASCII).
func writeLower(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
}

const hexDigits = "0123456789abcdef"

// escapeDNValue writes v escaped per RFC 4514 section 2.4.
func escapeDNValue(b *strings.Builder, v []byte) {
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case (c == ' ' && (i == 0 || i == len(v)-1)) || (c == '#' && i == 0):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte('\\')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(v[i:])
			if r == utf8.RuneError && n <= 1 {
				b.WriteByte('\\')
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&15])
				i++
				continue
			}
			b.Write(v[i : i+n])
			i += n
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
}
