package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
)

// Import is an import as stored; the API shows it without Password.
type Import struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	StartTLS bool   `json:"start_tls,omitempty"`
	CAFile   string `json:"ca_file,omitempty"`
	BindDN   string `json:"bind_dn"`
	Password string `json:"password,omitempty"`
	// PasswordSealed is Password sealed under the store's master key
	// (base64), as federation.json keeps it when the server has one.
	PasswordSealed string   `json:"password_sealed,omitempty"`
	RemoteBase     string   `json:"remote_base"`
	LocalBase      string   `json:"local_base"`
	Filter         string   `json:"filter,omitempty"`
	Attributes     []string `json:"attributes,omitempty"`
	// Interval, when set, polls with refreshOnly every Interval instead
	// of refreshAndPersist.
	Interval Duration `json:"interval,omitzero"`
	// Grace is how long the copy outlives a revoked or failing source.
	Grace   Duration `json:"grace,omitzero"`
	OnWrite string   `json:"on_write,omitempty"` // "refuse" (default) or "referral"

	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// FailedAt is when the source refused the consumer for good, Failure
	// why; PurgedAt when the copy was purged after the grace period.
	FailedAt time.Time `json:"failed_at,omitzero"`
	Failure  string    `json:"failure,omitempty"`
	PurgedAt time.Time `json:"purged_at,omitzero"`
}

// Duration is a time.Duration written as Go writes it ("90s", "24h").
type Duration time.Duration

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a number with a unit, such as 30s, 5m or 24h", b)
	}
	*d = Duration(v)
	return nil
}

// importRequest is the body of PUT /api/v1/federation/imports/{name}.
type importRequest struct {
	Source     string   `json:"source"`
	StartTLS   bool     `json:"start_tls"`
	CAFile     string   `json:"ca_file"`
	BindDN     string   `json:"bind_dn"`
	Password   string   `json:"password"`
	RemoteBase string   `json:"remote_base"`
	LocalBase  string   `json:"local_base"`
	Filter     string   `json:"filter"`
	Attributes []string `json:"attributes"`
	Interval   Duration `json:"interval"`
	Grace      Duration `json:"grace"`
	OnWrite    string   `json:"on_write"`
}

// ImportView is an import as the API shows it.
type ImportView struct {
	Import
	State string `json:"state"` // the consumer's, or failed, purged
	// PurgeAt is when a failed import's copy goes.
	PurgeAt time.Time                  `json:"purge_at,omitzero"`
	Status  replication.SyncreplStatus `json:"status"`
}

// States of an import beyond the consumer's.
const (
	StateFailed = "failed" // the source refused it; the copy goes at PurgeAt
	StatePurged = "purged"
)

// importRun is an import and its consumer.
type importRun struct {
	mu     sync.Mutex
	spec   Import
	sr     *replication.Syncrepl
	cancel context.CancelFunc
	done   chan struct{}
	purge  *time.Timer
}

func (r *importRun) consumer() *replication.Syncrepl {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sr
}

func (r *importRun) snapshotSpec() Import {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spec
}

func (r *importRun) setFailure(why string) {
	r.mu.Lock()
	r.spec.Failure = why
	r.mu.Unlock()
}

// stop ends the consumer and a pending purge, and waits for the consumer.
func (r *importRun) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	if r.purge != nil {
		r.purge.Stop()
		r.purge = nil
	}
	r.cancel = nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (r *importRun) view(grace time.Duration) ImportView {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := ImportView{Import: r.spec}
	v.Password, v.PasswordSealed = "", ""
	if r.sr != nil {
		v.Status = r.sr.Status()
		v.State = v.Status.State
	}
	switch {
	case !r.spec.PurgedAt.IsZero():
		v.State = StatePurged
	case !r.spec.FailedAt.IsZero():
		v.State = StateFailed
		v.PurgeAt = r.spec.FailedAt.Add(r.grace(grace))
	}
	return v
}

