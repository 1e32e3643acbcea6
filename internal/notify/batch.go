package notify

import (
	"context"
	"sync"
	"time"
)

// batchMax bounds the calls one batched statement serves.
const batchMax = 200

// batchTimeout bounds one batched statement. It runs for many jobs at once,
// so no one job's context may cancel it.
const batchTimeout = 30 * time.Second

// batcher runs the same statement for concurrent callers together (group
// commit): a call made while no statement is in flight runs at once, alone;
// calls made while one is in flight wait and then share the next one. So a
// lone email job pays one round trip, as before, and fifty concurrent ones
// pay a few instead of fifty, which keeps Postgres from being what limits
// how many emails go out.
type batcher[In, Out any] struct {
	// run executes one statement for ins and returns one result per input,
	// in order, or an error that every caller of the batch gets.
	run func(ctx context.Context, ins []In) ([]Out, error)

	mu      sync.Mutex
	queue   []*batchCall[In, Out]
	running bool
}

type batchCall[In, Out any] struct {
	in   In
	out  Out
	err  error
	done chan struct{}
}

// do runs in as part of the next statement and returns its result. It
// waits for the statement even if ctx ends, so that the caller learns what
// was recorded; the statement itself is bounded by batchTimeout.
func (b *batcher[In, Out]) do(in In) (Out, error) {
	c := &batchCall[In, Out]{in: in, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	if start {
		go b.loop()
	}
	<-c.done
	return c.out, c.err
}

// loop runs statements while calls are waiting.
func (b *batcher[In, Out]) loop() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), batchMax)
		if n == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		calls := b.queue[:n:n]
		b.queue = append([]*batchCall[In, Out](nil), b.queue[n:]...)
		b.mu.Unlock()

		ins := make([]In, n)
		for i, c := range calls {
			ins[i] = c.in
		}
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		outs, err := b.run(ctx, ins)
		cancel()
		for i, c := range calls {
			if err != nil {
				c.err = err
			} else {
				c.out = outs[i]
			}
			close(c.done)
		}
	}
}
