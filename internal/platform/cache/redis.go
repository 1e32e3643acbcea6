package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
)

// DefaultPrefix is the key prefix NewRedis uses when RedisOptions.Prefix is
// empty.
const DefaultPrefix = "streamflix:"

// RedisOptions configures NewRedis.
type RedisOptions struct {
	// Prefix is prepended to every key; default DefaultPrefix
	// ("streamflix:"). Stores with the same prefix on the same Redis share
	// state.
	Prefix string

	// Logger receives the degradation warnings, at most one per second per
	// operation. The zero Logger writes them to stderr.
	Logger zerolog.Logger

	// Registerer, if not nil, gets the counters streamflix_redis_errors_total
	// and streamflix_redis_fallbacks_total (label op). Stores sharing a
	// Registerer share the counters.
	Registerer prometheus.Registerer
}

// NewRedis returns a Store on Redis, shared by every instance using the same
// server and prefix. It needs Redis 7 or later. Keys are
// <prefix>cache:<key>, <prefix>rate:<key>, <prefix>count:<key> and
// <prefix>lease:<key>.
//
// Redis is only a cache, so a Redis failure (connection refused, timeout,
// server error; never a missing key) does not fail the call. It is logged
// and counted in streamflix_redis_errors_total{op}, and the call degrades:
// Cache.Get reports a miss, Cache.Set does nothing, Cache.Delete returns the
// error, and Limiter, Counter and Leases use an in-process memory Store for
// that call, so limits still hold per instance. After an error the Store
// skips Redis for one second and degrades straight away
// (streamflix_redis_fallbacks_total{op} counts every degraded call). A call
// whose ctx is done returns its error without degrading.
//
// State written to memory during an outage stays there: counts are not
// merged back into Redis; a lease acquired in memory still renews (Renew
// consults memory when Redis does not know the holder) but does not count
// towards max in Redis.
//
// The Limiter asks Redis once per event for limits with a burst under 20,
// and is then exact across instances. For larger bursts it saves round
// trips by reserving events in batches of a tenth of the burst, at most 10
// (batch = min(10, Burst/10)): a request that finds no reserved token
// queues, one Redis call takes up to a batch for the queue, requests are
// served in order of arrival, and what is left over is kept for the next
// requests on the same key; a denial is kept until Redis's RetryAfter.
// This is not exact across instances, but the error is bounded by the
// batch: each instance holds at most batch-1 unused tokens per key, which
// Redis already counts as spent. So at any moment a key may be allowed up
// to batch-1 events per instance more than Redis alone would allow (the
// tokens held, reserved earlier), or up to batch-1 per other instance fewer
// (tokens held elsewhere). Unused tokens are dropped after the time the
// limit takes to earn a batch back, and at least one second; over any
// longer stretch no key gets more than its rate, since every event was
// counted in Redis once. With the default 50/s:100 that is at most 9
// events per instance, 9% of the burst. Remaining and ResetAfter of an
// event served from reserved tokens are computed from Redis's last answer.
//
// Every request waits for Redis at most the client's timeouts once per
// second, so production clients should set short ones, for example
// DialTimeout, ReadTimeout and WriteTimeout of 100-250ms, PoolTimeout a
// little longer, and MaxRetries -1 or 1.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Store {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	g := newGuard(opts.Logger, opts.Registerer)
	mem := newMemory(time.Now)
	p := opts.Prefix
	return &Store{
		Cache: &redisCache{g: g, rdb: client, prefix: p + "cache:"},
		Limiter: &redisLimiter{
			g:       g,
			rl:      redis_rate.NewLimiter(prefixedScripter{client, p}),
			rdb:     client,
			prefix:  p + "rate:",
			mem:     mem.limiter,
			buckets: buckets{m: map[string]*bucket{}},
		},
		Counter: &redisCounter{g: g, rdb: client, prefix: p + "count:", mem: mem.counter},
		Leases:  &redisLeases{g: g, rdb: client, prefix: p + "lease:", mem: mem.leases},
		Backend: BackendRedis,
		Ping:    func(ctx context.Context) error { return client.Ping(ctx).Err() },
	}
}

type redisCache struct {
	g      *guard
	rdb    redis.UniversalClient
	prefix string
}

func (c *redisCache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var val []byte
	found := false
	fallback, err := c.g.do(ctx, opCacheGet, func() error {
		var err error
		val, err = c.rdb.Get(ctx, c.prefix+key).Bytes()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		found = err == nil
		return err
	})
	if fallback {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cache get %q: %w", key, err)
	}
	return val, found, nil
}

func (c *redisCache) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	if err := validTTL("cache ttl", ttl); err != nil {
		return err
	}
	fallback, err := c.g.do(ctx, opCacheSet, func() error {
		return c.rdb.Set(ctx, c.prefix+key, val, ttl).Err()
	})
	if fallback {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cache set %q: %w", key, err)
	}
	return nil
}

