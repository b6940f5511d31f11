// Connection model and writer chain of the LDAP server.
//
// Server mirrors net/http's Server: an accept loop hands every connection to
// a goroutine of its own (serverConn.serve), which owns the socket's read
// side. Unlike HTTP/1.1, LDAP multiplexes: many message IDs may be in flight
// on one connection at once, and a client may abandon any of them (RFC 4511
// sections 4.1.1.1 and 4.11). So the connection goroutine only reads and
// dispatches; each operation runs on a goroutine of its own and all of them
// answer through one shared, mutex-guarded writer.
//
// Read side, one goroutine per connection:
//
//	socket
//	  → bufio.Reader           (4 KiB; Peek(1) under the idle deadline,
//	                            then the rest under ReadTimeout)
//	  → ReadPDU                (one LDAPMessage TLV into a pooled []byte,
//	                            size cap MaxPDUBeforeBind / MaxPDUAfterBind)
//	  → DecodeRequest          (pooled *Request aliasing that []byte)
//	  → dispatch:
//	      Unbind   → abandon everything, close after pending writes (§4.3)
//	      Abandon  → mark the named operation abandoned, cancel it (§4.11)
//	      Bind     → wait until no operation is outstanding, then run it on
//	                 the reader goroutine, so nothing new starts (§4.2.1)
//	      StartTLS → answered on the reader goroutine (operationsError if
//	                 anything is outstanding, §4.14.1); on success the
//	                 response is flushed, the TLS handshake runs under the
//	                 read timeout and the bufio.Reader and the writer chain
//	                 are re-pointed at the tls.Conn (starttls.go)
//	      others   → per-op goroutine (at most MaxInFlight at a time; the
//	                 reader stops reading while the window is full)
//
// Write side, per operation:
//
//	Handler.ServeLDAP
//	  → ResponseWriter (*operation)  WriteEntry / WriteReference /
//	                                 WriteIntermediate / WriteResult
//	  → Append*                      encodes into the operation's own pooled
//	                                 buffer; entries are batched there
//	  → [conn write mutex]           taken when the batch exceeds 32 KiB, on
//	                                 Flush and on WriteResult; dropped
//	                                 silently once the op is abandoned
//	  → bufio.Writer                 shared by the connection, borrowed from a
//	                                 pool only while it holds data; flushed
//	                                 unless another operation is queued
//	                                 behind the mutex (group commit)
//	  → connErrWriter                sets the write deadline, remembers the
//	                                 first error, cancels the connection
//	  → tls.Conn                     after StartTLS, or from the start on
//	                                 an LDAPS listener (ServeTLS)
//	  → socket
//
// The PDU buffer and the Request belong to the operation until its result is
// written (or it is abandoned and its handler has returned); then both go
// back to their pools.
//
// Disconnection: a PDU that cannot be framed or decoded, an unknown
// protocolOp or a PDU over the size cap gets a Notice of Disconnection
// (RFC 4511 section 4.4.1) with protocolError and the connection is closed
// (section 4.1.1: "If the server receives an LDAPMessage from the client in
// which the LDAPMessage SEQUENCE tag cannot be recognized, the messageID
// cannot be parsed, the tag of the protocolOp is not recognized as a request,
// or the encoding structures or lengths of data fields are found to be
// incorrect, then the server SHOULD return the Notice of Disconnection ...
// with the resultCode set to protocolError, and MUST immediately terminate
// the LDAP session"). Shutdown sends unavailable, MaxConnections sends busy.
// The write side is then half-closed and the socket drained briefly so that
// the notice is not lost to a TCP reset.

package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults applied to zero fields of Server.
const (
	DefaultMaxPDUBeforeBind = 262143  // 256 KiB - 1, as OpenLDAP's sockbuf_max_incoming
	DefaultMaxPDUAfterBind  = 4194303 // 4 MiB - 1, as OpenLDAP's sockbuf_max_incoming_auth
	DefaultIdleTimeout      = 15 * time.Minute
	DefaultReadTimeout      = 30 * time.Second
	DefaultWriteTimeout     = 30 * time.Second
	DefaultMaxInFlight      = 32
)

// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or
// Close.
var ErrServerClosed = errors.New("ldap: server closed")

// ErrAbandoned is returned by the ResponseWriter of an operation that the
// client abandoned, or whose connection is being torn down: nothing more is
// sent for it and the handler should stop.
var ErrAbandoned = errors.New("ldap: operation abandoned")

// ErrResultWritten is returned by a ResponseWriter used after WriteResult.
var ErrResultWritten = errors.New("ldap: result already written")

// Observer receives metrics events from a Server. Its methods are called
// concurrently from connection and operation goroutines and must be fast.
type Observer interface {
	ConnOpened()
	ConnClosed()
	// OpDone reports a finished request: op is the request operation, code
	// the result code sent (or that the handler tried to send when the
	// operation was abandoned), d the time from decode to result.
	OpDone(op Op, code ResultCode, d time.Duration)
}

// Flusher is implemented by the server's ResponseWriter. A handler that
// streams slowly (a persistent search, say) calls Flush to push the entries
// batched so far to the client.
type Flusher interface {
	Flush() error
}

// Flush sends what w has buffered, if it can. Writers that wrap another
// ResponseWriter expose it with an Unwrap() ResponseWriter method, through
// which Flush finds the Flusher (net/http's ResponseController works the
// same way), so a wrapper need not know which optional methods to pass on.
func Flush(w ResponseWriter) error {
	for {
		switch t := w.(type) {
		case Flusher:
			return t.Flush()
		case interface{ Unwrap() ResponseWriter }:
			w = t.Unwrap()
		default:
			return nil
		}
	}
}

// Server is an LDAPv3 protocol front end. The zero value is usable once
// Handler is set; zero numeric fields take the defaults above. A negative
// timeout disables that timeout. Fields must not change once Serve runs.
type Server struct {
	Handler Handler
	Logger  *slog.Logger // nil means slog.Default()

	// Size caps on one PDU, before and after the session authenticates.
	MaxPDUBeforeBind int
	MaxPDUAfterBind  int

	// IdleTimeout closes a connection that has no operation outstanding
	// and sends nothing for this long. ReadTimeout bounds the time to read
	// the rest of a PDU once its first octet has arrived (a slowloris
	// defence). WriteTimeout bounds each flush to the socket.
	IdleTimeout  time.Duration
	ReadTimeout  time.Duration
	WriteTimeout time.Duration

	// MaxConnections caps concurrent connections; 0 means no limit. A
	// connection over the limit is accepted, sent a Notice of
	// Disconnection with busy (51) and closed.
	MaxConnections int

	// MaxConnectionsPerIP caps concurrent connections from one client
	// address (IPv6: one /64); 0 means no limit. Addresses within
	// ConnLimitExempt are not counted. A connection over the limit is
	// turned away as over MaxConnections.
	MaxConnectionsPerIP int
	ConnLimitExempt     []netip.Prefix

	// MaxInFlight caps the operations running at once on one connection.
	// When that many are outstanding the server stops reading from the
	// connection until one finishes.
	MaxInFlight int

	// ShutdownTimeout, when positive, bounds Shutdown in addition to the
	// context it is given.
	ShutdownTimeout time.Duration

	// Observer, if set, receives connection and operation events.
	Observer Observer

	// TLSConfig, if set, enables StartTLS (RFC 4511 section 4.14, RFC
	// 4513 section 3); without it StartTLS is refused with protocolError.
	// It needs a certificate (Certificates, GetCertificate or
	// GetConfigForClient). A zero MinVersion is raised to TLS 1.2. For
	// LDAPS use ServeTLS.
	TLSConfig *tls.Config

	tlsOnce   sync.Once
	startTLSc *tls.Config

	mu         sync.Mutex
	listeners  map[*onceCloseListener]struct{}
	conns      map[*serverConn]struct{}
	perIP      map[netip.Prefix]int // open connections by client address (MaxConnectionsPerIP)
	onShutdown []func()
	doneCh     chan struct{} // closed by Shutdown and Close

	inShutdown atomic.Bool
	nextID     atomic.Uint64
	nconns     atomic.Int64
	rejecting  atomic.Int64 // over-limit connections being turned away
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) maxBefore() int {
	if s.MaxPDUBeforeBind > 0 {
		return s.MaxPDUBeforeBind
	}
	return DefaultMaxPDUBeforeBind
}

