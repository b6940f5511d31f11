// Package console is the IT administrators' web console, served at / on
// the public HTTP listener (package web): server-rendered pages over
// html/template, with every asset embedded in the binary and a little
// plain JavaScript in a static file (search as you type) that the pages
// do without.
//
// # Model
//
// A console user logs in with a login form (uid, mail or DN and the
// directory password); web.Server.Open binds an LDAP connection as the
// user over the in-process pipe, and the console keeps it, server-side,
// in a session named by a random cookie. Every page reads and writes the
// directory through that connection, so what an administrator may see
// and do is what the directory's access rules allow the bound DN, and a
// change made here is an ordinary LDAP write (audited, replicated,
// checked by the password policy). The console decides nothing about
// rights itself, except for the server and replication pages, which show
// state that is not in the directory: those ask Operations.Allowed, the
// admin API's rule (the root DN or a member of the admin group).
//
// # Security
//
// The session cookie is HttpOnly, SameSite=Strict and Secure over TLS;
// only a hash of its value is kept. Sessions end after SessionIdle
// without use, after SessionMaxAge, at logout, and as soon as the
// account is locked (pwdAccountLockedTime) or its entry is gone: each
// request reads the user's own entry through the user's connection
// first. Every form carries the session's CSRF token (the login form a
// token in a cookie of its own), checked on every POST, and a POST whose
// Origin header names another site is refused. Every response carries a
// Content-Security-Policy without inline script or style; output is
// escaped by html/template.
//
// # Pages
//
//	/people, /groups      search (as you type), paged list
//	/entry?dn=            an entry, its groups (nested), members, account state
//	/new?kind=            create a person or group from the subschema
//	/edit?dn=             edit an entry's attributes from the subschema
//	/rename?dn=           rename or move
//	/delete?dn=           delete, after confirmation
//	/password?dn=         set or reset a password (Password Modify), with the policy
//	/lock, /unlock        lock (pwdAccountLockedTime) or unlock an account
//	/members              add or remove a group member
//	/replication          replication peers and lag (Operations)
//	/federation           federation exports and imports and their state (Operations)
//	/server               listeners, certificate expiry, store size, index build (Operations)
//	/audit                audit log records by who, what, when; chain state (Operations)
package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/web"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults for the Config's zero fields.
const (
	DefaultSessionIdle   = 30 * time.Minute
	DefaultSessionMaxAge = 12 * time.Hour
)

// Operations is what the console shows of the server beyond the
// directory's entries; cmd/switchboard provides it.
type Operations interface {
	// Allowed reports whether dn may see the server's state (the admin
	// API's rule for a read).
	Allowed(ctx context.Context, dn string) bool
	// Replication is the replication state; nil without replication.
	Replication(ctx context.Context) *Replication
	// Server is the server's listeners, certificates and store.
	Server(ctx context.Context) *ServerState
	// Audit is the audit log's newest records and, with verify, the
	// state of its hash chain; nil when the audit log is off.
	Audit(ctx context.Context, verify bool) (*AuditLog, error)
	// Federation is the federation agreements: what partners fetch of
	// this directory and what it copies of theirs; nil without
	// federation.
	Federation(ctx context.Context) *Federation
}

// Federation is the federation agreements as the console shows them.
// Their names, filters, DNs and errors come from the admin API and from
// partners' servers; the page shows them as text.
type Federation struct {
	Exports []Export
	Imports []Import
}

// Export is what a partner may fetch of this directory, and what it did.
type Export struct {
	Partner        string // the export's name; the partner binds as BindDN
	BindDN         string
	Base, Scope    string
	Filter         string
	Attributes     []string
	Withheld       []string // listed but never shared
	ReshareImports bool
	EntriesSent    int64
	Searches       int64
	LastBind       time.Time
	LastFetch      time.Time
}

// Import is a copy of a partner's export kept here, and its consumer's
// state.
type Import struct {
	Name                  string
	Source                string // the provider's URL
	RemoteBase, LocalBase string
	Filter                string
	Interval              time.Duration // 0: refreshAndPersist
	State                 string
	Entries               int
	// LastChange is when a change from the source was last applied:
	// how far behind the copy may be (the consumer does not learn the
	// source's newest change, so this is the only lag it knows).
	LastChange  time.Time
	LastError   string
	LastErrorAt time.Time
	Failure     string    // why the source refused the import for good
	PurgeAt     time.Time // when a failed import's copy goes
}

