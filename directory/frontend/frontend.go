// Package frontend turns decoded LDAP requests into directory operations,
// the part of a server that slapd calls its frontend (do_search, do_add,
// ...): it resolves names and controls, decides who may do what, answers
// the Root DSE and the subschema subentry itself, and hands everything else
// to a directory.Backend, which may be the engine or an overlay chain in
// front of it.
//
// A search takes this path: ldap.Server decodes it and calls ServeLDAP;
// search() checks controls and limits, picks the Root DSE, the subschema or
// the backend; the backend streams matching entries to a callback that
// selects the requested attributes and writes each one to the
// ResponseWriter; the result (with a paged-results cookie) ends it.
package frontend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Config configures a Frontend.
type Config struct {
	// Engine supplies the schema, the suffix and filter matching for
	// entries the backend does not store (Root DSE, subschema).
	Engine *directory.Engine
	// Backend runs the operations; nil means Engine.
	Backend directory.Backend
	// RootDN is the administrator, who bypasses access control, and
	// RootPassword its password: cleartext or a {SCHEME} hash.
	RootDN       string
	RootPassword []byte
	// SizeLimit and TimeLimit cap searches by anyone but the root DN
	// (defaults 500 entries and 3600 s, as slapd's). Negative means none.
	SizeLimit int
	TimeLimit time.Duration
	// SortLimit caps how many entries a sorted or virtual list view
	// search (RFC 2891, VLV) gathers for anyone but the root DN (default
	// 100000; negative means none), SortRootLimit for the root DN (0 or
	// negative: none). Beyond it the sort fails with sortResult
	// adminLimitExceeded (sort.go).
	SortLimit     int
	SortRootLimit int
	// SortBudget, if set, bounds the memory of all concurrent sorts
	// (sortbudget.go).
	SortBudget *SortBudget
	// Cost bounds the work of each search by anyone but the root DN
	// (directory.CostLimits; the zero value: none). Beyond it the search
	// ends with adminLimitExceeded.
	Cost directory.CostLimits
	// StrictSort refuses sort keys on types without an ORDERING rule
	// (inappropriateMatching) as slapd does, instead of ordering them by
	// their EQUALITY rule's normal form.
	StrictSort bool
	// NoIndexSort makes every sorted search gather and sort its entries,
	// never answering from the key's index (sort.go indexSort): the
	// reference the index-ordered path is tested against.
	NoIndexSort bool
	// VendorVersion is published in the Root DSE.
	VendorVersion string
	Logger        *slog.Logger

	// StartTLS tells the frontend that the server offers StartTLS (the
	// ldap.Server handles the operation itself); the Root DSE then lists
	// it in supportedExtension (RFC 4511 section 4.14, RFC 4512 5.1).
	StartTLS bool
	// RequireTLS is what a connection without TLS may not do: RequireNone
	// (or ""), RequireTLSBind or RequireTLSAll. Refusals get
	// confidentialityRequired (13, RFC 4511 appendix A.2).
	RequireTLS string
	// SASLExternal accepts SASL EXTERNAL binds as the subject of a
	// verified TLS client certificate and publishes EXTERNAL in
	// supportedSASLMechanisms (RFC 4513 section 5.2.3).
	SASLExternal bool
	// Access is the access policy (see the access package); nil means
	// access.DefaultRules with default options. SetAccess replaces it.
	Access *access.Policy

	// Throttle, if set, delays the answers to repeated failed binds
	// (throttle.go).
	Throttle *Throttle
	// Limits, if set, gives identities their own search limits
	// (limits.go).
	Limits *Limits
	// WriteLimits, if set, bounds value and entry sizes and the bytes
	// each identity writes per minute, for all but the root DN (limits.go).
	WriteLimits *WriteLimits
}

// Values of Config.RequireTLS.
const (
	// RequireNone allows everything over cleartext.
	RequireNone = "none"
	// RequireTLSBind refuses simple binds that carry a password over
	// cleartext (RFC 4513 sections 5.1.3 and 6.3.1: a password sent
	// without confidentiality protection can be read on the wire). The
	// client has already sent the password once; the refusal teaches it
	// not to do so again, as slapd's "security simple_bind=" does.
	RequireTLSBind = "bind"
	// RequireTLSAll refuses every operation over cleartext except an
	// anonymous bind and the Root DSE read, which a client needs to learn
	// that StartTLS is offered (StartTLS itself never reaches the handler).
	RequireTLSAll = "all"
)

