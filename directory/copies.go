package directory

// Read-only copies.
//
// A subtree filled by a consumer of another directory (an RFC 4533
// consumer: package replication) is a copy: a local write into it would
// be undone by the next refresh, or silently diverge. The engine refuses
// Add, Modify, Delete and ModifyDN that touch such a subtree, whoever
// asks, with unwillingToPerform naming the source, or with a referral to
// it. The consumer itself writes through ReplaceEntriesWith, which is
// not checked. The test is one DN comparison per configured subtree.

import (
	"fmt"

	"github.com/switchboard-ldap/switchboard/ldap"
)

// A ReadOnlyCopy is a subtree this server holds as a copy of another
// directory's: Options.ReadOnlyCopies.
type ReadOnlyCopy struct {
	// Base is the DN of the subtree's top entry (it need not exist yet).
	Base string
	// Name and Source (the provider's URL) are named in the refusal.
	Name, Source string
	// Referral, when true, refuses with a referral (result 10) to Source
	// instead of unwillingToPerform.
	Referral bool
	// Scope is what the copy holds: ldap.ScopeWholeSubtree, Base and
	// everything below it; ldap.ScopeChildren, everything below Base,
	// whose own entry stays local (a one-level consumer never writes
	// it); ldap.ScopeBaseObject (the zero value), the Base entry only.
	// Deleting or moving an entry above what it holds is refused too.
	Scope ldap.Scope
}

// readOnlyCopy is a ReadOnlyCopy with its base normalised.
type readOnlyCopy struct {
	ReadOnlyCopy
	ndn string
}

// setReadOnlyCopies normalises the configured copies.
func (e *Engine) setReadOnlyCopies(copies []ReadOnlyCopy) error {
	for _, c := range copies {
		if err := e.AddReadOnlyCopy(c); err != nil {
			return err
		}
	}
	return nil
}

// AddReadOnlyCopy declares the subtree of c a read-only copy from now
// on, replacing one of the same Name (federation imports, created at run
// time).
func (e *Engine) AddReadOnlyCopy(c ReadOnlyCopy) error {
	ndn, err := e.NormalizeDN(c.Base)
	if err != nil {
		return fmt.Errorf("read-only copy %s: base %q: %w", c.Name, c.Base, err)
	}
	switch c.Scope {
	case ldap.ScopeBaseObject, ldap.ScopeChildren, ldap.ScopeWholeSubtree:
	default:
		return fmt.Errorf("read-only copy %s: scope %d is none of base, children, subtree", c.Name, c.Scope)
	}
	e.copiesMu.Lock()
	defer e.copiesMu.Unlock()
	add := readOnlyCopy{ReadOnlyCopy: c, ndn: ndn}
	var next []readOnlyCopy
	replaced := false
	if cur := e.copies.Load(); cur != nil {
		for _, o := range *cur {
			if o.Name == c.Name {
				o, replaced = add, true
			}
			next = append(next, o)
		}
	}
	if !replaced {
		next = append(next, add) // in the order given: the first that refuses is named
	}
	e.copies.Store(&next)
	return nil
}

// RemoveReadOnlyCopy ends the read-only copy called name: local writes
// into its subtree are allowed again (to purge it).
func (e *Engine) RemoveReadOnlyCopy(name string) {
	e.copiesMu.Lock()
	defer e.copiesMu.Unlock()
	cur := e.copies.Load()
	if cur == nil {
		return
	}
	var next []readOnlyCopy
	for _, o := range *cur {
		if o.Name != name {
			next = append(next, o)
		}
	}
	e.copies.Store(&next)
}

// ReadOnlyCopies lists the read-only copies in force.
func (e *Engine) ReadOnlyCopies() []ReadOnlyCopy {
	cur := e.copies.Load()
	if cur == nil {
		return nil
	}
	out := make([]ReadOnlyCopy, len(*cur))
	for i, c := range *cur {
		out[i] = c.ReadOnlyCopy
	}
	return out
}

// HasReadOnlyCopies reports whether any subtree is a read-only copy, so
// that callers can skip normalising DNs for CheckCopyWrite.
func (e *Engine) HasReadOnlyCopies() bool {
	cur := e.copies.Load()
	return cur != nil && len(*cur) > 0
}

// CheckCopyWrite returns the refusal of a local write that touches a
// read-only copy, or nil. ndn is the normalised DN written; above (a
// Delete, or the old DN of a ModifyDN) also refuses a DN above a copy,
// whose removal or move would take the copy with it; newNDN (ModifyDN)
// is the entry's new DN, or "".
func (e *Engine) CheckCopyWrite(ndn string, above bool, newNDN string) error {
	cur := e.copies.Load()
	if cur == nil {
		return nil
	}
	for i := range *cur {
		c := &(*cur)[i]
		if c.holds(ndn) || (above && (ndn == c.ndn || ldap.IsBelowNDN(c.ndn, ndn))) || (newNDN != "" && c.holds(newNDN)) {
			return c.refusal()
		}
	}
	return nil
}

// holds reports whether ndn is an entry of the copy.
func (c *readOnlyCopy) holds(ndn string) bool {
	return ldap.InScopeNDN(ndn, c.ndn, c.Scope)
}

func (c *readOnlyCopy) refusal() error {
	msg := c.Base + " is a read-only copy of " + c.Name + " (" + c.Source + ")"
	if c.Referral {
		return &ldap.Error{Code: ldap.Referral, Message: msg, Referral: []string{c.Source}}
	}
	return &ldap.Error{Code: ldap.UnwillingToPerform, Message: msg}
}
