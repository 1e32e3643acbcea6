package cache_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/redistest"
)

// The contract suite runs every test against each backend.

type testBundle struct {
	store   *cache.Store
	ctx     context.Context
	backend string // the Store.Backend to expect
}

type backend struct {
	name  string
	setup func(t *testing.T) *testBundle
}

var backends = []backend{
	{name: "Memory", setup: func(t *testing.T) *testBundle {
		return &testBundle{store: cache.NewMemory(), ctx: t.Context(), backend: cache.BackendMemory}
	}},
	{name: "Redis", setup: func(t *testing.T) *testBundle {
		client, prefix := redistest.New(t)
		reg := prometheus.NewRegistry()
		store := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.New(zerolog.NewTestWriter(t)), Registerer: reg})
		// A Redis error would silently degrade to memory and hide a broken
		// Redis implementation behind a passing test.
		t.Cleanup(func() {
			if n := metricSum(t, reg, "streamflix_redis_errors_total"); n != 0 {
				t.Errorf("streamflix_redis_errors_total = %v, want 0", n)
			}
			if n := metricSum(t, reg, "streamflix_redis_fallbacks_total"); n != 0 {
				t.Errorf("streamflix_redis_fallbacks_total = %v, want 0", n)
			}
		})
		return &testBundle{store: store, ctx: t.Context(), backend: cache.BackendRedis}
	}},
}

// forEachBackend runs test as a parallel subtest per backend.
func forEachBackend(t *testing.T, test func(t *testing.T, setup func(t *testing.T) *testBundle)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.setup)
		})
	}
}

// metricSum returns the sum of the series of the counter or gauge name in
// reg, 0 if there are none.
func metricSum(t testing.TB, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}

