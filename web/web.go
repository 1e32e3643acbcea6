// Package web serves the browser app: the files Vite builds into dist/,
// embedded in the binary. Hashed files under /assets/ are cached for a year;
// index.html is revalidated on every load, and every app route (a path that
// is not a file) gets index.html so that the app's router can take over.
//
// A clean clone has only dist/.keep, so the Go build works before the web
// app is built; then app routes answer a page that says how to build it.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
)

//go:embed all:dist
var dist embed.FS

// Dist returns the built app: the contents of dist/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded; Sub fails only on a malformed name
	}
	return sub
}

// Cache-Control values.
const (
	// CacheImmutable is for files whose name holds a hash of their content.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheRevalidate is for index.html and other unhashed files: always
	// ask, and get 304 when nothing changed.
	CacheRevalidate = "no-cache"
)

// reserved are the path prefixes that are never app routes: their unknown
// paths keep the API's problem+json 404.
var reserved = []string{"/api", "/media", "/metrics", "/healthz", "/readyz"}

// IsReserved reports whether p belongs to the server rather than the app:
// one of reserved or anything under it.
func IsReserved(p string) bool {
	for _, r := range reserved {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// notBuiltPage is served for app routes when dist/ holds no index.html.
const notBuiltPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>streamflix: web app not built</title></head>
<body style="background:#141414;color:#eee;font:16px/1.5 system-ui,sans-serif;padding:3rem">
<h1>The web app is not built</h1>
<p>This binary was built without the web app. Run <code>make web</code> (or <code>make build</code>) and start it again.</p>
<p>The API is served as usual: <a style="color:#e50914" href="/api/docs">/api/docs</a>.</p>
</body></html>
`

// Handler serves the app from fsys (usually Dist()). Requests it does not
// serve (another method, a reserved path, a missing asset) go to notFound.
func Handler(fsys fs.FS, notFound http.Handler) http.Handler {
	return &handler{fsys: fsys, notFound: notFound, files: map[string]*file{}}
}

type handler struct {
	fsys     fs.FS
	notFound http.Handler

	mu    sync.Mutex
	files map[string]*file // by clean path without the leading slash
}

// file is one file of the build, read once, with its gzipped form when that
// is smaller.
type file struct {
	body, gz []byte
	etag     string
	ctype    string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || IsReserved(r.URL.Path) {
		h.notFound.ServeHTTP(w, r)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if strings.HasPrefix(name, "assets/") {
		f := h.open(name)
		if f == nil {
			h.notFound.ServeHTTP(w, r)
			return
		}
		routeLabel(r, "/assets/*")
		h.serve(w, r, f, CacheImmutable)
		return
	}
	// A file at the top of dist (favicon, robots.txt) is served as itself;
	// any other path is an app route.
	if name != "" && name != "index.html" && !strings.Contains(name, "/") {
		if f := h.open(name); f != nil {
			routeLabel(r, "/{file}")
			h.serve(w, r, f, CacheRevalidate)
			return
		}
	}
	routeLabel(r, "/{app}")
	index := h.open("index.html")
	if index == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method == http.MethodGet {
			_, _ = io.WriteString(w, notBuiltPage)
		}
		return
	}
	h.serve(w, r, index, CacheRevalidate)
}

// routeLabel names the route in the access log and metrics, which would
// otherwise call every app request "unmatched".
func routeLabel(r *http.Request, pattern string) {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		rc.RoutePatterns = append(rc.RoutePatterns, pattern)
	}
}

// open returns the file at name, read and cached on first use, or nil.
func (h *handler) open(name string) *file {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f, ok := h.files[name]; ok {
		return f
	}
	body, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		// Not cached: a missing name costs a failed lookup in the embedded
		// FS, and caching it would let strangers grow the map.
		return nil
	}
	sum := sha256.Sum256(body)
	f := &file{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
	f.ctype = mime.TypeByExtension(path.Ext(name))
	if f.ctype == "" {
		f.ctype = http.DetectContentType(body)
	}
	if compressible(f.ctype) && len(body) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body) {
			f.gz = buf.Bytes()
		}
	}
	h.files[name] = f
	return f
}

func compressible(ctype string) bool {
	return strings.HasPrefix(ctype, "text/") || strings.Contains(ctype, "javascript") ||
		strings.Contains(ctype, "json") || strings.Contains(ctype, "svg")
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, f *file, cache string) {
	hd := w.Header()
	hd.Set("Cache-Control", cache)
	hd.Set("Content-Type", f.ctype)
	body, etag := f.body, f.etag
	if f.gz != nil {
		hd.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			// A strong ETag names one representation: the gzipped one gets its own.
			body, etag = f.gz, strings.TrimSuffix(f.etag, `"`)+`-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatch(match, etag) {
		hd.Del("Content-Encoding")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// (and does not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		params = strings.ReplaceAll(params, " ", "")
		return params != "q=0" && params != "q=0.0" && params != "q=0.00" && params != "q=0.000"
	}
	return false
}
