package directory

import (
	"context"

	"github.com/switchboard-ldap/switchboard/change"
)

// Entry returns the stored entry named dn, without the attributes a
// search computes (entryDN, memberOf, ...), through the entry cache: the
// read of the bind path, for overlays that decide about a bind. It returns
// nil, nil when there is no such entry. The entry may be shared with the
// cache and must not be changed; Clone it first.
func (e *Engine) Entry(dn string) (*Entry, error) { return e.entryByDN(dn, "") }

// Amend changes the stored entry named dn in one write transaction: fn
// gets a copy of the entry as the transaction reads it and reports whether
// it changed it, and a changed copy is saved. It is how overlays keep
// their state in entries (the password policy's failure times and lock).
//
// Unlike Modify, Amend may set NO-USER-MODIFICATION attributes, runs no
// schema check (it is meant for operational attributes, which the check
// ignores) and leaves modifyTimestamp and modifiersName alone: what users
// wrote did not change. The write hooks run as for any modify. When a
// concurrent write conflicts, fn runs again on the newer entry, so a
// read-modify-write in fn is atomic. Amend returns the Change, or nil when
// fn changed nothing, and noSuchObject when there is no entry.
func (e *Engine) Amend(ctx context.Context, dn string, fn func(en *Entry) (bool, error)) (*Change, error) {
	parsed, ndn, err := e.normalizeDN(dn)
	if err != nil {
		return nil, err
	}
	return e.update(ctx, func(tx *Tx) (*Change, error) {
		before, err := e.loadByDN(tx, parsed, ndn)
		if err != nil {
			return nil, err
		}
		after := before.Clone()
		changed, err := fn(after)
		if err != nil || !changed {
			return nil, err
		}
		if err := e.putEntry(tx, before, after); err != nil {
			return nil, err
		}
		return &Change{Kind: change.Modify, Before: before, After: after}, nil
	})
}
