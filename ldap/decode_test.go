package ldap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/switchboard-ldap/switchboard/change"
)

// capturedReq is one request a go-ldap client sent, decoded by DecodeRequest
// from its own copy of the PDU.
type capturedReq struct {
	pdu []byte
	req *Request
	err error
}

// startCaptureServer accepts one connection, decodes every PDU the client
// sends, reports it on the returned channel and answers it with responses
// built by our encoders, so the client also exercises them.
func startCaptureServer(t *testing.T) (addr string, reqs <-chan capturedReq) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan capturedReq, 16)
	go func() {
		defer close(ch)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			pdu, err := ReadPDU(br, nil, 1<<20)
			if err != nil {
				if err != io.EOF {
					ch <- capturedReq{err: err}
				}
				return
			}
			req := new(Request)
			err = DecodeRequest(pdu, req)
			ch <- capturedReq{pdu: pdu, req: req, err: err}
			if err != nil {
				return
			}
			var out []byte
			id := req.MessageID
			switch req.Op {
			case OpUnbindRequest:
				return
			case OpSearchRequest:
				e := Entry{DN: "uid=jdoe,ou=people,dc=example,dc=com", Attributes: []Attribute{
					{Name: "uid", Values: [][]byte{[]byte("jdoe")}},
					{Name: "mail", Values: [][]byte{[]byte("jdoe@example.com"), []byte("john@example.com")}},
					{Name: "description", Values: [][]byte{bytes.Repeat([]byte("x"), 300)}},
				}}
				out = AppendEntry(out, id, &e, false, nil)
				out = AppendReference(out, id, []string{"ldap://other.example.com/dc=other"}, nil)
				out = AppendResult(out, id, OpSearchResultDone, &Result{Controls: []ResponseControl{
					{OID: OIDPagedResults, Value: AppendPagedResults(nil, 0, nil)},
				}})
			case OpCompareRequest:
				out = AppendResult(out, id, OpCompareResponse, &Result{Code: CompareTrue})
			case OpExtendedRequest:
				res := Result{}
				switch string(req.Extended.Name) {
				case OIDPasswordModify:
					res.ResponseValue = AppendPasswordModifyResponse(nil, []byte("g3nerated"))
				case OIDWhoAmI:
					res.ResponseValue = []byte("dn:cn=admin,dc=example,dc=com")
				}
				out = AppendResult(out, id, OpExtendedResponse, &res)
			default:
				out = AppendResult(out, id, req.Op.ResponseOp(), &Result{})
			}
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String(), ch
}

func nextCaptured(t *testing.T, ch <-chan capturedReq) *Request {
	t.Helper()
	select {
	case c, ok := <-ch:
		if !ok {
			t.Fatal("capture server ended")
		}
		if c.err != nil {
			t.Fatalf("decode: %v\npdu % x", c.err, c.pdu)
		}
		return c.req
	case <-time.After(5 * time.Second):
		t.Fatal("timeout waiting for request")
	}
	return nil
}

func byteStrs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func eqByteStrs(t *testing.T, what string, got [][]byte, want ...string) {
	t.Helper()
	if strings.Join(byteStrs(got), "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
		t.Errorf("%s = %q, want %q", what, byteStrs(got), want)
	}
}

