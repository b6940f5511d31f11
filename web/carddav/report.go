package carddav

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

func unescapePath(p string) (string, error) { return url.PathUnescape(p) }

func (rq *request) report() error {
	if rq.t.kind != tBook && rq.t.kind != tCard {
		return fail(http.StatusForbidden, "REPORT is supported on address books")
	}
	if err := rq.checkBook(); err != nil {
		return err
	}
	body, err := rq.xmlBody()
	if errors.Is(err, errNoBody) {
		return fail(http.StatusBadRequest, "REPORT needs a body")
	}
	if err != nil {
		return err
	}
	root, err := reportKind(body)
	if err != nil {
		return err
	}
	switch root {
	case carddav("addressbook-multiget"):
		var req multigetReq
		if err := decodeXML(body, &req); err != nil {
			return err
		}
		return rq.multiget(&req)
	case carddav("addressbook-query"):
		var req queryReq
		if err := decodeXML(body, &req); err != nil {
			return err
		}
		return rq.query(&req)
	case dav("sync-collection"):
		var req syncReq
		if err := decodeXML(body, &req); err != nil {
			return err
		}
		return rq.syncCollection(&req)
	}
	return &httpError{status: http.StatusForbidden, cond: "supported-report", space: nsDAV,
		msg: fmt.Sprintf("REPORT %s is not supported (addressbook-multiget, addressbook-query and sync-collection are)", root.Local)}
}

func (rq *request) dataVersion(p *propNames) (string, bool) {
	if p == nil || p.AddressData == nil {
		return rq.version(nil), false
	}
	return rq.version(p.AddressData), true
}

func (rq *request) multiget(req *multigetReq) error {
	version, withData := rq.dataVersion(req.Prop)
	m := newMultistatus()
	saved := rq.t
	defer func() { rq.t = saved }()
	for _, href := range req.Hrefs {
		name, ok, err := rq.hrefCard(href)
		if err != nil {
			return err
		}
		if !ok {
			m.status(href, "404 Not Found")
			continue
		}
		rq.t.card = name
		c, ok, err := rq.loadCard(version)
		if err != nil {
			return err
		}
		if !ok {
			m.status(href, "404 Not Found")
			continue
		}
		respond(m, rq.cardResource(saved.book, c, withData), req.Prop)
	}
	return rq.multistatus(m)
}

func (rq *request) query(req *queryReq) error {
	match, err := compileFilter(&req.Filter)
	if err != nil {
		return err
	}
	version, withData := rq.dataVersion(req.Prop)
	limit := 0
	if req.Limit != nil {
		limit = req.Limit.NResults
	}
	m := newMultistatus()
	n := 0
	truncated := false
	err = rq.eachCard(version, func(c card) error {
		vc, err := Parse(c.data)
		if err != nil || !match(vc) {
			return nil
		}
		if limit > 0 && n >= limit {
			truncated = true
			return nil
		}
		n++
		respond(m, rq.cardResource(rq.t.book, c, withData), req.Prop)
		return nil
	})
	if err != nil {
		return err
	}
	if truncated {
		m.status(rq.bookURL(rq.t.book), "507 Insufficient Storage")
	}
	return rq.multistatus(m)
}

// compileFilter turns an addressbook-query filter (RFC 6352 section
// 10.5) into a predicate.
func compileFilter(f *queryFilter) (func(*Card) bool, error) {
	var preds []func(*Card) bool
	for _, pf := range f.PropFilters {
		p, err := compilePropFilter(pf)
		if err != nil {
			return nil, err
		}
		preds = append(preds, p)
	}
	all := strings.EqualFold(f.Test, "allof")
	return func(c *Card) bool {
		if len(preds) == 0 {
			return true
		}
		for _, p := range preds {
			if p(c) != all {
				return !all
			}
		}
		return all
	}, nil
}

func unsupportedFilter(msg string) error {
	return &httpError{status: http.StatusForbidden, cond: "supported-filter", space: nsCardDAV, msg: msg}
}

func compilePropFilter(pf propFilter) (func(*Card) bool, error) {
	name := strings.ToUpper(pf.Name)
	if name == "" {
		return nil, unsupportedFilter("prop-filter without a name")
	}
	if len(pf.ParamFilters) > 0 {
		return nil, unsupportedFilter("param-filter is not supported")
	}
	if pf.IsNotDefined != nil {
		return func(c *Card) bool { return c.Get(name) == nil }, nil
	}
	var tms []func(string) bool
	for _, tm := range pf.TextMatches {
		f, err := compileTextMatch(tm)
		if err != nil {
			return nil, err
		}
		tms = append(tms, f)
	}
	all := strings.EqualFold(pf.Test, "allof")
	return func(c *Card) bool {
		props := c.All(name)
		if len(props) == 0 {
			return false
		}
		if len(tms) == 0 {
			return true
		}
		for _, p := range props {
			v := p.Text()
			ok := all
			for _, tm := range tms {
				if tm(v) != all {
					ok = !all
					break
				}
			}
			if ok {
				return true
			}
		}
		return false
	}, nil
}

