package federation

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
	"github.com/switchboard-ldap/switchboard/directory/password"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// Private discovery: POST /api/v1/federation/discover. See the package
// documentation for the protocol; this file has the partner's
// authentication, the request's parser, the rate limit and the index.

// MaxDiscoverHashes bounds the hashes of one discovery request.
const MaxDiscoverHashes = 100

// maxDiscoverBody bounds a discovery request's body: MaxDiscoverHashes
// hashes of 66 bytes with their separators, and room for white space.
const maxDiscoverBody = 16 << 10

// Defaults of the discovery rate limit (Config.DiscoveryRate and
// DiscoveryBurst): a partner may ask about DefaultDiscoveryBurst
// addresses at once, then DefaultDiscoveryRate a second.
const (
	DefaultDiscoveryRate  = 10.0
	DefaultDiscoveryBurst = 1000
)

// maxDiscoveryIndex bounds the addresses one export's index holds; an
// export beyond it answers 503 (a view of millions of addresses is not
// what discovery is for).
const maxDiscoveryIndex = 2_000_000

// discoverRealm is the realm of the discovery route's Basic challenge.
const discoverRealm = `Basic realm="switchboard federation discovery", charset="UTF-8"`

// NormalizeAddress is the form of a mail address that discovery hashes:
// surrounding white space removed and every letter lower-cased (the
// local part too: mail systems treat it case-insensitively in practice).
func NormalizeAddress(addr string) string {
	return strings.ToLower(strings.TrimSpace(addr))
}

// DiscoveryHash is the hash a partner sends for addr: the lower-case hex
// SHA-256 of the export's salt (its hex text, as GET shows it) followed
// by the normalised address.
func DiscoveryHash(salt, addr string) string {
	h := discoveryHash(salt, addr)
	return hex.EncodeToString(h[:])
}

func discoveryHash(salt, addr string) [sha256.Size]byte {
	d := sha256.New()
	d.Write([]byte(salt))
	d.Write([]byte(NormalizeAddress(addr)))
	var out [sha256.Size]byte
	d.Sum(out[:0])
	return out
}

// newSalt returns a fresh discovery salt: 32 random bytes in hex.
func newSalt() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// discoverRequest is the body of POST /api/v1/federation/discover.
type discoverRequest struct {
	Hashes []string `json:"hashes"`
}

// discoverMatch is one address found: its hash and the entry's DN.
type discoverMatch struct {
	Hash string `json:"hash"`
	DN   string `json:"dn"`
}

// tooMany is a request over MaxDiscoverHashes (413).
type tooMany struct{ msg string }

func (e *tooMany) Error() string { return e.msg }

