package scim

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// permanentLock is the pwdAccountLockedTime that active=false writes: the
// password policy's value for a lock that only an administrator lifts.
const permanentLock = "000001010000Z"

// auxClass is the auxiliary object class that allows scimExternalId.
const auxClass = "scimResource"

// Limits on what a request may carry.
const (
	maxBody      = 1 << 20 // bytes of a request body
	maxValueLen  = 1024    // bytes of one string value
	maxValues    = 100     // values of one multi-valued attribute (but members)
	maxMembers   = 10000   // members given in one request
	maxPatchOps  = 1000    // operations in one PATCH
	maxPatchPath = 1024    // bytes of a PATCH path
)

// An entry is an LDAP entry as read: attribute names in lower case.
type entry struct {
	DN    string
	attrs map[string][]string
}

func newEntry(e *goldap.Entry) *entry {
	en := &entry{DN: e.DN, attrs: map[string][]string{}}
	for _, a := range e.Attributes {
		n := strings.ToLower(a.Name)
		en.attrs[n] = append(en.attrs[n], a.Values...)
	}
	return en
}

func (e *entry) get(name string) []string { return e.attrs[strings.ToLower(name)] }

func (e *entry) first(name string) string {
	if v := e.get(name); len(v) > 0 {
		return v[0]
	}
	return ""
}

// userAttrs and groupAttrs are the LDAP attributes a resource is made
// of, the ones its writes own (but objectClass).
var (
	userAttrs = []string{"uid", "scimExternalId", "cn", "sn", "givenName", "displayName", "title", "employeeType",
		"preferredLanguage", "mail", "telephoneNumber", "mobile", "facsimileTelephoneNumber", "homePhone", "pager",
		"street", "l", "st", "postalCode", "employeeNumber", "o", "ou", "departmentNumber", "manager", "pwdAccountLockedTime"}
	groupAttrs = []string{"cn", "scimExternalId", "member"}
	// readAttrs are read besides: identity, state and the version's CSN.
	readAttrs = []string{"objectClass", "entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp", "memberOf"}
)

// phoneAttrs maps phoneNumbers types to attributes.
var phoneAttrs = []struct{ typ, attr string }{
	{"work", "telephoneNumber"}, {"mobile", "mobile"}, {"fax", "facsimileTelephoneNumber"}, {"home", "homePhone"}, {"pager", "pager"},
}

// addressAttrs maps the sub-attributes of the work address.
var addressAttrs = []struct{ sub, attr string }{
	{"streetAddress", "street"}, {"locality", "l"}, {"region", "st"}, {"postalCode", "postalCode"},
}

// enterpriseAttrs maps the enterprise extension's simple attributes.
var enterpriseAttrs = []struct{ name, attr string }{
	{"employeeNumber", "employeeNumber"}, {"organization", "o"}, {"division", "ou"}, {"department", "departmentNumber"},
}

// A ref is what a DN refers to, as a resource.
type ref struct {
	ID, Display, Type string // Type "User" or "Group"
}

// A resolver maps between DNs and resource ids (entryUUIDs).
type resolver interface {
	// refOf: the resource dn is; ok false if it is none (outside the
	// bases, gone, not visible).
	refOf(dn string) (ref, bool)
	// dnOf: the DN of the resource id of type typ ("" either), ok false
	// if there is none.
	dnOf(id, typ string) (dn string, r ref, ok bool, err error)
}

