package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"

	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// ForgetArgs is the job that deletes everything auth keeps about a
// deleted account.
type ForgetArgs struct {
	UserID string `json:"user_id"`
}

// Kind is the job kind.
func (ForgetArgs) Kind() string { return "auth.forget_user" }

// InsertOpts puts the job on the auth queue.
func (ForgetArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "auth"} }

// ForgetUserTx revokes the user's sessions at once and queues the deletion
// of their credentials, sessions and events, in the caller's transaction.
func (s *Service) ForgetUserTx(ctx context.Context, tx *sqlx.Tx, userID string) error {
	ids, err := revokeUserSessions(ctx, tx, userID, "", "account_deleted")
	if err != nil {
		return err
	}
	if _, err := s.queue.InsertTx(ctx, tx.Tx, ForgetArgs{UserID: userID}, nil); err != nil {
		return fmt.Errorf("queue forget user: %w", err)
	}
	s.forgetSessionsAfterCommit(ctx, tx, ids)
	return nil
}

type forgetWorker struct {
	river.WorkerDefaults[ForgetArgs]
	s *Service
}

// Timeout bounds the four deletes of one user's rows, each by an index.
func (w *forgetWorker) Timeout(*river.Job[ForgetArgs]) time.Duration { return 30 * time.Second }

func (w *forgetWorker) Work(ctx context.Context, job *river.Job[ForgetArgs]) error {
	return pg.InTx(ctx, w.s.db, func(tx *sqlx.Tx) error { return deleteUserData(ctx, tx, job.Args.UserID) })
}

// RetireKeysArgs is the periodic job that retires signing keys whose
// tokens have all expired.
type RetireKeysArgs struct{}

// Kind is the job kind.
func (RetireKeysArgs) Kind() string { return "auth.retire_keys" }

// InsertOpts puts the job on the auth queue.
func (RetireKeysArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "auth"} }

type retireWorker struct {
	river.WorkerDefaults[RetireKeysArgs]
	s *Service
}

// Timeout bounds retiring the old signing keys: a few rows and a reload.
func (w *retireWorker) Timeout(*river.Job[RetireKeysArgs]) time.Duration { return time.Minute }

func (w *retireWorker) Work(ctx context.Context, _ *river.Job[RetireKeysArgs]) error {
	_, err := w.s.tokens.RetireOld(ctx)
	if errors.Is(err, token.ErrStaticKeys) {
		return nil
	}
	return err
}
