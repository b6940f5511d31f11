// Package psearch serves persistent searches (draft-ietf-ldapext-psearch-03,
// the control 2.16.840.1.113730.3.4.3 that Netscape, 389-DS, Active
// Directory's tools and many client libraries know): a search that does
// not end with its result set, but goes on returning the entries that
// change, as they change, until the client abandons it or unbinds.
//
// It runs on the machinery of content synchronization (package syncprov;
// the shared parts are in internal/changefeed): the search subscribes to
// the engine's post-commit stream (directory.Engine.Changes) before it
// reads anything, so that no commit falls between the initial result set
// and the notifications.
//
// # The operation
//
// The control's value is changeTypes (a bitmask: add 1, delete 2,
// modify 4, modDN 8), changesOnly and returnECs. Without changesOnly the
// search first returns its result set as any search would (the size
// limit applies to it and ends the operation with sizeLimitExceeded when
// reached); a commit that set already reflected is not notified again.
// Then every committed change whose type is in changeTypes and whose
// entry is in the search's content is returned as that entry, in commit
// order, each change once, built from the change itself (not from the
// entry's state when the notification is sent, which a later change may
// have altered, renamed or deleted):
//
//   - add, modify, modDN: the entry as the change left it, under its DN
//     of that moment (the attributes the search requested; computed ones
//     other than entryDN are read when it is sent), if it is in the
//     content after the change. An entry a modify takes out of the
//     content is not notified (the draft has no such notion); an entry a
//     modify or a modDN brings in is notified as modify or modDN.
//   - delete: the entry as it was before, if it was in the content; a
//     subtree delete notifies every removed entry in the content, the
//     descendants before the entry deleted.
//   - modDN notifies the renamed entry only, not the descendants that
//     moved with it.
//
// With returnECs each notified entry carries the Entry Change
// Notification control (2.16.840.1.113730.3.4.7): its changeType, and
// previousDN for modDN. changeNumber is left out: the draft's change
// number is a position in a changelog of the kind of
// draft-good-ldap-changelog, which this server does not publish; its
// changes are named by CSNs (entryCSN), which are not integers.
//
// # Access
//
// The requester sees what a search would show it: the entries its access
// lets it read, with the attributes it may read, and a filter item on an
// attribute it may not search is Undefined, for the initial set and the
// notifications alike (a deleted entry is checked as it was before).
// Each notification is checked against the access policy and group
// memberships in force when it is sent, not those of the search's start:
// rights taken away stop the notifications they allowed. The search ends
// with insufficientAccessRights when the requester's own entry is
// deleted, renamed or moved, or locked (pwdAccountLockedTime set).
//
// # End
//
// The operation ends when the client abandons it, unbinds or closes the
// connection (no result), when the server shuts down (unavailable), or
// when the client reads too slowly: each search has a bounded queue of
// commits (directory.Options.ChangeQueue), and a search whose queue is
// full is cut off with adminLimitExceeded rather than ever holding up a
// writer. Such a client has lost notifications and must search again.
package psearch

