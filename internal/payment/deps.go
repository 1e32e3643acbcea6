package payment

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Accounts is what payment needs from the user module: who is paying, and
// whether their address is verified (only verified accounts subscribe).
type Accounts interface {
	// Account returns the account, or an error of kind apperr.NotFound.
	Account(ctx context.Context, accountID string) (Account, error)
}

// Account is payment's view of a user account.
type Account struct {
	ID       string
	Email    string
	Verified bool
}

// Notification is a money email to send through the notify module: a
// receipt, a failed payment, a subscription started, changed, scheduled
// to end or ended.
type Notification struct {
	Kind   string
	UserID string
	// To overrides the account's address; payment leaves it empty.
	To       string
	Data     map[string]string
	DedupKey string
}

// Notifier queues a notification in the caller's transaction, so that a
// rolled-back state change sends nothing and a committed one is never lost.
type Notifier interface {
	EnqueueTx(ctx context.Context, tx *sqlx.Tx, n Notification) error
}

// Inserter inserts River jobs in the caller's transaction; *queue.Queue and
// *queue.Deferred satisfy it.
type Inserter interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// AccountsFunc adapts a function to Accounts.
type AccountsFunc func(ctx context.Context, accountID string) (Account, error)

// Account calls f.
func (f AccountsFunc) Account(ctx context.Context, accountID string) (Account, error) {
	return f(ctx, accountID)
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, tx *sqlx.Tx, n Notification) error

// EnqueueTx calls f.
func (f NotifierFunc) EnqueueTx(ctx context.Context, tx *sqlx.Tx, n Notification) error {
	return f(ctx, tx, n)
}