// parseDiscoverRequest reads a discovery request's body: a JSON object
// with hashes, 1 to MaxDiscoverHashes lower- or upper-case hex SHA-256
// values. It returns them decoded, without duplicates, in the order
// given.
func parseDiscoverRequest(body []byte) ([][sha256.Size]byte, error) {
	var req discoverRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return nil, bad("the body is not the JSON object expected, {\"hashes\": [...]}: %v", err)
	}
	if dec.More() {
		return nil, bad("the body has data after the JSON object")
	}
	if len(req.Hashes) == 0 {
		return nil, bad("hashes is required: 1 to %d hex SHA-256 values", MaxDiscoverHashes)
	}
	if len(req.Hashes) > MaxDiscoverHashes {
		return nil, &tooMany{fmt.Sprintf("%d hashes: at most %d a request", len(req.Hashes), MaxDiscoverHashes)}
	}
	out := make([][sha256.Size]byte, 0, len(req.Hashes))
	seen := make(map[[sha256.Size]byte]bool, len(req.Hashes))
	for i, h := range req.Hashes {
		var d [sha256.Size]byte
		if len(h) != 2*sha256.Size {
			return nil, bad("hashes[%d]: want 64 hex digits (SHA-256), got %d characters", i, len(h))
		}
		if _, err := hex.Decode(d[:], []byte(h)); err != nil {
			return nil, bad("hashes[%d]: want 64 hex digits (SHA-256): %v", i, err)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out, nil
}

// discovery is the discovery state of one export: its rate limit, its
// counters and its index. It outlives a PUT of the export (a partner
// cannot reset its bucket by having its view changed) and goes with a
// DELETE.
type discovery struct {
	mu     sync.Mutex // guards tokens and last
	tokens float64
	last   time.Time

	build sync.Mutex // serialises index builds
	index atomic.Pointer[discoveryIndex]

	requests, hashes, matched, limited atomic.Int64
}

// DiscoveryStats is what an export's partner asked by discovery since
// the server started.
type DiscoveryStats struct {
	Requests int64 `json:"requests"`
	Hashes   int64 `json:"hashes"`
	Matched  int64 `json:"matched"`
	// Limited counts the requests refused by the rate limit.
	Limited int64 `json:"limited"`
}

func (d *discovery) stats() DiscoveryStats {
	return DiscoveryStats{Requests: d.requests.Load(), Hashes: d.hashes.Load(), Matched: d.matched.Load(), Limited: d.limited.Load()}
}

// take takes n tokens from the bucket, or reports how long until n are
// there.
func (d *discovery) take(n int, rate float64, burst int, now time.Time) (time.Duration, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last.IsZero() {
		d.tokens = float64(burst)
	} else {
		d.tokens = math.Min(float64(burst), d.tokens+now.Sub(d.last).Seconds()*rate)
	}
	d.last = now
	if d.tokens >= float64(n) {
		d.tokens -= float64(n)
		return 0, true
	}
	return time.Duration((float64(n) - d.tokens) / rate * float64(time.Second)), false
}

// discoveryIndex maps the hash of every address in an export's view to
// the DNs of the entries holding it. It is built for one export (its
// view and salt) at one store epoch.
type discoveryIndex struct {
	ex     *export
	epoch  uint64
	byHash map[[sha256.Size]byte][]string
}

// errIndexTooBig is an export whose view holds more than maxDiscoveryIndex
// addresses.
var errIndexTooBig = errors.New("the export's view holds too many addresses for discovery")

// indexFor returns e's index as of now, building it if the store or
// the export changed since the last one.
func (f *Federation) indexFor(ctx context.Context, d *discovery, e *export) (*discoveryIndex, error) {
	eng := f.cfg.Engine
	if ix := d.index.Load(); ix != nil && ix.ex == e && ix.epoch == eng.Epoch() {
		return ix, nil
	}
	d.build.Lock()
	defer d.build.Unlock()
	epoch := eng.Epoch() // before the search: a write during it makes the next request build again
	if ix := d.index.Load(); ix != nil && ix.ex == e && ix.epoch == epoch {
		return ix, nil
	}
	ix, err := f.buildIndex(ctx, e, epoch)
	if err != nil {
		return nil, err
	}
	d.index.Store(ix)
	return ix, nil
}

// buildIndex hashes the mail addresses of the entries e's partner may
// read: those of base+scope matching the filter, outside imported
// subtrees (the partner's compiled policy decides).
func (f *Federation) buildIndex(ctx context.Context, e *export, epoch uint64) (*discoveryIndex, error) {
	eng := f.cfg.Engine
	flt, err := ldap.ParseFilter("(&" + e.spec.Filter + "(mail=*))")
	if err != nil {
		return nil, fmt.Errorf("the export's filter: %w", err)
	}
	scope := ldap.ScopeWholeSubtree
	if e.spec.Scope == "one" {
		scope = ldap.ScopeSingleLevel
	}
	if e.partner == nil || e.partner.Access == nil {
		return nil, errors.New("the export has no partner")
	}
	pndn, _ := eng.NormalizeDN(e.spec.BindDN)
	rq := e.partner.Access.For(access.Subject{DN: pndn}, nil)
	ix := &discoveryIndex{ex: e, epoch: epoch, byHash: map[[sha256.Size]byte][]string{}}
	n := 0
	err = eng.Search(ctx, &directory.SearchRequest{BaseDN: e.spec.Base, Scope: scope, Filter: flt, Unlimited: true},
		func(en *directory.Entry) error {
			ea := rq.Entry(en.NDN, en)
			if !ea.Entry().Has(access.Read) {
				return nil
			}
			for _, v := range en.Get("mail") {
				if n++; n > maxDiscoveryIndex {
					return errIndexTooBig
				}
				h := discoveryHash(e.spec.DiscoverySalt, string(v))
				ix.byHash[h] = append(ix.byHash[h], en.DN)
			}
			return nil
		})
	var le *ldap.Error
	if errors.As(err, &le) && le.Code == ldap.NoSuchObject {
		err = nil // the base is gone: nothing to find
	}
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// DiscoveryRoutes returns the discovery route, which authenticates the
// partner itself (admin.Server.SelfAuth): partners are no identities of
// the admin API.
func (f *Federation) DiscoveryRoutes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST /api/v1/federation/discover": http.HandlerFunc(f.discover),
	}
}

