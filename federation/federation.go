package federation

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
)

// Config configures a Federation.
type Config struct {
	// Dir is the data directory, where federation.json is kept.
	Dir      string
	Engine   *directory.Engine
	Frontend *frontend.Frontend
	// Disconnect closes the connections bound as the normalised DN (a
	// revoked partner's); nil closes none.
	Disconnect func(ndn string) int
	// Changelog is what imports write through (replication.SyncreplConfig.Log).
	Changelog directory.ChangeLog
	// Grace is how long a failed import keeps its copy before it is
	// purged, unless the import sets its own (default 24 h).
	Grace time.Duration
	// Audit records export changes, import changes, failures and purges,
	// and discovery requests; nil records none.
	Audit *audit.Log
	// Throttle counts the failed authentications of discovery requests
	// as failed binds (nil: none).
	Throttle *frontend.Throttle
	// DiscoveryRate is how many hashes a second a partner may ask about,
	// DiscoveryBurst how many at once (defaults DefaultDiscoveryRate and
	// DefaultDiscoveryBurst).
	DiscoveryRate  float64
	DiscoveryBurst int
	Logger         *slog.Logger
}

// DefaultGrace is Config.Grace's default.
const DefaultGrace = 24 * time.Hour

// PartnerBase is the DN below which partners' bind DNs are made.
const PartnerBase = "cn=federation"

// Federation holds the exports and imports; its Handler serves the API.
type Federation struct {
	cfg  Config
	path string
	log  *slog.Logger

	mu      sync.Mutex
	exports map[string]*export
	imports map[string]*importRun
	// credKey keys the MACs of verified partner passwords (discovery).
	credKey [32]byte
	// discovery is the discovery state of the exports with the right.
	discovery map[string]*discovery
	closed    bool
}

