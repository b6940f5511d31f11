package frontend

// Request controls that change how an operation runs: assertion (RFC
// 4528), pre-read and post-read (RFC 4527), matched values (RFC 3876) and
// tree delete. Sorting and virtual list view are in sort.go.

import (
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// registerControls declares the controls the frontend implements.
func (f *Frontend) registerControls() {
	c := f.controls
	c.Register(ldap.OIDPagedResults, ldap.OpSearchRequest)
	c.Register(ldap.OIDManageDsaIT, ldap.OpSearchRequest, ldap.OpAddRequest, ldap.OpModifyRequest,
		ldap.OpDelRequest, ldap.OpModifyDNRequest, ldap.OpCompareRequest)
	c.Register(ldap.OIDSortRequest, ldap.OpSearchRequest)
	c.Register(ldap.OIDVLVRequest, ldap.OpSearchRequest)
	c.Register(ldap.OIDMatchedValues, ldap.OpSearchRequest)
	c.Register(ldap.OIDAssertion, ldap.OpSearchRequest, ldap.OpCompareRequest, ldap.OpAddRequest,
		ldap.OpModifyRequest, ldap.OpDelRequest, ldap.OpModifyDNRequest)
	c.Register(ldap.OIDPreRead, ldap.OpDelRequest, ldap.OpModifyRequest, ldap.OpModifyDNRequest)
	c.Register(ldap.OIDPostRead, ldap.OpAddRequest, ldap.OpModifyRequest, ldap.OpModifyDNRequest)
	c.Register(ldap.OIDTreeDelete, ldap.OpDelRequest)
}

// applies reports whether the control c is to be acted on for r: it is
// registered for the operation. A non-critical control on an operation it
// does not apply to is ignored (RFC 4511 4.1.11); a critical one was
// already refused by checkControls.
func (f *Frontend) applies(r *ldap.Request, oid string) *ldap.Control {
	c := findControl(r, oid)
	if c == nil || !f.controls.Supported(oid, r.Op) {
		return nil
	}
	return c
}

func protocolError(msg string) *ldap.Error {
	return &ldap.Error{Code: ldap.ProtocolError, Message: msg}
}

// assertion decodes the assertion control (RFC 4528 section 3): its value
// is a Filter, and a missing or malformed one is a protocolError.
//
// hidden, if not nil, names the attributes the requester may not search
// in the entry the assertion applies to: items on them are Undefined.
func (f *Frontend) assertion(r *ldap.Request, hidden func(*schema.AttributeType) bool) (*ldap.Filter, *ldap.Error) {
	c := f.applies(r, ldap.OIDAssertion)
	if c == nil {
		return nil, nil
	}
	if !c.HasValue {
		return nil, protocolError("assertion control has no value")
	}
	flt, err := ldap.DecodeFilter(c.Value)
	if err != nil {
		return nil, protocolError("assertion control: " + err.Error())
	}
	if hidden != nil {
		f.hideItems(flt, hidden)
	}
	return flt, nil
}

// undefinedAttr names no attribute type: a filter item on it is Undefined.
var undefinedAttr = []byte("x-switchboard-hidden")

// hideItems makes the items of flt that test a hidden attribute Undefined,
// as they are in search filters, so that an assertion cannot probe a
// value the requester may not read (the engine's assertion check sees the
// whole entry). Extensible items with a rule and no type, which would test
// every attribute, are made Undefined too.
func (f *Frontend) hideItems(flt *ldap.Filter, hidden func(*schema.AttributeType) bool) {
	for i := range flt.Children {
		f.hideItems(&flt.Children[i], hidden)
	}
	switch flt.Kind {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		return
	case ldap.FilterExtensible:
		if len(flt.Attr) == 0 {
			flt.Attr, flt.MatchingRule = undefinedAttr, nil
			return
		}
	}
	base, _ := schema.SplitOptions(string(flt.Attr))
	at, ok := f.schema.Attribute(base)
	if !ok {
		return
	}
	if hidden(at) || f.hidesSubtype(at, hidden) {
		flt.Attr = undefinedAttr
	}
}

// hidesSubtype reports whether hidden hides a subtype of at: an item on
// at would test its values too ((name=x) and a hidden givenName), so the
// whole item is Undefined (more than a search filter hides, which skips
// only the hidden subtype's values: the assertion has no per-value hook).
func (f *Frontend) hidesSubtype(at *schema.AttributeType, hidden func(*schema.AttributeType) bool) bool {
	for n := range f.engine.Subtypes(at) {
		if sub, ok := f.schema.Attribute(n); ok && sub != at && hidden(sub) {
			return true
		}
	}
	return false
}

// readSel is a parsed pre-read or post-read request.
type readSel struct {
	sel selection
}

// readControl decodes the pre-read or post-read control oid: its value is
// an AttributeSelection (RFC 4527 section 3.1), which selects like a
// search's attribute list. nil when the control is absent.
func (f *Frontend) readControl(r *ldap.Request, oid string) (*readSel, *ldap.Error) {
	c := f.applies(r, oid)
	if c == nil {
		return nil, nil
	}
	if !c.HasValue {
		return nil, protocolError("read entry control has no value")
	}
	attrs, err := ldap.DecodeAttributeSelection(c.Value)
	if err != nil {
		return nil, protocolError(err.Error())
	}
	return &readSel{sel: f.parseSelection(attrs)}, nil
}

// readResponse builds the pre-read or post-read response control: the
// entry as a SearchResultEntry with the selected attributes the requester
// may read, as a search would return them (RFC 4527 section 3.2).
func (f *Frontend) readResponse(oid string, rs *readSel, en *directory.Entry, rq *access.Requester) ldap.ResponseControl {
	var ea *access.EntryAccess
	if rq != nil {
		a := rq.Entry(en.NDN, en)
		ea = &a
	}
	out := f.toLDAP(en, &rs.sel, ea)
	return ldap.ResponseControl{OID: oid, Value: ldap.AppendEntryValue(nil, out)}
}

// writeControls are the controls of a write operation, decoded.
type writeControls struct {
	opt       directory.WriteOptions
	pre, post *readSel
}

// parseWriteControls decodes the assertion, read-entry and tree delete
// controls of a write; hidden is as for assertion.
func (f *Frontend) parseWriteControls(r *ldap.Request, hidden func(*schema.AttributeType) bool) (*writeControls, *ldap.Error) {
	wc := &writeControls{}
	var err *ldap.Error
	if wc.opt.Assertion, err = f.assertion(r, hidden); err != nil {
		return nil, err
	}
	if wc.pre, err = f.readControl(r, ldap.OIDPreRead); err != nil {
		return nil, err
	}
	if wc.post, err = f.readControl(r, ldap.OIDPostRead); err != nil {
		return nil, err
	}
	if c := f.applies(r, ldap.OIDTreeDelete); c != nil {
		// The tree delete control has no value.
		if c.HasValue && len(c.Value) > 0 {
			return nil, protocolError("tree delete control takes no value")
		}
		wc.opt.Subtree = true
	}
	return wc, nil
}

// result answers a successful write, with the read-entry response
// controls that were asked for.
func (f *Frontend) writeResult(w ldap.ResponseWriter, wc *writeControls, ch *directory.Change, rq *access.Requester) {
	res := &ldap.Result{Code: ldap.Success}
	if wc.pre != nil && ch != nil && ch.Before != nil {
		res.Controls = append(res.Controls, f.readResponse(ldap.OIDPreRead, wc.pre, ch.Before, rq))
	}
	if wc.post != nil && ch != nil && ch.After != nil {
		res.Controls = append(res.Controls, f.readResponse(ldap.OIDPostRead, wc.post, ch.After, rq))
	}
	w.WriteResult(res)
}

// matchedValues decodes the matched values control (RFC 3876) into a
// compiled value filter, nil when absent. It filters only the values of
// attributes already selected for return, which the requester may read.
func (f *Frontend) matchedValues(r *ldap.Request) (*directory.ValueFilter, *ldap.Error) {
	c := f.applies(r, ldap.OIDMatchedValues)
	if c == nil {
		return nil, nil
	}
	if !c.HasValue {
		return nil, protocolError("matched values control has no value")
	}
	items, err := ldap.DecodeValuesReturnFilter(c.Value)
	if err != nil {
		return nil, protocolError(err.Error())
	}
	return f.engine.CompileValueFilter(items, nil), nil
}

// filterValues keeps, of the selected attributes of out, only the values
// the value filter matches; an attribute left with no value is dropped
// (RFC 3876 section 2: only values that match the filter are returned,
// as slapd does).
func (f *Frontend) filterValues(out *ldap.Entry, vf *directory.ValueFilter) {
	kept := out.Attributes[:0]
	for _, a := range out.Attributes {
		var vals [][]byte
		for _, v := range a.Values {
			if vf.Match(f.engine, a.Name, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) > 0 {
			kept = append(kept, ldap.Attribute{Name: a.Name, Values: vals})
		}
	}
	out.Attributes = kept
}
