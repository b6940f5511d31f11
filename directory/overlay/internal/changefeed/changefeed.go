// Package changefeed holds what the search extensions that stream changes
// share: content synchronization (RFC 4533, package syncprov) and
// persistent search (draft-ietf-ldapext-psearch-03, package psearch).
//
// Both follow the engine's post-commit stream (directory.Engine.Changes)
// for one search, and content synchronization also reads the durable
// change log (Log) for what happened before it: Content decides whether
// an entry as a committed change left it was in the search's content
// (base, scope, filter, the requester's access) and gives that entry as
// the search returns it, or reads an entry's current state (for a
// refresh); Follow runs the stream until the operation ends, and ends it
// with a result for the ways the server ends it (shutdown; a consumer
// that fell behind, or a store reinitialised under it).
package changefeed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Config configures an overlay that serves searches from the engine's
// post-commit stream and the change log (syncprov, psearch).
type Config struct {
	Changelog Log
	Engine    *directory.Engine
	// Backend runs the searches; nil means Engine.
	Backend directory.Backend
	Logger  *slog.Logger
	// Consumers are the DNs, besides the root DN, whose sync searches
	// may hold the changelog back (syncprov): their positions are
	// recorded, and the log is not trimmed above them.
	Consumers []string
}

// Feed is what such an overlay holds: its configuration with the defaults
// filled in, and the broadcaster that ends its searches at shutdown.
type Feed struct {
	Log     Log
	Engine  *directory.Engine
	Backend directory.Backend
	Logger  *slog.Logger
	Stop    Shutdown
	// consumers holds the normalised DNs of Config.Consumers.
	consumers map[string]bool
}

// NewFeed checks cfg and fills in its defaults; name (the overlay's)
// begins the error.
func NewFeed(name string, cfg Config) (*Feed, error) {
	if cfg.Changelog == nil || cfg.Engine == nil {
		return nil, errors.New(name + ": Changelog and Engine are required")
	}
	f := &Feed{Log: cfg.Changelog, Engine: cfg.Engine, Backend: cfg.Backend, Logger: cfg.Logger, consumers: map[string]bool{}}
	for _, dn := range cfg.Consumers {
		n, err := cfg.Engine.NormalizeDN(dn)
		if err != nil || n == "" {
			return nil, fmt.Errorf("%s: consumer %q is not a DN", name, dn)
		}
		f.consumers[n] = true
	}
	if f.Backend == nil {
		f.Backend = cfg.Engine
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	return f, nil
}

// Consumer reports whether q's requester is a configured consumer: the
// root DN, or one of Config.Consumers.
func (f *Feed) Consumer(q *frontend.SearchQuery) bool {
	if q.Access == nil {
		return true // the root DN
	}
	if q.Session == nil || q.Session.BindDN() == "" {
		return false
	}
	n, err := f.Engine.NormalizeDN(q.Session.BindDN())
	return err == nil && f.consumers[n]
}

// Close ends every search of the feed with unavailable (server shutdown).
func (f *Feed) Close() { f.Stop.Close() }

// Content is the content of one search: its base, scope and filter, as
// the requester's access lets them see it.
type Content struct {
	eng     *directory.Engine
	backend directory.Backend
	q       *frontend.SearchQuery
	baseND  string
	acc     directory.SearchAccess
	filter  *directory.CompiledFilter
	out     func(*directory.Entry) *ldap.Entry
	// computed asks Current and Entry for computed operational attributes.
	computed bool
	// who is the normalised DN of the requester's identity ("" for the
	// root DN and anonymous): the search ends when it goes away.
	who string
}

// NewContent returns the content of q, searched through backend; computed
// asks Current and Entry for the computed operational attributes q
// requested (a replica computes its own, so content synchronization does
// not). A base DN that does not parse is invalidDNSyntax.
func NewContent(eng *directory.Engine, backend directory.Backend, q *frontend.SearchQuery, computed bool) (*Content, error) {
	baseND, err := eng.NormalizeDN(q.BaseDN)
	if err != nil {
		return nil, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid base DN"}
	}
	c := &Content{eng: eng, backend: backend, q: q, baseND: baseND, acc: q.Access, out: q.Entry,
		filter: eng.CompileSearchFilter(q.Filter, q.Access), computed: computed && q.Operational}
	if q.Access != nil && q.Session != nil && q.Session.BindDN() != "" {
		if c.who, err = eng.NormalizeDN(q.Session.BindDN()); err != nil {
			return nil, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "the bound identity's DN does not parse"}
		}
	}
	return c, nil
}

