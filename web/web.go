// Package web is Switchboard's public HTTP listener (config key
// http_listen): the surfaces that people and their devices reach, such as
// CardDAV, the web console and SCIM, as opposed to the operators' admin
// API (package admin). Each surface is an http.Handler mounted on one
// Server with Handle.
//
// A request acts in the directory as an LDAP client would. Its Session is
// an LDAP connection to the server's own LDAP handler over an in-process
// Pipe, bound as the user with the user's password, and that connection
// carries the HTTP client's address. So the access rules, limits,
// password policy (lockout, expiry), failed-bind throttle, overlays and
// audit apply to a web request exactly as to an LDAP one, and a change
// made through the web is an ordinary LDAP write. Nothing here decides
// what a user may see or change.
//
// A surface that authenticates a request another way (a SCIM bearer
// token bound to a DN) gets a session with SessionAs: a connection from
// Pipe.DialAs, whose server end carries the DN in its local address, bound
// with SASL EXTERNAL, which the frontend grants for an existing, unlocked
// entry. Only in-process code can open such a connection.
//
// Sessions are kept for reuse (clients such as CardDAV send their
// credentials with every request) under a key made from the client's
// address, the bind DN and the password, for at most SessionIdle
// without use and SessionMaxAge in all: an account locked, deleted or
// given a new password stops working within SessionMaxAge.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/switchboard-ldap/switchboard/internal/netlimit"
)

// Defaults for the Server's zero fields.
const (
	DefaultSessionIdle   = 30 * time.Second
	DefaultSessionMaxAge = 2 * time.Minute
	DefaultMaxConns      = 256
	DefaultWriteIdle     = 30 * time.Second
)

// Directory is what the web surfaces need to know of the directory
// besides LDAP itself.
type Directory interface {
	// Resolve maps a login name as a user types it (a DN, a uid or a mail
	// address) to the DN to bind as. A name that matches no entry, or
	// more than one, resolves to a DN that does not exist, so that the
	// bind fails as any wrong password does (same cost, same throttle);
	// an error means the directory cannot answer now.
	Resolve(ctx context.Context, login string) (string, error)
}

// ErrInvalidCredentials is Login's answer to a wrong name or password, a
// locked account, or any other refused bind.
var ErrInvalidCredentials = errors.New("invalid credentials")

// A Server is the public HTTP listener.
type Server struct {
	Directory Directory
	LDAP      *Pipe       // the LDAP server's in-process listener
	TLS       *tls.Config // serve HTTPS with it; nil: plain HTTP
	// AllowPlainBasic lets clients on non-loopback addresses send
	// passwords over plain HTTP; by default they get 403.
	AllowPlainBasic bool
	Logger          *slog.Logger
	MaxConns        int           // concurrent HTTP connections; 0: DefaultMaxConns
	SessionIdle     time.Duration // 0: DefaultSessionIdle
	SessionMaxAge   time.Duration // 0: DefaultSessionMaxAge
	// MaxConnsPerAddr bounds the connections from one client address
	// (an IPv6 /64), so that one client cannot take all MaxConns (0: no
	// bound); ConnLimitExempt are addresses it does not count.
	MaxConnsPerAddr int
	ConnLimitExempt []netip.Prefix
	// WriteIdle bounds how long one write of a response may wait for the
	// client to read (0: DefaultWriteIdle). It is a deadline renewed at
	// every write rather than http.Server.WriteTimeout, which bounds the
	// whole response: a large address book may take minutes to send to a
	// slow phone, but a client that stops reading loses its connection
	// after WriteIdle instead of holding it, and a handler, for ever.
	WriteIdle time.Duration

	mux      http.ServeMux
	srv      *http.Server
	mu       sync.Mutex
	sessions map[[32]byte]*Session
	owned    map[*Session]struct{} // sessions Open returned
	stop     chan struct{}
}

// Handle mounts h at pattern (http.ServeMux patterns). Call it before
// Serve.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the server's handler: the mounted surfaces behind the
// headers every response carries, each write under the WriteIdle
// deadline.
func (s *Server) Handler() http.Handler {
	idle := s.WriteIdle
	if idle <= 0 {
		idle = DefaultWriteIdle
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		iw := &idleWriter{ResponseWriter: w, rc: http.NewResponseController(w), idle: idle}
		// Renewed before the handler too (the deadline of a response
		// before it on the connection has passed) and after it, for what
		// the server sends when the handler returns.
		iw.renew()
		defer iw.renew()
		s.mux.ServeHTTP(iw, r)
	})
}

