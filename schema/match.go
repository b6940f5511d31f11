package schema

import (
	"bytes"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// SubstringPart says which component of a substrings assertion a piece is.
type SubstringPart uint8

// Substring assertion components (RFC 4511 section 4.5.1.7.2).
const (
	SubInitial SubstringPart = iota
	SubAny
	SubFinal
)

func (p SubstringPart) spaceMode() spaceMode {
	switch p {
	case SubInitial:
		return spaceInitial
	case SubFinal:
		return spaceFinal
	}
	return spaceAny
}

// Matching rule OIDs used by the package.
const (
	oidObjectIdentifierMatch  = "2.5.13.0"
	oidDistinguishedNameMatch = "2.5.13.1"
	oidCaseIgnoreMatch        = "2.5.13.2"
)

// builtinRules returns the matching rules, bound to s.
func (s *Schema) builtinRules() []*MatchingRule {
	eq := func(oid, name, syn string, f func([]byte) ([]byte, error)) *MatchingRule {
		return &MatchingRule{OID: oid, Names: []string{name}, SyntaxOID: syn, Kind: EqualityRule, norm: f}
	}
	ord := func(oid, name, syn string, f func(x, y []byte) (int, error)) *MatchingRule {
		return &MatchingRule{OID: oid, Names: []string{name}, SyntaxOID: syn, Kind: OrderingRule, compare: f}
	}
	sub := func(oid, name string, value func([]byte) ([]byte, error), piece func([]byte, SubstringPart) ([]byte, error)) *MatchingRule {
		return &MatchingRule{OID: oid, Names: []string{name}, SyntaxOID: SyntaxSubstringAsser, Kind: SubstringRule, norm: value, sub: piece}
	}
	byNorm := func(f func([]byte) ([]byte, error)) func(x, y []byte) (int, error) {
		return func(x, y []byte) (int, error) {
			nx, err := f(x)
			if err != nil {
				return 0, err
			}
			ny, err := f(y)
			if err != nil {
				return 0, err
			}
			return bytes.Compare(nx, ny), nil
		}
	}
	ia5 := "1.3.6.1.4.1.1466.109.114."
	rules := []*MatchingRule{
		eq(oidObjectIdentifierMatch, "objectIdentifierMatch", SyntaxOID, s.normOID),
		eq(oidDistinguishedNameMatch, "distinguishedNameMatch", SyntaxDN, s.normDNValue),
		eq(oidCaseIgnoreMatch, "caseIgnoreMatch", SyntaxDirectory, normCaseIgnore),
		ord("2.5.13.3", "caseIgnoreOrderingMatch", SyntaxDirectory, byNorm(normCaseIgnore)),
		sub("2.5.13.4", "caseIgnoreSubstringsMatch", normCaseIgnore, subCaseIgnore),
		eq("2.5.13.5", "caseExactMatch", SyntaxDirectory, normCaseExact),
		ord("2.5.13.6", "caseExactOrderingMatch", SyntaxDirectory, byNorm(normCaseExact)),
		sub("2.5.13.7", "caseExactSubstringsMatch", normCaseExact, subCaseExact),
		eq("2.5.13.8", "numericStringMatch", SyntaxNumericString, normNumeric),
		ord("2.5.13.9", "numericStringOrderingMatch", SyntaxNumericString, byNorm(normNumeric)),
		sub("2.5.13.10", "numericStringSubstringsMatch", normNumeric, subNumeric),
		eq("2.5.13.11", "caseIgnoreListMatch", SyntaxPostalAddress, normPostal),
		sub("2.5.13.12", "caseIgnoreListSubstringsMatch", normPostal, subCaseIgnore),
		eq("2.5.13.13", "booleanMatch", SyntaxBoolean, normBoolean),
		eq("2.5.13.14", "integerMatch", SyntaxInteger, normInteger),
		ord("2.5.13.15", "integerOrderingMatch", SyntaxInteger, compareInteger),
		eq("2.5.13.16", "bitStringMatch", SyntaxBitString, normBitString),
		eq("2.5.13.17", "octetStringMatch", SyntaxOctetString, normOctet),
		ord("2.5.13.18", "octetStringOrderingMatch", SyntaxOctetString, byNorm(normOctet)),
		eq("2.5.13.20", "telephoneNumberMatch", SyntaxTelephone, normTelephone),
		sub("2.5.13.21", "telephoneNumberSubstringsMatch", normTelephone, subTelephone),
		eq("2.5.13.22", "presentationAddressMatch", oidSyntaxPrefix+"43", normCaseIgnore),
		eq("2.5.13.23", "uniqueMemberMatch", SyntaxNameAndUID, s.normUniqueMember),
		eq("2.5.13.24", "protocolInformationMatch", oidSyntaxPrefix+"42", normCaseIgnore),
		eq("2.5.13.27", "generalizedTimeMatch", SyntaxGeneralized, normGeneralizedTime),
		ord("2.5.13.28", "generalizedTimeOrderingMatch", SyntaxGeneralized, compareGeneralizedTime),
		eq("2.5.13.29", "integerFirstComponentMatch", SyntaxInteger, firstComponent(normInteger)),
		eq("2.5.13.30", "objectIdentifierFirstComponentMatch", SyntaxOID, firstComponent(s.normOID)),
		eq("2.5.13.31", "directoryStringFirstComponentMatch", SyntaxDirectory, firstComponent(normCaseIgnore)),
		eq("2.5.13.34", "certificateExactMatch", "1.3.6.1.1.15.1", normOctet),
		eq(ia5+"1", "caseExactIA5Match", SyntaxIA5, normCaseExactIA5),
		eq(ia5+"2", "caseIgnoreIA5Match", SyntaxIA5, normCaseIgnoreIA5),
		sub(ia5+"3", "caseIgnoreIA5SubstringsMatch", normCaseIgnoreIA5, subCaseIgnoreIA5),
		sub("1.3.6.1.4.1.4203.1.2.1", "caseExactIA5SubstringsMatch", normCaseExactIA5, subCaseExactIA5),
		eq("1.3.6.1.1.16.2", "UUIDMatch", SyntaxUUID, normUUID),
		ord("1.3.6.1.1.16.3", "UUIDOrderingMatch", SyntaxUUID, byNorm(normUUID)),
		eq("1.3.6.1.4.1.4203.666.11.2.2", "CSNMatch", SyntaxCSN, normCSN),
		ord("1.3.6.1.4.1.4203.666.11.2.3", "CSNOrderingMatch", SyntaxCSN, byNorm(normCSN)),
	}
	// The string rules whose normal form can be built in a caller's
	// buffer (AppendNormalize, AppendSubstringValue).
	appendNorm := map[string]func(dst, v []byte) ([]byte, error){
		oidCaseIgnoreMatch: appendCaseIgnore, "2.5.13.4": appendCaseIgnore,
		"2.5.13.5": appendCaseExact, "2.5.13.7": appendCaseExact,
		ia5 + "2": appendCaseIgnoreIA5, ia5 + "3": appendCaseIgnoreIA5,
		ia5 + "1": appendCaseExactIA5, "1.3.6.1.4.1.4203.1.2.1": appendCaseExactIA5,
	}
	for _, r := range rules {
		r.appendNorm = appendNorm[r.OID]
		switch r.OID {
		case "2.5.13.4", ia5 + "3":
			r.asciiPrep, r.asciiPrefix = foldCase, true
		case "2.5.13.7", "1.3.6.1.4.1.4203.1.2.1":
			r.asciiPrefix = true
		}
	}
	return rules
}

func normCaseIgnore(v []byte) ([]byte, error) { return prepareString(v, foldCase, spaceEquality) }

func appendCaseIgnore(dst, v []byte) ([]byte, error) {
	return appendPrepared(dst, v, foldCase, spaceEquality)
}

func appendCaseExact(dst, v []byte) ([]byte, error) { return appendPrepared(dst, v, 0, spaceEquality) }

func appendCaseIgnoreIA5(dst, v []byte) ([]byte, error) {
	if err := checkIA5(v); err != nil {
		return nil, err
	}
	return appendASCII(dst, v, foldCase, spaceEquality), nil
}

func appendCaseExactIA5(dst, v []byte) ([]byte, error) {
	if err := checkIA5(v); err != nil {
		return nil, err
	}
	return appendASCII(dst, v, 0, spaceEquality), nil
}
func normCaseExact(v []byte) ([]byte, error) { return prepareString(v, 0, spaceEquality) }

func subCaseIgnore(v []byte, p SubstringPart) ([]byte, error) {
	return prepareString(v, foldCase, p.spaceMode())
}

func subCaseExact(v []byte, p SubstringPart) ([]byte, error) {
	return prepareString(v, 0, p.spaceMode())
}

func checkIA5(v []byte) error {
	for _, c := range v {
		if c >= 0x80 {
			return errors.New("value is not IA5")
		}
	}
	return nil
}

func normCaseIgnoreIA5(v []byte) ([]byte, error) {
	if err := checkIA5(v); err != nil {
		return nil, err
	}
	return prepareASCII(v, foldCase, spaceEquality), nil
}

func normCaseExactIA5(v []byte) ([]byte, error) {
	if err := checkIA5(v); err != nil {
		return nil, err
	}
	return prepareASCII(v, 0, spaceEquality), nil
}

func subCaseIgnoreIA5(v []byte, p SubstringPart) ([]byte, error) {
	if err := checkIA5(v); err != nil {
		return nil, err
	}
	return prepareASCII(v, foldCase, p.spaceMode()), nil
}

func subCaseExactIA5(v []byte, p SubstringPart) ([]byte, error) {
	if err := checkIA5(v); err != nil {
		return nil, err
	}
	return prepareASCII(v, 0, p.spaceMode()), nil
}

// removeBytes deletes every byte of set from b, aliasing b when there is
// nothing to delete.
func removeBytes(b []byte, set string) []byte {
	if !bytes.ContainsAny(b, set) {
		return b
	}
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if strings.IndexByte(set, c) < 0 {
			out = append(out, c)
		}
	}
	return out
}

