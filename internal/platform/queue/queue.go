// Package queue is streamflix's message queue: River on Postgres, in the
// "river" schema, over the same database/sql pool as every module (so jobs
// are inserted in the caller's transaction) with a small pgx pool that only
// LISTENs for new jobs.
//
// Each module has its own queue, named after the module and described by a
// Spec: how many of its jobs an instance works at once and how long they
// may run. Request ids travel from the inserting request into the job's
// metadata and the worker's logs.
//
// # Jobs of a crashed instance
//
// A job whose instance died (kill -9, a lost machine) stays "running" in
// River's table until River's job rescuer, run by the leader instance every
// 30 seconds, makes it retryable. River v0.51.2's rescuer
// (internal/maintenance/job_rescuer.go) looks at running jobs attempted
// longer than RescueStuckJobsAfter ago and, for each, takes the Timeout its
// worker states (the client's JobTimeout when the worker states none): a
// job whose Timeout has not yet passed since it was attempted is left alone
// ("not timed out yet due to kind-specific timeout value; ignore"), as is
// one whose Timeout is -1 (none); the others are retried, or discarded on
// their last attempt. River also refuses a RescueStuckJobsAfter shorter than
// the client's JobTimeout.
//
// So a job of a dead instance is retried once both the window and its own
// Timeout have passed, within one more rescuer run. New sets the window
// (Config.RescueAfter) from the queues' job timeouts: the longest
// JobTimeout of the queues of short jobs (at most MaxShortJobTimeout; never
// less than DefaultJobTimeout) plus RescueMargin: 100 s for streamflix's
// modules with the default SMTP_TIMEOUT (notify's email jobs may run 90 s),
// so a short job of a dead instance runs again about two minutes after it
// started (the window, then up to 30 s until the next rescuer run, and the
// scheduler's 5 s). A queue of long jobs (transcodes,
// hours) does not widen the window: its jobs state their own long Timeout,
// which the rescuer waits out before touching a running one, and its own
// Concurrency keeps them from holding short jobs back.
package queue

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/logging"
	"github.com/streamflix/streamflix/internal/platform/migrate"
)

// Client is the River client every module inserts through.
type Client = river.Client[*sql.Tx]

// Job timeouts and the rescue window.
const (
	// DefaultJobTimeout is how long a job may run when its worker states no
	// Timeout (River's client JobTimeout), or Config.RescueAfter when that
	// is shorter (a test's).
	DefaultJobTimeout = time.Minute
	// MaxShortJobTimeout is the longest JobTimeout of a queue of short
	// jobs; a queue whose jobs may run longer is a queue of long jobs and
	// does not widen the rescue window.
	MaxShortJobTimeout = 2 * time.Minute
	// RescueMargin is added to the longest short job timeout to make the
	// rescue window, so that a live instance that cancels a job at its
	// timeout records the failure before the rescuer would retry it.
	RescueMargin = 10 * time.Second
)

// Spec describes one queue.
type Spec struct {
	// Name is the queue's name, the module's.
	Name string
	// Concurrency is how many of the queue's jobs an instance works at
	// once (0: Config.Concurrency).
	Concurrency int
	// JobTimeout is the longest Timeout any of the queue's workers states
	// (0: DefaultJobTimeout). Up to MaxShortJobTimeout it sets the rescue
	// window (see the package documentation).
	JobTimeout time.Duration
}