// stored is the content of federation.json.
type stored struct {
	Exports []Export `json:"exports"`
	Imports []Import `json:"imports"`
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,47}$`)

// Open loads the stored exports and imports, installs the exports'
// partners in the frontend and starts the imports.
func Open(ctx context.Context, cfg Config) (*Federation, error) {
	if cfg.Engine == nil || cfg.Frontend == nil {
		return nil, errors.New("federation: Engine and Frontend are required")
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.DiscoveryRate <= 0 {
		cfg.DiscoveryRate = DefaultDiscoveryRate
	}
	if cfg.DiscoveryBurst <= 0 {
		cfg.DiscoveryBurst = DefaultDiscoveryBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Federation{cfg: cfg, path: filepath.Join(cfg.Dir, "federation.json"), log: cfg.Logger,
		exports: map[string]*export{}, imports: map[string]*importRun{}, discovery: map[string]*discovery{}}
	rand.Read(f.credKey[:])
	b, err := os.ReadFile(f.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("federation: %w", err)
	}
	var st stored
	if err == nil {
		if err := json.Unmarshal(b, &st); err != nil {
			return nil, fmt.Errorf("federation: %s: %w", f.path, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	reseal := false
	for _, im := range st.Imports {
		if !validName.MatchString(im.Name) {
			return nil, fmt.Errorf("federation: %s: import name %q is not valid", f.path, im.Name)
		}
		switch {
		case im.PasswordSealed != "":
			pw, err := f.openPassword(&im)
			if err != nil {
				f.log.Error("federation: an import's password does not open; the import stays stopped", "import", im.Name, "err", err)
			}
			im.Password = pw
		case im.Password != "" && cfg.Engine.Sealer() != nil:
			reseal = true // kept in clear before the server had a key
		}
		f.imports[im.Name] = &importRun{spec: im}
	}
	for _, ex := range st.Exports {
		if !validName.MatchString(ex.Name) {
			return nil, fmt.Errorf("federation: %s: export name %q is not valid", f.path, ex.Name)
		}
		e := &export{spec: ex}
		if err := f.install(e); err != nil {
			return nil, fmt.Errorf("federation: export %s: %w", ex.Name, err)
		}
		f.exports[ex.Name] = e
		if ex.Discovery {
			f.discovery[ex.Name] = &discovery{}
		}
	}
	if reseal {
		if err := f.save(); err != nil {
			return nil, err
		}
	}
	for _, r := range f.imports {
		if err := f.startImport(r, false); err != nil {
			f.log.Error("federation: import does not start", "import", r.spec.Name, "err", err)
			r.setFailure(err.Error())
		}
	}
	return f, nil
}

// Close stops the imports (their copies stay).
func (f *Federation) Close() {
	f.mu.Lock()
	f.closed = true
	runs := make([]*importRun, 0, len(f.imports))
	for _, r := range f.imports {
		runs = append(runs, r)
	}
	f.mu.Unlock()
	for _, r := range runs {
		r.stop()
	}
}

// Consumers lists the imports' consumers (for their metrics).
func (f *Federation) Consumers() []*replication.Syncrepl {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*replication.Syncrepl
	names := make([]string, 0, len(f.imports))
	for n := range f.imports {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if sr := f.imports[n].consumer(); sr != nil {
			out = append(out, sr)
		}
	}
	return out
}

// save writes federation.json; f.mu is held.
func (f *Federation) save() error {
	st := stored{Exports: []Export{}, Imports: []Import{}}
	for _, e := range f.exports {
		st.Exports = append(st.Exports, e.spec)
	}
	for _, r := range f.imports {
		im := r.snapshotSpec()
		if sl := f.cfg.Engine.Sealer(); sl != nil && im.Password != "" {
			im.PasswordSealed = base64.StdEncoding.EncodeToString(sl.Seal(nil, passwordAAD(im.Name), []byte(im.Password)))
			im.Password = ""
		}
		st.Imports = append(st.Imports, im)
	}
	slices.SortFunc(st.Exports, func(a, b Export) int { return cmpString(a.Name, b.Name) })
	slices.SortFunc(st.Imports, func(a, b Import) int { return cmpString(a.Name, b.Name) })
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(f.cfg.Dir, 0o700); err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	return nil
}

// passwordAAD is what an import's sealed password is bound to: the
// import's name, so that it does not open as another's.
func passwordAAD(name string) string { return "federation.import." + name + ".password" }

// openPassword opens an import's sealed password.
func (f *Federation) openPassword(im *Import) (string, error) {
	sl := f.cfg.Engine.Sealer()
	if sl == nil {
		return "", errors.New("the password is sealed and the server has no master key (encryption.key_file)")
	}
	b, err := base64.StdEncoding.DecodeString(im.PasswordSealed)
	if err != nil {
		return "", fmt.Errorf("password_sealed: %w", err)
	}
	pw, err := sl.Open(passwordAAD(im.Name), b)
	if err != nil {
		return "", err
	}
	return string(pw), nil
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// importBases lists the local bases of the imports (normalised), which
// exports do not share unless they reshare imports. f.mu is held.
func (f *Federation) importBases() []string {
	var out []string
	for _, r := range f.imports {
		if n, err := f.cfg.Engine.NormalizeDN(r.spec.LocalBase); err == nil {
			out = append(out, n)
		}
	}
	for _, c := range f.cfg.Engine.ReadOnlyCopies() {
		if n, err := f.cfg.Engine.NormalizeDN(c.Base); err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// reinstallExports recompiles every export's view (the imports changed).
// f.mu is held.
func (f *Federation) reinstallExports() {
	for _, e := range f.exports {
		if err := f.install(e); err != nil {
			f.log.Error("federation: export view does not compile", "export", e.spec.Name, "err", err)
		}
	}
}

// inSuffix reports whether the normalised DN ndn is within the naming
// context.
func (f *Federation) inSuffix(ndn string) bool {
	s, _ := f.cfg.Engine.NormalizeDN(f.cfg.Engine.Suffix())
	return ndn == s || ldap.IsBelowNDN(ndn, s)
}

// overlaps reports whether two normalised subtrees share an entry.
func overlaps(a, b string) bool {
	return a == b || ldap.IsBelowNDN(a, b) || ldap.IsBelowNDN(b, a)
}

// audit records an action in the audit log, if there is one.
func (f *Federation) audit(a audit.Action) {
	if f.cfg.Audit == nil {
		return
	}
	if err := f.cfg.Audit.RecordAction(a); err != nil {
		f.log.Error("federation: audit record not written", "op", a.Op, "object", a.Object, "err", err)
	}
}
