package frontend

// Failed-bind throttling.
//
// A Throttle counts failed simple binds (invalidCredentials, 49) twice:
// by the client's address and by the DN tried. Below Config.After failures
// nothing changes. From then on each further failure is answered late: the
// delay starts at Delay and doubles with every failure up to MaxDelay. The
// delay applied is the larger of the address's and the DN's, so spraying
// one password across many DNs from one address is slowed by the address
// counter, and guessing one DN's password from many addresses by the DN
// counter. A successful bind clears its DN's counter (not the address's:
// an attacker holding one valid account must not reset its own throttle).
// A counter is forgotten once no failure has been counted for Forget.
//
// The delay runs on the goroutine already serving the bind (the
// connection's reader, which RFC 4511 4.2.1 keeps waiting during a bind
// anyway), ends early when the connection or server ends, and holds no
// lock: the throttle costs an attacker's connection its time, not the
// server a goroutine. Each parallel connection is delayed alike; the
// per-address connection limit of ldap.Server bounds how many there are.
//
// Memory is bounded: each of the two tables keeps at most MaxTracked
// counters in least-recently-failed order and drops the oldest when full,
// so a spray from many addresses or over many DNs evicts stale counters
// instead of growing without end. IPv6 addresses are counted by /64, the
// block one host usually holds.

import (
	"container/list"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// ThrottleConfig configures a Throttle. Zero fields take the defaults.
type ThrottleConfig struct {
	// After is the number of failures before delays start (default 5).
	After int
	// Delay is the first delay (default 250 ms); each further failure
	// doubles it, up to MaxDelay (default 15 s).
	Delay    time.Duration
	MaxDelay time.Duration
	// Forget drops a counter with no failure for this long (default 10 min).
	Forget time.Duration
	// MaxTracked bounds the counters kept per table (addresses, DNs;
	// default 65536 each).
	MaxTracked int
	// Now returns the current time; nil means time.Now. Tests pin it.
	Now func() time.Time
}

// Throttle delays the answers to failed binds from addresses and for DNs
// with repeated failures. It is safe for concurrent use.
type Throttle struct {
	cfg     ThrottleConfig
	byAddr  failureTable
	byDN    failureTable
	delayed atomic.Int64
}

// NewThrottle returns a Throttle.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	if cfg.After <= 0 {
		cfg.After = 5
	}
	if cfg.Delay <= 0 {
		cfg.Delay = 250 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 15 * time.Second
	}
	if cfg.MaxDelay < cfg.Delay {
		cfg.MaxDelay = cfg.Delay
	}
	if cfg.Forget <= 0 {
		cfg.Forget = 10 * time.Minute
	}
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = 65536
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	t := &Throttle{cfg: cfg}
	t.byAddr.init(cfg.MaxTracked)
	t.byDN.init(cfg.MaxTracked)
	return t
}

// Delayed returns how many failed binds have been answered late.
func (t *Throttle) Delayed() int64 { return t.delayed.Load() }

// Tracked returns the number of counters held, by address and by DN.
func (t *Throttle) Tracked() (addrs, dns int) { return t.byAddr.len(), t.byDN.len() }

// Failed counts a failed bind from addr for dn and returns how long its
// answer should wait.
func (t *Throttle) Failed(addr, dn string) time.Duration {
	now := t.cfg.Now()
	n := t.byAddr.fail(addr, now, t.cfg.Forget)
	if m := t.byDN.fail(dn, now, t.cfg.Forget); m > n {
		n = m
	}
	return t.delayFor(n)
}

// Succeeded clears dn's counter.
func (t *Throttle) Succeeded(dn string) { t.byDN.clear(dn) }

// delayFor is the delay after the n-th failure.
func (t *Throttle) delayFor(n int) time.Duration {
	over := n - t.cfg.After
	if over <= 0 {
		return 0
	}
	d := t.cfg.Delay
	for i := 1; i < over && d < t.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// wait sleeps for d or until ctx ends.
func (t *Throttle) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t.delayed.Add(1)
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
	}
}

// throttleBind wraps the ResponseWriter of a bind of name when a Throttle
// is configured: an invalidCredentials result is counted and held back for
// the throttle's delay, a success clears the DN's counter.
func (f *Frontend) throttleBind(ctx context.Context, w ldap.ResponseWriter, s *ldap.Session, name string) ldap.ResponseWriter {
	t := f.cfg.Throttle
	if t == nil {
		return w
	}
	return &throttledBind{ResponseWriter: w, t: t, ctx: ctx, s: s, f: f, name: name}
}

// throttledBind answers a bind through the throttle. The counter keys
// are worked out only when needed: a failure, or a success while some DN
// has failures to clear (normalising the DN again cost 7% of a bind).
type throttledBind struct {
	ldap.ResponseWriter
	t    *Throttle
	ctx  context.Context
	s    *ldap.Session
	f    *Frontend
	name string
}

// Unwrap gives ldap.Flush the writer underneath.
func (b *throttledBind) Unwrap() ldap.ResponseWriter { return b.ResponseWriter }

func (b *throttledBind) WriteResult(res *ldap.Result) error {
	switch res.Code {
	case ldap.InvalidCredentials:
		b.t.wait(b.ctx, b.t.Failed(addrKey(b.s.RemoteAddr), b.f.bindKey(b.name)))
	case ldap.Success:
		if !b.t.byDN.empty() {
			b.t.Succeeded(b.f.bindKey(b.name))
		}
	}
	return b.ResponseWriter.WriteResult(res)
}

// addrKey is the counter key of a client address: the IP, IPv6 cut to
// its /64.
func addrKey(a net.Addr) string {
	if a == nil {
		return ""
	}
	var ip netip.Addr
	switch v := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(v.IP)
	default:
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			ip = ap.Addr()
		}
	}
	if !ip.IsValid() {
		return a.String()
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// bindKey is the counter key of a bind DN: normalised when it parses, so
// that spelling variants of one DN share a counter.
func (f *Frontend) bindKey(name string) string {
	if n, err := f.schema.NormalizeDNString(name); err == nil {
		return n
	}
	return strings.ToLower(name)
}

// failureTable is a bounded map of failure counters in
// least-recently-failed order.
type failureTable struct {
	mu    sync.Mutex
	max   int
	m     map[string]*list.Element
	order list.List // of *failures, most recent at the front
}

type failures struct {
	key  string
	n    int
	last time.Time
}

func (ft *failureTable) init(max int) {
	ft.max = max
	ft.m = make(map[string]*list.Element)
}

func (ft *failureTable) len() int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.m)
}

// fail counts a failure for key and returns the count.
func (ft *failureTable) fail(key string, now time.Time, forget time.Duration) int {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if el, ok := ft.m[key]; ok {
		f := el.Value.(*failures)
		if now.Sub(f.last) > forget {
			f.n = 0
		}
		f.n++
		f.last = now
		ft.order.MoveToFront(el)
		return f.n
	}
	// Drop counters that have gone quiet, then the oldest if still full.
	for ft.order.Len() > 0 {
		el := ft.order.Back()
		f := el.Value.(*failures)
		if len(ft.m) < ft.max && now.Sub(f.last) <= forget {
			break
		}
		ft.order.Remove(el)
		delete(ft.m, f.key)
	}
	ft.m[key] = ft.order.PushFront(&failures{key: key, n: 1, last: now})
	return 1
}

// empty reports whether the table holds no counter.
func (ft *failureTable) empty() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	return len(ft.m) == 0
}

func (ft *failureTable) clear(key string) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if el, ok := ft.m[key]; ok {
		ft.order.Remove(el)
		delete(ft.m, key)
	}
}
