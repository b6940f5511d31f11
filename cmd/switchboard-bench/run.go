package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// config describes one load run.
type config struct {
	Addr      string
	Conns     int
	Duration  time.Duration // measured time (ignored when Ops > 0)
	Ops       int64         // total measured operations; 0: run for Duration
	Warmup    time.Duration
	Op        string
	BindDN    string
	BindPW    string
	Base      string
	Data      *dataset
	Seed      uint64
	SizeLimit int      // -1: the operation's default
	Attrs     []string // requested attributes; nil: all user attributes
	ServerPID int      // 0: no server statistics
	SortKey   string   // sort and vlv: the sort key ("-attr": reverse)
	Filter    string   // sort and vlv: the filter (empty: objectClass=inetOrgPerson)
}

// result is what one run measured. Latencies are in microseconds.
type result struct {
	Op               string           `json:"op"`
	Addr             string           `json:"addr"`
	Conns            int              `json:"conns"`
	Seconds          float64          `json:"seconds"`
	Ops              int64            `json:"ops"`
	OpsPerSec        float64          `json:"ops_per_sec"`
	MeanUS           float64          `json:"mean_us"`
	P50US            float64          `json:"p50_us"`
	P99US            float64          `json:"p99_us"`
	P999US           float64          `json:"p999_us"`
	MaxUS            float64          `json:"max_us"`
	EntriesPerOp     float64          `json:"entries_per_op"`
	Errors           map[string]int64 `json:"errors"`    // result code -> count, non-success only
	IOErrors         int64            `json:"io_errors"` // broken connections, malformed responses
	FirstIOError     string           `json:"first_io_error,omitempty"`
	ClientCPUPerOpUS float64          `json:"client_cpu_us_per_op"`
	ServerPID        int              `json:"server_pid,omitempty"`
	ServerCPUPerOpUS float64          `json:"server_cpu_us_per_op,omitempty"`
	ServerRSSKB      int64            `json:"server_rss_kb,omitempty"`
	ServerRSSAnonKB  int64            `json:"server_rss_anon_kb,omitempty"`
	ServerRSSMaxKB   int64            `json:"server_rss_max_kb,omitempty"` // highest RSS sampled during the run
}

// Operation kinds.
const (
	kindPool   = iota // one pre-encoded request picked at random
	kindModify        // replace description on an entry of this connection's share
	kindAddDel        // add a fresh entry, then delete it (one op = both)
	kindMix           // 90 % pool (eq), 10 % modify
)

// workload is an operation with its pre-encoded requests.
type workload struct {
	name      string
	kind      int
	pool      [][]byte // protocolOps (kindPool, kindMix)
	okSizeLim bool     // sizeLimitExceeded (4) counts as success
}

var opNames = []string{"eq", "sub", "presence", "and", "or", "thunderbird", "outlook", "onelevel", "paged", "sortpage", "base", "bind", "modify", "adddel", "mix", "sort", "vlv"}

// defaultSizeLimit is the size limit a request carries unless -sizelimit
// says otherwise: 100 for the address-book style and presence searches (as
// Thunderbird's and Outlook's default of 100 results), none otherwise.
func defaultSizeLimit(op string) int {
	switch op {
	case "presence", "thunderbird", "outlook", "onelevel", "sort":
		return 100
	case "sortpage":
		return 20
	}
	return 0
}

