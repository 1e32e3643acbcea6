package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
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

// requestState is the one value begin adds to a request's context, and is
// itself that context: the request id and logger (for logging.RequestID,
// zerolog.Ctx and logging.Ctx), the client IP, and what inner middleware
// learns later (the user, for the access log). One allocation instead of a
// context per value and a logger per request.
type requestState struct {
	context.Context
	log      logging.Scope
	clientIP string
	// peerTrusted: the connection's peer is a trusted proxy, so its
	// forwarded headers (X-Forwarded-For, -Proto) are believed.
	peerTrusted bool
	userID      string
	// idHeader backs the X-Request-Id response header: a one-element slice
	// with len == cap, so an Add by anyone else copies instead of writing
	// here.
	idHeader [1]string
}

type stateKey struct{}

func (s *requestState) Value(key any) any {
	if _, ok := key.(stateKey); ok {
		return s
	}
	if v, ok := s.log.Value(key); ok {
		return v
	}
	return s.Context.Value(key)
}

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

// saneRequestID reports whether an incoming X-Request-Id may be kept: 8 to
// 128 of A-Z a-z 0-9 . _ : - (nginx's map uses the same pattern).
func saneRequestID(id string) bool {
	if len(id) < 8 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// newID returns 128 random bits as 32 lowercase hex digits (the format
// nginx and saneRequestID accept). The bits come from math/rand/v2, the
// runtime's per-thread ChaCha8 generator seeded from the kernel: unique
// across instances and restarts with overwhelming probability and not
// practically guessable, at less than half crypto/rand's cost. A request id
// is a correlation handle, not a secret.
func newID() string {
	const hexDigits = "0123456789abcdef"
	var b [32]byte
	for half := 0; half < 2; half++ {
		v := rand.Uint64()
		for i := 15; i >= 0; i-- {
			b[half*16+i] = hexDigits[v&0xf]
			v >>= 4
		}
	}
	return string(b[:])
}

// begin is the outermost middleware: request id, client IP, logger in the
// context, panic recovery, one access-log line and metrics per request.
func (g *Gateway) begin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			id = newID()
		}
		st := &requestState{Context: r.Context()}
		st.clientIP, st.peerTrusted = g.clientIP(r)
		st.log.Init(id, &g.log)
		st.idHeader[0] = id
		w.Header()["X-Request-Id"] = st.idHeader[:]
		r = r.WithContext(st)
		if headerBytes(r) > MaxHeaderBytes {
			// Answered here rather than by net/http, whose 431 is plain text.
			w.Header().Set("Connection", "close")
			api.WriteError(w, r, api.ErrHeadersTooLarge)
			return
		}

		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		g.metrics.InFlight().Inc()
		defer func() {
			g.metrics.InFlight().Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				st.log.Logger().Error().Str("panic", fmt.Sprint(p)).Bytes("stack", debug.Stack()).Msg("panic serving request")
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
			// The root logger plus request_id, rather than the request's
			// logger: the same line, without deriving a logger for it.
			ev := g.log.Info()
			if status >= 500 {
				ev = g.log.Error()
			}
			ev.Str("request_id", id).Str("method", r.Method).Str("route", route).Str("path", r.URL.Path).
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

// MaxHeaderBytes is the most a request's line and headers may take; a
// larger request answers 431 request_headers_too_large as problem+json.
// The server's own limit (ServerMaxHeaderBytes) sits well above it, so
// that net/http, whose answer is plain text, only turns away requests far
// past it.
const MaxHeaderBytes = 64 << 10

// ServerMaxHeaderBytes is http.Server.MaxHeaderBytes for the gateway.
const ServerMaxHeaderBytes = 1 << 20

// headerBytes is about what the request line and headers took on the wire.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4 + len(r.Host) + 8
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not itself a trusted proxy.
// Walking from the right means a client cannot forge its address by
// sending its own X-Forwarded-For: only hops added by trusted proxies are
// skipped. peerTrusted reports whether the peer itself is a trusted proxy;
// RemoteAddr is parsed here once per request.
func (g *Gateway) clientIP(r *http.Request) (ip string, peerTrusted bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host, false
	}
	peerText := host
	if !g.trusted(peer.Unmap()) {
		return addrString(peer, peerText), false
	}
	// Walk the hops right to left across all X-Forwarded-For lines, as if
	// they were joined with commas, without building the joined list.
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for {
			hop := line
			j := strings.LastIndexByte(line, ',')
			if j >= 0 {
				hop, line = line[j+1:], line[:j]
			}
			hop = strings.TrimSpace(hop)
			a, err := netip.ParseAddr(hop)
			if err != nil {
				return addrString(peer, peerText), true // garbage: stop believing the header here
			}
			if !g.trusted(a.Unmap()) {
				return addrString(a, hop), true
			}
			peer, peerText = a, hop
			if j < 0 {
				break
			}
		}
	}
	return addrString(peer, peerText), true
}

