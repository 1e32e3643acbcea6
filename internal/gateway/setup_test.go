package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/gateway"
	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/config"
	"github.com/streamflix/streamflix/internal/platform/metrics"
)

// Bearer tokens the test Authenticator knows. Their values must never
// reach the access log.
const (
	tokenAdmin   = "tok-admin-SECRET-4f1d"
	tokenUser1   = "tok-user1-SECRET-9a2b"
	tokenUser2   = "tok-user2-SECRET-77c0"
	tokenProfile = "tok-profile-SECRET-e3e3"
)

var principals = map[string]*api.Principal{
	tokenAdmin:   {UserID: "admin-1", Roles: []string{api.RoleAdmin}},
	tokenUser1:   {UserID: "user-1", Roles: []string{api.RoleViewer}},
	tokenUser2:   {UserID: "user-2", Roles: []string{api.RoleViewer}},
	tokenProfile: {UserID: "user-3", ProfileID: "profile-3", Roles: []string{api.RoleViewer}},
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type testBundle struct {
	g   *gateway.Gateway
	cfg *config.Config
	log *lockedBuffer
}

// thing is the test module's resource.
type thing struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// thingInput is the test module's request body.
type thingInput struct {
	Name string   `json:"name"`
	Age  int      `json:"age"`
	Tags []string `json:"tags,omitempty"`
}

// setup builds a gateway from env (DATABASE_URL is added) with an in-memory
// limiter, a test Authenticator and the test module's routes mounted under
// /api/v1. opts may change the Deps before the gateway is built.
func setup(t *testing.T, env map[string]string, opts ...func(*gateway.Deps)) *testBundle {
	t.Helper()
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			if v, ok := env[k]; ok {
				return v
			}
			return "postgres://streamflix@127.0.0.1:5432/streamflix?sslmode=disable"
		}
		return env[k]
	}
	cfg, _, err := config.Load("streamflix-test", nil, getenv, io.Discard)
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	buf := &lockedBuffer{}
	d := gateway.Deps{
		Config:  cfg,
		Log:     zerolog.New(buf),
		Metrics: metrics.New("test"),
		Limiter: cache.NewMemory().Limiter,
		Auth: gateway.AuthenticatorFunc(func(_ context.Context, token string) (*api.Principal, error) {
			if p, ok := principals[token]; ok {
				return p, nil
			}
			return nil, gateway.ErrInvalidToken
		}),
		Doc:     api.NewDoc("streamflix", "test"),
		Version: "test",
	}
	for _, o := range opts {
		o(&d)
	}
	g := gateway.New(d)
	mountThings(g.API())
	return &testBundle{g: g, cfg: cfg, log: buf}
}

// mountThings mounts the test module.
func mountThings(r api.Routes) {
	r.Handle(api.Op{Method: "GET", Path: "/things/{id}", ID: "getThing", Summary: "A thing.", Tag: "things", Response: thing{}},
		func(w http.ResponseWriter, r *http.Request) {
			api.JSON(w, http.StatusOK, thing{ID: chi.URLParam(r, "id"), Name: "thing"})
		})
	r.Handle(api.Op{Method: "DELETE", Path: "/things/{id}", ID: "deleteThing", Summary: "Delete a thing.", Tag: "things", Access: api.User},
		func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	r.Handle(api.Op{Method: "POST", Path: "/things", ID: "createThing", Summary: "Create a thing.", Tag: "things", Request: thingInput{}, Response: thing{}},
		func(w http.ResponseWriter, r *http.Request) {
			var in thingInput
			if err := api.Decode(r, &in); err != nil {
				api.WriteError(w, r, err)
				return
			}
			api.JSON(w, http.StatusOK, thing{ID: "1", Name: in.Name})
		})
	r.Handle(api.Op{Method: "POST", Path: "/uploads", ID: "upload", Summary: "A small-bodied route.", Tag: "things", Request: thingInput{}, Response: thing{}, MaxBody: 4096},
		func(w http.ResponseWriter, r *http.Request) {
			var in thingInput
			if err := api.Decode(r, &in); err != nil {
				api.WriteError(w, r, err)
				return
			}
			api.JSON(w, http.StatusOK, thing{ID: "1", Name: in.Name})
		})
	r.Handle(api.Op{Method: "GET", Path: "/things/{id:[0-9]+}/parts", ID: "listThingParts", Summary: "A thing's parts.", Tag: "things", Params: []api.Param{api.LimitParam, api.CursorParam}, Response: []thing{}},
		func(w http.ResponseWriter, r *http.Request) { api.JSON(w, http.StatusOK, []thing{}) })
	r.Handle(api.Op{Method: "GET", Path: "/whoami", ID: "whoami", Summary: "The client IP.", Tag: "debug", ContentType: "text/plain"},
		func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, gateway.ClientIP(r.Context()))
		})
	r.Handle(api.Op{Method: "GET", Path: "/me", ID: "me", Summary: "The signed-in user.", Tag: "debug", Access: api.User, ContentType: "text/plain"},
		func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, api.PrincipalFrom(r.Context()).UserID)
		})
	r.Handle(api.Op{Method: "GET", Path: "/admin/things", ID: "adminThings", Summary: "Admin only.", Tag: "admin", Access: api.Admin, Response: []thing{}},
		func(w http.ResponseWriter, r *http.Request) { api.JSON(w, http.StatusOK, []thing{}) })
	r.Handle(api.Op{Method: "GET", Path: "/profile/things", ID: "profileThings", Summary: "Profile only.", Tag: "things", Access: api.Profile, Response: []thing{}},
		func(w http.ResponseWriter, r *http.Request) { api.JSON(w, http.StatusOK, []thing{}) })
	r.Handle(api.Op{Method: "GET", Path: "/panic", ID: "panic", Summary: "Panics.", Tag: "debug"},
		func(w http.ResponseWriter, r *http.Request) { panic("boom: secret internals") })
	r.Handle(api.Op{Method: "GET", Path: "/slow", ID: "slow", Summary: "Waits for its deadline.", Tag: "debug"},
		func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
			api.WriteError(w, r, r.Context().Err())
		})
}

// serve runs req through the gateway and returns the recorded response.
func (tb *testBundle) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	tb.g.Handler().ServeHTTP(rec, req)
	return rec
}

// get serves a GET of target with optional header pairs.
func (tb *testBundle) get(target string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return tb.serve(req)
}

// problem is what a client reads from an error response.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Code      string `json:"code"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field   string `json:"field"`
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"errors"`
}

// wantProblem checks that rec is a problem+json response with status and
// code, and returns the decoded body.
func wantProblem(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) problem {
	t.Helper()
	return checkProblem(t, rec.Code, rec.Header(), rec.Body.Bytes(), status, code)
}

func checkProblem(t *testing.T, gotStatus int, h http.Header, body []byte, status int, code string) problem {
	t.Helper()
	if gotStatus != status {
		t.Errorf("status = %d, want %d; body %s", gotStatus, status, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if p.Code != code {
		t.Errorf("code = %q, want %q; body %s", p.Code, code, body)
	}
	if p.Status != status {
		t.Errorf("body status = %d, want %d", p.Status, status)
	}
	if !strings.HasSuffix(p.Type, code) {
		t.Errorf("type = %q, want it to end in the code %q", p.Type, code)
	}
	if p.RequestID == "" || p.RequestID != h.Get("X-Request-Id") {
		t.Errorf("request_id = %q, X-Request-Id = %q; want equal and set", p.RequestID, h.Get("X-Request-Id"))
	}
	return p
}
