package carddav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-ldap/switchboard/web"
)

// Defaults for Config's zero fields.
const (
	DefaultPrefix          = "/dav/"
	DefaultMaxCardBytes    = 256 << 10 // below limits.max_value_bytes (512 KiB)
	DefaultMaxPhotoBytes   = 128 << 10
	DefaultMaxRequestBytes = 8 << 20
	DefaultPeopleFilter    = "(objectClass=inetOrgPerson)"
)

// Config configures a Handler.
type Config struct {
	Base            string // the naming context: the directory book's search base
	Prefix          string // URL path prefix, with slashes; "": DefaultPrefix
	MaxCardBytes    int64  // largest vCard a PUT may store
	MaxPhotoBytes   int    // largest PHOTO (decoded) in a stored vCard
	MaxRequestBytes int64  // largest PROPFIND or REPORT body (clients multiget a whole book at once)
	PeopleFilter    string // LDAP filter of the directory book's people
	Logger          *slog.Logger
}

// A Handler serves CardDAV. Mount it with Mount.
type Handler struct {
	cfg Config
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(cfg.Prefix, "/") || !strings.HasSuffix(cfg.Prefix, "/") {
		return nil, fmt.Errorf("carddav: prefix %q must begin and end with /", cfg.Prefix)
	}
	if cfg.MaxCardBytes <= 0 {
		cfg.MaxCardBytes = DefaultMaxCardBytes
	}
	if cfg.MaxPhotoBytes <= 0 {
		cfg.MaxPhotoBytes = DefaultMaxPhotoBytes
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if cfg.PeopleFilter == "" {
		cfg.PeopleFilter = DefaultPeopleFilter
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg}, nil
}

// Mount mounts the handler on s: the prefix behind HTTP Basic, and the
// discovery redirect /.well-known/carddav (RFC 6764).
func (h *Handler) Mount(s *web.Server) {
	s.Handle("/.well-known/carddav", http.RedirectHandler(h.cfg.Prefix, http.StatusMovedPermanently))
	s.Handle(h.cfg.Prefix, s.Basic("Switchboard CardDAV", writeError, h))
}

// writeError is the web.ErrorWriter of the surface.
func writeError(w http.ResponseWriter, _ *http.Request, status int, msg string) {
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(status)
	w.Write(davError("", "", msg))
}

// A target is what a request path names.
type target struct {
	kind   int
	userID string // the principal's entryUUID
	book   string // book segment
	card   string // card segment
}

const (
	tRoot = iota
	tHome
	tBook
	tCard
)

// parsePath maps a path below the prefix to a target; a path with a
// segment that could climb out ("..", ".", empty) or carries control
// characters is refused.
func (h *Handler) parsePath(p string) (target, error) {
	rest, ok := strings.CutPrefix(p, h.cfg.Prefix)
	if !ok {
		if p+"/" == h.cfg.Prefix {
			return target{kind: tRoot}, nil
		}
		return target{}, fail(http.StatusNotFound, "not found")
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return target{kind: tRoot}, nil
	}
	segs := strings.Split(rest, "/")
	for _, s := range segs {
		if err := checkSegment(s); err != nil {
			return target{}, err
		}
	}
	if segs[0] != "u" || len(segs) < 2 || len(segs) > 4 {
		return target{}, fail(http.StatusNotFound, "not found")
	}
	t := target{kind: tHome, userID: segs[1]}
	if len(segs) > 2 {
		t.kind, t.book = tBook, segs[2]
	}
	if len(segs) > 3 {
		t.kind, t.card = tCard, segs[3]
	}
	return t, nil
}

func checkSegment(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return fail(http.StatusBadRequest, "a path segment is empty, \".\" or \"..\"")
	case len(s) > 255:
		return fail(http.StatusBadRequest, "a path segment is longer than 255 bytes")
	case !utf8.ValidString(s):
		return fail(http.StatusBadRequest, "a path segment is not UTF-8")
	case strings.ContainsAny(s, "\\"):
		return fail(http.StatusBadRequest, "a path segment contains a backslash")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fail(http.StatusBadRequest, "a path segment contains a control character")
		}
	}
	return nil
}

// request is one request in progress.
type request struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	st    *store
	me    me
	t     target
	depth int
}

func (rq *request) homeURL() string { return rq.h.cfg.Prefix + "u/" + rq.me.uuid + "/" }
func (rq *request) bookURL(b string) string {
	return rq.homeURL() + url.PathEscape(b) + "/"
}
func (rq *request) cardURL(b, c string) string { return rq.bookURL(b) + url.PathEscape(c) }

// ServeHTTP implements http.Handler; it runs behind web.Server.Basic.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	se, ok := web.SessionFrom(r.Context())
	if !ok {
		writeError(w, r, http.StatusUnauthorized, "authentication required")
		return
	}
	w.Header().Set("DAV", "1, 3, addressbook")
	rq := &request{h: h, w: w, r: r, st: &store{conn: se.Conn(), base: h.cfg.Base, peopleFilter: h.cfg.PeopleFilter, userDN: se.DN}}
	if err := rq.serve(); err != nil {
		rq.fail(err)
	}
}

