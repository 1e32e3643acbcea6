package content

import (
	"context"
	"io"
)

// Media is where the catalog keeps artwork images (platform/storage's
// stores satisfy it). Put stores r under key, replacing any object there;
// Delete removes the object and succeeds when there is none.
type Media interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
}
