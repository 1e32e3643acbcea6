package reco

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// RescoreArgs is the reco.rescore job: one profile's top-N recomputed
// nearline after it finished a title or changed a rating, My List or its
// picks. Each change queues one (River's uniqueness would also skip a
// change made while a rescore runs, which may have read the signals
// before it): a rescore costs milliseconds.
type RescoreArgs struct {
	ProfileID string `json:"profile_id"`
}

// Kind is the River job kind.
func (RescoreArgs) Kind() string { return "reco.rescore" }

// InsertOpts puts the job on reco's queue.
func (RescoreArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 5}
}

// TrainArgs is the reco.train job: retrain when the model is due (or
// always, with Force). The hourly check and "streamflix reco train" insert it.
type TrainArgs struct {
	Force bool `json:"force,omitempty"`
}

// Kind is the River job kind.
func (TrainArgs) Kind() string { return "reco.train" }

// InsertOpts: one waiting or running retrain at a time.
func (TrainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable}}}
}

// PartitionsArgs is the reco.partitions job: create analytics.events'
// monthly partitions three months ahead.
type PartitionsArgs struct{}

// Kind is the River job kind.
func (PartitionsArgs) Kind() string { return "reco.partitions" }

// InsertOpts puts the job on reco's queue.
func (PartitionsArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: QueueName} }

// PartitionsAhead is how many months ahead partitions exist.
const PartitionsAhead = 3

// rescoreTimeout bounds one nearline rescore (milliseconds of work; the
// first after a retrain also loads the model's weights).
const rescoreTimeout = 30 * time.Second

func (s *Service) enqueueRescoreTx(ctx context.Context, tx *sqlx.Tx, profileID string) error {
	if _, err := s.queue.InsertTx(ctx, tx.Tx, RescoreArgs{ProfileID: profileID}, nil); err != nil {
		return fmt.Errorf("enqueue rescore: %w", err)
	}
	return nil
}

type rescoreWorker struct {
	river.WorkerDefaults[RescoreArgs]
	s *Service
}

func (w *rescoreWorker) Timeout(*river.Job[RescoreArgs]) time.Duration { return rescoreTimeout }

func (w *rescoreWorker) Work(ctx context.Context, job *river.Job[RescoreArgs]) error {
	return w.s.Rescore(ctx, job.Args.ProfileID)
}

type trainWorker struct {
	river.WorkerDefaults[TrainArgs]
	s *Service
}

func (w *trainWorker) Timeout(*river.Job[TrainArgs]) time.Duration { return w.s.cfg.TrainTimeout }

func (w *trainWorker) Work(ctx context.Context, job *river.Job[TrainArgs]) error {
	_, err := w.s.Train(ctx, job.Args.Force)
	if errors.Is(err, ErrTrainingBusy) {
		return nil // the one running does the work
	}
	return err
}

type partitionsWorker struct {
	river.WorkerDefaults[PartitionsArgs]
	s *Service
}

func (w *partitionsWorker) Timeout(*river.Job[PartitionsArgs]) time.Duration { return time.Minute }

func (w *partitionsWorker) Work(ctx context.Context, _ *river.Job[PartitionsArgs]) error {
	return w.s.EnsurePartitions(ctx, PartitionsAhead)
}
