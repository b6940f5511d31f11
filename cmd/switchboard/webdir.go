package main

// The public HTTP listener (http_listen, package web): its configuration
// and how a login name becomes a DN to bind as.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/web"
)

// webDirectory resolves login names for the web surfaces: a DN as it
// is, otherwise the one entry under the naming context whose uid or mail
// equals the name.
type webDirectory struct {
	eng *directory.Engine
}

// unresolved is the RDN under the suffix of the DNs that names matching
// no entry, or several, resolve to; nothing is stored there, so the bind
// fails as a wrong password does.
const unresolved = "ou=unresolved login"

func (d webDirectory) Resolve(ctx context.Context, login string) (string, error) {
	if strings.Contains(login, "=") {
		if _, err := ldap.ParseDN(login); err == nil {
			return login, nil
		}
	}
	v := goldap.EscapeFilter(login)
	f, err := ldap.ParseFilter("(|(uid=" + v + ")(mail=" + v + "))")
	if err != nil {
		return "", fmt.Errorf("login filter: %w", err)
	}
	var found []string
	err = d.eng.Search(ctx, &directory.SearchRequest{
		BaseDN: d.eng.Suffix(), Scope: ldap.ScopeWholeSubtree, Filter: f, SizeLimit: 2, Unlimited: true, Borrow: true,
	}, func(en *directory.Entry) error {
		found = append(found, en.DN)
		return nil
	})
	var le *ldap.Error
	if err != nil && !(errors.As(err, &le) && (le.Code == ldap.SizeLimitExceeded || le.Code == ldap.NoSuchObject)) {
		return "", err
	}
	if len(found) == 1 {
		return found[0], nil
	}
	return "uid=" + goldap.EscapeDN(login) + "," + unresolved + "," + d.eng.Suffix(), nil
}

// newWebServer builds the public HTTP listener's server, its surfaces
// mounted by the caller.
func newWebServer(cfg *Config, log *slog.Logger, eng *directory.Engine, pipe *web.Pipe, tlsCfg *tls.Config) (*web.Server, error) {
	exempt, err := cfg.connLimitExempt()
	if err != nil {
		return nil, err
	}
	s := &web.Server{Directory: webDirectory{eng: eng}, LDAP: pipe, Logger: log,
		AllowPlainBasic: cfg.HTTP.AllowPlainBasic, MaxConns: cfg.HTTP.MaxConnections,
		MaxConnsPerAddr: noneAsZero(cfg.HTTP.MaxConnectionsPerIP), ConnLimitExempt: exempt}
	if cfg.HTTP.MaxConnections < 1 {
		return nil, fmt.Errorf("config: http.max_connections %d: want at least 1", cfg.HTTP.MaxConnections)
	}
	if cfg.HTTP.TLS {
		if tlsCfg == nil {
			return nil, errors.New("config: http.tls needs tls.cert_file and tls.key_file")
		}
		s.TLS = tlsCfg.Clone()
		s.TLS.NextProtos = []string{"http/1.1"}
		s.TLS.ClientAuth = tls.NoClientCert
	}
	return s, nil
}
