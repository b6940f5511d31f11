package scim

import (
	"strings"
)

// Schema URNs (RFC 7643 sections 8.7, 4.3; RFC 7644 section 3.12).
const (
	URNUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	URNGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	URNEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	URNListResp   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	URNPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	URNError      = "urn:ietf:params:scim:api:messages:2.0:Error"
	URNSPConfig   = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	URNSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	URNResType    = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
)

// An attrDef describes a SCIM attribute as /Schemas publishes it, and how
// the resources here treat it. Dropped attributes are part of RFC 7643's
// schema but have no home in inetOrgPerson: a request may carry them,
// they are not stored, and /Schemas does not list them.
type attrDef struct {
	Name        string
	Type        string // string, boolean, complex, reference, dateTime
	Multi       bool
	Sub         []*attrDef
	Mutability  string // readWrite (""), readOnly, immutable, writeOnly
	Returned    string // default (""), always, never
	Required    bool
	CaseExact   bool
	Uniqueness  string // none (""), server
	Canonical   []string
	RefTypes    []string
	Description string
	Dropped     bool
}

func (a *attrDef) sub(name string) *attrDef {
	for _, s := range a.Sub {
		if strings.EqualFold(s.Name, name) {
			return s
		}
	}
	return nil
}

// A schemaDef is one schema: its URN and top-level attributes.
type schemaDef struct {
	ID, Name, Description string
	Attrs                 []*attrDef
}

