package main

import (
	"log/slog"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/web"
	"github.com/switchboard-ldap/switchboard/web/carddav"
)

// mountWeb mounts the public HTTP listener's surfaces (CardDAV, the web
// console, SCIM), each under its own paths, in this one place. toks are
// the bearer tokens made through the admin API.
func mountWeb(s *web.Server, cfg *Config, log *slog.Logger, eng *directory.Engine, toks *admin.Tokens) error {
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
	return nil
}
