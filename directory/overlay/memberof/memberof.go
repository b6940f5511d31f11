// Package memberof maintains the memberOf attribute of group members and
// the referential integrity of group membership, as OpenLDAP's memberof and
// refint overlays do together, but inside the write transaction: a group
// change and the memberOf values it implies commit together or not at all.
//
// Groups are entries with member (groupOfNames) or uniqueMember
// (groupOfUniqueNames) values. When a group gains or loses a member, the
// member entry's memberOf gains or loses the group's DN. When an entry is
// deleted it is removed from every group; when it is renamed or moved, the
// groups' values follow it. A new entry picks up memberOf from groups that
// already name it.
package memberof

import (
	"context"
	"strings"

	"github.com/switchboard-ldap/switchboard/directory"
)

// Config configures the overlay.
type Config struct {
	// Placeholder is the DN left in a group whose last member was deleted,
	// since groupOfNames requires at least one member (OpenLDAP refint's
	// "nothing" value). Default "" (the root DN).
	Placeholder string
}

// Overlay is the memberOf write hook.
type Overlay struct {
	cfg Config
}

// New returns the overlay.
func New(cfg Config) *Overlay { return &Overlay{cfg: cfg} }

// Name implements directory.WriteHook.
func (*Overlay) Name() string { return "memberof" }

var groupAttrs = []string{"member", "uniqueMember"}

