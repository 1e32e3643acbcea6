package payment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v82"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/streamflix/streamflix/internal/platform/apperr"
)

// Provider is a payment provider: Stripe, or the sandbox that behaves like
// Stripe Billing. The provider runs renewals and retries; streamflix
// mirrors its state from signed webhook events.
type Provider interface {
	// Name is the provider's name in URLs and rows: "sandbox" or "stripe".
	Name() string
	// CreateCheckout starts a hosted checkout for a subscription and returns
	// where to send the payer.
	CreateCheckout(ctx context.Context, r CheckoutRequest) (Checkout, error)
	// CreatePortal returns the URL of a page where the customer changes
	// their card or cancels.
	CreatePortal(ctx context.Context, r PortalRequest) (string, error)
	// ChangePrice moves a subscription to another price: at once with a
	// prorated charge (Now), or at the next renewal. It returns
	// ErrCardDeclined when the prorated charge fails.
	ChangePrice(ctx context.Context, r ChangeRequest) (ProviderSubscription, error)
	// SetCancelAtPeriodEnd schedules the end of the subscription at the end
	// of its period, or (false) takes that back.
	SetCancelAtPeriodEnd(ctx context.Context, providerSubscriptionID string, cancel bool, idempotencyKey string) (ProviderSubscription, error)
	// Subscription fetches a subscription's current state.
	Subscription(ctx context.Context, providerSubscriptionID string) (ProviderSubscription, error)
	// Refund gives back amount of a paid invoice's payment.
	Refund(ctx context.Context, r RefundRequest) (string, error)
	// ParseWebhook verifies a webhook's signature (Stripe's scheme, on the
	// raw body, within the tolerance) and decodes it. It returns
	// ErrSignatureInvalid.
	ParseWebhook(payload []byte, signature string) (ProviderEvent, error)
}

// CheckoutRequest is what a checkout sells.
type CheckoutRequest struct {
	SubscriptionID string // streamflix's, carried back in metadata
	AccountID      string
	Email          string
	Plan           Plan
	Price          Price
	SuccessURL     string
	CancelURL      string
	IdempotencyKey string
}

// Checkout is a started checkout.
type Checkout struct {
	ID  string
	URL string
}

// PortalRequest asks for a customer portal page.
type PortalRequest struct {
	CustomerID             string
	ProviderSubscriptionID string
	ReturnURL              string
}

// ChangeRequest changes a subscription's price.
type ChangeRequest struct {
	ProviderSubscriptionID string
	Plan                   Plan
	Price                  Price
	// Now charges the prorated difference at once (an upgrade); otherwise
	// the new price starts at the next renewal (a downgrade).
	Now            bool
	Metadata       map[string]string
	IdempotencyKey string
}

// RefundRequest refunds part or all of an invoice's payment.
type RefundRequest struct {
	ProviderInvoiceID string
	ProviderPaymentID string
	Amount            int64
	Currency          string
	IdempotencyKey    string
}

// ProviderSubscription is a provider's subscription, as streamflix mirrors it.
type ProviderSubscription struct {
	ID                string
	CustomerID        string
	Status            Status
	PeriodStart       time.Time
	PeriodEnd         time.Time
	CancelAtPeriodEnd bool
	CanceledAt        time.Time
	CardBrand         string
	CardLast4         string
	// Metadata carries streamflix's subscription_id, account_id and price_id.
	Metadata map[string]string
	// At is the provider's time of this state (the event's, or the API
	// answer's), for ordering.
	At time.Time
}

// ProviderInvoice is a provider's invoice.
type ProviderInvoice struct {
	ID                     string
	ProviderSubscriptionID string
	PaymentID              string
	Status                 string // draft, open, paid, uncollectible, void
	Reason                 string
	Currency               string
	Subtotal, Total, Paid  int64
	Lines                  []InvoiceLine
	PeriodStart, PeriodEnd time.Time
	Created                time.Time
	AttemptCount           int
	NextAttempt            time.Time
	Metadata               map[string]string // the subscription's, as of the invoice
}

// ProviderCheckout is a completed checkout session.
type ProviderCheckout struct {
	ID                     string
	CustomerID             string
	ProviderSubscriptionID string
	Metadata               map[string]string
}

// ProviderEvent is a verified webhook event.
type ProviderEvent struct {
	ID           string
	Type         string
	Created      time.Time
	Subscription *ProviderSubscription
	Invoice      *ProviderInvoice
	Checkout     *ProviderCheckout
}

// Errors of providers.
var (
	ErrSignatureInvalid = apperr.BadRequest("signature_invalid", "The webhook signature is missing, wrong or too old.")
	ErrCardDeclined     = &apperr.Error{Kind: apperr.Invalid, Code: "card_declined", Message: "Your card was declined.", Status: 402}
	ErrProviderMismatch = apperr.New(apperr.NotFound, "provider_unknown", "No such payment provider here.")
)

// WebhookTolerance is how old a signed webhook may be (Stripe's default).
const WebhookTolerance = 5 * time.Minute

