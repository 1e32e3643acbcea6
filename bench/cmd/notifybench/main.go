// Command notifybench measures the email part of notify for `make bench`:
// emails per second through River (EnqueueTx, the notify.email worker,
// SMTPMailer) to a loopback SMTP server, next to a plain loop sending the
// same messages with the same kind of SMTPMailer in the same run (target:
// River at 0.7 or more of the direct rate). It needs DATABASE_URL of a
// migrated database. It prints results only; nothing is asserted.
//
// Each round measures every variant once, in a rotating order, and the
// medians over the rounds are printed (ratios are taken round by round):
//
//   - direct: -workers goroutines send N copies of a message notify
//     rendered (addressed to N recipients) through an SMTPMailer;
//   - River, end to end: -producers goroutines each commit one EnqueueTx a
//     transaction while notify's queue works them with -workers workers;
//   - River, backlog: the same N jobs enqueued first, then the time from
//     starting the workers to the last message received;
//   - River alone: N no-op jobs enqueued the same way and drained, the
//     queue's own cost per job, which no change to notify can remove.
//
// The SMTP server is emersion/go-smtp in this process, discarding what it
// receives.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/bench/internal/harness"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/queue"
)

func main() {
	var o options
	flag.IntVar(&o.n, "n", 1000, "emails per round and variant")
	flag.IntVar(&o.rounds, "rounds", 5, "interleaved rounds; medians are printed")
	flag.IntVar(&o.workers, "workers", notify.DefaultWorkers, "River workers on notify's queue (NOTIFY_WORKERS) and goroutines of the direct loop")
	flag.IntVar(&o.producers, "producers", 8, "goroutines enqueueing, one request per transaction (as concurrent HTTP requests would)")
	flag.BoolVar(&o.reuse, "reuse", true, "reuse SMTP connections between messages (false: one connection a message, in both paths)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "notifybench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type options struct {
	n, rounds, workers, producers int
	reuse                         bool
}

// sink is a go-smtp backend that counts and discards messages.
type sink struct{ got atomic.Int64 }

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }

type session struct{ s *sink }

func (x *session) Mail(string, *smtp.MailOptions) error { return nil }
func (x *session) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *session) Data(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	x.s.got.Add(1)
	return err
}
func (x *session) Reset()        {}
func (x *session) Logout() error { return nil }

// capture passes messages on to a mailer and keeps the first one, which
// the direct loop then sends copies of.
type capture struct {
	notify.Mailer
	mu    sync.Mutex
	first *notify.Message
}

func (c *capture) Send(ctx context.Context, m *notify.Message) error {
	c.mu.Lock()
	if c.first == nil {
		cp := *m
		c.first = &cp
	}
	c.mu.Unlock()
	return c.Mailer.Send(ctx, m)
}

// noopArgs is a job that does nothing, on its own queue.
type noopArgs struct {
	N int `json:"n"`
}

func (noopArgs) Kind() string                 { return "bench.noop" }
func (noopArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: noopQueue} }

const noopQueue = "bench_noop"

type bench struct {
	o       options
	ctx     context.Context
	db      *sqlx.DB
	dbURL   string
	sink    *sink
	mailer  *notify.SMTPMailer
	capture *capture
	svc     *notify.Service
	ins     *queue.Queue // insert-only: enqueueing never starts work
	workers *river.Workers
	noops   atomic.Int64
	stamp   int64 // makes this run's dedup keys unique
	seq     atomic.Int64
}