// idleWriter renews the connection's write deadline before each write and
// flush of a response.
type idleWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (w *idleWriter) renew() { w.rc.SetWriteDeadline(time.Now().Add(w.idle)) }

func (w *idleWriter) Write(b []byte) (int, error) {
	w.renew()
	return w.ResponseWriter.Write(b)
}

func (w *idleWriter) WriteHeader(code int) {
	w.renew()
	w.ResponseWriter.WriteHeader(code)
}

// Flush sends what is buffered (http.Flusher), under the same deadline.
func (w *idleWriter) Flush() {
	w.renew()
	w.rc.Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *idleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Serve answers HTTP requests on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() && s.TLS == nil {
		s.logger().Warn("the public HTTP listener serves plain HTTP beyond loopback; set http.tls with tls.cert_file",
			"addr", a.String(), "allow_plain_basic", s.AllowPlainBasic)
	}
	s.mu.Lock()
	s.stop = make(chan struct{})
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug),
	}
	srv, stop := s.srv, s.stop
	s.mu.Unlock()
	go s.expire(stop)
	l = netlimit.ListenLimits(l, netlimit.Limits{Total: or(s.MaxConns, DefaultMaxConns), PerAddr: s.MaxConnsPerAddr,
		Exempt: s.ConnLimitExempt, Refused: func(remote net.Addr) {
			// Debug: a client refused in a loop must not flood the log.
			s.logger().Debug("web: connection limit per address reached", "remote", remote.String(), "limit", s.MaxConnsPerAddr)
		}})
	if s.TLS != nil {
		l = tls.NewListener(l, s.TLS)
	}
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops serving and closes every session.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, stop := s.srv, s.stop
	s.srv, s.stop = nil, nil
	s.mu.Unlock()
	if stop != nil {
		close(stop)
	}
	var err error
	if srv != nil {
		err = srv.Shutdown(ctx)
	}
	s.mu.Lock()
	for k, se := range s.sessions {
		se.conn.Close()
		delete(s.sessions, k)
	}
	for se := range s.owned {
		se.conn.Close()
		delete(s.owned, se)
	}
	s.mu.Unlock()
	return err
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// A Session is a user's LDAP connection, bound as the user.
type Session struct {
	DN    string // the bound DN, as resolved
	conn  *goldap.Conn
	born  time.Time
	owner *Server // set for a session Open returned
	mu    sync.Mutex
	used  time.Time
	users int // requests holding the session
}

// Conn is the session's LDAP connection, safe for concurrent use. Do not
// bind on it or close it.
func (se *Session) Conn() *goldap.Conn { return se.conn }

// Login authenticates a user by login name (DN, uid or mail) and
// password from the client at remote, returning a session bound as the
// user: a reused one when the same client logged in with the same
// credentials recently. Call Release when done with it.
func (s *Server) Login(ctx context.Context, remote net.Addr, login string, password []byte) (*Session, error) {
	if login == "" || len(password) == 0 {
		return nil, ErrInvalidCredentials
	}
	dn, err := s.Directory.Resolve(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("web: resolve login: %w", err)
	}
	key := sessionKey(remote, dn, password)
	if se := s.reuse(key); se != nil {
		return se, nil
	}
	now := time.Now()

	conn, err := s.bind(ctx, remote, dn, password)
	if err != nil {
		return nil, err
	}
	return s.keep(key, &Session{DN: dn, conn: conn, born: now, used: now, users: 1}), nil
}

// Open authenticates as Login does but returns a session of the
// caller's own: not shared with other logins, not expired by the server,
// and open until the caller calls Close (or Shutdown). It is for
// surfaces that keep their own sessions, such as the web console's login
// form, and must then check on each request that the account may still
// act (an LDAP connection stays bound when its account is locked).
func (s *Server) Open(ctx context.Context, remote net.Addr, login string, password []byte) (*Session, error) {
	if login == "" || len(password) == 0 {
		return nil, ErrInvalidCredentials
	}
	dn, err := s.Directory.Resolve(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("web: resolve login: %w", err)
	}
	conn, err := s.bind(ctx, remote, dn, password)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	se := &Session{DN: dn, conn: conn, born: now, used: now, owner: s}
	s.mu.Lock()
	if s.owned == nil {
		s.owned = map[*Session]struct{}{}
	}
	s.owned[se] = struct{}{}
	s.mu.Unlock()
	return se, nil
}

// Close ends a session Open returned, closing its connection.
func (se *Session) Close() error {
	if s := se.owner; s != nil {
		s.mu.Lock()
		delete(s.owned, se)
		s.mu.Unlock()
	}
	return se.conn.Close()
}

