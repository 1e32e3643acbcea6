package reco

import (
	"context"
	"database/sql"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Catalog is what reco needs from the content module.
type Catalog interface {
	// Items returns every published title, whatever its maturity and
	// availability window: what a retrain ranks and serving orders by.
	Items(ctx context.Context) ([]Item, error)
	// Cards returns those of ids a viewer with the maturity ceiling may
	// see now (published, inside its availability window, at or under the
	// ceiling), in no particular order; the others are left out.
	Cards(ctx context.Context, maturity int, ids []string) ([]Title, error)
}

// Item is a title as a retrain sees it.
type Item struct {
	ID          string
	Kind        string // movie or series
	Name        string
	Genres      []Genre
	RuntimeS    int // a movie's runtime; 0 when unknown
	Episodes    int // a series' episode count
	PublishedAt time.Time
}

// Watching is what reco asks the streaming module for the "Continue
// watching" row.
type Watching interface {
	// ContinueWatching returns the ids of the titles the profile is in the
	// middle of, most recent first.
	ContinueWatching(ctx context.Context, accountID, profileID string) ([]string, error)
}

// Profiles is what reco asks the user module: a profile's name, for "Top
// picks for {name}".
type Profiles interface {
	// ProfileName returns the name of one of the account's profiles, or an
	// apperr NotFound error.
	ProfileName(ctx context.Context, accountID, profileID string) (string, error)
}

// Inserter inserts River jobs in the caller's transaction (queue.Deferred).
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Cache holds the profiles' serving state between requests, shared by
// instances (platform/cache's Redis or in-memory cache).
type Cache interface {
	Get(ctx context.Context, key string) (val []byte, ok bool, err error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
}
