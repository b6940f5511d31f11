package frontend

// Partners: identities that exist outside the directory's entries, each
// confined to a view of its own (a federation export). A partner binds
// with its DN and password like any identity, but the access policy does
// not apply to it: its Access policy is all it may do, and it is asked
// wherever the policy would be (search, compare, the sync provider and
// persistent searches, which see a partner's SearchQuery.Access), so the
// view holds for every operation. Values of DN-valued attributes (member,
// manager, seeAlso, ...) naming an entry the partner may not read are
// withheld from what it reads and compares false. The default size
// limit does not apply to a partner: its sync refresh must get its whole
// view (a limits.by_identity rule may still set one).
//
// Each partner's view has a version (Partner.View), a digest of its
// policy's rules: a content synchronization provider puts it in the
// cookies it gives the partner (SearchQuery.View) and answers a cookie
// of another version with a full refresh, so that what left the view
// when it changed is deleted at the partner.
//
// A removed partner stays known as revoked: a session still bound as it
// can do nothing, and its bind fails. The caller ends those sessions
// (ldap.Server.Disconnect).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// A Partner is an identity confined to a view: see SetPartner. Its
// fields must not be changed.
type Partner struct {
	// DN is the bind DN; it should lie outside the naming context, so
	// that no entry can be bound as it.
	DN string
	// Password is the password as userPassword holds it: cleartext or a
	// {SCHEME} hash.
	Password []byte
	// Access is everything the partner may do; the access policy does
	// not apply to it. nil allows nothing (a revoked partner).
	Access *access.Policy

	ndn   string
	view  string
	stats partnerStats
}

// View returns the version of the partner's view: a digest of its
// access rules, which changes when they do.
func (p *Partner) View() string { return p.view }

// viewVersion digests a policy's rules into a view version: 12 hex
// digits of their SHA-256.
func viewVersion(pol *access.Policy) string {
	h := sha256.New()
	for _, r := range pol.Rules() {
		h.Write([]byte(r))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// PartnerStats is what a partner did since the server started.
type PartnerStats struct {
	Binds int64 `json:"binds"`
	// Entries counts the entries sent to it (searches, sync, persistent
	// searches), Searches its searches.
	Entries   int64     `json:"entries_sent"`
	Searches  int64     `json:"searches"`
	LastBind  time.Time `json:"last_bind,omitzero"`
	LastFetch time.Time `json:"last_fetch,omitzero"`
}

type partnerStats struct {
	binds, entries, searches atomic.Int64
	lastBind, lastFetch      atomic.Int64 // unix nanoseconds
}

// Stats returns what the partner did so far.
func (p *Partner) Stats() PartnerStats {
	st := PartnerStats{Binds: p.stats.binds.Load(), Entries: p.stats.entries.Load(), Searches: p.stats.searches.Load()}
	if t := p.stats.lastBind.Load(); t != 0 {
		st.LastBind = time.Unix(0, t).UTC()
	}
	if t := p.stats.lastFetch.Load(); t != 0 {
		st.LastFetch = time.Unix(0, t).UTC()
	}
	return st
}

// partners is the set in force, by normalised DN; revoked partners have
// a nil Access.
type partners struct {
	mu sync.Mutex // serialises SetPartner and RemovePartner
	m  atomic.Pointer[map[string]*Partner]
}

// noAccess is the policy of a revoked partner.
var noAccessRules = []string{"to * by * none"}

// SetPartner adds or replaces the partner dn, who binds with password
// (as userPassword holds it) and may do what pol allows; a replaced
// partner keeps its statistics. It returns the Partner in force.
func (f *Frontend) SetPartner(dn string, password []byte, pol *access.Policy) (*Partner, error) {
	ndn, err := f.engine.NormalizeDN(dn)
	if err != nil || ndn == "" {
		return nil, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "partner DN " + dn + " does not parse"}
	}
	if pol == nil {
		return nil, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "partner " + dn + " has no access policy"}
	}
	if ndn == f.rootNDN {
		return nil, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "a partner cannot be the root DN"}
	}
	f.partners.mu.Lock()
	defer f.partners.mu.Unlock()
	next := map[string]*Partner{}
	if cur := f.partners.m.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	np := &Partner{DN: dn, Password: password, Access: pol, ndn: ndn, view: viewVersion(pol)}
	if old := next[ndn]; old != nil && old.Access != nil {
		np.stats.binds.Store(old.stats.binds.Load())
		np.stats.entries.Store(old.stats.entries.Load())
		np.stats.searches.Store(old.stats.searches.Load())
		np.stats.lastBind.Store(old.stats.lastBind.Load())
		np.stats.lastFetch.Store(old.stats.lastFetch.Load())
	}
	next[ndn] = np
	f.partners.m.Store(&next)
	return np, nil
}

