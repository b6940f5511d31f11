package web

import (
	"context"
	"errors"
	"net"
	"sync"
)

// A Pipe is an in-process listener for the LDAP server: Serve it with
// the server's handler (ldap.Server.Serve) and every Dial is a new LDAP
// connection to it, with no socket in between. The server sees the
// address given to Dial as the connection's remote address, so that its
// per-address limits, failed-bind throttle, access rules on the client's
// address and audit records name the HTTP client, not the pipe.
type Pipe struct {
	conns  chan net.Conn
	done   chan struct{}
	closed sync.Once
}

// NewPipe returns an open Pipe.
func NewPipe() *Pipe {
	return &Pipe{conns: make(chan net.Conn), done: make(chan struct{})}
}

// ErrPipeClosed is Dial's answer once the pipe is closed.
var ErrPipeClosed = errors.New("web: LDAP pipe closed")

// Dial opens a connection to the server serving p, which sees remote as
// the client's address.
func (p *Pipe) Dial(ctx context.Context, remote net.Addr) (net.Conn, error) {
	return p.dial(ctx, &pipeConn{remote: remote})
}

// DialAs is Dial for a connection that may bind as dn without its
// password: the server's end carries dn in its local address (an
// IdentityAddr), and the frontend binds a SASL EXTERNAL request on it as
// dn if that entry exists and is not locked. Only code in this process
// can open such a connection; call it only for an identity already
// authenticated another way (a SCIM bearer token).
func (p *Pipe) DialAs(ctx context.Context, remote net.Addr, dn string) (net.Conn, error) {
	return p.dial(ctx, &pipeConn{remote: remote, local: IdentityAddr{DN: dn}})
}

func (p *Pipe) dial(ctx context.Context, sc *pipeConn) (net.Conn, error) {
	client, server := net.Pipe()
	sc.Conn = server
	select {
	case p.conns <- sc:
		return client, nil
	case <-p.done:
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, ErrPipeClosed
}

// Accept implements net.Listener.
func (p *Pipe) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: Accept and Dial fail from now on.
func (p *Pipe) Close() error {
	p.closed.Do(func() { close(p.done) })
	return nil
}

// Addr implements net.Listener.
func (p *Pipe) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "in-process" }

// An IdentityAddr is the local address of the server's end of a
// connection opened with DialAs. Its InProcessIdentity method is what the
// frontend looks for (frontend.InProcessIdentity).
type IdentityAddr struct{ DN string }

func (IdentityAddr) Network() string             { return "pipe" }
func (IdentityAddr) String() string              { return "in-process" }
func (a IdentityAddr) InProcessIdentity() string { return a.DN }

// pipeConn is the server's end of a pipe, reporting the HTTP client's
// address as its remote address, and for DialAs the identity as its
// local one.
type pipeConn struct {
	net.Conn
	remote net.Addr
	local  net.Addr
}

func (c *pipeConn) LocalAddr() net.Addr {
	if c.local == nil {
		return pipeAddr{}
	}
	return c.local
}

func (c *pipeConn) RemoteAddr() net.Addr {
	if c.remote == nil {
		return pipeAddr{}
	}
	return c.remote
}
