package replication

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// syncreplStates are the states a consumer reports, one series each in
// switchboard_syncrepl_state.
var syncreplStates = []string{SyncreplConnecting, SyncreplRefreshing, SyncreplPersisting, SyncreplIdle, SyncreplRetrying, SyncreplStopped}

// RegisterSyncrepl adds the metrics of the consumers to reg, labelled by
// consumer name.
func RegisterSyncrepl(reg prometheus.Registerer, consumers []*Syncrepl) error {
	return RegisterSyncreplFunc(reg, func() []*Syncrepl { return consumers })
}

// RegisterSyncreplFunc is RegisterSyncrepl for consumers that come and
// go (federation imports): list is called at each scrape.
func RegisterSyncreplFunc(reg prometheus.Registerer, list func() []*Syncrepl) error {
	return reg.Register(&syncreplCollector{
		consumers: list,
		entries: prometheus.NewDesc("switchboard_syncrepl_entries",
			"Entries an RFC 4533 consumer holds in its local copy.", []string{"consumer"}, nil),
		applied: prometheus.NewDesc("switchboard_syncrepl_applied_changes_total",
			"Entries an RFC 4533 consumer wrote or removed since the server started.", []string{"consumer"}, nil),
		full: prometheus.NewDesc("switchboard_syncrepl_full_refreshes_total",
			"Sync sessions an RFC 4533 consumer began without a cookie (a full refresh).", []string{"consumer"}, nil),
		errors: prometheus.NewDesc("switchboard_syncrepl_errors_total",
			"Sync sessions of an RFC 4533 consumer that failed (connection, bind, search or apply).", []string{"consumer"}, nil),
		age: prometheus.NewDesc("switchboard_syncrepl_last_change_age_seconds",
			"Seconds since an RFC 4533 consumer last applied a change (absent until its first change).", []string{"consumer"}, nil),
		state: prometheus.NewDesc("switchboard_syncrepl_state",
			"1 for the state an RFC 4533 consumer is in, 0 for the others.", []string{"consumer", "state"}, nil),
	})
}

type syncreplCollector struct {
	consumers                                  func() []*Syncrepl
	entries, applied, full, errors, age, state *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *syncreplCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.entries, c.applied, c.full, c.errors, c.age, c.state} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *syncreplCollector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, s := range c.consumers() {
		st := s.Status()
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(st.Entries), st.Name)
		ch <- prometheus.MustNewConstMetric(c.applied, prometheus.CounterValue, float64(st.Applied), st.Name)
		ch <- prometheus.MustNewConstMetric(c.full, prometheus.CounterValue, float64(st.FullRefreshes), st.Name)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(st.Errors), st.Name)
		if !st.LastChange.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, now.Sub(st.LastChange).Seconds(), st.Name)
		}
		for _, state := range syncreplStates {
			v := 0.0
			if st.State == state {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, st.Name, state)
		}
	}
}
