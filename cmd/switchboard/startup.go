package main

// What serve does before and after loading the store: bind its ports
// first (a port in use fails at once), clean up after an interrupted
// import, and say where it listens and how to bind.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/switchboard-ldap/switchboard/directory"
)

// listeners are serve's sockets, bound before the store is opened.
type listeners struct {
	ldap, ldaps, admin, http net.Listener
}

// listen binds the LDAP, LDAPS and admin addresses of cfg (the last two
// when set), naming the key of the one that fails.
func listen(cfg *Config) (*listeners, error) {
	l := &listeners{}
	var err error
	bind := func(key, addr string) net.Listener {
		if err != nil || addr == "" {
			return nil
		}
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err != nil {
			hint := ""
			if errors.Is(err, syscall.EADDRINUSE) {
				hint = " (is another server running? stop it, or choose another address)"
			}
			err = fmt.Errorf("config: %s %s: %w%s", key, addr, err, hint)
		}
		return ln
	}
	l.ldaps = bind("listen_ldaps", cfg.ListenLDAPS)
	l.ldap = bind("listen", cfg.Listen)
	l.admin = bind("admin_listen", cfg.AdminListen)
	l.http = bind("http_listen", cfg.HTTPListen)
	if err != nil {
		l.close()
		return nil, err
	}
	return l, nil
}

// take hands the listeners over to the servers, which close them.
func (l *listeners) take() (ldap, ldaps, admin, http net.Listener) {
	ldap, ldaps, admin, http = l.ldap, l.ldaps, l.admin, l.http
	*l = listeners{}
	return
}

// close closes the listeners not taken.
func (l *listeners) close() {
	for _, ln := range []net.Listener{l.ldap, l.ldaps, l.admin, l.http} {
		if ln != nil {
			ln.Close()
		}
	}
	*l = listeners{}
}

// cleanStaleImport removes the temporary store an interrupted import
// left beside the data directory (DATA.importing), or says that an
// import is still writing it.
func cleanStaleImport(data string, log *slog.Logger) {
	tmp := filepath.Clean(data) + ".importing"
	if _, err := os.Stat(tmp); err != nil {
		return
	}
	if err := directory.CheckNotInUse(tmp); err != nil {
		log.Warn("an import is still running beside the data directory; serve does not see what it loads until it finishes and serve restarts", "dir", tmp, "err", err)
		return
	}
	if err := os.RemoveAll(tmp); err != nil {
		log.Warn("an interrupted import left a temporary store that could not be removed; remove it by hand", "dir", tmp, "err", err)
		return
	}
	log.Warn("removed the temporary store of an interrupted import (nothing of it had been imported); run the import again", "dir", tmp)
}

// removeStaleImport is cleanStaleImport for import itself: a running
// import into the same directory is an error.
func removeStaleImport(tmp string, stderr io.Writer) error {
	if _, err := os.Stat(tmp); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := directory.CheckNotInUse(tmp); err != nil {
		return fmt.Errorf("another import is writing %s: %w", tmp, err)
	}
	fmt.Fprintf(stderr, "removing %s, left by an interrupted import\n", tmp)
	return os.RemoveAll(tmp)
}

// printStart tells the operator what serves where and how to bind.
func printStart(w io.Writer, cfg *Config, startTLS bool, ldap, ldaps, admin, http net.Listener) {
	tlsState := "StartTLS off"
	if startTLS {
		tlsState = "StartTLS on"
		if cfg.TLS.Require != "none" {
			tlsState += ", required for " + map[string]string{"bind": "password binds", "all": "every operation"}[cfg.TLS.Require]
		}
	}
	fmt.Fprintf(w, "switchboard %s serving %s on ldap://%s (%s)\n", version, cfg.Suffix, ldap.Addr(), tlsState)
	if ldaps != nil {
		fmt.Fprintf(w, "switchboard %s serving %s on ldaps://%s\n", version, cfg.Suffix, ldaps.Addr())
	}
	fmt.Fprintf(w, "  naming context: %s\n  root DN:        %s\n", cfg.Suffix, cfg.RootDN)
	if admin != nil {
		fmt.Fprintf(w, "  admin API:      http://%s/ (/healthz, /readyz, /metrics)\n", admin.Addr())
	} else {
		fmt.Fprintf(w, "  admin API:      off\n")
	}
	if http != nil {
		scheme := "http"
		if cfg.HTTP.TLS {
			scheme = "https"
		}
		fmt.Fprintf(w, "  web:            %s://%s/\n", scheme, http.Addr())
	}
	zz := "-ZZ "
	if !startTLS {
		zz = ""
	}
	fmt.Fprintf(w, "  bind with:      ldapsearch -H ldap://%s %s-x -D %s -W -b %s\n", ldap.Addr(), zz, shellQuote(cfg.RootDN), shellQuote(cfg.Suffix))
	fmt.Fprintf(w, "                  (anonymous clients see only what the access rules let anyone read)\n")
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