// addrString returns a's text form, unmapped from IPv6 where it is an
// IPv4-mapped address. text is what a was parsed from: netip accepts IPv4
// only in its canonical dotted form, so for IPv4 text is returned as it is,
// without allocating.
func addrString(a netip.Addr, text string) string {
	if a.Is4() {
		return text
	}
	return a.Unmap().String()
}

func (g *Gateway) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// headerValue returns v as a header value that can be shared by every
// response: len == cap, so that Header.Add copies instead of appending into
// it. Header.Set and Del replace the slice; nothing may write into it.
func headerValue(v string) []string { return []string{v} }

// securityHeaderValues are the headers every response carries, by canonical
// key, so they are set without canonicalizing or allocating per request.
var securityHeaderValues = []struct {
	key string
	val []string
}{
	{"X-Content-Type-Options", headerValue("nosniff")},
	{"X-Frame-Options", headerValue("DENY")},
	{"Referrer-Policy", headerValue("strict-origin-when-cross-origin")},
	{"Cross-Origin-Opener-Policy", headerValue("same-origin")},
	{"Permissions-Policy", headerValue("camera=(), microphone=(), geolocation=(), interest-cohort=()")},
	{"Content-Security-Policy", headerValue("default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; " +
		"style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")},
}

var hstsValue = headerValue("max-age=63072000; includeSubDomains")

// securityHeaders sets headers every response carries.
func (g *Gateway) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, sh := range securityHeaderValues {
			h[sh.key] = sh.val
		}
		if r.TLS != nil || (stateFrom(r.Context()).peerTrusted && r.Header.Get("X-Forwarded-Proto") == "https") {
			h["Strict-Transport-Security"] = hstsValue
		}
		next.ServeHTTP(w, r)
	})
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
	// What does not change between requests is formatted once.
	burst := rate.Burst
	if burst == 0 {
		burst = rate.N
	}
	limitHeader := headerValue(strconv.Itoa(burst))
	policyHeader := headerValue(fmt.Sprintf("%d;w=%d;burst=%d;comment=%q", rate.N, int(rate.Period.Seconds()), rate.Burst, scope))
	keyPrefix := "rl:" + scope + ":"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var key string
		if scope == "user" {
			p := api.PrincipalFrom(r.Context())
			if p == nil {
				next.ServeHTTP(w, r)
				return
			}
			key = keyPrefix + p.UserID
		} else {
			key = keyPrefix + ClientIP(r.Context())
		}
		res, err := g.limiter.Allow(r.Context(), key, limit)
		if err != nil {
			// The limiter already fell back to in-process counting where it
			// could; an error here means even that failed: serve the request.
			zerolog.Ctx(r.Context()).Warn().Err(err).Msg("rate limiter unavailable")
			next.ServeHTTP(w, r)
			return
		}
		// Keys in canonical form (RateLimit-* canonicalizes to Ratelimit-*).
		// strconv.Itoa allocates nothing below 100, so no cache of ints.
		h := w.Header()
		if res.Limit == burst {
			h["Ratelimit-Limit"] = limitHeader
		} else {
			h["Ratelimit-Limit"] = []string{strconv.Itoa(res.Limit)}
		}
		vals := new([2]string)
		vals[0], vals[1] = strconv.Itoa(res.Remaining), strconv.Itoa(ceilSeconds(res.ResetAfter))
		h["Ratelimit-Remaining"] = vals[0:1:1]
		h["Ratelimit-Reset"] = vals[1:2:2]
		h["Ratelimit-Policy"] = policyHeader
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
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
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

// NotFound answers 404 route_not_found as problem+json, as the router does
// for a path no route serves; for handlers that take over unmatched paths
// (the web app) and hand back the ones they do not serve.
func NotFound(w http.ResponseWriter, r *http.Request) { notFound(w, r) }

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
