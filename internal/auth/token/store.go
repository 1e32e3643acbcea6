package token

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// keyLockKey is the transaction-level advisory lock that serialises creating
// signing keys across instances ("authkeys" in ASCII).
const keyLockKey int64 = 0x617574686b657973

type keyRow struct {
	KID        string     `db:"kid"`
	PrivatePEM string     `db:"private_pem"`
	CreatedAt  time.Time  `db:"created_at"`
	RetiredAt  *time.Time `db:"retired_at"`
}

// findActiveKeys returns the keys that are not retired, newest (the signing
// key) first.
func findActiveKeys(ctx context.Context, q sqlx.QueryerContext) ([]keyRow, error) {
	var rows []keyRow
	err := sqlx.SelectContext(ctx, q, &rows,
		`SELECT kid, private_pem, created_at, retired_at FROM auth.signing_keys
		 WHERE retired_at IS NULL ORDER BY created_at DESC, kid DESC`)
	if err != nil {
		return nil, fmt.Errorf("find signing keys: %w", err)
	}
	return rows, nil
}

// insertKey stores a key created at createdAt, or just after the newest key
// if that is later (clocks of instances differ), so that a new key is always
// the newest and therefore the signing key. Call it under keyLockKey.
func insertKey(ctx context.Context, q sqlx.ExtContext, kid, privatePEM string, createdAt time.Time) (keyRow, error) {
	var row keyRow
	err := sqlx.GetContext(ctx, q, &row,
		`INSERT INTO auth.signing_keys (kid, private_pem, created_at)
		 VALUES ($1, $2, GREATEST($3::timestamptz,
		     (SELECT max(created_at) + interval '1 microsecond' FROM auth.signing_keys)))
		 RETURNING kid, private_pem, created_at, retired_at`, kid, privatePEM, createdAt)
	if err != nil {
		return row, fmt.Errorf("insert signing key: %w", err)
	}
	return row, nil
}

// createKey inserts a new key made by gen. With onlyIfNone it inserts only
// when no active key exists, so that instances starting together create one
// key between them; it then returns ok=false when another instance won.
func createKey(ctx context.Context, db *sqlx.DB, now time.Time, onlyIfNone bool, gen func() (kid, privatePEM string, err error)) (row keyRow, ok bool, err error) {
	err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, keyLockKey); err != nil {
			return fmt.Errorf("lock signing keys: %w", err)
		}
		if onlyIfNone {
			var n int
			if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM auth.signing_keys WHERE retired_at IS NULL`); err != nil {
				return fmt.Errorf("count signing keys: %w", err)
			}
			if n > 0 {
				return nil
			}
		}
		kid, p, err := gen()
		if err != nil {
			return err
		}
		row, err = insertKey(ctx, tx, kid, p, now)
		ok = err == nil
		return err
	})
	return row, ok && err == nil, err
}

// retireOldKeys retires every active key that a newer active key replaced
// before cutoff, and returns how many it retired. The signing key (the
// newest active one) is never retired.
func retireOldKeys(ctx context.Context, q sqlx.ExtContext, now, cutoff time.Time) (int, error) {
	res, err := q.ExecContext(ctx,
		`UPDATE auth.signing_keys k SET retired_at = $1
		 WHERE k.retired_at IS NULL AND EXISTS (
		     SELECT 1 FROM auth.signing_keys n
		     WHERE n.retired_at IS NULL
		       AND (n.created_at, n.kid) > (k.created_at, k.kid)
		       AND n.created_at < $2)`, now, cutoff)
	if err != nil {
		return 0, fmt.Errorf("retire signing keys: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("retire signing keys: %w", err)
	}
	return int(n), nil
}
