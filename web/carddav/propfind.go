package carddav

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// A resource is what PROPFIND describes: its URL and properties.
type resource struct {
	href  string
	props map[xml.Name]string // inner XML, escaped
}

func hrefXML(u string) string { return "<D:href>" + escape(u) + "</D:href>" }

func (rq *request) commonProps(props map[xml.Name]string) {
	props[dav("current-user-principal")] = hrefXML(rq.homeURL())
	props[dav("owner")] = hrefXML(rq.homeURL())
}

func (rq *request) rootResource() resource {
	props := map[xml.Name]string{
		dav("resourcetype"): "<D:collection/>",
		dav("displayname"):  "Switchboard",
	}
	props[dav("current-user-principal")] = hrefXML(rq.homeURL())
	props[dav("current-user-privilege-set")] = "<D:privilege><D:read/></D:privilege>"
	return resource{href: rq.h.cfg.Prefix, props: props}
}

func (rq *request) homeResource() resource {
	props := map[xml.Name]string{
		dav("resourcetype"):               "<D:collection/><D:principal/>",
		dav("displayname"):                escape(rq.me.name),
		dav("principal-URL"):              hrefXML(rq.homeURL()),
		carddav("addressbook-home-set"):   hrefXML(rq.homeURL()),
		dav("current-user-privilege-set"): "<D:privilege><D:read/></D:privilege>",
	}
	rq.commonProps(props)
	return resource{href: rq.homeURL(), props: props}
}

func (rq *request) bookResource(book, token string) resource {
	props := map[xml.Name]string{
		dav("resourcetype"): "<D:collection/><C:addressbook/>",
		carddav("supported-address-data"): `<C:address-data-type content-type="text/vcard" version="3.0"/>` +
			`<C:address-data-type content-type="text/vcard" version="4.0"/>`,
		carddav("max-resource-size"): strconv.FormatInt(rq.h.cfg.MaxCardBytes, 10),
		dav("supported-report-set"): "<D:supported-report><D:report><C:addressbook-multiget/></D:report></D:supported-report>" +
			"<D:supported-report><D:report><C:addressbook-query/></D:report></D:supported-report>" +
			"<D:supported-report><D:report><D:sync-collection/></D:report></D:supported-report>",
		dav("sync-token"):                       escape(token),
		xml.Name{Space: nsCS, Local: "getctag"}: escape(token),
	}
	if book == directoryURL {
		props[dav("displayname")] = "Directory"
		props[carddav("addressbook-description")] = "Everyone in the directory you may see (read-only)"
		props[dav("current-user-privilege-set")] = "<D:privilege><D:read/></D:privilege>"
	} else {
		props[dav("displayname")] = escape(book)
		props[carddav("addressbook-description")] = "Personal address book"
		props[dav("current-user-privilege-set")] = "<D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege>" +
			"<D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>"
	}
	rq.commonProps(props)
	return resource{href: rq.bookURL(book), props: props}
}

func (rq *request) cardResource(book string, c card, withData bool) resource {
	props := map[xml.Name]string{
		dav("resourcetype"):     "",
		dav("getetag"):          escape(c.etag),
		dav("getcontenttype"):   "text/vcard; charset=utf-8",
		dav("getcontentlength"): strconv.Itoa(len(c.data)),
	}
	if withData {
		props[carddav("address-data")] = escape(string(c.data))
	}
	return resource{href: rq.cardURL(book, c.name), props: props}
}

// respond writes res into m with the properties asked (nil: all but
// address-data, as allprop).
func respond(m *multistatus, res resource, want *propNames) {
	var out []prop
	if want == nil {
		for n, v := range res.props {
			if n == carddav("address-data") {
				continue
			}
			out = append(out, prop{name: n, inner: v})
		}
	} else {
		for _, n := range want.Names {
			v, ok := res.props[n]
			out = append(out, prop{name: n, inner: v, missing: !ok})
		}
	}
	m.response(res.href, out)
}

