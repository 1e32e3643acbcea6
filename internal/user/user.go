package user

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/secret"
)

// Roles.
const (
	RoleViewer = "viewer"
	RoleAdmin  = "admin"
)

// Maturity levels: a profile sees a title only when the title's level is at
// or under the profile's ceiling. Content maps ratings to these levels.
const (
	MaturityAllAges  = 10 // G, TV-Y, TV-G
	MaturityOlderKid = 20 // PG, TV-Y7, TV-PG
	MaturityTeen     = 30 // PG-13, TV-14
	MaturityMature   = 40 // R, TV-MA
	MaturityAdult    = 50 // NC-17
	// KidsMaxMaturity is the highest ceiling a kids profile may have.
	KidsMaxMaturity = MaturityOlderKid
)

// MaxProfiles is how many profiles an account may have.
const MaxProfiles = 5

// Notification kinds user sends (owned by notify).
const (
	NotifyEmailVerification = "email_verification"
	NotifyEmailChange       = "email_change"
	NotifyPasswordChanged   = "password_changed"
	NotifyAccountDeleted    = "account_deleted"
)

// Account is a streamflix account.
type Account struct {
	ID            string    `json:"id" jsonschema:"format=uuid"`
	Email         string    `json:"email" jsonschema:"format=email"`
	EmailVerified bool      `json:"email_verified"`
	Roles         []string  `json:"roles" jsonschema:"enum=viewer,enum=admin"`
	CreatedAt     time.Time `json:"created_at"`
}

// Profile is one person's profile within an account.
type Profile struct {
	ID            string    `json:"id" jsonschema:"format=uuid"`
	Name          string    `json:"name"`
	Kids          bool      `json:"kids"`
	MaturityLevel int       `json:"maturity_level"`
	Language      string    `json:"language"`
	Avatar        string    `json:"avatar"`
	HasPIN        bool      `json:"has_pin"`
	CreatedAt     time.Time `json:"created_at"`
}

// Errors returned by the Service.
var (
	ErrEmailTaken        = apperr.New(apperr.Conflict, "email_taken", "An account with this email already exists.")
	ErrAccountNotFound   = apperr.New(apperr.NotFound, "account_not_found", "No such account.")
	ErrProfileNotFound   = apperr.New(apperr.NotFound, "profile_not_found", "No such profile.")
	ErrProfileLimit      = apperr.New(apperr.Conflict, "profile_limit_reached", fmt.Sprintf("An account can have at most %d profiles.", MaxProfiles))
	ErrProfileNameTaken  = apperr.New(apperr.Conflict, "profile_name_taken", "Another profile already has this name.")
	ErrLastProfile       = apperr.New(apperr.Conflict, "last_profile", "An account keeps at least one profile.")
	ErrWrongPIN          = apperr.New(apperr.Forbidden, "wrong_pin", "The PIN is not correct.")
	ErrPINRequired       = apperr.New(apperr.Forbidden, "pin_required", "This profile is protected by a PIN.")
	ErrPINLocked         = apperr.New(apperr.RateLimited, "pin_locked", "Too many wrong PINs; try again later.")
	ErrTokenInvalid      = apperr.New(apperr.Invalid, "token_invalid", "This link is invalid, expired or already used.")
	ErrAlreadyVerified   = apperr.New(apperr.Conflict, "already_verified", "This email address is already verified.")
	ErrKidsProfileDenied = apperr.New(apperr.Forbidden, "kids_profile", "A kids profile cannot manage profiles or the account.")
)

// Config configures the Service. Zero values take the defaults named.
type Config struct {
	// PublicURL is where links in emails point, an http(s) URL such as
	// https://streamflix.example; required.
	PublicURL string
	// VerifyTTL is how long an email link stays valid (default 48h).
	VerifyTTL time.Duration
}

func (c Config) withDefaults() Config {
	if c.VerifyTTL == 0 {
		c.VerifyTTL = 48 * time.Hour
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return c
}

// validate reports the first bad value, naming its field.
func (c Config) validate() error {
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("user: Config.PublicURL %q is not an http(s) URL", c.PublicURL)
	}
	if c.VerifyTTL < 0 {
		return fmt.Errorf("user: Config.VerifyTTL %s must not be negative", c.VerifyTTL)
	}
	return nil
}

// Deps are the Service's connections and what it needs from other modules.
type Deps struct {
	DB *sqlx.DB
	// Passwords is the auth module.
	Passwords Passwords
	Hasher    Hasher
	// Notifier is the notify module.
	Notifier Notifier
	Counter  Counter
	// Forgetters are the modules that keep data about an account, told in
	// the deletion's transaction.
	Forgetters []Forgetter
	Log        zerolog.Logger
}

