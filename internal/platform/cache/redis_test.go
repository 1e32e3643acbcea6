package cache_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/redistest"
)

func TestRedisSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	client1, prefix := redistest.New(t)
	client2, _ := redistest.New(t)
	client3, otherPrefix := redistest.New(t)
	ctx := t.Context()
	s1 := cache.NewRedis(client1, cache.RedisOptions{Prefix: prefix, Logger: zerolog.Nop()})
	s2 := cache.NewRedis(client2, cache.RedisOptions{Prefix: prefix, Logger: zerolog.Nop()})
	other := cache.NewRedis(client3, cache.RedisOptions{Prefix: otherPrefix, Logger: zerolog.Nop()})

	t.Run("Limiter", func(t *testing.T) {
		t.Parallel()
		limit := cache.Limit{Rate: 3, Period: time.Minute}
		for i := range 3 {
			if !must[cache.LimitResult](t)(s1.Limiter.Allow(ctx, "login:1.2.3.4", limit)).Allowed {
				t.Fatalf("first store, event %d denied", i+1)
			}
		}
		res := must[cache.LimitResult](t)(s2.Limiter.Allow(ctx, "login:1.2.3.4", limit))
		if res.Allowed || res.RetryAfter <= 0 {
			t.Fatalf("second store after the first used the burst: %+v, want denied with RetryAfter > 0", res)
		}
		if !must[cache.LimitResult](t)(other.Limiter.Allow(ctx, "login:1.2.3.4", limit)).Allowed {
			t.Fatal("store with another prefix denied")
		}
	})

	t.Run("Counter", func(t *testing.T) {
		t.Parallel()
		must[int64](t)(s1.Counter.Get(ctx, "c")) // no-op: exercise Get on a missing key
		if _, _, err := s1.Counter.Incr(ctx, "c", time.Minute); err != nil {
			t.Fatal(err)
		}
		if n, _, _ := s2.Counter.Incr(ctx, "c", time.Minute); n != 2 {
			t.Fatalf("second store Incr = %d, want 2", n)
		}
	})

	t.Run("Leases", func(t *testing.T) {
		t.Parallel()
		if !must[bool](t)(s1.Leases.Acquire(ctx, "streams:1", "a", 1, time.Minute)) {
			t.Fatal("first store Acquire = false")
		}
		if must[bool](t)(s2.Leases.Acquire(ctx, "streams:1", "b", 1, time.Minute)) {
			t.Fatal("second store Acquire of a full key = true")
		}
	})

	t.Run("Cache", func(t *testing.T) {
		t.Parallel()
		if err := s1.Cache.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if got, ok, _ := s2.Cache.Get(ctx, "k"); !ok || string(got) != "v" {
			t.Fatalf("second store Get = %q, %v; want v, true", got, ok)
		}
		if _, ok, _ := other.Cache.Get(ctx, "k"); ok {
			t.Fatal("store with another prefix sees the key")
		}
	})
}

