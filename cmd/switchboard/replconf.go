package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/ldap"
	"github.com/switchboard-ldap/switchboard/replication"
)

// startReplication serves pulls to the peers allowed (the root DN and
// replication.consumers), pulls from replication.peers and writes the
// resolved entries; the returned function stops it all.
func startReplication(ctx context.Context, cfg *Config, log *slog.Logger, eng *directory.Engine, rep *replication.Replicator,
	fe *frontend.Frontend, metrics *admin.Metrics) (func(), error) {
	allowed := map[string]bool{}
	for _, dn := range append([]string{cfg.RootDN}, cfg.Replication.Consumers...) {
		if dn == "" {
			continue
		}
		n, err := eng.NormalizeDN(dn)
		if err != nil {
			return nil, fmt.Errorf("config: replication.consumers: %q: %w", dn, err)
		}
		allowed[n] = true
	}
	sup := &replication.Supplier{R: rep, Authorize: func(s *ldap.Session) bool {
		if !s.Authenticated() {
			return false
		}
		n, err := eng.NormalizeDN(s.BindDN())
		return err == nil && allowed[n]
	}}
	fe.RegisterExtended(replication.OIDPull, sup.ServeExtended)
	for _, p := range cfg.Replication.Peers {
		pw := p.Password
		if p.PasswordFile != "" {
			b, err := os.ReadFile(p.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("config: replication peer %s: %w", p.Name, err)
			}
			pw = string(bytes.TrimRight(b, "\r\n"))
		}
		if _, err := rep.AddPeer(replication.PeerConfig{Name: p.Name, URL: p.URL, BindDN: p.BindDN, Password: pw,
			Interval: cfg.Replication.Interval}); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := rep.Register(metrics.Registry); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rep.Run(rctx) }()
	go func() { defer wg.Done(); rep.RunPeers(rctx) }()
	log.Info("multi-supplier replication", "replica_id", cfg.Replication.ReplicaID, "peers", len(cfg.Replication.Peers))
	return func() { cancel(); wg.Wait() }, nil
}
