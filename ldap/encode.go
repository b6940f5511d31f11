package ldap

// Response encoding (RFC 4511 sections 4.1.9 to 4.13). Every encoder
// computes the sizes of its nested elements first and then writes the
// message front to back, so nothing is encoded twice or moved, and the only
// allocation is growth of the caller's buffer.

// envelopeHeader appends the LDAPMessage SEQUENCE header and messageID for
// a protocolOp of opSize octets (its full TLV) and controls of ctrlSize
// octets (its full TLV, 0 when absent).
func envelopeHeader(b []byte, msgID int32, opSize, ctrlSize int) []byte {
	idSize := 2 + intSize(int64(msgID))
	b = appendHeader(b, tagSequence, idSize+opSize+ctrlSize)
	return appendInt(b, tagInteger, int64(msgID))
}

// controlsSize is the full TLV size of the [0] Controls element, 0 if empty.
func controlsSize(ctrls []ResponseControl) int {
	if len(ctrls) == 0 {
		return 0
	}
	return tlvSize(controlsContentSize(ctrls))
}

func controlsContentSize(ctrls []ResponseControl) int {
	n := 0
	for i := range ctrls {
		n += tlvSize(controlSize(&ctrls[i]))
	}
	return n
}

func controlSize(c *ResponseControl) int {
	n := tlvSize(len(c.OID))
	if c.Critical {
		n += 3
	}
	if c.Value != nil {
		n += tlvSize(len(c.Value))
	}
	return n
}

func appendControls(b []byte, ctrls []ResponseControl) []byte {
	if len(ctrls) == 0 {
		return b
	}
	b = appendHeader(b, classContext|bitConstructed, controlsContentSize(ctrls))
	for i := range ctrls {
		c := &ctrls[i]
		b = appendHeader(b, tagSequence, controlSize(c))
		b = appendString(b, tagOctetString, c.OID)
		if c.Critical {
			b = appendBool(b, tagBoolean, true)
		}
		if c.Value != nil {
			b = appendBytes(b, tagOctetString, c.Value)
		}
	}
	return b
}

func stringsSize(ss []string) int {
	n := 0
	for _, s := range ss {
		n += tlvSize(len(s))
	}
	return n
}

// resultContentSize is the size of the LDAPResult components plus the
// response-specific trailing fields of op.
func resultContentSize(op Op, res *Result) int {
	n := 2 + intSize(int64(res.Code)) + tlvSize(len(res.MatchedDN)) + tlvSize(len(res.Diagnostic))
	if len(res.Referral) > 0 {
		n += tlvSize(stringsSize(res.Referral))
	}
	switch op {
	case OpBindResponse:
		if res.ServerCreds != nil {
			n += tlvSize(len(res.ServerCreds))
		}
	case OpExtendedResponse:
		if res.ResponseName != "" {
			n += tlvSize(len(res.ResponseName))
		}
		if res.ResponseValue != nil {
			n += tlvSize(len(res.ResponseValue))
		}
	}
	return n
}

// AppendResult appends an LDAPMessage carrying the response op (one of
// BindResponse, SearchResultDone, ModifyResponse, AddResponse, DelResponse,
// ModifyDNResponse, CompareResponse, ExtendedResponse) built from res.
// serverSaslCreds [7] is written for a BindResponse when res.ServerCreds is
// non-nil; responseName [10] and responseValue [11] for an
// ExtendedResponse when set; referral [3] when res.Referral is non-empty;
// res.Controls in the message's [0] Controls.
func AppendResult(b []byte, msgID int32, op Op, res *Result) []byte {
	n := resultContentSize(op, res)
	b = envelopeHeader(b, msgID, tlvSize(n), controlsSize(res.Controls))
	b = appendHeader(b, classApp|bitConstructed|byte(op), n)
	b = appendInt(b, tagEnumerated, int64(res.Code))
	b = appendString(b, tagOctetString, res.MatchedDN)
	b = appendString(b, tagOctetString, res.Diagnostic)
	if len(res.Referral) > 0 {
		b = appendHeader(b, classContext|bitConstructed|3, stringsSize(res.Referral))
		for _, u := range res.Referral {
			b = appendString(b, tagOctetString, u)
		}
	}
	switch op {
	case OpBindResponse:
		if res.ServerCreds != nil {
			b = appendBytes(b, classContext|7, res.ServerCreds)
		}
	case OpExtendedResponse:
		if res.ResponseName != "" {
			b = appendString(b, classContext|10, res.ResponseName)
		}
		if res.ResponseValue != nil {
			b = appendBytes(b, classContext|11, res.ResponseValue)
		}
	}
	return appendControls(b, res.Controls)
}

