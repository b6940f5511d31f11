package main

import (
	"log/slog"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/web"
	"github.com/switchboard-ldap/switchboard/web/console"
)

// mountWeb mounts the public HTTP listener's surfaces (CardDAV, the web
// console, SCIM), each under its own paths, in this one place.
func mountWeb(s *web.Server, cfg *Config, log *slog.Logger, eng *directory.Engine, ops console.Operations) error {
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
