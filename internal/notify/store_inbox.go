package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The SQL of the in-app inbox: notify.notifications, notify.inbox_seq (the
// per-user event ids) and the NOTIFY that announces a change.

type notificationRow struct {
	ID        string         `db:"id"`
	UserID    string         `db:"user_id"`
	Seq       int64          `db:"seq"`
	Kind      string         `db:"kind"`
	Title     string         `db:"title"`
	Body      string         `db:"body"`
	Data      []byte         `db:"data"`
	DedupKey  sql.NullString `db:"dedup_key"`
	ReadAt    sql.NullTime   `db:"read_at"`
	CreatedAt time.Time      `db:"created_at"`
}

const notificationColumns = `id, user_id, seq, kind, title, body, data, dedup_key, read_at, created_at`

func (r notificationRow) notification() Notification {
	n := Notification{ID: r.ID, Kind: Kind(r.Kind), Title: r.Title, Body: r.Body, Data: map[string]string{},
		CreatedAt: r.CreatedAt.UTC(), EventID: r.Seq}
	_ = json.Unmarshal(r.Data, &n.Data)
	if r.ReadAt.Valid {
		t := r.ReadAt.Time.UTC()
		n.ReadAt, n.Read = &t, true
	}
	return n
}

func notifications(rows []notificationRow) []Notification {
	out := make([]Notification, len(rows))
	for i, r := range rows {
		out[i] = r.notification()
	}
	return out
}

// insertNotification adds an inbox row with the user's next event id and
// returns that id; 0 when the (user, kind, dedup key) is there already and
// nothing was added.
func insertNotification(ctx context.Context, q sqlx.QueryerContext, r notificationRow) (int64, error) {
	var seqs []int64
	err := sqlx.SelectContext(ctx, q, &seqs, `
		WITH s AS (
			INSERT INTO notify.inbox_seq (user_id, seq) VALUES ($1, 1)
			ON CONFLICT (user_id) DO UPDATE SET seq = notify.inbox_seq.seq + 1
			RETURNING seq
		)
		INSERT INTO notify.notifications (user_id, seq, kind, title, body, data, dedup_key)
		SELECT $1, s.seq, $2, $3, $4, $5, $6 FROM s
		ON CONFLICT DO NOTHING
		RETURNING seq`, r.UserID, r.Kind, r.Title, r.Body, r.Data, r.DedupKey)
	if err != nil {
		return 0, fmt.Errorf("notify: insert notification: %w", err)
	}
	if len(seqs) == 0 {
		return 0, nil
	}
	return seqs[0], nil
}

// announce tells every instance, once the transaction of q commits, that
// userID's inbox changed: event id seq was added (0: only the unread count
// changed).
func announce(ctx context.Context, q sqlx.ExecerContext, userID string, seq int64) error {
	_, err := q.ExecContext(ctx, `SELECT pg_notify($1, $2)`, inboxChannel, userID+" "+strconv.FormatInt(seq, 10))
	if err != nil {
		return fmt.Errorf("notify: announce: %w", err)
	}
	return nil
}

// findNotifications returns up to limit of userID's notifications, newest
// first, after position after (zero: from the newest).
func findNotifications(ctx context.Context, q sqlx.QueryerContext, userID string, after pagePos, limit int) ([]notificationRow, error) {
	where := []string{"user_id = $1"}
	args := []any{userID}
	if !after.zero() {
		args = append(args, after.createdAt, after.id)
		where = append(where, fmt.Sprintf("(created_at, id) < ($%d, $%d::uuid)", len(args)-1, len(args)))
	}
	args = append(args, limit)
	var rows []notificationRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+notificationColumns+` FROM notify.notifications WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	return rows, nil
}

func unreadCount(ctx context.Context, q sqlx.QueryerContext, userID string) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM notify.notifications WHERE user_id = $1 AND read_at IS NULL`, userID)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// unreadCounts returns how many notifications of each user are unread
// (users with none are absent).
func unreadCounts(ctx context.Context, q sqlx.QueryerContext, users []string) (map[string]int, error) {
	var rows []struct {
		UserID string `db:"user_id"`
		N      int    `db:"n"`
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT user_id, count(*) AS n FROM notify.notifications
		WHERE user_id = ANY($1) AND read_at IS NULL GROUP BY user_id`, pq.StringArray(users))
	if err != nil {
		return nil, fmt.Errorf("count unread: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.UserID] = r.N
	}
	return out, nil
}

// markRead marks userID's notification id read (keeping an earlier read
// time). It returns ErrNotificationNotFound when userID has none with id.
func markRead(ctx context.Context, q sqlx.QueryerContext, userID, id string) (notificationRow, error) {
	var row notificationRow
	err := sqlx.GetContext(ctx, q, &row, `
		UPDATE notify.notifications SET read_at = coalesce(read_at, now())
		WHERE id = $1 AND user_id = $2 RETURNING `+notificationColumns, id, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return row, ErrNotificationNotFound
	}
	if err != nil {
		return row, fmt.Errorf("mark notification %s read: %w", id, err)
	}
	return row, nil
}

// markAllRead marks every unread notification of userID read and returns
// how many there were.
func markAllRead(ctx context.Context, q sqlx.ExecerContext, userID string) (int64, error) {
	res, err := q.ExecContext(ctx, `UPDATE notify.notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, userID)
	if err != nil {
		return 0, fmt.Errorf("mark all read: %w", err)
	}
	return res.RowsAffected()
}

// deleteNotification deletes userID's notification id. It returns
// ErrNotificationNotFound when userID has none with id.
func deleteNotification(ctx context.Context, q sqlx.ExecerContext, userID, id string) error {
	res, err := q.ExecContext(ctx, `DELETE FROM notify.notifications WHERE id = $1 AND user_id = $2`, id, userID)
	if err != nil {
		return fmt.Errorf("delete notification %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotificationNotFound
	}
	return nil
}

// findNotificationsSince returns userID's notifications with an event id
// above after, oldest first (at most limit).
func findNotificationsSince(ctx context.Context, q sqlx.QueryerContext, userID string, after int64, limit int) ([]notificationRow, error) {
	var rows []notificationRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+notificationColumns+` FROM notify.notifications
		WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, userID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("notifications since %d: %w", after, err)
	}
	return rows, nil
}

// lastEventID returns the newest event id handed out to userID (0: none).
func lastEventID(ctx context.Context, q sqlx.QueryerContext, userID string) (int64, error) {
	var seq int64
	err := sqlx.GetContext(ctx, q, &seq, `SELECT coalesce((SELECT seq FROM notify.inbox_seq WHERE user_id = $1), 0)`, userID)
	return seq, err
}

// findNotificationsBySeq returns the notifications of the (user, event id)
// pairs in keys that still exist.
func findNotificationsBySeq(ctx context.Context, q sqlx.QueryerContext, keys []change) ([]notificationRow, error) {
	users := make(pq.StringArray, len(keys))
	seqs := make(pq.Int64Array, len(keys))
	for i, k := range keys {
		users[i], seqs[i] = k.userID, k.seq
	}
	var rows []notificationRow
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+notificationColumns+` FROM notify.notifications
		WHERE (user_id, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`, users, seqs)
	if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	return rows, nil
}
