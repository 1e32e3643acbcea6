// Package queuetest runs streamflix's queue (River over Postgres) in tests,
// the way an instance does, so that tests need no River set-up of their own.
package queuetest

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/queue"
)

// Start builds a queue over db with cfg, starts it, and stops it when the
// test ends (waiting up to 10 s for running jobs). cfg.DatabaseURL must be
// db's URL (pgtest.NewDBURL gives both). A zero FetchPollInterval polls
// every 100 ms, so that a test does not wait on River's 1 s default when a
// notification is missed; a zero Logger logs nothing. Cleanups the test
// registers after Start run before the queue stops: a test that blocks
// jobs releases them in one.
func Start(t testing.TB, db *sqlx.DB, cfg queue.Config) *queue.Queue {
	t.Helper()
	if cfg.FetchPollInterval == 0 {
		cfg.FetchPollInterval = 100 * time.Millisecond
	}
	ctx := context.Background()
	q, err := queue.New(ctx, db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.Stop(ctx); err != nil {
			t.Errorf("stop queue: %v", err)
		}
	})
	return q
}
