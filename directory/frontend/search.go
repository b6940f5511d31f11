package frontend

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Features published as supportedFeatures (RFC 3674).
var features = []string{
	"1.3.6.1.1.14",           // Modify-Increment (RFC 4525)
	"1.3.6.1.4.1.4203.1.5.1", // all operational attributes, "+" (RFC 3673)
	"1.3.6.1.4.1.4203.1.5.2", // attributes by object class, "@class" (RFC 4529)
	"1.3.6.1.4.1.4203.1.5.3", // absolute true and false filters (RFC 4526)
}

// selection is a parsed requested-attributes list (RFC 4511 4.5.1.8).
type selection struct {
	allUser, allOp bool
	names          map[string]bool // canonical base names, subtypes expanded
	withOptions    map[string][]string
	computed       bool // asks for an attribute the engine computes
}

func (f *Frontend) parseSelection(attrs [][]byte) selection {
	if len(attrs) == 0 {
		return selection{allUser: true}
	}
	sel := selection{names: map[string]bool{}}
	for _, a := range attrs {
		s := string(a)
		switch {
		case s == "*":
			sel.allUser = true
		case s == "+":
			sel.allOp = true
			sel.computed = true
		case s == "1.1":
		case strings.HasPrefix(s, "@"):
			if oc, ok := f.schema.ObjectClass(s[1:]); ok {
				for _, at := range append(append([]*schema.AttributeType(nil), oc.AllMust()...), oc.AllMay()...) {
					sel.names[at.Name()] = true
				}
			}
		default:
			base, opts := schema.SplitOptions(s)
			at, ok := f.schema.Attribute(base)
			if !ok {
				continue // unknown attributes are ignored
			}
			if f.engine.IsComputed(at) {
				sel.computed = true
			}
			for n := range f.engine.Subtypes(at) {
				if len(opts) > 0 {
					if sel.withOptions == nil {
						sel.withOptions = map[string][]string{}
					}
					sel.withOptions[n] = lowerAll(opts)
				} else {
					sel.names[n] = true
				}
			}
		}
	}
	return sel
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ToLower(s)
	}
	return out
}

// wants reports whether the canonical attribute name (with options) is
// selected.
func (sel *selection) wants(f *Frontend, name string) bool {
	base, opts := schema.SplitOptions(name)
	if len(sel.names) > 0 && sel.names[base] {
		return true
	}
	if want, ok := sel.withOptions[base]; ok && hasOptions(opts, want) {
		return true
	}
	if !sel.allUser && !sel.allOp {
		return false
	}
	at, ok := f.schema.Attribute(base)
	if !ok {
		return sel.allUser
	}
	if at.IsOperational() {
		return sel.allOp
	}
	return sel.allUser
}