// Every key is under the prefix, including redis_rate's.
func TestRedisKeys(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	ctx := t.Context()
	s := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.Nop()})
	if err := s.Cache.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	must[cache.LimitResult](t)(s.Limiter.Allow(ctx, "k", cache.Limit{Rate: 1, Period: time.Minute}))
	must[int64](t)(func() (int64, error) { n, _, err := s.Counter.Incr(ctx, "k", time.Minute); return n, err }())
	must[bool](t)(s.Leases.Acquire(ctx, "k", "a", 1, time.Minute))

	keys := must[[]string](t)(client.Keys(ctx, prefix+"*").Result())
	want := []string{prefix + "cache:k", prefix + "count:k", prefix + "lease:k", prefix + "rate:k"}
	for _, k := range want {
		if !slices.Contains(keys, k) {
			t.Errorf("key %s missing; keys under prefix: %v", k, keys)
		}
	}
	if len(keys) != len(want) {
		t.Errorf("keys under prefix = %v, want %v", keys, want)
	}
	for _, k := range keys {
		ttl := must[time.Duration](t)(client.PTTL(ctx, k).Result())
		if ttl <= 0 {
			t.Errorf("key %s has TTL %s; every key must expire", k, ttl)
		}
	}
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRedisDegrades(t *testing.T) {
	t.Parallel()
	addr, stop := redistest.StartServer(t)
	client := shortClient(t, redis.Options{Addr: addr, PoolTimeout: 300 * time.Millisecond})
	reg := prometheus.NewRegistry()
	var logs syncBuffer
	store := cache.NewRedis(client, cache.RedisOptions{Logger: zerolog.New(&logs), Registerer: reg})

	// Each call gets 2s; a call stuck on Redis would return the context's
	// error and fail the test.
	ctx := func() context.Context {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		t.Cleanup(cancel)
		return ctx
	}

	if err := store.Cache.Set(ctx(), "k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.Cache.Get(ctx(), "k"); !ok || err != nil {
		t.Fatalf("Get with Redis up = %v, %v; want hit", ok, err)
	}
	if n := metricSum(t, reg, "streamflix_redis_errors_total"); n != 0 {
		t.Fatalf("errors with Redis up = %v, want 0", n)
	}

	stop()

	if err := store.Ping(ctx()); err == nil {
		t.Error("Ping with Redis down = nil, want an error")
	}
	if val, ok, err := store.Cache.Get(ctx(), "k"); ok || err != nil || val != nil {
		t.Errorf("Cache.Get = %q, %v, %v; want a miss without error", val, ok, err)
	}
	if err := store.Cache.Set(ctx(), "k", []byte("v2"), time.Minute); err != nil {
		t.Errorf("Cache.Set = %v, want nil", err)
	}
	if err := store.Cache.Delete(ctx(), "k"); err == nil {
		t.Error("Cache.Delete = nil, want an error: the invalidation did not happen")
	}

	limit := cache.Limit{Rate: 2, Period: time.Minute}
	for i := range 2 {
		if res, err := store.Limiter.Allow(ctx(), "ip", limit); err != nil || !res.Allowed {
			t.Fatalf("Limiter.Allow %d = %+v, %v; want allowed", i+1, res, err)
		}
	}
	if res, err := store.Limiter.Allow(ctx(), "ip", limit); err != nil || res.Allowed || res.RetryAfter <= 0 {
		t.Errorf("Limiter.Allow 3 = %+v, %v; want denied by the memory fallback", res, err)
	}

	for want := int64(1); want <= 2; want++ {
		if n, _, err := store.Counter.Incr(ctx(), "fails", time.Minute); err != nil || n != want {
			t.Fatalf("Counter.Incr = %d, %v; want %d", n, err, want)
		}
	}
	if n, err := store.Counter.Get(ctx(), "fails"); err != nil || n != 2 {
		t.Errorf("Counter.Get = %d, %v; want 2", n, err)
	}
	if n, err := store.Counter.IncrMany(ctx(), time.Minute, "fails", "other"); err != nil || !slices.Equal(n, []int64{3, 1}) {
		t.Errorf("Counter.IncrMany = %v, %v; want [3 1]", n, err)
	}
	if n, err := store.Counter.GetMany(ctx(), "fails", "other", "none"); err != nil || !slices.Equal(n, []int64{3, 1, 0}) {
		t.Errorf("Counter.GetMany = %v, %v; want [3 1 0]", n, err)
	}
	if err := store.Counter.Reset(ctx(), "fails"); err != nil {
		t.Errorf("Counter.Reset = %v", err)
	}

	if ok, err := store.Leases.Acquire(ctx(), "streams", "a", 1, time.Minute); err != nil || !ok {
		t.Fatalf("Leases.Acquire(a) = %v, %v; want true", ok, err)
	}
	if ok, err := store.Leases.Acquire(ctx(), "streams", "b", 1, time.Minute); err != nil || ok {
		t.Errorf("Leases.Acquire(b) = %v, %v; want false: the memory fallback holds the limit", ok, err)
	}
	if ok, err := store.Leases.Renew(ctx(), "streams", "a", time.Minute); err != nil || !ok {
		t.Errorf("Leases.Renew(a) = %v, %v; want true", ok, err)
	}
	if hs, err := store.Leases.Holders(ctx(), "streams"); err != nil || len(hs) != 1 || hs[0] != "a" {
		t.Errorf("Leases.Holders = %v, %v; want [a]", hs, err)
	}
	if err := store.Leases.Release(ctx(), "streams", "a"); err != nil {
		t.Errorf("Leases.Release = %v", err)
	}

	if n := metricSum(t, reg, "streamflix_redis_errors_total"); n < 1 {
		t.Errorf("streamflix_redis_errors_total = %v, want >= 1", n)
	}
	// Every call above after stop degraded, through an error or the open
	// circuit; Ping is not guarded.
	if n := metricSum(t, reg, "streamflix_redis_fallbacks_total"); n < 15 {
		t.Errorf("streamflix_redis_fallbacks_total = %v, want >= 15", n)
	}
	if !strings.Contains(logs.String(), "degrading to fallback") {
		t.Errorf("no degradation warning logged; logs:\n%s", logs.String())
	}
}

// flakyNet fails every dial, read and write while down, like a network
// partition between the test and a real Redis.
type flakyNet struct{ down atomic.Bool }

