package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/logging"
)

// requestState is shared by the outer middleware (access log) and the inner
// ones (authentication) that learn things about the request later.
type requestState struct {
	clientIP string
	userID   string
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	s, _ := ctx.Value(stateKey{}).(*requestState)
	if s == nil {
		return &requestState{}
	}
	return s
}

// ClientIP returns the client address the gateway settled on for the
// request: the peer, or, when the peer is a trusted proxy, the right-most
// hop of X-Forwarded-For that is not itself a trusted proxy.
func ClientIP(ctx context.Context) string { return stateFrom(ctx).clientIP }

var saneRequestID = regexp.MustCompile(`^[A-Za-z0-9._:\-]{8,128}$`)

// newID returns 16 random bytes in hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// begin is the outermost middleware: request id, client IP, logger in the
// context, panic recovery, one access-log line and metrics per request.
func (g *Gateway) begin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID.MatchString(id) {
			id = newID()
		}
		w.Header().Set("X-Request-Id", id)
		st := &requestState{clientIP: g.clientIP(r)}
		l := g.log.With().Str("request_id", id).Logger()
		ctx := logging.WithRequestID(r.Context(), id)
		ctx = context.WithValue(ctx, stateKey{}, st)
		ctx = l.WithContext(ctx)
		r = r.WithContext(ctx)

		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		g.metrics.InFlight().Inc()
		defer func() {
			g.metrics.InFlight().Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				l.Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("panic serving request")
				if ww.Status() == 0 {
					api.WriteError(ww, r, apperr.ErrInternal)
				}
			}
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			d := time.Since(start)
			g.metrics.ObserveRequest(route, r.Method, status, d)
			if g.quietRoutes[route] && status < 400 {
				return
			}
			ev := l.Info()
			if status >= 500 {
				ev = l.Error()
			}
			ev.Str("method", r.Method).Str("route", route).Str("path", r.URL.Path).
				Int("status", status).Int("bytes", ww.BytesWritten()).
				Float64("duration_ms", float64(d.Microseconds())/1000).
				Str("ip", st.clientIP)
			if st.userID != "" {
				ev.Str("user_id", st.userID)
			}
			ev.Msg("request")
		}()
		next.ServeHTTP(ww, r)
	})
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not itself a trusted proxy.
// Walking from the right means a client cannot forge its address by
// sending its own X-Forwarded-For: only hops added by trusted proxies are
// skipped.
func (g *Gateway) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !g.trusted(peer) {
		return peer.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	hops := strings.Split(strings.Join(xff, ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: stop believing the header here
		}
		a = a.Unmap()
		if !g.trusted(a) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// securityHeaders sets headers every response carries.
func (g *Gateway) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "strict-origin-when-cross-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "+
			"style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		if r.TLS != nil || (g.trustedPeer(r) && r.Header.Get("X-Forwarded-Proto") == "https") {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

func (g *Gateway) trustedPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && g.trusted(a.Unmap())
}

// Errors from authentication.
var (
	ErrInvalidToken = apperr.New(apperr.Unauthorized, "invalid_token", "The access token is invalid or expired.")
	ErrBadAuthz     = apperr.New(apperr.Unauthorized, "invalid_authorization", "Send the token as Authorization: Bearer <token>.")
)

// Authenticator turns a bearer token into a principal. It returns an
// *apperr.Error (Unauthorized) when the token is not valid.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (*api.Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, token string) (*api.Principal, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, token string) (*api.Principal, error) {
	return f(ctx, token)
}

// authenticate is the authentication hook: a request with an Authorization
// header gets a principal or a 401; a request without one is anonymous and
// routes decide (api.Op.Access) whether that is enough.
func (g *Gateway) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="streamflix"`)
			api.WriteError(w, r, ErrBadAuthz)
			return
		}
		p, err := g.auth.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			if apperr.KindOf(err) == apperr.Unauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="streamflix", error="invalid_token"`)
			}
			api.WriteError(w, r, err)
			return
		}
		stateFrom(r.Context()).userID = p.UserID
		next.ServeHTTP(w, r.WithContext(api.WithPrincipal(r.Context(), p)))
	})
}

// ErrRateLimited is answered with 429 and Retry-After.
var ErrRateLimited = apperr.New(apperr.RateLimited, "rate_limited", "Too many requests; slow down and retry after the time in Retry-After.")

// rateLimit limits requests per client IP before authentication and per
// user after it; the counters live in Redis when configured, so the limit
// holds across instances.
func (g *Gateway) rateLimit(scope string, next http.Handler) http.Handler {
	rate := g.cfg.RateLimitIP
	if scope == "user" {
		rate = g.cfg.RateLimitUser
	}
	if !rate.Enabled() {
		return next
	}
	limit := cache.Limit{Rate: rate.N, Period: rate.Period, Burst: rate.Burst}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var key string
		if scope == "user" {
			p := api.PrincipalFrom(r.Context())
			if p == nil {
				next.ServeHTTP(w, r)
				return
			}
			key = "rl:user:" + p.UserID
		} else {
			key = "rl:ip:" + ClientIP(r.Context())
		}
		res, err := g.limiter.Allow(r.Context(), key, limit)
		if err != nil {
			// The limiter already fell back to in-process counting where it
			// could; an error here means even that failed: serve the request.
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("rate limiter unavailable")
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(res.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(res.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(res.ResetAfter)))
		h.Set("RateLimit-Policy", fmt.Sprintf("%d;w=%d;burst=%d;comment=%q", rate.N, int(rate.Period.Seconds()), rate.Burst, scope))
		if !res.Allowed {
			e := *ErrRateLimited
			e.RetryAfter = max(1, ceilSeconds(res.RetryAfter))
			api.WriteError(w, r, &e)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func ceilSeconds(d time.Duration) int {
	if d <= 0 {
		return 0
	}
	return int((d + time.Second - 1) / time.Second)
}

// opMiddleware applies what depends on the route: the body size limit and
// the request timeout.
func (g *Gateway) opMiddleware(op api.Op, next http.Handler) http.Handler {
	limit := g.cfg.MaxBodyBytes
	if op.MaxBody > 0 {
		limit = op.MaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > limit {
			api.WriteError(w, r, api.ErrBodyTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if !op.Stream {
			ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
			defer cancel()
			r = r.WithContext(ctx)
		}
		next.ServeHTTP(w, r)
	})
}

// errNotFound and errMethod answer unknown routes and wrong methods.
var (
	errNotFound = apperr.New(apperr.NotFound, "route_not_found", "No such route.")
	errMethod   = &apperr.Error{Kind: apperr.Invalid, Code: "method_not_allowed", Message: "This route does not accept this method.", Status: http.StatusMethodNotAllowed}
)

func notFound(w http.ResponseWriter, r *http.Request) { api.WriteError(w, r, errNotFound) }

// methodNotAllowed answers 405 with the Allow header (RFC 9110), which chi
// sets only in its own default handler.
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if rc := chi.RouteContext(r.Context()); rc != nil && rc.Routes != nil {
		var allowed []string
		for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			if rc.Routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) > 0 {
			w.Header().Set("Allow", strings.Join(allowed, ", "))
		}
	}
	api.WriteError(w, r, errMethod)
}
