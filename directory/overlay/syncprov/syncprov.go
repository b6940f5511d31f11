// Package syncprov is the provider side of LDAP Content Synchronization
// (RFC 4533), what OpenLDAP's slapo-syncprov does: it serves searches
// carrying the Sync Request control to consumers such as slapd's syncrepl
// or go-ldap's Syncrepl client, from the engine and the changelog of
// package replication.
//
// # Refresh
//
// A consumer without a cookie, or a configured consumer (below) with a
// cookie the changelog no longer covers (it was trimmed past the
// consumer's CSNs) and reloadHint set (slapd sets it; without it, and for
// any other requester, the search ends with e-syncRefreshRequired, 4096),
// gets every entry of
// its search with state add, then refreshPresent (refreshAndPersist) or
// a Sync Done control with refreshDeletes FALSE (refreshOnly): the
// consumer deletes whatever it holds that was not sent, which is the
// present phase of RFC 4533 section 3.4 with every entry sent in full.
// Entries are sent parents first, so that a consumer can add them in
// order.
//
// A consumer whose cookie the log covers gets the delete phase: the
// entryUUIDs of entries deleted since its cookie (or changed so that they
// left the search's scope or filter; never one whose DNs since the cookie
// were all outside the scope), of those only the ones it may have
// held and may read (never one added since its cookie, nor one hidden
// from it by access rules on its DN; one that a change hid from it by
// rules on its attributes is named, since it may hold it), in syncIdSet
// messages with
// refreshDeletes TRUE, then every entry changed since, with state add, in
// order of depth, then refreshDelete (or Sync Done with refreshDeletes
// TRUE). A consumer that comes back after a restart therefore gets only
// what changed while it was away.
//
// # Persist
//
// For refreshAndPersist the provider subscribes to the engine's
// post-commit stream (directory.Engine.Changes) before it reads
// anything, so no commit falls between the refresh and the persist
// phase; a commit the refresh already reflected (its CSN
// at or below the refresh cookie) is skipped. Each later commit is sent
// as it happens, in commit order, from the change itself: the entry as
// the change left it (under its DN of that moment) as add or modify, or
// delete when it was removed or left the search's content. The cookie on an
// entry is the changelog's safe CSN (every local write at or below it has
// committed), and only when it advanced: a consumer may ignore an entry
// whose cookie is not newer than its own, and commits can finish out of
// CSN order. The subscription's queue is bounded: a consumer that cannot
// keep up is ended with busy and resumes from its cookie. Each commit is
// checked against the access policy and group memberships in force when
// it is sent, and the search ends with insufficientAccessRights when the
// consumer's own entry is deleted, renamed or moved, or locked.
//
// # Attributes
//
// Entries carry their stored attributes only, operational ones included
// (entryUUID, entryCSN, timestamps): attributes computed when read
// (entryDN, hasSubordinates, memberOf, contextCSN, ...) are the
// consumer's to compute, and a slapd consumer refuses entries that carry
// ones it does not store.
//
// # Cookies
//
// Cookies are OpenLDAP's, "rid=NNN,csn=CSN[;CSN...]" with one CSN per
// server ID (see change.Cookie); the consumer's rid is echoed. A
// cookie that does not parse is refused with protocolError. The position
// of each configured consumer (the root DN and Config.Consumers, the
// config's replication.consumers; by its bind DN and rid) is recorded
// when it presents a cookie and when a refresh ends, so that the
// changelog is not trimmed under it (for up to
// replication.Config.ConsumerExpiry after it was last seen). Any other
// requester holds nothing back: its cookie is good for as long as the log
// keeps its changes anyway (replication.Config MaxAge, MaxEntries).
package syncprov

