package federation

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/switchboard-ldap/switchboard/replication"
)

// importStates are the states an import reports, one series each in
// switchboard_federation_import_state: the consumer's and the import's own.
var importStates = []string{replication.SyncreplConnecting, replication.SyncreplRefreshing, replication.SyncreplPersisting,
	replication.SyncreplIdle, replication.SyncreplRetrying, replication.SyncreplStopped, StateFailed, StatePurged}

// RegisterMetrics adds the per-agreement metrics to reg: for each export
// (label "export") what its partner fetched, for each import (label
// "import") its copy and consumer. Agreements made later appear at the
// next scrape.
func (f *Federation) RegisterMetrics(reg prometheus.Registerer) error {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("switchboard_federation_"+name, help, labels, nil)
	}
	return reg.Register(&collector{f: f,
		exSent:   d("export_entries_sent_total", "Entries sent to an export's partner (searches, sync, persistent searches) since the server started.", "export"),
		exBinds:  d("export_binds_total", "Successful binds of an export's partner since the server started.", "export"),
		exSearch: d("export_searches_total", "Searches of an export's partner since the server started.", "export"),
		exFetch:  d("export_last_fetch_age_seconds", "Seconds since an export's partner last fetched (absent until it has).", "export"),
		imEnt:    d("import_entries", "Entries an import holds in its copy.", "import"),
		imApplied: d("import_applied_changes_total",
			"Entries an import wrote or removed in its copy since the server started.", "import"),
		imLag: d("import_lag_seconds",
			"Seconds since an import last applied a change from its source (absent until its first change).", "import"),
		imErrors: d("import_errors_total", "Sync sessions of an import that failed since the server started.", "import"),
		imState:  d("import_state", "1 for the state an import is in, 0 for the others.", "import", "state"),
		discReq:  d("discover_requests_total", "Authenticated discovery requests of an export's partner since the server started.", "export"),
		discHash: d("discover_hashes_total", "Hashes an export's partner asked about by discovery since the server started.", "export"),
		discHit:  d("discover_matches_total", "Hashes of an export's partner that discovery matched since the server started.", "export"),
		discLim:  d("discover_limited_total", "Discovery requests of an export's partner refused by the rate limit since the server started.", "export"),
	})
}

type collector struct {
	f                                          *Federation
	exSent, exBinds, exSearch, exFetch         *prometheus.Desc
	imEnt, imApplied, imLag, imErrors, imState *prometheus.Desc
	discReq, discHash, discHit, discLim        *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.exSent, c.exBinds, c.exSearch, c.exFetch, c.imEnt, c.imApplied, c.imLag, c.imErrors, c.imState,
		c.discReq, c.discHash, c.discHit, c.discLim} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	now := time.Now()
	for _, e := range c.f.Exports() {
		st := e.Stats
		ch <- prometheus.MustNewConstMetric(c.exSent, prometheus.CounterValue, float64(st.Entries), e.Name)
		ch <- prometheus.MustNewConstMetric(c.exBinds, prometheus.CounterValue, float64(st.Binds), e.Name)
		ch <- prometheus.MustNewConstMetric(c.exSearch, prometheus.CounterValue, float64(st.Searches), e.Name)
		if !st.LastFetch.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.exFetch, prometheus.GaugeValue, now.Sub(st.LastFetch).Seconds(), e.Name)
		}
		if ds := e.DiscoveryStats; ds != nil {
			ch <- prometheus.MustNewConstMetric(c.discReq, prometheus.CounterValue, float64(ds.Requests), e.Name)
			ch <- prometheus.MustNewConstMetric(c.discHash, prometheus.CounterValue, float64(ds.Hashes), e.Name)
			ch <- prometheus.MustNewConstMetric(c.discHit, prometheus.CounterValue, float64(ds.Matched), e.Name)
			ch <- prometheus.MustNewConstMetric(c.discLim, prometheus.CounterValue, float64(ds.Limited), e.Name)
		}
	}
	for _, im := range c.f.Imports() {
		st := im.Status
		ch <- prometheus.MustNewConstMetric(c.imEnt, prometheus.GaugeValue, float64(st.Entries), im.Name)
		ch <- prometheus.MustNewConstMetric(c.imApplied, prometheus.CounterValue, float64(st.Applied), im.Name)
		ch <- prometheus.MustNewConstMetric(c.imErrors, prometheus.CounterValue, float64(st.Errors), im.Name)
		if !st.LastChange.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.imLag, prometheus.GaugeValue, now.Sub(st.LastChange).Seconds(), im.Name)
		}
		for _, s := range importStates {
			v := 0.0
			if s == im.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.imState, prometheus.GaugeValue, v, im.Name, s)
		}
	}
}
