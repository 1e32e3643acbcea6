package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
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
var deviceKinds = map[string]bool{"web": true, "ios": true, "android": true, "mobile": true, "tv": true, "other": true}

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
	// PublicURL is where links in emails point, an http(s) URL such as
	// https://streamflix.example; required. Cookies get the Secure attribute
	// unless it is plain http on a host other than loopback.
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

// validate reports the first bad value, naming its field.
func (c Config) validate() error {
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("auth: Config.PublicURL %q is not an http(s) URL", c.PublicURL)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{
		{"RefreshTTL", c.RefreshTTL}, {"ResetTTL", c.ResetTTL}, {"SessionCacheTTL", c.SessionCacheTTL},
		{"LoginWindow", c.LoginWindow}, {"SlowDelay", c.SlowDelay},
	} {
		if d.v < 0 {
			return fmt.Errorf("auth: Config.%s %s must not be negative", d.field, d.v)
		}
	}
	return nil
}

// Deps are the Service's connections and what it needs from other modules.
type Deps struct {
	DB     *sqlx.DB
	Tokens *token.Manager
	Hasher *password.Hasher
	// Accounts and Profiles are the user module; Notifier is notify; Queue
	// inserts the auth jobs (River's client, resolved when called).
	Accounts Accounts
	Profiles Profiles
	Notifier Notifier
	Counter  Counter
	Cache    Cache
	Queue    Inserter
	// ClientIP is the client address the gateway settled on, for the HTTP
	// handlers (default: the host of the request's RemoteAddr).
	ClientIP ClientIPFunc
	Log      zerolog.Logger
}

// Service is the auth module's API.
type Service struct {
	db       *sqlx.DB
	tokens   *token.Manager
	hasher   *password.Hasher
	accounts Accounts
	profiles Profiles
	notifier Notifier
	counter  Counter
	cache    Cache
	queue    Inserter
	clientIP ClientIPFunc
	log      zerolog.Logger
	cfg      Config
	now      func() time.Time
}

// New returns the auth Service, or an error naming the field of cfg that
// holds a bad value.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if d.ClientIP == nil {
		d.ClientIP = remoteIP
	}
	return &Service{db: d.DB, tokens: d.Tokens, hasher: d.Hasher, accounts: d.Accounts, profiles: d.Profiles, notifier: d.Notifier,
		counter: d.Counter, cache: d.Cache, queue: d.Queue, clientIP: d.ClientIP, log: d.Log, cfg: cfg, now: time.Now}, nil
}

// Device describes the device signing in.
type Device struct {
	Name string `json:"name"`
	Kind string `json:"kind" jsonschema:"enum=web,enum=ios,enum=android,enum=mobile,enum=tv,enum=other"`
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
	DeviceKind string `json:"device_kind" db:"device_kind" jsonschema:"enum=web,enum=ios,enum=android,enum=mobile,enum=tv,enum=other"`
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
	DeviceKind string    `json:"device_kind" db:"device_kind" jsonschema:"enum=web,enum=ios,enum=android,enum=mobile,enum=tv,enum=other"`
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
		errs = append(errs, apperr.FieldError{Field: "device.kind", Code: "invalid", Message: "Must be web, ios, android, mobile, tv or other."})
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
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	return upsertPassword(ctx, tx, userID, hash)
}

// Verify checks a user's password. It returns ErrWrongPassword.
func (s *Service) Verify(ctx context.Context, userID, pw string) error {
	hash, err := findPasswordHash(ctx, s.db, userID)
	if errors.Is(err, errNoPassword) {
		s.hasher.VerifyDummy(ctx, pw)
		return ErrWrongPassword
	}
	if err != nil {
		return err
	}
	ok, rehash, err := s.hasher.Verify(ctx, pw, hash)
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
	h, err := s.hasher.Hash(ctx, pw)
	if err == nil {
		err = updatePassword(ctx, s.db, userID, h)
	}
	if err != nil {
		s.log.Warn().Err(err).Str("user_id", userID).Msg("rehash password")
	}
}