func (rq *request) propfind() error {
	if err := rq.parseDepth(1); err != nil {
		return err
	}
	var want *propNames
	body, err := rq.xmlBody()
	switch {
	case errors.Is(err, errNoBody):
	case err != nil:
		return err
	default:
		var req propfindReq
		if err := decodeXML(body, &req); err != nil {
			return err
		}
		want = req.Prop
	}
	withData := want != nil && want.AddressData != nil
	version := rq.version(nil)
	if want != nil && want.AddressData != nil {
		version = rq.version(want.AddressData)
	}
	m := newMultistatus()
	switch rq.t.kind {
	case tRoot:
		respond(m, rq.rootResource(), want)
		if rq.depth > 0 {
			respond(m, rq.homeResource(), want)
		}
	case tHome:
		respond(m, rq.homeResource(), want)
		if rq.depth > 0 {
			books, err := rq.books()
			if err != nil {
				return err
			}
			for _, b := range books {
				tok, err := rq.currentToken(b)
				if err != nil {
					return err
				}
				respond(m, rq.bookResource(b, tok), want)
			}
		}
	case tBook:
		if err := rq.checkBook(); err != nil {
			return err
		}
		tok, err := rq.currentToken(rq.t.book)
		if err != nil {
			return err
		}
		respond(m, rq.bookResource(rq.t.book, tok), want)
		if rq.depth > 0 {
			err := rq.eachCard(version, func(c card) error {
				respond(m, rq.cardResource(rq.t.book, c, withData), want)
				return nil
			})
			if err != nil {
				return err
			}
		}
	case tCard:
		c, ok, err := rq.loadCard(version)
		if err != nil {
			return err
		}
		if !ok {
			return fail(http.StatusNotFound, "no such card")
		}
		respond(m, rq.cardResource(rq.t.book, c, withData), want)
	}
	return rq.multistatus(m)
}

// books lists the user's books, the directory first; a user without a
// personal book gets one ("contacts") if the access rules allow it.
func (rq *request) books() ([]string, error) {
	own, err := rq.st.books()
	if err != nil {
		return nil, err
	}
	if len(own) == 0 {
		if err := rq.st.createBook(defaultBook); err == nil {
			own = []string{defaultBook}
		} else {
			rq.h.cfg.Logger.Debug("carddav: no personal address book", "user", rq.me.dn, "err", err)
		}
	}
	out := []string{directoryURL}
	for _, b := range own {
		if b != directoryURL && checkSegment(b) == nil {
			out = append(out, b)
		}
	}
	return out, nil
}

// checkBook fails unless the target's book exists.
func (rq *request) checkBook() error {
	if rq.isDirectory() {
		return nil
	}
	ok, err := rq.st.bookExists(rq.t.book)
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusNotFound, "no such address book")
	}
	return nil
}

// eachCard calls fn for every card of the target's book.
func (rq *request) eachCard(version string, fn func(card) error) error {
	if rq.isDirectory() {
		return rq.st.listPeople(rq.r.Context(), version, fn)
	}
	return rq.st.cards(rq.t.book, fn)
}

// hrefCard resolves an href of a multiget to a card segment of the
// target's book; ok is false for an href of another collection.
func (rq *request) hrefCard(href string) (string, bool, error) {
	p := href
	if i := strings.Index(p, "://"); i >= 0 {
		rest := p[i+3:]
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			return "", false, nil
		}
		p = rest[j:]
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	dec, err := unescapePath(p)
	if err != nil {
		return "", false, fail(http.StatusBadRequest, "bad href "+strconvQuote(href)+": "+err.Error())
	}
	t, err := rq.h.parsePath(dec)
	if err != nil {
		return "", false, fail(http.StatusBadRequest, "bad href "+strconvQuote(href)+": "+err.Error())
	}
	if t.kind != tCard || t.userID != rq.me.uuid || t.book != rq.t.book {
		return "", false, nil
	}
	return t.card, true, nil
}

func strconvQuote(s string) string {
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return strconv.Quote(s)
}
