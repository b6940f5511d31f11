package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/switchboard-ldap/switchboard/replication"
)

// Config is the whole configuration, read from config.yaml, SWITCHBOARD_*
// environment variables and flags, in rising order of precedence. Every
// key is reachable all three ways: the key limits.size is the env variable
// SWITCHBOARD_LIMITS_SIZE and the flag --limits.size.
type Config struct {
	Listen           string              `mapstructure:"listen"`
	AdminListen      string              `mapstructure:"admin_listen"`
	HTTPListen       string              `mapstructure:"http_listen"`
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
	EntryCacheMB     int                 `mapstructure:"entry_cache_mb"`
	MemoryLimitMB    int                 `mapstructure:"memory_limit_mb"`

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
		// Abuse limits (limitsconf.go).
		MaxConnectionsPerIP   int             `mapstructure:"max_connections_per_ip"`
		ConnectionLimitExempt []string        `mapstructure:"connection_limit_exempt"`
		ByIdentity            []IdentityLimit `mapstructure:"by_identity"`
		// Disk and write limits (limitsconf.go).
		DiskReserveMB            int            `mapstructure:"disk_reserve_mb"`
		MaxValueBytes            int            `mapstructure:"max_value_bytes"`
		MaxValueBytesByAttribute map[string]int `mapstructure:"max_value_bytes_by_attribute"`
		MaxEntryBytes            int            `mapstructure:"max_entry_bytes"`
		WriteBytesPerMinute      int            `mapstructure:"write_bytes_per_minute"`

		// Sort, VLV and filter cost limits (sortconf.go).
		WorkLimits `mapstructure:",squash"`
	} `mapstructure:"limits"`
	Sort struct {
		Strict bool `mapstructure:"strict"`
	} `mapstructure:"sort"`
	ValueLogGCInterval time.Duration `mapstructure:"value_log_gc_interval"`

	// BindThrottle and Encryption: limitsconf.go and encryption.go.
	BindThrottle BindThrottleConfig `mapstructure:"bind_throttle"`
	Encryption   EncryptionConfig   `mapstructure:"encryption"`

	// Admin configures the admin HTTP API's access (adminauth.go).
	Admin struct {
		Group          string `mapstructure:"group"`
		MetricsAccess  string `mapstructure:"metrics_access"`
		MaxConnections int    `mapstructure:"max_connections"`
		TLS            bool   `mapstructure:"tls"`
	} `mapstructure:"admin"`

	// HTTP configures the public HTTP listener (webdir.go, package web).
	HTTP struct {
		TLS             bool `mapstructure:"tls"`
		AllowPlainBasic bool `mapstructure:"allow_plain_basic"`
		MaxConnections  int  `mapstructure:"max_connections"`
		// MaxConnectionsPerIP: -1 none (web.Server.MaxConnsPerAddr 0).
		MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip"`
	} `mapstructure:"http"`

	// CardDAV is the CardDAV surface on http_listen (package
	// web/carddav).
	CardDAV struct {
		Enabled         bool   `mapstructure:"enabled"`
		MaxCardBytes    int64  `mapstructure:"max_card_bytes"`
		MaxPhotoBytes   int    `mapstructure:"max_photo_bytes"`
		MaxRequestBytes int64  `mapstructure:"max_request_bytes"`
		PeopleFilter    string `mapstructure:"people_filter"`
	} `mapstructure:"carddav"`
	// SCIM configures SCIM 2.0 provisioning on http_listen (web/scim).
	SCIM struct {
		Enabled    bool   `mapstructure:"enabled"`
		Users      string `mapstructure:"users"`
		Groups     string `mapstructure:"groups"`
		MaxResults int    `mapstructure:"max_results"`
	} `mapstructure:"scim"`
	// Federation configures the federation API (package federation).
	Federation struct {
		Grace time.Duration `mapstructure:"grace"`
	} `mapstructure:"federation"`

	Log struct {
		Level  string `mapstructure:"level"`
		Format string `mapstructure:"format"`
	} `mapstructure:"log"`

	LDIF struct {
		AllowURLs bool `mapstructure:"allow_urls"`
	} `mapstructure:"ldif"`

	ListenLDAPS string `mapstructure:"listen_ldaps"`
	TLS         struct {
		CertFile string `mapstructure:"cert_file"`
		KeyFile  string `mapstructure:"key_file"`
		CAFile   string `mapstructure:"ca_file"`
		Require  string `mapstructure:"require"`
	} `mapstructure:"tls"`

	Overlays struct {
		MemberOf struct {
			Enabled     bool   `mapstructure:"enabled"`
			Placeholder string `mapstructure:"placeholder"`
		} `mapstructure:"memberof"`
		PPolicy struct {
			Enabled bool   `mapstructure:"enabled"`
			Default string `mapstructure:"default"`
		} `mapstructure:"ppolicy"`
	} `mapstructure:"overlays"`

	// Audit configures the audit log overlay (directory/overlay/audit).
	Audit struct {
		File       string `mapstructure:"file"`
		Sync       bool   `mapstructure:"sync"`
		MaxBytes   int    `mapstructure:"max_bytes"`
		Keep       int    `mapstructure:"keep"`
		FailClosed bool   `mapstructure:"fail_closed"`
	} `mapstructure:"audit"`

	// Access is the access control policy (directory/access): rules in
	// order, first match wins; without rules, the defaults.
	Access struct {
		Rules        []string `mapstructure:"rules"`
		SelfWritable []string `mapstructure:"self_writable"`
		AdminGroup   string   `mapstructure:"admin_group"`
	} `mapstructure:"access"`
	// Replication configures the changelog and the RFC 4533 provider
	// (package replication, directory/overlay/syncprov).
	Replication struct {
		ReplicaID int `mapstructure:"replica_id"`
		// QueueLength bounds the commits queued for each sync or
		// persistent search on the engine's post-commit stream
		// (directory.Options.ChangeQueue); one that falls further behind
		// is cut off.
		QueueLength int `mapstructure:"queue_length"`
		Changelog   struct {
			MaxAge       time.Duration `mapstructure:"max_age"`
			MaxEntries   int           `mapstructure:"max_entries"`
			TrimInterval time.Duration `mapstructure:"trim_interval"`
		} `mapstructure:"changelog"`
		// Multi-supplier replication (replication.Replicator): every
		// replica accepts writes and pulls the others' from Peers.
		MultiSupplier bool          `mapstructure:"multi_supplier"`
		MaxSkew       time.Duration `mapstructure:"max_skew"`
		Interval      time.Duration `mapstructure:"interval"`
		// ClockOffset shifts this replica's clock (for skew tests).
		ClockOffset time.Duration `mapstructure:"clock_offset"`
		// OpLog bounds the multi-supplier op log; TombstoneWindow is how
		// long deletions are remembered (replication.MultiConfig).
		OpLog struct {
			MaxAge time.Duration `mapstructure:"max_age"`
			MaxOps int           `mapstructure:"max_ops"`
		} `mapstructure:"op_log"`
		TombstoneWindow     time.Duration `mapstructure:"tombstone_window"`
		MaintenanceInterval time.Duration `mapstructure:"maintenance_interval"`
		// StateCacheEntries bounds the entries whose replicated
		// attribute stamps stay in memory (MultiConfig.StateCacheEntries).
		StateCacheEntries int `mapstructure:"state_cache_entries"`
		// Consumers are the DNs, besides the root DN, allowed to pull
		// (multi-supplier) and whose RFC 4533 sync searches hold the
		// changelog back until they have read it.
		Consumers []string   `mapstructure:"consumers"`
		Peers     []peerConf `mapstructure:"peers"`
		// Syncrepl are the RFC 4533 providers this server consumes
		// (replication.Syncrepl), each into its own subtree.
		Syncrepl []syncreplConf `mapstructure:"syncrepl"`
	} `mapstructure:"replication"`

	// Passwords configures userPassword hashing (directory/password).
	Passwords struct {
		Scheme string `mapstructure:"scheme"`
		Argon2 struct {
			MemoryKiB int `mapstructure:"memory_kib"`
			Time      int `mapstructure:"time"`
			Threads   int `mapstructure:"threads"`
		} `mapstructure:"argon2"`
		PBKDF2 struct {
			Iterations int `mapstructure:"iterations"`
		} `mapstructure:"pbkdf2"`
		Workers             int  `mapstructure:"workers"`
		Queue               int  `mapstructure:"queue"`
		Duty                int  `mapstructure:"duty"`
		RehashOnBind        bool `mapstructure:"rehash_on_bind"`
		MaxPBKDF2Iterations int  `mapstructure:"max_pbkdf2_iterations"`
		MaxArgon2MemoryKiB  int  `mapstructure:"max_argon2_memory_kib"`
		MaxArgon2Time       int  `mapstructure:"max_argon2_time"`
		MaxArgon2Threads    int  `mapstructure:"max_argon2_threads"`
		MaxBcryptCost       int  `mapstructure:"max_bcrypt_cost"`
		MaxSHACryptRounds   int  `mapstructure:"max_sha_crypt_rounds"`
	} `mapstructure:"passwords"`
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
	{"http_listen", "127.0.0.1:8080", "public HTTP listen address: CardDAV, web console, SCIM (empty: off)"},
	{"http.tls", false, "serve http_listen over HTTPS with tls.cert_file"},
	{"http.allow_plain_basic", false, "accept passwords over plain HTTP from clients beyond loopback"},
	{"http.max_connections", 256, "maximum concurrent connections on http_listen"},
	{"http.max_connections_per_ip", 32, "maximum concurrent connections on http_listen from one address (IPv6: one /64; limits.connection_limit_exempt are not counted, such as a reverse proxy; -1: none)"},
	{"carddav.enabled", true, "serve CardDAV on http_listen (/dav/, /.well-known/carddav)"},
	{"carddav.max_card_bytes", 256 << 10, "largest vCard a client may store (keep it below limits.max_value_bytes)"},
	{"carddav.max_photo_bytes", 128 << 10, "largest PHOTO (decoded) in a stored vCard"},
	{"carddav.max_request_bytes", 8 << 20, "largest PROPFIND or REPORT request body (a multiget of a whole book: about 100 bytes a card)"},
	{"carddav.people_filter", "(objectClass=inetOrgPerson)", "LDAP filter of the people in the directory address book"},
	{"scim.enabled", true, "serve SCIM 2.0 provisioning at /scim/v2 on http_listen"},
	{"scim.users", "", "DN under which SCIM Users live and are created (empty: ou=people under the suffix)"},
	{"scim.groups", "", "DN under which SCIM Groups live and are created (empty: ou=groups under the suffix)"},
	{"scim.max_results", 1000, "most resources one SCIM list response returns"},
	{"admin_pprof", false, "serve Go profiles at /debug/pprof/ on the admin address (behind authentication)"},
	{"admin.group", "", "DN of a group whose members (nested too) may use the admin HTTP API besides the root DN"},
	{"admin.metrics_access", "loopback", "who reads /metrics without credentials: loopback (clients on a loopback address), open (anyone) or authenticated (no one)"},
	{"admin.max_connections", 64, "maximum concurrent admin HTTP connections"},
	{"admin.tls", false, "serve the admin API over HTTPS with tls.cert_file; with tls.ca_file, client certificates authenticate"},
	{"data", "./switchboard-data", "data directory (Badger store)"},
	{"federation.grace", 24 * time.Hour, "how long a federation import whose source refuses it keeps its copy before it is purged"},
	{"suffix", "dc=example,dc=com", "naming context served"},
	{"root_dn", "cn=admin,dc=example,dc=com", "administrator DN"},
	{"root_password", "", "administrator password (prefer root_password_file or SWITCHBOARD_ROOT_PASSWORD)"},
	{"root_password_file", "", "file holding the administrator password (cleartext or {SCHEME} hash)"},
	{"demo", false, "load the demo organisation into an empty store"},
	{"schema_files", []string{}, "extra OpenLDAP .schema or LDIF schema files"},
	{"cache_mb", 64, "Badger block cache size in MiB (encrypted stores, and stores with compressed tables from earlier versions)"},
	{"entry_cache_mb", 64, "cache of entry records in MiB, about 46,000 person entries (0: off)"},
	{"memory_limit_mb", 0, "soft limit of the Go heap in MiB (0: derived from the caches and memtables, and the replicated state with multi-supplier replication; -1: none; GOMEMLIMIT wins)"},
	{"limits.size", 500, "search size limit for non-admins (-1: none)"},
	{"limits.time", time.Hour, "search time limit for non-admins"},
	{"limits.unindexed", 25000, "entries an unindexed search may check, for non-admins (-1: none)"},
	{"limits.max_pdu_before_bind", 262143, "largest request accepted before bind, bytes (no -1: a request is read whole)"},
	{"limits.max_pdu_after_bind", 4194303, "largest request accepted after bind, bytes (no -1: a request is read whole)"},
	{"limits.idle_timeout", 15 * time.Minute, "close connections idle this long"},
	{"limits.read_timeout", 30 * time.Second, "time allowed to read one request once it starts"},
	{"limits.write_timeout", 30 * time.Second, "time allowed for one write to a client"},
	{"limits.max_connections", 4096, "maximum concurrent connections (-1: none)"},
	{"limits.max_in_flight", 32, "maximum operations in flight per connection (no -1)"},
	{"limits.shutdown_timeout", 10 * time.Second, "time to finish in-flight work on shutdown"},
	{"limits.max_connections_per_ip", 256, "maximum concurrent connections from one address (IPv6: one /64; -1: none)"},
	{"limits.connection_limit_exempt", []string{}, "CIDR prefixes not counted by limits.max_connections_per_ip"},
	{"limits.disk_reserve_mb", 256, "refuse writes (unwillingToPerform) when the store's disk has less free space than this, MiB (-1: never; 0: only once the disk is full)"},
	{"limits.max_value_bytes", 512 << 10, "largest attribute value anyone but the root DN may write, bytes (-1: none; per attribute: limits.max_value_bytes_by_attribute, in the config file)"},
	{"limits.max_entry_bytes", 8 << 20, "largest entry (bytes of values) a write by anyone but the root DN may leave (-1: none)"},
	{"limits.write_bytes_per_minute", 256 << 20, "bytes of values each identity but the root DN may write per minute (-1: none)"},
	{"value_log_gc_interval", 10 * time.Minute, "how often the value log is garbage-collected (0: never)"},
	{"limits.sort_candidates", 100000, "entries a sorted or VLV search may gather, for non-admins (-1: none)"},
	{"limits.sort_candidates_root", -1, "entries a sorted or VLV search may gather, for the root DN (-1: none)"},
	{"limits.sort_memory_mb", 128, "memory all concurrent sorted and VLV searches share for their rows, MiB (-1: no bound)"},
	{"limits.sort_wait", 5 * time.Second, "how long a sort waits for memory held by other sorts before busy (51)"},
	{"limits.filter_work", 5000000, "work units one search's filter may spend, for non-admins: one per candidate, per value tested, per value read for memberOf and the like, per entry an in-chain match reaches (-1: none)"},
	{"limits.chain_depth", 32, "levels of nesting an in-chain match (1.2.840.113556.1.4.1941) follows, for non-admins (-1: none)"},
	{"limits.chain_entries", 1 << 20, "entries one in-chain match may reach, for non-admins (-1: none of its own; 1048576 bounds everyone)"},
	{"sort.strict", false, "refuse sort keys without an ORDERING rule (cn, sn, displayName) as slapd does, instead of ordering by the EQUALITY rule"},
	{"bind_throttle.enabled", true, "delay the answers to repeated failed binds by address and by DN"},
	{"bind_throttle.after", 5, "failed binds (per address, per DN) answered without delay"},
	{"bind_throttle.delay", 250 * time.Millisecond, "first delay; doubled by each further failure"},
	{"bind_throttle.max_delay", 15 * time.Second, "largest delay"},
	{"bind_throttle.forget", 10 * time.Minute, "forget a counter with no failure for this long"},
	{"bind_throttle.max_tracked", 65536, "counters kept per table (addresses, DNs); the oldest are dropped"},
	{"encryption.key_file", "", "AES key (16, 24 or 32 bytes; raw, hex or base64) encrypting the store; or SWITCHBOARD_ENCRYPTION_KEY"},
	{"encryption.data_key_rotation", 240 * time.Hour, "age at which Badger starts a new data key"},
	{"log.level", "info", "log level: debug, info, warn, error"},
	{"log.format", "text", "log format: text or json"},
	{"ldif.allow_urls", false, "allow file:// URL values (<) in imported LDIF"},
	{"listen_ldaps", "", "LDAPS (LDAP over TLS) listen address (empty: off)"},
	{"tls.cert_file", "", "PEM server certificate (chain) for StartTLS and LDAPS; reloaded when it changes"},
	{"tls.key_file", "", "PEM private key of tls.cert_file"},
	{"tls.ca_file", "", "PEM CAs whose client certificates are accepted (mTLS, SASL EXTERNAL)"},
	{"tls.require", "none", "what needs TLS: none, bind (password binds) or all"},
	{"overlays.memberof.enabled", true, "maintain memberOf and group referential integrity"},
	{"overlays.memberof.placeholder", "", "DN left in a group whose last member was deleted"},
	{"overlays.ppolicy.enabled", false, "enforce password policies (draft-behera ppolicy: lockout, expiry, history, quality)"},
	{"overlays.ppolicy.default", "", "DN of the pwdPolicy entry for entries without pwdPolicySubentry (empty: none)"},
	{"audit.file", "", "audit log of writes and binds (empty: off)"},
	{"audit.sync", true, "fsync each audit record before answering (concurrent records share fsyncs)"},
	{"audit.max_bytes", 100 << 20, "rotate the audit log before it grows past this size (-1: never)"},
	{"audit.keep", 10, "rotated audit logs kept (audit.log.1 ... audit.log.N)"},
	{"audit.fail_closed", false, "answer other (80) when a write or bind cannot be audited (the write has committed)"},
	{"access.self_writable", []string{"telephoneNumber", "mobile", "jpegPhoto"}, "attributes users may change on their own entry (default rules only)"},
	{"access.admin_group", "", "DN of a group whose members (nested too) may read and write everything (default rules only)"},
	{"replication.replica_id", 1, "this server's replica ID (1-4095), the server ID in its CSNs"},
	{"replication.queue_length", 4096, "commits queued for each sync or persistent search; a search further behind is ended (busy, adminLimitExceeded)"},
	{"replication.changelog.max_age", 7 * 24 * time.Hour, "changelog records older than this are trimmed (never above the position of a consumer in replication.consumers)"},
	{"replication.changelog.max_entries", 1000000, "changelog records beyond this many are trimmed, oldest first (same bound)"},
	{"replication.changelog.trim_interval", time.Minute, "how often the changelog is trimmed"},
	{"replication.multi_supplier", false, "multi-supplier replication: accept writes here and pull every peer's (replication.peers, in the config file)"},
	{"replication.max_skew", time.Hour, "a peer whose changes are further ahead of this replica's clock is quarantined"},
	{"replication.interval", 200 * time.Millisecond, "pause between pulls from a peer once caught up"},
	{"replication.clock_offset", time.Duration(0), "shift this replica's clock by this much (testing clock skew only)"},
	{"replication.op_log.max_age", 7 * 24 * time.Hour, "multi-supplier op log: ops older than this are trimmed, once the stored state holds them and every known consumer has them"},
	{"replication.op_log.max_ops", 1000000, "multi-supplier op log: per origin, the oldest ops beyond this many are trimmed (same bound; 0: no size bound)"},
	{"replication.tombstone_window", 7 * 24 * time.Hour, "deletions are remembered this long; a replica cut off for longer is forgotten, refused both ways and must be reinitialised"},
	{"replication.maintenance_interval", time.Minute, "how often the op log is trimmed, the replicated state purged and replica positions saved"},
	{"replication.state_cache_entries", replication.DefaultStateCacheEntries, "multi-supplier: entries whose replicated attribute stamps stay in memory; the others are read from the store when needed (-1: no bound, the whole state in memory)"},
	{"passwords.scheme", "argon2id", "scheme of new userPassword hashes: argon2id, pbkdf2-sha512 or ssha512"},
	{"passwords.argon2.memory_kib", 19456, "Argon2id memory of new hashes, KiB (OWASP: 19 MiB)"},
	{"passwords.argon2.time", 2, "Argon2id passes of new hashes"},
	{"passwords.argon2.threads", 1, "Argon2id lanes of new hashes"},
	{"passwords.pbkdf2.iterations", 210000, "PBKDF2-SHA512 iterations of new hashes (OWASP: 210000)"},
	{"passwords.workers", 0, "concurrent expensive password hashes (0: half the CPUs, at least 1)"},
	{"passwords.queue", 0, "binds waiting for a hashing worker before busy (51) is answered (0: no bound)"},
	{"passwords.duty", 30, "percent of the time a hashing worker may compute; it rests the rest (bounds a bind storm's CPU; 100: no rest)"},
	{"passwords.rehash_on_bind", false, "re-hash a userPassword in the current scheme after a successful bind"},
	{"passwords.max_pbkdf2_iterations", 1000000, "refuse stored PBKDF2 hashes with more iterations"},
	{"passwords.max_argon2_memory_kib", 262144, "refuse stored Argon2 hashes with more memory, KiB"},
	{"passwords.max_argon2_time", 10, "refuse stored Argon2 hashes with more passes"},
	{"passwords.max_argon2_threads", 8, "refuse stored Argon2 hashes with more lanes"},
	{"passwords.max_bcrypt_cost", 14, "refuse stored bcrypt hashes with a higher cost"},
	{"passwords.max_sha_crypt_rounds", 1000000, "refuse stored SHA-crypt ($5$, $6$) hashes with more rounds"},
}

