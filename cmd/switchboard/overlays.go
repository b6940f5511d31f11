package main

import (
	"log/slog"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
	"github.com/switchboard-ldap/switchboard/directory/overlay/memberof"
	"github.com/switchboard-ldap/switchboard/directory/overlay/ppolicy"
	"github.com/switchboard-ldap/switchboard/directory/overlay/psearch"
	"github.com/switchboard-ldap/switchboard/directory/overlay/syncprov"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
)

// An overlay is one row of the overlay table: the parts one extension
// plugs into the server. Each part is optional.
type overlay struct {
	name string
	// on reports whether the configuration enables the overlay.
	on func(cfg *Config, bulk bool) bool
	// hook adds to the write path, inside the write transaction: write
	// hooks, computed attributes, the Stamper.
	hook func(w *writePath) error
	// wrap adds to the request path: it returns a Backend in front of
	// next, and what to close at shutdown (nil: nothing).
	wrap func(r *requestPath, next directory.Backend) (directory.Backend, func() error, error)
	// register adds controls and search extensions to the frontend, and
	// what to call when the LDAP server shuts down to requestPath.onShutdown.
	register func(r *requestPath, fe *frontend.Frontend) error
}

// overlays is the overlay table, the one place that declares the order
// of the overlays. On the request path a row's Backend wraps those of
// the rows below it (the first row sees an operation first); on the
// write path the hooks run in the table's order inside the write
// transaction, so a hook sees what the hooks above it wrote (the
// replication op log and the changelog run last, to record what the
// overlays derived). The search extensions are keyed by their
// control and do not depend on the order.
func overlays() []overlay {
	return []overlay{
		{name: "audit", on: func(cfg *Config, _ bool) bool { return cfg.Audit.File != "" },
			wrap: func(r *requestPath, next directory.Backend) (directory.Backend, func() error, error) {
				cfg := r.cfg
				ao, err := audit.New(next, audit.Config{File: cfg.Audit.File, Sync: cfg.Audit.Sync, MaxBytes: int64(cfg.Audit.MaxBytes),
					Keep: cfg.Audit.Keep, FailClosed: cfg.Audit.FailClosed, Logger: r.log, Sealed: sealedDescription(r.eng)})
				if err != nil {
					return nil, nil, err
				}
				r.audit = ao.Log()
				return ao, ao.Close, nil
			}},
		{name: "ppolicy", on: func(cfg *Config, _ bool) bool { return cfg.Overlays.PPolicy.Enabled },
			hook: func(w *writePath) error {
				w.hooks = append(w.hooks, ppolicy.NewHook(w.cfg.ppolicyConfig(w.log)))
				return nil
			},
			wrap: func(r *requestPath, next directory.Backend) (directory.Backend, func() error, error) {
				return ppolicy.New(next, r.eng, r.cfg.ppolicyConfig(r.log)), nil, nil
			},
			register: func(_ *requestPath, fe *frontend.Frontend) error {
				// The policy control may answer any operation (changeAfterReset).
				fe.Controls().Register(ldap.OIDPasswordPolicy, ldap.OpBindRequest, ldap.OpSearchRequest, ldap.OpAddRequest,
					ldap.OpModifyRequest, ldap.OpDelRequest, ldap.OpModifyDNRequest, ldap.OpCompareRequest, ldap.OpExtendedRequest)
				return nil
			}},
		{name: "memberof", on: func(cfg *Config, _ bool) bool { return cfg.Overlays.MemberOf.Enabled },
			hook: func(w *writePath) error {
				mo := memberof.New(memberof.Config{Placeholder: w.cfg.Overlays.MemberOf.Placeholder})
				w.hooks = append(w.hooks, mo)
				w.virtual = append(w.virtual, mo)
				// Multi-supplier: group references converge by a merge rule.
				w.refs = &replication.References{Attrs: memberof.ReferenceAttrs(), Placeholder: w.cfg.Overlays.MemberOf.Placeholder}
				return nil
			}},
		// The Replicator turns each write into replicated changes: it runs
		// after the overlays that derive writes (memberOf's referential
		// integrity) and stamps through the changelog.
		{name: "replication", on: func(cfg *Config, bulk bool) bool { return !bulk && cfg.Replication.MultiSupplier },
			hook: func(w *writePath) error {
				clog, err := w.changelog()
				if err != nil {
					return err
				}
				cfg := w.cfg
				if w.rep, err = replication.NewReplicator(replication.MultiConfig{Changelog: clog, Logger: w.log,
					OpLogMaxAge: cfg.Replication.OpLog.MaxAge, OpLogMaxOps: cfg.Replication.OpLog.MaxOps,
					TombstoneWindow: cfg.Replication.TombstoneWindow, MaintenanceInterval: cfg.Replication.MaintenanceInterval,
					StateCacheEntries: cfg.Replication.StateCacheEntries, References: w.refs}); err != nil {
					return err
				}
				w.hooks = append(w.hooks, w.rep)
				w.stamper = w.rep
				return nil
			}},
		// The changelog runs last, so that it records what the other hooks
		// left; contextCSN is computed from it. A bulk load writes outside
		// transactions: the log then covers only what follows it.
		{name: "changelog", on: func(_ *Config, bulk bool) bool { return !bulk },
			hook: func(w *writePath) error {
				clog, err := w.changelog()
				if err != nil {
					return err
				}
				if w.stamper == nil {
					w.stamper = clog
				}
				w.hooks = append(w.hooks, clog)
				w.virtual = append(w.virtual, replication.ContextCSN{L: clog, R: w.rep})
				return nil
			}},
		// RFC 4533 provider: sync searches from the changelog.
		{name: "syncprov", on: func(_ *Config, bulk bool) bool { return !bulk },
			register: func(r *requestPath, fe *frontend.Frontend) error {
				prov, err := syncprov.New(syncprov.Config{Changelog: feedOf(r.clog), Engine: r.eng, Backend: r.backend, Logger: r.log,
					Consumers: r.cfg.Replication.Consumers})
				if err != nil {
					return err
				}
				prov.Register(fe)
				r.onShutdown = append(r.onShutdown, prov.Close)
				return nil
			}},
		// Persistent search (draft-ietf-ldapext-psearch-03) on the same stream.
		{name: "psearch", on: func(_ *Config, bulk bool) bool { return !bulk },
			register: func(r *requestPath, fe *frontend.Frontend) error {
				ps, err := psearch.New(psearch.Config{Changelog: feedOf(r.clog), Engine: r.eng, Backend: r.backend, Logger: r.log})
				if err != nil {
					return err
				}
				ps.Register(fe)
				r.onShutdown = append(r.onShutdown, ps.Close)
				return nil
			}},
	}
}