func compileTextMatch(tm textMatch) (func(string) bool, error) {
	var fold func(string) string
	switch tm.Collation {
	case "", "i;unicode-casemap":
		fold = strings.ToLower
	case "i;ascii-casemap":
		fold = func(s string) string {
			return strings.Map(func(r rune) rune {
				if r >= 'A' && r <= 'Z' {
					return r + 'a' - 'A'
				}
				return r
			}, s)
		}
	case "i;octet":
		fold = func(s string) string { return s }
	default:
		return nil, &httpError{status: http.StatusForbidden, cond: "supported-collation", space: nsCardDAV,
			msg: "collation " + tm.Collation + " is not supported"}
	}
	want := fold(tm.Text)
	var cmp func(string) bool
	switch tm.MatchType {
	case "", "contains":
		cmp = func(v string) bool { return strings.Contains(fold(v), want) }
	case "equals":
		cmp = func(v string) bool { return fold(v) == want }
	case "starts-with":
		cmp = func(v string) bool { return strings.HasPrefix(fold(v), want) }
	case "ends-with":
		cmp = func(v string) bool { return strings.HasSuffix(fold(v), want) }
	default:
		return nil, unsupportedFilter("match-type " + tm.MatchType + " is not supported")
	}
	if tm.Negate == "yes" {
		return func(v string) bool { return !cmp(v) }, nil
	}
	return cmp, nil
}

// Sync tokens (RFC 6578) are URIs naming the collection (a hash of its
// URL, so that a token of another collection or user is refused) and
// the LDAP Content Synchronization cookie (RFC 4533) of the user's sync
// search:
//
//	urn:x-switchboard:sync:<collection hash>:<base64url cookie>
const tokenPrefix = "urn:x-switchboard:sync:"

func (rq *request) collectionKey(book string) string {
	s := sha256.Sum256([]byte(rq.me.uuid + "/" + book))
	return hex.EncodeToString(s[:6])
}

func (rq *request) token(book string, cookie []byte) string {
	return tokenPrefix + rq.collectionKey(book) + ":" + base64.RawURLEncoding.EncodeToString(cookie)
}

func invalidToken(msg string) error {
	return &httpError{status: http.StatusForbidden, cond: "valid-sync-token", space: nsDAV, msg: msg}
}

func (rq *request) parseToken(book, tok string) ([]byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(tok), tokenPrefix)
	if !ok {
		return nil, invalidToken("not a sync token of this server")
	}
	key, c, ok := strings.Cut(rest, ":")
	if !ok || key != rq.collectionKey(book) {
		return nil, invalidToken("the sync token belongs to another collection")
	}
	cookie, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(cookie) == 0 {
		return nil, invalidToken("malformed sync token")
	}
	return cookie, nil
}

// syncSearch is the collection's LDAP search.
func (rq *request) syncSearch(book string, attrs []string) *goldap.SearchRequest {
	if book == directoryURL {
		return goldap.NewSearchRequest(rq.st.base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			rq.st.peopleFilter, attrs, nil)
	}
	return goldap.NewSearchRequest(rq.st.bookDN(book), goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass="+classCard+")", attrs, nil)
}

// syncResult is what a refreshOnly sync search returned.
type syncResult struct {
	entries []*goldap.Entry
	deleted []string // entryUUIDs
	cookie  []byte
}

