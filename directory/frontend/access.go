package frontend

// Access control: the frontend asks the access policy (directory/access)
// before each operation and for each entry and attribute it returns. The
// root DN bypasses the policy (its requester is nil). See the access
// package for the rules' semantics; this file maps LDAP operations onto
// the privileges they need, as OpenLDAP does:
//
//	bind         auth on the entry's userPassword (checked as the anonymous subject)
//	search       search on the base's entry; search on each filter attribute
//	             (else the item is Undefined); read on each returned entry
//	             and each returned attribute
//	compare      compare on the attribute
//	add          add on the parent's children, on the new entry's entry and
//	             on each attribute given
//	delete       delete on the entry's entry and on the parent's children
//	             (tree delete: on the entry's children too)
//	modify       add, delete or both (replace, increment) per attribute changed
//	modify DN    write on the entry's entry, delete on the old parent's
//	             children, add on the new parent's children
//	passwd ext.  write on the target's userPassword
//
// A refusal on an entry the requester may not disclose is answered
// exactly as a missing entry is: noSuchObject, with the same matchedDN
// (the deepest ancestor the requester may disclose) and the same text.

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// SetAccess replaces the access policy; requests already running keep
// the policy they started with.
func (f *Frontend) SetAccess(p *access.Policy) { f.policy.Store(p) }

// Access returns the access policy in force.
func (f *Frontend) Access() *access.Policy { return f.policy.Load() }

// requester returns the session's access to the directory for one
// request, nil for the root DN (no checks).
func (f *Frontend) requester(ctx context.Context, s *ldap.Session) *access.Requester {
	if f.isRoot(s) {
		return nil
	}
	subj := access.Subject{DN: s.BindDN(), TLS: s.TLS() != nil}
	if a, ok := s.RemoteAddr.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(a.IP); ok {
			subj.Addr = ip.Unmap()
		}
	}
	if p := f.Partner(subj.DN); p != nil {
		return f.partnerRequester(p, subj)
	}
	return f.policy.Load().For(subj, func(group string) bool { return f.groups.member(ctx, f.engine, subj.DN, group) })
}

// groupCache remembers group memberships until the directory changes
// (the engine's write epoch moves).
type groupCache struct {
	mu    sync.Mutex
	epoch uint64
	m     map[[2]string]bool
}

const maxGroupCache = 1 << 14

// member reports whether the entry dn is a member of group: listed in
// its member or uniqueMember, or a member of a group listed in its member
// (in-chain evaluation, when member has an equality index).
func (c *groupCache) member(ctx context.Context, e *directory.Engine, dn, group string) bool {
	key := [2]string{dn, group}
	epoch := e.Epoch()
	c.mu.Lock()
	if c.epoch != epoch || len(c.m) >= maxGroupCache {
		c.m, c.epoch = map[[2]string]bool{}, epoch
	}
	v, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return v
	}
	found, err := e.IsMember(ctx, dn, group)
	if err != nil && ctx.Err() != nil {
		return false // not cached: the request ended, not the answer
	}
	c.mu.Lock()
	if c.epoch == epoch {
		c.m[key] = found
	}
	c.mu.Unlock()
	return found
}

// noSuchObjectText is the diagnostic of every noSuchObject the frontend
// sends, whether the entry is missing or hidden; anonymousNoSuchObjectText
// that of every one sent to an anonymous session, missing or hidden
// alike: a hint for a new user whose first search finds nothing, that
// depends on the session only, never on the entry.
const (
	noSuchObjectText          = "no such object"
	anonymousNoSuchObjectText = "no such object (this session is anonymous: entries the access rules show only to authenticated users look missing; bind first)"
)

// noSuchObject is the answer about an entry that does not exist or that
// rq may not know of (no disclose privilege on it). The two answers are
// the same, code, matchedDN and text, so that a client learns nothing of
// what it may not see. The matchedDN names the deepest entry at or above
// the existing entry from ("" for none) that rq may disclose: from is the
// engine's matched DN (the deepest existing ancestor) for a missing
// entry, the parent for a hidden one, so that both walk up the same
// ancestors. slapd names the deepest existing ancestor only if it may be
// disclosed, and nothing otherwise; that tells the child of a hidden
// entry (nothing) from the child of a missing one (the visible entry
// above it), which naming the first disclosed ancestor does not.
func (f *Frontend) noSuchObject(ctx context.Context, rq *access.Requester, from string) *ldap.Error {
	text := noSuchObjectText
	if rq != nil && rq.DN() == "" {
		text = anonymousNoSuchObjectText
	}
	return &ldap.Error{Code: ldap.NoSuchObject, MatchedDN: f.disclosedAncestor(ctx, rq, from), Message: text}
}

// disclosedAncestor returns the DN of the first entry, from dn upwards
// within the naming context, that rq may disclose: dn itself for the root
// DN (nil rq), "" when there is none.
func (f *Frontend) disclosedAncestor(ctx context.Context, rq *access.Requester, dn string) string {
	if rq == nil || dn == "" {
		return dn
	}
	ndn, err := f.engine.NormalizeDN(dn)
	if err != nil {
		return ""
	}
	suffix := f.suffixNDN()
	for ; ndn == suffix || ldap.IsBelowNDN(ndn, suffix); ndn = ldap.ParentNDN(ndn) {
		en, err := f.engine.Get(ctx, ndn)
		if err != nil {
			continue // deleted meanwhile: its parent is the next candidate
		}
		if ea := rq.Entry(en.NDN, en); ea.Discloses() {
			return en.DN
		}
	}
	return ""
}

