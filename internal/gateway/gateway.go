// Package gateway is streamflix's API gateway: one chi router for every
// route, the middleware chain every request passes through, health and
// readiness, metrics, and the OpenAPI document with its docs page.
//
// The chain, outermost first: request id, client IP, logger, panic recovery,
// access log and metrics (begin); security headers; CORS; then, for /api
// routes, the per-IP rate limit, authentication, the per-user rate limit,
// and per-route body limit, timeout and access check.
package gateway

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/cors"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/metrics"
)

// APIBase is the base path of the versioned JSON API.
const APIBase = "/api/v1"

// Limiter is what the gateway needs for rate limits.
type Limiter interface {
	Allow(ctx context.Context, key string, l cache.Limit) (cache.LimitResult, error)
}

// Check is one readiness check: a name and a function that returns nil when
// the dependency is usable. A failing Optional check is reported in /readyz's
// body but leaves the instance ready: Redis is a cache, and pulling every
// instance out of the load balancer because Redis is down would turn a
// degraded service into an outage.
type Check struct {
	Name     string
	Fn       func(ctx context.Context) error
	Optional bool
}

// Deps are what the gateway is built from.
type Deps struct {
	Config  *config.Config
	Log     zerolog.Logger
	Metrics *metrics.Metrics
	Limiter Limiter
	// Auth checks bearer tokens; nil rejects every token.
	Auth    Authenticator
	Doc     *api.Doc
	Checks  []Check
	Version string
	// Info is added to /readyz's body (e.g. which cache backend is in use).
	Info map[string]string
}

// Gateway routes and guards every request.
type Gateway struct {
	cfg     *config.Config
	log     zerolog.Logger
	metrics *metrics.Metrics
	limiter Limiter
	auth    Authenticator
	doc     *api.Doc
	checks  []Check
	info    map[string]string
	version string

	root        chi.Router
	api         *api.Router
	draining    atomic.Bool
	quietRoutes map[string]bool

	docOnce sync.Once
	docJSON []byte
	docErr  error
}

// New builds the router with the platform routes mounted. Modules mount
// theirs through API before the server starts.
func New(d Deps) *Gateway {
	g := &Gateway{
		cfg: d.Config, log: d.Log, metrics: d.Metrics, limiter: d.Limiter, auth: d.Auth,
		doc: d.Doc, checks: d.Checks, info: d.Info, version: d.Version,
		quietRoutes: map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true},
	}
	if g.auth == nil {
		g.auth = AuthenticatorFunc(func(context.Context, string) (*api.Principal, error) { return nil, ErrInvalidToken })
	}
	r := chi.NewRouter()
	r.Use(g.begin, g.securityHeaders, g.cors())
	r.NotFound(notFound)
	r.MethodNotAllowed(methodNotAllowed)
	g.root = r

	g.platformRoute(api.Op{Method: "GET", Path: "/healthz", ID: "healthz", Summary: "Liveness: the process is up.", Tag: "platform", Response: Health{}}, g.handleHealthz)
	g.platformRoute(api.Op{Method: "GET", Path: "/readyz", ID: "readyz", Summary: "Readiness: Postgres, Redis (if configured), the queue and migrations are usable; 503 while starting or draining.", Tag: "platform", Response: Readiness{},
		Answers: []api.Answer{{Status: http.StatusServiceUnavailable, Description: "Not ready: starting, draining, or a required check failing; the body says which.", Body: Readiness{}}}}, g.handleReadyz)
	g.platformRoute(api.Op{Method: "GET", Path: "/metrics", ID: "metrics", Summary: "Prometheus metrics.", Tag: "platform", ContentType: "text/plain"}, g.metrics.Handler().ServeHTTP)

	apiMux := r.With(func(next http.Handler) http.Handler { return g.rateLimit("ip", next) }, g.authenticate,
		func(next http.Handler) http.Handler { return g.rateLimit("user", next) })
	g.api = api.NewRouter(apiMux, "", g.doc)
	g.api.Wrap = g.opMiddleware
	g.api.Handle(api.Op{Method: "GET", Path: "/api/openapi.json", ID: "openapi", Summary: "This OpenAPI 3.1 document.", Tag: "platform", ContentType: "application/json", Response: map[string]any{}}, g.handleOpenAPI)
	g.api.Handle(api.Op{Method: "GET", Path: "/api/docs", ID: "apiDocs", Summary: "Human-readable API reference.", Tag: "platform", ContentType: "text/html"}, g.handleDocs)
	return g
}

// platformRoute mounts a route outside /api: no rate limit or authentication,
// so load balancers and Prometheus are never throttled.
// GET routes answer HEAD too, for load balancers that probe with HEAD.
func (g *Gateway) platformRoute(op api.Op, h http.HandlerFunc) {
	g.root.Method(op.Method, op.Path, h)
	g.doc.Add(op)
	if op.Method == http.MethodGet {
		head := op
		head.Method, head.ID, head.Response, head.ContentType = http.MethodHead, op.ID+"Head", nil, ""
		g.root.Method(http.MethodHead, op.Path, h)
		g.doc.Add(head)
	}
}

