package ldap

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
)

func mustDecodePacket(t *testing.T, b []byte) *ber.Packet {
	t.Helper()
	p, err := ber.DecodePacketErr(b)
	if err != nil {
		t.Fatalf("asn1-ber cannot decode % x: %v", b, err)
	}
	if len(p.Bytes()) != len(b) {
		t.Fatalf("asn1-ber consumed %d of %d bytes", len(p.Bytes()), len(b))
	}
	return p
}

func checkTag(t *testing.T, p *ber.Packet, class ber.Class, typ ber.Type, tag ber.Tag) {
	t.Helper()
	if p.ClassType != class || p.TagType != typ || p.Tag != tag {
		t.Fatalf("element %v/%v/%v, want %v/%v/%v", p.ClassType, p.TagType, p.Tag, class, typ, tag)
	}
}

func TestDocExample(t *testing.T) {
	// The bytes shown in doc.go.
	bind, _ := hex.DecodeString("301a020101601502010304" + "08" + hex.EncodeToString([]byte("cn=admin")) + "8006" + hex.EncodeToString([]byte("secret")))
	if len(bind) != 28 {
		t.Fatalf("example is %d bytes", len(bind))
	}
	var req Request
	if err := DecodeRequest(bind, &req); err != nil {
		t.Fatal(err)
	}
	if req.MessageID != 1 || req.Bind.Version != 3 || string(req.Bind.Name) != "cn=admin" || string(req.Bind.Password) != "secret" {
		t.Errorf("decoded %+v", req.Bind)
	}
	got := AppendResult(nil, 1, OpBindResponse, &Result{})
	if want := "300c02010161070a010004000400"; hex.EncodeToString(got) != want {
		t.Errorf("bind response % x, want %s", got, want)
	}
}

func TestAppendResultStructure(t *testing.T) {
	res := &Result{
		Code:        Referral,
		MatchedDN:   "dc=example,dc=com",
		Diagnostic:  strings.Repeat("m", 200), // long form length
		Referral:    []string{"ldap://a.example.com/", "ldap://b.example.com/"},
		ServerCreds: []byte("creds"),
		Controls: []ResponseControl{
			{OID: "1.2.3", Critical: true, Value: []byte("v")},
			{OID: "1.2.4"},
		},
	}
	b := AppendResult(nil, 1000, OpBindResponse, res)
	p := mustDecodePacket(t, b)
	checkTag(t, p, ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence)
	if len(p.Children) != 3 || p.Children[0].Value.(int64) != 1000 {
		t.Fatalf("envelope has %d children", len(p.Children))
	}
	op := p.Children[1]
	checkTag(t, op, ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpBindResponse))
	if len(op.Children) != 5 {
		t.Fatalf("bind response has %d children", len(op.Children))
	}
	checkTag(t, op.Children[0], ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated)
	if op.Children[0].Value.(int64) != int64(Referral) || op.Children[1].Value.(string) != "dc=example,dc=com" ||
		op.Children[2].Value.(string) != res.Diagnostic {
		t.Errorf("LDAPResult fields wrong")
	}
	ref := op.Children[3]
	checkTag(t, ref, ber.ClassContext, ber.TypeConstructed, 3)
	if len(ref.Children) != 2 || ref.Children[1].Value.(string) != "ldap://b.example.com/" {
		t.Errorf("referral %v", ref.Children)
	}
	checkTag(t, op.Children[4], ber.ClassContext, ber.TypePrimitive, 7)
	if op.Children[4].Data.String() != "creds" {
		t.Errorf("serverSaslCreds %q", op.Children[4].Data.String())
	}
	ctrls := p.Children[2]
	checkTag(t, ctrls, ber.ClassContext, ber.TypeConstructed, 0)
	if len(ctrls.Children) != 2 {
		t.Fatalf("%d controls", len(ctrls.Children))
	}
	c0 := ctrls.Children[0]
	if len(c0.Children) != 3 || c0.Children[0].Value.(string) != "1.2.3" || c0.Children[1].Value.(bool) != true ||
		c0.Children[1].Data.Bytes()[0] != 0xff || c0.Children[2].Value.(string) != "v" {
		t.Errorf("control 0 = %v", c0.Children)
	}
	if c1 := ctrls.Children[1]; len(c1.Children) != 1 {
		t.Errorf("control 1 has %d children", len(c1.Children))
	}

	// Extended response with name and value, no controls.
	b = AppendResult(nil, 5, OpExtendedResponse, &Result{ResponseName: OIDStartTLS, ResponseValue: []byte{}})
	p = mustDecodePacket(t, b)
	if len(p.Children) != 2 {
		t.Fatalf("children %d", len(p.Children))
	}
	op = p.Children[1]
	checkTag(t, op, ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpExtendedResponse))
	if len(op.Children) != 5 {
		t.Fatalf("extended response has %d children", len(op.Children))
	}
	checkTag(t, op.Children[3], ber.ClassContext, ber.TypePrimitive, 10)
	checkTag(t, op.Children[4], ber.ClassContext, ber.TypePrimitive, 11)
	if op.Children[3].Data.String() != OIDStartTLS || op.Children[4].Data.Len() != 0 {
		t.Errorf("extended fields wrong")
	}

	// Every result op gets its own application tag; large message IDs.
	for _, o := range []Op{OpSearchResultDone, OpModifyResponse, OpAddResponse, OpDelResponse, OpModifyDNResponse, OpCompareResponse} {
		b := AppendResult(nil, 1<<31-1, o, &Result{Code: Busy})
		p := mustDecodePacket(t, b)
		checkTag(t, p.Children[1], ber.ClassApplication, ber.TypeConstructed, ber.Tag(o))
		if p.Children[0].Value.(int64) != 1<<31-1 || len(p.Children[1].Children) != 3 {
			t.Errorf("%v: %v", o, p.Children[1].Children)
		}
	}
}

