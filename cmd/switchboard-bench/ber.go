package main

// Minimal BER encoding of the few LDAPv3 requests the load client sends
// (RFC 4511 section 4 and appendix B) and just enough decoding of responses
// to find the message ID, the protocolOp tag and the resultCode. Filters are
// encoded by the project's ldap package (ldap.ParseFilter, ldap.AppendFilter).

import (
	"errors"
)

// BER identifiers used here (RFC 4511 section 5.1, appendix B).
const (
	tagBoolean     = 0x01
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagEnumerated  = 0x0a
	tagSequence    = 0x30
	tagSet         = 0x31

	appBindRequest    = 0x60 // [APPLICATION 0] constructed
	appBindResponse   = 0x61
	appUnbindRequest  = 0x42 // [APPLICATION 2] primitive
	appSearchRequest  = 0x63
	appSearchEntry    = 0x64
	appSearchDone     = 0x65
	appModifyRequest  = 0x66
	appModifyResponse = 0x67
	appAddRequest     = 0x68
	appAddResponse    = 0x69
	appDelRequest     = 0x4a // [APPLICATION 10] primitive
	appDelResponse    = 0x6b
	appSearchRef      = 0x73
	appExtendedResp   = 0x78
	ctxSimpleAuth     = 0x80 // [0] primitive, simple password in BindRequest
)

// builder appends BER with definite, minimal lengths. open writes the
// identifier and a one-octet length placeholder; close fixes the length,
// moving the content right when the length needs the long form. Nothing is
// allocated once the buffer has grown to the largest message.
type builder struct {
	b     []byte
	stack [8]int
	depth int
}

func (w *builder) reset() { w.b = w.b[:0]; w.depth = 0 }

func (w *builder) open(tag byte) {
	w.b = append(w.b, tag, 0)
	w.stack[w.depth] = len(w.b)
	w.depth++
}

func (w *builder) close() {
	w.depth--
	start := w.stack[w.depth]
	n := len(w.b) - start
	if n < 0x80 {
		w.b[start-1] = byte(n)
		return
	}
	k := 1
	for v := n >> 8; v > 0; v >>= 8 {
		k++
	}
	for i := 0; i < k; i++ {
		w.b = append(w.b, 0)
	}
	copy(w.b[start+k:], w.b[start:start+n])
	w.b[start-1] = 0x80 | byte(k)
	for i := k - 1; i >= 0; i-- {
		w.b[start+i] = byte(n)
		n >>= 8
	}
}

func (w *builder) str(tag byte, s string) {
	w.b = appendLen(append(w.b, tag), len(s))
	w.b = append(w.b, s...)
}

func (w *builder) bytes(tag byte, s []byte) {
	w.b = appendLen(append(w.b, tag), len(s))
	w.b = append(w.b, s...)
}

func (w *builder) raw(p []byte) { w.b = append(w.b, p...) }

// int writes a minimal two's-complement INTEGER or ENUMERATED (X.690 8.3).
func (w *builder) int(tag byte, v int64) {
	n := 1
	for x := v; x > 127 || x < -128; x >>= 8 {
		n++
	}
	w.b = append(w.b, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		w.b = append(w.b, byte(v>>(8*i)))
	}
}

func appendLen(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// message wraps a pre-encoded protocolOp in an LDAPMessage with msgID.
func (w *builder) message(msgID int32, op []byte) {
	w.open(tagSequence)
	w.int(tagInteger, int64(msgID))
	w.raw(op)
	w.close()
}

// searchOp encodes a SearchRequest protocolOp (RFC 4511 section 4.5.1).
// filter is the BER of the filter (ldap.AppendFilter).
func searchOp(w *builder, base string, scope int, sizeLimit int, filter []byte, attrs []string) {
	w.open(appSearchRequest)
	w.str(tagOctetString, base)
	w.int(tagEnumerated, int64(scope))
	w.int(tagEnumerated, 0) // neverDerefAliases
	w.int(tagInteger, int64(sizeLimit))
	w.int(tagInteger, 0) // no time limit
	w.b = append(w.b, tagBoolean, 1, 0)
	w.raw(filter)
	w.open(tagSequence)
	for _, a := range attrs {
		w.str(tagOctetString, a)
	}
	w.close()
	w.close()
}

// bindOp encodes a simple BindRequest (RFC 4511 section 4.2).
func bindOp(w *builder, dn, password string) {
	w.open(appBindRequest)
	w.int(tagInteger, 3)
	w.str(tagOctetString, dn)
	w.str(ctxSimpleAuth, password)
	w.close()
}

// modifyReplaceOp encodes a ModifyRequest replacing attr with one value
// (RFC 4511 section 4.6; replace is operation 2).
func modifyReplaceOp(w *builder, dn, attr string, value []byte) {
	w.open(appModifyRequest)
	w.str(tagOctetString, dn)
	w.open(tagSequence)
	w.open(tagSequence)
	w.int(tagEnumerated, 2)
	w.open(tagSequence)
	w.str(tagOctetString, attr)
	w.open(tagSet)
	w.bytes(tagOctetString, value)
	w.close()
	w.close()
	w.close()
	w.close()
	w.close()
}

// addPersonOp encodes an AddRequest for a minimal inetOrgPerson
// (RFC 4511 section 4.7). uid is the RDN value; parent the container DN.
func addPersonOp(w *builder, uid []byte, parent string) {
	w.open(appAddRequest)
	w.open(tagOctetString) // entry DN, built in place
	w.b = append(w.b, "uid="...)
	w.raw(uid)
	w.b = append(w.b, ',')
	w.b = append(w.b, parent...)
	w.close()
	w.open(tagSequence)
	attr := func(typ string, vals ...string) {
		w.open(tagSequence)
		w.str(tagOctetString, typ)
		w.open(tagSet)
		for _, v := range vals {
			w.str(tagOctetString, v)
		}
		w.close()
		w.close()
	}
	attr("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
	w.open(tagSequence)
	w.str(tagOctetString, "uid")
	w.open(tagSet)
	w.bytes(tagOctetString, uid)
	w.close()
	w.close()
	attr("cn", "Bench Temporary")
	attr("sn", "Temporary")
	w.close()
	w.close()
}

// delOp encodes a DelRequest (RFC 4511 section 4.8) for uid=<uid>,<parent>.
func delOp(w *builder, uid []byte, parent string) {
	w.open(appDelRequest)
	w.b = append(w.b, "uid="...)
	w.raw(uid)
	w.b = append(w.b, ',')
	w.b = append(w.b, parent...)
	w.close()
}

var errBadResponse = errors.New("malformed LDAP response")

// tlv splits one BER element off b.
func tlv(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errBadResponse
	}
	tag = b[0]
	l := int(b[1])
	b = b[2:]
	if l >= 0x80 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(b) < k {
			return 0, nil, nil, errBadResponse
		}
		l = 0
		for i := 0; i < k; i++ {
			l = l<<8 | int(b[i])
		}
		b = b[k:]
	}
	if l > len(b) {
		return 0, nil, nil, errBadResponse
	}
	return tag, b[:l], b[l:], nil
}

