package ldap

import (
	"bytes"
	"testing"
)

func TestPolicyResponseEncoding(t *testing.T) {
	cases := []struct {
		p    PolicyResponse
		want []byte
	}{
		{PolicyResponse{Warning: PolicyNoWarning, Error: PolicyNoError}, []byte{0x30, 0}},
		{PolicyResponse{Warning: PolicyNoWarning, Error: PolicyAccountLocked}, []byte{0x30, 3, 0x81, 1, 1}},
		{PolicyResponse{Warning: PolicyGraceAuthNsRemaining, Value: 2, Error: PolicyNoError}, []byte{0x30, 5, 0xa0, 3, 0x81, 1, 2}},
		{PolicyResponse{Warning: PolicyTimeBeforeExpiration, Value: 300, Error: PolicyChangeAfterReset},
			[]byte{0x30, 9, 0xa0, 4, 0x80, 2, 0x01, 0x2c, 0x81, 1, 2}},
	}
	for _, c := range cases {
		got := AppendPolicyResponse(nil, c.p)
		if !bytes.Equal(got, c.want) {
			t.Errorf("%+v: got % x, want % x", c.p, got, c.want)
		}
		back, err := DecodePolicyResponse(got)
		if err != nil || back != c.p {
			t.Errorf("%+v: decoded %+v, %v", c.p, back, err)
		}
	}
	for _, bad := range [][]byte{nil, {0x30}, {0x30, 3, 0x81, 1, 9}, {0x30, 2, 0xa0, 0}, {0x30, 3, 0x82, 1, 1},
		{0x30, 5, 0xa0, 3, 0x82, 1, 2}, {0x30, 0, 0}, {0x30, 6, 0x81, 1, 1, 0x81, 1, 1}} {
		if p, err := DecodePolicyResponse(bad); err == nil {
			t.Errorf("% x decoded as %+v", bad, p)
		}
	}
}

func FuzzPolicyResponse(f *testing.F) {
	f.Add([]byte{0x30, 9, 0xa0, 4, 0x80, 2, 0x01, 0x2c, 0x81, 1, 2})
	f.Add([]byte{0x30, 3, 0x81, 1, 1})
	f.Add([]byte{0x30, 0})
	f.Fuzz(func(t *testing.T, v []byte) {
		p, err := DecodePolicyResponse(v)
		if err != nil {
			return
		}
		back, err := DecodePolicyResponse(AppendPolicyResponse(nil, p))
		if err != nil || back != p {
			t.Fatalf("% x: %+v re-encoded decodes as %+v, %v", v, p, back, err)
		}
	})
}
