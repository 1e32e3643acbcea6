package notify

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/registry"
)

// Module returns notify's registry entry: its routes, its email worker and
// job kind, its queue (Config.Workers jobs at once, each allowed
// EmailTimeoutFactor × SMTPTimeout) and its health (the queue can take
// jobs and Postgres is reachable).
func (s *Service) Module(version string) registry.Module {
	return registry.Module{
		Name:    "notify",
		Version: version,
		Health: func(ctx context.Context) error {
			if err := s.queue.Healthy(); err != nil {
				return fmt.Errorf("notify: %w", err)
			}
			return s.db.PingContext(ctx)
		},
		Routes:   NewHandler(s).Routes,
		Workers:  func(w *river.Workers) { river.AddWorker(w, &emailWorker{s: s}) },
		JobKinds: []string{EmailArgs{}.Kind()},
		Queue:    queue.Spec{Name: QueueName, Concurrency: s.workers, JobTimeout: s.jobTimeout},
	}
}
