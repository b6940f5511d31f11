package web

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// fakeDirectory resolves uid "jdoe" and mail "jdoe@example.com" to one
// DN, everything else to a DN that does not exist.
type fakeDirectory struct{}

func (fakeDirectory) Resolve(_ context.Context, login string) (string, error) {
	switch login {
	case "jdoe", "jdoe@example.com", "uid=jdoe,dc=example,dc=com":
		return "uid=jdoe,dc=example,dc=com", nil
	}
	return "uid=" + login + ",ou=nobody", nil
}

// bindServer is an LDAP server over a Pipe accepting one password for
// jdoe and recording the remote address of every bind.
type bindServer struct {
	mu      sync.Mutex
	binds   int
	remotes []string
}

func (b *bindServer) ServeLDAP(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request) {
	switch r.Op {
	case ldap.OpBindRequest:
		b.mu.Lock()
		b.binds++
		if s := ldap.SessionFrom(ctx); s != nil && s.RemoteAddr != nil {
			b.remotes = append(b.remotes, s.RemoteAddr.String())
		}
		b.mu.Unlock()
		if string(r.Bind.Name) == "uid=jdoe,dc=example,dc=com" && string(r.Bind.Password) == "secret" {
			w.WriteResult(&ldap.Result{Code: ldap.Success})
			return
		}
		w.WriteResult(&ldap.Result{Code: ldap.InvalidCredentials})
	default:
		w.WriteResult(&ldap.Result{Code: ldap.UnwillingToPerform})
	}
}

func newTestServer(t *testing.T) (*Server, *bindServer) {
	t.Helper()
	pipe := NewPipe()
	b := &bindServer{}
	ls := &ldap.Server{Handler: b}
	go ls.Serve(pipe)
	t.Cleanup(func() { ls.Close() })
	s := &Server{Directory: fakeDirectory{}, LDAP: pipe}
	s.Handle("/who", s.Basic("test", nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		se, ok := SessionFrom(r.Context())
		if !ok {
			t.Error("no session in context")
			return
		}
		w.Write([]byte(se.DN))
	})))
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return s, b
}