// verifyStripeEvent checks a Stripe-Signature header over the raw body with
// stripe-go, within WebhookTolerance, and decodes the event. Both
// providers use it: the sandbox signs exactly as Stripe does. The event's
// API version must be the SDK's (pin the Stripe endpoint to it).
func verifyStripeEvent(payload []byte, header, secret string) (ProviderEvent, error) {
	if secret == "" {
		return ProviderEvent{}, errors.New("payment: no webhook secret configured")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{Tolerance: WebhookTolerance})
	if err != nil {
		return ProviderEvent{}, fmt.Errorf("%w (%v)", ErrSignatureInvalid, err)
	}
	return decodeStripeEvent(ev)
}

// decodeStripeEvent turns a Stripe event into ProviderEvent, decoding the
// objects streamflix acts on; other types carry no object.
func decodeStripeEvent(ev stripe.Event) (ProviderEvent, error) {
	out := ProviderEvent{ID: ev.ID, Type: string(ev.Type), Created: time.Unix(ev.Created, 0).UTC()}
	if ev.ID == "" || ev.Data == nil {
		return out, apperr.BadRequest("event_malformed", "The event has no id or no data.")
	}
	raw := ev.Data.Raw
	switch {
	case strings.HasPrefix(out.Type, "customer.subscription."):
		var s stripe.Subscription
		if err := json.Unmarshal(raw, &s); err != nil {
			return out, apperr.BadRequest("event_malformed", "The event's subscription does not decode.")
		}
		ps := subscriptionFromStripe(&s)
		ps.At = out.Created
		out.Subscription = &ps
	case strings.HasPrefix(out.Type, "invoice."):
		var inv stripe.Invoice
		if err := json.Unmarshal(raw, &inv); err != nil {
			return out, apperr.BadRequest("event_malformed", "The event's invoice does not decode.")
		}
		pi := invoiceFromStripe(&inv)
		out.Invoice = &pi
	case out.Type == "checkout.session.completed":
		var cs stripe.CheckoutSession
		if err := json.Unmarshal(raw, &cs); err != nil {
			return out, apperr.BadRequest("event_malformed", "The event's checkout session does not decode.")
		}
		pc := ProviderCheckout{ID: cs.ID, Metadata: cs.Metadata}
		if cs.Customer != nil {
			pc.CustomerID = cs.Customer.ID
		}
		if cs.Subscription != nil {
			pc.ProviderSubscriptionID = cs.Subscription.ID
		}
		out.Checkout = &pc
	}
	return out, nil
}

func subscriptionFromStripe(s *stripe.Subscription) ProviderSubscription {
	st, ok := providerStatus(string(s.Status))
	if !ok {
		st = Status(s.Status)
	}
	ps := ProviderSubscription{ID: s.ID, Status: st, CancelAtPeriodEnd: s.CancelAtPeriodEnd, Metadata: s.Metadata}
	if s.Customer != nil {
		ps.CustomerID = s.Customer.ID
	}
	if s.CanceledAt > 0 {
		ps.CanceledAt = time.Unix(s.CanceledAt, 0).UTC()
	}
	if s.Items != nil && len(s.Items.Data) > 0 {
		it := s.Items.Data[0]
		ps.PeriodStart = time.Unix(it.CurrentPeriodStart, 0).UTC()
		ps.PeriodEnd = time.Unix(it.CurrentPeriodEnd, 0).UTC()
	}
	if pm := s.DefaultPaymentMethod; pm != nil && pm.Card != nil {
		ps.CardBrand, ps.CardLast4 = string(pm.Card.Brand), pm.Card.Last4
	}
	return ps
}

func invoiceFromStripe(inv *stripe.Invoice) ProviderInvoice {
	pi := ProviderInvoice{
		ID: inv.ID, Status: string(inv.Status), Reason: string(inv.BillingReason), Currency: strings.ToUpper(string(inv.Currency)),
		Subtotal: inv.Subtotal, Total: inv.Total, Paid: inv.AmountPaid,
		PeriodStart: time.Unix(inv.PeriodStart, 0).UTC(), PeriodEnd: time.Unix(inv.PeriodEnd, 0).UTC(),
		Created: time.Unix(inv.Created, 0).UTC(), AttemptCount: int(inv.AttemptCount), Metadata: inv.Metadata,
	}
	if inv.NextPaymentAttempt > 0 {
		pi.NextAttempt = time.Unix(inv.NextPaymentAttempt, 0).UTC()
	}
	if p := inv.Parent; p != nil && p.SubscriptionDetails != nil {
		if p.SubscriptionDetails.Subscription != nil {
			pi.ProviderSubscriptionID = p.SubscriptionDetails.Subscription.ID
		}
		if len(p.SubscriptionDetails.Metadata) > 0 {
			pi.Metadata = p.SubscriptionDetails.Metadata
		}
	}
	if inv.Payments != nil {
		for _, p := range inv.Payments.Data {
			if p.Payment != nil && p.Payment.PaymentIntent != nil {
				pi.PaymentID = p.Payment.PaymentIntent.ID
			}
		}
	}
	if inv.Lines != nil {
		for _, l := range inv.Lines.Data {
			line := InvoiceLine{Description: l.Description, Amount: l.Amount, Quantity: int(l.Quantity)}
			if line.Quantity == 0 {
				line.Quantity = 1
			}
			if l.Period != nil {
				line.PeriodStart, line.PeriodEnd = time.Unix(l.Period.Start, 0).UTC(), time.Unix(l.Period.End, 0).UTC()
			}
			pi.Lines = append(pi.Lines, line)
		}
	}
	return pi
}