// denied is the answer to an operation refused on the entry en (a stored
// entry, the Root DSE or the subschema subentry): insufficientAccessRights
// if rq may know the entry exists, else the noSuchObject of a missing
// entry at its place.
func (f *Frontend) denied(ctx context.Context, rq *access.Requester, en *directory.Entry, ea *access.EntryAccess, msg string) *ldap.Error {
	if !ea.Discloses() {
		return f.noSuchObject(ctx, rq, ldap.ParentNDN(en.NDN))
	}
	return &ldap.Error{Code: ldap.InsufficientAccessRights, Message: msg}
}

// target loads the entry an operation acts on and the requester's access
// to it. A missing entry is noSuchObject (see noSuchObject for its
// matchedDN).
func (f *Frontend) target(ctx context.Context, rq *access.Requester, dn string) (*directory.Entry, access.EntryAccess, error) {
	ndn, err := f.engine.NormalizeDN(dn)
	if err != nil {
		return nil, access.EntryAccess{}, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN"}
	}
	if ndn == "" {
		en := f.rootDSE()
		return en, rq.Entry("", en), nil
	}
	get := f.engine.Get
	if ea := rq.Entry(ndn, nil); ea.Complete() {
		// No rule that selects the entry tests its attributes: the
		// computed ones (memberOf, numSubordinates) would be read for
		// nothing, on every search of a base and every write.
		get = f.engine.Stored
	}
	en, err := get(ctx, dn)
	if err != nil {
		return nil, access.EntryAccess{}, f.hideMatched(ctx, rq, err)
	}
	return en, rq.Entry(en.NDN, en), nil
}

// parent loads the parent of the entry named ndn: the Root DSE stands for
// the parent of the naming context.
func (f *Frontend) parent(ctx context.Context, rq *access.Requester, ndn string) (*directory.Entry, access.EntryAccess, error) {
	p := ldap.ParentNDN(ndn)
	if ndn == "" || ndn == f.suffixNDN() || p == "" {
		en := f.rootDSE()
		return en, rq.Entry("", en), nil
	}
	return f.target(ctx, rq, p)
}

func (f *Frontend) suffixNDN() string {
	n, _ := f.engine.NormalizeDN(f.engine.Suffix())
	return n
}

// hideMatched turns a noSuchObject error from the engine or an overlay
// into the frontend's (see noSuchObject): its matchedDN becomes the first
// ancestor rq may disclose, its text the common one.
func (f *Frontend) hideMatched(ctx context.Context, rq *access.Requester, err error) error {
	var le *ldap.Error
	if !errors.As(err, &le) || le.Code != ldap.NoSuchObject {
		return err
	}
	return f.noSuchObject(ctx, rq, le.MatchedDN)
}

// unsearchable returns the predicate "the requester may not search this
// attribute of ea's entry", nil when nothing is hidden (root).
func unsearchable(rq *access.Requester, ea *access.EntryAccess) func(*schema.AttributeType) bool {
	if rq == nil {
		return nil
	}
	return func(at *schema.AttributeType) bool { return !ea.Attr(at.Name()).Has(access.Search) }
}

// searchAccess is directory.SearchAccess for one search by a requester.
// It remembers the last entry's evaluation, which the filter, the
// visibility check and the attribute selection share.
type searchAccess struct {
	rq *access.Requester
	// partner, when the requester is one, is counted and has DN values
	// withheld (partner.go); ctx is the search's, for those lookups.
	partner *Partner
	ctx     context.Context
	base    string
	scope   ldap.Scope
	visible int8             // 1: every entry readable, -1: none, 0: per entry
	last    *directory.Entry // with lastID: a lent entry is decoded into the same Entry each time
	lastID  directory.ID
	ea      access.EntryAccess
}

func newSearchAccess(rq *access.Requester, baseNDN string, scope ldap.Scope) *searchAccess {
	a := &searchAccess{rq: rq, base: baseNDN, scope: scope}
	if has, ok := rq.StaticHas(baseNDN, scope, access.AttrEntry, access.Read); ok {
		a.visible = -1
		if has {
			a.visible = 1
		}
	}
	return a
}

func (a *searchAccess) entry(en *directory.Entry) *access.EntryAccess {
	if a.last != en || a.lastID != en.ID {
		a.last, a.lastID, a.ea = en, en.ID, a.rq.Entry(en.NDN, en)
	}
	return &a.ea
}

func (a *searchAccess) FilterAttr(at *schema.AttributeType) directory.AttrAccess {
	has, ok := a.rq.StaticHas(a.base, a.scope, at.Name(), access.Search)
	switch {
	case !ok:
		return directory.AttrPerEntry
	case has:
		return directory.AttrAllowed
	}
	return directory.AttrDenied
}

func (a *searchAccess) Searchable(en *directory.Entry, at *schema.AttributeType) bool {
	return a.entry(en).Attr(at.Name()).Has(access.Search)
}

// VisibleAt reports whether an entry named ndn is readable as far as
// its DN tells; decided is false when a rule that tests attributes may
// select it (the sync provider's delete phase asks).
func (a *searchAccess) VisibleAt(ndn string) (visible, decided bool) {
	ea := a.rq.Entry(ndn, nil)
	if !ea.Complete() {
		return false, false
	}
	return ea.Entry().Has(access.Read), true
}

func (a *searchAccess) Visible(en *directory.Entry) bool {
	if a.visible != 0 {
		return a.visible > 0
	}
	return a.entry(en).Entry().Has(access.Read)
}
