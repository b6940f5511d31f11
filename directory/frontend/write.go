package frontend

import (
	"context"

	"github.com/switchboard-ldap/switchboard/change"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// copyValues copies request values out of the PDU buffer, which the
// server reuses once the operation ends: the engine may keep them.
func copyValues(vals [][]byte) [][]byte {
	out := make([][]byte, len(vals))
	for i, v := range vals {
		out[i] = append([]byte(nil), v...)
	}
	return out
}

// attrName returns the canonical name of an attribute description, or
// the description itself when the schema does not know it (the backend
// then refuses the operation).
func (f *Frontend) attrName(desc string) string {
	base, _ := schema.SplitOptions(desc)
	if at, ok := f.schema.Attribute(base); ok {
		return at.Name()
	}
	return desc
}

func (f *Frontend) add(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	attrs := make([]directory.Attr, len(r.Add.Attributes))
	for i, a := range r.Add.Attributes {
		attrs[i] = directory.Attr{Name: a.Name, Values: copyValues(a.Values)}
	}
	if err := f.refuseCopy(string(r.Add.Entry), false, ""); err != nil {
		writeErr(w, err)
		return
	}
	rq := f.requester(ctx, s)
	if rq != nil {
		if err := f.mayAdd(ctx, rq, string(r.Add.Entry), attrs); err != nil {
			writeErr(w, err)
			return
		}
	}
	if !f.isRoot(s) {
		if err := f.cfg.WriteLimits.checkAdd(s.BindDN(), attrs, f.attrName); err != nil {
			writeErr(w, err)
			return
		}
	}
	wc, lerr := f.parseWriteControls(r, nil) // the entry does not exist yet
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.Add(ctx, string(r.Add.Entry), attrs, wc.opt)
	if err != nil {
		writeErr(w, f.hideMatched(ctx, rq, err))
		return
	}
	f.writeResult(w, wc, ch, rq)
}

// mayAdd checks add on the parent's children and on the new entry and
// each of its attributes.
// refuseCopy refuses a write into a read-only copy (see
// directory.ReadOnlyCopy) before the access checks, so that every
// identity learns why; the engine checks again, for its other callers.
// above and newDN are as for Engine.CheckCopyWrite. A DN that does not
// parse is left to the backend to refuse.
func (f *Frontend) refuseCopy(dn string, above bool, newDN string) error {
	if !f.engine.HasReadOnlyCopies() {
		return nil // the common case: no DN to normalise
	}
	ndn, err := f.engine.NormalizeDN(dn)
	if err != nil {
		return nil
	}
	var newNDN string
	if newDN != "" {
		if newNDN, err = f.engine.NormalizeDN(newDN); err != nil {
			newNDN = ""
		}
	}
	return f.engine.CheckCopyWrite(ndn, above, newNDN)
}

// renamedDN is the DN a ModifyDN gives the entry ("" when it does not
// parse: the backend refuses it).
func renamedDN(m *ldap.ModifyDNRequest) string {
	parent := string(m.NewSuperior)
	if !m.HasNewSuperior {
		dn, err := ldap.ParseDN(string(m.Entry))
		if err != nil || len(dn) == 0 {
			return ""
		}
		parent = dn.Parent().String()
	}
	if parent == "" {
		return string(m.NewRDN)
	}
	return string(m.NewRDN) + "," + parent
}

func (f *Frontend) mayAdd(ctx context.Context, rq *access.Requester, dn string, attrs []directory.Attr) error {
	ndn, err := f.engine.NormalizeDN(dn)
	if err != nil {
		return &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid DN"}
	}
	pen, pea, err := f.parent(ctx, rq, ndn)
	if err != nil {
		return err
	}
	if !pea.Children().Has(access.Add) {
		return f.denied(ctx, rq, pen, &pea, "no add access to the parent's children")
	}
	canon := make([]directory.Attr, len(attrs))
	for i, a := range attrs {
		canon[i] = directory.Attr{Name: f.attrName(a.Name), Values: a.Values}
	}
	ea := rq.Entry(ndn, &directory.Entry{DN: dn, NDN: ndn, Attrs: canon})
	if !ea.Entry().Has(access.Add) {
		return &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "no add access to the entry"}
	}
	for _, a := range canon {
		if !ea.Attr(a.Name).Has(access.Add) {
			return &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "no add access to attribute " + a.Name}
		}
	}
	return nil
}

func (f *Frontend) modify(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	mods := make([]directory.Mod, len(r.Modify.Changes))
	for i, c := range r.Modify.Changes {
		mods[i] = directory.Mod{Op: c.Operation, Attr: directory.Attr{Name: c.Attribute.Name, Values: copyValues(c.Attribute.Values)}}
	}
	if err := f.refuseCopy(string(r.Modify.Object), false, ""); err != nil {
		writeErr(w, err)
		return
	}
	rq := f.requester(ctx, s)
	var hidden func(*schema.AttributeType) bool
	var en *directory.Entry
	if rq != nil {
		var ea access.EntryAccess
		var err error
		en, ea, err = f.target(ctx, rq, string(r.Modify.Object))
		if err != nil {
			writeErr(w, err)
			return
		}
		for _, m := range mods {
			need := access.Write // replace, increment
			switch m.Op {
			case change.ModAdd:
				need = access.Add
			case change.ModDelete:
				need = access.Delete
			}
			name := f.attrName(m.Attr.Name)
			if !ea.Attr(name).Has(need) {
				writeErr(w, f.denied(ctx, rq, en, &ea, "no write access to attribute "+name))
				return
			}
		}
		hidden = unsearchable(rq, &ea)
	}
	if !f.isRoot(s) {
		if err := f.cfg.WriteLimits.checkModify(s.BindDN(), en, mods, f.attrName); err != nil {
			writeErr(w, err)
			return
		}
	}
	wc, lerr := f.parseWriteControls(r, hidden)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.Modify(ctx, string(r.Modify.Object), mods, wc.opt)
	if err != nil {
		writeErr(w, f.hideMatched(ctx, rq, err))
		return
	}
	f.writeResult(w, wc, ch, rq)
}

