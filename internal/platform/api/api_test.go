package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/logging"
)

func TestLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query   string
		want    int
		wantErr bool
	}{
		{"", 20, false},
		{"limit=1", 1, false},
		{"limit=50", 50, false},
		{"limit=100", 100, false},
		{"limit=0", 0, true},
		{"limit=-5", 0, true},
		{"limit=101", 0, true},
		{"limit=x", 0, true},
		{"limit=1.5", 0, true},
		{"limit=99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			n, err := api.Limit(httptest.NewRequest("GET", "/things?"+tt.query, nil))
			if tt.wantErr {
				e := apperr.From(err)
				if e == nil || e.Code != "validation_failed" || len(e.Fields) != 1 || e.Fields[0].Field != "limit" {
					t.Fatalf("Limit() error = %v, want validation_failed naming limit", err)
				}
				if e.HTTPStatus() != http.StatusUnprocessableEntity {
					t.Errorf("status = %d, want 422", e.HTTPStatus())
				}
				return
			}
			if err != nil || n != tt.want {
				t.Errorf("Limit() = %d, %v; want %d", n, err, tt.want)
			}
		})
	}
}

func TestOpenAPIPath(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"/api/v1/titles", "/api/v1/titles"},
		{"/api/v1/titles/{id}", "/api/v1/titles/{id}"},
		{"/api/v1/titles/{id:[0-9]+}", "/api/v1/titles/{id}"},
		{"/api/v1/titles/{id:[a-z]{2,4}}/seasons/{n}", "/api/v1/titles/{id}/seasons/{n}"},
		{"/api/v1/users/{user_id}/profiles/{profileID:[0-9a-f-]+}", "/api/v1/users/{user_id}/profiles/{profileID}"},
		{"/media/*", "/media/*"},
		{"/broken/{id", "/broken/{id"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := api.OpenAPIPath(tt.in); got != tt.want {
				t.Errorf("OpenAPIPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// renderBundle is a request carrying a request id and a logger that writes
// into log, as the gateway sets them up.
type renderBundle struct {
	req *http.Request
	log *bytes.Buffer
}

func setupRender(t *testing.T) renderBundle {
	t.Helper()
	var buf bytes.Buffer
	l := zerolog.New(&buf)
	ctx := logging.WithRequestID(context.Background(), "req-test-0001")
	ctx = l.WithContext(ctx)
	return renderBundle{req: httptest.NewRequest("POST", "/api/v1/things?x=1", nil).WithContext(ctx), log: &buf}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	errEmailTaken := apperr.New(apperr.Conflict, "email_taken", "Email already registered.")
	limited := *apperr.New(apperr.RateLimited, "rate_limited", "Slow down.")
	limited.RetryAfter = 7
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		detail     string
		fields     []apperr.FieldError
		retryAfter string
		logged     bool
	}{
		{"Conflict", errEmailTaken, 409, "email_taken", "Email already registered.", nil, "", false},
		{"Wrapped", fmt.Errorf("create user: %w", errEmailTaken), 409, "email_taken", "Email already registered.", nil, "", false},
		{"ValidationFields", apperr.Validation(
			apperr.FieldError{Field: "email", Code: "invalid_email", Message: "Not an email address."},
			apperr.FieldError{Field: "name", Code: "required", Message: "Required."}),
			422, "validation_failed", "The request has invalid fields.", []apperr.FieldError{
				{Field: "email", Code: "invalid_email", Message: "Not an email address."},
				{Field: "name", Code: "required", Message: "Required."},
			}, "", false},
		{"BadRequest", apperr.BadRequest("malformed_json", "Bad JSON."), 400, "malformed_json", "Bad JSON.", nil, "", false},
		{"RetryAfter", &limited, 429, "rate_limited", "Slow down.", nil, "7", false},
		{"PlainError", errors.New("pq: password authentication failed for user secretuser"), 500, "internal", "Internal error.", nil, "", true},
		{"InternalKind", apperr.New(apperr.Internal, "db_down", "connection to 10.0.0.5 refused"), 500, "internal", "Internal error.", nil, "", true},
		{"DeadlineExceeded", context.DeadlineExceeded, 503, "request_timeout", "The request took too long; try again.", nil, "", false},
		{"WrappedDeadline", fmt.Errorf("find titles: %w", context.DeadlineExceeded), 503, "request_timeout", "The request took too long; try again.", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tb := setupRender(t)
			rec := httptest.NewRecorder()
			api.WriteError(rec, tb.req, tt.err)

			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			var p api.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("body: %v: %s", err, rec.Body)
			}
			want := api.Problem{
				Type: api.ProblemTypeBase + tt.code, Title: http.StatusText(tt.status), Status: tt.status,
				Detail: tt.detail, Code: tt.code, Instance: "/api/v1/things", RequestID: "req-test-0001", Errors: tt.fields,
			}
			if fmt.Sprintf("%+v", p) != fmt.Sprintf("%+v", want) {
				t.Errorf("problem =\n  %+v\nwant\n  %+v", p, want)
			}
			if tt.logged {
				if strings.Contains(rec.Body.String(), tt.err.Error()) || strings.Contains(rec.Body.String(), "10.0.0.5") || strings.Contains(rec.Body.String(), "secretuser") {
					t.Errorf("internal error leaked to the client: %s", rec.Body)
				}
				log := tb.log.String()
				if !strings.Contains(log, "secretuser") && !strings.Contains(log, "10.0.0.5") {
					t.Errorf("internal error not logged; log: %s", log)
				}
				if !strings.Contains(log, "req-test-0001") {
					t.Errorf("internal error logged without the request id; log: %s", log)
				}
			} else if tb.log.Len() != 0 {
				t.Errorf("client error logged as internal: %s", tb.log)
			}
		})
	}
}

