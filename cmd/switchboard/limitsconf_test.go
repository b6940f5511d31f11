package main

import (
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/schema"
)

func TestConfigAbuseLimits(t *testing.T) {
	cfg, err := loadFrom(t, `
limits:
  max_connections_per_ip: 10
  connection_limit_exempt: [127.0.0.1, 10.0.0.0/8]
  by_identity:
    - dn: cn=app,ou=services,dc=example,dc=com
      size: 5000
      time: 30s
      lookthrough: 100000
    - group: cn=staff,dc=example,dc=com
      size: -1
    - who: anonymous
      size: 50
bind_throttle:
  after: 3
  max_delay: 2s
`)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Limits.ByIdentity
	if len(r) != 3 || r[0].Time != 30*time.Second || r[0].Lookthrough != 100000 || r[1].Size != -1 || r[2].Who != "anonymous" {
		t.Errorf("by_identity = %+v", r)
	}
	if cfg.BindThrottle.After != 3 || cfg.BindThrottle.MaxDelay != 2*time.Second || cfg.BindThrottle.Delay != 250*time.Millisecond || !cfg.BindThrottle.Enabled {
		t.Errorf("bind_throttle = %+v", cfg.BindThrottle)
	}
	ex, err := cfg.connLimitExempt()
	if err != nil || len(ex) != 2 || ex[0].String() != "127.0.0.1/32" || ex[1].String() != "10.0.0.0/8" {
		t.Errorf("exempt = %v, %v", ex, err)
	}
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	if l, err := cfg.identityLimits(s); err != nil || l == nil {
		t.Errorf("identityLimits: %v", err)
	}

	for _, yaml := range []string{
		"limits:\n  max_connections_per_ip: -1\n",
		"limits:\n  connection_limit_exempt: [somewhere]\n",
		"limits:\n  by_identity:\n    - dn: cn=a\n      who: users\n",
		"limits:\n  by_identity:\n    - size: 3\n",
		"limits:\n  by_identity:\n    - who: users\n      time: soon\n",
		"bind_throttle:\n  delay: 2s\n  max_delay: 1s\n",
		"bind_throttle:\n  after: -1\n",
		"encryption:\n  data_key_rotation: -1h\n",
	} {
		if _, err := loadFrom(t, yaml); err == nil {
			t.Errorf("config %q accepted", yaml)
		}
	}
	cfg, err = loadFrom(t, "limits:\n  by_identity:\n    - who: everybody\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.identityLimits(s); err == nil {
		t.Error("who: everybody accepted")
	}
}

// The shipped config.yaml loads.
func TestShippedConfigLoads(t *testing.T) {
	fs := newFlags("test")
	if err := fs.Parse([]string{"--config", "../../config.yaml"}); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(fs); err != nil {
		t.Fatal(err)
	}
}

// FuzzIdentityLimits feeds arbitrary limits sections to the loader and
// the rule builder: they accept or refuse, never panic.
func FuzzIdentityLimits(f *testing.F) {
	s, err := schema.Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Add("limits:\n  by_identity:\n    - dn: cn=app,dc=example,dc=com\n      size: 5\n      time: 3s\n      lookthrough: 9\n")
	f.Add("limits:\n  by_identity:\n    - group: cn=g,dc=example,dc=com\n    - who: '*'\n      size: -1\n")
	f.Add("limits:\n  by_identity:\n    - who: users\n      time: -1s\n  connection_limit_exempt: ['::1/128']\n")
	f.Add("limits:\n  by_identity: {dn: x}\n")
	f.Add("limits:\n  by_identity:\n    - dn: '=x'\n")
	f.Add("bind_throttle: {after: 1, delay: 1ns, max_delay: 1h}\n")
	f.Fuzz(func(t *testing.T, yaml string) {
		cfg, err := loadFrom(t, yaml)
		if err != nil {
			return
		}
		cfg.identityLimits(s)
		cfg.connLimitExempt()
		cfg.bindThrottle()
	})
}
