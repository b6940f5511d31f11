package main

import (
	"log/slog"

	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/web"
)

// mountWeb mounts the public HTTP listener's surfaces (CardDAV, the web
// console, SCIM), each under its own paths, in this one place.
func mountWeb(s *web.Server, cfg *Config, log *slog.Logger, eng *directory.Engine) error {
	return nil
}
