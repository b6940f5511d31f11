// Package index defines Switchboard's attribute indexes: which keys an
// attribute value produces for each kind of index, and how a query reads
// them back as posting lists of entry IDs.
//
// # Kinds
//
//	pres    presence:     the entry has the attribute
//	eq      equality:     the value's equality normal form
//	sub     substrings:   byte trigrams of the substring normal form,
//	                      anchored at the start (0x01) and end (0x02)
//	ord     ordering:     an order-preserving key of the value, for >= <=
//	approx  approximate:  the phonetic key of schema.AttributeType.ApproxKey
//
// # Key layout (part of the store's format)
//
// Every index key ends with the entry ID (8 bytes, big-endian) and has an
// empty value: a posting list is the set of keys under one prefix, which
// Badger returns in ID order. One key per (value, entry) means that writes
// to the same posting list from concurrent transactions never touch the
// same key, so they do not conflict, and that reading a posting list is a
// prefix scan of prefix-compressed keys.
//
//	'p' | len(attr) | attr | ID                                presence
//	'i' | len(attr) | attr | uvarint len(v) | v | ID           equality
//	's' | len(attr) | attr | len(g) | g | ID                   substring gram
//	'o' | len(attr) | attr | esc(k) 0x00 0x00 | ID             ordering
//	'a' | len(attr) | attr | uvarint len(k) | k | ID           approximate
//
// attr is the lower-cased primary name of the attribute type. Equality
// values longer than 256 bytes are stored as their first 256 bytes and
// their SHA-256 (candidates are always re-checked against the filter).
// Ordering keys are escaped (0x00 becomes 0x00 0xFF) and terminated by
// 0x00 0x00 so that byte order of keys is the order of values, whatever
// their lengths; integers become sign | length | digits, times the
// big-endian UTC nanoseconds with the sign bit flipped.
//
// Queries combine posting lists in the directory package's planner; sets
// that are not in ID order (ordering ranges, unions) are gathered into
// roaring bitmaps.
package index

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/switchboard-ldap/switchboard/schema"
)

// Kind is a set of index kinds.
type Kind uint8

// Index kinds.
const (
	Presence Kind = 1 << iota
	Equality
	Substring
	Ordering
	Approx
)

// Key prefixes, part of the on-disk format.
const (
	PrefixPresence  byte = 'p'
	PrefixEquality  byte = 'i'
	PrefixSubstring byte = 's'
	PrefixOrdering  byte = 'o'
	PrefixApprox    byte = 'a'
)

var kindNames = []struct {
	name string
	kind Kind
}{{"pres", Presence}, {"eq", Equality}, {"sub", Substring}, {"ord", Ordering}, {"approx", Approx}}

