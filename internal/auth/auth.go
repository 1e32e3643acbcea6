package auth

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/auth/password"
	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/api"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/secret"
)

// Notification kinds auth sends (owned by notify).
const (
	NotifyPasswordReset   = "password_reset"
	NotifyPasswordChanged = "password_changed"
	NotifyNewSignIn       = "new_sign_in"
)

// Device kinds.
var deviceKinds = map[string]bool{"web": true, "mobile": true, "tv": true, "other": true}

// Errors returned by the Service.
var (
	ErrNoAccount          = errors.New("auth: no such account")
	ErrInvalidCredentials = apperr.New(apperr.Unauthorized, "invalid_credentials", "The email or password is not correct.")
	ErrWrongPassword      = apperr.New(apperr.Forbidden, "wrong_password", "The password is not correct.")
	ErrLoginLocked        = apperr.New(apperr.RateLimited, "login_locked", "Too many failed sign-ins; try again later.")
	ErrResetLimited       = apperr.New(apperr.RateLimited, "reset_limited", "Too many password reset requests; try again later.")
	ErrInvalidRefresh     = apperr.New(apperr.Unauthorized, "invalid_refresh_token", "The refresh token is invalid or expired; sign in again.")
	ErrRefreshReused      = apperr.New(apperr.Unauthorized, "refresh_token_reused", "This refresh token was already used; the session has been signed out.")
	ErrSessionRevoked     = apperr.New(apperr.Unauthorized, "session_revoked", "This session has been signed out.")
	ErrSessionNotFound    = apperr.New(apperr.NotFound, "session_not_found", "No such session.")
	ErrResetTokenInvalid  = apperr.New(apperr.Invalid, "reset_token_invalid", "This reset link is invalid, expired or already used.")
)

// Config configures the Service. Zero values take the defaults named.
type Config struct {
	PublicURL string
	// RefreshTTL is how long a refresh token lives (default 30 days); each
	// refresh issues a new one.
	RefreshTTL time.Duration
	// ResetTTL is how long a password reset link lives (default 1h).
	ResetTTL time.Duration
	// SessionCacheTTL bounds how long an instance trusts cached session
	// state (default 60s). Revocation writes through, so it only matters
	// when Redis misses a write.
	SessionCacheTTL time.Duration
	// CacheSessions is true when the Cache is shared by every instance
	// (Redis); an in-process cache would hide revocations made elsewhere.
	CacheSessions bool
	// LoginWindow is the brute-force counting window (default 15m).
	LoginWindow time.Duration
	// SlowDelay is added per failure after the third for one account and IP
	// (default 1s, at most 3s) before answering: slowed, then blocked.
	SlowDelay time.Duration
}

