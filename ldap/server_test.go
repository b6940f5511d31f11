package ldap

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// svCapture records, as strings, the decoded fields of the requests the
// test handler sees (decoded fields alias the PDU, so they are copied).
type svCapture struct {
	mu   sync.Mutex
	seen []string
}

func (c *svCapture) add(format string, args ...any) {
	c.mu.Lock()
	c.seen = append(c.seen, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

func (c *svCapture) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

func svDirectoryHandler(capt *svCapture) HandlerFunc {
	return func(ctx context.Context, w ResponseWriter, r *Request) {
		switch r.Op {
		case OpBindRequest:
			b := &r.Bind
			capt.add("bind v%d %s simple=%v pw=%s", b.Version, b.Name, b.Simple, b.Password)
			if string(b.Password) != "secret" {
				w.WriteResult(&Result{Code: InvalidCredentials})
				return
			}
			SessionFrom(ctx).SetBind(string(b.Name))
			w.WriteResult(&Result{})
		case OpSearchRequest:
			s := &r.Search
			var attrs []string
			for _, a := range s.Attributes {
				attrs = append(attrs, string(a))
			}
			capt.add("search %s scope=%d size=%d filter=%d:%s=%s attrs=%v", s.BaseObject, s.Scope, s.SizeLimit,
				s.Filter.Kind, s.Filter.Attr, s.Filter.Value, attrs)
			for i := 0; i < 1000; i++ {
				e := Entry{DN: fmt.Sprintf("cn=user%04d,%s", i, s.BaseObject), Attributes: []Attribute{
					{Name: "cn", Values: [][]byte{[]byte(fmt.Sprintf("user%04d", i))}},
					{Name: "mail", Values: [][]byte{[]byte(fmt.Sprintf("u%d@example.com", i)), []byte("x@example.com")}},
				}}
				if err := w.WriteEntry(&e, s.TypesOnly); err != nil {
					return
				}
			}
			w.WriteResult(&Result{})
		case OpAddRequest:
			var parts []string
			for _, a := range r.Add.Attributes {
				parts = append(parts, fmt.Sprintf("%s=%q", a.Name, a.Values))
			}
			capt.add("add %s %s", r.Add.Entry, strings.Join(parts, " "))
			w.WriteResult(&Result{})
		case OpModifyRequest:
			var parts []string
			for _, c := range r.Modify.Changes {
				parts = append(parts, fmt.Sprintf("%d:%s=%q", c.Operation, c.Attribute.Name, c.Attribute.Values))
			}
			capt.add("modify %s %s", r.Modify.Object, strings.Join(parts, " "))
			w.WriteResult(&Result{})
		case OpDelRequest:
			capt.add("delete %s", r.Delete)
			w.WriteResult(&Result{Code: NoSuchObject, MatchedDN: "dc=example,dc=com", Diagnostic: "no such entry"})
		case OpModifyDNRequest:
			m := &r.ModifyDN
			capt.add("moddn %s %s del=%v sup=%v:%s", m.Entry, m.NewRDN, m.DeleteOldRDN, m.HasNewSuperior, m.NewSuperior)
			w.WriteResult(&Result{})
		case OpCompareRequest:
			c := &r.Compare
			capt.add("compare %s %s=%s", c.Entry, c.Attr, c.Value)
			w.WriteResult(&Result{Code: CompareTrue})
		case OpExtendedRequest:
			capt.add("extended %s", r.Extended.Name)
			w.WriteResult(&Result{ResponseValue: []byte("dn:" + SessionFrom(ctx).BindDN())})
		default:
			w.WriteResult(&Result{Code: ProtocolError})
		}
	}
}

func TestServerGoLDAPClient(t *testing.T) {
	capt := new(svCapture)
	ts := svStartServer(t, &Server{Handler: svDirectoryHandler(capt)})
	c, err := goldap.DialURL("ldap://" + ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if err := c.Bind("cn=admin,dc=example,dc=com", "wrong"); !goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) {
		t.Fatalf("bad bind: %v", err)
	}
	if err := c.Bind("cn=admin,dc=example,dc=com", "secret"); err != nil {
		t.Fatalf("bind: %v", err)
	}
	res, err := c.Search(goldap.NewSearchRequest("dc=example,dc=com", goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		0, 0, false, "(cn=user0001)", []string{"cn", "mail"}, nil))
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if len(res.Entries) != 1000 {
		t.Fatalf("%d entries, want 1000", len(res.Entries))
	}
	for i, e := range res.Entries {
		if want := fmt.Sprintf("cn=user%04d,dc=example,dc=com", i); e.DN != want {
			t.Fatalf("entry %d is %q, want %q", i, e.DN, want)
		}
		if got := e.GetAttributeValues("mail"); len(got) != 2 || got[0] != fmt.Sprintf("u%d@example.com", i) {
			t.Fatalf("entry %d mail %q", i, got)
		}
	}
	add := goldap.NewAddRequest("cn=new,dc=example,dc=com", nil)
	add.Attribute("objectClass", []string{"person", "top"})
	add.Attribute("sn", []string{"New"})
	if err := c.Add(add); err != nil {
		t.Fatalf("add: %v", err)
	}
	mod := goldap.NewModifyRequest("cn=new,dc=example,dc=com", nil)
	mod.Replace("mail", []string{"a@b.c"})
	mod.Delete("description", nil)
	mod.Add("sn", []string{"Newer"})
	if err := c.Modify(mod); err != nil {
		t.Fatalf("modify: %v", err)
	}
	err = c.Del(goldap.NewDelRequest("cn=gone,dc=example,dc=com", nil))
	var lerr *goldap.Error
	if !errors.As(err, &lerr) || lerr.ResultCode != goldap.LDAPResultNoSuchObject || lerr.MatchedDN != "dc=example,dc=com" {
		t.Fatalf("delete: %v", err)
	}
	if err := c.ModifyDN(goldap.NewModifyDNRequest("cn=new,dc=example,dc=com", "cn=renamed", true, "ou=people,dc=example,dc=com")); err != nil {
		t.Fatalf("moddn: %v", err)
	}
	ok, err := c.Compare("cn=renamed,ou=people,dc=example,dc=com", "sn", "Newer")
	if err != nil || !ok {
		t.Fatalf("compare: %v %v", ok, err)
	}
	who, err := c.WhoAmI(nil)
	if err != nil || who.AuthzID != "dn:cn=admin,dc=example,dc=com" {
		t.Fatalf("whoami: %+v %v", who, err)
	}

	want := []string{
		"bind v3 cn=admin,dc=example,dc=com simple=true pw=wrong",
		"bind v3 cn=admin,dc=example,dc=com simple=true pw=secret",
		"search dc=example,dc=com scope=2 size=0 filter=3:cn=user0001 attrs=[cn mail]",
		`add cn=new,dc=example,dc=com objectClass=["person" "top"] sn=["New"]`,
		`modify cn=new,dc=example,dc=com 2:mail=["a@b.c"] 1:description=[] 0:sn=["Newer"]`,
		"delete cn=gone,dc=example,dc=com",
		"moddn cn=new,dc=example,dc=com cn=renamed del=true sup=true:ou=people,dc=example,dc=com",
		"compare cn=renamed,ou=people,dc=example,dc=com sn=Newer",
		"extended 1.3.6.1.4.1.4203.1.11.3",
	}
	got := capt.all()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("handler saw:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// svObserver counts events.
type svObserver struct {
	opened, closed atomic.Int64
	mu             sync.Mutex
	ops            map[string]int
}

func (o *svObserver) ConnOpened() { o.opened.Add(1) }
func (o *svObserver) ConnClosed() { o.closed.Add(1) }
func (o *svObserver) OpDone(op Op, code ResultCode, d time.Duration) {
	o.mu.Lock()
	if o.ops == nil {
		o.ops = map[string]int{}
	}
	o.ops[fmt.Sprintf("%v/%d", op, code)]++
	o.mu.Unlock()
}

func TestServerObserver(t *testing.T) {
	ob := new(svObserver)
	ts := svStartServer(t, &Server{Observer: ob, Handler: svEntryHandler(1)})
	for i := 0; i < 3; i++ {
		rc := svDialRaw(t, ts.addr)
		rc.send(svSearchPDU(1, "o=x"), svBindPDU(2, "", ""))
		rc.mustRecv()
		rc.mustRecv()
		rc.mustRecv()
		rc.send(svUnbindPDU(3))
		rc.expectEOF(2 * time.Second)
	}
	svWaitFor(t, "connections closed", func() bool { return ob.closed.Load() == 3 })
	ob.mu.Lock()
	defer ob.mu.Unlock()
	if ob.opened.Load() != 3 || ob.ops["searchRequest/0"] != 3 || ob.ops["bindRequest/0"] != 3 || ob.ops["unbindRequest/0"] != 3 {
		t.Fatalf("opened=%d ops=%v", ob.opened.Load(), ob.ops)
	}
}

func TestServerMaxConnections(t *testing.T) {
	ts := svStartServer(t, &Server{MaxConnections: 2, Handler: svEntryHandler(0)})
	var rcs []*svRawClient
	for i := 0; i < 2; i++ {
		rc := svDialRaw(t, ts.addr)
		rc.send(svBindPDU(1, "", ""))
		rc.mustRecv()
		rcs = append(rcs, rc)
	}
	over := svDialRaw(t, ts.addr)
	over.send(svBindPDU(1, "", "")) // unread request bytes must not destroy the notice
	over.expectNotice(Busy)
	over.expectEOF(2 * time.Second)
	if n := ts.ConnCount(); n != 2 {
		t.Fatalf("ConnCount %d, want 2", n)
	}
	rcs[0].send(svUnbindPDU(2))
	rcs[0].expectEOF(2 * time.Second)
	svWaitFor(t, "slot to free", func() bool { return ts.ConnCount() == 1 })
	rc := svDialRaw(t, ts.addr)
	rc.send(svBindPDU(1, "", ""))
	if r := rc.mustRecv(); r.op != OpBindResponse || r.code != Success {
		t.Fatalf("got %+v after a slot freed", r)
	}
}

func TestServerShutdownGraceful(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if string(r.Search.BaseObject) == "o=slow" {
			started <- struct{}{}
			<-release
		}
		w.WriteResult(&Result{Diagnostic: string(r.Search.BaseObject)})
	})})
	busy := svDialRaw(t, ts.addr)
	busy.send(svSearchPDU(1, "o=slow"))
	<-started
	idle := svDialRaw(t, ts.addr)
	idle.send(svBindPDU(1, "", ""))
	idle.mustRecv()

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- ts.Shutdown(context.Background()) }()

	idle.expectNotice(Unavailable)
	idle.expectEOF(2 * time.Second)
	select {
	case err := <-ts.serveCh:
		if !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve returned %v", err)
		}
		ts.serveCh <- err // for the cleanup
	case <-time.After(2 * time.Second):
		t.Fatal("Serve still running after Shutdown")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Fatal("listener still accepting after Shutdown")
	}
	// A request arriving meanwhile is refused.
	busy.send(svSearchPDU(2, "o=late"))
	if r := busy.mustRecv(); r.id != 2 || r.code != Unavailable {
		t.Fatalf("request during shutdown answered %+v", r)
	}
	select {
	case err := <-shutdownErr:
		t.Fatalf("Shutdown returned %v with an operation in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if r := busy.mustRecv(); r.id != 1 || r.code != Success || r.diag != "o=slow" {
		t.Fatalf("in-flight op answered %+v", r)
	}
	busy.expectNotice(Unavailable)
	busy.expectEOF(2 * time.Second)
	select {
	case err := <-shutdownErr:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return once the operation finished")
	}
	if n := ts.ConnCount(); n != 0 {
		t.Fatalf("ConnCount %d after Shutdown", n)
	}
}

