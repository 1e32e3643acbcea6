package storage_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/streamflix/streamflix/internal/platform/storage"
)

func TestHandler(t *testing.T) {
	t.Parallel()
	forEach(t, testHandler)
}

func testHandler(t *testing.T, b *testBundle) {
	st := b.st
	body := "0123456789abcdef"
	for _, k := range []string{"artwork/ab/185.jpg", "video/v/master.m3u8"} {
		if err := st.Put(t.Context(), k, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(storage.Handler(st, storage.HandlerOptions{Prefix: "/media/", Immutable: []string{"artwork/"}}))
	defer srv.Close()

	get := func(method, path string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("OK", func(t *testing.T) {
		resp, got := get("GET", "/media/artwork/ab/185.jpg")
		h := resp.Header
		if resp.StatusCode != 200 || got != body || h.Get("Content-Type") != "image/jpeg" || h.Get("Content-Length") != "16" ||
			h.Get("Cache-Control") != "public, max-age=31536000, immutable" || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("ETag") == "" || h.Get("Last-Modified") == "" || h.Get("Accept-Ranges") != "bytes" {
			t.Fatalf("GET: %d %q %v", resp.StatusCode, got, h)
		}
		resp, got = get("GET", "/media/video/v/master.m3u8")
		if resp.StatusCode != 200 || got != body || resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" || resp.Header.Get("Cache-Control") != "public, no-cache" {
			t.Fatalf("mutable object: %d %v", resp.StatusCode, resp.Header)
		}
		resp, got = get("HEAD", "/media/artwork/ab/185.jpg")
		if resp.StatusCode != 200 || got != "" || resp.Header.Get("Content-Length") != "16" {
			t.Fatalf("HEAD: %d %q %v", resp.StatusCode, got, resp.Header)
		}
	})

	t.Run("Range", func(t *testing.T) {
		resp, got := get("GET", "/media/artwork/ab/185.jpg", "Range", "bytes=4-7")
		if resp.StatusCode != http.StatusPartialContent || got != "4567" || resp.Header.Get("Content-Range") != "bytes 4-7/16" {
			t.Fatalf("range: %d %q %v", resp.StatusCode, got, resp.Header)
		}
		resp, _ = get("GET", "/media/artwork/ab/185.jpg", "Range", "bytes=100-")
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Fatalf("range past the end: %d", resp.StatusCode)
		}
	})

	t.Run("Conditional", func(t *testing.T) {
		first, _ := get("GET", "/media/artwork/ab/185.jpg")
		resp, got := get("GET", "/media/artwork/ab/185.jpg", "If-None-Match", first.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified || got != "" {
			t.Fatalf("If-None-Match: %d", resp.StatusCode)
		}
		resp, _ = get("GET", "/media/artwork/ab/185.jpg", "If-Modified-Since", first.Header.Get("Last-Modified"))
		if resp.StatusCode != http.StatusNotModified {
			t.Fatalf("If-Modified-Since: %d", resp.StatusCode)
		}
		resp, _ = get("GET", "/media/artwork/ab/185.jpg", "If-None-Match", `"other"`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("stale If-None-Match: %d", resp.StatusCode)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		for _, p := range []string{"/media/artwork/ab/342.jpg", "/media/", "/media/artwork/ab", "/media/../../etc/passwd", "/media/artwork/%2e%2e/x.jpg", "/media/.tmp-1.jpg", "/other/artwork/ab/185.jpg"} {
			resp, got := get("GET", p)
			var prob struct {
				Status int    `json:"status"`
				Code   string `json:"code"`
			}
			_ = json.Unmarshal([]byte(got), &prob)
			if resp.StatusCode != 404 || resp.Header.Get("Content-Type") != "application/problem+json" || prob.Code != "media_not_found" || prob.Status != 404 {
				t.Errorf("GET %s: %d %s %q", p, resp.StatusCode, resp.Header.Get("Content-Type"), got)
			}
		}
	})
}