import (
	"context"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/overlay/internal/changefeed"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Provider serves sync searches. It implements frontend.SearchExtension.
type Provider struct {
	*changefeed.Feed
}

// Config configures a Provider.
type Config = changefeed.Config

// The change log a Provider (and a persistent search server) reads, as
// the overlays see it; cmd/switchboard adapts package replication's
// Changelog to it.
type (
	Log    = changefeed.Log
	Record = changefeed.Record
)

// New returns a Provider.
func New(cfg Config) (*Provider, error) {
	f, err := changefeed.NewFeed("syncprov", cfg)
	if err != nil {
		return nil, err
	}
	return &Provider{Feed: f}, nil
}

// Register routes the Sync Request control of f's searches to p.
func (p *Provider) Register(f *frontend.Frontend) {
	f.HandleSearchControl(ldap.OIDSyncRequest, p)
}

// session is one sync search.
type session struct {
	p   *Provider
	w   ldap.ResponseWriter
	q   *frontend.SearchQuery
	rid int
	// content is the search's content, for the changes of the persist
	// phase.
	content *changefeed.Content
	// sent and deleted count what the refresh sent (entries with a sync
	// state, deleted entryUUIDs).
	sent, deleted int
}

// ServeSearch implements frontend.SearchExtension.
func (p *Provider) ServeSearch(ctx context.Context, w ldap.ResponseWriter, q *frontend.SearchQuery) {
	if !q.Control.HasValue {
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: "sync request control has no value"})
		return
	}
	req, err := ldap.DecodeSyncRequest(q.Control.Value)
	if err != nil {
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: err.Error()})
		return
	}
	cookie, err := change.ParseCookie(string(req.Cookie))
	if err != nil {
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: err.Error()})
		return
	}
	content, err := changefeed.NewContent(p.Engine, p.Backend, q, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	s := &session{p: p, w: w, q: q, rid: cookie.RID, content: content}
	persist := req.Mode == ldap.SyncRefreshAndPersist
	var sub *directory.ChangeSubscription
	if persist {
		sub = p.Engine.Changes().Subscribe()
		defer sub.Close()
	}
	// What the refresh reaches: taken before any snapshot is read.
	state := p.Log.State()
	id := s.consumerID()
	// Only configured consumers hold the log back; anyone else has the
	// window the log keeps anyway (its age and size bounds).
	holds := p.Consumer(q)
	if len(cookie.CSNs) > 0 && holds {
		if err := p.Log.Acknowledge(ctx, id, cookie.CSNs); err != nil {
			p.Logger.Warn("syncprov: recording a consumer's position", "consumer", id, "err", err)
		}
	}

	if q.View != "" && cookie.View != q.View && len(cookie.CSNs) > 0 {
		// A partner's cookie from before its view changed: the log
		// cannot tell what left the view, so the present phase does.
		p.Logger.Info("syncprov: the partner's view changed since its cookie; present phase", "consumer", id,
			"cookie_view", cookie.View, "view", q.View)
		cookie.CSNs = nil
	}
	deletes, err := false, error(nil)
	if len(cookie.CSNs) > 0 {
		deletes, err = s.refreshFromLog(ctx, cookie.CSNs)
		if err == nil && !deletes && (!req.ReloadHint || !holds) {
			// RFC 4533 section 3.4: without reloadHint the client asked
			// not to be sent everything again; a requester that is not a
			// configured consumer starts again without its cookie.
			w.WriteResult(&ldap.Result{Code: ldap.SyncRefreshRequired, Diagnostic: "the changelog no longer covers this cookie; refresh without it"})
			return
		}
	}
	if err == nil && !deletes {
		err = s.refreshAll(ctx)
	}
	phase := "present"
	if deletes {
		phase = "delete"
	}
	p.Logger.Info("syncprov: refresh", "consumer", id, "cookie", string(req.Cookie), "phase", phase,
		"entries", s.sent, "deleted", s.deleted, "persist", persist, "err", err)
	if err != nil {
		if !errors.Is(err, ldap.ErrAbandoned) && ctx.Err() == nil {
			writeErr(w, err)
		}
		return
	}
	out := change.Cookie{RID: s.rid, SID: -1, CSNs: state, View: q.View}
	if holds {
		if err := p.Log.Acknowledge(ctx, id, state); err != nil {
			p.Logger.Warn("syncprov: recording a consumer's position", "consumer", id, "err", err)
		}
	}
	if !persist {
		w.WriteResult(&ldap.Result{Code: ldap.Success, Controls: []ldap.ResponseControl{{
			OID: ldap.OIDSyncDone, Value: ldap.AppendSyncDone(nil, ldap.SyncDone{Cookie: []byte(out.String()), RefreshDeletes: deletes})}}})
		return
	}
	kind := ldap.SyncInfoRefreshPresent
	if deletes {
		kind = ldap.SyncInfoRefreshDelete
	}
	if err := w.WriteIntermediate(ldap.OIDSyncInfo, ldap.AppendSyncInfo(nil, ldap.SyncInfo{Kind: kind, Cookie: []byte(out.String()), Done: true})); err != nil {
		return
	}
	if err := flush(w); err != nil {
		return
	}
	s.persist(ctx, sub, state)
}

