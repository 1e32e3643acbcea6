package cache_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/redistest"
)

// scriptCounter is a go-redis hook counting the scripts a client runs, not
// counting the EVALSHA that finds the script not loaded yet.
type scriptCounter struct{ n atomic.Int64 }

func (c *scriptCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *scriptCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if strings.HasPrefix(strings.ToLower(cmd.Name()), "eval") && (err == nil || !strings.HasPrefix(err.Error(), "NOSCRIPT")) {
			c.n.Add(1)
		}
		return err
	}
}

func (c *scriptCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// instances returns n Stores sharing one prefix on the test Redis, as n
// streamflix instances do, and the hook counting each one's scripts.
func instances(t *testing.T, n int) ([]*cache.Store, []*scriptCounter) {
	t.Helper()
	var stores []*cache.Store
	var counters []*scriptCounter
	var prefix string
	for i := range n {
		client, p := redistest.New(t)
		if i == 0 {
			prefix = p
		}
		c := &scriptCounter{}
		client.AddHook(c)
		stores = append(stores, cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.New(zerolog.NewTestWriter(t))}))
		counters = append(counters, c)
	}
	return stores, counters
}

func TestRedisLimiterBatches(t *testing.T) {
	t.Parallel()
	// Burst 100: batches of 10. Refilling one event takes 36s, longer
	// than any of these tests.
	limit := cache.Limit{Rate: 100, Period: time.Hour}

	t.Run("ExactAcrossInstances", func(t *testing.T) {
		t.Parallel()
		stores, counters := instances(t, 2)
		allowed := 0
		for i := range 150 {
			if must[cache.LimitResult](t)(stores[i%2].Limiter.Allow(t.Context(), "ip", limit)).Allowed {
				allowed++
			}
		}
		if allowed != 100 {
			t.Errorf("allowed %d of 150 across two instances, want the burst, 100", allowed)
		}
		// 100 events in batches of 10, and a denial per instance that
		// holds until the next refill.
		scripts := counters[0].n.Load() + counters[1].n.Load()
		if scripts > 12 {
			t.Errorf("%d Redis calls for 150 events, want at most 12", scripts)
		}
	})

	t.Run("ExactUnderConcurrency", func(t *testing.T) {
		t.Parallel()
		stores, _ := instances(t, 2)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for g := range 40 {
			wg.Go(func() {
				for range 5 {
					res, err := stores[g%2].Limiter.Allow(t.Context(), "ip", limit)
					if err != nil {
						t.Error(err)
						return
					}
					if res.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if n := allowed.Load(); n != 100 {
			t.Errorf("allowed %d of 200 concurrent events across two instances, want 100", n)
		}
	})

	// Tokens one instance reserved and has not used are missing elsewhere,
	// by at most batch-1, and still spent by their holder.
	t.Run("HeldTokensBounded", func(t *testing.T) {
		t.Parallel()
		stores, _ := instances(t, 2)
		a, b := stores[0].Limiter, stores[1].Limiter
		if !must[cache.LimitResult](t)(a.Allow(t.Context(), "ip", limit)).Allowed {
			t.Fatal("first event denied")
		}
		byB := 0
		for range 100 {
			if must[cache.LimitResult](t)(b.Allow(t.Context(), "ip", limit)).Allowed {
				byB++
			}
		}
		if byB != 90 {
			t.Errorf("second instance allowed %d, want 90: 100 less the first's event and its 9 held tokens", byB)
		}
		byA := 0
		for range 20 {
			if must[cache.LimitResult](t)(a.Allow(t.Context(), "ip", limit)).Allowed {
				byA++
			}
		}
		if byA != 9 {
			t.Errorf("first instance allowed %d more, want its 9 held tokens", byA)
		}
	})

	// Requests that give up while queued or while asking Redis for the
	// queue must not leave the rest waiting, nor free tokens.
	t.Run("GivingUp", func(t *testing.T) {
		t.Parallel()
		stores, _ := instances(t, 2)
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for g := range 300 {
			wg.Go(func() {
				ctx := t.Context()
				if g%2 == 1 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, time.Duration(g%7)*300*time.Microsecond)
					defer cancel()
				}
				res, err := stores[g%2].Limiter.Allow(ctx, "ip", limit)
				if err == nil && res.Allowed {
					allowed.Add(1)
				}
			})
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("requests still waiting after 20s")
		}
		if n := allowed.Load(); n > 100 {
			t.Errorf("allowed %d, want at most the burst, 100", n)
		}
		for _, s := range stores {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			_, err := s.Limiter.Allow(ctx, "ip", limit)
			cancel()
			if err != nil {
				t.Errorf("Allow after the rush: %v", err)
			}
		}
	})

	// Below a burst of 20 every event asks Redis: exact across instances.
	t.Run("SmallBurstExact", func(t *testing.T) {
		t.Parallel()
		stores, counters := instances(t, 2)
		small := cache.Limit{Rate: 4, Period: time.Minute}
		var got []bool
		for i := range 6 {
			got = append(got, must[cache.LimitResult](t)(stores[i%2].Limiter.Allow(t.Context(), "ip", small)).Allowed)
		}
		want := []bool{true, true, true, true, false, false}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("allowed %v, want %v", got, want)
			}
		}
		if n := counters[0].n.Load() + counters[1].n.Load(); n != 6 {
			t.Errorf("%d Redis calls for 6 events, want 6", n)
		}
	})
}
