package notify

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

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
	Kind  Kind              `json:"kind"`
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
	seq, err := insertNotification(ctx, tx, notificationRow{
		UserID: r.UserID, Kind: string(r.Kind), Title: title, Body: body, Data: raw, DedupKey: nullString(r.DedupKey),
	})
	if err != nil || seq == 0 { // seq 0: a duplicate
		return err
	}
	return announce(ctx, tx, r.UserID, seq)
}

// pagePos is a keyset position in a list ordered by (created_at, id),
// newest first; the zero pagePos is the start.
type pagePos struct {
	createdAt time.Time
	id        string
}

func (p pagePos) zero() bool { return p.id == "" }

// encodeCursor makes the cursor of the page after p.
func encodeCursor(p pagePos) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.createdAt.UTC().Format(time.RFC3339Nano) + "|" + p.id))
}

// decodeCursor returns ErrBadCursor for a cursor encodeCursor did not make.
func decodeCursor(c string) (pagePos, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return pagePos{}, ErrBadCursor
	}
	ts, id, ok := strings.Cut(string(b), "|")
	t, err := time.Parse(time.RFC3339Nano, ts)
	if !ok || err != nil || !validUUID(id) {
		return pagePos{}, ErrBadCursor
	}
	return pagePos{createdAt: t, id: id}, nil
}

func validUUID(s string) bool { return uuid.Validate(s) == nil }

// Notifications returns a page of userID's inbox, newest first: limit
// items after cursor (the previous page's NextCursor; "" for the first).
// It returns ErrBadCursor for a cursor it did not make.
func (s *Service) Notifications(ctx context.Context, userID string, limit int, cursor string) (NotificationPage, error) {
	var after pagePos
	if cursor != "" {
		var err error
		if after, err = decodeCursor(cursor); err != nil {
			return NotificationPage{}, err
		}
	}
	rows, err := findNotifications(ctx, s.db, userID, after, limit+1)
	if err != nil {
		return NotificationPage{}, err
	}
	page := NotificationPage{Items: make([]Notification, 0, len(rows))}
	for i, r := range rows {
		if i == limit {
			last := rows[i-1]
			page.NextCursor = encodeCursor(pagePos{last.CreatedAt, last.ID})
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

// MarkRead marks one of userID's notifications read (again is fine) and
// returns it. It returns ErrNotificationNotFound when userID has no
// notification with that id, another user's included.
func (s *Service) MarkRead(ctx context.Context, userID, id string) (Notification, error) {
	if !validUUID(id) {
		return Notification{}, ErrNotificationNotFound
	}
	var row notificationRow
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if row, err = markRead(ctx, tx, userID, id); err != nil {
			return err
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
		var err error
		if n, err = markAllRead(ctx, tx, userID); err != nil || n == 0 {
			return err
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
		if err := deleteNotification(ctx, tx, userID, id); err != nil {
			return err
		}
		return announce(ctx, tx, userID, 0)
	})
}

// notificationsSince returns userID's notifications with an event id above
// after, oldest first (at most limit).
func (s *Service) notificationsSince(ctx context.Context, userID string, after int64, limit int) ([]Notification, error) {
	rows, err := findNotificationsSince(ctx, s.db, userID, after, limit)
	if err != nil {
		return nil, err
	}
	return notifications(rows), nil
}

// lastEventID returns the newest event id handed out to userID (0: none).
func (s *Service) lastEventID(ctx context.Context, userID string) (int64, error) {
	return lastEventID(ctx, s.db, userID)
}

// notificationsBySeq returns the notifications of the (user, event id)
// pairs in keys that still exist.
func (s *Service) notificationsBySeq(ctx context.Context, keys []change) (map[change]Notification, error) {
	out := make(map[change]Notification, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := findNotificationsBySeq(ctx, s.db, keys)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[change{userID: r.UserID, seq: r.Seq}] = r.notification()
	}
	return out, nil
}
