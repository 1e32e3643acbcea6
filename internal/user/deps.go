package user

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"
)

// Passwords is what user needs from the auth module. The Tx methods run in
// the caller's transaction so that an account and its credentials commit
// together.
type Passwords interface {
	// SetTx checks the password policy (NIST SP 800-63B) and stores its
	// hash. It returns a validation error naming field when the password is
	// not acceptable.
	SetTx(ctx context.Context, tx *sqlx.Tx, userID, email, field, password string) error
	// Verify returns an error coded wrong_password (apperr.Forbidden) when
	// password is not the user's.
	Verify(ctx context.Context, userID, password string) error
	// RevokeSessionsTx signs the user out of every session but keep ("" for all).
	RevokeSessionsTx(ctx context.Context, tx *sqlx.Tx, userID, keep, reason string) error
}

// Hasher hashes and checks profile PINs.
type Hasher interface {
	Hash(ctx context.Context, secret string) (string, error)
	Verify(ctx context.Context, secret, encoded string) (ok, needsRehash bool, err error)
}

// Notification is user's view of a message to send through notify.
type Notification struct {
	Kind     string
	UserID   string
	To       string // override address (a new email, or a deleted account's)
	Data     map[string]string
	DedupKey string
}

// Notifier queues a notification in the caller's transaction.
type Notifier interface {
	EnqueueTx(ctx context.Context, tx *sqlx.Tx, n Notification) error
}

// Forgetter is a module that must forget a deleted account. ForgetUserTx
// runs in the deletion's transaction and should only queue the work (a
// River job), so deletion stays fast and the work survives crashes.
type Forgetter interface {
	ForgetUserTx(ctx context.Context, tx *sqlx.Tx, userID string) error
}

// Counter counts failed PIN attempts (Redis when configured).
type Counter interface {
	Incr(ctx context.Context, key string, window time.Duration) (int64, time.Duration, error)
	Get(ctx context.Context, key string) (int64, error)
	Reset(ctx context.Context, key string) error
}
