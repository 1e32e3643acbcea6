package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/payment"
	"github.com/streamflix/streamflix/internal/platform/queue"
	"github.com/streamflix/streamflix/internal/user"
)

// openPayment builds the payment module over the user and notify modules
// (already built) and registers it.
func (m *Main) openPayment(_ context.Context, jobs *queue.Deferred) error {
	cfg := m.Config
	webhookURL := cfg.PaymentSandboxWebhookURL
	if webhookURL == "" {
		// The sandbox delivers to this very instance, as Stripe would to
		// the public endpoint.
		webhookURL = m.URL() + "/api/v1/billing/webhooks/sandbox"
	}
	svc, err := payment.New(payment.Config{
		Provider: cfg.PaymentProvider, PublicURL: cfg.PublicURL, WebhookURL: webhookURL, WebhookSecret: cfg.PaymentWebhookSecret,
		StripeSecretKey: cfg.StripeSecretKey, StripeWebhookSecret: cfg.StripeWebhookSecret, StripeAPIURL: cfg.StripeAPIURL,
	}, payment.Deps{
		DB: m.DB, Log: m.Log, Accounts: paymentAccounts{m.Users}, Notifier: paymentNotifier{m.Notify}, Queue: jobs,
	})
	if err != nil {
		return err
	}
	m.Payment = svc
	m.Registry.Add(svc.Module(m.Version))
	return nil
}

// paymentAccounts gives payment its view of an account.
type paymentAccounts struct{ u *user.Service }

func (a paymentAccounts) Account(ctx context.Context, id string) (payment.Account, error) {
	acc, err := a.u.Account(ctx, id)
	if err != nil {
		return payment.Account{}, err
	}
	return payment.Account{ID: acc.ID, Email: acc.Email, Verified: acc.EmailVerified}, nil
}

// paymentNotifier queues payment's emails through notify.
type paymentNotifier struct{ n *notify.Service }

func (a paymentNotifier) EnqueueTx(ctx context.Context, tx *sqlx.Tx, n payment.Notification) error {
	return a.n.EnqueueTx(ctx, tx, notify.Request{Kind: notify.Kind(n.Kind), UserID: n.UserID, Data: n.Data, DedupKey: n.DedupKey})
}

// billingCmd is `streamflix billing advance DURATION`: move the sandbox's
// test clock and run the renewals and retries that fall due.
func billingCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "advance" {
		fmt.Fprint(stderr, "streamflix billing: want advance DURATION (such as 31d or 36h)\n")
		return 2
	}
	d, err := payment.ParseAdvance(args[1])
	if err != nil {
		fmt.Fprintf(stderr, "streamflix billing advance: %q is not a duration such as 31d or 36h\n", args[1])
		return 2
	}
	cfg, _, code := loadConfig("streamflix billing", append(args[2:], "--http-addr=127.0.0.1:0", "--workers=false"), getenv, stdout, stderr)
	if cfg == nil {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	m := NewMain(cfg, zerolog.Nop(), Version())
	if err := m.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "streamflix billing advance: %v\n", err)
		m.Close()
		return 1
	}
	defer m.Close()
	// Insert-only queue: events are delivered by the serving instances' workers.
	now, err := m.Payment.AdvanceClock(ctx, d)
	if errors.Is(err, payment.ErrNotSandbox) {
		fmt.Fprint(stderr, "streamflix billing advance: the test clock exists only with PAYMENT_PROVIDER=sandbox\n")
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "streamflix billing advance: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "sandbox clock now %s\n", now.Format(time.RFC3339))
	return 0
}