// Replication is a replica's state as the console shows it.
type Replication struct {
	ReplicaID uint16
	Settled   bool
	Entries   int
	Conflicts int
	Diverged  []string
	Peers     []Peer
}

// Peer is a replication peer: the state of pulling from it, and the lag
// both ways.
type Peer struct {
	Name, URL, State string
	Paused           bool
	Error            string
	LastPull         time.Time
	ReplicaID        uint16
	// LagChanges, LagSeconds: what this replica lacks of the peer;
	// PeerLacks*: what the peer lacks of this one.
	LagChanges       int
	LagSeconds       float64
	PeerLacksChanges int
	PeerLacksSeconds float64
}

// ServerState is the server page's content.
type ServerState struct {
	Version    string
	Started    time.Time
	Listeners  []Listener
	Certs      []Cert
	Entries    int64
	StoreBytes int64
	DiskGuard  bool // the free-space guard measures the disk
	DiskFull   bool
	Headroom   int64
	// IndexBuild is the background build of indexes the configuration
	// added; nil when none ran since the server started.
	IndexBuild *IndexBuild
}

// IndexBuild is the progress of a background index build: the planner
// uses the new indexes once it has covered every entry.
type IndexBuild struct {
	Running     bool
	Done, Total int64  // entries covered, and the entries when it began
	Error       string // why it failed: the new indexes stay unused
}

// Percent is how far the build is, 0 to 100. Total is the entry count
// when the build began, so entries added since can take Done past it; a
// running build shows at most 99.
func (b *IndexBuild) Percent() int64 {
	p := int64(100)
	if b.Total > 0 {
		p = min(100, b.Done*100/b.Total)
	}
	if b.Running {
		p = min(p, 99)
	}
	return p
}

// Listener is one of the server's listening sockets.
type Listener struct {
	Name, Addr string
	TLS        bool
}

// Cert is a certificate the server presents.
type Cert struct {
	Use, Subject string
	NotAfter     time.Time
}

// Config configures the console.
type Config struct {
	Web        *web.Server // the listener the console is mounted on; its sessions are the console's
	Operations Operations  // nil: no server or replication pages
	// DefaultPolicy is the DN of the password policy that governs
	// entries without pwdPolicySubentry (overlays.ppolicy.default).
	DefaultPolicy string
	Logger        *slog.Logger
	SessionIdle   time.Duration // 0: DefaultSessionIdle
	SessionMaxAge time.Duration // 0: DefaultSessionMaxAge
}

// A Console is the web console's http.Handler.
type Console struct {
	cfg   Config
	mux   http.ServeMux
	pages map[string]*template.Template

	mu       sync.Mutex
	sessions map[[32]byte]*session
	swept    time.Time

	schemaMu sync.Mutex
	schema   *schemaCache
}

// New returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Web == nil {
		return nil, errors.New("console: no web server")
	}
	c := &Console{cfg: cfg, sessions: map[[32]byte]*session{}}
	if err := c.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	fileServer := http.StripPrefix("/static/", http.FileServerFS(static))
	c.mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		fileServer.ServeHTTP(w, r)
	}))
	c.mux.HandleFunc("GET /login", c.loginForm)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.Handle("POST /logout", c.auth(c.logout))
	c.mux.Handle("GET /{$}", c.auth(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, "/people", http.StatusSeeOther)
	}))
	c.mux.Handle("GET /people", c.auth(c.list(kindPerson)))
	c.mux.Handle("GET /groups", c.auth(c.list(kindGroup)))
	c.mux.Handle("GET /entry", c.auth(c.view))
	c.mux.Handle("GET /new", c.auth(c.newForm))
	c.mux.Handle("POST /new", c.auth(c.create))
	c.mux.Handle("GET /edit", c.auth(c.editForm))
	c.mux.Handle("POST /edit", c.auth(c.edit))
	c.mux.Handle("GET /rename", c.auth(c.renameForm))
	c.mux.Handle("POST /rename", c.auth(c.rename))
	c.mux.Handle("GET /delete", c.auth(c.deleteForm))
	c.mux.Handle("POST /delete", c.auth(c.delete))
	c.mux.Handle("GET /password", c.auth(c.passwordForm))
	c.mux.Handle("POST /password", c.auth(c.setPassword))
	c.mux.Handle("POST /lock", c.auth(c.lock(true)))
	c.mux.Handle("POST /unlock", c.auth(c.lock(false)))
	c.mux.Handle("POST /members", c.auth(c.members))
	c.mux.Handle("GET /replication", c.auth(c.replication))
	c.mux.Handle("GET /server", c.auth(c.server))
	c.mux.Handle("GET /federation", c.auth(c.federation))
	c.mux.Handle("GET /audit", c.auth(c.audit))
	return c, nil
}