// normNumeric: numericStringMatch ignores all spaces (RFC 4518 2.6.2).
func normNumeric(v []byte) ([]byte, error) {
	if err := validateNumericString(v); err != nil {
		return nil, err
	}
	return removeBytes(v, " "), nil
}

func subNumeric(v []byte, _ SubstringPart) ([]byte, error) {
	for _, c := range v {
		if !isDigit(c) && c != ' ' {
			return nil, errors.New("invalid numeric string")
		}
	}
	return removeBytes(v, " "), nil
}

// normTelephone: telephoneNumberMatch is case-ignore with all spaces and
// hyphens removed (RFC 4518 2.6.3).
func normTelephone(v []byte) ([]byte, error) {
	p, err := prepareString(v, foldCase, spaceEquality)
	if err != nil {
		return nil, err
	}
	return removeBytes(p, " -"), nil
}

func subTelephone(v []byte, _ SubstringPart) ([]byte, error) {
	p, err := prepareString(v, foldCase, spaceAny)
	if err != nil {
		return nil, err
	}
	return removeBytes(p, " -"), nil
}

// normPostal: caseIgnoreListMatch compares each line with caseIgnoreMatch
// (RFC 4517 4.2.5). The normal form is the prepared lines joined by '$',
// with '$' and '\' inside a line escaped again.
func normPostal(v []byte) ([]byte, error) {
	var out []byte
	for i, line := range bytes.Split(v, []byte{'$'}) {
		u, err := unescapePostalLine(line)
		if err != nil {
			return nil, err
		}
		p, err := normCaseIgnore(u)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			out = append(out, '$')
		}
		for _, c := range p {
			switch c {
			case '$':
				out = append(out, `\24`...)
			case '\\':
				out = append(out, `\5C`...)
			default:
				out = append(out, c)
			}
		}
	}
	return out, nil
}