func (s *session) consumerID() string {
	who := s.q.Session.BindDN()
	if who == "" {
		who = "anonymous"
	}
	return who + "#rid=" + itoa(s.rid)
}

func itoa(n int) string {
	if n < 0 {
		return "none"
	}
	b := []byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)}
	return string(b)
}

func flush(w ldap.ResponseWriter) error { return ldap.Flush(w) }

func writeErr(w ldap.ResponseWriter, err error) { changefeed.WriteError(w, err) }

// uuidBytes converts an entryUUID's text form to the 16 octets of a
// syncUUID.
func uuidBytes(s string) ([16]byte, bool) {
	var u [16]byte
	h := strings.ReplaceAll(s, "-", "")
	if len(h) != 32 {
		return u, false
	}
	if _, err := hex.Decode(u[:], []byte(h)); err != nil {
		return u, false
	}
	return u, true
}

// writeState sends en with a Sync State control.
func (s *session) writeState(en *directory.Entry, state int, cookie []byte) error {
	u, ok := uuidBytes(en.First("entryUUID"))
	if !ok {
		return nil // an entry without entryUUID cannot be synchronised
	}
	s.sent++
	ctl := ldap.ResponseControl{OID: ldap.OIDSyncState, Value: ldap.AppendSyncState(nil, ldap.SyncState{State: state, UUID: u, Cookie: cookie})}
	if state == ldap.SyncDelete {
		return s.w.WriteEntry(&ldap.Entry{DN: en.DN}, false, ctl)
	}
	return s.w.WriteEntry(s.content.Out(en), s.q.Request.Search.TypesOnly, ctl)
}

// refreshAll sends every entry of the search with state add, parents
// before children: in ID order, except that an entry whose parent has a
// larger ID (it was moved under a newer entry) waits for its parent.
func (s *session) refreshAll(ctx context.Context) error {
	req := &directory.SearchRequest{
		BaseDN: s.q.BaseDN, Scope: s.q.Scope, Filter: s.q.Filter, SizeLimit: s.q.SizeLimit,
		Access: s.q.Access, Unlimited: s.q.Root,
	}
	waiting := map[directory.ID][]*directory.Entry{}
	var send func(en *directory.Entry) error
	send = func(en *directory.Entry) error {
		if err := s.writeState(en, ldap.SyncAdd, nil); err != nil {
			return err
		}
		kids := waiting[en.ID]
		delete(waiting, en.ID)
		for _, k := range kids {
			if err := send(k); err != nil {
				return err
			}
		}
		return nil
	}
	err := s.p.Backend.Search(ctx, req, func(en *directory.Entry) error {
		if en.ParentID > en.ID {
			waiting[en.ParentID] = append(waiting[en.ParentID], en)
			return nil
		}
		return send(en)
	})
	if err != nil {
		return err
	}
	// Entries whose parent is not part of the content.
	rest := make([]directory.ID, 0, len(waiting))
	for id := range waiting {
		rest = append(rest, id)
	}
	slices.Sort(rest)
	for _, id := range rest {
		for _, en := range waiting[id] {
			if err := send(en); err != nil {
				return err
			}
		}
	}
	return nil
}