func (c Config) withDefaults() Config {
	if c.RefreshTTL == 0 {
		c.RefreshTTL = 30 * 24 * time.Hour
	}
	if c.ResetTTL == 0 {
		c.ResetTTL = time.Hour
	}
	if c.SessionCacheTTL == 0 {
		c.SessionCacheTTL = time.Minute
	}
	if c.LoginWindow == 0 {
		c.LoginWindow = 15 * time.Minute
	}
	if c.SlowDelay == 0 {
		c.SlowDelay = time.Second
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// Deps are the Service's collaborators.
type Deps struct {
	DB       *sqlx.DB
	Tokens   *token.Manager
	Hasher   *password.Hasher
	Accounts Accounts
	Profiles Profiles
	Notifier Notifier
	Counter  Counter
	Cache    Cache
	Queue    Inserter
	Log      zerolog.Logger
}

// Service is the auth module's API.
type Service struct {
	Deps
	cfg Config
	now func() time.Time
}

// NewService returns the auth Service.
func NewService(cfg Config, d Deps) *Service {
	return &Service{Deps: d, cfg: cfg.withDefaults(), now: time.Now}
}

// Device describes the device signing in.
type Device struct {
	Name string `json:"name"`
	Kind string `json:"kind" jsonschema:"enum=web,enum=mobile,enum=tv,enum=other"`
}

// Client is where a request comes from.
type Client struct {
	IP        string
	UserAgent string
}

// SessionInfo is the session part of a login answer.
type SessionInfo struct {
	ID         string `json:"id" db:"id" jsonschema:"format=uuid"`
	DeviceName string `json:"device_name" db:"device_name"`
	DeviceKind string `json:"device_kind" db:"device_kind" jsonschema:"enum=web,enum=mobile,enum=tv,enum=other"`
	ProfileID  string `json:"profile_id,omitempty" db:"-" jsonschema:"format=uuid"`
}

// Tokens answers login, refresh and profile selection.
type Tokens struct {
	AccessToken  string      `json:"access_token"`
	TokenType    string      `json:"token_type" jsonschema:"enum=Bearer"`
	ExpiresIn    int         `json:"expires_in"`
	RefreshToken string      `json:"refresh_token,omitempty"`
	Session      SessionInfo `json:"session"`
}

// Session is a signed-in device as listed to its owner.
type Session struct {
	ID         string    `json:"id" db:"id" jsonschema:"format=uuid"`
	DeviceName string    `json:"device_name" db:"device_name"`
	DeviceKind string    `json:"device_kind" db:"device_kind" jsonschema:"enum=web,enum=mobile,enum=tv,enum=other"`
	IP         string    `json:"ip" db:"ip"`
	UserAgent  string    `json:"user_agent" db:"user_agent"`
	CreatedAt  time.Time `json:"created_at" db:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at" db:"last_seen_at"`
	Current    bool      `json:"current" db:"-"`
}

func validateDevice(d *Device) error {
	d.Name = strings.TrimSpace(d.Name)
	if d.Kind == "" {
		d.Kind = "other"
	}
	var errs []apperr.FieldError
	if d.Name == "" {
		d.Name = "Unnamed device"
	}
	if utf8.RuneCountInString(d.Name) > 100 {
		errs = append(errs, apperr.FieldError{Field: "device.name", Code: "too_long", Message: "A device name has at most 100 characters."})
	}
	if fe := api.LineProblem("device.name", d.Name); fe != nil {
		errs = append(errs, *fe)
	}
	if !deviceKinds[d.Kind] {
		errs = append(errs, apperr.FieldError{Field: "device.kind", Code: "invalid", Message: "Must be web, mobile, tv or other."})
	}
	if len(errs) > 0 {
		return apperr.Validation(errs...)
	}
	return nil
}

// SetTx checks the password policy and stores the password's hash, in the
// caller's transaction. It returns a validation error naming field.
func (s *Service) SetTx(ctx context.Context, tx *sqlx.Tx, userID, email, field, pw string) error {
	if err := password.Check(field, pw, email); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO auth.passwords (user_id, hash) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET hash = EXCLUDED.hash, updated_at = now()`, userID, hash)
	if err != nil {
		return fmt.Errorf("store password: %w", err)
	}
	return nil
}

// Verify checks a user's password. It returns ErrWrongPassword.
func (s *Service) Verify(ctx context.Context, userID, pw string) error {
	var hash string
	err := s.DB.GetContext(ctx, &hash, `SELECT hash FROM auth.passwords WHERE user_id = $1`, userID)
	if errors.Is(err, sql.ErrNoRows) {
		s.Hasher.VerifyDummy(ctx, pw)
		return ErrWrongPassword
	}
	if err != nil {
		return fmt.Errorf("find password: %w", err)
	}
	ok, rehash, err := s.Hasher.Verify(ctx, pw, hash)
	if err != nil {
		return err
	}
	if !ok {
		return ErrWrongPassword
	}
	if rehash {
		s.rehash(ctx, userID, pw)
	}
	return nil
}

func (s *Service) rehash(ctx context.Context, userID, pw string) {
	h, err := s.Hasher.Hash(ctx, pw)
	if err == nil {
		_, err = s.DB.ExecContext(ctx, `UPDATE auth.passwords SET hash = $2, updated_at = now() WHERE user_id = $1`, userID, h)
	}
	if err != nil {
		s.Log.Warn().Err(err).Str("user_id", userID).Msg("rehash password")
	}
}

// Login checks the password and opens a session for the device. Failures
// are counted per account and IP, per account, and per IP: after three the
// answer is slowed, after five (per account and IP), twenty (per account,
// except from an IP that has signed in to it before) or fifty (per IP)
// sign-in is blocked for the rest of the window with ErrLoginLocked.
// It returns ErrInvalidCredentials whether the email is unknown or the
// password wrong, taking the same time for both.
func (s *Service) Login(ctx context.Context, email, pw string, dev Device, c Client) (Tokens, error) {
	if err := validateDevice(&dev); err != nil {
		return Tokens{}, err
	}
	key := strings.ToLower(strings.TrimSpace(email))
	if len(key) > 254 || len(pw) > 1024 {
		return Tokens{}, ErrInvalidCredentials
	}
	acc, accErr := s.Accounts.AccountByEmail(ctx, key)
	if accErr != nil && !errors.Is(accErr, ErrNoAccount) {
		return Tokens{}, accErr
	}
	if err := s.checkLocked(ctx, key, acc.ID, c.IP); err != nil {
		return Tokens{}, err
	}
	var hash string
	if accErr == nil {
		err := s.DB.GetContext(ctx, &hash, `SELECT hash FROM auth.passwords WHERE user_id = $1`, acc.ID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Tokens{}, fmt.Errorf("find password: %w", err)
		}
	}
	ok, rehash := false, false
	if hash == "" {
		s.Hasher.VerifyDummy(ctx, pw)
	} else {
		var err error
		ok, rehash, err = s.Hasher.Verify(ctx, pw, hash)
		if err != nil {
			return Tokens{}, err
		}
	}
	if !ok {
		return Tokens{}, s.loginFailed(ctx, key, acc.ID, c)
	}
	_ = s.Counter.Reset(ctx, "login:pair:"+key+"|"+c.IP)
	if rehash {
		s.rehash(ctx, acc.ID, pw)
	}
	// Two round trips in the common case: is the device known, then one
	// statement opening the session with its refresh token. A transaction
	// is needed only to queue the new-device email with it.
	var prior struct {
		Known bool `db:"known"`
		Any   bool `db:"any"`
	}
	if err := s.DB.GetContext(ctx, &prior, `SELECT coalesce(bool_or(device_name = $2 AND user_agent = $3), false) AS known, count(*) > 0 AS any
		FROM auth.sessions WHERE user_id = $1`, acc.ID, dev.Name, truncate(c.UserAgent, 512)); err != nil {
		return Tokens{}, fmt.Errorf("find sessions: %w", err)
	}
	if !prior.Any || prior.Known {
		return s.openSession(ctx, s.DB, acc, dev, c)
	}
	var t Tokens
	err := pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var err error
		if t, err = s.openSession(ctx, tx, acc, dev, c); err != nil {
			return err
		}
		return s.Notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyNewSignIn, UserID: acc.ID, Data: map[string]string{
			"device": dev.Name + " (" + dev.Kind + ")", "ip": c.IP, "time": s.now().UTC().Format("2 Jan 2006 15:04 MST"),
		}, DedupKey: "signin:" + t.Session.ID})
	})
	return t, err
}

func (s *Service) checkLocked(ctx context.Context, key, userID, ip string) error {
	locked := func(n int64, limit int64) bool { return n >= limit }
	pair, _ := s.Counter.Get(ctx, "login:pair:"+key+"|"+ip)
	byIP, _ := s.Counter.Get(ctx, "login:ip:"+ip)
	byAcct, _ := s.Counter.Get(ctx, "login:acct:"+key)
	if locked(pair, 5) || locked(byIP, 50) {
		return s.lockedErr()
	}
	if locked(byAcct, 20) {
		// A device the owner has used before is not locked out by an
		// attacker's failures elsewhere.
		var trusted bool
		if userID != "" {
			_ = s.DB.GetContext(ctx, &trusted, `SELECT EXISTS (SELECT 1 FROM auth.sessions WHERE user_id = $1 AND ip = $2)`, userID, ip)
		}
		if !trusted {
			return s.lockedErr()
		}
	}
	return nil
}

func (s *Service) lockedErr() error {
	e := *ErrLoginLocked
	e.RetryAfter = int(s.cfg.LoginWindow.Seconds())
	return &e
}

func (s *Service) loginFailed(ctx context.Context, key, userID string, c Client) error {
	w := s.cfg.LoginWindow
	pair, _, err := s.Counter.Incr(ctx, "login:pair:"+key+"|"+c.IP, w)
	if err != nil {
		s.Log.Warn().Err(err).Msg("count failed login")
	}
	_, _, _ = s.Counter.Incr(ctx, "login:acct:"+key, w)
	_, _, _ = s.Counter.Incr(ctx, "login:ip:"+c.IP, w)
	if pair >= 5 && userID != "" {
		s.securityEvent(ctx, s.DB, userID, "", "login_locked", c.IP, map[string]any{"failures": pair})
	}
	if pair >= 3 {
		d := time.Duration(min(pair-2, 3)) * s.cfg.SlowDelay
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	return ErrInvalidCredentials
}

// openSession inserts a session and its first refresh token in one
// statement and issues the tokens.
func (s *Service) openSession(ctx context.Context, e sqlx.ExecerContext, acc Account, dev Device, c Client) (Tokens, error) {
	sess := SessionInfo{ID: uuid.NewString(), DeviceName: dev.Name, DeviceKind: dev.Kind}
	refresh, hash := secret.New()
	_, err := e.ExecContext(ctx, `WITH s AS (
			INSERT INTO auth.sessions (id, user_id, device_name, device_kind, ip, user_agent) VALUES ($1, $2, $3, $4, $5, $6))
		INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at) VALUES ($7, $1, $8)`,
		sess.ID, acc.ID, dev.Name, dev.Kind, c.IP, truncate(c.UserAgent, 512), hash, s.now().Add(s.cfg.RefreshTTL))
	if err != nil {
		return Tokens{}, fmt.Errorf("open session: %w", err)
	}
	return s.tokens(acc, sess, Profile{}, refresh)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func (s *Service) newRefreshTx(ctx context.Context, tx *sqlx.Tx, sessionID string) (string, error) {
	refresh, hash := secret.New()
	_, err := tx.ExecContext(ctx, `INSERT INTO auth.refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)`,
		hash, sessionID, s.now().Add(s.cfg.RefreshTTL))
	if err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	return refresh, nil
}

func (s *Service) tokens(acc Account, sess SessionInfo, p Profile, refresh string) (Tokens, error) {
	access, exp, err := s.Tokens.Issue(token.Claims{UserID: acc.ID, SessionID: sess.ID, ProfileID: p.ID, Roles: acc.Roles,
		MaturityLevel: p.MaturityLevel, Kids: p.Kids})
	if err != nil {
		return Tokens{}, err
	}
	sess.ProfileID = p.ID
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(time.Until(exp).Seconds()), RefreshToken: refresh, Session: sess}, nil
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

// Refresh exchanges a refresh token for new tokens, rotating the refresh
// token. A token that was already rotated revokes the whole session (it
// was stolen or replayed) and is logged as a security event. It returns
// ErrInvalidRefresh, ErrRefreshReused or ErrSessionRevoked.
func (s *Service) Refresh(ctx context.Context, refresh string, c Client) (Tokens, error) {
	if refresh == "" || len(refresh) > 200 {
		return Tokens{}, ErrInvalidRefresh
	}
	var out Tokens
	var reused *refreshRow
	err := pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var r refreshRow
		err := tx.GetContext(ctx, &r, `SELECT t.session_id, t.expires_at, t.rotated_at, s.user_id, s.profile_id, s.device_name, s.device_kind, s.revoked_at
			FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id
			WHERE t.token_hash = $1 FOR UPDATE OF t, s`, secret.Hash(refresh))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrInvalidRefresh
		}
		if err != nil {
			return fmt.Errorf("find refresh token: %w", err)
		}
		if r.RevokedAt.Valid {
			return ErrSessionRevoked
		}
		if r.RotatedAt.Valid {
			reused = &r
			return nil
		}
		if !r.ExpiresAt.After(s.now()) {
			return ErrInvalidRefresh
		}
		acc, err := s.Accounts.AccountByID(ctx, r.UserID)
		if errors.Is(err, ErrNoAccount) {
			return ErrSessionRevoked
		}
		if err != nil {
			return err
		}
		var p Profile
		if r.ProfileID.Valid {
			p, err = s.Profiles.ProfileOf(ctx, acc.ID, r.ProfileID.String)
			if err != nil {
				if apperr.KindOf(err) != apperr.NotFound {
					return err
				}
				// The profile is gone: the session continues without one.
				p = Profile{}
				if _, err := tx.ExecContext(ctx, `UPDATE auth.sessions SET profile_id = NULL WHERE id = $1`, r.SessionID); err != nil {
					return err
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE auth.refresh_tokens SET rotated_at = now() WHERE token_hash = $1`, secret.Hash(refresh)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE auth.sessions SET last_seen_at = now(), ip = $2 WHERE id = $1`, r.SessionID, c.IP); err != nil {
			return err
		}
		next, err := s.newRefreshTx(ctx, tx, r.SessionID)
		if err != nil {
			return err
		}
		out, err = s.tokens(acc, SessionInfo{ID: r.SessionID, DeviceName: r.DeviceName, DeviceKind: r.DeviceKind}, p, next)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if reused != nil {
		// Revoke in its own transaction: the reuse must be recorded even
		// though the request fails.
		err := pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = 'refresh_token_reused'
				WHERE id = $1 AND revoked_at IS NULL`, reused.SessionID); err != nil {
				return err
			}
			s.securityEvent(ctx, tx, reused.UserID, reused.SessionID, "refresh_token_reused", c.IP, map[string]any{"user_agent": truncate(c.UserAgent, 200)})
			return nil
		})
		if err != nil {
			return Tokens{}, err
		}
		s.Log.Warn().Str("event", "refresh_token_reused").Str("user_id", reused.UserID).Str("session_id", reused.SessionID).Str("ip", c.IP).
			Msg("security: a rotated refresh token was used again; session revoked")
		s.forgetSessions(ctx, reused.SessionID)
		return Tokens{}, ErrRefreshReused
	}
	return out, nil
}

