package schema

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// Syntax OIDs (RFC 4517 section 3.3 unless noted).
const (
	oidSyntaxPrefix      = "1.3.6.1.4.1.1466.115.121.1."
	SyntaxAttributeType  = oidSyntaxPrefix + "3"
	SyntaxBinary         = oidSyntaxPrefix + "5"
	SyntaxBitString      = oidSyntaxPrefix + "6"
	SyntaxBoolean        = oidSyntaxPrefix + "7"
	SyntaxCertificate    = oidSyntaxPrefix + "8"
	SyntaxCountryString  = oidSyntaxPrefix + "11"
	SyntaxDN             = oidSyntaxPrefix + "12"
	SyntaxDirectory      = oidSyntaxPrefix + "15"
	SyntaxGeneralized    = oidSyntaxPrefix + "24"
	SyntaxIA5            = oidSyntaxPrefix + "26"
	SyntaxInteger        = oidSyntaxPrefix + "27"
	SyntaxJPEG           = oidSyntaxPrefix + "28"
	SyntaxNameAndUID     = oidSyntaxPrefix + "34"
	SyntaxNumericString  = oidSyntaxPrefix + "36"
	SyntaxOID            = oidSyntaxPrefix + "38"
	SyntaxOctetString    = oidSyntaxPrefix + "40"
	SyntaxPostalAddress  = oidSyntaxPrefix + "41"
	SyntaxPrintable      = oidSyntaxPrefix + "44"
	SyntaxTelephone      = oidSyntaxPrefix + "50"
	SyntaxSubstringAsser = oidSyntaxPrefix + "58"
	SyntaxUUID           = "1.3.6.1.1.16.1"              // RFC 4530
	SyntaxCSN            = "1.3.6.1.4.1.4203.666.11.2.1" // OpenLDAP's change sequence number
)

func syntaxErr(format string, args ...any) error { return fmt.Errorf(format, args...) }

