package ldap

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// ---- test harness -------------------------------------------------------

// svLockedBuffer collects log output from many goroutines.
type svLockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *svLockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *svLockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// svTestServer runs srv on a loopback listener until the test ends.
type svTestServer struct {
	*Server
	addr    string
	logs    *svLockedBuffer
	serveCh chan error
}

func svStartServer(t testing.TB, srv *Server) *svTestServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return svStartServerOn(t, srv, l)
}

func svStartServerOn(t testing.TB, srv *Server, l net.Listener) *svTestServer {
	t.Helper()
	logs := new(svLockedBuffer)
	if srv.Logger == nil {
		srv.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ts := &svTestServer{Server: srv, addr: l.Addr().String(), logs: logs, serveCh: make(chan error, 1)}
	go func() { ts.serveCh <- srv.Serve(l) }()
	t.Cleanup(func() {
		srv.Close()
		select {
		case err := <-ts.serveCh:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Close")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return ts
}

// svRawClient speaks BER directly, for pipelining and malformed input.
type svRawClient struct {
	t testing.TB
	c net.Conn
	r *bufio.Reader
}

func svDialRaw(t testing.TB, addr string) *svRawClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &svRawClient{t: t, c: c, r: bufio.NewReader(c)}
}

func (rc *svRawClient) send(pdus ...[]byte) {
	rc.t.Helper()
	if _, err := rc.c.Write(bytes.Join(pdus, nil)); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// svResponse is a decoded server message.
type svResponse struct {
	id   int64
	op   Op
	code ResultCode // for LDAPResult-bearing responses
	diag string
	name string // ExtendedResponse responseName
	dn   string // SearchResultEntry objectName
	pkt  *ber.Packet
}

func (rc *svRawClient) recv(timeout time.Duration) (svResponse, error) {
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	p, err := ber.ReadPacket(rc.r)
	if err != nil {
		return svResponse{}, err
	}
	return svParseResponse(p)
}

func (rc *svRawClient) mustRecv() svResponse {
	rc.t.Helper()
	r, err := rc.recv(5 * time.Second)
	if err != nil {
		rc.t.Fatalf("recv: %v", err)
	}
	return r
}

// expectEOF asserts that the server closes the connection without sending
// anything more.
func (rc *svRawClient) expectEOF(timeout time.Duration) {
	rc.t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(timeout))
	var b [1]byte
	n, err := rc.r.Read(b[:])
	if n != 0 || err == nil {
		rc.t.Fatalf("expected close, read %d bytes (%x), err %v", n, b[:n], err)
	}
	if isTimeout(err) {
		rc.t.Fatalf("connection still open after %v", timeout)
	}
}

func (rc *svRawClient) expectNotice(code ResultCode) {
	rc.t.Helper()
	r := rc.mustRecv()
	if r.id != 0 || r.op != OpExtendedResponse || r.name != OIDNoticeOfDisconnection || r.code != code {
		rc.t.Fatalf("got id=%d op=%v name=%q code=%d diag=%q, want notice of disconnection with code %d",
			r.id, r.op, r.name, r.code, r.diag, code)
	}
}

func svParseResponse(p *ber.Packet) (svResponse, error) {
	if len(p.Children) < 2 {
		return svResponse{}, fmt.Errorf("short LDAPMessage")
	}
	id, ok := p.Children[0].Value.(int64)
	if !ok {
		return svResponse{}, fmt.Errorf("messageID is %T", p.Children[0].Value)
	}
	op := p.Children[1]
	r := svResponse{id: id, op: Op(op.Tag), pkt: p}
	switch r.op {
	case OpSearchResultEntry:
		r.dn = string(op.Children[0].ByteValue)
	case OpSearchResultReference, OpIntermediateResponse:
	default:
		if len(op.Children) < 3 {
			return r, fmt.Errorf("short LDAPResult")
		}
		r.code = ResultCode(svBerInt(op.Children[0]))
		r.diag = string(op.Children[2].ByteValue)
		for _, c := range op.Children[3:] {
			if c.ClassType == ber.ClassContext && c.Tag == 10 {
				r.name = c.Data.String()
			}
		}
	}
	return r, nil
}

func svBerInt(p *ber.Packet) int64 {
	if v, ok := p.Value.(int64); ok {
		return v
	}
	v, _ := ber.ParseInt64(p.ByteValue)
	return v
}

// ---- request encoders (the client side, via asn1-ber) -------------------

func svEnvelope(id int64, op *ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	return p.Bytes()
}

func svOctets(s string) *ber.Packet {
	return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, s, "")
}

func svSearchPDU(id int64, base string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpSearchRequest), nil, "")
	op.AppendChild(svOctets(base))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 2, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 7, "objectClass", ""))
	op.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, ""))
	return svEnvelope(id, op)
}

