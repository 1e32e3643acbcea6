package cache

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

// fakeClock is a settable clock for the memory implementations.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestMemoryLimiterGCRA(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := newMemory(clock.now).limiter
	ctx := t.Context()
	limit := Limit{Rate: 10, Period: time.Second, Burst: 2} // one per 100ms

	for _, tc := range []struct {
		advance time.Duration
		want    LimitResult
	}{
		{0, LimitResult{Allowed: true, Limit: 2, Remaining: 1, ResetAfter: 100 * time.Millisecond}},
		{0, LimitResult{Allowed: true, Limit: 2, Remaining: 0, ResetAfter: 200 * time.Millisecond}},
		{0, LimitResult{Allowed: false, Limit: 2, Remaining: 0, RetryAfter: 100 * time.Millisecond, ResetAfter: 200 * time.Millisecond}},
		{40 * time.Millisecond, LimitResult{Allowed: false, Limit: 2, Remaining: 0, RetryAfter: 60 * time.Millisecond, ResetAfter: 160 * time.Millisecond}},
		{60 * time.Millisecond, LimitResult{Allowed: true, Limit: 2, Remaining: 0, ResetAfter: 200 * time.Millisecond}},
		{time.Second, LimitResult{Allowed: true, Limit: 2, Remaining: 1, ResetAfter: 100 * time.Millisecond}},
	} {
		clock.advance(tc.advance)
		got, err := m.Allow(ctx, "k", limit)
		if err != nil || got != tc.want {
			t.Fatalf("after %s: Allow = %+v, %v; want %+v", tc.advance, got, err, tc.want)
		}
	}
}

// The memory maps drop expired entries, so that keys seen once (client IPs,
// say) do not stay forever.
func TestMemorySweep(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	m := newMemory(clock.now)
	ctx := t.Context()
	for i := range 100 {
		k := string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if _, err := m.limiter.Allow(ctx, k, Limit{Rate: 1, Period: time.Second}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := m.counter.Incr(ctx, k, time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := m.leases.Acquire(ctx, k, "h", 1, time.Second); err != nil {
			t.Fatal(err)
		}
		if err := m.cache.Set(ctx, k, []byte("v"), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clock.advance(sweepEvery + time.Second)
	if _, err := m.limiter.Allow(ctx, "new", Limit{Rate: 1, Period: time.Second}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.counter.Incr(ctx, "new", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := m.leases.Acquire(ctx, "new", "h", 1, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := m.cache.Set(ctx, "new", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]int{
		"limiter": len(m.limiter.tat),
		"counter": len(m.counter.m),
		"leases":  len(m.leases.m),
		"cache":   len(m.cache.m),
	} {
		if n != 1 {
			t.Errorf("%s holds %d keys after the sweep, want 1", name, n)
		}
	}
}

func TestGuard(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	g := newGuard(zerolog.New(&logs), nil)
	ctx := t.Context()
	boom := errors.New("dial tcp: connection refused")
	calls := 0
	fail := func() error { calls++; return boom }

	fallback, err := g.do(ctx, opCacheGet, fail)
	if !fallback || !errors.Is(err, boom) {
		t.Fatalf("do(failing) = %v, %v; want fallback with the error", fallback, err)
	}
	// The circuit is open: Redis is skipped.
	fallback, err = g.do(ctx, opCacheGet, fail)
	if !fallback || err != nil || calls != 1 {
		t.Fatalf("do with the circuit open = %v, %v, %d calls; want fallback, nil, 1 call", fallback, err, calls)
	}

	// Calls already in flight when the circuit opened fail too; they are
	// counted but not logged within the second.
	for range 3 {
		g.openUntil.Store(0)
		if _, err := g.do(ctx, opCacheGet, fail); !errors.Is(err, boom) {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Fatalf("%d log lines, want 1:\n%s", n, logs.String())
	}
	if got := testutil.ToFloat64(g.ops[opCacheGet].errors); got != 4 {
		t.Errorf("errors = %v, want 4", got)
	}
	if got := testutil.ToFloat64(g.ops[opCacheGet].fallbacks); got != 5 {
		t.Errorf("fallbacks = %v, want 5", got)
	}

	// A second later the next failure is logged with the suppressed count.
	g.openUntil.Store(0)
	g.ops[opCacheGet].lastLog.Add(-int64(logEvery))
	_, _ = g.do(ctx, opCacheGet, fail)
	if !strings.Contains(logs.String(), `"suppressed":3`) {
		t.Errorf("second log line lacks the suppressed count:\n%s", logs.String())
	}

	// Success leaves the circuit closed.
	g.openUntil.Store(0)
	if fallback, err := g.do(ctx, opCacheSet, func() error { return nil }); fallback || err != nil {
		t.Errorf("do(ok) = %v, %v; want no fallback", fallback, err)
	}
}

func TestGuardCanceled(t *testing.T) {
	t.Parallel()
	g := newGuard(zerolog.Nop(), nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fallback, err := g.do(ctx, opCacheGet, func() error { return ctx.Err() })
	if fallback || !errors.Is(err, context.Canceled) {
		t.Fatalf("do with a canceled ctx = %v, %v; want the error, no fallback", fallback, err)
	}
	if g.sinceStart() < g.openUntil.Load() {
		t.Error("circuit opened by a canceled call")
	}
}

func TestRegisterTwice(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	g1 := newGuard(zerolog.Nop(), reg)
	g2 := newGuard(zerolog.Nop(), reg)
	g1.ops[opCounterIncr].errors.Inc()
	g2.ops[opCounterIncr].errors.Inc()
	if got := testutil.ToFloat64(g2.ops[opCounterIncr].errors); got != 2 {
		t.Errorf("shared counter = %v, want 2", got)
	}
}
