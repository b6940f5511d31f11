package main

// End-to-end tests of server-side sorting and VLV beyond the differential
// test: ordering by the equality rule for types without an ORDERING rule
// (cn, sn, displayName, as Outlook browses the address book), the strict
// mode that refuses them as slapd does, and the sort limits (candidates
// per request, the memory budget shared by concurrent sorts).

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// sortUser adds an ordinary user and returns a connection bound as it.
func sortUser(t *testing.T, s *testServer) *goldap.Conn {
	t.Helper()
	add := goldap.NewAddRequest("uid=sorter,"+peopleDN, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"sorter"})
	add.Attribute("cn", []string{"Sorter"})
	add.Attribute("sn", []string{"Sorter"})
	add.Attribute("userPassword", []string{"sorter-pw"})
	if err := dialRoot(t, s).Add(add); err != nil {
		t.Fatal(err)
	}
	return dialE2E(t, s, "uid=sorter,"+peopleDN, "sorter-pw")
}

// sortedDNs runs a one-level search of the people sorted by keys (spec
// as in the differential test: "-attr:rule/..."), with extra controls,
// and returns the DNs and the named attribute's first values in order.
func sortedDNs(c *goldap.Conn, critical bool, keys, attr string, extra ...goldap.Control) ([]string, []string, error) {
	var sk []*goldap.SortKey
	for _, p := range strings.Split(keys, "/") {
		k := &goldap.SortKey{}
		if strings.HasPrefix(p, "-") {
			k.Reverse, p = true, p[1:]
		}
		k.AttributeType, k.MatchingRule, _ = strings.Cut(p, ":")
		sk = append(sk, k)
	}
	ctl := goldap.NewControlString(goldap.ControlTypeServerSideSorting, critical,
		goldap.NewControlServerSideSortingWithSortKeys(sk).Encode().Children[1].Data.String())
	req := goldap.NewSearchRequest(peopleDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{attr}, append([]goldap.Control{ctl}, extra...))
	res, err := c.Search(req)
	if res == nil {
		return nil, nil, err
	}
	var dns, vals []string
	for _, e := range res.Entries {
		dns = append(dns, canonDN(e.DN))
		vals = append(vals, e.GetAttributeValue(attr))
	}
	return dns, vals, err
}

func TestSortByEqualityRuleE2E(t *testing.T) {
	s := startServer(t, "", "--demo")
	c := sortUser(t, s)
	for _, attr := range []string{"displayName", "cn", "sn"} {
		for _, rev := range []string{"", "-"} {
			// Without a rule the order is the equality rule's normal form
			// compared bytewise: for caseIgnoreMatch, exactly
			// caseIgnoreOrderingMatch's.
			got, vals, err := sortedDNs(c, true, rev+attr, attr)
			if err != nil {
				t.Fatalf("sort by %s%s: %v", rev, attr, err)
			}
			want, _, err := sortedDNs(c, true, rev+attr+":caseIgnoreOrderingMatch", attr)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < 300 || !slices.Equal(got, want) {
				t.Errorf("sort by %s%s: %d entries, not caseIgnoreOrderingMatch's order", rev, attr, len(got))
			}
			if rev == "" && !sortedFold(vals) {
				t.Errorf("sort by %s: values out of order", attr)
			}
		}
	}

	// Outlook's address book: VLV windows sorted by displayName.
	all, names, err := sortedDNs(c, true, "displayName", "displayName")
	if err != nil {
		t.Fatal(err)
	}
	vlv := goldap.NewControlString(goldap.ControlTypeVLVRequest, true, vlvValue(2, 3, 20, 0))
	got, _, err := sortedDNs(c, true, "displayName", "displayName", vlv)
	if err != nil || !slices.Equal(got, all[17:23]) {
		t.Errorf("VLV by displayName at 20: %v, %v; want %v", err, got, all[17:23])
	}
	// greaterThanOrEqual: the target is the first name at or after "M",
	// case-insensitively.
	target := slices.IndexFunc(names, func(n string) bool { return strings.ToLower(n) >= "m" })
	got, _, err = sortedDNs(c, true, "displayName", "displayName", goldap.NewControlString(goldap.ControlTypeVLVRequest, true, vlvGEValue(1, 2, "M")))
	if err != nil || target < 1 || !slices.Equal(got, all[target-1:target+3]) {
		t.Errorf("VLV by displayName >= M: %v, %v; want %v", err, got, all[max(target-1, 0):target+3])
	}

	// Strict: slapd's behaviour, inappropriateMatching in the sortResult.
	s2 := startServer(t, "", "--demo", "--sort.strict")
	c2 := dialE2E(t, s2, "", "")
	_, _, err = sortedDNs(c2, true, "displayName", "displayName")
	wantCode(t, "strict, critical sort by displayName", err, 12)
	got, _, err = sortedDNs(c2, false, "displayName", "displayName")
	if err != nil || len(got) < 300 {
		t.Errorf("strict, non-critical sort by displayName: %v, %d entries", err, len(got))
	}
	if _, _, err := sortedDNs(c2, true, "displayName:caseIgnoreOrderingMatch", "displayName"); err != nil {
		t.Errorf("strict, sort by displayName with a rule: %v", err)
	}
}

