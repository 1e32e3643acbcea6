package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/auth/password"
	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/migrate"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/redistest"
)

// The Service is tested against real Postgres (a database per test), real
// Redis (a key prefix per test) and River's real insert path. The user and
// notify modules are stand-ins: auth may not import them.

type testBundle struct {
	ctx      context.Context
	db       *sqlx.DB
	svc      *Service
	accounts *accountsFake
	notes    *notesFake
	// redisTrips counts the requests the Service sends Redis.
	redisTrips *roundTrips
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.NewDB(t)
	client, prefix := redistest.New(t)
	trips := &roundTrips{}
	client.AddHook(trips)
	store := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	tokens, err := token.New(t.Context(), token.Config{KeysPEM: testKeyPEM(t)})
	if err != nil {
		t.Fatal(err)
	}
	queue, err := river.NewClient(riverdatabasesql.New(db.DB), &river.Config{Schema: migrate.RiverSchema, SkipUnknownJobCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	b := &testBundle{ctx: t.Context(), db: db, accounts: &accountsFake{m: map[string]Account{}}, notes: &notesFake{}, redisTrips: trips}
	b.svc, err = New(Config{PublicURL: "https://streamflix.test/", CacheSessions: true, SlowDelay: time.Millisecond}, Deps{
		DB: db, Tokens: tokens, Hasher: testHasher, Accounts: b.accounts, Profiles: b.accounts, Notifier: b.notes,
		Counter: store.Counter, Cache: store.Cache, Queue: queue, Log: zerolog.New(zerolog.NewTestWriter(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testHasher is argon2id at its cheapest, so that tests do not spend 25 ms
// a hash.
var testHasher = password.NewHasher(password.Params{Memory: 64, Time: 1}, 0)

var testKey struct {
	once sync.Once
	pem  string
	err  error
}

// testKeyPEM is one RSA signing key for every test of the process.
func testKeyPEM(t *testing.T) string {
	t.Helper()
	testKey.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			testKey.err = err
			return
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		testKey.pem, testKey.err = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), err
	})
	if testKey.err != nil {
		t.Fatal(testKey.err)
	}
	return testKey.pem
}

const testPassword = "correct horse battery staple"

// account creates an account with testPassword and returns it.
func (b *testBundle) account(t *testing.T, email string) Account {
	t.Helper()
	acc := Account{ID: uuid.NewString(), Email: email, Roles: []string{"viewer"}, Verified: true}
	b.accounts.add(acc)
	err := pg.InTx(b.ctx, b.db, func(tx *sqlx.Tx) error { return b.svc.SetTx(b.ctx, tx, acc.ID, email, "password", testPassword) })
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

// login signs acc in from a web browser at ip.
func (b *testBundle) login(t *testing.T, acc Account, ip string) Tokens {
	t.Helper()
	tok, err := b.svc.Login(b.ctx, acc.Email, testPassword, Device{Name: "Firefox", Kind: "web"}, Client{IP: ip, UserAgent: "test"})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return tok
}

func wantCode(t *testing.T, what string, err error, want *apperr.Error) {
	t.Helper()
	var got *apperr.Error
	if !errors.As(err, &got) || got.Code != want.Code {
		t.Fatalf("%s: error %v, want %s", what, err, want.Code)
	}
}

// accountsFake is the user module: accounts by id, and no profiles.
type accountsFake struct {
	mu sync.Mutex
	m  map[string]Account
}

func (f *accountsFake) add(acc Account) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[acc.ID] = acc
}

func (f *accountsFake) AccountByEmail(_ context.Context, email string) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range f.m {
		if strings.EqualFold(a.Email, email) {
			return a, nil
		}
	}
	return Account{}, ErrNoAccount
}

func (f *accountsFake) AccountByID(_ context.Context, id string) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if a, ok := f.m[id]; ok {
		return a, nil
	}
	return Account{}, ErrNoAccount
}

var errProfileNotFound = apperr.New(apperr.NotFound, "profile_not_found", "No such profile.")

func (f *accountsFake) UnlockProfile(ctx context.Context, accountID, profileID, _ string) (Profile, error) {
	return f.ProfileOf(ctx, accountID, profileID)
}

func (f *accountsFake) ProfileOf(context.Context, string, string) (Profile, error) {
	return Profile{}, errProfileNotFound
}

// notesFake is notify: it keeps the notifications of committed
// transactions.
type notesFake struct {
	mu   sync.Mutex
	sent []Notification
}

func (f *notesFake) EnqueueTx(_ context.Context, tx *sqlx.Tx, n Notification) error {
	pg.AfterCommit(tx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sent = append(f.sent, n)
	})
	return nil
}

// last returns the last notification of kind to userID.
func (f *notesFake) last(t *testing.T, kind, userID string) Notification {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.sent) - 1; i >= 0; i-- {
		if n := f.sent[i]; n.Kind == kind && n.UserID == userID {
			return n
		}
	}
	t.Fatalf("no %s notification to %s in %v", kind, userID, f.sent)
	return Notification{}
}

