package cache

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxBatch caps how many events one Redis call reserves for a key.
const maxBatch = 10

// holdAtLeast is the shortest time an instance keeps tokens it reserved.
const holdAtLeast = time.Second

// batchSize is how many events one Redis call reserves for l: a tenth of
// the burst, at least 1 and at most maxBatch. Below a burst of 20 it is 1,
// and every event asks Redis.
func batchSize(l Limit) int { return min(maxBatch, max(1, l.Burst/10)) }

// holdFor is how long reserved tokens stay usable: the time the limit takes
// to earn a batch back, and at least holdAtLeast. A client that comes back
// after that asks Redis afresh, so tokens are dropped unused at most once
// per batch earned and a sparse client's budget does not drain faster than
// it refills.
func holdFor(l Limit, batch int) time.Duration {
	return max(holdAtLeast, l.Period/time.Duration(l.Rate)*time.Duration(batch))
}

// reserveScript is redis_rate's GCRA on the same key and value (the
// theoretical arrival time in seconds since 2017, from the server's clock),
// so that it and redis_rate's Allow may serve one key, taking up to ARGV[4]
// events at once: as many whole events as the key has now, or none.
//
// KEYS[1] the key; ARGV[1] burst, ARGV[2] rate, ARGV[3] period in seconds,
// ARGV[4] the most events to take. Returns {taken, remaining, retry_after,
// reset_after}, the durations in seconds as strings, retry_after "-1" when
// events were taken.
var reserveScript = redis.NewScript(`
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local want = tonumber(ARGV[4])

local emission_interval = period / rate
local burst_offset = emission_interval * burst

local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)

local tat = redis.call("GET", KEYS[1])
if not tat then
  tat = now
else
  tat = tonumber(tat)
end
tat = math.max(tat, now)

local diff = now - (tat - burst_offset)
local available = math.floor(diff / emission_interval)
if available < 1 then
  return {0, 0, tostring(emission_interval - diff), tostring(tat - now)}
end

local taken = math.min(want, available)
local new_tat = tat + emission_interval * taken
local reset_after = new_tat - now
redis.call("SET", KEYS[1], new_tat, "EX", math.ceil(reset_after))
return {taken, available - taken, "-1", tostring(reset_after)}
`)

// reservation is reserveScript's answer.
type reservation struct {
	taken, remaining       int
	retryAfter, resetAfter time.Duration
}

// reserve takes up to n events for key in Redis.
func (l *redisLimiter) reserve(ctx context.Context, key string, lim Limit, n int) (reservation, error) {
	v, err := reserveScript.Run(ctx, l.rdb, []string{l.prefix + key}, lim.Burst, lim.Rate, lim.Period.Seconds(), n).Slice()
	if err != nil {
		return reservation{}, err
	}
	if len(v) != 4 {
		return reservation{}, fmt.Errorf("reserve script returned %d values, want 4", len(v))
	}
	taken, ok1 := v[0].(int64)
	remaining, ok2 := v[1].(int64)
	retry, ok3 := v[2].(string)
	reset, ok4 := v[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return reservation{}, fmt.Errorf("reserve script returned %v", v)
	}
	r := reservation{taken: int(taken), remaining: int(remaining)}
	if r.retryAfter, err = seconds(retry); err != nil {
		return reservation{}, err
	}
	if r.resetAfter, err = seconds(reset); err != nil {
		return reservation{}, err
	}
	return r, nil
}

// seconds parses a script's duration; negative ones (-1: none) become 0.
func seconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("reserve script duration %q: %w", s, err)
	}
	return max(time.Duration(f*float64(time.Second)), 0), nil
}

// buckets is what one instance knows about the keys whose limits it
// batches: tokens it reserved and has not used, denials that hold until a
// known time, and the requests waiting for Redis's answers.
type buckets struct {
	mu    sync.Mutex
	m     map[string]*bucket
	sweep sweeper
}

// A bucket's requests that find no held token queue, first come first
// served. Each Redis call reserves a batch of n tokens for the queue, and
// a new call starts only when the queue is longer than what the calls in
// flight will bring (pending): so requests wait about one round trip, and
// a call that comes back with more tokens than the queue needs is the last
// one started, whose surplus, at most n-1, is held.
type bucket struct {
	// held tokens were reserved in Redis (counted as spent there) and not
	// yet used by a request; they are dropped at heldUntil.
	held      int
	heldUntil time.Time
	// Redis had no token for the key before deniedUntil.
	deniedUntil time.Time
	// remaining and resetAt are from Redis's last answer.
	remaining int
	resetAt   time.Time
	queue     []*waiter
	pending   int // tokens asked for by the calls in flight
}

// waiter is a queued request. Its fields are guarded by the buckets'
// mutex; wake is signalled after any of them changes.
type waiter struct {
	done     bool        // res is the answer
	fallback bool        // Redis failed: ask the memory limiter
	reserve  bool        // make a Redis call for the queue
	res      LimitResult //
	wake     chan struct{}
}

func (w *waiter) signal() {
	select {
	case w.wake <- struct{}{}:
	default: // already signalled; it rereads every field
	}
}

// idle reports whether b holds nothing worth keeping at now.
func (b *bucket) idle(now time.Time) bool {
	return len(b.queue) == 0 && b.pending == 0 && (b.held == 0 || !now.Before(b.heldUntil)) && !now.Before(b.deniedUntil)
}

// get returns key's bucket, creating it, and now and then drops idle ones.
// Callers hold bs.mu.
func (bs *buckets) get(key string, now time.Time) *bucket {
	if bs.sweep.due(now) {
		for k, b := range bs.m {
			if b.idle(now) {
				delete(bs.m, k)
			}
		}
	}
	b, ok := bs.m[key]
	if !ok {
		b = &bucket{}
		bs.m[key] = b
	}
	return b
}