// Service is the user module's API, used by its HTTP handlers and by other
// modules through their own interfaces.
type Service struct {
	db         *sqlx.DB
	cfg        Config
	passwords  Passwords
	hasher     Hasher
	notifier   Notifier
	counter    Counter
	forgetters []Forgetter
	log        zerolog.Logger
	now        func() time.Time
}

// New returns the user Service, or an error naming the field of cfg that
// holds a bad value.
func New(cfg Config, d Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Service{db: d.DB, cfg: cfg, passwords: d.Passwords, hasher: d.Hasher, notifier: d.Notifier,
		counter: d.Counter, forgetters: slices.Clone(d.Forgetters), log: d.Log, now: time.Now}, nil
}

// NormalizeEmail returns the address as stored and its key (lower case),
// or a validation error on field.
func NormalizeEmail(field, email string) (addr, key string, err error) {
	addr = strings.TrimSpace(email)
	bad := func(code, msg string) (string, string, error) {
		return "", "", apperr.Validation(apperr.FieldError{Field: field, Code: code, Message: msg})
	}
	if addr == "" {
		return bad("required", "Enter an email address.")
	}
	if len(addr) > 254 {
		return bad("too_long", "An email address has at most 254 characters.")
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" {
		return bad("invalid", "This is not an email address.")
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 1 || !strings.Contains(addr[at+1:], ".") || strings.HasSuffix(addr, ".") {
		return bad("invalid", "This is not an email address.")
	}
	return addr, strings.ToLower(addr), nil
}

// SignUpInput is what a new viewer gives.
type SignUpInput struct {
	Email    string `json:"email" jsonschema:"format=email,example=viewer@example.com"`
	Password string `json:"password"`
	// Name of the first profile (default: the email's local part).
	Name     string `json:"name,omitempty"`
	Language string `json:"language,omitempty"`
}

// SignUp creates an account with its first profile and password, and
// queues the verification email, all in one transaction. It returns
// ErrEmailTaken, or a validation error naming the field at fault.
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (Account, error) {
	return s.signUp(ctx, in, false, RoleViewer)
}

// CreateVerified creates an account whose address an operator vouches for
// (the admin command): no verification email is sent.
func (s *Service) CreateVerified(ctx context.Context, in SignUpInput, roles ...string) (Account, error) {
	return s.signUp(ctx, in, true, roles...)
}

func (s *Service) signUp(ctx context.Context, in SignUpInput, verified bool, roles ...string) (Account, error) {
	addr, key, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return Account{}, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = addr[:strings.IndexByte(addr, '@')]
		if utf8.RuneCountInString(name) > 40 {
			name = string([]rune(name)[:40])
		}
	}
	lang := in.Language
	if lang == "" {
		lang = "en"
	}
	if err := validateProfileFields(name, lang, ""); err != nil {
		return Account{}, err
	}
	acc := Account{ID: uuid.NewString(), Email: addr, Roles: roles, EmailVerified: verified, CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if err := insertAccount(ctx, tx, acc, key); err != nil {
			return err
		}
		p := Profile{ID: uuid.NewString(), Name: name, MaturityLevel: MaturityAdult, Language: lang}
		if err := insertProfile(ctx, tx, acc.ID, p, nil); err != nil {
			return err
		}
		if err := s.passwords.SetTx(ctx, tx, acc.ID, addr, "password", in.Password); err != nil {
			return err
		}
		if verified {
			return markVerified(ctx, tx, acc.ID)
		}
		return s.sendVerificationTx(ctx, tx, acc.ID, addr, "verify")
	})
	if err != nil {
		return Account{}, err
	}
	return acc, nil
}

func (s *Service) sendVerificationTx(ctx context.Context, tx *sqlx.Tx, accountID, email, purpose string) error {
	token, hash := secret.New()
	if err := insertEmailToken(ctx, tx, hash, accountID, purpose, email, s.now().Add(s.cfg.VerifyTTL)); err != nil {
		return err
	}
	n := Notification{Kind: NotifyEmailVerification, UserID: accountID, Data: map[string]string{
		"link": s.cfg.PublicURL + "/verify-email?token=" + token,
	}, DedupKey: "verify:" + base64.RawURLEncoding.EncodeToString(hash)}
	if purpose == "change" {
		n.Kind, n.To = NotifyEmailChange, email
	}
	return s.notifier.EnqueueTx(ctx, tx, n)
}

// Account returns the account with id, or ErrAccountNotFound.
func (s *Service) Account(ctx context.Context, id string) (Account, error) {
	return findAccount(ctx, s.db, id)
}

