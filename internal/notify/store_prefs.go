package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The SQL of notify.preferences: a user's choice per kind and channel.

type prefRow struct {
	Kind  string `db:"kind"`
	Email bool   `db:"email"`
	InApp bool   `db:"in_app"`
}

// effectivePreference returns whether kind k reaches userID by email and
// in the inbox: essential kinds always, others as the user chose (default
// on).
func effectivePreference(ctx context.Context, q sqlx.QueryerContext, userID string, k Kind) (email, inApp bool, err error) {
	if k.Essential() {
		return true, true, nil
	}
	var row prefRow
	err = sqlx.GetContext(ctx, q, &row, `SELECT kind, email, in_app FROM notify.preferences WHERE user_id = $1 AND kind = $2`, userID, string(k))
	if errors.Is(err, sql.ErrNoRows) {
		return true, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("find preference: %w", err)
	}
	return row.Email, row.InApp, nil
}

func setPreference(ctx context.Context, q sqlx.ExecerContext, userID string, c PreferenceChange) error {
	_, err := q.ExecContext(ctx, `
		INSERT INTO notify.preferences (user_id, kind, email, in_app) VALUES ($1, $2, coalesce($3, true), coalesce($4, true))
		ON CONFLICT (user_id, kind) DO UPDATE SET
			email = coalesce($3, notify.preferences.email), in_app = coalesce($4, notify.preferences.in_app), updated_at = now()`,
		userID, string(c.Kind), c.Email, c.InApp)
	if err != nil {
		return fmt.Errorf("set preference %s: %w", c.Kind, err)
	}
	return nil
}

// findPreferences returns the kinds userID has chosen for.
func findPreferences(ctx context.Context, q sqlx.QueryerContext, userID string) ([]prefRow, error) {
	var rows []prefRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT kind, email, in_app FROM notify.preferences WHERE user_id = $1`, userID); err != nil {
		return nil, fmt.Errorf("list preferences: %w", err)
	}
	return rows, nil
}
