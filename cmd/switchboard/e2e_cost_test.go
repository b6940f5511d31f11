package main

// End-to-end tests of the search cost budget (limits.filter_work,
// limits.chain_depth): costly filters by an ordinary user end with
// adminLimitExceeded once they have spent the budget, with the units spent
// in the diagnostic; the root DN is exempt.

import (
	"errors"
	"regexp"
	"strconv"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// spentUnits runs filter from the suffix and returns the work units the
// server reports in an adminLimitExceeded diagnostic (-1 if none) and the
// entries found.
func spentUnits(t *testing.T, c *goldap.Conn, filter string) (int, int, error) {
	t.Helper()
	res, err := c.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, filter, "1.1"))
	n := 0
	if res != nil {
		n = len(res.Entries)
	}
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode == goldap.LDAPResultAdminLimitExceeded {
		if m := regexp.MustCompile(`(\d+) work units spent`).FindStringSubmatch(le.Err.Error()); m != nil {
			spent, _ := strconv.Atoi(m[1])
			return spent, n, err
		}
	}
	return -1, n, err
}

func TestSearchCostBudgetE2E(t *testing.T) {
	const budget = 1000
	s := startServer(t, "", "--demo", "--limits.filter-work="+strconv.Itoa(budget), "--limits.chain-depth=2")
	user := sortUser(t, s)
	root := dialRoot(t, s)
	const me = "uid=sorter," + peopleDN

	for _, tc := range []struct {
		name, filter string
		slack        int // the largest single charge: one value, or one group read
	}{
		// Every DN-valued value of every entry (the groups' members,
		// the people's managers) and every RDN value of every DN is
		// tested.
		{"extensible :dn: with distinguishedNameMatch", "(:dn:2.5.13.1:=uid=jmuller," + peopleDN + ")", 1},
		{"extensible :dn: on cn", "(cn:dn:=nobody)", 1},
		// hasSubordinates and memberOf are computed for every entry
		// of the scan: children counted, groups read.
		// (The largest group, cn=staff, has 300 members; ou=people 300
		// children.)
		{"computed hasSubordinates", "(hasSubordinates=TRUE)", 400},
		{"computed memberOf", "(!(memberOf=cn=nobody," + testSuffix + "))", 400},
	} {
		spent, _, err := spentUnits(t, user, tc.filter)
		wantCode(t, tc.name+", ordinary user", err, goldap.LDAPResultAdminLimitExceeded)
		if spent <= budget || spent > budget+tc.slack {
			t.Errorf("%s: stopped after %d work units, want just past %d (%v)", tc.name, spent, budget, err)
		}
		if _, n, err := spentUnits(t, root, tc.filter); err != nil || n == 0 && tc.filter != "(cn:dn:=nobody)" {
			t.Errorf("%s as the root DN: %v, %d entries", tc.name, err, n)
		}
	}

	// In-chain through a cycle of groups: a contains c, b contains a, a
	// contains b; the user is in c.
	g := func(name string) string { return "cn=" + name + "," + testSuffix }
	for _, gr := range [][2]string{{"c", me}, {"a", g("c")}, {"b", g("a")}} {
		add := goldap.NewAddRequest(g(gr[0]), nil)
		add.Attribute("objectClass", []string{"groupOfNames"})
		add.Attribute("cn", []string{gr[0]})
		add.Attribute("member", []string{gr[1]})
		if err := root.Add(add); err != nil {
			t.Fatal(err)
		}
	}
	mod := goldap.NewModifyRequest(g("a"), nil)
	mod.Add("member", []string{g("b")})
	if err := root.Modify(mod); err != nil {
		t.Fatal(err)
	}
	inChain := func(c *goldap.Conn, target string) (map[string]bool, error) {
		res, err := c.Search(searchReq(testSuffix, goldap.ScopeWholeSubtree, "(member:1.2.840.113556.1.4.1941:="+target+")", "1.1"))
		got := map[string]bool{}
		if res != nil {
			for _, e := range res.Entries {
				got[canonDN(e.DN)] = true
			}
		}
		return got, err
	}
	// The root DN, unlimited: c, a, b, each once, and the walk ends.
	got, err := inChain(root, me)
	if err != nil || len(got) != 3 || !got[canonDN(g("a"))] || !got[canonDN(g("b"))] || !got[canonDN(g("c"))] {
		t.Errorf("in-chain through a cycle as root: %v, %v", err, got)
	}
	// The user: c is level 1, a level 2, b level 3, beyond chain_depth.
	_, err = inChain(user, me)
	wantCode(t, "in-chain three levels deep, chain_depth 2", err, goldap.LDAPResultAdminLimitExceeded)
	// From c: a (1), b (2), and a again through the cycle: within it.
	got, err = inChain(user, g("c"))
	if err != nil || len(got) != 2 {
		t.Errorf("in-chain two levels deep through a cycle: %v, %v", err, got)
	}
}
