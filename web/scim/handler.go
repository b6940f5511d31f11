package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/web"
)

// Prefix is where the handler is mounted.
const Prefix = "/scim/v2"

// DefaultMaxResults is the most resources one page returns unless
// Config.MaxResults says otherwise.
const DefaultMaxResults = 1000

// Tokens verifies SCIM bearer tokens: the DN a token acts as.
type Tokens interface {
	Verify(secret string) (identity string, ok bool)
}

// Config configures the handler.
type Config struct {
	Web        *web.Server
	Tokens     Tokens // nil: bearer tokens are refused
	UsersBase  string // DN under which Users live and are created
	GroupsBase string // DN under which Groups live and are created
	// Placeholder is the member a group with no members keeps (the
	// memberOf overlay's placeholder; "" the empty DN).
	Placeholder string
	MaxResults  int // 0: DefaultMaxResults
	Logger      *slog.Logger
}

// Handler serves SCIM 2.0 under Prefix.
type Handler struct {
	cfg Config
	mux http.ServeMux
}

// New returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Web == nil {
		return nil, errors.New("scim: no web server")
	}
	for _, b := range []string{cfg.UsersBase, cfg.GroupsBase} {
		if _, err := goldap.ParseDN(b); err != nil || b == "" {
			return nil, fmt.Errorf("scim: base %q is not a DN", b)
		}
	}
	if cfg.MaxResults <= 0 {
		cfg.MaxResults = DefaultMaxResults
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg}
	for _, rt := range []*resourceType{userType, groupType} {
		p := Prefix + rt.Endpoint
		h.mux.Handle("GET "+p, h.auth(func(w http.ResponseWriter, r *http.Request, c *call) { c.list(rt) }))
		h.mux.Handle("POST "+p, h.auth(func(w http.ResponseWriter, r *http.Request, c *call) { c.create(rt) }))
		h.mux.Handle("GET "+p+"/{id}", h.auth(func(w http.ResponseWriter, r *http.Request, c *call) { c.get(rt, r.PathValue("id")) }))
		h.mux.Handle("PUT "+p+"/{id}", h.auth(func(w http.ResponseWriter, r *http.Request, c *call) { c.update(rt, r.PathValue("id"), false) }))
		h.mux.Handle("PATCH "+p+"/{id}", h.auth(func(w http.ResponseWriter, r *http.Request, c *call) { c.update(rt, r.PathValue("id"), true) }))
		h.mux.Handle("DELETE "+p+"/{id}", h.auth(func(w http.ResponseWriter, r *http.Request, c *call) { c.remove(rt, r.PathValue("id")) }))
	}
	h.mux.HandleFunc("GET "+Prefix+"/ServiceProviderConfig", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, spConfigJSON(baseURL(r), h.cfg.MaxResults))
	})
	schemas := []*schemaDef{userSchema, enterpriseSchema, groupSchema}
	h.mux.HandleFunc("GET "+Prefix+"/Schemas", func(w http.ResponseWriter, r *http.Request) {
		var out []any
		for _, s := range schemas {
			out = append(out, schemaJSON(s, baseURL(r)))
		}
		writeJSON(w, http.StatusOK, listResponse(out, len(out), 1))
	})
	h.mux.HandleFunc("GET "+Prefix+"/Schemas/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, s := range schemas {
			if s.ID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, schemaJSON(s, baseURL(r)))
				return
			}
		}
		writeError(w, http.StatusNotFound, "", "no such schema")
	})
	h.mux.HandleFunc("GET "+Prefix+"/ResourceTypes", func(w http.ResponseWriter, r *http.Request) {
		out := []any{resourceTypeJSON(userType, baseURL(r)), resourceTypeJSON(groupType, baseURL(r))}
		writeJSON(w, http.StatusOK, listResponse(out, len(out), 1))
	})
	h.mux.HandleFunc("GET "+Prefix+"/ResourceTypes/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, rt := range []*resourceType{userType, groupType} {
			if rt.Name == r.PathValue("id") {
				writeJSON(w, http.StatusOK, resourceTypeJSON(rt, baseURL(r)))
				return
			}
		}
		writeError(w, http.StatusNotFound, "", "no such resource type")
	})
	h.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "no such endpoint: Users, Groups, ServiceProviderConfig, Schemas and ResourceTypes are served (not Bulk, Me or .search)")
	})
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodDelete {
		h.mux.ServeHTTP(w, r)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		mt = strings.TrimSpace(strings.ToLower(mt))
		if mt != "application/scim+json" && mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "", "Content-Type: want application/scim+json")
			return
		}
	}
	h.mux.ServeHTTP(w, r)
}

