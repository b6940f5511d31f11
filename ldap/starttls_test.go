package ldap

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// tlsPair is a self-signed server certificate for 127.0.0.1 and the
// client config that trusts it.
type tlsPair struct {
	server *tls.Config
	client *tls.Config
}

func newTLSPair(t testing.TB) tlsPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tlsPair{
		server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}},
		client: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
	}
}

// tlsEchoHandler answers a search with one entry whose "tls" attribute
// names the session's TLS version ("none" in cleartext), and blocks a
// search of base "o=block" until release is closed.
func tlsEchoHandler(started chan<- struct{}, release <-chan struct{}) HandlerFunc {
	return func(ctx context.Context, w ResponseWriter, r *Request) {
		if r.Op != OpSearchRequest {
			w.WriteResult(&Result{})
			return
		}
		if string(r.Search.BaseObject) == "o=block" {
			started <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		v := "none"
		if cs := SessionFrom(ctx).TLS(); cs != nil {
			v = tls.VersionName(cs.Version)
		}
		e := Entry{DN: "cn=x", Attributes: []Attribute{{Name: "tls", Values: [][]byte{[]byte(v)}}}}
		w.WriteEntry(&e, false)
		w.WriteResult(&Result{})
	}
}

func svStartTLSPDU(id int64) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpExtendedRequest), nil, "")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, OIDStartTLS, ""))
	return svEnvelope(id, op)
}

func goldapTLSOf(t *testing.T, c *goldap.Conn) string {
	t.Helper()
	res, err := c.Search(goldap.NewSearchRequest("o=x", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", nil, nil))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(res.Entries) != 1 {
		t.Fatalf("%d entries", len(res.Entries))
	}
	return res.Entries[0].GetAttributeValue("tls")
}

// upgrade sends StartTLS on rc, expects success and returns a raw client
// speaking through the TLS layer.
func (rc *svRawClient) upgrade(id int64, cfg *tls.Config) *svRawClient {
	rc.t.Helper()
	rc.send(svStartTLSPDU(id))
	r := rc.mustRecv()
	if r.id != id || r.op != OpExtendedResponse || r.code != Success || r.name != OIDStartTLS {
		rc.t.Fatalf("StartTLS: id=%d op=%v code=%d name=%q diag=%q", r.id, r.op, r.code, r.name, r.diag)
	}
	if rc.r.Buffered() != 0 {
		rc.t.Fatalf("%d octets after the StartTLS response", rc.r.Buffered())
	}
	tc := tls.Client(rc.c, cfg)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		rc.t.Fatalf("handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	return &svRawClient{t: rc.t, c: tc, r: bufio.NewReader(tc)}
}

func TestStartTLSGoLDAP(t *testing.T) {
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil), TLSConfig: p.server})
	c, err := goldap.DialURL("ldap://" + ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := goldapTLSOf(t, c); got != "none" {
		t.Fatalf("before StartTLS the session's TLS is %q", got)
	}
	if err := c.StartTLS(p.client); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	for range 3 {
		if got := goldapTLSOf(t, c); !strings.HasPrefix(got, "TLS 1.") || got < "TLS 1.2" {
			t.Fatalf("after StartTLS the session's TLS is %q", got)
		}
	}
	if cs, ok := c.TLSConnectionState(); !ok || cs.Version < tls.VersionTLS12 {
		t.Fatalf("client TLS state %v %v", ok, cs.Version)
	}
}

func TestStartTLSTwice(t *testing.T) {
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil), TLSConfig: p.server})
	rc := svDialRaw(t, ts.addr).upgrade(1, p.client)
	rc.send(svStartTLSPDU(2))
	r := rc.mustRecv()
	if r.id != 2 || r.code != OperationsError || !strings.Contains(r.diag, "TLS already established") {
		t.Fatalf("second StartTLS: id=%d code=%d diag=%q", r.id, r.code, r.diag)
	}
	// The TLS session goes on.
	rc.send(svSearchPDU(3, "o=x"))
	if e := rc.mustRecv(); e.op != OpSearchResultEntry {
		t.Fatalf("got %v, want an entry", e.op)
	}
	if d := rc.mustRecv(); d.id != 3 || d.code != Success {
		t.Fatalf("search: id=%d code=%d", d.id, d.code)
	}
}

