package queue

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Deferred inserts jobs through a Queue that is set after the modules
// holding it were built: River's client needs every module's workers, and
// the modules need something to insert with.
type Deferred struct{ q atomic.Pointer[Queue] }

// Set points d at q.
func (d *Deferred) Set(q *Queue) { d.q.Store(q) }

// ErrNotStarted is returned by a Deferred used before Set.
var ErrNotStarted = errors.New("queue: not started")

// InsertTx inserts args in tx. It returns ErrNotStarted before Set.
func (d *Deferred) InsertTx(ctx context.Context, tx *sql.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	q := d.q.Load()
	if q == nil {
		return nil, ErrNotStarted
	}
	return q.InsertTx(ctx, tx, args, opts)
}

// Healthy returns ErrNotStarted before Set, then the queue's Healthy.
func (d *Deferred) Healthy() error {
	q := d.q.Load()
	if q == nil {
		return ErrNotStarted
	}
	return q.Healthy()
}