func normBoolean(v []byte) ([]byte, error) {
	// RFC 4517 3.3.3 requires upper case; we accept any case on input so
	// assertions like (x=true) work, as OpenLDAP does.
	switch {
	case bytes.EqualFold(v, []byte("TRUE")):
		return []byte("TRUE"), nil
	case bytes.EqualFold(v, []byte("FALSE")):
		return []byte("FALSE"), nil
	}
	return nil, errors.New("boolean must be TRUE or FALSE")
}

func normInteger(v []byte) ([]byte, error) {
	if err := validateInteger(v); err != nil {
		return nil, err
	}
	return v, nil
}

// compareInteger orders integers numerically, with no size limit.
func compareInteger(x, y []byte) (int, error) {
	if err := validateInteger(x); err != nil {
		return 0, err
	}
	if err := validateInteger(y); err != nil {
		return 0, err
	}
	nx, ny := len(x) > 0 && x[0] == '-', len(y) > 0 && y[0] == '-'
	switch {
	case nx && !ny:
		return -1, nil
	case !nx && ny:
		return 1, nil
	}
	c := len(x) - len(y)
	if c == 0 {
		c = bytes.Compare(x, y)
	}
	if c < 0 {
		c = -1
	} else if c > 0 {
		c = 1
	}
	if nx {
		c = -c
	}
	return c, nil
}