// SelectProfile scopes the session to one of the account's profiles,
// checking its PIN, and answers new tokens for it. Another account's
// profile is not found.
func (s *Service) SelectProfile(ctx context.Context, p *api.Principal, profileID, pin string) (Tokens, error) {
	prof, err := s.Profiles.UnlockProfile(ctx, p.UserID, profileID, pin)
	if err != nil {
		return Tokens{}, err
	}
	acc, err := s.Accounts.AccountByID(ctx, p.UserID)
	if err != nil {
		return Tokens{}, err
	}
	var sess SessionInfo
	err = s.DB.GetContext(ctx, &sess, `UPDATE auth.sessions SET profile_id = $2, last_seen_at = now()
		WHERE id = $1 AND user_id = $3 AND revoked_at IS NULL RETURNING id, device_name, device_kind`, p.SessionID, prof.ID, p.UserID)
	if errors.Is(err, sql.ErrNoRows) {
		return Tokens{}, ErrSessionRevoked
	}
	if err != nil {
		return Tokens{}, fmt.Errorf("select profile: %w", err)
	}
	return s.tokens(acc, sess, prof, "")
}

// Sessions lists the user's live sessions, newest first, marking current.
func (s *Service) Sessions(ctx context.Context, userID, current string) ([]Session, error) {
	out := []Session{}
	err := s.DB.SelectContext(ctx, &out, `SELECT id, device_name, device_kind, ip, user_agent, created_at, last_seen_at
		FROM auth.sessions WHERE user_id = $1 AND revoked_at IS NULL ORDER BY last_seen_at DESC, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	for i := range out {
		out[i].Current = out[i].ID == current
		out[i].CreatedAt, out[i].LastSeenAt = out[i].CreatedAt.UTC(), out[i].LastSeenAt.UTC()
	}
	return out, nil
}

// RevokeSession signs out one of the user's sessions; another user's
// session is ErrSessionNotFound.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	if _, err := uuid.Parse(sessionID); err != nil {
		return ErrSessionNotFound
	}
	var n int64
	err := pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = 'signed_out'
			WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL`, sessionID, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if n == 0 {
		return ErrSessionNotFound
	}
	s.forgetSessions(ctx, sessionID)
	return nil
}

// RevokeSessionsTx signs the user out everywhere but keep ("" for all).
func (s *Service) RevokeSessionsTx(ctx context.Context, tx *sqlx.Tx, userID, keep, reason string) error {
	ids, err := s.revokeUserTx(ctx, tx, userID, keep, reason)
	if err != nil {
		return err
	}
	s.forgetSessionsAfterCommit(ctx, tx, ids)
	return nil
}

// RevokeAll signs the user out of every session, this one included.
func (s *Service) RevokeAll(ctx context.Context, userID string) error {
	return pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error { return s.RevokeSessionsTx(ctx, tx, userID, "", "signed_out_everywhere") })
}

