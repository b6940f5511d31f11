package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/ldif"
	"github.com/switchboard-ldap/switchboard/directory/overlay/ppolicy"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/federation"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
	"github.com/switchboard-ldap/switchboard/replication/adminhttp"
	"github.com/switchboard-ldap/switchboard/schema"
	"github.com/switchboard-ldap/switchboard/testdata"
	"github.com/switchboard-ldap/switchboard/web"
)

// openEngine builds the schema and opens the store with the overlays that
// write inside its transactions, in their declared order.
// openEngine opens the store in dir. noSync drops fsync on commit (offline
// tools that sync once at the end); bulk prepares it for a Loader.
func openEngine(cfg *Config, log *slog.Logger, dir string, noSync, bulk bool) (*directory.Engine, error) {
	eng, _, err := openEngineLog(cfg, log, dir, noSync, bulk)
	return eng, err
}

// openEngineLog is openEngine that also returns the changelog, which
// stamps and records every write (nil for a bulk load, which writes
// outside transactions: the log then covers only what follows it).
func openEngineLog(cfg *Config, log *slog.Logger, dir string, noSync, bulk bool) (*directory.Engine, *replication.Changelog, error) {
	eng, clog, _, err := openEngineRepl(cfg, log, dir, noSync, bulk)
	return eng, clog, err
}

// openEngineRepl is openEngineLog that also returns the multi-supplier
// Replicator (nil unless replication.multi_supplier is set).
func openEngineRepl(cfg *Config, log *slog.Logger, dir string, noSync, bulk bool) (*directory.Engine, *replication.Changelog, *replication.Replicator, error) {
	eng, clog, rep, err := openEngineReplImpl(cfg, log, dir, noSync, bulk, false)
	return eng, clog, rep, err
}

// openExisting opens the store of cfg.Data for an offline tool (export,
// verify, reindex): one that is not there is an error, not a new store.
func openExisting(cfg *Config, log *slog.Logger) (*directory.Engine, error) {
	eng, _, _, err := openEngineReplImpl(cfg, log, cfg.Data, true, false, true)
	return eng, err
}