func TestServerShutdownDeadline(t *testing.T) {
	cancelled := make(chan struct{})
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		<-ctx.Done()
		close(cancelled)
		w.WriteResult(&Result{})
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	svWaitFor(t, "operation to start", func() bool { return ts.ConnCount() == 1 })
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown returned %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Shutdown took %v", d)
	}
	rc.expectNotice(Unavailable)
	rc.expectEOF(2 * time.Second)
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("handler context not cancelled by forced shutdown")
	}
}

// svFlakyListener fails Accept with temporary errors a few times.
type svFlakyListener struct {
	net.Listener
	fails atomic.Int32
}

type svTempErr struct{}

func (svTempErr) Error() string   { return "temporary accept failure" }
func (svTempErr) Timeout() bool   { return false }
func (svTempErr) Temporary() bool { return true }

func (l *svFlakyListener) Accept() (net.Conn, error) {
	switch n := l.fails.Add(1); {
	case n <= 3:
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	case n <= 5:
		return nil, svTempErr{}
	}
	return l.Listener.Accept()
}

func TestServerAcceptBackoff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &svFlakyListener{Listener: l}
	start := time.Now()
	ts := svStartServerOn(t, &Server{Handler: svEntryHandler(1)}, fl)
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	if r := rc.mustRecv(); r.op != OpSearchResultEntry {
		t.Fatalf("got %+v", r)
	}
	// 5+10+20+40+80 ms of back-off before the sixth Accept.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("served after %v: no back-off", d)
	}
	if !strings.Contains(ts.logs.String(), "retrying") {
		t.Fatal("accept errors not logged")
	}
	select {
	case err := <-ts.serveCh:
		t.Fatalf("Serve returned %v", err)
	default:
	}
}

