package main

import (
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// TestMultiSupplierMemberOfConverges is issue 15's memberOf acceptance:
// 1,000 random group edits (members added and removed, people deleted,
// added again and renamed, groups deleted and added again) spread over three
// replicas, half of them while the replicas are cut off from each other,
// so that edits of the same groups and people race. After healing, member,
// uniqueMember and memberOf are identical on the three replicas, memberOf
// is what the member values imply, and no group names an entry that does
// not exist (referential integrity holds after the merge too).
// SWITCHBOARD_MEMBEROF_EDITS (default 1000) scales it.
func TestMultiSupplierMemberOfConverges(t *testing.T) {
	edits := 1000
	if s := os.Getenv("SWITCHBOARD_MEMBEROF_EDITS"); s != "" {
		edits, _ = strconv.Atoi(s)
	}
	const people, groups = 24, 6
	c := startCluster(t, 3, nil)
	c.seed()
	person := func(i int) string { return fmt.Sprintf("uid=p%d,ou=people,%s", i, testSuffix) }
	group := func(i int) string { return fmt.Sprintf("cn=g%d,ou=groups,%s", i, testSuffix) }
	unique := func(i int) bool { return i%2 == 1 } // odd groups are groupOfUniqueNames
	memberAttr := func(g int) string {
		if unique(g) {
			return "uniqueMember"
		}
		return "member"
	}
	addPerson := func(conn *goldap.Conn, i int) error {
		req := goldap.NewAddRequest(person(i), nil)
		req.Attribute("objectClass", []string{"inetOrgPerson"})
		req.Attribute("uid", []string{fmt.Sprintf("p%d", i)})
		req.Attribute("cn", []string{fmt.Sprintf("P %d", i)})
		req.Attribute("sn", []string{"P"})
		return conn.Add(req)
	}
	addGroup := func(conn *goldap.Conn, g int, members ...int) error {
		req := goldap.NewAddRequest(group(g), nil)
		oc := "groupOfNames"
		if unique(g) {
			oc = "groupOfUniqueNames"
		}
		req.Attribute("objectClass", []string{oc})
		req.Attribute("cn", []string{fmt.Sprintf("g%d", g)})
		var dns []string
		for _, m := range members {
			dns = append(dns, person(m))
		}
		req.Attribute(memberAttr(g), dns)
		return conn.Add(req)
	}
	conn0 := dialRoot(t, c.servers[0])
	mustAdd(t, conn0, "ou=groups,"+testSuffix, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	for i := range people {
		if err := addPerson(conn0, i); err != nil {
			t.Fatal(err)
		}
	}
	for g := range groups {
		if err := addGroup(conn0, g, g, g+groups, g+2*groups); err != nil {
			t.Fatal(err)
		}
	}
	conn0.Close()
	c.converge(60 * time.Second)

	// One writer per replica; each edit is one LDAP operation, whatever
	// its result (a member already there, a person already deleted: the
	// replica's answer is its business, convergence is the test's).
	edit := func(conn *goldap.Conn, rng *rand.Rand) {
		p, g := rng.Intn(people), rng.Intn(groups)
		switch n := rng.Intn(100); {
		case n < 38:
			m := goldap.NewModifyRequest(group(g), nil)
			m.Add(memberAttr(g), []string{person(p)})
			conn.Modify(m)
		case n < 66:
			m := goldap.NewModifyRequest(group(g), nil)
			m.Delete(memberAttr(g), []string{person(p)})
			conn.Modify(m)
		case n < 78:
			conn.Del(goldap.NewDelRequest(person(p), nil))
		case n < 90:
			addPerson(conn, p)
		case n < 94:
			// A rename to another person's name (refused if taken).
			conn.ModifyDN(goldap.NewModifyDNRequest(person(p), fmt.Sprintf("uid=p%d", rng.Intn(people)), true, ""))
		case n < 97:
			conn.Del(goldap.NewDelRequest(group(g), nil))
		default:
			addGroup(conn, g, p)
		}
	}
	run := func(n int, seed int64) {
		var wg sync.WaitGroup
		for i, s := range c.servers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn := dialRoot(t, s)
				defer conn.Close()
				rng := rand.New(rand.NewSource(seed + int64(i)))
				for k := i; k < n; k += len(c.servers) {
					edit(conn, rng)
				}
			}()
		}
		wg.Wait()
	}
	// The first half with every link cut: each replica edits the groups
	// and people as it alone sees them.
	for i := range c.servers {
		c.isolate(i)
	}
	run(edits/2, 1)
	for i := range c.servers {
		c.rejoin(i)
	}
	run(edits-edits/2, 100)
	c.converge(120 * time.Second)

	// Read back with memberOf from every replica.
	type view map[string]map[string][]string // DN -> attribute -> sorted lower-case values
	read := func(i int) view {
		conn := dialRoot(t, c.servers[i])
		defer conn.Close()
		out := view{}
		for dn, e := range searchAll(t, conn, "member", "uniqueMember", "memberOf") {
			attrs := map[string][]string{}
			for _, a := range e.Attributes {
				vals := []string{}
				for _, v := range a.Values {
					vals = append(vals, normDN(v))
				}
				slices.Sort(vals)
				attrs[strings.ToLower(a.Name)] = vals
			}
			out[normDN(dn)] = attrs
		}
		return out
	}
	views := []view{read(0), read(1), read(2)}
	for i := 1; i < len(views); i++ {
		for dn, a := range views[0] {
			b, ok := views[i][dn]
			if !ok {
				t.Errorf("replica %d lacks %s", i+1, dn)
				continue
			}
			for _, attr := range []string{"member", "uniquemember", "memberof"} {
				if !slices.Equal(a[attr], b[attr]) {
					t.Errorf("%s %s: replica 1 %q, replica %d %q", dn, attr, a[attr], i+1, b[attr])
				}
			}
		}
		for dn := range views[i] {
			if _, ok := views[0][dn]; !ok {
				t.Errorf("replica %d has %s, replica 1 does not", i+1, dn)
			}
		}
	}
	// memberOf is what the groups imply, and groups name existing
	// entries only (or the placeholder, the empty DN).
	v := views[0]
	want := map[string][]string{}
	memberships, groupsSeen := 0, 0
	for dn, a := range v {
		if a["member"] == nil && a["uniquemember"] == nil {
			continue
		}
		groupsSeen++
		for _, m := range append(slices.Clone(a["member"]), a["uniquemember"]...) {
			if m == "" {
				continue
			}
			if _, ok := v[m]; !ok {
				t.Errorf("group %s names %s, which does not exist", dn, m)
				continue
			}
			want[m] = append(want[m], dn)
			memberships++
		}
	}
	for dn, a := range v {
		w := want[dn]
		slices.Sort(w)
		w = slices.Compact(w)
		if !slices.Equal(a["memberof"], w) {
			t.Errorf("%s memberOf %q, its groups imply %q", dn, a["memberof"], w)
		}
	}
	t.Logf("%d edits; converged with %d entries, %d groups, %d memberships", edits, len(v), groupsSeen, memberships)
	if groupsSeen == 0 || memberships == 0 {
		t.Errorf("nothing left to compare: %d groups, %d memberships", groupsSeen, memberships)
	}
	// memberOf is read from the member and uniqueMember indexes, which the
	// digests (entries only) do not cover.
	c.verifyStores()
}

// normDN lower-cases a DN and drops the spaces after commas, enough to
// compare the DNs this test writes.
func normDN(s string) string {
	return strings.ReplaceAll(strings.ToLower(s), ", ", ",")
}