func openEngineReplImpl(cfg *Config, log *slog.Logger, dir string, noSync, bulk, mustExist bool) (*directory.Engine, *replication.Changelog, *replication.Replicator, error) {
	s, err := schema.Default()
	if err != nil {
		return nil, nil, nil, err
	}
	for _, f := range cfg.SchemaFiles {
		if s, err = s.Extend(f); err != nil {
			return nil, nil, nil, fmt.Errorf("schema file %s: %w", f, err)
		}
	}
	key, err := cfg.Encryption.key(os.Getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	// The write path of the overlay table (overlays.go): the hooks that
	// run inside the engine's write transaction, in the table's order.
	wp, err := buildWritePath(cfg, log, bulk)
	if err != nil {
		return nil, nil, nil, err
	}
	clog, rep := wp.clog, wp.rep
	var indexes map[string][]string
	if len(cfg.Indexes) > 0 {
		indexes = cfg.Indexes
	}
	eng, err := directory.Open(directory.Options{
		Dir:       dir,
		MustExist: mustExist,
		// Package replication's side records upgrade with the store,
		// whether or not this run replicates.
		Migrations:      append(directory.Migrations(), replication.Migrations()...),
		Suffix:          cfg.Suffix,
		Schema:          s,
		Logger:          log,
		Indexes:         indexes,
		UnindexedLimit:  noneAsZero(cfg.Limits.Unindexed),
		Hooks:           wp.hooks,
		Virtual:         wp.virtual,
		NoSync:          noSync,
		BulkLoad:        bulk,
		CacheBytes:      int64(cfg.CacheMB) << 20,
		EntryCacheBytes: entryCacheBytes(cfg.EntryCacheMB),
		Passwords:       password.NewHasher(cfg.passwordConfig()),
		RehashOnBind:    cfg.Passwords.RehashOnBind,

		EncryptionKey:    key,
		SealedAttributes: cfg.Encryption.Attributes,
		DataKeyRotation:  cfg.Encryption.DataKeyRotation,
		Stamper:          wp.stamper,
		ChangeQueue:      cfg.Replication.QueueLength,

		DiskReserve:        cfg.diskReserve(),
		ValueLogGCInterval: cfg.valueLogGCInterval(),
		ReadOnlyCopies:     cfg.readOnlyCopies(),
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if clog != nil {
		if err := clog.Open(eng); err != nil {
			eng.Close()
			return nil, nil, nil, err
		}
	}
	if rep != nil {
		stop := func() {}
		if !bulk {
			stop = setOpenMemoryLimit(cfg, eng)
		}
		err := rep.Open(eng)
		stop()
		if err != nil {
			eng.Close()
			return nil, nil, nil, err
		}
	}
	return eng, clog, rep, nil
}

// entryCacheBytes turns entry_cache_mb into Options.EntryCacheBytes, for
// which 0 means the default and a negative value off.
func entryCacheBytes(mb int) int64 {
	if mb <= 0 {
		return -1
	}
	return int64(mb) << 20
}

// rootPassword returns the root DN's password: from the file, the config
// or environment, or else one generated at the first start, whose hash is
// kept in the data directory and whose cleartext is printed once.
func rootPassword(cfg *Config, stdout io.Writer) ([]byte, error) {
	if cfg.RootPasswordFile != "" {
		b, err := os.ReadFile(cfg.RootPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("root password file: %w", err)
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, errors.New("root password file is empty")
		}
		return b, nil
	}
	if cfg.RootPassword != "" {
		return []byte(cfg.RootPassword), nil
	}
	path := filepath.Join(cfg.Data, "root-password.hash")
	if b, err := os.ReadFile(path); err == nil {
		return bytes.TrimSpace(b), nil
	}
	pw := password.Generate(20)
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, append(password.Hash(pw), '\n'), 0o600); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "Generated a password for %s (shown once; its hash is in %s):\n\n    %s\n\n", cfg.RootDN, path, pw)
	return pw, nil
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cfg, err := parseFlags("serve", "serve [flags]", args, stderr)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("serve takes no arguments, got %q (flags start with --, e.g. --demo)", fs.Args())
	}
	log := cfg.logger()
	// The ports first: one in use fails now, not after the store loads.
	lns, err := listen(cfg)
	if err != nil {
		return err
	}
	defer lns.close()
	// The certificate too: a file that does not load leaves no store.
	tlsCfg, err := serverTLS(cfg, log)
	if err != nil {
		return err
	}
	cleanStaleImport(cfg.Data, log)
	eng, clog, rep, err := openEngineRepl(cfg, log, cfg.Data, false, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	// After the store: a server refused for a store in use writes nothing.
	rootPW, err := rootPassword(cfg, stdout)
	if err != nil {
		return err
	}
	trimCtx, stopTrim := context.WithCancel(ctx)
	defer stopTrim()
	trimEvery := cfg.Replication.Changelog.TrimInterval
	if trimEvery <= 0 {
		trimEvery = time.Minute
	}
	go clog.RunTrimmer(trimCtx, trimEvery)
	if n := eng.EntryCount(); cfg.Demo && n == 0 {
		n, err := loadLDIF(directory.WithIdentity(ctx, cfg.RootDN), backendAdd(eng), bytes.NewReader(testdata.DemoLDIF), ldif.ReaderOptions{}, nil)
		if err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
		log.Info("loaded demo organisation", "entries", n)
	} else if cfg.Demo {
		log.Warn("demo data not loaded: the store is not empty (--demo fills only an empty store)", "data", cfg.Data, "entries", n)
	}

	memLimit := setMemoryLimit(trimCtx, cfg, eng, rep, log)

	// The request path of the overlay table (overlays.go): its Backends
	// in front of the engine, in the table's order.
	rp := &requestPath{cfg: cfg, log: log, eng: eng, clog: clog}
	defer rp.close()
	if err := rp.wrapBackend(); err != nil {
		return err
	}
	backend := rp.backend

	policy, err := accessPolicy(cfg, eng)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}

	metrics := admin.NewMetrics(eng)
	throttle := cfg.bindThrottle()
	registerThrottleMetrics(metrics, throttle)
	sortBudget := cfg.sortBudget()
	registerSortMetrics(metrics, sortBudget)
	if memLimit != nil && sortBudget != nil {
		// The sorts' rows are heap the store's budget does not count.
		sortBudget.Observe(memLimit.setSort)
	}
	idLimits, err := cfg.identityLimits(eng.Schema())
	if err != nil {
		return err
	}
	writeLimits, err := cfg.writeLimits(eng.Schema())
	if err != nil {
		return err
	}
	registerStoreMetrics(metrics, eng)
	exempt, err := cfg.connLimitExempt()
	if err != nil {
		return err
	}
	fe, err := frontend.New(frontend.Config{
		StartTLS:      tlsCfg != nil,
		RequireTLS:    cfg.TLS.Require,
		SASLExternal:  tlsCfg != nil && cfg.TLS.CAFile != "",
		Engine:        eng,
		Backend:       backend,
		RootDN:        cfg.RootDN,
		RootPassword:  rootPW,
		SizeLimit:     cfg.Limits.Size,
		TimeLimit:     cfg.Limits.Time,
		VendorVersion: version,
		Logger:        log,
		Throttle:      throttle,
		Limits:        idLimits,
		WriteLimits:   writeLimits,
		Access:        policy,
		SortLimit:     cfg.Limits.SortCandidates, // -1 (none): negative, none to frontend too
		SortRootLimit: cfg.Limits.SortCandidatesRoot,
		SortBudget:    sortBudget,
		StrictSort:    cfg.Sort.Strict,
		Cost:          cfg.searchCost(),
	})
	if err != nil {
		return err
	}
	// The overlay table's controls and search extensions (password
	// policy, content synchronization, persistent search).
	if err := rp.register(fe); err != nil {
		return err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go watchAccess(wctx, fs, eng, fe.SetAccess, log)
	var mounts map[string]http.Handler
	if rep != nil {
		stopRepl, err := startReplication(ctx, cfg, log, eng, rep, fe, metrics)
		if err != nil {
			return err
		}
		defer stopRepl()
		h := adminhttp.Handler(rep)
		mounts = map[string]http.Handler{"/replication": h, "/replication/": h}
	}
	// RFC 4533 consumers write through the changelog, so that the sync
	// provider and persistent searches above pass their changes on.
	// Federation (package federation): exports are partners of the
	// frontend; imports are RFC 4533 consumers made at run time. Revoking
	// an export closes its connections, on srv (set below).
	var srv *ldap.Server
	fed, err := federation.Open(ctx, federation.Config{Dir: cfg.Data, Engine: eng, Frontend: fe, Changelog: clog,
		Grace: cfg.Federation.Grace, Audit: rp.audit, Throttle: throttle, Logger: log,
		Disconnect: func(ndn string) int {
			if srv == nil {
				return 0
			}
			return srv.Disconnect(func(s *ldap.Session) bool { return s.BindDN() == ndn },
				ldap.Unavailable, "the federation export this session was bound to was revoked or changed")
		}})
	if err != nil {
		return err
	}
	defer fed.Close()
	if err := fed.RegisterMetrics(metrics.Registry); err != nil {
		return err
	}
	syncreplStatus, stopSyncrepl, err := startSyncrepl(ctx, cfg, log, eng, clog, metrics, fed.Consumers)
	if err != nil {
		return err
	}
	defer stopSyncrepl()
	if mounts == nil {
		mounts = map[string]http.Handler{}
	}
	mounts["GET /api/v1/syncrepl"] = syncreplStatus
	for pattern, h := range fed.Routes() {
		mounts[pattern] = h
	}
	adm, err := newAdminServer(cfg, log, eng, backend, rootPW, throttle, fe.Access, tlsCfg, metrics)
	if err != nil {
		return err
	}
	adm.Mount = mounts
	adm.SelfAuth = fed.DiscoveryRoutes()
	// The public HTTP listener's surfaces act through LDAP connections to
	// srv over an in-process pipe (package web).
	pipe := web.NewPipe()
	webSrv, err := newWebServer(cfg, log, eng, pipe, tlsCfg)
	if err != nil {
		return err
	}
	admins, _ := adm.Directory.(*adminDirectory)
	ops := newConsoleOps(cfg, eng, rep, fed, admins, tlsCfg, lns)
	if err := mountWeb(webSrv, cfg, log, eng, adm.Tokens, ops); err != nil {
		return err
	}
	srv = &ldap.Server{
		Handler:          fe,
		Logger:           log,
		MaxPDUBeforeBind: cfg.Limits.MaxPDUBeforeBind,
		MaxPDUAfterBind:  cfg.Limits.MaxPDUAfterBind,
		IdleTimeout:      cfg.Limits.IdleTimeout,
		ReadTimeout:      cfg.Limits.ReadTimeout,
		WriteTimeout:     cfg.Limits.WriteTimeout,
		MaxConnections:   noneAsZero(cfg.Limits.MaxConnections),
		MaxInFlight:      cfg.Limits.MaxInFlight,
		Observer:         metrics,
		TLSConfig:        tlsCfg,

		MaxConnectionsPerIP: noneAsZero(cfg.Limits.MaxConnectionsPerIP),
		ConnLimitExempt:     exempt,
	}
	errc := make(chan error, 5)
	for _, f := range rp.onShutdown {
		srv.RegisterOnShutdown(f)
	}
	ln, ldapsLn, aln, hln := lns.take()
	go func() { errc <- srv.Serve(ln) }()
	if ldapsLn != nil {
		go func() { errc <- srv.ServeTLS(ldapsLn, tlsCfg) }()
	}
	if aln != nil {
		go func() { errc <- adm.Serve(aln) }()
		log.Info("admin HTTP listening", "addr", aln.Addr().String(), "tls", adm.TLS != nil)
	}
	if hln != nil {
		go func() { errc <- srv.Serve(pipe) }()
		go func() { errc <- webSrv.Serve(hln) }()
		log.Info("public HTTP listening", "addr", hln.Addr().String(), "tls", webSrv.TLS != nil)
	}
	adm.SetReady(true)
	log.Info("LDAP listening", "addr", ln.Addr().String(), "suffix", cfg.Suffix, "entries", eng.EntryCount(), "version", version)
	printStart(stdout, cfg, tlsCfg != nil, ln, ldapsLn, aln, hln)

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if err != nil && !errors.Is(err, ldap.ErrServerClosed) {
			log.Error("server failed", "err", err)
		}
	}
	adm.SetReady(false)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Limits.ShutdownTimeout)
	defer cancel()
	// The web first: its requests use LDAP connections over the pipe.
	webSrv.Shutdown(sctx)
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown did not finish in time; closed remaining connections", "err", err)
	}
	adm.Shutdown(sctx)
	return nil
}

