package frontend

import (
	"context"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// A SearchExtension serves the searches that carry its control (content
// synchronization, RFC 4533, say): the frontend resolves the base, the
// limits and the attribute selection as for any search, then hands the
// whole operation over. It must end it with one WriteResult, unless the
// operation was abandoned.
type SearchExtension interface {
	ServeSearch(ctx context.Context, w ldap.ResponseWriter, q *SearchQuery)
}

// SearchQuery is a search as the frontend resolved it for an extension.
type SearchQuery struct {
	Request *ldap.Request
	Control *ldap.Control // the extension's control
	Session *ldap.Session
	// BaseDN, Scope and Filter are what the backend searches: an empty
	// base already mapped to the naming context.
	BaseDN string
	Scope  ldap.Scope
	Filter *ldap.Filter
	// SizeLimit is the client's, capped by the server's unless root
	// (0: none). TimeLimit is not applied: a persistent search lasts.
	SizeLimit int
	// Root exempts the search from the unindexed limit (the root DN).
	Root bool
	// Access is the requester's access to the entries (nil: the root DN,
	// unrestricted): pass it on in directory.SearchRequest.Access.
	Access directory.SearchAccess
	// Operational asks the backend for computed operational attributes.
	Operational bool
	// Entry selects the requested attributes of en for the wire.
	Entry func(en *directory.Entry) *ldap.Entry
	// Recheck returns Access and Entry anew, as the access policy and
	// group memberships in force now decide them, for an extension whose
	// search lasts (persistent search, content synchronization) and so
	// must not go on with the rights it had when it began. nil when
	// they cannot change (the root DN). An error ends the search.
	Recheck func(ctx context.Context) (directory.SearchAccess, func(en *directory.Entry) *ldap.Entry, error)
	// View is, for a partner, the version of its view (Partner.View); ""
	// for everyone else.
	View string
}

// HandleSearchControl routes searches carrying oid to h, and registers
// oid as a search control (published in the Root DSE).
func (f *Frontend) HandleSearchControl(oid string, h SearchExtension) {
	f.controls.Register(oid, ldap.OpSearchRequest)
	f.extMu.Lock()
	defer f.extMu.Unlock()
	if f.extensions == nil {
		f.extensions = map[string]SearchExtension{}
	}
	f.extensions[oid] = h
}

// searchExtension returns the extension for one of r's controls, if any.
func (f *Frontend) searchExtension(r *ldap.Request) (SearchExtension, *ldap.Control) {
	f.extMu.RLock()
	defer f.extMu.RUnlock()
	if len(f.extensions) == 0 {
		return nil, nil
	}
	for i := range r.Controls {
		if h, ok := f.extensions[string(r.Controls[i].OID)]; ok {
			return h, &r.Controls[i]
		}
	}
	return nil, nil
}