func parseInt(c []byte) int64 {
	var v int64
	if len(c) > 0 && c[0]&0x80 != 0 {
		v = -1
	}
	for _, x := range c {
		v = v<<8 | int64(x)
	}
	return v
}

// parseResponse decodes the envelope of one LDAPMessage: its message ID,
// the protocolOp tag and, for LDAPResult-shaped responses, the resultCode
// (-1 otherwise).
func parseResponse(pdu []byte) (msgID int32, op byte, code int, err error) {
	_, body, _, err := tlv(pdu)
	if err != nil {
		return 0, 0, 0, err
	}
	t, c, rest, err := tlv(body)
	if err != nil || t != tagInteger {
		return 0, 0, 0, errBadResponse
	}
	msgID = int32(parseInt(c))
	op, c, _, err = tlv(rest)
	if err != nil {
		return 0, 0, 0, err
	}
	switch op {
	case appSearchEntry, appSearchRef:
		return msgID, op, -1, nil
	}
	t, c, _, err = tlv(c)
	if err != nil || t != tagEnumerated {
		return msgID, op, -1, errBadResponse
	}
	return msgID, op, int(parseInt(c)), nil
}

// Controls of the listing workloads (RFC 2696, RFC 2891,
// draft-ietf-ldapext-ldapv3-vlv-09).
// (The sort and VLV OIDs are in sortop.go.)
const (
	oidPagedResults = "1.2.840.113556.1.4.319"
	tagControls     = 0xa0 // [0] constructed, after the protocolOp
)

// control appends one Control whose value is the BER that value builds.
func (w *builder) control(oid string, critical bool, value func(*builder)) {
	w.open(tagSequence)
	w.str(tagOctetString, oid)
	if critical {
		w.b = append(w.b, tagBoolean, 1, 0xff)
	}
	var v builder
	value(&v)
	w.bytes(tagOctetString, v.b)
	w.close()
}

// pagedControl asks for a page of size entries from the start.
func pagedControl(w *builder, size int) {
	w.control(oidPagedResults, false, func(v *builder) {
		v.open(tagSequence)
		v.int(tagInteger, int64(size))
		v.str(tagOctetString, "")
		v.close()
	})
}

// sortRuleControl sorts by attr under orderingRule (RFC 2891), critical.
// (A VLV window is not used against slapd: its sssvlv overlay keeps a
// context per VLV request until the client names it again, and answers
// busy once a connection holds sssvlv-maxperconn of them; this client
// does not echo context IDs.)
func sortRuleControl(w *builder, attr, orderingRule string) {
	sortControl(w, attr, orderingRule, false)
}

// sortControl appends a critical sort control on one key: attr, ordered
// by orderingRule when not empty, reversed when reverse.
func sortControl(w *builder, attr, orderingRule string, reverse bool) {
	w.control(oidSortRequest, true, func(v *builder) {
		v.open(tagSequence)
		v.open(tagSequence)
		v.str(tagOctetString, attr)
		if orderingRule != "" {
			v.str(0x80, orderingRule) // orderingRule [0]
		}
		if reverse {
			v.b = append(v.b, 0x81, 1, 0xff) // reverseOrder [1] TRUE
		}
		v.close()
		v.close()
	})
}