type input struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
	Inner struct {
		On bool `json:"on"`
	} `json:"inner"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ct     string
		body   string
		limit  int64
		status int
		code   string
		field  string
	}{
		{"OK", "application/json", `{"name":"a","count":2,"inner":{"on":true}}`, 0, 0, "", ""},
		{"Malformed", "application/json", `{"name"`, 0, 400, "malformed_json", ""},
		{"Empty", "application/json", ``, 0, 400, "empty_body", ""},
		{"UnknownField", "application/json", `{"nope":1}`, 0, 422, "validation_failed", "nope"},
		{"WrongType", "application/json", `{"count":"two"}`, 0, 422, "validation_failed", "count"},
		{"WrongTypeNested", "application/json", `{"inner":{"on":"yes"}}`, 0, 422, "validation_failed", "inner.on"},
		{"TextPlain", "text/plain", `{}`, 0, 415, "unsupported_media_type", ""},
		{"TwoObjects", "application/json", `{}{}`, 0, 400, "malformed_json", ""},
		{"TooLarge", "application/json", `{"name":"` + strings.Repeat("x", 100) + `"}`, 50, 413, "body_too_large", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ct)
			if tt.limit > 0 {
				req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, tt.limit)
			}
			var dst input
			err := api.Decode(req, &dst)
			if tt.code == "" {
				if err != nil || dst.Name != "a" || dst.Count != 2 || !dst.Inner.On {
					t.Fatalf("Decode() = %v, dst %+v", err, dst)
				}
				return
			}
			e := apperr.From(err)
			if e == nil || e.Code != tt.code || e.HTTPStatus() != tt.status {
				t.Fatalf("Decode() error = %v, want %s (%d)", err, tt.code, tt.status)
			}
			if tt.field != "" && (len(e.Fields) != 1 || e.Fields[0].Field != tt.field) {
				t.Errorf("fields = %+v, want one naming %q", e.Fields, tt.field)
			}
		})
	}
}

func TestRouterAccess(t *testing.T) {
	t.Parallel()
	mux := chi.NewRouter()
	doc := api.NewDoc("t", "v")
	r := api.NewRouter(mux, "/api/v1", doc)
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	r.Handle(api.Op{Method: "GET", Path: "/public", ID: "public"}, ok)
	r.Handle(api.Op{Method: "GET", Path: "/user", ID: "user", Access: api.User}, ok)
	r.Handle(api.Op{Method: "GET", Path: "/profile", ID: "profile", Access: api.Profile}, ok)
	r.Handle(api.Op{Method: "GET", Path: "/admin", ID: "admin", Access: api.Admin}, ok)

	viewer := &api.Principal{UserID: "u", Roles: []string{api.RoleViewer}}
	withProfile := &api.Principal{UserID: "u", ProfileID: "p", Roles: []string{api.RoleViewer}}
	admin := &api.Principal{UserID: "a", Roles: []string{api.RoleAdmin}}
	tests := []struct {
		name   string
		path   string
		p      *api.Principal
		status int
		code   string
	}{
		{"PublicAnonymous", "/public", nil, 204, ""},
		{"UserAnonymous", "/user", nil, 401, "unauthorized"},
		{"UserOK", "/user", viewer, 204, ""},
		{"ProfileMissing", "/profile", viewer, 403, "profile_required"},
		{"ProfileOK", "/profile", withProfile, 204, ""},
		{"AdminAnonymous", "/admin", nil, 401, "unauthorized"},
		{"AdminViewer", "/admin", withProfile, 403, "admin_required"},
		{"AdminOK", "/admin", admin, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/api/v1"+tt.path, nil)
			if tt.p != nil {
				req = req.WithContext(api.WithPrincipal(req.Context(), tt.p))
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if tt.code == "" {
				return
			}
			var p api.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != tt.code {
				t.Errorf("code = %q (%v), want %q", p.Code, err, tt.code)
			}
			if tt.status == 401 && rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}

	t.Run("Documented", func(t *testing.T) {
		t.Parallel()
		var got []string
		for _, op := range doc.Ops() {
			got = append(got, fmt.Sprintf("%s %s %d %s", op.Method, op.Path, op.Status, op.Access))
		}
		want := []string{
			"GET /api/v1/admin 204 admin", "GET /api/v1/profile 204 profile",
			"GET /api/v1/public 204 public", "GET /api/v1/user 204 user",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("doc ops =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func TestHasRole(t *testing.T) {
	t.Parallel()
	var nobody *api.Principal
	if nobody.HasRole(api.RoleAdmin) {
		t.Error("nil principal has the admin role")
	}
	p := &api.Principal{Roles: []string{api.RoleViewer}}
	if p.HasRole(api.RoleAdmin) || !p.HasRole(api.RoleViewer) {
		t.Errorf("HasRole wrong for roles %v", p.Roles)
	}
}
