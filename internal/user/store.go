package user

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

type accountRow struct {
	ID              string         `db:"id"`
	Email           string         `db:"email"`
	EmailVerifiedAt sql.NullTime   `db:"email_verified_at"`
	Roles           pq.StringArray `db:"roles"`
	CreatedAt       time.Time      `db:"created_at"`
}

func (r accountRow) account() Account {
	roles := []string(r.Roles)
	if roles == nil {
		roles = []string{}
	}
	return Account{ID: r.ID, Email: r.Email, EmailVerified: r.EmailVerifiedAt.Valid, Roles: roles, CreatedAt: r.CreatedAt.UTC()}
}

const accountCols = `id, email, email_verified_at, roles, created_at`

// mapErr turns constraint violations into domain errors, in one place.
func mapErr(err error) error { return pg.MapUnique(err, uniqueErrs) }

var uniqueErrs = map[string]error{
	"accounts_email_key_key":    ErrEmailTaken,
	"profiles_account_name_key": ErrProfileNameTaken,
}

func getAccount(ctx context.Context, q sqlx.QueryerContext, query string, arg any) (Account, error) {
	var row accountRow
	err := sqlx.GetContext(ctx, q, &row, query, arg)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrAccountNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("find account: %w", err)
	}
	return row.account(), nil
}

func findAccount(ctx context.Context, q sqlx.QueryerContext, id string) (Account, error) {
	if !validUUID(id) {
		return Account{}, ErrAccountNotFound
	}
	return getAccount(ctx, q, `SELECT `+accountCols+` FROM users.accounts WHERE id = $1`, id)
}

func findAccountForUpdate(ctx context.Context, q sqlx.QueryerContext, id string) (Account, error) {
	if !validUUID(id) {
		return Account{}, ErrAccountNotFound
	}
	return getAccount(ctx, q, `SELECT `+accountCols+` FROM users.accounts WHERE id = $1 FOR UPDATE`, id)
}

func findAccountByKey(ctx context.Context, q sqlx.QueryerContext, key string) (Account, error) {
	return getAccount(ctx, q, `SELECT `+accountCols+` FROM users.accounts WHERE email_key = $1`, key)
}

func insertAccount(ctx context.Context, e sqlx.ExecerContext, a Account, key string) error {
	_, err := e.ExecContext(ctx, `INSERT INTO users.accounts (id, email, email_key, roles, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $5)`, a.ID, a.Email, key, pq.StringArray(a.Roles), a.CreatedAt)
	return mapErr(err)
}

// markVerified marks the account's address verified (an operator vouches
// for it).
func markVerified(ctx context.Context, e sqlx.ExecerContext, id string) error {
	_, err := e.ExecContext(ctx, `UPDATE users.accounts SET email_verified_at = now() WHERE id = $1`, id)
	return err
}

// verifyAddress marks the account's address verified if it still is key.
func verifyAddress(ctx context.Context, e sqlx.ExecerContext, id, key string) error {
	_, err := e.ExecContext(ctx, `UPDATE users.accounts SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
		WHERE id = $1 AND email_key = $2`, id, key)
	return mapErr(err)
}

// switchAddress moves the account to a new, verified address; it returns
// ErrEmailTaken if another account has it.
func switchAddress(ctx context.Context, e sqlx.ExecerContext, id, email, key string) error {
	_, err := e.ExecContext(ctx, `UPDATE users.accounts SET email = $2, email_key = $3, email_verified_at = now(), updated_at = now()
		WHERE id = $1`, id, email, key)
	return mapErr(err)
}