// A call is one authenticated request.
type call struct {
	h    *Handler
	w    http.ResponseWriter
	r    *http.Request
	ctx  context.Context
	conn *goldap.Conn
	refs map[string]refEntry // by normalised DN
}

type refEntry struct {
	r  ref
	ok bool
}

// auth authenticates a request: a SCIM bearer token (acting as its
// identity through web.Server.SessionAs) or HTTP Basic (web.Server.Basic).
func (h *Handler) auth(fn func(http.ResponseWriter, *http.Request, *call)) http.Handler {
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		se, _ := web.SessionFrom(r.Context())
		fn(w, r, &call{h: h, w: w, r: r, ctx: r.Context(), conn: se.Conn(), refs: map[string]refEntry{}})
	})
	basic := h.cfg.Web.Basic("switchboard SCIM", func(w http.ResponseWriter, r *http.Request, status int, msg string) {
		writeError(w, status, "", msg)
	}, inner)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			basic.ServeHTTP(w, r)
			return
		}
		remote := web.RemoteAddr(r)
		if r.TLS == nil && !h.cfg.Web.AllowPlainBasic && !isLoopback(remote) {
			writeError(w, http.StatusForbidden, "", "tokens are not accepted over plain HTTP from beyond this host: use HTTPS")
			return
		}
		challenge := `Bearer realm="switchboard SCIM"`
		if h.cfg.Tokens == nil {
			w.Header().Set("WWW-Authenticate", challenge)
			writeError(w, http.StatusUnauthorized, "", "bearer tokens are not configured")
			return
		}
		dn, ok := h.cfg.Tokens.Verify(strings.TrimSpace(secret))
		if !ok {
			w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "", "invalid, expired or revoked token")
			return
		}
		se, err := h.cfg.Web.SessionAs(r.Context(), remote, dn)
		if errors.Is(err, web.ErrInvalidCredentials) {
			w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "", "the token's identity is locked or gone")
			return
		}
		if err != nil {
			h.cfg.Logger.Warn("scim: session for a token", "err", err, "identity", dn)
			writeError(w, http.StatusServiceUnavailable, "", "the directory cannot answer now; try again later")
			return
		}
		defer se.Release()
		inner.ServeHTTP(w, r.WithContext(web.WithSession(r.Context(), se)))
	})
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// baseURL is the SCIM endpoint's absolute URL as the client reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix
}

