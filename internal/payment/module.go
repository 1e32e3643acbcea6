package payment

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/registry"
)

// Module describes payment to the registry: its routes, its workers and
// job kinds, the sandbox's periodic renewal run, and its health.
func (s *Service) Module(version string) registry.Module {
	h := NewHandler(s)
	kinds := []string{EventArgs{}.Kind(), RepriceArgs{}.Kind()}
	var periodic []*river.PeriodicJob
	if s.sandbox != nil {
		kinds = append(kinds, DeliverArgs{}.Kind(), TickArgs{}.Kind())
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(s.cfg.SandboxTick), func() (river.JobArgs, *river.InsertOpts) {
			return TickArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "payment.sandbox_tick"}))
	}
	return registry.Module{
		Name:    "payment",
		Version: version,
		Health:  func(ctx context.Context) error { return s.db.PingContext(ctx) },
		Routes:  h.Routes,
		Workers: func(w *river.Workers) {
			river.AddWorker(w, &eventWorker{s: s})
			river.AddWorker(w, &repriceWorker{s: s})
			if s.sandbox != nil {
				river.AddWorker(w, &deliverWorker{sb: s.sandbox})
				river.AddWorker(w, &tickWorker{sb: s.sandbox})
			}
		},
		JobKinds: kinds,
		Periodic: periodic,
	}
}
