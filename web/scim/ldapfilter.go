package scim

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// LDAP filters that match every entry and none.
const (
	ldapTrue  = "(objectClass=*)"
	ldapFalse = "(!(objectClass=*))"
)

// A term is a translated filter: an LDAP filter, or a constant when the
// SCIM filter's value is known without the directory (emails' type is
// always "work"); and the same test as a predicate on an entry read.
// Ordering comparisons (gt, ge, lt, le) on attributes without an LDAP
// ordering rule (all but the timestamps) are made by the predicate only:
// such a term is inMemory, and a filter with one is searched as "every
// resource" and tested here.
type term struct {
	ldap     string
	konst    *bool
	pred     func(*entry) bool
	inMemory bool
}

func constTerm(b bool) term { return term{konst: &b, pred: func(*entry) bool { return b }} }

func leaf(ldap string, pred func(*entry) bool) term { return term{ldap: ldap, pred: pred} }

// memTerm is a test the directory cannot make.
func memTerm(pred func(*entry) bool) term { return term{ldap: ldapTrue, pred: pred, inMemory: true} }

func (t term) String() string {
	if t.konst != nil {
		if *t.konst {
			return ldapTrue
		}
		return ldapFalse
	}
	return t.ldap
}

func and(a, b term) term {
	switch {
	case a.konst != nil && !*a.konst, b.konst != nil && !*b.konst:
		return constTerm(false)
	case a.konst != nil:
		return b
	case b.konst != nil:
		return a
	}
	return term{ldap: "(&" + a.ldap + b.ldap + ")", pred: func(e *entry) bool { return a.pred(e) && b.pred(e) },
		inMemory: a.inMemory || b.inMemory}
}

func or2(a, b term) term {
	switch {
	case a.konst != nil && *a.konst, b.konst != nil && *b.konst:
		return constTerm(true)
	case a.konst != nil:
		return b
	case b.konst != nil:
		return a
	}
	return term{ldap: "(|" + a.ldap + b.ldap + ")", pred: func(e *entry) bool { return a.pred(e) || b.pred(e) },
		inMemory: a.inMemory || b.inMemory}
}

func not(a term) term {
	if a.konst != nil {
		return constTerm(!*a.konst)
	}
	return term{ldap: "(!" + a.ldap + ")", pred: func(e *entry) bool { return !a.pred(e) }, inMemory: a.inMemory}
}

// A translator turns SCIM filters on one resource type into LDAP filters.
type translator struct {
	rt *resourceType
	rs resolver
}

// ldapFilter translates f. Values are escaped (RFC 4515), so a value
// never changes the filter's structure. Strings compare as the LDAP
// attribute's matching rules say (case-insensitively for every string
// attribute mapped here but externalId). post, if not nil, must be
// applied to the entries found: the filter orders values the directory
// cannot, and the LDAP filter selects every resource.
func (t *translator) ldapFilter(f *Filter) (ldap string, post func(*entry) bool, err error) {
	tm, err := t.term(f, nil)
	if err != nil {
		return "", nil, err
	}
	if tm.inMemory {
		return "", tm.pred, nil
	}
	return tm.String(), nil, nil
}

// valuePred tests the values of attr: any for which ok holds.
func valuePred(attr string, ok func(string) bool) func(*entry) bool {
	return func(e *entry) bool {
		for _, v := range e.get(attr) {
			if ok(v) {
				return true
			}
		}
		return false
	}
}

func presentPred(attr string) func(*entry) bool {
	return func(e *entry) bool { return len(e.get(attr)) > 0 }
}

// caseExactAttrs are the attributes whose values compare exactly.
var caseExactAttrs = map[string]bool{"scimexternalid": true}

// orderedAttrs have an LDAP ordering rule.
var orderedAttrs = map[string]bool{"createtimestamp": true, "modifytimestamp": true}

// slotCtx is the element of a multi-valued attribute a value filter is
// being evaluated for.
type slotCtx struct {
	attr string            // the multi-valued attribute (canonical)
	typ  string            // the element's type, a constant
	subs map[string]string // sub-attribute (lower case) -> LDAP attribute
	ref  string            // "value" is a reference to this resource type ("User", "Group", "" any)
}

