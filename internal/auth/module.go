package auth

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/registry"
)

// RetireKeysArgs is the periodic job that retires signing keys whose
// tokens have all expired.
type RetireKeysArgs struct{}

// Kind is the job kind.
func (RetireKeysArgs) Kind() string { return "auth.retire_keys" }

// InsertOpts puts the job on the auth queue.
func (RetireKeysArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "auth"} }

type retireWorker struct {
	river.WorkerDefaults[RetireKeysArgs]
	s *Service
}

func (w *retireWorker) Work(ctx context.Context, _ *river.Job[RetireKeysArgs]) error {
	_, err := w.s.Tokens.RetireOld(ctx)
	if errors.Is(err, token.ErrStaticKeys) {
		return nil
	}
	return err
}

// Module describes auth to the registry.
func (h *Handler) Module(version string) registry.Module {
	return registry.Module{
		Name:    "auth",
		Version: version,
		Health:  func(ctx context.Context) error { return h.s.DB.PingContext(ctx) },
		Routes:  h.Routes,
		Workers: func(w *river.Workers) {
			river.AddWorker(w, &forgetWorker{s: h.s})
			river.AddWorker(w, &retireWorker{s: h.s})
		},
		JobKinds: []string{ForgetArgs{}.Kind(), RetireKeysArgs{}.Kind()},
		Periodic: []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(time.Hour), func() (river.JobArgs, *river.InsertOpts) {
			return RetireKeysArgs{}, nil
		}, &river.PeriodicJobOpts{ID: "auth.retire_keys"})},
	}
}