// Config configures the queue. Zero values take the defaults in comments.
type Config struct {
	// DatabaseURL is used for the LISTEN connection only.
	DatabaseURL string
	// Queues are the modules' queues. An instance that works jobs works
	// these; every instance reports their depth. Inserting into a queue
	// that is not listed is allowed; only this instance will not work it.
	Queues []Spec
	// Concurrency is jobs worked at once per queue whose Spec leaves it 0
	// (default 10).
	Concurrency int
	// Work starts workers; false makes an insert-only client (an instance
	// that serves HTTP but leaves jobs to worker instances).
	Work bool
	// Workers holds every module's workers.
	Workers *river.Workers
	// Periodic jobs, enqueued by the leader instance.
	Periodic []*river.PeriodicJob
	Logger   zerolog.Logger
	Metrics  *Metrics // may be nil
	// ID names this client in River's leader election (the instance id).
	ID string
	// RescueAfter is how long a job may run before River's rescuer
	// considers it stuck; it then retries it once the job's own Timeout
	// has passed too. Zero (the default) derives it from Queues: the
	// longest JobTimeout up to MaxShortJobTimeout, at least
	// DefaultJobTimeout, plus RescueMargin. Tests set a few seconds.
	RescueAfter time.Duration
	// RetryPolicy decides when a failed job runs again (default River's:
	// attempt⁴ seconds, with jitter).
	RetryPolicy river.ClientRetryPolicy
	// FetchPollInterval is how often to poll when LISTEN notifications are
	// missed (default 1s; River's own default).
	FetchPollInterval time.Duration
	// FetchCooldown is the least time between two fetches of a queue
	// (default 20ms). River's own default, 100ms, caps a queue at
	// Concurrency jobs per 100ms: 100 emails a second with 10 workers.
	FetchCooldown time.Duration
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.FetchCooldown <= 0 {
		c.FetchCooldown = 20 * time.Millisecond
	}
	if c.RescueAfter <= 0 {
		c.RescueAfter = RescueWindow(c.Queues)
	}
	return c
}

func (c Config) validate() error {
	seen := map[string]bool{}
	for i, s := range c.Queues {
		switch {
		case s.Name == "":
			return fmt.Errorf("queue: Queues[%d].Name is empty", i)
		case seen[s.Name]:
			return fmt.Errorf("queue: Queues[%d].Name %q is listed twice", i, s.Name)
		case s.Concurrency < 0:
			return fmt.Errorf("queue: Queues[%d].Concurrency (%s) must not be negative, got %d", i, s.Name, s.Concurrency)
		case s.JobTimeout < 0:
			return fmt.Errorf("queue: Queues[%d].JobTimeout (%s) must not be negative, got %s", i, s.Name, s.JobTimeout)
		}
		seen[s.Name] = true
	}
	return nil
}

// RescueWindow returns the rescue window for queues: the longest
// JobTimeout of their short jobs (up to MaxShortJobTimeout), at least
// DefaultJobTimeout, plus RescueMargin.
func RescueWindow(queues []Spec) time.Duration {
	longest := DefaultJobTimeout
	for _, s := range queues {
		if s.JobTimeout <= MaxShortJobTimeout {
			longest = max(longest, s.JobTimeout)
		}
	}
	return longest + RescueMargin
}

// Queue wraps the River client and the listener pool it owns.
type Queue struct {
	*Client
	listener *pgxpool.Pool
	work     bool
	log      zerolog.Logger
}

// New builds the River client over db. It does not start workers: call
// Start. It returns an error naming the Config field at fault.
func New(ctx context.Context, db *sqlx.DB, cfg Config) (*Queue, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("queue listener config: %w", err)
	}
	pcfg.MaxConns = 2 // the listener holds one connection; one spare for reconnects
	pcfg.MinConns = 0
	listener, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("queue listener: %w", err)
	}
	rc := &river.Config{
		ID:     cfg.ID,
		Schema: migrate.RiverSchema,
		Logger: logging.Slog(cfg.Logger.With().Str("component", "river").Logger().Level(maxLevel(cfg.Logger.GetLevel(), zerolog.WarnLevel))),
		// River refuses a rescue window shorter than the client's timeout.
		JobTimeout:           min(DefaultJobTimeout, cfg.RescueAfter),
		RescueStuckJobsAfter: cfg.RescueAfter,
		RetryPolicy:          cfg.RetryPolicy,
		MaxAttempts:          20,
		FetchPollInterval:    cfg.FetchPollInterval,
		FetchCooldown:        cfg.FetchCooldown,
		PeriodicJobs:         cfg.Periodic,
		Middleware:           []rivertype.Middleware{&requestIDInsert{}, &workMiddleware{log: cfg.Logger, metrics: cfg.Metrics}},
	}
	if cfg.Work {
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{}
		for _, s := range cfg.Queues {
			rc.Queues[s.Name] = river.QueueConfig{MaxWorkers: cmp.Or(s.Concurrency, cfg.Concurrency)}
		}
		if len(rc.Queues) == 0 {
			rc.Queues[river.QueueDefault] = river.QueueConfig{MaxWorkers: cfg.Concurrency}
		}
	} else {
		rc.PeriodicJobs = nil
		// Insert-only clients still validate kinds against known workers.
		rc.Workers = cfg.Workers
		rc.SkipUnknownJobCheck = cfg.Workers == nil
	}
	client, err := river.NewClient(riverdatabasesql.NewWithPgxListener(db.DB, listener), rc)
	if err != nil {
		listener.Close()
		return nil, fmt.Errorf("queue client: %w", err)
	}
	if cfg.Metrics != nil {
		cfg.Metrics.know(cfg.Queues)
	}
	return &Queue{Client: client, listener: listener, work: cfg.Work, log: cfg.Logger}, nil
}