// contentSecurityPolicy allows the console's own scripts, styles and
// images and nothing else: no inline script or style, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxForm bounds a form's body.
const maxForm = 1 << 20

// ServeHTTP implements http.Handler.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" with the console's own forms.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodPost {
		if !sameOrigin(r) {
			c.fail(w, r, nil, http.StatusForbidden, "This form was sent from another site and was refused.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	}
	c.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a request's Origin header, when it has one,
// names the host it was sent to ("null", from a sandboxed or privacy-
// stripped context, does not).
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (c *Console) logger() *slog.Logger {
	if c.cfg.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.cfg.Logger
}

// A session is a logged-in user: the LDAP connection bound as the user,
// and the CSRF token of the user's forms.
type session struct {
	key      [32]byte
	web      *web.Session
	csrf     string
	hasEntry bool // the bound DN names an entry (the root DN need not)
	born     time.Time
	mu       sync.Mutex
	used     time.Time
}

func (s *session) conn() *goldap.Conn { return s.web.Conn() }

// DN is the logged-in DN.
func (s *session) DN() string { return s.web.DN }

const (
	sessionCookie = "switchboard_console"
	loginCookie   = "switchboard_console_login" // the login form's CSRF token
)

// randomToken is 32 random bytes in base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func cookieKey(v string) [32]byte { return sha256.Sum256([]byte(v)) }

func tokenEqual(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// A handlerFunc is a page's handler, for a logged-in user.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session)

// auth runs h for a request with a live session (else redirects to the
// login form), after checking the CSRF token of a POST.
func (c *Console) auth(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, why := c.session(r)
		if s == nil {
			if why != "" {
				http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
			}
			q := url.Values{}
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				q.Set("next", r.URL.RequestURI())
			}
			if why != "" {
				q.Set("why", why)
			}
			u := "/login"
			if len(q) > 0 {
				u += "?" + q.Encode()
			}
			if r.Header.Get("X-Requested-With") == "fetch" {
				w.Header().Set("X-Login", u)
				http.Error(w, "login required", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && r.ParseForm() != nil {
			c.fail(w, r, s, http.StatusRequestEntityTooLarge, "The form could not be read (at most 1 MiB is taken); nothing was changed.")
			return
		}
		if r.Method == http.MethodPost && !tokenEqual(r.PostFormValue("csrf"), s.csrf) {
			c.fail(w, r, s, http.StatusForbidden, "This form has no valid security token (it may come from another site, or the page is stale). Nothing was changed; reload the page and try again.")
			return
		}
		h(w, r, s)
	})
}

// Reasons a session ended, shown on the login form.
const (
	whyExpired = "expired"
	whyLocked  = "locked"
)

// session returns the request's live session, or nil and, if the request
// named one that just ended, why.
func (c *Console) session(r *http.Request) (*session, string) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, ""
	}
	key := cookieKey(ck.Value)
	now := time.Now()
	c.mu.Lock()
	c.sweep(now)
	s := c.sessions[key]
	c.mu.Unlock()
	if s == nil {
		return nil, whyExpired
	}
	s.mu.Lock()
	stale := now.Sub(s.used) > or(c.cfg.SessionIdle, DefaultSessionIdle) || now.Sub(s.born) > or(c.cfg.SessionMaxAge, DefaultSessionMaxAge)
	s.used = now
	s.mu.Unlock()
	if stale || s.conn().IsClosing() {
		c.end(s)
		return nil, whyExpired
	}
	if !c.accountActive(r.Context(), s) {
		c.end(s)
		return nil, whyLocked
	}
	return s, ""
}

// accountActive reads the user's own entry through the user's
// connection: gone (or no longer visible), or carrying
// pwdAccountLockedTime, the account may no longer act. A lock whose
// pwdLockoutDuration has run out counts until the next login clears it.
func (c *Console) accountActive(ctx context.Context, s *session) bool {
	if !s.hasEntry {
		return true
	}
	res, err := s.conn().Search(goldap.NewSearchRequest(s.DN(), goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"pwdAccountLockedTime"}, nil))
	if err != nil || len(res.Entries) != 1 {
		c.logger().Info("console: session ended: the account's entry is gone", "dn", s.DN(), "err", err)
		return false
	}
	if res.Entries[0].GetAttributeValue("pwdAccountLockedTime") != "" {
		c.logger().Info("console: session ended: the account is locked", "dn", s.DN())
		return false
	}
	return true
}

