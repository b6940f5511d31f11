package replication

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/merge"
	"github.com/switchboard-ldap/switchboard/schema"
)

// SyncreplConfig configures a Syncrepl consumer.
type SyncreplConfig struct {
	// Name identifies the consumer; its position is stored under it.
	Name string
	// URL is the provider, ldap://host:port or ldaps://host:port.
	URL string
	// StartTLS upgrades an ldap:// connection before the bind.
	StartTLS bool
	// TLS is used for ldaps:// and StartTLS (nil: the system roots).
	TLS *tls.Config
	// BindDN and Password are the simple bind; an empty BindDN binds
	// anonymously.
	BindDN, Password string
	// Base, Scope (ldap.ScopeBaseObject, ScopeSingleLevel or
	// ScopeWholeSubtree) and Filter select what to replicate; Filter
	// defaults to (objectClass=*).
	Base   string
	Scope  ldap.Scope
	Filter string
	// Attributes, when not empty, is the allow-list of user attributes
	// requested and kept (objectClass is always kept).
	Attributes []string
	// Persist selects refreshAndPersist; otherwise refreshOnly polls
	// every Interval.
	Persist  bool
	Interval time.Duration
	// LocalBase is where Base lands locally ("": the same DN): every DN
	// and every DN-valued attribute value under Base is rewritten to lie
	// under LocalBase. Everything under LocalBase belongs to the
	// consumer: a full refresh removes what the provider did not send.
	LocalBase string
	// RetryMin and RetryMax bound the back-off after a failure
	// (defaults 1 s and 1 min).
	RetryMin, RetryMax time.Duration
	// KeepBase leaves the LocalBase entry to the local server: the
	// consumer never writes, moves or removes it, and ignores the
	// provider's entry at Base (a federation import creates the base
	// itself, as the provider's may lie outside what it shares).
	KeepBase bool
	// Stop, if set, is asked about every failed session: true ends Run
	// instead of retrying (a revoked partner's invalidCredentials). It is
	// not asked about ErrRefreshRequired while there is a cookie to drop.
	Stop func(error) bool
	// Log is told about every change (the changelog, so that local sync
	// sessions and persistent searches see replicated changes); nil
	// records nothing.
	Log    directory.ChangeLog
	Logger *slog.Logger
}

// States of a Syncrepl consumer (SyncreplStatus.State).
const (
	SyncreplConnecting = "connecting"
	SyncreplRefreshing = "refreshing"
	SyncreplPersisting = "persisting"
	SyncreplIdle       = "idle" // refreshOnly, between polls
	SyncreplRetrying   = "retrying"
	SyncreplStopped    = "stopped"
)

