// Package changefeed holds what the search extensions that stream changes
// share: content synchronization (RFC 4533, package syncprov) and
// persistent search (draft-ietf-ldapext-psearch-03, package psearch).
//
// Both follow the changelog's commit stream (replication.Subscription)
// for one search: Content decides whether an entry as a committed change
// left it was in the search's content (base, scope, filter, the
// requester's access) and gives that entry as the search returns it, or
// reads an entry's current state (for a refresh); Follow
// runs the stream until the operation ends, and ends it with a result for
// the two ways the server ends it (shutdown, a consumer that fell behind).
package changefeed

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
)

// Config configures an overlay that serves searches from the changelog's
// commit stream (syncprov, psearch).
type Config struct {
	Changelog *replication.Changelog
	Engine    *directory.Engine
	// Backend runs the searches; nil means Engine.
	Backend directory.Backend
	Logger  *slog.Logger
}

// Feed is what such an overlay holds: its configuration with the defaults
// filled in, and the broadcaster that ends its searches at shutdown.
type Feed struct {
	Log     *replication.Changelog
	Engine  *directory.Engine
	Backend directory.Backend
	Logger  *slog.Logger
	Stop    Shutdown
}

// NewFeed checks cfg and fills in its defaults; name (the overlay's)
// begins the error.
func NewFeed(name string, cfg Config) (*Feed, error) {
	if cfg.Changelog == nil || cfg.Engine == nil {
		return nil, errors.New(name + ": Changelog and Engine are required")
	}
	f := &Feed{Log: cfg.Changelog, Engine: cfg.Engine, Backend: cfg.Backend, Logger: cfg.Logger}
	if f.Backend == nil {
		f.Backend = cfg.Engine
	}
	if f.Logger == nil {
		f.Logger = slog.New(slog.DiscardHandler)
	}
	return f, nil
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
	return &Content{eng: eng, backend: backend, q: q, baseND: baseND, acc: q.Access, out: q.Entry,
		filter: eng.CompileSearchFilter(q.Filter, q.Access), computed: computed && q.Operational}, nil
}

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
// abandoned), stop closes (unavailable), or the changelog cut sub off
// because the consumer fell behind (overflow is written as the result).
// It never returns while the operation goes on.
func Follow(ctx context.Context, w ldap.ResponseWriter, sub *replication.Subscription, stop *Shutdown,
	overflow *ldap.Result, fn func(replication.Event) error) {
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
				if sub.Overflowed() {
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