func svBindPDU(id int64, dn, password string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(OpBindRequest), nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	op.AppendChild(svOctets(dn))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, ""))
	return svEnvelope(id, op)
}

func svAbandonPDU(id, target int64) []byte {
	return svEnvelope(id, ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, ber.Tag(OpAbandonRequest), target, ""))
}

func svUnbindPDU(id int64) []byte {
	return []byte{0x30, 0x05, 0x02, 0x01, byte(id), 0x42, 0x00}
}

func svDeletePDU(id int64, dn string) []byte {
	return svEnvelope(id, ber.NewString(ber.ClassApplication, ber.TypePrimitive, ber.Tag(OpDelRequest), dn, ""))
}

// ---- handlers -----------------------------------------------------------

// svEntryHandler answers a search with n entries named after the base.
func svEntryHandler(n int) HandlerFunc {
	return func(ctx context.Context, w ResponseWriter, r *Request) {
		if r.Op != OpSearchRequest {
			w.WriteResult(&Result{})
			return
		}
		base := string(r.Search.BaseObject)
		for i := 0; i < n; i++ {
			e := Entry{DN: fmt.Sprintf("cn=e%d,%s", i, base), Attributes: []Attribute{{Name: "cn", Values: [][]byte{[]byte(fmt.Sprint("e", i))}}}}
			if err := w.WriteEntry(&e, false); err != nil {
				return
			}
		}
		w.WriteResult(&Result{})
	}
}

func svWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// ---- tests ----------------------------------------------------------------

func TestConnPipelining(t *testing.T) {
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		// Later requests finish first, forcing out-of-order answers.
		time.Sleep(time.Duration(20-r.MessageID) * time.Millisecond)
		svEntryHandler(2).ServeLDAP(ctx, w, r)
	})})
	rc := svDialRaw(t, ts.addr)
	const n = 10
	var pdus [][]byte
	for i := 1; i <= n; i++ {
		pdus = append(pdus, svSearchPDU(int64(i), fmt.Sprintf("o=req%d", i)))
	}
	rc.send(pdus...)
	entries := map[int64]int{}
	done := map[int64]bool{}
	var order []int64
	for len(done) < n {
		r := rc.mustRecv()
		if r.id < 1 || r.id > n {
			t.Fatalf("unexpected message ID %d", r.id)
		}
		if done[r.id] {
			t.Fatalf("message after SearchResultDone for %d", r.id)
		}
		switch r.op {
		case OpSearchResultEntry:
			if want := fmt.Sprintf("cn=e%d,o=req%d", entries[r.id], r.id); r.dn != want {
				t.Fatalf("entry %q for ID %d, want %q", r.dn, r.id, want)
			}
			entries[r.id]++
		case OpSearchResultDone:
			if r.code != Success || entries[r.id] != 2 {
				t.Fatalf("ID %d done with code %d after %d entries", r.id, r.code, entries[r.id])
			}
			done[r.id] = true
			order = append(order, r.id)
		default:
			t.Fatalf("unexpected op %v", r.op)
		}
	}
	if order[0] == 1 {
		t.Logf("answers arrived in request order %v (allowed, but the handler delays should reorder them)", order)
	}
}

func TestConnMaxInFlightBackpressure(t *testing.T) {
	const window = 4
	var started atomic.Int32
	release := make(chan struct{})
	ts := svStartServer(t, &Server{MaxInFlight: window, Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		started.Add(1)
		<-release
		w.WriteResult(&Result{})
	})})
	rc := svDialRaw(t, ts.addr)
	const n = 12
	var pdus [][]byte
	for i := 1; i <= n; i++ {
		pdus = append(pdus, svSearchPDU(int64(i), "o=x"))
	}
	rc.send(pdus...)
	svWaitFor(t, "window to fill", func() bool { return started.Load() == window })
	time.Sleep(100 * time.Millisecond)
	if got := started.Load(); got != window {
		t.Fatalf("%d handlers started with MaxInFlight=%d", got, window)
	}
	close(release)
	seen := map[int64]bool{}
	for len(seen) < n {
		r := rc.mustRecv()
		if r.op != OpSearchResultDone || r.code != Success || seen[r.id] {
			t.Fatalf("unexpected svResponse %+v", r)
		}
		seen[r.id] = true
	}
	if got := started.Load(); got != n {
		t.Fatalf("%d handlers ran, want %d", got, n)
	}
}

