package main

// Index durability: writers add, modify and delete entries that touch every
// index kind (presence, equality, substring, ordering, approximate) while
// the server is killed with SIGKILL and restarted; afterwards the indexes
// must agree exactly with the entries (switchboard verify), and searches
// through every index kind must return what a full scan returns.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

var idxNames = []string{"Maier", "Meyer", "Smith", "Smyth", "Müller", "Łukasiewicz", "Ng", "O'Brien"}

func idxWriter(c *goldap.Conn, w int, rng *rand.Rand, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		n := rng.IntN(60)
		dn := fmt.Sprintf("uid=w%d-%d,ou=d,%s", w, n, testSuffix)
		name := idxNames[rng.IntN(len(idxNames))]
		var err error
		switch rng.IntN(4) {
		case 0, 1:
			add := goldap.NewAddRequest(dn, nil)
			add.Attribute("objectClass", []string{"inetOrgPerson"})
			add.Attribute("uid", []string{fmt.Sprintf("w%d-%d", w, n)})
			add.Attribute("cn", []string{"Person " + name})
			add.Attribute("sn", []string{name})
			if rng.IntN(2) == 0 {
				add.Attribute("mail", []string{fmt.Sprintf("w%d.%d@example.com", w, n)})
			}
			err = c.Add(add)
		case 2:
			mod := goldap.NewModifyRequest(dn, nil)
			mod.Replace("sn", []string{name})
			mod.Replace("mail", []string{fmt.Sprintf("%s.%d@example.com", strings.ToLower(name[:2]), i)})
			err = c.Modify(mod)
		default:
			err = c.Del(goldap.NewDelRequest(dn, nil))
		}
		if err != nil && !goldap.IsErrorAnyOf(err, goldap.LDAPResultEntryAlreadyExists, goldap.LDAPResultNoSuchObject) {
			return // the server died under us
		}
	}
}

func TestIndexesSurviveKill9(t *testing.T) {
	cycles := 6
	if testing.Short() {
		cycles = 2
	}
	s := startServer(t, "")
	c := dialRoot(t, s)
	top := goldap.NewAddRequest(testSuffix, nil)
	top.Attribute("objectClass", []string{"dcObject", "organization"})
	top.Attribute("dc", []string{"example"})
	top.Attribute("o", []string{"Example"})
	if err := c.Add(top); err != nil {
		t.Fatal(err)
	}
	ou := goldap.NewAddRequest("ou=d,"+testSuffix, nil)
	ou.Attribute("objectClass", []string{"organizationalUnit"})
	ou.Attribute("ou", []string{"d"})
	if err := c.Add(ou); err != nil {
		t.Fatal(err)
	}
	c.Close()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for cycle := range cycles {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 3 {
			conn := dialRoot(t, s)
			wg.Add(1)
			go func(conn *goldap.Conn, r *rand.Rand) {
				defer wg.Done()
				defer conn.Close()
				idxWriter(conn, w, r, stop)
			}(conn, rand.New(rand.NewPCG(seed+uint64(cycle*10+w), 2)))
		}
		time.Sleep(time.Duration(150+rng.IntN(300)) * time.Millisecond)
		s.Kill()
		close(stop)
		wg.Wait()
		s.Restart()
	}
	s.Stop()

	out, err := s.Verify()
	if err != nil {
		t.Fatalf("switchboard verify after %d kills: %v\n%s", cycles, err, out)
	}
	t.Logf("verify: %s", strings.TrimSpace(out))

	// Searches through every index kind agree with a scan.
	sch, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	e, err := directory.Open(directory.Options{Dir: s.Data, Suffix: testSuffix, Schema: sch})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	for _, filter := range []string{"(mail=*)", "(sn=Smith)", "(uid=w1-*)", "(cn=*kasie*)", "(sn=*er)", "(sn~=Meier)",
		"(mail=ma*)", "(modifyTimestamp>=20000101000000Z)", "(&(objectClass=person)(sn~=Smith))", "(|(uid=w0-1)(uid=w2-2)(sn=Ng))"} {
		f, err := ldap.ParseFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		var planned, scanned []string
		if err := e.Search(ctx, &directory.SearchRequest{BaseDN: testSuffix, Scope: ldap.ScopeWholeSubtree, Filter: f, Unlimited: true},
			func(en *directory.Entry) error { planned = append(planned, en.NDN); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := e.Walk(ctx, func(en *directory.Entry) error {
			if e.Match(f, en) {
				scanned = append(scanned, en.NDN)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		sort.Strings(planned)
		sort.Strings(scanned)
		if !slices.Equal(planned, scanned) {
			t.Errorf("%s after kill -9: indexed %d entries, scan %d", filter, len(planned), len(scanned))
		}
	}
}