func request(s *Server, remote, user, pw string, withTLS bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/who", nil)
	r.RemoteAddr = remote
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	r.TLS = nil
	if withTLS {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func TestBasicLogsInByUidMailOrDN(t *testing.T) {
	s, b := newTestServer(t)
	for _, login := range []string{"jdoe", "jdoe@example.com", "uid=jdoe,dc=example,dc=com"} {
		w := request(s, "127.0.0.1:4000", login, "secret", false)
		if w.Code != 200 || w.Body.String() != "uid=jdoe,dc=example,dc=com" {
			t.Errorf("login %q: %d %q", login, w.Code, w.Body.String())
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range b.remotes {
		if !strings.HasPrefix(r, "127.0.0.1:") {
			t.Errorf("the LDAP server saw remote %q, want the HTTP client's address", r)
		}
	}
	if len(b.remotes) == 0 {
		t.Error("no bind reached the LDAP server")
	}
}

func TestBasicRefusals(t *testing.T) {
	s, _ := newTestServer(t)
	cases := []struct {
		name, remote, user, pw string
		tls                    bool
		want                   int
	}{
		{"no credentials", "127.0.0.1:1", "", "", false, 401},
		{"wrong password", "127.0.0.1:1", "jdoe", "nope", false, 401},
		{"unknown user", "127.0.0.1:1", "ghost", "secret", false, 401},
		{"plain HTTP beyond loopback", "192.0.2.7:1", "jdoe", "secret", false, 403},
		{"TLS beyond loopback", "192.0.2.7:1", "jdoe", "secret", true, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := request(s, c.remote, c.user, c.pw, c.tls)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d (%s)", w.Code, c.want, w.Body.String())
			}
			if c.want == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Basic realm=") {
				t.Errorf("401 without a Basic challenge: %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
	s.AllowPlainBasic = true
	if w := request(s, "192.0.2.7:1", "jdoe", "secret", false); w.Code != 200 {
		t.Errorf("with AllowPlainBasic: %d", w.Code)
	}
}

func TestSessionsAreReusedPerClientAndPassword(t *testing.T) {
	s, b := newTestServer(t)
	for i := 0; i < 5; i++ {
		if w := request(s, "127.0.0.1:9", "jdoe", "secret", false); w.Code != 200 {
			t.Fatalf("request %d: %d", i, w.Code)
		}
	}
	b.mu.Lock()
	n := b.binds
	b.mu.Unlock()
	if n != 1 {
		t.Errorf("5 requests with the same credentials made %d binds, want 1", n)
	}
	// Another client address, or a wrong password, binds again.
	request(s, "127.0.0.2:9", "jdoe", "secret", false)
	request(s, "127.0.0.1:9", "jdoe", "wrong", false)
	b.mu.Lock()
	n = b.binds
	b.mu.Unlock()
	if n != 3 {
		t.Errorf("binds after a new address and a wrong password: %d, want 3", n)
	}
}

func TestPipeClosed(t *testing.T) {
	p := NewPipe()
	p.Close()
	if _, err := p.Dial(context.Background(), &net.TCPAddr{}); err == nil {
		t.Error("Dial on a closed pipe succeeded")
	}
	if _, err := p.Accept(); err == nil {
		t.Error("Accept on a closed pipe succeeded")
	}
}

// externalServer binds SASL EXTERNAL as the identity the connection's
// local address carries, as the frontend does, and refuses it without.
type externalServer struct{}

func (externalServer) ServeLDAP(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request) {
	s := ldap.SessionFrom(ctx)
	if r.Op != ldap.OpBindRequest || r.Bind.Simple || string(r.Bind.Mechanism) != "EXTERNAL" {
		w.WriteResult(&ldap.Result{Code: ldap.UnwillingToPerform})
		return
	}
	a, ok := s.LocalAddr.(interface{ InProcessIdentity() string })
	if !ok || a.InProcessIdentity() != "uid=svc,dc=example,dc=com" {
		w.WriteResult(&ldap.Result{Code: ldap.InvalidCredentials})
		return
	}
	s.SetBind(a.InProcessIdentity())
	w.WriteResult(&ldap.Result{Code: ldap.Success})
}

func TestSessionAs(t *testing.T) {
	pipe := NewPipe()
	ls := &ldap.Server{Handler: externalServer{}}
	go ls.Serve(pipe)
	t.Cleanup(func() { ls.Close() })
	s := &Server{Directory: fakeDirectory{}, LDAP: pipe}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 4000}

	se, err := s.SessionAs(context.Background(), remote, "uid=svc,dc=example,dc=com")
	if err != nil {
		t.Fatalf("SessionAs: %v", err)
	}
	if se.DN != "uid=svc,dc=example,dc=com" {
		t.Errorf("session DN %q", se.DN)
	}
	again, err := s.SessionAs(context.Background(), remote, "uid=svc,dc=example,dc=com")
	if err != nil || again != se {
		t.Errorf("second SessionAs: %p, %v; want the kept session %p", again, err, se)
	}
	se.Release()
	again.Release()
	if _, err := s.SessionAs(context.Background(), remote, "uid=other,dc=example,dc=com"); err != ErrInvalidCredentials {
		t.Errorf("SessionAs for a refused identity: %v, want ErrInvalidCredentials", err)
	}
	// A connection from Dial carries no identity.
	c, err := pipe.Dial(context.Background(), remote)
	if err != nil {
		t.Fatal(err)
	}
	conn := goldap.NewConn(c, false)
	conn.Start()
	defer conn.Close()
	if err := conn.ExternalBind(); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Errorf("EXTERNAL on a Dial connection: %v, want invalidCredentials", err)
	}
}

func TestOpenIsTheCallersUntilClose(t *testing.T) {
	s, b := newTestServer(t)
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	if _, err := s.Open(context.Background(), remote, "jdoe", []byte("wrong")); err != ErrInvalidCredentials {
		t.Fatalf("wrong password: %v, want ErrInvalidCredentials", err)
	}
	a, err := s.Open(context.Background(), remote, "jdoe", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Open(context.Background(), remote, "jdoe", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if a == c || a.Conn() == c.Conn() {
		t.Error("two Opens share a session")
	}
	b.mu.Lock()
	binds := b.binds
	b.mu.Unlock()
	if binds != 3 {
		t.Errorf("%d binds, want 3 (Open binds every time)", binds)
	}
	a.Close()
	if !a.Conn().IsClosing() {
		t.Error("Close left the connection open")
	}
	s.Shutdown(context.Background())
	if !c.Conn().IsClosing() {
		t.Error("Shutdown left an opened session's connection open")
	}
}

// TestWriteIdle: a client that stops reading a large response loses its
// connection after WriteIdle, and the handler's write fails instead of
// blocking for ever; a handler that writes a little, then works for
// longer than WriteIdle, still gets its response out.
func TestWriteIdle(t *testing.T) {
	s := &Server{Directory: fakeDirectory{}, LDAP: NewPipe(), WriteIdle: 300 * time.Millisecond}
	stuck := make(chan error, 1)
	s.Handle("/big", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		for range 1 << 14 { // 1 GiB: far more than any socket buffers
			if _, err := w.Write(chunk); err != nil {
				stuck <- err
				return
			}
		}
		stuck <- nil
	}))
	s.Handle("/slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok")) // buffered until the handler returns
		time.Sleep(time.Second)
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Shutdown(context.Background()) })

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n") // and never read
	select {
	case err := <-stuck:
		if err == nil {
			t.Fatal("1 GiB written to a client that reads nothing")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler is still blocked writing to a client that stopped reading")
	}

	resp, err := http.Get("http://" + l.Addr().String() + "/slow")
	if err != nil {
		t.Fatalf("GET /slow: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(body) != "ok" {
		t.Fatalf("GET /slow: %q, %v", body, err)
	}
}