// FindByEmail returns the account with this address (any case), or
// ErrAccountNotFound.
func (s *Service) FindByEmail(ctx context.Context, email string) (Account, error) {
	_, key, err := NormalizeEmail("email", email)
	if err != nil {
		return Account{}, ErrAccountNotFound
	}
	return findAccountByKey(ctx, s.db, key)
}

// ResendVerification sends a new verification link. It returns
// ErrAlreadyVerified when there is nothing to verify.
func (s *Service) ResendVerification(ctx context.Context, accountID string) error {
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		acc, err := findAccountForUpdate(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if acc.EmailVerified {
			return ErrAlreadyVerified
		}
		return s.sendVerificationTx(ctx, tx, acc.ID, acc.Email, "verify")
	})
}

// VerifyEmail uses a token from an email link: it marks the address
// verified, or, for a change of address, switches the account to the new
// address (verified). It returns ErrTokenInvalid for an unknown, expired or
// used token, and ErrEmailTaken if the new address was taken meanwhile.
func (s *Service) VerifyEmail(ctx context.Context, token string) (Account, error) {
	var acc Account
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		t, err := useEmailToken(ctx, tx, secret.Hash(token), s.now())
		if err != nil {
			return err
		}
		_, key, err := NormalizeEmail("email", t.Email)
		if err != nil {
			return ErrTokenInvalid
		}
		if t.Purpose == "verify" {
			// The address must still be the account's: a link for an old
			// address verifies nothing.
			err = verifyAddress(ctx, tx, t.AccountID, key)
		} else {
			err = switchAddress(ctx, tx, t.AccountID, t.Email, key)
		}
		if err != nil {
			return err
		}
		acc, err = findAccount(ctx, tx, t.AccountID)
		return err
	})
	return acc, err
}

// ChangeEmail asks to move the account to a new address, confirmed by the
// account's password. The address changes when the link sent to it is used.
// It returns the Passwords error for a wrong password (code
// wrong_password), ErrEmailTaken, or a validation error.
func (s *Service) ChangeEmail(ctx context.Context, accountID, newEmail, password string) error {
	addr, key, err := NormalizeEmail("email", newEmail)
	if err != nil {
		return err
	}
	return s.withPassword(ctx, accountID, password, func(tx *sqlx.Tx, acc Account) error {
		if strings.EqualFold(acc.Email, addr) {
			return apperr.Validation(apperr.FieldError{Field: "email", Code: "unchanged", Message: "This is already your email address."})
		}
		if _, err := findAccountByKey(ctx, tx, key); err == nil {
			return ErrEmailTaken
		} else if !errors.Is(err, ErrAccountNotFound) {
			return err
		}
		return s.sendVerificationTx(ctx, tx, accountID, addr, "change")
	})
}

// ChangePassword replaces the password after checking the current one and
// signs out every other session (keep is the caller's session). It returns
// the Passwords error for a wrong password (code wrong_password) or a
// validation error on new_password.
func (s *Service) ChangePassword(ctx context.Context, accountID, keep, current, next string) error {
	return s.withPassword(ctx, accountID, current, func(tx *sqlx.Tx, acc Account) error {
		if err := s.passwords.SetTx(ctx, tx, accountID, acc.Email, "new_password", next); err != nil {
			return err
		}
		if err := s.passwords.RevokeSessionsTx(ctx, tx, accountID, keep, "password_changed"); err != nil {
			return err
		}
		return s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyPasswordChanged, UserID: accountID, Data: map[string]string{}})
	})
}

// DeleteAccount removes the account, its profiles and tokens after checking
// the password, and asks every other module (through the queue, in the same
// transaction) to forget the user. The email address can then be used again.
func (s *Service) DeleteAccount(ctx context.Context, accountID, password string) error {
	return s.withPassword(ctx, accountID, password, func(tx *sqlx.Tx, acc Account) error {
		if err := deleteAccount(ctx, tx, accountID); err != nil {
			return err
		}
		for _, f := range s.forgetters {
			if err := f.ForgetUserTx(ctx, tx, accountID); err != nil {
				return err
			}
		}
		return s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyAccountDeleted, UserID: accountID, To: acc.Email, Data: map[string]string{}})
	})
}

// withPassword runs f in a transaction, with the account locked for update,
// once password is the account's. It returns the Passwords error for a wrong
// password, or ErrAccountNotFound.
func (s *Service) withPassword(ctx context.Context, accountID, password string, f func(tx *sqlx.Tx, acc Account) error) error {
	if err := s.passwords.Verify(ctx, accountID, password); err != nil {
		return err
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		acc, err := findAccountForUpdate(ctx, tx, accountID)
		if err != nil {
			return err
		}
		return f(tx, acc)
	})
}
