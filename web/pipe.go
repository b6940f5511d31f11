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
	client, server := net.Pipe()
	select {
	case p.conns <- &pipeConn{Conn: server, remote: remote}:
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

// pipeConn is the server's end of a pipe, reporting the HTTP client's
// address as its remote address.
type pipeConn struct {
	net.Conn
	remote net.Addr
}

func (c *pipeConn) RemoteAddr() net.Addr {
	if c.remote == nil {
		return pipeAddr{}
	}
	return c.remote
}
