package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-ldap/switchboard/admin"
	"github.com/switchboard-ldap/switchboard/directory"
	"github.com/switchboard-ldap/switchboard/directory/frontend"
)

// WorkLimits are the keys of Config.Limits that bound the work of one
// search by anyone but the root DN: server-side sort and virtual list
// view (limits.sort_*, frontend/sort.go) and the cost of evaluating its
// filter (limits.filter_work, limits.chain_*, directory.CostLimits).
type WorkLimits struct {
	SortCandidates     int           `mapstructure:"sort_candidates"`
	SortCandidatesRoot int           `mapstructure:"sort_candidates_root"`
	SortMemoryMB       int           `mapstructure:"sort_memory_mb"`
	SortWait           time.Duration `mapstructure:"sort_wait"`
	FilterWork         int           `mapstructure:"filter_work"`
	ChainDepth         int           `mapstructure:"chain_depth"`
	ChainEntries       int           `mapstructure:"chain_entries"`
}

func (c *Config) validateWorkLimits() error {
	l := &c.Limits.WorkLimits
	// The counts are checked by validateCountLimits.
	if l.SortWait < 0 {
		return fmt.Errorf("config: limits.sort_wait must not be negative")
	}
	return nil
}

// searchCost returns the filter cost limits of non-admin searches.
func (c *Config) searchCost() directory.CostLimits {
	l := &c.Limits.WorkLimits
	return directory.CostLimits{Work: int64(noneAsZero(l.FilterWork)), ChainDepth: noneAsZero(l.ChainDepth),
		ChainEntries: noneAsZero(l.ChainEntries)}
}

// sortBudget returns the server-wide sort memory budget, nil when off.
func (c *Config) sortBudget() *frontend.SortBudget {
	if c.Limits.SortMemoryMB < 0 {
		return nil
	}
	return frontend.NewSortBudget(int64(c.Limits.SortMemoryMB)<<20, c.Limits.SortWait)
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
