package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-ldap/switchboard/replication"
)

func loadFrom(t testing.TB, yaml string, args ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := newFlags("test")
	if err := fs.Parse(append([]string{"--config", path}, args...)); err != nil {
		return nil, err
	}
	return loadConfig(fs)
}

func TestConfigPrecedence(t *testing.T) {
	t.Setenv("SWITCHBOARD_LIMITS_SIZE", "7")
	t.Setenv("SWITCHBOARD_ADMIN_LISTEN", "127.0.0.1:9999")
	cfg, err := loadFrom(t, "suffix: dc=corp,dc=test\nlimits:\n  size: 3\n  idle_timeout: 2m\nlisten: 127.0.0.1:1\n", "--listen", "127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Suffix != "dc=corp,dc=test" {
		t.Errorf("suffix from file: %q", cfg.Suffix)
	}
	if cfg.Limits.Size != 7 {
		t.Errorf("env should beat file: limits.size = %d", cfg.Limits.Size)
	}
	if cfg.Listen != "127.0.0.1:2" {
		t.Errorf("flag should beat file: listen = %q", cfg.Listen)
	}
	if cfg.AdminListen != "127.0.0.1:9999" {
		t.Errorf("admin_listen from env: %q", cfg.AdminListen)
	}
	if cfg.Limits.IdleTimeout != 2*time.Minute || cfg.Limits.ReadTimeout != 30*time.Second {
		t.Errorf("durations: idle %v read %v", cfg.Limits.IdleTimeout, cfg.Limits.ReadTimeout)
	}
	if !cfg.Overlays.MemberOf.Enabled {
		t.Error("memberof should default to enabled")
	}
}

func TestConfigRejectsBadValues(t *testing.T) {
	for _, yaml := range []string{
		"log:\n  format: xml\n",
		"log:\n  level: loud\n",
		"suffix: ''\n",
		"limits:\n  max_pdu_before_bind: -1\n",
		"limits:\n  idle_timeout: soon\n",
		"listen: [1, 2\n",
		"replication:\n  state_cache_entries: 0\n",
		"replication:\n  state_cache_entries: -2\n",
	} {
		if _, err := loadFrom(t, yaml); err == nil {
			t.Errorf("config %q accepted", yaml)
		}
	}
}

// TestConfigStateCache: replication.state_cache_entries defaults to
// replication.DefaultStateCacheEntries and takes -1 for no bound.
func TestConfigStateCache(t *testing.T) {
	cfg, err := loadFrom(t, "")
	if err != nil || cfg.Replication.StateCacheEntries != replication.DefaultStateCacheEntries {
		t.Fatalf("default: %v, %v", cfg.Replication.StateCacheEntries, err)
	}
	cfg, err = loadFrom(t, "replication:\n  state_cache_entries: -1\n")
	if err != nil || cfg.Replication.StateCacheEntries != -1 {
		t.Fatalf("-1: %v, %v", cfg.Replication.StateCacheEntries, err)
	}
}

// FuzzConfig feeds arbitrary files to the config loader: it must accept or
// reject them with an error, never panic.
func FuzzConfig(f *testing.F) {
	f.Add("listen: 127.0.0.1:3389\nlimits:\n  size: 10\n")
	f.Add("log: {level: debug, format: json}\n")
	f.Add("schema_files: [a, b]\nindexes: x\n")
	f.Add("limits:\n  time: 5s\n  max_connections: -3\n")
	f.Add("\xff\xfe: [\n")
	f.Add("replication:\n  multi_suplier: true\n")
	f.Add("a: &x {size: 1}\nlimits:\n  <<: *x\n")
	f.Add("replication:\n  peers:\n    - {name: a, ulr: x}\n")
	f.Fuzz(func(t *testing.T, yaml string) {
		cfg, err := loadFrom(t, yaml)
		if err == nil && cfg.Suffix == "" {
			t.Fatal("accepted a config with an empty suffix")
		}
	})
}

// Sealed attributes replicate between multi-supplier replicas, which
// need the key to open them: without one the configuration is refused,
// with a key file or the environment variable it is taken.
func TestConfigSealedAttributesWithMultiSupplierNeedKey(t *testing.T) {
	t.Setenv(envEncryptionKey, "")
	const yaml = "encryption:\n  attributes: [homePhone]\nreplication:\n  multi_supplier: true\n"
	if _, err := loadFrom(t, yaml); err == nil || !strings.Contains(err.Error(), "need the encryption key") {
		t.Fatalf("multi-supplier and sealed attributes without a key: %v", err)
	}
	if _, err := loadFrom(t, yaml, "--encryption.key-file", filepath.Join(t.TempDir(), "k")); err != nil {
		t.Fatalf("with a key file: %v", err)
	}
	t.Setenv(envEncryptionKey, strings.Repeat("ab", 32))
	if _, err := loadFrom(t, yaml); err != nil {
		t.Fatalf("with the key in the environment: %v", err)
	}
}

func TestConfigRejectsUnknownKeys(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"listen: 127.0.0.1:1\nreplication:\n  multi_suplier: true\n", ":3: unknown key replication.multi_suplier (did you mean replication.multi_supplier?)"},
		{"limit:\n  size: 3\n", ":1: unknown key limit (did you mean limits?)"},
		{"limits:\n  size: 3\n  sise: 4\n", ":3: unknown key limits.sise (did you mean limits.size?)"},
		{"limits:\n  sort_candidats: 4\n", ":2: unknown key limits.sort_candidats (did you mean limits.sort_candidates?)"},
		{"replication:\n  peers:\n    - name: a\n      ulr: ldap://x\n", ":4: unknown key replication.peers[].ulr (did you mean replication.peers[].url?)"},
		{"frobnicate: 1\n", ":1: unknown key frobnicate"},
	} {
		_, err := loadFrom(t, tc.yaml)
		if err == nil || !strings.Contains(err.Error(), "config.yaml"+tc.want) {
			t.Errorf("config %q: error %v, want it to end %q", tc.yaml, err, tc.want)
		}
	}
	// Known keys at every level pass, including maps and lists of structs.
	ok := "Listen: 127.0.0.1:1\nindexes:\n  anyAttribute: [eq]\nlimits:\n  by_identity:\n    - dn: cn=x\n      size: 3\n" +
		"replication:\n  peers:\n    - name: a\n      url: ldap://x\n      tls:\n        pinned_sha256: [ab]\nbase: &b\n" +
		"  level: warn\n"
	if _, err := loadFrom(t, ok); err == nil || !strings.Contains(err.Error(), "unknown key base") {
		t.Errorf("anchor on an unknown key: %v", err)
	}
	ok = strings.TrimSuffix(ok, "base: &b\n  level: warn\n")
	if _, err := loadFrom(t, ok); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}