// loginKeys names a sign-in's brute-force counters: per account and IP,
// per account, and per IP.
func loginKeys(email, ip string) (pair, acct, byIP string) {
	return "login:pair:" + email + "|" + ip, "login:acct:" + email, "login:ip:" + ip
}

// Login checks the password and opens a session for the device. Failures
// are counted per account and IP, per account, and per IP: after three the
// answer is slowed, after five (per account and IP), twenty (per account,
// except from an IP that has signed in to it before) or fifty (per IP)
// sign-in is blocked for the rest of the window with ErrLoginLocked.
// Reading the three counters costs one Redis round trip, and so does
// counting a failure (or clearing the pair after a success).
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
	acc, accErr := s.accounts.AccountByEmail(ctx, key)
	if accErr != nil && !errors.Is(accErr, ErrNoAccount) {
		return Tokens{}, accErr
	}
	if err := s.checkLocked(ctx, key, acc.ID, c.IP); err != nil {
		return Tokens{}, err
	}
	var hash string
	if accErr == nil {
		var err error
		hash, err = findPasswordHash(ctx, s.db, acc.ID)
		if err != nil && !errors.Is(err, errNoPassword) {
			return Tokens{}, err
		}
	}
	ok, rehash := false, false
	if hash == "" {
		s.hasher.VerifyDummy(ctx, pw)
	} else {
		var err error
		ok, rehash, err = s.hasher.Verify(ctx, pw, hash)
		if err != nil {
			return Tokens{}, err
		}
	}
	if !ok {
		return Tokens{}, s.loginFailed(ctx, key, acc.ID, c)
	}
	pairKey, _, _ := loginKeys(key, c.IP)
	_ = s.counter.Reset(ctx, pairKey)
	if rehash {
		s.rehash(ctx, acc.ID, pw)
	}
	// Two round trips in the common case: is the device known, then one
	// statement opening the session with its refresh token. A transaction
	// is needed only to queue the new-device email with it.
	prior, err := findDeviceHistory(ctx, s.db, acc.ID, dev.Name, truncate(c.UserAgent, 512))
	if err != nil {
		return Tokens{}, err
	}
	if !prior.Any || prior.Known {
		return s.openSession(ctx, s.db, acc, dev, c)
	}
	var t Tokens
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		if t, err = s.openSession(ctx, tx, acc, dev, c); err != nil {
			return err
		}
		return s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyNewSignIn, UserID: acc.ID, Data: map[string]string{
			"device": dev.Name + " (" + dev.Kind + ")", "ip": c.IP, "time": s.now().UTC().Format("2 Jan 2006 15:04 MST"),
		}, DedupKey: "signin:" + t.Session.ID})
	})
	return t, err
}

