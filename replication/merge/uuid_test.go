package merge

import "testing"

func TestUUIDText(t *testing.T) {
	const s = "6f1c3a7e-2b1d-4c3e-9f00-0123456789ab"
	u, err := ParseUUID(s)
	if err != nil || u.String() != s {
		t.Fatalf("%s: %v %s", s, err, u)
	}
	if u2, err := ParseUUID("6F1C3A7E-2B1D-4C3E-9F00-0123456789AB"); err != nil || u2 != u {
		t.Fatal("upper case not parsed")
	}
	for _, bad := range []string{"", "6f1c3a7e2b1d4c3e9f000123456789ab", "6f1c3a7e-2b1d-4c3e-9f00-0123456789ag", "6f1c3a7e-2b1d-4c3e-9f00+0123456789ab"} {
		if _, err := ParseUUID(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseUUID: parsing never panics and round-trips through the text form.
func FuzzParseUUID(f *testing.F) {
	f.Add("6f1c3a7e-2b1d-4c3e-9f00-0123456789ab")
	f.Add("------------------------------------")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUUID(s)
		if err != nil {
			return
		}
		if u2, err := ParseUUID(u.String()); err != nil || u2 != u {
			t.Fatalf("%q does not round-trip", s)
		}
	})
}
