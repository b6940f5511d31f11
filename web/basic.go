package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
)

type sessionCtxKey struct{}

// SessionFrom returns the session Basic put in the request's context.
func SessionFrom(ctx context.Context) (*Session, bool) {
	se, ok := ctx.Value(sessionCtxKey{}).(*Session)
	return se, ok
}

// WithSession returns ctx carrying se (for surfaces that authenticate
// their own way, such as the console's login form).
func WithSession(ctx context.Context, se *Session) context.Context {
	return context.WithValue(ctx, sessionCtxKey{}, se)
}

// An ErrorWriter writes an error response in a surface's own format
// (WebDAV, SCIM, HTML); Basic uses it for 401, 403 and 503.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, msg string)

// PlainError is an ErrorWriter writing text/plain.
func PlainError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}

// Basic wraps next so that every request must authenticate with HTTP
// Basic (RFC 7617): the user name is a login name for Login (DN, uid or
// mail), the password the directory password. next runs with the
// session in its context (SessionFrom). Without credentials or with
// wrong ones the answer is 401 with a challenge for realm; Basic over
// plain HTTP from a client beyond loopback is 403 unless
// AllowPlainBasic. errw formats the error (nil: PlainError).
func (s *Server) Basic(realm string, errw ErrorWriter, next http.Handler) http.Handler {
	if errw == nil {
		errw = PlainError
	}
	challenge := `Basic realm=` + strconv.Quote(realm) + `, charset="UTF-8"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote := remoteAddr(r)
		if r.TLS == nil && !s.AllowPlainBasic && !isLoopback(remote) {
			errw(w, r, http.StatusForbidden, "passwords are not accepted over plain HTTP from beyond this host: use HTTPS")
			return
		}
		user, pw, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", challenge)
			errw(w, r, http.StatusUnauthorized, "authentication required")
			return
		}
		se, err := s.Login(r.Context(), remote, user, []byte(pw))
		if errors.Is(err, ErrInvalidCredentials) {
			w.Header().Set("WWW-Authenticate", challenge)
			errw(w, r, http.StatusUnauthorized, "invalid user name or password")
			return
		}
		if err != nil {
			s.logger().Warn("web: login failed", "err", err, "remote", r.RemoteAddr)
			errw(w, r, http.StatusServiceUnavailable, "the directory cannot check passwords now; try again later")
			return
		}
		defer se.Release()
		next.ServeHTTP(w, r.WithContext(WithSession(r.Context(), se)))
	})
}

// remoteAddr is the request's client address as a *net.TCPAddr (nil if
// it cannot be parsed).
func remoteAddr(r *http.Request) net.Addr {
	a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr)
	if err != nil {
		return nil
	}
	return a
}

// RemoteAddr is the request's client address as Login wants it.
func RemoteAddr(r *http.Request) net.Addr { return remoteAddr(r) }

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}
