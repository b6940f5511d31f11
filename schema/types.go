package schema

import (
	"strconv"
	"strings"
)

// Usage is the USAGE of an attribute type (RFC 4512 section 4.1.2).
type Usage uint8

// Attribute usages.
const (
	UserApplications Usage = iota
	DirectoryOperation
	DistributedOperation
	DSAOperation
)

var usageNames = [...]string{"userApplications", "directoryOperation", "distributedOperation", "dSAOperation"}

func (u Usage) String() string {
	if int(u) < len(usageNames) {
		return usageNames[u]
	}
	return "Usage(" + strconv.Itoa(int(u)) + ")"
}

// ClassKind is the kind of an object class (RFC 4512 section 2.4).
type ClassKind uint8

// Object class kinds. Structural is the default when a definition names none.
const (
	Structural ClassKind = iota
	Abstract
	Auxiliary
)

func (k ClassKind) String() string {
	switch k {
	case Abstract:
		return "ABSTRACT"
	case Auxiliary:
		return "AUXILIARY"
	}
	return "STRUCTURAL"
}

// RuleKind says which kind of assertion a matching rule evaluates.
type RuleKind uint8

// Matching rule kinds.
const (
	EqualityRule RuleKind = iota
	OrderingRule
	SubstringRule
)

// Syntax is an LDAP syntax (RFC 4512 section 4.1.5). Validate reports
// whether a value conforms to the syntax's LDAP-specific encoding.
type Syntax struct {
	OID      string
	Desc     string
	Validate func([]byte) error

	binary bool // published with X-NOT-HUMAN-READABLE 'TRUE'
}

// String returns the RFC 4512 SyntaxDescription.
func (s *Syntax) String() string {
	var b strings.Builder
	b.WriteString("( ")
	b.WriteString(s.OID)
	if s.Desc != "" {
		b.WriteString(" DESC ")
		writeQDString(&b, s.Desc)
	}
	if s.binary {
		b.WriteString(" X-NOT-HUMAN-READABLE 'TRUE'")
	}
	b.WriteString(" )")
	return b.String()
}

// MatchingRule is a matching rule (RFC 4512 section 4.1.3). The functions
// that implement it are bound to the Schema that holds it, because some
// rules (distinguishedNameMatch, objectIdentifierMatch) consult the schema.
type MatchingRule struct {
	OID       string
	Names     []string
	SyntaxOID string // assertion syntax
	Kind      RuleKind

	norm    func([]byte) ([]byte, error)                // equality and substring: value normal form
	sub     func([]byte, SubstringPart) ([]byte, error) // substring rules only
	compare func(x, y []byte) (int, error)              // ordering rules only
	// appendNorm, when set, is norm appending a new normal form to dst
	// (the result may alias the value): see AttributeType.AppendNormalize.
	appendNorm func(dst, v []byte) ([]byte, error)
	// asciiPrep, for the string rules, is the preparation an ASCII
	// value's normal form takes (prepareASCII with these flags):
	// HasSubstringPrefix compares it as it goes.
	asciiPrep   prepFlags
	asciiPrefix bool
}

// Name returns the first name of the rule, or its OID.
func (m *MatchingRule) Name() string {
	if len(m.Names) > 0 {
		return m.Names[0]
	}
	return m.OID
}

// String returns the RFC 4512 MatchingRuleDescription.
func (m *MatchingRule) String() string {
	var b strings.Builder
	b.WriteString("( ")
	b.WriteString(m.OID)
	writeNames(&b, m.Names)
	b.WriteString(" SYNTAX ")
	b.WriteString(m.SyntaxOID)
	b.WriteString(" )")
	return b.String()
}

