package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

// TestAfterCommit: hooks run after a commit, in order, and never after a
// rollback.
func TestAfterCommit(t *testing.T) {
	db := pgtest.NewDB(t)
	ctx := context.Background()
	var ran []string
	err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		pg.AfterCommit(tx, func() { ran = append(ran, "first") })
		pg.AfterCommit(tx, func() { ran = append(ran, "second") })
		if len(ran) != 0 {
			t.Errorf("hooks ran before the commit: %v", ran)
		}
		_, err := tx.ExecContext(ctx, `SELECT 1`)
		return err
	})
	if err != nil || len(ran) != 2 || ran[0] != "first" || ran[1] != "second" {
		t.Fatalf("after commit: ran %v, err %v", ran, err)
	}

	ran = nil
	boom := errors.New("boom")
	err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		pg.AfterCommit(tx, func() { ran = append(ran, "rolled back") })
		return boom
	})
	if !errors.Is(err, boom) || len(ran) != 0 {
		t.Fatalf("after rollback: ran %v, err %v", ran, err)
	}
}
