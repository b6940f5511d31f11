package ldif

import (
	"fmt"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/change"
)

// Attr is one attribute of an entry: its description as written (it may
// carry options such as "cn;lang-de") and its values in order. It is the
// change vocabulary's attribute, shared with the engine and the wire layer.
type Attr = change.Attribute

// Mod is one modification of a "changetype: modify" record; Op's LDIF
// keyword is its String ("add", "delete", "replace", "increment"). A
// delete with no values deletes the whole attribute; a replace with no
// values removes it too (RFC 4511 4.6).
type Mod struct {
	Op   change.ModOp
	Attr Attr
}

// Control is a "control:" line of a change record (RFC 2849 section 3).
type Control struct {
	OID      string
	Critical bool
	Value    []byte
	HasValue bool
}

// Record is one LDIF record: a content record (ChangeType "") or a change
// record.
type Record struct {
	Line       int    // line number of the record's "dn:" line (1-based)
	DN         string // may be "" (the root DSE)
	ChangeType string // "", "add", "delete", "modify" or "modrdn"

	Attrs []Attr // content and add records
	Mods  []Mod  // modify records

	// modrdn records
	NewRDN         string
	DeleteOldRDN   bool
	NewSuperior    string
	HasNewSuperior bool

	Controls []Control
}

// ParseError is a syntax error in LDIF input, with the 1-based line number
// of the offending (logical) line.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("ldif: line %d: %s", e.Line, e.Msg)
}

// Change types.
const (
	ChangeAdd    = "add"
	ChangeDelete = "delete"
	ChangeModify = "modify"
	ChangeModRDN = "modrdn"
)

func isAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isKeyChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == '-'
}

// validOID reports whether b is a numeric OID: digits separated by single
// dots (RFC 2849 ldap-oid, RFC 4512 numericoid without the leading-zero
// restriction).
func validOID[T string | []byte](b T) bool {
	if len(b) == 0 {
		return false
	}
	prevDot := true
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case isDigit(c):
			prevDot = false
		case c == '.' && !prevDot:
			prevDot = true
		default:
			return false
		}
	}
	return !prevDot
}

// validAttrDesc reports whether b is an RFC 2849 AttributeDescription:
// AttributeType *(";" option), where AttributeType is a numeric OID or a
// keystring and options are 1*(ALPHA / DIGIT / "-").
func validAttrDesc[T string | []byte](b T) bool {
	end := 0
	for end < len(b) && b[end] != ';' {
		end++
	}
	typ := b[:end]
	if len(typ) == 0 {
		return false
	}
	if isDigit(typ[0]) {
		if !validOID(typ) {
			return false
		}
	} else {
		if !isAlpha(typ[0]) {
			return false
		}
		for i := 1; i < len(typ); i++ {
			if !isKeyChar(typ[i]) {
				return false
			}
		}
	}
	// options
	n := 0
	for i := end; i < len(b); i++ {
		c := b[i]
		if c == ';' {
			if i != end && n == 0 {
				return false
			}
			n = 0
			continue
		}
		if !isKeyChar(c) {
			return false
		}
		n++
	}
	return end == len(b) || n > 0
}

// equalFold compares ASCII case-insensitively without allocating.
func equalFold[T string | []byte](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		x, y := b[i], s[i]
		if x != y {
			if x|0x20 != y|0x20 || !isAlpha(x) {
				return false
			}
		}
	}
	return true
}

// reserved reports whether an attribute description is an LDIF keyword that
// cannot appear as an attribute in a record body.
func reserved[T string | []byte](b T) bool {
	return equalFold(b, "dn") || equalFold(b, "changetype") || equalFold(b, "control")
}

// isSafeString reports whether v can be written as a plain value: an
// RFC 2849 SAFE-STRING that also does not end with a space (note 8).
func isSafeString[T string | []byte](v T) bool {
	if len(v) == 0 {
		return true
	}
	switch v[0] {
	case ' ', ':', '<':
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == 0 || c == '\n' || c == '\r' || c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
