// Package netlimit caps the connections a listener hands out at once, for
// the HTTP servers (admin API, public listener): in all, and from one
// client address.
package netlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Listen returns l accepting at most n connections at once: Accept waits
// for one to close before taking another from the kernel's queue.
func Listen(l net.Listener, n int) net.Listener {
	return ListenLimits(l, Limits{Total: n})
}

// Limits are the bounds of ListenLimits.
type Limits struct {
	// Total is the connections open at once; Accept waits for one to
	// close before taking another from the kernel's queue.
	Total int
	// PerAddr is the connections open at once from one client address
	// (an IPv6 /64 counts as one); one more is closed as soon as it is
	// accepted, so that one client cannot hold every Total slot. 0: no
	// bound.
	PerAddr int
	// Exempt are the addresses PerAddr does not count (a reverse proxy
	// through which every client comes).
	Exempt []netip.Prefix
	// Refused, if set, is called with the address of each connection
	// closed for PerAddr.
	Refused func(remote net.Addr)
}

// ListenLimits returns l accepting connections within lim.
func ListenLimits(l net.Listener, lim Limits) net.Listener {
	return &limitListener{Listener: l, lim: lim, sem: make(chan struct{}, lim.Total), done: make(chan struct{}),
		perAddr: map[netip.Prefix]int{}}
}

type limitListener struct {
	net.Listener
	lim  Limits
	sem  chan struct{}
	done chan struct{}
	once sync.Once

	mu      sync.Mutex
	perAddr map[netip.Prefix]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			<-l.sem
			return nil, err
		}
		key, counted := l.key(c.RemoteAddr())
		if counted && !l.claim(key) {
			c.Close()
			if l.lim.Refused != nil {
				l.lim.Refused(c.RemoteAddr())
			}
			continue // the slot is still ours: take the next connection
		}
		return &limitConn{Conn: c, release: func() {
			if counted {
				l.releaseAddr(key)
			}
			<-l.sem
		}}, nil
	}
}

// key is the client address c counts under, false if it is not counted.
func (l *limitListener) key(a net.Addr) (netip.Prefix, bool) {
	if l.lim.PerAddr <= 0 {
		return netip.Prefix{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Prefix{}, false
	}
	ip := ap.Addr().Unmap()
	for _, p := range l.lim.Exempt {
		if p.Contains(ip) {
			return netip.Prefix{}, false
		}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.WithZone("").Prefix(bits)
	return p, true
}

func (l *limitListener) claim(k netip.Prefix) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perAddr[k] >= l.lim.PerAddr {
		return false
	}
	l.perAddr[k]++
	return true
}

func (l *limitListener) releaseAddr(k netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.perAddr[k] <= 1 {
		delete(l.perAddr, k)
		return
	}
	l.perAddr[k]--
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slots back once, on the first Close.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
