package schema

import (
	"fmt"
	"os"
	"strings"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Schema is a resolved set of syntaxes, matching rules, attribute types and
// object classes. It is immutable once built and safe for concurrent use.
type Schema struct {
	syntaxes  map[string]*Syntax // by OID
	synList   []*Syntax
	rules     map[string]*MatchingRule // by lower-case name and OID
	ruleList  []*MatchingRule
	attrs     map[string]*AttributeType // by lower-case name and OID
	attrList  []*AttributeType
	classes   map[string]*ObjectClass // by lower-case name and OID
	classList []*ObjectClass

	// exactAttrs and exactClasses hold the names as defined, so that the
	// canonical spelling the engine stores ("givenName") is found without
	// lower-casing, which would allocate on the hot path.
	exactAttrs   map[string]*AttributeType
	exactClasses map[string]*ObjectClass

	atDefs []*AttributeTypeDescription // definitions, for Extend
	ocDefs []*ObjectClassDescription

	objectClassAttr *AttributeType
	extensible      *ObjectClass
}

// OIDExtensibleObject is the OID of extensibleObject (RFC 4512 section 4.3).
const OIDExtensibleObject = "1.3.6.1.4.1.1466.101.120.111"

// Default returns a schema holding the built-in definitions: the RFC 4512
// operational attributes and classes, RFC 4519, RFC 4523 (certificates),
// RFC 4524 (COSINE), RFC 2798 (inetOrgPerson), RFC 2079, RFC 4530, RFC 5020,
// RFC 3045, draft-howard-rfc2307bis-02 and the Mozilla address book schema.
func Default() (*Schema, error) {
	ats, ocs, err := builtinDefinitions()
	if err != nil {
		return nil, err
	}
	return build(ats, ocs)
}

// Extend returns a new schema with the definitions of the file at path
// added: an OpenLDAP .schema file or an LDIF schema file (see LoadFile).
// A definition with the OID of an existing one replaces it. s is unchanged.
func (s *Schema) Extend(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ats, ocs, err := ParseSchemaFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ns, err := s.ExtendDefinitions(ats, ocs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ns, nil
}

// ExtendDefinitions returns a new schema with the given definitions added,
// as Extend does for a file.
func (s *Schema) ExtendDefinitions(ats []*AttributeTypeDescription, ocs []*ObjectClassDescription) (*Schema, error) {
	allAT := append(append([]*AttributeTypeDescription(nil), s.atDefs...), ats...)
	allOC := append(append([]*ObjectClassDescription(nil), s.ocDefs...), ocs...)
	return build(allAT, allOC)
}

// dedupeByOID keeps the last definition of each OID, in the position of
// the first.
func dedupeAT(defs []*AttributeTypeDescription) []*AttributeTypeDescription {
	pos := map[string]int{}
	var out []*AttributeTypeDescription
	for _, d := range defs {
		if i, ok := pos[d.OID]; ok {
			out[i] = d
			continue
		}
		pos[d.OID] = len(out)
		out = append(out, d)
	}
	return out
}

func dedupeOC(defs []*ObjectClassDescription) []*ObjectClassDescription {
	pos := map[string]int{}
	var out []*ObjectClassDescription
	for _, d := range defs {
		if i, ok := pos[d.OID]; ok {
			out[i] = d
			continue
		}
		pos[d.OID] = len(out)
		out = append(out, d)
	}
	return out
}

func build(atDefs []*AttributeTypeDescription, ocDefs []*ObjectClassDescription) (*Schema, error) {
	s := &Schema{
		syntaxes: map[string]*Syntax{},
		rules:    map[string]*MatchingRule{},
		attrs:    map[string]*AttributeType{},
		classes:  map[string]*ObjectClass{},
		atDefs:   dedupeAT(atDefs),
		ocDefs:   dedupeOC(ocDefs),
	}
	for _, syn := range builtinSyntaxes() {
		s.syntaxes[syn.OID] = syn
		s.synList = append(s.synList, syn)
	}
	for _, r := range s.builtinRules() {
		s.rules[r.OID] = r
		for _, n := range r.Names {
			s.rules[strings.ToLower(n)] = r
		}
		s.ruleList = append(s.ruleList, r)
	}

	// Attribute types: create and register, then resolve references.
	for _, d := range s.atDefs {
		a := &AttributeType{
			OID: d.OID, Names: d.Names, Desc: d.Desc, SyntaxLen: d.SyntaxLen,
			SingleValue: d.SingleValue, Collective: d.Collective,
			NoUserModification: d.NoUserModification, Obsolete: d.Obsolete,
			Usage: d.Usage, def: d,
		}
		if err := register(s.attrs, a.OID, a.Names, a, "attribute type"); err != nil {
			return nil, err
		}
		s.attrList = append(s.attrList, a)
	}
	state := map[*AttributeType]int{} // 1 resolving, 2 done
	var resolve func(a *AttributeType) error
	resolve = func(a *AttributeType) error {
		switch state[a] {
		case 1:
			return fmt.Errorf("attribute type %s: SUP cycle", a.Name())
		case 2:
			return nil
		}
		state[a] = 1
		d := a.def
		if d.Sup != "" {
			sup, ok := s.attrs[strings.ToLower(d.Sup)]
			if !ok {
				return fmt.Errorf("attribute type %s: unknown SUP %s", a.Name(), d.Sup)
			}
			if err := resolve(sup); err != nil {
				return err
			}
			a.Sup = sup
			a.Equality, a.Ordering, a.Substr, a.Syntax = sup.Equality, sup.Ordering, sup.Substr, sup.Syntax
			if a.SyntaxLen == 0 {
				a.SyntaxLen = sup.SyntaxLen
			}
		}
		if d.Syntax != "" {
			syn, ok := s.syntaxes[d.Syntax]
			if !ok {
				if !isNumericOID(d.Syntax) {
					return fmt.Errorf("attribute type %s: invalid SYNTAX %s", a.Name(), d.Syntax)
				}
				// Unknown syntaxes validate as Octet String.
				syn = &Syntax{OID: d.Syntax, Validate: validateOctetString}
				s.syntaxes[syn.OID] = syn
				s.synList = append(s.synList, syn)
			}
			a.Syntax = syn
		}
		for _, m := range []struct {
			name string
			kind RuleKind
			dst  **MatchingRule
		}{{d.Equality, EqualityRule, &a.Equality}, {d.Ordering, OrderingRule, &a.Ordering}, {d.Substr, SubstringRule, &a.Substr}} {
			if m.name == "" {
				continue
			}
			r, ok := s.rules[strings.ToLower(m.name)]
			if !ok {
				return fmt.Errorf("attribute type %s: unknown matching rule %s", a.Name(), m.name)
			}
			if r.Kind != m.kind {
				return fmt.Errorf("attribute type %s: %s is not a rule of the right kind", a.Name(), m.name)
			}
			*m.dst = r
		}
		state[a] = 2
		return nil
	}
	for _, a := range s.attrList {
		if err := resolve(a); err != nil {
			return nil, err
		}
	}
	s.objectClassAttr = s.attrs["objectclass"]
	if s.objectClassAttr == nil {
		return nil, fmt.Errorf("schema has no objectClass attribute type")
	}

	// Object classes.
	for _, d := range s.ocDefs {
		o := &ObjectClass{OID: d.OID, Names: d.Names, Desc: d.Desc, Kind: d.Kind, Obsolete: d.Obsolete, def: d}
		if err := register(s.classes, o.OID, o.Names, o, "object class"); err != nil {
			return nil, err
		}
		s.classList = append(s.classList, o)
	}
	for _, o := range s.classList {
		for _, n := range o.def.Sup {
			sup, ok := s.classes[strings.ToLower(n)]
			if !ok {
				return nil, fmt.Errorf("object class %s: unknown SUP %s", o.Name(), n)
			}
			o.Sup = append(o.Sup, sup)
		}
		var err error
		if o.Must, err = s.attrRefs(o, o.def.Must); err != nil {
			return nil, err
		}
		if o.May, err = s.attrRefs(o, o.def.May); err != nil {
			return nil, err
		}
	}
	ocState := map[*ObjectClass]int{}
	var resolveOC func(o *ObjectClass) error
	resolveOC = func(o *ObjectClass) error {
		switch ocState[o] {
		case 1:
			return fmt.Errorf("object class %s: SUP cycle", o.Name())
		case 2:
			return nil
		}
		ocState[o] = 1
		o.supers = []*ObjectClass{o}
		must := append([]*AttributeType(nil), o.Must...)
		may := append([]*AttributeType(nil), o.May...)
		for _, sup := range o.Sup {
			if err := resolveOC(sup); err != nil {
				return err
			}
			if !kindMayInherit(o.Kind, sup.Kind) {
				return fmt.Errorf("object class %s: %s class cannot inherit from %s class %s", o.Name(), o.Kind, sup.Kind, sup.Name())
			}
			for _, c := range sup.supers {
				if !containsOC(o.supers, c) {
					o.supers = append(o.supers, c)
				}
			}
			must = append(must, sup.allMust...)
			may = append(may, sup.allMay...)
		}
		o.allMust = uniqueAT(must, nil)
		o.allMay = uniqueAT(may, o.allMust)
		o.extended = o.OID == OIDExtensibleObject
		for _, c := range o.supers {
			if c.OID == OIDExtensibleObject {
				o.extended = true
			}
		}
		ocState[o] = 2
		return nil
	}
	for _, o := range s.classList {
		if err := resolveOC(o); err != nil {
			return nil, err
		}
	}
	s.extensible = s.classes[OIDExtensibleObject]
	s.exactAttrs = make(map[string]*AttributeType, len(s.attrList))
	for _, a := range s.attrList {
		for _, n := range a.Names {
			s.exactAttrs[n] = a
		}
	}
	s.exactClasses = make(map[string]*ObjectClass, len(s.classList))
	for _, o := range s.classList {
		for _, n := range o.Names {
			s.exactClasses[n] = o
		}
	}
	return s, nil
}

// kindMayInherit applies RFC 4512 section 2.4: abstract classes derive
// from abstract ones, structural and auxiliary classes from their own kind
// or abstract ones.
func kindMayInherit(kind, sup ClassKind) bool {
	return sup == Abstract || sup == kind
}

func containsOC(list []*ObjectClass, o *ObjectClass) bool {
	for _, c := range list {
		if c == o {
			return true
		}
	}
	return false
}

func uniqueAT(list, exclude []*AttributeType) []*AttributeType {
	var out []*AttributeType
outer:
	for _, a := range list {
		for _, e := range exclude {
			if e == a {
				continue outer
			}
		}
		for _, e := range out {
			if e == a {
				continue outer
			}
		}
		out = append(out, a)
	}
	return out
}

func (s *Schema) attrRefs(o *ObjectClass, names []string) ([]*AttributeType, error) {
	out := make([]*AttributeType, 0, len(names))
	for _, n := range names {
		a, ok := s.attrs[strings.ToLower(n)]
		if !ok {
			return nil, fmt.Errorf("object class %s: unknown attribute type %s", o.Name(), n)
		}
		out = append(out, a)
	}
	return out, nil
}

func register[T comparable](m map[string]T, oid string, names []string, v T, what string) error {
	var zero T
	for _, k := range append([]string{oid}, names...) {
		k = strings.ToLower(k)
		if old, ok := m[k]; ok && old != zero && old != v {
			return fmt.Errorf("%s %s: name or OID %q already used", what, oid, k)
		}
		m[k] = v
	}
	return nil
}

// lookupFold looks name up in m, first as given, then lower-cased.
func lookupFold[T any](m map[string]T, name string) (T, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	// Names are ASCII and short: fold them on the stack (the map look-up
	// of string(bytes) does not allocate).
	var buf [64]byte
	if len(name) <= len(buf) {
		b := buf[:len(name)]
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		v, ok := m[string(b)]
		if ok || isASCII(name) {
			return v, ok
		}
	}
	v, ok := m[strings.ToLower(name)]
	return v, ok
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// Attribute returns the attribute type named by any of its names or its
// OID, case-insensitively. Attribute options are ignored: "cn;lang-en"
// finds cn.
func (s *Schema) Attribute(name string) (*AttributeType, bool) {
	if i := strings.IndexByte(name, ';'); i >= 0 {
		name = name[:i]
	}
	if a, ok := s.exactAttrs[name]; ok {
		return a, true
	}
	return lookupFold(s.attrs, name)
}

// ObjectClass returns the object class named by any of its names or its
// OID, case-insensitively.
func (s *Schema) ObjectClass(name string) (*ObjectClass, bool) {
	if o, ok := s.exactClasses[name]; ok {
		return o, true
	}
	return lookupFold(s.classes, name)
}

// MatchingRule returns the matching rule with the given name or OID.
func (s *Schema) MatchingRule(name string) (*MatchingRule, bool) {
	return lookupFold(s.rules, name)
}

// Syntax returns the syntax with the given OID.
func (s *Schema) Syntax(oid string) (*Syntax, bool) {
	syn, ok := s.syntaxes[oid]
	return syn, ok
}

// Attributes returns all attribute types in definition order. The slice is
// a copy.
func (s *Schema) Attributes() []*AttributeType { return append([]*AttributeType(nil), s.attrList...) }

// ObjectClasses returns all object classes in definition order.
func (s *Schema) ObjectClasses() []*ObjectClass { return append([]*ObjectClass(nil), s.classList...) }

// Syntaxes returns all syntaxes.
func (s *Schema) Syntaxes() []*Syntax { return append([]*Syntax(nil), s.synList...) }

// MatchingRules returns all matching rules.
func (s *Schema) MatchingRules() []*MatchingRule {
	return append([]*MatchingRule(nil), s.ruleList...)
}

// oidOf resolves a descriptor naming an attribute type, object class or
// matching rule to its OID.
func (s *Schema) oidOf(name string) (string, bool) {
	if a, ok := lookupFold(s.attrs, name); ok {
		return a.OID, true
	}
	if o, ok := lookupFold(s.classes, name); ok {
		return o.OID, true
	}
	if r, ok := lookupFold(s.rules, name); ok {
		return r.OID, true
	}
	return "", false
}

// SplitOptions splits an attribute description into the attribute type
// and its options (RFC 4512 section 2.5): "cn;lang-en;x" gives "cn" and
// ["lang-en" "x"]. It does not validate; see ValidDescription.
func SplitOptions(desc string) (base string, options []string) {
	i := strings.IndexByte(desc, ';')
	if i < 0 {
		return desc, nil
	}
	return desc[:i], strings.Split(desc[i+1:], ";")
}

// ValidDescription reports whether desc is an attributedescription of
// RFC 4512 section 2.5: a descr or numericoid, then options made of one or
// more keychars each.
func ValidDescription(desc string) bool {
	base, opts := SplitOptions(desc)
	if !isDescr(base) && !isNumericOID(base) {
		return false
	}
	for _, o := range opts {
		if o == "" {
			return false
		}
		for i := 0; i < len(o); i++ {
			c := o[i]
			if !isAlpha(c) && !isDigit(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// ResolveAttribute validates an attribute description and looks up its
// type. An invalid description or unknown type gives an
// undefinedAttributeType (17) *ldap.Error.
func (s *Schema) ResolveAttribute(desc string) (*AttributeType, []string, *ldap.Error) {
	if !ValidDescription(desc) {
		return nil, nil, &ldap.Error{Code: ldap.UndefinedAttributeType, Message: "invalid attribute description " + quote(desc)}
	}
	base, opts := SplitOptions(desc)
	a, ok := s.Attribute(base)
	if !ok {
		return nil, nil, &ldap.Error{Code: ldap.UndefinedAttributeType, Message: base + ": attribute type undefined"}
	}
	return a, opts, nil
}

func quote(s string) string { return "'" + s + "'" }
