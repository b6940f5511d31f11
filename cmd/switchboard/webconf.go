package main

// Checks of the public HTTP listener's keys (http_listen, http.*,
// carddav.*, scim.*), federation.* and the listen addresses, made when
// the configuration loads: a bad value stops serve before it binds a
// port or creates the data directory, naming the key.

import (
	"fmt"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/ldap"
)

func (c *Config) validateWeb() error {
	// Two listeners on one address: the second bind would fail with
	// "address already in use", which reads as another server running.
	addrs := []struct{ key, addr string }{
		{"listen", c.Listen}, {"listen_ldaps", c.ListenLDAPS}, {"admin_listen", c.AdminListen}, {"http_listen", c.HTTPListen},
	}
	for i, a := range addrs {
		for _, b := range addrs[i+1:] {
			if a.addr != "" && a.addr == b.addr {
				return fmt.Errorf("config: %s and %s are both %s: give each listener its own address", a.key, b.key, a.addr)
			}
		}
	}
	for _, n := range []struct {
		key string
		v   int64
	}{
		{"http.max_connections", int64(c.HTTP.MaxConnections)},
		{"admin.max_connections", int64(c.Admin.MaxConnections)},
		{"carddav.max_card_bytes", c.CardDAV.MaxCardBytes},
		{"carddav.max_photo_bytes", int64(c.CardDAV.MaxPhotoBytes)},
		{"carddav.max_request_bytes", c.CardDAV.MaxRequestBytes},
		{"scim.max_results", int64(c.SCIM.MaxResults)},
	} {
		if n.v < 1 {
			return fmt.Errorf("config: %s %d: want at least 1", n.key, n.v)
		}
	}
	if n := c.HTTP.MaxConnectionsPerIP; n == 0 || n < -1 {
		return fmt.Errorf("config: http.max_connections_per_ip %d: want at least 1, or -1 for no bound", n)
	}
	if c.Federation.Grace <= 0 {
		return fmt.Errorf("config: federation.grace %v: want a positive duration (such as 24h)", c.Federation.Grace)
	}
	if c.HTTP.TLS && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		return fmt.Errorf("config: http.tls needs tls.cert_file and tls.key_file")
	}
	if c.Admin.TLS && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		return fmt.Errorf("config: admin.tls needs tls.cert_file and tls.key_file")
	}
	if _, err := admin.ParseMetricsAccess(c.Admin.MetricsAccess); err != nil {
		return fmt.Errorf("config: admin.metrics_access: %w", err)
	}
	if _, err := ldap.ParseFilter(c.CardDAV.PeopleFilter); err != nil && c.CardDAV.PeopleFilter != "" {
		return fmt.Errorf("config: carddav.people_filter %q: %w", c.CardDAV.PeopleFilter, err)
	}
	for _, b := range []struct{ key, dn string }{{"scim.users", c.SCIM.Users}, {"scim.groups", c.SCIM.Groups}} {
		if b.dn == "" {
			continue // the default under the suffix
		}
		if _, err := ldap.ParseDN(b.dn); err != nil {
			return fmt.Errorf("config: %s %q is not a DN: %w", b.key, b.dn, err)
		}
	}
	return nil
}