// TestGoLDAPClientRoundTrip drives a real go-ldap client against the codec:
// its requests must decode field by field, and its parsing of our
// responses must give back what we encoded.
func TestGoLDAPClientRoundTrip(t *testing.T) {
	addr, ch := startCaptureServer(t)
	conn, err := goldap.DialURL("ldap://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetTimeout(5 * time.Second)

	// Simple bind.
	if err := conn.Bind("cn=admin,dc=example,dc=com", "s3cret"); err != nil {
		t.Fatal(err)
	}
	r := nextCaptured(t, ch)
	if r.Op != OpBindRequest || r.MessageID != 1 || r.Bind.Version != 3 || !r.Bind.Simple ||
		string(r.Bind.Name) != "cn=admin,dc=example,dc=com" || string(r.Bind.Password) != "s3cret" {
		t.Errorf("bind decoded as %+v", r.Bind)
	}

	// SASL EXTERNAL bind.
	if err := conn.ExternalBind(); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	if r.Op != OpBindRequest || r.Bind.Simple || string(r.Bind.Mechanism) != "EXTERNAL" {
		t.Errorf("SASL bind decoded as %+v", r.Bind)
	}

	// Search with paging and ManageDsaIT (critical) controls.
	filter := "(&(objectClass=inetOrgPerson)(|(uid=jdoe)(mail=jdoe*)))"
	sr := goldap.NewSearchRequest("ou=people,dc=example,dc=com", goldap.ScopeWholeSubtree,
		goldap.DerefFindingBaseObj, 100, 30, false, filter,
		[]string{"cn", "mail", "uid"},
		[]goldap.Control{goldap.NewControlPaging(50), goldap.NewControlManageDsaIT(true)})
	res, err := conn.Search(sr)
	if err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	s := r.Search
	if r.Op != OpSearchRequest || string(s.BaseObject) != "ou=people,dc=example,dc=com" ||
		s.Scope != ScopeWholeSubtree || s.DerefAliases != 2 || s.SizeLimit != 100 || s.TimeLimit != 30 || s.TypesOnly {
		t.Errorf("search decoded as %+v", s)
	}
	if got := s.Filter.String(); got != filter {
		t.Errorf("filter = %s, want %s", got, filter)
	}
	eqByteStrs(t, "attributes", s.Attributes, "cn", "mail", "uid")
	if len(r.Controls) != 2 {
		t.Fatalf("controls = %+v", r.Controls)
	}
	if string(r.Controls[0].OID) != OIDPagedResults || !r.Controls[0].HasValue || r.Controls[0].Critical {
		t.Errorf("paging control = %+v", r.Controls[0])
	}
	size, cookie, err := DecodePagedResults(r.Controls[0].Value)
	if err != nil || size != 50 || len(cookie) != 0 {
		t.Errorf("paged results = %d %q %v", size, cookie, err)
	}
	if string(r.Controls[1].OID) != OIDManageDsaIT || !r.Controls[1].Critical || r.Controls[1].HasValue {
		t.Errorf("manageDsaIT control = %+v", r.Controls[1])
	}
	// What the client made of our entry, reference and done.
	if len(res.Entries) != 1 {
		t.Fatalf("client got %d entries", len(res.Entries))
	}
	e := res.Entries[0]
	if e.DN != "uid=jdoe,ou=people,dc=example,dc=com" || e.GetAttributeValue("uid") != "jdoe" ||
		strings.Join(e.GetAttributeValues("mail"), ",") != "jdoe@example.com,john@example.com" ||
		e.GetAttributeValue("description") != strings.Repeat("x", 300) {
		t.Errorf("client entry = %+v", e)
	}
	if len(res.Referrals) != 1 || res.Referrals[0] != "ldap://other.example.com/dc=other" {
		t.Errorf("client referrals = %q", res.Referrals)
	}
	if c := goldap.FindControl(res.Controls, OIDPagedResults); c == nil {
		t.Errorf("client did not see the paging response control: %v", res.Controls)
	} else if p, ok := c.(*goldap.ControlPaging); !ok || p.PagingSize != 0 || len(p.Cookie) != 0 {
		t.Errorf("client paging control = %#v", c)
	}

	// Add.
	ar := goldap.NewAddRequest("uid=new,ou=people,dc=example,dc=com", nil)
	ar.Attribute("objectClass", []string{"top", "inetOrgPerson"})
	ar.Attribute("cn", []string{"New Person"})
	if err := conn.Add(ar); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	if r.Op != OpAddRequest || string(r.Add.Entry) != "uid=new,ou=people,dc=example,dc=com" || len(r.Add.Attributes) != 2 {
		t.Fatalf("add decoded as %+v", r.Add)
	}
	if r.Add.Attributes[0].Name != "objectClass" || r.Add.Attributes[1].Name != "cn" {
		t.Errorf("add attributes %+v", r.Add.Attributes)
	}
	eqByteStrs(t, "objectClass", r.Add.Attributes[0].Values, "top", "inetOrgPerson")
	eqByteStrs(t, "cn", r.Add.Attributes[1].Values, "New Person")

	// Modify with every operation, including increment (RFC 4525).
	mr := goldap.NewModifyRequest("uid=new,ou=people,dc=example,dc=com", nil)
	mr.Add("mail", []string{"a@example.com", "b@example.com"})
	mr.Delete("description", nil)
	mr.Replace("cn", []string{"Renamed"})
	mr.Increment("uidNumber", "5")
	if err := conn.Modify(mr); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	if r.Op != OpModifyRequest || string(r.Modify.Object) != "uid=new,ou=people,dc=example,dc=com" || len(r.Modify.Changes) != 4 {
		t.Fatalf("modify decoded as %+v", r.Modify)
	}
	wantOps := []change.ModOp{change.ModAdd, change.ModDelete, change.ModReplace, change.ModIncrement}
	wantTypes := []string{"mail", "description", "cn", "uidNumber"}
	for i, c := range r.Modify.Changes {
		if c.Operation != wantOps[i] || c.Attribute.Name != wantTypes[i] {
			t.Errorf("change %d = %d %s", i, c.Operation, c.Attribute.Name)
		}
	}
	eqByteStrs(t, "mail", r.Modify.Changes[0].Attribute.Values, "a@example.com", "b@example.com")
	eqByteStrs(t, "description", r.Modify.Changes[1].Attribute.Values)
	eqByteStrs(t, "uidNumber", r.Modify.Changes[3].Attribute.Values, "5")

	// ModifyDN with and without newSuperior.
	if err := conn.ModifyDN(goldap.NewModifyDNRequest("uid=new,ou=people,dc=example,dc=com", "uid=newer", true, "ou=staff,dc=example,dc=com")); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	m := r.ModifyDN
	if r.Op != OpModifyDNRequest || string(m.Entry) != "uid=new,ou=people,dc=example,dc=com" || string(m.NewRDN) != "uid=newer" ||
		!m.DeleteOldRDN || !m.HasNewSuperior || string(m.NewSuperior) != "ou=staff,dc=example,dc=com" {
		t.Errorf("modDN decoded as %+v", m)
	}
	if err := conn.ModifyDN(goldap.NewModifyDNRequest("uid=a,dc=example,dc=com", "uid=b", false, "")); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	if m := r.ModifyDN; m.HasNewSuperior || m.DeleteOldRDN || string(m.NewRDN) != "uid=b" {
		t.Errorf("modDN decoded as %+v", m)
	}

	// Compare: the client must read our compareTrue.
	ok, err := conn.Compare("uid=a,dc=example,dc=com", "cn", "Some Value")
	if err != nil || !ok {
		t.Fatalf("compare = %v, %v", ok, err)
	}
	r = nextCaptured(t, ch)
	if c := r.Compare; r.Op != OpCompareRequest || string(c.Entry) != "uid=a,dc=example,dc=com" || string(c.Attr) != "cn" || string(c.Value) != "Some Value" {
		t.Errorf("compare decoded as %+v", c)
	}

	// Delete.
	if err := conn.Del(goldap.NewDelRequest("uid=a,dc=example,dc=com", nil)); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	if r.Op != OpDelRequest || string(r.Delete) != "uid=a,dc=example,dc=com" {
		t.Errorf("del decoded as %q", r.Delete)
	}

	// Password modify (RFC 3062), with a generated password in the answer.
	pmr, err := conn.PasswordModify(goldap.NewPasswordModifyRequest("uid=a,dc=example,dc=com", "old", ""))
	if err != nil {
		t.Fatal(err)
	}
	if pmr.GeneratedPassword != "g3nerated" {
		t.Errorf("client generated password = %q", pmr.GeneratedPassword)
	}
	r = nextCaptured(t, ch)
	if r.Op != OpExtendedRequest || string(r.Extended.Name) != OIDPasswordModify || !r.Extended.HasValue {
		t.Fatalf("extended decoded as %+v", r.Extended)
	}
	pm, err := DecodePasswordModify(r.Extended.Value)
	if err != nil || !pm.HasUser || string(pm.UserIdentity) != "uid=a,dc=example,dc=com" || !pm.HasOld || string(pm.OldPassword) != "old" || pm.HasNew {
		t.Errorf("password modify = %+v, %v", pm, err)
	}

	// Who am I (RFC 4532): no request value.
	who, err := conn.WhoAmI(nil)
	if err != nil {
		t.Fatal(err)
	}
	if who.AuthzID != "dn:cn=admin,dc=example,dc=com" {
		t.Errorf("client authzid = %q", who.AuthzID)
	}
	r = nextCaptured(t, ch)
	if string(r.Extended.Name) != OIDWhoAmI || r.Extended.HasValue {
		t.Errorf("whoami decoded as %+v", r.Extended)
	}

	// Unbind.
	if err := conn.Unbind(); err != nil {
		t.Fatal(err)
	}
	r = nextCaptured(t, ch)
	if r.Op != OpUnbindRequest {
		t.Errorf("close sent %v", r.Op)
	}
}

// Hand-built messages with asn1-ber, for operations the client does not send.

func berEnvelope(id int64, op *ber.Packet, ctrls ...*ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	if len(ctrls) > 0 {
		c := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, x := range ctrls {
			c.AppendChild(x)
		}
		p.AppendChild(c)
	}
	return p.Bytes()
}

func berOctets(s string) *ber.Packet {
	return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, "")
}

