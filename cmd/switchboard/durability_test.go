package main

// Crash durability: writers stream adds and modifies, the server is killed
// with SIGKILL at a random moment, restarted on the same data directory,
// and every write the server acknowledged must be there, whole.

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// durEntry is what the test knows about one entry it tried to add.
type durEntry struct {
	sn        string
	owner     int  // the writer that adds and modifies it
	acked     bool // the add was acknowledged (or the entry was seen after a restart)
	ackedN    int  // highest acknowledged counter (0: the add's)
	attempted int  // highest counter ever sent
}

// durLedger records what was sent and acknowledged, across cycles.
type durLedger struct {
	mu      sync.Mutex
	entries map[string]*durEntry // by lower-cased DN
	acks    int
}

const durOU = "ou=d," + testSuffix

func durDN(cycle, w, i int) string { return fmt.Sprintf("cn=c%02d-w%d-%05d,%s", cycle, w, i, durOU) }

// durWriter adds entries and modifies the writer's own entries until the
// connection fails. Each modify replaces description and telephoneNumber
// together with the same counter, so a half-applied modify is visible.
func durWriter(l *durLedger, c *goldap.Conn, cycle, w int, rng *rand.Rand) {
	for i := 0; ; i++ {
		dn := durDN(cycle, w, i)
		key := strings.ToLower(dn)
		sn := fmt.Sprintf("Writer%d Cycle%d #%d", w, cycle, i)
		l.mu.Lock()
		l.entries[key] = &durEntry{sn: sn, owner: w}
		l.mu.Unlock()
		add := goldap.NewAddRequest(dn, nil)
		add.Attribute("objectClass", []string{"top", "person"})
		add.Attribute("cn", []string{strings.TrimPrefix(strings.SplitN(dn, ",", 2)[0], "cn=")})
		add.Attribute("sn", []string{sn})
		add.Attribute("description", []string{"counter 0"})
		add.Attribute("telephoneNumber", []string{"0"})
		if err := c.Add(add); err != nil {
			return
		}
		l.mu.Lock()
		l.entries[key].acked = true
		l.acks++
		// Pick one of this writer's acknowledged entries, old or new.
		var mine []string
		for k, e := range l.entries {
			if e.owner == w && e.acked {
				mine = append(mine, k)
			}
		}
		l.mu.Unlock()
		for j := 0; j < 2; j++ {
			target := mine[rng.IntN(len(mine))]
			if j == 0 {
				target = key
			}
			l.mu.Lock()
			e := l.entries[target]
			e.attempted++
			n := e.attempted
			l.mu.Unlock()
			mod := goldap.NewModifyRequest(target, nil)
			mod.Replace("description", []string{"counter " + strconv.Itoa(n)})
			mod.Replace("telephoneNumber", []string{strconv.Itoa(n)})
			if err := c.Modify(mod); err != nil {
				return
			}
			l.mu.Lock()
			if n > e.ackedN {
				e.ackedN = n
			}
			l.acks++
			l.mu.Unlock()
		}
	}
}

// durVerify checks the restarted server against the ledger and then
// records what it found as the new durable state.
func durVerify(t *testing.T, s *testServer, l *durLedger, cycle int) int {
	t.Helper()
	c := dialRoot(t, s)
	defer c.Close()
	res, err := c.Search(goldap.NewSearchRequest(durOU, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"objectClass", "cn", "sn", "description", "telephoneNumber"}, nil))
	if err != nil {
		t.Fatalf("cycle %d: search after restart: %v\nlog:\n%s", cycle, err, s.Log())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	found := map[string]bool{}
	for _, en := range res.Entries {
		key := strings.ToLower(en.DN)
		found[key] = true
		e, ok := l.entries[key]
		if !ok {
			t.Errorf("cycle %d: %s was never added", cycle, en.DN)
			continue
		}
		rdn := strings.TrimPrefix(strings.SplitN(en.DN, ",", 2)[0], "cn=")
		if got := en.GetAttributeValues("cn"); len(got) != 1 || got[0] != rdn {
			t.Errorf("cycle %d: %s cn = %q", cycle, en.DN, got)
		}
		if got := en.GetAttributeValues("sn"); len(got) != 1 || got[0] != e.sn {
			t.Errorf("cycle %d: %s sn = %q, want %q", cycle, en.DN, got, e.sn)
		}
		if got := en.GetAttributeValues("objectClass"); !sameSet(got, []string{"top", "person"}) {
			t.Errorf("cycle %d: %s objectClass = %q", cycle, en.DN, got)
		}
		desc, tel := en.GetAttributeValues("description"), en.GetAttributeValues("telephoneNumber")
		if len(desc) != 1 || len(tel) != 1 || desc[0] != "counter "+tel[0] {
			t.Errorf("cycle %d: %s half-applied: description %q, telephoneNumber %q", cycle, en.DN, desc, tel)
			continue
		}
		n, err := strconv.Atoi(tel[0])
		if err != nil {
			t.Errorf("cycle %d: %s telephoneNumber %q", cycle, en.DN, tel[0])
			continue
		}
		if n < e.ackedN || n > e.attempted {
			t.Errorf("cycle %d: %s counter %d; acknowledged %d, highest sent %d", cycle, en.DN, n, e.ackedN, e.attempted)
		}
		// What survived a restart is durable from now on.
		e.acked, e.ackedN, e.attempted = true, n, max(e.attempted, n)
	}
	for key, e := range l.entries {
		if found[key] {
			continue
		}
		if e.acked {
			t.Errorf("cycle %d: acknowledged add of %s lost", cycle, key)
			continue
		}
		delete(l.entries, key) // an unacknowledged add that did not happen
	}
	return len(res.Entries)
}

func TestDurabilityKill9(t *testing.T) {
	cycles := 20
	if testing.Short() {
		cycles = 3
	}
	const writers = 3
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))

	s := startServer(t, "")
	c := dialRoot(t, s)
	top := goldap.NewAddRequest(testSuffix, nil)
	top.Attribute("objectClass", []string{"top", "dcObject", "organization"})
	top.Attribute("dc", []string{"example"})
	top.Attribute("o", []string{"Example"})
	if err := c.Add(top); err != nil {
		t.Fatal(err)
	}
	add := goldap.NewAddRequest(durOU, nil)
	add.Attribute("objectClass", []string{"organizationalUnit"})
	add.Attribute("ou", []string{"d"})
	if err := c.Add(add); err != nil {
		t.Fatal(err)
	}
	c.Close()

	l := &durLedger{entries: map[string]*durEntry{}}
	start := time.Now()
	for cycle := 0; cycle < cycles; cycle++ {
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			conn := dialRoot(t, s)
			wrng := rand.New(rand.NewPCG(seed, uint64(cycle*writers+w+2)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				durWriter(l, conn, cycle, w, wrng)
			}()
		}
		time.Sleep(time.Duration(50+rng.IntN(351)) * time.Millisecond)
		s.Kill()
		wg.Wait()
		s.Restart()
		n := durVerify(t, s, l, cycle)
		if t.Failed() {
			t.Fatalf("cycle %d failed; server log:\n%s", cycle, s.Log())
		}
		t.Logf("cycle %d: %d entries verified, %d acknowledged operations so far", cycle, n, l.acks)
	}
	if l.acks < cycles {
		t.Errorf("only %d operations were acknowledged in %d cycles: the writers did not get going", l.acks, cycles)
	}
	t.Logf("%d kill -9 cycles in %s", cycles, time.Since(start).Round(time.Millisecond))
}