func (s *Service) revokeUserTx(ctx context.Context, tx *sqlx.Tx, userID, keep, reason string) ([]string, error) {
	var ids []string
	err := tx.SelectContext(ctx, &ids, `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $3
		WHERE user_id = $1 AND revoked_at IS NULL AND id::text <> $2 RETURNING id`, userID, keep, reason)
	if err != nil {
		return nil, fmt.Errorf("revoke sessions: %w", err)
	}
	return ids, nil
}

// forgetSessionsAfterCommit writes the revocation of ids through to the
// session cache once tx commits: a rolled-back sign-out must not refuse
// sessions that are still live.
func (s *Service) forgetSessionsAfterCommit(ctx context.Context, tx *sqlx.Tx, ids []string) {
	pg.AfterCommit(tx, func() { s.forgetSessions(context.WithoutCancel(ctx), ids...) })
}

// forgetSessions writes revocation through to the session cache, so every
// instance sees it at its next request.
func (s *Service) forgetSessions(ctx context.Context, ids ...string) {
	if !s.cfg.CacheSessions || len(ids) == 0 {
		return
	}
	for _, id := range ids {
		if err := s.Cache.Set(ctx, "sess:"+id, []byte("0"), s.cfg.SessionCacheTTL); err != nil {
			// The cached "live" entry expires within SessionCacheTTL; try to
			// drop it too.
			_ = s.Cache.Delete(ctx, "sess:"+id)
			s.Log.Warn().Err(err).Str("session_id", id).Msg("session revocation not cached; Postgres still answers after the cache entry expires")
		}
	}
}