// syntaxTable lists the built-in syntaxes; validators are plain functions
// except DN-based ones, which need ldap.ParseDN.
func builtinSyntaxes() []*Syntax {
	p := oidSyntaxPrefix
	list := []*Syntax{
		{OID: p + "3", Desc: "Attribute Type Description", Validate: validateDirectoryString},
		{OID: p + "4", Desc: "Audio", Validate: validateOctetString},
		{OID: p + "5", Desc: "Binary", Validate: validateOctetString},
		{OID: p + "6", Desc: "Bit String", Validate: validateBitString},
		{OID: p + "7", Desc: "Boolean", Validate: validateBoolean},
		{OID: p + "8", Desc: "Certificate", Validate: validateOctetString},
		{OID: p + "9", Desc: "Certificate List", Validate: validateOctetString},
		{OID: p + "10", Desc: "Certificate Pair", Validate: validateOctetString},
		{OID: p + "11", Desc: "Country String", Validate: validateCountryString},
		{OID: p + "12", Desc: "DN", Validate: validateDN},
		{OID: p + "13", Desc: "Data Quality", Validate: validatePrintableString},
		{OID: p + "14", Desc: "Delivery Method", Validate: validatePrintableString},
		{OID: p + "15", Desc: "Directory String", Validate: validateDirectoryString},
		{OID: p + "16", Desc: "DIT Content Rule Description", Validate: validateDirectoryString},
		{OID: p + "17", Desc: "DIT Structure Rule Description", Validate: validateDirectoryString},
		{OID: p + "19", Desc: "DSA Quality", Validate: validatePrintableString},
		{OID: p + "21", Desc: "Enhanced Guide", Validate: validatePrintableString},
		{OID: p + "22", Desc: "Facsimile Telephone Number", Validate: validatePrintableString},
		{OID: p + "23", Desc: "Fax", Validate: validateOctetString},
		{OID: p + "24", Desc: "Generalized Time", Validate: validateGeneralizedTime},
		{OID: p + "25", Desc: "Guide", Validate: validatePrintableString},
		{OID: p + "26", Desc: "IA5 String", Validate: validateIA5String},
		{OID: p + "27", Desc: "INTEGER", Validate: validateInteger},
		{OID: p + "28", Desc: "JPEG", Validate: validateOctetString},
		{OID: p + "30", Desc: "Matching Rule Description", Validate: validateDirectoryString},
		{OID: p + "31", Desc: "Matching Rule Use Description", Validate: validateDirectoryString},
		{OID: p + "34", Desc: "Name And Optional UID", Validate: validateNameAndUID},
		{OID: p + "35", Desc: "Name Form Description", Validate: validateDirectoryString},
		{OID: p + "36", Desc: "Numeric String", Validate: validateNumericString},
		{OID: p + "37", Desc: "Object Class Description", Validate: validateDirectoryString},
		{OID: p + "38", Desc: "OID", Validate: validateOID},
		{OID: p + "39", Desc: "Other Mailbox", Validate: validateDirectoryString},
		{OID: p + "40", Desc: "Octet String", Validate: validateOctetString},
		{OID: p + "41", Desc: "Postal Address", Validate: validatePostalAddress},
		{OID: p + "42", Desc: "Protocol Information", Validate: validateDirectoryString},
		{OID: p + "43", Desc: "Presentation Address", Validate: validateDirectoryString},
		{OID: p + "44", Desc: "Printable String", Validate: validatePrintableString},
		{OID: p + "49", Desc: "Supported Algorithm", Validate: validateOctetString},
		{OID: p + "50", Desc: "Telephone Number", Validate: validatePrintableString},
		{OID: p + "51", Desc: "Teletex Terminal Identifier", Validate: validateDirectoryString},
		{OID: p + "52", Desc: "Telex Number", Validate: validateDirectoryString},
		{OID: p + "53", Desc: "UTC Time", Validate: validatePrintableString},
		{OID: p + "54", Desc: "LDAP Syntax Description", Validate: validateDirectoryString},
		{OID: p + "58", Desc: "Substring Assertion", Validate: validateDirectoryString},
		{OID: SyntaxUUID, Desc: "UUID", Validate: validateUUID},
		{OID: SyntaxCSN, Desc: "CSN", Validate: validateCSN},
		{OID: "1.3.6.1.1.1.0.0", Desc: "NIS netgroup triple", Validate: validateIA5String},
		{OID: "1.3.6.1.1.1.0.1", Desc: "Boot parameter", Validate: validateIA5String},
	}
	// Syntaxes whose values are not human readable (RFC 4517 3.1 lists
	// those that require ;binary transfer or are images and sounds).
	for _, syn := range list {
		switch syn.OID {
		case p + "4", p + "5", p + "8", p + "9", p + "10", p + "23", p + "28", p + "49":
			syn.binary = true
		}
	}
	return list
}

// ValidateOctetString accepts any value, including an empty one.
func validateOctetString([]byte) error { return nil }

// validateDirectoryString: one or more UTF-8 characters (RFC 4517 3.3.6).
func validateDirectoryString(v []byte) error {
	if len(v) == 0 {
		return errEmptyString
	}
	if !utf8.Valid(v) {
		return errNotUTF8
	}
	return nil
}

// validateIA5String: zero or more IA5 (ASCII) characters (RFC 4517 3.3.15).
// We require at least one, as every standard IA5 attribute does in practice.
func validateIA5String(v []byte) error {
	if len(v) == 0 {
		return errEmptyString
	}
	for _, c := range v {
		if c >= 0x80 {
			return syntaxErr("non-IA5 byte 0x%02x", c)
		}
	}
	return nil
}

func isPrintableChar(c byte) bool {
	return isAlpha(c) || isDigit(c) || c == ' ' || c == '\'' || c == '(' || c == ')' ||
		c == '+' || c == ',' || c == '-' || c == '.' || c == '/' || c == ':' || c == '?' || c == '='
}

// validatePrintableString: one or more PrintableCharacters (RFC 4517 3.3.29).
func validatePrintableString(v []byte) error {
	if len(v) == 0 {
		return errEmptyString
	}
	for _, c := range v {
		if !isPrintableChar(c) {
			return syntaxErr("character %q not allowed in printable string", c)
		}
	}
	return nil
}

// validateCountryString: two printable characters (RFC 4517 3.3.4).
func validateCountryString(v []byte) error {
	if len(v) != 2 {
		return errors.New("country string must be two characters")
	}
	return validatePrintableString(v)
}