// location is the URL of resource id of type typ ("User", "Group").
func location(base, typ, id string) string {
	return base + "/" + typ + "s/" + id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// writeError writes an error in SCIM's form (RFC 7644 section 3.12).
func writeError(w http.ResponseWriter, status int, scimType, detail string) {
	m := map[string]any{"schemas": []any{URNError}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		m["scimType"] = scimType
	}
	writeJSON(w, status, m)
}

func listResponse(res []any, total, start int) map[string]any {
	if res == nil {
		res = []any{}
	}
	return map[string]any{"schemas": []any{URNListResp}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(res), "Resources": res}
}

// fail answers err: a badRequest as it says, an LDAP result as the
// matching HTTP status.
func (c *call) fail(err error) {
	var br *badRequest
	if errors.As(err, &br) {
		writeError(c.w, br.status, br.scimType, br.detail)
		return
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		msg := le.Err.Error()
		if web.DiskFull(err) {
			// Temporary: the same request succeeds once space is freed.
			writeError(c.w, http.StatusInsufficientStorage, "", "the directory cannot store this now: "+msg+"; try again later")
			return
		}
		switch le.ResultCode {
		case goldap.LDAPResultNoSuchObject:
			writeError(c.w, http.StatusNotFound, "", "no such entry in the directory: "+msg)
		case goldap.LDAPResultEntryAlreadyExists:
			writeError(c.w, http.StatusConflict, "uniqueness", "an entry of that name exists: "+msg)
		case goldap.LDAPResultInsufficientAccessRights:
			writeError(c.w, http.StatusForbidden, "", "the directory's access rules refuse this: "+msg)
		case goldap.LDAPResultAssertionFailed:
			writeError(c.w, http.StatusPreconditionFailed, "", "the resource changed meanwhile")
		case goldap.LDAPResultSizeLimitExceeded, goldap.LDAPResultAdminLimitExceeded, goldap.LDAPResultTimeLimitExceeded:
			writeError(c.w, http.StatusBadRequest, "tooMany", "the filter selects more resources than the directory returns at once: "+msg)
		case goldap.LDAPResultObjectClassViolation, goldap.LDAPResultInvalidAttributeSyntax, goldap.LDAPResultConstraintViolation,
			goldap.LDAPResultUndefinedAttributeType, goldap.LDAPResultAttributeOrValueExists, goldap.LDAPResultNotAllowedOnRDN,
			goldap.LDAPResultInvalidDNSyntax, goldap.LDAPResultNamingViolation, goldap.LDAPResultNoSuchAttribute:
			writeError(c.w, http.StatusBadRequest, "invalidValue", "the directory refused the values: "+msg)
		case goldap.LDAPResultUnwillingToPerform:
			writeError(c.w, http.StatusBadRequest, "", "the directory is unwilling: "+msg)
		case goldap.LDAPResultBusy, goldap.LDAPResultUnavailable:
			writeError(c.w, http.StatusServiceUnavailable, "", "the directory is busy: "+msg)
		default:
			c.h.cfg.Logger.Warn("scim: directory error", "err", err)
			writeError(c.w, http.StatusInternalServerError, "", "directory error: "+msg)
		}
		return
	}
	c.h.cfg.Logger.Warn("scim: request failed", "err", err)
	writeError(c.w, http.StatusInternalServerError, "", err.Error())
}

func (c *call) base(rt *resourceType) string {
	if rt == groupType {
		return c.h.cfg.GroupsBase
	}
	return c.h.cfg.UsersBase
}

func objectClass(rt *resourceType) string {
	if rt == groupType {
		return "groupOfNames"
	}
	return "inetOrgPerson"
}

func attrsOf(rt *resourceType) []string {
	if rt == groupType {
		return append(slices.Clone(groupAttrs), readAttrs...)
	}
	return append(slices.Clone(userAttrs), readAttrs...)
}

// search returns the entries of rt under its base matching filter.
func (c *call) search(rt *resourceType, filter string) ([]*entry, error) {
	req := goldap.NewSearchRequest(c.base(rt), goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass="+objectClass(rt)+")"+filter+")", attrsOf(rt), nil)
	res, err := c.conn.SearchWithPaging(req, 500)
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, err
	}
	var out []*entry
	if res != nil {
		for _, e := range res.Entries {
			out = append(out, newEntry(e))
		}
	}
	return out, nil
}

// find returns the resource id, or a 404.
func (c *call) find(rt *resourceType, id string) (*entry, error) {
	if !validID(id) {
		return nil, &badRequest{status: 404, detail: rt.Name + " " + id + " not found"}
	}
	es, err := c.search(rt, "(entryUUID="+goldap.EscapeFilter(id)+")")
	if err != nil {
		return nil, err
	}
	if len(es) != 1 {
		return nil, &badRequest{status: 404, detail: rt.Name + " " + id + " not found"}
	}
	return es[0], nil
}

// read returns the entry dn with rt's attributes.
func (c *call) read(rt *resourceType, dn string) (*entry, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", attrsOf(rt), nil)
	res, err := c.conn.Search(req)
	if err != nil {
		return nil, err
	}
	if len(res.Entries) != 1 {
		return nil, errors.New("scim: the entry just written cannot be read")
	}
	return newEntry(res.Entries[0]), nil
}

