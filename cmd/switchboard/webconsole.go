package main

// The web console's view of the server (console.Operations): who may see
// the server's state, its replication and its listeners, certificates
// and store. These are not entries, so they come from the engine and the
// replicator directly, behind the admin API's rule.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/overlay/audit"
	"github.com/switchboard-ldap/switchboard/federation"
	"github.com/switchboard-ldap/switchboard/replication"
	"github.com/switchboard-ldap/switchboard/web/console"
)

// consoleOps implements console.Operations.
type consoleOps struct {
	eng       *directory.Engine
	rep       *replication.Replicator // nil without multi-supplier replication
	fed       *federation.Federation
	admins    *adminDirectory // the admin API's rule
	tls       *tls.Config     // the server's certificate, nil without TLS
	listeners []console.Listener
	started   time.Time
	auditFile string // the audit log, empty when off
	auditKeep int    // its rotated files
}

// newConsoleOps describes the listeners in lns (before the servers take
// them) for the console's server page.
func newConsoleOps(cfg *Config, eng *directory.Engine, rep *replication.Replicator, fed *federation.Federation, admins *adminDirectory, tlsCfg *tls.Config, lns *listeners) *consoleOps {
	o := &consoleOps{eng: eng, rep: rep, fed: fed, admins: admins, tls: tlsCfg, started: time.Now(), auditFile: cfg.Audit.File, auditKeep: cfg.Audit.Keep}
	if o.auditKeep <= 0 {
		o.auditKeep = audit.DefaultKeep
	}
	for _, l := range []struct {
		name string
		ln   net.Listener
		tls  bool
	}{
		{"LDAP (StartTLS when TLS is on)", lns.ldap, tlsCfg != nil},
		{"LDAPS", lns.ldaps, true},
		{"admin API", lns.admin, cfg.Admin.TLS},
		{"web (console, public HTTP)", lns.http, cfg.HTTP.TLS},
	} {
		if l.ln != nil {
			o.listeners = append(o.listeners, console.Listener{Name: l.name, Addr: l.ln.Addr().String(), TLS: l.tls})
		}
	}
	return o
}

func (o *consoleOps) Allowed(ctx context.Context, dn string) bool {
	ndn, err := o.eng.NormalizeDN(dn)
	return err == nil && o.admins.Allowed(ctx, ndn, false)
}

func (o *consoleOps) Replication(context.Context) *console.Replication {
	if o.rep == nil {
		return nil
	}
	st := o.rep.Status()
	out := &console.Replication{ReplicaID: st.ReplicaID, Settled: st.Settled, Entries: st.Entries, Conflicts: st.Conflicts, Diverged: st.Diverged}
	for _, p := range st.Peers {
		out.Peers = append(out.Peers, console.Peer{Name: p.Name, URL: p.URL, State: string(p.State), Paused: p.Paused, Error: p.Error,
			LastPull: p.LastPull, ReplicaID: p.ReplicaID, LagChanges: p.LagChanges, LagSeconds: p.LagSeconds,
			PeerLacksChanges: p.PeerLacksChanges, PeerLacksSeconds: p.PeerLacksSeconds})
	}
	return out
}

func (o *consoleOps) Server(context.Context) *console.ServerState {
	ds := o.eng.DiskSpace()
	out := &console.ServerState{Version: version, Started: o.started, Listeners: o.listeners, Entries: o.eng.EntryCount(),
		StoreBytes: o.eng.Size(), DiskGuard: ds.Guarded, DiskFull: ds.Full, Headroom: ds.Headroom}
	done, total := o.eng.IndexBuild()
	running, err := o.eng.IndexBuildState()
	if running || done > 0 || total > 0 || err != nil {
		out.IndexBuild = &console.IndexBuild{Running: running, Done: done, Total: total}
		if err != nil {
			out.IndexBuild.Error = err.Error()
		}
	}
	if o.tls != nil && o.tls.GetCertificate != nil {
		if c, err := o.tls.GetCertificate(&tls.ClientHelloInfo{}); err == nil && c != nil && len(c.Certificate) > 0 {
			if x, err := x509.ParseCertificate(c.Certificate[0]); err == nil {
				out.Certs = append(out.Certs, console.Cert{Use: "LDAPS, StartTLS and HTTPS", Subject: x.Subject.String(), NotAfter: x.NotAfter})
			}
		}
	}
	return out
}

func (o *consoleOps) Federation(context.Context) *console.Federation {
	if o.fed == nil {
		return nil
	}
	out := &console.Federation{}
	for _, e := range o.fed.Exports() {
		out.Exports = append(out.Exports, console.Export{Partner: e.Name, BindDN: e.BindDN, Base: e.Base, Scope: e.Scope,
			Filter: e.Filter, Attributes: e.Attributes, Withheld: e.Withheld, ReshareImports: e.ReshareImports,
			EntriesSent: e.Stats.Entries, Searches: e.Stats.Searches, LastBind: e.Stats.LastBind, LastFetch: e.Stats.LastFetch})
	}
	for _, im := range o.fed.Imports() {
		out.Imports = append(out.Imports, console.Import{Name: im.Name, Source: im.Source, RemoteBase: im.RemoteBase,
			LocalBase: im.LocalBase, Filter: im.Filter, Interval: time.Duration(im.Interval), State: im.State,
			Entries: im.Status.Entries, LastChange: im.Status.LastChange, LastError: im.Status.LastError,
			LastErrorAt: im.Status.LastErrorAt, Failure: im.Failure, PurgeAt: im.PurgeAt})
	}
	return out
}

// auditTail is how much of the current audit file the console reads.
const auditTail = 4 << 20

func (o *consoleOps) Audit(_ context.Context, verify bool) (*console.AuditLog, error) {
	if o.auditFile == "" {
		return nil, nil
	}
	out := &console.AuditLog{File: o.auditFile}
	f, err := os.Open(o.auditFile)
	if err != nil {
		return out, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return out, err
	}
	start := max(0, st.Size()-auditTail)
	// One byte before the tail, so that a tail starting on a record's
	// blank line keeps that record.
	if start > 0 {
		start--
	}
	if out.Tail, err = io.ReadAll(io.NewSectionReader(f, start, st.Size()-start)); err != nil {
		return out, err
	}
	if start == 0 {
		// The whole file: parse from its start (its header is skipped as
		// a record without an op).
		out.Tail = append([]byte("\n\n"), out.Tail...)
	}
	if verify {
		out.Chain = o.verifyAudit()
	}
	return out, nil
}

// verifyAudit checks the chain over the rotated files and the current
// one, oldest first, as 'switchboard audit verify' does.
func (o *consoleOps) verifyAudit() *console.AuditChain {
	var files []audit.File
	for i := o.auditKeep; i >= 0; i-- {
		name := o.auditFile
		if i > 0 {
			name = fmt.Sprintf("%s.%d", o.auditFile, i)
		}
		b, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return &console.AuditChain{Error: err.Error()}
		}
		files = append(files, audit.File{Name: name, Data: b})
	}
	sum, err := audit.Verify(files)
	out := &console.AuditChain{OK: err == nil, Files: sum.Files, Records: sum.Records, Head: sum.Head.String()}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}