// validateNumericString: one or more digits or spaces (RFC 4517 3.3.23).
func validateNumericString(v []byte) error {
	if len(v) == 0 {
		return errEmptyString
	}
	for _, c := range v {
		if !isDigit(c) && c != ' ' {
			return syntaxErr("character %q not allowed in numeric string", c)
		}
	}
	return nil
}

// validateInteger: RFC 4517 3.3.16: "0" or an optional "-" and a number
// without leading zeros ("-0" is invalid).
func validateInteger(v []byte) error {
	if len(v) == 1 && v[0] == '0' {
		return nil
	}
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
	}
	if len(d) == 0 || d[0] < '1' || d[0] > '9' {
		return errors.New("invalid integer")
	}
	for _, c := range d {
		if !isDigit(c) {
			return errors.New("invalid integer")
		}
	}
	return nil
}

// validateBoolean: "TRUE" or "FALSE" (RFC 4517 3.3.3).
func validateBoolean(v []byte) error {
	if string(v) == "TRUE" || string(v) == "FALSE" {
		return nil
	}
	return errors.New("boolean must be TRUE or FALSE")
}

// validateBitString: ' *binary-digit 'B (RFC 4517 3.3.2).
func validateBitString(v []byte) error {
	if len(v) < 3 || v[0] != '\'' || v[len(v)-2] != '\'' || v[len(v)-1] != 'B' {
		return errors.New("invalid bit string")
	}
	for _, c := range v[1 : len(v)-2] {
		if c != '0' && c != '1' {
			return errors.New("invalid bit string")
		}
	}
	return nil
}

// validateOID: numericoid or descr (RFC 4517 3.3.26, RFC 4512 1.4).
func validateOID(v []byte) error {
	s := string(v)
	if isNumericOID(s) || isDescr(s) {
		return nil
	}
	return errors.New("invalid OID")
}

// validateUUID: the 36-character string form of RFC 4122 (RFC 4530 2.1).
func validateUUID(v []byte) error {
	if len(v) != 36 {
		return errors.New("UUID must be 36 characters")
	}
	for i, c := range v {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return errors.New("invalid UUID")
			}
		default:
			if !isHex(c) {
				return errors.New("invalid UUID")
			}
		}
	}
	return nil
}

func isHex(c byte) bool { return isDigit(c) || ((c|0x20) >= 'a' && (c|0x20) <= 'f') }

// validateDN: an RFC 4514 string (RFC 4517 3.3.9).
func validateDN(v []byte) error {
	if !utf8.Valid(v) {
		return errNotUTF8
	}
	_, err := ldap.ParseDN(string(v))
	return err
}

// splitNameUID splits a Name And Optional UID value into the DN and the
// bit string, which starts at the last "#'" when the value ends in "'B".
func splitNameUID(v []byte) (dn, uid []byte) {
	if bytes.HasSuffix(v, []byte("'B")) {
		if i := bytes.LastIndex(v, []byte("#'")); i >= 0 && validateBitString(v[i+1:]) == nil {
			return v[:i], v[i+1:]
		}
	}
	return v, nil
}

// validateNameAndUID: distinguishedName [ SHARP BitString ] (RFC 4517 3.3.21).
func validateNameAndUID(v []byte) error {
	dn, _ := splitNameUID(v)
	return validateDN(dn)
}

// validatePostalAddress: line *( DOLLAR line ), each line one or more
// characters with $ and \ escaped as \24 and \5C (RFC 4517 3.3.28).
func validatePostalAddress(v []byte) error {
	if !utf8.Valid(v) {
		return errNotUTF8
	}
	for _, line := range bytes.Split(v, []byte{'$'}) {
		if len(line) == 0 {
			return errors.New("empty postal address line")
		}
		if _, err := unescapePostalLine(line); err != nil {
			return err
		}
	}
	return nil
}

func unescapePostalLine(line []byte) ([]byte, error) {
	if bytes.IndexByte(line, '\\') < 0 {
		return line, nil
	}
	out := make([]byte, 0, len(line))
	for i := 0; i < len(line); i++ {
		if line[i] != '\\' {
			out = append(out, line[i])
			continue
		}
		if i+2 >= len(line) {
			return nil, errors.New("bad escape in postal address")
		}
		switch string(bytes.ToUpper(line[i+1 : i+3])) {
		case "24":
			out = append(out, '$')
		case "5C":
			out = append(out, '\\')
		default:
			return nil, errors.New("bad escape in postal address")
		}
		i += 2
	}
	return out, nil
}

