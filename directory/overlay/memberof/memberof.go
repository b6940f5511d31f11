// Package memberof gives entries the memberOf attribute of the groups that
// list them, and keeps group membership consistent when members are
// deleted, renamed or moved (what OpenLDAP's memberof and refint overlays
// do together).
//
// memberOf is computed when an entry is read, from the equality index of
// member and uniqueMember, as Active Directory computes its back-links:
// nothing is stored, so a group of 100,000 members is one entry to write,
// not 100,001, and memberOf can never disagree with the groups. A filter
// on memberOf is planned through the group's member list.
//
// Referential integrity runs inside the write transaction of the delete or
// rename (a directory.WriteHook): the groups that list a deleted entry lose
// it, and those that list a renamed or moved entry (or any entry of a moved
// subtree) follow it, committing together with the change. Under
// multi-supplier replication, what concurrent changes on other replicas
// leave behind is settled by a rule of materialisation (ReferenceAttrs,
// replication.References).
package memberof

import (
	"context"
	"slices"
	"strings"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
)

// Config configures the overlay.
type Config struct {
	// Placeholder is the DN left in a group whose last member was deleted,
	// since groupOfNames requires at least one member (OpenLDAP refint's
	// "nothing" value). Default "" (the root DN).
	Placeholder string
}

// Overlay is both the memberOf virtual attribute and the referential
// integrity write hook: register it as both (directory.Options.Virtual and
// .Hooks).
type Overlay struct {
	cfg Config
}

// New returns the overlay.
func New(cfg Config) *Overlay { return &Overlay{cfg: cfg} }

// Name implements directory.WriteHook and directory.VirtualAttribute: the
// overlay's attribute is memberOf.
func (*Overlay) Name() string { return "memberOf" }

var groupAttrs = []string{"member", "uniqueMember"}

// ReferenceAttrs returns, in lower case, the attributes whose values name
// group members: what multi-supplier replication keeps referentially
// intact when it merges (replication.References).
func ReferenceAttrs() []string { return []string{"member", "uniquemember"} }

// OnChange implements directory.WriteHook.
func (o *Overlay) OnChange(ctx context.Context, tx *directory.Tx, ch *directory.Change) error {
	switch ch.Kind {
	case change.Delete:
		for _, gone := range append([]*directory.Entry{ch.Before}, ch.Removed...) {
			if err := o.dropFromGroups(tx, gone.DN, gone.NDN); err != nil {
				return err
			}
		}
	case change.ModRDN:
		for _, r := range ch.Renamed {
			if err := o.renameInGroups(tx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// Values implements directory.VirtualAttribute: the DNs of the groups
// whose member or uniqueMember names en.
func (o *Overlay) Values(r directory.Reader, en *directory.Entry) ([][]byte, error) {
	var out [][]byte
	seen := map[directory.ID]bool{}
	for _, attr := range groupAttrs {
		ids, err := r.Lookup(attr, []byte(en.DN))
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			if g, err := r.Get(id); err == nil && g != nil {
				out = append(out, []byte(g.DN))
			}
		}
	}
	return out, nil
}

// Holders implements directory.VirtualAttribute: the members of the group
// whose normalised DN is value.
func (o *Overlay) Holders(r directory.Reader, value []byte) ([]directory.ID, error) {
	g, err := r.GetByNDN(string(value))
	if err != nil || g == nil {
		return nil, err
	}
	var ids []directory.ID
	for ndn := range o.members(r, g) {
		m, err := r.GetByNDN(ndn)
		if err != nil {
			return nil, err
		}
		if m != nil {
			ids = append(ids, m.ID)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// members returns the normalised DNs a group names.
func (o *Overlay) members(r directory.Reader, en *directory.Entry) map[string]struct{} {
	out := map[string]struct{}{}
	if en == nil {
		return out
	}
	for _, attr := range groupAttrs {
		for _, v := range en.Get(attr) {
			if ndn, ok := normalize(r, memberDN(v)); ok && ndn != "" {
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

func normalize(r directory.Reader, dn string) (string, bool) {
	n, err := r.Schema().NormalizeDNString(dn)
	return n, err == nil
}

// dropFromGroups removes a deleted entry (dn, normalised ndn) from every
// group naming it.
func (o *Overlay) dropFromGroups(tx *directory.Tx, dn, ndn string) error {
	return o.eachGroupNaming(tx, ndn, func(g *directory.Entry, attr string) bool {
		replaceDN(tx, g, attr, dn, ndn, nil)
		if len(g.Get(attr)) == 0 {
			g.Set(attr, [][]byte{[]byte(o.cfg.Placeholder)})
		}
		return true
	})
}

// renameInGroups makes groups naming r.OldNDN name r.NewDN instead.
func (o *Overlay) renameInGroups(tx *directory.Tx, r directory.Rename) error {
	return o.eachGroupNaming(tx, r.OldNDN, func(g *directory.Entry, attr string) bool {
		return replaceDN(tx, g, attr, r.OldDN, r.OldNDN, []byte(r.NewDN))
	})
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
// DN normalises to ndn, the normal form of dn. It reports whether
// anything changed.
func replaceDN(r directory.Reader, en *directory.Entry, attr, dn, ndn string, repl []byte) bool {
	vals := en.Get(attr)
	// member holds no two values equal as DNs (writes refuse them), so a
	// value spelt as dn is the only one naming it: found without
	// normalising every value of a large group (~1 us each). A
	// uniqueMember may name one DN with several UIDs.
	if dn != "" && strings.EqualFold(attr, "member") {
		if i := slices.IndexFunc(vals, func(v []byte) bool { return string(v) == dn }); i >= 0 {
			out := slices.Clone(vals)
			if repl != nil {
				out[i] = repl
			} else {
				out = slices.Delete(out, i, i+1)
			}
			en.Set(attr, out)
			return true
		}
	}
	out := make([][]byte, 0, len(vals))
	changed := false
	for _, v := range vals {
		if n, ok := normalize(r, memberDN(v)); ok && n == ndn {
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
