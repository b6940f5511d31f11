package ldap

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
)

// Handler serves LDAP operations. The server calls ServeLDAP once per
// request other than Unbind and Abandon, which it handles itself, on a
// goroutine of its own, with a context that ends when the client abandons
// the operation, the connection closes or the server shuts down.
//
// A handler must end every operation with exactly one w.WriteResult, except
// that ServeLDAP returning without one makes the server answer `other` (80).
// A panic is recovered, logged with its stack and answered with `other`.
type Handler interface {
	ServeLDAP(ctx context.Context, w ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, w ResponseWriter, r *Request)

// ServeLDAP calls f.
func (f HandlerFunc) ServeLDAP(ctx context.Context, w ResponseWriter, r *Request) { f(ctx, w, r) }

// ResponseWriter sends the responses of one operation. Entries, references
// and intermediate responses are buffered and flushed in batches; WriteResult
// ends the operation and flushes.
// WriteEntry encodes e before it returns and keeps no reference to it, so
// a handler may build every entry of a search in the same Entry.
type ResponseWriter interface {
	WriteEntry(e *Entry, typesOnly bool, controls ...ResponseControl) error
	WriteReference(urls []string, controls ...ResponseControl) error
	WriteIntermediate(name string, value []byte, controls ...ResponseControl) error
	WriteResult(res *Result) error
}

// Session is the per-connection state a handler may read and change: the
// authenticated identity, chiefly. It is safe for concurrent use.
type Session struct {
	ID         uint64
	RemoteAddr net.Addr
	LocalAddr  net.Addr

	mu     sync.Mutex
	bindDN string
	bound  bool
	tls    *tls.ConnectionState
	// mustChange limits the session to changing its own password.
	mustChange bool
}

// TLS returns the state of the connection's TLS layer: set for an LDAPS
// connection once its handshake completes and after a successful StartTLS
// (RFC 4511 section 4.14), nil while the connection is in cleartext. The
// state must not be changed.
func (s *Session) TLS() *tls.ConnectionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tls
}

// SetTLS records the TLS state of the connection. The server calls it;
// handler tests use it to stand in for a TLS connection.
func (s *Session) SetTLS(cs *tls.ConnectionState) {
	s.mu.Lock()
	s.tls = cs
	s.mu.Unlock()
}

// BindDN returns the normalised identity the connection is bound as, "" for anonymous.
func (s *Session) BindDN() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bindDN
}

// Authenticated reports whether a bind (other than anonymous) succeeded.
func (s *Session) Authenticated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bound
}

// SetBind records the result of a bind: dn "" means anonymous.
func (s *Session) SetBind(dn string) {
	s.mu.Lock()
	s.bindDN = dn
	s.bound = dn != ""
	s.mustChange = false
	s.mu.Unlock()
}

// PasswordMustChange reports whether the session may do nothing but
// change its own password: its bind used a password that an administrator
// reset or that has expired (draft-behera-ldap-password-policy). A new
// bind clears it.
func (s *Session) PasswordMustChange() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustChange
}

// SetPasswordMustChange sets or clears the restriction reported by
// PasswordMustChange.
func (s *Session) SetPasswordMustChange(v bool) {
	s.mu.Lock()
	s.mustChange = v
	s.mu.Unlock()
}

type sessionKey struct{}

// WithSession returns a context carrying s.
func WithSession(ctx context.Context, s *Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

// SessionFrom returns the session of the connection serving ctx, or nil.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}
