package auth

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes auth to the registry: its routes, its workers and its
// hourly key retirement.
func (s *Service) Module(version string) registry.Module {
	h := NewHandler(s)
	return registry.Module{
		Name:    "auth",
		Version: version,
		Health:  func(ctx context.Context) error { return s.db.PingContext(ctx) },
		Routes:  h.Routes,
		Workers: func(w *river.Workers) {
			river.AddWorker(w, &forgetWorker{s: s})
			river.AddWorker(w, &retireWorker{s: s})
		},
		JobKinds: []string{ForgetArgs{}.Kind(), RetireKeysArgs{}.Kind()},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return RetireKeysArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "auth.retire_keys"})},
	}
}
