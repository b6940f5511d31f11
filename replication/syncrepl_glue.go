package replication

// Glue for a partial feed.
//
// A provider sends only what its search selects (base, scope, filter and
// what the bind may read): a filter such as (objectClass=inetOrgPerson)
// leaves out the organizational units the people sit in. As OpenLDAP's
// syncrepl does, the consumer then holds a glue entry for each missing
// ancestor between the local base and an entry: objectClass top and
// extensibleObject, the RDN's values, switchboardGlue TRUE (the marker
// multi-supplier conflict glue carries) and an entryUUID derived from
// the consumer's name and the DN. Glue is not one of the provider's
// entries, so the consumer keeps it apart (Syncrepl.glue): a present
// phase never removes it as absent; the provider's own entry, should one
// arrive at that DN, takes the glue's place and ID (its children stay
// attached); a renamed ancestor moves it; and it is removed once nothing
// is below it. During a refresh an entry whose parent is missing waits
// (the parent may come later in the provider's order); glue is made for
// those still waiting when the refresh ends, and at once in persist mode.

import (
	"crypto/sha256"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication/merge"
)

// glueMark stands in applier.putU and removeU for a glue entry, which
// has no provider entryUUID.
var glueMark [16]byte

func isGlue(en *directory.Entry) bool {
	return strings.EqualFold(en.First(merge.GlueAttr), "TRUE")
}

// glueAncestors makes dn (normalised ndn), the parent of an entry being
// written, exist: it queues glue for dn and each missing ancestor, down
// from the nearest one that exists, and returns dn's ID. found is false
// when that would take glue above the local base, or at it when the
// local server may write it (glueBase): it must exist then.
func (a *applier) glueAncestors(dn ldap.DN, ndn string) (id directory.ID, found bool, err error) {
	s := a.s
	base := s.dns.localNDN
	type missing struct {
		dn  ldap.DN
		ndn string
	}
	var chain []missing
	for {
		if id, found, err = a.existing(dn, ndn); err != nil || found {
			break
		}
		if !ldap.IsBelowNDN(ndn, base) && (ndn != base || !s.glueBase()) {
			return 0, false, nil
		}
		chain = append(chain, missing{dn, ndn})
		dn, ndn = dn.Parent(), ldap.ParentNDN(ndn)
	}
	if err != nil {
		return 0, false, err
	}
	for i := len(chain) - 1; i >= 0; i-- {
		g := chain[i]
		gid, err := s.eng.NewID()
		if err != nil {
			return 0, false, err
		}
		a.put = append(a.put, &directory.Entry{ID: gid, ParentID: id, DN: g.dn.String(), Attrs: s.glueAttrs(g.dn, g.ndn)})
		a.putU = append(a.putU, glueMark)
		if a.batchNDN == nil {
			a.batchNDN = map[string]directory.ID{}
		}
		a.batchNDN[g.ndn] = gid
		if a.batchGlue == nil {
			a.batchGlue = map[string]bool{}
		}
		a.batchGlue[g.ndn] = true
		id = gid
	}
	return id, true, nil
}

// glueBase reports whether the local base may be glue: a subtree copy's
// base that the consumer, not the local server, owns.
func (s *Syncrepl) glueBase() bool {
	return !s.keepsBase() && s.cfg.Scope == ldap.ScopeWholeSubtree
}

// keepsBase reports whether the local base entry is the local server's,
// never written or removed by the consumer: with KeepBase, and with scope
// one, whose searches never return the base entry (RFC 4511 4.5.1.2), so
// that a present phase must not count it absent.
func (s *Syncrepl) keepsBase() bool {
	return s.cfg.KeepBase || s.cfg.Scope == ldap.ScopeSingleLevel
}

// existing looks dn up among the batch, the replicated entries, the glue
// and the store.
func (a *applier) existing(dn ldap.DN, ndn string) (directory.ID, bool, error) {
	s := a.s
	if id, ok := a.batchNDN[ndn]; ok {
		return id, true, nil
	}
	if u, ok := s.byNDN[ndn]; ok {
		return s.byUUID[u].id, true, nil
	}
	if id, ok := s.glue[ndn]; ok {
		return id, true, nil
	}
	if len(dn) == 0 {
		return 0, false, nil
	}
	p, err := s.eng.Entry(dn.String())
	if err != nil || p == nil || p.ID == 0 {
		return 0, false, err
	}
	return p.ID, true, nil
}