// eventually polls cond until it holds, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestCache(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, setup func(t *testing.T) *testBundle) {
		t.Run("OK", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			val := []byte("hello")
			if err := b.store.Cache.Set(b.ctx, "k", val, time.Minute); err != nil {
				t.Fatal(err)
			}
			val[0] = 'j' // the cache holds a copy
			got, ok, err := b.store.Cache.Get(b.ctx, "k")
			if err != nil || !ok || string(got) != "hello" {
				t.Fatalf("Get = %q, %v, %v; want hello, true, nil", got, ok, err)
			}
			got[0] = 'y'
			got, _, _ = b.store.Cache.Get(b.ctx, "k")
			if string(got) != "hello" {
				t.Fatalf("Get after changing the returned slice = %q, want hello", got)
			}
		})

		t.Run("Overwrite", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, v := range []string{"one", "two"} {
				if err := b.store.Cache.Set(b.ctx, "k", []byte(v), time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			got, ok, err := b.store.Cache.Get(b.ctx, "k")
			if err != nil || !ok || string(got) != "two" {
				t.Fatalf("Get = %q, %v, %v; want two, true, nil", got, ok, err)
			}
		})

		t.Run("Miss", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			got, ok, err := b.store.Cache.Get(b.ctx, "missing")
			if err != nil || ok || got != nil {
				t.Fatalf("Get = %q, %v, %v; want nil, false, nil", got, ok, err)
			}
		})

		t.Run("Expiry", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if err := b.store.Cache.Set(b.ctx, "k", []byte("v"), 200*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if _, ok, _ := b.store.Cache.Get(b.ctx, "k"); !ok {
				t.Fatal("Get right after Set: miss")
			}
			eventually(t, 3*time.Second, "entry expires", func() bool {
				_, ok, err := b.store.Cache.Get(b.ctx, "k")
				if err != nil {
					t.Fatal(err)
				}
				return !ok
			})
		})

		t.Run("Delete", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, k := range []string{"a", "b", "c"} {
				if err := b.store.Cache.Set(b.ctx, k, []byte(k), time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.store.Cache.Delete(b.ctx, "a", "b", "missing"); err != nil {
				t.Fatal(err)
			}
			if err := b.store.Cache.Delete(b.ctx); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]bool{"a": false, "b": false, "c": true} {
				if _, ok, err := b.store.Cache.Get(b.ctx, k); err != nil || ok != want {
					t.Errorf("Get(%s) ok = %v, %v; want %v", k, ok, err, want)
				}
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if err := b.store.Cache.Set(b.ctx, "k", []byte("v"), 0); !errors.Is(err, cache.ErrInvalid) {
				t.Fatalf("Set with ttl 0 = %v, want ErrInvalid", err)
			}
		})
	})
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, setup func(t *testing.T) *testBundle) {
		t.Run("BurstThenDeny", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			limit := cache.Limit{Rate: 5, Period: time.Minute} // burst 5, then one per 12s
			for i := range 5 {
				res := must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit))
				want := cache.LimitResult{Allowed: true, Limit: 5, Remaining: 4 - i}
				if res.Allowed != want.Allowed || res.Limit != want.Limit || res.Remaining != want.Remaining || res.RetryAfter != 0 {
					t.Fatalf("event %d: %+v, want %+v", i+1, res, want)
				}
				if res.ResetAfter <= 0 || res.ResetAfter > time.Minute {
					t.Fatalf("event %d: ResetAfter %s, want in (0, 1m]", i+1, res.ResetAfter)
				}
			}
			res := must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit))
			if res.Allowed || res.Remaining != 0 || res.Limit != 5 {
				t.Fatalf("event 6: %+v, want denied with 0 remaining", res)
			}
			if res.RetryAfter <= 0 || res.RetryAfter > 12*time.Second {
				t.Fatalf("event 6: RetryAfter %s, want in (0, 12s]", res.RetryAfter)
			}

			// Another key has its own budget.
			res = must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "other", limit))
			if !res.Allowed || res.Remaining != 4 {
				t.Fatalf("other key: %+v, want allowed with 4 remaining", res)
			}
		})

		// A burst of 100 is one the Redis limiter reserves in batches of
		// 10; from one instance it answers exactly as one event at a time.
		t.Run("LargeBurstThenDeny", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			limit := cache.Limit{Rate: 100, Period: time.Hour} // burst 100, then one per 36s
			for i := range 100 {
				res := must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit))
				if !res.Allowed || res.Limit != 100 || res.Remaining != 99-i || res.RetryAfter != 0 {
					t.Fatalf("event %d: %+v, want allowed with %d remaining", i+1, res, 99-i)
				}
				if res.ResetAfter <= 0 || res.ResetAfter > time.Hour {
					t.Fatalf("event %d: ResetAfter %s, want in (0, 1h]", i+1, res.ResetAfter)
				}
			}
			for i := range 3 {
				res := must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit))
				if res.Allowed || res.Remaining != 0 || res.Limit != 100 {
					t.Fatalf("event %d: %+v, want denied with 0 remaining", 101+i, res)
				}
				if res.RetryAfter <= 0 || res.RetryAfter > 36*time.Second {
					t.Fatalf("event %d: RetryAfter %s, want in (0, 36s]", 101+i, res.RetryAfter)
				}
			}
		})

		t.Run("Burst", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			limit := cache.Limit{Rate: 1, Period: time.Hour, Burst: 3}
			var allowed int
			for range 10 {
				if must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit)).Allowed {
					allowed++
				}
			}
			if allowed != 3 {
				t.Fatalf("allowed %d of 10, want 3", allowed)
			}
		})

		t.Run("Refill", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			limit := cache.Limit{Rate: 10, Period: time.Second, Burst: 1}
			if !must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit)).Allowed {
				t.Fatal("first event denied")
			}
			eventually(t, 3*time.Second, "limit refills", func() bool {
				return must[cache.LimitResult](t)(b.store.Limiter.Allow(b.ctx, "k", limit)).Allowed
			})
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, l := range []cache.Limit{
				{Rate: 0, Period: time.Second},
				{Rate: 1, Period: 0},
				{Rate: 1, Period: time.Second, Burst: -1},
			} {
				if _, err := b.store.Limiter.Allow(b.ctx, "k", l); !errors.Is(err, cache.ErrInvalid) {
					t.Errorf("Allow(%+v) = %v, want ErrInvalid", l, err)
				}
			}
		})
	})
}

