package ldaptest

import (
	"context"
	"net"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// NewContext returns a context carrying a fresh session bound as bindDN
// ("" for anonymous), as the server gives a handler.
func NewContext(ctx context.Context, bindDN string) (context.Context, *ldap.Session) {
	s := &ldap.Session{
		ID:         1,
		RemoteAddr: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 40000},
		LocalAddr:  &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 389},
	}
	s.SetBind(bindDN)
	return ldap.WithSession(ctx, s), s
}

// Serve runs h on r with a fresh anonymous session and returns what it
// wrote. Like the server, it records `other` (80) when h returns without a
// result; unlike it, a panic propagates to the test.
func Serve(h ldap.Handler, r *ldap.Request) *Recorder {
	ctx, _ := NewContext(context.Background(), "")
	rec := NewRecorder()
	h.ServeLDAP(ctx, rec, r)
	if !rec.Done() {
		rec.WriteResult(&ldap.Result{Code: ldap.Other, Diagnostic: "the server sent no result for this operation"})
	}
	return rec
}
