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
	// ChildrenOnly leaves the base entry itself to local writes (a
	// one-level consumer, which never writes it): only the entries below
	// it are refused, and the deletion or renaming of the base.
	ChildrenOnly bool
}

// readOnlyCopy is a ReadOnlyCopy with its base normalised.
type readOnlyCopy struct {
	ReadOnlyCopy
	ndn string
}

// setReadOnlyCopies normalises the configured copies.
func (e *Engine) setReadOnlyCopies(copies []ReadOnlyCopy) error {
	for _, c := range copies {
		ndn, err := e.NormalizeDN(c.Base)
		if err != nil {
			return &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "read-only copy " + c.Name + ": base " + c.Base + ": " + err.Error()}
		}
		e.copies = append(e.copies, readOnlyCopy{ReadOnlyCopy: c, ndn: ndn})
	}
	return nil
}

// CheckCopyWrite returns the refusal of a local write that touches a
// read-only copy, or nil. ndn is the normalised DN written; above (a
// Delete, or the old DN of a ModifyDN) also refuses a DN above a copy,
// whose removal or move would take the copy with it; newNDN (ModifyDN)
// is the entry's new DN, or "".
func (e *Engine) CheckCopyWrite(ndn string, above bool, newNDN string) error {
	for i := range e.copies {
		c := &e.copies[i]
		if c.holds(ndn) || (above && (ndn == c.ndn || ldap.IsBelowNDN(c.ndn, ndn))) || (newNDN != "" && c.holds(newNDN)) {
			return c.refusal()
		}
	}
	return nil
}

// holds reports whether ndn is an entry of the copy.
func (c *readOnlyCopy) holds(ndn string) bool {
	return ldap.IsBelowNDN(ndn, c.ndn) || (!c.ChildrenOnly && ndn == c.ndn)
}

func (c *readOnlyCopy) refusal() error {
	msg := c.Base + " is a read-only copy of " + c.Name + " (" + c.Source + ")"
	if c.Referral {
		return &ldap.Error{Code: ldap.Referral, Message: msg, Referral: []string{c.Source}}
	}
	return &ldap.Error{Code: ldap.UnwillingToPerform, Message: msg}
}
