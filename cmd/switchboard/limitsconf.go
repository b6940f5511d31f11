package main

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/schema"
)

// IdentityLimit is one entry of limits.by_identity: who (exactly one of
// dn, group and who: users, anonymous or *) and the limits replacing the
// defaults (absent: the default; -1: none; 0 is refused, as in every
// limits count, see countLimits).
type IdentityLimit struct {
	DN          string        `mapstructure:"dn"`
	Group       string        `mapstructure:"group"`
	Who         string        `mapstructure:"who"`
	Size        *int          `mapstructure:"size"`
	Time        time.Duration `mapstructure:"time"`
	Lookthrough *int          `mapstructure:"lookthrough"`
}

// countLimit is one limits.* key holding a count. All of them follow one
// rule: absent is the default, -1 is no limit, a positive number is the
// limit. 0 is refused, as it used to mean "none" for some keys and "the
// default" for others, unless zero says what 0 means for the key; keys
// that cannot be unbounded say why in noNone.
type countLimit struct {
	key    string
	n      int
	zero   string // what 0 means, when it is a valid value
	noNone string // why -1 (none) is refused, when it is
}

// countLimits lists every count of c.Limits, by_identity and
// max_value_bytes_by_attribute included.
func (c *Config) countLimits() []countLimit {
	l := &c.Limits
	pdu := "every request is read into memory before it is decoded"
	out := []countLimit{
		{key: "limits.size", n: l.Size},
		{key: "limits.unindexed", n: l.Unindexed},
		{key: "limits.max_pdu_before_bind", n: l.MaxPDUBeforeBind, noNone: pdu},
		{key: "limits.max_pdu_after_bind", n: l.MaxPDUAfterBind, noNone: pdu},
		{key: "limits.max_connections", n: l.MaxConnections},
		{key: "limits.max_in_flight", n: l.MaxInFlight, noNone: "each operation in flight holds a goroutine and its request"},
		{key: "limits.max_connections_per_ip", n: l.MaxConnectionsPerIP},
		{key: "limits.disk_reserve_mb", n: l.DiskReserveMB,
			zero: "0 keeps no reserve: writes are refused only once the disk is full"},
		{key: "limits.max_value_bytes", n: l.MaxValueBytes},
		{key: "limits.max_entry_bytes", n: l.MaxEntryBytes},
		{key: "limits.write_bytes_per_minute", n: l.WriteBytesPerMinute},
		{key: "limits.sort_candidates", n: l.SortCandidates},
		{key: "limits.sort_candidates_root", n: l.SortCandidatesRoot},
		{key: "limits.sort_memory_mb", n: l.SortMemoryMB},
		{key: "limits.filter_work", n: l.FilterWork},
		{key: "limits.chain_depth", n: l.ChainDepth},
		{key: "limits.chain_entries", n: l.ChainEntries},
	}
	for i, r := range l.ByIdentity {
		if r.Size != nil {
			out = append(out, countLimit{key: fmt.Sprintf("limits.by_identity[%d].size", i), n: *r.Size})
		}
		if r.Lookthrough != nil {
			out = append(out, countLimit{key: fmt.Sprintf("limits.by_identity[%d].lookthrough", i), n: *r.Lookthrough})
		}
	}
	names := make([]string, 0, len(l.MaxValueBytesByAttribute))
	for name := range l.MaxValueBytesByAttribute {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, countLimit{key: "limits.max_value_bytes_by_attribute." + name, n: l.MaxValueBytesByAttribute[name]})
	}
	return out
}

// validateCountLimits applies the rule of countLimit to every count.
func (c *Config) validateCountLimits() error {
	for _, l := range c.countLimits() {
		switch {
		case l.n == 0 && l.zero == "" && l.noNone != "":
			return fmt.Errorf("config: %s: 0 is not a limit; give a positive number, or leave the key out for the default", l.key)
		case l.n == 0 && l.zero == "":
			return fmt.Errorf("config: %s: 0 is ambiguous; write -1 for no limit, or leave the key out for the default", l.key)
		case l.n == -1 && l.noNone != "":
			return fmt.Errorf("config: %s: -1 (no limit) is not allowed, as %s; give a positive number", l.key, l.noNone)
		case l.n < -1:
			return fmt.Errorf("config: %s: %d: give a positive number, or -1 for no limit", l.key, l.n)
		}
	}
	return nil
}

