package reco

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes reco to the registry: its routes, its rescore, train
// and partitions workers, the hourly retrain check and the daily
// partition job (both also at start), its queue and its health.
func (s *Service) Module(version string) registry.Module {
	return registry.Module{
		Name:    "reco",
		Version: version,
		Health:  s.db.PingContext,
		Routes:  NewHandler(s).Routes,
		Workers: func(w *river.Workers) {
			river.AddWorker(w, &rescoreWorker{s: s})
			river.AddWorker(w, &trainWorker{s: s})
			river.AddWorker(w, &partitionsWorker{s: s})
		},
		// A retrain may run for TrainTimeout: the queue is one of long jobs,
		// and the short ones state their own timeouts.
		Queue:    queue.Spec{Name: QueueName, Concurrency: 4, JobTimeout: s.cfg.TrainTimeout},
		JobKinds: []string{RescoreArgs{}.Kind(), TrainArgs{}.Kind(), PartitionsArgs{}.Kind()},
		Periodic: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return TrainArgs{}, nil
			}, &river.PeriodicJobOpts{ID: "reco.train", RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour), func() (river.JobArgs, *river.InsertOpts) {
				return PartitionsArgs{}, nil
			}, &river.PeriodicJobOpts{ID: "reco.partitions", RunOnStart: true}),
		},
	}
}

// Health reports whether the module can serve.
func (s *Service) Health(ctx context.Context) error { return s.db.PingContext(ctx) }