func TestStartTLSWithOperationOutstanding(t *testing.T) {
	p := newTLSPair(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(started, release), TLSConfig: p.server})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=block"))
	<-started
	rc.send(svStartTLSPDU(2))
	r := rc.mustRecv()
	if r.id != 2 || r.op != OpExtendedResponse || r.code != OperationsError || r.name != OIDStartTLS {
		t.Fatalf("StartTLS with a search outstanding: id=%d op=%v code=%d name=%q diag=%q", r.id, r.op, r.code, r.name, r.diag)
	}
	close(release)
	if e := rc.mustRecv(); e.id != 1 || e.op != OpSearchResultEntry {
		t.Fatalf("got id=%d op=%v", e.id, e.op)
	}
	if d := rc.mustRecv(); d.id != 1 || d.code != Success {
		t.Fatalf("search done: id=%d code=%d", d.id, d.code)
	}
	// The refusal left the connection as it was: StartTLS now succeeds.
	tc := rc.upgrade(3, p.client)
	tc.send(svSearchPDU(4, "o=x"))
	if e := tc.mustRecv(); e.op != OpSearchResultEntry {
		t.Fatalf("got %v", e.op)
	}
}

func TestStartTLSNotConfigured(t *testing.T) {
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil)})
	rc := svDialRaw(t, ts.addr)
	rc.send(svStartTLSPDU(1))
	r := rc.mustRecv()
	if r.id != 1 || r.op != OpExtendedResponse || r.code != ProtocolError || !strings.Contains(r.diag, "StartTLS not supported") {
		t.Fatalf("StartTLS without TLSConfig: id=%d op=%v code=%d diag=%q", r.id, r.op, r.code, r.diag)
	}
	// RFC 4511 4.14.2: the session is unaffected.
	rc.send(svSearchPDU(2, "o=x"))
	if e := rc.mustRecv(); e.op != OpSearchResultEntry {
		t.Fatalf("got %v", e.op)
	}
}

// readUntilClosed reads whatever the server still sends (a TLS alert,
// say) and fails unless the connection is closed within timeout.
func readUntilClosed(t *testing.T, c net.Conn, timeout time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.Copy(io.Discard, c)
	if isTimeout(err) {
		t.Fatalf("connection still open after %v", timeout)
	}
}

func TestStartTLSGarbageInsteadOfHandshake(t *testing.T) {
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil), TLSConfig: p.server})
	rc := svDialRaw(t, ts.addr)
	rc.send(svStartTLSPDU(1))
	if r := rc.mustRecv(); r.code != Success {
		t.Fatalf("StartTLS: code %d", r.code)
	}
	rc.send([]byte("GET / HTTP/1.0\r\n\r\nthis is not a ClientHello"))
	readUntilClosed(t, rc.c, 5*time.Second)

	// The server keeps serving others.
	c, err := goldap.DialURL("ldap://" + ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(p.client); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	if got := goldapTLSOf(t, c); got == "none" {
		t.Fatal("no TLS after StartTLS")
	}
}

func TestStartTLSDataAfterRequestDisconnects(t *testing.T) {
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil), TLSConfig: p.server})
	rc := svDialRaw(t, ts.addr)
	// One write: the search is in the server's read buffer with the
	// StartTLS request, before any response.
	rc.send(svStartTLSPDU(1), svSearchPDU(2, "o=x"))
	rc.expectNotice(ProtocolError)
	rc.expectEOF(5 * time.Second)
}

func TestStartTLSHandshakeTimeout(t *testing.T) {
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil), TLSConfig: p.server, ReadTimeout: 200 * time.Millisecond})
	rc := svDialRaw(t, ts.addr)
	rc.send(svStartTLSPDU(1))
	if r := rc.mustRecv(); r.code != Success {
		t.Fatalf("StartTLS: code %d", r.code)
	}
	// Send no ClientHello: the handshake deadline closes the connection.
	start := time.Now()
	readUntilClosed(t, rc.c, 5*time.Second)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("closed after %v", d)
	}
}