// RemovePartner revokes the partner dn: its binds fail and sessions
// still bound as it may do nothing from now on.
func (f *Frontend) RemovePartner(dn string) {
	ndn, err := f.engine.NormalizeDN(dn)
	if err != nil {
		return
	}
	f.partners.mu.Lock()
	defer f.partners.mu.Unlock()
	cur := f.partners.m.Load()
	if cur == nil || (*cur)[ndn] == nil {
		return
	}
	next := make(map[string]*Partner, len(*cur))
	for k, v := range *cur {
		next[k] = v
	}
	next[ndn] = &Partner{DN: dn, ndn: ndn}
	f.partners.m.Store(&next)
}

// Partner returns the partner bound as the normalised DN ndn, revoked
// ones included (Access nil), or nil.
func (f *Frontend) Partner(ndn string) *Partner {
	m := f.partners.m.Load()
	if m == nil || ndn == "" {
		return nil
	}
	return (*m)[ndn]
}

// partnerRequester is the requester of a session bound as partner p.
func (f *Frontend) partnerRequester(p *Partner, subj access.Subject) *access.Requester {
	pol := p.Access
	if pol == nil {
		pol = f.noAccess()
	}
	return pol.For(subj, nil)
}

// noAccess returns the policy that allows nothing, compiled once.
func (f *Frontend) noAccess() *access.Policy {
	f.noAccessOnce.Do(func() {
		p, err := access.Compile(f.engine, noAccessRules)
		if err != nil {
			panic("frontend: the no-access policy does not compile: " + err.Error())
		}
		f.noAccessPolicy = p
	})
	return f.noAccessPolicy
}

// bindPartner settles a simple bind to partner p.
func (f *Frontend) bindPartner(ctx context.Context, p *Partner, password []byte) error {
	if p.Access == nil {
		return f.engine.FailBind(ctx, password)
	}
	ok, err := f.engine.Passwords().Verify(ctx, p.Password, password)
	if err != nil || !ok {
		return &ldap.Error{Code: ldap.InvalidCredentials, Message: "invalid credentials"}
	}
	p.stats.binds.Add(1)
	p.stats.lastBind.Store(time.Now().UnixNano())
	return nil
}

// isDNValued reports whether values of at name entries.
func isDNValued(at *schema.AttributeType) bool {
	if at == nil || at.Syntax == nil {
		return false
	}
	return at.Syntax.OID == schema.SyntaxDN || at.Syntax.OID == schema.SyntaxNameAndUID
}

// mayReadDN reports whether rq may read the entry a DN value names (for
// nameAndOptionalUID, the DN before the '#').
func (f *Frontend) mayReadDN(ctx context.Context, rq *access.Requester, at *schema.AttributeType, v []byte) bool {
	s := string(v)
	if at.Syntax.OID == schema.SyntaxNameAndUID {
		if i := lastHash(s); i >= 0 {
			s = s[:i]
		}
	}
	ndn, err := f.engine.NormalizeDN(s)
	if err != nil {
		return false
	}
	if ea := rq.Entry(ndn, nil); ea.Complete() {
		return ea.Entry().Has(access.Read)
	}
	en, err := f.engine.Stored(ctx, ndn)
	if err != nil {
		return false
	}
	ea := rq.Entry(en.NDN, en)
	return ea.Entry().Has(access.Read)
}

// lastHash is the index of the '#' that starts the optional UID of a
// nameAndOptionalUID value ("dn#'0101'B"), or -1.
func lastHash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '#' {
			if i+1 < len(s) && s[i+1] == '\'' {
				return i
			}
			return -1
		}
	}
	return -1
}

// withholdDNs drops from out the DN values naming entries rq may not
// read. The values of out share memory with the stored entry: changed
// attributes get a new slice.
func (f *Frontend) withholdDNs(ctx context.Context, rq *access.Requester, out *ldap.Entry) {
	for i := range out.Attributes {
		a := &out.Attributes[i]
		base, _ := schema.SplitOptions(a.Name)
		at, ok := f.schema.Attribute(base)
		if !ok || !isDNValued(at) {
			continue
		}
		var kept [][]byte
		for j, v := range a.Values {
			ok := f.mayReadDN(ctx, rq, at, v)
			switch {
			case ok && kept != nil:
				kept = append(kept, v)
			case !ok && kept == nil:
				kept = append(make([][]byte, 0, len(a.Values)), a.Values[:j]...)
			}
		}
		if kept != nil {
			a.Values = kept
		}
	}
	// An attribute left without values is left out.
	n := 0
	for _, a := range out.Attributes {
		if len(a.Values) > 0 {
			out.Attributes[n] = a
			n++
		}
	}
	out.Attributes = out.Attributes[:n]
}

// countFetch records that an entry was sent to partner p.
func (p *Partner) countFetch() {
	p.stats.entries.Add(1)
	p.stats.lastFetch.Store(time.Now().UnixNano())
}

// partnerOf returns the partner a requester acts for, or nil.
func (f *Frontend) partnerOf(rq *access.Requester) *Partner {
	if rq == nil {
		return nil
	}
	return f.Partner(rq.DN())
}