// roundTrips counts the requests a Redis client sends: a command or a
// pipeline each, leaving out the handshake of a new connection.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !handshake(cmds[0]) {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

func handshake(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func TestNew(t *testing.T) {
	t.Parallel()
	deps := Deps{DB: &sqlx.DB{}, Tokens: &token.Manager{}, Hasher: testHasher, Counter: cache.NewMemory().Counter, Cache: cache.NewMemory().Cache}
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"ErrPublicURL", Config{PublicURL: "streamflix.test"}, "PublicURL"},
		{"ErrLoginWindow", Config{PublicURL: "https://streamflix.test", LoginWindow: -time.Second}, "LoginWindow"},
		{"ErrRefreshTTL", Config{PublicURL: "https://streamflix.test", RefreshTTL: -time.Hour}, "RefreshTTL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.cfg, deps); err == nil || !strings.Contains(err.Error(), "."+tc.field+" ") {
				t.Fatalf("New = %v, want an error naming %s", err, tc.field)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		s, err := New(Config{PublicURL: "https://streamflix.test/"}, deps)
		if err != nil {
			t.Fatal(err)
		}
		if s.cfg.PublicURL != "https://streamflix.test" || s.cfg.LoginWindow != 15*time.Minute || s.cfg.RefreshTTL != 30*24*time.Hour {
			t.Fatalf("config after defaults = %+v", s.cfg)
		}
	})
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "pw@example.com")

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		if err := b.svc.Verify(b.ctx, acc.ID, testPassword); err != nil {
			t.Fatalf("Verify(right password) = %v", err)
		}
	})
	t.Run("ErrWrongPassword", func(t *testing.T) {
		t.Parallel()
		wantCode(t, "Verify(wrong password)", b.svc.Verify(b.ctx, acc.ID, "not the password at all"), ErrWrongPassword)
		wantCode(t, "Verify(no account)", b.svc.Verify(b.ctx, uuid.NewString(), testPassword), ErrWrongPassword)
	})
	t.Run("ErrPolicy", func(t *testing.T) {
		t.Parallel()
		err := pg.InTx(b.ctx, b.db, func(tx *sqlx.Tx) error { return b.svc.SetTx(b.ctx, tx, acc.ID, acc.Email, "new_password", "short") })
		var e *apperr.Error
		if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "new_password" {
			t.Fatalf("SetTx(short) = %v, want a validation error on new_password", err)
		}
	})
}

