package ldap

import "testing"

func TestInScopeNDN(t *testing.T) {
	const base = "ou=people,dc=example,dc=com"
	tests := []struct {
		ndn                     string
		baseObj, one, sub, kids bool
	}{
		{base, true, false, true, false},
		{"uid=a," + base, false, true, true, true},
		{"cn=x,uid=a," + base, false, false, true, true},
		{"dc=example,dc=com", false, false, false, false},
		{"", false, false, false, false},
		// An escaped comma joins nothing: one RDN whose value ends in ",ou=people...".
		{`cn=a\,` + base, false, false, false, false},
		// An escaped backslash before the comma leaves the comma unescaped.
		{`cn=a\\,` + base, false, true, true, true},
		{`cn=a\\\,` + base, false, false, false, false},
		// A sibling whose last RDN merely ends like the base.
		{"uid=a,xou=people,dc=example,dc=com", false, false, false, false},
		{"ou=people,dc=example,dc=comx", false, false, false, false},
		// Multi-valued RDN below the base.
		{"cn=a+sn=b," + base, false, true, true, true},
		{"cn=a+sn=b\\,ou=x," + base, false, true, true, true},
	}
	for _, tc := range tests {
		for _, c := range []struct {
			s    Scope
			want bool
		}{{ScopeBaseObject, tc.baseObj}, {ScopeSingleLevel, tc.one}, {ScopeWholeSubtree, tc.sub}, {ScopeChildren, tc.kids}, {Scope(7), false}} {
			if got := InScopeNDN(tc.ndn, base, c.s); got != c.want {
				t.Errorf("InScopeNDN(%q, base, %d) = %v; want %v", tc.ndn, c.s, got, c.want)
			}
		}
	}
	// The root DSE as base: everything is below it.
	if !InScopeNDN("dc=com", "", ScopeWholeSubtree) || !InScopeNDN("dc=com", "", ScopeSingleLevel) || InScopeNDN("dc=a,dc=com", "", ScopeSingleLevel) || InScopeNDN("", "", ScopeChildren) {
		t.Error("scopes around the root DSE")
	}
}

func TestParentNDN(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "dc=com": "", "ou=a,dc=com": "dc=com", `cn=a\,b,dc=com`: "dc=com", `cn=a\\,dc=com`: "dc=com", `cn=a\,b`: "",
	} {
		if got := ParentNDN(in); got != want {
			t.Errorf("ParentNDN(%q) = %q; want %q", in, got, want)
		}
	}
}