// Recheck takes the requester's access anew from the access policy and
// group memberships in force now (SearchQuery.Recheck), so that a search
// that lasts stops returning what the requester may no longer read. An
// error ends the search.
func (c *Content) Recheck(ctx context.Context) error {
	if c.q.Recheck == nil {
		return nil
	}
	acc, out, err := c.q.Recheck(ctx)
	if err != nil {
		return err
	}
	c.acc, c.out = acc, out
	c.filter = c.eng.CompileSearchFilter(c.q.Filter, acc)
	return nil
}

// Ends reports, for a committed change, why the search must end because
// of it: the requester's own entry was deleted, renamed (or moved with
// an ancestor), or locked (pwdAccountLockedTime set, as the password
// policy does after too many failures or an administrator does by hand).
// The session's identity no longer stands for an entry that may read.
func (c *Content) Ends(ch *directory.Change) error {
	if c.who == "" || ch == nil {
		return nil
	}
	gone := func(why string) error {
		return &ldap.Error{Code: ldap.InsufficientAccessRights,
			Message: "the bound identity was " + why + "; bind again and search again"}
	}
	switch ch.Kind {
	case change.Delete:
		if ch.Before != nil && ch.Before.NDN == c.who {
			return gone("deleted")
		}
		for _, en := range ch.Removed {
			if en.NDN == c.who {
				return gone("deleted")
			}
		}
	case change.ModRDN:
		for _, r := range ch.Renamed {
			if r.OldNDN == c.who {
				return gone("renamed")
			}
		}
	case change.Modify:
		if ch.After != nil && ch.After.NDN == c.who {
			now := ch.After.Get(lockedTime)
			if len(now) > 0 && (ch.Before == nil || !slices.EqualFunc(ch.Before.Get(lockedTime), now, bytes.Equal)) {
				return gone("locked")
			}
		}
	}
	return nil
}

// lockedTime is the password policy's lock (draft-behera-ldap-password-
// policy): an account is locked from the time it holds.
const lockedTime = "pwdAccountLockedTime"

// Entry returns en, an entry as a committed change left it (after the
// change, or before a delete), as the search returns it: with the
// computed operational attributes if asked (entryDN is en's DN as of the
// change; the others are read now), or nil if it was not in the content:
// outside the scope, not matching the filter with the requester's access
// to its attributes (computed ones included), or not visible to the
// requester. en is shared with other feeds and is not changed.
func (c *Content) Entry(en *directory.Entry) (*directory.Entry, error) {
	if en == nil || !ldap.InScopeNDN(en.NDN, c.baseND, c.q.Scope) {
		return nil, nil
	}
	full, err := c.eng.WithComputed(en)
	if err != nil {
		return nil, err
	}
	if !c.filter.Match(full) || (c.acc != nil && !c.acc.Visible(full)) {
		return nil, nil
	}
	if c.computed {
		return full, nil
	}
	return en, nil
}

// Touches reports whether a committed change involves an entry within
// the search's base and scope, before or after it: only such a change
// can be notified.
func (c *Content) Touches(ch *directory.Change) bool {
	in := func(en *directory.Entry) bool { return en != nil && ldap.InScopeNDN(en.NDN, c.baseND, c.q.Scope) }
	if in(ch.Before) || in(ch.After) {
		return true
	}
	for _, en := range ch.Removed {
		if in(en) {
			return true
		}
	}
	return false
}

// Holds reports whether en, an entry as a committed change saw it
// (before or after it), was in the content (see Entry).
func (c *Content) Holds(en *directory.Entry) bool {
	got, err := c.Entry(en)
	return err == nil && got != nil
}

// Out selects the requested attributes of en, as the requester may read
// them, for the wire.
func (c *Content) Out(en *directory.Entry) *ldap.Entry { return c.out(en) }

// Current returns the entry whose entryUUID is uuid, as the search would
// return it now (computed attributes included, access applied), or nil if
// it is not in the content.
func (c *Content) Current(ctx context.Context, uuid string) (*directory.Entry, error) {
	if uuid == "" {
		return nil, nil
	}
	f := &ldap.Filter{Kind: ldap.FilterAnd, Children: []ldap.Filter{
		{Kind: ldap.FilterEqualityMatch, Attr: []byte("entryUUID"), Value: []byte(uuid)},
		*c.q.Filter,
	}}
	var out *directory.Entry
	err := c.backend.Search(ctx, &directory.SearchRequest{
		BaseDN: c.q.BaseDN, Scope: c.q.Scope, Filter: f, Operational: c.computed,
		Access: c.acc, Unlimited: true,
	}, func(en *directory.Entry) error {
		out = en
		return directory.ErrStop
	})
	var le *ldap.Error
	if errors.As(err, &le) && le.Code == ldap.NoSuchObject {
		return nil, nil // the base itself is gone
	}
	return out, err
}

