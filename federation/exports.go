package federation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/schema"
)

// Export is an export as stored and shown (without PasswordHash).
type Export struct {
	Name   string `json:"name"`
	BindDN string `json:"bind_dn"`
	Base   string `json:"base"`
	Scope  string `json:"scope"` // "sub" or "one"
	Filter string `json:"filter"`
	// Attributes are the attributes shared, as given; Withheld those
	// given that are never shared (passwords, sealed, operational).
	Attributes     []string `json:"attributes"`
	Withheld       []string `json:"withheld,omitempty"`
	ReshareImports bool     `json:"reshare_imports,omitempty"`
	// Discovery gives the partner the discovery right (POST
	// /api/v1/federation/discover), with DiscoverySalt the salt its
	// hashes start with, chosen by the server when the right is given.
	Discovery     bool      `json:"discovery,omitempty"`
	DiscoverySalt string    `json:"discovery_salt,omitempty"`
	PasswordHash  string    `json:"password_hash,omitempty"`
	Created       time.Time `json:"created"`
	Updated       time.Time `json:"updated"`
}

// exportRequest is the body of PUT /api/v1/federation/exports/{name}.
type exportRequest struct {
	Base           string   `json:"base"`
	Scope          string   `json:"scope"`
	Filter         string   `json:"filter"`
	Attributes     []string `json:"attributes"`
	Password       string   `json:"password"`
	ReshareImports bool     `json:"reshare_imports"`
	Discovery      bool     `json:"discovery"`
}

// ExportView is an export as the API shows it.
type ExportView struct {
	Export
	Stats frontend.PartnerStats `json:"stats"`
	// DiscoveryStats is what the partner asked by discovery, for an
	// export with the right.
	DiscoveryStats *DiscoveryStats `json:"discovery_stats,omitempty"`
}

type export struct {
	spec    Export
	partner *frontend.Partner
	// verified is the partner's password as discovery verified it last.
	verified atomic.Pointer[verifiedCred]
}

// alwaysShared are shared with every export's listed attributes: an
// entry needs its object classes, and a sync consumer these operational
// attributes.
var alwaysShared = []string{"objectClass", "entryUUID", "entryCSN", "createTimestamp", "modifyTimestamp"}

// neverShared are withheld from every export, even if listed.
var neverShared = []string{"userPassword", "authPassword", "pwdHistory"}

// MinPasswordLength bounds an export's password from below.
const MinPasswordLength = 12

// badRequest is an input error: the API answers 400 with its text.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func bad(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// conflict is a request at odds with the server's state (409).
type conflict struct{ msg string }

func (e *conflict) Error() string { return e.msg }

// checkExport validates a request into an Export (without the
// password); old is the export it replaces, or nil.
func (f *Federation) checkExport(name string, req *exportRequest, old *Export) (Export, error) {
	eng := f.cfg.Engine
	sc := eng.Schema()
	ex := Export{Name: name, BindDN: "cn=" + name + "," + PartnerBase, ReshareImports: req.ReshareImports, Discovery: req.Discovery}
	if req.Base == "" {
		return ex, bad("base is required: the DN of the subtree to share")
	}
	nbase, err := eng.NormalizeDN(req.Base)
	if err != nil {
		return ex, bad("base %q is not a DN: %v", req.Base, err)
	}
	if !f.inSuffix(nbase) {
		return ex, bad("base %q is outside the naming context %q", req.Base, eng.Suffix())
	}
	ex.Base = req.Base
	switch req.Scope {
	case "", "sub":
		ex.Scope = "sub"
	case "one":
		ex.Scope = "one"
	default:
		return ex, bad("scope %q is neither sub nor one", req.Scope)
	}
	ex.Filter = req.Filter
	if ex.Filter == "" {
		ex.Filter = "(objectClass=*)"
	}
	flt, err := ldap.ParseFilter(ex.Filter)
	if err != nil {
		return ex, bad("filter %q does not parse: %v", ex.Filter, err)
	}
	if name := unknownFilterAttr(sc, flt); name != "" {
		return ex, bad("filter %q names %q, which is not in the schema", ex.Filter, name)
	}
	if len(req.Attributes) == 0 {
		return ex, bad("attributes is required: the attribute types to share")
	}
	for _, a := range req.Attributes {
		at, ok := sc.Attribute(a)
		if !ok || !validAttrName(a) {
			return ex, bad("attribute %q is not in the schema", a)
		}
		switch {
		case slices.ContainsFunc(neverShared, func(n string) bool { return strings.EqualFold(n, at.Name()) }),
			eng.Sealer().Sealed(at.Name()),
			at.IsOperational() && !slices.ContainsFunc(alwaysShared, func(n string) bool { return strings.EqualFold(n, at.Name()) }):
			ex.Withheld = append(ex.Withheld, at.Name())
		default:
			if !slices.Contains(ex.Attributes, at.Name()) {
				ex.Attributes = append(ex.Attributes, at.Name())
			}
		}
	}
	if ex.Discovery && eng.Sealer().Sealed("mail") {
		return ex, bad("discovery needs the mail values in clear, and mail is sealed (encryption.attributes)")
	}
	if len(ex.Attributes) == 0 {
		return ex, bad("none of the attributes %v may be shared (passwords, sealed and operational attributes never are)", req.Attributes)
	}
	switch {
	case req.Password == "" && old == nil:
		return ex, bad("password is required: the secret the partner binds with (at least %d characters)", MinPasswordLength)
	case req.Password != "" && len(req.Password) < MinPasswordLength:
		return ex, bad("password is too short: at least %d characters", MinPasswordLength)
	}
	return ex, nil
}