// buildWorkload pre-encodes the requests of cfg.Op, one per person (shared,
// read-only, by every connection).
func buildWorkload(cfg *config) (*workload, error) {
	w := &workload{name: cfg.Op}
	sl := cfg.SizeLimit
	if sl < 0 {
		sl = defaultSizeLimit(cfg.Op)
	}
	w.okSizeLim = sl > 0
	needData := cfg.Op != "sub" && cfg.Op != "presence" && cfg.Op != "onelevel" && cfg.Op != "paged" && cfg.Op != "sort"
	if needData && (cfg.Data == nil || len(cfg.Data.People) == 0) {
		return nil, fmt.Errorf("-op %s needs -data FILE.ldif", cfg.Op)
	}
	if needData && cfg.Op != "bind" && cfg.Op != "modify" && cfg.Op != "adddel" && cfg.Op != "mix" {
		// Searches pick people within their base, so that a search of
		// a deep OU looks for someone who is there.
		in := cfg.Data.within(cfg.Base)
		if len(in.People) == 0 {
			return nil, fmt.Errorf("no person of -data lies within -base %s", cfg.Base)
		}
		cfg2 := *cfg
		cfg2.Data = in
		cfg = &cfg2
	}
	var b builder
	var fbuf []byte
	// controls, when set, appends the request's controls after it.
	var controls func(*builder, *person)
	var cur *person
	search := func(base string, scope int, filter string) ([]byte, error) {
		f, err := ldap.ParseFilter(filter)
		if err != nil {
			return nil, fmt.Errorf("filter %q: %w", filter, err)
		}
		fbuf = ldap.AppendFilter(fbuf[:0], f)
		b.reset()
		searchOp(&b, base, scope, sl, fbuf, cfg.Attrs)
		if controls != nil {
			b.open(tagControls)
			controls(&b, cur)
			b.close()
		}
		return append([]byte(nil), b.b...), nil
	}
	perPerson := func(mk func(p *person) ([]byte, error)) error {
		for i := range cfg.Data.People {
			cur = &cfg.Data.People[i]
			op, err := mk(cur)
			if err != nil {
				return err
			}
			w.pool = append(w.pool, op)
		}
		return nil
	}
	e := escapeFilterValue
	var err error
	switch cfg.Op {
	case "eq", "mix":
		if cfg.Op == "mix" {
			w.kind = kindMix
		}
		err = perPerson(func(p *person) ([]byte, error) { return search(cfg.Base, 2, "(uid="+e(p.UID)+")") })
	case "sub":
		var op []byte
		op, err = search(cfg.Base, 2, "(cn=*smith*)")
		w.pool = [][]byte{op}
	case "presence":
		var op []byte
		op, err = search(cfg.Base, 2, "(mail=*)")
		w.pool = [][]byte{op}
	case "and":
		err = perPerson(func(p *person) ([]byte, error) {
			return search(cfg.Base, 2, "(&(objectClass=inetOrgPerson)(uid="+e(p.UID)+"))")
		})
	case "or":
		// uid of one person, mail of another: two hits per search.
		ppl := cfg.Data.People
		for i := range ppl {
			q := &ppl[(i+1)%len(ppl)]
			op, err := search(cfg.Base, 2, "(|(uid="+e(ppl[i].UID)+")(mail="+e(q.Mail)+"))")
			if err != nil {
				return nil, err
			}
			w.pool = append(w.pool, op)
		}
	case "thunderbird":
		err = perPerson(func(p *person) ([]byte, error) {
			x := e(p.prefix2())
			return search(cfg.Base, 2, "(|(cn="+x+"*)(mail="+x+"*)(sn="+x+"*))")
		})
	case "outlook":
		err = perPerson(func(p *person) ([]byte, error) {
			x := e(p.prefix2())
			return search(cfg.Base, 2, "(&(mail=*)(|(mail="+x+"*)(|(cn="+x+"*)(|(sn="+x+"*)(givenName="+x+"*)))))")
		})
	case "onelevel":
		var op []byte
		op, err = search(cfg.Base, 1, "(objectClass=*)")
		w.pool = [][]byte{op}
	case "paged":
		controls = func(b *builder, _ *person) { pagedControl(b, 100) }
		var op []byte
		op, err = search(cfg.Base, 2, "(objectClass=inetOrgPerson)")
		w.pool = [][]byte{op}
	case "sortpage":
		// An address book's first screen, sorted by surname: the sort
		// control and a size limit of 20.
		controls = func(b *builder, _ *person) { sortRuleControl(b, "sn", "caseIgnoreOrderingMatch") }
		var op []byte
		op, err = search(cfg.Base, 2, "(objectClass=inetOrgPerson)")
		w.pool = [][]byte{op}
	case "sort", "vlv":
		// The whole filter's result is gathered and sorted for every
		// request; vlv then returns a window of 20 at a random offset.
		filter, key := cfg.Filter, cfg.SortKey
		if filter == "" {
			filter = "(objectClass=inetOrgPerson)"
		}
		if key == "" {
			key = "displayName"
		}
		var op []byte
		if op, err = search(cfg.Base, 2, filter); err != nil {
			break
		}
		if cfg.Op == "sort" {
			w.pool = [][]byte{append(op, sortControls(key, 0, 0)...)}
			break
		}
		for i := range cfg.Data.People {
			w.pool = append(w.pool, append(op[:len(op):len(op)], sortControls(key, i+1, 20)...))
		}
	case "base":
		err = perPerson(func(p *person) ([]byte, error) { return search(p.DN, 0, "(objectClass=*)") })
	case "bind":
		err = perPerson(func(p *person) ([]byte, error) {
			b.reset()
			bindOp(&b, p.DN, "password")
			return append([]byte(nil), b.b...), nil
		})
	case "modify":
		w.kind = kindModify
	case "adddel":
		w.kind = kindAddDel
	default:
		return nil, fmt.Errorf("unknown -op %q (one of %s)", cfg.Op, strings.Join(opNames, ", "))
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// hist is a log-linear latency histogram in nanoseconds: exact below 128,
// then 64 buckets per power of two (under 1.6 % error). Fixed size, so
// recording never allocates.
type hist struct {
	n      [40 * 64]uint64
	count  uint64
	sum    uint64
	maxVal uint64
}

func histIndex(v uint64) int {
	if v < 128 {
		return int(v)
	}
	e := bits.Len64(v) - 7
	i := (e+1)*64 + int(v>>uint(e)) - 64
	if i >= 40*64 {
		i = 40*64 - 1
	}
	return i
}

func histValue(i int) uint64 {
	if i < 128 {
		return uint64(i)
	}
	e := uint(i/64 - 1)
	m := uint64(i%64 + 64)
	return m<<e + (uint64(1)<<e)/2
}

func (h *hist) add(d time.Duration) {
	v := uint64(d)
	h.n[histIndex(v)]++
	h.count++
	h.sum += v
	if v > h.maxVal {
		h.maxVal = v
	}
}

func (h *hist) merge(o *hist) {
	for i := range h.n {
		h.n[i] += o.n[i]
	}
	h.count += o.count
	h.sum += o.sum
	h.maxVal = max(h.maxVal, o.maxVal)
}

// quantile returns the q-quantile in nanoseconds.
func (h *hist) quantile(q float64) uint64 {
	if h.count == 0 {
		return 0
	}
	want := uint64(q*float64(h.count) + 0.5)
	if want < 1 {
		want = 1
	}
	var c uint64
	for i, n := range h.n {
		c += n
		if c >= want {
			return min(histValue(i), h.maxVal)
		}
	}
	return h.maxVal
}

// conn is one closed-loop client connection.
type conn struct {
	id      int
	nc      net.Conn
	br      *bufio.Reader
	wb      builder // request being sent
	ob      builder // protocolOp scratch (modify, adddel)
	rbuf    []byte
	msgID   int32
	rng     *rand.Rand
	counter int64
	tag     []byte // per-run, per-connection unique prefix for generated values
	vbuf    []byte // generated value scratch

	h        hist
	ops      int64
	entries  int64
	codes    [256]int64
	ioErrors int64
	firstErr error
}

func dial(cfg *config, id int) (*conn, error) {
	nc, err := net.DialTimeout("tcp", cfg.Addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := &conn{
		id:   id,
		nc:   nc,
		br:   bufio.NewReaderSize(nc, 64<<10),
		rbuf: make([]byte, 0, 64<<10),
		rng:  rand.New(rand.NewPCG(cfg.Seed, uint64(id)+1)),
		tag:  fmt.Appendf(nil, "sbbench-%d-%d-%d-", os.Getpid(), time.Now().UnixNano()%1e9, id),
		vbuf: make([]byte, 0, 64),
	}
	if cfg.BindDN != "" {
		c.ob.reset()
		bindOp(&c.ob, cfg.BindDN, cfg.BindPW)
		code, err := c.exchange(c.ob.b)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("bind as %s: %w", cfg.BindDN, err)
		}
		if code != 0 {
			nc.Close()
			return nil, fmt.Errorf("bind as %s: result code %d", cfg.BindDN, code)
		}
	}
	return c, nil
}

// exchange sends one request and reads responses until the final one for
// its message ID, counting search entries. It returns the resultCode.
func (c *conn) exchange(op []byte) (int, error) {
	c.msgID++
	if c.msgID <= 0 {
		c.msgID = 1
	}
	c.wb.reset()
	c.wb.message(c.msgID, op)
	if _, err := c.nc.Write(c.wb.b); err != nil {
		return -1, err
	}
	for {
		pdu, err := ldap.ReadPDU(c.br, c.rbuf[:0], 1<<30)
		if err != nil {
			return -1, err
		}
		c.rbuf = pdu[:0]
		id, tag, code, err := parseResponse(pdu)
		if err != nil {
			return -1, err
		}
		if id == 0 && tag == appExtendedResp {
			return -1, fmt.Errorf("notice of disconnection, result code %d", code)
		}
		if id != c.msgID {
			return -1, fmt.Errorf("response for message %d while waiting for %d", id, c.msgID)
		}
		switch tag {
		case appSearchEntry:
			c.entries++
		case appSearchRef:
		default:
			return code, nil
		}
	}
}

// one runs one operation of w and returns its (first non-success) code.
func (c *conn) one(cfg *config, w *workload) (int, error) {
	switch w.kind {
	case kindMix:
		if c.rng.IntN(10) == 0 {
			return c.modify(cfg)
		}
		fallthrough
	case kindPool:
		return c.exchange(w.pool[c.rng.IntN(len(w.pool))])
	case kindModify:
		return c.modify(cfg)
	case kindAddDel:
		c.counter++
		uid := strconv.AppendInt(append(c.vbuf[:0], c.tag...), c.counter, 10)
		c.vbuf = uid
		c.ob.reset()
		addPersonOp(&c.ob, uid, cfg.Data.Parent)
		code, err := c.exchange(c.ob.b)
		if err != nil {
			return code, err
		}
		c.ob.reset()
		delOp(&c.ob, uid, cfg.Data.Parent)
		dcode, err := c.exchange(c.ob.b)
		if code == 0 {
			code = dcode
		}
		return code, err
	}
	return -1, errors.New("bad workload")
}

// modify replaces description on a random entry of this connection's share
// (entries i with i mod conns == id), so connections never collide.
func (c *conn) modify(cfg *config) (int, error) {
	ppl := cfg.Data.People
	share := len(ppl) / cfg.Conns
	j := c.id
	if share > 0 {
		j = c.rng.IntN(share)*cfg.Conns + c.id
	}
	p := &ppl[j%len(ppl)]
	c.counter++
	val := strconv.AppendInt(append(append(c.vbuf[:0], c.tag...), "mod-"...), c.counter, 10)
	c.vbuf = val
	c.ob.reset()
	modifyReplaceOp(&c.ob, p.DN, "description", val)
	return c.exchange(c.ob.b)
}

// Phases of a run.
const (
	phaseWarmup = iota
	phaseMeasure
	phaseStop
)

// run executes the load described by cfg.
func run(ctx context.Context, cfg *config) (*result, error) {
	if cfg.Conns < 1 {
		return nil, errors.New("-conns must be at least 1")
	}
	w, err := buildWorkload(cfg)
	if err != nil {
		return nil, err
	}
	conns := make([]*conn, cfg.Conns)
	for i := range conns {
		c, err := dial(cfg, i)
		if err != nil {
			for _, c := range conns[:i] {
				c.nc.Close()
			}
			return nil, err
		}
		conns[i] = c
	}
	defer func() {
		for _, c := range conns {
			c.nc.Close()
		}
	}()

	var phase atomic.Int32
	var budget atomic.Int64
	budget.Store(cfg.Ops)
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(cfg, w, &phase, &budget)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	stopped := func(d time.Duration) bool {
		select {
		case <-done:
			return true
		case <-ctx.Done():
			return true
		case <-time.After(d):
			return false
		}
	}
	if cfg.Warmup > 0 {
		stopped(cfg.Warmup)
	}
	cpu0, _ := procCPU(cfg.ServerPID)
	self0 := selfCPU()
	var rss *rssSampler
	if cfg.ServerPID > 0 {
		rss = sampleRSS(cfg.ServerPID, 100*time.Millisecond)
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	if cfg.Ops > 0 {
		select {
		case <-done:
		case <-ctx.Done():
		}
	} else {
		stopped(cfg.Duration)
	}
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	cpu1, cpuErr := procCPU(cfg.ServerPID)
	self1 := selfCPU()
	var rssMax int64
	if rss != nil {
		rssMax = rss.finish()
	}
	hung := false
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		hung = true
		for _, c := range conns {
			c.nc.Close()
		}
		<-done
	}

	res := &result{Op: cfg.Op, Addr: cfg.Addr, Conns: cfg.Conns, Seconds: elapsed.Seconds(), Errors: map[string]int64{}}
	var h hist
	var entries int64
	for _, c := range conns {
		h.merge(&c.h)
		res.Ops += c.ops
		entries += c.entries
		res.IOErrors += c.ioErrors
		if c.firstErr != nil && res.FirstIOError == "" {
			res.FirstIOError = fmt.Sprintf("conn %d: %v", c.id, c.firstErr)
		}
		for code, n := range c.codes {
			if n > 0 {
				res.Errors[strconv.Itoa(code)] += n
			}
		}
	}
	if hung && res.FirstIOError == "" {
		res.FirstIOError = "server stopped answering: connections closed 30 s after the end of the run"
	}
	if res.Ops > 0 {
		res.OpsPerSec = float64(res.Ops) / elapsed.Seconds()
		res.MeanUS = float64(h.sum) / float64(h.count) / 1e3
		res.P50US = float64(h.quantile(0.50)) / 1e3
		res.P99US = float64(h.quantile(0.99)) / 1e3
		res.P999US = float64(h.quantile(0.999)) / 1e3
		res.MaxUS = float64(h.maxVal) / 1e3
		res.EntriesPerOp = float64(entries) / float64(res.Ops)
		res.ClientCPUPerOpUS = float64(self1-self0) / 1e3 / float64(res.Ops)
	}
	if cfg.ServerPID > 0 {
		res.ServerPID = cfg.ServerPID
		if cpuErr == nil && res.Ops > 0 {
			res.ServerCPUPerOpUS = float64(cpu1-cpu0) / 1e3 / float64(res.Ops)
		}
		res.ServerRSSKB, res.ServerRSSAnonKB = procRSS(cfg.ServerPID)
		res.ServerRSSMaxKB = max(rssMax, res.ServerRSSKB)
	}
	return res, nil
}

// loop is one connection's closed loop: one request in flight at a time.
// Only operations that start and end in the measure phase are recorded.
func (c *conn) loop(cfg *config, w *workload, phase *atomic.Int32, budget *atomic.Int64) {
	for {
		p := phase.Load()
		if p == phaseStop {
			return
		}
		if p == phaseMeasure && cfg.Ops > 0 && budget.Add(-1) < 0 {
			return
		}
		e0 := c.entries
		t0 := time.Now()
		code, err := c.one(cfg, w)
		d := time.Since(t0)
		if err != nil {
			c.ioErrors++
			if c.firstErr == nil {
				c.firstErr = err
			}
			return
		}
		if p != phaseMeasure || (cfg.Ops == 0 && phase.Load() != phaseMeasure) {
			c.entries = e0
			continue // warm-up, or finished after the end of the run
		}
		c.ops++
		c.h.add(d)
		if code != 0 && !(code == 4 && w.okSizeLim) {
			c.codes[min(code, 255)]++
		}
	}
}

// clkTck is USER_HZ, the unit of /proc/PID/stat times; 100 on Linux.
const clkTck = 100

// procCPU returns the user+system CPU time of pid in nanoseconds.
func procCPU(pid int) (int64, error) {
	if pid <= 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("bad /proc stat")
	}
	// Fields 14 and 15 of proc(5) (utime, stime); f[0] is field 3.
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat")
	}
	return (u + st) * (1e9 / clkTck), nil
}

