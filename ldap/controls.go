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

	OIDSortRequest   = "1.2.840.113556.1.4.473"   // RFC 2891
	OIDSortResponse  = "1.2.840.113556.1.4.474"   // RFC 2891
	OIDVLVRequest    = "2.16.840.1.113730.3.4.9"  // draft-ietf-ldapext-ldapv3-vlv-09
	OIDVLVResponse   = "2.16.840.1.113730.3.4.10" // draft-ietf-ldapext-ldapv3-vlv-09
	OIDAssertion     = "1.3.6.1.1.12"             // RFC 4528
	OIDPreRead       = "1.3.6.1.1.13.1"           // RFC 4527
	OIDPostRead      = "1.3.6.1.1.13.2"           // RFC 4527
	OIDMatchedValues = "1.2.826.0.1.3344810.2.3"  // RFC 3876
	OIDTreeDelete    = "1.2.840.113556.1.4.805"   // draft-armijo-ldap-treedelete
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
	return appendBytes(b, classContext /* [0] */, genPasswd)
}

// SortKey is one key of a server-side sort request (RFC 2891 section 1.1).
// The strings alias the control value.
type SortKey struct {
	Attr         []byte
	OrderingRule []byte // nil: the attribute's ORDERING rule
	Reverse      bool
}

// DecodeSortKeys decodes SortKeyList ::= SEQUENCE OF SEQUENCE {
// attributeType AttributeDescription, orderingRule [0] MatchingRuleId
// OPTIONAL, reverseOrder [1] BOOLEAN DEFAULT FALSE }. An empty list is an
// error: RFC 2891 requires at least one key.
func DecodeSortKeys(v []byte) ([]SortKey, error) {
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return nil, controlError("malformed sort control value")
	}
	var keys []SortKey
	for len(c) > 0 {
		k, r, err := expect(c, tagSequence)
		if err != nil {
			return nil, controlError("malformed sort key")
		}
		c = r
		var key SortKey
		key.Attr, k, err = expect(k, tagOctetString)
		if err != nil || len(key.Attr) == 0 {
			return nil, controlError("sort key: missing attribute type")
		}
		next := byte(0)
		for len(k) > 0 {
			t, val, r, err := readTLV(k)
			if err != nil {
				return nil, controlError("malformed sort key")
			}
			switch {
			case t == classContext /* [0] */ && next == 0:
				if len(val) == 0 {
					return nil, controlError("sort key: empty ordering rule")
				}
				key.OrderingRule, next = val, 1
			case t == classContext|1 && next <= 1:
				if key.Reverse, err = parseBool(val); err != nil {
					return nil, controlError("sort key: malformed reverseOrder")
				}
				next = 2
			default:
				return nil, controlError("sort key: unexpected element")
			}
			k = r
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, controlError("sort control has no keys")
	}
	return keys, nil
}

// AppendSortResult appends SortResult ::= SEQUENCE { sortResult
// ENUMERATED, attributeType [0] AttributeDescription OPTIONAL } (RFC 2891
// section 1.2); an empty attr leaves attributeType out.
func AppendSortResult(b []byte, code ResultCode, attr string) []byte {
	n := 2 + intSize(int64(code))
	if attr != "" {
		n += tlvSize(len(attr))
	}
	b = appendHeader(b, tagSequence, n)
	b = appendInt(b, tagEnumerated, int64(code))
	if attr != "" {
		b = appendString(b, classContext /* [0] */, attr)
	}
	return b
}

// VLVRequest is a decoded virtual list view request
// (draft-ietf-ldapext-ldapv3-vlv-09 section 6.1). Byte slices alias the
// control value.
type VLVRequest struct {
	BeforeCount, AfterCount int
	// ByOffset selects the target by Offset and ContentCount; otherwise
	// GreaterOrEqual holds the assertion value.
	ByOffset             bool
	Offset, ContentCount int
	GreaterOrEqual       []byte
	ContextID            []byte // nil when absent
}

