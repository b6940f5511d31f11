package schema

import (
	"bytes"
	"strings"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Attr is one attribute of an entry being checked: its resolved type, its
// options and its values. An entry may carry several Attrs of one type
// with different options (cn and cn;lang-en).
type Attr struct {
	Type    *AttributeType
	Options []string
	Values  [][]byte
}

func violation(code ldap.ResultCode, msg string) *ldap.Error {
	return &ldap.Error{Code: code, Message: msg}
}

// ResolveObjectClasses looks up objectClass values. An unknown class gives
// an invalidAttributeSyntax (21) *ldap.Error, as OpenLDAP answers
// ("objectClass: value #n invalid per syntax"): the value is not an object
// class the schema knows, so it is not a valid value of objectClass.
func (s *Schema) ResolveObjectClasses(values [][]byte) ([]*ObjectClass, *ldap.Error) {
	out := make([]*ObjectClass, 0, len(values))
	for i, v := range values {
		o, ok := s.ObjectClass(string(v))
		if !ok {
			return nil, violation(ldap.InvalidAttributeSyntax, "objectClass: value #"+itoa(i)+" invalid per syntax: unrecognized objectClass "+quote(string(v)))
		}
		if !containsOC(out, o) {
			out = append(out, o)
		}
	}
	return out, nil
}

// StructuralClass returns the structural object class of an entry with the
// given objectClass values (RFC 4512 section 2.4.2): the most subordinate
// structural class, all other structural classes listed being its
// superclasses. An error is an *ldap.Error: objectClassViolation when there
// is no structural class or two unrelated ones, invalidAttributeSyntax for
// an unknown class.
func (s *Schema) StructuralClass(ocs [][]byte) (*ObjectClass, error) {
	classes, lerr := s.ResolveObjectClasses(ocs)
	if lerr != nil {
		return nil, lerr
	}
	o, lerr := structuralOf(classes)
	if lerr != nil {
		return nil, lerr
	}
	return o, nil
}

func structuralOf(classes []*ObjectClass) (*ObjectClass, *ldap.Error) {
	var sc *ObjectClass
	for _, o := range classes {
		if o.Kind != Structural {
			continue
		}
		switch {
		case sc == nil || o.IsSubclassOf(sc):
			sc = o
		case sc.IsSubclassOf(o):
		default:
			return nil, violation(ldap.ObjectClassViolation, "invalid structural object class chain ("+sc.Name()+"/"+o.Name()+")")
		}
	}
	if sc == nil {
		return nil, violation(ldap.ObjectClassViolation, "no structural object class provided")
	}
	return sc, nil
}

// CheckStructuralChange returns objectClassModsProhibited (69) when a
// modification would change the structural object class of an entry
// (RFC 4512 section 2.4.2); the caller passes the objectClass values
// before and after the modification.
func (s *Schema) CheckStructuralChange(before, after [][]byte) *ldap.Error {
	ob, err := s.StructuralClass(before)
	if err != nil {
		return nil // the old entry is already broken; let Check report the new one
	}
	oa, err := s.StructuralClass(after)
	if err != nil {
		return err.(*ldap.Error)
	}
	if oa != ob {
		return violation(ldap.ObjectClassModsProhibited, "structural object class modification from "+quote(ob.Name())+" to "+quote(oa.Name())+" not allowed")
	}
	return nil
}

// InRDN reports whether value of attribute type a is one of the AVAs of
// rdn, comparing values with a's equality rule (bytes when it has none).
// The engine uses it for notAllowedOnRDN (67): a modify must not remove a
// value that names the entry.
func (s *Schema) InRDN(rdn ldap.RDN, a *AttributeType, value []byte) bool {
	for _, ava := range rdn {
		t, ok := s.Attribute(ava.Type)
		if !ok || t != a {
			continue
		}
		if a.Equality == nil {
			if string(value) == ava.Value {
				return true
			}
			continue
		}
		if eq, err := a.Equal(value, []byte(ava.Value)); err == nil && eq {
			return true
		}
	}
	return false
}

// Check validates an entry against the schema and returns nil or an
// *ldap.Error with the result code an add (or the result of a modify)
// should fail with. objectClasses are the objectClass values; attrs are
// the other attributes (an objectClass Attr in attrs is ignored). rdn is
// the entry's RDN (nil skips the naming check). In order:
//
//   - no objectClass values: objectClassViolation (65);
//   - an unknown object class: invalidAttributeSyntax (21), as OpenLDAP;
//   - no structural class, or two not in one superclass chain (which also
//     covers entries with only abstract or auxiliary classes):
//     objectClassViolation (65);
//   - an attribute with no values, or a value failing its syntax:
//     invalidAttributeSyntax (21);
//   - several values of a SINGLE-VALUE type: constraintViolation (19);
//   - two equal values (by the equality rule): attributeOrValueExists (20);
//   - a user attribute no class allows (unless extensibleObject is
//     present; operational attributes are not governed by classes; a
//     subtype of an allowed type is allowed, as in OpenLDAP):
//     objectClassViolation (65);
//   - a MUST attribute missing (any subtype or option satisfies it):
//     objectClassViolation (65);
//   - an RDN value not present in the entry: namingViolation (64).
func (s *Schema) Check(rdn ldap.RDN, objectClasses [][]byte, attrs []Attr) *ldap.Error {
	if len(objectClasses) == 0 {
		return violation(ldap.ObjectClassViolation, "no objectClass attribute")
	}
	if err := s.objectClassAttr.DedupCheck(objectClasses); err != nil {
		return err.(*ldap.Error)
	}
	classes, lerr := s.ResolveObjectClasses(objectClasses)
	if lerr != nil {
		return lerr
	}
	if _, lerr := structuralOf(classes); lerr != nil {
		return lerr
	}
	extensible := false
	for _, o := range classes {
		if o.extended {
			extensible = true
		}
	}
	for i := range attrs {
		at := &attrs[i]
		a := at.Type
		if a == s.objectClassAttr {
			continue
		}
		if len(at.Values) == 0 {
			return violation(ldap.InvalidAttributeSyntax, a.Name()+": no values")
		}
		if a.Syntax != nil {
			for j, v := range at.Values {
				if err := a.Syntax.Validate(v); err != nil {
					return violation(ldap.InvalidAttributeSyntax, a.Name()+": value #"+itoa(j)+" invalid per syntax")
				}
			}
		}
		if a.SingleValue && len(at.Values) > 1 {
			return violation(ldap.ConstraintViolation, a.Name()+": multiple values provided for a single-valued attribute")
		}
		if err := a.DedupCheck(at.Values); err != nil {
			return err.(*ldap.Error)
		}
		if extensible || a.IsOperational() {
			continue
		}
		if !allowedBy(classes, a) {
			return violation(ldap.ObjectClassViolation, a.Name()+": attribute type not allowed")
		}
	}
	for _, o := range classes {
		for _, m := range o.allMust {
			if m == s.objectClassAttr {
				continue
			}
			if !hasAttr(attrs, m) {
				return violation(ldap.ObjectClassViolation, "object class "+quote(o.Name())+" requires attribute "+quote(m.Name()))
			}
		}
	}
	for _, ava := range rdn {
		a, ok := s.Attribute(ava.Type)
		if !ok {
			return violation(ldap.NamingViolation, "naming attribute "+quote(ava.Type)+" is not defined")
		}
		if !rdnValuePresent(a, ava.Value, attrs) {
			return violation(ldap.NamingViolation, "value of naming attribute "+quote(a.Name())+" is not present in entry")
		}
	}
	return nil
}

func allowedBy(classes []*ObjectClass, a *AttributeType) bool {
	for _, o := range classes {
		for _, list := range [][]*AttributeType{o.allMust, o.allMay} {
			for _, t := range list {
				if a.IsSubtypeOf(t) {
					return true
				}
			}
		}
	}
	return false
}

func hasAttr(attrs []Attr, m *AttributeType) bool {
	for i := range attrs {
		if attrs[i].Type.IsSubtypeOf(m) && len(attrs[i].Values) > 0 {
			return true
		}
	}
	return false
}

func rdnValuePresent(a *AttributeType, value string, attrs []Attr) bool {
	var want []byte
	if a.Equality != nil {
		n, err := a.Normalize([]byte(value))
		if err != nil {
			return false
		}
		want = n
	} else {
		want = []byte(value)
	}
	for i := range attrs {
		if attrs[i].Type != a || len(attrs[i].Options) > 0 {
			continue
		}
		for _, v := range attrs[i].Values {
			n := v
			if a.Equality != nil {
				var err error
				if n, err = a.Normalize(v); err != nil {
					continue
				}
			}
			if bytes.Equal(n, want) {
				return true
			}
		}
	}
	return false
}

// AttrsOf is a convenience for callers holding attributes by description:
// it resolves each description (undefinedAttributeType, 17, when
// unknown) and merges values of the same description.
func (s *Schema) AttrsOf(m map[string][][]byte) ([]Attr, *ldap.Error) {
	out := make([]Attr, 0, len(m))
	idx := map[string]int{}
	for desc, vals := range m {
		a, opts, err := s.ResolveAttribute(desc)
		if err != nil {
			return nil, err
		}
		key := a.OID + ";" + strings.ToLower(strings.Join(opts, ";"))
		if i, ok := idx[key]; ok {
			out[i].Values = append(out[i].Values, vals...)
			continue
		}
		idx[key] = len(out)
		out = append(out, Attr{Type: a, Options: opts, Values: vals})
	}
	return out, nil
}
