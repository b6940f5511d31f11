package ldap

// Control and extended operation values.

// Object identifiers of the controls and extended operations the server knows.
const (
	OIDPagedResults          = "1.2.840.113556.1.4.319"  // RFC 2696
	OIDManageDsaIT           = "2.16.840.1.113730.3.4.2" // RFC 3296
	OIDWhoAmI                = "1.3.6.1.4.1.4203.1.11.3" // RFC 4532
	OIDPasswordModify        = "1.3.6.1.4.1.4203.1.11.1" // RFC 3062
	OIDNoticeOfDisconnection = "1.3.6.1.4.1.1466.20036"  // RFC 4511 section 4.4.1
	OIDStartTLS              = "1.3.6.1.4.1.1466.20037"  // RFC 4511 section 4.14
)

type controlError string

func (e controlError) Error() string { return "ldap: " + string(e) }

// DecodePagedResults decodes the value of a paged results control (RFC
// 2696): realSearchControlValue ::= SEQUENCE { size INTEGER (0..maxInt),
// cookie OCTET STRING }. The cookie aliases v.
func DecodePagedResults(v []byte) (size int, cookie []byte, err error) {
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return 0, nil, controlError("malformed paged results control value")
	}
	n, c, err := readInt(c, tagInteger, 0, maxInt)
	if err != nil {
		return 0, nil, controlError("paged results size: " + err.Error())
	}
	cookie, c, err = expect(c, tagOctetString)
	if err != nil {
		return 0, nil, controlError("paged results cookie: " + err.Error())
	}
	if err := checkElements(c); err != nil {
		return 0, nil, controlError("malformed paged results control value")
	}
	return int(n), cookie, nil
}

// AppendPagedResults appends the value (not the whole control) of a paged
// results control: the estimated size and the cookie.
func AppendPagedResults(b []byte, size int, cookie []byte) []byte {
	b = appendHeader(b, tagSequence, 2+intSize(int64(size))+tlvSize(len(cookie)))
	b = appendInt(b, tagInteger, int64(size))
	return appendBytes(b, tagOctetString, cookie)
}

// PasswordModify is the decoded request value of the password modify
// extended operation (RFC 3062). The byte slices alias the request value.
type PasswordModify struct {
	UserIdentity, OldPassword, NewPassword []byte
	HasUser, HasOld, HasNew                bool
}

// DecodePasswordModify decodes PasswdModifyRequestValue ::= SEQUENCE {
// userIdentity [0] OCTET STRING OPTIONAL, oldPasswd [1] OCTET STRING
// OPTIONAL, newPasswd [2] OCTET STRING OPTIONAL }. An empty value means
// every field is absent.
func DecodePasswordModify(v []byte) (PasswordModify, error) {
	var pm PasswordModify
	if len(v) == 0 {
		return pm, nil
	}
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return pm, controlError("malformed password modify request value")
	}
	next := byte(0)
	for len(c) > 0 {
		t, val, r, err := readTLV(c)
		if err != nil {
			return pm, controlError("malformed password modify request value")
		}
		if t < classContext || t > classContext|2 || t&0x1f < next {
			return pm, controlError("unexpected element in password modify request value")
		}
		next = t&0x1f + 1
		switch t & 0x1f {
		case 0:
			pm.UserIdentity, pm.HasUser = val, true
		case 1:
			pm.OldPassword, pm.HasOld = val, true
		case 2:
			pm.NewPassword, pm.HasNew = val, true
		}
		c = r
	}
	return pm, nil
}

// AppendPasswordModifyResponse appends PasswdModifyResponseValue ::=
// SEQUENCE { genPasswd [0] OCTET STRING OPTIONAL }; genPasswd nil leaves it
// out (an empty SEQUENCE). A server that generated no password may instead
// omit the response value altogether.
func AppendPasswordModifyResponse(b []byte, genPasswd []byte) []byte {
	if genPasswd == nil {
		return append(b, tagSequence, 0)
	}
	b = appendHeader(b, tagSequence, tlvSize(len(genPasswd)))
	return appendBytes(b, classContext|0, genPasswd)
}