// refOf implements resolver: a DN under the Users or Groups base whose
// entry is a User or Group, looked up once per request.
func (c *call) refOf(dn string) (ref, bool) {
	n := normDN(dn)
	if e, ok := c.refs[n]; ok {
		return e.r, e.ok
	}
	var re refEntry
	for _, rt := range []*resourceType{userType, groupType} {
		if !strings.HasSuffix(n, ","+normDN(c.base(rt))) {
			continue
		}
		req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
			"(objectClass="+objectClass(rt)+")", []string{"entryUUID", "cn", "displayName", "uid"}, nil)
		res, err := c.conn.Search(req)
		if err != nil || len(res.Entries) != 1 {
			continue
		}
		en := newEntry(res.Entries[0])
		if en.first("entryUUID") == "" {
			continue
		}
		display := en.first("cn")
		if rt == userType {
			display = firstOf(en.first("displayName"), en.first("cn"), en.first("uid"))
		}
		re = refEntry{r: ref{ID: en.first("entryUUID"), Display: display, Type: rt.Name}, ok: true}
		break
	}
	c.refs[n] = re
	return re.r, re.ok
}

// dnOf implements resolver.
func (c *call) dnOf(id, typ string) (string, ref, bool, error) {
	if !validID(id) {
		return "", ref{}, false, nil
	}
	for _, rt := range []*resourceType{userType, groupType} {
		if typ != "" && !strings.EqualFold(typ, rt.Name) {
			continue
		}
		es, err := c.search(rt, "(entryUUID="+goldap.EscapeFilter(id)+")")
		if err != nil {
			return "", ref{}, false, err
		}
		if len(es) == 1 {
			en := es[0]
			r := ref{ID: id, Type: rt.Name, Display: en.first("cn")}
			if rt == userType {
				r.Display = firstOf(en.first("displayName"), en.first("cn"), en.first("uid"))
			}
			c.refs[normDN(en.DN)] = refEntry{r: r, ok: true}
			return en.DN, r, true, nil
		}
	}
	return "", ref{}, false, nil
}

// projection applies attributes and excludedAttributes (RFC 7644 section
// 3.4.2.5) to a rendered resource.
type projection struct {
	only, except []AttrPath
}

func (c *call) projection() (projection, error) {
	var p projection
	q := c.r.URL.Query()
	for _, k := range []string{"attributes", "excludedAttributes"} {
		v := q.Get(k)
		if v == "" {
			continue
		}
		for _, s := range strings.Split(v, ",") {
			ap, err := parseAttrPath(strings.TrimSpace(s))
			if err != nil {
				return p, invalid("invalidValue", "%s: %v", k, err)
			}
			if k == "attributes" {
				p.only = append(p.only, ap)
			} else {
				p.except = append(p.except, ap)
			}
		}
	}
	return p, nil
}

// wants reports whether the projection keeps attribute name at all (for
// skipping members' lookups).
func (p projection) wants(name string) bool {
	for _, e := range p.except {
		if strings.EqualFold(e.Attr, name) && e.Sub == "" {
			return false
		}
	}
	if len(p.only) == 0 {
		return true
	}
	for _, o := range p.only {
		if strings.EqualFold(o.Attr, name) {
			return true
		}
	}
	return false
}

func (p projection) apply(doc map[string]any) map[string]any {
	always := map[string]bool{"id": true, "schemas": true, "meta": true}
	if len(p.only) > 0 {
		out := map[string]any{}
		for k, v := range doc {
			if always[k] {
				out[k] = v
			}
		}
		for _, o := range p.only {
			src, dst := doc, out
			if o.URN != "" && !strings.EqualFold(o.URN, URNUser) && !strings.EqualFold(o.URN, URNGroup) {
				src, _ = doc[URNEnterprise].(map[string]any)
				if src == nil || !strings.EqualFold(o.URN, URNEnterprise) {
					continue
				}
				d, _ := out[URNEnterprise].(map[string]any)
				if d == nil {
					d = map[string]any{}
					out[URNEnterprise] = d
				}
				dst = d
			}
			for k, v := range src {
				if !strings.EqualFold(k, o.Attr) {
					continue
				}
				if o.Sub == "" {
					dst[k] = v
					continue
				}
				if m, ok := v.(map[string]any); ok {
					d, _ := dst[k].(map[string]any)
					if d == nil {
						d = map[string]any{}
						dst[k] = d
					}
					for sk, sv := range m {
						if strings.EqualFold(sk, o.Sub) {
							d[sk] = sv
						}
					}
				}
			}
		}
		doc = out
	}
	for _, e := range p.except {
		for k, v := range doc {
			if always[k] {
				continue
			}
			if e.URN != "" && strings.EqualFold(e.URN, URNEnterprise) {
				if m, ok := doc[URNEnterprise].(map[string]any); ok && k == URNEnterprise {
					for sk := range m {
						if strings.EqualFold(sk, e.Attr) {
							delete(m, sk)
						}
					}
				}
				continue
			}
			if !strings.EqualFold(k, e.Attr) {
				continue
			}
			if e.Sub == "" {
				delete(doc, k)
			} else if m, ok := v.(map[string]any); ok {
				for sk := range m {
					if strings.EqualFold(sk, e.Sub) {
						delete(m, sk)
					}
				}
			}
		}
	}
	return doc
}