// render makes the SCIM JSON of an entry; members says whether to list a
// group's members (costly for large groups); base is the endpoint's URL,
// for locations and references.
func render(rt *resourceType, en *entry, rs resolver, members bool, base string) map[string]any {
	doc := map[string]any{"id": en.first("entryUUID")}
	set := func(m map[string]any, k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	set(doc, "externalId", en.first("scimExternalId"))
	if rt == groupType {
		doc["schemas"] = []any{URNGroup}
		set(doc, "displayName", en.first("cn"))
		if members {
			ms := []any{}
			for _, dn := range en.get("member") {
				if r, ok := rs.refOf(dn); ok {
					ms = append(ms, map[string]any{"value": r.ID, "display": r.Display, "type": r.Type,
						"$ref": location(base, r.Type, r.ID)})
				}
			}
			doc["members"] = ms
		}
	} else {
		doc["schemas"] = []any{URNUser}
		set(doc, "userName", en.first("uid"))
		name := map[string]any{}
		set(name, "formatted", en.first("cn"))
		set(name, "familyName", en.first("sn"))
		set(name, "givenName", en.first("givenName"))
		if len(name) > 0 {
			doc["name"] = name
		}
		set(doc, "displayName", en.first("displayName"))
		set(doc, "title", en.first("title"))
		set(doc, "userType", en.first("employeeType"))
		set(doc, "preferredLanguage", en.first("preferredLanguage"))
		doc["active"] = !slices.Contains(en.get("pwdAccountLockedTime"), permanentLock)
		var emails []any
		for i, m := range en.get("mail") {
			emails = append(emails, map[string]any{"value": m, "type": "work", "primary": i == 0})
		}
		if emails != nil {
			doc["emails"] = emails
		}
		var phones []any
		for _, p := range phoneAttrs {
			for _, v := range en.get(p.attr) {
				phones = append(phones, map[string]any{"value": v, "type": p.typ})
			}
		}
		if phones != nil {
			doc["phoneNumbers"] = phones
		}
		addr := map[string]any{}
		for _, a := range addressAttrs {
			set(addr, a.sub, en.first(a.attr))
		}
		if len(addr) > 0 {
			addr["type"] = "work"
			addr["primary"] = true
			doc["addresses"] = []any{addr}
		}
		var groups []any
		for _, dn := range en.get("memberOf") {
			if r, ok := rs.refOf(dn); ok && r.Type == "Group" {
				groups = append(groups, map[string]any{"value": r.ID, "display": r.Display, "type": "direct", "$ref": location(base, "Group", r.ID)})
			}
		}
		if groups != nil {
			doc["groups"] = groups
		}
		ext := map[string]any{}
		for _, a := range enterpriseAttrs {
			set(ext, a.name, en.first(a.attr))
		}
		if m := en.first("manager"); m != "" {
			if r, ok := rs.refOf(m); ok && r.Type == "User" {
				ext["manager"] = map[string]any{"value": r.ID, "displayName": r.Display, "$ref": location(base, "User", r.ID)}
			}
		}
		if len(ext) > 0 {
			doc[URNEnterprise] = ext
			doc["schemas"] = []any{URNUser, URNEnterprise}
		}
	}
	meta := map[string]any{"resourceType": rt.Name, "location": location(base, rt.Name, en.first("entryUUID"))}
	if t, ok := genTime(en.first("createTimestamp")); ok {
		meta["created"] = t
	}
	if t, ok := genTime(en.first("modifyTimestamp")); ok {
		meta["lastModified"] = t
	}
	meta["version"] = version(en)
	doc["meta"] = meta
	return doc
}

// version is the resource's weak ETag: a digest of the entry's entryCSN
// (which every write changes) and, for a user, of the groups it is in
// (memberOf, which writes to other entries change).
func version(en *entry) string {
	h := sha256.New()
	h.Write([]byte(firstOf(en.first("entryCSN"), en.first("modifyTimestamp"))))
	groups := slices.Clone(en.get("memberOf"))
	for i, g := range groups {
		groups[i] = normDN(g)
	}
	slices.Sort(groups)
	for _, g := range groups {
		h.Write([]byte{0})
		h.Write([]byte(g))
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// genTime converts an LDAP GeneralizedTime (as the server writes
// timestamps: YYYYMMDDHHMMSS[.f]Z) to RFC 3339.
func genTime(v string) (string, bool) {
	for _, layout := range []string{"20060102150405Z", "20060102150405.999999Z"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC().Format(time.RFC3339), true
		}
	}
	return "", false
}

// A badRequest is an error in what the client sent: status 400 (or as
// given) with a scimType.
type badRequest struct {
	status   int
	scimType string
	detail   string
}

func (e *badRequest) Error() string { return e.detail }

func invalid(scimType, format string, a ...any) error {
	return &badRequest{status: 400, scimType: scimType, detail: fmt.Sprintf(format, a...)}
}

// canon checks a resource body against rt's schemas and returns it with
// canonical attribute names: the core attributes at the top, the
// extension's under its URN (also when written "URN:attr" at the top, as
// Entra ID does). Unknown attributes and values of the wrong type are
// errors; readOnly ones (id, meta, groups) are dropped, as RFC 7643
// section 7 says.
func canon(rt *resourceType, raw map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range raw {
		if err := canonKey(rt, out, k, v); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// canonKey puts one key of a body or of a path-less PATCH value into out.
func canonKey(rt *resourceType, out map[string]any, k string, v any) error {
	switch {
	case strings.EqualFold(k, "schemas"):
		list, ok := v.([]any)
		if !ok {
			return invalid("invalidSyntax", "schemas: want an array of schema URNs")
		}
		// Other schemas are let pass: Entra ID names its own
		// (…/ADSCIM/2.0/Group), which carries no attributes.
		for _, s := range list {
			if _, ok := s.(string); !ok {
				return invalid("invalidSyntax", "schemas: want an array of schema URNs")
			}
		}
		return nil
	case strings.EqualFold(k, "id"), strings.EqualFold(k, "meta"):
		return nil
	}
	for _, ext := range rt.Ext {
		if strings.EqualFold(k, ext.ID) {
			m, ok := v.(map[string]any)
			if !ok {
				return invalid("invalidSyntax", "%s: want an object", ext.ID)
			}
			for sk, sv := range m {
				if err := canonAttr(ext, out, ext.ID, sk, sv); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if i := strings.LastIndexByte(k, ':'); i >= 0 {
		urn, name := k[:i], k[i+1:]
		if strings.EqualFold(urn, rt.Schema.ID) {
			return canonAttr(rt.Schema, out, "", name, v)
		}
		for _, ext := range rt.Ext {
			if strings.EqualFold(urn, ext.ID) {
				return canonAttr(ext, out, ext.ID, name, v)
			}
		}
		return invalid("invalidValue", "%q: no such schema for %s resources", urn, rt.Name)
	}
	return canonAttr(rt.Schema, out, "", k, v)
}

// findAttr looks an attribute up in s and the common attributes.
func findAttr(s *schemaDef, name string) *attrDef {
	if a := s.attr(name); a != nil {
		return a
	}
	for _, a := range commonAttrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// canonAttr checks one attribute and stores it under its canonical name,
// in out or, for an extension, in out[urn].
func canonAttr(s *schemaDef, out map[string]any, urn, name string, v any) error {
	def := findAttr(s, name)
	if def == nil || (urn != "" && s.attr(name) == nil) {
		return invalid("invalidValue", "%s is not an attribute of %s", name, s.Name)
	}
	if def.Name == "id" || def.Name == "meta" {
		return nil
	}
	cv, err := canonValue(def, v, def.Name)
	if err != nil {
		return err
	}
	if def.Mutability == "readOnly" || def.Dropped {
		return nil
	}
	target := out
	if urn != "" {
		m, _ := out[urn].(map[string]any)
		if m == nil {
			m = map[string]any{}
			out[urn] = m
		}
		target = m
	}
	if cv == nil {
		delete(target, def.Name)
		return nil
	}
	target[def.Name] = cv
	return nil
}

// canonValue checks v against def; null is nil (no value).
func canonValue(def *attrDef, v any, where string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if def.Multi {
		list, ok := v.([]any)
		if !ok {
			return nil, invalid("invalidSyntax", "%s: want an array", where)
		}
		limit := maxValues
		if def.Name == "members" {
			limit = maxMembers
		}
		if len(list) > limit {
			return nil, invalid("invalidValue", "%s: more than %d values", where, limit)
		}
		out := make([]any, 0, len(list))
		for i, el := range list {
			one := *def
			one.Multi = false
			cv, err := canonValue(&one, el, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			if cv != nil {
				out = append(out, cv)
			}
		}
		return out, nil
	}
	switch def.Type {
	case "complex":
		m, ok := v.(map[string]any)
		if !ok {
			return nil, invalid("invalidSyntax", "%s: want an object", where)
		}
		out := map[string]any{}
		for k, sv := range m {
			sd := def.sub(k)
			if sd == nil {
				return nil, invalid("invalidValue", "%s.%s is not an attribute", where, k)
			}
			cv, err := canonValue(sd, sv, where+"."+sd.Name)
			if err != nil {
				return nil, err
			}
			if cv != nil && !sd.Dropped {
				out[sd.Name] = cv
			}
		}
		return out, nil
	case "boolean":
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			// Entra ID sends "True" and "False" as strings in PATCH.
			switch strings.ToLower(b) {
			case "true":
				return true, nil
			case "false":
				return false, nil
			}
		}
		return nil, invalid("invalidSyntax", "%s: want true or false", where)
	default: // string, reference, dateTime
		s, ok := v.(string)
		if !ok {
			return nil, invalid("invalidSyntax", "%s: want a string", where)
		}
		if len(s) > maxValueLen {
			return nil, invalid("invalidValue", "%s: longer than %d bytes", where, maxValueLen)
		}
		if strings.ContainsRune(s, 0) {
			return nil, invalid("invalidValue", "%s: contains NUL", where)
		}
		if s == "" {
			return nil, nil
		}
		return s, nil
	}
}

// ldapState is what a resource's JSON asks of its entry: values for the
// attributes the resource owns (absent: none), and the password if one
// was given.
type ldapState struct {
	attrs    map[string][]string // lower-case names
	active   *bool
	password string
}

func (st *ldapState) put(attr string, v ...string) {
	attr = strings.ToLower(attr)
	for _, s := range v {
		if s != "" && !slices.Contains(st.attrs[attr], s) {
			st.attrs[attr] = append(st.attrs[attr], s)
		}
	}
}

func sget(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func objects(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, el := range list {
		if m, ok := el.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// toLDAP maps a canonical resource to the state of its entry.
func toLDAP(rt *resourceType, doc map[string]any, rs resolver) (*ldapState, error) {
	st := &ldapState{attrs: map[string][]string{}}
	st.put("scimExternalId", sget(doc, "externalId"))
	if rt == groupType {
		cn := sget(doc, "displayName")
		if cn == "" {
			return nil, invalid("invalidValue", "displayName is required")
		}
		st.put("cn", cn)
		for _, m := range objects(doc["members"]) {
			id := sget(m, "value")
			if id == "" {
				return nil, invalid("invalidValue", "members: a member without value")
			}
			dn, _, ok, err := rs.dnOf(id, sget(m, "type"))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, invalid("invalidValue", "members: no User or Group has id %q", id)
			}
			st.put("member", dn)
		}
		return st, nil
	}
	uid := sget(doc, "userName")
	if uid == "" {
		return nil, invalid("invalidValue", "userName is required")
	}
	st.put("uid", uid)
	name, _ := doc["name"].(map[string]any)
	given, family := sget(name, "givenName"), sget(name, "familyName")
	st.put("givenName", given)
	// sn and cn are required by person: when not given they are made up.
	st.put("sn", firstOf(family, uid))
	st.put("cn", firstOf(sget(name, "formatted"), sget(doc, "displayName"), strings.TrimSpace(given+" "+family), uid))
	st.put("displayName", sget(doc, "displayName"))
	st.put("title", sget(doc, "title"))
	st.put("employeeType", sget(doc, "userType"))
	st.put("preferredLanguage", sget(doc, "preferredLanguage"))
	if b, ok := doc["active"].(bool); ok {
		st.active = &b
	}
	st.password = sget(doc, "password")
	emails := objects(doc["emails"])
	slices.SortStableFunc(emails, func(a, b map[string]any) int { // the primary first
		pa, _ := a["primary"].(bool)
		pb, _ := b["primary"].(bool)
		switch {
		case pa && !pb:
			return -1
		case pb && !pa:
			return 1
		}
		return 0
	})
	for _, e := range emails {
		st.put("mail", sget(e, "value"))
	}
	for _, p := range objects(doc["phoneNumbers"]) {
		typ := strings.ToLower(firstOf(sget(p, "type"), "work"))
		i := slices.IndexFunc(phoneAttrs, func(x struct{ typ, attr string }) bool { return x.typ == typ })
		if i < 0 {
			return nil, invalid("invalidValue", "phoneNumbers: type %q is not stored (work, mobile, fax, home, pager are)", typ)
		}
		st.put(phoneAttrs[i].attr, sget(p, "value"))
	}
	addrs := objects(doc["addresses"])
	if len(addrs) > 1 {
		return nil, invalid("invalidValue", "addresses: only one, the work address, is stored")
	}
	for _, a := range addrs {
		if typ := strings.ToLower(firstOf(sget(a, "type"), "work")); typ != "work" {
			return nil, invalid("invalidValue", "addresses: only the work address is stored, not %q", typ)
		}
		for _, m := range addressAttrs {
			st.put(m.attr, sget(a, m.sub))
		}
	}
	ext, _ := doc[URNEnterprise].(map[string]any)
	for _, a := range enterpriseAttrs {
		st.put(a.attr, sget(ext, a.name))
	}
	if mgr, _ := ext["manager"].(map[string]any); sget(mgr, "value") != "" {
		dn, _, ok, err := rs.dnOf(sget(mgr, "value"), "User")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, invalid("invalidValue", "manager: no User has id %q", sget(mgr, "value"))
		}
		st.put("manager", dn)
	}
	return st, nil
}

func firstOf(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// normDN is a DN's comparable form (lower case, no spaces around the
// separators); a string that does not parse stays as it is.
func normDN(s string) string {
	dn, err := goldap.ParseDN(s)
	if err != nil {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for i, r := range dn.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range r.Attributes {
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strings.ToLower(a.Type) + "=" + strings.ToLower(goldap.EscapeDN(a.Value)))
		}
	}
	return b.String()
}

// changes returns the modifications that take en to st, for rt's owned
// attributes. The first RDN attribute (uid, cn) is left to the caller,
// which renames. Members not shown as resources (the empty-group
// placeholder, entries outside the bases) are kept.
func changes(rt *resourceType, en *entry, st *ldapState, rs resolver, placeholder string) []goldap.Change {
	var out []goldap.Change
	owned := userAttrs
	if rt == groupType {
		owned = groupAttrs
	}
	for _, a := range owned {
		la := strings.ToLower(a)
		cur, want := en.get(a), st.attrs[la]
		switch la {
		case "pwdaccountlockedtime":
			if st.active == nil {
				continue
			}
			locked := slices.Contains(cur, permanentLock)
			if !*st.active && !locked {
				out = append(out, change(goldap.ReplaceAttribute, a, permanentLock))
			} else if *st.active && locked {
				out = append(out, change(goldap.DeleteAttribute, a))
			}
			continue
		case "member":
			wantSet := map[string]bool{}
			for _, dn := range want {
				wantSet[normDN(dn)] = true
			}
			curSet := map[string]bool{}
			var del []string
			kept := 0
			for _, dn := range cur {
				n := normDN(dn)
				curSet[n] = true
				if _, shown := rs.refOf(dn); shown && !wantSet[n] {
					del = append(del, dn)
				} else if n != normDN(placeholder) || wantSet[n] {
					kept++
				}
			}
			var add []string
			for _, dn := range want {
				if !curSet[normDN(dn)] {
					add = append(add, dn)
				}
			}
			ph := slices.ContainsFunc(cur, func(dn string) bool { return normDN(dn) == normDN(placeholder) })
			switch {
			case len(add) > 0 && ph && !wantSet[normDN(placeholder)]:
				// The group gets members: the placeholder goes.
				del = append(del, placeholder)
			case len(add) == 0 && kept == 0 && len(del) > 0 && !ph:
				// Its last member goes: groupOfNames needs one.
				add = append(add, placeholder)
			}
			if len(add) > 0 {
				out = append(out, change(goldap.AddAttribute, a, add...))
			}
			if len(del) > 0 {
				out = append(out, change(goldap.DeleteAttribute, a, del...))
			}
			continue
		case "uid":
			if rt == userType {
				continue
			}
		case "cn":
			if rt == groupType {
				continue
			}
		}
		if sameSet(cur, want) {
			continue
		}
		if len(want) == 0 {
			out = append(out, change(goldap.DeleteAttribute, a))
		} else {
			out = append(out, change(goldap.ReplaceAttribute, a, want...))
		}
	}
	if len(st.attrs["scimexternalid"]) > 0 && !slices.ContainsFunc(en.get("objectClass"), func(s string) bool { return strings.EqualFold(s, auxClass) }) {
		out = append([]goldap.Change{change(goldap.AddAttribute, "objectClass", auxClass)}, out...)
	}
	if st.password != "" {
		out = append(out, change(goldap.ReplaceAttribute, "userPassword", st.password))
	}
	return out
}

func change(op uint, attr string, vals ...string) goldap.Change {
	return goldap.Change{Operation: op, Modification: goldap.PartialAttribute{Type: attr, Vals: vals}}
}

// sameSet compares values as sets, exactly (a change of case is a change).
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}