func (r *importRun) grace(def time.Duration) time.Duration {
	if r.spec.Grace > 0 {
		return time.Duration(r.spec.Grace)
	}
	return def
}

// copyName is the name of an import's consumer and read-only copy.
func copyName(name string) string { return "federation." + name }

// checkImport validates a request into an Import; old is the import it
// replaces, or nil. f.mu is held.
func (f *Federation) checkImport(name string, req *importRequest, old *Import) (Import, error) {
	eng := f.cfg.Engine
	im := Import{Name: name, Source: req.Source, StartTLS: req.StartTLS, CAFile: req.CAFile, BindDN: req.BindDN,
		Password: req.Password, RemoteBase: req.RemoteBase, LocalBase: req.LocalBase, Filter: req.Filter,
		Interval: req.Interval, Grace: req.Grace, OnWrite: req.OnWrite}
	u, err := url.Parse(req.Source)
	if req.Source == "" {
		return im, bad("source is required: ldap://host:port or ldaps://host:port")
	}
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return im, bad("source %q: want ldap://host:port or ldaps://host:port", req.Source)
	}
	if req.StartTLS && u.Scheme == "ldaps" {
		return im, bad("start_tls with an ldaps:// source")
	}
	if req.BindDN == "" || req.Password == "" {
		return im, bad("bind_dn and password are required: the identity the partner's export gave")
	}
	if _, err := ldap.ParseDN(req.BindDN); err != nil {
		return im, bad("bind_dn %q is not a DN: %v", req.BindDN, err)
	}
	if req.RemoteBase == "" {
		return im, bad("remote_base is required: the base of the partner's export")
	}
	if _, err := ldap.ParseDN(req.RemoteBase); err != nil {
		return im, bad("remote_base %q is not a DN: %v", req.RemoteBase, err)
	}
	if req.LocalBase == "" {
		return im, bad("local_base is required: where the copy goes here")
	}
	lb, err := eng.NormalizeDN(req.LocalBase)
	if err != nil {
		return im, bad("local_base %q is not a DN: %v", req.LocalBase, err)
	}
	suffix, _ := eng.NormalizeDN(eng.Suffix())
	if !ldap.IsBelowNDN(lb, suffix) {
		return im, bad("local_base %q is not below the naming context %q", req.LocalBase, eng.Suffix())
	}
	if _, err := localBaseClass(req.LocalBase); err != nil {
		return im, err
	}
	if req.Filter != "" {
		if _, err := ldap.ParseFilter(req.Filter); err != nil {
			return im, bad("filter %q does not parse: %v", req.Filter, err)
		}
	}
	for _, a := range req.Attributes {
		at, ok := eng.Schema().Attribute(a)
		if !ok || !validAttrName(a) {
			return im, bad("attribute %q is not in the schema", a)
		}
		im.Attributes = append(im.Attributes, at.Name())
	}
	if req.Interval < 0 || (req.Interval > 0 && time.Duration(req.Interval) < time.Second) {
		return im, bad("interval %s: want at least 1s (or none, for refreshAndPersist)", time.Duration(req.Interval))
	}
	if req.Grace < 0 {
		return im, bad("grace %s is negative", time.Duration(req.Grace))
	}
	switch req.OnWrite {
	case "", "refuse", "referral":
	default:
		return im, bad("on_write %q is neither refuse nor referral", req.OnWrite)
	}
	if req.CAFile != "" {
		if _, err := loadCA(req.CAFile); err != nil {
			return im, bad("ca_file: %v", err)
		}
	}
	// The copy's place: not another import's, not local data.
	for n, r := range f.imports {
		if n == name {
			continue
		}
		if ob, err := eng.NormalizeDN(r.spec.LocalBase); err == nil && overlaps(ob, lb) {
			return im, &conflict{fmt.Sprintf("local_base %q overlaps import %s's local_base %q", req.LocalBase, n, r.spec.LocalBase)}
		}
	}
	for _, c := range eng.ReadOnlyCopies() {
		if c.Name == copyName(name) {
			continue
		}
		if ob, err := eng.NormalizeDN(c.Base); err == nil && overlaps(ob, lb) {
			return im, &conflict{fmt.Sprintf("local_base %q overlaps the read-only copy %s at %q", req.LocalBase, c.Name, c.Base)}
		}
	}
	if old != nil {
		if on, _ := eng.NormalizeDN(old.LocalBase); on != lb {
			return im, &conflict{fmt.Sprintf("local_base cannot change (%q now): delete the import and create it again", old.LocalBase)}
		}
	} else if en, err := eng.Entry(req.LocalBase); err != nil {
		return im, err
	} else if en != nil {
		return im, &conflict{fmt.Sprintf("local_base %q overlaps local data: the entry exists; an import creates its own", req.LocalBase)}
	}
	for _, e := range f.exports {
		if eb, err := eng.NormalizeDN(e.spec.Base); err == nil && (eb == lb || ldap.IsBelowNDN(eb, lb)) && !e.spec.ReshareImports {
			return im, &conflict{fmt.Sprintf("local_base %q would hold export %s's base %q", req.LocalBase, e.spec.Name, e.spec.Base)}
		}
	}
	return im, nil
}

