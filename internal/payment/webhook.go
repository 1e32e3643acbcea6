package payment

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/stripe/stripe-go/v82"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

// Notification kinds payment sends (owned by notify).
const (
	NotifyReceipt               = "payment_receipt"
	NotifyPaymentFailed         = "payment_failed"
	NotifySubscriptionStarted   = "subscription_started"
	NotifyPlanChanged           = "plan_changed"
	NotifyCancellationScheduled = "cancellation_scheduled"
	NotifyCanceled              = "subscription_canceled"
)

// ReceiveWebhook verifies and records one webhook event for provider and
// queues its processing in the same transaction; it does no other work, so
// the provider gets its 2xx at once. An event already recorded (a
// duplicate) changes nothing and is not an error. It returns
// ErrProviderMismatch for another provider's endpoint and
// ErrSignatureInvalid for a bad, missing or too old signature.
func (s *Service) ReceiveWebhook(ctx context.Context, provider string, payload []byte, signature string) (duplicate bool, err error) {
	if provider != s.provider.Name() {
		return false, ErrProviderMismatch
	}
	ev, err := s.provider.ParseWebhook(payload, signature)
	if err != nil {
		return false, err
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO payment.webhook_events (provider, event_id, type, created, payload)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, provider, ev.ID, ev.Type, ev.Created, payload)
		if err != nil {
			return fmt.Errorf("record event: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			duplicate = true
			return nil
		}
		_, err = s.queue.InsertTx(ctx, tx.Tx, EventArgs{Provider: provider, EventID: ev.ID}, nil)
		return err
	})
	return duplicate, err
}

// processEvent applies one recorded event, once: the event row is locked,
// and an event already processed is left alone.
func (s *Service) processEvent(ctx context.Context, provider, eventID string) error {
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var row struct {
			Payload   []byte       `db:"payload"`
			Processed sql.NullTime `db:"processed_at"`
		}
		err := tx.GetContext(ctx, &row, `SELECT payload, processed_at FROM payment.webhook_events WHERE provider = $1 AND event_id = $2 FOR UPDATE`, provider, eventID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // gone: nothing to do
		}
		if err != nil {
			return fmt.Errorf("load event %s: %w", eventID, err)
		}
		if row.Processed.Valid {
			return nil
		}
		var se stripe.Event
		if err := json.Unmarshal(row.Payload, &se); err != nil {
			return s.markEvent(ctx, tx, provider, eventID, "ignored: undecodable")
		}
		ev, err := decodeStripeEvent(se)
		if err != nil {
			return s.markEvent(ctx, tx, provider, eventID, "ignored: malformed")
		}
		outcome, err := s.applyEventTx(ctx, tx, ev)
		if err != nil {
			return err
		}
		if outcome != "applied" {
			s.log.Info().Str("event_id", ev.ID).Str("event_type", ev.Type).Str("outcome", outcome).Msg("webhook event not applied")
		}
		return s.markEvent(ctx, tx, provider, eventID, outcome)
	})
}

func (s *Service) markEvent(ctx context.Context, tx *sqlx.Tx, provider, eventID, outcome string) error {
	_, err := tx.ExecContext(ctx, `UPDATE payment.webhook_events SET processed_at = now(), outcome = $3 WHERE provider = $1 AND event_id = $2`, provider, eventID, outcome)
	return err
}

