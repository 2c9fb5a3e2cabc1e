// Package metrics keeps the process's Prometheus metrics and serves them.
//
// It is the only package that imports the Prometheus client. The parts it
// measures do not import it: ingest, tiles, alerting and the API report
// through their own small observer interfaces and hooks (ingest.Observer,
// tiles.Observer, alerting.Engine.Wrote, api.Metrics), which *Metrics
// implements, and cmd wires the two together. Metrics live on a registry
// passed in, never the global one, so tests and several servers in one
// process do not share counters.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"hotspots/geo"
	"hotspots/geo/notify"
	"hotspots/ingest"
)

// namespace prefixes every metric name.
const namespace = "hotspots"

// latencyBuckets run from half a millisecond to about 8 s: cached tiles
// answer in microseconds and a cold hex tile over years of data in
// seconds, and both ends must be visible in p50 and p99.
var latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2, 15)

// Metrics holds every metric of the process. Its methods are safe for
// concurrent use and do nothing on a nil *Metrics, so a component built
// without metrics needs no checks.
type Metrics struct {
	reg *prometheus.Registry

	loads       *prometheus.CounterVec
	rows        *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	detection   *prometheus.HistogramVec
	alerts      *prometheus.CounterVec
	tileSeconds *prometheus.HistogramVec
	tileCache   *prometheus.CounterVec
	tileErrors  *prometheus.CounterVec
	httpCount   *prometheus.CounterVec
	httpSeconds *prometheus.HistogramVec
}

// New registers the metrics, with the Go runtime and process collectors,
// on reg; a nil reg gets a new registry. It panics if reg already holds
// metrics of the same names, which is a wiring mistake.
func New(reg *prometheus.Registry) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &Metrics{
		reg: reg,
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "ingest_loads_total",
			Help: "Finished ingest loads and pushes by source and status (done, failed).",
		}, []string{"source", "status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "ingest_rows_total",
			Help: "Incidents written by ingest, by source and outcome (added, changed, unchanged).",
		}, []string{"source", "outcome"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "ingest_quarantined_rows_total",
			Help: "Feed rows quarantined by ingest, by source and reason.",
		}, []string{"source", "reason"}),
		detection: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "detection_duration_seconds",
			Help:    "Duration of detection runs by detector.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"detector"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "alert_events_total",
			Help: "Alert events written by the alerting engine, by rule, event type (raised, updated, reopened, resolved) and severity.",
		}, []string{"rule", "type", "severity"}),
		tileSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "tile_duration_seconds",
			Help:    "Time to build or fetch one vector tile, by layer and cache result (hit, miss).",
			Buckets: latencyBuckets,
		}, []string{"layer", "cache"}),
		tileCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tile_cache_requests_total",
			Help: "Tile cache lookups by layer and result (hit, miss); hit rate = hit / (hit + miss).",
		}, []string{"layer", "result"}),
		tileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "tile_errors_total",
			Help: "Tile requests that failed, by layer.",
		}, []string{"layer"}),
		httpCount: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "status"}),
		httpSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by method and route pattern.",
			Buckets: latencyBuckets,
		}, []string{"method", "route"}),
	}
	reg.MustRegister(m.loads, m.rows, m.quarantined, m.detection, m.alerts,
		m.tileSeconds, m.tileCache, m.tileErrors, m.httpCount, m.httpSeconds,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry is the registry the metrics live on, for adding others; nil
// for a nil *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format (GET /metrics).
// A metric that fails to gather is reported in the response rather than
// failing the scrape, so one bad collector does not blind the dashboard.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// LoadFinished counts a finished load or push (ingest.Observer).
func (m *Metrics) LoadFinished(s *ingest.Summary, err error) {
	if m == nil || s == nil {
		return
	}
	status := "done"
	if err != nil {
		status = "failed"
	}
	m.loads.WithLabelValues(s.Source, status).Inc()
	m.rows.WithLabelValues(s.Source, "added").Add(float64(s.Added))
	m.rows.WithLabelValues(s.Source, "changed").Add(float64(s.Changed))
	m.rows.WithLabelValues(s.Source, "unchanged").Add(float64(s.Unchanged))
	for reason, n := range s.ByReason {
		m.quarantined.WithLabelValues(s.Source, string(reason)).Add(float64(n))
	}
}

// TileServed records one tile request (tiles.Observer).
func (m *Metrics) TileServed(layer string, cached bool, d time.Duration, err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.tileErrors.WithLabelValues(layer).Inc()
		return
	}
	result := "miss"
	if cached {
		result = "hit"
	}
	m.tileCache.WithLabelValues(layer, result).Inc()
	m.tileSeconds.WithLabelValues(layer, result).Observe(d.Seconds())
}

// AlertsWritten counts the alert events of one engine write and the
// duration of its detection run, if it had one. Wire it to
// alerting.Engine.Wrote.
func (m *Metrics) AlertsWritten(res geo.AlertBatchResult) {
	if m == nil {
		return
	}
	if res.Run.Detector != "" {
		m.ObserveDetection(res.Run.Detector, res.Run.Duration)
	}
	for _, ev := range res.Events {
		m.alerts.WithLabelValues(string(ev.Alert.Rule), string(ev.Type), string(ev.Alert.Severity)).Inc()
	}
}

// ObserveDetection records one detection run's duration, for runs that
// do not go through the alerting engine.
func (m *Metrics) ObserveDetection(detector string, d time.Duration) {
	if m == nil {
		return
	}
	m.detection.WithLabelValues(detector).Observe(d.Seconds())
}

// ObserveRequest records one HTTP request. route is the route pattern
// ("/tiles/:layer/:z/:x/:y"), never the raw path, so the number of series
// stays bounded whatever clients send.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.httpCount.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.httpSeconds.WithLabelValues(method, route).Observe(d.Seconds())
}

// WatchPool exports a delivery pool's counters as
// hotspots_alert_deliveries_total{state=sent|failed|dead|lease_lost}. The
// pool keeps the counts; the registry reads them at each scrape. Call it
// once per process.
func (m *Metrics) WatchPool(stats func() notify.PoolStats) error {
	if m == nil || stats == nil {
		return nil
	}
	states := map[string]func(notify.PoolStats) int64{
		"sent":       func(s notify.PoolStats) int64 { return s.Sent },
		"failed":     func(s notify.PoolStats) int64 { return s.Failed },
		"dead":       func(s notify.PoolStats) int64 { return s.Dead },
		"lease_lost": func(s notify.PoolStats) int64 { return s.LeaseLost },
	}
	var errs []error
	for state, get := range states {
		c := prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace, Name: "alert_deliveries_total",
			Help:        "Alert delivery attempts recorded by this process's pool, by outcome state.",
			ConstLabels: prometheus.Labels{"state": state},
		}, func() float64 { return float64(get(stats())) })
		errs = append(errs, m.reg.Register(c))
	}
	return errors.Join(errs...)
}
