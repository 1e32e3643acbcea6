package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestSameBodies checks that both modes answer both routes with the same
// status and body, so that the benchmark compares like with like, and that
// gateway mode really runs the chain (rate limit headers, access log).
func TestSameBodies(t *testing.T) {
	t.Parallel()
	logPath := filepath.Join(t.TempDir(), "access.log")
	gw, closeGW, err := gatewayHandler("127.0.0.1:0", "memory", logPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeGW)
	bare := bareHandler()

	for _, path := range []string{"/healthz", "/api/v1/bench/item"} {
		t.Run(path, func(t *testing.T) {
			b := serve(bare, path)
			g := serve(gw, path)
			if b.Code != http.StatusOK || g.Code != http.StatusOK {
				t.Fatalf("status: bare %d, gateway %d; want 200", b.Code, g.Code)
			}
			if b.Body.String() != g.Body.String() {
				t.Errorf("bodies differ:\nbare    %s\ngateway %s", b.Body, g.Body)
			}
			if ct := g.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("gateway Content-Type = %q", ct)
			}
		})
	}
	if got := serve(gw, "/api/v1/bench/item").Header().Get("RateLimit-Limit"); got != "100000000" {
		t.Errorf("RateLimit-Limit = %q; want the per-IP limit to run", got)
	}
	closeGW() // flushes the access log
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(logged) == 0 {
		t.Error("access log is empty; want a line per API request")
	}
}

func serve(h http.Handler, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = "192.0.2.7:51234"
	h.ServeHTTP(w, r)
	return w
}

// BenchmarkChain measures each route's handler in process, without the
// network: the cost the chain adds per request, and its allocations.
//
//	go test ./bench/cmd/benchserver -run '^$' -bench Chain -benchmem -cpu 1
func BenchmarkChain(b *testing.B) {
	gw, closeGW, err := gatewayHandler("127.0.0.1:0", "memory", os.DevNull)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(closeGW)
	for _, v := range []struct {
		name string
		h    http.Handler
	}{{"bare", bareHandler()}, {"gateway", gw}} {
		for _, path := range []string{"/healthz", "/api/v1/bench/item"} {
			b.Run(v.name+path, func(b *testing.B) {
				b.ReportAllocs()
				r := httptest.NewRequest("GET", path, nil)
				r.RemoteAddr = "192.0.2.7:51234"
				for b.Loop() {
					// net/http allocates a header map per response too.
					v.h.ServeHTTP(discard{h: http.Header{}}, r)
				}
			})
		}
	}
}

// discard is a ResponseWriter that keeps nothing, so the benchmark measures
// the handlers, not a recorder.
type discard struct{ h http.Header }

func (d discard) Header() http.Header       { return d.h }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) WriteHeader(int)             {}
