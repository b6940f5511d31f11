package directory

import (
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

// maxChain bounds the entries one in-chain item may collect.
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
// entries whose attribute holds the value, then entries whose attribute
// holds one of those entries' DNs, and so on.
func (e *Engine) resolveChains(r index.Reader, m *matcher) {
	for i := range m.children {
		e.resolveChains(r, &m.children[i])
	}
	if m.chain == nil || m.undefined {
		return
	}
	ids := roaring.New()
	frontier := [][]byte{m.value}
	view := &View{e: e, txn: r.Txn}
	for len(frontier) > 0 && ids.GetCardinality() < maxChain {
		var next [][]byte
		for _, v := range frontier {
			ok := e.holders(view, r, m.at, v, func(id uint64) bool {
				if id > 0xFFFFFFFF || ids.Contains(uint32(id)) {
					return true
				}
				ids.Add(uint32(id))
				if en, err := e.getEntry(r.Txn, ID(id)); err == nil && en != nil {
					if n, err := m.at.Normalize([]byte(en.DN)); err == nil {
						next = append(next, n)
					}
				}
				return true
			})
			if !ok {
				return // no way to find holders: the item stays Undefined
			}
		}
		frontier = next
	}
	m.chain.ids, m.chain.resolved = ids, true
}