// end forgets a session and closes its connection.
func (c *Console) end(s *session) {
	c.mu.Lock()
	delete(c.sessions, s.key)
	c.mu.Unlock()
	s.web.Close()
}

// sweep ends idle and old sessions, once a minute at most; the caller
// holds c.mu.
func (c *Console) sweep(now time.Time) {
	if now.Sub(c.swept) < time.Minute {
		return
	}
	c.swept = now
	idle, maxAge := or(c.cfg.SessionIdle, DefaultSessionIdle), or(c.cfg.SessionMaxAge, DefaultSessionMaxAge)
	for k, s := range c.sessions {
		s.mu.Lock()
		stale := now.Sub(s.used) > idle || now.Sub(s.born) > maxAge
		s.mu.Unlock()
		if stale {
			delete(c.sessions, k)
			go s.web.Close()
		}
	}
}

// Close ends every session.
func (c *Console) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.sessions {
		delete(c.sessions, k)
		s.web.Close()
	}
	return nil
}

type loginPage struct {
	Login, Next, Error, Notice string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	p := loginPage{Next: safeNext(r.URL.Query().Get("next"))}
	switch r.URL.Query().Get("why") {
	case whyExpired:
		p.Notice = "Your session has ended. Please log in again."
	case whyLocked:
		p.Notice = "Your session was ended: the account is locked or no longer exists."
	}
	c.renderLogin(w, r, http.StatusOK, p)
}

func (c *Console) renderLogin(w http.ResponseWriter, r *http.Request, status int, p loginPage) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: tok, Path: "/login", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	c.render(w, r, nil, status, "login", "Log in", struct {
		loginPage
		Token string
	}{p, tok})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	ck, err := r.Cookie(loginCookie)
	p := loginPage{Login: r.PostFormValue("login"), Next: safeNext(r.PostFormValue("next"))}
	if err != nil || !tokenEqual(r.PostFormValue("csrf"), ck.Value) {
		p.Error = "The login form has expired or came from another site. Please try again."
		c.renderLogin(w, r, http.StatusForbidden, p)
		return
	}
	remote := web.RemoteAddr(r)
	if r.TLS == nil && !c.cfg.Web.AllowPlainBasic && !isLoopback(remote) {
		p.Error = "Passwords are not accepted over plain HTTP from beyond this host: use HTTPS."
		c.renderLogin(w, r, http.StatusForbidden, p)
		return
	}
	ws, err := c.cfg.Web.Open(r.Context(), remote, p.Login, []byte(r.PostFormValue("password")))
	if errors.Is(err, web.ErrInvalidCredentials) {
		p.Error = "Invalid user name or password."
		c.renderLogin(w, r, http.StatusUnauthorized, p)
		return
	}
	if err != nil {
		c.logger().Warn("console: login failed", "err", err, "remote", r.RemoteAddr)
		p.Error = "The directory cannot check passwords now; try again later."
		c.renderLogin(w, r, http.StatusServiceUnavailable, p)
		return
	}
	if old, err := r.Cookie(sessionCookie); err == nil {
		// A login over a live session replaces it.
		c.mu.Lock()
		prev := c.sessions[cookieKey(old.Value)]
		c.mu.Unlock()
		if prev != nil {
			c.end(prev)
		}
	}
	tok := randomToken()
	now := time.Now()
	s := &session{key: cookieKey(tok), web: ws, csrf: randomToken(), born: now, used: now}
	res, err := ws.Conn().Search(goldap.NewSearchRequest(ws.DN, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 10, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	s.hasEntry = err == nil && len(res.Entries) == 1
	c.mu.Lock()
	c.sessions[s.key] = s
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	next := p.Next
	if next == "" {
		next = "/people"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.end(s)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target after login on this site: a path,
// not a URL of another host ("//host" or "/\host").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return ""
	}
	return next
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// or is v, or def if v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
