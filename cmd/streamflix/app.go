package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/auth"
	"github.com/streamflix/streamflix/internal/auth/password"
	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/gateway"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/payment"
	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/metrics"
	"github.com/streamflix/streamflix/internal/platform/migrate"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/platform/storage"
	"github.com/streamflix/streamflix/internal/reco"
	"github.com/streamflix/streamflix/internal/registry"
	"github.com/streamflix/streamflix/internal/streaming"
	"github.com/streamflix/streamflix/internal/user"
	"github.com/streamflix/streamflix/web"
)

// Main is one running streamflix instance: everything serve builds, so
// that tests can run whole instances in-process on port :0.
type Main struct {
	Config  *config.Config
	Log     zerolog.Logger
	Version string

	DB       *sqlx.DB
	Redis    *redis.Client
	Store    *cache.Store
	Metrics  *metrics.Metrics
	Queue    *queue.Queue
	Registry *registry.Registry
	Gateway  *gateway.Gateway

	Users     *user.Service
	Auth      *auth.Service
	Notify    *notify.Service
	Catalog   *content.Service
	Media     storage.Store
	Payment   *payment.Service
	Streaming *streaming.Service
	Reco      *reco.Service

	server   *http.Server
	listener net.Listener
	// jobs is the queue handle modules insert through; it resolves once
	// openQueue has built River's client from every module's workers.
	jobs *queue.Deferred
	// hasher hashes passwords (auth) and profile PINs (user).
	hasher *password.Hasher

	// migrationsOK caches a passing migrations check for a while: the
	// schema cannot fall behind a running binary except by a deploy.
	migMu     sync.Mutex
	migOKTill time.Time
}

// NewMain returns an unopened instance.
func NewMain(cfg *config.Config, log zerolog.Logger, version string) *Main {
	return &Main{Config: cfg, Log: log, Version: version}
}

// Open connects to Postgres and Redis, builds every module, mounts the
// routes, and listens; it does not yet serve or work jobs.
func (m *Main) Open(ctx context.Context) error {
	if err := m.openPlatform(ctx); err != nil {
		return err
	}
	// The domain modules, one openX each (modules.go). Adapters resolve
	// their target when called (wire.go), so the order here does not
	// matter; a new module adds its function and one line.
	for _, open := range []func(context.Context) error{
		m.openNotify,
		m.openAuth,
		m.openUser,
		m.openContent,
		m.openPayment,
		m.openStreaming,
		m.openReco,
	} {
		if err := open(ctx); err != nil {
			return err
		}
	}
	if err := m.openQueue(ctx); err != nil {
		return err
	}
	m.openGateway()
	return nil
}

// openPlatform connects to Postgres and Redis, opens the listener and
// media storage, and starts the registry with its own module.
func (m *Main) openPlatform(ctx context.Context) error {
	cfg := m.Config
	var err error
	m.DB, err = pg.Open(ctx, pg.Options{
		URL: cfg.DatabaseURL, MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns,
		ConnMaxLifetime: cfg.DBConnMaxLifetime, ConnMaxIdleTime: cfg.DBConnMaxIdleTime,
	})
	if err != nil {
		return err
	}
	m.Metrics = metrics.New(m.Version)
	m.Metrics.RegisterDB(m.DB.DB)

	if cfg.RedisURL != "" {
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		// Short timeouts: Redis is a cache, and a slow Redis must degrade
		// requests by milliseconds, not stall them.
		opts.DialTimeout = time.Second
		opts.ReadTimeout = 500 * time.Millisecond
		opts.WriteTimeout = 500 * time.Millisecond
		opts.PoolTimeout = time.Second
		m.Redis = redis.NewClient(opts)
		m.Store = cache.NewRedis(m.Redis, cache.RedisOptions{Prefix: cfg.RedisPrefix, Logger: m.Log, Registerer: m.Metrics.Registry})
		m.Metrics.Registry.MustRegister(cache.NewPoolCollector(m.Redis))
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := m.Redis.Ping(pctx).Err(); err != nil {
			// Not fatal: streamflix degrades to in-process limits until Redis is back.
			m.Log.Warn().Err(err).Msg("redis unreachable at start; degrading until it is back")
		}
		cancel()
	} else {
		m.Store = cache.NewMemory()
	}

	host, _ := os.Hostname()
	m.listener, err = net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	addr := cfg.InstanceAddr
	if addr == "" {
		_, port, _ := net.SplitHostPort(m.listener.Addr().String())
		addr = net.JoinHostPort(host, port)
	}
	m.Registry = registry.New(m.DB, registry.Instance{
		ID: instanceID(host), Address: addr, Version: m.Version, Hostname: host, PID: os.Getpid(), StartedAt: time.Now().UTC(),
	}, cfg.InstanceTTL, m.Log)

	m.Registry.Add(m.Registry.Module(m.Version))
	m.jobs = &queue.Deferred{}
	m.hasher = password.NewHasher(password.OWASP, 0)
	if m.Media, err = openMedia(ctx, cfg); err != nil {
		return err
	}
	return nil
}