// ParseKinds parses index kind names: pres, eq, sub, ord, approx.
func ParseKinds(names []string) (Kind, error) {
	var k Kind
	for _, n := range names {
		found := false
		for _, kn := range kindNames {
			if strings.EqualFold(n, kn.name) || (kn.kind == Ordering && strings.EqualFold(n, "ordering")) {
				k |= kn.kind
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("index: unknown index kind %q (want pres, eq, sub, ord or approx)", n)
		}
	}
	return k, nil
}

// String lists the kinds, comma-separated.
func (k Kind) String() string {
	var parts []string
	for _, kn := range kindNames {
		if k&kn.kind != 0 {
			parts = append(parts, kn.name)
		}
	}
	return strings.Join(parts, ",")
}

// Attribute is one indexed attribute type with its kinds.
type Attribute struct {
	Type  *schema.AttributeType
	Kinds Kind
	name  string // lower-cased primary name, as in keys
	order orderFunc
}

// Config is the set of indexed attributes. It is immutable once built.
type Config struct {
	attrs  map[string]*Attribute // by lower-cased primary name
	byType map[*schema.AttributeType]*Attribute
}

// NewConfig resolves attribute names against the schema and checks that
// each kind is possible for the type (an equality index needs an equality
// rule, and so on).
func NewConfig(s *schema.Schema, spec map[string][]string) (*Config, error) {
	c := &Config{attrs: map[string]*Attribute{}}
	for name, kinds := range spec {
		at, ok := s.Attribute(name)
		if !ok {
			return nil, fmt.Errorf("index: attribute %q is not in the schema", name)
		}
		k, err := ParseKinds(kinds)
		if err != nil {
			return nil, fmt.Errorf("index %s: %w", name, err)
		}
		a := &Attribute{Type: at, Kinds: k, name: strings.ToLower(at.Name())}
		if k&(Equality|Approx) != 0 && at.Equality == nil {
			return nil, fmt.Errorf("index %s: eq and approx need an EQUALITY matching rule", name)
		}
		if k&Substring != 0 && at.Substr == nil {
			return nil, fmt.Errorf("index %s: sub needs a SUBSTR matching rule", name)
		}
		if k&Ordering != 0 {
			if a.order = orderFor(at); a.order == nil {
				return nil, fmt.Errorf("index %s: no ordering index for its ORDERING rule", name)
			}
		}
		if prev, dup := c.attrs[a.name]; dup {
			prev.Kinds |= k
			continue
		}
		c.attrs[a.name] = a
	}
	c.byType = make(map[*schema.AttributeType]*Attribute, len(c.attrs))
	for _, a := range c.attrs {
		c.byType[a.Type] = a
	}
	return c, nil
}

// Lookup returns the index of an attribute type, or nil.
func (c *Config) Lookup(at *schema.AttributeType) *Attribute {
	if c == nil || at == nil {
		return nil
	}
	return c.byType[at]
}

// Attributes returns every indexed attribute.
func (c *Config) Attributes() []*Attribute {
	out := make([]*Attribute, 0, len(c.attrs))
	for _, a := range c.attrs {
		out = append(out, a)
	}
	return out
}

// Has reports whether the attribute has every kind in k.
func (a *Attribute) Has(k Kind) bool { return a != nil && a.Kinds&k == k }

// Name is the attribute's name as it appears in keys.
func (a *Attribute) Name() string { return a.name }

func (a *Attribute) head(prefix byte, extra int) []byte {
	b := make([]byte, 0, 2+len(a.name)+extra+8)
	b = append(b, prefix, byte(len(a.name)))
	return append(b, a.name...)
}

const maxEqualityBytes = 256

// PresencePrefix is the prefix of the presence posting list.
func (a *Attribute) PresencePrefix() []byte { return a.head(PrefixPresence, 0) }

// EqualityPrefix is the prefix of the posting list of one normalised value.
func (a *Attribute) EqualityPrefix(norm []byte) []byte {
	if len(norm) > maxEqualityBytes {
		sum := sha256.Sum256(norm)
		norm = append(append([]byte(nil), norm[:maxEqualityBytes]...), sum[:]...)
	}
	b := a.head(PrefixEquality, binary.MaxVarintLen32+len(norm))
	b = binary.AppendUvarint(b, uint64(len(norm)))
	return append(b, norm...)
}

// GramPrefix is the prefix of the posting list of one substring gram.
func (a *Attribute) GramPrefix(g []byte) []byte {
	b := a.head(PrefixSubstring, 1+len(g))
	b = append(b, byte(len(g)))
	return append(b, g...)
}

// ApproxPrefix is the prefix of the posting list of one phonetic key.
func (a *Attribute) ApproxPrefix(key []byte) []byte {
	b := a.head(PrefixApprox, binary.MaxVarintLen32+len(key))
	b = binary.AppendUvarint(b, uint64(len(key)))
	return append(b, key...)
}

// OrderingPrefix is the prefix shared by every ordering key of the attribute.
func (a *Attribute) OrderingPrefix() []byte { return a.head(PrefixOrdering, 0) }

// OrderingBound is the key of value k (from OrderKey) without the ID:
// every key of a value >= v sorts at or after OrderingBound(v).
func (a *Attribute) OrderingBound(k []byte) []byte {
	b := a.head(PrefixOrdering, len(k)+len(k)/8+2)
	return appendEscaped(b, k)
}

// OrderKey returns the order-preserving key of a value, or false if the
// value does not parse under the ordering rule.
func (a *Attribute) OrderKey(v []byte) ([]byte, bool) {
	if a.order == nil {
		return nil, false
	}
	return a.order(v)
}

// Keys appends to dst the index keys of one attribute's values for entry id.
func (a *Attribute) Keys(dst [][]byte, values [][]byte, id uint64) [][]byte {
	withID := func(b []byte) []byte { return binary.BigEndian.AppendUint64(b, id) }
	if a.Kinds&Presence != 0 && len(values) > 0 {
		dst = append(dst, withID(a.PresencePrefix()))
	}
	for _, v := range values {
		if a.Kinds&Equality != 0 {
			if n, err := a.Type.Normalize(v); err == nil {
				dst = append(dst, withID(a.EqualityPrefix(n)))
			}
		}
		if a.Kinds&Approx != 0 {
			if k := a.Type.ApproxKey(v); len(k) > 0 {
				dst = append(dst, withID(a.ApproxPrefix(k)))
			}
		}
		if a.Kinds&Ordering != 0 {
			if k, ok := a.order(v); ok {
				dst = append(dst, withID(a.OrderingBound(k)))
			}
		}
		if a.Kinds&Substring != 0 {
			if sv, err := a.Type.SubstringValue(v); err == nil {
				for _, g := range ValueGrams(sv) {
					dst = append(dst, withID(a.GramPrefix(g)))
				}
			}
		}
	}
	return dst
}

// appendEscaped writes k so that byte order is preserved across lengths:
// 0x00 becomes 0x00 0xFF, and 0x00 0x00 ends the key.
func appendEscaped(b, k []byte) []byte {
	for _, c := range k {
		b = append(b, c)
		if c == 0 {
			b = append(b, 0xFF)
		}
	}
	return append(b, 0, 0)
}

// EqualityHead is the prefix shared by every equality key of the attribute.
func (a *Attribute) EqualityHead() []byte { return a.head(PrefixEquality, 0) }

// EqualityValue returns the value part of an equality key's rest (the key
// after EqualityHead, without the ID): the normal form, and false when the
// key holds a long value's prefix and hash (or is malformed), which does
// not keep the value's order.
func EqualityValue(rest []byte) ([]byte, bool) {
	n, w := binary.Uvarint(rest)
	if w <= 0 || n > maxEqualityBytes || uint64(len(rest)-w) != n {
		return nil, false
	}
	return rest[w:], true
}

// AppendOrderingValue appends to out the order-preserving key (OrderKey's
// result) held in an ordering key's rest (the key after OrderingPrefix,
// without the ID); false when it is malformed.
func AppendOrderingValue(out, rest []byte) ([]byte, bool) {
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c != 0 {
			out = append(out, c)
			continue
		}
		if i+1 >= len(rest) {
			return nil, false
		}
		switch rest[i+1] {
		case 0:
			return out, i+2 == len(rest)
		case 0xFF:
			out = append(out, 0)
			i++
		default:
			return nil, false
		}
	}
	return nil, false
}