// denial is the answer while Redis has no token for the key.
func (b *bucket) denial(lim Limit, now time.Time) LimitResult {
	return LimitResult{
		Allowed:    false,
		Limit:      lim.Burst,
		RetryAfter: b.deniedUntil.Sub(now),
		ResetAfter: max(b.resetAt.Sub(now), 0),
	}
}

// allowed is the answer for an event allowed when left more of the tokens
// Redis gave are held or go to requests queued behind it: Remaining counts
// down as if the queue were served one by one.
func (b *bucket) allowed(lim Limit, left int, now time.Time) LimitResult {
	return LimitResult{
		Allowed:    true,
		Limit:      lim.Burst,
		Remaining:  min(b.remaining+left, lim.Burst),
		ResetAfter: max(b.resetAt.Sub(now), 0),
	}
}

// cover starts Redis calls, n tokens each, until the calls in flight will
// bring a token for every queued request, and hands each call to a queued
// request that is not making one yet, from the back of the queue. Callers
// hold the buckets' mutex.
func (b *bucket) cover(n int) {
	for i := len(b.queue) - 1; i >= 0 && b.pending < len(b.queue); i-- {
		if w := b.queue[i]; !w.reserve {
			w.reserve = true
			b.pending += n
			w.signal()
		}
	}
}

// remove takes w out of the queue. Callers hold the buckets' mutex.
func (b *bucket) remove(w *waiter) {
	if i := slices.Index(b.queue, w); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
	if len(b.queue) == 0 {
		b.queue = nil
	}
}

// allowBatched is Allow for limits whose batch is n > 1: it spends a token
// the instance reserved earlier if it holds one, or else queues for a
// token from the next Redis call.
func (l *redisLimiter) allowBatched(ctx context.Context, key string, lim Limit, n int) (LimitResult, error) {
	bs := &l.buckets
	bs.mu.Lock()
	now := time.Now()
	b := bs.get(key, now)
	if len(b.queue) == 0 && b.held > 0 && now.Before(b.heldUntil) {
		b.held--
		res := b.allowed(lim, b.held, now)
		bs.mu.Unlock()
		return res, nil
	}
	b.held = 0
	if now.Before(b.deniedUntil) {
		res := b.denial(lim, now)
		bs.mu.Unlock()
		return res, nil
	}
	// b has a queue now, so it is not swept while w waits.
	w := &waiter{wake: make(chan struct{}, 1)}
	b.queue = append(b.queue, w)
	b.cover(n)
	for {
		ctxErr := ctx.Err()
		gaveUp := ctxErr != nil && !w.done && !w.fallback
		if gaveUp {
			b.remove(w)
		}
		if w.reserve && (w.done || w.fallback || gaveUp) {
			// Handed a call it will not make: another waiter makes it.
			w.reserve = false
			b.pending -= n
			b.cover(n)
		}
		switch {
		case w.done:
			bs.mu.Unlock()
			return w.res, nil
		case w.fallback:
			bs.mu.Unlock()
			return l.mem.Allow(ctx, key, lim)
		case gaveUp:
			b.cover(n)
			bs.mu.Unlock()
			return LimitResult{}, fmt.Errorf("limiter allow %q: %w", key, ctxErr)
		case w.reserve:
			bs.mu.Unlock()
			l.reserveFor(ctx, key, lim, n, b, w)
			bs.mu.Lock()
			continue
		}
		bs.mu.Unlock()
		select {
		case <-w.wake:
		case <-ctx.Done():
		}
		bs.mu.Lock()
	}
}

// reserveFor makes the Redis call w was handed: it asks for n tokens and
// shares the answer with the queue, tokens in order of arrival, and holds
// any left over. A denial goes to the requests the calls still in flight
// will not serve.
func (l *redisLimiter) reserveFor(ctx context.Context, key string, lim Limit, n int, b *bucket, w *waiter) {
	var got reservation
	fallback, err := l.g.do(ctx, opLimiterAllow, func() error {
		var err error
		got, err = l.reserve(ctx, key, lim, n)
		return err
	})

	now := time.Now()
	bs := &l.buckets
	bs.mu.Lock()
	defer bs.mu.Unlock()
	w.reserve = false
	b.pending -= n
	switch {
	case fallback:
		for _, q := range b.queue {
			q.fallback = true
			q.signal()
		}
		b.queue = nil
		return
	case err != nil:
		// w's caller gave up, Redis did not fail: nothing was reserved.
		// w notices its context is done.
	case got.taken == 0:
		b.remaining = got.remaining
		b.resetAt = now.Add(got.resetAfter)
		b.deniedUntil = now.Add(got.retryAfter)
		for len(b.queue) > b.pending {
			q := b.queue[len(b.queue)-1]
			b.queue = b.queue[:len(b.queue)-1]
			q.done, q.res = true, b.denial(lim, now)
			q.signal()
		}
	default:
		b.remaining = got.remaining
		b.resetAt = now.Add(got.resetAfter)
		left := got.taken
		for left > 0 && len(b.queue) > 0 {
			left--
			q := b.queue[0]
			b.queue = b.queue[1:]
			q.done, q.res = true, b.allowed(lim, left, now)
			q.signal()
		}
		if left > 0 {
			b.held = min(b.held+left, n-1)
			b.heldUntil = now.Add(holdFor(lim, n))
		}
	}
	if len(b.queue) == 0 {
		b.queue = nil
	}
	b.cover(n)
}
