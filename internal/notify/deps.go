package notify

import (
	"context"
	"database/sql"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Recipients is what notify needs from the user domain: who a user is, for
// addressing and wording their email. The composition root adapts the user
// service to it.
type Recipients interface {
	// Recipient returns the user's address, display name and locale.
	// It returns an error of kind apperr.NotFound when the user does not
	// exist (the email is then dropped and recorded as failed); any other
	// error is temporary and the delivery is retried.
	Recipient(ctx context.Context, userID string) (Recipient, error)
}

// Recipient is notify's own view of a user.
type Recipient struct {
	Email string
	// Name greets the user; empty greets no one by name.
	Name string
	// Locale picks the templates, such as "en" or "pt-BR" (default "en").
	Locale string
}

// RecipientsFunc adapts a function to Recipients.
type RecipientsFunc func(ctx context.Context, userID string) (Recipient, error)

// Recipient calls f.
func (f RecipientsFunc) Recipient(ctx context.Context, userID string) (Recipient, error) {
	return f(ctx, userID)
}

// Queue is where notify inserts its email jobs, in the caller's
// transaction. queue.Deferred satisfies it, resolving to the River client
// once that exists.
type Queue interface {
	InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// Healthy returns an error while jobs cannot be inserted or worked.
	Healthy() error
}