func normBitString(v []byte) ([]byte, error) {
	if err := validateBitString(v); err != nil {
		return nil, err
	}
	return v, nil
}

func normOctet(v []byte) ([]byte, error) { return v, nil }

func normGeneralizedTime(v []byte) ([]byte, error) {
	t, err := ParseGeneralizedTime(v)
	if err != nil {
		return nil, err
	}
	return []byte(FormatGeneralizedTime(t)), nil
}

func compareGeneralizedTime(x, y []byte) (int, error) {
	tx, err := ParseGeneralizedTime(x)
	if err != nil {
		return 0, err
	}
	ty, err := ParseGeneralizedTime(y)
	if err != nil {
		return 0, err
	}
	return tx.Compare(ty), nil
}

func normUUID(v []byte) ([]byte, error) {
	if err := validateUUID(v); err != nil {
		return nil, err
	}
	return bytes.ToLower(v), nil
}

// normCSN lower-cases the hex fields of a CSN: the text form's fields are
// fixed-width, so byte order of the normal form is CSN order (time,
// counter, replica, sub-operation), as OpenLDAP's CSNOrderingMatch.
func normCSN(v []byte) ([]byte, error) {
	if err := validateCSN(v); err != nil {
		return nil, err
	}
	return bytes.ToLower(v), nil
}

// firstComponent applies f to the first component of a value of the form
// "( component ...": the *FirstComponentMatch rules (RFC 4517 4.2.28-31)
// compare it with an assertion that is the component alone.
func firstComponent(f func([]byte) ([]byte, error)) func([]byte) ([]byte, error) {
	return func(v []byte) ([]byte, error) {
		t := bytes.TrimLeft(v, " ")
		if len(t) > 0 && t[0] == '(' {
			t = bytes.TrimLeft(t[1:], " ")
			if i := bytes.IndexAny(t, " )"); i >= 0 {
				t = t[:i]
			}
			return f(t)
		}
		return f(v)
	}
}

// UnknownDescriptor reports whether v, an assertion value of at's
// equality rule, is a descriptor the schema does not know where the rule
// is objectIdentifierMatch: RFC 4517 4.2.26 makes such an assertion
// Undefined (so (!(objectClass=bogusClass)) matches nothing), where a
// stored value of that kind is only compared by name.
func (s *Schema) UnknownDescriptor(at *AttributeType, v []byte) bool {
	if at.Equality == nil || at.Equality.OID != oidObjectIdentifierMatch {
		return false
	}
	str := string(v)
	if isNumericOID(str) || !isDescr(str) {
		return false
	}
	_, ok := s.oidOf(str)
	return !ok
}

// normOID: objectIdentifierMatch. Names of attribute types, object
// classes, syntaxes and matching rules resolve to their OIDs; an unknown
// descriptor is compared case-insensitively.
func (s *Schema) normOID(v []byte) ([]byte, error) {
	str := string(v)
	if isNumericOID(str) {
		return v, nil
	}
	if !isDescr(str) {
		return nil, errors.New("invalid OID")
	}
	if oid, ok := s.oidOf(str); ok {
		return []byte(oid), nil
	}
	return bytes.ToLower(v), nil
}

