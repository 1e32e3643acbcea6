package streaming

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes streaming to the registry: its admin and upload
// routes, its transcode, purge, cleanup, demo-video and takeover workers,
// the takeover of stalled transcodes (on a queue of its own, so that it
// never waits behind them), the hourly cleanup of abandoned uploads, and
// its health (Postgres reachable).
func (s *Service) Module(version string) registry.Module {
	return registry.Module{
		Name:    "streaming",
		Version: version,
		Health:  s.db.PingContext,
		Routes:  NewHandler(s).Routes,
		Workers: func(w *river.Workers) {
			river.AddWorker(w, &transcodeWorker{s: s})
			river.AddWorker(w, &purgeWorker{s: s})
			river.AddWorker(w, &cleanupWorker{s: s})
			river.AddWorker(w, &demoVideoWorker{s: s})
			river.AddWorker(w, &takeoverWorker{s: s})
		},
		// Transcodes run hours: the queue's long JobTimeout keeps River from
		// rescuing a run that is still alive.
		Queue:    queue.Spec{Name: QueueName, Concurrency: s.cfg.Workers, JobTimeout: s.cfg.JobTimeout},
		Queues:   []queue.Spec{{Name: ControlQueueName, Concurrency: 1, JobTimeout: time.Minute}},
		JobKinds: []string{TranscodeArgs{}.Kind(), PurgeArgs{}.Kind(), CleanupArgs{}.Kind(), DemoVideoArgs{}.Kind(), TakeoverArgs{}.Kind()},
		Periodic: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return CleanupArgs{}, nil
			}, &river.PeriodicJobOpts{ID: "streaming.cleanup_uploads"}),
			// A killed instance's transcode is taken over within 1.5×StaleAfter.
			river.NewPeriodicJob(river.PeriodicInterval(s.cfg.StaleAfter/2), func() (river.JobArgs, *river.InsertOpts) {
				return TakeoverArgs{}, nil
			}, &river.PeriodicJobOpts{ID: "streaming.takeover", RunOnStart: true}),
		},
	}
}

// Workers is how many videos this instance transcodes at once (the
// streaming queue's concurrency).
func (s *Service) Workers() int { return s.cfg.Workers }

// Health reports whether the module can serve.
func (s *Service) Health(ctx context.Context) error { return s.db.PingContext(ctx) }
