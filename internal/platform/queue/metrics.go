package queue

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics records River jobs by queue, kind and outcome, and reports queue
// depth by queue and state when scraped: a series for every state of every
// queue the instance knows (New tells it), zero until a job is there, so
// that a fresh instance already has them; queues in the table that the
// instance does not know are reported as found.
type Metrics struct {
	jobs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
	depth    *depthCollector
}

// NewMetrics registers the queue's metrics on reg. Queue depth is read from
// db at scrape time (one grouped count over River's job table).
func NewMetrics(reg prometheus.Registerer, db *sqlx.DB) *Metrics {
	m := &Metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "streamflix_river_jobs_total",
			Help: "Job attempts worked by this instance, by queue, kind and outcome (completed, failed, discarded, cancelled, snoozed).",
		}, []string{"queue", "kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "streamflix_river_job_duration_seconds",
			Help:    "Time spent working one job attempt, by queue, kind and outcome.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"queue", "kind", "outcome"}),
		depth: &depthCollector{db: db, desc: prometheus.NewDesc("streamflix_river_queue_depth",
			"Jobs in River's table by queue and state (available, scheduled, retryable, running).", []string{"queue", "state"}, nil)},
	}
	reg.MustRegister(m.jobs, m.duration, m.depth)
	return m
}

// know adds queues to those whose depth is always reported.
func (m *Metrics) know(queues []Spec) {
	m.depth.mu.Lock()
	defer m.depth.mu.Unlock()
	for _, q := range queues {
		if !slices.Contains(m.depth.queues, q.Name) {
			m.depth.queues = append(m.depth.queues, q.Name)
		}
	}
}

func (m *Metrics) observe(queue, kind, outcome string, d time.Duration) {
	m.jobs.WithLabelValues(queue, kind, outcome).Inc()
	m.duration.WithLabelValues(queue, kind, outcome).Observe(d.Seconds())
}

// depthStates are the states the depth gauge reports (jobs not finished),
// as in Collect's query.
var depthStates = []string{"available", "scheduled", "retryable", "running"}

type depthCollector struct {
	db   *sqlx.DB
	desc *prometheus.Desc

	mu     sync.Mutex
	queues []string // known queues, reported at zero when empty
}

func (c *depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var rows []struct {
		Queue string `db:"queue"`
		State string `db:"state"`
		N     int64  `db:"n"`
	}
	err := c.db.SelectContext(ctx, &rows, `
		SELECT queue, state::text AS state, count(*) AS n
		FROM river.river_job
		WHERE state IN ('available', 'scheduled', 'retryable', 'running')
		GROUP BY queue, state`)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	type key struct{ queue, state string }
	depth := map[key]int64{}
	c.mu.Lock()
	for _, q := range c.queues {
		for _, st := range depthStates {
			depth[key{q, st}] = 0
		}
	}
	c.mu.Unlock()
	for _, r := range rows {
		depth[key{r.Queue, r.State}] = r.N
	}
	for k, n := range depth {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n), k.queue, k.state)
	}
}