// deleteAccount deletes the account; its profiles and email tokens go with
// it.
func deleteAccount(ctx context.Context, e sqlx.ExecerContext, id string) error {
	if _, err := e.ExecContext(ctx, `DELETE FROM users.accounts WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete account: %w", err)
	}
	return nil
}

func insertEmailToken(ctx context.Context, e sqlx.ExecerContext, hash []byte, accountID, purpose, email string, expires time.Time) error {
	_, err := e.ExecContext(ctx, `INSERT INTO users.email_tokens (token_hash, account_id, purpose, email, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, hash, accountID, purpose, email, expires)
	if err != nil {
		return fmt.Errorf("store email token: %w", err)
	}
	return nil
}

type profileRow struct {
	ID            string         `db:"id"`
	Name          string         `db:"name"`
	Kids          bool           `db:"kids"`
	MaturityLevel int            `db:"maturity_level"`
	Language      string         `db:"language"`
	Avatar        string         `db:"avatar"`
	PINHash       sql.NullString `db:"pin_hash"`
	CreatedAt     time.Time      `db:"created_at"`
}

func (r profileRow) profile() Profile {
	return Profile{ID: r.ID, Name: r.Name, Kids: r.Kids, MaturityLevel: r.MaturityLevel, Language: r.Language,
		Avatar: r.Avatar, HasPIN: r.PINHash.Valid, CreatedAt: r.CreatedAt.UTC()}
}

const profileCols = `id, name, kids, maturity_level, language, avatar, pin_hash, created_at`

func insertProfile(ctx context.Context, e sqlx.ExecerContext, accountID string, p Profile, pinHash *string) error {
	_, err := e.ExecContext(ctx, `INSERT INTO users.profiles (id, account_id, name, kids, maturity_level, language, avatar, pin_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.ID, accountID, p.Name, p.Kids, p.MaturityLevel, p.Language, p.Avatar, pinHash)
	return mapErr(err)
}

func updateProfile(ctx context.Context, e sqlx.ExecerContext, accountID string, p Profile, pinHash *string) error {
	_, err := e.ExecContext(ctx, `UPDATE users.profiles SET name = $3, kids = $4, maturity_level = $5, language = $6, avatar = $7, pin_hash = $8
		WHERE id = $1 AND account_id = $2`, p.ID, accountID, p.Name, p.Kids, p.MaturityLevel, p.Language, p.Avatar, pinHash)
	return mapErr(err)
}

func listProfiles(ctx context.Context, q sqlx.QueryerContext, accountID string) ([]Profile, error) {
	if !validUUID(accountID) {
		return nil, ErrAccountNotFound
	}
	var rows []profileRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+profileCols+` FROM users.profiles WHERE account_id = $1 ORDER BY created_at, id`, accountID); err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	out := make([]Profile, len(rows))
	for i, r := range rows {
		out[i] = r.profile()
	}
	return out, nil
}

func countProfiles(ctx context.Context, q sqlx.QueryerContext, accountID string) (int, error) {
	var n int
	if err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM users.profiles WHERE account_id = $1`, accountID); err != nil {
		return 0, fmt.Errorf("count profiles: %w", err)
	}
	return n, nil
}

func deleteProfile(ctx context.Context, e sqlx.ExecerContext, accountID, id string) error {
	_, err := e.ExecContext(ctx, `DELETE FROM users.profiles WHERE id = $1 AND account_id = $2`, id, accountID)
	return err
}

// findProfile returns the account's profile and its PIN hash ("" for none).
// Another account's profile is ErrProfileNotFound.
func findProfile(ctx context.Context, q sqlx.QueryerContext, accountID, id string, forUpdate bool) (Profile, string, error) {
	if !validUUID(id) || !validUUID(accountID) {
		return Profile{}, "", ErrProfileNotFound
	}
	query := `SELECT ` + profileCols + ` FROM users.profiles WHERE id = $1 AND account_id = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	var row profileRow
	err := sqlx.GetContext(ctx, q, &row, query, id, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, "", ErrProfileNotFound
	}
	if err != nil {
		return Profile{}, "", fmt.Errorf("find profile: %w", err)
	}
	return row.profile(), row.PINHash.String, nil
}

type emailToken struct {
	AccountID string `db:"account_id"`
	Purpose   string `db:"purpose"`
	Email     string `db:"email"`
}

// useEmailToken marks an unused, unexpired token used and returns it, or
// ErrTokenInvalid.
func useEmailToken(ctx context.Context, q sqlx.QueryerContext, hash []byte, now time.Time) (emailToken, error) {
	var t emailToken
	err := sqlx.GetContext(ctx, q, &t, `UPDATE users.email_tokens SET used_at = $2
		WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
		RETURNING account_id, purpose, email`, hash, now)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrTokenInvalid
	}
	if err != nil {
		return t, fmt.Errorf("use email token: %w", err)
	}
	return t, nil
}

// validUUID reports whether s is a UUID in its canonical 36-character
// form, so that a malformed id is a not-found rather than a database error.
func validUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }
