package registry

import (
	"context"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/queue"
)

// PruneArgs is the periodic job that deletes instances gone silent.
type PruneArgs struct{}

// Kind is the job kind.
func (PruneArgs) Kind() string { return "registry.prune_instances" }

// InsertOpts puts the job on the registry queue, once at a time.
func (PruneArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queueName, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

// queueName is the registry's River queue, named after the module.
const queueName = "registry"

// pruneTimeout bounds one prune: a single DELETE.
const pruneTimeout = 30 * time.Second

type pruneWorker struct {
	river.WorkerDefaults[PruneArgs]
	r *Registry
}

func (w *pruneWorker) Timeout(*river.Job[PruneArgs]) time.Duration { return pruneTimeout }

func (w *pruneWorker) Work(ctx context.Context, _ *river.Job[PruneArgs]) error {
	n, err := w.r.Prune(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.r.log.Info().Int64("instances", n).Msg("pruned silent instances")
	}
	return nil
}

// Listing is GET /api/v1/registry's body.
type Listing struct {
	Self      string         `json:"self"`
	Instances []Instance     `json:"instances"`
	Modules   []ModuleHealth `json:"modules"`
}

// Module returns the registry's own module: the registry listing route
// and the prune job.
func (r *Registry) Module(version string) Module {
	return Module{
		Name:    "registry",
		Version: version,
		Health: func(ctx context.Context) error {
			return r.db.PingContext(ctx)
		},
		Routes: func(rt api.Routes) {
			rt.Handle(api.Op{Method: "GET", Path: "/registry", ID: "registryList", Tag: "platform", Access: api.Admin,
				Summary: "Live instances and the health of this instance's modules.", Response: Listing{}}, r.handleList)
		},
		Workers:  func(w *river.Workers) { river.AddWorker(w, &pruneWorker{r: r}) },
		Queue:    queue.Spec{Name: queueName, JobTimeout: pruneTimeout},
		JobKinds: []string{PruneArgs{}.Kind()},
		Periodic: []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(time.Minute), func() (river.JobArgs, *river.InsertOpts) {
				return PruneArgs{}, nil
			}, &river.PeriodicJobOpts{ID: "registry.prune_instances"}),
		},
	}
}

func (r *Registry) handleList(w http.ResponseWriter, req *http.Request) {
	inst, err := r.Live(req.Context())
	if err != nil {
		api.WriteError(w, req, err)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), 2*time.Second)
	defer cancel()
	api.JSON(w, http.StatusOK, Listing{Self: r.self.ID, Instances: inst, Modules: r.Health(ctx)})
}