func TestLogin(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "ok@example.com")
		tok := b.login(t, acc, "192.0.2.10")
		if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.Session.DeviceName != "Firefox" {
			t.Fatalf("Login = %+v", tok)
		}
		p, err := b.svc.Authenticate(b.ctx, tok.AccessToken)
		if err != nil || p.UserID != acc.ID || p.SessionID != tok.Session.ID {
			t.Fatalf("Authenticate = %+v, %v; want the session of %s", p, err, acc.ID)
		}
		list, err := b.svc.Sessions(b.ctx, acc.ID, tok.Session.ID)
		if err != nil || len(list) != 1 || !list[0].Current || list[0].IP != "192.0.2.10" {
			t.Fatalf("Sessions = %+v, %v; want the one current session", list, err)
		}
	})

	t.Run("NewDeviceNotified", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "device@example.com")
		b.login(t, acc, "192.0.2.11")
		if _, err := b.svc.Login(b.ctx, acc.Email, testPassword, Device{Name: "Living room", Kind: "tv"}, Client{IP: "192.0.2.12"}); err != nil {
			t.Fatal(err)
		}
		if n := b.notes.last(t, NotifyNewSignIn, acc.ID); n.Data["device"] != "Living room (tv)" || n.Data["ip"] != "192.0.2.12" {
			t.Fatalf("new sign-in notification = %+v", n)
		}
	})

	t.Run("ErrInvalidCredentials", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "wrong@example.com")
		_, err := b.svc.Login(b.ctx, acc.Email, "not the password", Device{}, Client{IP: "192.0.2.20"})
		wantCode(t, "Login(wrong password)", err, ErrInvalidCredentials)
		_, err = b.svc.Login(b.ctx, "nobody@example.com", testPassword, Device{}, Client{IP: "192.0.2.20"})
		wantCode(t, "Login(unknown email)", err, ErrInvalidCredentials)
	})

	t.Run("ErrValidation", func(t *testing.T) {
		t.Parallel()
		_, err := b.svc.Login(b.ctx, "x@example.com", testPassword, Device{Kind: "toaster"}, Client{IP: "192.0.2.21"})
		var e *apperr.Error
		if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "device.kind" {
			t.Fatalf("Login(bad device kind) = %v, want a validation error on device.kind", err)
		}
	})

	t.Run("ErrLoginLocked", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "locked@example.com")
		for i := range 5 {
			_, err := b.svc.Login(b.ctx, acc.Email, "guess", Device{}, Client{IP: "192.0.2.30"})
			wantCode(t, fmt.Sprintf("failure %d", i+1), err, ErrInvalidCredentials)
		}
		// Now even the right password is refused from this address...
		_, err := b.svc.Login(b.ctx, acc.Email, testPassword, Device{}, Client{IP: "192.0.2.30"})
		wantCode(t, "Login after five failures", err, ErrLoginLocked)
		if e := (*apperr.Error)(nil); !errors.As(err, &e) || e.RetryAfter != 15*60 {
			t.Fatalf("Login after five failures = %+v, want RetryAfter the window, 900", err)
		}
		// ...but not from another one.
		b.login(t, acc, "192.0.2.31")
		var events int
		if err := b.db.Get(&events, `SELECT count(*) FROM auth.security_events WHERE user_id = $1 AND kind = 'login_locked'`, acc.ID); err != nil || events != 1 {
			t.Fatalf("login_locked events = %d, %v; want 1", events, err)
		}
	})

	t.Run("SuccessClearsFailures", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "clears@example.com")
		for range 4 {
			_, _ = b.svc.Login(b.ctx, acc.Email, "guess", Device{}, Client{IP: "192.0.2.40"})
		}
		b.login(t, acc, "192.0.2.40")
		_, err := b.svc.Login(b.ctx, acc.Email, "guess", Device{}, Client{IP: "192.0.2.40"})
		wantCode(t, "failure after a success", err, ErrInvalidCredentials)
	})

	// The brute-force counters cost one Redis round trip to read and one
	// to count a failure (six before IncrMany and GetMany: three GETs and
	// three MULTIs).
	t.Run("OneRoundTripPerStep", func(t *testing.T) {
		acc := b.account(t, "trips@example.com")
		before := b.redisTrips.n.Load()
		_, err := b.svc.Login(b.ctx, acc.Email, "guess", Device{}, Client{IP: "192.0.2.50"})
		wantCode(t, "Login(wrong password)", err, ErrInvalidCredentials)
		if n := b.redisTrips.n.Load() - before; n != 2 {
			t.Errorf("failed login: %d Redis round trips, want 2 (read the counters, count the failure)", n)
		}
		before = b.redisTrips.n.Load()
		b.login(t, acc, "192.0.2.50")
		if n := b.redisTrips.n.Load() - before; n != 2 {
			t.Errorf("login: %d Redis round trips, want 2 (read the counters, clear this address's)", n)
		}
	})
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "rotate@example.com")
		first := b.login(t, acc, "192.0.2.60")
		next, err := b.svc.Refresh(b.ctx, first.RefreshToken, Client{IP: "192.0.2.61"})
		if err != nil {
			t.Fatal(err)
		}
		if next.RefreshToken == "" || next.RefreshToken == first.RefreshToken || next.Session.ID != first.Session.ID {
			t.Fatalf("Refresh = %+v; want a new refresh token for the same session", next)
		}
		if _, err := b.svc.Authenticate(b.ctx, next.AccessToken); err != nil {
			t.Fatalf("Authenticate(new access token) = %v", err)
		}
		if _, err := b.svc.Refresh(b.ctx, next.RefreshToken, Client{IP: "192.0.2.61"}); err != nil {
			t.Fatalf("Refresh(new refresh token) = %v", err)
		}
	})

	t.Run("ErrRefreshReused", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "reuse@example.com")
		first := b.login(t, acc, "192.0.2.62")
		next, err := b.svc.Refresh(b.ctx, first.RefreshToken, Client{IP: "192.0.2.62"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.svc.Refresh(b.ctx, first.RefreshToken, Client{IP: "203.0.113.9"})
		wantCode(t, "Refresh(rotated token)", err, ErrRefreshReused)
		// The whole session is over: the thief and the owner both sign in again.
		_, err = b.svc.Refresh(b.ctx, next.RefreshToken, Client{IP: "192.0.2.62"})
		wantCode(t, "Refresh(newest token after reuse)", err, ErrSessionRevoked)
		_, err = b.svc.Authenticate(b.ctx, next.AccessToken)
		wantCode(t, "Authenticate after reuse", err, ErrTokenRevoked)
		var events int
		if err := b.db.Get(&events, `SELECT count(*) FROM auth.security_events WHERE session_id = $1 AND kind = 'refresh_token_reused'`, first.Session.ID); err != nil || events != 1 {
			t.Fatalf("refresh_token_reused events = %d, %v; want 1", events, err)
		}
	})

	t.Run("ErrInvalidRefresh", func(t *testing.T) {
		t.Parallel()
		for _, tok := range []string{"", "not-a-token", strings.Repeat("x", 201)} {
			_, err := b.svc.Refresh(b.ctx, tok, Client{})
			wantCode(t, "Refresh("+tok+")", err, ErrInvalidRefresh)
		}
	})

	t.Run("ErrInvalidRefreshExpired", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "expired@example.com")
		first := b.login(t, acc, "192.0.2.63")
		if _, err := b.db.Exec(`UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 second' WHERE session_id = $1`, first.Session.ID); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.Refresh(b.ctx, first.RefreshToken, Client{})
		wantCode(t, "Refresh(expired token)", err, ErrInvalidRefresh)
	})

	t.Run("ErrSessionRevokedAccountGone", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "gone@example.com")
		first := b.login(t, acc, "192.0.2.64")
		b.accounts.mu.Lock()
		delete(b.accounts.m, acc.ID)
		b.accounts.mu.Unlock()
		_, err := b.svc.Refresh(b.ctx, first.RefreshToken, Client{})
		wantCode(t, "Refresh(deleted account)", err, ErrSessionRevoked)
	})
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "revoke@example.com")
		tok := b.login(t, acc, "192.0.2.70")
		other := b.login(t, acc, "192.0.2.71")
		if err := b.svc.RevokeSession(b.ctx, acc.ID, tok.Session.ID); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.Authenticate(b.ctx, tok.AccessToken)
		wantCode(t, "Authenticate(revoked session)", err, ErrTokenRevoked)
		if _, err := b.svc.Authenticate(b.ctx, other.AccessToken); err != nil {
			t.Fatalf("Authenticate(other session) = %v, want it still live", err)
		}
		_, err = b.svc.Refresh(b.ctx, tok.RefreshToken, Client{})
		wantCode(t, "Refresh(revoked session)", err, ErrSessionRevoked)
	})

	t.Run("ErrSessionNotFound", func(t *testing.T) {
		t.Parallel()
		owner := b.account(t, "owner@example.com")
		intruder := b.account(t, "intruder@example.com")
		tok := b.login(t, owner, "192.0.2.72")
		wantCode(t, "RevokeSession(another user's)", b.svc.RevokeSession(b.ctx, intruder.ID, tok.Session.ID), ErrSessionNotFound)
		wantCode(t, "RevokeSession(not a uuid)", b.svc.RevokeSession(b.ctx, owner.ID, "nope"), ErrSessionNotFound)
		if _, err := b.svc.Authenticate(b.ctx, tok.AccessToken); err != nil {
			t.Fatalf("Authenticate = %v, want the session still live", err)
		}
	})

	t.Run("All", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "everywhere@example.com")
		toks := []Tokens{b.login(t, acc, "192.0.2.73"), b.login(t, acc, "192.0.2.74")}
		// Authenticate once first, so that "live" is cached in Redis and
		// the revocation must write through.
		for _, tok := range toks {
			if _, err := b.svc.Authenticate(b.ctx, tok.AccessToken); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.svc.RevokeAll(b.ctx, acc.ID); err != nil {
			t.Fatal(err)
		}
		for _, tok := range toks {
			_, err := b.svc.Authenticate(b.ctx, tok.AccessToken)
			wantCode(t, "Authenticate after RevokeAll", err, ErrTokenRevoked)
		}
		if list, err := b.svc.Sessions(b.ctx, acc.ID, ""); err != nil || len(list) != 0 {
			t.Fatalf("Sessions after RevokeAll = %v, %v; want none", list, err)
		}
	})

	t.Run("RolledBackKeepsSessions", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "rollback@example.com")
		tok := b.login(t, acc, "192.0.2.75")
		errAbort := errors.New("abort")
		err := pg.InTx(b.ctx, b.db, func(tx *sqlx.Tx) error {
			if err := b.svc.RevokeSessionsTx(b.ctx, tx, acc.ID, "", "test"); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatal(err)
		}
		if _, err := b.svc.Authenticate(b.ctx, tok.AccessToken); err != nil {
			t.Fatalf("Authenticate after a rolled-back revocation = %v, want live", err)
		}
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	b := setup(t)

	// resetToken asks for a reset of acc and returns the token in the link.
	resetToken := func(t *testing.T, acc Account, ip string) string {
		t.Helper()
		if err := b.svc.RequestReset(b.ctx, strings.ToUpper(acc.Email), Client{IP: ip}); err != nil {
			t.Fatal(err)
		}
		link, err := url.Parse(b.notes.last(t, NotifyPasswordReset, acc.ID).Data["link"])
		if err != nil || link.Host != "streamflix.test" || link.Path != "/reset-password" {
			t.Fatalf("reset link %v, %v", link, err)
		}
		return link.Query().Get("token")
	}

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "reset@example.com")
		old := b.login(t, acc, "192.0.2.80")
		tok := resetToken(t, acc, "192.0.2.80")
		const next = "a brand new passphrase"
		if err := b.svc.ConfirmReset(b.ctx, tok, next, Client{IP: "192.0.2.80"}); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.Authenticate(b.ctx, old.AccessToken)
		wantCode(t, "Authenticate(session from before the reset)", err, ErrTokenRevoked)
		_, err = b.svc.Login(b.ctx, acc.Email, testPassword, Device{}, Client{IP: "192.0.2.80"})
		wantCode(t, "Login(old password)", err, ErrInvalidCredentials)
		if _, err := b.svc.Login(b.ctx, acc.Email, next, Device{}, Client{IP: "192.0.2.80"}); err != nil {
			t.Fatalf("Login(new password) = %v", err)
		}
		b.notes.last(t, NotifyPasswordChanged, acc.ID)
	})

	t.Run("ErrResetTokenInvalid", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "used@example.com")
		first := resetToken(t, acc, "192.0.2.81")
		second := resetToken(t, acc, "192.0.2.81")
		if err := b.svc.ConfirmReset(b.ctx, second, "another fine passphrase", Client{}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "ConfirmReset(used token)", b.svc.ConfirmReset(b.ctx, second, "yet another passphrase", Client{}), ErrResetTokenInvalid)
		wantCode(t, "ConfirmReset(older outstanding token)", b.svc.ConfirmReset(b.ctx, first, "yet another passphrase", Client{}), ErrResetTokenInvalid)
		wantCode(t, "ConfirmReset(garbage)", b.svc.ConfirmReset(b.ctx, "garbage", "yet another passphrase", Client{}), ErrResetTokenInvalid)
	})

	t.Run("ErrValidationKeepsToken", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "weak@example.com")
		tok := resetToken(t, acc, "192.0.2.82")
		err := b.svc.ConfirmReset(b.ctx, tok, "short", Client{})
		var e *apperr.Error
		if !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != "new_password" {
			t.Fatalf("ConfirmReset(short) = %v, want a validation error on new_password", err)
		}
		if err := b.svc.ConfirmReset(b.ctx, tok, "a much better passphrase", Client{}); err != nil {
			t.Fatalf("ConfirmReset after a refused password = %v, want the token still good", err)
		}
	})

	t.Run("UnknownEmailSilent", func(t *testing.T) {
		t.Parallel()
		if err := b.svc.RequestReset(b.ctx, "nobody@example.com", Client{IP: "192.0.2.83"}); err != nil {
			t.Fatalf("RequestReset(unknown) = %v, want the same answer as for an account", err)
		}
	})

	t.Run("ErrResetLimited", func(t *testing.T) {
		t.Parallel()
		acc := b.account(t, "limited@example.com")
		for range 5 {
			resetToken(t, acc, "192.0.2.84")
		}
		err := b.svc.RequestReset(b.ctx, acc.Email, Client{IP: "192.0.2.85"})
		wantCode(t, "sixth RequestReset for one address", err, ErrResetLimited)
	})
}