func vlvGEValue(before, after int, ge string) string {
	v := vlvReq{before: before, after: after, ge: ge}
	return v.control().(*goldap.ControlString).ControlValue
}

// TestSortLimitsE2E: a sort over more entries than limits.sort_candidates
// fails with adminLimitExceeded for an ordinary user; the root DN has its
// own limit; with a tiny memory budget and no wait, concurrent sorts each
// either finish or get busy, and the budget is all given back.
func TestSortLimitsE2E(t *testing.T) {
	s := startServer(t, "", "--demo", "--limits.sort-candidates=50", "--limits.sort-candidates-root=200")
	c := sortUser(t, s)
	_, _, err := sortedDNs(c, true, "uid", "uid")
	wantCode(t, "user's critical sort over 300 entries", err, goldap.LDAPResultAdminLimitExceeded)
	if got, _, err := sortedDNs(c, false, "uid", "uid"); err != nil || len(got) < 300 {
		t.Errorf("user's non-critical sort: %v, %d entries (unsorted)", err, len(got))
	}
	vlv := goldap.NewControlString(goldap.ControlTypeVLVRequest, true, vlvValue(0, 9, 1, 0))
	_, _, err = sortedDNs(c, true, "displayName", "uid", vlv)
	wantCode(t, "user's VLV over 300 entries", err, goldap.LDAPResultAdminLimitExceeded)
	_, _, err = sortedDNs(dialRoot(t, s), true, "uid", "uid")
	wantCode(t, "root's sort over its limit of 200", err, goldap.LDAPResultAdminLimitExceeded)

	// 1 MiB is four of a sort's 256 KiB budget steps.
	s = startServer(t, "", "--demo", "--limits.sort-memory-mb=1", "--limits.sort-wait=0s")
	sortUser(t, s)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[uint16]int{}
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := goldap.DialURL(s.URL)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			if err := c.Bind("uid=sorter,"+peopleDN, "sorter-pw"); err != nil {
				t.Error(err)
				return
			}
			for range 4 {
				dns, _, err := sortedDNs(c, true, "-displayName", "uid", goldap.NewControlString(goldap.ControlTypeVLVRequest, true, vlvValue(0, 19, 1, 0)))
				var le *goldap.Error
				switch {
				case err == nil && len(dns) == 20:
					mu.Lock()
					codes[0]++
					mu.Unlock()
				case errors.As(err, &le) && le.ResultCode == goldap.LDAPResultBusy:
					mu.Lock()
					codes[goldap.LDAPResultBusy]++
					mu.Unlock()
				default:
					t.Errorf("concurrent VLV: %v, %d entries", err, len(dns))
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("64 concurrent VLV sorts on a 1 MiB budget: %d answered, %d busy", codes[0], codes[goldap.LDAPResultBusy])
	if codes[0] == 0 {
		t.Error("no sort got budget")
	}
	if held, refused := metric(t, s, "switchboard_sort_memory_bytes"), metric(t, s, "switchboard_sort_refused_total"); held != 0 || refused != float64(codes[goldap.LDAPResultBusy]) {
		t.Errorf("after the sorts: %v bytes held, %v refused; want 0, %d", held, refused, codes[goldap.LDAPResultBusy])
	}
}