// Frontend is an ldap.Handler serving one naming context.
type Frontend struct {
	cfg      Config
	backend  directory.Backend
	engine   *directory.Engine
	schema   *schema.Schema
	rootNDN  string
	controls *Controls
	started  time.Time

	subschemaOnce  sync.Once
	subschemaEntry *directory.Entry

	bindObserver BindObserver // Config.Backend, if it is one

	policy         atomic.Pointer[access.Policy]
	partners       partners // partner.go
	noAccessOnce   sync.Once
	noAccessPolicy *access.Policy
	groups         groupCache
	extMu          sync.RWMutex
	extensions     map[string]SearchExtension // by control OID (extension.go)
	extHandlers    map[string]ExtendedHandler // by request OID, under extMu
}

// An ExtendedHandler answers an extended operation that an overlay or
// subsystem registered with RegisterExtended (replication's pull).
type ExtendedHandler func(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session)

// RegisterExtended makes h answer extended requests named oid.
func (f *Frontend) RegisterExtended(oid string, h ExtendedHandler) {
	f.extMu.Lock()
	defer f.extMu.Unlock()
	if f.extHandlers == nil {
		f.extHandlers = map[string]ExtendedHandler{}
	}
	f.extHandlers[oid] = h
}

// BindObserver is implemented by a Backend (an audit overlay) that must
// hear of the binds the frontend settles itself, without calling
// Backend.Authenticate: the root DN's binds, anonymous binds, and binds
// refused before authentication (not LDAPv3, SASL, an invalid DN, a name
// without a password or a password without a name). The frontend finds it
// by type assertion on Config.Backend, as net/http finds a Flusher.
// ObserveBind gets the bind's name and outcome (nil for success) and
// returns the error to answer with: usually err itself.
type BindObserver interface {
	ObserveBind(ctx context.Context, dn string, err error) error
}

// New returns a Frontend. The root DN must parse.
func New(cfg Config) (*Frontend, error) {
	if cfg.Engine == nil {
		return nil, errors.New("frontend: Config.Engine is nil")
	}
	f := &Frontend{cfg: cfg, engine: cfg.Engine, backend: cfg.Backend, schema: cfg.Engine.Schema(), started: time.Now()}
	if f.backend == nil {
		f.backend = cfg.Engine
	}
	f.bindObserver, _ = f.backend.(BindObserver)
	switch cfg.RequireTLS {
	case "", RequireNone, RequireTLSBind, RequireTLSAll:
	default:
		return nil, fmt.Errorf("frontend: RequireTLS %q is none of none, bind, all", cfg.RequireTLS)
	}
	if cfg.RootDN != "" {
		n, err := f.schema.NormalizeDNString(cfg.RootDN)
		if err != nil {
			return nil, err
		}
		f.rootNDN = n
	}
	if f.cfg.SizeLimit == 0 {
		f.cfg.SizeLimit = 500
	}
	if f.cfg.TimeLimit == 0 {
		f.cfg.TimeLimit = time.Hour
	}
	if f.cfg.Logger == nil {
		f.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if f.cfg.SortLimit == 0 {
		f.cfg.SortLimit = 100000
	}
	if cfg.Access == nil {
		p, err := access.Compile(f.engine, access.DefaultRules(access.DefaultOptions{}))
		if err != nil {
			return nil, fmt.Errorf("frontend: default access rules: %w", err)
		}
		cfg.Access = p
	}
	f.policy.Store(cfg.Access)
	f.controls = NewControls()
	f.registerControls()
	return f, nil
}

// Controls returns the control registry, so overlays can add theirs.
func (f *Frontend) Controls() *Controls { return f.controls }

// Controls is the registry of request controls the server understands, by
// OID, with the operations each applies to. A critical control that is not
// registered for the operation is refused with
// unavailableCriticalExtension (RFC 4511 4.1.11); a non-critical one is
// ignored. Registered OIDs are published as supportedControl.
type Controls struct {
	mu  sync.RWMutex
	ops map[string]map[ldap.Op]bool
}

// NewControls returns an empty registry.
func NewControls() *Controls { return &Controls{ops: map[string]map[ldap.Op]bool{}} }

// Register declares that oid is understood on ops.
func (c *Controls) Register(oid string, ops ...ldap.Op) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.ops[oid]
	if m == nil {
		m = map[ldap.Op]bool{}
		c.ops[oid] = m
	}
	for _, op := range ops {
		m[op] = true
	}
}

// Supported reports whether oid is understood on op.
func (c *Controls) Supported(oid string, op ldap.Op) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ops[oid][op]
}

// OIDs returns the registered OIDs, sorted.
func (c *Controls) OIDs() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.ops))
	for oid := range c.ops {
		out = append(out, oid)
	}
	sort.Strings(out)
	return out
}