// applyEventTx mirrors one event: subscription events are the source of
// status; invoice events record invoices and payment attempts and send
// receipts and failure emails; checkout completion links the provider's
// customer. It returns the outcome: applied, stale (older than what is
// already applied, or a move backwards) or ignored: why.
func (s *Service) applyEventTx(ctx context.Context, tx *sqlx.Tx, ev ProviderEvent) (string, error) {
	switch {
	case ev.Subscription != nil:
		ps := *ev.Subscription
		// Re-fetch the subscription: its state now, not as of the event,
		// so that events arriving in any order converge on the provider's.
		if fresh, err := s.provider.Subscription(ctx, ps.ID); err == nil {
			if fresh.At.Before(ps.At) {
				fresh.At = ps.At
			}
			ps = fresh
		}
		return s.applySubscriptionTx(ctx, tx, ps, "event:"+ev.Type, ev.ID)
	case ev.Invoice != nil && (ev.Type == "invoice.paid" || ev.Type == "invoice.payment_succeeded"):
		return s.recordInvoiceTx(ctx, tx, ev, true)
	case ev.Invoice != nil && (ev.Type == "invoice.payment_failed" || ev.Type == "invoice.payment_action_required"):
		return s.recordInvoiceTx(ctx, tx, ev, false)
	case ev.Checkout != nil:
		row, err := findSubscriptionForUpdate(ctx, tx, s.provider.Name(), ev.Checkout.Metadata, ev.Checkout.ProviderSubscriptionID)
		if errors.Is(err, ErrNoSubscription) {
			return "ignored: unknown subscription", nil
		}
		if err != nil {
			return "", err
		}
		_, err = tx.ExecContext(ctx, `UPDATE payment.subscriptions SET provider_customer_id = coalesce(provider_customer_id, nullif($2, '')),
			provider_subscription_id = coalesce(provider_subscription_id, nullif($3, '')), updated_at = now() WHERE id = $1`,
			row.ID, ev.Checkout.CustomerID, ev.Checkout.ProviderSubscriptionID)
		if err != nil {
			return "", fmt.Errorf("link checkout: %w", err)
		}
		return "applied", nil
	}
	return "ignored: type " + ev.Type, nil
}

// applySubscriptionTx mirrors a provider's subscription state into ours,
// unless it is older than the last state applied or asks for a move the
// state machine does not allow (both mean an event came out of order).
// Each change of status is recorded with its cause, and the emails it
// calls for are queued in tx.
func (s *Service) applySubscriptionTx(ctx context.Context, tx *sqlx.Tx, ps ProviderSubscription, cause, eventID string) (string, error) {
	row, err := findSubscriptionForUpdate(ctx, tx, s.provider.Name(), ps.Metadata, ps.ID)
	if errors.Is(err, ErrNoSubscription) {
		return "ignored: unknown subscription", nil
	}
	if err != nil {
		return "", err
	}
	if row.AccountID != "" && ps.Metadata["account_id"] != "" && ps.Metadata["account_id"] != row.AccountID {
		return "ignored: account mismatch", nil
	}
	if row.LastEventAt.Valid && ps.At.Before(row.LastEventAt.Time) {
		return "stale", nil
	}
	from := Status(row.Status)
	to := ps.Status
	if _, ok := transitions[to]; !ok {
		return "ignored: status " + string(to), nil
	}
	if !CanTransition(from, to) {
		return "stale", nil
	}
	old, err := row.subscription(ctx, tx)
	if err != nil {
		return "", err
	}
	priceID := row.PriceID
	if v, err := strconv.ParseInt(ps.Metadata["price_id"], 10, 64); err == nil && v > 0 {
		priceID = v
	}
	plan, err := findPlanByPrice(ctx, tx, priceID)
	if errors.Is(err, ErrPlanNotFound) {
		plan, priceID = old.Plan, row.PriceID
	} else if err != nil {
		return "", err
	}
	pending := row.PendingPlan.String
	if pending == plan.Code || priceID != row.PriceID {
		pending = ""
	}
	if next := ps.Metadata["next_price_id"]; next == "" && priceID == row.PriceID && pending != "" && ps.Metadata["price_id"] != "" {
		pending = "" // the provider no longer has a change scheduled
	}
	var start, end, canceled any
	if !ps.PeriodStart.IsZero() && ps.PeriodStart.Unix() > 0 {
		start = ps.PeriodStart
	}
	if !ps.PeriodEnd.IsZero() && ps.PeriodEnd.Unix() > 0 {
		end = ps.PeriodEnd
	}
	if to == StatusCanceled {
		at := ps.CanceledAt
		if at.IsZero() {
			at = ps.At
		}
		canceled = at
	}
	_, err = tx.ExecContext(ctx, `UPDATE payment.subscriptions SET status = $2, price_id = $3, plan_code = $4,
		provider_customer_id = coalesce(nullif($5, ''), provider_customer_id), provider_subscription_id = coalesce(nullif($6, ''), provider_subscription_id),
		current_period_start = coalesce($7, current_period_start), current_period_end = coalesce($8, current_period_end),
		cancel_at_period_end = $9, pending_plan_code = nullif($10, ''), card_brand = coalesce(nullif($11, ''), card_brand),
		card_last4 = coalesce(nullif($12, ''), card_last4), last_event_at = greatest(last_event_at, $13), canceled_at = coalesce(canceled_at, $14),
		updated_at = now() WHERE id = $1`,
		row.ID, string(to), priceID, plan.Code, ps.CustomerID, ps.ID, start, end, ps.CancelAtPeriodEnd && to != StatusCanceled, pending,
		ps.CardBrand, ps.CardLast4, ps.At, canceled)
	if err != nil {
		return "", fmt.Errorf("apply subscription: %w", err)
	}
	if from != to {
		if err := insertTransition(ctx, tx, row.ID, from, to, cause, eventID, ps.At); err != nil {
			return "", err
		}
	}
	links := s.links()
	periodEnd := ""
	if !ps.PeriodEnd.IsZero() {
		periodEnd = humanDate(ps.PeriodEnd)
	}
	note := func(kind, dedup string, data map[string]string) error {
		return s.notifier.EnqueueTx(ctx, tx, Notification{Kind: kind, UserID: row.AccountID, Data: data, DedupKey: kind + ":" + row.ID + ":" + dedup})
	}
	switch {
	case from != to && to == StatusCanceled && from != StatusIncomplete:
		if err := note(NotifyCanceled, "", map[string]string{"plan": plan.Name, "link": links.plans}); err != nil {
			return "", err
		}
	case from == StatusIncomplete && to.Live():
		data := map[string]string{"plan": plan.Name, "amount": plan.Price.Display, "next_charge": periodEnd, "link": links.billing}
		if to == StatusTrialing {
			data["trial_end"] = periodEnd
		}
		if err := note(NotifySubscriptionStarted, "", data); err != nil {
			return "", err
		}
	}
	if to != StatusCanceled && from != StatusIncomplete && priceID != row.PriceID && plan.Code != old.Plan.Code {
		if err := note(NotifyPlanChanged, fmt.Sprint(priceID, ":", ps.At.Unix()), map[string]string{"old_plan": old.Plan.Name, "plan": plan.Name,
			"amount": plan.Price.Display, "link": links.billing}); err != nil {
			return "", err
		}
	}
	if to.Live() && ps.CancelAtPeriodEnd && !row.CancelAtPeriodEnd {
		if err := note(NotifyCancellationScheduled, fmt.Sprint(ps.At.Unix()), map[string]string{"plan": plan.Name, "ends_on": periodEnd, "link": links.billing}); err != nil {
			return "", err
		}
	}
	return "applied", nil
}