// Restricted reports whether the requester's access is limited (anyone
// but the root DN).
func (c *Content) Restricted() bool { return c.acc != nil }

// InScope reports whether the normalised DN ndn is within the search's
// base and scope.
func (c *Content) InScope(ndn string) bool { return ldap.InScopeNDN(ndn, c.baseND, c.q.Scope) }

// MayRead reports whether the requester may read the entry whose
// entryUUID is uuid, wherever it is now (in the content or not); false
// if there is no such entry.
func (c *Content) MayRead(ctx context.Context, uuid string) (bool, error) {
	var en *directory.Entry
	err := c.eng.Search(ctx, &directory.SearchRequest{
		BaseDN: c.eng.Suffix(), Scope: ldap.ScopeWholeSubtree, Unlimited: true,
		Filter: &ldap.Filter{Kind: ldap.FilterEqualityMatch, Attr: []byte("entryUUID"), Value: []byte(uuid)},
	}, func(e *directory.Entry) error {
		en = e
		return directory.ErrStop
	})
	if err != nil || en == nil {
		return false, err
	}
	return c.acc == nil || c.acc.Visible(en), nil
}

// MayHoldAt reports whether the requester may have read an entry named
// dn, as far as the DN tells: false only when the access rules hide
// every entry of that name whatever its attributes. A SearchAccess that
// cannot tell (it does not implement VisibleAt) may have.
func (c *Content) MayHoldAt(dn string) bool {
	if c.acc == nil {
		return true
	}
	va, ok := c.acc.(interface {
		VisibleAt(ndn string) (visible, decided bool)
	})
	if !ok {
		return true
	}
	ndn, err := c.eng.NormalizeDN(dn)
	if err != nil {
		return false
	}
	visible, decided := va.VisibleAt(ndn)
	return visible || !decided
}

// MayReadAt reports whether the requester may read an entry named dn, as
// far as its name tells: for an entry that is gone, whose attributes are
// no longer known (access rules that test them do not match).
func (c *Content) MayReadAt(dn string) bool {
	if c.acc == nil {
		return true
	}
	ndn, err := c.eng.NormalizeDN(dn)
	if err != nil {
		return false
	}
	return c.acc.Visible(&directory.Entry{DN: dn, NDN: ndn})
}

// Shutdown tells every stream of a server that the server is stopping.
// The zero value is ready; Close may be called more than once.
type Shutdown struct {
	once sync.Once
	mu   sync.Mutex
	c    chan struct{}
}

func (s *Shutdown) done() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		s.c = make(chan struct{})
	}
	return s.c
}

// Close ends every Follow on s with unavailable.
func (s *Shutdown) Close() {
	c := s.done()
	s.once.Do(func() { close(c) })
}

// Follow calls fn for every event of sub, flushing w after each, until
// the operation ends: ctx is done (abandon, unbind, a closed connection),
// fn fails (the error is written as the result, unless the operation was
// abandoned), stop closes or the engine closes the stream (unavailable),
// or the stream ended sub because the consumer fell behind or the store
// was reinitialised under it (overflow is written as the result: the
// consumer must search again). It never returns while the operation goes
// on.
func Follow(ctx context.Context, w ldap.ResponseWriter, sub *directory.ChangeSubscription, stop *Shutdown,
	overflow *ldap.Result, fn func(directory.CommittedChange) error) {
	halt := stop.done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-halt:
			w.WriteResult(&ldap.Result{Code: ldap.Unavailable, Diagnostic: "server is shutting down"})
			return
		case ev, ok := <-sub.C():
			if !ok {
				switch err := sub.Err(); {
				case errors.Is(err, directory.ErrStreamClosed):
					w.WriteResult(&ldap.Result{Code: ldap.Unavailable, Diagnostic: "server is shutting down"})
				case err != nil:
					w.WriteResult(overflow)
				}
				return
			}
			if err := fn(ev); err != nil {
				if !errors.Is(err, ldap.ErrAbandoned) && ctx.Err() == nil {
					WriteError(w, err)
				}
				return
			}
			if err := ldap.Flush(w); err != nil {
				return
			}
		}
	}
}

// WriteError ends the operation with err's result: its code if it is an
// *ldap.Error, else other.
func WriteError(w ldap.ResponseWriter, err error) {
	var le *ldap.Error
	if errors.As(err, &le) {
		w.WriteResult(&ldap.Result{Code: le.Code, MatchedDN: le.MatchedDN, Diagnostic: le.Message})
		return
	}
	w.WriteResult(&ldap.Result{Code: ldap.Other, Diagnostic: "search failed"})
}