// partnerFor authenticates a discovery request's Basic credentials: the
// export's bind DN or name and its password. Every failure costs a
// password verification, an unknown partner's too, and counts in the
// failed-bind throttle. It returns the export and the audit identity
// (the partner's DN, or "anonymous").
func (f *Federation) partnerFor(r *http.Request) (*export, string, int, string) {
	user, pw, ok := r.BasicAuth()
	if !ok || user == "" {
		return nil, "anonymous", http.StatusUnauthorized, "authentication required: HTTP Basic with the export's bind DN (or name) and password"
	}
	ctx := r.Context()
	eng := f.cfg.Engine
	name := user
	if strings.Contains(user, "=") {
		name = ""
		if ndn, err := eng.NormalizeDN(user); err == nil {
			f.mu.Lock()
			for n, e := range f.exports {
				if b, err := eng.NormalizeDN(e.spec.BindDN); err == nil && b == ndn {
					name = n
				}
			}
			f.mu.Unlock()
		}
	}
	f.mu.Lock()
	e := f.exports[name]
	var p *frontend.Partner
	if e != nil {
		p = e.partner
	}
	f.mu.Unlock()
	var err error
	who := "anonymous"
	if p == nil || p.Access == nil {
		err = eng.FailBind(ctx, []byte(pw))
	} else {
		who, _ = eng.NormalizeDN(e.spec.BindDN)
		mac := f.credMAC(p, pw)
		if c := e.verified.Load(); c != nil && hmac.Equal(c.mac[:], mac[:]) && time.Now().Before(c.until) {
			return e, who, 0, ""
		}
		var match bool
		match, err = eng.Passwords().Verify(ctx, p.Password, []byte(pw))
		if err == nil && !match {
			err = &ldap.Error{Code: ldap.InvalidCredentials}
		}
		if err == nil {
			e.verified.Store(&verifiedCred{mac: mac, until: time.Now().Add(verifiedFor)})
		}
	}
	var le *ldap.Error
	switch {
	case err == nil:
		if f.cfg.Throttle != nil {
			f.cfg.Throttle.Succeeded(who)
		}
		return e, who, 0, ""
	case errors.Is(err, password.ErrBusy) || errors.As(err, &le) && le.Code == ldap.Busy:
		return nil, who, http.StatusServiceUnavailable, "too many password checks in progress; retry"
	case ctx.Err() != nil:
		return nil, who, http.StatusServiceUnavailable, "the request ended"
	}
	f.throttled(ctx, r, who)
	return nil, who, http.StatusUnauthorized, "invalid credentials"
}

// verifiedFor is how long a partner's password, once verified, is
// recognised without verifying its hash again: a partner asking in many
// small requests then pays the (deliberately slow) password hash once.
const verifiedFor = 5 * time.Minute

