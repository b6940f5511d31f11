package change

import "testing"

func TestCookie(t *testing.T) {
	c, err := ParseCookie("rid=001,sid=002,csn=20250101120000.000001Z#000000#001#000000;20250101120000.000002Z#000000#002#000000")
	if err != nil || c.RID != 1 || c.SID != 2 || len(c.CSNs) != 2 {
		t.Fatalf("%+v %v", c, err)
	}
	if got := c.String(); got != "rid=001,sid=002,csn=20250101120000.000001Z#000000#001#000000;20250101120000.000002Z#000000#002#000000" {
		t.Errorf("String %q", got)
	}
	if c, err := ParseCookie(""); err != nil || c.RID != -1 || len(c.CSNs) != 0 {
		t.Errorf("empty cookie: %+v %v", c, err)
	}
	for _, bad := range []string{"rid=1000", "rid", "csn=x", "sid=1000", "rid=001,csn=20250101120000.000001Z#000000#001"} {
		if _, err := ParseCookie(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseCookie(f *testing.F) {
	f.Add("rid=001,sid=002,csn=20250101120000.000001Z#000000#001#000000")
	f.Add("rid=123,csn=20250101120000.000001Z#000000#001#000000;20250101120000.000002Z#000000#002#000000,delcsn=x")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCookie(s)
		if err != nil {
			return
		}
		c2, err := ParseCookie(c.String())
		if err != nil || c2.String() != c.String() {
			t.Fatalf("%q -> %q does not round-trip: %v", s, c.String(), err)
		}
	})
}
