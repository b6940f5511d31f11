package change

import (
	"strings"
	"testing"
)

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
	// A partner's view version survives a round trip; alone, too.
	c, err = ParseCookie("rid=004,csn=20250101120000.000001Z#000000#001#000000,view=0a1b2c3d4e5f")
	if err != nil || c.View != "0a1b2c3d4e5f" || c.String() != "rid=004,csn=20250101120000.000001Z#000000#001#000000,view=0a1b2c3d4e5f" {
		t.Errorf("view: %+v %q %v", c, c.String(), err)
	}
	if c := (Cookie{RID: -1, SID: -1, View: "abc"}); c.String() != "view=abc" {
		t.Errorf("view alone: %q", c.String())
	}
	for _, bad := range []string{"rid=1000", "rid", "csn=x", "sid=1000", "rid=001,csn=20250101120000.000001Z#000000#001",
		"rid=001,view=", "rid=001,view=a;b", "view=" + strings.Repeat("a", 65)} {
		if _, err := ParseCookie(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseCookie(f *testing.F) {
	f.Add("rid=001,sid=002,csn=20250101120000.000001Z#000000#001#000000")
	f.Add("rid=123,csn=20250101120000.000001Z#000000#001#000000;20250101120000.000002Z#000000#002#000000,delcsn=x")
	f.Add("")
	f.Add("rid=001,csn=20250101120000.000001Z#000000#001#000000,view=0a1b2c3d4e5f")
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