func (s *Server) maxAfter() int {
	if s.MaxPDUAfterBind > 0 {
		return s.MaxPDUAfterBind
	}
	return DefaultMaxPDUAfterBind
}

func durationOr(d, def time.Duration) time.Duration {
	switch {
	case d < 0:
		return 0
	case d == 0:
		return def
	}
	return d
}

func (s *Server) idleTimeout() time.Duration  { return durationOr(s.IdleTimeout, DefaultIdleTimeout) }
func (s *Server) readTimeout() time.Duration  { return durationOr(s.ReadTimeout, DefaultReadTimeout) }
func (s *Server) writeTimeout() time.Duration { return durationOr(s.WriteTimeout, DefaultWriteTimeout) }

func (s *Server) maxInFlight() int {
	if s.MaxInFlight > 0 {
		return s.MaxInFlight
	}
	return DefaultMaxInFlight
}

func (s *Server) done() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.doneLocked()
}

func (s *Server) doneLocked() chan struct{} {
	if s.doneCh == nil {
		s.doneCh = make(chan struct{})
	}
	return s.doneCh
}

func (s *Server) closeDoneLocked() {
	ch := s.doneLocked()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// ListenAndServe listens on the TCP address addr (":389" if empty) and
// calls Serve.
func (s *Server) ListenAndServe(addr string) error {
	if s.inShutdown.Load() {
		return ErrServerClosed
	}
	if addr == "" {
		addr = ":389"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each on a goroutine of its own.
// Temporary accept errors (including EMFILE and ENFILE) are retried after a
// delay that starts at 5 ms and doubles up to 1 s. Serve always closes l and
// returns a non-nil error: ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(l, nil)
}

func (s *Server) serve(l net.Listener, tlsCfg *tls.Config) error {
	ol := &onceCloseListener{Listener: l}
	defer ol.Close()
	if !s.trackListener(ol, true) {
		return ErrServerClosed
	}
	defer s.trackListener(ol, false)

	log := s.logger()
	var tempDelay time.Duration
	for {
		rw, err := ol.Accept()
		if err != nil {
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			if isTemporary(err) {
				if tempDelay == 0 {
					tempDelay = 5 * time.Millisecond
				} else {
					tempDelay *= 2
				}
				if tempDelay > time.Second {
					tempDelay = time.Second
				}
				log.Warn("ldap: accept error; retrying", "err", err, "delay", tempDelay)
				t := time.NewTimer(tempDelay)
				select {
				case <-t.C:
				case <-s.done():
					t.Stop()
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		tempDelay = 0
		if max := s.MaxConnections; max > 0 && s.nconns.Load() >= int64(max) {
			log.Warn("ldap: connection limit reached", "remote", rw.RemoteAddr().String(), "limit", max)
			if tlsCfg != nil {
				// A cleartext notice would be noise inside TLS, and a
				// handshake is too dear for a connection turned away.
				rw.Close()
				continue
			}
			s.rejecting.Add(1)
			go func() {
				defer s.rejecting.Add(-1)
				rejectConn(rw, Busy, "too many connections", s.writeTimeout())
			}()
			continue
		}
		ipKey, counted := s.clientKey(rw.RemoteAddr())
		if counted && !s.claimIP(ipKey) {
			log.Warn("ldap: connection limit per address reached", "remote", rw.RemoteAddr().String(), "limit", s.MaxConnectionsPerIP)
			if tlsCfg != nil {
				rw.Close()
				continue
			}
			s.rejecting.Add(1)
			go func() {
				defer s.rejecting.Add(-1)
				rejectConn(rw, Busy, "too many connections from this address", s.writeTimeout())
			}()
			continue
		}
		c := s.newConn(rw, tlsCfg)
		c.ipKey, c.ipCounted = ipKey, counted
		if !s.trackConn(c, true) {
			if counted {
				s.releaseIP(ipKey)
			}
			c.rwc.Close()
			return ErrServerClosed
		}
		go c.serve()
	}
}

// isTemporary reports whether an Accept error is worth retrying: the ones
// net.Error still flags as temporary, plus running out of descriptors and
// connections reset before Accept returned them.
func isTemporary(err error) bool {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) {
		return true
	}
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

func (s *Server) trackListener(l *onceCloseListener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.inShutdown.Load() {
			return false
		}
		if s.listeners == nil {
			s.listeners = make(map[*onceCloseListener]struct{})
		}
		s.listeners[l] = struct{}{}
	} else {
		delete(s.listeners, l)
	}
	return true
}

func (s *Server) trackConn(c *serverConn, add bool) bool {
	s.mu.Lock()
	if add {
		if s.inShutdown.Load() {
			s.mu.Unlock()
			return false
		}
		if s.conns == nil {
			s.conns = make(map[*serverConn]struct{})
		}
		s.conns[c] = struct{}{}
		s.nconns.Add(1)
		s.mu.Unlock()
		if s.Observer != nil {
			s.Observer.ConnOpened()
		}
		return true
	}
	_, ok := s.conns[c]
	delete(s.conns, c)
	if ok {
		s.nconns.Add(-1)
		if c.ipCounted {
			s.releaseIPLocked(c.ipKey)
		}
	}
	s.mu.Unlock()
	if ok && s.Observer != nil {
		s.Observer.ConnClosed()
	}
	return true
}

// clientKey returns the address a connection counts against for
// MaxConnectionsPerIP (an IPv4 address, or the /64 of an IPv6 one) and
// whether it is counted at all.
func (s *Server) clientKey(a net.Addr) (netip.Prefix, bool) {
	if s.MaxConnectionsPerIP <= 0 {
		return netip.Prefix{}, false
	}
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(ta.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	ip = ip.Unmap()
	for _, p := range s.ConnLimitExempt {
		if p.Contains(ip) {
			return netip.Prefix{}, false
		}
	}
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p, true
}

// claimIP counts a connection from k unless k is at MaxConnectionsPerIP.
func (s *Server) claimIP(k netip.Prefix) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perIP[k] >= s.MaxConnectionsPerIP {
		return false
	}
	if s.perIP == nil {
		s.perIP = make(map[netip.Prefix]int)
	}
	s.perIP[k]++
	return true
}

func (s *Server) releaseIP(k netip.Prefix) {
	s.mu.Lock()
	s.releaseIPLocked(k)
	s.mu.Unlock()
}

func (s *Server) releaseIPLocked(k netip.Prefix) {
	if n := s.perIP[k]; n > 1 {
		s.perIP[k] = n - 1
	} else {
		delete(s.perIP, k)
	}
}

// ConnCount returns the number of connections being served.
func (s *Server) ConnCount() int { return int(s.nconns.Load()) }

// Addrs returns the addresses of the listeners being served.
func (s *Server) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	addrs := make([]net.Addr, 0, len(s.listeners))
	for l := range s.listeners {
		addrs = append(addrs, l.Addr())
	}
	return addrs
}

// RegisterOnShutdown registers f to run, on a goroutine of its own, when
// Shutdown begins: the place to end persistent searches.
func (s *Server) RegisterOnShutdown(f func()) {
	s.mu.Lock()
	s.onShutdown = append(s.onShutdown, f)
	s.mu.Unlock()
}

// closeListenersLocked closes every listener; s.mu is held.
func (s *Server) closeListenersLocked() error {
	var err error
	for l := range s.listeners {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// shutdownPollMax caps the interval at which Shutdown looks for idle
// connections, as net/http's shutdownPollIntervalMax.
const shutdownPollMax = 100 * time.Millisecond

// Shutdown stops the server gracefully: it closes the listeners, runs the
// RegisterOnShutdown hooks, closes every idle connection with a Notice of
// Disconnection (unavailable) and waits for the operations in flight to
// finish, closing each connection as it becomes idle. Requests that arrive
// meanwhile are answered with unavailable. When ctx (or ShutdownTimeout)
// ends first, the remaining connections get the notice, their operations
// are cancelled, and Shutdown returns the context's error.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ShutdownTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.ShutdownTimeout)
		defer cancel()
	}
	s.inShutdown.Store(true)
	s.mu.Lock()
	lerr := s.closeListenersLocked()
	s.closeDoneLocked()
	for _, f := range s.onShutdown {
		go f()
	}
	s.mu.Unlock()

	interval := time.Millisecond
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		if s.closeIdleConns() && s.rejecting.Load() == 0 {
			return lerr
		}
		select {
		case <-ctx.Done():
			s.forceClose(Unavailable, "server shutting down")
			return ctx.Err()
		case <-timer.C:
			interval *= 2
			if interval > shutdownPollMax {
				interval = shutdownPollMax
			}
			timer.Reset(interval)
		}
	}
}

// closeIdleConns sends a notice to and closes every idle connection and
// reports whether no connection is left.
func (s *Server) closeIdleConns() bool {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeIfIdle()
	}
	return s.nconns.Load() == 0
}

// forceClose sends a notice to every connection and closes it, in parallel,
// and waits for the notices to be written (each bounded by a deadline).
func (s *Server) forceClose(code ResultCode, msg string) {
	s.mu.Lock()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.disconnect(code, msg)
		}()
	}
	wg.Wait()
}

