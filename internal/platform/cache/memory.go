package cache

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"
)

// sweepEvery is how often a memory map drops its expired entries. Lookups
// ignore expired entries anyway; the sweep only bounds memory.
const sweepEvery = 30 * time.Second

// maxMemoryEntries caps the memory Cache. Beyond it, Set evicts expired
// entries and then arbitrary ones: it is a cache, so any entry may go.
const maxMemoryEntries = 100_000

// NewMemory returns a Store kept in process memory, for a single instance and
// for tests. Nothing is shared between processes, so limits hold per
// instance. The Cache holds at most 100,000 entries, evicting arbitrary ones
// beyond that; every map drops expired entries every 30 seconds.
func NewMemory() *Store {
	m := newMemory(time.Now)
	return &Store{
		Cache:   m.cache,
		Limiter: m.limiter,
		Counter: m.counter,
		Leases:  m.leases,
		Backend: BackendMemory,
		Ping:    func(context.Context) error { return nil },
	}
}

type memory struct {
	cache   *memCache
	limiter *memLimiter
	counter *memCounter
	leases  *memLeases
}

func newMemory(now func() time.Time) memory {
	return memory{
		cache:   &memCache{now: now, m: map[string]memEntry{}},
		limiter: &memLimiter{now: now, tat: map[string]time.Time{}},
		counter: &memCounter{now: now, m: map[string]memCount{}},
		leases:  &memLeases{now: now, m: map[string]map[string]time.Time{}},
	}
}

// sweeper runs a sweep at most every sweepEvery. Callers hold their mutex.
type sweeper struct {
	last time.Time
}

func (s *sweeper) due(now time.Time) bool {
	if now.Sub(s.last) < sweepEvery {
		return false
	}
	s.last = now
	return true
}

// expired reports whether an expiry at exp has passed at now. An entry that
// expires exactly now is gone, as in Redis.
func expired(exp, now time.Time) bool { return !exp.After(now) }

type memEntry struct {
	val []byte
	exp time.Time
}

type memCache struct {
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]memEntry
	sweep sweeper
}

func (c *memCache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok {
		return nil, false, nil
	}
	if expired(e.exp, c.now()) {
		delete(c.m, key)
		return nil, false, nil
	}
	return slices.Clone(e.val), true, nil
}

func (c *memCache) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if err := validTTL("cache ttl", ttl); err != nil {
		return err
	}
	if val == nil {
		val = []byte{}
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= maxMemoryEntries {
		c.evict(now)
	} else if c.sweep.due(now) {
		c.removeExpired(now)
	}
	c.m[key] = memEntry{val: slices.Clone(val), exp: now.Add(ttl)}
	return nil
}

func (c *memCache) removeExpired(now time.Time) {
	for k, e := range c.m {
		if expired(e.exp, now) {
			delete(c.m, k)
		}
	}
}

// evict makes room for one entry.
func (c *memCache) evict(now time.Time) {
	c.removeExpired(now)
	for k := range c.m {
		if len(c.m) < maxMemoryEntries {
			return
		}
		delete(c.m, k)
	}
}

func (c *memCache) Delete(_ context.Context, keys ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.m, k)
	}
	return nil
}

// memLimiter is GCRA: per key it keeps the theoretical arrival time (TAT) of
// the next event. An event at now is allowed if TAT - now <= (Burst-1)*T,
// where T = Period/Rate is the emission interval; allowing it moves TAT on by
// T. Once TAT has passed the key is back to its full burst, so such entries
// are swept. The arithmetic follows redis_rate's script so both backends
// answer alike.
type memLimiter struct {
	now   func() time.Time
	mu    sync.Mutex
	tat   map[string]time.Time
	sweep sweeper
}

func (m *memLimiter) Allow(_ context.Context, key string, l Limit) (LimitResult, error) {
	l, err := l.normalize()
	if err != nil {
		return LimitResult{}, err
	}
	interval := max(l.Period/time.Duration(l.Rate), 1)
	burstOffset := interval * time.Duration(l.Burst)

	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sweep.due(now) {
		for k, t := range m.tat {
			if expired(t, now) {
				delete(m.tat, k)
			}
		}
	}

	tat, ok := m.tat[key]
	if !ok || tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(interval)
	allowAt := newTAT.Add(-burstOffset)
	diff := now.Sub(allowAt)
	if diff < 0 {
		return LimitResult{
			Allowed:    false,
			Limit:      l.Burst,
			Remaining:  0,
			RetryAfter: -diff,
			ResetAfter: tat.Sub(now),
		}, nil
	}
	m.tat[key] = newTAT
	return LimitResult{
		Allowed:    true,
		Limit:      l.Burst,
		Remaining:  int(diff / interval),
		RetryAfter: 0,
		ResetAfter: newTAT.Sub(now),
	}, nil
}

