package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Access says who may call a route. The Router enforces it, and the OpenAPI
// document states it, from the same Op.
type Access int

// Access levels.
const (
	Public  Access = iota // anyone
	User                  // a signed-in user
	Profile               // a signed-in user acting as one of their profiles
	Admin                 // a user with the admin role
)

func (a Access) String() string {
	return [...]string{"public", "user", "profile", "admin"}[a]
}

// Param describes a query or path parameter.
type Param struct {
	Name        string
	In          string // "query" (default), "path" or "header"
	Description string
	Type        string // "string" (default), "integer", "boolean"
	// Format is the JSON Schema format of the value ("uuid", "date-time").
	Format string
	// Enum lists the values accepted, when they are a closed set.
	Enum     []string
	Required bool
}

// Op describes one route: how it is served, who may call it, and what the
// OpenAPI document says about it.
type Op struct {
	Method  string
	Path    string // chi pattern under the router's base, e.g. "/titles/{id}"
	ID      string // operationId, camelCase and unique
	Summary string
	Tag     string
	Access  Access
	// Request is the JSON body's type (a zero value), or nil for none.
	Request any
	// RequestTypes lists the media types of a raw, non-JSON body (an image
	// upload, say), when Request is nil.
	RequestTypes []string
	// Response is the success body's type (a zero value), or nil for none.
	Response any
	// Status is the success status (default 200; 204 when Response is nil).
	Status int
	// ContentType of a non-JSON success body (e.g. "text/html").
	ContentType string
	Params      []Param
	// MaxBody overrides the gateway's body limit for this route (bytes).
	MaxBody int64
	// Stream marks long-lived responses (SSE, media) exempt from the request timeout.
	Stream bool
	// BodyOptional marks Request as optional: the route also accepts no
	// body at all (by default a Request body is required).
	BodyOptional bool
	// Patch marks Request as a partial update decoded over the current
	// values: the document lists its fields with none required.
	Patch bool
	// Example is a sample request body (a value of Request's type) shown in
	// the document; without it one is made from the schema.
	Example any
	// Errors lists the errors the route may answer beyond those implied by
	// its Access, parameters and body (401, 403, 413, 415, 422, 429 and the
	// like are added by the document itself); the document lists each under
	// its status with its code.
	Errors []*apperr.Error
	// Deprecated marks a route being retired: the document says so, and the
	// route keeps working at least until the sunset the summary names.
	Deprecated bool
	// Answers lists what the route answers besides its success body and
	// its errors: a 304 to a conditional GET, /readyz's 503 with its usual
	// body, an HTML page beside the JSON one. An Answer with a status the
	// document already lists adds its content type there.
	Answers []Answer

	// routed is set for ops served through a Router (behind the /api
	// middleware: rate limits, authentication, the text check).
	routed bool
}

// Answer is one more answer of an Op (see Op.Answers).
type Answer struct {
	Status      int
	Description string // default: the status text
	// Body is the body's type (a zero value); nil with ContentType ""
	// means no body (a 304).
	Body any
	// ContentType of the body: default application/json for a Body, a
	// string schema otherwise (text/html).
	ContentType string
}

// NotModified is the answer to a conditional GET whose ETag still holds.
var NotModified = Answer{Status: http.StatusNotModified, Description: "Not Modified: the copy named by If-None-Match is current."}

// FullPath is the route's path as served, base included.
func (o Op) FullPath() string { return o.Path }

// Routes receives a module's routes. Modules call Handle for each.
type Routes interface {
	Handle(op Op, h http.HandlerFunc)
}

// Router mounts Ops on a chi router and records them for the OpenAPI document.
type Router struct {
	mux  chi.Router
	base string
	doc  *Doc
	// Wrap, when set, wraps every handler with per-op middleware (body
	// limits, rate limits) supplied by the gateway.
	Wrap func(op Op, h http.Handler) http.Handler
}

// NewRouter returns a Router mounting ops under base (e.g. "/api/v1") on mux.
func NewRouter(mux chi.Router, base string, doc *Doc) *Router {
	return &Router{mux: mux, base: base, doc: doc}
}

// With returns a Router for a different base on the same mux and document.
func (r *Router) With(base string) *Router {
	c := *r
	c.base = base
	return &c
}

// Handle mounts h for op, behind op's access check, and records op.
func (r *Router) Handle(op Op, h http.HandlerFunc) {
	op.Path = r.base + op.Path
	if op.Status == 0 {
		op.Status = http.StatusOK
		if op.Response == nil && op.ContentType == "" {
			op.Status = http.StatusNoContent
		}
	}
	op.routed = true
	var handler http.Handler = h
	handler = requireAccess(op.Access, handler)
	handler = checkText(handler)
	if r.Wrap != nil {
		handler = r.Wrap(op, handler)
	}
	r.mux.Method(op.Method, op.Path, handler)
	r.doc.add(op)
}

// Errors from access checks.
var (
	ErrProfileRequired = apperr.New(apperr.Forbidden, "profile_required", "Select a profile first.")
	ErrAdminRequired   = apperr.New(apperr.Forbidden, "admin_required", "This needs the admin role.")
)

func requireAccess(a Access, next http.Handler) http.Handler {
	if a == Public {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := PrincipalFrom(r.Context())
		switch {
		case p == nil:
			// RFC 9110: a 401 carries a challenge.
			w.Header().Set("WWW-Authenticate", `Bearer realm="streamflix"`)
			WriteError(w, r, apperr.ErrUnauthorized)
			return
		case a == Profile && p.ProfileID == "":
			WriteError(w, r, ErrProfileRequired)
			return
		case a == Admin && !p.HasRole(RoleAdmin):
			WriteError(w, r, ErrAdminRequired)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Pagination limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// LimitParam is the ?limit= parameter every list takes.
var LimitParam = Param{Name: "limit", Type: "integer", Description: "Items per page, 1 to 100 (default 20)."}

// CursorParam is the ?cursor= parameter every list takes.
var CursorParam = Param{Name: "cursor", Description: "next_cursor from the previous page."}

// Limit reads ?limit= (default 20, 1 to 100).
func Limit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return DefaultLimit, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 || n > MaxLimit {
		return 0, apperr.Validation(apperr.FieldError{Field: "limit", Code: "out_of_range", Message: "Must be a whole number from 1 to 100."})
	}
	return n, nil
}