// ErrTokenRevoked is the gateway's answer for a token whose session ended.
var ErrTokenRevoked = apperr.New(apperr.Unauthorized, "session_revoked", "This session has been signed out; sign in again.")

// Authenticate is the gateway's token check: the token's signature and
// expiry, then the session's state (cached in Redis, Postgres the truth).
func (s *Service) Authenticate(ctx context.Context, raw string) (*api.Principal, error) {
	c, err := s.Tokens.Verify(raw)
	if err != nil {
		return nil, err
	}
	live, err := s.sessionLive(ctx, c.SessionID)
	if err != nil {
		return nil, err
	}
	if !live {
		return nil, ErrTokenRevoked
	}
	return &api.Principal{UserID: c.UserID, ProfileID: c.ProfileID, SessionID: c.SessionID, Roles: c.Roles,
		MaturityLevel: c.MaturityLevel, Kids: c.Kids}, nil
}

func (s *Service) sessionLive(ctx context.Context, id string) (bool, error) {
	key := "sess:" + id
	if s.cfg.CacheSessions {
		if v, ok, _ := s.Cache.Get(ctx, key); ok {
			return len(v) == 1 && v[0] == '1', nil
		}
	}
	var revoked sql.NullTime
	err := s.DB.GetContext(ctx, &revoked, `SELECT revoked_at FROM auth.sessions WHERE id = $1`, id)
	live := err == nil && !revoked.Valid
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("check session: %w", err)
	}
	if s.cfg.CacheSessions {
		v := []byte("0")
		if live {
			v = []byte("1")
		}
		_ = s.Cache.Set(ctx, key, v, s.cfg.SessionCacheTTL)
	}
	return live, nil
}

