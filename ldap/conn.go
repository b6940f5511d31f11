package ldap

// One served connection: the reader loop, operation dispatch, the shared
// writer and teardown. The model is drawn at the top of server.go.

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

const (
	readBufSize    = 4 << 10
	writeBufSize   = 32 << 10
	flushThreshold = 32 << 10 // batch size at which entries are pushed out
	maxPooledBuf   = 64 << 10 // larger buffers are left to the GC
	initialBufSize = 512
)

var (
	pduBufPool    = sync.Pool{New: func() any { b := make([]byte, 0, initialBufSize); return &b }}
	outBufPool    = sync.Pool{New: func() any { b := make([]byte, 0, initialBufSize); return &b }}
	requestPool   = sync.Pool{New: func() any { return new(Request) }}
	bufReaderPool sync.Pool
	bufWriterPool sync.Pool
)

func putBuf(p *sync.Pool, b *[]byte) {
	if b == nil || cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	p.Put(b)
}

// maxPooledScratch bounds the decoder scratch a pooled Request may keep.
const maxPooledScratch = 1024

func putRequest(r *Request) {
	if r == nil || cap(r.filters) > maxPooledScratch || cap(r.values) > maxPooledScratch ||
		cap(r.attrs) > maxPooledScratch || cap(r.changes) > maxPooledScratch ||
		cap(r.anys) > maxPooledScratch || cap(r.controls) > maxPooledScratch {
		return
	}
	requestPool.Put(r)
}

func newBufReader(r io.Reader) *bufio.Reader {
	if v := bufReaderPool.Get(); v != nil {
		br := v.(*bufio.Reader)
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, readBufSize)
}

func newBufWriter(w io.Writer) *bufio.Writer {
	if v := bufWriterPool.Get(); v != nil {
		bw := v.(*bufio.Writer)
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, writeBufSize)
}

// serverConn is the server side of one connection.
type serverConn struct {
	srv    *Server
	rwc    net.Conn // the socket: deadlines, Close; reads and writes go through it until TLS starts
	br     *bufio.Reader
	sess   *Session
	ctx    context.Context // carries sess; ends when the connection does
	cancel context.CancelFunc
	log    *slog.Logger
	sem    chan struct{} // MaxInFlight window
	// handoff passes an operation to a worker goroutine waiting idle.
	handoff chan *operation

	mu         sync.Mutex
	ops        map[int32]*operation // abandonable operations by message ID
	active     int                  // dispatched operations whose handler has not returned
	idleWait   chan struct{}        // closed when active drops to 0
	reading    bool                 // the reader is handling a PDU
	closing    bool                 // the connection is going away
	lastActive time.Time            // when active last dropped to 0

	// Writer state, guarded by wmu.
	wmu      sync.Mutex
	wwaiting atomic.Int32 // writers queued on wmu
	bw       *bufio.Writer
	cw       connErrWriter
	wclosed  bool // nothing more may be written (notice sent, unbind)
	halfShut bool // write side shut after a notice: drain, then close

	// tlsConn is the TLS layer over rwc, nil in cleartext. Set before
	// serve starts (LDAPS) or by the reader during StartTLS with wmu held;
	// the writer side reads it under wmu.
	tlsConn *tls.Conn

	closeOnce sync.Once

	ipKey     netip.Prefix // client address counted by MaxConnectionsPerIP
	ipCounted bool
}

