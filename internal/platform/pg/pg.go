// Package pg opens the Postgres pool (sqlx over lib/pq) and runs
// transactions. Every module uses the one pool; each writes only its own
// schema.
package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Options are the pool settings. Zero values take database/sql's defaults.
type Options struct {
	URL             string
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
}

// Open connects to Postgres and checks the connection within ctx.
func Open(ctx context.Context, o Options) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", o.URL)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(o.MaxOpenConns)
	db.SetMaxIdleConns(o.MaxIdleConns)
	db.SetConnMaxLifetime(o.ConnMaxLifetime)
	db.SetConnMaxIdleTime(o.ConnMaxIdleTime)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

// InTx runs fn in a transaction. It rolls back when fn returns an error or
// panics, and otherwise returns the error of the commit itself, so a commit
// that fails (serialization, lost connection) is never reported as success.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) (err error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	hooks.Store(tx, &[]func(){})
	defer hooks.Delete(tx)
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if h, ok := hooks.Load(tx); ok {
		for _, f := range *h.(*[]func()) {
			f()
		}
	}
	return nil
}

// hooks holds the AfterCommit functions of each transaction InTx runs.
var hooks sync.Map // *sqlx.Tx -> *[]func()

// AfterCommit runs f once tx, begun by InTx, has committed, and never if it
// rolls back: for effects outside Postgres (a cache write-through, say)
// that must not happen for a change that did not. A transaction InTx did
// not begin has no commit to wait for here, so f runs at once.
// Not safe for concurrent use on one tx, like the tx itself.
func AfterCommit(tx *sqlx.Tx, f func()) {
	h, ok := hooks.Load(tx)
	if !ok {
		f()
		return
	}
	fs := h.(*[]func())
	*fs = append(*fs, f)
}

// Postgres error codes the stores translate into domain errors.
const (
	CodeUniqueViolation     = "23505"
	CodeForeignKeyViolation = "23503"
	CodeCheckViolation      = "23514"
)

// Constraint returns the Postgres error code and constraint name of err, or
// ok=false when err is not a Postgres error.
func Constraint(err error) (code, constraint string, ok bool) {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return "", "", false
	}
	return string(pe.Code), pe.Constraint, true
}

// IsUniqueViolation reports whether err is a unique violation, and on which
// constraint.
func IsUniqueViolation(err error) (constraint string, ok bool) {
	code, c, ok := Constraint(err)
	return c, ok && code == CodeUniqueViolation
}

// MapUnique returns the domain error byConstraint holds for a unique
// violation of that constraint, and err itself otherwise (nil for nil):
// the one place a store turns its unique constraints into domain errors.
func MapUnique(err error, byConstraint map[string]error) error {
	if c, ok := IsUniqueViolation(err); ok {
		if mapped, ok := byConstraint[c]; ok {
			return mapped
		}
	}
	return err
}