func TestAppendNoticeOfDisconnection(t *testing.T) {
	b := AppendNoticeOfDisconnection(nil, ProtocolError, "bad PDU")
	p := mustDecodePacket(t, b)
	if p.Children[0].Value.(int64) != 0 {
		t.Errorf("message ID %v", p.Children[0].Value)
	}
	op := p.Children[1]
	checkTag(t, op, ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpExtendedResponse))
	if op.Children[0].Value.(int64) != int64(ProtocolError) || op.Children[2].Value.(string) != "bad PDU" ||
		op.Children[3].Data.String() != OIDNoticeOfDisconnection || len(op.Children) != 4 {
		t.Errorf("notice = %v", op.Children)
	}
}

func TestAppendEntryStructure(t *testing.T) {
	e := benchEntry()
	for _, typesOnly := range []bool{false, true} {
		b := AppendEntry(nil, 7, e, typesOnly, []ResponseControl{{OID: "1.2.3.4"}})
		p := mustDecodePacket(t, b)
		if len(p.Children) != 3 {
			t.Fatalf("envelope children %d", len(p.Children))
		}
		op := p.Children[1]
		checkTag(t, op, ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpSearchResultEntry))
		if op.Children[0].Value.(string) != e.DN {
			t.Errorf("DN %v", op.Children[0].Value)
		}
		attrs := op.Children[1].Children
		if len(attrs) != len(e.Attributes) {
			t.Fatalf("%d attributes", len(attrs))
		}
		for i, a := range attrs {
			want := e.Attributes[i]
			if a.Children[0].Value.(string) != want.Name {
				t.Errorf("type %v, want %s", a.Children[0].Value, want.Name)
			}
			vals := a.Children[1]
			checkTag(t, vals, ber.ClassUniversal, ber.TypeConstructed, ber.TagSet)
			if typesOnly {
				if len(vals.Children) != 0 {
					t.Errorf("typesOnly attribute %s has values", want.Name)
				}
				continue
			}
			if len(vals.Children) != len(want.Values) {
				t.Fatalf("%s: %d values", want.Name, len(vals.Children))
			}
			for j, v := range vals.Children {
				if !bytes.Equal(v.Data.Bytes(), want.Values[j]) {
					t.Errorf("%s[%d] = %q", want.Name, j, v.Data.Bytes())
				}
			}
		}
	}
	// A large entry (lengths needing 3 octets) still parses, and ReadPDU
	// reads it back whole.
	big := &Entry{DN: "cn=big", Attributes: []Attribute{{Name: "jpegPhoto", Values: [][]byte{bytes.Repeat([]byte{0xab}, 70000)}}}}
	b := AppendEntry(nil, 1, big, false, nil)
	p := mustDecodePacket(t, b)
	if got := p.Children[1].Children[1].Children[0].Children[1].Children[0].Data.Len(); got != 70000 {
		t.Errorf("value length %d", got)
	}
	pdu, err := ReadPDU(bufio.NewReader(bytes.NewReader(b)), nil, 1<<20)
	if err != nil || !bytes.Equal(pdu, b) {
		t.Errorf("ReadPDU: %v", err)
	}
}