// writePath collects what the overlay table adds to the engine's write
// path, for directory.Options.
type writePath struct {
	cfg     *Config
	log     *slog.Logger
	hooks   []directory.WriteHook
	virtual []directory.VirtualAttribute
	stamper directory.Stamper
	clog    *replication.Changelog
	rep     *replication.Replicator
	refs    *replication.References // memberOf's reference rule, for the Replicator
}

// buildWritePath runs the table's hook parts in order.
func buildWritePath(cfg *Config, log *slog.Logger, bulk bool) (*writePath, error) {
	w := &writePath{cfg: cfg, log: log}
	for _, o := range overlays() {
		if o.hook != nil && o.on(cfg, bulk) {
			if err := o.hook(w); err != nil {
				return nil, err
			}
		}
	}
	return w, nil
}

// changelog returns the RFC 4533 changelog, made on first use (the
// Replicator stamps through it, and it is a hook of its own).
func (w *writePath) changelog() (*replication.Changelog, error) {
	if w.clog != nil {
		return w.clog, nil
	}
	var now func() time.Time
	if off := w.cfg.Replication.ClockOffset; off != 0 {
		now = func() time.Time { return time.Now().Add(off) }
	}
	cfg := w.cfg
	clog, err := replication.New(replication.Config{
		Replica: uint16(cfg.Replication.ReplicaID), MaxAge: cfg.Replication.Changelog.MaxAge,
		MaxEntries: cfg.Replication.Changelog.MaxEntries, Logger: w.log,
		MaxSkew: cfg.Replication.MaxSkew, Now: now,
	})
	if err != nil {
		return nil, err
	}
	w.clog = clog
	return clog, nil
}

// requestPath is what the table's request-path parts are built from.
type requestPath struct {
	cfg  *Config
	log  *slog.Logger
	eng  *directory.Engine
	clog *replication.Changelog
	// backend is the whole chain, once wrapBackend built it.
	backend directory.Backend
	// audit is the audit overlay's log, if it is on (federation records
	// its changes there too).
	audit *audit.Log
	// closers close the wrappers that hold resources, in the order
	// to call them.
	closers []func() error
	// onShutdown are for the LDAP server's shutdown: they end the
	// searches that would otherwise run on (ldap.Server.RegisterOnShutdown).
	onShutdown []func()
}

// wrapBackend builds the request path: the table's wrappers in front of
// the engine, the first row outermost (so they are built last row
// first).
func (r *requestPath) wrapBackend() error {
	var b directory.Backend = r.eng
	table := overlays()
	for i := len(table) - 1; i >= 0; i-- {
		o := table[i]
		if o.wrap == nil || !o.on(r.cfg, false) {
			continue
		}
		next, closer, err := o.wrap(r, b)
		if err != nil {
			return err
		}
		if closer != nil {
			r.closers = append([]func() error{closer}, r.closers...)
		}
		b = next
	}
	r.backend = b
	return nil
}

// register adds the table's controls and search extensions to fe.
func (r *requestPath) register(fe *frontend.Frontend) error {
	for _, o := range overlays() {
		if o.register != nil && o.on(r.cfg, false) {
			if err := o.register(r, fe); err != nil {
				return err
			}
		}
	}
	return nil
}

// close closes what the wrappers hold.
func (r *requestPath) close() {
	for _, c := range r.closers {
		c()
	}
}

// sealedDescription reports, for the audit log, whether an attribute
// description as a client wrote it (a name or OID in any case, with
// options) names a sealed attribute; nil when nothing is sealed.
func sealedDescription(eng *directory.Engine) func(desc string) bool {
	s := eng.Sealer()
	if len(s.Names()) == 0 {
		return nil
	}
	return func(desc string) bool {
		if at, ok := eng.Schema().Attribute(desc); ok {
			return s.Sealed(at.Name())
		}
		return s.Sealed(desc)
	}
}