func TestCounter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, setup func(t *testing.T) *testBundle) {
		t.Run("OK", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if n := must[int64](t)(b.store.Counter.Get(b.ctx, "k")); n != 0 {
				t.Fatalf("Get before Incr = %d, want 0", n)
			}
			for want := int64(1); want <= 3; want++ {
				n, ttl, err := b.store.Counter.Incr(b.ctx, "k", time.Minute)
				if err != nil || n != want || ttl <= 0 || ttl > time.Minute {
					t.Fatalf("Incr = %d, %s, %v; want %d, (0, 1m], nil", n, ttl, err, want)
				}
			}
			if n := must[int64](t)(b.store.Counter.Get(b.ctx, "k")); n != 3 {
				t.Fatalf("Get = %d, want 3", n)
			}
			if err := b.store.Counter.Reset(b.ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if n := must[int64](t)(b.store.Counter.Get(b.ctx, "k")); n != 0 {
				t.Fatalf("Get after Reset = %d, want 0", n)
			}
			if n, _, _ := b.store.Counter.Incr(b.ctx, "k", time.Minute); n != 1 {
				t.Fatalf("Incr after Reset = %d, want 1", n)
			}
		})

		t.Run("WindowStartsAtFirstIncr", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if _, _, err := b.store.Counter.Incr(b.ctx, "k", time.Minute); err != nil {
				t.Fatal(err)
			}
			n, ttl, err := b.store.Counter.Incr(b.ctx, "k", time.Hour)
			if err != nil || n != 2 || ttl > time.Minute {
				t.Fatalf("second Incr = %d, %s, %v; want 2, <= 1m (window not extended), nil", n, ttl, err)
			}
		})

		t.Run("WindowEnds", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for range 2 {
				if _, _, err := b.store.Counter.Incr(b.ctx, "k", 200*time.Millisecond); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, 3*time.Second, "window ends", func() bool {
				return must[int64](t)(b.store.Counter.Get(b.ctx, "k")) == 0
			})
			if n, _, _ := b.store.Counter.Incr(b.ctx, "k", time.Minute); n != 1 {
				t.Fatalf("Incr in a new window = %d, want 1", n)
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if _, _, err := b.store.Counter.Incr(b.ctx, "k", 0); !errors.Is(err, cache.ErrInvalid) {
				t.Fatalf("Incr with window 0 = %v, want ErrInvalid", err)
			}
			if _, err := b.store.Counter.IncrMany(b.ctx, 0, "k"); !errors.Is(err, cache.ErrInvalid) {
				t.Fatalf("IncrMany with window 0 = %v, want ErrInvalid", err)
			}
		})

		t.Run("Many", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			counts := func(what string, got []int64, err error, want ...int64) {
				t.Helper()
				if err != nil || !slices.Equal(got, want) {
					t.Fatalf("%s = %v, %v; want %v", what, got, err, want)
				}
			}
			n, err := b.store.Counter.GetMany(b.ctx, "a", "b")
			counts("GetMany before IncrMany", n, err, 0, 0)
			n, err = b.store.Counter.IncrMany(b.ctx, time.Minute, "a", "b")
			counts("IncrMany(a, b)", n, err, 1, 1)
			n, err = b.store.Counter.IncrMany(b.ctx, time.Minute, "a", "a")
			counts("IncrMany(a, a)", n, err, 2, 3)
			if n, _, err := b.store.Counter.Incr(b.ctx, "b", time.Minute); err != nil || n != 2 {
				t.Fatalf("Incr(b) after IncrMany = %d, %v; want 2: one counter, either call", n, err)
			}
			n, err = b.store.Counter.GetMany(b.ctx, "a", "b", "c")
			counts("GetMany(a, b, c)", n, err, 3, 2, 0)
			if err := b.store.Counter.Reset(b.ctx, "a"); err != nil {
				t.Fatal(err)
			}
			n, err = b.store.Counter.GetMany(b.ctx, "a", "b")
			counts("GetMany after Reset(a)", n, err, 0, 2)
			n, err = b.store.Counter.GetMany(b.ctx)
			counts("GetMany()", n, err)
		})

		t.Run("ManyWindowStartsAtFirstIncr", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if _, err := b.store.Counter.IncrMany(b.ctx, time.Minute, "a", "b"); err != nil {
				t.Fatal(err)
			}
			if _, err := b.store.Counter.IncrMany(b.ctx, time.Hour, "a", "b"); err != nil {
				t.Fatal(err)
			}
			n, ttl, err := b.store.Counter.Incr(b.ctx, "b", time.Hour)
			if err != nil || n != 3 || ttl > time.Minute {
				t.Fatalf("Incr(b) = %d, %s, %v; want 3, <= 1m (window not extended), nil", n, ttl, err)
			}
		})
	})
}