// noneAsZero turns a count of the config (-1: none) into the 0 that
// means none to the layer below.
func noneAsZero(n int) int {
	return max(n, 0)
}

// BindThrottleConfig is the bind_throttle section (frontend.Throttle).
type BindThrottleConfig struct {
	Enabled    bool          `mapstructure:"enabled"`
	After      int           `mapstructure:"after"`
	Delay      time.Duration `mapstructure:"delay"`
	MaxDelay   time.Duration `mapstructure:"max_delay"`
	Forget     time.Duration `mapstructure:"forget"`
	MaxTracked int           `mapstructure:"max_tracked"`
}

func (c *Config) validateAbuseLimits() error {
	if _, err := c.connLimitExempt(); err != nil {
		return err
	}
	t := &c.BindThrottle
	if t.After < 0 || t.Delay < 0 || t.MaxDelay < 0 || t.Forget < 0 || t.MaxTracked < 0 {
		return fmt.Errorf("config: bind_throttle values must not be negative")
	}
	if t.MaxDelay > 0 && t.MaxDelay < t.Delay {
		return fmt.Errorf("config: bind_throttle.max_delay %v is below bind_throttle.delay %v", t.MaxDelay, t.Delay)
	}
	// The DNs of limits.by_identity are checked against the schema when
	// the server starts (identityLimits).
	for i, r := range c.Limits.ByIdentity {
		set := 0
		for _, v := range []string{r.DN, r.Group, r.Who} {
			if v != "" {
				set++
			}
		}
		if set != 1 {
			return fmt.Errorf("config: limits.by_identity[%d]: give exactly one of dn, group and who", i)
		}
	}
	if err := c.validateWriteLimits(); err != nil {
		return err
	}
	return c.Encryption.validate()
}

// validateWriteLimits checks the disk and write limits; the attribute
// names of limits.max_value_bytes_by_attribute are checked against the
// schema when the server starts (writeLimits).
func (c *Config) validateWriteLimits() error {
	if c.ValueLogGCInterval < 0 {
		return fmt.Errorf("config: value_log_gc_interval must not be negative")
	}
	return nil
}

// diskReserve turns limits.disk_reserve_mb into Options.DiskReserve
// (negative: off).
func (c *Config) diskReserve() int64 {
	if c.Limits.DiskReserveMB < 0 {
		return -1
	}
	if c.Limits.DiskReserveMB == 0 {
		return 1 // refuse only when nothing is left beyond the log files' holes
	}
	return int64(c.Limits.DiskReserveMB) << 20
}

// valueLogGCInterval turns value_log_gc_interval into
// Options.ValueLogGCInterval (negative: never).
func (c *Config) valueLogGCInterval() time.Duration {
	if c.ValueLogGCInterval <= 0 {
		return -1
	}
	return c.ValueLogGCInterval
}

// writeLimits builds the write limits; nil when every one is off.
func (c *Config) writeLimits(s *schema.Schema) (*frontend.WriteLimits, error) {
	l := &c.Limits
	value, entry, rate := noneAsZero(l.MaxValueBytes), noneAsZero(l.MaxEntryBytes), noneAsZero(l.WriteBytesPerMinute)
	if value == 0 && entry == 0 && rate == 0 && len(l.MaxValueBytesByAttribute) == 0 {
		return nil, nil
	}
	// The per-attribute values pass as they are: -1 is none to frontend too.
	wl, err := frontend.NewWriteLimits(frontend.WriteLimitsConfig{MaxValueBytes: value, ValueBytesByAttr: l.MaxValueBytesByAttribute,
		MaxEntryBytes: entry, BytesPerMinute: int64(rate)},
		func(name string) (string, bool) {
			at, ok := s.Attribute(name)
			if !ok {
				return "", false
			}
			return at.Name(), true
		})
	if err != nil {
		return nil, fmt.Errorf("config: limits.max_value_bytes_by_attribute: %w", err)
	}
	return wl, nil
}

