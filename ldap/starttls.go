package ldap

// TLS: LDAPS listeners (ServeTLS) and the StartTLS operation (RFC 4511
// section 4.14, RFC 4513 section 3). The connection model is drawn at the
// top of server.go; this file adds the TLS layer under the reader's
// bufio.Reader and under the writer chain's connErrWriter.

import (
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// errNoCertificate is returned by ServeTLS for a config that cannot serve.
var errNoCertificate = errors.New("ldap: TLS config has no certificate (Certificates, GetCertificate or GetConfigForClient)")

// serverTLSConfig returns a copy of cfg that insists on TLS 1.2 or later
// unless cfg names a minimum itself.
func serverTLSConfig(cfg *tls.Config) *tls.Config {
	c := cfg.Clone()
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

func hasCertificate(cfg *tls.Config) bool {
	return len(cfg.Certificates) > 0 || cfg.GetCertificate != nil || cfg.GetConfigForClient != nil
}

// startTLSConfig returns the config StartTLS uses, nil if StartTLS is off.
func (s *Server) startTLSConfig() *tls.Config {
	s.tlsOnce.Do(func() {
		if s.TLSConfig != nil {
			s.startTLSc = serverTLSConfig(s.TLSConfig)
		}
	})
	return s.startTLSc
}

// ServeTLS is Serve for LDAPS (LDAP over TLS from the first octet): every
// connection accepted on l does a TLS handshake with cfg on its own
// goroutine, bounded by ReadTimeout, before its first request is read, so a
// slow or silent client holds up nobody else. A connection whose handshake
// fails is closed. A zero cfg.MinVersion is raised to TLS 1.2.
//
// Serve with a listener from tls.NewListener works too (the handshake then
// also happens on the connection goroutine), but ServeTLS applies the TLS
// 1.2 floor.
func (s *Server) ServeTLS(l net.Listener, cfg *tls.Config) error {
	if cfg == nil || !hasCertificate(cfg) {
		l.Close()
		return errNoCertificate
	}
	return s.serve(l, serverTLSConfig(cfg))
}

// tlsDeadline is when a handshake must be done: ReadTimeout from now.
func (c *serverConn) tlsDeadline() time.Time {
	if rt := c.srv.readTimeout(); rt > 0 {
		return time.Now().Add(rt)
	}
	return time.Time{}
}

// serveHandshake runs the TLS handshake of an LDAPS connection. It is
// counted as reading, so that Shutdown does not write a notice into the
// middle of it.
func (c *serverConn) serveHandshake() bool {
	c.mu.Lock()
	c.reading = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading = false
		c.mu.Unlock()
	}()
	return c.handshake(c.tlsConn)
}

// handshake runs the server side of the TLS handshake on tc under the read
// timeout and records the result on the session.
func (c *serverConn) handshake(tc *tls.Conn) bool {
	c.rwc.SetDeadline(c.tlsDeadline())
	err := tc.HandshakeContext(c.ctx)
	c.rwc.SetDeadline(time.Time{}) // reads and writes set their own from here on
	if err != nil {
		if !c.isClosing() {
			c.log.Debug("ldap: TLS handshake failed; closing", "err", err)
		}
		return false
	}
	cs := tc.ConnectionState()
	c.sess.SetTLS(&cs)
	c.log.Debug("ldap: TLS established", "version", tls.VersionName(cs.Version),
		"cipher", tls.CipherSuiteName(cs.CipherSuite), "peer_certs", len(cs.PeerCertificates))
	return true
}

// startTLS serves a StartTLS request on the reader goroutine, so that no
// other request is read, let alone started, until the TLS layer is in
// place. It owns req and bp and reports whether the reader should go on.
//
// RFC 4511 section 4.14.2 lists the failures: operationsError when TLS is
// already established or operations are outstanding (section 4.14.1: "The
// server MUST return operationsError if the client violates any of the
// Start TLS requirements", among them having none outstanding), and
// protocolError "if the server does not support TLS (whether by design or
// by current configuration)". A failed StartTLS leaves the session as it
// was. On success the response is written in cleartext and the server's
// side of the handshake begins at once: the client starts negotiating as
// soon as it reads the success response (section 4.14.1, RFC 4513
// section 3.1.1). The session's authentication state is left unchanged.
func (c *serverConn) startTLS(req *Request, bp *[]byte, start time.Time) bool {
	id, hasValue := req.MessageID, req.Extended.HasValue
	putRequest(req)
	putBuf(&pduBufPool, bp)
	reply := func(code ResultCode, msg string) {
		out := outBufPool.Get().(*[]byte)
		*out = AppendResult((*out)[:0], id, OpExtendedResponse,
			&Result{Code: code, Diagnostic: msg, ResponseName: OIDStartTLS})
		c.write(nil, *out)
		putBuf(&outBufPool, out)
		c.observe(OpExtendedRequest, code, time.Since(start))
	}
	cfg := c.srv.startTLSConfig()
	// Outstanding means the client still awaits a response: the result
	// is not written yet and the operation was not abandoned. A handler
	// that has written its result but not yet returned is not outstanding
	// to the client, which may send StartTLS the moment it reads that
	// result; it is waited for below.
	c.mu.Lock()
	busy := false
	for _, o := range c.ops {
		if !o.abandoned.Load() {
			busy = true
			break
		}
	}
	c.mu.Unlock()
	switch {
	case c.sess.TLS() != nil || c.tlsConn != nil:
		reply(OperationsError, "TLS already established")
		return true
	case cfg == nil:
		reply(ProtocolError, "StartTLS not supported")
		return true
	case hasValue:
		// Section 4.14.1: "the requestValue field is always absent".
		reply(ProtocolError, "StartTLS request must not carry a value")
		return true
	case busy:
		reply(OperationsError, "operations are outstanding; StartTLS must wait for their results")
		return true
	case c.br.Buffered() > 0:
		// Section 4.14.1: the client "MUST NOT send any LDAP PDUs at
		// this LDAP message layer following this request until it
		// receives a StartTLS extended response". Octets read past the
		// request would otherwise be taken as cleartext requests or be
		// lost to the handshake; neither is safe.
		c.log.Warn("ldap: client sent data after StartTLS before its response; disconnecting")
		c.disconnect(ProtocolError, "data sent after the StartTLS request")
		return false
	}

	// Let the handlers that are done (or abandoned) return, so that
	// nothing of theirs is written in cleartext after the response.
	if !c.waitOps() {
		return false
	}

	// Send the response, and switch the writer chain to the TLS layer
	// with the write mutex held, so that anything written from here on
	// (a notice from Shutdown, say) is encrypted. Nothing else writes
	// meanwhile: no operation is outstanding and the reader is here.
	c.lockWriter()
	if c.wclosed || c.cw.err != nil {
		c.wmu.Unlock()
		return false
	}
	if c.bw == nil {
		c.bw = newBufWriter(&c.cw)
	}
	if wt := c.srv.writeTimeout(); wt > 0 {
		c.rwc.SetWriteDeadline(time.Now().Add(wt))
	}
	out := outBufPool.Get().(*[]byte)
	*out = AppendResult((*out)[:0], id, OpExtendedResponse, &Result{Code: Success, ResponseName: OIDStartTLS})
	c.bw.Write(*out)
	putBuf(&outBufPool, out)
	if err := c.flushLocked(); err != nil {
		c.wmu.Unlock()
		return false
	}
	tc := tls.Server(c.rwc, cfg)
	c.tlsConn = tc
	c.cw.conn = tc
	c.wmu.Unlock()
	c.observe(OpExtendedRequest, Success, time.Since(start))

	if !c.handshake(tc) {
		c.closeSocket()
		return false
	}
	// Every later octet is TLS record data; br held nothing (checked
	// above), so resetting it loses nothing.
	c.br.Reset(tc)
	return true
}

// closeWriteLocked shuts the write side after a Notice of Disconnection:
// a TLS close_notify alert first, if TLS is up (RFC 4513 section 3.2 lets
// either side end TLS so), then the TCP half-close. wmu is held.
func (c *serverConn) closeWriteLocked() bool {
	if c.tlsConn != nil {
		c.tlsConn.CloseWrite()
	}
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	return ok && cw.CloseWrite() == nil
}
