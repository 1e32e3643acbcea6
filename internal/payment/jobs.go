package payment

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// EventArgs is the payment.webhook job: apply one recorded webhook event.
type EventArgs struct {
	Provider string `json:"provider" river:"unique"`
	EventID  string `json:"event_id" river:"unique"`
}

// Kind is the River job kind.
func (EventArgs) Kind() string { return "payment.webhook" }

// InsertOpts puts the job on payment's queue, once per event.
func (EventArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 25, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type eventWorker struct {
	river.WorkerDefaults[EventArgs]
	s *Service
}

func (w *eventWorker) Timeout(*river.Job[EventArgs]) time.Duration { return 30 * time.Second }

func (w *eventWorker) Work(ctx context.Context, job *river.Job[EventArgs]) error {
	return w.s.processEvent(ctx, job.Args.Provider, job.Args.EventID)
}

// DeliverArgs is the payment.sandbox_deliver job: POST one sandbox event
// to the webhook endpoint. River's retries (attempt⁴ seconds apart) stand
// in for Stripe's.
type DeliverArgs struct {
	EventID string `json:"event_id"`
}

// Kind is the River job kind.
func (DeliverArgs) Kind() string { return "payment.sandbox_deliver" }

// InsertOpts puts the job on payment's queue.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 15}
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	sb *Sandbox
}

func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return 20 * time.Second }

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.sb.deliver(ctx, job.Args.EventID)
}

// TickArgs is the periodic payment.sandbox_tick job: run the sandbox's due
// renewals and retries.
type TickArgs struct{}

// Kind is the River job kind.
func (TickArgs) Kind() string { return "payment.sandbox_tick" }

// InsertOpts puts the job on payment's queue, one at a time.
func (TickArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: 5 * time.Second}}
}

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	sb *Sandbox
}

func (w *tickWorker) Timeout(*river.Job[TickArgs]) time.Duration { return time.Minute }

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	return w.sb.RunDue(ctx)
}

// RepriceArgs is the payment.reprice job: after a plan's price changed,
// move its subscribers to the new price at their next period.
type RepriceArgs struct {
	Plan    string `json:"plan"`
	PriceID int64  `json:"price_id"`
}

// Kind is the River job kind.
func (RepriceArgs) Kind() string { return "payment.reprice" }

// InsertOpts puts the job on payment's queue.
func (RepriceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 10}
}

type repriceWorker struct {
	river.WorkerDefaults[RepriceArgs]
	s *Service
}

func (w *repriceWorker) Timeout(*river.Job[RepriceArgs]) time.Duration { return 10 * time.Minute }

func (w *repriceWorker) Work(ctx context.Context, job *river.Job[RepriceArgs]) error {
	return w.s.reprice(ctx, job.Args.Plan, job.Args.PriceID)
}