// openQueue builds River's client from every registered module's
// workers, periodic jobs and queue, and points the modules' deferred job
// handle at it.
func (m *Main) openQueue(ctx context.Context) error {
	cfg := m.Config
	var err error
	workers := river.NewWorkers()
	var periodic []*river.PeriodicJob
	var queues []queue.Spec
	for _, mod := range m.Registry.Modules() {
		if mod.Workers != nil {
			mod.Workers(workers)
		}
		if mod.Queue.Name != "" {
			queues = append(queues, mod.Queue)
		}
		queues = append(queues, mod.Queues...)
		periodic = append(periodic, mod.Periodic...)
	}
	m.Queue, err = queue.New(ctx, m.DB, queue.Config{
		DatabaseURL: cfg.DatabaseURL, Queues: queues, Concurrency: cfg.JobConcurrency, Work: cfg.Workers,
		Workers: workers, Periodic: periodic, Logger: m.Log, Metrics: queue.NewMetrics(m.Metrics.Registry, m.DB),
		ID: m.Registry.Self().ID, RescueAfter: cfg.JobRescueAfter,
	})
	if err != nil {
		return err
	}
	m.jobs.Set(m.Queue)
	m.Registry.Add(registry.Module{Name: "queue", Version: m.Version, Health: func(context.Context) error { return m.Queue.Healthy() },
		Routes: queue.NewAdmin(m.Queue, m.DB).Routes})

	return nil
}

// openGateway builds the gateway, mounts every module's routes, media and
// the web app, and the HTTP server.
func (m *Main) openGateway() {
	cfg := m.Config
	checks := []gateway.Check{
		{Name: "postgres", Fn: m.DB.PingContext},
		{Name: "queue", Fn: func(context.Context) error { return m.Queue.Healthy() }},
		{Name: "migrations", Fn: m.migrationsCurrent},
	}
	if m.Redis != nil {
		checks = append(checks, gateway.Check{Name: "redis", Fn: m.Store.Ping, Optional: true})
	}
	m.Gateway = gateway.New(gateway.Deps{
		Config: cfg, Log: m.Log, Metrics: m.Metrics, Limiter: m.Store.Limiter, Auth: m.authenticator(),
		Doc: api.NewDoc("streamflix", m.Version), Checks: checks, Version: m.Version,
		Info: map[string]string{"cache": m.Store.Backend, "instance": m.Registry.Self().ID, "workers": fmt.Sprint(cfg.Workers)},
	})
	for _, mod := range m.Registry.Modules() {
		if mod.Routes != nil {
			mod.Routes(m.Gateway.API())
		}
	}
	m.Gateway.MountMedia(storage.Handler(m.Media, storage.HandlerOptions{Prefix: gateway.MediaPrefix, Immutable: []string{content.ArtworkPrefix}}))
	// The web app takes GET and HEAD requests no route matches, except
	// under /api/, /media/ and the platform routes, whose 404s stay problem+json.
	m.Gateway.Mux().NotFound(web.Handler(web.Dist(), http.HandlerFunc(gateway.NotFound)).ServeHTTP)
	m.server = &http.Server{
		Handler:           m.Gateway.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    gateway.ServerMaxHeaderBytes,
		ErrorLog:          nil,
	}
}