// unknownFilterAttr returns the first attribute a filter names that the
// schema does not know, or "".
func unknownFilterAttr(sc *schema.Schema, flt *ldap.Filter) string {
	if flt == nil {
		return ""
	}
	if len(flt.Attr) > 0 {
		base, _ := schema.SplitOptions(string(flt.Attr))
		if _, ok := sc.Attribute(base); !ok {
			return string(flt.Attr)
		}
	}
	for i := range flt.Children {
		if n := unknownFilterAttr(sc, &flt.Children[i]); n != "" {
			return n
		}
	}
	return ""
}

func validAttrName(a string) bool {
	if a == "" || len(a) > 128 {
		return false
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// quote makes s one double-quoted word of an access rule.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// exportRules are the access rules of an export's partner: the Root DSE
// and the subschema; nothing of an imported subtree (unless reshared);
// read on the entries of base+scope matching the filter, for the shared
// attributes; search on the base entry, so that the partner can search
// from it; nothing else.
func exportRules(ex *Export, importBases []string) []string {
	rules := []string{
		`to dn.base="" by * read`,
		`to dn.base="cn=Subschema" by * read`,
	}
	if !ex.ReshareImports {
		for _, b := range importBases {
			rules = append(rules, "to dn.subtree="+quote(b)+" by * none")
		}
	}
	style := "dn.subtree"
	if ex.Scope == "one" {
		style = "dn.one"
	}
	attrs := append([]string{"entry"}, alwaysShared...)
	for _, a := range ex.Attributes {
		if !slices.ContainsFunc(attrs, func(n string) bool { return strings.EqualFold(n, a) }) {
			attrs = append(attrs, a)
		}
	}
	rules = append(rules,
		"to "+style+"="+quote(ex.Base)+" filter="+quote(ex.Filter)+" attrs="+strings.Join(attrs, ",")+" by * read",
		"to dn.base="+quote(ex.Base)+" attrs=entry by * search",
		"to * by * none",
	)
	return rules
}

// install compiles e's view and makes its partner; f.mu is held.
func (f *Federation) install(e *export) error {
	pol, err := access.Compile(f.cfg.Engine, exportRules(&e.spec, f.importBases()))
	if err != nil {
		return err
	}
	p, err := f.cfg.Frontend.SetPartner(e.spec.BindDN, []byte(e.spec.PasswordHash), pol)
	if err != nil {
		return err
	}
	e.partner = p
	return nil
}

// putExport creates or replaces an export; created reports which.
func (f *Federation) putExport(ctx context.Context, name string, req *exportRequest) (ExportView, bool, error) {
	if !validName.MatchString(name) {
		return ExportView{}, false, bad("export name %q: want 1-48 letters, digits, '.', '_' or '-'", name)
	}
	f.mu.Lock()
	old := f.exports[name]
	var oldSpec *Export
	if old != nil {
		oldSpec = &old.spec
	}
	f.mu.Unlock()
	ex, err := f.checkExport(name, req, oldSpec)
	if err != nil {
		return ExportView{}, false, err
	}
	if req.Password != "" {
		h, err := f.cfg.Engine.Passwords().Hash(ctx, []byte(req.Password))
		if err != nil {
			return ExportView{}, false, fmt.Errorf("hashing the password: %w", err)
		}
		ex.PasswordHash = string(h)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ExportView{}, false, fmt.Errorf("the server is shutting down")
	}
	now := time.Now().UTC().Truncate(time.Second)
	ex.Created, ex.Updated = now, now
	cur := f.exports[name]
	if cur != nil {
		ex.Created = cur.spec.Created
		if ex.PasswordHash == "" {
			ex.PasswordHash = cur.spec.PasswordHash
		}
		if ex.Discovery {
			ex.DiscoverySalt = cur.spec.DiscoverySalt // the partner's hashes stay good
		}
	} else if ex.PasswordHash == "" {
		return ExportView{}, false, bad("password is required")
	}
	if ex.Discovery && ex.DiscoverySalt == "" {
		ex.DiscoverySalt = newSalt()
	}
	e := &export{spec: ex}
	if err := f.install(e); err != nil {
		if cur != nil {
			f.install(cur) // keep the old view
		}
		return ExportView{}, false, bad("the export's view does not compile: %v", err)
	}
	f.exports[name] = e
	oldDiscovery := f.discovery[name]
	switch {
	case ex.Discovery && oldDiscovery == nil:
		f.discovery[name] = &discovery{}
	case !ex.Discovery:
		delete(f.discovery, name)
	}
	if err := f.save(); err != nil {
		if oldDiscovery != nil {
			f.discovery[name] = oldDiscovery
		} else {
			delete(f.discovery, name)
		}
		if cur != nil {
			f.exports[name] = cur
			f.install(cur)
		} else {
			delete(f.exports, name)
			f.cfg.Frontend.RemovePartner(ex.BindDN)
		}
		return ExportView{}, false, err
	}
	changed := cur != nil && (cur.spec.Base != ex.Base || cur.spec.Scope != ex.Scope || cur.spec.Filter != ex.Filter ||
		!slices.Equal(cur.spec.Attributes, ex.Attributes) || cur.spec.PasswordHash != ex.PasswordHash)
	if changed {
		// Sessions opened under the old view or password start again.
		f.disconnect(ex.BindDN)
	}
	f.log.Info("federation: export saved", "export", name, "created", cur == nil, "base", ex.Base, "scope", ex.Scope,
		"filter", ex.Filter, "attributes", ex.Attributes, "withheld", ex.Withheld)
	return f.view(e), cur == nil, nil
}

// view is e as the API shows it; f.mu is held.
func (f *Federation) view(e *export) ExportView {
	v := ExportView{Export: e.spec}
	v.PasswordHash = ""
	if e.partner != nil {
		v.Stats = e.partner.Stats()
	}
	if d := f.discovery[e.spec.Name]; d != nil {
		st := d.stats()
		v.DiscoveryStats = &st
	}
	return v
}

// deleteExport revokes an export: binds fail from now on and its
// sessions are closed. It reports whether there was one.
func (f *Federation) deleteExport(_ context.Context, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.exports[name]
	if e == nil {
		return false, nil
	}
	delete(f.exports, name)
	delete(f.discovery, name)
	f.cfg.Frontend.RemovePartner(e.spec.BindDN)
	n := f.disconnect(e.spec.BindDN)
	err := f.save()
	f.log.Info("federation: export revoked", "export", name, "sessions_closed", n)
	return true, err
}

// disconnect closes the sessions bound as dn.
func (f *Federation) disconnect(dn string) int {
	if f.cfg.Disconnect == nil {
		return 0
	}
	ndn, err := f.cfg.Engine.NormalizeDN(dn)
	if err != nil {
		return 0
	}
	return f.cfg.Disconnect(ndn)
}

// Exports lists the exports, sorted by name.
func (f *Federation) Exports() []ExportView {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ExportView, 0, len(f.exports))
	for _, e := range f.exports {
		out = append(out, f.view(e))
	}
	slices.SortFunc(out, func(a, b ExportView) int { return cmpString(a.Name, b.Name) })
	return out
}

// Export returns one export.
func (f *Federation) Export(name string) (ExportView, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.exports[name]
	if e == nil {
		return ExportView{}, false
	}
	return f.view(e), true
}