// addFunc adds one entry, keeping operational attributes it carries.
type addFunc func(ctx context.Context, dn string, attrs []directory.Attr) error

// backendAdd adds through a Backend, one transaction per entry.
func backendAdd(b directory.Backend) addFunc {
	return func(ctx context.Context, dn string, attrs []directory.Attr) error {
		_, err := b.Add(ctx, dn, attrs, directory.WriteOptions{KeepOperational: true})
		return err
	}
}

// loadLDIF adds every content or add record of r through add, stopping at the
// first error with its line number. progress, if set, is called now and
// then with the count so far.
func loadLDIF(ctx context.Context, add addFunc, r io.Reader, opt ldif.ReaderOptions, progress func(int)) (int, error) {
	rd := ldif.NewReader(r, opt)
	n := 0
	last := time.Now()
	for {
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if rec.ChangeType != "" && rec.ChangeType != ldif.ChangeAdd {
			return n, fmt.Errorf("line %d: import takes entries, not %q change records (use ldapmodify)", rec.Line, rec.ChangeType)
		}
		if err := add(ctx, rec.DN, slices.Clone(rec.Attrs)); err != nil {
			return n, fmt.Errorf("line %d: dn %q: %w", rec.Line, rec.DN, err)
		}
		n++
		if progress != nil && time.Since(last) > 500*time.Millisecond {
			progress(n)
			last = time.Now()
		}
	}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// ppolicyConfig is the password policy overlay's configuration.
func (cfg *Config) ppolicyConfig(log *slog.Logger) ppolicy.Config {
	return ppolicy.Config{Default: cfg.Overlays.PPolicy.Default, Logger: log}
}