func TestServerAcceptPermanentError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	srv := &Server{Handler: svEntryHandler(0)}
	if err := srv.Serve(l); err == nil || errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve on a closed listener returned %v", err)
	}
}

func TestServerManyIdleConnections(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		need := uint64(2*n + 100)
		if rl.Cur < need && rl.Max >= need {
			rl.Cur = need
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl)
		}
		if rl.Cur < need {
			n = int(rl.Cur-100) / 2
			t.Logf("descriptor limit %d: using %d connections", rl.Cur, n)
		}
	}
	ts := svStartServer(t, &Server{Handler: svEntryHandler(1)})
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		conns = append(conns, c)
	}
	active := svDialRaw(t, ts.addr)
	start := time.Now()
	for i := 1; i <= 200; i++ {
		active.send(svSearchPDU(int64(i), "o=x"))
		if r := active.mustRecv(); r.op != OpSearchResultEntry || r.id != int64(i) {
			t.Fatalf("got %+v", r)
		}
		active.mustRecv()
	}
	t.Logf("%d idle connections; 200 searches on another took %v", n, time.Since(start))
	svWaitFor(t, "all connections registered", func() bool { return ts.ConnCount() == n+1 })
}

func TestServerZeroValueDefaults(t *testing.T) {
	var s Server
	if s.maxBefore() != 262143 || s.maxAfter() != 4194303 || s.maxInFlight() != 32 ||
		s.readTimeout() != 30*time.Second || s.writeTimeout() != 30*time.Second || s.idleTimeout() != 15*time.Minute {
		t.Fatal("defaults not applied")
	}
	s.IdleTimeout = -1
	if s.idleTimeout() != 0 {
		t.Fatal("negative timeout does not disable")
	}
	// No handler: operations are refused, not crashed.
	ts := svStartServer(t, &s)
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	if r := rc.mustRecv(); r.code != UnwillingToPerform {
		t.Fatalf("got %+v", r)
	}
}

