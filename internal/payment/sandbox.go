package payment

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"
	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Sandbox is the built-in provider: it behaves like Stripe Billing, with
// its hosted checkout and portal pages served by streamflix, Stripe's test
// cards, renewals at period end, retries after 1, 3 and 5 days, then
// cancellation, and a test clock. It delivers signed Stripe-shaped events
// to the webhook endpoint over HTTP, through River jobs that retry.
type Sandbox struct {
	db         *sqlx.DB
	queue      Inserter
	log        zerolog.Logger
	publicURL  string
	webhookURL string
	secret     string
	http       *http.Client

	secretMu sync.Mutex
}

// Name is "sandbox".
func (*Sandbox) Name() string { return ProviderSandbox }

// Test cards (Stripe's own numbers).
const (
	CardSuccess      = "4242424242424242"
	CardDeclined     = "4000000000000002"
	CardFailsRenewal = "4000000000000341"
	cardMastercard   = "5555555555554444"
)

// Errors of the sandbox's pages.
var (
	ErrCardNumber      = apperr.Validation(apperr.FieldError{Field: "card_number", Code: "incorrect_number", Message: "Your card number is incorrect."})
	ErrCardExpiry      = apperr.Validation(apperr.FieldError{Field: "exp", Code: "invalid_expiry", Message: "Your card's expiration date is invalid."})
	ErrCardCVC         = apperr.Validation(apperr.FieldError{Field: "cvc", Code: "incorrect_cvc", Message: "Your card's security code is invalid."})
	ErrCheckoutGone    = apperr.New(apperr.Gone, "checkout_expired", "This checkout is no longer open.")
	ErrCheckoutUnknown = apperr.New(apperr.NotFound, "checkout_not_found", "No such checkout.")
	ErrPortalUnknown   = apperr.New(apperr.NotFound, "portal_not_found", "This page has expired; open the billing portal again.")
)

// card is a card as the sandbox's network sees it.
type card struct {
	brand, last4 string
	failsRenewal bool
}

// parseCard checks a card form: number (spaces allowed), exp as MM/YY and
// cvc. It returns ErrCardDeclined for 4000 0000 0000 0002 and for numbers
// that are not Stripe test cards.
func parseCard(number, exp, cvc string, now time.Time) (card, error) {
	n := strings.NewReplacer(" ", "", "-", "").Replace(number)
	if len(n) < 12 || len(n) > 19 || strings.Trim(n, "0123456789") != "" || !luhn(n) {
		return card{}, ErrCardNumber
	}
	mm, yy, ok := strings.Cut(strings.ReplaceAll(exp, " ", ""), "/")
	m, err1 := strconv.Atoi(mm)
	y, err2 := strconv.Atoi(yy)
	if !ok || err1 != nil || err2 != nil || m < 1 || m > 12 {
		return card{}, ErrCardExpiry
	}
	if y < 100 {
		y += 2000
	}
	if !time.Date(y, time.Month(m)+1, 1, 0, 0, 0, 0, time.UTC).After(now) {
		return card{}, ErrCardExpiry
	}
	if len(cvc) < 3 || len(cvc) > 4 || strings.Trim(cvc, "0123456789") != "" {
		return card{}, ErrCardCVC
	}
	switch n {
	case CardSuccess:
		return card{brand: "visa", last4: "4242"}, nil
	case CardFailsRenewal:
		return card{brand: "visa", last4: "0341", failsRenewal: true}, nil
	case cardMastercard:
		return card{brand: "mastercard", last4: "4444"}, nil
	}
	return card{}, ErrCardDeclined
}

