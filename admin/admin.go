// Package admin serves Switchboard's operational HTTP endpoints: liveness
// (/healthz), readiness (/readyz), Prometheus metrics (/metrics), bearer
// tokens (/api/v1/tokens), Go profiles (/debug/pprof/, when enabled), the
// API's OpenAPI description (/api/v1/openapi.json, openapi.json here) and
// the routes mounted by others (replication's, federation's).
//
// Everything but /healthz, /readyz and the SelfAuth routes (which
// authenticate their requests themselves) needs authentication (/metrics only
// from beyond loopback, by default): HTTP Basic with a directory DN and
// its password, a bearer token made through the API, or a verified TLS
// client certificate. The identity must be the root DN or a member of
// the configured admin group whom the access rules give read (GET, HEAD)
// or write (other methods) on the naming context's entry
// (Directory.Allowed); others get 403. Errors
// are RFC 9457 problem details.
//
// Metrics come from a Metrics value that the LDAP server reports into (it
// implements ldap.Observer) and from gauges read at scrape time (entries,
// store size). Nothing here is global: the registry is created per server.
package admin

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-ldap/switchboard/internal/netlimit"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// openAPI is the OpenAPI 3 description of the API, served without
// authentication at /api/v1/openapi.json: what the routes are is no
// secret. Routes mounted by others (federation's) are described in it
// too; keep it in step with them.
//
//go:embed openapi.json
var openAPI []byte

// Store is what the admin endpoints read from the directory.
type Store interface {
	EntryCount() int64
	Size() int64
	// IndexBuild reports a background index build: entries done and total.
	IndexBuild() (done, total int64)
}

// Metrics records LDAP traffic for Prometheus. It implements ldap.Observer.
type Metrics struct {
	Registry *prometheus.Registry

	ops      *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	conns    prometheus.Gauge
	accepted prometheus.Counter
}

