package frontend

import (
	"context"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
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

func (f *Frontend) add(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	if err := f.requireWrite(s); err != nil {
		writeErr(w, err)
		return
	}
	attrs := make([]directory.Attr, len(r.Add.Attributes))
	for i, a := range r.Add.Attributes {
		attrs[i] = directory.Attr{Name: string(a.Type), Values: copyValues(a.Values)}
	}
	wc, lerr := f.parseWriteControls(r, s)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.Add(ctx, string(r.Add.Entry), attrs, wc.opt)
	if err != nil {
		writeErr(w, err)
		return
	}
	f.writeResult(w, wc, ch, s)
}

func (f *Frontend) modify(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	if err := f.requireWrite(s); err != nil {
		writeErr(w, err)
		return
	}
	mods := make([]directory.Mod, len(r.Modify.Changes))
	for i, c := range r.Modify.Changes {
		mods[i] = directory.Mod{Op: c.Operation, Attr: directory.Attr{Name: string(c.Attribute.Type), Values: copyValues(c.Attribute.Values)}}
	}
	wc, lerr := f.parseWriteControls(r, s)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.Modify(ctx, string(r.Modify.Object), mods, wc.opt)
	if err != nil {
		writeErr(w, err)
		return
	}
	f.writeResult(w, wc, ch, s)
}

func (f *Frontend) delete(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	if err := f.requireWrite(s); err != nil {
		writeErr(w, err)
		return
	}
	wc, lerr := f.parseWriteControls(r, s)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.Delete(ctx, string(r.Delete), wc.opt)
	if err != nil {
		writeErr(w, err)
		return
	}
	f.writeResult(w, wc, ch, s)
}

func (f *Frontend) modifyDN(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	if err := f.requireWrite(s); err != nil {
		writeErr(w, err)
		return
	}
	m := &r.ModifyDN
	var sup *string
	if m.HasNewSuperior {
		v := string(m.NewSuperior)
		sup = &v
	}
	wc, lerr := f.parseWriteControls(r, s)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ch, err := f.backend.ModifyDN(ctx, string(m.Entry), string(m.NewRDN), m.DeleteOldRDN, sup, wc.opt)
	if err != nil {
		writeErr(w, err)
		return
	}
	f.writeResult(w, wc, ch, s)
}

func (f *Frontend) compare(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	c := &r.Compare
	assertion, lerr := f.assertion(r, s)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	ok, err := f.backend.Compare(ctx, &directory.CompareRequest{DN: string(c.Entry), Attr: string(c.Attr),
		Value: append([]byte(nil), c.Value...), Hidden: f.hidden(s), Assertion: assertion})
	if err != nil {
		writeErr(w, err)
		return
	}
	code := ldap.CompareFalse
	if ok {
		code = ldap.CompareTrue
	}
	w.WriteResult(&ldap.Result{Code: code})
}