func maxLevel(a, b zerolog.Level) zerolog.Level {
	if a > b {
		return a
	}
	return b
}

// Start starts the workers, if this instance works jobs.
func (q *Queue) Start(ctx context.Context) error {
	if !q.work {
		return nil
	}
	return q.Client.Start(ctx)
}

// Working reports whether this instance works jobs.
func (q *Queue) Working() bool { return q.work }

// Stop stops fetching new jobs and waits for running ones until ctx ends;
// then it cancels the jobs still running (they will be retried) and waits
// a little longer for them to return. It closes the listener pool.
func (q *Queue) Stop(ctx context.Context) error {
	defer q.listener.Close()
	if !q.work {
		return nil
	}
	err := q.Client.Stop(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	q.log.Warn().Msg("queue: grace period over, cancelling running jobs")
	hard, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return q.Client.StopAndCancel(hard)
}

// Healthy reports an error when workers should run but the client has stopped.
func (q *Queue) Healthy() error {
	if !q.work {
		return nil
	}
	select {
	case <-q.Client.Stopped():
		return errors.New("queue workers stopped")
	default:
		return nil
	}
}

// requestIDInsert copies the request id from the inserting context into
// each job's metadata, so a job's logs can be tied to the request behind it.
type requestIDInsert struct{ river.MiddlewareDefaults }

func (*requestIDInsert) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams, next func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	if id := logging.RequestID(ctx); id != "" {
		for _, p := range params {
			md := map[string]any{}
			if len(p.Metadata) > 0 {
				_ = json.Unmarshal(p.Metadata, &md)
			}
			md["request_id"] = id
			if b, err := json.Marshal(md); err == nil {
				p.Metadata = b
			}
		}
	}
	return next(ctx)
}

// workMiddleware gives every job a logger carrying its id, kind and request
// id, and records its outcome and duration.
type workMiddleware struct {
	river.MiddlewareDefaults
	log     zerolog.Logger
	metrics *Metrics
}

func (m *workMiddleware) Work(ctx context.Context, job *rivertype.JobRow, next func(context.Context) error) error {
	requestID := requestIDOf(job.Metadata)
	lc := m.log.With().Int64("job_id", job.ID).Str("job_kind", job.Kind).Str("queue", job.Queue).Int("attempt", job.Attempt)
	if requestID != "" {
		lc = lc.Str("request_id", requestID)
		ctx = logging.WithRequestID(ctx, requestID)
	}
	l := lc.Logger()
	ctx = l.WithContext(ctx)
	start := time.Now()
	err := next(ctx)
	outcome := Outcome(err, job)
	if m.metrics != nil {
		m.metrics.observe(job.Queue, job.Kind, outcome, time.Since(start))
	}
	switch outcome {
	case "failed", "discarded":
		l.Warn().Err(err).Str("outcome", outcome).Dur("duration", time.Since(start)).Msg("job failed")
	default:
		l.Debug().Str("outcome", outcome).Dur("duration", time.Since(start)).Msg("job done")
	}
	return err
}

// Outcome names what became of a job after one attempt that returned err:
// completed, snoozed, cancelled, failed (will retry) or discarded (no
// attempts left).
func Outcome(err error, job *rivertype.JobRow) string {
	if err == nil {
		return "completed"
	}
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		return "snoozed"
	}
	var cancel *rivertype.JobCancelError
	if errors.As(err, &cancel) {
		return "cancelled"
	}
	if job.Attempt >= job.MaxAttempts {
		return "discarded"
	}
	return "failed"
}

func requestIDOf(metadata []byte) string {
	var md struct {
		RequestID string `json:"request_id"`
	}
	_ = json.Unmarshal(metadata, &md)
	return md.RequestID
}
