// Command benchserver serves GET /healthz and GET /api/v1/bench/item either
// from a bare net/http ServeMux (-mode bare) or through streamflix's real
// gateway and its whole middleware chain (-mode gateway), so that bench/run.sh
// can measure the chain's cost against a baseline in the same run.
//
// Both modes answer the same bodies. In gateway mode the rate limits are
// enabled (at a limit no benchmark reaches) so the limiter's real code path
// runs against the chosen cache backend, and the access log is written as
// JSON to a real file (-log, default /dev/null) through a logging.Buffer,
// as streamflix serve writes it, so its encoding and writing cost counts.
//
//	benchserver -mode bare -addr 127.0.0.1:18080
//	benchserver -mode gateway -cache redis -addr 127.0.0.1:18080   (REDIS_URL from the environment)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/streamflix/streamflix/internal/gateway"
	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/logging"
	"github.com/streamflix/streamflix/internal/platform/metrics"
)

// version is what /healthz reports in both modes.
const version = "bench"

// item is the small JSON API route's body: a title-like object of about
// 200 bytes, encoded per request.
type item struct {
	ID          int64    `json:"id"`
	Slug        string   `json:"slug"`
	Title       string   `json:"title"`
	Year        int      `json:"year"`
	Rating      string   `json:"rating"`
	DurationSec int      `json:"duration_sec"`
	Genres      []string `json:"genres"`
	PosterURL   string   `json:"poster_url"`
}

func benchItem() item {
	return item{
		ID: 4217, Slug: "the-long-night-of-the-lighthouse", Title: "The Long Night of the Lighthouse",
		Year: 2024, Rating: "PG-13", DurationSec: 6420, Genres: []string{"drama", "mystery"},
		PosterURL: "/media/posters/4217/w342.jpg",
	}
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "benchserver:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", "bare", "bare (plain net/http) or gateway (streamflix's full middleware chain)")
	addr := flag.String("addr", "127.0.0.1:18080", "listen address")
	backend := flag.String("cache", "memory", "gateway mode's rate-limit backend: memory or redis (REDIS_URL)")
	logPath := flag.String("log", os.DevNull, "gateway mode's access log file (JSON lines)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()

	var h http.Handler
	var closeFn func()
	var err error
	switch *mode {
	case "bare":
		h = bareHandler()
	case "gateway":
		h, closeFn, err = gatewayHandler(*addr, *backend, *logPath)
		if err != nil {
			return err
		}
		defer closeFn()
	default:
		return fmt.Errorf("-mode %q: want bare or gateway", *mode)
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	// The same server settings as streamflix serve (cmd/streamflix/app.go).
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// bareHandler is the baseline: a ServeMux and encoding/json, nothing else.
func bareHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(gateway.Health{Status: "ok", Version: version})
	})
	mux.HandleFunc("GET /api/v1/bench/item", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(benchItem())
	})
	return mux
}

// gatewayHandler builds the real gateway the way cmd/streamflix/app.go does,
// minus Postgres, the queue and the registry, which these routes never touch.
// The returned func closes what it opened, flushing the access log; it may
// be called more than once.
func gatewayHandler(addr, backend, logPath string) (http.Handler, func(), error) {
	env := map[string]string{
		"HTTP_ADDR": addr,
		// Validation requires it; the gateway never connects.
		"DATABASE_URL": "postgres://bench@127.0.0.1:1/bench?sslmode=disable",
		// Enabled but out of reach, so every /api request runs the limiter.
		"RATE_LIMIT_IP":   "100000000/s",
		"RATE_LIMIT_USER": "100000000/s",
		"LOG_LEVEL":       "info",
		"LOG_FORMAT":      "json",
	}
	if backend == "redis" {
		env["REDIS_URL"] = os.Getenv("REDIS_URL")
		if env["REDIS_URL"] == "" {
			return nil, nil, errors.New("-cache redis needs REDIS_URL")
		}
	}
	cfg, _, err := config.Load("benchserver", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		return nil, nil, err
	}

	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("-log: %w", err)
	}
	closers := []func(){func() { logFile.Close() }}
	var closeOnce sync.Once
	closeAll := func() {
		closeOnce.Do(func() {
			for i := len(closers) - 1; i >= 0; i-- {
				closers[i]()
			}
		})
	}
	// As streamflix serve: routine lines are written in batches.
	logBuf := logging.NewBuffer(logFile, 0)
	closers = append(closers, func() { logBuf.Close() })
	log := logging.New(logBuf, cfg.LogLevel, cfg.LogFormat)
	m := metrics.New(version)

	var store *cache.Store
	switch backend {
	case "memory":
		store = cache.NewMemory()
	case "redis":
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		// The same timeouts as streamflix serve.
		opts.DialTimeout = time.Second
		opts.ReadTimeout = 500 * time.Millisecond
		opts.WriteTimeout = 500 * time.Millisecond
		opts.PoolTimeout = time.Second
		rdb := redis.NewClient(opts)
		closers = append(closers, func() { rdb.Close() })
		store = cache.NewRedis(rdb, cache.RedisOptions{Prefix: "streamflix-bench:", Logger: log, Registerer: m.Registry})
		m.Registry.MustRegister(cache.NewPoolCollector(rdb))
		pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			// A benchmark of the degraded path would be meaningless.
			closeAll()
			return nil, nil, fmt.Errorf("redis: %w", err)
		}
	default:
		closeAll()
		return nil, nil, fmt.Errorf("-cache %q: want memory or redis", backend)
	}

	g := gateway.New(gateway.Deps{
		Config: cfg, Log: log, Metrics: m, Limiter: store.Limiter,
		Doc: api.NewDoc("streamflix-bench", version), Version: version,
		Info: map[string]string{"cache": store.Backend},
	})
	g.API().Handle(api.Op{Method: "GET", Path: "/bench/item", ID: "benchItem", Summary: "A small JSON object, for benchmarks.", Tag: "bench", Response: item{}},
		func(w http.ResponseWriter, r *http.Request) { api.JSON(w, http.StatusOK, benchItem()) })
	m.SetReady(true)
	return g.Handler(), closeAll, nil
}