func (s *Schema) normDNValue(v []byte) ([]byte, error) {
	n, err := s.NormalizeDNString(string(v))
	if err != nil {
		return nil, err
	}
	return []byte(n), nil
}

// normUniqueMember: uniqueMemberMatch compares the DN by
// distinguishedNameMatch and the optional bit string exactly.
func (s *Schema) normUniqueMember(v []byte) ([]byte, error) {
	dn, uid := splitNameUID(v)
	n, err := s.NormalizeDNString(string(dn))
	if err != nil {
		return nil, err
	}
	if uid != nil {
		n += "#" + string(uid)
	}
	return []byte(n), nil
}

func inappropriate(a *AttributeType, what string) error {
	return &ldap.Error{Code: ldap.InappropriateMatching, Message: a.Name() + ": no " + what + " matching rule"}
}

func invalidValue(a *AttributeType, err error) error {
	return &ldap.Error{Code: ldap.InvalidAttributeSyntax, Message: a.Name() + ": " + err.Error()}
}

// Normalize returns the equality normal form of v under the attribute's
// EQUALITY rule: the key an equality index stores. Two values match iff
// their normal forms are byte-equal. The result may alias v. Errors are
// *ldap.Error: inappropriateMatching when the type has no equality rule,
// invalidAttributeSyntax when v cannot be normalised.
func (a *AttributeType) Normalize(v []byte) ([]byte, error) {
	if a.Equality == nil {
		return nil, inappropriate(a, "equality")
	}
	n, err := a.Equality.norm(v)
	if err != nil {
		return nil, invalidValue(a, err)
	}
	return n, nil
}

// AppendNormalize is Normalize, but a new normal form is appended to dst,
// where the equality rule allows it (the string rules), rather than made
// anew: filter evaluation, which compares every value it tests and drops
// it, reuses one buffer. The result may alias v or dst's array; it must
// not be written.
func (a *AttributeType) AppendNormalize(dst, v []byte) ([]byte, error) {
	if a.Equality == nil || a.Equality.appendNorm == nil {
		return a.Normalize(v)
	}
	n, err := a.Equality.appendNorm(dst, v)
	if err != nil {
		return nil, invalidValue(a, err)
	}
	return n, nil
}

// Equal reports whether x and y match under the attribute's equality rule.
func (a *AttributeType) Equal(x, y []byte) (bool, error) {
	nx, err := a.Normalize(x)
	if err != nil {
		return false, err
	}
	ny, err := a.Normalize(y)
	if err != nil {
		return false, err
	}
	return bytes.Equal(nx, ny), nil
}

// SubstringValue returns the form of an attribute value that substring
// pieces from NormalizeSubstring are matched against: the value matches
// when it starts with the initial piece, contains the any pieces in order
// after it, and ends with the final piece, all compared bytewise.
func (a *AttributeType) SubstringValue(v []byte) ([]byte, error) {
	if a.Substr == nil {
		return nil, inappropriate(a, "substrings")
	}
	n, err := a.Substr.norm(v)
	if err != nil {
		return nil, invalidValue(a, err)
	}
	return n, nil
}

// AppendSubstringValue is SubstringValue appending a new form to dst, as
// AppendNormalize does.
func (a *AttributeType) AppendSubstringValue(dst, v []byte) ([]byte, error) {
	if a.Substr == nil || a.Substr.appendNorm == nil {
		return a.SubstringValue(v)
	}
	n, err := a.Substr.appendNorm(dst, v)
	if err != nil {
		return nil, invalidValue(a, err)
	}
	return n, nil
}

