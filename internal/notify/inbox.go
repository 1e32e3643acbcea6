package notify

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// inboxChannel is the Postgres NOTIFY channel of inbox changes. Its payload
// is "<user id> <event id>"; event id 0 means only the unread count changed
// (read, read-all, delete).
const inboxChannel = "notify_inbox"

// Notification is one entry of a user's in-app inbox.
type Notification struct {
	ID    string            `json:"id" jsonschema:"format=uuid"`
	Kind  Kind              `json:"kind" jsonschema:"enum=email_verification,enum=email_change,enum=password_reset,enum=new_sign_in,enum=password_changed,enum=account_deleted,enum=new_content"`
	Title string            `json:"title"`
	Body  string            `json:"body"`
	Data  map[string]string `json:"data"`
	Read  bool              `json:"read"`
	// ReadAt is when the user read it; absent while unread.
	ReadAt    *time.Time `json:"read_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	// EventID is the id of the SSE event that carried it (Last-Event-ID).
	EventID int64 `json:"event_id"`
}

// NotificationPage is a page of a user's inbox, newest first.
type NotificationPage struct {
	Items      []Notification `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// Errors of the inbox.
var (
	ErrNotificationNotFound = apperr.New(apperr.NotFound, "notification_not_found", "No notification of yours has this id.")
	ErrBadCursor            = apperr.Validation(apperr.FieldError{Field: "cursor", Code: "invalid", Message: "Not a cursor from a previous page."})
)

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

// insertNotificationTx adds an inbox row in tx and announces it at commit.
// A repeated (user, kind, dedup key) adds nothing.
func (s *Service) insertNotificationTx(ctx context.Context, tx *sqlx.Tx, r Request) error {
	locale := r.Locale
	if locale == "" {
		locale = DefaultLocale
	}
	title, body, err := s.tmpl.renderInApp(r.Kind, locale, r.Data, s.appURL)
	if err != nil {
		return fmt.Errorf("notify: render in-app %s: %w", r.Kind, err)
	}
	data := r.Data
	if data == nil {
		data = map[string]string{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	var seqs []int64
	err = tx.SelectContext(ctx, &seqs, `
		WITH s AS (
			INSERT INTO notify.inbox_seq (user_id, seq) VALUES ($1, 1)
			ON CONFLICT (user_id) DO UPDATE SET seq = notify.inbox_seq.seq + 1
			RETURNING seq
		)
		INSERT INTO notify.notifications (user_id, seq, kind, title, body, data, dedup_key)
		SELECT $1, s.seq, $2, $3, $4, $5, $6 FROM s
		ON CONFLICT DO NOTHING
		RETURNING seq`, r.UserID, string(r.Kind), title, body, raw, nullString(r.DedupKey))
	if err != nil {
		return fmt.Errorf("notify: insert notification: %w", err)
	}
	if len(seqs) == 0 {
		return nil // a duplicate
	}
	return announce(ctx, tx, r.UserID, seqs[0])
}

// announce tells every instance, once tx commits, that userID's inbox
// changed.
func announce(ctx context.Context, q sqlx.ExecerContext, userID string, seq int64) error {
	_, err := q.ExecContext(ctx, `SELECT pg_notify($1, $2)`, inboxChannel, userID+" "+strconv.FormatInt(seq, 10))
	if err != nil {
		return fmt.Errorf("notify: announce: %w", err)
	}
	return nil
}

// cursor encodes a keyset position (created_at, id).
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(t.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || !validUUID(id) {
		return time.Time{}, "", ErrBadCursor
	}
	return t, id, nil
}

func validUUID(s string) bool { return uuid.Validate(s) == nil }

// Notifications returns a page of userID's inbox, newest first: limit
// items after cursor (the previous page's NextCursor; "" for the first).
// It returns ErrBadCursor for a cursor it did not make.
func (s *Service) Notifications(ctx context.Context, userID string, limit int, cursor string) (NotificationPage, error) {
	where := []string{"user_id = $1"}
	args := []any{userID}
	if cursor != "" {
		t, id, err := decodeCursor(cursor)
		if err != nil {
			return NotificationPage{}, err
		}
		args = append(args, t, id)
		where = append(where, fmt.Sprintf("(created_at, id) < ($%d, $%d::uuid)", len(args)-1, len(args)))
	}
	args = append(args, limit+1)
	var rows []notificationRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+notificationColumns+` FROM notify.notifications WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return NotificationPage{}, fmt.Errorf("list notifications: %w", err)
	}
	page := NotificationPage{Items: make([]Notification, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = encodeCursor(last.CreatedAt, last.ID)
			break
		}
		page.Items = append(page.Items, r.notification())
	}
	return page, nil
}

// UnreadCount returns how many of userID's notifications are unread.
func (s *Service) UnreadCount(ctx context.Context, userID string) (int, error) {
	return unreadCount(ctx, s.db, userID)
}

func unreadCount(ctx context.Context, q sqlx.QueryerContext, userID string) (int, error) {
	var n int
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM notify.notifications WHERE user_id = $1 AND read_at IS NULL`, userID)
	if err != nil {
		return 0, fmt.Errorf("count unread: %w", err)
	}
	return n, nil
}

// MarkRead marks one of userID's notifications read (again is fine) and
// returns it. It returns ErrNotificationNotFound when userID has no
// notification with that id, another user's included.
func (s *Service) MarkRead(ctx context.Context, userID, id string) (Notification, error) {
	if !validUUID(id) {
		return Notification{}, ErrNotificationNotFound
	}
	var row notificationRow
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &row, `
			UPDATE notify.notifications SET read_at = coalesce(read_at, now())
			WHERE id = $1 AND user_id = $2 RETURNING `+notificationColumns, id, userID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotificationNotFound
		}
		if err != nil {
			return fmt.Errorf("mark notification %s read: %w", id, err)
		}
		return announce(ctx, tx, userID, 0)
	})
	return row.notification(), err
}

