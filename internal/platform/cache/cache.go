// Package cache is streamflix's shared, losable state: a byte cache, a rate
// limiter, fixed-window counters and expiring leases.
//
// Redis is only a cache here: losing it loses no data. Each facility is a
// small interface with two implementations, one on Redis (NewRedis) for a
// fleet of instances and one in process memory (NewMemory) for a single
// instance and tests. The Redis implementations degrade when Redis goes away
// at runtime instead of failing requests; see NewRedis.
package cache

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is returned (wrapped) when an argument is out of range: a
// non-positive TTL, window or max, or a Limit with a non-positive Rate or
// Period or a negative Burst. It is a programming error, never a Redis one.
var ErrInvalid = errors.New("cache: invalid argument")

// ErrUnavailable is returned (wrapped) by the Redis Cache.Delete while Redis
// is considered down, so callers learn that an invalidation did not happen.
var ErrUnavailable = errors.New("cache: redis unavailable")

// Cache stores opaque bytes with a TTL.
type Cache interface {
	// Get returns the value stored under key. A missing or expired key is
	// ok=false with a nil error. The Redis implementation also reports a miss
	// when Redis is unreachable.
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)

	// Set stores val under key for ttl, replacing any value. The value is
	// copied. Returns ErrInvalid if ttl is not positive. The Redis
	// implementation returns nil when Redis is unreachable (the write is lost).
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error

	// Delete removes keys; missing keys are not an error. Unlike Get and Set,
	// the Redis implementation returns an error when Redis is unreachable,
	// because callers need to know that an invalidation failed.
	Delete(ctx context.Context, keys ...string) error
}

// Limit allows Rate events per Period with bursts of up to Burst events.
// Burst 0 means Burst = Rate. For example {Rate: 10, Period: time.Minute}
// allows 10 events at once and then one every 6 seconds.
type Limit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// normalize applies defaults and validates l.
func (l Limit) normalize() (Limit, error) {
	if l.Rate <= 0 {
		return l, fmt.Errorf("limit rate %d must be positive: %w", l.Rate, ErrInvalid)
	}
	if l.Period <= 0 {
		return l, fmt.Errorf("limit period %s must be positive: %w", l.Period, ErrInvalid)
	}
	if l.Burst < 0 {
		return l, fmt.Errorf("limit burst %d must not be negative: %w", l.Burst, ErrInvalid)
	}
	if l.Burst == 0 {
		l.Burst = l.Rate
	}
	return l, nil
}

// LimitResult is the outcome of Limiter.Allow.
type LimitResult struct {
	// Allowed reports whether the event may happen now.
	Allowed bool
	// Limit is the effective burst: the most events allowed at once.
	Limit int
	// Remaining is how many more events would be allowed right now.
	Remaining int
	// RetryAfter is how long until the next event is allowed; 0 when Allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the key is back to its full burst.
	ResetAfter time.Duration
}

// Limiter is a rate limiter keyed by string, using the generic cell rate
// algorithm (GCRA): a denied event consumes nothing. The Redis
// implementation is exact across instances for bursts under 20 and within
// a bounded error above; see NewRedis.
type Limiter interface {
	// Allow records one event for key if l permits it. Returns ErrInvalid if
	// l is invalid.
	Allow(ctx context.Context, key string, l Limit) (LimitResult, error)
}

// Counter counts events in a fixed window, for brute-force protection.
type Counter interface {
	// Incr adds one to key and returns the new count and the time left in
	// the window. The window starts at the first Incr and is not extended by
	// later ones; when it ends the count starts again from zero. Returns
	// ErrInvalid if window is not positive.
	Incr(ctx context.Context, key string, window time.Duration) (count int64, ttl time.Duration, err error)

	// Get returns the count in key's current window, 0 if there is none.
	Get(ctx context.Context, key string) (int64, error)

	// Reset ends key's window, so the count is 0.
	Reset(ctx context.Context, key string) error

	// IncrMany is Incr on each of keys with the same window, in one call
	// (one round trip to Redis), and returns the new counts in the order of
	// keys. Each key's window is its own. Returns ErrInvalid if window is
	// not positive.
	IncrMany(ctx context.Context, window time.Duration, keys ...string) ([]int64, error)

	// GetMany is Get on each of keys, in one call (one round trip to
	// Redis), and returns the counts in the order of keys.
	GetMany(ctx context.Context, keys ...string) ([]int64, error)
}

// Leases is a counting semaphore whose holders expire, for limits such as
// concurrent streams per account.
type Leases interface {
	// Acquire makes holder one of at most max holders of key for ttl and
	// reports whether it succeeded. A holder that already holds key renews
	// its lease (always ok); expired holders do not count. Returns ErrInvalid
	// if max or ttl is not positive.
	Acquire(ctx context.Context, key, holder string, max int, ttl time.Duration) (ok bool, err error)

	// Renew extends holder's lease on key to ttl from now. It returns false
	// if holder no longer holds key (released or expired). Returns ErrInvalid
	// if ttl is not positive.
	Renew(ctx context.Context, key, holder string, ttl time.Duration) (ok bool, err error)

	// Release gives up holder's lease on key; releasing a lease that is not
	// held is not an error.
	Release(ctx context.Context, key, holder string) error

	// Holders returns the current holders of key, soonest expiry first, or
	// none.
	Holders(ctx context.Context, key string) ([]string, error)
}

// Backends reported by Store.Backend.
const (
	BackendRedis  = "redis"
	BackendMemory = "memory"
)

// Store bundles the four facilities and says which backend is in use.
type Store struct {
	Cache   Cache
	Limiter Limiter
	Counter Counter
	Leases  Leases

	// Backend is BackendRedis or BackendMemory.
	Backend string

	// Ping checks the backend: for Redis it sends PING without any fallback,
	// for memory it always returns nil. A failing Ping means degraded, not
	// down: the Store keeps working from process memory.
	Ping func(ctx context.Context) error
}

func validTTL(what string, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%s %s must be positive: %w", what, d, ErrInvalid)
	}
	return nil
}

// first is the count of a GetMany of one key.
func first(n []int64, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return n[0], nil
}

func validMax(max int) error {
	if max <= 0 {
		return fmt.Errorf("leases max %d must be positive: %w", max, ErrInvalid)
	}
	return nil
}