// refreshFromLog runs the delete phase if the log covers the cookie; it
// reports false (and sends nothing) if it does not, or if it cannot tell
// a restricted requester which entries to delete without naming some it
// may not read (below).
//
// The entryUUIDs it sends as deleted are those of entries the consumer
// may hold and may read: an entry added since the cookie was never sent
// to it; a deleted entry is named only if one of its DNs in the log was
// within the search's scope and readable by the requester as far as the
// DN tells (its attributes are gone); an entry that still exists but
// left the content only if the requester may read it where it is now.
// The descendants a subtree delete removed or a modDN moved are known by
// entryUUID alone: when one of them is gone, a restricted requester's
// refresh falls back to the present phase.
func (s *session) refreshFromLog(ctx context.Context, from map[uint16]change.CSN) (bool, error) {
	type history struct {
		gone, added bool
		// dns are the DNs the log names it by; partial is set when it
		// also moved or went with an ancestor, under DNs the log does
		// not name.
		dns     []string
		partial bool
	}
	var order []string
	seen := map[string]*history{}
	covered := false
	err := s.p.Engine.View(func(v *directory.View) error {
		if ok, err := s.p.Log.Covers(v, from); err != nil || !ok {
			return err
		}
		covered = true
		touch := func(u string, deleted bool, dns ...string) *history {
			h := seen[u]
			if h == nil {
				h = &history{}
				seen[u] = h
				order = append(order, u)
			}
			h.gone = deleted
			if len(dns) == 0 {
				h.partial = true
			}
			for _, dn := range dns {
				if dn != "" {
					h.dns = append(h.dns, dn)
				}
			}
			return h
		}
		return s.p.Log.Since(v, from, func(r *changefeed.Record) error {
			if r.UUID == "" {
				return nil
			}
			switch r.Kind {
			case change.Delete:
				for _, u := range r.Also {
					touch(u, true)
				}
				touch(r.UUID, true, r.DN)
			case change.ModRDN:
				touch(r.UUID, false, r.DN, r.NewDN)
				for _, u := range r.Also {
					touch(u, false)
				}
			case change.Add:
				touch(r.UUID, false, r.DN).added = true
			default:
				touch(r.UUID, false, r.DN)
			}
			return nil
		})
	})
	if err != nil || !covered {
		return false, err
	}
	// Current state of the changed entries; those gone or out of the
	// content are deleted on the consumer, if it may know of them.
	type found struct {
		en    *directory.Entry
		depth int
	}
	var present []found
	var deleted [][16]byte
	for _, u := range order {
		h := seen[u]
		var en *directory.Entry
		if !h.gone {
			if en, err = s.content.Current(ctx, u); err != nil {
				return false, err
			}
		}
		if en != nil {
			dn, _ := ldap.ParseDN(en.DN)
			present = append(present, found{en, len(dn)})
			continue
		}
		if h.added {
			continue // created since the cookie: the consumer never had it
		}
		tell := true
		restricted := s.content.Restricted()
		// mayHaveHeld: one of the DNs the log names it by is in the
		// search's scope and readable as far as the name tells.
		mayHaveHeld := func() bool {
			return slices.ContainsFunc(h.dns, func(dn string) bool {
				ndn, err := s.p.Engine.NormalizeDN(dn)
				return err == nil && s.content.InScope(ndn) && s.content.MayReadAt(dn)
			})
		}
		switch {
		case h.gone && h.partial && restricted:
			s.p.Logger.Debug("syncprov: an entry went with its ancestor since the cookie; present phase", "consumer", s.consumerID())
			return false, nil
		case h.gone && !h.partial:
			tell = mayHaveHeld()
			if !tell && restricted && slices.ContainsFunc(h.dns, s.mayHold) {
				// Deleted in scope, and its DN alone does not show that
				// the requester could read it (a rule tests attributes,
				// which are gone): it may hold it. The present phase
				// removes it without naming it.
				s.p.Logger.Debug("syncprov: an entry the DN cannot tell about was deleted since the cookie; present phase", "consumer", s.consumerID())
				return false, nil
			}
		case !h.gone:
			// Never in the search's scope: the consumer cannot hold it.
			tell = h.partial || slices.ContainsFunc(h.dns, func(dn string) bool {
				ndn, err := s.p.Engine.NormalizeDN(dn)
				return err == nil && s.content.InScope(ndn)
			})
			if tell && restricted {
				if tell, err = s.content.MayRead(ctx, u); err != nil {
					return false, err
				}
				if !tell {
					// Hidden now, by a rule on its attributes (a change
					// made it match one): the consumer may hold it from
					// before, so it is named as a deleted entry would be.
					tell = !h.partial && mayHaveHeld()
				}
				if !tell && slices.ContainsFunc(h.dns, s.mayHold) {
					// Its DN alone does not show that the requester could
					// read it (a filter in a rule, a partner's view): it
					// may hold it, and naming it would tell of an entry it
					// may not read. The present phase removes it unnamed.
					s.p.Logger.Debug("syncprov: an entry left a restricted view since the cookie; present phase", "consumer", s.consumerID())
					return false, nil
				}
			}
		}
		if !tell {
			continue
		}
		if b, ok := uuidBytes(u); ok {
			deleted = append(deleted, b)
		}
	}
	for len(deleted) > 0 {
		n := min(len(deleted), 1000)
		s.deleted += n
		if err := s.w.WriteIntermediate(ldap.OIDSyncInfo, ldap.AppendSyncInfo(nil, ldap.SyncInfo{Kind: ldap.SyncInfoIDSet, Done: true, UUIDs: deleted[:n]})); err != nil {
			return false, err
		}
		deleted = deleted[n:]
	}
	slices.SortStableFunc(present, func(a, b found) int { return a.depth - b.depth })
	for _, f := range present {
		if err := s.writeState(f.en, ldap.SyncAdd, nil); err != nil {
			return false, err
		}
	}
	return true, nil
}

