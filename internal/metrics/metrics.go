// Package metrics is what a Bazaar process tells Prometheus: its HTTP
// requests, and every call one module makes to another — by caller, callee,
// method, outcome and mode (local, wire or remote), the number that shows
// what crossing the network costs. Each process has its own registry; nothing is
// global.
package metrics

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/bazaar-shop/bazaar/internal/database"
	"github.com/bazaar-shop/bazaar/internal/errs"
	"github.com/bazaar-shop/bazaar/internal/faults"
)

// Metrics is the registry of one process and the series Bazaar keeps.
type Metrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec
	requestTime *prometheus.HistogramVec
	calls       *prometheus.CounterVec
	callTime    *prometheus.HistogramVec
	retries     *prometheus.CounterVec
	checkouts   *prometheus.CounterVec
}

// Latency buckets from 50µs (an in-process call) to 10s (a timeout).
var buckets = prometheus.ExponentialBucketsRange(0.00005, 10, 18)

// New returns a registry with the Go runtime and process collectors.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_http_requests_total", Help: "HTTP requests served, by route template, method and status.",
		}, []string{"route", "method", "status"}),
		requestTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bazaar_http_request_duration_seconds", Help: "Time to serve an HTTP request.", Buckets: buckets,
		}, []string{"route", "method"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_module_calls_total",
			Help: "Calls from one module to another, by outcome (ok, the error code, or injected: a fault made on purpose) and mode (local, wire or remote).",
		}, []string{"caller", "callee", "method", "outcome", "mode"}),
		callTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "bazaar_module_call_duration_seconds", Help: "Time of a call from one module to another.", Buckets: buckets,
		}, []string{"caller", "callee", "method", "mode"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_module_call_retries_total",
			Help: "Attempts after the first of calls to a module over the wire, by callee: a call safe to repeat is retried after a failure.",
		}, []string{"callee"}),
		checkouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bazaar_checkouts_total", Help: "Checkouts served by this process, by outcome (ok or the error code).",
		}, []string{"outcome"}),
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.requestTime, m.calls, m.callTime, m.retries, m.checkouts)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Gather reads every metric now, as a scrape would: for the console.
func (m *Metrics) Gather() ([]*dto.MetricFamily, error) { return m.registry.Gather() }

// HTTP counts and times every request by its route template, so
// /v1/products/{id} is one series, not one per product.
func (m *Metrics) HTTP() gin.HandlerFunc {
	series := routeSeries{known: map[routeKey]requestSeries{}}
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		s := series.of(m, routeKey{route, knownMethod(c.Request.Method), c.Writer.Status()})
		s.count.Inc()
		s.time.Observe(time.Since(start).Seconds())
	}
}

// knownMethod is the method as a label: a client may send any token as a
// method, and each would otherwise be a series of its own, forever.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// routeKey is the labels of one request series.
type routeKey struct {
	route, method string
	status        int
}

// requestSeries is the counter and histogram of one routeKey.
type requestSeries struct {
	count prometheus.Counter
	time  prometheus.Observer
}

// routeSeries remembers each route's series once looked up: finding them
// by their labels hashes every label, on every request.
type routeSeries struct {
	mu    sync.RWMutex
	known map[routeKey]requestSeries
}

func (r *routeSeries) of(m *Metrics, k routeKey) requestSeries {
	r.mu.RLock()
	s, ok := r.known[k]
	r.mu.RUnlock()
	if ok {
		return s
	}
	s = requestSeries{m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)),
		m.requestTime.WithLabelValues(k.route, k.method)}
	r.mu.Lock()
	r.known[k] = s
	r.mu.Unlock()
	return s
}

// Call records one module calling another.
func (m *Metrics) Call(caller, callee, method, mode string, start time.Time, err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, faults.ErrInjected):
		outcome = "injected"
	case err != nil:
		outcome = errs.Code(err)
	}
	m.calls.WithLabelValues(caller, callee, method, outcome, mode).Inc()
	m.callTime.WithLabelValues(caller, callee, method, mode).Observe(time.Since(start).Seconds())
}

// Retry counts one attempt after a call's first to callee.
func (m *Metrics) Retry(callee string) { m.retries.WithLabelValues(callee).Inc() }

// Database exports the connection pool statistics of a module's database.
func (m *Metrics) Database(module string, db *sql.DB) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, module))
}

// Writes exports how a module's SQLite write transactions shared commits
// (group commit), and the length of its write-ahead log: read when
// Prometheus scrapes.
func (m *Metrics) Writes(module string, read func() database.WriteStats) {
	labels := prometheus.Labels{"db_name": module}
	counter := func(name, help string, value func(w database.WriteStats) float64) {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: name, Help: help, ConstLabels: labels,
		}, func() float64 { return value(read()) }))
	}
	counter("bazaar_db_write_batches_total", "SQLite write batches: BEGIN … COMMITs shared by write transactions.",
		func(w database.WriteStats) float64 { return float64(w.Batches) })
	counter("bazaar_db_write_transactions_total", "SQLite write transactions run in those batches.",
		func(w database.WriteStats) float64 { return float64(w.Transactions) })
	counter("bazaar_db_write_wait_seconds_total", "Time SQLite write transactions waited for their batch, summed.",
		func(w database.WriteStats) float64 { return w.Waited.Seconds() })
	counter("bazaar_db_write_batch_reruns_total", "SQLite write batches run again, each transaction in a savepoint, because one of their transactions failed.",
		func(w database.WriteStats) float64 { return float64(w.Reruns) })
	counter("bazaar_db_wal_rewinds_total", "Times the SQLite writer started its write-ahead log over.",
		func(w database.WriteStats) float64 { return float64(w.Rewinds) })
	counter("bazaar_db_checkpoint_errors_total", "Background SQLite checkpoints that failed; while they fail, the write-ahead log grows.",
		func(w database.WriteStats) float64 { return float64(w.CheckpointErrors) })
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bazaar_db_wal_pages", ConstLabels: labels,
		Help: "Pages in the SQLite write-ahead log at the last checkpoint; it should stay in the thousands.",
	}, func() float64 { return float64(read().LogPages) }))
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bazaar_db_write_queue", ConstLabels: labels,
		Help: "SQLite write transactions waiting for their batch right now.",
	}, func() float64 { return float64(read().Queued) }))
}

// Checkout counts a checkout by its outcome: ok or the error code.
func (m *Metrics) Checkout(err error) {
	outcome := "ok"
	switch {
	case errors.Is(err, faults.ErrInjected):
		outcome = "injected"
	case err != nil:
		outcome = errs.Code(err)
	}
	m.checkouts.WithLabelValues(outcome).Inc()
}

// Gauge reports a value read when Prometheus scrapes, such as the units
// reserved right now; a failed read reports nothing.
func (m *Metrics) Gauge(name, help string, labels prometheus.Labels, read func(context.Context) (float64, error)) {
	m.registry.MustRegister(&gauge{desc: prometheus.NewDesc(name, help, nil, labels), read: read})
}

type gauge struct {
	desc *prometheus.Desc
	read func(context.Context) (float64, error)
}

func (g *gauge) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *gauge) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if v, err := g.read(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
	}
}

// Breaker reports the state of a remote module's breaker when scraped.
func (m *Metrics) Breaker(module string, open func() bool) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "bazaar_circuit_breaker_open", Help: "1 while this process's circuit breaker for the module is open.",
		ConstLabels: prometheus.Labels{"module": module},
	}, func() float64 {
		if open() {
			return 1
		}
		return 0
	}))
}