func valuesSize(vals [][]byte) int {
	n := 0
	for _, v := range vals {
		n += tlvSize(len(v))
	}
	return n
}

// entryAttrSize is the content size of one PartialAttribute SEQUENCE.
func entryAttrSize(a *Attribute, typesOnly bool) int {
	n := tlvSize(len(a.Name))
	if typesOnly {
		return n + 2
	}
	return n + tlvSize(valuesSize(a.Values))
}

// AppendEntry appends a SearchResultEntry (RFC 4511 section 4.5.2). With
// typesOnly every attribute is sent with an empty value set.
func AppendEntry(b []byte, msgID int32, e *Entry, typesOnly bool, ctrls []ResponseControl) []byte {
	attrs := entryAttrsSize(e, typesOnly)
	b = envelopeHeader(b, msgID, tlvSize(tlvSize(len(e.DN))+tlvSize(attrs)), controlsSize(ctrls))
	b = appendEntryOp(b, e, typesOnly, attrs)
	return appendControls(b, ctrls)
}

func entryAttrsSize(e *Entry, typesOnly bool) int {
	attrs := 0
	for i := range e.Attributes {
		attrs += tlvSize(entryAttrSize(&e.Attributes[i], typesOnly))
	}
	return attrs
}

// appendEntryOp appends the [APPLICATION 4] SearchResultEntry element;
// attrs is entryAttrsSize(e, typesOnly).
func appendEntryOp(b []byte, e *Entry, typesOnly bool, attrs int) []byte {
	b = appendHeader(b, classApp|bitConstructed|byte(OpSearchResultEntry), tlvSize(len(e.DN))+tlvSize(attrs))
	b = appendString(b, tagOctetString, e.DN)
	b = appendHeader(b, tagSequence, attrs)
	for i := range e.Attributes {
		a := &e.Attributes[i]
		b = appendHeader(b, tagSequence, entryAttrSize(a, typesOnly))
		b = appendString(b, tagOctetString, a.Name)
		if typesOnly {
			b = append(b, tagSet, 0)
			continue
		}
		b = appendHeader(b, tagSet, valuesSize(a.Values))
		for _, v := range a.Values {
			b = appendBytes(b, tagOctetString, v)
		}
	}
	return b
}

// AppendReference appends a SearchResultReference (RFC 4511 section 4.5.3).
func AppendReference(b []byte, msgID int32, urls []string, ctrls []ResponseControl) []byte {
	n := stringsSize(urls)
	b = envelopeHeader(b, msgID, tlvSize(n), controlsSize(ctrls))
	b = appendHeader(b, classApp|bitConstructed|byte(OpSearchResultReference), n)
	for _, u := range urls {
		b = appendString(b, tagOctetString, u)
	}
	return appendControls(b, ctrls)
}

// AppendIntermediate appends an IntermediateResponse (RFC 4511 section
// 4.13). An empty name or a nil value is left out.
func AppendIntermediate(b []byte, msgID int32, name string, value []byte, ctrls []ResponseControl) []byte {
	n := 0
	if name != "" {
		n += tlvSize(len(name))
	}
	if value != nil {
		n += tlvSize(len(value))
	}
	b = envelopeHeader(b, msgID, tlvSize(n), controlsSize(ctrls))
	b = appendHeader(b, classApp|bitConstructed|byte(OpIntermediateResponse), n)
	if name != "" {
		b = appendString(b, classContext /* [0] */, name)
	}
	if value != nil {
		b = appendBytes(b, classContext|1, value)
	}
	return appendControls(b, ctrls)
}

// AppendNoticeOfDisconnection appends the unsolicited notification of RFC
// 4511 section 4.4.1: an ExtendedResponse with messageID 0 and responseName
// 1.3.6.1.4.1.1466.20036.
func AppendNoticeOfDisconnection(b []byte, code ResultCode, msg string) []byte {
	res := Result{Code: code, Diagnostic: msg, ResponseName: OIDNoticeOfDisconnection}
	return AppendResult(b, 0, OpExtendedResponse, &res)
}

// AppendEntryValue appends a bare SearchResultEntry ([APPLICATION 4]
// objectName, attributes), without the LDAPMessage envelope: the value of
// the pre-read and post-read response controls (RFC 4527 section 3.3).
func AppendEntryValue(b []byte, e *Entry) []byte {
	return appendEntryOp(b, e, false, entryAttrsSize(e, false))
}