// OnChange implements directory.WriteHook.
func (o *Overlay) OnChange(ctx context.Context, tx *directory.Tx, ch *directory.Change) error {
	switch ch.Kind {
	case directory.ChangeAdd:
		for ndn := range o.members(tx, ch.After) {
			if err := o.link(tx, ndn, ch.After.DN); err != nil {
				return err
			}
		}
		return o.backfill(tx, ch.After)
	case directory.ChangeModify:
		before, after := o.members(tx, ch.Before), o.members(tx, ch.After)
		for ndn := range before {
			if _, still := after[ndn]; !still {
				if err := o.unlink(tx, ndn, ch.Before.NDN); err != nil {
					return err
				}
			}
		}
		for ndn := range after {
			if _, had := before[ndn]; !had {
				if err := o.link(tx, ndn, ch.After.DN); err != nil {
					return err
				}
			}
		}
	case directory.ChangeDelete:
		for _, gone := range append([]*directory.Entry{ch.Before}, ch.Removed...) {
			for ndn := range o.members(tx, gone) {
				if err := o.unlink(tx, ndn, gone.NDN); err != nil {
					return err
				}
			}
			if err := o.dropFromGroups(tx, gone.NDN); err != nil {
				return err
			}
		}
	case directory.ChangeModifyDN:
		for _, r := range ch.Renamed {
			if err := o.renameInGroups(tx, r); err != nil {
				return err
			}
			if err := o.renameGroup(tx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// members returns the normalised DNs a group names, mapped to nothing.
func (o *Overlay) members(tx *directory.Tx, en *directory.Entry) map[string]struct{} {
	out := map[string]struct{}{}
	if en == nil {
		return out
	}
	for _, attr := range groupAttrs {
		for _, v := range en.Get(attr) {
			if ndn, ok := normalize(tx, memberDN(v)); ok && ndn != "" {
				out[ndn] = struct{}{}
			}
		}
	}
	return out
}

// memberDN strips the optional #'bits'B UID suffix of a uniqueMember value.
func memberDN(v []byte) string {
	s := string(v)
	if i := strings.LastIndex(s, "#'"); i >= 0 && strings.HasSuffix(s, "'B") {
		return s[:i]
	}
	return s
}

func normalize(tx *directory.Tx, dn string) (string, bool) {
	n, err := tx.Schema().NormalizeDNString(dn)
	return n, err == nil
}

// link adds groupDN to the memberOf of the entry memberNDN, if it exists.
func (o *Overlay) link(tx *directory.Tx, memberNDN, groupDN string) error {
	m, err := tx.GetByNDN(memberNDN)
	if err != nil || m == nil {
		return err
	}
	gndn, _ := normalize(tx, groupDN)
	for _, v := range m.Get("memberOf") {
		if n, ok := normalize(tx, string(v)); ok && n == gndn {
			return nil
		}
	}
	after := m.Clone()
	after.Set("memberOf", append(after.Get("memberOf"), []byte(groupDN)))
	return tx.Update(m, after)
}

// unlink removes the group groupNDN from the memberOf of memberNDN.
func (o *Overlay) unlink(tx *directory.Tx, memberNDN, groupNDN string) error {
	m, err := tx.GetByNDN(memberNDN)
	if err != nil || m == nil {
		return err
	}
	after := m.Clone()
	if !replaceDN(tx, after, "memberOf", groupNDN, nil) {
		return nil
	}
	return tx.Update(m, after)
}

// backfill gives a new entry the memberOf values of groups that already
// list it.
func (o *Overlay) backfill(tx *directory.Tx, en *directory.Entry) error {
	var groups []string
	for _, attr := range groupAttrs {
		ids, err := tx.Lookup(attr, []byte(en.DN))
		if err != nil {
			return err
		}
		for _, id := range ids {
			if g, err := tx.Get(id); err == nil && g != nil && g.ID != en.ID {
				groups = append(groups, g.DN)
			}
		}
	}
	for _, g := range groups {
		if err := o.link(tx, en.NDN, g); err != nil {
			return err
		}
	}
	return nil
}

// dropFromGroups removes a deleted entry from every group naming it.
func (o *Overlay) dropFromGroups(tx *directory.Tx, ndn string) error {
	return o.eachGroupNaming(tx, ndn, func(g *directory.Entry, attr string) bool {
		replaceDN(tx, g, attr, ndn, nil)
		if len(g.Get(attr)) == 0 {
			g.Set(attr, [][]byte{[]byte(o.cfg.Placeholder)})
		}
		return true
	})
}

// renameInGroups makes groups naming r.OldNDN name r.NewDN instead.
func (o *Overlay) renameInGroups(tx *directory.Tx, r directory.Rename) error {
	return o.eachGroupNaming(tx, r.OldNDN, func(g *directory.Entry, attr string) bool {
		return replaceDN(tx, g, attr, r.OldNDN, []byte(r.NewDN))
	})
}

// renameGroup updates the memberOf values of a renamed group's members.
func (o *Overlay) renameGroup(tx *directory.Tx, r directory.Rename) error {
	g, err := tx.Get(r.ID)
	if err != nil || g == nil {
		return err
	}
	for ndn := range o.members(tx, g) {
		m, err := tx.GetByNDN(ndn)
		if err != nil || m == nil {
			continue
		}
		after := m.Clone()
		if replaceDN(tx, after, "memberOf", r.OldNDN, []byte(r.NewDN)) {
			if err := tx.Update(m, after); err != nil {
				return err
			}
		}
	}
	return nil
}

// eachGroupNaming calls fn on a copy of every group whose member or
// uniqueMember names ndn, and saves the copy when fn reports a change.
func (o *Overlay) eachGroupNaming(tx *directory.Tx, ndn string, fn func(g *directory.Entry, attr string) bool) error {
	for _, attr := range groupAttrs {
		ids, err := tx.Lookup(attr, []byte(ndn))
		if err != nil {
			return err
		}
		for _, id := range ids {
			g, err := tx.Get(id)
			if err != nil {
				return err
			}
			if g == nil {
				continue
			}
			after := g.Clone()
			if fn(after, attr) {
				if err := tx.Update(g, after); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// replaceDN replaces (or with repl nil, removes) the values of attr whose
// DN normalises to ndn. It reports whether anything changed.
func replaceDN(tx *directory.Tx, en *directory.Entry, attr, ndn string, repl []byte) bool {
	vals := en.Get(attr)
	out := make([][]byte, 0, len(vals))
	changed := false
	for _, v := range vals {
		if n, ok := normalize(tx, memberDN(v)); ok && n == ndn {
			changed = true
			if repl != nil {
				out = append(out, repl)
			}
			continue
		}
		out = append(out, v)
	}
	if changed {
		en.Set(attr, out)
	}
	return changed
}