// Addr returns the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// URL returns http://host:port of the listener, for tests.
func (m *Main) URL() string {
	_, port, _ := net.SplitHostPort(m.Addr())
	return "http://127.0.0.1:" + port
}

// Run registers the instance, starts the workers and heartbeats, and serves
// until ctx ends; then it drains: /readyz turns 503, after DRAIN_DELAY the
// listener closes and in-flight requests finish, then running jobs finish,
// all within SHUTDOWN_GRACE.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Registry.Heartbeat(ctx); err != nil {
		return err
	}
	if err := m.Queue.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start queue: %w", err)
	}
	m.Metrics.SetReady(true)
	hbCtx, stopHB := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHB()
	go m.Registry.Run(hbCtx, m.Config.HeartbeatInterval)

	serveErr := make(chan error, 1)
	go func() { serveErr <- m.server.Serve(m.listener) }()

	select {
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	return m.shutdown(stopHB)
}

func (m *Main) shutdown(stopHB func()) error {
	cfg := m.Config
	m.Log.Info().Dur("drain_delay", cfg.DrainDelay).Dur("grace", cfg.ShutdownGrace).Msg("draining")
	m.Gateway.SetDraining()
	bg := context.Background()
	if err := m.Registry.MarkStopping(bg); err != nil {
		m.Log.Warn().Err(err).Msg("mark instance stopping")
	}
	time.Sleep(cfg.DrainDelay)
	graceCtx, cancel := context.WithTimeout(bg, cfg.ShutdownGrace)
	defer cancel()
	var errs []error
	if err := m.server.Shutdown(graceCtx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if err := m.Queue.Stop(graceCtx); err != nil {
		errs = append(errs, fmt.Errorf("queue stop: %w", err))
	}
	_ = m.Notify.Close() // QUIT to the SMTP server's idle connections
	// Write the analytics events still in memory.
	if err := m.Reco.Close(); err != nil {
		errs = append(errs, err)
	}
	stopHB()
	if err := m.Registry.Deregister(bg); err != nil {
		m.Log.Warn().Err(err).Msg("deregister")
	}
	return errors.Join(errs...)
}

// Close releases connections. It is safe after a failed Open.
func (m *Main) Close() {
	if m.listener != nil {
		m.listener.Close()
	}
	if m.Redis != nil {
		m.Redis.Close()
	}
	if m.DB != nil {
		m.DB.Close()
	}
}

func (m *Main) migrationsCurrent(ctx context.Context) error {
	m.migMu.Lock()
	ok := time.Now().Before(m.migOKTill)
	m.migMu.Unlock()
	if ok {
		return nil
	}
	if err := migrate.Current(ctx, m.DB); err != nil {
		return err
	}
	m.migMu.Lock()
	m.migOKTill = time.Now().Add(30 * time.Second)
	m.migMu.Unlock()
	return nil
}

// authenticator checks bearer tokens: the operators' ADMIN_TOKEN, else an
// access token checked by the auth module.
func (m *Main) authenticator() gateway.Authenticator {
	admin := m.Config.AdminToken
	return gateway.AuthenticatorFunc(func(ctx context.Context, token string) (*api.Principal, error) {
		if admin != "" && subtle.ConstantTimeCompare([]byte(token), []byte(admin)) == 1 {
			return &api.Principal{UserID: "operator", Roles: []string{api.RoleAdmin}}, nil
		}
		return m.Auth.Authenticate(ctx, token)
	})
}

func instanceID(host string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	host = strings.ToLower(strings.Split(host, ".")[0])
	if host == "" {
		host = "streamflix"
	}
	return host + "-" + hex.EncodeToString(b[:])
}

// go-redis logs every failed dial to stderr through the standard logger;
// the cache's guard already logs Redis failures, rate-limited, as JSON.
type quietRedisLog struct{}

func (quietRedisLog) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietRedisLog{}) }