// registerStoreMetrics exports the free-space guard and the value log GC.
func registerStoreMetrics(m *admin.Metrics, eng *directory.Engine) {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_disk_full",
			Help: "1 while writes are refused because the store's disk has less free space than limits.disk_reserve_mb."},
			func() float64 { return b2f(eng.DiskSpace().Full) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_disk_headroom_bytes",
			Help: "Free space on the store's disk less the unwritten parts of its log files, as last measured."},
			func() float64 { return float64(eng.DiskSpace().Headroom) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_disk_reserve_bytes",
			Help: "Headroom below which writes are refused (limits.disk_reserve_mb)."},
			func() float64 { return float64(eng.DiskSpace().Reserve) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_disk_full_refused_writes_total",
			Help: "Writes refused because the store's disk was full."},
			func() float64 { return float64(eng.DiskSpace().Refused) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_value_log_gc_runs_total",
			Help: "Value log garbage collection rounds."},
			func() float64 { return float64(eng.ValueLogStats().Runs) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_value_log_gc_rewrites_total",
			Help: "Value log files rewritten and removed by garbage collection."},
			func() float64 { return float64(eng.ValueLogStats().Rewrites) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_value_log_gc_skipped_total",
			Help: "Value log garbage collection rounds skipped because the disk was nearly full."},
			func() float64 { return float64(eng.ValueLogStats().Skipped) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_value_log_bytes",
			Help: "Bytes of the value log on disk, as of the last garbage collection round."},
			func() float64 { return float64(eng.ValueLogStats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_value_log_reclaimable_bytes",
			Help: "Estimated bytes of dead values in the value log, as of the last garbage collection round."},
			func() float64 { return float64(eng.ValueLogStats().Reclaimable) }),
	)
}

// connLimitExempt parses limits.connection_limit_exempt: prefixes, or
// single addresses.
func (c *Config) connLimitExempt() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.Limits.ConnectionLimitExempt {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("config: limits.connection_limit_exempt: %q is neither a prefix nor an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// bindThrottle returns the configured throttle, nil when it is off.
func (c *Config) bindThrottle() *frontend.Throttle {
	t := c.BindThrottle
	if !t.Enabled {
		return nil
	}
	return frontend.NewThrottle(frontend.ThrottleConfig{After: t.After, Delay: t.Delay, MaxDelay: t.MaxDelay,
		Forget: t.Forget, MaxTracked: t.MaxTracked})
}

// identityLimits builds limits.by_identity, nil when there are none.
func (c *Config) identityLimits(s *schema.Schema) (*frontend.Limits, error) {
	if len(c.Limits.ByIdentity) == 0 {
		return nil, nil
	}
	rules := make([]frontend.LimitRule, len(c.Limits.ByIdentity))
	for i, r := range c.Limits.ByIdentity {
		// Absent stays 0 (the default) and -1 stays negative (none).
		rules[i] = frontend.LimitRule{DN: r.DN, Group: r.Group, Who: r.Who, Time: r.Time}
		if r.Size != nil {
			rules[i].Size = *r.Size
		}
		if r.Lookthrough != nil {
			rules[i].Lookthrough = *r.Lookthrough
		}
	}
	l, err := frontend.NewLimits(s.NormalizeDNString, rules)
	if err != nil {
		return nil, fmt.Errorf("config: limits.by_identity: %w", err)
	}
	return l, nil
}

// registerThrottleMetrics exports the throttle's counters.
func registerThrottleMetrics(m *admin.Metrics, t *frontend.Throttle) {
	if t == nil {
		return
	}
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_bind_throttled_total",
			Help: "Failed binds answered late by the bind throttle."},
			func() float64 { return float64(t.Delayed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_bind_throttle_tracked",
			Help: "Failure counters the bind throttle holds (addresses and DNs)."},
			func() float64 { a, d := t.Tracked(); return float64(a + d) }),
	)
}
