package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/queue"
)

// Module is what a module tells the registry about itself.
type Module struct {
	Name    string
	Version string
	// Health returns nil when the module can serve; nil Health means always.
	Health func(ctx context.Context) error
	// Routes mounts the module's routes (under /api/v1).
	Routes func(r api.Routes)
	// Workers adds the module's River workers; its jobs go to Queue.
	Workers func(w *river.Workers)
	// Queue is the module's River queue: its name (default, for a module
	// with Workers: the module's), how many of its jobs an instance works
	// at once, and the longest Timeout of its jobs, from which the rescue
	// window of a crashed instance's jobs is derived (queue.Spec).
	Queue queue.Spec
	// Queues are further queues of the module, for short jobs that must
	// not wait behind Queue's long ones (a job names its queue in its
	// InsertOpts).
	Queues []queue.Spec
	// JobKinds lists the kinds of the module's jobs.
	JobKinds []string
	// Periodic jobs the module schedules.
	Periodic []*river.PeriodicJob
}

// Instance is one running streamflix process.
type Instance struct {
	ID          string          `json:"id" db:"id"`
	Address     string          `json:"address" db:"address"`
	Version     string          `json:"version" db:"version"`
	Hostname    string          `json:"hostname" db:"hostname"`
	PID         int             `json:"pid" db:"pid"`
	Modules     json.RawMessage `json:"modules" db:"modules" jsonschema:"type=array"`
	StartedAt   time.Time       `json:"started_at" db:"started_at"`
	HeartbeatAt time.Time       `json:"heartbeat_at" db:"heartbeat_at"`
	Stopping    bool            `json:"stopping" db:"stopping"`
}

// ModuleInfo is a module as listed in the registry.
type ModuleInfo struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	JobKinds []string `json:"job_kinds"`
}

func (m Module) info() ModuleInfo {
	kinds := m.JobKinds
	if kinds == nil {
		kinds = []string{} // listed as [], not null
	}
	return ModuleInfo{Name: m.Name, Version: m.Version, JobKinds: kinds}
}

// ModuleHealth is a module's health as seen by the instance answering.
type ModuleHealth struct {
	ModuleInfo
	Healthy bool   `json:"healthy"`
	Error   string `json:"error,omitempty"`
}

// Registry holds this instance's modules and its row in Postgres.
type Registry struct {
	db   *sqlx.DB
	ttl  time.Duration
	log  zerolog.Logger
	self Instance

	mu      sync.Mutex
	modules []Module
}

// New returns a registry for this instance. ttl is how old a heartbeat may
// be before the instance is no longer listed.
func New(db *sqlx.DB, self Instance, ttl time.Duration, log zerolog.Logger) *Registry {
	return &Registry{db: db, self: self, ttl: ttl, log: log}
}

// Add registers a module. Module names must be unique. A module with
// Workers and no Queue.Name gets the queue named after it.
func (r *Registry) Add(m Module) {
	if m.Workers != nil && m.Queue.Name == "" {
		m.Queue.Name = m.Name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, have := range r.modules {
		if have.Name == m.Name {
			panic(fmt.Sprintf("registry: module %q added twice", m.Name))
		}
	}
	r.modules = append(r.modules, m)
}

// Modules returns the registered modules in the order added.
func (r *Registry) Modules() []Module {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Module(nil), r.modules...)
}

// Self returns this instance's record.
func (r *Registry) Self() Instance { return r.self }

func (r *Registry) infos() []ModuleInfo {
	var out []ModuleInfo
	for _, m := range r.Modules() {
		out = append(out, m.info())
	}
	return out
}

// Heartbeat records this instance as live now (inserting it on the first call).
func (r *Registry) Heartbeat(ctx context.Context) error {
	mods, err := json.Marshal(r.infos())
	if err != nil {
		return err
	}
	_, err = r.db.ExecContext(ctx, `
		INSERT INTO registry.instances (id, address, version, hostname, pid, modules, started_at, heartbeat_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, now())
		ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address, modules = EXCLUDED.modules, heartbeat_at = now()`,
		r.self.ID, r.self.Address, r.self.Version, r.self.Hostname, r.self.PID, mods, r.self.StartedAt)
	if err != nil {
		return fmt.Errorf("registry heartbeat: %w", err)
	}
	return nil
}

// Run heartbeats every interval until ctx ends. Failures are logged and
// retried at the next tick; a missed beat only matters after the TTL.
func (r *Registry) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			hctx, cancel := context.WithTimeout(ctx, interval)
			if err := r.Heartbeat(hctx); err != nil && ctx.Err() == nil {
				r.log.Warn().Err(err).Msg("registry heartbeat failed")
			}
			cancel()
		}
	}
}

// MarkStopping flags this instance as draining, so operators see it go.
func (r *Registry) MarkStopping(ctx context.Context) error {
	_, err := r.db.ExecContext(ctx, `UPDATE registry.instances SET stopping = true WHERE id = $1`, r.self.ID)
	return err
}

// Deregister removes this instance's row (on clean shutdown).
func (r *Registry) Deregister(ctx context.Context) error {
	_, err := r.db.ExecContext(ctx, `DELETE FROM registry.instances WHERE id = $1`, r.self.ID)
	if err != nil {
		return fmt.Errorf("registry deregister: %w", err)
	}
	return nil
}

// Live lists instances whose heartbeat is within the TTL, oldest first.
func (r *Registry) Live(ctx context.Context) ([]Instance, error) {
	out := []Instance{}
	err := r.db.SelectContext(ctx, &out, `
		SELECT id, address, version, hostname, pid, modules, started_at, heartbeat_at, stopping
		FROM registry.instances
		WHERE heartbeat_at > now() - make_interval(secs => $1)
		ORDER BY started_at, id`, r.ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// Prune deletes instances whose heartbeat is older than the TTL and returns
// how many.
func (r *Registry) Prune(ctx context.Context) (int64, error) {
	res, err := r.db.ExecContext(ctx, `DELETE FROM registry.instances WHERE heartbeat_at <= now() - make_interval(secs => $1)`, r.ttl.Seconds())
	if err != nil {
		return 0, fmt.Errorf("prune instances: %w", err)
	}
	return res.RowsAffected()
}

// Health runs every module's health check (with ctx's deadline) and
// returns the results sorted by module name.
func (r *Registry) Health(ctx context.Context) []ModuleHealth {
	mods := r.Modules()
	out := make([]ModuleHealth, len(mods))
	var wg sync.WaitGroup
	for i, m := range mods {
		out[i] = ModuleHealth{ModuleInfo: m.info(), Healthy: true}
		if m.Health == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := m.Health(ctx); err != nil {
				out[i].Healthy = false
				out[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