func TestDecodeAbandonAndUnbind(t *testing.T) {
	var req Request
	ab := ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, 16, int64(77), "")
	if err := DecodeRequest(berEnvelope(9, ab), &req); err != nil {
		t.Fatal(err)
	}
	if req.Op != OpAbandonRequest || req.AbandonID != 77 || req.MessageID != 9 {
		t.Errorf("abandon = %+v", req)
	}
	ub := ber.Encode(ber.ClassApplication, ber.TypePrimitive, 2, nil, "")
	if err := DecodeRequest(berEnvelope(10, ub), &req); err != nil || req.Op != OpUnbindRequest || req.MessageID != 10 {
		t.Errorf("unbind = %+v, %v", req, err)
	}
	// A reused Request must not keep the previous message's fields.
	if req.AbandonID != 0 {
		t.Errorf("AbandonID survived reset: %d", req.AbandonID)
	}
}

func TestDecodeSASLWithCredentials(t *testing.T) {
	bind := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "")
	bind.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(2), ""))
	bind.AppendChild(berOctets(""))
	sasl := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "")
	sasl.AppendChild(berOctets("PLAIN"))
	sasl.AppendChild(berOctets("\x00user\x00pw"))
	bind.AppendChild(sasl)
	var req Request
	if err := DecodeRequest(berEnvelope(3, bind), &req); err != nil {
		t.Fatal(err)
	}
	b := req.Bind
	if b.Version != 2 || b.Simple || string(b.Mechanism) != "PLAIN" || !b.HasCreds || string(b.Creds) != "\x00user\x00pw" {
		t.Errorf("bind = %+v", b)
	}
}