func TestLeases(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, setup func(t *testing.T) *testBundle) {
		holders := func(t *testing.T, b *testBundle, key string) []string {
			t.Helper()
			hs := must[[]string](t)(b.store.Leases.Holders(b.ctx, key))
			slices.Sort(hs)
			return hs
		}

		t.Run("MaxHolders", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, tc := range []struct {
				holder string
				want   bool
			}{{"a", true}, {"b", true}, {"c", false}, {"a", true}} {
				ok, err := b.store.Leases.Acquire(b.ctx, "k", tc.holder, 2, time.Minute)
				if err != nil || ok != tc.want {
					t.Fatalf("Acquire(%s) = %v, %v; want %v", tc.holder, ok, err, tc.want)
				}
			}
			if got := holders(t, b, "k"); !slices.Equal(got, []string{"a", "b"}) {
				t.Fatalf("Holders = %v, want [a b]", got)
			}
			if got := holders(t, b, "other"); len(got) != 0 {
				t.Fatalf("Holders of an unused key = %v, want none", got)
			}
		})

		t.Run("Renew", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "a", 1, time.Minute)); !ok {
				t.Fatal("Acquire(a) = false")
			}
			if ok := must[bool](t)(b.store.Leases.Renew(b.ctx, "k", "a", time.Minute)); !ok {
				t.Fatal("Renew(a) = false, want true")
			}
			if ok := must[bool](t)(b.store.Leases.Renew(b.ctx, "k", "z", time.Minute)); ok {
				t.Fatal("Renew(z) of a holder that never acquired = true, want false")
			}
			if got := holders(t, b, "k"); !slices.Equal(got, []string{"a"}) {
				t.Fatalf("Holders = %v, want [a] (Renew must not add holders)", got)
			}
		})

		t.Run("RenewKeepsLease", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "a", 1, 300*time.Millisecond)); !ok {
				t.Fatal("Acquire(a) = false")
			}
			if ok := must[bool](t)(b.store.Leases.Renew(b.ctx, "k", "a", time.Minute)); !ok {
				t.Fatal("Renew(a) = false")
			}
			time.Sleep(400 * time.Millisecond) // past the first ttl
			if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "b", 1, time.Minute)); ok {
				t.Fatal("Acquire(b) = true; a's renewed lease should still fill the only slot")
			}
		})

		t.Run("Release", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, h := range []string{"a", "b"} {
				if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", h, 2, time.Minute)); !ok {
					t.Fatalf("Acquire(%s) = false", h)
				}
			}
			if err := b.store.Leases.Release(b.ctx, "k", "a"); err != nil {
				t.Fatal(err)
			}
			if err := b.store.Leases.Release(b.ctx, "k", "never"); err != nil {
				t.Fatalf("Release of a holder that never acquired = %v, want nil", err)
			}
			if ok := must[bool](t)(b.store.Leases.Renew(b.ctx, "k", "a", time.Minute)); ok {
				t.Fatal("Renew(a) after Release = true, want false")
			}
			if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "c", 2, time.Minute)); !ok {
				t.Fatal("Acquire(c) after Release(a) = false, want true")
			}
			if got := holders(t, b, "k"); !slices.Equal(got, []string{"b", "c"}) {
				t.Fatalf("Holders = %v, want [b c]", got)
			}
		})

		t.Run("ExpiryFreesSlot", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "a", 1, 200*time.Millisecond)); !ok {
				t.Fatal("Acquire(a) = false")
			}
			if ok := must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "b", 1, time.Minute)); ok {
				t.Fatal("Acquire(b) while a holds the only slot = true")
			}
			eventually(t, 3*time.Second, "a's lease expires", func() bool {
				return must[bool](t)(b.store.Leases.Acquire(b.ctx, "k", "b", 1, time.Minute))
			})
			if got := holders(t, b, "k"); !slices.Equal(got, []string{"b"}) {
				t.Fatalf("Holders = %v, want [b]", got)
			}
			if ok := must[bool](t)(b.store.Leases.Renew(b.ctx, "k", "a", time.Minute)); ok {
				t.Fatal("Renew(a) after expiry = true, want false")
			}
		})

		t.Run("ErrInvalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if _, err := b.store.Leases.Acquire(b.ctx, "k", "a", 0, time.Minute); !errors.Is(err, cache.ErrInvalid) {
				t.Errorf("Acquire with max 0 = %v, want ErrInvalid", err)
			}
			if _, err := b.store.Leases.Acquire(b.ctx, "k", "a", 1, 0); !errors.Is(err, cache.ErrInvalid) {
				t.Errorf("Acquire with ttl 0 = %v, want ErrInvalid", err)
			}
			if _, err := b.store.Leases.Renew(b.ctx, "k", "a", -time.Second); !errors.Is(err, cache.ErrInvalid) {
				t.Errorf("Renew with ttl -1s = %v, want ErrInvalid", err)
			}
		})
	})
}

func TestStore(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, setup func(t *testing.T) *testBundle) {
		t.Run("Ping", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if err := b.store.Ping(b.ctx); err != nil {
				t.Fatalf("Ping = %v", err)
			}
			if b.store.Backend != b.backend {
				t.Fatalf("Backend = %q, want %q", b.store.Backend, b.backend)
			}
		})
	})
}