// mayHold reports whether the consumer may hold an entry that had the
// DN dn: it lies in the search's scope, and the access rules do not hide
// every entry of that name (changefeed.Content.MayHoldAt).
func (s *session) mayHold(dn string) bool {
	ndn, err := s.p.Engine.NormalizeDN(dn)
	return err == nil && s.content.InScope(ndn) && s.content.MayHoldAt(dn)
}

// persist streams commits until the operation ends.
func (s *session) persist(ctx context.Context, sub *directory.ChangeSubscription, sent map[uint16]change.CSN) {
	local := s.p.Log.Replica()
	behind := &ldap.Result{Code: ldap.Busy, Diagnostic: "the consumer fell behind the change stream; resume with the last cookie"}
	// What the refresh reflected, apart from the cookie sent since: the
	// commits settled together share one Safe CSN, above all but the
	// last of them, and must not be skipped for it.
	refreshed := maps.Clone(sent)
	changefeed.Follow(ctx, s.w, sub, &s.p.Stop, behind, func(ev directory.CommittedChange) error {
		if err := s.content.Ends(ev.Change); err != nil {
			return err
		}
		if !refreshed[ev.CSN.Replica].Less(ev.CSN) {
			return nil // the refresh already reflected it
		}
		var cookie []byte
		if sent[local].Less(ev.Safe) {
			sent[local] = ev.Safe
			cookie = []byte(change.Cookie{RID: s.rid, SID: -1, CSNs: sent, View: s.q.View}.String())
		}
		return s.send(ctx, ev.Change, cookie)
	})
}

// send writes the sync states one committed change causes, with the
// requester's access as it is now.
func (s *session) send(ctx context.Context, ch *directory.Change, cookie []byte) error {
	if !s.content.Touches(ch) {
		return s.newCookie(cookie)
	}
	if err := s.content.Recheck(ctx); err != nil {
		return err
	}
	if ch.Kind == change.Delete {
		var last *directory.Entry
		for i := len(ch.Removed) - 1; i >= 0; i-- {
			if s.content.Holds(ch.Removed[i]) {
				if err := s.writeState(ch.Removed[i], ldap.SyncDelete, nil); err != nil {
					return err
				}
			}
		}
		if s.content.Holds(ch.Before) {
			last = ch.Before
		}
		if last != nil {
			return s.writeState(last, ldap.SyncDelete, cookie)
		}
		return s.newCookie(cookie)
	}
	en, err := s.content.Entry(ch.After)
	if err != nil {
		return err
	}
	if en == nil {
		if s.content.Holds(ch.Before) {
			return s.writeState(ch.Before, ldap.SyncDelete, cookie)
		}
		return s.newCookie(cookie)
	}
	state := ldap.SyncModify
	if ch.Kind == change.Add || !s.content.Holds(ch.Before) {
		state = ldap.SyncAdd
	}
	return s.writeState(en, state, cookie)
}

// newCookie tells the consumer of a cookie that came with no entry.
func (s *session) newCookie(cookie []byte) error {
	if cookie == nil {
		return nil
	}
	return s.w.WriteIntermediate(ldap.OIDSyncInfo, ldap.AppendSyncInfo(nil, ldap.SyncInfo{Kind: ldap.SyncInfoNewCookie, Cookie: cookie}))
}