func (s *Server) newConn(rwc net.Conn, tlsCfg *tls.Config) *serverConn {
	var tc *tls.Conn
	if t, ok := rwc.(*tls.Conn); ok {
		// A listener from tls.NewListener: serve it as LDAPS.
		tc, rwc = t, t.NetConn()
	} else if tlsCfg != nil {
		tc = tls.Server(rwc, tlsCfg)
	}
	c := &serverConn{
		srv: s,
		rwc: rwc,
		sess: &Session{
			ID:         s.nextID.Add(1),
			RemoteAddr: rwc.RemoteAddr(),
			LocalAddr:  rwc.LocalAddr(),
		},
		sem:     make(chan struct{}, s.maxInFlight()),
		handoff: make(chan *operation),
		ops:     make(map[int32]*operation),
	}
	c.cw.c = c
	c.cw.conn = rwc
	if tc != nil {
		c.tlsConn = tc
		c.cw.conn = tc
	}
	c.ctx, c.cancel = context.WithCancel(WithSession(context.Background(), c.sess))
	c.log = s.logger().With("conn", c.sess.ID, "remote", addrString(c.sess.RemoteAddr))
	return c
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// connErrWriter is the bottom of the writer chain: it remembers the first
// write error (later writes fail with it at once), cancels the connection's
// operations and closes the socket so that the reader stops too. Guarded by
// serverConn.wmu.
type connErrWriter struct {
	c    *serverConn
	conn io.Writer // the socket, or its TLS layer once TLS is up
	err  error
}

func (w *connErrWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.conn.Write(p)
	if err != nil {
		w.err = err
		w.c.cancel()
		w.c.closeSocket()
		if !errors.Is(err, net.ErrClosed) {
			w.c.log.Debug("ldap: write failed; closing", "err", err)
		}
	}
	return n, err
}

func (c *serverConn) closeSocket() {
	c.closeOnce.Do(func() { c.rwc.Close() })
}

// serve is the connection goroutine: it reads and dispatches requests until
// the connection ends, then tears it down.
func (c *serverConn) serve() {
	c.br = newBufReader(c.rwc)
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("ldap: panic in connection reader", "panic", p, "stack", string(debug.Stack()))
		}
		c.teardown()
	}()
	if c.tlsConn != nil {
		// LDAPS: the handshake runs here, not in the accept loop, so a
		// slow client delays only itself.
		c.br.Reset(c.tlsConn)
		if !c.serveHandshake() {
			return
		}
	}
	for c.readRequest() {
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// waitForPDU blocks until the first octet of the next PDU is buffered under
// the idle deadline. An expired idle deadline closes the connection only if
// no operation is outstanding.
func (c *serverConn) waitForPDU() bool {
	if c.br.Buffered() > 0 {
		return true
	}
	idle := c.srv.idleTimeout()
	var dl time.Time
	if idle > 0 {
		dl = time.Now().Add(idle)
	}
	for {
		c.rwc.SetReadDeadline(dl)
		_, err := c.br.Peek(1)
		if err == nil {
			return true
		}
		switch {
		case isTimeout(err):
			c.mu.Lock()
			busy, closing, last := c.active > 0, c.closing, c.lastActive
			c.mu.Unlock()
			if closing {
				return false
			}
			now := time.Now()
			if busy {
				dl = now.Add(idle) // operations outstanding: not idle
				continue
			}
			if end := last.Add(idle); end.After(now) {
				dl = end // idle only since the last operation ended
				continue
			}
			c.log.Debug("ldap: closing idle connection", "idle", idle)
			return false
		case err == io.EOF:
			c.log.Debug("ldap: client closed connection")
		default:
			if !c.isClosing() {
				c.log.Debug("ldap: read failed; closing", "err", err)
			}
		}
		return false
	}
}

func (c *serverConn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// readRequest reads, decodes and dispatches one PDU. It reports whether
// the reader should continue.
func (c *serverConn) readRequest() bool {
	if !c.waitForPDU() {
		return false
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return false
	}
	c.reading = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading = false
		c.mu.Unlock()
	}()

	var dl time.Time
	if rt := c.srv.readTimeout(); rt > 0 {
		dl = time.Now().Add(rt)
	}
	c.rwc.SetReadDeadline(dl)
	max := c.srv.maxBefore()
	if c.sess.Authenticated() {
		max = c.srv.maxAfter()
	}
	bp := pduBufPool.Get().(*[]byte)
	pdu, err := ReadPDU(c.br, *bp, max)
	if err != nil {
		putBuf(&pduBufPool, bp)
		switch {
		case errors.Is(err, ErrPDUTooLarge):
			c.log.Warn("ldap: PDU over size limit; disconnecting", "limit", max)
			c.disconnect(ProtocolError, "PDU exceeds the size limit")
		case errors.Is(err, ErrMalformedPDU):
			c.log.Warn("ldap: malformed PDU framing; disconnecting")
			c.disconnect(ProtocolError, "malformed PDU")
		case isTimeout(err):
			c.log.Warn("ldap: PDU not completed within the read timeout; closing", "timeout", c.srv.readTimeout())
		case errors.Is(err, io.ErrUnexpectedEOF):
			c.log.Debug("ldap: client closed connection inside a PDU")
		default:
			if !c.isClosing() {
				c.log.Debug("ldap: read failed; closing", "err", err)
			}
		}
		return false
	}
	*bp = pdu
	start := time.Now()
	req := requestPool.Get().(*Request)
	if err := DecodeRequest(pdu, req); err != nil {
		putRequest(req)
		putBuf(&pduBufPool, bp)
		attrs := []any{"err", err}
		var de *DecodeError
		if errors.As(err, &de) && de.HasID {
			attrs = append(attrs, "msgid", de.MessageID)
		}
		c.log.Warn("ldap: undecodable request; disconnecting", attrs...)
		c.disconnect(ProtocolError, "malformed request")
		return false
	}
	return c.dispatch(req, bp, start)
}

// dispatch routes one decoded request. It owns req and bp.
func (c *serverConn) dispatch(req *Request, bp *[]byte, start time.Time) bool {
	switch req.Op {
	case OpUnbindRequest:
		// RFC 4511 section 4.3: no response; outstanding operations are
		// abandoned and the connection closed.
		c.log.Debug("ldap: unbind")
		putRequest(req)
		putBuf(&pduBufPool, bp)
		c.unbind()
		c.observe(OpUnbindRequest, Success, time.Since(start))
		return false
	case OpAbandonRequest:
		// RFC 4511 section 4.11: no response, even for an unknown ID.
		id := req.AbandonID
		putRequest(req)
		putBuf(&pduBufPool, bp)
		c.abandon(id)
		c.observe(OpAbandonRequest, Success, time.Since(start))
		return true
	}
	if c.srv.inShutdown.Load() {
		c.refuse(req, bp, Unavailable, "server is shutting down")
		return true
	}
	if req.Op == OpExtendedRequest && string(req.Extended.Name) == OIDStartTLS {
		return c.startTLS(req, bp, start)
	}
	o := &operation{c: c, req: req, pdu: bp, id: req.MessageID, op: req.Op, start: start}
	if req.Op == OpBindRequest {
		// RFC 4511 section 4.2.1: the server waits for every outstanding
		// operation before processing a bind, and starts no new one until
		// the bind completes: run it here, on the reader goroutine.
		if !c.waitOps() {
			putRequest(req)
			putBuf(&pduBufPool, bp)
			return false
		}
		// A bind in progress or failed leaves the session anonymous
		// (RFC 4511 section 4.2.1); the handler records success.
		c.sess.SetBind("")
		o.ctx, o.cancel = context.WithCancel(c.ctx)
		c.runOp(o)
		return true
	}
	select {
	case c.sem <- struct{}{}:
	case <-c.ctx.Done():
		putRequest(req)
		putBuf(&pduBufPool, bp)
		return false
	}
	c.mu.Lock()
	if _, dup := c.ops[o.id]; dup {
		c.mu.Unlock()
		<-c.sem
		c.log.Warn("ldap: message ID already in use", "msgid", o.id, "op", o.op.String())
		c.refuse(req, bp, ProtocolError, "message ID already in use")
		return true
	}
	o.ctx, o.cancel = context.WithCancel(c.ctx)
	o.async = true
	c.ops[o.id] = o
	c.active++
	c.mu.Unlock()
	select {
	case c.handoff <- o:
	default:
		go c.work(o)
	}
	return true
}

// workerIdle is how long a worker goroutine waits for a connection's next
// operation before it exits.
const workerIdle = 2 * time.Second

// work runs o, then the operations handed to it while it waits idle, so
// that a connection's requests reuse a goroutine whose stack has already
// grown to what the handler needs: starting a goroutine per request spent
// about a tenth of an indexed search's CPU on growing and copying stacks.
// An idle connection keeps no worker beyond workerIdle.
func (c *serverConn) work(o *operation) {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		c.runOp(o)
		t.Reset(workerIdle)
		select {
		case o = <-c.handoff:
		case <-t.C:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// refuse answers a request the server will not pass to the handler.
func (c *serverConn) refuse(req *Request, bp *[]byte, code ResultCode, msg string) {
	id, op := req.MessageID, req.Op
	putRequest(req)
	putBuf(&pduBufPool, bp)
	out := outBufPool.Get().(*[]byte)
	*out = AppendResult((*out)[:0], id, op.ResponseOp(), &Result{Code: code, Diagnostic: msg})
	c.write(nil, *out)
	putBuf(&outBufPool, out)
	c.observe(op, code, 0)
}

func (c *serverConn) observe(op Op, code ResultCode, d time.Duration) {
	if ob := c.srv.Observer; ob != nil {
		ob.OpDone(op, code, d)
	}
}

// waitOps waits until no dispatched operation is outstanding. It returns
// false if the connection ended first.
func (c *serverConn) waitOps() bool {
	c.mu.Lock()
	if c.active == 0 {
		c.mu.Unlock()
		return true
	}
	if c.idleWait == nil {
		c.idleWait = make(chan struct{})
	}
	ch := c.idleWait
	c.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-c.ctx.Done():
		return false
	}
}

var noHandler = HandlerFunc(func(_ context.Context, w ResponseWriter, _ *Request) {
	w.WriteResult(&Result{Code: UnwillingToPerform, Diagnostic: "no handler configured"})
})

// runOp calls the handler for o under recover and completes o.
func (c *serverConn) runOp(o *operation) {
	defer c.finishOp(o)
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("ldap: panic serving request", "msgid", o.id, "op", o.op.String(),
				"panic", p, "stack", string(debug.Stack()))
			if !o.wrote {
				o.WriteResult(&Result{Code: Other, Diagnostic: "internal server error"})
			}
		}
	}()
	h := c.srv.Handler
	if h == nil {
		h = noHandler
	}
	h.ServeLDAP(o.ctx, o, o.req)
	if !o.wrote {
		o.WriteResult(&Result{Code: Other, Diagnostic: "the server sent no result for this operation"})
	}
}

