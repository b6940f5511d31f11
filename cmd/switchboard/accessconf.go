package main

// The access policy from the configuration, and its reload: on SIGHUP and
// when the configuration file changes, the access section is read again,
// compiled and swapped into the frontend; a policy that does not compile
// is logged and the running one kept.

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/switchboard-ldap/switchboard/directory/access"
)

// accessCheckInterval is how often the configuration file's modification
// time is looked at.
const accessCheckInterval = 2 * time.Second

// accessPolicy compiles the configured rules, or the default ones.
func accessPolicy(cfg *Config, env access.Env) (*access.Policy, error) {
	rules := cfg.Access.Rules
	if len(rules) == 0 {
		self := cfg.Access.SelfWritable
		if self == nil {
			self = []string{}
		}
		rules = access.DefaultRules(access.DefaultOptions{SelfWritable: self, AdminGroup: cfg.Access.AdminGroup})
	}
	return access.Compile(env, rules)
}

// watchAccess reloads the access policy until ctx ends, calling set with
// each new one.
func watchAccess(ctx context.Context, fs *pflag.FlagSet, env access.Env, set func(*access.Policy), log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	path := configPath(fs)
	mtime := modTime(path)
	tick := time.NewTicker(accessCheckInterval)
	defer tick.Stop()
	for {
		why := "SIGHUP"
		select {
		case <-ctx.Done():
			return
		case <-hup:
		case <-tick.C:
			m := modTime(path)
			if m.Equal(mtime) {
				continue
			}
			mtime, why = m, "configuration file changed"
		}
		cfg, err := loadConfig(fs)
		if err != nil {
			log.Error("access rules not reloaded", "reason", why, "err", err)
			continue
		}
		p, err := accessPolicy(cfg, env)
		if err != nil {
			log.Error("access rules not reloaded", "reason", why, "err", err)
			continue
		}
		set(p)
		log.Info("access rules reloaded", "reason", why, "rules", len(p.Rules()))
	}
}

// configPath is the configuration file loadConfig reads, "" if none.
func configPath(fs *pflag.FlagSet) string {
	path, _ := fs.GetString("config")
	if path == "" {
		if _, err := os.Stat("config.yaml"); err == nil {
			path = "config.yaml"
		}
	}
	return path
}

func modTime(path string) time.Time {
	if path == "" {
		return time.Time{}
	}
	st, err := os.Stat(path)
	if err != nil {
		return time.Time{}
	}
	return st.ModTime()
}