func (s *Service) securityEvent(ctx context.Context, e sqlx.ExecerContext, userID, sessionID, kind, ip string, detail map[string]any) {
	b, _ := json.Marshal(detail)
	var sid any
	if sessionID != "" {
		sid = sessionID
	}
	if _, err := e.ExecContext(ctx, `INSERT INTO auth.security_events (user_id, session_id, kind, ip, detail) VALUES ($1, $2, $3, $4, $5)`,
		userID, sid, kind, ip, b); err != nil {
		s.Log.Warn().Err(err).Str("event", kind).Msg("record security event")
	}
}

// RequestReset sends a password reset link when the email belongs to an
// account; the answer is the same either way. Requests are limited per IP
// and per address.
func (s *Service) RequestReset(ctx context.Context, email string, c Client) error {
	key := strings.ToLower(strings.TrimSpace(email))
	n, _, _ := s.Counter.Incr(ctx, "reset:ip:"+c.IP, time.Hour)
	m, _, _ := s.Counter.Incr(ctx, "reset:acct:"+key, time.Hour)
	if n > 20 || m > 5 {
		e := *ErrResetLimited
		e.RetryAfter = 3600
		return &e
	}
	acc, err := s.Accounts.AccountByEmail(ctx, key)
	if errors.Is(err, ErrNoAccount) {
		return nil
	}
	if err != nil {
		return err
	}
	return pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		tok, hash := secret.New()
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth.reset_tokens (token_hash, user_id, expires_at) VALUES ($1, $2, $3)`,
			hash, acc.ID, s.now().Add(s.cfg.ResetTTL)); err != nil {
			return fmt.Errorf("store reset token: %w", err)
		}
		return s.Notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyPasswordReset, UserID: acc.ID, Data: map[string]string{
			"link": s.cfg.PublicURL + "/reset-password?token=" + tok, "expires_in": "1 hour",
		}, DedupKey: "reset:" + base64.RawURLEncoding.EncodeToString(hash)})
	})
}

// ConfirmReset sets a new password with a reset token and signs out every
// session. It returns ErrResetTokenInvalid or a validation error on
// new_password.
func (s *Service) ConfirmReset(ctx context.Context, tok, newPassword string, c Client) error {
	if tok == "" || len(tok) > 200 {
		return ErrResetTokenInvalid
	}
	return pg.InTx(ctx, s.DB, func(tx *sqlx.Tx) error {
		var userID string
		err := tx.GetContext(ctx, &userID, `UPDATE auth.reset_tokens SET used_at = now()
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING user_id`, secret.Hash(tok), s.now())
		if errors.Is(err, sql.ErrNoRows) {
			return ErrResetTokenInvalid
		}
		if err != nil {
			return fmt.Errorf("use reset token: %w", err)
		}
		acc, err := s.Accounts.AccountByID(ctx, userID)
		if errors.Is(err, ErrNoAccount) {
			return ErrResetTokenInvalid
		}
		if err != nil {
			return err
		}
		if err := s.SetTx(ctx, tx, userID, acc.Email, "new_password", newPassword); err != nil {
			return err
		}
		// Other outstanding reset links die with this one.
		if _, err := tx.ExecContext(ctx, `UPDATE auth.reset_tokens SET used_at = now() WHERE user_id = $1 AND used_at IS NULL`, userID); err != nil {
			return err
		}
		if err := s.RevokeSessionsTx(ctx, tx, userID, "", "password_reset"); err != nil {
			return err
		}
		s.securityEvent(ctx, tx, userID, "", "password_reset", c.IP, nil)
		return s.Notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyPasswordChanged, UserID: userID, Data: map[string]string{}})
	})
}

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
	ids, err := s.revokeUserTx(ctx, tx, userID, "", "account_deleted")
	if err != nil {
		return err
	}
	if _, err := s.Queue.InsertTx(ctx, tx.Tx, ForgetArgs{UserID: userID}, nil); err != nil {
		return fmt.Errorf("queue forget user: %w", err)
	}
	s.forgetSessionsAfterCommit(ctx, tx, ids)
	return nil
}

type forgetWorker struct {
	river.WorkerDefaults[ForgetArgs]
	s *Service
}

func (w *forgetWorker) Work(ctx context.Context, job *river.Job[ForgetArgs]) error {
	return pg.InTx(ctx, w.s.DB, func(tx *sqlx.Tx) error {
		for _, q := range []string{
			`DELETE FROM auth.sessions WHERE user_id = $1`,
			`DELETE FROM auth.passwords WHERE user_id = $1`,
			`DELETE FROM auth.reset_tokens WHERE user_id = $1`,
			`DELETE FROM auth.security_events WHERE user_id = $1`,
		} {
			if _, err := tx.ExecContext(ctx, q, job.Args.UserID); err != nil {
				return err
			}
		}
		return nil
	})
}