// commandKeys lists, for the commands other than serve, the keys (or
// key prefixes ending in ".") their --help shows: the ones that change
// what the command does. Every key is still accepted, as the config file
// and the environment hold them all.
var commandKeys = map[string][]string{
	"import":        {"data", "suffix", "root_dn", "schema_files", "cache_mb", "encryption.", "ldif.", "log.", "passwords.scheme", "passwords.argon2.", "passwords.pbkdf2.", "overlays.", "carddav.max_card_bytes", "carddav.max_photo_bytes"},
	"export":        {"data", "suffix", "schema_files", "cache_mb", "encryption.", "log."},
	"verify":        {"data", "suffix", "schema_files", "cache_mb", "encryption.", "log."},
	"reindex":       {"data", "suffix", "schema_files", "cache_mb", "encryption.", "log."},
	"rekey":         {"data", "encryption.", "log."},
	"hash-password": {"passwords."},
	"replica init":  replicaJoinKeys,
	"replica join":  replicaJoinKeys,
}

var replicaJoinKeys = []string{"data", "suffix", "root_dn", "root_password", "root_password_file", "schema_files", "encryption.", "log.", "replication.replica_id", "replication.op_log.", "replication.tombstone_window"}

// newFlags returns a flag set with every configuration key, plus --config
// and the short aliases the README uses (--data, --listen, ...). Its help
// shows the keys of commandKeys[name] (all of them for serve).
func newFlags(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.String("config", "", "configuration file (default: ./config.yaml if present)")
	shown, only := commandKeys[name]
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
		if only && !keyShown(d.key, shown) {
			fs.Lookup(flagName).Hidden = true
		}
	}
	return fs
}

