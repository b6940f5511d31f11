package ldap

import "github.com/switchboard-ldap/switchboard/change"

// Request decoding (RFC 4511 sections 4.1 to 4.12). DecodeRequest walks the
// PDU once (twice for filters: a validating count pass, then a fill pass)
// and stores sub-slices of the PDU in the Request, so a warm Request
// decodes a typical search without allocating.

// Filter limits. Deeply nested filters have crashed servers by exhausting
// the stack (OpenLDAP CVE-2020-12243); huge ones cost evaluation time.
const (
	MaxFilterDepth = 100
	MaxFilterNodes = 100000
)

// DecodeError reports malformed input. MessageID is set (and HasID true)
// when the message ID was decoded before the problem, so the server can
// answer with protocolError on that ID; otherwise the server sends a Notice
// of Disconnection. Op is set (HasOp true) when the operation is known, so
// that, say, a malformed search is answered with a SearchResultDone.
// UnknownOp is true when the protocolOp tag is not a request operation.
type DecodeError struct {
	MessageID int32
	HasID     bool
	Op        Op
	HasOp     bool
	UnknownOp bool
	Msg       string
}

func (e *DecodeError) Error() string {
	s := "ldap: malformed request"
	if e.HasID {
		s += " (message " + itoa(int(e.MessageID))
		if e.HasOp {
			s += ", " + e.Op.String()
		}
		s += ")"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

// String returns the RFC 4511 name of the operation.
func (o Op) String() string {
	switch o {
	case OpBindRequest:
		return "bindRequest"
	case OpBindResponse:
		return "bindResponse"
	case OpUnbindRequest:
		return "unbindRequest"
	case OpSearchRequest:
		return "searchRequest"
	case OpSearchResultEntry:
		return "searchResEntry"
	case OpSearchResultDone:
		return "searchResDone"
	case OpModifyRequest:
		return "modifyRequest"
	case OpModifyResponse:
		return "modifyResponse"
	case OpAddRequest:
		return "addRequest"
	case OpAddResponse:
		return "addResponse"
	case OpDelRequest:
		return "delRequest"
	case OpDelResponse:
		return "delResponse"
	case OpModifyDNRequest:
		return "modDNRequest"
	case OpModifyDNResponse:
		return "modDNResponse"
	case OpCompareRequest:
		return "compareRequest"
	case OpCompareResponse:
		return "compareResponse"
	case OpAbandonRequest:
		return "abandonRequest"
	case OpSearchResultReference:
		return "searchResRef"
	case OpExtendedRequest:
		return "extendedReq"
	case OpExtendedResponse:
		return "extendedResp"
	case OpIntermediateResponse:
		return "intermediateResponse"
	}
	return "op(" + itoa(int(o)) + ")"
}

// requestTag maps a request operation to the identifier octet it must carry.
// The boolean is false for operations a client may not send.
func requestTag(op Op) (byte, bool) {
	switch op {
	case OpBindRequest, OpSearchRequest, OpModifyRequest, OpAddRequest,
		OpModifyDNRequest, OpCompareRequest, OpExtendedRequest:
		return classApp | bitConstructed | byte(op), true
	case OpUnbindRequest, OpDelRequest, OpAbandonRequest:
		return classApp | byte(op), true
	}
	return 0, false
}

// maxKeptScratch bounds the scratch capacity a Request keeps between
// messages, so that one huge request does not pin memory in a pooled
// Request forever.
const maxKeptScratch = 4096

func keepScratch[T any](s []T) []T {
	if cap(s) > maxKeptScratch {
		return nil
	}
	return s[:0]
}

// reset clears req for a new message, keeping its scratch capacity.
func (req *Request) reset() {
	*req = Request{
		filters:  keepScratch(req.filters),
		anys:     keepScratch(req.anys),
		values:   keepScratch(req.values),
		attrs:    keepScratch(req.attrs),
		changes:  keepScratch(req.changes),
		controls: keepScratch(req.controls),
	}
}

// DecodeRequest decodes one PDU, as returned by ReadPDU, into req. It resets
// req first and reuses its scratch slices. Every []byte field of the result
// aliases pdu, so pdu must not be modified or reused while req is in use.
// Errors are *DecodeError.
func DecodeRequest(pdu []byte, req *Request) error {
	req.reset()
	msg, rest, err := expect(pdu, tagSequence)
	if err != nil {
		return &DecodeError{Msg: "LDAPMessage: " + err.Error()}
	}
	if len(rest) != 0 {
		return &DecodeError{Msg: "data after LDAPMessage"}
	}
	// messageID MessageID ::= INTEGER (0 .. maxInt); 0 is reserved for
	// unsolicited notifications, so a request must not use it.
	id, msg, err := readInt(msg, tagInteger, 1, maxInt)
	if err != nil {
		return &DecodeError{Msg: "messageID: " + err.Error()}
	}
	req.MessageID = int32(id)
	tag, body, msg, err := readTLV(msg)
	if err != nil {
		return &DecodeError{MessageID: req.MessageID, HasID: true, Msg: "protocolOp: " + err.Error()}
	}
	op := Op(tag & 0x1f)
	want, ok := requestTag(op)
	if tag&0xc0 != classApp || !ok {
		return &DecodeError{MessageID: req.MessageID, HasID: true, UnknownOp: true, Msg: errUnknownOp.Error()}
	}
	req.Op = op
	fail := func(what string, err error) error {
		return &DecodeError{MessageID: req.MessageID, HasID: true, Op: op, HasOp: true, Msg: what + ": " + err.Error()}
	}
	if tag != want {
		if want&bitConstructed != 0 {
			return fail(op.String(), errUnexpTag)
		}
		return fail(op.String(), errNotPrimitiv)
	}
	switch op {
	case OpBindRequest:
		err = req.decodeBind(body)
	case OpUnbindRequest:
		if len(body) != 0 {
			err = errBadNull
		}
	case OpSearchRequest:
		err = req.decodeSearch(body)
	case OpModifyRequest:
		err = req.decodeModify(body)
	case OpAddRequest:
		err = req.decodeAdd(body)
	case OpDelRequest:
		req.Delete = body
	case OpModifyDNRequest:
		err = req.decodeModifyDN(body)
	case OpCompareRequest:
		err = req.decodeCompare(body)
	case OpAbandonRequest:
		var v int64
		if v, err = parseInt(body); err == nil && (v < 0 || v > maxInt) {
			err = errIntRange
		}
		req.AbandonID = int32(v)
	case OpExtendedRequest:
		err = req.decodeExtended(body)
	}
	if err != nil {
		return fail(op.String(), err)
	}
	if len(msg) > 0 && msg[0] == classContext|bitConstructed {
		ctrls, rest, err := expect(msg, classContext|bitConstructed)
		if err != nil {
			return fail("controls", err)
		}
		msg = rest
		if err := req.decodeControls(ctrls); err != nil {
			return fail("controls", err)
		}
	}
	if err := checkElements(msg); err != nil {
		return fail("LDAPMessage", err)
	}
	return nil
}

func (req *Request) decodeBind(b []byte) error {
	// BindRequest ::= [APPLICATION 0] SEQUENCE {
	//      version INTEGER (1 ..  127), name LDAPDN,
	//      authentication AuthenticationChoice }
	v, b, err := readInt(b, tagInteger, -1<<31, maxInt)
	if err != nil {
		return err
	}
	r := &req.Bind
	r.Version = int(v)
	if r.Name, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	tag, c, b, err := readTLV(b)
	if err != nil {
		return err
	}
	switch tag {
	case classContext /* [0] */ : // simple [0] OCTET STRING
		r.Simple = true
		r.Password = c
	case classContext | bitConstructed | 3: // sasl [3] SaslCredentials
		if r.Mechanism, c, err = expect(c, tagOctetString); err != nil {
			return err
		}
		if len(c) > 0 && c[0] == tagOctetString {
			if r.Creds, c, err = expect(c, tagOctetString); err != nil {
				return err
			}
			r.HasCreds = true
		}
		if err := checkElements(c); err != nil {
			return err
		}
	default:
		return errBadAuth
	}
	return checkElements(b)
}

func (req *Request) decodeSearch(b []byte) error {
	s := &req.Search
	var err error
	var v int64
	if s.BaseObject, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	// Out-of-range values of well-formed fields are kept for the
	// operation to answer (Invalid); only undecodable ones disconnect.
	s.Invalid = ""
	if v, b, err = readInt(b, tagEnumerated, -maxInt-1, maxInt); err != nil {
		return err
	}
	s.Scope = Scope(v)
	if v < 0 || !s.Scope.Valid() {
		s.Scope, s.Invalid = 0xff, "invalid scope"
	}
	if v, b, err = readInt(b, tagEnumerated, -maxInt-1, maxInt); err != nil {
		return err
	}
	s.DerefAliases = uint8(v)
	if (v < 0 || v > 3) && s.Invalid == "" {
		s.DerefAliases, s.Invalid = 0, "invalid derefAliases"
	}
	if v, b, err = readInt(b, tagInteger, -maxInt-1, maxInt); err != nil {
		return err
	}
	s.SizeLimit = int(v)
	if v < 0 && s.Invalid == "" {
		s.SizeLimit, s.Invalid = 0, "invalid size limit"
	}
	if v, b, err = readInt(b, tagInteger, -maxInt-1, maxInt); err != nil {
		return err
	}
	s.TimeLimit = int(v)
	if v < 0 && s.Invalid == "" {
		s.TimeLimit, s.Invalid = 0, "invalid time limit"
	}
	c, b, err := expect(b, tagBoolean)
	if err != nil {
		return err
	}
	if s.TypesOnly, err = parseBool(c); err != nil {
		return err
	}
	// The filter is one element; measure it, then decode it.
	if len(b) == 0 {
		return errTruncated
	}
	_, _, after, err := readTLV(b)
	if err != nil {
		return err
	}
	fb := b[:len(b)-len(after)]
	if s.Filter, err = req.decodeFilter(fb); err != nil {
		return err
	}
	c, b, err = expect(after, tagSequence)
	if err != nil {
		return err
	}
	start := len(req.values)
	for len(c) > 0 {
		var a []byte
		if a, c, err = expect(c, tagOctetString); err != nil {
			return err
		}
		req.values = append(req.values, a)
	}
	if len(req.values) > start {
		s.Attributes = req.values[start:len(req.values):len(req.values)]
	}
	return checkElements(b)
}

// decodeAttribute decodes PartialAttribute ::= SEQUENCE { type, vals SET OF value }.
func (req *Request) decodeAttribute(b []byte) (Attribute, error) {
	var a Attribute
	t, b, err := expect(b, tagOctetString)
	if err != nil {
		return a, err
	}
	a.Name = string(t)
	vals, b, err := expect(b, tagSet)
	if err != nil {
		return a, err
	}
	start := len(req.values)
	for len(vals) > 0 {
		var v []byte
		if v, vals, err = expect(vals, tagOctetString); err != nil {
			return a, err
		}
		req.values = append(req.values, v)
	}
	if len(req.values) > start {
		a.Values = req.values[start:len(req.values):len(req.values)]
	}
	return a, checkElements(b)
}

func (req *Request) decodeModify(b []byte) error {
	m := &req.Modify
	var err error
	if m.Object, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	changes, b, err := expect(b, tagSequence)
	if err != nil {
		return err
	}
	start := len(req.changes)
	for len(changes) > 0 {
		var ch []byte
		if ch, changes, err = expect(changes, tagSequence); err != nil {
			return err
		}
		var v int64
		if v, ch, err = readInt(ch, tagEnumerated, int64(change.ModAdd), int64(change.ModIncrement)); err != nil {
			return err
		}
		mod, rest, err := expect(ch, tagSequence)
		if err != nil {
			return err
		}
		if err := checkElements(rest); err != nil {
			return err
		}
		a, err := req.decodeAttribute(mod)
		if err != nil {
			return err
		}
		req.changes = append(req.changes, Change{Operation: change.ModOp(v), Attribute: a})
	}
	if len(req.changes) > start {
		m.Changes = req.changes[start:len(req.changes):len(req.changes)]
	}
	return checkElements(b)
}

func (req *Request) decodeAdd(b []byte) error {
	a := &req.Add
	var err error
	if a.Entry, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	attrs, b, err := expect(b, tagSequence)
	if err != nil {
		return err
	}
	start := len(req.attrs)
	for len(attrs) > 0 {
		var at []byte
		if at, attrs, err = expect(attrs, tagSequence); err != nil {
			return err
		}
		attr, err := req.decodeAttribute(at)
		if err != nil {
			return err
		}
		// Attribute ::= PartialAttribute(WITH COMPONENTS { ..., vals (SIZE(1..MAX))})
		if len(attr.Values) == 0 {
			return errEmptyVals
		}
		req.attrs = append(req.attrs, attr)
	}
	if len(req.attrs) > start {
		a.Attributes = req.attrs[start:len(req.attrs):len(req.attrs)]
	}
	return checkElements(b)
}

func (req *Request) decodeModifyDN(b []byte) error {
	m := &req.ModifyDN
	var err error
	if m.Entry, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	if m.NewRDN, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	c, b, err := expect(b, tagBoolean)
	if err != nil {
		return err
	}
	if m.DeleteOldRDN, err = parseBool(c); err != nil {
		return err
	}
	if len(b) > 0 && b[0] == classContext {
		if m.NewSuperior, b, err = expect(b, classContext); err != nil {
			return err
		}
		m.HasNewSuperior = true
	}
	return checkElements(b)
}

func (req *Request) decodeCompare(b []byte) error {
	c := &req.Compare
	var err error
	if c.Entry, b, err = expect(b, tagOctetString); err != nil {
		return err
	}
	ava, b, err := expect(b, tagSequence)
	if err != nil {
		return err
	}
	if c.Attr, ava, err = expect(ava, tagOctetString); err != nil {
		return err
	}
	if c.Value, ava, err = expect(ava, tagOctetString); err != nil {
		return err
	}
	if err := checkElements(ava); err != nil {
		return err
	}
	return checkElements(b)
}

func (req *Request) decodeExtended(b []byte) error {
	e := &req.Extended
	var err error
	if e.Name, b, err = expect(b, classContext /* [0] */); err != nil {
		return err
	}
	if len(b) > 0 && b[0] == classContext|1 {
		if e.Value, b, err = expect(b, classContext|1); err != nil {
			return err
		}
		e.HasValue = true
	}
	return checkElements(b)
}

func (req *Request) decodeControls(b []byte) error {
	// Controls ::= SEQUENCE OF control Control
	// Control ::= SEQUENCE { controlType LDAPOID,
	//      criticality BOOLEAN DEFAULT FALSE, controlValue OCTET STRING OPTIONAL }
	start := len(req.controls)
	for len(b) > 0 {
		c, rest, err := expect(b, tagSequence)
		if err != nil {
			return err
		}
		b = rest
		var ctl Control
		if ctl.OID, c, err = expect(c, tagOctetString); err != nil {
			return err
		}
		if len(c) > 0 && c[0] == tagBoolean {
			var v []byte
			if v, c, err = expect(c, tagBoolean); err != nil {
				return err
			}
			if ctl.Critical, err = parseBool(v); err != nil {
				return err
			}
		}
		if len(c) > 0 && c[0] == tagOctetString {
			if ctl.Value, c, err = expect(c, tagOctetString); err != nil {
				return err
			}
			ctl.HasValue = true
		}
		if err := checkElements(c); err != nil {
			return err
		}
		req.controls = append(req.controls, ctl)
	}
	if len(req.controls) > start {
		req.Controls = req.controls[start:len(req.controls):len(req.controls)]
	}
	return nil
}