func TestServerCloseCancelsOperations(t *testing.T) {
	cancelled := make(chan struct{})
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		<-ctx.Done()
		close(cancelled)
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	svWaitFor(t, "connection", func() bool { return ts.ConnCount() == 1 })
	time.Sleep(10 * time.Millisecond)
	ts.Close()
	rc.expectEOF(2 * time.Second)
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not cancel the operation")
	}
	if err := ts.ListenAndServe("127.0.0.1:0"); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("ListenAndServe after Close: %v", err)
	}
}

// BenchmarkServeSearch measures a search round trip over loopback: one
// entry and the result, with a trivial handler. The client writes
// pre-encoded requests and frames replies without allocating, so allocs/op
// is, in practice, the server's share (TestServerAllocsPerSearch bounds it).
func BenchmarkServeSearch(b *testing.B) {
	e := Entry{DN: "cn=bench,dc=example,dc=com", Attributes: []Attribute{
		{Name: "cn", Values: [][]byte{[]byte("bench")}},
		{Name: "objectClass", Values: [][]byte{[]byte("person"), []byte("top")}},
	}}
	h := HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		w.WriteEntry(&e, r.Search.TypesOnly)
		w.WriteResult(&Result{})
	})
	ts := svStartServer(b, &Server{Handler: h})
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	// Pre-encode requests for IDs 1..255 and read replies with a tiny
	// allocation-free framer, so the client adds as little as possible.
	reqs := make([][]byte, 256)
	for i := 1; i < 256; i++ {
		reqs[i] = svSearchPDU(int64(i), "dc=example,dc=com")
	}
	br := newBufReader(c)
	buf := make([]byte, 0, 512)
	roundTrip := func(i int) {
		if _, err := c.Write(reqs[i%255+1]); err != nil {
			b.Fatal(err)
		}
		for k := 0; k < 2; k++ {
			if buf, err = ReadPDU(br, buf[:0], 1<<20); err != nil {
				b.Fatal(err)
			}
		}
	}
	for i := 0; i < 100; i++ {
		roundTrip(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		roundTrip(i)
	}
}