func (rq *request) fail(err error) {
	var he *httpError
	if !errors.As(err, &he) {
		var bx *errBadXML
		if errors.As(err, &bx) {
			he = fail(http.StatusBadRequest, bx.msg)
		} else {
			rq.h.cfg.Logger.Warn("carddav: request failed", "method", rq.r.Method, "path", rq.r.URL.Path, "err", err)
			he = fail(http.StatusInternalServerError, "the request failed; the server's log says why")
		}
	}
	rq.w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	rq.w.WriteHeader(he.status)
	rq.w.Write(davError(he.space, he.cond, he.msg))
}

func (rq *request) serve() error {
	t, err := rq.h.parsePath(rq.r.URL.Path)
	if err != nil {
		return err
	}
	rq.t = t
	if rq.me, err = rq.st.me(); err != nil {
		return err
	}
	if t.kind != tRoot && t.userID != rq.me.uuid {
		return fail(http.StatusNotFound, "no such principal (each user sees only their own)")
	}
	switch rq.r.Method {
	case http.MethodOptions:
		rq.w.Header().Set("Allow", "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, REPORT")
		rq.w.WriteHeader(http.StatusOK)
		return nil
	case "PROPFIND":
		return rq.propfind()
	case "REPORT":
		return rq.report()
	case http.MethodGet, http.MethodHead:
		return rq.get()
	case http.MethodPut:
		return rq.put()
	case http.MethodDelete:
		return rq.delete()
	case "PROPPATCH", "MKCOL", "MOVE", "COPY", "LOCK", "UNLOCK":
		return &httpError{status: http.StatusForbidden, cond: "need-privileges", space: nsDAV,
			msg: rq.r.Method + " is not supported here: address books are created by the server and cards are written with PUT"}
	}
	return fail(http.StatusMethodNotAllowed, "method "+rq.r.Method+" not allowed")
}

// readBody reads a request body of at most limit bytes.
func (rq *request) readBody(limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(rq.w, rq.r.Body, limit))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge, cond: "max-resource-size", space: nsCardDAV,
			msg: fmt.Sprintf("%s larger than %d bytes", what, limit)}
	}
	if err != nil {
		return nil, fail(http.StatusBadRequest, "reading the request body: "+err.Error())
	}
	return b, nil
}

func (rq *request) xmlBody() ([]byte, error) {
	b, err := rq.readBody(rq.h.cfg.MaxRequestBytes, "request body")
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, errNoBody
	}
	// An element takes at least four bytes (<a/>); a multiget of every
	// card of a large book is one body of many hrefs.
	if err := checkXML(b, int(rq.h.cfg.MaxRequestBytes/4)); err != nil {
		return nil, err
	}
	return b, nil
}

// parseDepth reads the Depth header: 0 or 1 (default def); infinity is
// refused with propfind-finite-depth (RFC 4918 section 9.1).
func (rq *request) parseDepth(def int) error {
	switch d := strings.TrimSpace(rq.r.Header.Get("Depth")); strings.ToLower(d) {
	case "":
		rq.depth = def
	case "0":
		rq.depth = 0
	case "1":
		rq.depth = 1
	case "infinity":
		return &httpError{status: http.StatusForbidden, cond: "propfind-finite-depth", space: nsDAV,
			msg: "Depth: infinity is not supported; use Depth: 0 or 1"}
	default:
		return fail(http.StatusBadRequest, "bad Depth header "+strconv.Quote(d))
	}
	return nil
}

// version picks the vCard version to serve: from address-data's version
// attribute, else the Accept header, else 3.0 (what most clients expect).
func (rq *request) version(ad *addressDataReq) string {
	if ad != nil && ad.Version != "" {
		if ad.Version == Version4 {
			return Version4
		}
		return Version3
	}
	for _, part := range strings.Split(rq.r.Header.Get("Accept"), ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "text/vcard" || mt == "text/x-vcard") && params["version"] == Version4 {
			return Version4
		}
	}
	return Version3
}

// cardVersion is the version for serving a directory card.
func (rq *request) isDirectory() bool { return rq.t.book == directoryURL }

