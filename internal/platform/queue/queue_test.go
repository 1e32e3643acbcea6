package queue_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/platform/logging"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/platform/queue/queuetest"
)

type echoArgs struct {
	N int `json:"n"`
}

func (echoArgs) Kind() string { return "test.echo" }

type worked struct {
	n         int
	requestID string
}

type testBundle struct {
	db      *sqlx.DB
	q       *queue.Queue
	worked  chan worked
	metrics *prometheus.Registry
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db, url := pgtest.NewDBURL(t)
	b := &testBundle{db: db, worked: make(chan worked, 10), metrics: prometheus.NewRegistry()}
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[echoArgs]) error {
		b.worked <- worked{n: job.Args.N, requestID: logging.RequestID(ctx)}
		return nil
	}))
	b.q = queuetest.Start(t, db, queue.Config{
		DatabaseURL: url, Queues: []queue.Spec{{Name: "test"}}, Work: true, Workers: workers,
		Metrics: queue.NewMetrics(b.metrics, db),
	})
	return b
}

func (b *testBundle) waitWorked(t *testing.T) worked {
	t.Helper()
	select {
	case w := <-b.worked:
		return w
	case <-time.After(15 * time.Second):
		t.Fatal("no job was worked within 15s")
		return worked{}
	}
}

func TestInsertTx(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	opts := &river.InsertOpts{Queue: "test"}

	// A job inserted in a transaction that rolls back never exists.
	tx, err := b.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.q.InsertTx(ctx, tx.Tx, echoArgs{N: 1}, opts); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}

	// One inserted in a committed transaction runs, carrying the request id.
	rctx := logging.WithRequestID(ctx, "req-12345678")
	err = pg.InTx(rctx, b.db, func(tx *sqlx.Tx) error {
		_, err := b.q.InsertTx(rctx, tx.Tx, echoArgs{N: 2}, opts)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	w := b.waitWorked(t)
	if w.n != 2 {
		t.Fatalf("worked job n=%d, want 2 (the rolled-back job must never run)", w.n)
	}
	if w.requestID != "req-12345678" {
		t.Errorf("worker saw request id %q, want req-12345678", w.requestID)
	}
	var count int
	if err := b.db.GetContext(ctx, &count, `SELECT count(*) FROM river.river_job WHERE kind = 'test.echo'`); err != nil {
		t.Fatal(err)
	}
	if count != 1 {
		t.Errorf("river_job holds %d test.echo jobs, want 1", count)
	}
	// The attempt is counted once the middleware returns.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(jobsCounter(t, b.metrics)) != 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := testutil.ToFloat64(jobsCounter(t, b.metrics)); got != 1 {
		t.Errorf("streamflix_river_jobs_total{outcome=completed} = %v, want 1", got)
	}
}

// jobsCounter returns the completed-jobs counter for test.echo.
func jobsCounter(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "streamflix_river_jobs_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
				}
				if labels["kind"] == "test.echo" && labels["outcome"] == "completed" {
					ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
					return
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("x", "x", nil, nil), prometheus.CounterValue, 0)
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(f, ch) }
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

// TestQueueDepthMetric: every state of every known queue has a series,
// zero while no job is there, and a job scheduled in the future counts in
// its queue's scheduled series.
func TestQueueDepthMetric(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	zeros := `
# HELP streamflix_river_queue_depth Jobs in River's table by queue and state (available, scheduled, retryable, running).
# TYPE streamflix_river_queue_depth gauge
streamflix_river_queue_depth{queue="test",state="available"} 0
streamflix_river_queue_depth{queue="test",state="retryable"} 0
streamflix_river_queue_depth{queue="test",state="running"} 0
streamflix_river_queue_depth{queue="test",state="scheduled"} %d
`
	if err := testutil.GatherAndCompare(b.metrics, strings.NewReader(fmt.Sprintf(zeros, 0)), "streamflix_river_queue_depth"); err != nil {
		t.Fatalf("before any job: %v", err)
	}
	// A job scheduled in the future waits in the table.
	if _, err := b.q.Insert(ctx, echoArgs{N: 3}, &river.InsertOpts{Queue: "test", ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := testutil.GatherAndCompare(b.metrics, strings.NewReader(fmt.Sprintf(zeros, 1)), "streamflix_river_queue_depth"); err != nil {
		t.Fatalf("with a scheduled job: %v", err)
	}
}

type holdArgs struct{}

func (holdArgs) Kind() string { return "test.hold" }

// TestQueueConcurrency: a queue whose Spec sets Concurrency works that many
// jobs at once; the others work Config.Concurrency.
func TestQueueConcurrency(t *testing.T) {
	t.Parallel()
	db, url := pgtest.NewDBURL(t)
	var mu sync.Mutex
	running, most := map[string]int{}, map[string]int{}
	release := make(chan struct{})
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[holdArgs]) error {
		mu.Lock()
		running[job.Queue]++
		most[job.Queue] = max(most[job.Queue], running[job.Queue])
		mu.Unlock()
		<-release
		mu.Lock()
		running[job.Queue]--
		mu.Unlock()
		return nil
	}))
	ctx := context.Background()
	q := queuetest.Start(t, db, queue.Config{
		DatabaseURL: url, Queues: []queue.Spec{{Name: "narrow"}, {Name: "wide", Concurrency: 3}}, Concurrency: 1,
		Work: true, Workers: workers, FetchPollInterval: 50 * time.Millisecond,
	})
	t.Cleanup(func() { close(release) }) // before Stop, which waits for running jobs
	for _, name := range []string{"narrow", "wide"} {
		for range 4 {
			if _, err := q.Insert(ctx, holdArgs{}, &river.InsertOpts{Queue: name}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Wait until both queues have as many jobs running as they may, and a
	// little longer for any excess to show.
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n, w := running["narrow"], running["wide"]
		mu.Unlock()
		if n >= 1 && w >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("running: narrow %d, wide %d; want 1 and 3", n, w)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if most["narrow"] != 1 || most["wide"] != 3 {
		t.Errorf("most jobs at once: narrow %d, wide %d; want 1 (Config.Concurrency) and 3 (the Spec's)", most["narrow"], most["wide"])
	}
}