func luhn(n string) bool {
	sum := 0
	for i := 0; i < len(n); i++ {
		d := int(n[len(n)-1-i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func randomID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// Now is the sandbox's clock: real time plus what the test clock has
// been advanced by, to the second (as Stripe's timestamps are).
func (sb *Sandbox) Now(ctx context.Context) (time.Time, error) {
	return sb.now(ctx, sb.db)
}

func (sb *Sandbox) now(ctx context.Context, q sqlx.QueryerContext) (time.Time, error) {
	var off int64
	if err := sqlx.GetContext(ctx, q, &off, `SELECT offset_seconds FROM payment.sandbox_clock`); err != nil {
		return time.Time{}, fmt.Errorf("sandbox clock: %w", err)
	}
	return time.Now().UTC().Add(time.Duration(off) * time.Second).Truncate(time.Second), nil
}

// Advance moves the test clock forward by d and runs what fell due.
func (sb *Sandbox) Advance(ctx context.Context, d time.Duration) (time.Time, error) {
	if d <= 0 || d > 5*366*24*time.Hour {
		return time.Time{}, apperr.Validation(apperr.FieldError{Field: "duration", Code: "out_of_range", Message: "Advance by a positive duration of at most 5 years."})
	}
	if _, err := sb.db.ExecContext(ctx, `UPDATE payment.sandbox_clock SET offset_seconds = offset_seconds + $1`, int64(d/time.Second)); err != nil {
		return time.Time{}, fmt.Errorf("advance clock: %w", err)
	}
	if err := sb.RunDue(ctx); err != nil {
		return time.Time{}, err
	}
	return sb.Now(ctx)
}

func (sb *Sandbox) signingSecret(ctx context.Context) (string, error) {
	sb.secretMu.Lock()
	defer sb.secretMu.Unlock()
	if sb.secret != "" {
		return sb.secret, nil
	}
	var sec string
	if err := sb.db.GetContext(ctx, &sec, `SELECT webhook_secret FROM payment.sandbox_clock`); err != nil {
		return "", fmt.Errorf("sandbox secret: %w", err)
	}
	sb.secret = sec
	return sec, nil
}

// ParseWebhook verifies a sandbox event exactly as a Stripe one.
func (sb *Sandbox) ParseWebhook(payload []byte, signature string) (ProviderEvent, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sec, err := sb.signingSecret(ctx)
	if err != nil {
		return ProviderEvent{}, err
	}
	return verifyStripeEvent(payload, signature, sec)
}

// CreateCheckout opens a checkout session whose page is served here.
func (sb *Sandbox) CreateCheckout(ctx context.Context, r CheckoutRequest) (Checkout, error) {
	id := randomID("cs_test_")
	// One open checkout per subscription, as a caller of Stripe expires
	// the old session: paying an abandoned one must not start a second
	// subscription.
	if _, err := sb.db.ExecContext(ctx, `UPDATE payment.sandbox_checkouts SET status = 'expired'
		WHERE subscription_id = $1 AND status = 'open' AND idempotency_key IS DISTINCT FROM $2`, r.SubscriptionID, r.IdempotencyKey); err != nil {
		return Checkout{}, fmt.Errorf("sandbox checkout: %w", err)
	}
	err := sb.db.GetContext(ctx, &id, `INSERT INTO payment.sandbox_checkouts (id, account_id, email, subscription_id, price_id, plan_name, amount, currency,
		interval, trial_days, success_url, cancel_url, idempotency_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key RETURNING id`,
		id, r.AccountID, r.Email, r.SubscriptionID, r.Price.ID, r.Plan.Name, r.Price.Amount, r.Price.Currency, r.Plan.Interval, r.Plan.TrialDays,
		r.SuccessURL, r.CancelURL, r.IdempotencyKey)
	if err != nil {
		return Checkout{}, fmt.Errorf("sandbox checkout: %w", err)
	}
	return Checkout{ID: id, URL: sb.publicURL + "/api/v1/billing/sandbox/checkout/" + id}, nil
}

type sandboxCheckout struct {
	ID             string `db:"id"`
	AccountID      string `db:"account_id"`
	Email          string `db:"email"`
	SubscriptionID string `db:"subscription_id"`
	PriceID        int64  `db:"price_id"`
	PlanName       string `db:"plan_name"`
	Amount         int64  `db:"amount"`
	Currency       string `db:"currency"`
	Interval       string `db:"interval"`
	TrialDays      int    `db:"trial_days"`
	SuccessURL     string `db:"success_url"`
	CancelURL      string `db:"cancel_url"`
	Status         string `db:"status"`
}

func (sb *Sandbox) checkout(ctx context.Context, q sqlx.QueryerContext, id string, lock bool) (sandboxCheckout, error) {
	var c sandboxCheckout
	query := `SELECT id, account_id, email, subscription_id, price_id, plan_name, amount, currency, interval, trial_days, success_url, cancel_url, status
		FROM payment.sandbox_checkouts WHERE id = $1`
	if lock {
		query += ` FOR UPDATE`
	}
	err := sqlx.GetContext(ctx, q, &c, query, id)
	if errors.Is(err, sql.ErrNoRows) {
		return c, ErrCheckoutUnknown
	}
	return c, err
}

// CompleteCheckout pays a checkout with a card from its form, as Stripe's
// hosted page does: the subscription starts (trialing or active), the
// first invoice is paid, and the events go out. It returns the success URL;
// ErrCardDeclined (nothing is created), a card validation error,
// ErrCheckoutUnknown or ErrCheckoutGone. Paying a completed checkout again
// returns its success URL and charges nothing.
func (sb *Sandbox) CompleteCheckout(ctx context.Context, id, number, exp, cvc string) (string, error) {
	var success string
	err := pg.InTx(ctx, sb.db, func(tx *sqlx.Tx) error {
		c, err := sb.checkout(ctx, tx, id, true)
		if err != nil {
			return err
		}
		success = c.SuccessURL
		switch c.Status {
		case "complete":
			return nil
		case "expired":
			return ErrCheckoutGone
		}
		now, err := sb.now(ctx, tx)
		if err != nil {
			return err
		}
		cd, err := parseCard(number, exp, cvc, now)
		if err != nil {
			return err
		}
		sub := sandboxSub{
			ID: randomID("sub_"), CustomerID: randomID("cus_"), PriceID: c.PriceID, PlanName: c.PlanName, Amount: c.Amount, Currency: c.Currency,
			Interval: c.Interval, Status: string(StatusActive), CardLast4: cd.last4, CardBrand: cd.brand, FailsRenewal: cd.failsRenewal,
			PeriodStart: now, CreatedAt: now,
			Metadata: map[string]string{"subscription_id": c.SubscriptionID, "account_id": c.AccountID, "price_id": fmt.Sprint(c.PriceID)},
		}
		amount := c.Amount
		if c.TrialDays > 0 {
			sub.Status, sub.PeriodEnd, amount = string(StatusTrialing), now.AddDate(0, 0, c.TrialDays), 0
		} else {
			sub.PeriodEnd = addInterval(now, c.Interval)
		}
		md, _ := json.Marshal(sub.Metadata)
		_, err = tx.ExecContext(ctx, `INSERT INTO payment.sandbox_subscriptions (id, customer_id, metadata, price_id, plan_name, amount, currency, interval,
			status, card_last4, card_brand, card_fails_renewal, current_period_start, current_period_end, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			sub.ID, sub.CustomerID, md, sub.PriceID, sub.PlanName, sub.Amount, sub.Currency, sub.Interval, sub.Status, sub.CardLast4, sub.CardBrand,
			sub.FailsRenewal, sub.PeriodStart, sub.PeriodEnd, sub.CreatedAt)
		if err != nil {
			return fmt.Errorf("sandbox subscription: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment.sandbox_checkouts SET status = 'complete', provider_subscription_id = $2 WHERE id = $1`, id, sub.ID); err != nil {
			return err
		}
		cs := map[string]any{"id": c.ID, "object": "checkout.session", "mode": "subscription", "status": "complete", "payment_status": "paid",
			"client_reference_id": c.AccountID, "customer": sub.CustomerID, "subscription": sub.ID, "metadata": sub.Metadata,
			"amount_total": amount, "currency": strings.ToLower(c.Currency)}
		if err := sb.emit(ctx, tx, "checkout.session.completed", now, cs); err != nil {
			return err
		}
		if err := sb.emit(ctx, tx, "customer.subscription.created", now, sub.stripe()); err != nil {
			return err
		}
		inv := sub.invoice(randomID("in_"), "subscription_create", amount, now, sub.PeriodStart, sub.PeriodEnd, true, 1, time.Time{},
			[]InvoiceLine{{Description: "1 × " + c.PlanName + " (at " + FormatMoney(amount, c.Currency) + " / " + c.Interval + ")", Amount: amount, Quantity: 1, PeriodStart: sub.PeriodStart, PeriodEnd: sub.PeriodEnd}})
		if err := sb.saveInvoice(ctx, tx, sub.ID, inv); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "invoice.paid", now, inv)
	})
	return success, err
}

// sandboxSub is a row of payment.sandbox_subscriptions.
type sandboxSub struct {
	ID                string            `db:"id"`
	CustomerID        string            `db:"customer_id"`
	MetadataJSON      []byte            `db:"metadata"`
	Metadata          map[string]string `db:"-"`
	PriceID           int64             `db:"price_id"`
	PlanName          string            `db:"plan_name"`
	Amount            int64             `db:"amount"`
	Currency          string            `db:"currency"`
	Interval          string            `db:"interval"`
	PendingPrice      []byte            `db:"pending_price"`
	Status            string            `db:"status"`
	CardLast4         string            `db:"card_last4"`
	CardBrand         string            `db:"card_brand"`
	FailsRenewal      bool              `db:"card_fails_renewal"`
	PeriodStart       time.Time         `db:"current_period_start"`
	PeriodEnd         time.Time         `db:"current_period_end"`
	CancelAtPeriodEnd bool              `db:"cancel_at_period_end"`
	OpenInvoice       sql.NullString    `db:"open_invoice"`
	FailedAttempts    int               `db:"failed_attempts"`
	NextAttemptAt     sql.NullTime      `db:"next_attempt_at"`
	CanceledAt        sql.NullTime      `db:"canceled_at"`
	CreatedAt         time.Time         `db:"created_at"`
}

// pendingPrice is a price change waiting for the next renewal.
type pendingPrice struct {
	ID       int64  `json:"id"`
	PlanName string `json:"plan_name"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Interval string `json:"interval"`
}

const sandboxSubCols = `id, customer_id, metadata, price_id, plan_name, amount, currency, interval, pending_price, status, card_last4, card_brand,
	card_fails_renewal, current_period_start, current_period_end, cancel_at_period_end, open_invoice, failed_attempts, next_attempt_at, canceled_at, created_at`

func (sb *Sandbox) loadSub(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) (sandboxSub, error) {
	var s sandboxSub
	err := sqlx.GetContext(ctx, q, &s, `SELECT `+sandboxSubCols+` FROM payment.sandbox_subscriptions WHERE `+where, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNoSubscription
	}
	if err != nil {
		return s, fmt.Errorf("sandbox subscription: %w", err)
	}
	_ = json.Unmarshal(s.MetadataJSON, &s.Metadata)
	s.PeriodStart, s.PeriodEnd, s.CreatedAt = s.PeriodStart.UTC(), s.PeriodEnd.UTC(), s.CreatedAt.UTC()
	return s, nil
}

func (sb *Sandbox) saveSub(ctx context.Context, tx *sqlx.Tx, s sandboxSub) error {
	md, _ := json.Marshal(s.Metadata)
	var pending any
	if len(s.PendingPrice) > 0 {
		pending = s.PendingPrice
	}
	_, err := tx.ExecContext(ctx, `UPDATE payment.sandbox_subscriptions SET metadata = $2, price_id = $3, plan_name = $4, amount = $5, currency = $6,
		interval = $7, pending_price = $8, status = $9, card_last4 = $10, card_brand = $11, card_fails_renewal = $12, current_period_start = $13,
		current_period_end = $14, cancel_at_period_end = $15, open_invoice = $16, failed_attempts = $17, next_attempt_at = $18, canceled_at = $19
		WHERE id = $1`, s.ID, md, s.PriceID, s.PlanName, s.Amount, s.Currency, s.Interval, pending, s.Status, s.CardLast4, s.CardBrand, s.FailsRenewal,
		s.PeriodStart, s.PeriodEnd, s.CancelAtPeriodEnd, s.OpenInvoice, s.FailedAttempts, s.NextAttemptAt, s.CanceledAt)
	if err != nil {
		return fmt.Errorf("save sandbox subscription: %w", err)
	}
	return nil
}

// stripe is the subscription as Stripe's API (basil) shows it.
func (s sandboxSub) stripe() *stripe.Subscription {
	out := &stripe.Subscription{
		ID: s.ID, Object: "subscription", Customer: &stripe.Customer{ID: s.CustomerID}, Status: stripe.SubscriptionStatus(s.Status),
		CancelAtPeriodEnd: s.CancelAtPeriodEnd, Metadata: s.Metadata, Created: s.CreatedAt.Unix(), Currency: stripe.Currency(strings.ToLower(s.Currency)),
		DefaultPaymentMethod: &stripe.PaymentMethod{ID: "pm_" + s.CardLast4, Card: &stripe.PaymentMethodCard{Brand: stripe.PaymentMethodCardBrand(s.CardBrand), Last4: s.CardLast4}},
		Items: &stripe.SubscriptionItemList{Data: []*stripe.SubscriptionItem{{
			ID: "si_" + strings.TrimPrefix(s.ID, "sub_"), CurrentPeriodStart: s.PeriodStart.Unix(), CurrentPeriodEnd: s.PeriodEnd.Unix(), Quantity: 1,
			Price: &stripe.Price{ID: "price_sandbox_" + fmt.Sprint(s.PriceID), UnitAmount: s.Amount, Currency: stripe.Currency(strings.ToLower(s.Currency)),
				Recurring: &stripe.PriceRecurring{Interval: stripe.PriceRecurringInterval(s.Interval), IntervalCount: 1}},
		}}},
	}
	if s.CanceledAt.Valid {
		out.CanceledAt = s.CanceledAt.Time.Unix()
		out.EndedAt = s.CanceledAt.Time.Unix()
	}
	return out
}

func (s sandboxSub) snapshot(at time.Time) ProviderSubscription {
	ps := subscriptionFromStripe(s.stripe())
	ps.At = at
	return ps
}

// invoice builds a Stripe-shaped invoice of the subscription.
func (s sandboxSub) invoice(id, reason string, total int64, at, start, end time.Time, paid bool, attempts int, next time.Time, lines []InvoiceLine) *stripe.Invoice {
	inv := &stripe.Invoice{
		ID: id, Object: "invoice", Customer: &stripe.Customer{ID: s.CustomerID}, BillingReason: stripe.InvoiceBillingReason(reason),
		Currency: stripe.Currency(strings.ToLower(s.Currency)), Subtotal: total, Total: total, AmountDue: total,
		PeriodStart: start.Unix(), PeriodEnd: end.Unix(), Created: at.Unix(), AttemptCount: int64(attempts), Status: stripe.InvoiceStatusOpen,
		Parent: &stripe.InvoiceParent{Type: "subscription_details", SubscriptionDetails: &stripe.InvoiceParentSubscriptionDetails{
			Subscription: &stripe.Subscription{ID: s.ID}, Metadata: s.Metadata}},
		Lines: &stripe.InvoiceLineItemList{},
	}
	if paid {
		inv.Status, inv.AmountPaid, inv.AmountDue = stripe.InvoiceStatusPaid, total, 0
		inv.Payments = &stripe.InvoicePaymentList{Data: []*stripe.InvoicePayment{{Payment: &stripe.InvoicePaymentPayment{
			Type: "payment_intent", PaymentIntent: &stripe.PaymentIntent{ID: "pi_" + strings.TrimPrefix(id, "in_")}}}}}
	}
	if !next.IsZero() {
		inv.NextPaymentAttempt = next.Unix()
	}
	for _, l := range lines {
		inv.Lines.Data = append(inv.Lines.Data, &stripe.InvoiceLineItem{Object: "line_item", Description: l.Description, Amount: l.Amount,
			Currency: inv.Currency, Quantity: int64(l.Quantity), Period: &stripe.Period{Start: l.PeriodStart.Unix(), End: l.PeriodEnd.Unix()}})
	}
	return inv
}

func (sb *Sandbox) saveInvoice(ctx context.Context, tx *sqlx.Tx, subID string, inv *stripe.Invoice) error {
	b, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO payment.sandbox_invoices (id, subscription_id, payload, amount_paid) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET payload = EXCLUDED.payload, amount_paid = EXCLUDED.amount_paid`, inv.ID, subID, b, inv.AmountPaid)
	if err != nil {
		return fmt.Errorf("save sandbox invoice: %w", err)
	}
	return nil
}

func (sb *Sandbox) loadInvoice(ctx context.Context, tx *sqlx.Tx, id string) (*stripe.Invoice, error) {
	var b []byte
	if err := tx.GetContext(ctx, &b, `SELECT payload FROM payment.sandbox_invoices WHERE id = $1`, id); err != nil {
		return nil, fmt.Errorf("sandbox invoice %s: %w", id, err)
	}
	var inv stripe.Invoice
	if err := json.Unmarshal(b, &inv); err != nil {
		return nil, err
	}
	return &inv, nil
}

// emit records a Stripe-shaped event and queues its delivery, in tx.
func (sb *Sandbox) emit(ctx context.Context, tx *sqlx.Tx, typ string, at time.Time, object any) error {
	obj, err := json.Marshal(object)
	if err != nil {
		return err
	}
	id := randomID("evt_")
	ev, err := json.Marshal(map[string]any{"id": id, "object": "event", "api_version": stripe.APIVersion, "created": at.Unix(), "type": typ,
		"livemode": false, "pending_webhooks": 1, "data": map[string]json.RawMessage{"object": obj}})
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO payment.sandbox_events (id, payload) VALUES ($1, $2)`, id, ev); err != nil {
		return fmt.Errorf("sandbox event: %w", err)
	}
	_, err = sb.queue.InsertTx(ctx, tx.Tx, DeliverArgs{EventID: id}, nil)
	return err
}

// deliver POSTs one event to the webhook endpoint, signed as Stripe signs
// (t=timestamp,v1=HMAC-SHA256 of "t.body"). A non-2xx answer is an error,
// and River tries again later, as Stripe does.
func (sb *Sandbox) deliver(ctx context.Context, eventID string) error {
	var payload []byte
	err := sb.db.GetContext(ctx, &payload, `SELECT payload FROM payment.sandbox_events WHERE id = $1`, eventID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	sec, err := sb.signingSecret(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	sig := fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(webhook.ComputeSignature(now, payload, sec)))
	req, err := http.NewRequestWithContext(ctx, "POST", sb.webhookURL, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Stripe-Signature", sig)
	req.Header.Set("User-Agent", "streamflix-sandbox/1.0 (like Stripe/1.0)")
	resp, err := sb.http.Do(req)
	if err != nil {
		return fmt.Errorf("deliver %s: %w", eventID, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("deliver %s: webhook answered %d", eventID, resp.StatusCode)
	}
	return nil
}

// seen records an idempotency key in tx and reports whether it was used
// before, with the first call's result.
func (sb *Sandbox) seen(ctx context.Context, tx *sqlx.Tx, key, result string) (bool, string, error) {
	if key == "" {
		return false, "", nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO payment.sandbox_requests (idempotency_key, result) VALUES ($1, $2) ON CONFLICT DO NOTHING`, key, result)
	if err != nil {
		return false, "", fmt.Errorf("sandbox idempotency: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return false, result, nil
	}
	var first string
	err = tx.GetContext(ctx, &first, `SELECT result FROM payment.sandbox_requests WHERE idempotency_key = $1`, key)
	return true, first, err
}

// Subscription returns the sandbox subscription's state now.
func (sb *Sandbox) Subscription(ctx context.Context, id string) (ProviderSubscription, error) {
	s, err := sb.loadSub(ctx, sb.db, `id = $1`, id)
	if err != nil {
		return ProviderSubscription{}, err
	}
	now, err := sb.Now(ctx)
	if err != nil {
		return ProviderSubscription{}, err
	}
	return s.snapshot(now), nil
}

// ChangePrice switches price at once with a prorated charge, or at the
// next renewal.
func (sb *Sandbox) ChangePrice(ctx context.Context, r ChangeRequest) (ProviderSubscription, error) {
	var out ProviderSubscription
	err := pg.InTx(ctx, sb.db, func(tx *sqlx.Tx) error {
		s, err := sb.loadSub(ctx, tx, `id = $1 FOR UPDATE`, r.ProviderSubscriptionID)
		if err != nil {
			return err
		}
		now, err := sb.now(ctx, tx)
		if err != nil {
			return err
		}
		if again, _, err := sb.seen(ctx, tx, r.IdempotencyKey, s.ID); err != nil || again {
			out = s.snapshot(now) // a retried call: nothing is charged twice
			return err
		}
		if !r.Now {
			s.PendingPrice = nil
			if r.Price.ID != s.PriceID {
				s.PendingPrice, _ = json.Marshal(pendingPrice{ID: r.Price.ID, PlanName: r.Plan.Name, Amount: r.Price.Amount, Currency: r.Price.Currency, Interval: r.Plan.Interval})
			}
			s.Metadata = r.Metadata
			if err := sb.saveSub(ctx, tx, s); err != nil {
				return err
			}
			out = s.snapshot(now)
			return sb.emit(ctx, tx, "customer.subscription.updated", now, s.stripe())
		}
		p := Prorate(s.Amount, r.Price.Amount, s.PeriodStart, s.PeriodEnd, now)
		if p.Total() > 0 && s.FailsRenewal {
			return ErrCardDeclined
		}
		lines := []InvoiceLine{
			{Description: "Unused time on " + s.PlanName + " after " + humanDate(now), Amount: p.Credit, Quantity: 1, PeriodStart: now, PeriodEnd: s.PeriodEnd},
			{Description: "Remaining time on " + r.Plan.Name + " after " + humanDate(now), Amount: p.Charge, Quantity: 1, PeriodStart: now, PeriodEnd: s.PeriodEnd},
		}
		s.PriceID, s.PlanName, s.Amount, s.Currency, s.Interval, s.PendingPrice, s.Metadata = r.Price.ID, r.Plan.Name, r.Price.Amount, r.Price.Currency, r.Plan.Interval, nil, r.Metadata
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		out = s.snapshot(now)
		if err := sb.emit(ctx, tx, "customer.subscription.updated", now, s.stripe()); err != nil {
			return err
		}
		inv := s.invoice(randomID("in_"), "subscription_update", p.Total(), now, now, s.PeriodEnd, true, 1, time.Time{}, lines)
		if err := sb.saveInvoice(ctx, tx, s.ID, inv); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "invoice.paid", now, inv)
	})
	return out, err
}

// SetCancelAtPeriodEnd schedules or takes back the end at period end.
func (sb *Sandbox) SetCancelAtPeriodEnd(ctx context.Context, id string, cancel bool, key string) (ProviderSubscription, error) {
	var out ProviderSubscription
	err := pg.InTx(ctx, sb.db, func(tx *sqlx.Tx) error {
		s, err := sb.loadSub(ctx, tx, `id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if s.Status == string(StatusCanceled) {
			return ErrSubscriptionInactive
		}
		now, err := sb.now(ctx, tx)
		if err != nil {
			return err
		}
		if again, _, err := sb.seen(ctx, tx, key, s.ID); err != nil || again {
			out = s.snapshot(now)
			return err
		}
		s.CancelAtPeriodEnd = cancel
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		out = s.snapshot(now)
		return sb.emit(ctx, tx, "customer.subscription.updated", now, s.stripe())
	})
	return out, err
}

// Refund records a refund of a paid sandbox invoice.
func (sb *Sandbox) Refund(ctx context.Context, r RefundRequest) (string, error) {
	var id string
	err := pg.InTx(ctx, sb.db, func(tx *sqlx.Tx) error {
		again, first, err := sb.seen(ctx, tx, r.IdempotencyKey, randomID("re_"))
		if err != nil || again {
			id = first
			return err
		}
		id = first
		res, err := tx.ExecContext(ctx, `UPDATE payment.sandbox_invoices SET amount_refunded = amount_refunded + $2
			WHERE id = $1 AND amount_refunded + $2 <= amount_paid`, r.ProviderInvoiceID, r.Amount)
		if err != nil {
			return fmt.Errorf("sandbox refund: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrRefundTooLarge
		}
		return nil
	})
	return id, err
}

// CreatePortal opens a portal session (an hour, in real time).
func (sb *Sandbox) CreatePortal(ctx context.Context, r PortalRequest) (string, error) {
	id := randomID("bps_")
	_, err := sb.db.ExecContext(ctx, `INSERT INTO payment.sandbox_portal_sessions (id, subscription_id, return_url, expires_at) VALUES ($1, $2, $3, now() + interval '1 hour')`,
		id, r.ProviderSubscriptionID, r.ReturnURL)
	if err != nil {
		return "", fmt.Errorf("sandbox portal: %w", err)
	}
	return sb.publicURL + "/api/v1/billing/sandbox/portal/" + id, nil
}

func (sb *Sandbox) portalSub(ctx context.Context, q sqlx.QueryerContext, session string, lock bool) (sandboxSub, string, error) {
	var row struct {
		SubscriptionID string `db:"subscription_id"`
		ReturnURL      string `db:"return_url"`
	}
	err := sqlx.GetContext(ctx, q, &row, `SELECT subscription_id, return_url FROM payment.sandbox_portal_sessions WHERE id = $1 AND expires_at > now()`, session)
	if errors.Is(err, sql.ErrNoRows) {
		return sandboxSub{}, "", ErrPortalUnknown
	}
	if err != nil {
		return sandboxSub{}, "", err
	}
	where := `id = $1`
	if lock {
		where += ` FOR UPDATE`
	}
	s, err := sb.loadSub(ctx, q, where, row.SubscriptionID)
	return s, row.ReturnURL, err
}

// UpdateCard replaces the card of a portal session's subscription; an
// overdue invoice is tried again at once with the new card.
func (sb *Sandbox) UpdateCard(ctx context.Context, session, number, exp, cvc string) (string, error) {
	var ret string
	err := pg.InTx(ctx, sb.db, func(tx *sqlx.Tx) error {
		s, returnURL, err := sb.portalSub(ctx, tx, session, true)
		if err != nil {
			return err
		}
		ret = returnURL
		now, err := sb.now(ctx, tx)
		if err != nil {
			return err
		}
		cd, err := parseCard(number, exp, cvc, now)
		if err != nil {
			return err
		}
		s.CardLast4, s.CardBrand, s.FailsRenewal = cd.last4, cd.brand, cd.failsRenewal
		if s.Status == string(StatusPastDue) && s.OpenInvoice.Valid {
			return sb.retry(ctx, tx, s, now)
		}
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "customer.subscription.updated", now, s.stripe())
	})
	return ret, err
}

// PortalCancel schedules the end of a portal session's subscription.
func (sb *Sandbox) PortalCancel(ctx context.Context, session string) (string, error) {
	s, ret, err := sb.portalSub(ctx, sb.db, session, false)
	if err != nil {
		return "", err
	}
	_, err = sb.SetCancelAtPeriodEnd(ctx, s.ID, true, "")
	return ret, err
}

// RunDue runs every renewal, retry and scheduled cancellation whose time
// has come on the sandbox clock, oldest first, each in its own transaction.
// Instances running it at once share the work: a subscription being
// worked on is skipped (SKIP LOCKED), never charged twice.
func (sb *Sandbox) RunDue(ctx context.Context) error {
	for i := 0; i < 10000; i++ {
		did := false
		err := pg.InTx(ctx, sb.db, func(tx *sqlx.Tx) error {
			now, err := sb.now(ctx, tx)
			if err != nil {
				return err
			}
			s, err := sb.loadSub(ctx, tx, `(status IN ('active', 'trialing') AND current_period_end <= $1) OR (status = 'past_due' AND next_attempt_at <= $1)
				ORDER BY CASE WHEN status = 'past_due' THEN next_attempt_at ELSE current_period_end END LIMIT 1 FOR UPDATE SKIP LOCKED`, now)
			if errors.Is(err, ErrNoSubscription) {
				return nil
			}
			if err != nil {
				return err
			}
			did = true
			if s.Status == string(StatusPastDue) {
				return sb.retry(ctx, tx, s, s.NextAttemptAt.Time.UTC())
			}
			return sb.renew(ctx, tx, s)
		})
		if err != nil || !did {
			return err
		}
	}
	return nil
}

// renew ends a period: cancel if asked, else start the next period and
// charge it (applying a scheduled price change first).
func (sb *Sandbox) renew(ctx context.Context, tx *sqlx.Tx, s sandboxSub) error {
	at := s.PeriodEnd
	if s.CancelAtPeriodEnd {
		s.Status, s.CanceledAt = string(StatusCanceled), sql.NullTime{Time: at, Valid: true}
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "customer.subscription.deleted", at, s.stripe())
	}
	if len(s.PendingPrice) > 0 {
		var p pendingPrice
		if err := json.Unmarshal(s.PendingPrice, &p); err == nil {
			s.PriceID, s.PlanName, s.Amount, s.Currency, s.Interval = p.ID, p.PlanName, p.Amount, p.Currency, p.Interval
			s.Metadata["price_id"] = fmt.Sprint(p.ID)
			delete(s.Metadata, "next_price_id")
		}
		s.PendingPrice = nil
	}
	s.PeriodStart, s.PeriodEnd = at, addInterval(at, s.Interval)
	lines := []InvoiceLine{{Description: "1 × " + s.PlanName + " (at " + FormatMoney(s.Amount, s.Currency) + " / " + s.Interval + ")", Amount: s.Amount, Quantity: 1,
		PeriodStart: s.PeriodStart, PeriodEnd: s.PeriodEnd}}
	id := randomID("in_")
	if s.FailsRenewal {
		s.Status, s.FailedAttempts = string(StatusPastDue), 1
		s.OpenInvoice = sql.NullString{String: id, Valid: true}
		s.NextAttemptAt = sql.NullTime{Time: at.Add(RetrySchedule[0]), Valid: true}
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		inv := s.invoice(id, "subscription_cycle", s.Amount, at, s.PeriodStart, s.PeriodEnd, false, 1, s.NextAttemptAt.Time, lines)
		if err := sb.saveInvoice(ctx, tx, s.ID, inv); err != nil {
			return err
		}
		if err := sb.emit(ctx, tx, "customer.subscription.updated", at, s.stripe()); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "invoice.payment_failed", at, inv)
	}
	s.Status = string(StatusActive)
	if err := sb.saveSub(ctx, tx, s); err != nil {
		return err
	}
	inv := s.invoice(id, "subscription_cycle", s.Amount, at, s.PeriodStart, s.PeriodEnd, true, 1, time.Time{}, lines)
	if err := sb.saveInvoice(ctx, tx, s.ID, inv); err != nil {
		return err
	}
	if err := sb.emit(ctx, tx, "customer.subscription.updated", at, s.stripe()); err != nil {
		return err
	}
	return sb.emit(ctx, tx, "invoice.paid", at, inv)
}

// retry tries the open invoice of a past_due subscription again at at:
// paid makes it active; a failure schedules the next retry, or after the
// last one cancels the subscription.
func (sb *Sandbox) retry(ctx context.Context, tx *sqlx.Tx, s sandboxSub, at time.Time) error {
	inv, err := sb.loadInvoice(ctx, tx, s.OpenInvoice.String)
	if err != nil {
		return err
	}
	inv.AttemptCount = int64(s.FailedAttempts + 1)
	if !s.FailsRenewal {
		paid := s.invoice(inv.ID, string(inv.BillingReason), inv.Total, time.Unix(inv.Created, 0).UTC(), time.Unix(inv.PeriodStart, 0).UTC(), time.Unix(inv.PeriodEnd, 0).UTC(),
			true, int(inv.AttemptCount), time.Time{}, nil)
		paid.Lines = inv.Lines
		s.Status, s.OpenInvoice, s.FailedAttempts, s.NextAttemptAt = string(StatusActive), sql.NullString{}, 0, sql.NullTime{}
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		if err := sb.saveInvoice(ctx, tx, s.ID, paid); err != nil {
			return err
		}
		if err := sb.emit(ctx, tx, "invoice.paid", at, paid); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "customer.subscription.updated", at, s.stripe())
	}
	s.FailedAttempts++
	if s.FailedAttempts > len(RetrySchedule) {
		inv.Status, inv.NextPaymentAttempt = stripe.InvoiceStatusUncollectible, 0
		s.Status, s.CanceledAt, s.NextAttemptAt = string(StatusCanceled), sql.NullTime{Time: at, Valid: true}, sql.NullTime{}
		if err := sb.saveSub(ctx, tx, s); err != nil {
			return err
		}
		if err := sb.saveInvoice(ctx, tx, s.ID, inv); err != nil {
			return err
		}
		if err := sb.emit(ctx, tx, "invoice.payment_failed", at, inv); err != nil {
			return err
		}
		return sb.emit(ctx, tx, "customer.subscription.deleted", at, s.stripe())
	}
	next := s.PeriodStart.Add(RetrySchedule[s.FailedAttempts-1])
	s.NextAttemptAt = sql.NullTime{Time: next, Valid: true}
	inv.NextPaymentAttempt = next.Unix()
	if err := sb.saveSub(ctx, tx, s); err != nil {
		return err
	}
	if err := sb.saveInvoice(ctx, tx, s.ID, inv); err != nil {
		return err
	}
	return sb.emit(ctx, tx, "invoice.payment_failed", at, inv)
}
