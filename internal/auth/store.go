package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// All of auth's SQL. Functions take sqlx.QueryerContext or
// sqlx.ExecerContext so that they run on the pool or in a transaction, and
// turn sql.ErrNoRows into the domain's error here, in one place.

// errNoPassword is findPasswordHash's answer for an account without a
// stored password.
var errNoPassword = errors.New("auth: no password stored")

func findPasswordHash(ctx context.Context, q sqlx.QueryerContext, userID string) (string, error) {
	var hash string
	err := sqlx.GetContext(ctx, q, &hash, `SELECT hash FROM auth.passwords WHERE user_id = $1`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoPassword
	}
	if err != nil {
		return "", fmt.Errorf("find password: %w", err)
	}
	return hash, nil
}

func upsertPassword(ctx context.Context, e sqlx.ExecerContext, userID, hash string) error {
	_, err := e.ExecContext(ctx, `INSERT INTO auth.passwords (user_id, hash) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()`, userID, hash)
	if err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	return nil
}

// updatePassword replaces a stored hash; it stores nothing for an account
// whose password is gone.
func updatePassword(ctx context.Context, e sqlx.ExecerContext, userID, hash string) error {
	_, err := e.ExecContext(ctx, `UPDATE auth.passwords SET hash = $2, updated_at = now() WHERE user_id = $1`, userID, hash)
	return err
}

// deviceHistory says whether the user has had any session, and one from
// this device (same name and user agent).
type deviceHistory struct {
	Known bool `db:"known"`
	Any   bool `db:"any"`
}

func findDeviceHistory(ctx context.Context, q sqlx.QueryerContext, userID, deviceName, userAgent string) (deviceHistory, error) {
	var h deviceHistory
	err := sqlx.GetContext(ctx, q, &h, `SELECT coalesce(bool_or(device_name = $2 AND user_agent = $3), false) AS known, count(*) > 0 AS any
		FROM auth.sessions WHERE user_id = $1`, userID, deviceName, userAgent)
	if err != nil {
		return h, fmt.Errorf("find sessions: %w", err)
	}
	return h, nil
}

// signedInFrom reports whether the user has had a session from ip.
func signedInFrom(ctx context.Context, q sqlx.QueryerContext, userID, ip string) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM auth.sessions WHERE user_id = $1 AND ip = $2)`, userID, ip)
	return ok, err
}

// insertSession inserts a session and its first refresh token in one
// statement.
func insertSession(ctx context.Context, e sqlx.ExecerContext, sess SessionInfo, userID, ip, userAgent string, refreshHash []byte, expires time.Time) error {
	_, err := e.ExecContext(ctx, `WITH s AS (
			INSERT INTO auth.sessions (id, user_id, device_name, device_kind, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6))
		INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at) VALUES ($7, $1, $8)`,
		sess.ID, userID, sess.DeviceName, sess.DeviceKind, ip, userAgent, refreshHash, expires)
	if err != nil {
		return fmt.Errorf("open session: %w", err)
	}
	return nil
}

func insertRefreshToken(ctx context.Context, e sqlx.ExecerContext, hash []byte, sessionID string, expires time.Time) error {
	_, err := e.ExecContext(ctx, `INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
		hash, sessionID, expires)
	if err != nil {
		return fmt.Errorf("store refresh token: %w", err)
	}
	return nil
}

type refreshRow struct {
	SessionID  string         `db:"session_id"`
	ExpiresAt  time.Time      `db:"expires_at"`
	RotatedAt  sql.NullTime   `db:"rotated_at"`
	UserID     string         `db:"user_id"`
	ProfileID  sql.NullString `db:"profile_id"`
	DeviceName string         `db:"device_name"`
	DeviceKind string         `db:"device_kind"`
	RevokedAt  sql.NullTime   `db:"revoked_at"`
}

// lockRefreshToken returns the refresh token with hash and its session,
// both locked for the rest of the transaction, or ErrInvalidRefresh.
func lockRefreshToken(ctx context.Context, q sqlx.QueryerContext, hash []byte) (refreshRow, error) {
	var r refreshRow
	err := sqlx.GetContext(ctx, q, &r, `SELECT t.session_id, t.expires_at, t.rotated_at, s.user_id, s.profile_id, s.device_name, s.device_kind, s.revoked_at
		FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id
		WHERE t.token_hash = $1 FOR UPDATE OF t, s`, hash)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrInvalidRefresh
	}
	if err != nil {
		return r, fmt.Errorf("find refresh token: %w", err)
	}
	return r, nil
}

func rotateRefreshToken(ctx context.Context, e sqlx.ExecerContext, hash []byte) error {
	_, err := e.ExecContext(ctx, `UPDATE auth.refresh_tokens SET rotated_at = now() WHERE token_hash = $1`, hash)
	return err
}

func clearSessionProfile(ctx context.Context, e sqlx.ExecerContext, sessionID string) error {
	_, err := e.ExecContext(ctx, `UPDATE auth.sessions SET profile_id = NULL WHERE id = $1`, sessionID)
	return err
}

