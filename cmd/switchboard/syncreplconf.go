package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
)

// syncreplConf is one entry of replication.syncrepl: an RFC 4533
// provider (OpenLDAP slapd, another Switchboard) to consume.
type syncreplConf struct {
	// Name identifies the consumer (its stored cookie, its status).
	Name     string `mapstructure:"name"`
	Provider string `mapstructure:"provider"` // ldap://host:port or ldaps://host:port
	StartTLS bool   `mapstructure:"start_tls"`
	CAFile   string `mapstructure:"ca_file"`
	BindDN   string `mapstructure:"bind_dn"`
	// Password is for tests; prefer password_file.
	Password     string `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
	SearchBase   string `mapstructure:"search_base"`
	Scope        string `mapstructure:"scope"` // sub (default), one, base
	Filter       string `mapstructure:"filter"`
	// Attributes is an allow-list of user attributes (empty: all).
	Attributes []string `mapstructure:"attributes"`
	// Type is refreshAndPersist (default) or refreshOnly; refreshOnly
	// polls every Interval (default 1m).
	Type     string        `mapstructure:"type"`
	Interval time.Duration `mapstructure:"interval"`
	// LocalBase is where search_base lands here (default: the same DN).
	LocalBase string `mapstructure:"local_base"`
	// RetryMin and RetryMax bound the back-off after failures.
	RetryMin time.Duration `mapstructure:"retry_min"`
	RetryMax time.Duration `mapstructure:"retry_max"`
	// OnWrite is how local writes into the copy are refused: refuse
	// (default: unwillingToPerform naming the consumer) or referral (a
	// referral to the provider).
	OnWrite string `mapstructure:"on_write"`
}

func (c *Config) validateSyncrepl() error {
	if len(c.Replication.Syncrepl) == 0 {
		return nil
	}
	if c.Replication.MultiSupplier {
		return fmt.Errorf("config: replication.syncrepl and replication.multi_supplier cannot be used together yet")
	}
	seen := map[string]bool{}
	for i, s := range c.Replication.Syncrepl {
		if s.Name == "" {
			return fmt.Errorf("config: replication.syncrepl[%d]: name is required", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("config: replication.syncrepl: name %q used twice", s.Name)
		}
		seen[s.Name] = true
		if _, err := s.scope(); err != nil {
			return fmt.Errorf("config: replication.syncrepl %s: %w", s.Name, err)
		}
		if s.Type != "" && s.Type != "refreshOnly" && s.Type != "refreshAndPersist" {
			return fmt.Errorf("config: replication.syncrepl %s: type %q is neither refreshOnly nor refreshAndPersist", s.Name, s.Type)
		}
		if s.Provider == "" || s.SearchBase == "" {
			return fmt.Errorf("config: replication.syncrepl %s: provider and search_base are required", s.Name)
		}
		if s.OnWrite != "" && s.OnWrite != "refuse" && s.OnWrite != "referral" {
			return fmt.Errorf("config: replication.syncrepl %s: on_write %q is neither refuse nor referral", s.Name, s.OnWrite)
		}
	}
	return nil
}

func (s syncreplConf) scope() (ldap.Scope, error) {
	switch s.Scope {
	case "", "sub":
		return ldap.ScopeWholeSubtree, nil
	case "one":
		return ldap.ScopeSingleLevel, nil
	case "base":
		return ldap.ScopeBaseObject, nil
	}
	return 0, fmt.Errorf("scope %q is none of sub, one, base", s.Scope)
}

// readOnlyCopies lists the consumers' local subtrees, where the engine
// refuses local writes.
func (c *Config) readOnlyCopies() []directory.ReadOnlyCopy {
	var out []directory.ReadOnlyCopy
	for _, s := range c.Replication.Syncrepl {
		base := s.LocalBase
		if base == "" {
			base = s.SearchBase
		}
		// A one-level consumer does not write its base entry: that is
		// the administrator's.
		scope := ldap.ScopeWholeSubtree
		switch s.Scope {
		case "one":
			scope = ldap.ScopeChildren
		case "base":
			scope = ldap.ScopeBaseObject
		}
		out = append(out, directory.ReadOnlyCopy{Base: base, Name: s.Name, Source: s.Provider,
			Referral: s.OnWrite == "referral", Scope: scope})
	}
	return out
}

// consumerConfig turns the configuration into a replication.SyncreplConfig.
func (s syncreplConf) consumerConfig(log directory.ChangeLog, logger *slog.Logger) (replication.SyncreplConfig, error) {
	pw := s.Password
	if s.PasswordFile != "" {
		b, err := os.ReadFile(s.PasswordFile)
		if err != nil {
			return replication.SyncreplConfig{}, fmt.Errorf("config: replication.syncrepl %s: %w", s.Name, err)
		}
		pw = string(bytes.TrimRight(b, "\r\n"))
	}
	scope, err := s.scope()
	if err != nil {
		return replication.SyncreplConfig{}, err
	}
	var tlsCfg *tls.Config
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return replication.SyncreplConfig{}, fmt.Errorf("config: replication.syncrepl %s: ca_file: %w", s.Name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return replication.SyncreplConfig{}, fmt.Errorf("config: replication.syncrepl %s: ca_file %s holds no PEM certificate", s.Name, s.CAFile)
		}
		tlsCfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return replication.SyncreplConfig{
		Name: s.Name, URL: s.Provider, StartTLS: s.StartTLS, TLS: tlsCfg,
		BindDN: s.BindDN, Password: pw,
		Base: s.SearchBase, Scope: scope, Filter: s.Filter, Attributes: s.Attributes,
		Persist: s.Type != "refreshOnly", Interval: s.Interval, LocalBase: s.LocalBase,
		RetryMin: s.RetryMin, RetryMax: s.RetryMax,
		Log: log, Logger: logger,
	}, nil
}

// startSyncrepl runs the configured RFC 4533 consumers; the handler
// serves their status (GET /api/v1/syncrepl) and the returned function
// stops them.
func startSyncrepl(ctx context.Context, cfg *Config, logger *slog.Logger, eng *directory.Engine, log directory.ChangeLog, metrics *admin.Metrics,
	federated func() []*replication.Syncrepl) (http.Handler, func(), error) {
	var consumers []*replication.Syncrepl
	for _, s := range cfg.Replication.Syncrepl {
		sc, err := s.consumerConfig(log, logger)
		if err != nil {
			return nil, nil, err
		}
		c, err := replication.NewSyncrepl(sc, eng)
		if err != nil {
			return nil, nil, fmt.Errorf("config: %w", err)
		}
		consumers = append(consumers, c)
	}
	// The configured consumers and the federation's imports.
	all := func() []*replication.Syncrepl {
		if federated == nil {
			return consumers
		}
		return append(slices.Clip(consumers), federated()...)
	}
	if err := replication.RegisterSyncreplFunc(metrics.Registry, all); err != nil {
		return nil, nil, fmt.Errorf("syncrepl metrics: %w", err)
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Add(1)
		go func() { defer wg.Done(); c.Run(rctx) }()
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		list := all()
		out := make([]replication.SyncreplStatus, 0, len(list))
		for _, c := range list {
			out = append(out, c.Status())
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(out)
	})
	if len(consumers) > 0 {
		logger.Info("RFC 4533 consumers", "count", len(consumers))
	}
	return h, func() { cancel(); wg.Wait() }, nil
}