func TestConnAbandon(t *testing.T) {
	started := make(chan struct{}, 1)
	type outcome struct{ entryErr, resultErr error }
	stopped := make(chan outcome, 1)
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if string(r.Search.BaseObject) != "o=block" {
			svEntryHandler(1).ServeLDAP(ctx, w, r)
			return
		}
		started <- struct{}{}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
		e := Entry{DN: "cn=late"}
		var o outcome
		o.entryErr = w.WriteEntry(&e, false)
		o.resultErr = w.WriteResult(&Result{Code: Canceled})
		stopped <- o
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=block"))
	<-started
	rc.send(svAbandonPDU(2, 1))
	select {
	case o := <-stopped:
		if !errors.Is(o.entryErr, ErrAbandoned) || !errors.Is(o.resultErr, ErrAbandoned) {
			t.Fatalf("writes after abandon returned %v, %v; want ErrAbandoned", o.entryErr, o.resultErr)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("handler context not cancelled by abandon")
	}
	// Abandoning an unknown ID is silently ignored.
	rc.send(svAbandonPDU(3, 99), svSearchPDU(4, "o=next"))
	for _, want := range []Op{OpSearchResultEntry, OpSearchResultDone} {
		r := rc.mustRecv()
		if r.id != 4 || r.op != want {
			t.Fatalf("got id=%d op=%v, want id 4 %v (nothing for the abandoned or the abandon requests)", r.id, r.op, want)
		}
	}
}

func TestConnHandlerPanic(t *testing.T) {
	logs := new(svLockedBuffer)
	ts := svStartServer(t, &Server{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
			if string(r.Search.BaseObject) == "o=panic" {
				panic("boom")
			}
			svEntryHandler(1).ServeLDAP(ctx, w, r)
		}),
	})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=panic"))
	if r := rc.mustRecv(); r.id != 1 || r.op != OpSearchResultDone || r.code != Other {
		t.Fatalf("got %+v, want searchResDone other(80)", r)
	}
	rc.send(svSearchPDU(2, "o=fine"))
	if r := rc.mustRecv(); r.id != 2 || r.op != OpSearchResultEntry {
		t.Fatalf("connection unusable after panic: %+v", r)
	}
	rc.mustRecv()
	rc2 := svDialRaw(t, ts.addr)
	rc2.send(svSearchPDU(1, "o=fine"))
	if r := rc2.mustRecv(); r.op != OpSearchResultEntry {
		t.Fatalf("server unusable after panic: %+v", r)
	}
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "boom") || !strings.Contains(out, "goroutine") {
		t.Fatalf("panic not logged with stack at error level:\n%s", out)
	}
}

func TestConnHandlerWithoutResult(t *testing.T) {
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if r.Op == OpSearchRequest {
			e := Entry{DN: "cn=only"}
			w.WriteEntry(&e, false)
		}
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svDeletePDU(7, "cn=x"))
	if r := rc.mustRecv(); r.id != 7 || r.op != OpDelResponse || r.code != Other {
		t.Fatalf("got %+v, want delResponse other(80)", r)
	}
	rc.send(svSearchPDU(8, "o=x"))
	if r := rc.mustRecv(); r.op != OpSearchResultEntry {
		t.Fatalf("got %+v", r)
	}
	if r := rc.mustRecv(); r.op != OpSearchResultDone || r.code != Other || r.diag == "" {
		t.Fatalf("got %+v, want searchResDone other(80) with a diagnostic", r)
	}
}