func hasOptions(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// toLDAP selects the requested attributes of en that ea (nil: all) allows
// to read.
func (f *Frontend) toLDAP(en *directory.Entry, sel *selection, ea *access.EntryAccess) *ldap.Entry {
	return f.toLDAPInto(&ldap.Entry{Attributes: make([]ldap.Attribute, 0, len(en.Attrs))}, en, sel, ea)
}

// toLDAPInto is toLDAP building the entry in out, whose attribute list it
// reuses.
func (f *Frontend) toLDAPInto(out *ldap.Entry, en *directory.Entry, sel *selection, ea *access.EntryAccess) *ldap.Entry {
	out.DN, out.Attributes = en.DN, out.Attributes[:0]
	if cap(out.Attributes) < len(en.Attrs) {
		out.Attributes = make([]ldap.Attribute, 0, len(en.Attrs))
	}
	if ea != nil && !ea.Entry().Has(access.Read) {
		return out
	}
	for _, a := range en.Attrs {
		if !sel.wants(f, a.Name) || (ea != nil && !ea.Attr(a.Name).Has(access.Read)) {
			continue
		}
		out.Attributes = append(out.Attributes, a)
	}
	return out
}

// search runs a search request.
func (f *Frontend) search(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, s *ldap.Session) {
	req := &r.Search
	if req.Invalid != "" {
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: req.Invalid})
		return
	}
	if req.Filter == nil {
		writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: "missing filter"})
		return
	}
	base := string(req.BaseObject)
	nbase, err := f.engine.NormalizeDN(base)
	if err != nil {
		writeErr(w, &ldap.Error{Code: ldap.InvalidDNSyntax, Message: "invalid base DN"})
		return
	}
	sel := f.parseSelection(req.Attributes)
	rq := f.requester(ctx, s)

	// Special entries: the Root DSE and the subschema subentry.
	if nbase == "" && req.Scope == ldap.ScopeBaseObject {
		f.writeSpecial(ctx, w, r, rq, f.rootDSE(), &sel)
		return
	}
	if sub := f.subschema(); nbase == sub.NDN {
		if req.Scope == ldap.ScopeBaseObject {
			f.writeSpecial(ctx, w, r, rq, sub, &sel)
		} else {
			success(w) // the subentry has no subordinates
		}
		return
	}
	scope := req.Scope
	if nbase == "" {
		// An empty base with one-level or subtree scope (macOS Contacts,
		// Thunderbird without a base) searches the naming context, as
		// slapd does with defaultsearchbase set.
		base = f.engine.Suffix()
		switch scope {
		case ldap.ScopeSingleLevel:
			scope = ldap.ScopeBaseObject
		case ldap.ScopeChildren: // the suffix is below the root DSE
			scope = ldap.ScopeWholeSubtree
		}
	}

	// Limits: the client's, capped by the server's for the identity
	// (limits.go; none for the root DN unless a rule names it).
	sizeLimit := req.SizeLimit
	timeLimit := time.Duration(req.TimeLimit) * time.Second
	lim := f.limitsFor(ctx, s)
	if lim.size > 0 && (sizeLimit == 0 || sizeLimit > lim.size) {
		sizeLimit = lim.size
	}
	if lim.time > 0 && (timeLimit == 0 || timeLimit > lim.time) {
		timeLimit = lim.time
	}

	// Access: the base must be searchable (or the search fails as if it
	// did not exist, unless it may be disclosed); the engine asks acc about
	// filter attributes and returned entries.
	var acc *searchAccess
	var hidden func(*schema.AttributeType) bool
	if rq != nil {
		nb, _ := f.engine.NormalizeDN(base)
		bea, err := f.searchBase(ctx, rq, base, nb)
		if err != nil {
			writeErr(w, err)
			return
		}
		hidden = unsearchable(rq, &bea)
		acc = newSearchAccess(rq, nb, scope)
		if acc.partner = f.partnerOf(rq); acc.partner != nil {
			acc.ctx = ctx
			acc.partner.stats.searches.Add(1)
		}
	}
	if ext, c := f.searchExtension(r); ext != nil {
		q := &SearchQuery{
			Request: r, Control: c, Session: s, BaseDN: base, Scope: scope, Filter: req.Filter,
			SizeLimit: sizeLimit, Root: lim.unlimited, Operational: sel.computed,
			Entry: func(en *directory.Entry) *ldap.Entry {
				return f.entryOut(en, &searchPlan{sel: sel, acc: acc})
			},
		}
		if acc != nil {
			q.Access = acc // not a typed nil in the interface
			q.Recheck = f.recheck(s, s.BindDN(), base, scope, sel)
			if acc.partner != nil {
				q.View = acc.partner.View()
			}
		}
		ext.ServeSearch(ctx, w, q)
		return
	}
	if timeLimit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = withTimeLimit(ctx, timeLimit)
		defer cancel()
	}
	assertion, lerr := f.assertion(r, hidden)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	vf, lerr := f.matchedValues(r)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	p := &searchPlan{
		own: directory.SearchRequest{
			BaseDN:      base,
			Scope:       scope,
			Filter:      req.Filter,
			SizeLimit:   sizeLimit,
			Operational: sel.computed,
			Unlimited:   lim.unlimited,
			Assertion:   assertion,

			LookthroughLimit: lim.lookthrough,
			Cost:             f.searchCost(lim),
		},
		sel:       sel,
		acc:       acc,
		vf:        vf,
		sizeLimit: sizeLimit,
	}
	p.req = &p.own
	if acc != nil {
		p.req.Access = acc // not a typed nil in the interface
	}
	var extra []ldap.ResponseControl
	if sc := f.applies(r, ldap.OIDSortRequest); sc != nil {
		var done bool
		if done, extra = f.sortedSearch(ctx, w, r, s, p, sc); done {
			return
		}
	} else if f.applies(r, ldap.OIDVLVRequest) != nil {
		vlvWithoutSort(w)
		return
	}
	f.plainSearch(ctx, w, r, p, extra)
}