// finishOp releases everything o held, after its handler returned.
func (c *serverConn) finishOp(o *operation) {
	o.cancel()
	c.unregister(o)
	code := o.code
	if !o.sent {
		code = Canceled
	}
	c.observe(o.op, code, o.dur)
	putBuf(&outBufPool, o.out)
	putRequest(o.req)
	putBuf(&pduBufPool, o.pdu)
	o.out, o.req, o.pdu = nil, nil, nil
	if !o.async {
		return
	}
	c.mu.Lock()
	c.active--
	idle := c.active == 0
	if idle {
		c.lastActive = time.Now()
	}
	if idle && c.idleWait != nil {
		close(c.idleWait)
		c.idleWait = nil
	}
	c.mu.Unlock()
	<-c.sem
	if idle && c.srv.inShutdown.Load() {
		c.closeIfIdle()
	}
}

func (c *serverConn) unregister(o *operation) {
	if !o.async {
		return
	}
	c.mu.Lock()
	if c.ops[o.id] == o {
		delete(c.ops, o.id)
	}
	c.mu.Unlock()
}

// abandon stops the operation with message ID id, if it is outstanding:
// nothing more is sent for it and its context ends.
func (c *serverConn) abandon(id int32) {
	c.mu.Lock()
	o := c.ops[id]
	c.mu.Unlock()
	if o != nil {
		o.abandoned.Store(true)
		o.cancel()
	}
}