// runSync runs a refreshOnly sync search (RFC 4533) over the user's own
// connection, so that the access rules decide what it returns.
func (rq *request) runSync(req *goldap.SearchRequest, cookie []byte) (*syncResult, error) {
	res := rq.st.conn.Syncrepl(rq.r.Context(), req, 64, goldap.SyncRequestModeRefreshOnly, cookie, false)
	out := &syncResult{}
	for res.Next() {
		if en := res.Entry(); en != nil {
			st := syncStateOf(res.Controls())
			if st != nil && st.State == goldap.SyncStateDelete {
				out.deleted = append(out.deleted, st.EntryUUID.String())
				continue
			}
			out.entries = append(out.entries, en)
			continue
		}
		for _, ctl := range res.Controls() {
			switch ctl := ctl.(type) {
			case *goldap.ControlSyncInfo:
				if ctl.SyncIdSet != nil {
					for _, u := range ctl.SyncIdSet.SyncUUIDs {
						out.deleted = append(out.deleted, u.String())
					}
				}
				if ctl.NewCookie != nil {
					out.cookie = ctl.NewCookie.Cookie
				}
			case *goldap.ControlSyncDone:
				out.cookie = ctl.Cookie
			}
		}
	}
	if err := res.Err(); err != nil {
		if goldap.IsErrorWithCode(err, 4096) {
			return nil, invalidToken("the sync token has expired: the change log no longer reaches back to it; sync again without a token")
		}
		if len(cookie) > 0 && goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
			return nil, invalidToken("more changes since this token than your search size limit; sync again without a token")
		}
		return nil, ldapError("sync search", err)
	}
	if len(out.cookie) == 0 {
		return nil, errors.New("sync search ended without a cookie")
	}
	return out, nil
}

func syncStateOf(ctls []goldap.Control) *goldap.ControlSyncState {
	for _, c := range ctls {
		if st, ok := c.(*goldap.ControlSyncState); ok {
			return st
		}
	}
	return nil
}

// currentToken is a token for the collection as it is now: the cookie
// of a sync search that matches nothing (a cookie is the change log's
// state, whatever the search).
func (rq *request) currentToken(book string) (string, error) {
	req := goldap.NewSearchRequest(rq.st.userDN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=*)(!(objectClass=*)))", []string{"1.1"}, nil)
	res, err := rq.runSync(req, nil)
	if err != nil {
		return "", err
	}
	return rq.token(book, res.cookie), nil
}

func (rq *request) syncCollection(req *syncReq) error {
	if rq.t.kind != tBook {
		return fail(http.StatusForbidden, "sync-collection is supported on address books")
	}
	if l := strings.TrimSpace(req.SyncLevel); l != "" && l != "1" {
		return &httpError{status: http.StatusForbidden, cond: "sync-traversal-supported", space: nsDAV,
			msg: "sync-level " + l + " is not supported; address books are flat (sync-level 1)"}
	}
	var cookie []byte
	if strings.TrimSpace(req.SyncToken) != "" {
		var err error
		if cookie, err = rq.parseToken(rq.t.book, req.SyncToken); err != nil {
			return err
		}
	}
	version, withData := rq.dataVersion(req.Prop)
	book := rq.t.book
	if cookie == nil {
		return rq.syncAll(book, version, withData, req.Prop)
	}
	attrs := cardAttrs
	if book == directoryURL {
		attrs = PersonAttrs
	}
	res, err := rq.runSync(rq.syncSearch(book, attrs), cookie)
	if err != nil {
		return err
	}
	m := newMultistatus()
	changed := map[string]bool{}
	for _, en := range res.entries {
		var c card
		if book == directoryURL {
			c = personCard(en, version)
		} else {
			c = cardOf(en)
		}
		if c.name == "" {
			continue
		}
		changed[c.name] = true
		respond(m, rq.cardResource(book, c, withData), req.Prop)
	}
	if len(res.deleted) > 0 {
		var names map[string]string
		var skip map[string]bool
		if book != directoryURL {
			names, err = rq.st.removed(book)
		} else {
			skip, err = rq.st.notPeople(res.deleted)
		}
		if err != nil {
			return err
		}
		for _, u := range res.deleted {
			u = strings.ToLower(u)
			if skip[u] {
				continue
			}
			name := u + ".vcf"
			if book != directoryURL {
				var ok bool
				if name, ok = names[u]; !ok {
					// Deleted other than through CardDAV: its name is
					// unknown, so the client must list the book again.
					return invalidToken("a card was removed by other means since this token; sync again without a token")
				}
			}
			if !changed[name] {
				m.status(rq.cardURL(book, name), "404 Not Found")
			}
		}
	}
	m.syncToken(rq.token(book, res.cookie))
	return rq.multistatus(m)
}

// syncAll answers a sync-collection without a token: every card, listed
// as PROPFIND lists them (in pages, so the user's size limit does not cut
// the list short), and a token taken before the listing, so that a change
// made meanwhile is reported again rather than missed.
func (rq *request) syncAll(book, version string, withData bool, want *propNames) error {
	tok, err := rq.currentToken(book)
	if err != nil {
		return err
	}
	m := newMultistatus()
	err = rq.eachCard(version, func(c card) error {
		respond(m, rq.cardResource(book, c, withData), want)
		return nil
	})
	if err != nil {
		return err
	}
	m.syncToken(tok)
	return rq.multistatus(m)
}
