// Package storage keeps media objects (artwork and video) behind a small
// interface with two implementations, a local directory (Local) and a
// bucket on an S3-compatible server (S3), which pass one contract test
// suite, and serves them over HTTP with Range requests and long cache
// lifetimes.
//
// Objects are named by keys: slash-separated segments of letters, digits,
// '.', '_' and '-', none starting with '.', ending in an extension from a
// fixed list of media types. The extension decides the Content-Type an
// object is served with, in every implementation, so nothing stored can be
// served as HTML or script. Objects stream in and out: no implementation
// holds a whole object in memory.
package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// ErrNotFound is returned when no object has the key.
var ErrNotFound = apperr.New(apperr.NotFound, "media_not_found", "No such media object.")

// ErrInvalidKey is returned (wrapped, naming the key) for a key that is not
// a valid object key; see ValidKey.
var ErrInvalidKey = errors.New("storage: invalid key")

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 512

// Info describes a stored object.
type Info struct {
	Key         string
	Size        int64
	ModTime     time.Time
	ContentType string
}

// Object is an open object: its bytes, seekable, and what it is. The
// caller closes it.
type Object struct {
	io.ReadSeekCloser
	Info
}

// Store keeps objects by key. Implementations are safe for concurrent use.
type Store interface {
	// Put stores r's bytes under key, replacing any object there. Readers
	// see either the old object or the whole new one, never part of it. It
	// returns ErrInvalidKey for a bad key, and ctx's error if ctx ends
	// while r is being read.
	Put(ctx context.Context, key string, r io.Reader) error

	// Open returns the object under key for reading, or ErrNotFound.
	Open(ctx context.Context, key string) (*Object, error)

	// Stat returns what is known of the object under key without opening
	// it, or ErrNotFound: it doubles as an existence check.
	Stat(ctx context.Context, key string) (Info, error)

	// Delete removes the object under key. A missing object is not an
	// error, so that deletes can be retried.
	Delete(ctx context.Context, key string) error

	// List calls fn for every object whose key starts with prefix, in key
	// order, until fn returns an error, which List then returns.
	List(ctx context.Context, prefix string, fn func(Info) error) error
}

// contentTypes maps the extensions keys may end in to the Content-Type
// their objects are served with: images, and the parts of HLS and DASH
// streams and their sources.
var contentTypes = map[string]string{
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".png":  "image/png",
	".webp": "image/webp",
	".gif":  "image/gif",
	".avif": "image/avif",
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
	".m4v":  "video/mp4",
	".ts":   "video/mp2t",
	".aac":  "audio/aac",
	".webm": "video/webm",
	".mov":  "video/quicktime",
	".mkv":  "video/x-matroska",
	".vtt":  "text/vtt; charset=utf-8",
}

// ContentType returns the Content-Type of objects under key, or "" when
// key's extension is not a known media type.
func ContentType(key string) string { return contentTypes[path.Ext(key)] }

// ValidKey returns nil when key may name an object, else an error wrapping
// ErrInvalidKey. A key is at most MaxKeyLen bytes of slash-separated
// segments; each segment is letters, digits, '.', '_' and '-' and does not
// start with '.' (so no "..", no hidden files, no absolute paths); the key
// ends in an extension ContentType knows.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes (want 1 to %d)", ErrInvalidKey, len(key), MaxKeyLen)
	}
	for _, seg := range strings.Split(key, "/") {
		if !validSegment(seg) {
			return fmt.Errorf("%w: %q", ErrInvalidKey, key)
		}
	}
	if ContentType(key) == "" {
		return fmt.Errorf("%w: %q does not end in a known media extension", ErrInvalidKey, key)
	}
	return nil
}

// validPrefix checks a List prefix: like a key, but it may be empty, end
// in '/', or stop part-way through a segment, and needs no extension.
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if len(prefix) > MaxKeyLen {
		return fmt.Errorf("%w: prefix of %d bytes", ErrInvalidKey, len(prefix))
	}
	segs := strings.Split(prefix, "/")
	for i, seg := range segs {
		if seg == "" && i == len(segs)-1 {
			break // a trailing slash
		}
		if !validSegment(seg) {
			return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
		}
	}
	return nil
}

// validSegment reports whether seg may be one segment of a key: letters,
// digits, '.', '_' and '-', not empty and not starting with '.'.
func validSegment(seg string) bool {
	if seg == "" || seg[0] == '.' {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ctxReader fails reads once ctx has ended, so that a Put of a long stream
// stops when its request does.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