// list answers GET /Users and /Groups: filter, sortBy, sortOrder,
// startIndex, count (RFC 7644 section 3.4.2). The matching entries are
// read whole and sorted here; only the page is rendered.
func (c *call) list(rt *resourceType) {
	q := c.r.URL.Query()
	proj, err := c.projection()
	if err != nil {
		c.fail(err)
		return
	}
	filter := ""
	var post func(*entry) bool
	if fs := q.Get("filter"); fs != "" {
		f, err := ParseFilter(fs)
		if err != nil {
			c.fail(invalid("invalidFilter", "%v", err))
			return
		}
		t := &translator{rt: rt, rs: c}
		if filter, post, err = t.ldapFilter(f); err != nil {
			c.fail(err)
			return
		}
	}
	start, count := 1, c.h.cfg.MaxResults
	if s := q.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			c.fail(invalid("invalidValue", "startIndex: want an integer"))
			return
		}
		start = max(n, 1)
	}
	if s := q.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			c.fail(invalid("invalidValue", "count: want an integer"))
			return
		}
		count = min(max(n, 0), c.h.cfg.MaxResults)
	}
	desc := false
	switch strings.ToLower(q.Get("sortOrder")) {
	case "", "ascending":
	case "descending":
		desc = true
	default:
		c.fail(invalid("invalidValue", "sortOrder: want ascending or descending"))
		return
	}
	sortAttr := ""
	if s := q.Get("sortBy"); s != "" {
		ap, err := parseAttrPath(s)
		if err != nil {
			c.fail(invalid("invalidValue", "sortBy: %v", err))
			return
		}
		name := ap.Attr
		if ap.Sub != "" {
			name += "." + ap.Sub
		}
		if def, _, err := (&translator{rt: rt}).lookup(ap); err == nil {
			name = def.Name
			if ap.Sub != "" {
				if sd := def.sub(ap.Sub); sd != nil {
					name += "." + sd.Name
				}
			}
			if ap.URN != "" && !strings.EqualFold(ap.URN, rt.Schema.ID) {
				name = URNEnterprise + ":" + name
			}
		}
		switch name {
		case "emails", "emails.value":
			sortAttr = "mail"
		default:
			sortAttr = ldapAttrOf(rt, name)
		}
		if sortAttr == "" {
			c.fail(invalid("invalidValue", "sortBy: %s cannot be sorted on", s))
			return
		}
	}
	es, err := c.search(rt, filter)
	if err != nil {
		c.fail(err)
		return
	}
	if post != nil {
		es = slices.DeleteFunc(es, func(e *entry) bool { return !post(e) })
	}
	key := func(e *entry) string { return strings.ToLower(e.first("entryUUID")) }
	if sortAttr != "" {
		key = func(e *entry) string { return strings.ToLower(e.first(sortAttr)) }
	}
	slices.SortStableFunc(es, func(a, b *entry) int {
		ka, kb := key(a), key(b)
		// Entries without the attribute go last either way.
		switch {
		case ka == kb:
			return strings.Compare(a.first("entryUUID"), b.first("entryUUID"))
		case ka == "":
			return 1
		case kb == "":
			return -1
		}
		if desc {
			return strings.Compare(kb, ka)
		}
		return strings.Compare(ka, kb)
	})
	total := len(es)
	var page []any
	for i := start - 1; i < total && len(page) < count; i++ {
		page = append(page, proj.apply(render(rt, es[i], c, proj.wants("members"), baseURL(c.r))))
	}
	writeJSON(c.w, http.StatusOK, listResponse(page, total, start))
}