func run(o options) error {
	ctx := context.Background()
	b := &bench{o: o, ctx: ctx, sink: &sink{}, stamp: time.Now().UnixNano()}
	b.dbURL = os.Getenv("DATABASE_URL")
	if b.dbURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	var err error
	// streamflix's default pool size, every connection kept (the bench
	// measures the queue, not reconnecting).
	b.db, err = pg.Open(ctx, pg.Options{URL: b.dbURL, MaxOpenConns: 25, MaxIdleConns: 25})
	if err != nil {
		return err
	}
	defer b.db.Close()

	srv := smtp.NewServer(b.sink)
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	maxIdle := o.workers
	if !o.reuse {
		maxIdle = -1
	}
	b.mailer, err = notify.NewSMTPMailer(notify.SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port,
		TLS: notify.TLSNone, HELO: "bench", MaxIdle: maxIdle})
	if err != nil {
		return err
	}
	defer b.mailer.Close()
	b.capture = &capture{Mailer: b.mailer}
	rcpt := notify.RecipientsFunc(func(_ context.Context, id string) (notify.Recipient, error) {
		return notify.Recipient{Email: id + "@bench.example", Name: "Bench", Locale: "en"}, nil
	})
	jobs := &queue.Deferred{}
	b.svc, err = notify.New(notify.Config{From: "streamflix <no-reply@bench.example>", PublicURL: "https://bench.example",
		Workers: o.workers}, notify.Deps{DB: b.db, Recipients: rcpt, Queue: jobs, Mailer: b.capture, Log: zerolog.Nop()})
	if err != nil {
		return err
	}
	b.workers = river.NewWorkers()
	b.svc.Module("bench").Workers(b.workers)
	river.AddWorker(b.workers, river.WorkFunc(func(context.Context, *river.Job[noopArgs]) error {
		b.noops.Add(1)
		return nil
	}))
	b.ins, err = queue.New(ctx, b.db, queue.Config{DatabaseURL: b.dbURL, Workers: b.workers, Logger: zerolog.Nop()})
	if err != nil {
		return err
	}
	defer func() { _ = b.ins.Stop(context.Background()) }()
	jobs.Set(b.ins)
	defer b.cleanup()

	// A small round first: it warms the pools and captures the message the
	// direct loop sends.
	if _, err := b.riverBacklog(min(o.n, 100)); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	variants := []struct {
		name string
		fn   func(n int) (float64, error)
	}{
		{"direct", b.direct},
		{"end to end", b.riverEndToEnd},
		{"backlog", b.riverBacklog},
		{"no-op", b.noopBacklog},
	}
	rates := map[string][]float64{}
	for r := range o.rounds {
		for i := range variants {
			v := variants[(i+r)%len(variants)]
			rate, err := v.fn(o.n)
			if err != nil {
				return fmt.Errorf("%s: %w", v.name, err)
			}
			rates[v.name] = append(rates[v.name], rate)
		}
	}
	ratio := func(name string) float64 {
		var rs []float64
		for i, d := range rates["direct"] {
			rs = append(rs, rates[name][i]/d)
		}
		return harness.Median(rs)
	}
	conns := fmt.Sprintf("SMTP connections kept open and reused (up to %d)", o.workers)
	if !o.reuse {
		conns = "a new SMTP connection for every message"
	}
	fmt.Printf("notify: emails to a loopback SMTP server, %d a round, medians of %d interleaved rounds\n", o.n, o.rounds)
	fmt.Printf("  %d at a time (River workers on notify's queue; goroutines of the direct loop); %s, in both\n", o.workers, conns)
	fmt.Printf("  direct SMTPMailer loop:             %7.0f emails/s\n", harness.Median(rates["direct"]))
	fmt.Printf("  through River, end to end:          %7.0f emails/s  %.2f of direct (target >= 0.7); %d producers, one EnqueueTx a transaction\n",
		harness.Median(rates["end to end"]), ratio("end to end"), o.producers)
	fmt.Printf("  through River, backlog drained:     %7.0f emails/s  %.2f of direct\n", harness.Median(rates["backlog"]), ratio("backlog"))
	noop := harness.Median(rates["no-op"])
	fmt.Printf("  River alone, no-op backlog drained: %7.0f jobs/s    the queue's own cost, %.0fµs a job\n", noop, 1e6/noop)
	return nil
}