// validSearchPDU is the benchmark's typical search.
func validSearchPDU(t testing.TB) []byte {
	t.Helper()
	fp, err := goldap.CompileFilter("(&(objectClass=inetOrgPerson)(|(uid=jdoe)(mail=jdoe*)))")
	if err != nil {
		t.Fatal(err)
	}
	s := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "")
	s.AppendChild(berOctets("ou=people,dc=example,dc=com"))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(2), ""))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	s.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	s.AppendChild(fp)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range []string{"cn", "mail", "uid", "sn", "givenName"} {
		attrs.AppendChild(berOctets(a))
	}
	s.AppendChild(attrs)
	return berEnvelope(2, s, goldap.NewControlPaging(100).Encode())
}

func searchWithFilter(id int64, filter *ber.Packet) []byte {
	s := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "")
	s.AppendChild(berOctets("dc=example,dc=com"))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(2), ""))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	s.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	s.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	s.AppendChild(filter)
	s.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, ""))
	return berEnvelope(id, s)
}

// searchWithRawFilter wraps raw filter bytes in a search request.
func searchWithRawFilter(id int32, filter []byte) []byte {
	body := []byte{0x04, 0x00, 0x0a, 0x01, 0x02, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00}
	body = append(body, filter...)
	body = append(body, 0x30, 0x00)
	var op []byte
	op = appendBytes(op, 0x63, body)
	var msg []byte
	msg = appendInt(msg, tagInteger, int64(id))
	msg = append(msg, op...)
	return appendBytes(nil, tagSequence, msg)
}

func TestDecodeTypicalSearch(t *testing.T) {
	pdu := validSearchPDU(t)
	var req Request
	for round := 0; round < 2; round++ { // second round reuses the arenas
		if err := DecodeRequest(pdu, &req); err != nil {
			t.Fatal(err)
		}
		f := req.Search.Filter
		if f.Kind != FilterAnd || len(f.Children) != 2 || f.Children[1].Kind != FilterOr ||
			f.Children[1].Children[1].Kind != FilterSubstrings || string(f.Children[1].Children[1].Initial) != "jdoe" ||
			f.Children[1].Children[1].Final != nil || f.Children[1].Children[1].Any != nil {
			t.Fatalf("filter tree = %+v", f)
		}
		// Children of one node are contiguous in the arena.
		if &f.Children[0] != &req.filters[1] || &f.Children[1].Children[0] != &req.filters[3] {
			t.Error("children are not contiguous arena slots")
		}
		eqByteStrs(t, "attributes", req.Search.Attributes, "cn", "mail", "uid", "sn", "givenName")
		if len(req.Controls) != 1 || string(req.Controls[0].OID) != OIDPagedResults {
			t.Errorf("controls %+v", req.Controls)
		}
	}
	// Aliasing: values point into the PDU.
	i := bytes.Index(pdu, []byte("ou=people"))
	pdu[i] = 'O'
	if string(req.Search.BaseObject) != "Ou=people,dc=example,dc=com" {
		t.Error("BaseObject does not alias the PDU")
	}
}

