package main

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// TestOpenAPIDescribesEveryRoute fails when the running binary serves a
// route that /api/openapi.json does not describe, or the reverse.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)

	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	newClient(t, a.URL()).do("GET", "/api/openapi.json", nil).want("openapi.json", http.StatusOK, "").decode(&doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routes, err := a.Gateway.Routes()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, r := range routes {
		served[r] = true
	}
	var undocumented, phantom []string
	for r := range served {
		if !documented[r] {
			undocumented = append(undocumented, r)
		}
	}
	for r := range documented {
		if !served[r] {
			phantom = append(phantom, r)
		}
	}
	sort.Strings(undocumented)
	sort.Strings(phantom)
	if len(undocumented) > 0 {
		t.Errorf("served but not in the OpenAPI document: %v", undocumented)
	}
	if len(phantom) > 0 {
		t.Errorf("in the OpenAPI document but not served: %v", phantom)
	}
	for _, want := range []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/registry", "GET /api/v1/admin/jobs", "POST /api/v1/admin/jobs/{id}/retry",
		"PUT /api/v1/admin/titles/{id}/artwork/{slot}", "DELETE /api/v1/admin/titles/{id}/artwork/{slot}", "GET /media/{path}", "HEAD /media/{path}"} {
		if !served[want] || !documented[want] {
			t.Errorf("%s: served %t, documented %t", want, served[want], documented[want])
		}
	}
}
