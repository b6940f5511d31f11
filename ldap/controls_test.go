package ldap

import (
	"bytes"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

func TestPagedResults(t *testing.T) {
	// go-ldap's paging control value decodes.
	c := goldap.NewControlPaging(500)
	c.SetCookie([]byte("cookie\x00\xff"))
	p := c.Encode()
	value := p.Children[1].Data.Bytes()
	size, cookie, err := DecodePagedResults(value)
	if err != nil || size != 500 || string(cookie) != "cookie\x00\xff" {
		t.Errorf("DecodePagedResults = %d %q %v", size, cookie, err)
	}
	// Ours round-trips and parses with asn1-ber.
	for _, tc := range []struct {
		size   int
		cookie []byte
	}{{0, nil}, {1, []byte{}}, {maxInt, bytes.Repeat([]byte{7}, 300)}} {
		v := AppendPagedResults(nil, tc.size, tc.cookie)
		s, ck, err := DecodePagedResults(v)
		if err != nil || s != tc.size || !bytes.Equal(ck, tc.cookie) {
			t.Errorf("round trip %d: %d %v", tc.size, s, err)
		}
		bp, err := ber.DecodePacketErr(v)
		if err != nil || bp.Children[0].Value.(int64) != int64(tc.size) || bp.Children[1].Data.Len() != len(tc.cookie) {
			t.Errorf("asn1-ber: %v", err)
		}
	}
	for name, v := range map[string][]byte{
		"empty":          nil,
		"negative size":  {0x30, 0x05, 0x02, 0x01, 0xff, 0x04, 0x00},
		"no cookie":      {0x30, 0x03, 0x02, 0x01, 0x05},
		"trailing":       {0x30, 0x05, 0x02, 0x01, 0x05, 0x04, 0x00, 0x00},
		"wrong tag":      {0x31, 0x05, 0x02, 0x01, 0x05, 0x04, 0x00},
		"cookie overrun": {0x30, 0x05, 0x02, 0x01, 0x05, 0x04, 0x09},
		"5-byte size":    {0x30, 0x09, 0x02, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff, 0x04, 0x00},
	} {
		if _, _, err := DecodePagedResults(v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPasswordModify(t *testing.T) {
	pm, err := DecodePasswordModify(nil)
	if err != nil || pm.HasUser || pm.HasOld || pm.HasNew {
		t.Errorf("absent value: %+v %v", pm, err)
	}
	pm, err = DecodePasswordModify([]byte{0x30, 0x00})
	if err != nil || pm.HasUser || pm.HasOld || pm.HasNew {
		t.Errorf("empty sequence: %+v %v", pm, err)
	}
	v := []byte{0x30, 0x0b, 0x80, 0x01, 'u', 0x81, 0x01, 'o', 0x82, 0x03, 'n', 'e', 'w'}
	pm, err = DecodePasswordModify(v)
	if err != nil || string(pm.UserIdentity) != "u" || string(pm.OldPassword) != "o" || string(pm.NewPassword) != "new" || !pm.HasUser || !pm.HasOld || !pm.HasNew {
		t.Errorf("full: %+v %v", pm, err)
	}
	pm, err = DecodePasswordModify([]byte{0x30, 0x02, 0x82, 0x00})
	if err != nil || pm.HasUser || pm.HasOld || !pm.HasNew || pm.NewPassword == nil {
		t.Errorf("new only (empty): %+v %v", pm, err)
	}
	for name, v := range map[string][]byte{
		"out of order": {0x30, 0x06, 0x81, 0x01, 'o', 0x80, 0x01, 'u'},
		"repeated":     {0x30, 0x06, 0x80, 0x01, 'o', 0x80, 0x01, 'u'},
		"unknown tag":  {0x30, 0x03, 0x83, 0x01, 'x'},
		"not sequence": {0x04, 0x00},
		"overrun":      {0x30, 0x03, 0x80, 0x05, 'x'},
		"constructed":  {0x30, 0x02, 0xa0, 0x00},
	} {
		if _, err := DecodePasswordModify(v); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if got := AppendPasswordModifyResponse(nil, []byte("pw")); !bytes.Equal(got, []byte{0x30, 0x04, 0x80, 0x02, 'p', 'w'}) {
		t.Errorf("response % x", got)
	}
	if got := AppendPasswordModifyResponse(nil, nil); !bytes.Equal(got, []byte{0x30, 0x00}) {
		t.Errorf("empty response % x", got)
	}
}
