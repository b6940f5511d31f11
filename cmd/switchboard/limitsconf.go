package main

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/admin"
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
	return c.Encryption.validate()
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