func TestAppendReferenceAndIntermediate(t *testing.T) {
	b := AppendReference(nil, 3, []string{"ldap://x/", "ldap://y/"}, nil)
	p := mustDecodePacket(t, b)
	op := p.Children[1]
	checkTag(t, op, ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpSearchResultReference))
	if len(op.Children) != 2 || op.Children[1].Value.(string) != "ldap://y/" {
		t.Errorf("reference %v", op.Children)
	}
	b = AppendIntermediate(nil, 4, "1.2.3", []byte{1, 2}, []ResponseControl{{OID: "9.9", Value: []byte{}}})
	p = mustDecodePacket(t, b)
	op = p.Children[1]
	checkTag(t, op, ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpIntermediateResponse))
	if len(op.Children) != 2 || op.Children[0].Data.String() != "1.2.3" || !bytes.Equal(op.Children[1].Data.Bytes(), []byte{1, 2}) {
		t.Errorf("intermediate %v", op.Children)
	}
	checkTag(t, op.Children[1], ber.ClassContext, ber.TypePrimitive, 1)
	if c := p.Children[2].Children[0]; len(c.Children) != 2 || c.Children[1].Data.Len() != 0 {
		t.Errorf("empty-valued control %v", c.Children)
	}
	b = AppendIntermediate(nil, 4, "", nil, nil)
	if want := []byte{0x30, 0x05, 0x02, 0x01, 0x04, 0x79, 0x00}; !bytes.Equal(b, want) {
		t.Errorf("empty intermediate % x", b)
	}
}

func TestAppendAppends(t *testing.T) {
	prefix := []byte("prefix")
	b := AppendResult(append([]byte(nil), prefix...), 1, OpDelResponse, &Result{})
	if !bytes.HasPrefix(b, prefix) {
		t.Fatal("prefix clobbered")
	}
	mustDecodePacket(t, b[len(prefix):])
}

func TestIntEncoding(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 32767, 32768, 1<<23 - 1, 1 << 23, 1<<31 - 1, -1, -128, -129} {
		b := appendInt(nil, tagInteger, v)
		p := mustDecodePacket(t, b)
		if p.Value.(int64) != v {
			t.Errorf("%d encoded as % x", v, b)
		}
		if len(b) > 2 {
			got, err := parseInt(b[2:])
			if err != nil || got != v {
				t.Errorf("parseInt(% x) = %d, %v", b[2:], got, err)
			}
		}
	}
	for _, n := range []int{0, 127, 128, 255, 256, 65535, 65536, 1 << 24} {
		b := appendHeader(nil, 0x04, n)
		if len(b) != 1+lenSize(n) {
			t.Errorf("header for %d: % x", n, b)
		}
	}
}