// checkLocked reads the three counters in one call. A counter that cannot
// be read locks nobody out.
func (s *Service) checkLocked(ctx context.Context, key, userID, ip string) error {
	var pair, byAcct, byIP int64
	pairKey, acctKey, ipKey := loginKeys(key, ip)
	if n, err := s.counter.GetMany(ctx, pairKey, acctKey, ipKey); err == nil {
		pair, byAcct, byIP = n[0], n[1], n[2]
	}
	if pair >= 5 || byIP >= 50 {
		return s.lockedErr()
	}
	if byAcct >= 20 {
		// A device the owner has used before is not locked out by an
		// attacker's failures elsewhere.
		var trusted bool
		if userID != "" {
			trusted, _ = signedInFrom(ctx, s.db, userID, ip)
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

// loginFailed counts a failure on the three counters in one call.
func (s *Service) loginFailed(ctx context.Context, key, userID string, c Client) error {
	var pair int64
	pairKey, acctKey, ipKey := loginKeys(key, c.IP)
	n, err := s.counter.IncrMany(ctx, s.cfg.LoginWindow, pairKey, acctKey, ipKey)
	if err != nil {
		s.log.Warn().Err(err).Msg("count failed login")
	} else {
		pair = n[0]
	}
	if pair >= 5 && userID != "" {
		s.securityEvent(ctx, s.db, userID, "", "login_locked", c.IP, map[string]any{"failures": pair})
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
	err := insertSession(ctx, e, sess, acc.ID, c.IP, truncate(c.UserAgent, 512), hash, s.now().Add(s.cfg.RefreshTTL))
	if err != nil {
		return Tokens{}, err
	}
	return s.issueTokens(acc, sess, Profile{}, refresh)
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
	if err := insertRefreshToken(ctx, tx, hash, sessionID, s.now().Add(s.cfg.RefreshTTL)); err != nil {
		return "", err
	}
	return refresh, nil
}

func (s *Service) issueTokens(acc Account, sess SessionInfo, p Profile, refresh string) (Tokens, error) {
	access, exp, err := s.tokens.Issue(token.Claims{UserID: acc.ID, SessionID: sess.ID, ProfileID: p.ID, Roles: acc.Roles,
		MaturityLevel: p.MaturityLevel, Kids: p.Kids})
	if err != nil {
		return Tokens{}, err
	}
	sess.ProfileID = p.ID
	return Tokens{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(time.Until(exp).Seconds()), RefreshToken: refresh, Session: sess}, nil
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
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		r, err := lockRefreshToken(ctx, tx, secret.Hash(refresh))
		if err != nil {
			return err
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
		acc, err := s.accounts.AccountByID(ctx, r.UserID)
		if errors.Is(err, ErrNoAccount) {
			return ErrSessionRevoked
		}
		if err != nil {
			return err
		}
		var p Profile
		if r.ProfileID.Valid {
			p, err = s.profiles.ProfileOf(ctx, acc.ID, r.ProfileID.String)
			if err != nil {
				if apperr.KindOf(err) != apperr.NotFound {
					return err
				}
				// The profile is gone: the session continues without one.
				p = Profile{}
				if err := clearSessionProfile(ctx, tx, r.SessionID); err != nil {
					return err
				}
			}
		}
		if err := rotateRefreshToken(ctx, tx, secret.Hash(refresh)); err != nil {
			return err
		}
		if err := touchSession(ctx, tx, r.SessionID, c.IP); err != nil {
			return err
		}
		next, err := s.newRefreshTx(ctx, tx, r.SessionID)
		if err != nil {
			return err
		}
		out, err = s.issueTokens(acc, SessionInfo{ID: r.SessionID, DeviceName: r.DeviceName, DeviceKind: r.DeviceKind}, p, next)
		return err
	})
	if err != nil {
		return Tokens{}, err
	}
	if reused != nil {
		// Revoke in its own transaction: the reuse must be recorded even
		// though the request fails.
		err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
			if err := revokeReusedSession(ctx, tx, reused.SessionID); err != nil {
				return err
			}
			s.securityEvent(ctx, tx, reused.UserID, reused.SessionID, "refresh_token_reused", c.IP, map[string]any{"user_agent": truncate(c.UserAgent, 200)})
			return nil
		})
		if err != nil {
			return Tokens{}, err
		}
		s.log.Warn().Str("event", "refresh_token_reused").Str("user_id", reused.UserID).Str("session_id", reused.SessionID).Str("ip", c.IP).
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
	prof, err := s.profiles.UnlockProfile(ctx, p.UserID, profileID, pin)
	if err != nil {
		return Tokens{}, err
	}
	acc, err := s.accounts.AccountByID(ctx, p.UserID)
	if err != nil {
		return Tokens{}, err
	}
	sess, err := selectSessionProfile(ctx, s.db, p.SessionID, prof.ID, p.UserID)
	if err != nil {
		return Tokens{}, err
	}
	return s.issueTokens(acc, sess, prof, "")
}

// Sessions lists the user's live sessions, newest first, marking current.
func (s *Service) Sessions(ctx context.Context, userID, current string) ([]Session, error) {
	out, err := listSessions(ctx, s.db, userID)
	if err != nil {
		return nil, err
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
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		n, err = revokeSession(ctx, tx, sessionID, userID)
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
	ids, err := revokeUserSessions(ctx, tx, userID, keep, reason)
	if err != nil {
		return err
	}
	s.forgetSessionsAfterCommit(ctx, tx, ids)
	return nil
}

// RevokeAll signs the user out of every session, this one included.
func (s *Service) RevokeAll(ctx context.Context, userID string) error {
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error { return s.RevokeSessionsTx(ctx, tx, userID, "", "signed_out_everywhere") })
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
		if err := s.cache.Set(ctx, "sess:"+id, []byte("0"), s.cfg.SessionCacheTTL); err != nil {
			// The cached "live" entry expires within SessionCacheTTL; try to
			// drop it too.
			_ = s.cache.Delete(ctx, "sess:"+id)
			s.log.Warn().Err(err).Str("session_id", id).Msg("session revocation not cached; Postgres still answers after the cache entry expires")
		}
	}
}

// ErrTokenRevoked is the gateway's answer for a token whose session ended.
var ErrTokenRevoked = apperr.New(apperr.Unauthorized, "session_revoked", "This session has been signed out; sign in again.")

// Authenticate is the gateway's token check: the token's signature and
// expiry, then the session's state (cached in Redis, Postgres the truth).
func (s *Service) Authenticate(ctx context.Context, raw string) (*api.Principal, error) {
	c, err := s.tokens.Verify(raw)
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
		if v, ok, _ := s.cache.Get(ctx, key); ok {
			return len(v) == 1 && v[0] == '1', nil
		}
	}
	live, err := findSessionLive(ctx, s.db, id)
	if err != nil {
		return false, err
	}
	if s.cfg.CacheSessions {
		v := []byte("0")
		if live {
			v = []byte("1")
		}
		_ = s.cache.Set(ctx, key, v, s.cfg.SessionCacheTTL)
	}
	return live, nil
}