// recordInvoiceTx records an invoice and one payment attempt on it, and
// queues the receipt (paid) or the failure email (not paid), once each.
func (s *Service) recordInvoiceTx(ctx context.Context, tx *sqlx.Tx, ev ProviderEvent, paid bool) (string, error) {
	pi := *ev.Invoice
	row, err := findSubscriptionForUpdate(ctx, tx, s.provider.Name(), pi.Metadata, pi.ProviderSubscriptionID)
	if errors.Is(err, ErrNoSubscription) {
		return "ignored: unknown subscription", nil
	}
	if err != nil {
		return "", err
	}
	sub, err := row.subscription(ctx, tx)
	if err != nil {
		return "", err
	}
	if pi.Currency != sub.Plan.Price.Currency {
		s.log.Error().Str("event_id", ev.ID).Str("invoice", pi.ID).Str("currency", pi.Currency).Str("want", sub.Plan.Price.Currency).Msg("invoice in another currency than its subscription's price")
		return "ignored: currency mismatch", nil
	}
	status := "open"
	if paid {
		status = "paid"
	} else if pi.Status == "uncollectible" || pi.Status == "void" {
		status = pi.Status
	}
	var paidAt any
	if paid {
		paidAt = ev.Created
	}
	var invID string
	var inserted bool
	err = tx.GetContext(ctx, &invID, `SELECT id FROM payment.invoices WHERE subscription_id = $1 AND provider_invoice_id = $2`, row.ID, pi.ID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		invID, inserted = uuid.NewString(), true
		_, err = tx.ExecContext(ctx, `INSERT INTO payment.invoices (id, number, subscription_id, account_id, provider_invoice_id, provider_payment_id, status, reason,
			currency, subtotal, total, amount_paid, period_start, period_end, created_at, paid_at)
			VALUES ($1, 'SF-' || lpad(nextval('payment.invoice_number')::text, 6, '0'), $2, $3, $4, nullif($5, ''), $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			invID, row.ID, row.AccountID, pi.ID, pi.PaymentID, status, pi.Reason, pi.Currency, pi.Subtotal, pi.Total, pi.Paid, pi.PeriodStart, pi.PeriodEnd, pi.Created, paidAt)
		if err != nil {
			return "", fmt.Errorf("insert invoice: %w", err)
		}
		for _, l := range pi.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO payment.invoice_lines (invoice_id, description, amount, quantity, period_start, period_end) VALUES ($1, $2, $3, $4, $5, $6)`,
				invID, l.Description, l.Amount, l.Quantity, l.PeriodStart, l.PeriodEnd); err != nil {
				return "", fmt.Errorf("insert invoice line: %w", err)
			}
		}
	case err != nil:
		return "", fmt.Errorf("find invoice: %w", err)
	default:
		// Paid stays paid: a late failure event for a paid invoice changes nothing.
		_, err = tx.ExecContext(ctx, `UPDATE payment.invoices SET status = CASE WHEN status = 'paid' THEN status ELSE $2 END,
			amount_paid = greatest(amount_paid, $3), paid_at = coalesce(paid_at, $4), provider_payment_id = coalesce(provider_payment_id, nullif($5, ''))
			WHERE id = $1`, invID, status, pi.Paid, paidAt, pi.PaymentID)
		if err != nil {
			return "", fmt.Errorf("update invoice: %w", err)
		}
	}
	attempt := pi.AttemptCount
	if attempt < 1 {
		attempt = 1
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO payment.payment_attempts (invoice_id, attempt, succeeded, failure_code, event_id, at)
		VALUES ($1, $2, $3, nullif($4, ''), $5, $6) ON CONFLICT DO NOTHING`, invID, attempt, paid, map[bool]string{false: "card_declined"}[paid], ev.ID, ev.Created)
	if err != nil {
		return "", fmt.Errorf("record attempt: %w", err)
	}
	n, _ := res.RowsAffected()
	if n == 0 && !inserted {
		return "applied", nil // this attempt was recorded before
	}
	links := s.links()
	if paid {
		if pi.Total <= 0 && pi.Paid <= 0 {
			return "applied", nil // nothing charged (a trial's first invoice): no receipt
		}
		var number string
		if err := tx.GetContext(ctx, &number, `SELECT number FROM payment.invoices WHERE id = $1`, invID); err != nil {
			return "", err
		}
		return "applied", s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyReceipt, UserID: row.AccountID, DedupKey: "receipt:" + invID,
			Data: map[string]string{"plan": sub.Plan.Name, "amount": FormatMoney(pi.Paid, pi.Currency), "invoice_number": number,
				"period": humanDate(pi.PeriodStart) + " – " + humanDate(pi.PeriodEnd), "link": links.invoice(invID)}})
	}
	data := map[string]string{"plan": sub.Plan.Name, "amount": FormatMoney(pi.Total, pi.Currency), "link": links.billing}
	if !pi.NextAttempt.IsZero() {
		data["next_attempt"] = humanDate(pi.NextAttempt)
	}
	return "applied", s.notifier.EnqueueTx(ctx, tx, Notification{Kind: NotifyPaymentFailed, UserID: row.AccountID,
		DedupKey: fmt.Sprintf("payment_failed:%s:%d", invID, attempt), Data: data})
}

type links struct{ billing, plans, base string }

func (l links) invoice(id string) string { return l.billing + "?invoice=" + id }

func (s *Service) links() links {
	return links{billing: s.cfg.PublicURL + "/account/billing", plans: s.cfg.PublicURL + "/plans", base: s.cfg.PublicURL}
}

func humanDate(t time.Time) string { return t.UTC().Format("2 January 2006") }

func validUUID(s string) bool { return uuid.Validate(s) == nil }