// searchBase checks that rq may search the base entry (base, normalised
// nb) and returns its access to it. When the rules decide that from the
// DN alone (no rule that selects it tests attributes), the entry is not
// loaded, only looked up: most readers' searches, which would otherwise
// read and decode the base entry (ou=people, say) once more per search.
// The answers are target's: noSuchObject for a missing base, the denial
// of denied.
func (f *Frontend) searchBase(ctx context.Context, rq *access.Requester, base, nb string) (access.EntryAccess, error) {
	if nb != "" {
		if bea := rq.Entry(nb, nil); bea.Complete() && bea.Entry().Has(access.Search) {
			if ok, err := f.engine.Exists(nb); err == nil && ok {
				return bea, nil
			}
		}
	}
	ben, bea, err := f.target(ctx, rq, base)
	if err != nil {
		return bea, err
	}
	if !bea.Entry().Has(access.Search) {
		return bea, f.denied(ctx, rq, ben, &bea, "no search access to the base entry")
	}
	return bea, nil
}

// recheck returns SearchQuery.Recheck for a search of base by the
// identity who bound s (not the root DN).
func (f *Frontend) recheck(s *ldap.Session, who, base string, scope ldap.Scope, sel selection) func(context.Context) (directory.SearchAccess, func(*directory.Entry) *ldap.Entry, error) {
	nb, _ := f.engine.NormalizeDN(base)
	return func(ctx context.Context) (directory.SearchAccess, func(*directory.Entry) *ldap.Entry, error) {
		if s.BindDN() != who {
			return nil, nil, &ldap.Error{Code: ldap.InsufficientAccessRights, Message: "the session's identity changed"}
		}
		rq := f.requester(ctx, s)
		if rq == nil {
			return nil, func(en *directory.Entry) *ldap.Entry { return f.entryOut(en, &searchPlan{sel: sel}) }, nil
		}
		acc := newSearchAccess(rq, nb, scope)
		if acc.partner = f.partnerOf(rq); acc.partner != nil {
			acc.ctx = ctx
		}
		return acc, func(en *directory.Entry) *ldap.Entry { return f.entryOut(en, &searchPlan{sel: sel, acc: acc}) }, nil
	}
}