// HasSubstringPrefix reports whether SubstringValue(v) begins with
// initial, a non-empty initial piece from NormalizeSubstring, for the
// commonest substrings assertion, a prefix (autocomplete): for an ASCII
// value under a string rule it prepares v only as far as the comparison
// needs, without building its normal form. ok is false when it cannot
// tell (another rule, a value with other characters): the caller then
// compares SubstringValue(v).
func (a *AttributeType) HasSubstringPrefix(v, initial []byte) (match, ok bool) {
	if a.Substr == nil || !a.Substr.asciiPrefix || len(initial) == 0 {
		return false, false
	}
	for _, c := range v {
		if c >= utf8.RuneSelf {
			return false, false // NFKC may compose it with what precedes
		}
	}
	flags := a.Substr.asciiPrep
	if asciiNormal(v, flags, spaceEquality) {
		return bytes.HasPrefix(v, initial), true // prepareASCII keeps v
	}
	k := 0           // bytes of initial matched
	space := false   // a space is due before the next character
	started := false // a character has been produced (leading spaces go)
	for _, c := range v {
		m := asciiMap[c]
		switch {
		case m == 0:
			continue
		case m == ' ':
			space = started
			continue
		case flags&foldCase != 0 && m >= 'A' && m <= 'Z':
			m += 'a' - 'A'
		}
		if space {
			if initial[k] != ' ' {
				return false, true
			}
			if k++; k == len(initial) {
				return true, true
			}
			space = false
		}
		if initial[k] != m {
			return false, true
		}
		if k++; k == len(initial) {
			return true, true
		}
		started = true
	}
	// The value ended first (a trailing space is not part of its normal
	// form). A value of spaces only has the normal form " ", which a
	// trimmed initial piece never begins with but " " itself.
	if !started && len(initial) == 1 && initial[0] == ' ' {
		for _, c := range v {
			if asciiMap[c] == ' ' {
				return true, true
			}
		}
	}
	return false, true
}

// NormalizeSubstring prepares one piece of a substrings assertion under
// the attribute's SUBSTR rule. Insignificant space handling is simplified
// from RFC 4518 section 2.6.1: runs of spaces become one space; an initial
// piece loses its leading spaces, a final piece its trailing spaces, and an
// any piece keeps a single space at either end. Matched against
// SubstringValue (which trims and collapses), this gives the results of the
// RFC's two-space model for all but pieces made only of spaces.
func (a *AttributeType) NormalizeSubstring(v []byte, part SubstringPart) ([]byte, error) {
	if a.Substr == nil {
		return nil, inappropriate(a, "substrings")
	}
	n, err := a.Substr.sub(v, part)
	if err != nil {
		return nil, invalidValue(a, err)
	}
	return n, nil
}

// Compare orders x and y under the attribute's ORDERING rule: negative
// when x < y, zero when equal, positive when x > y.
func (a *AttributeType) Compare(x, y []byte) (int, error) {
	if a.Ordering == nil {
		return 0, inappropriate(a, "ordering")
	}
	c, err := a.Ordering.compare(x, y)
	if err != nil {
		return 0, invalidValue(a, err)
	}
	return c, nil
}

// ApproxKey returns the key for approximate matching (RFC 4511 4.5.1.7.6):
// the phonetic key of phonetic.go for the value prepared by the equality
// rule, or the value itself when the type has no equality rule or the
// value does not normalise. Two values approximately match when their keys
// are equal.
func (a *AttributeType) ApproxKey(v []byte) []byte {
	n, err := a.Normalize(v)
	if err != nil {
		return v
	}
	return phoneticKey(string(n))
}

// DedupCheck returns an attributeOrValueExists *ldap.Error when two of the
// values are equal under the equality rule (or byte-equal when the type
// has none), and the normalisation error when a value is invalid.
func (a *AttributeType) DedupCheck(values [][]byte) error {
	if len(values) < 2 {
		if len(values) == 1 && a.Equality != nil {
			_, err := a.Normalize(values[0])
			return err
		}
		return nil
	}
	seen := make(map[string]struct{}, len(values))
	for i, v := range values {
		n := v
		if a.Equality != nil {
			var err error
			if n, err = a.Normalize(v); err != nil {
				return err
			}
		}
		if _, dup := seen[string(n)]; dup {
			return &ldap.Error{Code: ldap.AttributeOrValueExists, Message: a.Name() + ": value #" + itoa(i) + " provided more than once"}
		}
		seen[string(n)] = struct{}{}
	}
	return nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