func (s *Service) securityEvent(ctx context.Context, e sqlx.ExecerContext, userID, sessionID, kind, ip string, detail map[string]any) {
	if err := insertSecurityEvent(ctx, e, userID, sessionID, kind, ip, detail); err != nil {
		s.log.Warn().Err(err).Str("event", kind).Msg("record security event")
	}
}

// RequestReset sends a password reset link when the email belongs to an
// account; the answer is the same either way. Requests are limited per IP
// and per address, both counted in one call.
func (s *Service) RequestReset(ctx context.Context, email string, c Client) error {
	key := strings.ToLower(strings.TrimSpace(email))
	if n, err := s.counter.IncrMany(ctx, time.Hour, "reset:ip:"+c.IP, "reset:acct:"+key); err == nil && (n[0] > 20 || n[1] > 5) {
		e := *ErrResetLimited
		e.RetryAfter = 3600
		return &e
	}
	acc, err := s.accounts.AccountByEmail(ctx, key)
	if errors.Is(err, ErrNoAccount) {
		return nil
	}
	if err != nil {
		return err
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		tok, hash := secret.New()
		if err := insertResetToken(ctx, tx, hash, acc.ID, s.now().Add(s.cfg.ResetTTL)); err != nil {
			return err
		}
		return s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyPasswordReset, UserID: acc.ID, Data: map[string]string{
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
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		userID, err := useResetToken(ctx, tx, secret.Hash(tok), s.now())
		if err != nil {
			return err
		}
		acc, err := s.accounts.AccountByID(ctx, userID)
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
		if err := useResetTokensOf(ctx, tx, userID); err != nil {
			return err
		}
		if err := s.RevokeSessionsTx(ctx, tx, userID, "", "password_reset"); err != nil {
			return err
		}
		s.securityEvent(ctx, tx, userID, "", "password_reset", c.IP, nil)
		return s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyPasswordChanged, UserID: userID, Data: map[string]string{}})
	})
}
