package user

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
	"github.com/streamflix/streamflix/internal/platform/redistest"
)

// The Service is tested against real Postgres (a database per test) and
// real Redis (a key prefix per test). auth and notify are stand-ins: user
// may not import them.

type testBundle struct {
	ctx       context.Context
	db        *sqlx.DB
	svc       *Service
	passwords *passwordsFake
	hasher    *hasherFake
	outbox    *outboxFake
	forgotten *forgetterFake
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.NewDB(t)
	client, prefix := redistest.New(t)
	store := cache.NewRedis(client, cache.RedisOptions{Prefix: prefix, Logger: zerolog.New(zerolog.NewTestWriter(t))})
	b := &testBundle{ctx: t.Context(), db: db, passwords: &passwordsFake{m: map[string]string{}}, hasher: &hasherFake{},
		outbox: &outboxFake{}, forgotten: &forgetterFake{}}
	var err error
	b.svc, err = New(Config{PublicURL: "https://streamflix.test/"}, Deps{
		DB: db, Passwords: b.passwords, Hasher: b.hasher, Notifier: b.outbox, Counter: store.Counter,
		Forgetters: []Forgetter{b.forgotten}, Log: zerolog.New(zerolog.NewTestWriter(t)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const testPassword = "correct horse battery staple"

// signUp creates an account with testPassword.
func (b *testBundle) signUp(t *testing.T, email string) Account {
	t.Helper()
	acc, err := b.svc.SignUp(b.ctx, SignUpInput{Email: email, Password: testPassword})
	if err != nil {
		t.Fatalf("SignUp(%s): %v", email, err)
	}
	return acc
}

// linkToken returns the token of the last email link of kind to userID.
func (b *testBundle) linkToken(t *testing.T, kind, userID string) string {
	t.Helper()
	link, err := url.Parse(b.outbox.last(t, kind, userID).Data["link"])
	if err != nil || link.Host != "streamflix.test" || link.Path != "/verify-email" {
		t.Fatalf("link %v, %v; want https://streamflix.test/verify-email?token=...", link, err)
	}
	return link.Query().Get("token")
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var got *apperr.Error
	if !errors.As(err, &got) || got.Code != code {
		t.Fatalf("%s: error %v, want %s", what, err, code)
	}
}

// wantField fails unless err is a validation error on field alone.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var got *apperr.Error
	if !errors.As(err, &got) || len(got.Fields) != 1 || got.Fields[0].Field != field {
		t.Fatalf("%s: error %v, want a validation error on %s", what, err, field)
	}
}

// onCommit runs f, holding mu, once tx commits: the fakes keep only what a
// committed transaction did.
func onCommit(tx *sqlx.Tx, mu *sync.Mutex, f func()) {
	pg.AfterCommit(tx, func() {
		mu.Lock()
		defer mu.Unlock()
		f()
	})
}

// passwordsFake is auth: passwords in memory, kept only when the
// transaction commits.
type passwordsFake struct {
	mu      sync.Mutex
	m       map[string]string // user id -> password
	revoked []string          // "user keep reason"
}

func (f *passwordsFake) SetTx(_ context.Context, tx *sqlx.Tx, userID, _, field, pw string) error {
	if len(pw) < 8 {
		return apperr.Validation(apperr.FieldError{Field: field, Code: "too_short", Message: "Use at least 8 characters."})
	}
	onCommit(tx, &f.mu, func() { f.m[userID] = pw })
	return nil
}

var errWrongPassword = apperr.New(apperr.Forbidden, "wrong_password", "The password is not correct.")

func (f *passwordsFake) Verify(_ context.Context, userID, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if got, ok := f.m[userID]; !ok || got != pw {
		return errWrongPassword
	}
	return nil
}

func (f *passwordsFake) RevokeSessionsTx(_ context.Context, tx *sqlx.Tx, userID, keep, reason string) error {
	onCommit(tx, &f.mu, func() { f.revoked = append(f.revoked, userID+" "+keep+" "+reason) })
	return nil
}

func (f *passwordsFake) password(userID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.m[userID]
}

// hasherFake "hashes" a PIN by prefixing it, and calls during (when set)
// before each hash and check, so a test can look at what is locked then.
type hasherFake struct {
	during func(op string)
}

func (h *hasherFake) Hash(_ context.Context, secret string) (string, error) {
	if h.during != nil {
		h.during("hash")
	}
	return "pin$" + secret, nil
}

func (h *hasherFake) Verify(_ context.Context, secret, encoded string) (bool, bool, error) {
	if h.during != nil {
		h.during("verify")
	}
	return encoded == "pin$"+secret, false, nil
}

// outboxFake is notify: the notifications of committed transactions.
type outboxFake struct {
	mu   sync.Mutex
	sent []Notification
}

func (f *outboxFake) EnqueueTx(_ context.Context, tx *sqlx.Tx, n Notification) error {
	onCommit(tx, &f.mu, func() { f.sent = append(f.sent, n) })
	return nil
}

func (f *outboxFake) last(t *testing.T, kind, userID string) Notification {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.sent) - 1; i >= 0; i-- {
		if f.sent[i].Kind == kind && f.sent[i].UserID == userID {
			return f.sent[i]
		}
	}
	t.Fatalf("no %s notification to %s among %d", kind, userID, len(f.sent))
	return Notification{}
}

// forgetterFake is a module told to forget deleted accounts.
type forgetterFake struct {
	mu  sync.Mutex
	ids []string
}

func (f *forgetterFake) ForgetUserTx(_ context.Context, tx *sqlx.Tx, userID string) error {
	onCommit(tx, &f.mu, func() { f.ids = append(f.ids, userID) })
	return nil
}

func (f *forgetterFake) forgot(userID string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.ids, userID)
}

func TestNew(t *testing.T) {
	t.Parallel()
	deps := Deps{DB: &sqlx.DB{}, Passwords: &passwordsFake{}, Hasher: &hasherFake{}, Notifier: &outboxFake{}, Counter: cache.NewMemory().Counter}
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"ErrPublicURL", Config{PublicURL: "ftp://streamflix.test"}, "PublicURL"},
		{"ErrVerifyTTL", Config{PublicURL: "https://streamflix.test", VerifyTTL: -time.Hour}, "VerifyTTL"},
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
		if s.cfg.PublicURL != "https://streamflix.test" || s.cfg.VerifyTTL != 48*time.Hour {
			t.Fatalf("config after defaults = %+v", s.cfg)
		}
	})
}