// takeGlue returns the ID of the glue at ndn, if any, for the provider's
// entry that replaces it.
func (a *applier) takeGlue(ndn string) (directory.ID, bool, error) {
	if a.batchGlue[ndn] {
		if err := a.flush(nil); err != nil {
			return 0, false, err
		}
	}
	id, ok := a.s.glue[ndn]
	if ok {
		delete(a.s.glue, ndn)
	}
	return id, ok, nil
}

// glueAttrs are the attributes of the glue entry at dn.
func (s *Syncrepl) glueAttrs(dn ldap.DN, ndn string) []directory.Attr {
	h := sha256.Sum256([]byte("switchboard syncrepl glue\x00" + s.cfg.Name + "\x00" + ndn))
	u := merge.UUID(h[:16])
	u[6] = u[6]&0x0f | 0x80 // version 8 (RFC 9562: custom)
	u[8] = u[8]&0x3f | 0x80
	attrs := []directory.Attr{
		{Name: "objectClass", Values: [][]byte{[]byte("top"), []byte("extensibleObject")}},
		{Name: merge.GlueAttr, Values: [][]byte{[]byte("TRUE")}},
		{Name: "entryUUID", Values: [][]byte{[]byte(u.String())}},
	}
	for _, ava := range dn[0] {
		i := slices.IndexFunc(attrs, func(a directory.Attr) bool { return strings.EqualFold(a.Name, ava.Type) })
		if i < 0 {
			attrs = append(attrs, directory.Attr{Name: ava.Type, Values: [][]byte{[]byte(ava.Value)}})
		} else {
			attrs[i].Values = append(attrs[i].Values, []byte(ava.Value))
		}
	}
	return attrs
}

// keepGlue records the committed glue entry en (new, or moved).
func (s *Syncrepl) keepGlue(en *directory.Entry) {
	for k, id := range s.glue {
		if id == en.ID {
			delete(s.glue, k)
		}
	}
	s.glue[en.NDN] = en.ID
}

// glueOrphans writes the entries still waiting for their parent at the
// end of a refresh, under glue, parents first.
func (a *applier) glueOrphans() error {
	if len(a.orphans) == 0 {
		return nil
	}
	orphans := a.orphans
	a.orphans = nil
	depth := func(o orphan) int {
		d, err := ldap.ParseDN(o.en.DN)
		if err != nil {
			return 0
		}
		return len(d)
	}
	slices.SortStableFunc(orphans, func(x, y orphan) int { return depth(x) - depth(y) })
	a.gluing = true
	defer func() { a.gluing = false }()
	for _, o := range orphans {
		if err := a.upsert(o.u, o.en); err != nil {
			return err
		}
	}
	return a.flush(nil)
}

// sweepGlue removes the glue entries with nothing below them, among
// cands (nil: all), and then their glue parents left empty.
func (a *applier) sweepGlue(cands []string) error {
	s := a.s
	if len(s.glue) == 0 {
		return nil
	}
	if cands == nil {
		for g := range s.glue {
			cands = append(cands, g)
		}
	}
	children := map[string]int{}
	for _, r := range s.byUUID {
		children[ldap.ParentNDN(r.ndn)]++
	}
	for g := range s.glue {
		children[ldap.ParentNDN(g)]++
	}
	for len(cands) > 0 {
		g := cands[len(cands)-1]
		cands = cands[:len(cands)-1]
		id, ok := s.glue[g]
		if !ok || children[g] > 0 {
			continue
		}
		a.remove = append(a.remove, id)
		a.removeU = append(a.removeU, glueMark)
		delete(s.glue, g)
		p := ldap.ParentNDN(g)
		if children[p]--; children[p] == 0 {
			cands = append(cands, p)
		}
	}
	if len(a.remove) == 0 {
		return nil
	}
	return a.flush(nil)
}
