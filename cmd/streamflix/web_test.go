package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/web"
)

// TestWebApp checks how the gateway serves the embedded web app: app routes
// get index.html (or, in a clone where the app is not built, the page that
// says so) with the security headers, while unknown paths under the API's
// prefixes keep their problem+json 404 and the platform routes still work.
func TestWebApp(t *testing.T) {
	t.Parallel()
	_, dbURL := pgtest.NewDBURL(t)
	a := start(t, env(dbURL, nil), nil)

	t.Run("AppRoutes", func(t *testing.T) {
		t.Parallel()
		api := newClient(t, a.URL())
		for _, path := range []string{"/", "/profiles", "/titles/0b6c", "/verify-email?token=x", "/reset-password?token=y", "/account"} {
			resp := api.do("GET", path, nil)
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("GET %s: status %d", path, resp.StatusCode)
				continue
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			if resp.StatusCode == http.StatusServiceUnavailable && !strings.Contains(string(resp.body), "make web") {
				t.Errorf("GET %s: 503 without the build hint: %s", path, resp.body)
			}
			if resp.StatusCode == http.StatusOK && resp.Header.Get("Cache-Control") != web.CacheRevalidate {
				t.Errorf("GET %s: Cache-Control %q", path, resp.Header.Get("Cache-Control"))
			}
			if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("GET %s: no CSP on the app page", path)
			}
		}
	})
	t.Run("ReservedPrefixes", func(t *testing.T) {
		t.Parallel()
		api := newClient(t, a.URL())
		for _, path := range []string{"/api/v1/no-such-route", "/api", "/media/artwork/x/185.jpg", "/metrics/x", "/healthz/x", "/readyz/x", "/assets/no-such-file.js"} {
			resp := api.do("GET", path, nil)
			var p struct{ Code string }
			_ = json.Unmarshal(resp.body, &p)
			want := "route_not_found"
			if strings.HasPrefix(path, "/media/") {
				want = "media_not_found" // the media handler's own 404
			}
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" || p.Code != want {
				t.Errorf("GET %s: %d %s %s; want 404 problem+json %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), resp.body, want)
			}
		}
		if resp := api.do("POST", "/profiles", raw("application/json", []byte("{}"))); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST to an app route: status %d, want 404", resp.StatusCode)
		}
	})
	t.Run("PlatformRoutes", func(t *testing.T) {
		t.Parallel()
		api := newClient(t, a.URL())
		for _, path := range []string{"/healthz", "/metrics", "/api/openapi.json"} {
			if resp := api.do("GET", path, nil); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: status %d", path, resp.StatusCode)
			}
		}
	})
}