func TestSignUp(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "Ann.Lee@Example.com")
		if acc.Email != "Ann.Lee@Example.com" || acc.EmailVerified || len(acc.Roles) != 1 || acc.Roles[0] != RoleViewer {
			t.Fatalf("SignUp = %+v", acc)
		}
		got, err := b.svc.FindByEmail(b.ctx, "ann.lee@example.COM")
		if err != nil || got.ID != acc.ID {
			t.Fatalf("FindByEmail(other case) = %+v, %v; want %s", got, err, acc.ID)
		}
		ps, err := b.svc.Profiles(b.ctx, acc.ID)
		if err != nil || len(ps) != 1 || ps[0].Name != "Ann.Lee" || ps[0].MaturityLevel != MaturityAdult || ps[0].Language != "en" {
			t.Fatalf("Profiles = %+v, %v; want the first profile named after the address", ps, err)
		}
		if b.passwords.password(acc.ID) != testPassword {
			t.Fatal("the password was not stored with the account")
		}
		if b.linkToken(t, NotifyEmailVerification, acc.ID) == "" {
			t.Fatal("verification link without a token")
		}
	})

	t.Run("ErrEmailTaken", func(t *testing.T) {
		t.Parallel()
		b.signUp(t, "dup@example.com")
		_, err := b.svc.SignUp(b.ctx, SignUpInput{Email: "DUP@example.com", Password: testPassword})
		wantCode(t, "SignUp(same address, other case)", err, ErrEmailTaken.Code)
	})

	t.Run("ErrValidation", func(t *testing.T) {
		t.Parallel()
		_, err := b.svc.SignUp(b.ctx, SignUpInput{Email: "not an address", Password: testPassword})
		wantField(t, "SignUp(bad email)", err, "email")
		_, err = b.svc.SignUp(b.ctx, SignUpInput{Email: "weak@example.com", Password: "short"})
		wantField(t, "SignUp(short password)", err, "password")
		// Nothing of the refused sign-up was kept.
		_, err = b.svc.FindByEmail(b.ctx, "weak@example.com")
		wantCode(t, "FindByEmail after a refused sign-up", err, ErrAccountNotFound.Code)
	})

	t.Run("CreateVerified", func(t *testing.T) {
		t.Parallel()
		acc, err := b.svc.CreateVerified(b.ctx, SignUpInput{Email: "ops@example.com", Password: testPassword, Name: "Ops"}, RoleAdmin)
		if err != nil || !acc.EmailVerified || acc.Roles[0] != RoleAdmin {
			t.Fatalf("CreateVerified = %+v, %v", acc, err)
		}
		if got, err := b.svc.Account(b.ctx, acc.ID); err != nil || !got.EmailVerified {
			t.Fatalf("Account = %+v, %v; want verified", got, err)
		}
	})
}

