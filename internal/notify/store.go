package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Delivery statuses (notify.deliveries.status).
const (
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
	// StatusSkipped: the user turned the kind's email off before it went.
	StatusSkipped = "skipped"
)

// maxErrorText bounds the error kept on a delivery.
const maxErrorText = 2000

type deliveryRow struct {
	ID        string         `db:"id"`
	JobID     int64          `db:"job_id"`
	Kind      string         `db:"kind"`
	UserID    sql.NullString `db:"user_id"`
	DedupKey  sql.NullString `db:"dedup_key"`
	ToAddress string         `db:"to_address"`
	Subject   string         `db:"subject"`
	MessageID string         `db:"message_id"`
	Status    string         `db:"status"`
	Attempts  int            `db:"attempts"`
	Error     sql.NullString `db:"error"`
	CreatedAt time.Time      `db:"created_at"`
	UpdatedAt time.Time      `db:"updated_at"`
	SentAt    sql.NullTime   `db:"sent_at"`
}

const deliveryColumns = `id, job_id, kind, user_id, dedup_key, to_address, subject, message_id, status, attempts, error, created_at, updated_at, sent_at`

// claimDelivery returns the delivery row of job d.JobID, inserting it from d
// if this is the job's first run. owned is false when another job already
// holds the row of the same (kind, dedup key): this job must send nothing.
func claimDelivery(ctx context.Context, q sqlx.ExtContext, d deliveryRow) (row deliveryRow, owned bool, err error) {
	_, err = q.ExecContext(ctx, `
		INSERT INTO notify.deliveries (job_id, kind, user_id, dedup_key, message_id)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`,
		d.JobID, d.Kind, d.UserID, d.DedupKey, d.MessageID)
	if err != nil {
		return row, false, fmt.Errorf("insert delivery: %w", err)
	}
	err = sqlx.GetContext(ctx, q, &row, `SELECT `+deliveryColumns+` FROM notify.deliveries WHERE job_id = $1`, d.JobID)
	if errors.Is(err, sql.ErrNoRows) {
		return row, false, nil // the insert lost to another job's (kind, dedup key)
	}
	if err != nil {
		return row, false, fmt.Errorf("find delivery of job %d: %w", d.JobID, err)
	}
	return row, true, nil
}

// startAttempt records that an attempt to send to `to` is about to begin.
func startAttempt(ctx context.Context, q sqlx.ExecerContext, id, to, subject string) error {
	_, err := q.ExecContext(ctx, `
		UPDATE notify.deliveries
		SET to_address = $2, subject = $3, status = 'sending', attempts = attempts + 1, updated_at = now()
		WHERE id = $1`, id, to, subject)
	if err != nil {
		return fmt.Errorf("record delivery attempt %s: %w", id, err)
	}
	return nil
}

// markSent records that the SMTP server accepted the message.
func markSent(ctx context.Context, q sqlx.ExecerContext, id string) error {
	_, err := q.ExecContext(ctx, `
		UPDATE notify.deliveries SET status = 'sent', error = NULL, sent_at = now(), updated_at = now()
		WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("record delivery %s sent: %w", id, err)
	}
	return nil
}

// markFailed records that the delivery failed for good, and why.
func markFailed(ctx context.Context, q sqlx.ExecerContext, id string, cause error) error {
	_, err := q.ExecContext(ctx, `
		UPDATE notify.deliveries SET status = 'failed', error = $2, updated_at = now()
		WHERE id = $1`, id, errorText(cause))
	if err != nil {
		return fmt.Errorf("record delivery %s failed: %w", id, err)
	}
	return nil
}

// markRetrying records a temporary failure; River retries the job.
func markRetrying(ctx context.Context, q sqlx.ExecerContext, id string, cause error) error {
	_, err := q.ExecContext(ctx, `
		UPDATE notify.deliveries SET status = 'sending', error = $2, updated_at = now()
		WHERE id = $1`, id, errorText(cause))
	if err != nil {
		return fmt.Errorf("record delivery %s error: %w", id, err)
	}
	return nil
}

func errorText(err error) string {
	s := err.Error()
	if len(s) > maxErrorText {
		s = s[:maxErrorText]
	}
	return strings.ToValidUTF8(s, "")
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// markSkipped records that the email was not sent because the user turned
// it off.
func markSkipped(ctx context.Context, q sqlx.ExecerContext, id string) error {
	_, err := q.ExecContext(ctx, `UPDATE notify.deliveries SET status = 'skipped', updated_at = now() WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("record delivery %s skipped: %w", id, err)
	}
	return nil
}