// keyShown reports whether key is one of shown or below a prefix in it.
func keyShown(key string, shown []string) bool {
	for _, s := range shown {
		if key == s || strings.HasSuffix(s, ".") && strings.HasPrefix(key, s) {
			return true
		}
	}
	return false
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
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("config %s: %w", path, err)
			}
			if err := checkKeys(path, data); err != nil {
				return nil, err
			}
		}
	}
	// indexes is a map (attribute: [kinds]) and is set in the file only;
	// so are access.rules, whose text holds commas and spaces.
	v.SetDefault("indexes", map[string][]string{})
	v.SetDefault("access.rules", []string{})
	v.SetDefault("replication.consumers", []string{})
	v.SetDefault("replication.peers", []map[string]any{})
	v.SetDefault("encryption.attributes", []string{})
	v.SetDefault("limits.max_value_bytes_by_attribute", map[string]int{})
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
	case c.Log.Format != "text" && c.Log.Format != "json":
		return fmt.Errorf("config: log.format %q is neither text nor json", c.Log.Format)
	case c.TLS.Require != "none" && c.TLS.Require != "bind" && c.TLS.Require != "all":
		return fmt.Errorf("config: tls.require %q is none of none, bind, all", c.TLS.Require)
	case c.Replication.StateCacheEntries == 0 || c.Replication.StateCacheEntries < -1:
		return fmt.Errorf("config: replication.state_cache_entries %d: give a number of entries, or -1 for no bound", c.Replication.StateCacheEntries)
	case c.Replication.MultiSupplier && len(c.Encryption.Attributes) > 0 && c.Encryption.KeyFile == "" && os.Getenv(envEncryptionKey) == "":
		// Replicas exchange sealed values sealed, and open them with
		// the key (package replication).
		return fmt.Errorf("config: encryption.attributes with replication.multi_supplier need the encryption key " +
			"(encryption.key_file or " + envEncryptionKey + "), the same on every replica")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		return fmt.Errorf("config: log.level %q: %w", c.Log.Level, err)
	}
	if err := c.validateSyncrepl(); err != nil {
		return err
	}
	if err := c.validatePasswords(); err != nil {
		return err
	}
	if err := c.validateCountLimits(); err != nil {
		return err
	}
	if err := c.validateAbuseLimits(); err != nil {
		return err
	}
	if err := c.validateWorkLimits(); err != nil {
		return err
	}
	return c.validateWeb()
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

// peerConf is one entry of replication.peers: a replica to pull from.
type peerConf struct {
	Name         string `mapstructure:"name"`
	URL          string `mapstructure:"url"`
	BindDN       string `mapstructure:"bind_dn"`
	PasswordFile string `mapstructure:"password_file"`
	// Password is for tests; prefer password_file.
	Password string `mapstructure:"password"`
	// TLS pins the peer's key and presents this replica's certificate
	// (then, without bind_dn, it binds with SASL EXTERNAL).
	TLS struct {
		CertFile     string   `mapstructure:"cert_file"`
		KeyFile      string   `mapstructure:"key_file"`
		PinnedSHA256 []string `mapstructure:"pinned_sha256"`
	} `mapstructure:"tls"`
}
