package cache

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// circuitOpenFor is how long a Store skips Redis after an error, so that an
// outage costs one timeout per second rather than one per request.
const circuitOpenFor = time.Second

// logEvery is the least time between two warnings for the same operation.
const logEvery = time.Second

// op names a Redis operation in logs and in the op label of metrics.
type op int

const (
	opCacheGet op = iota
	opCacheSet
	opCacheDelete
	opLimiterAllow
	opCounterIncr
	opCounterGet
	opCounterReset
	opLeasesAcquire
	opLeasesRenew
	opLeasesRelease
	opLeasesHolders
	numOps
)

var opNames = [numOps]string{
	opCacheGet:      "cache_get",
	opCacheSet:      "cache_set",
	opCacheDelete:   "cache_delete",
	opLimiterAllow:  "limiter_allow",
	opCounterIncr:   "counter_incr",
	opCounterGet:    "counter_get",
	opCounterReset:  "counter_reset",
	opLeasesAcquire: "leases_acquire",
	opLeasesRenew:   "leases_renew",
	opLeasesRelease: "leases_release",
	opLeasesHolders: "leases_holders",
}

func (o op) String() string { return opNames[o] }

type opState struct {
	errors     prometheus.Counter
	fallbacks  prometheus.Counter
	lastLog    atomic.Int64 // nanoseconds since guard.start
	suppressed atomic.Int64 // errors not logged since lastLog
}

// guard decides, for every Redis call of one Store, whether to try Redis and
// what to do when it fails: it is the circuit, the rate-limited log and the
// metrics.
type guard struct {
	log       zerolog.Logger
	start     time.Time
	openUntil atomic.Int64 // nanoseconds since start; Redis is skipped before it
	ops       [numOps]*opState
}

func newGuard(log zerolog.Logger, reg prometheus.Registerer) *guard {
	errs := registerCollector(reg, log, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "streamflix_redis_errors_total",
		Help: "Redis calls that failed (connection, timeout, server error) and degraded, by operation.",
	}, []string{"op"}))
	fallbacks := registerCollector(reg, log, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "streamflix_redis_fallbacks_total",
		Help: "Calls served by the fallback (miss, no-op, error or process memory) instead of Redis, by operation.",
	}, []string{"op"}))

	g := &guard{log: log, start: time.Now()}
	for o := range numOps {
		s := &opState{
			errors:    errs.WithLabelValues(o.String()),
			fallbacks: fallbacks.WithLabelValues(o.String()),
		}
		s.lastLog.Store(-int64(logEvery))
		g.ops[o] = s
	}
	return g
}

// registerCollector registers c, or returns the collector already registered
// under the same description, so that several Stores can share a registry.
// Any other registration error is logged and c is used unregistered.
func registerCollector[C prometheus.Collector](reg prometheus.Registerer, log zerolog.Logger, c C) C {
	if reg == nil {
		return c
	}
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	log.Error().Err(err).Msg("cache: register metrics")
	return c
}

func (g *guard) sinceStart() int64 { return int64(time.Since(g.start)) }

// do calls fn unless the circuit is open and reports whether the caller must
// use its fallback. fn must map redis.Nil to success itself.
//
// If the circuit is open, do returns (true, nil) without calling fn. If fn
// fails because ctx is done, do returns (false, err): the caller gave up,
// Redis did not fail. If fn fails otherwise, do logs (at most once per
// second per op), counts the error, opens the circuit and returns (true, err).
func (g *guard) do(ctx context.Context, o op, fn func() error) (fallback bool, err error) {
	s := g.ops[o]
	if g.sinceStart() < g.openUntil.Load() {
		s.fallbacks.Inc()
		return true, nil
	}
	err = fn()
	if err == nil {
		return false, nil
	}
	if ctx.Err() != nil {
		return false, err
	}
	now := g.sinceStart()
	g.openUntil.Store(now + int64(circuitOpenFor))
	s.errors.Inc()
	s.fallbacks.Inc()
	last := s.lastLog.Load()
	if now-last >= int64(logEvery) && s.lastLog.CompareAndSwap(last, now) {
		g.log.Warn().Err(err).
			Str("op", o.String()).
			Int64("suppressed", s.suppressed.Swap(0)).
			Dur("skip_redis_for", circuitOpenFor).
			Msg("redis failed; degrading to fallback")
	} else {
		s.suppressed.Add(1)
	}
	return true, err
}
