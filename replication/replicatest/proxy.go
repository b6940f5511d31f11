// Package replicatest holds test equipment for replication: a TCP proxy
// that stands between two replicas and can cut the link (a partition),
// heal it, or delay it, so multi-process tests exercise real sockets
// under real network faults.
package replicatest

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// A Proxy forwards TCP connections from its listening address to a
// target. While cut, it refuses new connections and has closed the open
// ones, as a partition would look to both sides (they see resets or
// timeouts, never partial data passed off as whole).
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	cut      bool
	delay    time.Duration
	conns    map[net.Conn]struct{}
	capture  bool
	captured []*[]byte // per connection and direction, what passed
	wg       sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// SetTarget forwards new connections to target (a replica restarted on
// another port); open ones stay as they are.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// Addr is the address clients dial instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut partitions the link: open connections are closed and new ones are
// closed as soon as they are accepted.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
}

// Heal ends a partition.
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// SetDelay holds every chunk of data for d before passing it on.
func (p *Proxy) SetDelay(d time.Duration) {
	p.mu.Lock()
	p.delay = d
	p.mu.Unlock()
}

// Capture records what passes through connections opened from now on
// (Captured returns it): for tests that check what a replica sends.
func (p *Proxy) Capture() {
	p.mu.Lock()
	p.capture = true
	p.mu.Unlock()
}

// Captured returns what passed through the captured connections, one
// slice per connection and direction (so a value split across reads is
// whole in its slice).
func (p *Proxy) Captured() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, 0, len(p.captured))
	for _, b := range p.captured {
		out = append(out, append([]byte(nil), *b...))
	}
	return out
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// track registers c unless the link is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.untrack(client)
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	server, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	if !p.track(server) {
		server.Close()
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done // one direction ended: end both, as a reset would
}

// pipe copies src to dst, holding each chunk for the current delay.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	var rec *[]byte
	p.mu.Lock()
	if p.capture {
		rec = new([]byte)
		p.captured = append(p.captured, rec)
	}
	p.mu.Unlock()
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			d, cut := p.delay, p.cut
			if rec != nil {
				*rec = append(*rec, buf[:n]...)
			}
			p.mu.Unlock()
			if cut {
				return
			}
			if d > 0 {
				time.Sleep(d)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			return
		}
	}
}