func (c *redisCache) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	fallback, err := c.g.do(ctx, opCacheDelete, func() error {
		// One DEL per key: a multi-key DEL fails on a cluster when the keys
		// hash to different slots.
		_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, k := range keys {
				p.Del(ctx, c.prefix+k)
			}
			return nil
		})
		return err
	})
	if fallback && err == nil {
		err = ErrUnavailable
	}
	if err != nil {
		return fmt.Errorf("cache delete %q: %w", keys, err)
	}
	return nil
}

// prefixedScripter is what redis_rate needs from a client. It prefixes the
// keys, which redis_rate has already turned into "rate:<key>".
type prefixedScripter struct {
	redis.UniversalClient
	prefix string
}

func (s prefixedScripter) keys(keys []string) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = s.prefix + k
	}
	return out
}

func (s prefixedScripter) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.UniversalClient.Eval(ctx, script, s.keys(keys), args...)
}

func (s prefixedScripter) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return s.UniversalClient.EvalSha(ctx, sha1, s.keys(keys), args...)
}

func (s prefixedScripter) EvalRO(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return s.UniversalClient.EvalRO(ctx, script, s.keys(keys), args...)
}

func (s prefixedScripter) EvalShaRO(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return s.UniversalClient.EvalShaRO(ctx, sha1, s.keys(keys), args...)
}

func (s prefixedScripter) Del(ctx context.Context, keys ...string) *redis.IntCmd {
	return s.UniversalClient.Del(ctx, s.keys(keys)...)
}

// redisLimiter is redis_rate's GCRA, an atomic Lua script that takes the time
// from the Redis server. Limits with a burst of 20 or more reserve events in
// batches (allowBatched, reserveScript) on the same keys.
type redisLimiter struct {
	g       *guard
	rl      *redis_rate.Limiter
	rdb     redis.UniversalClient
	prefix  string // of the keys, as redis_rate's: <store prefix>rate:
	mem     *memLimiter
	buckets buckets
}

func (l *redisLimiter) Allow(ctx context.Context, key string, lim Limit) (LimitResult, error) {
	lim, err := lim.normalize()
	if err != nil {
		return LimitResult{}, err
	}
	if n := batchSize(lim); n > 1 {
		return l.allowBatched(ctx, key, lim, n)
	}
	var res *redis_rate.Result
	fallback, err := l.g.do(ctx, opLimiterAllow, func() error {
		var err error
		res, err = l.rl.Allow(ctx, key, redis_rate.Limit{Rate: lim.Rate, Burst: lim.Burst, Period: lim.Period})
		return err
	})
	if fallback {
		return l.mem.Allow(ctx, key, lim)
	}
	if err != nil {
		return LimitResult{}, fmt.Errorf("limiter allow %q: %w", key, err)
	}
	r := LimitResult{
		Allowed:    res.Allowed > 0,
		Limit:      lim.Burst,
		Remaining:  res.Remaining,
		RetryAfter: max(res.RetryAfter, 0), // redis_rate reports -1 when allowed
		ResetAfter: max(res.ResetAfter, 0),
	}
	return r, nil
}

// redisCounter is INCR with PEXPIRE NX in one MULTI transaction, so the
// window is set by the first Incr and never extended. IncrMany and GetMany
// send all their keys in one pipeline; on a Redis Cluster go-redis splits it
// by slot, and each key's INCR and PEXPIRE still share one transaction.
type redisCounter struct {
	g      *guard
	rdb    redis.UniversalClient
	prefix string
	mem    *memCounter
}

func (c *redisCounter) Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	if err := validTTL("counter window", window); err != nil {
		return 0, 0, err
	}
	var n [1]int64
	var ttl [1]time.Duration
	fallback, err := c.g.do(ctx, opCounterIncr, func() error { return c.incr(ctx, window, []string{key}, n[:], ttl[:]) })
	if fallback {
		return c.mem.Incr(ctx, key, window)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("counter incr %q: %w", key, err)
	}
	return n[0], ttl[0], nil
}

func (c *redisCounter) IncrMany(ctx context.Context, window time.Duration, keys ...string) ([]int64, error) {
	if err := validTTL("counter window", window); err != nil {
		return nil, err
	}
	n := make([]int64, len(keys))
	fallback, err := c.g.do(ctx, opCounterIncr, func() error { return c.incr(ctx, window, keys, n, nil) })
	if fallback {
		return c.mem.IncrMany(ctx, window, keys...)
	}
	if err != nil {
		return nil, fmt.Errorf("counter incr %q: %w", keys, err)
	}
	return n, nil
}

