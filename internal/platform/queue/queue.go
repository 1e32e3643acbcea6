// Package queue is streamflix's message queue: River on Postgres, in the
// "river" schema, over the same database/sql pool as every module (so jobs
// are inserted in the caller's transaction) with a small pgx pool that only
// LISTENs for new jobs.
//
// Each module has its own queue, named after the module. Request ids travel
// from the inserting request into the job's metadata and the worker's logs.
package queue

import (
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

// Config configures the queue. Zero values take the defaults in comments.
type Config struct {
	// DatabaseURL is used for the LISTEN connection only.
	DatabaseURL string
	// Queues to work, one per module. Inserting into a queue that is not
	// listed is allowed; only this instance will not work it.
	Queues []string
	// Concurrency is jobs worked at once per queue (default 10).
	Concurrency int
	// QueueConcurrency overrides Concurrency for the queues it names, such
	// as notify's, whose jobs mostly wait on another server.
	QueueConcurrency map[string]int
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
	// FetchPollInterval is how often to poll when LISTEN notifications are
	// missed (default 1s; River's own default).
	FetchPollInterval time.Duration
	// FetchCooldown is the least time between two fetches of a queue
	// (default 20ms). River's own default, 100ms, caps a queue at
	// Concurrency jobs per 100ms: 100 emails a second with 10 workers.
	FetchCooldown time.Duration
}

// Queue wraps the River client and the listener pool it owns.
type Queue struct {
	*Client
	listener *pgxpool.Pool
	work     bool
	log      zerolog.Logger
}

// New builds the River client over db. It does not start workers: call Start.
func New(ctx context.Context, db *sqlx.DB, cfg Config) (*Queue, error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = 20 * time.Millisecond
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
		ID:                cfg.ID,
		Schema:            migrate.RiverSchema,
		Logger:            logging.Slog(cfg.Logger.With().Str("component", "river").Logger().Level(maxLevel(cfg.Logger.GetLevel(), zerolog.WarnLevel))),
		JobTimeout:        5 * time.Minute,
		MaxAttempts:       20,
		FetchPollInterval: cfg.FetchPollInterval,
		FetchCooldown:     cfg.FetchCooldown,
		PeriodicJobs:      cfg.Periodic,
		Middleware:        []rivertype.Middleware{&requestIDInsert{}, &workMiddleware{log: cfg.Logger, metrics: cfg.Metrics}},
	}
	if cfg.Work {
		rc.Workers = cfg.Workers
		rc.Queues = map[string]river.QueueConfig{}
		for _, q := range cfg.Queues {
			n := cfg.Concurrency
			if m := cfg.QueueConcurrency[q]; m > 0 {
				n = m
			}
			rc.Queues[q] = river.QueueConfig{MaxWorkers: n}
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
