package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is the whole configuration, read from config.yaml, SWITCHBOARD_*
// environment variables and flags, in rising order of precedence. Every
// key is reachable all three ways: the key limits.size is the env variable
// SWITCHBOARD_LIMITS_SIZE and the flag --limits.size.
type Config struct {
	Listen           string              `mapstructure:"listen"`
	AdminListen      string              `mapstructure:"admin_listen"`
	AdminPprof       bool                `mapstructure:"admin_pprof"`
	Data             string              `mapstructure:"data"`
	Suffix           string              `mapstructure:"suffix"`
	RootDN           string              `mapstructure:"root_dn"`
	RootPassword     string              `mapstructure:"root_password"`
	RootPasswordFile string              `mapstructure:"root_password_file"`
	Demo             bool                `mapstructure:"demo"`
	SchemaFiles      []string            `mapstructure:"schema_files"`
	Indexes          map[string][]string `mapstructure:"indexes"`
	CacheMB          int                 `mapstructure:"cache_mb"`

	Limits struct {
		Size             int           `mapstructure:"size"`
		Unindexed        int           `mapstructure:"unindexed"`
		Time             time.Duration `mapstructure:"time"`
		MaxPDUBeforeBind int           `mapstructure:"max_pdu_before_bind"`
		MaxPDUAfterBind  int           `mapstructure:"max_pdu_after_bind"`
		IdleTimeout      time.Duration `mapstructure:"idle_timeout"`
		ReadTimeout      time.Duration `mapstructure:"read_timeout"`
		WriteTimeout     time.Duration `mapstructure:"write_timeout"`
		MaxConnections   int           `mapstructure:"max_connections"`
		MaxInFlight      int           `mapstructure:"max_in_flight"`
		ShutdownTimeout  time.Duration `mapstructure:"shutdown_timeout"`
	} `mapstructure:"limits"`

	Log struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`

	LDIF struct {
		AllowURLs bool `mapstructure:"allow_urls"`
	} `mapstructure:"ldif"`

	Overlays struct {
		MemberOf struct {
			Enabled     bool   `mapstructure:"enabled"`
			Placeholder string `mapstructure:"placeholder"`
		} `mapstructure:"memberof"`
	} `mapstructure:"overlays"`
}

// defaults lists every key with its default; it is also the list of keys
// bound to flags and the environment.
var defaults = []struct {
	key   string
	value any
	usage string
}{
	{"listen", "127.0.0.1:3389", "LDAP listen address"},
	{"admin_listen", "127.0.0.1:8389", "admin HTTP listen address (empty: off)"},
	{"admin_pprof", false, "serve Go profiles at /debug/pprof/ on the admin address"},
	{"data", "./switchboard-data", "data directory (Badger store)"},
	{"suffix", "dc=example,dc=com", "naming context served"},
	{"root_dn", "cn=admin,dc=example,dc=com", "administrator DN"},
	{"root_password", "", "administrator password (prefer root_password_file or SWITCHBOARD_ROOT_PASSWORD)"},
	{"root_password_file", "", "file holding the administrator password (cleartext or {SCHEME} hash)"},
	{"demo", false, "load the demo organisation into an empty store"},
	{"schema_files", []string{}, "extra OpenLDAP .schema or LDIF schema files"},
	{"cache_mb", 64, "Badger block cache size in MiB"},
	{"limits.size", 500, "search size limit for non-admins (-1: none)"},
	{"limits.time", time.Hour, "search time limit for non-admins"},
	{"limits.unindexed", 25000, "entries an unindexed search may check, for non-admins (0: no limit)"},
	{"limits.max_pdu_before_bind", 262143, "largest request accepted before bind, bytes"},
	{"limits.max_pdu_after_bind", 4194303, "largest request accepted after bind, bytes"},
	{"limits.idle_timeout", 15 * time.Minute, "close connections idle this long"},
	{"limits.read_timeout", 30 * time.Second, "time allowed to read one request once it starts"},
	{"limits.write_timeout", 30 * time.Second, "time allowed for one write to a client"},
	{"limits.max_connections", 4096, "maximum concurrent connections (0: unlimited)"},
	{"limits.max_in_flight", 32, "maximum operations in flight per connection"},
	{"limits.shutdown_timeout", 10 * time.Second, "time to finish in-flight work on shutdown"},
	{"log.level", "info", "log level: debug, info, warn, error"},
	{"log.format", "text", "log format: text or json"},
	{"ldif.allow_urls", false, "allow file:// URL values (<) in imported LDIF"},
	{"overlays.memberof.enabled", true, "maintain memberOf and group referential integrity"},
	{"overlays.memberof.placeholder", "", "DN left in a group whose last member was deleted"},
}

// newFlags returns a flag set with every configuration key, plus --config
// and the short aliases the README uses (--data, --listen, ...).
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.String("config", "", "configuration file (default: ./config.yaml if present)")
	for _, d := range defaults {
		flagName := strings.ReplaceAll(d.key, "_", "-")
		switch v := d.value.(type) {
		case string:
			fs.String(flagName, v, d.usage)
		case bool:
			fs.Bool(flagName, v, d.usage)
		case int:
			fs.Int(flagName, v, d.usage)
		case time.Duration:
			fs.Duration(flagName, v, d.usage)
		case []string:
			fs.StringSlice(flagName, v, d.usage)
		}
	}
	return fs
}

// loadConfig merges defaults, the config file, the environment and the
// flags that were set.
func loadConfig(fs *pflag.FlagSet) (*Config, error) {
	v := viper.New()
	for _, d := range defaults {
		v.SetDefault(d.key, d.value)
		if err := v.BindPFlag(d.key, fs.Lookup(strings.ReplaceAll(d.key, "_", "-"))); err != nil {
			return nil, err
		}
	}
	v.SetEnvPrefix("SWITCHBOARD")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	path, _ := fs.GetString("config")
	if path == "" {
		if _, err := os.Stat("config.yaml"); err == nil {
			path = "config.yaml"
		}
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	// indexes is a map (attribute: [kinds]) and is set in the file only.
	v.SetDefault("indexes", map[string][]string{})
	var cfg Config
	if err := v.Unmarshal(&cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	switch {
	case c.Suffix == "":
		return fmt.Errorf("config: suffix is empty")
	case c.Data == "":
		return fmt.Errorf("config: data directory is empty")
	case c.Limits.MaxPDUBeforeBind < 0 || c.Limits.MaxPDUAfterBind < 0:
		return fmt.Errorf("config: PDU limits must not be negative")
	case c.Log.Format != "text" && c.Log.Format != "json":
		return fmt.Errorf("config: log.format %q is neither text nor json", c.Log.Format)
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return fmt.Errorf("config: log.level %q: %w", c.Log.Level, err)
	}
	return nil
}

func (c *Config) logger() *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Log.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
