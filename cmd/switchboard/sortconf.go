package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
)

// SortLimits are the limits.sort_* keys (in Config.Limits): server-side
// sort and virtual list view (frontend/sort.go).
type SortLimits struct {
	SortCandidates     int           `mapstructure:"sort_candidates"`
	SortCandidatesRoot int           `mapstructure:"sort_candidates_root"`
	SortMemoryMB       int           `mapstructure:"sort_memory_mb"`
	SortWait           time.Duration `mapstructure:"sort_wait"`
}

func (c *Config) validateSortLimits() error {
	l := &c.Limits.SortLimits
	switch {
	case l.SortCandidates < -1 || l.SortCandidatesRoot < 0:
		return fmt.Errorf("config: limits.sort_candidates must be -1 or more, limits.sort_candidates_root 0 or more")
	case l.SortMemoryMB < 0:
		return fmt.Errorf("config: limits.sort_memory_mb must not be negative")
	case l.SortWait < 0:
		return fmt.Errorf("config: limits.sort_wait must not be negative")
	}
	return nil
}

// sortBudget returns the server-wide sort memory budget, nil when off.
func (c *Config) sortBudget() *frontend.SortBudget {
	if c.Limits.SortMemoryMB == 0 {
		return nil
	}
	return frontend.NewSortBudget(int64(c.Limits.SortMemoryMB)<<20, c.Limits.SortWait)
}

// sortLimit is frontend.Config.SortLimit: -1 (none) stays negative.
func (c *Config) sortLimit() int {
	if c.Limits.SortCandidates == 0 {
		return -1 // frontend's 0 would be its default
	}
	return c.Limits.SortCandidates
}

// registerSortMetrics exports the sort budget's use.
func registerSortMetrics(m *admin.Metrics, b *frontend.SortBudget) {
	if b == nil {
		return
	}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_sort_memory_bytes",
			Help: "Bytes of the sort memory budget (limits.sort_memory_mb) held by sorted searches."},
			func() float64 { return float64(b.InUse()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_sort_refused_total",
			Help: "Sorted searches refused for want of sort memory budget (busy or adminLimitExceeded)."},
			func() float64 { return float64(b.Refused()) }),
	)
}