// MarkAllRead marks every notification of userID read and returns how many
// were unread.
func (s *Service) MarkAllRead(ctx context.Context, userID string) (int64, error) {
	var n int64
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE notify.notifications SET read_at = now() WHERE user_id = $1 AND read_at IS NULL`, userID)
		if err != nil {
			return fmt.Errorf("mark all read: %w", err)
		}
		n, _ = res.RowsAffected()
		if n == 0 {
			return nil
		}
		return announce(ctx, tx, userID, 0)
	})
	return n, err
}

// DeleteNotification deletes one of userID's notifications. It returns
// ErrNotificationNotFound when userID has no notification with that id.
func (s *Service) DeleteNotification(ctx context.Context, userID, id string) error {
	if !validUUID(id) {
		return ErrNotificationNotFound
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM notify.notifications WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("delete notification %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotificationNotFound
		}
		return announce(ctx, tx, userID, 0)
	})
}

// notificationsSince returns userID's notifications with an event id above
// after, oldest first (at most limit).
func (s *Service) notificationsSince(ctx context.Context, userID string, after int64, limit int) ([]Notification, error) {
	var rows []notificationRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+notificationColumns+` FROM notify.notifications
		WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, userID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("notifications since %d: %w", after, err)
	}
	out := make([]Notification, len(rows))
	for i, r := range rows {
		out[i] = r.notification()
	}
	return out, nil
}

// lastEventID returns the newest event id handed out to userID (0: none).
func (s *Service) lastEventID(ctx context.Context, userID string) (int64, error) {
	var seq int64
	err := s.db.GetContext(ctx, &seq, `SELECT coalesce((SELECT seq FROM notify.inbox_seq WHERE user_id = $1), 0)`, userID)
	return seq, err
}

// notificationsBySeq returns the notifications of the (user, event id)
// pairs in keys that still exist.
func (s *Service) notificationsBySeq(ctx context.Context, keys []change) (map[change]Notification, error) {
	out := make(map[change]Notification, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	users := make(pq.StringArray, len(keys))
	seqs := make(pq.Int64Array, len(keys))
	for i, k := range keys {
		users[i], seqs[i] = k.userID, k.seq
	}
	var rows []notificationRow
	err := s.db.SelectContext(ctx, &rows, `SELECT `+notificationColumns+` FROM notify.notifications
		WHERE (user_id, seq) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))`, users, seqs)
	if err != nil {
		return nil, fmt.Errorf("read notifications: %w", err)
	}
	for _, r := range rows {
		out[change{userID: r.UserID, seq: r.Seq}] = r.notification()
	}
	return out, nil
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