// incr adds one to each of keys in one round trip, storing the counts in n
// and, when ttl is not nil, the time left in each window in ttl.
func (c *redisCounter) incr(ctx context.Context, window time.Duration, keys []string, n []int64, ttl []time.Duration) error {
	incrs := make([]*redis.IntCmd, len(keys))
	pttls := make([]*redis.DurationCmd, len(keys))
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for i, key := range keys {
			k := c.prefix + key
			incrs[i] = p.Incr(ctx, k)
			p.Do(ctx, "PEXPIRE", k, ceilMillis(window), "NX")
			if ttl != nil {
				pttls[i] = p.PTTL(ctx, k)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range keys {
		n[i] = incrs[i].Val()
		if ttl != nil {
			ttl[i] = max(pttls[i].Val(), 0)
		}
	}
	return nil
}

func (c *redisCounter) Get(ctx context.Context, key string) (int64, error) {
	return first(c.GetMany(ctx, key))
}

func (c *redisCounter) GetMany(ctx context.Context, keys ...string) ([]int64, error) {
	n := make([]int64, len(keys))
	fallback, err := c.g.do(ctx, opCounterGet, func() error {
		gets := make([]*redis.StringCmd, len(keys))
		_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i, key := range keys {
				gets[i] = p.Get(ctx, c.prefix+key)
			}
			return nil
		})
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for i, g := range gets {
			v, err := g.Int64()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			n[i] = v
		}
		return nil
	})
	if fallback {
		return c.mem.GetMany(ctx, keys...)
	}
	if err != nil {
		return nil, fmt.Errorf("counter get %q: %w", keys, err)
	}
	return n, nil
}

func (c *redisCounter) Reset(ctx context.Context, key string) error {
	// Also forget any count kept in memory during an outage.
	_ = c.mem.Reset(ctx, key)
	fallback, err := c.g.do(ctx, opCounterReset, func() error {
		return c.rdb.Del(ctx, c.prefix+key).Err()
	})
	if fallback {
		return nil
	}
	if err != nil {
		return fmt.Errorf("counter reset %q: %w", key, err)
	}
	return nil
}

// The lease scripts keep one sorted set per key: member holder, score its
// expiry in Unix milliseconds. They read the clock with TIME on the Redis
// server, so that instances with skewed clocks agree on who has expired. The
// set itself expires with its last holder.
const leaseNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

const leaseExpireSet = `
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
  redis.call('PEXPIREAT', KEYS[1], last[2])
end
`

// KEYS[1] set, ARGV[1] holder, ARGV[2] max, ARGV[3] ttl in ms. Returns 1 if
// holder holds the lease: a holder without one gets it only while fewer than
// max hold the set, so that with max 0 the script renews and never acquires.
var leaseHold = redis.NewScript(leaseNow + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
` + leaseExpireSet + `
return 1
`)

// KEYS[1] set. Returns the holders that have not expired, soonest first.
var leaseHolders = redis.NewScript(leaseNow + `
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`)

type redisLeases struct {
	g      *guard
	rdb    redis.UniversalClient
	prefix string
	mem    *memLeases
}

func (l *redisLeases) Acquire(ctx context.Context, key, holder string, max int, ttl time.Duration) (bool, error) {
	if err := validMax(max); err != nil {
		return false, err
	}
	if err := validTTL("lease ttl", ttl); err != nil {
		return false, err
	}
	var ok bool
	fallback, err := l.g.do(ctx, opLeasesAcquire, func() error {
		n, err := leaseHold.Run(ctx, l.rdb, []string{l.prefix + key}, holder, max, ceilMillis(ttl)).Int()
		ok = n == 1
		return err
	})
	if fallback {
		return l.mem.Acquire(ctx, key, holder, max, ttl)
	}
	if err != nil {
		return false, fmt.Errorf("leases acquire %q: %w", key, err)
	}
	return ok, nil
}

func (l *redisLeases) Renew(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if err := validTTL("lease ttl", ttl); err != nil {
		return false, err
	}
	var ok bool
	fallback, err := l.g.do(ctx, opLeasesRenew, func() error {
		n, err := leaseHold.Run(ctx, l.rdb, []string{l.prefix + key}, holder, 0, ceilMillis(ttl)).Int()
		ok = n == 1
		return err
	})
	if fallback || (err == nil && !ok) {
		// The holder may have acquired its lease in memory during an outage.
		return l.mem.Renew(ctx, key, holder, ttl)
	}
	if err != nil {
		return false, fmt.Errorf("leases renew %q: %w", key, err)
	}
	return true, nil
}

func (l *redisLeases) Release(ctx context.Context, key, holder string) error {
	_ = l.mem.Release(ctx, key, holder)
	fallback, err := l.g.do(ctx, opLeasesRelease, func() error {
		return l.rdb.ZRem(ctx, l.prefix+key, holder).Err()
	})
	if fallback {
		return nil
	}
	if err != nil {
		return fmt.Errorf("leases release %q: %w", key, err)
	}
	return nil
}

func (l *redisLeases) Holders(ctx context.Context, key string) ([]string, error) {
	var holders []string
	fallback, err := l.g.do(ctx, opLeasesHolders, func() error {
		var err error
		holders, err = leaseHolders.Run(ctx, l.rdb, []string{l.prefix + key}).StringSlice()
		return err
	})
	if fallback {
		return l.mem.Holders(ctx, key)
	}
	if err != nil {
		return nil, fmt.Errorf("leases holders %q: %w", key, err)
	}
	if holders == nil {
		holders = []string{}
	}
	return holders, nil
}

// ceilMillis converts d to whole milliseconds, rounding up so that a short
// positive duration never becomes 0.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}
