// Package metrics owns streamflix's Prometheus registry: Go runtime and
// process metrics, the database pool, HTTP requests, and readiness.
// Other packages register their own collectors on Registry.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the registry and the HTTP instruments.
type Metrics struct {
	Registry *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	ready    prometheus.Gauge
}

// New returns a registry with Go runtime, process and build metrics.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamflix_http_requests_total",
			Help: "HTTP requests served, by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamflix_http_request_duration_seconds",
			Help:    "HTTP request latency, by route pattern, method and status.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "status"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamflix_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "streamflix_ready",
			Help: "1 when this instance is ready for traffic, 0 while starting or draining.",
		}),
	}
	info := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "streamflix_build_info",
		Help:        "Always 1; the version label names the running build.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	info.Set(1)
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inflight, m.ready, info,
	)
	return m
}

// RegisterDB exports the pool's statistics (go_sql_* with db_name="streamflix").
func (m *Metrics) RegisterDB(db *sql.DB) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, "streamflix"))
}

// ObserveRequest records one finished HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	s := strconv.Itoa(status)
	m.requests.WithLabelValues(route, method, s).Inc()
	m.duration.WithLabelValues(route, method, s).Observe(d.Seconds())
}

// InFlight returns the in-flight gauge.
func (m *Metrics) InFlight() prometheus.Gauge { return m.inflight }

// SetReady records readiness.
func (m *Metrics) SetReady(ready bool) {
	if ready {
		m.ready.Set(1)
	} else {
		m.ready.Set(0)
	}
}

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