func (c *call) get(rt *resourceType, id string) {
	proj, err := c.projection()
	if err != nil {
		c.fail(err)
		return
	}
	en, err := c.find(rt, id)
	if err != nil {
		c.fail(err)
		return
	}
	doc := render(rt, en, c, true, baseURL(c.r))
	etag := doc["meta"].(map[string]any)["version"].(string)
	c.w.Header().Set("ETag", etag)
	if inm := c.r.Header.Get("If-None-Match"); inm != "" && etagMatch(inm, etag) {
		c.w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(c.w, http.StatusOK, proj.apply(doc))
}

// etagMatch compares an If-Match or If-None-Match list with etag, weakly
// (RFC 9110 section 8.8.3.2): W/ prefixes do not matter.
func etagMatch(header, etag string) bool {
	strip := func(s string) string { return strings.TrimPrefix(strings.TrimSpace(s), "W/") }
	for _, t := range strings.Split(header, ",") {
		if strings.TrimSpace(t) == "*" || strip(t) == strip(etag) {
			return true
		}
	}
	return false
}

func (c *call) body() (map[string]any, error) {
	b, err := io.ReadAll(http.MaxBytesReader(c.w, c.r.Body, maxBody))
	if err != nil {
		return nil, &badRequest{status: http.StatusRequestEntityTooLarge, detail: fmt.Sprintf("the body is larger than %d bytes", maxBody)}
	}
	return decodeJSON(b)
}

// create answers POST.
func (c *call) create(rt *resourceType) {
	raw, err := c.body()
	if err != nil {
		c.fail(err)
		return
	}
	doc, err := canon(rt, raw)
	if err != nil {
		c.fail(err)
		return
	}
	st, err := toLDAP(rt, doc, c)
	if err != nil {
		c.fail(err)
		return
	}
	rdnAttr, rdnVal := "uid", doc["userName"]
	if rt == groupType {
		rdnAttr, rdnVal = "cn", doc["displayName"]
	}
	name := rdnVal.(string)
	if taken, err := c.search(rt, "("+rdnAttr+"="+goldap.EscapeFilter(name)+")"); err != nil {
		c.fail(err)
		return
	} else if len(taken) > 0 {
		c.fail(&badRequest{status: http.StatusConflict, scimType: "uniqueness", detail: fmt.Sprintf("a %s named %q exists", rt.Name, name)})
		return
	}
	dn := rdnAttr + "=" + goldap.EscapeDN(name) + "," + c.base(rt)
	add := goldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{objectClass(rt), auxClass})
	if rt == groupType && len(st.attrs["member"]) == 0 {
		st.attrs["member"] = []string{c.h.cfg.Placeholder}
	}
	for _, a := range attrsOf(rt) {
		if v := st.attrs[strings.ToLower(a)]; len(v) > 0 {
			add.Attribute(a, v)
		}
	}
	if st.active != nil && !*st.active {
		add.Attribute("pwdAccountLockedTime", []string{permanentLock})
	}
	if st.password != "" {
		add.Attribute("userPassword", []string{st.password})
	}
	if err := c.conn.Add(add); err != nil {
		c.fail(err)
		return
	}
	c.respond(rt, dn, http.StatusCreated)
}

// respond reads dn back and answers with the resource.
func (c *call) respond(rt *resourceType, dn string, status int) {
	en, err := c.read(rt, dn)
	if err != nil {
		c.fail(err)
		return
	}
	proj, err := c.projection()
	if err != nil {
		c.fail(err)
		return
	}
	doc := render(rt, en, c, true, baseURL(c.r))
	meta := doc["meta"].(map[string]any)
	c.w.Header().Set("ETag", meta["version"].(string))
	if status == http.StatusCreated {
		c.w.Header().Set("Location", meta["location"].(string))
	}
	writeJSON(c.w, status, proj.apply(doc))
}

