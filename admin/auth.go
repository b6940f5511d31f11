package admin

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// Directory is what the admin API asks the directory about who makes a
// request. Every method gets the request's context.
type Directory interface {
	// Bind checks a password for dn as an LDAP simple bind does and
	// returns the normalised DN; addr is the client's address (for the
	// failed-bind throttle). Any failure is ErrInvalidCredentials, or an
	// error saying the directory cannot answer now.
	Bind(ctx context.Context, addr netip.Addr, dn string, password []byte) (string, error)
	// Allowed reports whether the identity (a normalised DN) may make an
	// admin API request that only reads (write false) or one that changes
	// the server's state (write true): the root DN, or a member of the
	// configured admin group to whom the directory's access rules give
	// read, or write, on the naming context's entry.
	Allowed(ctx context.Context, ndn string, write bool) bool
	// CertIdentity maps a verified TLS client certificate to the
	// normalised DN of a directory identity, or fails.
	CertIdentity(ctx context.Context, cert *x509.Certificate) (string, error)
}

// ErrInvalidCredentials is Directory.Bind's answer to a wrong name or
// password.
var ErrInvalidCredentials = errors.New("invalid credentials")

// Method is how a request authenticated.
type Method string

const (
	MethodBasic Method = "basic"  // HTTP Basic: a DN and its password
	MethodToken Method = "bearer" // a token made with POST /api/v1/tokens
	MethodCert  Method = "cert"   // a TLS client certificate
)

// Identity is who makes an authenticated admin request.
type Identity struct {
	DN      string `json:"dn"` // normalised DN of the directory identity
	Method  Method `json:"method"`
	TokenID string `json:"token_id,omitempty"` // the token's ID, for MethodToken
}

type identityKey struct{}

// IdentityFrom returns the request's identity, set by the server's
// authentication for every route but the open ones.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}

// MetricsAccess says who may read /metrics.
type MetricsAccess string

const (
	// MetricsLoopback: clients on a loopback address read it without
	// credentials, others authenticate (the default).
	MetricsLoopback MetricsAccess = "loopback"
	// MetricsOpen: anyone reads it.
	MetricsOpen MetricsAccess = "open"
	// MetricsAuthenticated: like every other route.
	MetricsAuthenticated MetricsAccess = "authenticated"
)

// ParseMetricsAccess checks a configured MetricsAccess ("" is loopback).
func ParseMetricsAccess(s string) (MetricsAccess, error) {
	switch m := MetricsAccess(s); m {
	case "":
		return MetricsLoopback, nil
	case MetricsLoopback, MetricsOpen, MetricsAuthenticated:
		return m, nil
	}
	return "", errors.New("admin metrics access " + s + " is none of loopback, open, authenticated")
}

// credentials are what an Authorization header carries.
type credentials struct {
	scheme   string // "basic" or "bearer", lower case
	user     string // Basic: the DN
	password string // Basic: the password
	token    string // Bearer: the token
}

// parseAuthorization reads an Authorization header value: Basic (RFC
// 7617) or Bearer (RFC 6750). ok is false for anything else or anything
// malformed.
func parseAuthorization(v string) (c credentials, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(v), " ")
	if !found {
		return c, false
	}
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return c, false
		}
		user, pw, found := strings.Cut(string(raw), ":")
		if !found || user == "" {
			return c, false
		}
		return credentials{scheme: "basic", user: user, password: pw}, true
	case "bearer":
		// RFC 6750 b64token: one token, no spaces.
		if rest == "" || strings.ContainsAny(rest, " \t") {
			return c, false
		}
		return credentials{scheme: "bearer", token: rest}, true
	}
	return c, false
}

// authError is an authentication or authorisation failure and its answer.
type authError struct {
	status int
	detail string
}

// challenge is the WWW-Authenticate of a 401.
const challenge = `Basic realm="switchboard admin", charset="UTF-8", Bearer realm="switchboard admin"`

// authenticate works out who makes r: a TLS client certificate, else the
// Authorization header. A failure is 401 (no or bad credentials), 403
// (an identity not allowed the admin API) or 503 (the directory cannot
// check now).
func (s *Server) authenticate(r *http.Request) (Identity, *authError) {
	ctx := r.Context()
	var id Identity
	switch h := r.Header.Get("Authorization"); {
	case h != "":
		c, ok := parseAuthorization(h)
		if !ok {
			return id, &authError{http.StatusUnauthorized, "the Authorization header is neither Basic nor Bearer credentials"}
		}
		if s.Directory == nil {
			return id, &authError{http.StatusUnauthorized, "authentication is not configured"}
		}
		switch c.scheme {
		case "basic":
			dn, err := s.Directory.Bind(ctx, remoteAddr(r), c.user, []byte(c.password))
			if errors.Is(err, ErrInvalidCredentials) {
				return id, &authError{http.StatusUnauthorized, "invalid credentials"}
			}
			if err != nil {
				return id, &authError{http.StatusServiceUnavailable, "cannot check credentials now: " + err.Error()}
			}
			id = Identity{DN: dn, Method: MethodBasic}
		case "bearer":
			t, ok := s.Tokens.Verify(c.token, ScopeAdmin)
			if !ok {
				return id, &authError{http.StatusUnauthorized, "invalid, expired or revoked token"}
			}
			id = Identity{DN: t.Identity, Method: MethodToken, TokenID: t.ID}
		}
	case r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && s.Directory != nil:
		dn, err := s.Directory.CertIdentity(ctx, r.TLS.PeerCertificates[0])
		if err != nil {
			return id, &authError{http.StatusUnauthorized, "the client certificate names no directory identity: " + err.Error()}
		}
		id = Identity{DN: dn, Method: MethodCert}
	default:
		return id, &authError{http.StatusUnauthorized, "authentication required: HTTP Basic (a DN and its password), a bearer token or a client certificate"}
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	if !s.Directory.Allowed(ctx, id.DN, write) {
		need := "read"
		if write {
			need = "write"
		}
		return id, &authError{http.StatusForbidden, "the identity " + id.DN + " may not make this request: the root DN may, and members of admin.group with " +
			need + " access to the naming context's entry under the access rules"}
	}
	return id, nil
}

// protect answers h only for an authenticated, allowed identity.
func (s *Server) protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, aerr := s.authenticate(r)
		if aerr != nil {
			if aerr.status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", challenge)
			}
			s.logger().Info("admin API request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr,
				"status", aerr.status, "identity", id.DN)
			WriteProblem(w, aerr.status, aerr.detail)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			s.logger().Info("admin API request", "method", r.Method, "path", r.URL.Path, "identity", id.DN, "auth", string(id.Method))
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

// metricsGuard is protect for /metrics, which MetricsAccess may open.
func (s *Server) metricsGuard(h http.Handler) http.Handler {
	p := s.protect(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch s.MetricsAccess {
		case MetricsOpen:
			h.ServeHTTP(w, r)
			return
		case MetricsLoopback, "":
			if a := remoteAddr(r); a.IsValid() && a.IsLoopback() {
				h.ServeHTTP(w, r)
				return
			}
		}
		p.ServeHTTP(w, r)
	})
}

// remoteAddr is the client's address, invalid if unknown.
func remoteAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
