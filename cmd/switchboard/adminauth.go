package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/access"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/ldap"
)

// adminDirectory answers the admin API's questions about identities
// (admin.Directory) from the directory: binds as LDAP simple binds do,
// through the failed-bind throttle and the overlays (password policy
// lockout, audit); the root DN and members of admin.group are allowed.
type adminDirectory struct {
	eng       *directory.Engine
	backend   directory.Backend
	rootNDN   string
	rootPW    []byte
	groupNDN  string
	suffixNDN string                // the naming context, whose entry the rights are read on
	throttle  *frontend.Throttle    // nil: none
	access    func() *access.Policy // the rules in force; nil: membership alone
	log       *slog.Logger
}

// newAdminServer builds the admin HTTP server with its authentication.
func newAdminServer(cfg *Config, log *slog.Logger, eng *directory.Engine, backend directory.Backend, rootPW []byte,
	throttle *frontend.Throttle, rules func() *access.Policy, tlsCfg *tls.Config, metrics *admin.Metrics) (*admin.Server, error) {
	d := &adminDirectory{eng: eng, backend: backend, rootPW: rootPW, throttle: throttle, access: rules, log: log}
	var err error
	if cfg.RootDN != "" {
		if d.rootNDN, err = eng.NormalizeDN(cfg.RootDN); err != nil {
			return nil, fmt.Errorf("config: root_dn: %w", err)
		}
	}
	if d.suffixNDN, err = eng.NormalizeDN(eng.Suffix()); err != nil {
		return nil, fmt.Errorf("config: suffix: %w", err)
	}
	if cfg.Admin.Group != "" {
		if d.groupNDN, err = eng.NormalizeDN(cfg.Admin.Group); err != nil || d.groupNDN == "" {
			return nil, fmt.Errorf("config: admin.group %q is not a DN", cfg.Admin.Group)
		}
	}
	if cfg.Admin.MaxConnections < 1 {
		return nil, fmt.Errorf("config: admin.max_connections %d: want at least 1", cfg.Admin.MaxConnections)
	}
	ma, err := admin.ParseMetricsAccess(cfg.Admin.MetricsAccess)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	toks, err := admin.OpenTokens(filepath.Join(cfg.Data, "admin-tokens.json"))
	if err != nil {
		return nil, err
	}
	s := &admin.Server{Metrics: metrics, Logger: log, Pprof: cfg.AdminPprof, Directory: d, Tokens: toks, TokenIdentity: d.TokenIdentity,
		MetricsAccess: ma, MaxConns: cfg.Admin.MaxConnections}
	if cfg.Admin.TLS {
		if tlsCfg == nil {
			return nil, errors.New("config: admin.tls needs tls.cert_file and tls.key_file")
		}
		// The LDAP listener's configuration: its certificate, and with
		// tls.ca_file client certificates verified against those CAs.
		s.TLS = tlsCfg.Clone()
		s.TLS.NextProtos = []string{"http/1.1"}
	}
	return s, nil
}

func (d *adminDirectory) Bind(ctx context.Context, addr netip.Addr, dn string, pw []byte) (string, error) {
	ndn, err := d.eng.NormalizeDN(dn)
	if err != nil || ndn == "" || len(pw) == 0 {
		return "", d.failed(ctx, addr, ndn)
	}
	if ndn == d.rootNDN {
		if ok, _ := d.eng.Passwords().Verify(ctx, d.rootPW, pw); !ok {
			return "", d.failed(ctx, addr, ndn)
		}
	} else if _, err := d.backend.Authenticate(ctx, dn, pw); err != nil {
		var le *ldap.Error
		if errors.As(err, &le) && le.Code == ldap.InvalidCredentials {
			return "", d.failed(ctx, addr, ndn)
		}
		return "", err
	}
	if d.throttle != nil {
		d.throttle.Succeeded(ndn)
	}
	return ndn, nil
}