// BenchmarkServeSearchPipelined keeps up to 16 searches in flight on one
// connection: it exercises per-op dispatch and group-commit flushing.
func BenchmarkServeSearchPipelined(b *testing.B) {
	h := HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		e := Entry{DN: "cn=bench,dc=example,dc=com", Attributes: []Attribute{{Name: "cn", Values: [][]byte{[]byte("bench")}}}}
		w.WriteEntry(&e, false)
		w.WriteResult(&Result{})
	})
	ts := svStartServer(b, &Server{Handler: h})
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const depth = 16
	// IDs cycle through 1..255; with at most depth outstanding they never
	// collide.
	reqs := make([][]byte, 256)
	for i := 1; i < 256; i++ {
		reqs[i] = svSearchPDU(int64(i), "dc=example,dc=com")
	}
	tokens := make(chan struct{}, depth)
	for i := 0; i < depth; i++ {
		tokens <- struct{}{}
	}
	done := make(chan error, 1)
	b.ReportAllocs()
	b.ResetTimer()
	go func() {
		br := newBufReader(c)
		buf := make([]byte, 0, 512)
		var err error
		for n := 0; n < b.N; {
			if buf, err = ReadPDU(br, buf[:0], 1<<20); err != nil {
				break
			}
			_, msg, _, _ := readTLV(buf)
			_, _, rest, _ := readTLV(msg)
			if len(rest) > 0 && rest[0]&0x1f == byte(OpSearchResultDone) {
				n++
				tokens <- struct{}{}
			}
		}
		done <- err
	}()
	for i := 0; i < b.N; i++ {
		<-tokens
		if _, err := c.Write(reqs[i%255+1]); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// TestServerAllocsPerSearch bounds the server-side allocations of a search
// round trip: the client side here allocates nothing once warm, so the
// process total is the server's.
func TestServerAllocsPerSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count")
	}
	e := Entry{DN: "cn=bench,dc=example,dc=com", Attributes: []Attribute{{Name: "cn", Values: [][]byte{[]byte("bench")}}}}
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		w.WriteEntry(&e, false)
		w.WriteResult(&Result{})
	})})
	c, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := svSearchPDU(1, "dc=example,dc=com")
	br := newBufReader(c)
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(500, func() {
		c.Write(req)
		for k := 0; k < 2; k++ {
			if buf, err = ReadPDU(br, buf[:0], 1<<20); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Logf("allocations per search round trip (server side): %.1f", allocs)
	if allocs > 12 {
		t.Fatalf("%.1f allocations per search; the hot path regressed", allocs)
	}
}

func svDialRawFrom(t testing.TB, addr, src string) *svRawClient {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &svRawClient{t: t, c: c, r: bufio.NewReader(c)}
}

// Connections beyond MaxConnectionsPerIP from one address get busy; other
// addresses and exempt ones are served, and a closed connection frees its
// slot.
func TestServerMaxConnectionsPerIP(t *testing.T) {
	ts := svStartServer(t, &Server{MaxConnectionsPerIP: 2, Handler: svEntryHandler(0),
		ConnLimitExempt: []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}})
	served := func(src string) *svRawClient {
		t.Helper()
		rc := svDialRawFrom(t, ts.addr, src)
		rc.send(svBindPDU(1, "", ""))
		if r := rc.mustRecv(); r.op != OpBindResponse || r.code != Success {
			t.Fatalf("from %s: got %+v", src, r)
		}
		return rc
	}
	first := served("127.0.0.1")
	served("127.0.0.1")
	over := svDialRawFrom(t, ts.addr, "127.0.0.1")
	over.send(svBindPDU(1, "", ""))
	over.expectNotice(Busy)
	over.expectEOF(2 * time.Second)
	served("127.0.0.2") // another address has its own count
	for range 4 {
		served("127.0.0.3") // exempt
	}
	first.send(svUnbindPDU(2))
	first.expectEOF(2 * time.Second)
	svWaitFor(t, "slot to free", func() bool { return ts.ConnCount() == 6 })
	served("127.0.0.1")
}

// wrapped is a ResponseWriter wrapper that knows nothing of Flush.
type wrapped struct{ ResponseWriter }

func (w wrapped) Unwrap() ResponseWriter { return w.ResponseWriter }

type countingFlusher struct {
	ResponseWriter
	n int
}

func (f *countingFlusher) Flush() error { f.n++; return nil }

func TestFlushThroughWrappers(t *testing.T) {
	f := &countingFlusher{}
	if err := Flush(wrapped{wrapped{f}}); err != nil || f.n != 1 {
		t.Fatalf("Flush through two wrappers: %v, %d flushes", err, f.n)
	}
	if err := Flush(wrapped{}); err != nil {
		t.Fatalf("Flush of a writer that cannot: %v", err)
	}
}