// Disconnect sends a notice of disconnection with code and msg to every
// connection whose session match selects (a revoked identity's), closes
// it, and returns how many it closed. Their operations are abandoned.
func (s *Server) Disconnect(match func(*Session) bool, code ResultCode, msg string) int {
	s.mu.Lock()
	var conns []*serverConn
	for c := range s.conns {
		if match(c.sess) {
			conns = append(conns, c)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.disconnect(code, msg)
		}()
	}
	wg.Wait()
	return len(conns)
}

// Close closes the listeners and every connection at once, without notices,
// cancelling all operations. For a graceful stop use Shutdown.
func (s *Server) Close() error {
	s.inShutdown.Store(true)
	s.mu.Lock()
	err := s.closeListenersLocked()
	s.closeDoneLocked()
	conns := make([]*serverConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.abort()
	}
	return err
}

// onceCloseListener makes Close idempotent: both Serve's defer and Shutdown
// close the listener.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	return l.err
}

// rejectConn turns a connection away with a Notice of Disconnection.
func rejectConn(rw net.Conn, code ResultCode, msg string, wt time.Duration) {
	b := AppendNoticeOfDisconnection(nil, code, msg)
	if wt <= 0 || wt > noticeTimeout {
		wt = noticeTimeout
	}
	rw.SetWriteDeadline(time.Now().Add(wt))
	if _, err := rw.Write(b); err == nil {
		lingerClose(rw)
		return
	}
	rw.Close()
}

// noticeTimeout bounds the write of a Notice of Disconnection and the drain
// after it.
const noticeTimeout = time.Second

// lingerDrain is how long and how much a closing connection is drained after
// its write side is shut, so that unread request bytes do not make the
// kernel answer with a reset that could destroy the notice in flight (the
// same problem net/http's closeWriteAndWait addresses).
const (
	lingerTime  = 250 * time.Millisecond
	lingerBytes = 1 << 20
)

// lingerClose half-closes rw, drains what the peer still sends for a short
// while and closes it.
func lingerClose(rw net.Conn) {
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := rw.(closeWriter); ok {
		if cw.CloseWrite() == nil {
			rw.SetReadDeadline(time.Now().Add(lingerTime))
			var buf [4096]byte
			for n := 0; n < lingerBytes; {
				k, err := rw.Read(buf[:])
				n += k
				if err != nil {
					break
				}
			}
		}
	}
	rw.Close()
}
