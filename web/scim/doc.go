// Package scim serves SCIM 2.0 (RFC 7643, RFC 7644) provisioning at
// /scim/v2 on the public HTTP listener: Users (core and the enterprise
// extension) as inetOrgPerson entries and Groups as groupOfNames, for
// identity providers such as Microsoft Entra ID and Okta.
//
// Every request acts in the directory as an LDAP client (package web): a
// bearer token made with the admin API (POST /api/v1/tokens
// {"scope": "scim"}, optionally {"identity": DN}) acts as its identity,
// and HTTP Basic binds with a login and password. The access rules of
// that identity decide what it may read and write; a write here is an
// ordinary LDAP write (it replicates, is audited, and is visible over LDAP
// at once). /ServiceProviderConfig, /Schemas and /ResourceTypes need no
// credentials: they describe the server, not the directory.
//
// # Where resources live
//
// Users are the inetOrgPerson entries in the subtree of Config.UsersBase
// (default ou=people under the suffix), created as uid=<userName> there;
// Groups the groupOfNames entries under Config.GroupsBase (default
// ou=groups), created as cn=<displayName>. A resource's id is its entry's
// entryUUID. Entries created here also get the auxiliary class
// scimResource (which allows scimExternalId).
//
// # Mapping
//
//	SCIM attribute                    LDAP attribute
//	id                                entryUUID
//	externalId                        scimExternalId (caseExact)
//	meta.created, meta.lastModified   createTimestamp, modifyTimestamp
//	meta.version                      digest of entryCSN (and memberOf for users)
//	User userName                     uid (the RDN; a change renames the entry)
//	name.formatted                    cn (if absent: displayName, given+family, userName)
//	name.familyName                   sn (if absent: userName; person requires sn)
//	name.givenName                    givenName
//	displayName                       displayName
//	title                             title
//	userType                          employeeType
//	preferredLanguage                 preferredLanguage
//	active                            false: pwdAccountLockedTime 000001010000Z
//	password (writeOnly)              userPassword (hashed by the server)
//	emails[].value                    mail (type is always work; the first is primary)
//	phoneNumbers[type=work].value     telephoneNumber
//	phoneNumbers[type=mobile].value   mobile
//	phoneNumbers[type=fax].value      facsimileTelephoneNumber
//	phoneNumbers[type=home].value     homePhone
//	phoneNumbers[type=pager].value    pager
//	addresses[type=work]              streetAddress street, locality l, region st,
//	                                  postalCode postalCode
//	groups (readOnly)                 memberOf (groups under the Groups base)
//	enterprise employeeNumber         employeeNumber
//	enterprise organization           o
//	enterprise division               ou
//	enterprise department             departmentNumber
//	enterprise manager.value          manager (the DN of the user with that id)
//	Group displayName                 cn (the RDN; a change renames the entry)
//	members[].value                   member (the DN of the User or Group with that id)
//
// Attributes of RFC 7643's schemas that inetOrgPerson has no place for
// (nickName, profileUrl, locale, timezone, ims, photos, entitlements,
// roles, x509Certificates, name.middleName and honorifics, costCenter,
// addresses' formatted and country) are accepted in requests and not
// stored, as RFC 7644 section 3.3 allows; /Schemas does not list them.
// Attributes in no schema are errors (400 invalidValue).
//
// # Deactivation
//
// active=false writes pwdAccountLockedTime: 000001010000Z, the password
// policy's administrative lock (package directory/overlay/ppolicy), which
// refuses LDAP binds (and so web logins) while the attribute is there,
// when the overlay is on and a policy governs the entry
// (overlays.ppolicy.default, or pwdPolicySubentry);
// active=true removes that value (a temporary lockout after failed binds
// is left alone, and shows as active). A PUT without active leaves it as
// it is. A SCIM token whose identity has any pwdAccountLockedTime stops
// working (once its kept session expires, web.DefaultSessionMaxAge).
//
// # Groups without members
//
// groupOfNames requires a member: a group with none keeps Config.Placeholder
// (the memberOf overlay's placeholder, by default the empty DN), which is
// not shown as a member and goes when a member is added. Members that are
// not resources (entries outside the bases) are shown nowhere and kept by
// PUT and PATCH.
//
// # Filters, sorting, paging
//
// Filters (eq, ne, co, sw, ew, pr, gt, ge, lt, le, and, or, not,
// grouping, value paths such as emails[type eq "work"].value) are
// translated to LDAP filters with escaped values; strings compare as the
// LDAP attributes' matching rules say (case-insensitively but for
// externalId). Ordering comparisons on attributes without an LDAP ordering
// rule (all but the meta timestamps) are evaluated here over every
// resource of the type. A list reads every matching entry (LDAP paged
// results), sorts them (sortBy on the mapped LDAP attribute, entries
// without it last) and renders only the page (startIndex, count at most
// Config.MaxResults). The identity's LDAP limits (limits.size and the
// like) bound how many resources one filter may select: beyond them the
// answer is 400 tooMany, so a large directory wants a filter.
//
// # Versions
//
// meta.version, also the ETag header, is a weak ETag that every write of
// the entry, and for a user every change of its groups, changes. PUT,
// PATCH and DELETE honour If-Match (412 when it does not match); PUT and
// PATCH also assert the entryCSN they read (RFC 4528), so that a write
// made meanwhile over LDAP makes them fail with 412 rather than be lost.
// GET honours If-None-Match (304).
//
// # PATCH
//
// Operations apply to the resource as read, in order; then the result is
// written as one LDAP modify (and a modify DN for a rename), so a request
// with one bad operation writes nothing. Names and op values are
// case-insensitive. For Entra ID and Okta: booleans may come as "True" and
// "False"; add and replace on a path with a value filter that selects
// nothing, such as emails[type eq "work"].value, create the element;
// remove on members may list the members to remove in value; a manager
// may be given as its id alone.
//
// Not supported: /Bulk, /Me, POST .search, and changing a User's or
// Group's base (move).
package scim