// SyncreplStatus is what a consumer reports (the admin API shows it).
type SyncreplStatus struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	State    string `json:"state"`
	// Entries is the number of replicated entries held locally.
	Entries int `json:"entries"`
	// Applied counts the entries written or removed since start;
	// FullRefreshes the sessions begun without a cookie (a resumed
	// consumer has none); Refreshes every refresh phase completed.
	Applied       int64 `json:"applied"`
	FullRefreshes int   `json:"full_refreshes"`
	Refreshes     int   `json:"refreshes"`
	// LastChange is when a change was last applied, LastChangeDN its DN.
	LastChange   time.Time `json:"last_change,omitzero"`
	LastChangeDN string    `json:"last_change_dn,omitempty"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
	// Errors counts the sessions that failed since start.
	Errors int64 `json:"errors"`
	// Retries counts consecutive failed sessions; NextRetry is when the
	// next one starts while State is retrying.
	Retries   int       `json:"retries"`
	NextRetry time.Time `json:"next_retry,omitzero"`
	HasCookie bool      `json:"has_cookie"`
	// Glue counts the placeholder entries held for ancestors the provider
	// does not send (syncrepl_glue.go).
	Glue int `json:"glue"`
}

var validSyncreplName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// A Syncrepl is an RFC 4533 consumer: it replicates a subtree of a
// provider (OpenLDAP slapd, another Switchboard) into the local engine,
// keeping the provider's entryUUIDs, and stores its cookie with the
// changes it covers. Create it with NewSyncrepl and call Run.
type Syncrepl struct {
	cfg    SyncreplConfig
	eng    *directory.Engine
	log    *slog.Logger
	dns    dnMap
	fp     uint64
	allow  map[string]bool // canonical lower-case names; nil: all
	filter string
	suffix string // the engine's suffix, normalised

	// Owned by Run's goroutine.
	byUUID map[[16]byte]localRef
	byNDN  map[string][16]byte
	glue   map[string]directory.ID // NDN -> glue entry (syncrepl_glue.go)
	cookie []byte

	mu     sync.Mutex
	status SyncreplStatus
}

type localRef struct {
	id  directory.ID
	ndn string
}

// NewSyncrepl checks cfg and makes a consumer writing into eng.
func NewSyncrepl(cfg SyncreplConfig, eng *directory.Engine) (*Syncrepl, error) {
	if !validSyncreplName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("syncrepl: name %q: want 1-64 letters, digits, '.', '_' or '-'", cfg.Name)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("syncrepl %s: provider %q: want ldap://host:port or ldaps://host:port", cfg.Name, cfg.URL)
	}
	if cfg.StartTLS && u.Scheme == "ldaps" {
		return nil, fmt.Errorf("syncrepl %s: start_tls with an ldaps:// provider", cfg.Name)
	}
	if cfg.Filter == "" {
		cfg.Filter = "(objectClass=*)"
	}
	if _, err := ldap.ParseFilter(cfg.Filter); err != nil {
		return nil, fmt.Errorf("syncrepl %s: filter %q: %w", cfg.Name, cfg.Filter, err)
	}
	switch cfg.Scope {
	case ldap.ScopeBaseObject, ldap.ScopeSingleLevel, ldap.ScopeWholeSubtree:
	default:
		return nil, fmt.Errorf("syncrepl %s: bad scope %d", cfg.Name, cfg.Scope)
	}
	if cfg.LocalBase == "" {
		cfg.LocalBase = cfg.Base
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Minute
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(time.Minute, cfg.RetryMin)
	}
	s := &Syncrepl{cfg: cfg, eng: eng, log: cfg.Logger, filter: cfg.Filter}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("syncrepl", cfg.Name)
	if s.dns, err = newDNMap(eng.Schema(), cfg.Base, cfg.LocalBase); err != nil {
		return nil, fmt.Errorf("syncrepl %s: %w", cfg.Name, err)
	}
	if s.suffix, err = eng.NormalizeDN(eng.Suffix()); err != nil {
		return nil, err
	}
	if lb, err := eng.NormalizeDN(cfg.LocalBase); err != nil || (lb != s.suffix && !ldap.IsBelowNDN(lb, s.suffix)) {
		return nil, fmt.Errorf("syncrepl %s: local base %q is not within the suffix %q", cfg.Name, cfg.LocalBase, eng.Suffix())
	}
	if len(cfg.Attributes) > 0 {
		s.allow = map[string]bool{"objectclass": true}
		for _, a := range cfg.Attributes {
			at, ok := eng.Schema().Attribute(a)
			if !ok {
				return nil, fmt.Errorf("syncrepl %s: attribute %q is not in the schema", cfg.Name, a)
			}
			s.allow[strings.ToLower(at.Name())] = true
		}
	}
	s.fp = cfg.fingerprint()
	s.status = SyncreplStatus{Name: cfg.Name, Provider: cfg.URL, State: SyncreplStopped}
	return s, nil
}

// Status returns a copy of the consumer's status.
func (s *Syncrepl) Status() SyncreplStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	return st
}

func (s *Syncrepl) update(fn func(st *SyncreplStatus)) {
	s.mu.Lock()
	fn(&s.status)
	s.mu.Unlock()
}

// ErrRefreshRequired is a session's error when the provider answers
// e-syncRefreshRequired. With a cookie, Run starts again without it (a
// full refresh); without one, it is a failed session like any other,
// which SyncreplConfig.Stop may end.
var ErrRefreshRequired = errors.New("provider requires a full refresh (e-syncRefreshRequired)")

// Run replicates until ctx ends: it loads the stored position and the
// local entries, then runs sessions, retrying failures with exponential
// back-off between RetryMin and RetryMax.
func (s *Syncrepl) Run(ctx context.Context) {
	defer s.update(func(st *SyncreplStatus) { st.State, st.NextRetry = SyncreplStopped, time.Time{} })
	backoff := s.cfg.RetryMin
	loaded := false
	for ctx.Err() == nil {
		var err error
		if !loaded {
			if err = s.load(); err == nil {
				loaded = true
			}
		}
		if err == nil {
			err = s.session(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		var wait time.Duration
		switch {
		case errors.Is(err, ErrRefreshRequired) && s.cookie != nil:
			s.log.Warn("provider asks for a full refresh")
			if err := s.dropCookie(ctx); err != nil {
				s.fail(err)
			}
			continue
		case err != nil && s.cfg.Stop != nil && s.cfg.Stop(err):
			s.fail(err)
			return
		case err != nil:
			s.fail(err)
			wait = backoff
			backoff = min(2*backoff, s.cfg.RetryMax)
			s.update(func(st *SyncreplStatus) {
				st.State, st.NextRetry = SyncreplRetrying, time.Now().Add(wait)
				st.Retries++
			})
		default:
			backoff = s.cfg.RetryMin
			wait = s.cfg.Interval
			s.update(func(st *SyncreplStatus) { st.State, st.Retries, st.NextRetry = SyncreplIdle, 0, time.Now().Add(wait) })
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (s *Syncrepl) fail(err error) {
	s.log.Warn("syncrepl session failed", "err", err)
	s.update(func(st *SyncreplStatus) {
		st.LastError, st.LastErrorAt = err.Error(), time.Now()
		st.Errors++
	})
}

// load reads the stored cookie and indexes the local entries under the
// local base by entryUUID.
func (s *Syncrepl) load() error {
	var rec []byte
	if err := s.eng.View(func(v *directory.View) error {
		var err error
		rec, err = v.Record(syncreplKey(s.cfg.Name))
		return err
	}); err != nil {
		return fmt.Errorf("reading the stored position: %w", err)
	}
	s.cookie = nil
	if rec != nil {
		fp, ck, err := decodeSyncreplRecord(rec)
		switch {
		case err != nil:
			s.log.Warn("ignoring the stored position", "err", err)
		case fp != s.fp:
			s.log.Info("configuration changed since the stored position: full refresh")
		default:
			s.cookie = ck
		}
	}
	s.byUUID = map[[16]byte]localRef{}
	s.byNDN = map[string][16]byte{}
	s.glue = map[string]directory.ID{}
	base := s.dns.localNDN
	err := s.eng.ForEachEntry(func(en *directory.Entry) error {
		if (en.NDN != base || s.keepsBase()) && !ldap.IsBelowNDN(en.NDN, base) {
			return nil
		}
		if isGlue(en) {
			s.glue[en.NDN] = en.ID
			return nil
		}
		id, err := merge.ParseUUID(en.First("entryUUID"))
		if err != nil {
			return nil
		}
		u := [16]byte(id)
		s.byUUID[u] = localRef{id: en.ID, ndn: en.NDN}
		s.byNDN[en.NDN] = u
		return nil
	})
	if err != nil {
		return fmt.Errorf("indexing the local entries: %w", err)
	}
	n, g := len(s.byUUID), len(s.glue)
	s.update(func(st *SyncreplStatus) { st.Entries, st.HasCookie, st.Glue = n, s.cookie != nil, g })
	return nil
}

// Forget erases the consumer's stored position, so that a consumer of
// the same name starts with a full refresh (its copy was purged). Run
// must not be running.
func (s *Syncrepl) Forget(ctx context.Context) error { return s.dropCookie(ctx) }

func (s *Syncrepl) dropCookie(ctx context.Context) error {
	s.cookie = nil
	s.update(func(st *SyncreplStatus) { st.HasCookie = false })
	return s.eng.UpdateRecords(ctx, func(tx *directory.Tx) error { return tx.DeleteRecord(syncreplKey(s.cfg.Name)) })
}

// dial connects, upgrades with StartTLS when asked and binds.
func (s *Syncrepl) dial(ctx context.Context) (*goldap.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	tlsCfg := s.cfg.TLS
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	if tlsCfg.ServerName == "" {
		if u, err := url.Parse(s.cfg.URL); err == nil {
			tlsCfg = tlsCfg.Clone()
			tlsCfg.ServerName = u.Hostname()
		}
	}
	c, err := goldap.DialURL(s.cfg.URL, goldap.DialWithDialer(d), goldap.DialWithTLSConfig(tlsCfg))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", s.cfg.URL, err)
	}
	c.SetTimeout(30 * time.Second)
	if s.cfg.StartTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			c.Close()
			return nil, fmt.Errorf("StartTLS with %s: %w", s.cfg.URL, err)
		}
	}
	if s.cfg.BindDN != "" {
		if err := c.Bind(s.cfg.BindDN, s.cfg.Password); err != nil {
			c.Close()
			return nil, fmt.Errorf("binding to %s as %s: %w", s.cfg.URL, s.cfg.BindDN, err)
		}
	}
	// go-ldap's timeout bounds a whole request: the sync search, which
	// lasts as long as the refresh (or for ever), must not have one.
	c.SetTimeout(0)
	return c, nil
}

// attrsRequested lists the attributes of the sync search: the allow-list
// (or all user attributes) and the operational attributes kept.
func (s *Syncrepl) attrsRequested() []string {
	a := []string{"*"}
	if s.allow != nil {
		a = slices.Clone(s.cfg.Attributes)
		a = append(a, "objectClass")
	}
	return append(a, keptOperational...)
}

// keptOperational are the operational attributes copied from the
// provider; the others (structuralObjectClass, entryDN, hasSubordinates,
// memberOf...) are the local server's to compute.
var keptOperational = []string{"entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp", "creatorsName", "modifiersName"}

// session runs one sync search: a refresh, then (refreshAndPersist) the
// persist stage until the connection ends. It returns nil after a
// completed refreshOnly refresh.
func (s *Syncrepl) session(ctx context.Context) error {
	s.update(func(st *SyncreplStatus) { st.State = SyncreplConnecting })
	c, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mode := goldap.SyncRequestModeRefreshOnly
	if s.cfg.Persist {
		mode = goldap.SyncRequestModeRefreshAndPersist
	}
	full := s.cookie == nil
	s.update(func(st *SyncreplStatus) {
		st.State = SyncreplRefreshing
		if full {
			st.FullRefreshes++
		}
	})
	req := goldap.NewSearchRequest(s.cfg.Base, int(s.cfg.Scope), goldap.NeverDerefAliases, 0, 0, false,
		s.filter, s.attrsRequested(), nil)
	res := c.Syncrepl(sctx, req, 256, mode, s.cookie, false)
	a := &applier{s: s, ctx: ctx, refreshing: true, full: full, present: map[[16]byte]bool{}}
	for res.Next() {
		if en := res.Entry(); en != nil {
			if err := a.entry(en, res.Controls()); err != nil {
				return err
			}
			continue
		}
		for _, ctl := range res.Controls() {
			var err error
			switch ctl := ctl.(type) {
			case *goldap.ControlSyncInfo:
				err = a.info(ctl)
			case *goldap.ControlSyncDone:
				err = a.done(ctl.Cookie, ctl.RefreshDeletes)
				if err == nil && !s.cfg.Persist {
					return nil
				}
			}
			if err != nil {
				return err
			}
		}
	}
	if err := res.Err(); err != nil {
		if goldap.IsErrorWithCode(err, uint16(ldap.SyncRefreshRequired)) {
			return ErrRefreshRequired
		}
		return fmt.Errorf("sync search on %s: %w", s.cfg.URL, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := a.flush(nil); err != nil {
		return err
	}
	if !s.cfg.Persist {
		return errors.New("provider ended the sync search without a sync done control")
	}
	return errors.New("provider ended the persistent sync search")
}

// An applier applies the messages of one session to the engine. During
// the refresh stage it batches entries; cookies are stored only with the
// changes they cover, at the end of the refresh and with each change of
// the persist stage.
type applier struct {
	s          *Syncrepl
	ctx        context.Context
	refreshing bool
	full       bool // the session began without a cookie
	// present marks the entries a present phase named; nil once used.
	present map[[16]byte]bool
	put     []*directory.Entry
	putU    [][16]byte
	remove  []directory.ID
	removeU [][16]byte
	// unlinked are the entries the batch turns into glue (delete): they
	// leave the replicated entries.
	unlinked [][16]byte
	inBatch  map[[16]byte]bool
	// batchNDN maps the DNs written in the batch to their IDs, to find
	// parents not committed yet.
	batchNDN map[string]directory.ID
	orphans  []orphan
	// gluing: an entry whose parent is missing gets glue ancestors
	// instead of waiting (outside a refresh, and at its end); batchGlue
	// holds the NDNs of the glue in the batch.
	gluing    bool
	batchGlue map[string]bool
}

// An orphan is an entry whose parent has not arrived yet (a refresh
// sends entries in the provider's order, which may put a moved entry
// before its new parent).
type orphan struct {
	u  [16]byte
	en *goldap.Entry
}

const syncreplBatch = 500

func syncState(ctls []goldap.Control) *goldap.ControlSyncState {
	for _, c := range ctls {
		if st, ok := c.(*goldap.ControlSyncState); ok {
			return st
		}
	}
	return nil
}

// entry handles a SearchResultEntry with its Sync State control.
func (a *applier) entry(en *goldap.Entry, ctls []goldap.Control) error {
	st := syncState(ctls)
	if st == nil {
		return fmt.Errorf("entry %q without a sync state control", en.DN)
	}
	u := [16]byte(st.EntryUUID)
	switch st.State {
	case goldap.SyncStatePresent:
		a.markPresent(u)
	case goldap.SyncStateAdd, goldap.SyncStateModify:
		a.markPresent(u)
		if err := a.upsert(u, en); err != nil {
			return err
		}
	case goldap.SyncStateDelete:
		if err := a.delete(u); err != nil {
			return err
		}
	default:
		return fmt.Errorf("entry %q: unknown sync state %d", en.DN, st.State)
	}
	if a.refreshing {
		if len(a.put)+len(a.remove) >= syncreplBatch {
			return a.flush(nil)
		}
		return nil
	}
	if len(a.orphans) > 0 {
		// Never store a cookie past a change not applied.
		return fmt.Errorf("entry %q: its parent is missing", a.orphans[0].en.DN)
	}
	return a.flush(st.Cookie)
}

func (a *applier) markPresent(u [16]byte) {
	if a.present != nil {
		a.present[u] = true
	}
}

// info handles a Sync Info intermediate message.
func (a *applier) info(ctl *goldap.ControlSyncInfo) error {
	switch ctl.Value {
	case goldap.SyncInfoNewcookie:
		if a.refreshing {
			return nil // stored when the refresh ends
		}
		return a.flush(ctl.NewCookie.Cookie)
	case goldap.SyncInfoRefreshDelete:
		// The end of a delete phase: the provider named what went
		// (except in a full refresh, which sent everything there is).
		if !a.full {
			a.present = nil
		}
		if ctl.RefreshDelete.RefreshDone {
			return a.done(ctl.RefreshDelete.Cookie, true)
		}
		return a.flush(nil)
	case goldap.SyncInfoRefreshPresent:
		if ctl.RefreshPresent.RefreshDone {
			return a.done(ctl.RefreshPresent.Cookie, false)
		}
		if err := a.deleteAbsent(); err != nil {
			return err
		}
		return a.flush(nil)
	case goldap.SyncInfoSyncIdSet:
		set := ctl.SyncIdSet
		for _, id := range set.SyncUUIDs {
			u := [16]byte(id)
			if set.RefreshDeletes {
				if err := a.delete(u); err != nil {
					return err
				}
			} else {
				a.markPresent(u)
			}
		}
		if a.refreshing {
			return nil
		}
		return a.flush(set.Cookie)
	}
	return fmt.Errorf("unknown sync info message %d", ctl.Value)
}

// done ends the refresh stage: after a present phase (refreshDeletes
// false) every local entry the provider did not name is removed. The
// cookie is stored with the last changes.
func (a *applier) done(cookie []byte, refreshDeletes bool) error {
	if !refreshDeletes || a.full {
		if err := a.deleteAbsent(); err != nil {
			return err
		}
	}
	if err := a.flush(nil); err != nil {
		return err
	}
	if err := a.glueOrphans(); err != nil {
		return err
	}
	if len(a.orphans) > 0 {
		return fmt.Errorf("refresh ended with %d entries whose parent is missing, such as %q", len(a.orphans), a.orphans[0].en.DN)
	}
	if err := a.sweepGlue(nil); err != nil {
		return err
	}
	a.refreshing = false
	a.present = nil
	if err := a.flush(cookieOrEmpty(cookie)); err != nil {
		return err
	}
	state := SyncreplPersisting
	if !a.s.cfg.Persist {
		state = SyncreplIdle
	}
	a.s.update(func(st *SyncreplStatus) { st.Refreshes++; st.State = state; st.Retries = 0 })
	return nil
}

// cookieOrEmpty makes an absent cookie an empty one, so that flush
// still commits the batch (and a cookie is not erased by absence).
func cookieOrEmpty(c []byte) []byte {
	if c == nil {
		return []byte{}
	}
	return c
}

// deleteAbsent removes the local entries a present phase did not name.
func (a *applier) deleteAbsent() error {
	if a.present == nil {
		return nil
	}
	var gone [][16]byte
	for u := range a.s.byUUID {
		if !a.present[u] {
			gone = append(gone, u)
		}
	}
	// Children before parents, so that no entry is left without one.
	slices.SortFunc(gone, func(x, y [16]byte) int {
		return strings.Count(a.s.byUUID[y].ndn, ",") - strings.Count(a.s.byUUID[x].ndn, ",")
	})
	for _, u := range gone {
		if err := a.delete(u); err != nil {
			return err
		}
	}
	a.present = nil
	return nil
}

func (a *applier) delete(u [16]byte) error {
	if a.inBatch[u] {
		if err := a.flush(nil); err != nil {
			return err
		}
	}
	ref, ok := a.s.byUUID[u]
	if !ok {
		return nil
	}
	en, kept, err := a.keepsChildren(ref.id)
	if err != nil {
		return err
	}
	if kept {
		// A partial feed (a filter the entry no longer matches) can take
		// an entry away from under its children: it becomes glue.
		dn, err := ldap.ParseDN(en.DN)
		if err != nil {
			return fmt.Errorf("delete of %q with children: %w", en.DN, err)
		}
		a.put = append(a.put, &directory.Entry{ID: ref.id, ParentID: en.ParentID, DN: en.DN, Attrs: a.s.glueAttrs(dn, ref.ndn)})
		a.putU = append(a.putU, glueMark)
		a.unlinked = append(a.unlinked, u)
		a.mark(u)
		return nil
	}
	a.remove = append(a.remove, ref.id)
	a.removeU = append(a.removeU, u)
	a.mark(u)
	return nil
}

// keepsChildren reports whether the local entry id has children that
// the batch does not remove or move away, and returns the entry as
// committed.
func (a *applier) keepsChildren(id directory.ID) (*directory.Entry, bool, error) {
	kept := false
	leaving := map[directory.ID]bool{}
	for _, r := range a.remove {
		leaving[r] = true
	}
	for _, p := range a.put {
		kept = kept || p.ParentID == id
		leaving[p.ID] = p.ParentID != id // moved away, or put under it
	}
	var en *directory.Entry
	err := a.s.eng.View(func(v *directory.View) error {
		kids, err := v.Children(id)
		if err != nil {
			return err
		}
		for _, k := range kids {
			kept = kept || !leaving[k]
		}
		if kept {
			en, err = v.Get(id)
		}
		return err
	})
	if err == nil && kept && en == nil {
		err = fmt.Errorf("entry %d is gone", id)
	}
	return en, kept, err
}

func (a *applier) mark(u [16]byte) {
	if a.inBatch == nil {
		a.inBatch = map[[16]byte]bool{}
	}
	a.inBatch[u] = true
}

// upsert adds en or replaces the local entry with its entryUUID.
func (a *applier) upsert(u [16]byte, en *goldap.Entry) error {
	if a.inBatch[u] {
		if err := a.flush(nil); err != nil {
			return err
		}
	}
	s := a.s
	dn, ok := s.dns.toLocal(en.DN)
	if !ok {
		return fmt.Errorf("entry %q is not under the search base %q", en.DN, s.cfg.Base)
	}
	pdn, err := ldap.ParseDN(dn)
	if err != nil {
		return fmt.Errorf("entry %q: %w", en.DN, err)
	}
	ndn, err := s.eng.Schema().NormalizeDN(pdn)
	if err != nil {
		return fmt.Errorf("entry %q: %w", en.DN, err)
	}
	if s.keepsBase() && ndn == s.dns.localNDN {
		return nil // the local server's (keepsBase)
	}
	var parentID directory.ID
	if ndn != s.suffix {
		pndn := ldap.ParentNDN(ndn)
		var found bool
		if parentID, found, err = a.existing(pdn.Parent(), pndn); err != nil {
			return err
		}
		if !found && (a.gluing || !a.refreshing) {
			if parentID, found, err = a.glueAncestors(pdn.Parent(), pndn); err != nil {
				return err
			}
		}
		if !found {
			a.orphans = append(a.orphans, orphan{u: u, en: en})
			return nil
		}
	}
	ref, exists := s.byUUID[u]
	if exists && ref.ndn != ndn {
		return a.rename(u, ref, en, dn, ndn, parentID)
	}
	if !exists {
		if other, taken := s.byNDN[ndn]; taken && other != u {
			// Another entry held this DN (deleted at the provider, its
			// deletion not seen): the provider's current entry wins.
			if err := a.delete(other); err != nil {
				return err
			}
			if err := a.flush(nil); err != nil {
				return err
			}
		}
	}
	attrs := s.localAttrs(u, en)
	if exists && a.refreshing {
		// A refresh resends entries in full (a present phase): one held
		// as it is needs no write.
		if cur, err := s.eng.Entry(dn); err == nil && cur != nil && cur.ID == ref.id && sameAttrs(cur.Attrs, attrs) {
			return nil
		}
	}
	id := ref.id
	if !exists {
		var glued bool
		if id, glued, err = a.takeGlue(ndn); err != nil {
			return err
		}
		if !glued {
			if id, err = s.eng.NewID(); err != nil {
				return err
			}
		}
	}
	le := &directory.Entry{ID: id, ParentID: parentID, DN: dn, Attrs: attrs}
	a.put = append(a.put, le)
	a.putU = append(a.putU, u)
	a.mark(u)
	if a.batchNDN == nil {
		a.batchNDN = map[string]directory.ID{}
	}
	a.batchNDN[ndn] = id
	return nil
}

// sameAttrs reports whether two attribute lists hold the same values
// under the same names, in any order.
func sameAttrs(a, b []directory.Attr) bool {
	if len(a) != len(b) {
		return false
	}
	values := func(l []directory.Attr) map[string][]string {
		m := make(map[string][]string, len(l))
		for _, at := range l {
			k := strings.ToLower(at.Name)
			for _, v := range at.Values {
				m[k] = append(m[k], string(v))
			}
		}
		for _, vs := range m {
			slices.Sort(vs)
		}
		return m
	}
	ma, mb := values(a), values(b)
	if len(ma) != len(mb) {
		return false
	}
	for k, va := range ma {
		if !slices.Equal(va, mb[k]) {
			return false
		}
	}
	return true
}

// rename moves an entry (a modrdn at the provider) and, in the same
// transaction, its local descendants, whose DNs end with its DN.
func (a *applier) rename(u [16]byte, ref localRef, en *goldap.Entry, dn, ndn string, parentID directory.ID) error {
	if err := a.flush(nil); err != nil {
		return err
	}
	s := a.s
	put := []*directory.Entry{{ID: ref.id, ParentID: parentID, DN: dn, Attrs: s.localAttrs(u, en)}}
	putU := [][16]byte{u}
	oldDN, err := ldap.ParseDN(ref.ndn)
	if err != nil {
		return err
	}
	newDN, _ := ldap.ParseDN(dn)
	for cu, c := range s.byUUID {
		if !ldap.IsBelowNDN(c.ndn, ref.ndn) {
			continue
		}
		ce, err := s.eng.Entry(c.ndn)
		if err != nil || ce == nil {
			return fmt.Errorf("renaming %q: reading descendant %q: %v", ref.ndn, c.ndn, err)
		}
		cd, err := ldap.ParseDN(ce.DN)
		if err != nil || len(cd) <= len(oldDN) {
			return fmt.Errorf("renaming %q: descendant %q: bad DN", ref.ndn, ce.DN)
		}
		moved := append(slices.Clone(cd[:len(cd)-len(oldDN)]), newDN...)
		ce.DN = moved.String()
		put = append(put, ce)
		putU = append(putU, cu)
	}
	for g := range s.glue {
		if !ldap.IsBelowNDN(g, ref.ndn) {
			continue
		}
		ge, err := s.eng.Entry(g)
		if err != nil || ge == nil {
			return fmt.Errorf("renaming %q: reading glue %q: %v", ref.ndn, g, err)
		}
		gd, err := ldap.ParseDN(ge.DN)
		if err != nil || len(gd) <= len(oldDN) {
			return fmt.Errorf("renaming %q: glue %q: bad DN", ref.ndn, ge.DN)
		}
		ge.DN = append(slices.Clone(gd[:len(gd)-len(oldDN)]), newDN...).String()
		put = append(put, ge)
		putU = append(putU, glueMark)
	}
	a.put, a.putU = put, putU
	return a.flush(nil)
}

// localAttrs converts the provider's attributes: canonical names, the
// allow-list, DN-valued values mapped, entryUUID from the sync state.
func (s *Syncrepl) localAttrs(u [16]byte, en *goldap.Entry) []directory.Attr {
	sc := s.eng.Schema()
	attrs := make([]directory.Attr, 0, len(en.Attributes)+1)
	for _, ea := range en.Attributes {
		name := ea.Name
		at, opts, lerr := sc.ResolveAttribute(name)
		if lerr == nil {
			name = at.Name()
			for _, o := range opts {
				name += ";" + strings.ToLower(o)
			}
			if at.Usage != schema.UserApplications && !slices.ContainsFunc(keptOperational, func(k string) bool { return strings.EqualFold(k, at.Name()) }) {
				continue
			}
			if strings.EqualFold(at.Name(), "entryUUID") {
				continue
			}
		}
		if s.allow != nil && (at == nil || !s.allow[strings.ToLower(at.Name())]) && !isKeptOperational(name) {
			continue
		}
		vals := ea.ByteValues
		if at != nil && at.Syntax != nil && at.Syntax.OID == dnSyntaxOID && !s.dns.identity {
			vals = make([][]byte, len(ea.ByteValues))
			for i, v := range ea.ByteValues {
				if m, ok := s.dns.toLocal(string(v)); ok {
					vals[i] = []byte(m)
				} else {
					vals[i] = v
				}
			}
		}
		if len(vals) > 0 {
			attrs = append(attrs, directory.Attr{Name: name, Values: vals})
		}
	}
	return append(attrs, directory.Attr{Name: "entryUUID", Values: [][]byte{[]byte(UUID(u).String())}})
}

func isKeptOperational(name string) bool {
	return slices.ContainsFunc(keptOperational, func(k string) bool { return strings.EqualFold(k, name) })
}

const dnSyntaxOID = "1.3.6.1.4.1.1466.115.121.1.12"

// flush writes the batch and, when cookie is not nil, the consumer's
// position, in one transaction; then retries the orphans.
func (a *applier) flush(cookie []byte) error {
	s := a.s
	if len(a.put) == 0 && len(a.remove) == 0 && cookie == nil {
		return nil
	}
	var records func(tx *directory.Tx) error
	if cookie != nil {
		rec := appendSyncreplRecord(nil, s.fp, cookie)
		records = func(tx *directory.Tx) error { return tx.PutRecord(syncreplKey(s.cfg.Name), rec) }
	}
	if err := s.replace(a.ctx, a.put, a.remove, records); err != nil {
		return fmt.Errorf("applying %d entries and %d removals: %w", len(a.put), len(a.remove), err)
	}
	// Glue that may have lost its last child: the parents of entries
	// removed or moved.
	var emptied []string
	for i, u := range a.removeU {
		if ref, ok := s.byUUID[u]; ok && ref.id == a.remove[i] {
			delete(s.byNDN, ref.ndn)
			delete(s.byUUID, u)
			emptied = append(emptied, ldap.ParentNDN(ref.ndn))
		}
	}
	for _, u := range a.unlinked {
		if ref, ok := s.byUUID[u]; ok {
			delete(s.byNDN, ref.ndn)
			delete(s.byUUID, u)
		}
	}
	for i, u := range a.putU {
		if u == glueMark {
			s.keepGlue(a.put[i])
			continue
		}
		if old, ok := s.byUUID[u]; ok && old.ndn != a.put[i].NDN {
			emptied = append(emptied, ldap.ParentNDN(old.ndn))
		}
		if old, ok := s.byUUID[u]; ok && s.byNDN[old.ndn] == u {
			delete(s.byNDN, old.ndn)
		}
		s.byUUID[u] = localRef{id: a.put[i].ID, ndn: a.put[i].NDN}
		s.byNDN[a.put[i].NDN] = u
	}
	n := len(a.put) + len(a.remove)
	var last string
	if len(a.put) > 0 {
		last = a.put[0].DN
	}
	if len(cookie) > 0 {
		s.cookie = slices.Clone(cookie)
	}
	entries, glue := len(s.byUUID), len(s.glue)
	hasCookie := s.cookie != nil
	s.update(func(st *SyncreplStatus) {
		st.Entries, st.HasCookie, st.Glue = entries, hasCookie, glue
		if n > 0 {
			st.Applied += int64(n)
			st.LastChange = time.Now()
			if last != "" {
				st.LastChangeDN = last
			}
		}
	})
	a.put, a.putU, a.remove, a.removeU, a.unlinked = nil, nil, nil, nil, nil
	clear(a.inBatch)
	clear(a.batchNDN)
	clear(a.batchGlue)
	if !a.refreshing && slices.ContainsFunc(emptied, func(p string) bool { _, ok := s.glue[p]; return ok }) {
		if err := a.sweepGlue(emptied); err != nil {
			return err
		}
	}
	if len(a.orphans) > 0 {
		// Retry them; write those whose parent has now arrived.
		orphans := a.orphans
		a.orphans = nil
		for _, o := range orphans {
			if err := a.upsert(o.u, o.en); err != nil {
				return err
			}
		}
		if len(a.orphans) < len(orphans) && len(a.put) > 0 {
			return a.flush(nil)
		}
	}
	return nil
}

// replace writes through the engine in halves while a transaction is too
// big; records go with the last half.
func (s *Syncrepl) replace(ctx context.Context, put []*directory.Entry, remove []directory.ID, records func(*directory.Tx) error) error {
	err := s.eng.ReplaceEntriesWith(ctx, put, remove, s.cfg.Log, records)
	if !errors.Is(err, directory.ErrTxnTooBig) || len(put)+len(remove) < 2 {
		return err
	}
	if len(remove) > 0 {
		h := (len(remove) + 1) / 2
		if err := s.replace(ctx, nil, remove[:h], nil); err != nil {
			return err
		}
		return s.replace(ctx, put, remove[h:], records)
	}
	h := len(put) / 2
	if err := s.replace(ctx, put[:h], nil, nil); err != nil {
		return err
	}
	return s.replace(ctx, put[h:], nil, records)
}

// A dnMap rewrites DNs under the remote base to lie under the local base.
type dnMap struct {
	identity  bool
	remote    ldap.DN
	remoteNDN string
	local     ldap.DN
	localNDN  string
	sc        *schema.Schema
}

func newDNMap(sc *schema.Schema, remote, local string) (dnMap, error) {
	m := dnMap{sc: sc}
	var err error
	if m.remote, err = ldap.ParseDN(remote); err != nil {
		return m, fmt.Errorf("search base %q: %w", remote, err)
	}
	if m.local, err = ldap.ParseDN(local); err != nil {
		return m, fmt.Errorf("local base %q: %w", local, err)
	}
	if m.remoteNDN, err = sc.NormalizeDN(m.remote); err != nil {
		return m, fmt.Errorf("search base %q: %w", remote, err)
	}
	if m.localNDN, err = sc.NormalizeDN(m.local); err != nil {
		return m, fmt.Errorf("local base %q: %w", local, err)
	}
	m.identity = m.remoteNDN == m.localNDN
	return m, nil
}

// toLocal maps dn; ok is false when dn is not under the remote base.
func (m dnMap) toLocal(dn string) (string, bool) {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d) < len(m.remote) {
		return dn, false
	}
	k := len(d) - len(m.remote)
	if n, err := m.sc.NormalizeDN(d[k:]); err != nil || n != m.remoteNDN {
		return dn, false
	}
	if m.identity {
		return dn, true
	}
	return append(slices.Clone(d[:k]), m.local...).String(), true
}
