package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/pflag"

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
	fe.RegisterExtended(replication.OIDSnapshot, sup.ServeSnapshot)
	for _, p := range cfg.Replication.Peers {
		pw := p.Password
		if p.PasswordFile != "" {
			b, err := os.ReadFile(p.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("config: replication peer %s: %w", p.Name, err)
			}
			pw = string(bytes.TrimRight(b, "\r\n"))
		}
		pc := replication.PeerConfig{Name: p.Name, URL: p.URL, BindDN: p.BindDN, Password: pw, Interval: cfg.Replication.Interval}
		if len(p.TLS.PinnedSHA256) > 0 || p.TLS.CertFile != "" {
			var err error
			if pc.TLS, err = replication.PinnedTLS(p.TLS.CertFile, p.TLS.KeyFile, p.TLS.PinnedSHA256); err != nil {
				return nil, fmt.Errorf("config: replication peer %s: %w", p.Name, err)
			}
		}
		if _, err := rep.AddPeer(pc); err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
	}
	if err := rep.Register(metrics.Registry); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); rep.Run(rctx) }()
	go func() { defer wg.Done(); rep.RunMaintenance(rctx) }()
	go func() { defer wg.Done(); rep.RunPeers(rctx) }()
	log.Info("multi-supplier replication", "replica_id", cfg.Replication.ReplicaID, "peers", len(cfg.Replication.Peers))
	return func() { cancel(); wg.Wait() }, nil
}

const replicaUsage = `Usage: switchboard replica join --from URL [--replace] [flags]

Seeds the store of a new multi-supplier replica (--data, replication.replica_id) from a snapshot of a
running one, before it takes any write: it adopts that replica's data and generation, so a later
'serve' starts caught up and in the same topology. A store that holds data is refused unless --replace
is given (its data is then dropped for the peer's). 'replica init' is the same command.
Run 'switchboard replica join --help' for its flags.
`

// cmdReplica runs "replica join" (or its older name "replica init"): it
// seeds a new replica's store (--data) from a snapshot of a running one
// (which works however far that one's op log was trimmed) and writes the
// resolved entries, so that serve starts it caught up and in the same
// generation. A store that holds data is refused unless --replace; one
// whose earlier join was interrupted may be joined again.
func cmdReplica(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprint(stdout, replicaUsage)
		return pflag.ErrHelp
	}
	if len(args) == 0 || args[0] != "join" && args[0] != "init" {
		fmt.Fprint(stderr, replicaUsage)
		return errors.New("replica: the subcommand is join (or init)")
	}
	name := "replica " + args[0]
	fs := newFlags(name)
	from := fs.String("from", "", "URL of the running replica to copy (ldap://host:port)")
	bindDN := fs.String("bind-dn", "", "DN to bind to it as (default: root-dn)")
	pwFile := fs.String("password-file", "", "file holding that DN's password (default: the root password settings)")
	chunk := fs.Int("chunk-bytes", 0, "bytes of entries per snapshot response (default: the supplier's, 4 MB)")
	replace := fs.Bool("replace", false, "drop the data the store holds and take the peer's")
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, replicaUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := loadConfig(fs)
	if err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("%s: --from is required", name)
	}
	dn := *bindDN
	if dn == "" {
		dn = cfg.RootDN
	}
	var pw []byte
	if *pwFile != "" {
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return err
		}
		pw = bytes.TrimRight(b, "\r\n")
	} else if pw, err = rootPassword(cfg, stdout); err != nil {
		return err
	}
	cfg.Replication.MultiSupplier = true
	log := cfg.logger()
	eng, _, rep, err := openEngineRepl(cfg, log, cfg.Data, false, false)
	if err != nil {
		return err
	}
	defer eng.Close()
	interrupted := rep.ReinitStatus().Phase == replication.ReinitNeeded
	if gen, _ := rep.Position(); !interrupted && !*replace && (eng.EntryCount() > 0 || !gen.IsZero()) {
		return fmt.Errorf("%s: the store in %s already holds data (%d entries, generation %s); give an empty --data, or --replace to drop it for the peer's",
			name, cfg.Data, eng.EntryCount(), gen)
	}
	start := time.Now()
	peer := replication.PeerConfig{Name: "init", URL: *from, BindDN: dn, Password: string(pw), SnapshotChunk: *chunk}
	if eng.EntryCount() == 0 {
		// An empty store (a new one, or one whose earlier join was
		// interrupted) is written by the bulk loader, as an import
		// (Replicator.Join); a store with entries (--replace) through
		// the transactional reinitialisation.
		tmp := filepath.Clean(cfg.Data) + ".join-runs"
		os.RemoveAll(tmp) // left by an interrupted join
		err = rep.Join(directory.WithIdentity(ctx, cfg.RootDN), peer, tmp)
		os.RemoveAll(tmp)
	} else {
		err = rep.Reinitialise(ctx, peer)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	gen, _ := rep.Position()
	st := rep.ReinitStatus()
	fmt.Fprintf(stdout, "replica %d joined %s: snapshot of %d entries (%d bytes in %d chunks, %d resumed), %d stored entries, generation %s, in %s\n",
		cfg.Replication.ReplicaID, *from, st.Entries, st.Bytes, st.Chunks, st.Resumes, eng.EntryCount(), gen, time.Since(start).Round(time.Millisecond))
	return nil
}