var directoryCard = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.vcf$`)

// loadCard reads the target card; ok is false when it does not exist.
func (rq *request) loadCard(version string) (card, bool, error) {
	if rq.isDirectory() {
		m := directoryCard.FindStringSubmatch(strings.ToLower(rq.t.card))
		if m == nil {
			return card{}, false, nil
		}
		c, err := rq.st.person(version, m[1])
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusNotFound {
			return card{}, false, nil
		}
		return c, err == nil, err
	}
	return rq.st.card(rq.t.book, rq.t.card)
}

func (rq *request) get() error {
	if rq.t.kind != tCard {
		rq.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rq.w.WriteHeader(http.StatusOK)
		if rq.r.Method == http.MethodGet {
			io.WriteString(rq.w, "Switchboard CardDAV: add this server's address to a contacts app.\n")
		}
		return nil
	}
	c, ok, err := rq.loadCard(rq.version(nil))
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusNotFound, "no such card")
	}
	if m := rq.r.Header.Get("If-None-Match"); m != "" && etagMatches(m, c.etag) {
		rq.w.Header().Set("ETag", c.etag)
		rq.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	ct := "text/vcard; charset=utf-8"
	if bytes.Contains(c.data, []byte("VERSION:4.0")) {
		ct = "text/vcard; charset=utf-8; version=4.0"
	}
	rq.w.Header().Set("Content-Type", ct)
	rq.w.Header().Set("ETag", c.etag)
	rq.w.Header().Set("Content-Length", strconv.Itoa(len(c.data)))
	rq.w.WriteHeader(http.StatusOK)
	if rq.r.Method == http.MethodGet {
		rq.w.Write(c.data)
	}
	return nil
}

// etagMatches reports whether an If-Match or If-None-Match header
// matches etag ("*" matches any).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

func (rq *request) readOnly() error {
	return &httpError{status: http.StatusForbidden, cond: "need-privileges", space: nsDAV,
		msg: "the directory address book is read-only; change people through the directory"}
}

func (rq *request) put() error {
	if rq.t.kind != tCard {
		return fail(http.StatusMethodNotAllowed, "PUT a card into an address book")
	}
	if rq.isDirectory() {
		return rq.readOnly()
	}
	if ct := rq.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "text/vcard" && mt != "text/x-vcard" && mt != "text/directory" {
			return &httpError{status: http.StatusUnsupportedMediaType, cond: "supported-address-data", space: nsCardDAV,
				msg: "a card must be text/vcard, not " + ct}
		}
	}
	data, err := rq.readBody(rq.h.cfg.MaxCardBytes, "card")
	if err != nil {
		return err
	}
	if _, err := (Limits{rq.h.cfg.MaxCardBytes, rq.h.cfg.MaxPhotoBytes}).Check(data); err != nil {
		if errors.Is(err, ErrCardTooLarge) {
			return &httpError{status: http.StatusRequestEntityTooLarge, cond: "max-resource-size", space: nsCardDAV,
				msg: strings.TrimPrefix(err.Error(), ErrCardTooLarge.Error()+": ")}
		}
		return &httpError{status: http.StatusBadRequest, cond: "valid-address-data", space: nsCardDAV, msg: err.Error()}
	}
	ok, err := rq.st.bookExists(rq.t.book)
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusConflict, "no such address book")
	}
	old, exists, err := rq.st.card(rq.t.book, rq.t.card)
	if err != nil {
		return err
	}
	if m := rq.r.Header.Get("If-Match"); m != "" && (!exists || !etagMatches(m, old.etag)) {
		return fail(http.StatusPreconditionFailed, "If-Match: the card has changed or does not exist")
	}
	if m := rq.r.Header.Get("If-None-Match"); m != "" && exists && etagMatches(m, old.etag) {
		return fail(http.StatusPreconditionFailed, "If-None-Match: the card exists")
	}
	if err := rq.st.putCard(rq.t.book, rq.t.card, data, exists); err != nil {
		return err
	}
	rq.w.Header().Set("ETag", etagOf(data))
	if exists {
		rq.w.WriteHeader(http.StatusNoContent)
	} else {
		rq.w.WriteHeader(http.StatusCreated)
	}
	return nil
}

func (rq *request) delete() error {
	if rq.t.kind != tCard {
		return &httpError{status: http.StatusForbidden, cond: "need-privileges", space: nsDAV, msg: "only cards can be deleted"}
	}
	if rq.isDirectory() {
		return rq.readOnly()
	}
	c, ok, err := rq.st.card(rq.t.book, rq.t.card)
	if err != nil {
		return err
	}
	if !ok {
		return fail(http.StatusNotFound, "no such card")
	}
	if m := rq.r.Header.Get("If-Match"); m != "" && !etagMatches(m, c.etag) {
		return fail(http.StatusPreconditionFailed, "If-Match: the card has changed")
	}
	if err := rq.st.deleteCard(rq.t.book, c); err != nil {
		return err
	}
	rq.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (rq *request) multistatus(m *multistatus) error {
	rq.w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	rq.w.WriteHeader(http.StatusMultiStatus)
	_, err := rq.w.Write(m.bytes())
	return err
}

// names of properties.
func dav(local string) xml.Name     { return xml.Name{Space: nsDAV, Local: local} }
func carddav(local string) xml.Name { return xml.Name{Space: nsCardDAV, Local: local} }
