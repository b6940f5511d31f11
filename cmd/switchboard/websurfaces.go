package main

import (
	"log/slog"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/web"
	"github.com/switchboard-ldap/switchboard/web/carddav"
	"github.com/switchboard-ldap/switchboard/web/console"
)

// mountWeb mounts the public HTTP listener's surfaces (CardDAV, SCIM, the
// web console), each under its own paths, in this one place. toks are
// the bearer tokens made through the admin API; ops what the console
// shows of the server beyond the directory.
func mountWeb(s *web.Server, cfg *Config, log *slog.Logger, eng *directory.Engine, toks *admin.Tokens, ops console.Operations) error {
	if cfg.CardDAV.Enabled {
		h, err := carddav.New(carddav.Config{Base: eng.Suffix(), MaxCardBytes: cfg.CardDAV.MaxCardBytes,
			MaxPhotoBytes: cfg.CardDAV.MaxPhotoBytes, MaxRequestBytes: cfg.CardDAV.MaxRequestBytes,
			PeopleFilter: cfg.CardDAV.PeopleFilter, Logger: log})
		if err != nil {
			return err
		}
		h.Mount(s)
	}
	if cfg.SCIM.Enabled {
		if err := mountSCIM(s, cfg, log, eng, toks); err != nil {
			return err
		}
	}
	// A console session holds an LDAP connection, which the LDAP server
	// closes after limits.idle_timeout: the session ends no later.
	idle := console.DefaultSessionIdle
	if t := cfg.Limits.IdleTimeout; t > 0 && t < idle {
		idle = t
	}
	con, err := console.New(console.Config{Web: s, Operations: ops, DefaultPolicy: cfg.Overlays.PPolicy.Default, Logger: log,
		SessionIdle: idle})
	if err != nil {
		return err
	}
	// The console answers every path the other surfaces do not claim.
	s.Handle("/", con)
	return nil
}
