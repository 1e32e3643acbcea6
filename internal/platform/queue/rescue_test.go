package queue_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/platform/queue/queuetest"
)

type shortArgs struct{}

func (shortArgs) Kind() string { return "test.short" }

type shortWorker struct {
	river.WorkerDefaults[shortArgs]
	done chan int64
}

func (w *shortWorker) Timeout(*river.Job[shortArgs]) time.Duration { return time.Second }

func (w *shortWorker) Work(_ context.Context, job *river.Job[shortArgs]) error {
	w.done <- job.ID
	return nil
}

type longArgs struct{}

func (longArgs) Kind() string { return "test.long" }

type longWorker struct {
	river.WorkerDefaults[longArgs]
}

func (longWorker) Timeout(*river.Job[longArgs]) time.Duration { return time.Hour }

func (longWorker) Work(context.Context, *river.Job[longArgs]) error { return nil }

// TestRescueJobsOfDeadInstance: an instance died a few seconds into two
// jobs, leaving them running with no live client. A live instance whose
// rescue window has passed runs the short job again at once; the long job,
// whose own Timeout (an hour) has not passed, stays running, because River
// leaves a running job alone until its worker's Timeout is over.
func TestRescueJobsOfDeadInstance(t *testing.T) {
	t.Parallel()
	db, url := pgtest.NewDBURL(t)
	ctx := context.Background()
	// An insert-only client puts the jobs in the table; no one works them.
	ins := queuetest.Start(t, db, queue.Config{DatabaseURL: url})
	jobID := map[string]int64{}
	for name, args := range map[string]river.JobArgs{"short": shortArgs{}, "long": longArgs{}} {
		res, err := ins.Insert(ctx, args, &river.InsertOpts{Queue: name})
		if err != nil {
			t.Fatal(err)
		}
		jobID[name] = res.Job.ID
	}
	// What a process killed 3 s into both jobs leaves behind.
	if _, err := db.Exec(`UPDATE river.river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '3 seconds', attempted_by = ARRAY['dead-instance']`); err != nil {
		t.Fatal(err)
	}

	short := &shortWorker{done: make(chan int64, 1)}
	workers := river.NewWorkers()
	river.AddWorker(workers, short)
	river.AddWorker(workers, longWorker{})
	queuetest.Start(t, db, queue.Config{
		DatabaseURL: url, Work: true, Workers: workers, ID: "live-instance", RescueAfter: 2 * time.Second,
		Queues: []queue.Spec{{Name: "short", JobTimeout: time.Second}, {Name: "long", JobTimeout: time.Hour}},
	})

	select {
	case id := <-short.done:
		if id != jobID["short"] {
			t.Fatalf("worked job %d, want the short job %d", id, jobID["short"])
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the dead instance's short job did not run again within 30s")
	}
	var state string
	if err := db.Get(&state, `SELECT state::text FROM river.river_job WHERE id = $1`, jobID["long"]); err != nil {
		t.Fatal(err)
	}
	if state != "running" {
		t.Errorf("long job is %s, want still running (its Timeout has not passed)", state)
	}
}

// TestRescueWindow: the window follows the short queues' longest job
// timeout; a queue of long jobs does not widen it.
func TestRescueWindow(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		queues []queue.Spec
		want   time.Duration
	}{
		"None":    {nil, queue.DefaultJobTimeout + queue.RescueMargin},
		"Short":   {[]queue.Spec{{Name: "a", JobTimeout: 10 * time.Second}}, queue.DefaultJobTimeout + queue.RescueMargin},
		"Longest": {[]queue.Spec{{Name: "a", JobTimeout: 90 * time.Second}, {Name: "b"}}, 90*time.Second + queue.RescueMargin},
		"Long":    {[]queue.Spec{{Name: "a", JobTimeout: 90 * time.Second}, {Name: "transcode", JobTimeout: 6 * time.Hour}}, 90*time.Second + queue.RescueMargin},
	} {
		if got := queue.RescueWindow(tc.queues); got != tc.want {
			t.Errorf("%s: window %s, want %s", name, got, tc.want)
		}
	}
}
