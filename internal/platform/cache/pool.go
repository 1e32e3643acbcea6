package cache

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// NewPoolCollector returns a collector exporting client's connection pool
// statistics: the counters streamflix_redis_pool_hits_total,
// streamflix_redis_pool_misses_total, streamflix_redis_pool_timeouts_total and
// streamflix_redis_pool_stale_conns_total, and the gauges
// streamflix_redis_pool_total_conns and streamflix_redis_pool_idle_conns.
// Register one per registry; a second registration of another pool collector
// returns prometheus.AlreadyRegisteredError.
func NewPoolCollector(client *redis.Client) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("streamflix_redis_pool_"+name, help, nil, nil)
	}
	return &poolCollector{
		client:   client,
		hits:     desc("hits_total", "Times a free connection was found in the Redis pool."),
		misses:   desc("misses_total", "Times no free connection was found in the Redis pool."),
		timeouts: desc("timeouts_total", "Times waiting for a Redis pool connection timed out."),
		stale:    desc("stale_conns_total", "Stale connections removed from the Redis pool."),
		total:    desc("total_conns", "Connections in the Redis pool."),
		idle:     desc("idle_conns", "Idle connections in the Redis pool."),
	}
}

type poolCollector struct {
	client *redis.Client

	hits, misses, timeouts, stale *prometheus.Desc // counters
	total, idle                   *prometheus.Desc // gauges
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.timeouts, c.stale, c.total, c.idle} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.client.PoolStats()
	ch <- prometheus.MustNewConstMetric(c.hits, prometheus.CounterValue, float64(s.Hits))
	ch <- prometheus.MustNewConstMetric(c.misses, prometheus.CounterValue, float64(s.Misses))
	ch <- prometheus.MustNewConstMetric(c.timeouts, prometheus.CounterValue, float64(s.Timeouts))
	ch <- prometheus.MustNewConstMetric(c.stale, prometheus.CounterValue, float64(s.StaleConns))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(s.TotalConns))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.IdleConns))
}