func touchSession(ctx context.Context, e sqlx.ExecerContext, sessionID, ip string) error {
	_, err := e.ExecContext(ctx, `UPDATE auth.sessions SET last_seen_at = now(), ip = $2 WHERE id = $1`, sessionID, ip)
	return err
}

// selectSessionProfile scopes the user's live session to a profile, or
// returns ErrSessionRevoked.
func selectSessionProfile(ctx context.Context, q sqlx.QueryerContext, sessionID, profileID, userID string) (SessionInfo, error) {
	var sess SessionInfo
	err := sqlx.GetContext(ctx, q, &sess, `UPDATE auth.sessions SET profile_id = $2, last_seen_at = now()
		WHERE id = $1 AND user_id = $3 AND revoked_at IS NULL RETURNING id, device_name, device_kind`, sessionID, profileID, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, ErrSessionRevoked
	}
	if err != nil {
		return sess, fmt.Errorf("select profile: %w", err)
	}
	return sess, nil
}

// listSessions returns the user's live sessions, newest first; none is an
// empty list.
func listSessions(ctx context.Context, q sqlx.QueryerContext, userID string) ([]Session, error) {
	out := []Session{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT id, device_name, device_kind, ip, user_agent, created_at, last_seen_at
		FROM auth.sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY last_seen_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// findSessionLive reports whether the session exists and is not revoked.
func findSessionLive(ctx context.Context, q sqlx.QueryerContext, id string) (bool, error) {
	var revoked sql.NullTime
	err := sqlx.GetContext(ctx, q, &revoked, `SELECT revoked_at FROM auth.sessions WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check session: %w", err)
	}
	return !revoked.Valid, nil
}

// revokeSession signs out the user's session and returns how many rows
// changed (0 for a session that is not the user's or already revoked).
func revokeSession(ctx context.Context, e sqlx.ExecerContext, sessionID, userID string) (int64, error) {
	res, err := e.ExecContext(ctx, `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = 'signed_out'
		WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`, sessionID, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func revokeReusedSession(ctx context.Context, e sqlx.ExecerContext, sessionID string) error {
	_, err := e.ExecContext(ctx, `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reused'
		WHERE id = $1 AND revoked_at IS NULL`, sessionID)
	return err
}

// revokeUserSessions signs out every live session of the user but keep and
// returns their ids.
func revokeUserSessions(ctx context.Context, q sqlx.QueryerContext, userID, keep, reason string) ([]string, error) {
	var ids []string
	err := sqlx.SelectContext(ctx, q, &ids, `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $3
		WHERE user_id = $1 AND revoked_at IS NULL AND id::text <> $2 RETURNING id`, userID, keep, reason)
	if err != nil {
		return nil, fmt.Errorf("revoke sessions: %w", err)
	}
	return ids, nil
}

// insertSecurityEvent records kind for the user; sessionID "" is none.
func insertSecurityEvent(ctx context.Context, e sqlx.ExecerContext, userID, sessionID, kind, ip string, detail map[string]any) error {
	b, _ := json.Marshal(detail)
	var sid any
	if sessionID != "" {
		sid = sessionID
	}
	_, err := e.ExecContext(ctx, `INSERT INTO auth.security_events (user_id, session_id, kind, ip, detail) VALUES ($1, $2, $3, $4, $5)`,
		userID, sid, kind, ip, b)
	return err
}

func insertResetToken(ctx context.Context, e sqlx.ExecerContext, hash []byte, userID string, expires time.Time) error {
	_, err := e.ExecContext(ctx, `INSERT INTO auth.reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
		hash, userID, expires)
	if err != nil {
		return fmt.Errorf("store reset token: %w", err)
	}
	return nil
}

// useResetToken marks an unused, unexpired reset token used and returns
// its user, or ErrResetTokenInvalid.
func useResetToken(ctx context.Context, q sqlx.QueryerContext, hash []byte, now time.Time) (string, error) {
	var userID string
	err := sqlx.GetContext(ctx, q, &userID, `UPDATE auth.reset_tokens SET used_at = now()
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id`, hash, now)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrResetTokenInvalid
	}
	if err != nil {
		return "", fmt.Errorf("use reset token: %w", err)
	}
	return userID, nil
}

// useResetTokensOf marks every outstanding reset token of the user used.
func useResetTokensOf(ctx context.Context, e sqlx.ExecerContext, userID string) error {
	_, err := e.ExecContext(ctx, `UPDATE auth.reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, userID)
	return err
}

// deleteUserData deletes the user's sessions (and with them their refresh
// tokens), password, reset tokens and security events.
func deleteUserData(ctx context.Context, e sqlx.ExecerContext, userID string) error {
	for _, q := range []string{
		`DELETE FROM auth.sessions WHERE user_id = $1`,
		`DELETE FROM auth.passwords WHERE user_id = $1`,
		`DELETE FROM auth.reset_tokens WHERE user_id = $1`,
		`DELETE FROM auth.security_events WHERE user_id = $1`,
	} {
		if _, err := e.ExecContext(ctx, q, userID); err != nil {
			return err
		}
	}
	return nil
}