// NewMetrics registers Switchboard's metrics, and the Go runtime and
// process collectors, in a new registry. store may be nil.
func NewMetrics(store Store) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_ldap_operations_total",
			Help: "LDAP operations completed, by operation and result code.",
		}, []string{"op", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_ldap_operation_duration_seconds",
			Help:    "Time from decoding a request to writing its result.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"op"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "switchboard_ldap_open_connections",
			Help: "LDAP connections currently open.",
		}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_ldap_connections_total",
			Help: "LDAP connections accepted.",
		}),
	}
	reg.MustRegister(m.ops, m.latency, m.conns, m.accepted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if store != nil {
		reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_entries", Help: "Entries in the directory."},
				func() float64 { return float64(store.EntryCount()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_store_bytes", Help: "Bytes the store keeps on disk."},
				func() float64 { return float64(store.Size()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_index_build_entries_done", Help: "Entries covered so far by the latest background index build."},
				func() float64 { d, _ := store.IndexBuild(); return float64(d) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_index_build_entries_total", Help: "Entries the latest background index build had to cover."},
				func() float64 { _, t := store.IndexBuild(); return float64(t) }),
		)
	}
	return m
}

// ConnOpened implements ldap.Observer.
func (m *Metrics) ConnOpened() { m.conns.Inc(); m.accepted.Inc() }

// ConnClosed implements ldap.Observer.
func (m *Metrics) ConnClosed() { m.conns.Dec() }

// OpDone implements ldap.Observer.
func (m *Metrics) OpDone(op ldap.Op, code ldap.ResultCode, d time.Duration) {
	name := op.String()
	m.ops.WithLabelValues(name, codeLabel(code)).Inc()
	m.latency.WithLabelValues(name).Observe(d.Seconds())
}

var codeLabels = func() (t [128]string) {
	for i := range t {
		t[i] = itoa(i)
	}
	return t
}()

func codeLabel(c ldap.ResultCode) string {
	if c >= 0 && int(c) < len(codeLabels) {
		return codeLabels[c]
	}
	return itoa(int(c))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [12]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// Server is the admin HTTP server. Every route but /healthz, /readyz
// and (per MetricsAccess) /metrics needs an identity allowed by Directory
// (see authenticate); with Directory nil they all answer 401.
type Server struct {
	Metrics *Metrics
	Logger  *slog.Logger
	// Pprof serves net/http/pprof under /debug/pprof/ (off by default: it
	// exposes internals and costs CPU while profiling), behind
	// authentication, with secrets redacted from its cmdline.
	Pprof bool
	// Args is the command line /debug/pprof/cmdline shows, redacted
	// (default os.Args).
	Args []string
	// Mount adds routes: each pattern (as http.ServeMux takes them) is
	// served by its handler (replication's API under /replication),
	// behind authentication.
	Mount map[string]http.Handler
	// SelfAuth adds routes that authenticate their requests themselves,
	// served without the server's authentication (federation's
	// discovery, whose partners are no directory identities): each
	// handler must refuse a request it cannot authenticate.
	SelfAuth map[string]http.Handler
	// Directory checks credentials and who may use the API.
	Directory Directory
	// Tokens keeps the bearer tokens (nil: none can be made).
	Tokens *Tokens
	// TokenIdentity checks the identity a SCIM token made by caller (a
	// normalised DN) is to act as, and returns it normalised; nil: SCIM
	// tokens act as their maker only.
	TokenIdentity func(ctx context.Context, caller, dn string) (string, error)
	// MetricsAccess says who reads /metrics ("": MetricsLoopback).
	MetricsAccess MetricsAccess
	// TLS, if set, serves HTTPS; with ClientAuth asking for certificates,
	// a verified client certificate authenticates (Directory.CertIdentity).
	TLS *tls.Config

	// Limits of the HTTP server; zero values take the defaults
	// (DefaultMaxConns and the Default* timeouts).
	MaxConns          int
	MaxHeaderBytes    int
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	IdleTimeout       time.Duration

	ready atomic.Bool
	srv   *http.Server
}

// Defaults of the server's limits. There is no write timeout: a CPU
// profile or a full-store digest may take minutes to answer.
const (
	DefaultMaxConns          = 64
	DefaultMaxHeaderBytes    = 16 << 10
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
)

// SetReady marks the directory ready (or not) for /readyz.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			WriteProblem(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		w.Write([]byte("ready\n"))
	})
	if s.Pprof {
		args := s.Args
		if args == nil {
			args = os.Args
		}
		mux.Handle("/debug/pprof/", s.protect(http.HandlerFunc(pprof.Index)))
		mux.Handle("/debug/pprof/profile", s.protect(http.HandlerFunc(pprof.Profile)))
		mux.Handle("/debug/pprof/trace", s.protect(http.HandlerFunc(pprof.Trace)))
		mux.Handle("/debug/pprof/symbol", s.protect(http.HandlerFunc(pprof.Symbol)))
		mux.Handle("/debug/pprof/cmdline", s.protect(cmdline(args)))
	}
	for pattern, h := range s.Mount {
		mux.Handle(pattern, s.protect(h))
	}
	for pattern, h := range s.SelfAuth {
		mux.Handle(pattern, h)
	}
	mux.Handle("GET /api/v1/whoami", s.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := IdentityFrom(r.Context())
		writeJSON(w, http.StatusOK, id)
	})))
	s.tokenRoutes(mux)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.metricsGuard(promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{})))
	}
	return problems(mux)
}

// Serve serves the admin API on l until Shutdown, at most MaxConns
// connections at once. It warns when l listens beyond loopback.
func (s *Server) Serve(l net.Listener) error {
	if a, ok := l.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		s.logger().Warn("the admin HTTP API listens beyond loopback: anyone who can reach it may try credentials; restrict it with a firewall or admin_listen",
			"addr", a.String(), "tls", s.TLS != nil)
	}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: or(s.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       or(s.ReadTimeout, DefaultReadTimeout),
		IdleTimeout:       or(s.IdleTimeout, DefaultIdleTimeout),
		MaxHeaderBytes:    or(s.MaxHeaderBytes, DefaultMaxHeaderBytes),
		ErrorLog:          slog.NewLogLogger(s.logger().Handler(), slog.LevelDebug),
	}
	l = netlimit.Listen(l, or(s.MaxConns, DefaultMaxConns))
	if s.TLS != nil {
		l = tls.NewListener(l, s.TLS)
	}
	err := s.srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// or is v, or def if v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Shutdown stops the admin server.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}