// DecodeVLVRequest decodes VirtualListViewRequest ::= SEQUENCE {
// beforeCount INTEGER (0..maxInt), afterCount INTEGER (0..maxInt), target
// CHOICE { byOffset [0] SEQUENCE { offset INTEGER (0..maxInt),
// contentCount INTEGER (0..maxInt) }, greaterThanOrEqual [1]
// AssertionValue, ... }, contextID OCTET STRING OPTIONAL }.
func DecodeVLVRequest(v []byte) (VLVRequest, error) {
	var r VLVRequest
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return r, controlError("malformed VLV control value")
	}
	n, c, err := readInt(c, tagInteger, 0, maxInt)
	if err != nil {
		return r, controlError("VLV beforeCount: " + err.Error())
	}
	r.BeforeCount = int(n)
	if n, c, err = readInt(c, tagInteger, 0, maxInt); err != nil {
		return r, controlError("VLV afterCount: " + err.Error())
	}
	r.AfterCount = int(n)
	t, val, c, err := readTLV(c)
	if err != nil {
		return r, controlError("VLV target: " + err.Error())
	}
	switch t {
	case classContext | bitConstructed /* [0] */ :
		r.ByOffset = true
		if n, val, err = readInt(val, tagInteger, 0, maxInt); err != nil {
			return r, controlError("VLV offset: " + err.Error())
		}
		r.Offset = int(n)
		if n, val, err = readInt(val, tagInteger, 0, maxInt); err != nil {
			return r, controlError("VLV contentCount: " + err.Error())
		}
		r.ContentCount = int(n)
		if len(val) != 0 {
			return r, controlError("VLV byOffset: trailing data")
		}
	case classContext | 1:
		r.GreaterOrEqual = val
	default:
		return r, controlError("VLV target: unexpected choice")
	}
	if len(c) > 0 {
		if r.ContextID, c, err = expect(c, tagOctetString); err != nil {
			return r, controlError("VLV contextID: " + err.Error())
		}
		if r.ContextID == nil {
			r.ContextID = []byte{}
		}
		if len(c) != 0 {
			return r, controlError("VLV control value: trailing data")
		}
	}
	return r, nil
}

// AppendVLVResponse appends VirtualListViewResponse ::= SEQUENCE {
// targetPosition INTEGER, contentCount INTEGER, virtualListViewResult
// ENUMERATED, contextID OCTET STRING OPTIONAL }; a nil contextID is left
// out.
func AppendVLVResponse(b []byte, target, count int, code ResultCode, contextID []byte) []byte {
	n := 2 + intSize(int64(target)) + 2 + intSize(int64(count)) + 2 + intSize(int64(code))
	if contextID != nil {
		n += tlvSize(len(contextID))
	}
	b = appendHeader(b, tagSequence, n)
	b = appendInt(b, tagInteger, int64(target))
	b = appendInt(b, tagInteger, int64(count))
	b = appendInt(b, tagEnumerated, int64(code))
	if contextID != nil {
		b = appendBytes(b, tagOctetString, contextID)
	}
	return b
}

// DecodeAttributeSelection decodes the value of the pre-read and post-read
// request controls (RFC 4527 section 3.1): AttributeSelection ::= SEQUENCE
// OF selector LDAPString. The selectors alias v.
func DecodeAttributeSelection(v []byte) ([][]byte, error) {
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return nil, controlError("malformed attribute selection")
	}
	var out [][]byte
	for len(c) > 0 {
		var s []byte
		if s, c, err = expect(c, tagOctetString); err != nil {
			return nil, controlError("malformed attribute selection")
		}
		out = append(out, s)
	}
	return out, nil
}

// DecodeValuesReturnFilter decodes the matched values control value (RFC
// 3876 section 2): ValuesReturnFilter ::= SEQUENCE OF SimpleFilterItem,
// where SimpleFilterItem is a Filter without and, or and not. The list
// must not be empty.
func DecodeValuesReturnFilter(v []byte) ([]Filter, error) {
	c, rest, err := expect(v, tagSequence)
	if err != nil || len(rest) != 0 {
		return nil, controlError("malformed values return filter")
	}
	var out []Filter
	for len(c) > 0 {
		t, _, r, err := readTLV(c)
		if err != nil {
			return nil, controlError("malformed values return filter")
		}
		switch t {
		case tagFilterAnd, tagFilterOr, tagFilterNot:
			return nil, controlError("values return filter: and, or and not are not simple filter items")
		}
		f, err := DecodeFilter(c[:len(c)-len(r)])
		if err != nil {
			return nil, controlError("values return filter: " + err.Error())
		}
		out = append(out, *f)
		if len(out) > MaxFilterNodes {
			return nil, controlError("values return filter: too many items")
		}
		c = r
	}
	if len(out) == 0 {
		return nil, controlError("values return filter is empty")
	}
	return out, nil
}