// abandonAll marks every outstanding operation abandoned and cancels the
// connection context.
func (c *serverConn) abandonAll() {
	c.mu.Lock()
	c.closing = true
	for _, o := range c.ops {
		o.abandoned.Store(true)
	}
	c.mu.Unlock()
	c.cancel()
}

// unbind ends the connection after the writes already queued.
func (c *serverConn) unbind() {
	c.abandonAll()
	c.lockWriter()
	c.flushLocked()
	c.wclosed = true
	c.wmu.Unlock()
}

// closeIfIdle disconnects the connection with unavailable if nothing is
// outstanding on it. Used by Shutdown.
func (c *serverConn) closeIfIdle() {
	c.mu.Lock()
	if c.active > 0 || c.reading || c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true // the reader starts nothing new from here on
	c.mu.Unlock()
	c.disconnect(Unavailable, "server is shutting down")
}

// disconnect abandons every operation, sends a Notice of Disconnection
// (RFC 4511 section 4.4.1), shuts the write side and arranges for the
// socket to close. It may be called from any goroutine.
func (c *serverConn) disconnect(code ResultCode, msg string) {
	c.abandonAll()
	// Bound a flush another goroutine may be blocked in.
	c.rwc.SetWriteDeadline(time.Now().Add(noticeTimeout))
	c.lockWriter()
	sent := false
	if !c.wclosed && c.cw.err == nil {
		c.flushLocked()
		c.rwc.SetWriteDeadline(time.Now().Add(noticeTimeout))
		out := outBufPool.Get().(*[]byte)
		*out = AppendNoticeOfDisconnection((*out)[:0], code, msg)
		_, err := c.cw.Write(*out)
		putBuf(&outBufPool, out)
		sent = err == nil
		c.wclosed = true
	}
	if sent && c.closeWriteLocked() {
		c.halfShut = true
	}
	c.wmu.Unlock()
	// Let the reader drain for a moment, then close for good.
	c.rwc.SetReadDeadline(time.Now().Add(lingerTime))
	time.AfterFunc(lingerTime+50*time.Millisecond, c.closeSocket)
}

