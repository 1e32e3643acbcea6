package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/streamflix/streamflix/web"
)

const indexHTML = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`

var appJS = "console.log('streamflix');\n" + strings.Repeat("export const x = 'a fairly compressible line';\n", 40)

type testBundle struct {
	h http.Handler
}

func setup(t *testing.T, fsys fstest.MapFS) testBundle {
	t.Helper()
	notFound := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"code":"route_not_found"}`)
	})
	return testBundle{h: web.Handler(fsys, notFound)}
}

func built() fstest.MapFS {
	return fstest.MapFS{
		"index.html":             {Data: []byte(indexHTML)},
		"assets/index-abc123.js": {Data: []byte(appJS)},
		"favicon.svg":            {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		".keep":                  {Data: nil},
	}
}

func (tb testBundle) get(t *testing.T, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	tb.h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandler(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path string
		status             int
		cache, ctype       string
		bodyHas            string
	}{
		{"Root", "GET", "/", 200, web.CacheRevalidate, "text/html; charset=utf-8", `<div id="root">`},
		{"AppRoute", "GET", "/titles/5b3c", 200, web.CacheRevalidate, "text/html; charset=utf-8", `<div id="root">`},
		{"AppRouteWithQuery", "GET", "/verify-email?token=abc", 200, web.CacheRevalidate, "text/html; charset=utf-8", `<div id="root">`},
		{"IndexByName", "GET", "/index.html", 200, web.CacheRevalidate, "text/html; charset=utf-8", `<div id="root">`},
		{"HashedAsset", "GET", "/assets/index-abc123.js", 200, web.CacheImmutable, "text/javascript; charset=utf-8", "streamflix"},
		{"TopFile", "GET", "/favicon.svg", 200, web.CacheRevalidate, "image/svg+xml", "<svg"},
		{"Head", "HEAD", "/profiles", 200, web.CacheRevalidate, "text/html; charset=utf-8", ""},
		{"MissingAsset", "GET", "/assets/nope.js", 404, "", "application/problem+json", "route_not_found"},
		{"API", "GET", "/api/v1/nope", 404, "", "application/problem+json", "route_not_found"},
		{"APIBare", "GET", "/api", 404, "", "application/problem+json", "route_not_found"},
		{"Media", "GET", "/media/artwork/x/185.jpg", 404, "", "application/problem+json", "route_not_found"},
		{"Metrics", "GET", "/metrics/x", 404, "", "application/problem+json", "route_not_found"},
		{"Healthz", "GET", "/healthz/deep", 404, "", "application/problem+json", "route_not_found"},
		{"Readyz", "GET", "/readyz/", 404, "", "application/problem+json", "route_not_found"},
		{"Post", "POST", "/titles", 404, "", "application/problem+json", "route_not_found"},
		{"APILookalike", "GET", "/apix", 200, web.CacheRevalidate, "text/html; charset=utf-8", `<div id="root">`},
		{"DotDot", "GET", "/assets/../../web.go", 200, web.CacheRevalidate, "text/html; charset=utf-8", `<div id="root">`},
	}
	tb := setup(t, built())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := tb.get(t, tt.method, tt.path, nil)
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.status)
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control = %q, want %q", got, tt.cache)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", got, tt.ctype)
			}
			b := body(t, resp)
			if !strings.Contains(b, tt.bodyHas) {
				t.Errorf("body %q does not hold %q", b, tt.bodyHas)
			}
			if tt.method == "HEAD" && b != "" {
				t.Errorf("HEAD answered a body: %q", b)
			}
		})
	}
}

func TestHandlerGzip(t *testing.T) {
	t.Parallel()
	tb := setup(t, built())

	t.Run("Gzipped", func(t *testing.T) {
		t.Parallel()
		resp := tb.get(t, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"})
		if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("Content-Encoding %q, Vary %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if string(plain) != appJS {
			t.Errorf("gunzipped body differs from the file")
		}
		if n := resp.Header.Get("Content-Length"); n == "" || n == "0" {
			t.Errorf("Content-Length = %q", n)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		resp := tb.get(t, "GET", "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
		if resp.Header.Get("Content-Encoding") != "" || body(t, resp) != appJS {
			t.Errorf("sent gzip to a client that refused it")
		}
	})
	t.Run("NotModified", func(t *testing.T) {
		t.Parallel()
		const js = "/assets/index-abc123.js"
		first := tb.get(t, "GET", js, map[string]string{"Accept-Encoding": "gzip"})
		etag := first.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		again := tb.get(t, "GET", js, map[string]string{"Accept-Encoding": "gzip", "If-None-Match": etag})
		if again.StatusCode != http.StatusNotModified || body(t, again) != "" {
			t.Errorf("revalidation: status %d", again.StatusCode)
		}
		plain := tb.get(t, "GET", js, map[string]string{"If-None-Match": etag})
		if plain.StatusCode != http.StatusOK {
			t.Errorf("the gzipped representation's ETag matched the plain one: status %d", plain.StatusCode)
		}
	})
}

func TestHandlerNotBuilt(t *testing.T) {
	t.Parallel()
	tb := setup(t, fstest.MapFS{".keep": {Data: nil}})
	resp := tb.get(t, "GET", "/profiles", nil)
	b := body(t, resp)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(b, "make web") {
		t.Errorf("status %d, body %q; want 503 saying to run make web", resp.StatusCode, b)
	}
	if resp := tb.get(t, "GET", "/api/v1/x", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("API path: status %d, want 404", resp.StatusCode)
	}
}

// TestDist checks the embedded build: either the placeholder of a clean
// clone or a real build whose index.html loads its scripts from /assets/.
func TestDist(t *testing.T) {
	t.Parallel()
	tb := testBundle{h: web.Handler(web.Dist(), http.NotFoundHandler())}
	resp := tb.get(t, "GET", "/", nil)
	b := body(t, resp)
	switch resp.StatusCode {
	case http.StatusServiceUnavailable:
		if !strings.Contains(b, "make web") {
			t.Errorf("not-built page: %q", b)
		}
	case http.StatusOK:
		i := strings.Index(b, `src="/assets/`)
		if i < 0 {
			t.Fatalf("index.html loads no script from /assets/: %q", b)
		}
		src := b[i+len(`src="`):]
		src = src[:strings.IndexByte(src, '"')]
		js := tb.get(t, "GET", src, nil)
		if js.StatusCode != http.StatusOK || !bytes.Contains([]byte(js.Header.Get("Content-Type")), []byte("javascript")) {
			t.Errorf("%s: status %d, type %q", src, js.StatusCode, js.Header.Get("Content-Type"))
		}
	default:
		t.Errorf("GET /: status %d", resp.StatusCode)
	}
}
