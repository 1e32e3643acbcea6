package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/rs/zerolog"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/streamflix/streamflix/internal/platform/pg"
	"github.com/streamflix/streamflix/internal/platform/pgtest"
)

const testSecret = "whsec_unit_test"

// fakeProvider verifies as Stripe does and cannot be re-fetched from, so
// events are applied from their payload alone.
type fakeProvider struct{ *Stripe }

func (*fakeProvider) Name() string { return "stripe" }
func (*fakeProvider) Subscription(context.Context, string) (ProviderSubscription, error) {
	return ProviderSubscription{}, errors.New("offline")
}

type jobs struct {
	mu   sync.Mutex
	args []river.JobArgs
}

func (j *jobs) InsertTx(_ context.Context, _ *sql.Tx, a river.JobArgs, _ *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.args = append(j.args, a)
	return &rivertype.JobInsertResult{Job: &rivertype.JobRow{}}, nil
}

type testBundle struct {
	s     *Service
	db    *sqlx.DB
	jobs  *jobs
	mu    sync.Mutex
	notes []Notification
	subID string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	db := pgtest.NewDB(t)
	tb := &testBundle{db: db, jobs: &jobs{}}
	s, err := New(Config{Provider: ProviderStripe, StripeSecretKey: "sk_test_x", StripeWebhookSecret: testSecret}, Deps{
		DB: db, Log: zerolog.Nop(), Queue: tb.jobs,
		Accounts: AccountsFunc(func(_ context.Context, id string) (Account, error) {
			return Account{ID: id, Email: "a@example.com", Verified: true}, nil
		}),
		Notifier: NotifierFunc(func(_ context.Context, _ *sqlx.Tx, n Notification) error {
			tb.mu.Lock()
			tb.notes = append(tb.notes, n)
			tb.mu.Unlock()
			return nil
		}),
		Provider: &fakeProvider{Stripe: NewStripe(StripeConfig{SecretKey: "sk_test_x", WebhookSecret: testSecret})},
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.s = s
	plan, err := findPlan(context.Background(), db, "basic")
	if err != nil {
		t.Fatal(err)
	}
	tb.subID = uuid.NewString()
	err = pg.InTx(context.Background(), db, func(tx *sqlx.Tx) error {
		if err := insertSubscription(context.Background(), tx, tb.subID, uuid.NewString(), plan, "stripe"); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE payment.subscriptions SET provider_subscription_id = 'sub_1' WHERE id = $1`, tb.subID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func subEvent(id, typ, status string, created time.Time, metaSub string) []byte {
	obj, _ := json.Marshal(&stripe.Subscription{ID: "sub_1", Status: stripe.SubscriptionStatus(status), Customer: &stripe.Customer{ID: "cus_1"},
		Metadata: map[string]string{"subscription_id": metaSub},
		Items:    &stripe.SubscriptionItemList{Data: []*stripe.SubscriptionItem{{CurrentPeriodStart: created.Unix(), CurrentPeriodEnd: created.AddDate(0, 1, 0).Unix()}}}})
	b, _ := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": created.Unix(), "type": typ,
		"data": map[string]json.RawMessage{"object": obj}})
	return b
}

func sign(payload []byte, at time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: testSecret, Timestamp: at}).Header
}

// deliver receives an event and works the job it queued, as River would.
func (tb *testBundle) deliver(t *testing.T, payload []byte) bool {
	t.Helper()
	dup, err := tb.s.ReceiveWebhook(context.Background(), "stripe", payload, sign(payload, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	tb.jobs.mu.Lock()
	pending := tb.jobs.args
	tb.jobs.args = nil
	tb.jobs.mu.Unlock()
	for _, a := range pending {
		ea := a.(EventArgs)
		if err := tb.s.processEvent(context.Background(), ea.Provider, ea.EventID); err != nil {
			t.Fatal(err)
		}
	}
	return dup
}

func (tb *testBundle) status(t *testing.T) Status {
	t.Helper()
	var st string
	if err := tb.db.Get(&st, `SELECT status FROM payment.subscriptions WHERE id = $1`, tb.subID); err != nil {
		t.Fatal(err)
	}
	return Status(st)
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	payload := subEvent("evt_sig", "customer.subscription.updated", "active", time.Now(), tb.subID)
	for name, sig := range map[string]string{
		"Missing":     "",
		"Wrong":       fmt.Sprintf("t=%d,v1=%064d", time.Now().Unix(), 0),
		"TooOld":      sign(payload, time.Now().Add(-6*time.Minute)),
		"OtherSecret": webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_other", Timestamp: time.Now()}).Header,
	} {
		if _, err := tb.s.ReceiveWebhook(context.Background(), "stripe", payload, sig); !errors.Is(err, ErrSignatureInvalid) {
			t.Errorf("%s: err %v, want ErrSignatureInvalid", name, err)
		}
	}
	// Tampered body under a good signature.
	sig := sign(payload, time.Now())
	if _, err := tb.s.ReceiveWebhook(context.Background(), "stripe", append(payload[:len(payload)-1:len(payload)-1], ' ', '}'), sig); !errors.Is(err, ErrSignatureInvalid) {
		t.Errorf("tampered: err %v", err)
	}
	if _, err := tb.s.ReceiveWebhook(context.Background(), "sandbox", payload, sig); !errors.Is(err, ErrProviderMismatch) {
		t.Errorf("other provider's endpoint: err %v", err)
	}
	if len(tb.jobs.args) != 0 {
		t.Fatalf("rejected events queued jobs: %v", tb.jobs.args)
	}
}

func TestWebhookDuplicateAndOrder(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	created := subEvent("evt_1", "customer.subscription.created", "active", t0, tb.subID)
	if tb.deliver(t, created) {
		t.Fatal("first delivery reported as duplicate")
	}
	if st := tb.status(t); st != StatusActive {
		t.Fatalf("after created: %s", st)
	}
	if len(tb.notes) != 1 || tb.notes[0].Kind != NotifySubscriptionStarted {
		t.Fatalf("notifications %+v, want one subscription_started", tb.notes)
	}
	// The same event again: recorded once, nothing changes, no second email.
	if !tb.deliver(t, created) {
		t.Fatal("duplicate not reported")
	}
	if len(tb.notes) != 1 {
		t.Fatalf("duplicate sent more mail: %+v", tb.notes)
	}
	// Out of order: canceled at t0+2h arrives before past_due at t0+1h.
	tb.deliver(t, subEvent("evt_3", "customer.subscription.deleted", "canceled", t0.Add(2*time.Hour), tb.subID))
	tb.deliver(t, subEvent("evt_2", "customer.subscription.updated", "past_due", t0.Add(time.Hour), tb.subID))
	if st := tb.status(t); st != StatusCanceled {
		t.Fatalf("an older event moved the subscription back: %s", st)
	}
	var outcome string
	_ = tb.db.Get(&outcome, `SELECT outcome FROM payment.webhook_events WHERE event_id = 'evt_2'`)
	if outcome != "stale" {
		t.Fatalf("late event outcome %q, want stale", outcome)
	}
	// Even a newer event cannot revive a canceled subscription.
	tb.deliver(t, subEvent("evt_4", "customer.subscription.updated", "active", t0.Add(3*time.Hour), tb.subID))
	if st := tb.status(t); st != StatusCanceled {
		t.Fatalf("canceled came back: %s", st)
	}
	var n int
	_ = tb.db.Get(&n, `SELECT count(*) FROM payment.transitions WHERE subscription_id = $1`, tb.subID)
	if n != 2 { // incomplete>active, active>canceled (insertSubscription recorded none)
		t.Fatalf("%d transitions, want 2", n)
	}
}

func TestWebhookUnknownObject(t *testing.T) {
	t.Parallel()
	tb := setup(t)
	obj, _ := json.Marshal(&stripe.Subscription{ID: "sub_nobody", Status: "active", Customer: &stripe.Customer{ID: "cus_x"}})
	payload, _ := json.Marshal(map[string]any{"id": "evt_unknown", "object": "event", "api_version": stripe.APIVersion, "created": time.Now().Unix(),
		"type": "customer.subscription.updated", "data": map[string]json.RawMessage{"object": obj}})
	tb.deliver(t, payload)
	var outcome string
	_ = tb.db.Get(&outcome, `SELECT outcome FROM payment.webhook_events WHERE event_id = 'evt_unknown'`)
	if outcome != "ignored: unknown subscription" {
		t.Fatalf("outcome %q", outcome)
	}
	if st := tb.status(t); st != StatusIncomplete {
		t.Fatalf("our subscription changed: %s", st)
	}
}