func TestConnNoticeOnBadInput(t *testing.T) {
	cases := []struct {
		name string
		pdu  []byte
	}{
		{"unknown op [APPLICATION 30]", []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x7e, 0x00}},
		{"svResponse op sent as request", []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x61, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00}},
		{"integer overruns message", []byte{0x30, 0x03, 0x02, 0x05, 0x01}},
		{"not a SEQUENCE", []byte{0x31, 0x03, 0x02, 0x01, 0x01}},
		{"indefinite length", []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00}},
		{"message ID zero", []byte{0x30, 0x05, 0x02, 0x01, 0x00, 0x42, 0x00}},
	}
	ts := svStartServer(t, &Server{Handler: svEntryHandler(1)})
	other := svDialRaw(t, ts.addr)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc := svDialRaw(t, ts.addr)
			rc.send(tc.pdu)
			rc.expectNotice(ProtocolError)
			rc.expectEOF(2 * time.Second)
			// An unrelated connection is unaffected.
			other.send(svSearchPDU(int64(i+1), "o=x"))
			if r := other.mustRecv(); r.op != OpSearchResultEntry {
				t.Fatalf("other connection got %+v", r)
			}
			other.mustRecv()
		})
	}
	if !strings.Contains(ts.logs.String(), "level=WARN") {
		t.Error("protocol errors not logged at warn level")
	}
}

func TestConnPDUSizeCap(t *testing.T) {
	ts := svStartServer(t, &Server{
		MaxPDUBeforeBind: 1024,
		MaxPDUAfterBind:  64 << 10,
		Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
			if r.Op == OpBindRequest {
				SessionFrom(ctx).SetBind(string(r.Bind.Name))
			}
			w.WriteResult(&Result{})
		}),
	})
	big := svSearchPDU(2, "o="+strings.Repeat("x", 2000))

	rc := svDialRaw(t, ts.addr)
	rc.send(big)
	rc.expectNotice(ProtocolError)
	rc.expectEOF(2 * time.Second)

	rc = svDialRaw(t, ts.addr)
	rc.send(svBindPDU(1, "cn=admin", "secret"))
	if r := rc.mustRecv(); r.op != OpBindResponse || r.code != Success {
		t.Fatalf("bind: %+v", r)
	}
	rc.send(big)
	if r := rc.mustRecv(); r.id != 2 || r.op != OpSearchResultDone || r.code != Success {
		t.Fatalf("large PDU after bind: %+v", r)
	}
	// The cap after bind still holds.
	rc.send(svSearchPDU(3, "o="+strings.Repeat("y", 70<<10)))
	rc.expectNotice(ProtocolError)
	rc.expectEOF(2 * time.Second)
}

func TestConnIdleTimeout(t *testing.T) {
	ts := svStartServer(t, &Server{
		IdleTimeout: 400 * time.Millisecond,
		Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
			if string(r.Search.BaseObject) == "o=slow" {
				time.Sleep(900 * time.Millisecond) // longer than the idle timeout
			}
			w.WriteResult(&Result{})
		}),
	})
	rc := svDialRaw(t, ts.addr)
	start := time.Now()
	rc.expectEOF(3 * time.Second)
	if d := time.Since(start); d < 350*time.Millisecond {
		t.Fatalf("closed after %v, before the idle timeout", d)
	}
	// A connection with an operation outstanding is not idle.
	rc = svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=slow"))
	if r := rc.mustRecv(); r.op != OpSearchResultDone || r.code != Success {
		t.Fatalf("slow op: %+v", r)
	}
	// Activity resets the timer.
	for i := 2; i < 5; i++ {
		time.Sleep(20 * time.Millisecond)
		rc.send(svSearchPDU(int64(i), "o=fast"))
		rc.mustRecv()
	}
	rc.expectEOF(3 * time.Second)
}

func TestConnSlowloris(t *testing.T) {
	ts := svStartServer(t, &Server{ReadTimeout: 200 * time.Millisecond, Handler: svEntryHandler(1)})
	slow := svDialRaw(t, ts.addr)
	pdu := svSearchPDU(1, "o=x")
	slow.send(pdu[:3])
	start := time.Now()
	closed := make(chan time.Duration, 1)
	go func() {
		slow.c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.Copy(io.Discard, slow.c)
		closed <- time.Since(start)
	}()
	fast := svDialRaw(t, ts.addr)
	answered := 0
	var d time.Duration
loop:
	for i := 1; ; i++ {
		fast.send(svSearchPDU(int64(i), "o=x"))
		fast.mustRecv()
		fast.mustRecv()
		answered++
		select {
		case d = <-closed:
			break loop
		default:
		}
	}
	if d < 150*time.Millisecond || d > 2*time.Second {
		t.Fatalf("stalled client cut after %v, want about the 200ms read timeout", d)
	}
	if answered < 5 {
		t.Fatalf("only %d answers to the other client meanwhile", answered)
	}
}