// plainSearch streams the entries of a search in the engine's order,
// paged if asked (RFC 2696); extra controls go on the result.
func (f *Frontend) plainSearch(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, p *searchPlan, extra []ldap.ResponseControl) {
	req := &r.Search
	sreq := p.req
	var paging *pageState
	if c := findControl(r, ldap.OIDPagedResults); c != nil {
		size, cookie, err := ldap.DecodePagedResults(c.Value)
		if err != nil {
			writeErr(w, &ldap.Error{Code: ldap.ProtocolError, Message: err.Error()})
			return
		}
		paging = &pageState{size: size, fingerprint: fingerprint(r)}
		if len(cookie) > 0 {
			after, ok := paging.parseCookie(cookie)
			if !ok {
				writeErr(w, &ldap.Error{Code: ldap.UnwillingToPerform, Message: "paged results cookie is invalid"})
				return
			}
			paging.after = after
		}
		if size == 0 {
			// A size of zero abandons the paged search (RFC 2696 section 3).
			w.WriteResult(&ldap.Result{Code: ldap.Success, Controls: append(extra, paging.control(nil))})
			return
		}
		if sreq.SizeLimit == 0 || paging.size < sreq.SizeLimit {
			sreq.SizeLimit = 0 // the page bounds this request
		}
		sreq.After = paging.after
	} else {
		// Nothing resumes by ID (no cookie): the engine may send a
		// size-limited search's entries in the order it finds them.
		sreq.AnyOrder = true
	}
	var last directory.ID
	sent, more := 0, false
	// The entry is encoded before the callback returns: borrow it, and
	// build every response in the same ldap.Entry.
	sreq.Borrow = true
	out := outEntryPool.Get().(*ldap.Entry)
	defer putOutEntry(out)
	err := f.backend.Search(ctx, sreq, func(en *directory.Entry) error {
		if paging != nil && sent == paging.size {
			more = true
			return directory.ErrStop
		}
		if err := w.WriteEntry(f.entryOutInto(out, en, p), req.TypesOnly); err != nil {
			return err
		}
		sent++
		last = en.ID
		return nil
	})
	res, ok := f.searchError(err, sreq.BaseDN)
	if !ok {
		return
	}
	res.Controls = extra
	if paging != nil {
		var cookie []byte
		if more && res.Code == ldap.Success {
			cookie = paging.cookie(last)
		}
		res.Controls = append(res.Controls, paging.control(cookie))
	}
	w.WriteResult(res)
}

// outEntryPool holds the ldap.Entry a plain search builds its responses
// in, so that its attribute list is not allocated per search.
var outEntryPool = sync.Pool{New: func() any { return new(ldap.Entry) }}

func putOutEntry(out *ldap.Entry) {
	if cap(out.Attributes) > 256 {
		return
	}
	clear(out.Attributes[:cap(out.Attributes)])
	*out = ldap.Entry{Attributes: out.Attributes[:0]}
	outEntryPool.Put(out)
}

// writeSpecial answers a base search of an entry the frontend builds.
// Of the controls, only the assertion applies (to the entry itself).
// Access is checked as for a stored entry: search on the entry to look at
// it, search on the filter's attributes, read on what is returned.
func (f *Frontend) writeSpecial(ctx context.Context, w ldap.ResponseWriter, r *ldap.Request, rq *access.Requester, en *directory.Entry, sel *selection) {
	var ea *access.EntryAccess
	var hidden func(*schema.AttributeType) bool
	if rq != nil {
		a := rq.Entry(en.NDN, en)
		if !a.Entry().Has(access.Search) {
			writeErr(w, f.denied(ctx, rq, en, &a, "no search access to "+en.DN))
			return
		}
		ea, hidden = &a, unsearchable(rq, &a)
		f.hideItems(r.Search.Filter, hidden)
	}
	assertion, lerr := f.assertion(r, hidden)
	if lerr != nil {
		writeErr(w, lerr)
		return
	}
	if assertion != nil && !f.engine.Match(assertion, en) {
		writeErr(w, &ldap.Error{Code: ldap.AssertionFailed, Message: "assertion control: the entry does not match"})
		return
	}
	if f.engine.Match(r.Search.Filter, en) && (ea == nil || ea.Entry().Has(access.Read)) {
		if err := w.WriteEntry(f.toLDAP(en, sel, ea), r.Search.TypesOnly); err != nil {
			return
		}
	}
	success(w)
}

// rootDSE builds the Root DSE (RFC 4512 5.1).
func (f *Frontend) rootDSE() *directory.Entry {
	bs := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	exts := []string{ldap.OIDWhoAmI, ldap.OIDPasswordModify}
	if f.cfg.StartTLS {
		exts = append(exts, ldap.OIDStartTLS)
	}
	en := &directory.Entry{DN: "", Attrs: []directory.Attr{
		{Name: "objectClass", Values: bs("top", "extensibleObject")},
		{Name: "namingContexts", Values: bs(f.engine.Suffix())},
		{Name: "subschemaSubentry", Values: bs(directory.SubschemaDN)},
		{Name: "supportedLDAPVersion", Values: bs("3")},
		{Name: "supportedControl", Values: bs(f.controls.OIDs()...)},
		{Name: "supportedExtension", Values: bs(exts...)},
		{Name: "supportedFeatures", Values: bs(features...)},
		{Name: "vendorName", Values: bs("Switchboard")},
		{Name: "vendorVersion", Values: bs("Switchboard " + f.cfg.VendorVersion)},
		{Name: "entryDN", Values: bs("")},
	}}
	if f.cfg.SASLExternal {
		en.Attrs = append(en.Attrs, directory.Attr{Name: "supportedSASLMechanisms", Values: bs(MechExternal)})
	}
	return en
}

