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
	if len(r) != 3 || r[0].Time != 30*time.Second || *r[0].Lookthrough != 100000 || *r[1].Size != -1 || r[2].Who != "anonymous" {
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
		"limits:\n  max_connections_per_ip: -2\n",
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

func TestConfigWriteLimits(t *testing.T) {
	cfg, err := loadFrom(t, "")
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.DiskReserveMB != 256 || l.MaxValueBytes != 512<<10 || l.MaxEntryBytes != 8<<20 || l.WriteBytesPerMinute != 256<<20 ||
		cfg.ValueLogGCInterval != 10*time.Minute || cfg.diskReserve() != 256<<20 || cfg.valueLogGCInterval() != 10*time.Minute {
		t.Errorf("defaults: %+v, gc %v", l, cfg.ValueLogGCInterval)
	}
	s, err := schema.Default()
	if err != nil {
		t.Fatal(err)
	}
	if wl, err := cfg.writeLimits(s); err != nil || wl == nil {
		t.Errorf("writeLimits: %v %v", wl, err)
	}

	cfg, err = loadFrom(t, `
limits:
  disk_reserve_mb: -1
  max_value_bytes: -1
  max_entry_bytes: -1
  write_bytes_per_minute: -1
  max_value_bytes_by_attribute:
    jpegPhoto: 1048576
value_log_gc_interval: 0s
`)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.diskReserve() != -1 || cfg.valueLogGCInterval() >= 0 || cfg.Limits.MaxValueBytesByAttribute["jpegphoto"] != 1<<20 {
		t.Errorf("off: reserve %d, gc %v, by attribute %v", cfg.diskReserve(), cfg.valueLogGCInterval(), cfg.Limits.MaxValueBytesByAttribute)
	}
	if wl, err := cfg.writeLimits(s); err != nil || wl == nil {
		t.Errorf("writeLimits with one attribute limit: %v %v", wl, err)
	}

	cfg, err = loadFrom(t, "limits:\n  max_value_bytes_by_attribute:\n    noSuchAttribute: 10\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.writeLimits(s); err == nil {
		t.Error("an unknown attribute in max_value_bytes_by_attribute was accepted")
	}
	for _, yaml := range []string{
		"limits:\n  disk_reserve_mb: -2\n",
		"limits:\n  max_value_bytes: 0\n",
		"limits:\n  max_entry_bytes: -2\n",
		"limits:\n  write_bytes_per_minute: -5\n",
		"limits:\n  max_value_bytes_by_attribute:\n    jpegPhoto: 0\n",
		"value_log_gc_interval: -1m\n",
	} {
		if _, err := loadFrom(t, yaml); err == nil {
			t.Errorf("accepted %q", yaml)
		}
	}
}