// validateGeneralizedTime checks RFC 4517 3.3.13 form.
func validateGeneralizedTime(v []byte) error {
	_, err := ParseGeneralizedTime(v)
	return err
}

var errGenTime = errors.New("invalid generalized time")

// ParseGeneralizedTime parses the GeneralizedTime syntax of RFC 4517
// section 3.3.13: YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|(+|-)HH[MM]).
// A fraction applies to the last unit given. The result is in UTC.
func ParseGeneralizedTime(v []byte) (time.Time, error) {
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if !isDigit(c) {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(v) < 11 {
		return time.Time{}, errGenTime
	}
	year, ok1 := num(v[0:4])
	month, ok2 := num(v[4:6])
	day, ok3 := num(v[6:8])
	hour, ok4 := num(v[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return time.Time{}, errGenTime
	}
	rest := v[10:]
	minute, second := 0, 0
	units := 1 // 1 hour, 2 minute, 3 second
	if len(rest) >= 2 && isDigit(rest[0]) {
		m, ok := num(rest[:2])
		if !ok {
			return time.Time{}, errGenTime
		}
		minute, units, rest = m, 2, rest[2:]
		if len(rest) >= 2 && isDigit(rest[0]) {
			s, ok := num(rest[:2])
			if !ok {
				return time.Time{}, errGenTime
			}
			second, units, rest = s, 3, rest[2:]
		}
	}
	var frac time.Duration
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		j := 1
		for j < len(rest) && isDigit(rest[j]) {
			j++
		}
		if j == 1 {
			return time.Time{}, errGenTime
		}
		unit := time.Hour
		switch units {
		case 2:
			unit = time.Minute
		case 3:
			unit = time.Second
		}
		// fraction * unit, computed digit by digit to nanosecond precision.
		scale := unit
		for _, c := range rest[1:j] {
			scale /= 10
			frac += time.Duration(c-'0') * scale
		}
		rest = rest[j:]
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || second > 60 {
		return time.Time{}, errGenTime
	}
	var offset int
	switch {
	case len(rest) == 1 && rest[0] == 'Z':
	case (len(rest) == 3 || len(rest) == 5) && (rest[0] == '+' || rest[0] == '-'):
		oh, ok := num(rest[1:3])
		om := 0
		if len(rest) == 5 {
			var ok2 bool
			om, ok2 = num(rest[3:5])
			ok = ok && ok2
		}
		if !ok || oh > 23 || om > 59 {
			return time.Time{}, errGenTime
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, errGenTime
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	t = t.Add(frac).Add(-time.Duration(offset) * time.Second)
	return t, nil
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// FormatGeneralizedTime renders t in the canonical form used as the
// generalizedTimeMatch normal form: UTC, YYYYMMDDHHMMSS, a fraction of a
// second only when non-zero and without trailing zeros, then Z.
func FormatGeneralizedTime(t time.Time) string {
	t = t.UTC()
	s := t.Format("20060102150405")
	if ns := t.Nanosecond(); ns != 0 {
		f := fmt.Sprintf("%09d", ns)
		for f[len(f)-1] == '0' {
			f = f[:len(f)-1]
		}
		s += "." + f
	}
	return s + "Z"
}

// validateCSN: a change sequence number in OpenLDAP's text form,
// YYYYmmddHHMMSS.uuuuuuZ#cccccc#sss#mmmmmm (package replication parses it;
// the schema checks only the shape, so that it need not import it).
func validateCSN(v []byte) error {
	const layout = "dddddddddddddd.ddddddZ#hhhhhh#hhh#hhhhhh"
	if len(v) != len(layout) {
		return errors.New("CSN must be YYYYmmddHHMMSS.uuuuuuZ#cccccc#sss#mmmmmm")
	}
	for i := 0; i < len(layout); i++ {
		c := v[i]
		ok := false
		switch layout[i] {
		case 'd':
			ok = '0' <= c && c <= '9'
		case 'h':
			ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
		default:
			ok = c == layout[i]
		}
		if !ok {
			return errors.New("CSN must be YYYYmmddHHMMSS.uuuuuuZ#cccccc#sss#mmmmmm")
		}
	}
	return nil
}
