package content

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// versionKey holds the catalog version. Every admin write sets a new random
// version; cached entries carry the version in their key, so a write makes
// every instance sharing the cache miss at once, and old entries expire.
const versionKey = "content:v"

// versionTTL keeps the version far longer than any entry it guards.
const versionTTL = 30 * 24 * time.Hour

// bump invalidates every cached catalog read. A failure is logged: entries
// then live at most CacheTTL.
func (s *Service) bump(ctx context.Context) {
	if s.cache == nil {
		return
	}
	if err := s.cache.Set(context.WithoutCancel(ctx), versionKey, []byte(newID()), versionTTL); err != nil {
		s.log.Warn().Err(err).Msg("content: bump catalog version")
	}
}

// version returns the current catalog version, and false when there was
// none: the caller then has set a fresh one and must not store its result,
// which may predate a write that raced with the reset.
func (s *Service) version(ctx context.Context) (string, bool) {
	v, ok, err := s.cache.Get(ctx, versionKey)
	if err == nil && ok {
		return string(v), true
	}
	if err != nil {
		s.log.Warn().Err(err).Msg("content: read catalog version")
		return "", false
	}
	s.bump(ctx)
	return "", false
}

// Cached is a cacheable JSON answer with its entity tag.
type Cached struct {
	Body []byte
	ETag string
}

// nearEntries bounds this instance's copy of shared cache entries (title
// pages are a few KB, so about 20 MB at most).
const nearEntries = 4096

// cached returns the JSON of build's result, from the cache when an entry
// for key exists at the current catalog version. Entries never change
// under a version, so besides the shared cache each instance keeps its own
// copy (near): a hit then costs one shared-cache read, of the version,
// which is what keeps every instance's answers current.
func (s *Service) cached(ctx context.Context, key string, build func() (any, error)) (Cached, error) {
	if s.cache == nil {
		return marshal(build())
	}
	ver, store := s.version(ctx)
	full := "content:" + ver + ":" + key
	if store {
		if c, ok := s.near.Get(full); ok {
			return c, nil
		}
		if b, ok, err := s.cache.Get(ctx, full); err == nil && ok {
			c := Cached{Body: b, ETag: ETag(b)}
			s.near.Add(full, c)
			return c, nil
		}
	}
	if !store {
		return marshal(build())
	}
	// One build per key and instance at a time: when a popular entry is
	// missing, the requests that arrive meanwhile wait for it instead of
	// each running the same queries (a cache stampede).
	v, err, _ := s.flight.Do(full, func() (any, error) {
		c, err := marshal(build())
		if err != nil {
			return c, err
		}
		if err := s.cache.Set(context.WithoutCancel(ctx), full, c.Body, s.cfg.CacheTTL); err != nil {
			s.log.Warn().Err(err).Msg("content: cache set")
		}
		s.near.Add(full, c)
		return c, nil
	})
	return v.(Cached), err
}

func marshal(v any, err error) (Cached, error) {
	if err != nil {
		return Cached{}, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return Cached{}, err
	}
	return Cached{Body: b, ETag: ETag(b)}, nil
}

// HomeJSON is Home as JSON, cached per maturity ceiling.
func (s *Service) HomeJSON(ctx context.Context, v Viewer) (Cached, error) {
	return s.cached(ctx, "home:"+strconv.Itoa(v.MaturityLevel), func() (any, error) { return s.Home(ctx, v) })
}

// TitleJSON is Title as JSON, cached per title and maturity ceiling. It
// returns ErrTitleNotFound when the viewer may not see the title.
func (s *Service) TitleJSON(ctx context.Context, v Viewer, id string) (Cached, error) {
	if !validUUID(id) {
		return Cached{}, ErrTitleNotFound
	}
	return s.cached(ctx, "title:"+strings.ToLower(id)+":"+strconv.Itoa(v.MaturityLevel), func() (any, error) { return s.Title(ctx, v, id) })
}

// ETag returns a strong entity tag for body.
func ETag(body []byte) string {
	h := sha256.Sum256(body)
	return `"` + hex.EncodeToString(h[:16]) + `"`
}
