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
	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/gateway"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/metrics"
	"github.com/streamflix/streamflix/internal/platform/migrate"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/platform/storage"
	"github.com/streamflix/streamflix/internal/registry"
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

	Users   *user.Service
	Auth    *auth.Service
	Notify  *notify.Service
	Catalog *content.Service
	Media   *storage.Local

	server   *http.Server
	listener net.Listener

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

	// The modules. Later issues add theirs here.
	m.Registry.Add(m.Registry.Module(m.Version))
	jobs := &queue.Deferred{}
	if err := m.openModules(ctx, jobs); err != nil {
		return err
	}

	workers := river.NewWorkers()
	var periodic []*river.PeriodicJob
	var queues []string
	for _, mod := range m.Registry.Modules() {
		if mod.Workers != nil {
			mod.Workers(workers)
			queues = append(queues, mod.Name)
		}
		periodic = append(periodic, mod.Periodic...)
	}
	m.Queue, err = queue.New(ctx, m.DB, queue.Config{
		DatabaseURL: cfg.DatabaseURL, Queues: queues, Concurrency: cfg.JobConcurrency, Work: cfg.Workers,
		Workers: workers, Periodic: periodic, Logger: m.Log, Metrics: queue.NewMetrics(m.Metrics.Registry, m.DB),
		ID: m.Registry.Self().ID, QueueConcurrency: map[string]int{notify.QueueName: cfg.NotifyWorkers},
	})
	if err != nil {
		return err
	}
	jobs.Set(m.Queue)
	m.Registry.Add(registry.Module{Name: "queue", Version: m.Version, Health: func(context.Context) error { return m.Queue.Healthy() },
		Routes: queue.NewAdmin(m.Queue, m.DB).Routes})

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
	return nil
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

// openModules builds the domain modules and registers them. jobs is the
// queue they insert through, set once River's client exists.
func (m *Main) openModules(ctx context.Context, jobs *queue.Deferred) error {
	cfg := m.Config
	tokens, err := token.New(ctx, token.Config{KeysPEM: cfg.AuthSigningKeys, DB: m.DB, Logger: m.Log})
	if err != nil {
		return fmt.Errorf("AUTH_SIGNING_KEYS: %w", err)
	}
	recipients := &notifyRecipients{}
	m.Notify, err = notify.New(notify.Config{
		SMTPHost: cfg.SMTPHost, SMTPPort: cfg.SMTPPort, SMTPUsername: cfg.SMTPUsername, SMTPPassword: cfg.SMTPPassword,
		SMTPTLS: cfg.SMTPTLS, From: cfg.MailFrom, MailDir: cfg.MailDir, PublicURL: cfg.PublicURL, Workers: cfg.NotifyWorkers,
		DatabaseURL: cfg.DatabaseURL,
	}, m.DB, recipients, m.Log)
	if err != nil {
		return err
	}
	// The inbox listener runs until ctx ends (SIGTERM), closing live streams so shutdown is not held up.
	go m.Notify.Listen(ctx)
	m.Notify.SetInserter(jobs)
	hasher := password.NewHasher(password.OWASP, 0)
	accounts := &authAccounts{}
	m.Auth = auth.NewService(auth.Config{PublicURL: cfg.PublicURL, CacheSessions: m.Store.Backend == cache.BackendRedis}, auth.Deps{
		DB: m.DB, Tokens: tokens, Hasher: hasher, Accounts: accounts, Profiles: accounts, Notifier: authNotifier{m.Notify},
		Counter: m.Store.Counter, Cache: m.Store.Cache, Queue: jobs, Log: m.Log,
	})
	m.Users = user.NewService(user.Config{PublicURL: cfg.PublicURL}, user.Deps{
		DB: m.DB, Passwords: m.Auth, Hasher: hasher, Notifier: userNotifier{m.Notify}, Counter: m.Store.Counter,
		Forgetters: []user.Forgetter{m.Auth}, Log: m.Log,
	})
	accounts.u, recipients.u = m.Users, m.Users
	m.Registry.Add(user.NewHandler(m.Users).Module(m.Version))
	m.Registry.Add(auth.NewHandler(m.Auth, clientIP).Module(m.Version))
	m.Registry.Add(m.Notify.Module(m.Version))
	if m.Media, err = storage.NewLocal(cfg.MediaDir); err != nil {
		return fmt.Errorf("MEDIA_DIR: %w", err)
	}
	var catalogCache cache.Cache = m.Store.Cache
	if m.Config.CatalogCacheTTL == 0 {
		catalogCache = nil
	}
	m.Catalog = content.NewService(content.Config{CacheTTL: m.Config.CatalogCacheTTL, Media: m.Media, MediaURL: cfg.MediaURL}, m.DB, catalogCache, m.Log)
	m.Registry.Add(content.NewHandler(m.Catalog).Module(m.Version))
	return nil
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