// abort closes the connection at once (Server.Close).
func (c *serverConn) abort() {
	c.abandonAll()
	c.closeSocket()
}

// teardown runs on the reader goroutine when it stops.
func (c *serverConn) teardown() {
	c.abandonAll()
	c.lockWriter()
	halfShut := c.halfShut
	c.wclosed = true
	if c.bw != nil {
		c.bw.Reset(nil)
		bufWriterPool.Put(c.bw)
		c.bw = nil
	}
	c.wmu.Unlock()
	if halfShut {
		// Drain until the client closes or the linger deadline set by
		// disconnect passes, so that unread bytes do not reset the
		// connection before the notice is read.
		c.br.Reset(c.rwc)
		var buf [512]byte
		for n := 0; n < lingerBytes; {
			k, err := c.rwc.Read(buf[:])
			n += k
			if err != nil {
				break
			}
		}
	}
	c.closeSocket()
	c.br.Reset(nil)
	bufReaderPool.Put(c.br)
	c.br = nil
	c.srv.trackConn(c, false)
}

// lockWriter takes the write mutex, counted as a queued writer meanwhile so
// that the holder leaves flushing to us.
func (c *serverConn) lockWriter() {
	c.wwaiting.Add(1)
	c.wmu.Lock()
	c.wwaiting.Add(-1)
}

// flushLocked pushes out what the shared buffer holds and returns the
// buffer to its pool once empty. wmu is held.
func (c *serverConn) flushLocked() error {
	if c.bw == nil {
		return c.cw.err
	}
	if c.bw.Buffered() > 0 {
		if wt := c.srv.writeTimeout(); wt > 0 {
			c.rwc.SetWriteDeadline(time.Now().Add(wt))
		}
		c.bw.Flush()
	}
	if c.bw.Buffered() == 0 {
		c.bw.Reset(nil)
		bufWriterPool.Put(c.bw)
		c.bw = nil
	}
	return c.cw.err
}