func TestForgetUser(t *testing.T) {
	t.Parallel()
	b := setup(t)
	acc := b.account(t, "forget@example.com")
	tok := b.login(t, acc, "192.0.2.90")
	err := pg.InTx(b.ctx, b.db, func(tx *sqlx.Tx) error { return b.svc.ForgetUserTx(b.ctx, tx, acc.ID) })
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.svc.Authenticate(b.ctx, tok.AccessToken)
	wantCode(t, "Authenticate after ForgetUserTx", err, ErrTokenRevoked)
	var args []byte
	if err := b.db.Get(&args, `SELECT args FROM river.river_job WHERE kind = $1 AND queue = 'auth'`, ForgetArgs{}.Kind()); err != nil {
		t.Fatalf("queued forget job: %v", err)
	}
	w := &forgetWorker{s: b.svc}
	if err := w.Work(b.ctx, &river.Job[ForgetArgs]{JobRow: &rivertype.JobRow{}, Args: ForgetArgs{UserID: acc.ID}}); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := b.db.Get(&left, `SELECT (SELECT count(*) FROM auth.sessions WHERE user_id = $1) + (SELECT count(*) FROM auth.passwords WHERE user_id = $1)`, acc.ID); err != nil || left != 0 {
		t.Fatalf("rows left after forget_user = %d, %v; want 0", left, err)
	}
	if d := w.Timeout(nil); d != 30*time.Second {
		t.Errorf("forget_user Timeout = %s, want 30s", d)
	}
}