// checkControls refuses unknown critical controls and duplicated ones.
func (f *Frontend) checkControls(r *ldap.Request) *ldap.Error {
	for i, c := range r.Controls {
		oid := string(c.OID)
		for j := 0; j < i; j++ {
			if string(r.Controls[j].OID) == oid {
				return &ldap.Error{Code: ldap.ProtocolError, Message: "control " + oid + " appears twice"}
			}
		}
		if c.Critical && !f.controls.Supported(oid, r.Op) {
			return &ldap.Error{Code: ldap.UnavailableCriticalExtension, Message: "critical extension " + oid + " is not available"}
		}
	}
	return nil
}

func findControl(r *ldap.Request, oid string) *ldap.Control {
	for i := range r.Controls {
		if string(r.Controls[i].OID) == oid {
			return &r.Controls[i]
		}
	}
	return nil
}

// ServeLDAP implements ldap.Handler.
func (f *Frontend) ServeLDAP(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request) {
	if err := f.checkControls(r); err != nil {
		writeErr(w, err)
		return
	}
	sess := ldap.SessionFrom(ctx)
	if sess == nil {
		sess = &ldap.Session{}
	}
	if err := f.checkConfidentiality(r, sess); err != nil {
		writeErr(w, err)
		return
	}
	ctx = directory.WithIdentity(ctx, sess.BindDN())
	if r.Op == ldap.OpBindRequest || len(r.Controls) > 0 {
		ctx, w = withReply(ctx, w, r)
	}
	if sess.PasswordMustChange() {
		var err error
		if w, err = f.checkMustChange(ctx, w, r, sess); err != nil {
			writeErr(w, err)
			return
		}
	}
	switch r.Op {
	case ldap.OpBindRequest:
		f.bind(ctx, w, r, sess)
	case ldap.OpSearchRequest:
		f.search(ctx, w, r, sess)
	case ldap.OpAddRequest:
		f.add(ctx, w, r, sess)
	case ldap.OpModifyRequest:
		f.modify(ctx, w, r, sess)
	case ldap.OpDelRequest:
		f.delete(ctx, w, r, sess)
	case ldap.OpModifyDNRequest:
		f.modifyDN(ctx, w, r, sess)
	case ldap.OpCompareRequest:
		f.compare(ctx, w, r, sess)
	case ldap.OpExtendedRequest:
		f.extended(ctx, w, r, sess)
	default:
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: "unsupported operation"})
	}
}

// checkConfidentiality applies Config.RequireTLS to a request arriving on
// a connection without TLS.
func (f *Frontend) checkConfidentiality(r *ldap.Request, s *ldap.Session) *ldap.Error {
	mode := f.cfg.RequireTLS
	if mode == "" || mode == RequireNone || s.TLS() != nil {
		return nil
	}
	b := &r.Bind
	passwordBind := r.Op == ldap.OpBindRequest && b.Simple && len(b.Password) > 0
	switch mode {
	case RequireTLSBind:
		if !passwordBind {
			return nil
		}
	case RequireTLSAll:
		switch {
		case r.Op == ldap.OpBindRequest && b.Simple && len(b.Name) == 0 && len(b.Password) == 0:
			return nil // anonymous: nothing to protect, and tools bind first
		case r.Op == ldap.OpSearchRequest && len(r.Search.BaseObject) == 0 && r.Search.Scope == ldap.ScopeBaseObject:
			return nil // the Root DSE, where StartTLS is advertised
		}
	}
	if passwordBind {
		return &ldap.Error{Code: ldap.ConfidentialityRequired, Message: "confidentiality required: use StartTLS or LDAPS before a password bind"}
	}
	return &ldap.Error{Code: ldap.ConfidentialityRequired, Message: "confidentiality required: use StartTLS or LDAPS"}
}

// writeErr answers with the code of err: an *ldap.Error as it is, a
// cancelled context as canceled, anything else as other (80) with the
// message logged rather than sent.
func writeErr(w ldap.ResponseWriter, err error) {
	var le *ldap.Error
	switch {
	case errors.As(err, &le):
		w.WriteResult(&ldap.Result{Code: le.Code, MatchedDN: le.MatchedDN, Diagnostic: le.Message, Referral: le.Referral})
	case errors.Is(err, context.DeadlineExceeded):
		w.WriteResult(&ldap.Result{Code: ldap.TimeLimitExceeded, Diagnostic: "time limit exceeded"})
	case errors.Is(err, context.Canceled):
		w.WriteResult(&ldap.Result{Code: ldap.Canceled})
	default:
		w.WriteResult(&ldap.Result{Code: ldap.Other, Diagnostic: "internal error"})
	}
}

func success(w ldap.ResponseWriter) {
	w.WriteResult(&ldap.Result{Code: ldap.Success})
}

// isRoot reports whether the session is bound as the root DN.
func (f *Frontend) isRoot(s *ldap.Session) bool {
	return f.rootNDN != "" && s.BindDN() == f.rootNDN
}
