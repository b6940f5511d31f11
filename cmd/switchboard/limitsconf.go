package main

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
	"github.com/switchboard-ldap/switchboard/schema"
)

// IdentityLimit is one entry of limits.by_identity: who (exactly one of
// dn, group and who: users, anonymous or *) and the limits replacing the
// defaults (0 or absent: the default; negative: none).
type IdentityLimit struct {
	DN          string        `mapstructure:"dn"`
	Group       string        `mapstructure:"group"`
	Who         string        `mapstructure:"who"`
	Size        int           `mapstructure:"size"`
	Time        time.Duration `mapstructure:"time"`
	Lookthrough int           `mapstructure:"lookthrough"`
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
	if c.Limits.MaxConnectionsPerIP < 0 {
		return fmt.Errorf("config: limits.max_connections_per_ip must not be negative")
	}
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
	l := &c.Limits
	switch {
	case l.DiskReserveMB < -1:
		return fmt.Errorf("config: limits.disk_reserve_mb must be -1 (never refuse) or more")
	case l.MaxValueBytes < 0, l.MaxEntryBytes < 0, l.WriteBytesPerMinute < 0:
		return fmt.Errorf("config: limits.max_value_bytes, limits.max_entry_bytes and limits.write_bytes_per_minute must not be negative")
	case c.ValueLogGCInterval < 0:
		return fmt.Errorf("config: value_log_gc_interval must not be negative")
	}
	for name, n := range l.MaxValueBytesByAttribute {
		if n < 0 {
			return fmt.Errorf("config: limits.max_value_bytes_by_attribute: %s: must not be negative (0: no limit)", name)
		}
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
	if l.MaxValueBytes == 0 && l.MaxEntryBytes == 0 && l.WriteBytesPerMinute == 0 && len(l.MaxValueBytesByAttribute) == 0 {
		return nil, nil
	}
	by := make(map[string]int, len(l.MaxValueBytesByAttribute))
	for name, n := range l.MaxValueBytesByAttribute {
		if n == 0 {
			n = -1 // 0 in the config: no limit for this attribute
		}
		by[name] = n
	}
	wl, err := frontend.NewWriteLimits(frontend.WriteLimitsConfig{MaxValueBytes: l.MaxValueBytes, ValueBytesByAttr: by,
		MaxEntryBytes: l.MaxEntryBytes, BytesPerMinute: int64(l.WriteBytesPerMinute)},
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
		rules[i] = frontend.LimitRule{DN: r.DN, Group: r.Group, Who: r.Who, Size: r.Size, Time: r.Time, Lookthrough: r.Lookthrough}
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
