package storage

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/streamflix/streamflix/internal/platform/api"
)

// Cache-Control values of served objects.
const (
	// CacheImmutable is for objects whose key changes whenever their bytes
	// do (content-addressed keys): browsers and the edge keep them a year
	// without asking again.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheRevalidate is for other objects: caches may keep them but ask
	// (If-None-Match, If-Modified-Since) before each reuse.
	CacheRevalidate = "public, no-cache"
)

// HandlerOptions configures Handler.
type HandlerOptions struct {
	// Prefix is the URL path in front of keys, e.g. "/media/".
	Prefix string
	// Immutable lists key prefixes under which keys are content-addressed,
	// e.g. "artwork/"; objects there are served with CacheImmutable, others
	// with CacheRevalidate.
	Immutable []string
}

// Handler serves GET and HEAD of Prefix+key from st through
// http.ServeContent: Range requests, If-Modified-Since and If-None-Match
// (a strong ETag from size and modification time), the key's Content-Type
// with nosniff. A missing object, or a path that is not a valid key, is a
// 404 problem+json with code media_not_found.
func Handler(st Store, o HandlerOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, o.Prefix)
		if !ok || ValidKey(key) != nil {
			api.WriteError(w, r, ErrNotFound)
			return
		}
		obj, err := st.Open(r.Context(), key)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				err = ErrNotFound
			}
			api.WriteError(w, r, err)
			return
		}
		defer obj.Close()
		h := w.Header()
		h.Set("Content-Type", obj.ContentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+strconv.FormatInt(obj.Size, 16)+"-"+strconv.FormatInt(obj.ModTime.UnixNano(), 16)+`"`)
		h.Set("Cache-Control", CacheRevalidate)
		for _, p := range o.Immutable {
			if strings.HasPrefix(key, p) {
				h.Set("Cache-Control", CacheImmutable)
				break
			}
		}
		http.ServeContent(w, r, "", obj.ModTime, obj)
	})
}
