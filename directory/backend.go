package directory

import "context"

// Writes return the Change they made (the entry before and after), which
// the pre-read and post-read controls (RFC 4527) answer from.

// Backend is the narrow interface between the LDAP front end and the
// directory engine. The Engine implements it; overlays that act on whole
// operations wrap it, embedding the next Backend and overriding only the
// methods they change (etcd's applier decorators are the model). Overlays
// that must write in the same transaction as the change use WriteHook.
type Backend interface {
	Search(ctx context.Context, req *SearchRequest, fn func(*Entry) error) error
	Add(ctx context.Context, dn string, attrs []Attr, opt WriteOptions) (*Change, error)
	Modify(ctx context.Context, dn string, mods []Mod, opt WriteOptions) (*Change, error)
	Delete(ctx context.Context, dn string, opt WriteOptions) (*Change, error)
	ModifyDN(ctx context.Context, dn, newRDN string, deleteOldRDN bool, newSuperior *string, opt WriteOptions) (*Change, error)
	Compare(ctx context.Context, req *CompareRequest) (bool, error)
	Authenticate(ctx context.Context, dn string, password []byte) (*Entry, error)
}

var _ Backend = (*Engine)(nil)
