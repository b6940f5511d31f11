package directory

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// costSearch runs filter from the suffix with the cost limits lim and
// returns the DNs found, the units spent and the error.
func costSearch(t *testing.T, e *Engine, filter string, lim CostLimits) ([]string, int64, error) {
	t.Helper()
	f, err := ldap.ParseFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	cost := &SearchCost{Limits: lim}
	var dns []string
	err = e.Search(context.Background(), &SearchRequest{BaseDN: "dc=example,dc=com", Scope: ldap.ScopeWholeSubtree, Filter: f, Cost: cost},
		func(en *Entry) error { dns = append(dns, en.DN); return nil })
	slices.Sort(dns)
	return dns, cost.Work, err
}

// addBigGroup adds n people and a group "big" listing all of them.
func addBigGroup(t *testing.T, e *Engine, n int) {
	t.Helper()
	ctx := context.Background()
	members := []string{"objectClass", "groupOfNames", "cn", "big", "member"}
	for i := range n {
		uid := fmt.Sprintf("u%04d", i)
		must(t, errOf(e.Add(ctx, "uid="+uid+",ou=people,dc=example,dc=com", person(uid, uid, "S"), WriteOptions{})))
		members = append(members, "uid="+uid+",ou=people,dc=example,dc=com")
	}
	must(t, errOf(e.Add(ctx, "cn=big,dc=example,dc=com", attrs(members...), WriteOptions{})))
}

// TestCostBudgetStopsCostlyFilters: extensible :dn: matching over a large
// group's values and filters on computed attributes end with
// adminLimitExceeded once they have spent the budget, and the counter
// stops just past it; unlimited, the same searches give their answer.
func TestCostBudgetStopsCostlyFilters(t *testing.T) {
	_, e := openOnDisk(t) // (an in-memory store takes records of 1 KiB at most)
	t.Cleanup(func() { e.Close() })
	addBigGroup(t, e, 400)
	for _, tc := range []struct {
		filter string
		want   []string // unlimited answer
		slack  int64    // the largest single charge
	}{
		// The rule with no type tests every DN-valued attribute (the 400
		// member values of the group) and every RDN value of each DN.
		{"(:dn:2.5.13.1:=uid=u0399,ou=people,dc=example,dc=com)", []string{"cn=big,dc=example,dc=com"}, 1},
		{"(cn:dn:=nobody)", nil, 1},
		// numSubordinates is computed for each candidate: the children
		// of ou=people are counted.
		{"(numSubordinates>=100)", []string{"ou=people,dc=example,dc=com"}, 400},
	} {
		got, spent, err := costSearch(t, e, tc.filter, CostLimits{})
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s unlimited: %v, %v; want %v", tc.filter, err, got, tc.want)
			continue
		}
		limit := spent / 2
		_, stopped, err := costSearch(t, e, tc.filter, CostLimits{Work: limit})
		if code(err) != ldap.AdminLimitExceeded || stopped <= limit || stopped > limit+tc.slack {
			t.Errorf("%s with a budget of %d (unlimited: %d): %v after %d units", tc.filter, limit, spent, err, stopped)
		}
	}
}

// TestInChainCycleAndLimits: groups that contain each other (a cycle)
// are each visited once, and the depth and entry limits end a chain that
// goes beyond them with adminLimitExceeded, never with part of the answer.
func TestInChainCycleAndLimits(t *testing.T) {
	e := openTest(t)
	ctx := context.Background()
	const u = "uid=u,ou=people,dc=example,dc=com"
	must(t, errOf(e.Add(ctx, u, person("u", "u", "U"), WriteOptions{})))
	g := func(name string) string { return "cn=" + name + ",dc=example,dc=com" }
	// u in c; c in a; a in b; b in a (the cycle).
	must(t, errOf(e.Add(ctx, g("c"), attrs("objectClass", "groupOfNames", "cn", "c", "member", u), WriteOptions{})))
	must(t, errOf(e.Add(ctx, g("a"), attrs("objectClass", "groupOfNames", "cn", "a", "member", g("c")), WriteOptions{})))
	must(t, errOf(e.Add(ctx, g("b"), attrs("objectClass", "groupOfNames", "cn", "b", "member", g("a")), WriteOptions{})))
	_, err := e.Modify(ctx, g("a"), []Mod{{Op: change.ModAdd, Attr: Attr{Name: "member", Values: [][]byte{[]byte(g("b"))}}}}, WriteOptions{})
	must(t, err)

	filter := "(member:" + OIDMatchingRuleInChain + ":=" + u + ")"
	got, spent, err := costSearch(t, e, filter, CostLimits{})
	if want := []string{g("a"), g("b"), g("c")}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("in-chain through a cycle: %v, %v; want %v", err, got, want)
	}
	if spent > 20 {
		t.Errorf("in-chain through a cycle spent %d units", spent)
	}
	// c is level 1, a level 2, b level 3.
	if _, _, err := costSearch(t, e, filter, CostLimits{ChainDepth: 3}); err != nil {
		t.Errorf("depth 3: %v", err)
	}
	if got, _, err := costSearch(t, e, filter, CostLimits{ChainDepth: 2}); code(err) != ldap.AdminLimitExceeded || len(got) != 0 {
		t.Errorf("depth 2: %v, %v; want adminLimitExceeded", err, got)
	}
	if got, _, err := costSearch(t, e, filter, CostLimits{ChainEntries: 2}); code(err) != ldap.AdminLimitExceeded || len(got) != 0 {
		t.Errorf("2 entries: %v, %v; want adminLimitExceeded", err, got)
	}
	if got, stopped, err := costSearch(t, e, filter, CostLimits{Work: 2}); code(err) != ldap.AdminLimitExceeded || len(got) != 0 || stopped != 3 {
		t.Errorf("2 units: %v, %v after %d units; want adminLimitExceeded after 3", err, got, stopped)
	}
}

// TestDNRuleSkipsParsingKnownDNs: distinguishedNameMatch takes a value
// that is the normalised DN of a cached entry as it is, without parsing
// it, so (:dn:2.5.13.1:=...) over a group of many members costs a map
// look-up per member instead of a DN parse and normalisation.
func TestDNRuleSkipsParsingKnownDNs(t *testing.T) {
	opt, e := openOnDisk(t)
	addBigGroup(t, e, 3)
	must(t, e.Close())
	e, err := Open(opt) // which fills the DN cache
	must(t, err)
	t.Cleanup(func() { e.Close() })
	rule, _ := e.schema.MatchingRule("distinguishedNameMatch")
	known := []byte("uid=u0001,ou=people,dc=example,dc=com")
	if n, err := e.normalizeRule(rule, known); err != nil || &n[0] != &known[0] {
		t.Errorf("known DN %s: %q, %v; want the value itself", known, n, err)
	}
	other := []byte("UID=u0001, OU=People,DC=example,DC=com")
	if n, err := e.normalizeRule(rule, other); err != nil || string(n) != string(known) {
		t.Errorf("DN %s: %q, %v; want %s", other, n, err, known)
	}
}