// AttributeType is a resolved attribute type (RFC 4512 section 2.5).
// Equality, Ordering, Substr and Syntax hold the effective values: when a
// definition leaves one out and names a supertype, the supertype's is used
// (RFC 4512 section 2.5.1). String() reproduces the definition as written.
type AttributeType struct {
	OID                string
	Names              []string
	Desc               string
	Sup                *AttributeType
	Equality           *MatchingRule
	Ordering           *MatchingRule
	Substr             *MatchingRule
	Syntax             *Syntax
	SyntaxLen          int
	SingleValue        bool
	Collective         bool
	NoUserModification bool
	Obsolete           bool
	Usage              Usage

	def *AttributeTypeDescription
}

// Name returns the primary (first) name, or the OID when there is none.
func (a *AttributeType) Name() string {
	if len(a.Names) > 0 {
		return a.Names[0]
	}
	return a.OID
}

// IsOperational reports whether the attribute type is operational, that is
// its usage is other than userApplications (RFC 4512 section 3.4).
func (a *AttributeType) IsOperational() bool { return a.Usage != UserApplications }

// IsSubtypeOf reports whether a is b or derives from b through SUP.
func (a *AttributeType) IsSubtypeOf(b *AttributeType) bool {
	for t := a; t != nil; t = t.Sup {
		if t == b {
			return true
		}
	}
	return false
}

// String returns the RFC 4512 AttributeTypeDescription.
func (a *AttributeType) String() string { return a.def.String() }

// ObjectClass is a resolved object class (RFC 4512 section 2.4).
type ObjectClass struct {
	OID      string
	Names    []string
	Desc     string
	Sup      []*ObjectClass
	Kind     ClassKind
	Must     []*AttributeType
	May      []*AttributeType
	Obsolete bool

	def      *ObjectClassDescription
	allMust  []*AttributeType
	allMay   []*AttributeType
	supers   []*ObjectClass // the class and all its superclasses
	extended bool           // extensibleObject or a subclass of it
}

// Name returns the primary (first) name, or the OID when there is none.
func (o *ObjectClass) Name() string {
	if len(o.Names) > 0 {
		return o.Names[0]
	}
	return o.OID
}

// String returns the RFC 4512 ObjectClassDescription.
func (o *ObjectClass) String() string { return o.def.String() }

// AllMust returns the required attribute types of the class and all its
// superclasses, without duplicates. The slice is shared: do not modify it.
func (o *ObjectClass) AllMust() []*AttributeType { return o.allMust }

// AllMay returns the allowed attribute types of the class and all its
// superclasses, without duplicates and without those in AllMust. The
// slice is shared: do not modify it.
func (o *ObjectClass) AllMay() []*AttributeType { return o.allMay }

// Superclasses returns the class itself followed by all its direct and
// indirect superclasses. The slice is shared: do not modify it.
func (o *ObjectClass) Superclasses() []*ObjectClass { return o.supers }

// IsSubclassOf reports whether o is c or derives from c.
func (o *ObjectClass) IsSubclassOf(c *ObjectClass) bool {
	for _, s := range o.supers {
		if s == c {
			return true
		}
	}
	return false
}

func writeNames(b *strings.Builder, names []string) {
	switch len(names) {
	case 0:
	case 1:
		b.WriteString(" NAME ")
		writeQDString(b, names[0])
	default:
		b.WriteString(" NAME (")
		for _, n := range names {
			b.WriteByte(' ')
			writeQDString(b, n)
		}
		b.WriteString(" )")
	}
}

// writeQDString writes s as an RFC 4512 qdstring, escaping ' and \ as
// \27 and \5C.
func writeQDString(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			b.WriteString(`\27`)
		case '\\':
			b.WriteString(`\5C`)
		default:
			b.WriteByte(s[i])
		}
	}
	b.WriteByte('\'')
}

func writeOIDList(b *strings.Builder, key string, list []string) {
	switch len(list) {
	case 0:
	case 1:
		b.WriteString(" " + key + " " + list[0])
	default:
		b.WriteString(" " + key + " (")
		for i, s := range list {
			if i > 0 {
				b.WriteString(" $")
			}
			b.WriteString(" " + s)
		}
		b.WriteString(" )")
	}
}