type memCount struct {
	n   int64
	exp time.Time
}

type memCounter struct {
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]memCount
	sweep sweeper
}

func (c *memCounter) Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error) {
	var n [1]int64
	ttl, err := c.incr(window, []string{key}, n[:])
	return n[0], ttl, err
}

func (c *memCounter) IncrMany(_ context.Context, window time.Duration, keys ...string) ([]int64, error) {
	n := make([]int64, len(keys))
	_, err := c.incr(window, keys, n)
	return n, err
}

// incr adds one to each of keys, storing the counts in n, and returns the
// time left in the last key's window.
func (c *memCounter) incr(window time.Duration, keys []string, n []int64) (time.Duration, error) {
	if err := validTTL("counter window", window); err != nil {
		return 0, err
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sweep.due(now) {
		for k, e := range c.m {
			if expired(e.exp, now) {
				delete(c.m, k)
			}
		}
	}
	var ttl time.Duration
	for i, key := range keys {
		e, ok := c.m[key]
		if !ok || expired(e.exp, now) {
			e = memCount{exp: now.Add(window)}
		}
		e.n++
		c.m[key] = e
		n[i], ttl = e.n, e.exp.Sub(now)
	}
	return ttl, nil
}

func (c *memCounter) Get(ctx context.Context, key string) (int64, error) {
	return first(c.GetMany(ctx, key))
}

func (c *memCounter) GetMany(_ context.Context, keys ...string) ([]int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	n := make([]int64, len(keys))
	for i, key := range keys {
		if e, ok := c.m[key]; ok && !expired(e.exp, now) {
			n[i] = e.n
		}
	}
	return n, nil
}

func (c *memCounter) Reset(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

type memLeases struct {
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]map[string]time.Time // key -> holder -> expiry
	sweep sweeper
}

// live returns key's holders without the expired ones, or nil. Callers hold
// l.mu.
func (l *memLeases) live(key string, now time.Time) map[string]time.Time {
	if l.sweep.due(now) {
		for k, hs := range l.m {
			l.prune(k, hs, now)
		}
	}
	hs, ok := l.m[key]
	if !ok {
		return nil
	}
	l.prune(key, hs, now)
	return l.m[key]
}

func (l *memLeases) prune(key string, hs map[string]time.Time, now time.Time) {
	for h, exp := range hs {
		if expired(exp, now) {
			delete(hs, h)
		}
	}
	if len(hs) == 0 {
		delete(l.m, key)
	}
}

func (l *memLeases) Acquire(_ context.Context, key, holder string, max int, ttl time.Duration) (bool, error) {
	if err := validMax(max); err != nil {
		return false, err
	}
	return l.hold(key, holder, max, ttl)
}

func (l *memLeases) Renew(_ context.Context, key, holder string, ttl time.Duration) (bool, error) {
	return l.hold(key, holder, 0, ttl)
}

// hold extends holder's lease on key to ttl from now. A holder without a
// live lease gets one only while fewer than max hold key: with max 0, as in
// Renew, never.
func (l *memLeases) hold(key, holder string, max int, ttl time.Duration) (bool, error) {
	if err := validTTL("lease ttl", ttl); err != nil {
		return false, err
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := l.live(key, now)
	if _, held := hs[holder]; !held && len(hs) >= max {
		return false, nil
	}
	if hs == nil {
		hs = map[string]time.Time{}
		l.m[key] = hs
	}
	hs[holder] = now.Add(ttl)
	return true, nil
}

func (l *memLeases) Release(_ context.Context, key, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if hs, ok := l.m[key]; ok {
		delete(hs, holder)
		if len(hs) == 0 {
			delete(l.m, key)
		}
	}
	return nil
}

func (l *memLeases) Holders(_ context.Context, key string) ([]string, error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	hs := l.live(key, now)
	holders := make([]string, 0, len(hs))
	for h := range hs {
		holders = append(holders, h)
	}
	// Same order as the Redis sorted set: by expiry, then by name.
	slices.SortFunc(holders, func(a, b string) int {
		if c := hs[a].Compare(hs[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return holders, nil
}