// subschema builds the subschema subentry once (RFC 4512 4.2).
func (f *Frontend) subschema() *directory.Entry {
	f.subschemaOnce.Do(func() {
		ts := []byte(f.started.UTC().Format("20060102150405Z"))
		en := &directory.Entry{DN: directory.SubschemaDN, NDN: "cn=subschema", Attrs: []directory.Attr{
			{Name: "objectClass", Values: [][]byte{[]byte("top"), []byte("subentry"), []byte("subschema"), []byte("extensibleObject")}},
			{Name: "cn", Values: [][]byte{[]byte("Subschema")}},
			{Name: "createTimestamp", Values: [][]byte{ts}},
			{Name: "modifyTimestamp", Values: [][]byte{ts}},
			{Name: "entryDN", Values: [][]byte{[]byte(directory.SubschemaDN)}},
			{Name: "subschemaSubentry", Values: [][]byte{[]byte(directory.SubschemaDN)}},
		}}
		if n, err := f.schema.NormalizeDNString(directory.SubschemaDN); err == nil {
			en.NDN = n
		}
		pub := f.schema.SubschemaAttributes()
		for _, name := range []string{"ldapSyntaxes", "matchingRules", "matchingRuleUse", "attributeTypes", "objectClasses"} {
			vals := make([][]byte, 0, len(pub[name]))
			for _, v := range pub[name] {
				vals = append(vals, []byte(v))
			}
			if len(vals) > 0 {
				en.Attrs = append(en.Attrs, directory.Attr{Name: name, Values: vals})
			}
		}
		f.subschemaEntry = en
	})
	return f.subschemaEntry
}

// pageState carries a paged search between requests. The cookie is
// stateless: the last ID sent and a fingerprint of the request, so a cookie
// replayed with another search is refused.
//
//	cookie = lastID (8B big-endian) | fingerprint (8B)
type pageState struct {
	size        int
	after       directory.ID
	fingerprint uint64
}

func (p *pageState) cookie(last directory.ID) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(last))
	return binary.BigEndian.AppendUint64(b, p.fingerprint)
}

func (p *pageState) parseCookie(c []byte) (directory.ID, bool) {
	if len(c) != 16 || binary.BigEndian.Uint64(c[8:]) != p.fingerprint {
		return 0, false
	}
	return directory.ID(binary.BigEndian.Uint64(c[:8])), true
}

func (p *pageState) control(cookie []byte) ldap.ResponseControl {
	return ldap.ResponseControl{OID: ldap.OIDPagedResults, Value: ldap.AppendPagedResults(nil, 0, cookie)}
}

// fingerprint hashes what must stay the same across the pages of one
// search (RFC 2696 section 3).
func fingerprint(r *ldap.Request) uint64 {
	h := fnv.New64a()
	s := &r.Search
	h.Write(bytes.ToLower(s.BaseObject))
	h.Write([]byte{0, byte(s.Scope), byte(s.DerefAliases)})
	h.Write([]byte(s.Filter.String()))
	for _, a := range s.Attributes {
		h.Write([]byte{0})
		h.Write(bytes.ToLower(a))
	}
	// A sorted search pages by offset in the sorted result: the keys
	// must stay the same too.
	if c := findControl(r, ldap.OIDSortRequest); c != nil {
		h.Write([]byte{1})
		h.Write(c.Value)
	}
	return h.Sum64()
}