// write sends b, one or more complete messages of operation o (nil for the
// server's own responses), through the shared buffer. Messages of an
// abandoned operation are dropped. The buffer is flushed unless another
// writer is queued, who will flush it in turn (group commit).
func (c *serverConn) write(o *operation, b []byte) error {
	c.lockWriter()
	defer c.wmu.Unlock()
	if c.cw.err != nil {
		return c.cw.err
	}
	if c.wclosed {
		return ErrAbandoned
	}
	var err error
	if o != nil && o.abandoned.Load() {
		err = ErrAbandoned
	} else {
		if c.bw == nil {
			c.bw = newBufWriter(&c.cw)
		}
		if wt := c.srv.writeTimeout(); wt > 0 {
			c.rwc.SetWriteDeadline(time.Now().Add(wt))
		}
		c.bw.Write(b)
	}
	if c.wwaiting.Load() == 0 || (c.bw != nil && c.bw.Buffered() >= flushThreshold) {
		if ferr := c.flushLocked(); ferr != nil {
			return ferr
		}
	}
	if err == nil {
		err = c.cw.err
	}
	return err
}

// operation is one request being served and its ResponseWriter. It is used
// by one handler goroutine; only abandoned is touched by others.
type operation struct {
	c     *serverConn
	req   *Request
	pdu   *[]byte // the buffer req aliases
	out   *[]byte // batched responses not yet handed to the writer
	id    int32
	op    Op
	async bool // dispatched on its own goroutine (not a bind)

	ctx       context.Context
	cancel    context.CancelFunc
	abandoned atomic.Bool

	wrote bool          // WriteResult was called
	sent  bool          // and the result went to the writer
	code  ResultCode    // result code written
	start time.Time     // when the request was decoded
	dur   time.Duration // start to result
}

var (
	_ ResponseWriter = (*operation)(nil)
	_ Flusher        = (*operation)(nil)
)

func (o *operation) check() error {
	if o.wrote {
		return ErrResultWritten
	}
	if o.abandoned.Load() || o.ctx.Err() != nil {
		return ErrAbandoned
	}
	return nil
}

func (o *operation) buf() *[]byte {
	if o.out == nil {
		o.out = outBufPool.Get().(*[]byte)
	}
	return o.out
}

// push hands the batch to the connection writer.
func (o *operation) push() error {
	if o.out == nil || len(*o.out) == 0 {
		return nil
	}
	err := o.c.write(o, *o.out)
	*o.out = (*o.out)[:0]
	return err
}

// WriteEntry queues a SearchResultEntry (RFC 4511 section 4.5.2).
func (o *operation) WriteEntry(e *Entry, typesOnly bool, controls ...ResponseControl) error {
	if err := o.check(); err != nil {
		return err
	}
	b := o.buf()
	*b = AppendEntry(*b, o.id, e, typesOnly, controls)
	if len(*b) >= flushThreshold {
		return o.push()
	}
	return nil
}

// WriteReference queues a SearchResultReference (RFC 4511 section 4.5.3).
func (o *operation) WriteReference(urls []string, controls ...ResponseControl) error {
	if err := o.check(); err != nil {
		return err
	}
	b := o.buf()
	*b = AppendReference(*b, o.id, urls, controls)
	if len(*b) >= flushThreshold {
		return o.push()
	}
	return nil
}

// WriteIntermediate queues an IntermediateResponse (RFC 4511 section 4.13).
func (o *operation) WriteIntermediate(name string, value []byte, controls ...ResponseControl) error {
	if err := o.check(); err != nil {
		return err
	}
	b := o.buf()
	*b = AppendIntermediate(*b, o.id, name, value, controls)
	if len(*b) >= flushThreshold {
		return o.push()
	}
	return nil
}

// Flush sends the responses queued so far.
func (o *operation) Flush() error {
	if err := o.check(); err != nil {
		return err
	}
	return o.push()
}

// WriteResult ends the operation with its response (a nil res means
// success) and sends everything queued.
func (o *operation) WriteResult(res *Result) error {
	if o.wrote {
		return ErrResultWritten
	}
	if res == nil {
		res = &Result{}
	}
	o.wrote = true
	o.code = res.Code
	o.dur = time.Since(o.start)
	if o.abandoned.Load() || o.ctx.Err() != nil {
		return ErrAbandoned
	}
	// Free the message ID before the client can see the result, so that a
	// client reusing IDs sequentially is never told the ID is in use.
	o.c.unregister(o)
	b := o.buf()
	*b = AppendResult(*b, o.id, o.op.ResponseOp(), res)
	err := o.push()
	o.sent = err == nil
	return err
}