// verifiedCred is a partner password verified lately, as a MAC under
// the process's credKey (never the password itself).
type verifiedCred struct {
	mac   [sha256.Size]byte
	until time.Time
}

// credMAC is the MAC of a partner's password: keyed by the process's
// random key and the partner's stored hash, so that a changed password
// or a replaced export never matches an old one.
func (f *Federation) credMAC(p *frontend.Partner, pw string) [sha256.Size]byte {
	m := hmac.New(sha256.New, f.credKey[:])
	m.Write(p.Password)
	m.Write([]byte{0})
	m.Write([]byte(pw))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// throttled counts a failed authentication in the failed-bind throttle
// and holds the answer back as a failed LDAP bind's would be.
func (f *Federation) throttled(ctx context.Context, r *http.Request, ndn string) {
	if f.cfg.Throttle == nil {
		return
	}
	key := ""
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		a := ap.Addr().Unmap()
		key = a.String()
		if a.Is6() {
			p, _ := a.Prefix(64)
			key = p.String()
		}
	}
	if ndn == "anonymous" {
		ndn = ""
	}
	if wait := f.cfg.Throttle.Failed(key, ndn); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// discover serves POST /api/v1/federation/discover.
func (f *Federation) discover(w http.ResponseWriter, r *http.Request) {
	act := audit.Action{Op: "federation.discover", From: r.RemoteAddr}
	refuse := func(status int, msg string) {
		act.Failure = msg
		f.audit(act)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", discoverRealm)
		}
		admin.WriteProblem(w, status, msg)
	}
	e, who, status, msg := f.partnerFor(r)
	act.Who = who
	if e == nil {
		refuse(status, msg)
		return
	}
	act.Object = e.spec.Name
	if !e.spec.Discovery {
		refuse(http.StatusForbidden, "export "+e.spec.Name+" has no discovery right: PUT it with \"discovery\": true")
		return
	}
	f.mu.Lock()
	d := f.discovery[e.spec.Name]
	f.mu.Unlock()
	if d == nil { // revoked meanwhile
		refuse(http.StatusUnauthorized, "invalid credentials")
		return
	}
	d.requests.Add(1)
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		refuse(http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: send application/json", ct))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDiscoverBody))
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		refuse(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes: send at most %d hashes a request", maxDiscoverBody, MaxDiscoverHashes))
		return
	}
	if err != nil {
		refuse(http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	hashes, err := parseDiscoverRequest(body)
	var tm *tooMany
	switch {
	case errors.As(err, &tm):
		refuse(http.StatusRequestEntityTooLarge, tm.msg)
		return
	case err != nil:
		refuse(http.StatusBadRequest, err.Error())
		return
	}
	act.Details = []string{"hashes=" + strconv.Itoa(len(hashes))}
	if wait, ok := d.take(len(hashes), f.cfg.DiscoveryRate, f.cfg.DiscoveryBurst, time.Now()); !ok {
		d.limited.Add(1)
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		refuse(http.StatusTooManyRequests, fmt.Sprintf("rate limit: at most %d hashes at once and %g a second; retry in %d s",
			f.cfg.DiscoveryBurst, f.cfg.DiscoveryRate, secs))
		return
	}
	ix, err := f.indexFor(r.Context(), d, e)
	if err != nil {
		f.log.Error("federation: discovery index", "export", e.spec.Name, "err", err)
		refuse(http.StatusServiceUnavailable, "discovery cannot answer now: "+err.Error())
		return
	}
	matches := []discoverMatch{}
	found := 0
	for _, h := range hashes {
		dns := ix.byHash[h]
		if len(dns) > 0 {
			found++
		}
		for _, dn := range dns {
			matches = append(matches, discoverMatch{Hash: hex.EncodeToString(h[:]), DN: dn})
		}
	}
	d.hashes.Add(int64(len(hashes)))
	d.matched.Add(int64(found))
	act.Details = append(act.Details, "matched="+strconv.Itoa(found))
	f.audit(act)
	writeJSON(w, http.StatusOK, map[string]any{"matches": matches})
}