func TestStartTLSOldVersionRefused(t *testing.T) {
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(nil, nil), TLSConfig: p.server})
	old := p.client.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	c, err := goldap.DialURL("ldap://" + ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(old); err == nil {
		t.Fatal("StartTLS with TLS 1.1 succeeded")
	}
}

func startLDAPS(t *testing.T, srv *Server, cfg *tls.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, cfg) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("ServeTLS returned %v", err)
		}
	})
	return l.Addr().String()
}

func TestServeTLS(t *testing.T) {
	p := newTLSPair(t)
	srv := &Server{Handler: tlsEchoHandler(nil, nil), ReadTimeout: 300 * time.Millisecond, Logger: svDiscardLogger()}
	addr := startLDAPS(t, srv, p.server)

	// A client that connects and says nothing does not hold up others,
	// and is closed when the handshake deadline passes.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	c, err := goldap.DialURL("ldaps://"+addr, goldap.DialWithTLSConfig(p.client))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := goldapTLSOf(t, c); got != "TLS 1.3" {
		t.Fatalf("LDAPS session TLS %q", got)
	}
	readUntilClosed(t, silent, 5*time.Second)

	// StartTLS inside LDAPS: TLS is already established.
	tc, err := tls.Dial("tcp", addr, p.client)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	rc := &svRawClient{t: t, c: tc, r: bufio.NewReader(tc)}
	rc.send(svStartTLSPDU(1))
	if r := rc.mustRecv(); r.code != OperationsError {
		t.Fatalf("StartTLS over LDAPS: code %d diag %q", r.code, r.diag)
	}

	// TLS 1.1 is refused.
	old := p.client.Clone()
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if oc, err := tls.Dial("tcp", addr, old); err == nil {
		oc.Close()
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	// TLS 1.2 works.
	v12 := p.client.Clone()
	v12.MaxVersion = tls.VersionTLS12
	c12, err := goldap.DialURL("ldaps://"+addr, goldap.DialWithTLSConfig(v12))
	if err != nil {
		t.Fatal(err)
	}
	defer c12.Close()
	if got := goldapTLSOf(t, c12); got != "TLS 1.2" {
		t.Fatalf("session TLS %q, want TLS 1.2", got)
	}
}

func TestServeTLSNeedsCertificate(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Server{}).ServeTLS(l, &tls.Config{}); err == nil {
		t.Fatal("ServeTLS without a certificate returned nil")
	}
}

// svDiscardLogger drops log output.
func svDiscardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestStartTLSAfterAbandon(t *testing.T) {
	p := newTLSPair(t)
	started := make(chan struct{}, 1)
	ts := svStartServer(t, &Server{Handler: tlsEchoHandler(started, make(chan struct{})), TLSConfig: p.server})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=block"))
	<-started
	// An abandoned operation is not outstanding: StartTLS waits for its
	// handler to return, then succeeds.
	rc.send(svAbandonPDU(2, 1))
	tc := rc.upgrade(3, p.client)
	tc.send(svSearchPDU(4, "o=x"))
	if e := tc.mustRecv(); e.id != 4 || e.op != OpSearchResultEntry {
		t.Fatalf("got id=%d op=%v", e.id, e.op)
	}
}

func TestStartTLSRightAfterResults(t *testing.T) {
	// A client may send StartTLS the moment it has read the last result,
	// before the server's handler goroutine has quite returned.
	p := newTLSPair(t)
	ts := svStartServer(t, &Server{Handler: svEntryHandler(3), TLSConfig: p.server})
	for i := range 20 {
		rc := svDialRaw(t, ts.addr)
		rc.send(svSearchPDU(1, "o=x"))
		for {
			if r := rc.mustRecv(); r.op == OpSearchResultDone {
				break
			}
		}
		tc := rc.upgrade(2, p.client)
		tc.send(svSearchPDU(3, "o=y"))
		if e := tc.mustRecv(); e.op != OpSearchResultEntry {
			t.Fatalf("round %d: got %v", i, e.op)
		}
		rc.c.Close()
	}
}
