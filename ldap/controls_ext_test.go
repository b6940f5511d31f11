package ldap

import (
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
)

func TestAppendEntryValueParses(t *testing.T) {
	e := &Entry{DN: "uid=a,dc=example,dc=com", Attributes: []Attribute{{Name: "cn", Values: [][]byte{[]byte("A"), []byte("B")}}, {Name: "sn", Values: [][]byte{[]byte("x")}}}}
	b := AppendEntryValue(nil, e)
	p, err := ber.DecodePacketErr(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.ClassType != ber.ClassApplication || p.Tag != 4 || len(p.Children) != 2 || p.Children[0].Value != e.DN {
		t.Fatalf("bad SearchResultEntry: %v %v %d", p.ClassType, p.Tag, len(p.Children))
	}
	attrs := p.Children[1].Children
	if len(attrs) != 2 || attrs[0].Children[0].Value != "cn" || len(attrs[0].Children[1].Children) != 2 || attrs[1].Children[1].Children[0].Value != "x" {
		t.Fatalf("attributes: %+v", attrs)
	}
}

func TestControlDecoders(t *testing.T) {
	f, err := ParseFilter("(&(cn=a*)(!(sn=b)))")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeFilter(AppendFilter(nil, f))
	if err != nil || got.String() != f.String() {
		t.Fatalf("DecodeFilter: %v %v", got, err)
	}
	if _, err := DecodeFilter(append(AppendFilter(nil, f), 0)); err == nil {
		t.Error("trailing data accepted")
	}
	keys, err := DecodeSortKeys([]byte{0x30, 0x0b, 0x30, 0x09, 0x04, 0x02, 's', 'n', 0x80, 0x00 + 0, 0x81, 0x01, 0xff})
	if err != nil || len(keys) != 1 || string(keys[0].Attr) != "sn" || !keys[0].Reverse {
		// an empty ordering rule is refused
		if err == nil {
			t.Errorf("empty orderingRule accepted: %+v", keys)
		}
	}
	keys, err = DecodeSortKeys([]byte{0x30, 0x09, 0x30, 0x07, 0x04, 0x02, 's', 'n', 0x81, 0x01, 0xff})
	if err != nil || len(keys) != 1 || string(keys[0].Attr) != "sn" || !keys[0].Reverse || keys[0].OrderingRule != nil {
		t.Errorf("sort keys: %+v %v", keys, err)
	}
	v, err := DecodeVLVRequest([]byte{0x30, 0x0e, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0xa0, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x00})
	if err != nil || v.BeforeCount != 1 || v.AfterCount != 2 || !v.ByOffset || v.Offset != 5 {
		t.Errorf("vlv: %+v %v", v, err)
	}
	vals, err := DecodeValuesReturnFilter(append([]byte{0x30, 0x04}, AppendFilter(nil, &Filter{Kind: FilterPresent, Attr: []byte("cn")})...))
	if err != nil || len(vals) != 1 || string(vals[0].Attr) != "cn" {
		t.Errorf("values return filter: %+v %v", vals, err)
	}
	r := AppendVLVResponse(nil, 3, 10, 0, nil)
	if p, err := ber.DecodePacketErr(r); err != nil || len(p.Children) != 3 {
		t.Errorf("vlv response: %v", err)
	}
}

func FuzzDecodeControlValues(f *testing.F) {
	f.Add([]byte{0x30, 0x09, 0x30, 0x07, 0x04, 0x02, 's', 'n', 0x81, 0x01, 0xff})
	f.Add([]byte{0x30, 0x0e, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02, 0xa0, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x00})
	f.Add([]byte{0x30, 0x04, 0x87, 0x02, 'c', 'n'})
	f.Add([]byte{0x30, 0x04, 0x04, 0x02, 'c', 'n'})
	f.Add([]byte{0xa3, 0x06, 0x04, 0x01, 'a', 0x04, 0x01, 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		if flt, err := DecodeFilter(b); err == nil {
			if _, err := DecodeFilter(AppendFilter(nil, flt)); err != nil {
				t.Fatalf("re-encoded filter does not decode: %v", err)
			}
		}
		DecodeSortKeys(b)
		DecodeVLVRequest(b)
		DecodeAttributeSelection(b)
		DecodeValuesReturnFilter(b)
	})
}
