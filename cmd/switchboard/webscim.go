package main

import (
	"fmt"
	"log/slog"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/web"
	"github.com/switchboard-ldap/switchboard/web/scim"
)

// scimTokens verifies SCIM-scoped admin tokens for web/scim.
type scimTokens struct{ toks *admin.Tokens }

func (t scimTokens) Verify(secret string) (string, bool) {
	k, ok := t.toks.Verify(secret, admin.ScopeSCIM)
	return k.Identity, ok
}

// mountSCIM serves SCIM 2.0 at /scim/v2 (config scim.*).
func mountSCIM(s *web.Server, cfg *Config, log *slog.Logger, eng *directory.Engine, toks *admin.Tokens) error {
	users, groups := cfg.SCIM.Users, cfg.SCIM.Groups
	if users == "" {
		users = "ou=people," + eng.Suffix()
	}
	if groups == "" {
		groups = "ou=groups," + eng.Suffix()
	}
	for _, b := range []string{users, groups} {
		if _, err := eng.NormalizeDN(b); err != nil {
			return fmt.Errorf("config: scim.users / scim.groups %q: %w", b, err)
		}
	}
	sc := scim.Config{Web: s, UsersBase: users, GroupsBase: groups, MaxResults: cfg.SCIM.MaxResults,
		Placeholder: cfg.Overlays.MemberOf.Placeholder, Logger: log}
	if toks != nil {
		sc.Tokens = scimTokens{toks: toks}
	}
	h, err := scim.New(sc)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	s.Handle(scim.Prefix+"/", h)
	return nil
}