// procRSS returns VmRSS and RssAnon of pid in KiB.
func procRSS(pid int) (rss, anon int64) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "RssAnon":
			anon = n
		}
	}
	return rss, anon
}

// selfCPU returns this process's user+system CPU time in nanoseconds.
func selfCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// format renders r as one human-readable block.
func (r *result) format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "op=%s addr=%s conns=%d seconds=%.2f\n", r.Op, r.Addr, r.Conns, r.Seconds)
	fmt.Fprintf(&b, "  ops=%d throughput=%.0f ops/s entries/op=%.2f\n", r.Ops, r.OpsPerSec, r.EntriesPerOp)
	fmt.Fprintf(&b, "  latency: mean=%s p50=%s p99=%s p99.9=%s max=%s\n",
		us(r.MeanUS), us(r.P50US), us(r.P99US), us(r.P999US), us(r.MaxUS))
	codes := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	if len(codes) == 0 {
		b.WriteString("  errors: none")
	} else {
		b.WriteString("  errors:")
		for _, k := range codes {
			fmt.Fprintf(&b, " code %s x%d", k, r.Errors[k])
		}
	}
	if r.IOErrors > 0 {
		fmt.Fprintf(&b, "; connection errors: %d (first: %s)", r.IOErrors, r.FirstIOError)
	}
	b.WriteByte('\n')
	fmt.Fprintf(&b, "  client cpu/op=%.1fµs", r.ClientCPUPerOpUS)
	if r.ServerPID > 0 {
		fmt.Fprintf(&b, " server(pid %d) cpu/op=%.1fµs rss=%.1f MiB (anon %.1f MiB, max %.1f MiB)",
			r.ServerPID, r.ServerCPUPerOpUS, float64(r.ServerRSSKB)/1024, float64(r.ServerRSSAnonKB)/1024, float64(r.ServerRSSMaxKB)/1024)
	}
	b.WriteByte('\n')
	return b.String()
}

func us(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', 2, 64) + "ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + "µs"
}

// tsvFields names the columns of result.tsv.
var tsvFields = []string{"op", "conns", "ops", "ops_per_sec", "p50_us", "p99_us", "p999_us", "entries_per_op",
	"errors", "io_errors", "server_cpu_us_per_op", "server_rss_kb", "client_cpu_us_per_op"}

// tsv renders r as one tab-separated line (for scripts). errors is
// "code:count,..." or "-".
func (r *result) tsv() string {
	codes := make([]string, 0, len(r.Errors))
	for k, n := range r.Errors {
		codes = append(codes, k+":"+strconv.FormatInt(n, 10))
	}
	sort.Strings(codes)
	errs := strings.Join(codes, ",")
	if errs == "" {
		errs = "-"
	}
	return fmt.Sprintf("%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.2f\t%s\t%d\t%.1f\t%d\t%.1f\n",
		r.Op, r.Conns, r.Ops, r.OpsPerSec, r.P50US, r.P99US, r.P999US, r.EntriesPerOp,
		errs, r.IOErrors, r.ServerCPUPerOpUS, r.ServerRSSKB, r.ClientCPUPerOpUS)
}
