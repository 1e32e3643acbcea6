package auth

import (
	"context"
	"database/sql"
	"net/http"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Account is auth's view of a user's account.
type Account struct {
	ID       string
	Email    string
	Roles    []string
	Verified bool
}

// Profile is auth's view of a profile a session may act as.
type Profile struct {
	ID            string
	Kids          bool
	MaturityLevel int
}

// Accounts is what auth needs from the user module. Both methods return an
// error that satisfies errors.Is(err, ErrNoAccount) when there is none.
type Accounts interface {
	AccountByEmail(ctx context.Context, email string) (Account, error)
	AccountByID(ctx context.Context, id string) (Account, error)
}

// Profiles unlocks a profile of the account (checking its PIN, throttled).
// It returns the user module's not-found error for another account's
// profile.
type Profiles interface {
	UnlockProfile(ctx context.Context, accountID, profileID, pin string) (Profile, error)
	ProfileOf(ctx context.Context, accountID, profileID string) (Profile, error)
}

// Notification is auth's view of a message to send through notify.
type Notification struct {
	Kind     string
	UserID   string
	To       string
	Data     map[string]string
	DedupKey string
}

// Notifier queues a notification in the caller's transaction.
type Notifier interface {
	EnqueueTx(ctx context.Context, tx *sqlx.Tx, n Notification) error
}

// Counter counts failures in fixed windows (Redis when configured). The
// Many methods take several keys in one call, one round trip to Redis.
type Counter interface {
	IncrMany(ctx context.Context, window time.Duration, keys ...string) ([]int64, error)
	GetMany(ctx context.Context, keys ...string) ([]int64, error)
	Reset(ctx context.Context, key string) error
}

// Cache holds session state for the per-request check.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
}

// Inserter queues jobs in the caller's transaction.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// ClientIPFunc returns the client address the gateway settled on.
type ClientIPFunc func(r *http.Request) string
