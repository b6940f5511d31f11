package frontend

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// serveFrontend serves f on a real ldap.Server on a loopback port and
// returns its address.
func serveFrontend(t *testing.T, f *Frontend) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &ldap.Server{Handler: f}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// dialFrom connects to addr from the loopback address src (127.0.0.x).
func dialFrom(t *testing.T, addr, src string) *goldap.Conn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := goldap.DialURL("ldap://"+addr, goldap.DialWithDialer(d))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// timedBind binds and returns the result code and how long the answer took.
func timedBind(c *goldap.Conn, dn, pw string) (uint16, time.Duration) {
	start := time.Now()
	err := c.Bind(dn, pw)
	d := time.Since(start)
	if err == nil {
		return 0, d
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		return le.ResultCode, d
	}
	return 0xFFFF, d
}

func throttledFrontend(t *testing.T, cfg ThrottleConfig) (*Frontend, *Throttle) {
	t.Helper()
	f := newFrontend(t)
	th := NewThrottle(cfg)
	f.cfg.Throttle = th
	return f, th
}

// After the allowed failures, each failed bind from one address is
// answered later, doubling up to the cap, whichever DN it tries; other
// connections keep being served meanwhile.
func TestThrottleDelaysFailedBindsByAddress(t *testing.T) {
	f, th := throttledFrontend(t, ThrottleConfig{After: 3, Delay: 100 * time.Millisecond, MaxDelay: 400 * time.Millisecond})
	addr := serveFrontend(t, f)
	c := dialFrom(t, addr, "127.0.0.1")
	// Wants: no delay for 3 failures, then 100, 200, 400, 400 ms.
	ms := time.Millisecond
	want := []time.Duration{0, 0, 0, 100 * ms, 200 * ms, 400 * ms, 400 * ms}
	for i, w := range want {
		dn := fmt.Sprintf("uid=p%02d,ou=people,dc=example,dc=com", i) // a new DN each time: the address counts
		code, d := timedBind(c, dn, "wrong")
		if code != goldap.LDAPResultInvalidCredentials {
			t.Fatalf("failure %d: code %d, want 49", i+1, code)
		}
		if d < w || d > w+600*time.Millisecond {
			t.Errorf("failure %d: answered after %v, want about %v", i+1, d, w)
		}
	}
	if th.Delayed() != 4 {
		t.Errorf("Delayed() = %d, want 4", th.Delayed())
	}

	// While a throttled bind waits, another connection is answered at once.
	done := make(chan time.Duration)
	go func() {
		_, d := timedBind(c, "uid=p10,ou=people,dc=example,dc=com", "wrong")
		done <- d
	}()
	time.Sleep(50 * time.Millisecond)
	other := dialFrom(t, addr, "127.0.0.2")
	if _, err := other.Search(goldap.NewSearchRequest("dc=example,dc=com", goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(uid=p01)", nil, nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
		t.Error("a search on another connection was answered only after the throttled bind")
	default:
	}
	if d := <-done; d < 400*time.Millisecond {
		t.Errorf("throttled bind answered after %v, want the 400ms cap", d)
	}

	// A correct password is not held back, even from a throttled address.
	if code, d := timedBind(c, "uid=p01,ou=people,dc=example,dc=com", "pwp01"); code != 0 || d > 350*time.Millisecond {
		t.Errorf("good bind from a throttled address: code %d after %v", code, d)
	}
}

// Failures for one DN from many addresses are throttled by the DN's
// counter; a successful bind clears it.
func TestThrottleDelaysFailedBindsByDN(t *testing.T) {
	// A delay far above what a loaded machine adds, so the two cases
	// below cannot be confused.
	f, _ := throttledFrontend(t, ThrottleConfig{After: 2, Delay: time.Second, MaxDelay: time.Second})
	addr := serveFrontend(t, f)
	const dn = "uid=p03,ou=people,dc=example,dc=com"
	fail := func(src, name string) time.Duration {
		code, d := timedBind(dialFrom(t, addr, src), name, "wrong")
		if code != goldap.LDAPResultInvalidCredentials {
			t.Fatalf("bind from %s: code %d, want 49", src, code)
		}
		return d
	}
	fail("127.0.0.11", dn)
	fail("127.0.0.12", "UID=p03, ou=People,dc=EXAMPLE,dc=com") // the same DN, spelt differently
	if d := fail("127.0.0.13", dn); d < time.Second {
		t.Errorf("third failure for the DN from a fresh address answered after %v, want 1s", d)
	}
	if code, _ := timedBind(dialFrom(t, addr, "127.0.0.14"), dn, "pwp03"); code != 0 {
		t.Fatalf("good bind: code %d", code)
	}
	if d := fail("127.0.0.15", dn); d > 500*time.Millisecond {
		t.Errorf("failure after a successful bind answered after %v: the DN's counter was not cleared", d)
	}
}

// Counters are forgotten after a quiet period, and the tables stay
// bounded however many addresses and DNs an attacker uses.
func TestThrottleForgetsAndStaysBounded(t *testing.T) {
	now := time.Unix(1e9, 0)
	th := NewThrottle(ThrottleConfig{After: 1, Delay: time.Second, MaxDelay: 8 * time.Second, Forget: time.Minute, MaxTracked: 100,
		Now: func() time.Time { return now }})
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if d := th.Failed("192.0.2.1", "uid=a"); d != want {
			t.Errorf("failure %d: delay %v, want %v", i+1, d, want)
		}
	}
	now = now.Add(2 * time.Minute)
	if d := th.Failed("192.0.2.1", "uid=a"); d != 0 {
		t.Errorf("after a quiet period: delay %v, want 0", d)
	}
	for i := range 10000 {
		th.Failed(fmt.Sprintf("198.51.%d.%d", i/256, i%256), fmt.Sprintf("uid=u%d", i))
	}
	if a, d := th.Tracked(); a > 100 || d > 100 {
		t.Errorf("tracked %d addresses, %d DNs after a spray; cap is 100", a, d)
	}
}

func TestAddrKey(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4000}, "192.0.2.7"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:3:4:5:6"), Port: 4000}, "2001:db8:1:2::/64"},
		{&net.UnixAddr{Name: "/run/ldapi", Net: "unix"}, "/run/ldapi"},
	} {
		if got := addrKey(c.addr); got != c.want {
			t.Errorf("addrKey(%v) = %q, want %q", c.addr, got, c.want)
		}
	}
}
