package content

import (
	"context"
	"io"
	"time"
)

// Media is where the catalog keeps artwork images (platform/storage's
// stores satisfy it). Put stores r under key, replacing any object there;
// Delete removes the object and succeeds when there is none.
type Media interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
}

// Cache is the cache instances share for hot catalog reads
// (platform/cache's caches satisfy it). Get reports a missing key as
// ok=false with a nil error; Set stores val under key for ttl.
type Cache interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}
