package directory

import (
	"context"

	"fmt"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/switchboard-ldap/switchboard/directory/index"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// OIDMatchingRuleInChain is Active Directory's LDAP_MATCHING_RULE_IN_CHAIN
// (1.2.840.113556.1.4.1941): (memberOf:1.2.840.113556.1.4.1941:=G) holds
// for every entry that is a member of group G directly or through nested
// groups, and (member:1.2.840.113556.1.4.1941:=U) for every group that
// contains U at any depth. Generally, (A:chain:=V) holds for an entry E
// when following attribute A from E, through any number of entries, leads
// to V.
const OIDMatchingRuleInChain = "1.2.840.113556.1.4.1941"

// maxChain bounds the entries one in-chain item may collect when the
// search has no CostLimits.ChainEntries (the root DN's searches): beyond
// it the search fails rather than answer from part of the chain.
const maxChain = 1 << 20

// chainSet is the resolved answer of one in-chain item: the IDs of the
// entries it holds for. Undefined until resolved inside a search's
// transaction (then an item without an equality index on its attribute
// stays Undefined).
type chainSet struct {
	resolved bool
	ids      *roaring.Bitmap
}

func (c *chainSet) test(en *Entry) tri {
	if !c.resolved {
		return triUndefined
	}
	if en.ID <= 0xFFFFFFFF && c.ids.Contains(uint32(en.ID)) {
		return triTrue
	}
	return triFalse
}

// compileInChain compiles an in-chain item: its attribute must be
// DN-valued; the value is the normalised DN to reach.
func (e *Engine) compileInChain(f *ldap.Filter, m matcher) matcher {
	if m.at == nil || m.at.Equality == nil || m.at.Equality.OID != "2.5.13.1" || m.dnAttrs {
		m.undefined = true
		return m
	}
	v, err := m.at.Normalize(f.Value)
	if err != nil {
		m.undefined = true
		return m
	}
	m.value = v
	m.chain = &chainSet{}
	return m
}

// resolveChains resolves the in-chain items of m with the equality index
// of their attribute, walking breadth first from the target value:
// entries whose attribute holds the value (level 1), then entries whose
// attribute holds one of those entries' DNs (level 2), and so on. Each
// entry is visited once, so a cycle of groups (A member of B member of A)
// ends the walk instead of repeating it. The walk is charged to m's
// SearchCost, one unit per entry reached, and bounded by its
// ChainDepth and ChainEntries: beyond either the search fails with
// adminLimitExceeded rather than answer from part of the chain.
func (e *Engine) resolveChains(r index.Reader, m *matcher) error {
	for i := range m.children {
		if err := e.resolveChains(r, &m.children[i]); err != nil {
			return err
		}
	}
	if m.chain == nil || m.undefined {
		return nil
	}
	var lim CostLimits
	if m.cost != nil {
		lim = m.cost.Limits
	}
	maxEntries := maxChain
	if lim.ChainEntries > 0 {
		maxEntries = min(lim.ChainEntries, maxChain)
	}
	ids := roaring.New()
	frontier := [][]byte{m.value}
	view := &View{e: e, txn: r.Txn, cost: m.cost}
	for depth := 1; len(frontier) > 0; depth++ {
		var next [][]byte
		var over error
		for _, v := range frontier {
			ok := e.holders(view, r, m.at, v, func(id uint64) bool {
				if id > 0xFFFFFFFF || ids.Contains(uint32(id)) {
					return true // reached already: a cycle or a diamond
				}
				if lim.ChainDepth > 0 && depth > lim.ChainDepth {
					over = chainLimit(fmt.Sprintf("in-chain match on %s nests deeper than %d levels (limits.chain_depth)", m.at.Name(), lim.ChainDepth))
					return false
				}
				if ids.GetCardinality() >= uint64(maxEntries) {
					over = chainLimit(fmt.Sprintf("in-chain match on %s reaches more than %d entries (limits.chain_entries)", m.at.Name(), maxEntries))
					return false
				}
				if !m.cost.charge(1) {
					over = m.cost.Err()
					return false
				}
				ids.Add(uint32(id))
				if en, err := e.getEntry(r.Txn, ID(id)); err == nil && en != nil {
					if n, err := m.at.Normalize([]byte(en.DN)); err == nil {
						next = append(next, n)
					}
				}
				return true
			})
			if over == nil {
				over = m.cost.Err() // spent in holders itself (memberOf)
			}
			if over != nil {
				return over
			}
			if !ok {
				return nil // no way to find holders: the item stays Undefined
			}
		}
		frontier = next
	}
	m.chain.ids, m.chain.resolved = ids, true
	return nil
}

func chainLimit(msg string) error {
	return &ldap.Error{Code: ldap.AdminLimitExceeded, Message: msg}
}

// IsMember reports whether the entry dn is a member of group: listed in
// its member or uniqueMember, or a member of a group listed in its member
// (in-chain). The access rules' group subjects, the per-identity limits
// and the admin API's admin group all ask it. Searches run unlimited.
func (e *Engine) IsMember(ctx context.Context, dn, group string) (bool, error) {
	v := []byte(dn)
	flt := &ldap.Filter{Kind: ldap.FilterOr, Children: []ldap.Filter{
		{Kind: ldap.FilterEqualityMatch, Attr: []byte("member"), Value: v},
		{Kind: ldap.FilterEqualityMatch, Attr: []byte("uniqueMember"), Value: v},
		{Kind: ldap.FilterExtensible, Attr: []byte("member"), MatchingRule: []byte(OIDMatchingRuleInChain), Value: v},
	}}
	found := false
	err := e.Search(ctx, &SearchRequest{BaseDN: group, Scope: ldap.ScopeBaseObject, Filter: flt, Unlimited: true},
		func(*Entry) error { found = true; return ErrStop })
	return found, err
}