// localBaseClass is the object class of the entry an import creates at
// its local base, from its RDN's type.
func localBaseClass(dn string) (string, error) {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p) == 0 || len(p[0]) != 1 {
		return "", bad("local_base %q: want a DN whose first RDN has one value", dn)
	}
	switch strings.ToLower(p[0][0].Type) {
	case "ou", "organizationalunitname":
		return "organizationalUnit", nil
	case "o", "organizationname":
		return "organization", nil
	case "cn", "commonname":
		return "applicationProcess", nil
	case "dc", "domaincomponent":
		return "domain", nil
	case "l", "localityname":
		return "locality", nil
	}
	return "", bad("local_base %q: its RDN must be ou=, o=, cn=, dc= or l=", dn)
}

func loadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

func (im *Import) tlsConfig() (*tls.Config, error) {
	if im.CAFile == "" {
		return nil, nil
	}
	pool, err := loadCA(im.CAFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// probe connects to the source and binds, so that an unreachable
// source, a TLS failure or wrong credentials are answered at once.
func probe(ctx context.Context, im *Import) error {
	tlsCfg, err := im.tlsConfig()
	if err != nil {
		return bad("ca_file: %v", err)
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	if u, err := url.Parse(im.Source); err == nil {
		tlsCfg = tlsCfg.Clone()
		tlsCfg.ServerName = u.Hostname()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := goldap.DialURL(im.Source, goldap.DialWithDialer(d), goldap.DialWithTLSConfig(tlsCfg))
	if err != nil {
		var cerr *tls.CertificateVerificationError
		if errors.As(err, &cerr) || strings.Contains(err.Error(), "tls:") || strings.Contains(err.Error(), "x509:") {
			return &unprocessable{fmt.Sprintf("TLS with source %s failed: %v", im.Source, err)}
		}
		return &unprocessable{fmt.Sprintf("source %s is unreachable: %v", im.Source, err)}
	}
	defer c.Close()
	c.SetTimeout(5 * time.Second)
	if im.StartTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			return &unprocessable{fmt.Sprintf("StartTLS with source %s failed: %v", im.Source, err)}
		}
	}
	if err := c.Bind(im.BindDN, im.Password); err != nil {
		return &unprocessable{fmt.Sprintf("source %s refused the bind as %s: %v", im.Source, im.BindDN, err)}
	}
	return ctx.Err()
}

// unprocessable is a well-formed request the source refuses (422).
type unprocessable struct{ msg string }

func (e *unprocessable) Error() string { return e.msg }

// putImport creates or replaces an import and starts it.
func (f *Federation) putImport(ctx context.Context, name string, req *importRequest) (ImportView, bool, error) {
	if !validName.MatchString(name) {
		return ImportView{}, false, bad("import name %q: want 1-48 letters, digits, '.', '_' or '-'", name)
	}
	f.mu.Lock()
	var oldSpec *Import
	if r := f.imports[name]; r != nil {
		s := r.snapshotSpec()
		oldSpec = &s
	}
	im, err := f.checkImport(name, req, oldSpec)
	f.mu.Unlock()
	if err != nil {
		return ImportView{}, false, err
	}
	if err := probe(ctx, &im); err != nil {
		return ImportView{}, false, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ImportView{}, false, fmt.Errorf("the server is shutting down")
	}
	now := time.Now().UTC().Truncate(time.Second)
	im.Created, im.Updated = now, now
	cur := f.imports[name]
	if cur != nil {
		if s := cur.snapshotSpec(); !s.PurgedAt.IsZero() || s.LocalBase != im.LocalBase && oldSpec == nil {
			return ImportView{}, false, &conflict{"import " + name + " changed meanwhile"}
		}
		im.Created = cur.snapshotSpec().Created
		cur.stop()
	} else if err := f.recheckLocalBase(&im); err != nil {
		return ImportView{}, false, err
	}
	r := &importRun{spec: im}
	f.imports[name] = r
	if err := f.startImport(r, cur == nil); err != nil {
		delete(f.imports, name)
		if cur != nil {
			f.imports[name] = cur
			f.startImport(cur, false)
		}
		return ImportView{}, false, err
	}
	if err := f.save(); err != nil {
		return ImportView{}, false, err
	}
	f.reinstallExports()
	f.log.Info("federation: import saved", "import", name, "created", cur == nil, "source", im.Source,
		"remote_base", im.RemoteBase, "local_base", im.LocalBase)
	return r.view(f.cfg.Grace), cur == nil, nil
}

// recheckLocalBase checks again, under f.mu, that no import took the
// local base while the source was probed.
func (f *Federation) recheckLocalBase(im *Import) error {
	lb, _ := f.cfg.Engine.NormalizeDN(im.LocalBase)
	for n, r := range f.imports {
		if ob, err := f.cfg.Engine.NormalizeDN(r.spec.LocalBase); err == nil && overlaps(ob, lb) {
			return &conflict{fmt.Sprintf("local_base %q overlaps import %s's local_base %q", im.LocalBase, n, r.spec.LocalBase)}
		}
	}
	return nil
}

// startImport creates the local base (if create), declares the copy
// read-only and runs the consumer; a failed or purged import only waits
// for its purge. f.mu is held.
func (f *Federation) startImport(r *importRun, create bool) error {
	eng := f.cfg.Engine
	im := r.snapshotSpec()
	if !im.PurgedAt.IsZero() {
		return nil
	}
	if !im.FailedAt.IsZero() {
		f.schedulePurge(r)
		return nil
	}
	if im.Password == "" {
		return fmt.Errorf("the import's password is sealed and does not open: start the server with the master key it was sealed under, or PUT the import again")
	}
	if create {
		if err := f.createLocalBase(&im); err != nil {
			return err
		}
	}
	if err := eng.AddReadOnlyCopy(directory.ReadOnlyCopy{Base: im.LocalBase, Name: copyName(im.Name), Source: im.Source,
		Referral: im.OnWrite == "referral", Scope: ldap.ScopeChildren}); err != nil {
		return err
	}
	tlsCfg, err := im.tlsConfig()
	if err != nil {
		return bad("ca_file: %v", err)
	}
	sr, err := replication.NewSyncrepl(replication.SyncreplConfig{
		Name: copyName(im.Name), URL: im.Source, StartTLS: im.StartTLS, TLS: tlsCfg,
		BindDN: im.BindDN, Password: im.Password,
		Base: im.RemoteBase, Scope: ldap.ScopeWholeSubtree, Filter: im.Filter, Attributes: im.Attributes,
		Persist: im.Interval == 0, Interval: time.Duration(im.Interval), LocalBase: im.LocalBase,
		KeepBase: true, Stop: refused, Log: f.cfg.Changelog, Logger: f.log,
	}, eng)
	if err != nil {
		return bad("%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.mu.Lock()
	r.sr, r.cancel, r.done = sr, cancel, done
	r.mu.Unlock()
	go func() {
		sr.Run(ctx)
		stopped := ctx.Err() != nil // deleted, replaced or shutting down
		close(done)                 // before failed takes f.mu: stop waits for done under it
		if !stopped {
			f.failed(r, sr.Status().LastError)
		}
	}()
	return nil
}

// refused reports whether a session failed because the source refuses
// the consumer, which retrying cannot mend: the export was revoked or
// its password changed (invalidCredentials, insufficientAccessRights),
// or the source answers e-syncRefreshRequired to a refresh without a
// cookie, which no refresh can satisfy. The consumer only sees the
// latter without a cookie: e-syncRefreshRequired to a cookie (the
// source's log no longer covers it, say after the import was stopped
// longer than the source keeps changes) makes it refresh in full, which
// keeps the copy exact without the purge a refusal leads to.
func refused(err error) bool {
	return goldap.IsErrorAnyOf(err, goldap.LDAPResultInvalidCredentials, goldap.LDAPResultInsufficientAccessRights) ||
		errors.Is(err, replication.ErrRefreshRequired)
}

// failed records that r's source refused it and schedules the purge.
func (f *Federation) failed(r *importRun, why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.imports[r.spec.Name] != r || f.closed {
		return
	}
	r.mu.Lock()
	r.spec.FailedAt = time.Now().UTC()
	r.spec.Failure = why
	r.mu.Unlock()
	f.log.Warn("federation: the source refused the import; its copy will be purged", "import", r.spec.Name,
		"err", why, "grace", r.grace(f.cfg.Grace))
	f.audit(audit.Action{Op: "federation.import.failed", Object: r.spec.Name,
		Details: []string{"error=" + why, "purge_at=" + r.spec.FailedAt.Add(r.grace(f.cfg.Grace)).Format(time.RFC3339)}})
	if err := f.save(); err != nil {
		f.log.Error("federation: saving", "err", err)
	}
	f.schedulePurge(r)
}

// schedulePurge purges a failed import's copy when its grace ends.
// f.mu is held.
func (f *Federation) schedulePurge(r *importRun) {
	r.mu.Lock()
	defer r.mu.Unlock()
	wait := time.Until(r.spec.FailedAt.Add(r.grace(f.cfg.Grace)))
	if r.purge != nil {
		r.purge.Stop()
	}
	r.purge = time.AfterFunc(max(wait, 0), func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.imports[r.spec.Name] != r || f.closed {
			return
		}
		if err := f.purge(context.Background(), r); err != nil {
			f.log.Error("federation: purging a failed import", "import", r.spec.Name, "err", err)
			f.audit(audit.Action{Op: "federation.import.purge", Object: r.spec.Name, Failure: err.Error()})
			return
		}
		f.audit(audit.Action{Op: "federation.import.purge", Object: r.spec.Name,
			Details: []string{"local_base=" + r.spec.LocalBase, "reason=the source refused the import"}})
		r.mu.Lock()
		r.spec.PurgedAt = time.Now().UTC()
		r.mu.Unlock()
		if err := f.save(); err != nil {
			f.log.Error("federation: saving", "err", err)
		}
		f.log.Warn("federation: purged the copy of a failed import", "import", r.spec.Name)
	})
}

// createLocalBase adds the entry at the import's local base.
func (f *Federation) createLocalBase(im *Import) error {
	class, err := localBaseClass(im.LocalBase)
	if err != nil {
		return err
	}
	p, _ := ldap.ParseDN(im.LocalBase)
	rdn := p[0][0]
	attrs := []directory.Attr{
		{Name: "objectClass", Values: [][]byte{[]byte("top"), []byte(class)}},
		{Name: rdn.Type, Values: [][]byte{[]byte(rdn.Value)}},
		{Name: "description", Values: [][]byte{[]byte("Copy of " + im.RemoteBase + " at " + im.Source + " (federation import " + im.Name + ")")}},
	}
	_, err = f.cfg.Engine.Add(context.Background(), im.LocalBase, attrs, directory.WriteOptions{})
	var le *ldap.Error
	if errors.As(err, &le) && le.Code == ldap.NoSuchObject {
		return &conflict{fmt.Sprintf("local_base %q: its parent entry does not exist", im.LocalBase)}
	}
	if errors.As(err, &le) && le.Code == ldap.EntryAlreadyExists {
		return &conflict{fmt.Sprintf("local_base %q overlaps local data: the entry exists", im.LocalBase)}
	}
	return err
}

// purge removes an import's copy: its read-only mark, the subtree with
// the local base entry, and the consumer's stored position. f.mu is held
// and the consumer stopped.
func (f *Federation) purge(ctx context.Context, r *importRun) error {
	im := r.snapshotSpec()
	eng := f.cfg.Engine
	eng.RemoveReadOnlyCopy(copyName(im.Name))
	if err := f.removeSubtree(ctx, im.LocalBase); err != nil {
		return fmt.Errorf("removing %s: %w", im.LocalBase, err)
	}
	if sr := r.consumer(); sr != nil {
		if err := sr.Forget(ctx); err != nil {
			return fmt.Errorf("forgetting the consumer's position: %w", err)
		}
	}
	return nil
}

// purgeBatch is how many entries one transaction of a purge removes.
const purgeBatch = 500

// removeSubtree removes base and everything below it, children first,
// in transactions of at most purgeBatch entries (a copy may be too big
// for one), through the changelog.
func (f *Federation) removeSubtree(ctx context.Context, base string) error {
	eng := f.cfg.Engine
	type victim struct {
		id    directory.ID
		depth int
	}
	var all []victim
	err := eng.Search(ctx, &directory.SearchRequest{BaseDN: base, Scope: ldap.ScopeWholeSubtree,
		Filter: &ldap.Filter{Kind: ldap.FilterAnd}, Unlimited: true}, func(en *directory.Entry) error {
		all = append(all, victim{en.ID, strings.Count(en.NDN, ",")})
		return nil
	})
	var le *ldap.Error
	if errors.As(err, &le) && le.Code == ldap.NoSuchObject {
		return nil
	}
	if err != nil {
		return err
	}
	slices.SortStableFunc(all, func(a, b victim) int { return b.depth - a.depth })
	var remove func(ids []directory.ID) error
	remove = func(ids []directory.ID) error {
		err := eng.ReplaceEntriesLogged(ctx, nil, ids, f.cfg.Changelog)
		if errors.Is(err, directory.ErrTxnTooBig) && len(ids) > 1 {
			if err := remove(ids[:len(ids)/2]); err != nil {
				return err
			}
			return remove(ids[len(ids)/2:])
		}
		return err
	}
	for len(all) > 0 {
		n := min(len(all), purgeBatch)
		ids := make([]directory.ID, n)
		for i := range n {
			ids[i] = all[i].id
		}
		if err := remove(ids); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

// deleteImport stops an import and purges its copy.
func (f *Federation) deleteImport(ctx context.Context, name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.imports[name]
	if r == nil {
		return false, nil
	}
	r.stop()
	if err := f.purge(ctx, r); err != nil {
		return true, err
	}
	delete(f.imports, name)
	f.reinstallExports()
	f.log.Info("federation: import deleted and its copy purged", "import", name)
	return true, f.save()
}

// Imports lists the imports, sorted by name.
func (f *Federation) Imports() []ImportView {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]ImportView, 0, len(f.imports))
	for _, r := range f.imports {
		out = append(out, r.view(f.cfg.Grace))
	}
	sortImports(out)
	return out
}

func sortImports(v []ImportView) {
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].Name < v[j-1].Name; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// Import returns one import.
func (f *Federation) Import(name string) (ImportView, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.imports[name]
	if r == nil {
		return ImportView{}, false
	}
	return r.view(f.cfg.Grace), true
}
