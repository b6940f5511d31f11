package directory

import "context"

// Backend is the narrow interface between the LDAP front end and the
// directory engine. The Engine implements it; overlays that act on whole
// operations wrap it, embedding the next Backend and overriding only the
// methods they change (etcd's applier decorators are the model). Overlays
// that must write in the same transaction as the change use WriteHook.
type Backend interface {
	Search(ctx context.Context, req *SearchRequest, fn func(*Entry) error) error
	Add(ctx context.Context, dn string, attrs []Attr, opt AddOptions) error
	Modify(ctx context.Context, dn string, mods []Mod) error
	Delete(ctx context.Context, dn string) error
	ModifyDN(ctx context.Context, dn, newRDN string, deleteOldRDN bool, newSuperior *string) error
	Compare(ctx context.Context, dn, attr string, value []byte, hidden []string) (bool, error)
	Authenticate(ctx context.Context, dn string, password []byte) (*Entry, error)
}

var _ Backend = (*Engine)(nil)