// direct sends n copies of the captured message from o.workers goroutines.
func (b *bench) direct(n int) (float64, error) {
	b.capture.mu.Lock()
	tmpl := b.capture.first
	b.capture.mu.Unlock()
	if tmpl == nil {
		return 0, errors.New("no message captured")
	}
	msgs := make([]*notify.Message, n)
	for i := range msgs {
		m := *tmpl
		m.To.Address = fmt.Sprintf("direct-%d@bench.example", b.seq.Add(1))
		m.MessageID = fmt.Sprintf("bench-%d-%d@bench.example", b.stamp, b.seq.Add(1))
		msgs[i] = &m
	}
	start := time.Now()
	err := parallel(b.o.workers, n, func(i int) error { return b.mailer.Send(b.ctx, msgs[i]) })
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// enqueue asks for n emails, one EnqueueTx a transaction, from o.producers
// goroutines.
func (b *bench) enqueue(n int) error {
	return parallel(b.o.producers, n, func(int) error {
		i := b.seq.Add(1)
		return pg.InTx(b.ctx, b.db, func(tx *sqlx.Tx) error {
			return b.svc.EnqueueTx(b.ctx, tx, notify.Request{Kind: notify.AccountDeleted,
				To: fmt.Sprintf("u%d@bench.example", i), DedupKey: fmt.Sprintf("bench-%d-%d", b.stamp, i)})
		})
	})
}

// startWorkers starts a River client that works notify's queue and the
// no-op one.
func (b *bench) startWorkers() (*queue.Queue, error) {
	q, err := queue.New(b.ctx, b.db, queue.Config{DatabaseURL: b.dbURL,
		Queues: []queue.Spec{b.svc.Module("bench").Queue, {Name: noopQueue, Concurrency: b.o.workers}},
		Work:   true, Workers: b.workers, Logger: zerolog.Nop()})
	if err != nil {
		return nil, err
	}
	return q, q.Start(b.ctx)
}

func (b *bench) stop(q *queue.Queue) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = q.Stop(ctx)
}

// waitFor waits until count reaches want.
func waitFor(count func() int64, want int64) error {
	deadline := time.Now().Add(5 * time.Minute)
	for count() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d after 5 minutes", count(), want)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// riverEndToEnd enqueues n emails while the workers run, and times until
// the server has them all.
func (b *bench) riverEndToEnd(n int) (float64, error) {
	q, err := b.startWorkers()
	if err != nil {
		return 0, err
	}
	defer b.stop(q)
	want := b.sink.got.Load() + int64(n)
	start := time.Now()
	if err := b.enqueue(n); err != nil {
		return 0, err
	}
	if err := waitFor(b.sink.got.Load, want); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// riverBacklog enqueues n emails with no worker running, then times the
// workers from their start until the server has them all.
func (b *bench) riverBacklog(n int) (float64, error) {
	if err := b.enqueue(n); err != nil {
		return 0, err
	}
	want := b.sink.got.Load() + int64(n)
	start := time.Now()
	q, err := b.startWorkers()
	if err != nil {
		return 0, err
	}
	defer b.stop(q)
	if err := waitFor(b.sink.got.Load, want); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// noopBacklog is riverBacklog with jobs that do nothing.
func (b *bench) noopBacklog(n int) (float64, error) {
	err := parallel(b.o.producers, n, func(i int) error {
		return pg.InTx(b.ctx, b.db, func(tx *sqlx.Tx) error {
			_, err := b.ins.InsertTx(b.ctx, tx.Tx, noopArgs{N: i}, nil)
			return err
		})
	})
	if err != nil {
		return 0, err
	}
	want := b.noops.Load() + int64(n)
	start := time.Now()
	q, err := b.startWorkers()
	if err != nil {
		return 0, err
	}
	defer b.stop(q)
	if err := waitFor(b.noops.Load, want); err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// cleanup deletes the jobs and deliveries this run made.
func (b *bench) cleanup() {
	ctx := context.Background()
	like := fmt.Sprintf("bench-%d-%%", b.stamp)
	_, _ = b.db.ExecContext(ctx, `DELETE FROM river.river_job WHERE kind = 'bench.noop' OR (kind = 'notify.email' AND args->>'dedup_key' LIKE $1)`, like)
	_, _ = b.db.ExecContext(ctx, `DELETE FROM notify.deliveries WHERE dedup_key LIKE $1`, like)
}

// parallel calls fn(i) for i in [0, n) from conc goroutines and returns
// the first error.
func parallel(conc, n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}