// MediaPrefix is the path media objects are served under.
const MediaPrefix = "/media/"

// MountMedia serves h for GET and HEAD under MediaPrefix, outside /api: no
// rate limit or authentication, since the edge cache in front of it takes
// the load and what needs protecting is protected by h itself (signed
// URLs). It documents the route as /media/{path}.
func (g *Gateway) MountMedia(h http.Handler) {
	op := api.Op{Method: http.MethodGet, Path: MediaPrefix + "{path}", ID: "media", Tag: "media", ContentType: "application/octet-stream",
		Summary: "A stored media object (path may hold slashes) with its own Content-Type; Range and conditional requests; " +
			"content-addressed objects are cacheable for a year (immutable). 404 problem+json (media_not_found) when missing.",
		Errors: []*apperr.Error{{Kind: apperr.NotFound, Code: "media_not_found"}}}
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		g.root.Method(m, MediaPrefix+"*", h)
		o := op
		if m == http.MethodHead {
			o.Method, o.ID, o.ContentType = m, op.ID+"Head", ""
		}
		g.doc.Add(o)
	}
}

// API returns the router modules mount their routes on, at /api/v1.
func (g *Gateway) API() *api.Router { return g.api.With(APIBase) }

// Handler returns the root handler.
func (g *Gateway) Handler() http.Handler { return g.root }

// Mux returns the root chi router (for the web app and route listings).
func (g *Gateway) Mux() chi.Router { return g.root }

// SetDraining makes /readyz answer 503 so load balancers stop sending
// traffic while in-flight requests finish.
func (g *Gateway) SetDraining() {
	g.draining.Store(true)
	g.metrics.SetReady(false)
}

func (g *Gateway) cors() func(http.Handler) http.Handler {
	origins := g.cfg.CORSOrigins
	if len(origins) == 0 {
		// go-chi/cors allows every origin when given none; the documented
		// default is PUBLIC_URL's origin.
		if u, err := url.Parse(g.cfg.PublicURL); err == nil && u.Host != "" {
			origins = []string{u.Scheme + "://" + u.Host}
		}
	}
	credentials := true
	for _, o := range origins {
		if o == "*" {
			credentials = false // browsers refuse credentials with a wildcard
		}
	}
	return cors.Handler(cors.Options{
		AllowedOrigins:   origins,
		AllowedMethods:   []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"},
		AllowedHeaders:   []string{"Authorization", "Content-Type", "Idempotency-Key", "If-None-Match", "If-Match", "Last-Event-ID", "X-Request-Id", "X-CSRF-Token"},
		ExposedHeaders:   []string{"X-Request-Id", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "ETag", "Location"},
		AllowCredentials: credentials && len(origins) > 0,
		MaxAge:           600,
	})
}

// Health is /healthz's body.
type Health struct {
	Status  string `json:"status" jsonschema:"enum=ok"`
	Version string `json:"version"`
}

func (g *Gateway) handleHealthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	api.JSON(w, http.StatusOK, Health{Status: "ok", Version: g.version})
}

// Readiness is /readyz's body: the overall status and each check's result
// ("ok" or the error), plus facts such as the cache backend in use.
type Readiness struct {
	Status string            `json:"status" jsonschema:"enum=ready,enum=draining,enum=not_ready"`
	Checks map[string]string `json:"checks"`
	Info   map[string]string `json:"info,omitempty"`
}

func (g *Gateway) handleReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	res := Readiness{Status: "ready", Checks: map[string]string{}, Info: g.info}
	if g.draining.Load() {
		res.Status = "draining"
		api.JSON(w, http.StatusServiceUnavailable, res)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var mu sync.Mutex
	var wg sync.WaitGroup
	ok := true
	for _, c := range g.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Fn(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if !c.Optional {
					ok = false
				}
				res.Checks[c.Name] = "error: " + err.Error()
				return
			}
			res.Checks[c.Name] = "ok"
		}()
	}
	wg.Wait()
	status := http.StatusOK
	if !ok {
		res.Status = "not_ready"
		status = http.StatusServiceUnavailable
	}
	g.metrics.SetReady(ok)
	api.JSON(w, status, res)
}

func (g *Gateway) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	g.docOnce.Do(func() { g.docJSON, g.docErr = g.doc.JSON() })
	if g.docErr != nil {
		api.WriteError(w, r, g.docErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(g.docJSON)
}

// Routes lists every route the router serves as "METHOD /path", for the
// test that compares them with the OpenAPI document.
func (g *Gateway) Routes() ([]string, error) {
	var out []string
	err := chi.Walk(g.root, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		// A catch-all is documented as a {path} parameter.
		if r, ok := strings.CutSuffix(route, "/*"); ok {
			route = r + "/{path}"
		}
		if route == "" {
			route = "/"
		}
		out = append(out, method+" "+api.OpenAPIPath(route))
		return nil
	})
	return out, err
}