// bind opens an LDAP connection over the pipe from remote and binds it as
// dn.
func (s *Server) bind(ctx context.Context, remote net.Addr, dn string, password []byte) (*goldap.Conn, error) {
	c, err := s.LDAP.Dial(ctx, remote)
	if err != nil {
		return nil, fmt.Errorf("web: connect to the directory: %w", err)
	}
	conn := goldap.NewConn(c, false)
	conn.Start()
	if err := conn.Bind(dn, string(password)); err != nil {
		conn.Close()
		var le *goldap.Error
		if errors.As(err, &le) && le.ResultCode == goldap.LDAPResultInvalidCredentials {
			return nil, ErrInvalidCredentials
		}
		return nil, fmt.Errorf("web: bind: %w", err)
	}
	return conn, nil
}

// SessionAs returns a session bound as dn without its password, for a
// request authenticated another way (a SCIM bearer token bound to dn): a
// connection from Pipe.DialAs bound with SASL EXTERNAL, which the
// directory refuses if dn names no entry or a locked one. Sessions are
// reused as Login's are. Call Release when done with it.
func (s *Server) SessionAs(ctx context.Context, remote net.Addr, dn string) (*Session, error) {
	key := sessionKey(remote, dn, nil) // Login never has an empty password
	if se := s.reuse(key); se != nil {
		return se, nil
	}
	now := time.Now()
	c, err := s.LDAP.DialAs(ctx, remote, dn)
	if err != nil {
		return nil, fmt.Errorf("web: connect to the directory: %w", err)
	}
	conn := goldap.NewConn(c, false)
	conn.Start()
	if err := conn.ExternalBind(); err != nil {
		conn.Close()
		var le *goldap.Error
		if errors.As(err, &le) && le.ResultCode == goldap.LDAPResultInvalidCredentials {
			return nil, ErrInvalidCredentials
		}
		return nil, fmt.Errorf("web: bind as %s: %w", dn, err)
	}
	return s.keep(key, &Session{DN: dn, conn: conn, born: now, used: now, users: 1}), nil
}

// reuse returns the kept session under key, counted as in use, if it is
// open and younger than SessionMaxAge.
func (s *Server) reuse(key [32]byte) *Session {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	se := s.sessions[key]
	if se == nil || se.conn.IsClosing() || now.Sub(se.born) >= or(s.SessionMaxAge, DefaultSessionMaxAge) {
		return nil
	}
	se.mu.Lock()
	se.used, se.users = now, se.users+1
	se.mu.Unlock()
	return se
}

// keep records se under key, retiring the session it replaces.
func (s *Server) keep(key [32]byte, se *Session) *Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions == nil {
		s.sessions = map[[32]byte]*Session{}
	}
	if old := s.sessions[key]; old != nil {
		old.retire()
	}
	s.sessions[key] = se
	return se
}

// Release ends a request's use of the session.
func (se *Session) Release() {
	se.mu.Lock()
	se.users--
	se.used = time.Now()
	se.mu.Unlock()
}

// retire closes the session's connection once no request uses it; the
// caller holds the server's lock and has removed it from the table.
func (se *Session) retire() {
	se.mu.Lock()
	idle := se.users == 0
	se.mu.Unlock()
	if idle {
		se.conn.Close()
		return
	}
	go func() {
		for {
			time.Sleep(time.Second)
			se.mu.Lock()
			idle := se.users == 0
			se.mu.Unlock()
			if idle {
				se.conn.Close()
				return
			}
		}
	}()
}

// expire drops sessions idle or old beyond the limits, every few seconds.
func (s *Server) expire(stop <-chan struct{}) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			idle, maxAge := or(s.SessionIdle, DefaultSessionIdle), or(s.SessionMaxAge, DefaultSessionMaxAge)
			s.mu.Lock()
			for k, se := range s.sessions {
				se.mu.Lock()
				stale := se.users == 0 && now.Sub(se.used) > idle
				se.mu.Unlock()
				if stale || now.Sub(se.born) > maxAge || se.conn.IsClosing() {
					delete(s.sessions, k)
					se.retire()
				}
			}
			s.mu.Unlock()
		}
	}
}

func sessionKey(remote net.Addr, dn string, password []byte) [32]byte {
	h := sha256.New()
	host := ""
	if remote != nil {
		host = remote.String()
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	for _, p := range [][]byte{[]byte(host), []byte(dn), password} {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// or is v, or def if v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