func (t *translator) term(f *Filter, slot *slotCtx) (term, error) {
	switch f.Op {
	case "and", "or":
		l, err := t.term(f.Left, slot)
		if err != nil {
			return term{}, err
		}
		r, err := t.term(f.Right, slot)
		if err != nil {
			return term{}, err
		}
		if f.Op == "and" {
			return and(l, r), nil
		}
		return or2(l, r), nil
	case "not":
		l, err := t.term(f.Left, slot)
		if err != nil {
			return term{}, err
		}
		return not(l), nil
	case "[]":
		return t.valuePath(f.Path, f.Left)
	}
	if slot != nil {
		if f.Path.URN != "" || f.Path.Sub != "" {
			return term{}, invalid("invalidFilter", "%s: a value filter names sub-attributes of %s only", f.Path, slot.attr)
		}
		return t.slotCompare(f, slot)
	}
	def, ext, err := t.lookup(f.Path)
	if err != nil {
		return term{}, err
	}
	if def.Multi && def.Type == "complex" {
		// emails.value eq "x": emails[value eq "x"]
		sub := f.Path.Sub
		if sub == "" {
			sub = "value"
		}
		inner := &Filter{Op: f.Op, Path: AttrPath{Attr: sub}, Value: f.Value}
		return t.valuePath(AttrPath{URN: f.Path.URN, Attr: def.Name}, inner)
	}
	return t.simple(def, ext, f)
}

// lookup finds the attribute a path names.
func (t *translator) lookup(p AttrPath) (*attrDef, *schemaDef, error) {
	s := t.rt.Schema
	if p.URN != "" && !strings.EqualFold(p.URN, s.ID) {
		s = nil
		for _, e := range t.rt.Ext {
			if strings.EqualFold(p.URN, e.ID) {
				s = e
			}
		}
		if s == nil {
			return nil, nil, invalid("invalidFilter", "%s: no such schema for %s resources", p.URN, t.rt.Name)
		}
	}
	var def *attrDef
	if s == t.rt.Schema {
		def = findAttr(s, p.Attr)
	} else {
		def = s.attr(p.Attr)
	}
	if def == nil {
		return nil, nil, invalid("invalidFilter", "%s is not an attribute of %s", p, t.rt.Name)
	}
	if s == t.rt.Schema {
		s = nil
	}
	return def, s, nil
}

// simple translates a comparison on a single-valued attribute.
func (t *translator) simple(def *attrDef, ext *schemaDef, f *Filter) (term, error) {
	if def.Dropped {
		return constTerm(f.Op == "ne"), nil // not stored: never present
	}
	name := def.Name
	if def.Sub != nil {
		if f.Path.Sub == "" {
			return term{}, invalid("invalidFilter", "%s is complex: name a sub-attribute", f.Path)
		}
		sd := def.sub(f.Path.Sub)
		if sd == nil {
			return term{}, invalid("invalidFilter", "%s is not an attribute", f.Path)
		}
		if sd.Dropped {
			return constTerm(f.Op == "ne"), nil
		}
		name += "." + sd.Name
	} else if f.Path.Sub != "" {
		return term{}, invalid("invalidFilter", "%s has no sub-attributes", def.Name)
	}
	if ext != nil {
		name = ext.ID + ":" + name
	}
	var attr string
	conv := func(v string) (string, bool, error) { return v, true, nil }
	switch name {
	case "id":
		attr = "entryUUID"
		conv = func(v string) (string, bool, error) { return v, validID(v), nil }
	case "externalId":
		attr = "scimExternalId"
	case "meta.created", "meta.lastModified":
		attr = map[string]string{"meta.created": "createTimestamp", "meta.lastModified": "modifyTimestamp"}[name]
		conv = func(v string) (string, bool, error) {
			tm, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return "", false, invalid("invalidFilter", "%s: want an RFC 3339 time, not %q", name, v)
			}
			return tm.UTC().Format("20060102150405Z"), true, nil
		}
	case "meta.resourceType":
		return constTerm(compareConst(f, t.rt.Name)), nil
	case "meta.location", "meta.version":
		return term{}, invalid("invalidFilter", "%s cannot be filtered on", name)
	case "active":
		b, ok := f.Value.(bool)
		switch {
		case f.Op == "pr":
			return constTerm(true), nil
		case !ok || f.Op != "eq" && f.Op != "ne":
			return term{}, invalid("invalidFilter", "active: compare with eq or ne to true or false")
		}
		locked := leaf("(pwdAccountLockedTime="+permanentLock+")", valuePred("pwdAccountLockedTime", func(v string) bool { return v == permanentLock }))
		if b == (f.Op == "eq") {
			return not(locked), nil
		}
		return locked, nil
	case "password":
		return term{}, invalid("invalidFilter", "password cannot be filtered on")
	case URNEnterprise + ":manager.value":
		return t.refCompare(f, "manager", "User")
	case URNEnterprise + ":manager.displayName", URNEnterprise + ":manager.$ref":
		return term{}, invalid("invalidFilter", "%s cannot be filtered on", name)
	default:
		attr = ldapAttrOf(t.rt, name)
		if attr == "" {
			return term{}, invalid("invalidFilter", "%s cannot be filtered on", name)
		}
	}
	return compareLDAP(f, attr, conv)
}

