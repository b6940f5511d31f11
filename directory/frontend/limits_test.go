package frontend

import (
	"context"
	"errors"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory"
)

func limitsFrontend(t *testing.T, rules ...LimitRule) string {
	t.Helper()
	f := newFrontend(t)
	attrs := []directory.Attr{
		{Name: "objectClass", Values: [][]byte{[]byte("groupOfNames")}},
		{Name: "cn", Values: [][]byte{[]byte("staff")}},
		{Name: "member", Values: [][]byte{[]byte("cn=inner,dc=example,dc=com")}},
	}
	if err := errOf(f.engine.Add(context.Background(), "cn=staff,dc=example,dc=com", attrs, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	attrs = []directory.Attr{ // nested: p02 is in staff through inner
		{Name: "objectClass", Values: [][]byte{[]byte("groupOfNames")}},
		{Name: "cn", Values: [][]byte{[]byte("inner")}},
		{Name: "member", Values: [][]byte{[]byte("uid=p02,ou=people,dc=example,dc=com")}},
	}
	if err := errOf(f.engine.Add(context.Background(), "cn=inner,dc=example,dc=com", attrs, directory.WriteOptions{})); err != nil {
		t.Fatal(err)
	}
	l, err := NewLimits(f.schema.NormalizeDNString, rules)
	if err != nil {
		t.Fatal(err)
	}
	f.cfg.Limits = l
	return serveFrontend(t, f)
}

// searchAs binds (unless dn is "") and searches the whole tree for every
// entry, returning the entries received and the result code.
func searchAs(t *testing.T, addr, dn, pw string) (int, uint16) {
	t.Helper()
	c := dialFrom(t, addr, "")
	if dn != "" {
		if err := c.Bind(dn, pw); err != nil {
			t.Fatalf("bind %s: %v", dn, err)
		}
	}
	res, err := c.Search(goldap.NewSearchRequest("dc=example,dc=com", goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	n := 0
	if res != nil {
		n = len(res.Entries)
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return n, le.ResultCode
	}
	if err != nil {
		t.Fatalf("search as %q: %v", dn, err)
	}
	return n, 0
}

// First matching rule wins: by DN, by (nested) group membership, for
// every user, for anonymous; the root DN stays unlimited unless a rule
// names it; lookthrough ends a search with adminLimitExceeded after the
// entries found so far.
func TestLimitsByIdentity(t *testing.T) {
	const (
		p01 = "uid=p01,ou=people,dc=example,dc=com"
		p02 = "uid=p02,ou=people,dc=example,dc=com"
		p03 = "uid=p03,ou=people,dc=example,dc=com"
	)
	addr := limitsFrontend(t,
		LimitRule{DN: "UID=p01, ou=people,dc=example,dc=com", Size: 5},
		LimitRule{Group: "cn=staff,dc=example,dc=com", Size: -1, Lookthrough: 10},
		LimitRule{Who: "users", Size: 3},
		LimitRule{Who: "anonymous", Size: 2},
	)
	const all = 49 // suffix, ou=people, 45 people, 2 groups
	cases := []struct {
		who, dn, pw string
		n           int
		code        uint16
	}{
		{"root (no rule names it)", root, "secret", all, 0},
		{"p01 by DN", p01, "pwp01", 5, goldap.LDAPResultSizeLimitExceeded},
		{"p02 by nested group: lookthrough", p02, "pwp02", 10, goldap.LDAPResultAdminLimitExceeded},
		{"p03 as a user", p03, "pwp03", 3, goldap.LDAPResultSizeLimitExceeded},
		{"anonymous", "", "", 2, goldap.LDAPResultSizeLimitExceeded},
	}
	for _, c := range cases {
		n, code := searchAs(t, addr, c.dn, c.pw)
		if n != c.n || code != c.code {
			t.Errorf("%s: %d entries, code %d; want %d entries, code %d", c.who, n, code, c.n, c.code)
		}
	}

	// A rule naming the root DN limits it; without rules the defaults
	// (size 20 in newFrontend) apply to all but the root DN.
	addr = limitsFrontend(t, LimitRule{DN: root, Size: 4, Time: time.Second})
	if n, code := searchAs(t, addr, root, "secret"); n != 4 || code != goldap.LDAPResultSizeLimitExceeded {
		t.Errorf("root with a rule: %d entries, code %d; want 4, 4", n, code)
	}
	if n, code := searchAs(t, addr, p03, "pwp03"); n != 20 || code != goldap.LDAPResultSizeLimitExceeded {
		t.Errorf("p03 with no rule: %d entries, code %d; want the default 20, 4", n, code)
	}
}

func TestNewLimitsRefusesBadRules(t *testing.T) {
	f := newFrontend(t)
	for _, r := range []LimitRule{
		{},
		{DN: root, Who: "users"},
		{Who: "everybody"},
		{DN: "not a dn"},
		{Group: "cn=,,"},
	} {
		if _, err := NewLimits(f.schema.NormalizeDNString, []LimitRule{r}); err == nil {
			t.Errorf("rule %+v accepted", r)
		}
	}
}
