package streaming

import (
	"context"
	"database/sql"
	"io"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/streamflix/streamflix/internal/platform/storage"
)

// Storage is where published ladders, posters, thumbnails and subtitles
// go (platform/storage's stores satisfy it). Put replaces an object
// whole; Delete of a missing object succeeds; List walks keys under a
// prefix.
type Storage interface {
	Put(ctx context.Context, key string, r io.Reader) error
	Delete(ctx context.Context, key string) error
	List(ctx context.Context, prefix string, fn func(storage.Info) error) error
}

// Catalog is what streaming needs from the content module: whether a
// video may be attached to a title or episode, and making it playable.
type Catalog interface {
	// CheckTarget returns t completed (an episode's title) when it names a
	// movie or an episode; an apperr NotFound or Invalid error otherwise.
	CheckTarget(ctx context.Context, t Target) (Target, error)
	// FindTarget finds a movie by id or external key (season and episode
	// 0), or an episode of a series by the series' key and numbers.
	FindTarget(ctx context.Context, ref string, season, episode int) (Target, error)
	// SetVideo points t at videoID (attach), or clears t's video if it is
	// still videoID (detach; a target already gone is no error).
	SetVideo(ctx context.Context, t Target, videoID string, attach bool) error
}

// Inserter inserts River jobs in the caller's transaction (queue.Deferred).
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}
