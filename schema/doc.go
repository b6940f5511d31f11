// Package schema holds the LDAP schema of a Switchboard server: syntaxes,
// matching rules, attribute types and object classes (RFC 4512), the
// value checks and normal forms derived from them, and the subschema
// publication that clients read.
//
// # Model
//
// A *Schema is built once, by Default (the built-in definitions) or by
// Extend / ExtendDefinitions (a new schema with more definitions), and is
// then immutable and safe for concurrent use. Definitions are kept in
// their parsed RFC 4512 form (AttributeTypeDescription,
// ObjectClassDescription) and resolved into linked AttributeType and
// ObjectClass values. An attribute type's Equality, Ordering, Substr and
// Syntax fields hold the effective values, inherited from SUP when the
// definition omits them (RFC 4512 section 2.5.1). A definition whose OID
// is already present replaces the old one; two OIDs may not share a name.
// Syntaxes and matching rules are built in; an attribute type naming an
// unknown syntax OID gets an Octet String validator, while an unknown
// matching rule is an error.
//
// Lookups are case-insensitive by any name or the OID, and Attribute
// ignores attribute options ("cn;lang-en" finds cn).
//
// # Normal forms
//
// AttributeType.Normalize maps a value to the normal form of its EQUALITY
// rule: two values match iff their normal forms are byte-equal, so an
// equality index stores normal forms. The forms are:
//
//   - caseIgnoreMatch and relatives: RFC 4518 preparation — control and
//     format characters (soft hyphen, zero-width space, joiners, variation
//     selectors) removed; tabs, line breaks and all Unicode space
//     separators mapped to SPACE; NFKC; full Unicode case folding (for the
//     case-ignore rules); then insignificant space handling: leading and
//     trailing spaces removed and inner runs of spaces collapsed to one
//     (a value of spaces only becomes a single space). The U+FFFD
//     replacement character and non-characters are prohibited; unassigned
//     and private-use code points are accepted, and the bidi and combining
//     mark refinements of RFC 4518 are not applied. ASCII input takes a
//     fast path with no allocation when it is already normal.
//   - caseExactMatch: the same without case folding.
//   - caseIgnoreIA5Match, caseExactIA5Match: the same on ASCII only.
//   - numericStringMatch: all spaces removed.
//   - telephoneNumberMatch: case-ignore form with spaces and '-' removed.
//   - caseIgnoreListMatch (postal addresses): each '$'-separated line in
//     case-ignore form, joined by '$'.
//   - distinguishedNameMatch: the canonical DN of Schema.NormalizeDN:
//     lower-cased primary attribute names, values in their own equality
//     normal form, multi-valued RDNs sorted, RFC 4514 escaping.
//   - uniqueMemberMatch: canonical DN, then "#'bits'B" when present.
//   - objectIdentifierMatch: the numeric OID; names of attribute types,
//     object classes and matching rules are resolved, other descriptors
//     lower-cased.
//   - integerMatch: the value itself (RFC 4517 form is already canonical).
//   - booleanMatch: TRUE or FALSE (input accepted in any case).
//   - generalizedTimeMatch: UTC "YYYYMMDDHHMMSS[.fraction]Z", the fraction
//     without trailing zeros, so 20250101120000+0100 equals
//     20250101110000Z.
//   - UUIDMatch: lower-case hex.
//   - octetStringMatch, certificateExactMatch, bitStringMatch: the bytes.
//   - the *FirstComponentMatch rules: the first component's normal form.
//
// Ordering (Compare) uses the ORDERING rule: numeric for integers, time
// for generalizedTime, code point order of the normal form for string
// rules. Substring assertion pieces are prepared by NormalizeSubstring
// and matched against SubstringValue; see NormalizeSubstring for the
// simplified space handling. ApproxKey is the equality normal form with
// spaces removed: no phonetic algorithm is applied.
//
// # Entry checking
//
// Check applies the object class rules of RFC 4512 section 2.4 to an entry
// and reports the exact LDAP result code (see Check for the list). An
// unknown objectClass value is reported as invalidAttributeSyntax (21), as
// OpenLDAP does. DIT content rules, DIT structure rules and name forms are
// not implemented.
//
// # Publication
//
// SubschemaAttributes renders attributeTypes, objectClasses, ldapSyntaxes,
// matchingRules and matchingRuleUse as RFC 4512 section 4.1 strings that
// this package's parsers, OpenLDAP's and Apache Directory Studio's accept.
package schema