// ldapAttrOf maps a single-valued attribute path (canonical, an
// extension's with its URN) to its LDAP attribute.
func ldapAttrOf(rt *resourceType, name string) string {
	if rt == groupType {
		return map[string]string{"displayName": "cn", "externalId": "scimExternalId", "id": "entryUUID",
			"meta.created": "createTimestamp", "meta.lastModified": "modifyTimestamp"}[name]
	}
	m := map[string]string{
		"userName": "uid", "externalId": "scimExternalId", "id": "entryUUID", "displayName": "displayName", "title": "title",
		"userType": "employeeType", "preferredLanguage": "preferredLanguage",
		"name.formatted": "cn", "name.familyName": "sn", "name.givenName": "givenName",
		"meta.created": "createTimestamp", "meta.lastModified": "modifyTimestamp",
	}
	for _, a := range enterpriseAttrs {
		m[URNEnterprise+":"+a.name] = a.attr
	}
	return m[name]
}

// compareConst evaluates a comparison against a constant.
func compareConst(f *Filter, v string) bool {
	return (&Filter{Op: f.Op, Path: AttrPath{Attr: "x"}, Value: f.Value}).match(map[string]any{"x": v})
}

// compareLDAP writes a comparison on an LDAP attribute; conv converts the
// value, ok false when it cannot match anything.
func compareLDAP(f *Filter, attr string, conv func(string) (string, bool, error)) (term, error) {
	present := leaf("("+attr+"=*)", presentPred(attr))
	if f.Op == "pr" {
		return present, nil
	}
	var s string
	switch v := f.Value.(type) {
	case nil:
		// eq null: not present (RFC 7644 3.4.2.2 leaves it open).
		if f.Op == "eq" {
			return not(present), nil
		}
		if f.Op == "ne" {
			return present, nil
		}
		return term{}, invalid("invalidFilter", "%s: null compares with eq or ne only", f.Path)
	case string:
		s = v
	case json.Number:
		s = v.String()
	case bool:
		return term{}, invalid("invalidFilter", "%s is not boolean", f.Path)
	}
	s, ok, err := conv(s)
	if err != nil {
		return term{}, err
	}
	if !ok {
		return constTerm(f.Op == "ne"), nil
	}
	fold := func(v string) string { return strings.ToLower(v) }
	if caseExactAttrs[strings.ToLower(attr)] {
		fold = func(v string) string { return v }
	}
	want := fold(s)
	e := goldap.EscapeFilter(s)
	eq := leaf("("+attr+"="+e+")", valuePred(attr, func(v string) bool { return fold(v) == want }))
	switch f.Op {
	case "eq":
		return eq, nil
	case "ne":
		return not(eq), nil
	case "co", "sw", "ew":
		if s == "" {
			return present, nil
		}
		pat := map[string]string{"co": "*" + e + "*", "sw": e + "*", "ew": "*" + e}[f.Op]
		test := map[string]func(string, string) bool{"co": strings.Contains, "sw": strings.HasPrefix, "ew": strings.HasSuffix}[f.Op]
		return leaf("("+attr+"="+pat+")", valuePred(attr, func(v string) bool { return test(fold(v), want) })), nil
	case "gt", "ge", "lt", "le":
		cmp := map[string]func(int) bool{
			"gt": func(c int) bool { return c > 0 }, "ge": func(c int) bool { return c >= 0 },
			"lt": func(c int) bool { return c < 0 }, "le": func(c int) bool { return c <= 0 },
		}[f.Op]
		pred := valuePred(attr, func(v string) bool { return cmp(strings.Compare(fold(v), want)) })
		if !orderedAttrs[strings.ToLower(attr)] {
			return memTerm(pred), nil
		}
		switch f.Op {
		case "ge":
			return leaf("("+attr+">="+e+")", pred), nil
		case "le":
			return leaf("("+attr+"<="+e+")", pred), nil
		case "gt":
			return and(leaf("("+attr+">="+e+")", pred), not(eq)), nil
		default:
			return and(leaf("("+attr+"<="+e+")", pred), not(eq)), nil
		}
	}
	return term{}, invalid("invalidFilter", "unknown operator %s", f.Op)
}