import (
	"context"
	"errors"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/overlay/internal/changefeed"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Server serves persistent searches. It implements
// frontend.SearchExtension.
type Server struct {
	*changefeed.Feed
}

// Config configures a Server.
type Config = changefeed.Config

// New returns a Server.
func New(cfg Config) (*Server, error) {
	f, err := changefeed.NewFeed("psearch", cfg)
	if err != nil {
		return nil, err
	}
	return &Server{Feed: f}, nil
}

// Register routes the persistent search control of f's searches to s; the
// control is then listed in the Root DSE's supportedControl.
func (s *Server) Register(f *frontend.Frontend) {
	f.HandleSearchControl(ldap.OIDPersistentSearch, s)
}

// behind ends a search whose client fell behind.
var behind = ldap.Result{Code: ldap.AdminLimitExceeded,
	Diagnostic: "persistent search: the client fell behind the change stream and missed changes; search again"}

// ServeSearch implements frontend.SearchExtension.
func (s *Server) ServeSearch(ctx context.Context, w ldap.ResponseWriter, q *frontend.SearchQuery) {
	if !q.Control.HasValue {
		changefeed.WriteError(w, &ldap.Error{Code: ldap.ProtocolError, Message: "persistent search control has no value"})
		return
	}
	ps, err := ldap.DecodePersistentSearch(q.Control.Value)
	if err != nil {
		changefeed.WriteError(w, &ldap.Error{Code: ldap.ProtocolError, Message: err.Error()})
		return
	}
	content, err := changefeed.NewContent(s.Engine, s.Backend, q, true)
	if err != nil {
		changefeed.WriteError(w, err)
		return
	}
	// Subscribe before reading anything; state is what the initial set's
	// snapshot, taken after it, reflects.
	sub := s.Engine.Changes().Subscribe()
	defer sub.Close()
	state := s.Log.State()
	if !ps.ChangesOnly {
		err := s.Backend.Search(ctx, &directory.SearchRequest{
			BaseDN: q.BaseDN, Scope: q.Scope, Filter: q.Filter, SizeLimit: q.SizeLimit,
			Operational: q.Operational, Access: q.Access, Unlimited: q.Root,
		}, func(en *directory.Entry) error {
			return w.WriteEntry(q.Entry(en), q.Request.Search.TypesOnly)
		})
		if err != nil {
			if !errors.Is(err, ldap.ErrAbandoned) && ctx.Err() == nil {
				changefeed.WriteError(w, err)
			}
			return
		}
		if err := ldap.Flush(w); err != nil {
			return
		}
	} else {
		state = nil
	}
	n := &notifier{w: w, q: q, content: content, ps: ps}
	s.Logger.Debug("psearch: started", "base", q.BaseDN, "who", q.Session.BindDN(),
		"changeTypes", ps.ChangeTypes, "changesOnly", ps.ChangesOnly, "returnECs", ps.ReturnECs)
	cut := behind
	changefeed.Follow(ctx, w, sub, &s.Stop, &cut, func(ev directory.CommittedChange) error {
		if err := content.Ends(ev.Change); err != nil {
			return err
		}
		if !state[ev.CSN.Replica].Less(ev.CSN) || !content.Touches(ev.Change) {
			return nil // the initial set reflected it, or out of scope
		}
		if err := content.Recheck(ctx); err != nil {
			return err
		}
		return n.notify(ev.Change)
	})
}

// notifier sends the notifications of one persistent search.
type notifier struct {
	w       ldap.ResponseWriter
	q       *frontend.SearchQuery
	content *changefeed.Content
	ps      ldap.PersistentSearch
}

// notify sends the entries one committed change notifies.
func (n *notifier) notify(ch *directory.Change) error {
	var typ int
	switch ch.Kind {
	case change.Add:
		typ = ldap.PSearchAdd
	case change.Delete:
		typ = ldap.PSearchDelete
	case change.Modify:
		typ = ldap.PSearchModify
	case change.ModRDN:
		typ = ldap.PSearchModDN
	default:
		return nil
	}
	if n.ps.ChangeTypes&typ == 0 {
		return nil
	}
	if typ == ldap.PSearchDelete {
		for i := len(ch.Removed) - 1; i >= 0; i-- {
			if err := n.sendIf(ch.Removed[i], typ, ""); err != nil {
				return err
			}
		}
		return n.sendIf(ch.Before, typ, "")
	}
	prev := ""
	if typ == ldap.PSearchModDN {
		prev = ch.Before.DN
	}
	return n.sendIf(ch.After, typ, prev)
}

// sendIf sends en, an entry as the change left it, if it is in the
// content.
func (n *notifier) sendIf(en *directory.Entry, typ int, previousDN string) error {
	out, err := n.content.Entry(en)
	if err != nil || out == nil {
		return err
	}
	return n.send(out, typ, previousDN)
}

func (n *notifier) send(en *directory.Entry, typ int, previousDN string) error {
	if !n.ps.ReturnECs {
		return n.w.WriteEntry(n.content.Out(en), n.q.Request.Search.TypesOnly)
	}
	ecn := ldap.ResponseControl{OID: ldap.OIDEntryChangeNotifying, Value: ldap.AppendEntryChangeNotification(nil, typ, previousDN)}
	return n.w.WriteEntry(n.content.Out(en), n.q.Request.Search.TypesOnly, ecn)
}