// update answers PUT (patch false) and PATCH.
func (c *call) update(rt *resourceType, id string, patch bool) {
	raw, err := c.body()
	if err != nil {
		c.fail(err)
		return
	}
	var ops []patchOp
	if patch {
		if ops, err = parsePatch(raw); err != nil {
			c.fail(err)
			return
		}
	}
	en, err := c.find(rt, id)
	if err != nil {
		c.fail(err)
		return
	}
	cur := render(rt, en, c, true, baseURL(c.r))
	if im := c.r.Header.Get("If-Match"); im != "" && !etagMatch(im, cur["meta"].(map[string]any)["version"].(string)) {
		c.fail(&badRequest{status: http.StatusPreconditionFailed, detail: "If-Match: the resource's version is " + cur["meta"].(map[string]any)["version"].(string)})
		return
	}
	var doc map[string]any
	if patch {
		doc = cur
		if err := applyPatch(rt, doc, ops); err != nil {
			c.fail(err)
			return
		}
	} else if doc, err = canon(rt, raw); err != nil {
		c.fail(err)
		return
	}
	if !patch {
		if _, ok := doc["active"]; !ok && rt == userType {
			doc["active"] = cur["active"]
		}
	}
	st, err := toLDAP(rt, doc, c)
	if err != nil {
		c.fail(err)
		return
	}
	mods := changes(rt, en, st, c, c.h.cfg.Placeholder)
	// The entry must still be the one read: its entryCSN asserted
	// (RFC 4528), so a change made meanwhile is a 412, not lost.
	var ctrls []goldap.Control
	if csn := en.first("entryCSN"); csn != "" {
		ctrls = append(ctrls, assertion("(entryCSN="+goldap.EscapeFilter(csn)+")"))
	}
	dn := en.DN
	rdnAttr, newRDN := "uid", st.attrs["uid"]
	if rt == groupType {
		rdnAttr, newRDN = "cn", st.attrs["cn"]
	}
	if len(newRDN) > 0 && !strings.EqualFold(newRDN[0], firstRDNValue(dn)) {
		req := goldap.NewModifyDNRequest(dn, rdnAttr+"="+goldap.EscapeDN(newRDN[0]), true, "")
		req.Controls = ctrls
		if err := c.conn.ModifyDN(req); err != nil {
			c.fail(err)
			return
		}
		ctrls = nil
		dn = rdnAttr + "=" + goldap.EscapeDN(newRDN[0]) + "," + parentDN(dn)
	} else if len(newRDN) > 0 && newRDN[0] != firstRDNValue(dn) {
		// A change of case only: the value, not the name.
		mods = append(mods, change(goldap.ReplaceAttribute, rdnAttr, newRDN[0]))
	}
	if len(mods) > 0 {
		req := goldap.NewModifyRequest(dn, ctrls)
		req.Changes = mods
		if err := c.conn.Modify(req); err != nil {
			c.fail(err)
			return
		}
	}
	c.respond(rt, dn, http.StatusOK)
}

func (c *call) remove(rt *resourceType, id string) {
	en, err := c.find(rt, id)
	if err != nil {
		c.fail(err)
		return
	}
	if im := c.r.Header.Get("If-Match"); im != "" {
		v := render(rt, en, c, true, baseURL(c.r))["meta"].(map[string]any)["version"].(string)
		if !etagMatch(im, v) {
			c.fail(&badRequest{status: http.StatusPreconditionFailed, detail: "If-Match: the resource's version is " + v})
			return
		}
	}
	if err := c.conn.Del(goldap.NewDelRequest(en.DN, nil)); err != nil {
		c.fail(err)
		return
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// assertion is the RFC 4528 assertion control for an LDAP filter.
func assertion(filter string) goldap.Control {
	p, err := goldap.CompileFilter(filter)
	if err != nil {
		panic("scim: assertion filter: " + err.Error()) // built here from escaped values
	}
	return goldap.NewControlString("1.3.6.1.1.12", true, string(p.Bytes()))
}

func firstRDNValue(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return ""
	}
	return d.RDNs[0].Attributes[0].Value
}

func parentDN(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) < 2 {
		return ""
	}
	var parts []string
	for _, r := range d.RDNs[1:] {
		var avas []string
		for _, a := range r.Attributes {
			avas = append(avas, a.Type+"="+goldap.EscapeDN(a.Value))
		}
		parts = append(parts, strings.Join(avas, "+"))
	}
	return strings.Join(parts, ",")
}