func (s *schemaDef) attr(name string) *attrDef {
	for _, a := range s.Attrs {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

func str(name, desc string) *attrDef { return &attrDef{Name: name, Type: "string", Description: desc} }

func dropped(name, typ string, multi bool) *attrDef {
	return &attrDef{Name: name, Type: typ, Multi: multi, Dropped: true}
}

// multiSubs are the sub-attributes of the multi-valued complex attributes
// of RFC 7643 section 2.4.
func multiSubs(canonical ...string) []*attrDef {
	return []*attrDef{
		str("value", "the value"),
		str("display", "a human-readable name"),
		{Name: "type", Type: "string", Canonical: canonical, Description: "the kind of value"},
		{Name: "primary", Type: "boolean", Description: "whether this is the primary value"},
	}
}

var userSchema = &schemaDef{ID: URNUser, Name: "User", Description: "User account (inetOrgPerson)", Attrs: []*attrDef{
	{Name: "userName", Type: "string", Required: true, Uniqueness: "server", Description: "unique login name: uid, and the entry's RDN"},
	{Name: "name", Type: "complex", Description: "the person's name", Sub: []*attrDef{
		str("formatted", "full name: cn"),
		str("familyName", "family name: sn"),
		str("givenName", "given name: givenName"),
		dropped("middleName", "string", false), dropped("honorificPrefix", "string", false), dropped("honorificSuffix", "string", false),
	}},
	str("displayName", "display name: displayName"),
	dropped("nickName", "string", false),
	dropped("profileUrl", "reference", false),
	str("title", "job title: title"),
	str("userType", "kind of user: employeeType"),
	str("preferredLanguage", "preferred language: preferredLanguage"),
	dropped("locale", "string", false),
	dropped("timezone", "string", false),
	{Name: "active", Type: "boolean", Description: "false: the account is locked (pwdAccountLockedTime 000001010000Z)"},
	{Name: "password", Type: "string", Mutability: "writeOnly", Returned: "never", Description: "the password: userPassword"},
	{Name: "emails", Type: "complex", Multi: true, Sub: multiSubs("work"), Description: "e-mail addresses: mail (all of type work; the first is primary)"},
	{Name: "phoneNumbers", Type: "complex", Multi: true, Sub: multiSubs("work", "mobile", "fax", "home", "pager"),
		Description: "telephone numbers by type: telephoneNumber, mobile, facsimileTelephoneNumber, homePhone, pager"},
	dropped("ims", "complex", true),
	dropped("photos", "complex", true),
	{Name: "addresses", Type: "complex", Multi: true, Description: "the work address: street, l, st, postalCode", Sub: []*attrDef{
		str("streetAddress", "street"), str("locality", "l"), str("region", "st"), str("postalCode", "postalCode"),
		{Name: "type", Type: "string", Canonical: []string{"work"}}, {Name: "primary", Type: "boolean"},
		dropped("formatted", "string", false), dropped("country", "string", false),
	}},
	{Name: "groups", Type: "complex", Multi: true, Mutability: "readOnly", Description: "groups the user is a member of: memberOf", Sub: []*attrDef{
		{Name: "value", Type: "string", Mutability: "readOnly"},
		{Name: "$ref", Type: "reference", RefTypes: []string{"Group"}, Mutability: "readOnly"},
		{Name: "display", Type: "string", Mutability: "readOnly"},
		{Name: "type", Type: "string", Canonical: []string{"direct"}, Mutability: "readOnly"},
	}},
	dropped("entitlements", "complex", true),
	dropped("roles", "complex", true),
	dropped("x509Certificates", "complex", true),
}}

var enterpriseSchema = &schemaDef{ID: URNEnterprise, Name: "EnterpriseUser", Description: "Enterprise User", Attrs: []*attrDef{
	str("employeeNumber", "employeeNumber"),
	dropped("costCenter", "string", false),
	str("organization", "o"),
	str("division", "ou"),
	str("department", "departmentNumber"),
	{Name: "manager", Type: "complex", Description: "the user's manager: manager", Sub: []*attrDef{
		{Name: "value", Type: "string", Description: "the manager's id"},
		{Name: "$ref", Type: "reference", RefTypes: []string{"User"}, Mutability: "readOnly"},
		{Name: "displayName", Type: "string", Mutability: "readOnly"},
	}},
}}

var groupSchema = &schemaDef{ID: URNGroup, Name: "Group", Description: "Group (groupOfNames)", Attrs: []*attrDef{
	{Name: "displayName", Type: "string", Required: true, Uniqueness: "server", Description: "the group's name: cn, and the entry's RDN"},
	{Name: "members", Type: "complex", Multi: true, Description: "members: member", Sub: []*attrDef{
		{Name: "value", Type: "string", Mutability: "immutable", Description: "the member's id"},
		{Name: "$ref", Type: "reference", RefTypes: []string{"User", "Group"}, Mutability: "immutable"},
		{Name: "display", Type: "string", Mutability: "readOnly"},
		{Name: "type", Type: "string", Canonical: []string{"User", "Group"}, Mutability: "immutable"},
	}},
}}

// commonAttrs are every resource's (RFC 7643 section 3.1).
var commonAttrs = []*attrDef{
	{Name: "id", Type: "string", Mutability: "readOnly", Returned: "always", CaseExact: true, Uniqueness: "server", Description: "entryUUID"},
	{Name: "externalId", Type: "string", CaseExact: true, Description: "the provisioning client's id: scimExternalId"},
	{Name: "meta", Type: "complex", Mutability: "readOnly", Sub: []*attrDef{
		{Name: "resourceType", Type: "string", Mutability: "readOnly"},
		{Name: "created", Type: "dateTime", Mutability: "readOnly"},
		{Name: "lastModified", Type: "dateTime", Mutability: "readOnly"},
		{Name: "location", Type: "reference", Mutability: "readOnly"},
		{Name: "version", Type: "string", Mutability: "readOnly"},
	}},
}

// schemaJSON renders a schema for /Schemas (RFC 7643 section 7).
func schemaJSON(s *schemaDef, base string) map[string]any {
	attrs := []any{}
	for _, a := range s.Attrs {
		if !a.Dropped {
			attrs = append(attrs, attrJSON(a))
		}
	}
	return map[string]any{
		"schemas": []any{URNSchema}, "id": s.ID, "name": s.Name, "description": s.Description, "attributes": attrs,
		"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + s.ID},
	}
}

func attrJSON(a *attrDef) map[string]any {
	m := map[string]any{
		"name": a.Name, "type": a.Type, "multiValued": a.Multi, "required": a.Required, "caseExact": a.CaseExact,
		"mutability": or(a.Mutability, "readWrite"), "returned": or(a.Returned, "default"), "uniqueness": or(a.Uniqueness, "none"),
		"description": a.Description,
	}
	if a.Canonical != nil {
		m["canonicalValues"] = a.Canonical
	}
	if a.RefTypes != nil {
		m["referenceTypes"] = a.RefTypes
	}
	if a.Sub != nil {
		var subs []any
		for _, s := range a.Sub {
			if !s.Dropped {
				subs = append(subs, attrJSON(s))
			}
		}
		m["subAttributes"] = subs
	}
	return m
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// A resourceType is Users or Groups.
type resourceType struct {
	Name     string // "User", "Group"
	Endpoint string // "/Users", "/Groups"
	Schema   *schemaDef
	Ext      []*schemaDef
}

var (
	userType  = &resourceType{Name: "User", Endpoint: "/Users", Schema: userSchema, Ext: []*schemaDef{enterpriseSchema}}
	groupType = &resourceType{Name: "Group", Endpoint: "/Groups", Schema: groupSchema}
)

func resourceTypeJSON(rt *resourceType, base string) map[string]any {
	m := map[string]any{
		"schemas": []any{URNResType}, "id": rt.Name, "name": rt.Name, "endpoint": rt.Endpoint,
		"description": rt.Schema.Description, "schema": rt.Schema.ID,
		"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + rt.Name},
	}
	var ext []any
	for _, e := range rt.Ext {
		ext = append(ext, map[string]any{"schema": e.ID, "required": false})
	}
	if ext != nil {
		m["schemaExtensions"] = ext
	}
	return m
}

func spConfigJSON(base string, maxResults int) map[string]any {
	return map[string]any{
		"schemas":          []any{URNSPConfig},
		"documentationUri": "https://github.com/switchboard-ldap/switchboard",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxResults},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{
			map[string]any{"type": "oauthbearertoken", "name": "Bearer token", "primary": true,
				"description": "a token made with POST /api/v1/tokens {\"scope\": \"scim\"} on the admin API, acting as its directory identity"},
			map[string]any{"type": "httpbasic", "name": "HTTP Basic",
				"description": "a directory login (uid, mail or DN) and its password"},
		},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": base + "/ServiceProviderConfig"},
	}
}