func TestVerifyEmail(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "verify@example.com")
		tok := b.linkToken(t, NotifyEmailVerification, acc.ID)
		got, err := b.svc.VerifyEmail(b.ctx, tok)
		if err != nil || got.ID != acc.ID || !got.EmailVerified {
			t.Fatalf("VerifyEmail = %+v, %v; want the account verified", got, err)
		}
		wantCode(t, "ResendVerification when verified", b.svc.ResendVerification(b.ctx, acc.ID), ErrAlreadyVerified.Code)
	})

	t.Run("ErrTokenInvalid", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "twice@example.com")
		tok := b.linkToken(t, NotifyEmailVerification, acc.ID)
		if _, err := b.svc.VerifyEmail(b.ctx, tok); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.VerifyEmail(b.ctx, tok)
		wantCode(t, "VerifyEmail(used token)", err, ErrTokenInvalid.Code)
		_, err = b.svc.VerifyEmail(b.ctx, "garbage")
		wantCode(t, "VerifyEmail(garbage)", err, ErrTokenInvalid.Code)
	})

	t.Run("ChangeEmail", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "old@example.com")
		if err := b.svc.ChangeEmail(b.ctx, acc.ID, "new@example.com", testPassword); err != nil {
			t.Fatal(err)
		}
		if n := b.outbox.last(t, NotifyEmailChange, acc.ID); n.To != "new@example.com" {
			t.Fatalf("change link sent to %q, want the new address", n.To)
		}
		got, err := b.svc.VerifyEmail(b.ctx, b.linkToken(t, NotifyEmailChange, acc.ID))
		if err != nil || got.Email != "new@example.com" || !got.EmailVerified {
			t.Fatalf("VerifyEmail(change) = %+v, %v; want the new address, verified", got, err)
		}
	})

	t.Run("ChangeEmailErrEmailTaken", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "mover@example.com")
		b.signUp(t, "taken@example.com")
		wantCode(t, "ChangeEmail(taken)", b.svc.ChangeEmail(b.ctx, acc.ID, "Taken@example.com", testPassword), ErrEmailTaken.Code)
		wantCode(t, "ChangeEmail(wrong password)", b.svc.ChangeEmail(b.ctx, acc.ID, "free@example.com", "not it at all"), "wrong_password")
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "change@example.com")
		if err := b.svc.ChangePassword(b.ctx, acc.ID, "this-session", testPassword, "a new passphrase"); err != nil {
			t.Fatal(err)
		}
		if b.passwords.password(acc.ID) != "a new passphrase" {
			t.Fatal("password not changed")
		}
		b.passwords.mu.Lock()
		revoked := strings.Join(b.passwords.revoked, ",")
		b.passwords.mu.Unlock()
		if !strings.Contains(revoked, acc.ID+" this-session password_changed") {
			t.Fatalf("revoked %q; want the other sessions of %s, keeping this one", revoked, acc.ID)
		}
		b.outbox.last(t, NotifyPasswordChanged, acc.ID)
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "nochange@example.com")
		wantCode(t, "ChangePassword(wrong current)", b.svc.ChangePassword(b.ctx, acc.ID, "", "not it at all", "a new passphrase"), "wrong_password")
		if b.passwords.password(acc.ID) != testPassword {
			t.Fatal("password changed without the current one")
		}
	})
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	b := setup(t)

	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "leaving@example.com")
		if err := b.svc.DeleteAccount(b.ctx, acc.ID, testPassword); err != nil {
			t.Fatal(err)
		}
		_, err := b.svc.Account(b.ctx, acc.ID)
		wantCode(t, "Account after delete", err, ErrAccountNotFound.Code)
		if !b.forgotten.forgot(acc.ID) {
			t.Fatal("the other modules were not told to forget the account")
		}
		if n := b.outbox.last(t, NotifyAccountDeleted, acc.ID); n.To != "leaving@example.com" {
			t.Fatalf("goodbye sent to %q, want the deleted address", n.To)
		}
		b.signUp(t, "leaving@example.com") // the address is free again
	})

	t.Run("ErrWrongPassword", func(t *testing.T) {
		t.Parallel()
		acc := b.signUp(t, "staying@example.com")
		wantCode(t, "DeleteAccount(wrong password)", b.svc.DeleteAccount(b.ctx, acc.ID, "not it at all"), "wrong_password")
		if _, err := b.svc.Account(b.ctx, acc.ID); err != nil {
			t.Fatalf("Account after a refused delete = %v", err)
		}
	})
}
