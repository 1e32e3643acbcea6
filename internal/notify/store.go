package notify

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
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

// claim is what beginDeliveries found for one job.
type claim int

const (
	claimed     claim = iota // this run of the job owns the delivery
	claimedSent              // an earlier run of the job sent the email
	claimTaken               // another job holds the same (kind, dedup key)
)

// begun is beginDeliveries' answer for one job: the delivery's id and
// Message-ID when c is claimed.
type begun struct {
	id, messageID string
	c             claim
}

// beginDeliveries records, in one statement, what this run of each job in
// ds is about to do: status Status (sending, skipped or failed) with Error,
// the recipient and subject when known (empty keeps the earlier ones), and
// Attempts more SMTP attempts (1 when it is about to send, else 0). A job's
// first run inserts its row with MessageID; later runs keep the first
// Message-ID. A job whose email an earlier run sent is left alone
// (claimedSent), and so is one whose (kind, dedup key) another job already
// holds (claimTaken): that run must send nothing. The answers are in the
// order of ds. The job ids in ds must differ.
func beginDeliveries(ctx context.Context, q sqlx.QueryerContext, ds []deliveryRow) ([]begun, error) {
	n := len(ds)
	jobIDs := make(pq.Int64Array, n)
	attempts := make(pq.Int64Array, n)
	var kind, userID, dedupKey, messageID, to, subject, status, errText pq.StringArray
	for i, d := range ds {
		jobIDs[i], attempts[i] = d.JobID, int64(d.Attempts)
		kind = append(kind, d.Kind)
		userID = append(userID, d.UserID.String)
		dedupKey = append(dedupKey, d.DedupKey.String)
		messageID = append(messageID, d.MessageID)
		to = append(to, d.ToAddress)
		subject = append(subject, d.Subject)
		status = append(status, d.Status)
		errText = append(errText, d.Error.String)
	}
	// One statement sees one snapshot: "updated" takes the jobs that ran
	// before, "inserted" the others (ON CONFLICT DO NOTHING also drops a
	// dedup key that another job holds, in the table or in this batch),
	// and the last part finds the jobs already sent.
	rows, err := q.QueryxContext(ctx, `
		WITH input AS (
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::int[], $10::text[])
				AS t(job_id, kind, user_id, dedup_key, message_id, to_address, subject, status, attempts, error)
		), updated AS (
			UPDATE notify.deliveries d SET
				to_address = coalesce(nullif(i.to_address, ''), d.to_address),
				subject = coalesce(nullif(i.subject, ''), d.subject),
				status = i.status,
				attempts = d.attempts + i.attempts,
				error = coalesce(nullif(i.error, ''), d.error),
				updated_at = now()
			FROM input i
			WHERE d.job_id = i.job_id AND d.status <> 'sent'
			RETURNING d.job_id, d.id, d.message_id
		), inserted AS (
			INSERT INTO notify.deliveries (job_id, kind, user_id, dedup_key, message_id, to_address, subject, status, attempts, error)
			SELECT job_id, kind, nullif(user_id, ''), nullif(dedup_key, ''), message_id, to_address, subject, status, attempts, nullif(error, '')
			FROM input i
			WHERE NOT EXISTS (SELECT 1 FROM notify.deliveries d WHERE d.job_id = i.job_id)
			ORDER BY job_id
			ON CONFLICT DO NOTHING
			RETURNING job_id, id, message_id
		)
		SELECT job_id, id, message_id, false AS sent FROM updated
		UNION ALL SELECT job_id, id, message_id, false FROM inserted
		UNION ALL SELECT d.job_id, d.id, d.message_id, true FROM notify.deliveries d JOIN input i ON i.job_id = d.job_id WHERE d.status = 'sent'`,
		jobIDs, kind, userID, dedupKey, messageID, to, subject, status, attempts, errText)
	if err != nil {
		return nil, fmt.Errorf("record deliveries: %w", err)
	}
	defer rows.Close()
	found := make(map[int64]begun, n)
	for rows.Next() {
		var jobID int64
		var b begun
		var sent bool
		if err := rows.Scan(&jobID, &b.id, &b.messageID, &sent); err != nil {
			return nil, fmt.Errorf("record deliveries: %w", err)
		}
		if sent {
			b = begun{c: claimedSent}
		}
		found[jobID] = b
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("record deliveries: %w", err)
	}
	out := make([]begun, n)
	for i, d := range ds {
		b, ok := found[d.JobID]
		if !ok {
			b.c = claimTaken
		}
		out[i] = b
	}
	return out, nil
}

// markSent records that the SMTP server accepted the messages of the
// deliveries ids.
func markSent(ctx context.Context, q sqlx.ExecerContext, ids []string) ([]struct{}, error) {
	_, err := q.ExecContext(ctx, `
		UPDATE notify.deliveries SET status = 'sent', error = NULL, sent_at = now(), updated_at = now()
		WHERE id = ANY($1::uuid[])`, pq.StringArray(ids))
	if err != nil {
		return nil, fmt.Errorf("record deliveries sent: %w", err)
	}
	return make([]struct{}, len(ids)), nil
}

// markFailed records that the delivery failed for good, and why.
func markFailed(ctx context.Context, q sqlx.ExecerContext, id string, cause error) error {
	return markError(ctx, q, id, "failed", cause)
}

// markRetrying records a temporary failure; River retries the job.
func markRetrying(ctx context.Context, q sqlx.ExecerContext, id string, cause error) error {
	return markError(ctx, q, id, "sending", cause)
}

// markError records cause as the delivery's error, with status.
func markError(ctx context.Context, q sqlx.ExecerContext, id, status string, cause error) error {
	_, err := q.ExecContext(ctx, `
		UPDATE notify.deliveries SET status = $2, error = $3, updated_at = now()
		WHERE id = $1`, id, status, errorText(cause))
	if err != nil {
		return fmt.Errorf("record delivery %s %s: %w", id, status, err)
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

// delivery is the operators' view of the row.
func (d deliveryRow) delivery() Delivery {
	out := Delivery{ID: d.ID, JobID: d.JobID, Kind: Kind(d.Kind), UserID: d.UserID.String, To: d.ToAddress, Subject: d.Subject,
		MessageID: d.MessageID, Status: d.Status, Attempts: d.Attempts, Error: d.Error.String,
		CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC()}
	if d.SentAt.Valid {
		t := d.SentAt.Time.UTC()
		out.SentAt = &t
	}
	return out
}

// findFailedDeliveries returns up to limit deliveries that failed for
// good, newest first, after position after (zero: from the newest).
func findFailedDeliveries(ctx context.Context, q sqlx.QueryerContext, after pagePos, limit int) ([]deliveryRow, error) {
	where := []string{"status = 'failed'"}
	var args []any
	if !after.zero() {
		args = append(args, after.createdAt, after.id)
		where = append(where, "(created_at, id) < ($1, $2::uuid)")
	}
	args = append(args, limit)
	var rows []deliveryRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+deliveryColumns+` FROM notify.deliveries WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list failed deliveries: %w", err)
	}
	return rows, nil
}

// findOrCreateSecret returns the secret called name, storing fresh as its
// value if it has none yet: every instance gets the value the first one
// stored.
func findOrCreateSecret(ctx context.Context, q sqlx.QueryerContext, name string, fresh []byte) ([]byte, error) {
	var value []byte
	err := sqlx.GetContext(ctx, q, &value, `
		WITH ins AS (
			INSERT INTO notify.secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value
		)
		SELECT value FROM ins UNION ALL SELECT value FROM notify.secrets WHERE name = $1 LIMIT 1`, name, fresh)
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return value, nil
}