// failed counts a failed bind in the throttle, holds the answer back as
// an LDAP bind's would be, and returns ErrInvalidCredentials.
func (d *adminDirectory) failed(ctx context.Context, addr netip.Addr, ndn string) error {
	if d.throttle != nil {
		key := ""
		if addr.IsValid() {
			key = addr.String()
			if addr.Is6() {
				p, _ := addr.Prefix(64)
				key = p.String()
			}
		}
		if wait := d.throttle.Failed(key, ndn); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
	}
	return admin.ErrInvalidCredentials
}

// Allowed: the root DN; or a member of admin.group (member or
// uniqueMember, nested groups through member) to whom the access rules
// give read (a request that only reads) or write (one that changes the
// server's state) on the naming context's entry. Rule terms on the
// client's address or TLS do not match here.
func (d *adminDirectory) Allowed(ctx context.Context, ndn string, write bool) bool {
	if ndn == "" {
		return false
	}
	if ndn == d.rootNDN {
		return true
	}
	if d.groupNDN == "" {
		return false
	}
	found, err := d.eng.IsMember(ctx, ndn, d.groupNDN)
	if err != nil && !found {
		d.log.Debug("admin API: admin group membership not decided", "group", d.groupNDN, "dn", ndn, "err", err)
	}
	if !found || d.access == nil {
		return found
	}
	need := access.Read
	if write {
		need = access.Write
	}
	en, err := d.eng.Stored(ctx, d.suffixNDN)
	if err != nil {
		// No entry to test the rules' filters against: rules with a
		// filter then give nothing.
		en = nil
	}
	r := d.access().For(access.Subject{DN: ndn}, func(group string) bool {
		ok, _ := d.eng.IsMember(ctx, ndn, group)
		return ok
	})
	a := r.Entry(d.suffixNDN, en)
	return a.Entry().Has(need)
}

// CertIdentity maps a verified client certificate's subject to the root
// DN or an existing entry, as SASL EXTERNAL does.
func (d *adminDirectory) CertIdentity(ctx context.Context, cert *x509.Certificate) (string, error) {
	subject, err := frontend.CertSubjectDN(cert)
	if err != nil {
		return "", err
	}
	ndn, err := d.eng.NormalizeDN(subject)
	if err != nil || ndn == "" {
		return "", fmt.Errorf("the subject %q is not a usable DN", subject)
	}
	if ndn == d.rootNDN {
		return ndn, nil
	}
	found := false
	err = d.eng.Search(ctx, &directory.SearchRequest{BaseDN: ndn, Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}},
		func(*directory.Entry) error { found = true; return directory.ErrStop })
	if err != nil && !errors.Is(err, directory.ErrStop) || !found {
		return "", fmt.Errorf("the subject %q names no entry", subject)
	}
	return ndn, nil
}

// TokenIdentity checks the identity a SCIM token is to act as: an
// existing entry, or the root DN for a token the root DN makes (an admin
// group member must not mint a way past the access rules).
func (d *adminDirectory) TokenIdentity(ctx context.Context, caller, dn string) (string, error) {
	ndn, err := d.eng.NormalizeDN(dn)
	if err != nil || ndn == "" {
		return "", fmt.Errorf("%q is not a DN", dn)
	}
	if ndn == d.rootNDN {
		if caller != d.rootNDN {
			return "", errors.New("only the root DN may make tokens acting as the root DN")
		}
		return ndn, nil
	}
	found := false
	err = d.eng.Search(ctx, &directory.SearchRequest{BaseDN: ndn, Scope: ldap.ScopeBaseObject, Filter: &ldap.Filter{Kind: ldap.FilterAnd}},
		func(*directory.Entry) error { found = true; return directory.ErrStop })
	if err != nil && !errors.Is(err, directory.ErrStop) || !found {
		return "", fmt.Errorf("%q names no entry", dn)
	}
	return ndn, nil
}