func TestDecodeErrors(t *testing.T) {
	deep := func(n int) []byte {
		// n nested NOTs around a present filter.
		f := []byte{0x87, 0x02, 'c', 'n'}
		for i := 0; i < n; i++ {
			f = appendBytes(nil, tagFilterNot, f)
		}
		return f
	}
	tests := []struct {
		name      string
		pdu       []byte
		hasID     bool
		id        int32
		op        Op
		hasOp     bool
		unknownOp bool
	}{
		{name: "empty", pdu: nil},
		{name: "not a sequence", pdu: []byte{0x31, 0x03, 0x02, 0x01, 0x01}},
		{name: "huge outer length", pdu: []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01}},
		{name: "indefinite length", pdu: []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00}},
		{name: "five length octets", pdu: []byte{0x30, 0x85, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x01, 0x01, 0x42, 0x00}},
		{name: "trailing garbage", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x42, 0x00, 0xff}},
		{name: "message ID 0", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0x00, 0x42, 0x00}},
		{name: "negative message ID", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0xff, 0x42, 0x00}},
		{name: "message ID 2^31", pdu: []byte{0x30, 0x09, 0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00, 0x42, 0x00}},
		{name: "empty message ID", pdu: []byte{0x30, 0x04, 0x02, 0x00, 0x42, 0x00}},
		{name: "unknown op APPLICATION 30", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0x07, 0x7e, 0x00}, hasID: true, id: 7, unknownOp: true},
		{name: "response op from client", pdu: []byte{0x30, 0x0c, 0x02, 0x01, 0x07, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}, hasID: true, id: 7, unknownOp: true},
		{name: "context tag as op", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0x07, 0x80, 0x00}, hasID: true, id: 7, unknownOp: true},
		{name: "constructed unbind", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0x07, 0x62, 0x00}, hasID: true, id: 7, op: OpUnbindRequest, hasOp: true},
		{name: "unbind with content", pdu: []byte{0x30, 0x06, 0x02, 0x01, 0x07, 0x42, 0x01, 0x00}, hasID: true, id: 7, op: OpUnbindRequest, hasOp: true},
		{name: "bind auth choice [1]", pdu: []byte{0x30, 0x0c, 0x02, 0x01, 0x04, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x81, 0x00}, hasID: true, id: 4, op: OpBindRequest, hasOp: true},
		{name: "bind 5-byte version", pdu: []byte{0x30, 0x10, 0x02, 0x01, 0x04, 0x60, 0x0b, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x00, 0x80, 0x00}, hasID: true, id: 4, op: OpBindRequest, hasOp: true},
		{name: "abandon empty integer", pdu: []byte{0x30, 0x05, 0x02, 0x01, 0x04, 0x50, 0x00}, hasID: true, id: 4, op: OpAbandonRequest, hasOp: true},
		{name: "filter 101 deep", pdu: searchWithRawFilter(5, deep(100)), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "filter 10000 deep", pdu: searchWithRawFilter(5, deep(10000)), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "substrings empty", pdu: searchWithRawFilter(5, []byte{0xa4, 0x06, 0x04, 0x02, 'c', 'n', 0x30, 0x00}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "substrings initial second", pdu: searchWithRawFilter(5, []byte{0xa4, 0x0a, 0x04, 0x02, 'c', 'n', 0x30, 0x04, 0x81, 0x00, 0x80, 0x00}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "substrings two finals", pdu: searchWithRawFilter(5, []byte{0xa4, 0x0a, 0x04, 0x02, 'c', 'n', 0x30, 0x04, 0x82, 0x00, 0x82, 0x00}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "substrings any after final", pdu: searchWithRawFilter(5, []byte{0xa4, 0x0a, 0x04, 0x02, 'c', 'n', 0x30, 0x04, 0x82, 0x00, 0x81, 0x00}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "extensible without value", pdu: searchWithRawFilter(5, []byte{0xa9, 0x04, 0x82, 0x02, 'c', 'n'}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "not with two children", pdu: searchWithRawFilter(5, []byte{0xa2, 0x08, 0x87, 0x02, 'c', 'n', 0x87, 0x02, 's', 'n'}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "unknown filter tag", pdu: searchWithRawFilter(5, []byte{0xaa, 0x00}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
		{name: "constructed octet string", pdu: searchWithRawFilter(5, []byte{0xa3, 0x0a, 0x24, 0x04, 0x04, 0x02, 'c', 'n', 0x04, 0x02, 'x', 'y'}), hasID: true, id: 5, op: OpSearchRequest, hasOp: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req Request
			err := DecodeRequest(tc.pdu, &req)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("err = %v, want *DecodeError", err)
			}
			if de.HasID != tc.hasID || (tc.hasID && de.MessageID != tc.id) || de.HasOp != tc.hasOp ||
				(tc.hasOp && de.Op != tc.op) || de.UnknownOp != tc.unknownOp {
				t.Errorf("err = %+v", de)
			}
			if de.Error() == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestDecodeSearchRanges(t *testing.T) {
	mk := func(scope, deref byte, size []byte) []byte {
		body := []byte{0x04, 0x00, 0x0a, 0x01, scope, 0x0a, 0x01, deref}
		body = appendBytes(body, tagInteger, size)
		body = append(body, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x02, 'c', 'n', 0x30, 0x00)
		msg := appendBytes([]byte{0x02, 0x01, 0x01}, 0x63, body)
		return appendBytes(nil, tagSequence, msg)
	}
	var req Request
	if err := DecodeRequest(mk(2, 3, []byte{0x7f, 0xff, 0xff, 0xff}), &req); err != nil || req.Search.SizeLimit != maxInt || req.Search.DerefAliases != 3 {
		t.Errorf("valid extremes: %v %+v", err, req.Search)
	}
	// Out-of-range values of well-formed fields decode, marked Invalid,
	// for the operation to answer with protocolError (as slapd does).
	for name, tc := range map[string]struct {
		pdu     []byte
		invalid string
	}{
		"scope 3 (children)": {mk(3, 0, []byte{0}), ""},
		"scope 7":            {mk(7, 0, []byte{0}), "invalid scope"},
		"scope negative":     {mk(0xff, 0, []byte{0}), "invalid scope"},
		"deref 4":            {mk(0, 4, []byte{0}), "invalid derefAliases"},
		"deref negative":     {mk(0, 0x80, []byte{0}), "invalid derefAliases"},
		"negative size":      {mk(0, 0, []byte{0xff}), "invalid size limit"},
	} {
		req.Search.Invalid = "stale"
		if err := DecodeRequest(tc.pdu, &req); err != nil || req.Search.Invalid != tc.invalid {
			t.Errorf("%s: err %v, Invalid %q; want %q", name, err, req.Search.Invalid, tc.invalid)
		}
	}
	// Undecodable integers still fail the PDU.
	for name, pdu := range map[string][]byte{
		"5-byte size":     mk(0, 0, []byte{0, 0, 0, 0, 1}),
		"empty size":      mk(0, 0, nil),
		"size max+1 (5B)": mk(0, 0, []byte{0x00, 0x80, 0, 0, 0}),
	} {
		if err := DecodeRequest(pdu, &req); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDecodeBigButLegalFilters(t *testing.T) {
	// OR with 100,000 branches: must not blow up; within the node limit
	// (100,000 children plus the OR is one over) it is refused cleanly.
	or := bytes.Repeat([]byte{0x87, 0x01, 'a'}, 100000)
	var req Request
	err := DecodeRequest(searchWithRawFilter(8, appendBytes(nil, tagFilterOr, or)), &req)
	var de *DecodeError
	if !errors.As(err, &de) || !de.HasOp {
		t.Errorf("100000-branch OR: %v", err)
	}
	or = bytes.Repeat([]byte{0x87, 0x01, 'a'}, 99999)
	if err := DecodeRequest(searchWithRawFilter(8, appendBytes(nil, tagFilterOr, or)), &req); err != nil {
		t.Fatalf("99999-branch OR: %v", err)
	}
	if n := len(req.Search.Filter.Children); n != 99999 {
		t.Errorf("children = %d", n)
	}
	// Substrings with 10,000 any parts.
	subs := []byte{0x80, 0x01, 'i'}
	for i := 0; i < 10000; i++ {
		subs = append(subs, 0x81, 0x01, byte('a'+i%26))
	}
	subs = append(subs, 0x82, 0x01, 'f')
	f := appendBytes(nil, tagFilterSubstrings, append([]byte{0x04, 0x02, 'c', 'n'}, appendBytes(nil, tagSequence, subs)...))
	if err := DecodeRequest(searchWithRawFilter(9, f), &req); err != nil {
		t.Fatal(err)
	}
	sf := req.Search.Filter
	if len(sf.Any) != 10000 || string(sf.Initial) != "i" || string(sf.Final) != "f" || string(sf.Any[27]) != "b" {
		t.Errorf("substrings: %d any parts", len(sf.Any))
	}
	// Exactly 100 levels is allowed; empty AND and OR are too (RFC 4526).
	f = []byte{0xa0, 0x00}
	for i := 0; i < 99; i++ {
		f = appendBytes(nil, tagFilterNot, f)
	}
	if err := DecodeRequest(searchWithRawFilter(9, f), &req); err != nil {
		t.Errorf("100 levels: %v", err)
	}
	if err := DecodeRequest(searchWithRawFilter(9, []byte{0xa1, 0x00}), &req); err != nil || req.Search.Filter.String() != "(|)" {
		t.Errorf("empty OR: %v", err)
	}
	// Extensible match with neither rule nor type decodes (evaluates Undefined).
	if err := DecodeRequest(searchWithRawFilter(9, []byte{0xa9, 0x03, 0x83, 0x01, 'x'}), &req); err != nil || req.Search.Filter.String() != "(:=x)" {
		t.Errorf("bare extensible: %v", err)
	}
}

// TestDecodeTruncated cuts a valid search at every offset: each prefix
// (with the outer length fixed up or not) must fail without panicking.
func TestDecodeTruncated(t *testing.T) {
	pdu := validSearchPDU(t)
	_, content, _, _ := readTLV(pdu)
	hdr := len(pdu) - len(content)
	ctrlLen := len(goldap.NewControlPaging(100).Encode().Bytes()) + 2 // inside [0] { }
	var req Request
	for i := 0; i < len(pdu); i++ {
		if err := DecodeRequest(pdu[:i], &req); err == nil {
			t.Fatalf("prefix of %d bytes decoded", i)
		}
		// Also with a consistent outer header, so the inner elements overrun.
		if i < hdr {
			continue
		}
		body := pdu[hdr:i:i]
		fixed := appendBytes(nil, tagSequence, body)
		// Cutting exactly before the optional controls leaves a valid message.
		if err := DecodeRequest(fixed, &req); err == nil && i != len(pdu) && i != len(pdu)-ctrlLen {
			t.Fatalf("re-wrapped prefix of %d bytes decoded", i)
		}
	}
	// And ReadPDU on truncated streams reports ErrUnexpectedEOF.
	for i := 1; i < len(pdu); i++ {
		_, err := ReadPDU(bufio.NewReader(bytes.NewReader(pdu[:i])), nil, 1<<20)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("ReadPDU of %d bytes: %v", i, err)
		}
	}
}

func TestDecodeExtensibility(t *testing.T) {
	// Unknown trailing elements in SEQUENCEs are skipped (RFC 4511 section 4).
	pdu := []byte{0x30, 0x0f, 0x02, 0x01, 0x01,
		0x60, 0x0a, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00, 0x05, 0x00, // extra NULL in bind
		0x04, 0x00} // extra element after the op
	pdu[1] = byte(len(pdu) - 2)
	pdu[6] = 0x0b
	pdu = append(pdu[:0:0], pdu...)
	var req Request
	if err := DecodeRequest(pdu, &req); err != nil {
		t.Fatalf("%v (% x)", err, pdu)
	}
	// But a malformed trailing element is still an error.
	bad := append([]byte(nil), pdu...)
	bad = append(bad[:len(bad)-2], 0x04, 0x05)
	if err := DecodeRequest(bad, &req); err == nil {
		t.Error("malformed trailing element accepted")
	}
}

func TestReadPDU(t *testing.T) {
	good := []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x42, 0x00}
	long := append([]byte{0x30, 0x82, 0x00, 0x05}, good[2:]...) // non-minimal length
	stream := append(append([]byte(nil), good...), long...)
	br := bufio.NewReader(bytes.NewReader(stream))
	buf := make([]byte, 0, 64)
	p, err := ReadPDU(br, buf, 256<<10)
	if err != nil || !bytes.Equal(p, good) || &p[0] != &buf[:1][0] {
		t.Fatalf("first: % x %v", p, err)
	}
	p, err = ReadPDU(br, nil, 256<<10)
	if err != nil || !bytes.Equal(p, long) {
		t.Fatalf("second: % x %v", p, err)
	}
	var req Request
	if err := DecodeRequest(p, &req); err != nil || req.Op != OpUnbindRequest {
		t.Errorf("decode non-minimal length: %v", err)
	}
	if _, err := ReadPDU(br, nil, 256<<10); err != io.EOF {
		t.Errorf("at end: %v, want io.EOF", err)
	}

	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"length bomb", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xf0}, ErrPDUTooLarge},
		{"max 4-octet length", []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff}, ErrPDUTooLarge},
		{"just over max", []byte{0x30, 0x83, 0x04, 0x00, 0x01}, ErrPDUTooLarge},
		{"indefinite", []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00}, ErrMalformedPDU},
		{"five length octets", []byte{0x30, 0x85, 0, 0, 0, 0, 1, 0}, ErrMalformedPDU},
		{"wrong tag", []byte{0x84, 0xff, 0xff, 0xff, 0xff}, ErrMalformedPDU},
		{"tag only", []byte{0x30}, io.ErrUnexpectedEOF},
		{"short body", []byte{0x30, 0x05, 0x02}, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The bomb must fail before reading or allocating the body:
			// measure allocations of the call.
			var err error
			rd := bytes.NewReader(tc.in)
			br := bufio.NewReaderSize(rd, 16)
			allocs := testing.AllocsPerRun(10, func() {
				rd.Reset(tc.in)
				br.Reset(rd)
				_, err = ReadPDU(br, nil, 256<<10)
			})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if tc.want == ErrPDUTooLarge && allocs != 0 {
				t.Errorf("%v allocs", allocs)
			}
		})
	}
}

// seedPDUs are valid messages of every request operation plus bad inputs.
func seedPDUs(t testing.TB) [][]byte {
	seeds := [][]byte{validSearchPDU(t)}
	add := func(op *ber.Packet, ctrls ...*ber.Packet) { seeds = append(seeds, berEnvelope(3, op, ctrls...)) }
	bind := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "")
	bind.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	bind.AppendChild(berOctets("cn=admin"))
	bind.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "secret", ""))
	add(bind)
	add(ber.Encode(ber.ClassApplication, ber.TypePrimitive, 2, nil, ""))
	mod := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 6, nil, "")
	mod.AppendChild(berOctets("cn=x"))
	changes := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	ch := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	ch.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(2), ""))
	pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	pa.AppendChild(berOctets("sn"))
	vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
	vals.AppendChild(berOctets("v"))
	pa.AppendChild(vals)
	ch.AppendChild(pa)
	changes.AppendChild(ch)
	mod.AppendChild(changes)
	add(mod)
	addReq := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 8, nil, "")
	addReq.AppendChild(berOctets("cn=x"))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	attrs.AppendChild(pa)
	addReq.AppendChild(attrs)
	add(addReq)
	add(ber.NewString(ber.ClassApplication, ber.TypePrimitive, 10, "cn=x", ""))
	mdn := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 12, nil, "")
	mdn.AppendChild(berOctets("cn=x"))
	mdn.AppendChild(berOctets("cn=y"))
	mdn.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, true, ""))
	mdn.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "dc=z", ""))
	add(mdn)
	cmp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 14, nil, "")
	cmp.AppendChild(berOctets("cn=x"))
	ava := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	ava.AppendChild(berOctets("cn"))
	ava.AppendChild(berOctets("x"))
	cmp.AppendChild(ava)
	add(cmp)
	add(ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, 16, int64(2), ""))
	ext := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 23, nil, "")
	ext.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, OIDPasswordModify, ""))
	ext.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, "\x30\x05\x80\x03abc", ""))
	add(ext, goldap.NewControlManageDsaIT(true).Encode())
	for _, f := range []string{"(cn:dn:2.5.13.5:=x)", "(cn=a*b*c)", "(!(cn>=x))", "(cn~=y)", "(cn<=z)"} {
		fp, err := goldap.CompileFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, searchWithFilter(4, fp))
	}
	seeds = append(seeds,
		[]byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xf0},
		[]byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x42, 0x00, 0x00, 0x00},
		[]byte{0x84, 0xff, 0xff, 0xff, 0xff},
		[]byte{0x30, 0x05, 0x02, 0x01, 0x07, 0x7e, 0x00},
		[]byte{0x30, 0x05, 0x02, 0x01, 0x00, 0x42, 0x00},
	)
	return seeds
}

func FuzzReadPDUDecode(f *testing.F) {
	for _, s := range seedPDUs(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		var req Request
		var buf []byte
		for i := 0; i < 4; i++ {
			pdu, err := ReadPDU(br, buf, 1<<16)
			if err != nil {
				return
			}
			if len(pdu) > len(data) {
				t.Fatalf("PDU of %d bytes from %d input bytes", len(pdu), len(data))
			}
			if err := DecodeRequest(pdu, &req); err != nil {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("error of type %T", err)
				}
				if de.UnknownOp && !de.HasID {
					t.Fatal("UnknownOp without message ID")
				}
				continue
			}
			if req.MessageID <= 0 {
				t.Fatalf("accepted message ID %d", req.MessageID)
			}
			if req.Op == OpSearchRequest {
				checkDecodedFilter(t, req.Search.Filter)
			}
			buf = pdu
		}
	})
}