func (f *flakyNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if f.down.Load() {
		return nil, errors.New("flaky network: dial: down")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return flakyConn{Conn: c, net: f}, nil
}

type flakyConn struct {
	net.Conn
	net *flakyNet
}

func (c flakyConn) Read(p []byte) (int, error) {
	if c.net.down.Load() {
		return 0, errors.New("flaky network: read: down")
	}
	return c.Conn.Read(p)
}

func (c flakyConn) Write(p []byte) (int, error) {
	if c.net.down.Load() {
		return 0, errors.New("flaky network: write: down")
	}
	return c.Conn.Write(p)
}

func TestRedisRecovers(t *testing.T) {
	t.Parallel()
	shared, prefix := redistest.New(t)
	var fnet flakyNet
	client := shortClient(t, redis.Options{Addr: shared.Options().Addr, Dialer: fnet.dial})
	reg := prometheus.NewRegistry()
	store := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.Nop(), Registerer: reg})
	ctx := t.Context()

	fnet.down.Store(true)
	if ok, err := store.Leases.Acquire(ctx, "streams", "a", 1, time.Minute); err != nil || !ok {
		t.Fatalf("Acquire(a) during the outage = %v, %v; want true from memory", ok, err)
	}
	if n := metricSum(t, reg, "streamflix_redis_errors_total"); n < 1 {
		t.Fatalf("streamflix_redis_errors_total = %v during the outage, want >= 1", n)
	}
	fnet.down.Store(false)

	// Once the circuit closes, writes reach Redis again.
	eventually(t, 5*time.Second, "Redis used again", func() bool {
		if err := store.Cache.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
			t.Fatal(err)
		}
		_, ok, err := store.Cache.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if got, err := shared.Get(ctx, prefix+"cache:k").Result(); err != nil || got != "v" {
		t.Fatalf("value in Redis = %q, %v; want v", got, err)
	}

	// The lease taken in memory during the outage still renews.
	if ok, err := store.Leases.Renew(ctx, "streams", "a", time.Minute); err != nil || !ok {
		t.Errorf("Renew(a) after recovery = %v, %v; want true", ok, err)
	}
	if err := store.Leases.Release(ctx, "streams", "a"); err != nil {
		t.Fatal(err)
	}
	if ok, err := store.Leases.Renew(ctx, "streams", "a", time.Minute); err != nil || ok {
		t.Errorf("Renew(a) after Release = %v, %v; want false", ok, err)
	}
}

func TestRedisCanceledContext(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	reg := prometheus.NewRegistry()
	store := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.Nop(), Registerer: reg})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	if _, _, err := store.Cache.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Cache.Get = %v, want context.Canceled", err)
	}
	if _, err := store.Limiter.Allow(ctx, "k", cache.Limit{Rate: 1, Period: time.Second}); !errors.Is(err, context.Canceled) {
		t.Errorf("Limiter.Allow = %v, want context.Canceled", err)
	}
	// The caller gave up; Redis did not fail.
	if n := metricSum(t, reg, "streamflix_redis_errors_total"); n != 0 {
		t.Errorf("streamflix_redis_errors_total = %v, want 0", n)
	}
}

func TestRedisMetrics(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	reg := prometheus.NewRegistry()

	// Two Stores on one registry share the counters instead of panicking.
	opts := cache.RedisOptions{Prefix: prefix, Logger: zerolog.Nop(), Registerer: reg}
	cache.NewRedis(client, opts)
	cache.NewRedis(client, opts)
	if n := must[int](t)(testutil.GatherAndCount(reg, "streamflix_redis_errors_total", "streamflix_redis_fallbacks_total")); n == 0 {
		t.Error("counters not registered")
	}

	pool := cache.NewPoolCollector(client)
	if err := reg.Register(pool); err != nil {
		t.Fatal(err)
	}
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(pool)
	if err != nil || len(problems) != 0 {
		t.Errorf("lint pool metrics: %v %v", problems, err)
	}
	if n := testutil.CollectAndCount(pool); n != 6 {
		t.Errorf("pool metrics = %d, want 6", n)
	}
	if n := must[int](t)(testutil.GatherAndCount(reg, "streamflix_redis_pool_total_conns")); n != 1 {
		t.Errorf("streamflix_redis_pool_total_conns series = %d, want 1", n)
	}
	total := metricSum(t, reg, "streamflix_redis_pool_total_conns")
	if total < 1 {
		t.Errorf("streamflix_redis_pool_total_conns = %v after a PING, want >= 1", total)
	}
}

// roundTrips counts the requests a client sends Redis: a command or a
// pipeline each, leaving out the handshake of a new connection.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if name := cmd.Name(); name != "hello" && name != "client" {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if cmds[0].Name() != "hello" && cmds[0].Name() != "client" {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

func TestRedisCounterManyOneRoundTrip(t *testing.T) {
	t.Parallel()
	client, prefix := redistest.New(t)
	var rt roundTrips
	client.AddHook(&rt)
	store := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	keys := []string{"a", "b", "c"}
	for _, call := range []struct {
		name string
		fn   func() error
	}{
		{"IncrMany", func() error { _, err := store.Counter.IncrMany(t.Context(), time.Minute, keys...); return err }},
		{"GetMany", func() error { _, err := store.Counter.GetMany(t.Context(), keys...); return err }},
	} {
		before := rt.n.Load()
		if err := call.fn(); err != nil {
			t.Fatalf("%s: %v", call.name, err)
		}
		if n := rt.n.Load() - before; n != 1 {
			t.Errorf("%s of %d keys: %d round trips to Redis, want 1", call.name, len(keys), n)
		}
	}
}

// shortClient is a client to o.Addr with the short timeouts NewRedis asks of
// production clients and no retries, closed when t ends.
func shortClient(t *testing.T, o redis.Options) *redis.Client {
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	o.MaxRetries, o.DialerRetries = -1, 1
	client := redis.NewClient(&o)
	t.Cleanup(func() { _ = client.Close() })
	return client
}
