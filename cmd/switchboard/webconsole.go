package main

// The web console's view of the server (console.Operations): who may see
// the server's state, its replication and its listeners, certificates
// and store. These are not entries, so they come from the engine and the
// replicator directly, behind the admin API's rule.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"time"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/replication"
	"github.com/switchboard-ldap/switchboard/web/console"
)

// consoleOps implements console.Operations.
type consoleOps struct {
	eng       *directory.Engine
	rep       *replication.Replicator // nil without multi-supplier replication
	admins    *adminDirectory         // the admin API's rule
	tls       *tls.Config             // the server's certificate, nil without TLS
	listeners []console.Listener
	started   time.Time
}

// newConsoleOps describes the listeners in lns (before the servers take
// them) for the console's server page.
func newConsoleOps(cfg *Config, eng *directory.Engine, rep *replication.Replicator, admins *adminDirectory, tlsCfg *tls.Config, lns *listeners) *consoleOps {
	o := &consoleOps{eng: eng, rep: rep, admins: admins, tls: tlsCfg, started: time.Now()}
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
	if o.tls != nil && o.tls.GetCertificate != nil {
		if c, err := o.tls.GetCertificate(&tls.ClientHelloInfo{}); err == nil && c != nil && len(c.Certificate) > 0 {
			if x, err := x509.ParseCertificate(c.Certificate[0]); err == nil {
				out.Certs = append(out.Certs, console.Cert{Use: "LDAPS, StartTLS and HTTPS", Subject: x.Subject.String(), NotAfter: x.NotAfter})
			}
		}
	}
	return out
}