func TestConnBindSerialisation(t *testing.T) {
	var mu sync.Mutex
	var events []string
	record := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		switch r.Op {
		case OpBindRequest:
			record("bind")
		case OpSearchRequest:
			record("search start " + string(r.Search.BaseObject))
			time.Sleep(200 * time.Millisecond)
			record("search end " + string(r.Search.BaseObject))
		}
		w.WriteResult(&Result{})
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=a"), svBindPDU(2, "", ""), svSearchPDU(3, "o=b"))
	var ids []int64
	for i := 0; i < 3; i++ {
		ids = append(ids, rc.mustRecv().id)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"search start o=a", "search end o=a", "bind", "search start o=b", "search end o=b"}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", events, want)
	}
	if fmt.Sprint(ids) != "[1 2 3]" {
		t.Fatalf("responses for %v, want [1 2 3]", ids)
	}
}

func TestConnDuplicateMessageID(t *testing.T) {
	release := make(chan struct{})
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		if string(r.Search.BaseObject) == "o=block" {
			<-release
		}
		w.WriteResult(&Result{Diagnostic: string(r.Search.BaseObject)})
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(5, "o=block"), svSearchPDU(5, "o=dup"))
	if r := rc.mustRecv(); r.id != 5 || r.code != ProtocolError {
		t.Fatalf("duplicate ID answered %+v, want protocolError", r)
	}
	close(release)
	if r := rc.mustRecv(); r.id != 5 || r.code != Success || r.diag != "o=block" {
		t.Fatalf("first request answered %+v", r)
	}
	// Sequential reuse of an answered ID is fine.
	for i := 0; i < 20; i++ {
		rc.send(svSearchPDU(5, "o=again"))
		if r := rc.mustRecv(); r.code != Success {
			t.Fatalf("reused ID answered %+v", r)
		}
	}
}

func TestConnUnbind(t *testing.T) {
	cancelled := make(chan struct{})
	started := make(chan struct{})
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		w.WriteResult(&Result{})
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	<-started
	rc.send(svUnbindPDU(2))
	rc.expectEOF(2 * time.Second)
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("outstanding operation not cancelled by unbind")
	}
	svWaitFor(t, "connection to be released", func() bool { return ts.ConnCount() == 0 })
}

// svCountingListener counts the Write calls on accepted connections.
type svCountingListener struct {
	net.Listener
	writes atomic.Int64
}

type svCountingConn struct {
	*net.TCPConn
	l *svCountingListener
}

func (c svCountingConn) Write(p []byte) (int, error) {
	c.l.writes.Add(1)
	return c.TCPConn.Write(p)
}

func (l *svCountingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return svCountingConn{c.(*net.TCPConn), l}, nil
}

func TestConnEntriesBatched(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &svCountingListener{Listener: l}
	ts := svStartServerOn(t, &Server{Handler: svEntryHandler(1000)}, cl)
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	for i := 0; ; i++ {
		r := rc.mustRecv()
		if r.op == OpSearchResultDone {
			if i != 1000 {
				t.Fatalf("%d entries", i)
			}
			break
		}
	}
	// About 30 bytes an entry: 1000 entries fit in a couple of 32 KiB batches.
	if w := cl.writes.Load(); w > 5 {
		t.Fatalf("%d socket writes for 1000 entries; entries are not batched", w)
	}
}

func TestConnFlusher(t *testing.T) {
	proceed := make(chan struct{})
	ts := svStartServer(t, &Server{Handler: HandlerFunc(func(ctx context.Context, w ResponseWriter, r *Request) {
		e := Entry{DN: "cn=first"}
		w.WriteEntry(&e, false)
		w.(Flusher).Flush()
		<-proceed
		w.WriteResult(&Result{})
	})})
	rc := svDialRaw(t, ts.addr)
	rc.send(svSearchPDU(1, "o=x"))
	if r := rc.mustRecv(); r.op != OpSearchResultEntry || r.dn != "cn=first" {
		t.Fatalf("flushed entry not received: %+v", r)
	}
	close(proceed)
	if r := rc.mustRecv(); r.op != OpSearchResultDone {
		t.Fatalf("got %+v", r)
	}
}