func (f *Frontend) delete(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	if err := f.refuseCopy(string(r.Delete), true, ""); err != nil {
		writeErr(w, err)
		return
	}
	rq := f.requester(ctx, s)
	var hidden func(*schema.AttributeType) bool
	if rq != nil {
		en, ea, err := f.target(ctx, rq, string(r.Delete))
		if err != nil {
			writeErr(w, err)
			return
		}
		if !ea.Entry().Has(access.Delete) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no delete access to the entry"))
			return
		}
		if c := f.applies(r, ldap.OIDTreeDelete); c != nil && !ea.Children().Has(access.Delete) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no delete access to the entry's children"))
			return
		}
		_, pea, err := f.parent(ctx, rq, en.NDN)
		if err != nil {
			writeErr(w, err)
			return
		}
		if !pea.Children().Has(access.Delete) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no delete access to the parent's children"))
			return
		}
		hidden = unsearchable(rq, &ea)
	}
	wc, lerr := f.parseWriteControls(r, hidden)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.Delete(ctx, string(r.Delete), wc.opt)
	if err != nil {
		writeErr(w, f.hideMatched(ctx, rq, err))
		return
	}
	f.writeResult(w, wc, ch, rq)
}

func (f *Frontend) modifyDN(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	m := &r.ModifyDN
	var sup *string
	if m.HasNewSuperior {
		v := string(m.NewSuperior)
		sup = &v
	}
	if err := f.refuseCopy(string(m.Entry), true, renamedDN(m)); err != nil {
		writeErr(w, err)
		return
	}
	rq := f.requester(ctx, s)
	var hidden func(*schema.AttributeType) bool
	if rq != nil {
		en, ea, err := f.target(ctx, rq, string(m.Entry))
		if err != nil {
			writeErr(w, err)
			return
		}
		if !ea.Entry().Has(access.Write) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no write access to the entry"))
			return
		}
		pen, pea, err := f.parent(ctx, rq, en.NDN)
		if err != nil {
			writeErr(w, err)
			return
		}
		if !pea.Children().Has(access.Delete) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no delete access to the old parent's children"))
			return
		}
		nen, nea := pen, pea
		if sup != nil {
			if nen, nea, err = f.target(ctx, rq, *sup); err != nil {
				writeErr(w, err)
				return
			}
		}
		if !nea.Children().Has(access.Add) {
			writeErr(w, f.denied(ctx, rq, nen, &nea, "no add access to the new parent's children"))
			return
		}
		hidden = unsearchable(rq, &ea)
	}
	wc, lerr := f.parseWriteControls(r, hidden)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.ModifyDN(ctx, string(m.Entry), string(m.NewRDN), m.DeleteOldRDN, sup, wc.opt)
	if err != nil {
		writeErr(w, f.hideMatched(ctx, rq, err))
		return
	}
	f.writeResult(w, wc, ch, rq)
}

func (f *Frontend) compare(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	c := &r.Compare
	rq := f.requester(ctx, s)
	var hidden func(*schema.AttributeType) bool
	var subHidden []string
	if rq != nil {
		en, ea, err := f.target(ctx, rq, string(c.Entry))
		if err != nil {
			writeErr(w, err)
			return
		}
		if name := f.attrName(string(c.Attr)); !ea.Attr(name).Has(access.Compare) {
			writeErr(w, f.denied(ctx, rq, en, &ea, "no compare access to "+name))
			return
		}
		hidden = unsearchable(rq, &ea)
		// Subtypes of the compared type whose values the requester may
		// not compare ((name) over title) stay out of the comparison.
		base, _ := schema.SplitOptions(string(c.Attr))
		if at, ok := f.schema.Attribute(base); ok {
			for n := range f.engine.Subtypes(at) {
				if sub, ok := f.schema.Attribute(n); ok && sub != at && !ea.Attr(n).Has(access.Compare) {
					subHidden = append(subHidden, n)
				}
			}
		}
	}
	assertion, lerr := f.assertion(r, hidden)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	if f.partnerOf(rq) != nil {
		// A partner compares DN values only against entries it may read.
		base, _ := schema.SplitOptions(string(c.Attr))
		if at, ok := f.schema.Attribute(base); ok && isDNValued(at) && !f.mayReadDN(ctx, rq, at, c.Value) {
			w.WriteResult(&ldap.Result{Code: ldap.CompareFalse})
			return
		}
	}
	ok, err := f.backend.Compare(ctx, &directory.CompareRequest{DN: string(c.Entry), Attr: string(c.Attr),
		Value: append([]byte(nil), c.Value...), Assertion: assertion, Hidden: subHidden})
	if err != nil {
		writeErr(w, f.hideMatched(ctx, rq, err))
		return
	}
	code := ldap.CompareFalse
	if ok {
		code = ldap.CompareTrue
	}
	w.WriteResult(&ldap.Result{Code: code})
}