// refCompare compares a reference (an id) held in attr as a DN.
func (t *translator) refCompare(f *Filter, attr, typ string) (term, error) {
	if f.Op == "pr" {
		return leaf("("+attr+"=*)", presentPred(attr)), nil
	}
	id, ok := f.Value.(string)
	if !ok || f.Op != "eq" && f.Op != "ne" {
		return term{}, invalid("invalidFilter", "%s: compare with eq or ne to an id", f.Path)
	}
	dn, _, found, err := t.rs.dnOf(id, typ)
	if err != nil {
		return term{}, err
	}
	if !found {
		return constTerm(f.Op == "ne"), nil
	}
	ndn := normDN(dn)
	eq := leaf("("+attr+"="+goldap.EscapeFilter(dn)+")", valuePred(attr, func(v string) bool { return normDN(v) == ndn }))
	if f.Op == "ne" {
		return not(eq), nil
	}
	return eq, nil
}

// valuePath translates attr[inner]: some element of the multi-valued
// attribute matches inner. An element's type decides which LDAP attribute
// holds it, so inner is translated once per type, with type a constant.
func (t *translator) valuePath(p AttrPath, inner *Filter) (term, error) {
	def, _, err := t.lookup(p)
	if err != nil {
		return term{}, err
	}
	if !def.Multi || def.Type != "complex" {
		return term{}, invalid("invalidFilter", "%s is not a multi-valued complex attribute", p)
	}
	if def.Dropped {
		return constTerm(false), nil
	}
	var slots []slotCtx
	switch def.Name {
	case "emails":
		slots = []slotCtx{{attr: "emails", typ: "work", subs: map[string]string{"value": "mail", "display": "mail"}}}
	case "phoneNumbers":
		for _, pa := range phoneAttrs {
			slots = append(slots, slotCtx{attr: "phoneNumbers", typ: pa.typ, subs: map[string]string{"value": pa.attr, "display": pa.attr}})
		}
	case "addresses":
		subs := map[string]string{}
		for _, a := range addressAttrs {
			subs[strings.ToLower(a.sub)] = a.attr
		}
		slots = []slotCtx{{attr: "addresses", typ: "work", subs: subs}}
	case "members":
		slots = []slotCtx{{attr: "members", subs: map[string]string{"value": "member"}, ref: ""}}
	case "groups":
		slots = []slotCtx{{attr: "groups", typ: "direct", subs: map[string]string{"value": "memberOf"}, ref: "Group"}}
	default:
		return term{}, invalid("invalidFilter", "%s cannot be filtered on", p)
	}
	out := constTerm(false)
	for i := range slots {
		s := &slots[i]
		var attrs []string
		for _, a := range s.subs {
			if !slices.Contains(attrs, a) {
				attrs = append(attrs, a)
			}
		}
		slices.Sort(attrs)
		present := constTerm(false)
		for _, a := range attrs {
			present = or2(present, leaf("("+a+"=*)", presentPred(a)))
		}
		in, err := t.term(inner, s)
		if err != nil {
			return term{}, err
		}
		out = or2(out, and(present, in))
	}
	return out, nil
}

// slotCompare translates a comparison inside a value filter.
func (t *translator) slotCompare(f *Filter, s *slotCtx) (term, error) {
	sub := strings.ToLower(f.Path.Attr)
	switch sub {
	case "type":
		if s.attr == "members" {
			return term{}, invalid("invalidFilter", "members: filter on value")
		}
		if f.Op == "pr" {
			return constTerm(true), nil
		}
		return constTerm(compareConst(&Filter{Op: f.Op, Path: AttrPath{Attr: "type"}, Value: f.Value}, s.typ)), nil
	case "primary":
		return term{}, invalid("invalidFilter", "%s.primary cannot be filtered on", s.attr)
	}
	attr, ok := s.subs[sub]
	if !ok {
		return term{}, invalid("invalidFilter", "%s.%s cannot be filtered on", s.attr, f.Path.Attr)
	}
	if (s.attr == "members" || s.attr == "groups") && sub == "value" {
		return t.refCompare(f, attr, s.ref)
	}
	return compareLDAP(f, attr, func(v string) (string, bool, error) { return v, true, nil })
}

// validID reports whether s looks like an entryUUID (RFC 4122 text).
func validID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}
