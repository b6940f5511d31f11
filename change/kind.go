package change

import (
	"fmt"
)

// A Kind is the kind of a write: the LDAP update operation it was. The
// values are part of the on-disk and wire formats (the RFC 4533 changelog
// record and the replication op log store them as one byte) and must not
// change. The zero Kind is no kind.
type Kind uint8

// Kinds of writes.
const (
	Add    Kind = 1
	Modify Kind = 2
	Delete Kind = 3
	ModRDN Kind = 4 // a ModifyDN request: rename, move or both
)

// String returns the kind's LDIF changetype ("add", "modify", "delete",
// "modrdn").
func (k Kind) String() string {
	switch k {
	case Add:
		return "add"
	case Modify:
		return "modify"
	case Delete:
		return "delete"
	case ModRDN:
		return "modrdn"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is one of the four kinds.
func (k Kind) Valid() bool { return Add <= k && k <= ModRDN }

// A ModOp is the operation of one modification of a modify. The values
// are RFC 4511's (section 4.6; increment is RFC 4525's), as the protocol
// and the RFC 4533 changelog record encode them. The replication op log
// stores a ModOp as its value plus one (see package replication).
type ModOp uint8

// Modification operations.
const (
	// ModAdd adds values.
	ModAdd ModOp = 0
	// ModDelete deletes the listed values, or the whole attribute when
	// no value is listed.
	ModDelete ModOp = 1
	// ModReplace deletes the attribute and adds the listed values (none:
	// the attribute is removed).
	ModReplace ModOp = 2
	// ModIncrement adds its one value to every value of an integer
	// attribute.
	ModIncrement ModOp = 3
)

// String returns the operation's LDIF keyword ("add", "delete",
// "replace", "increment").
func (o ModOp) String() string {
	switch o {
	case ModAdd:
		return "add"
	case ModDelete:
		return "delete"
	case ModReplace:
		return "replace"
	case ModIncrement:
		return "increment"
	}
	return fmt.Sprintf("ModOp(%d)", uint8(o))
}

// Valid reports whether o is one of the four operations.
func (o ModOp) Valid() bool { return o <= ModIncrement }

// An Attribute is an attribute description and its values, in order.
type Attribute struct {
	Name   string
	Values [][]byte
}
