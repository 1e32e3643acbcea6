package payment

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v82"
)

// StripeConfig configures the stripe provider.
type StripeConfig struct {
	SecretKey     string
	WebhookSecret string
	// APIURL overrides https://api.stripe.com (stripe-mock in tests).
	APIURL string
}

// Stripe is the provider for production: Checkout Sessions in subscription
// mode, the Customer Portal, and Stripe Billing's renewals and Smart
// Retries, mirrored from webhooks verified with the SDK. Pin the webhook
// endpoint's API version to stripe.APIVersion (the SDK's).
type Stripe struct {
	sc            *stripe.Client
	webhookSecret string

	// portalConfig is the id of streamflix's Customer Portal
	// configuration, found or made on the first portal session.
	portalMu     sync.Mutex
	portalConfig string
}

// portalConfigKey marks, in its metadata, the portal configuration
// streamflix made, so every instance finds the same one.
const portalConfigKey = "streamflix_portal"

// portalConfigVersion changes when the configuration below does.
const portalConfigVersion = "1"

// NewStripe returns the stripe provider.
func NewStripe(cfg StripeConfig) *Stripe {
	var opts []stripe.ClientOption
	if cfg.APIURL != "" {
		url := strings.TrimRight(cfg.APIURL, "/")
		opts = append(opts, stripe.WithBackends(&stripe.Backends{
			API:         stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{URL: &url}),
			Connect:     stripe.GetBackendWithConfig(stripe.ConnectBackend, &stripe.BackendConfig{URL: &url}),
			Uploads:     stripe.GetBackendWithConfig(stripe.UploadsBackend, &stripe.BackendConfig{URL: &url}),
			MeterEvents: stripe.GetBackendWithConfig(stripe.MeterEventsBackend, &stripe.BackendConfig{URL: &url}),
		}))
	}
	return &Stripe{sc: stripe.NewClient(cfg.SecretKey, opts...), webhookSecret: cfg.WebhookSecret}
}

// Name is "stripe".
func (*Stripe) Name() string { return ProviderStripe }

// CreateCheckout creates a Checkout Session in subscription mode. A price
// made in Stripe (provider_price_id) is used as it is; otherwise the
// amount goes inline as price_data.
func (p *Stripe) CreateCheckout(ctx context.Context, r CheckoutRequest) (Checkout, error) {
	md := map[string]string{"subscription_id": r.SubscriptionID, "account_id": r.AccountID, "price_id": fmt.Sprint(r.Price.ID)}
	item := &stripe.CheckoutSessionCreateLineItemParams{Quantity: stripe.Int64(1)}
	if r.Price.ProviderPriceID != "" {
		item.Price = stripe.String(r.Price.ProviderPriceID)
	} else {
		item.PriceData = &stripe.CheckoutSessionCreateLineItemPriceDataParams{
			Currency: stripe.String(strings.ToLower(r.Price.Currency)), UnitAmount: stripe.Int64(r.Price.Amount),
			ProductData: &stripe.CheckoutSessionCreateLineItemPriceDataProductDataParams{Name: stripe.String("streamflix " + r.Plan.Name)},
			Recurring:   &stripe.CheckoutSessionCreateLineItemPriceDataRecurringParams{Interval: stripe.String(r.Plan.Interval)},
		}
	}
	params := &stripe.CheckoutSessionCreateParams{
		Mode: stripe.String(string(stripe.CheckoutSessionModeSubscription)), LineItems: []*stripe.CheckoutSessionCreateLineItemParams{item},
		SuccessURL: stripe.String(r.SuccessURL), CancelURL: stripe.String(r.CancelURL), ClientReferenceID: stripe.String(r.AccountID),
		CustomerEmail: stripe.String(r.Email), SubscriptionData: &stripe.CheckoutSessionCreateSubscriptionDataParams{Metadata: md},
	}
	if r.Plan.TrialDays > 0 {
		params.SubscriptionData.TrialPeriodDays = stripe.Int64(int64(r.Plan.TrialDays))
	}
	params.Metadata = md
	params.SetIdempotencyKey(r.IdempotencyKey)
	params.Context = ctx
	cs, err := p.sc.V1CheckoutSessions.Create(ctx, params)
	if err != nil {
		return Checkout{}, stripeErr(err)
	}
	return Checkout{ID: cs.ID, URL: cs.URL}, nil
}

// CreatePortal creates a Customer Portal session with streamflix's own
// portal configuration: the card, the invoices and the billing details
// can change there, the plan cannot (plan changes go through
// POST /api/v1/subscription/change, which knows about entitlements and
// downgrades at the period end), and cancelling is left to streamflix's
// cancel and resume, so the state machine records why. An operator's
// default configuration in the Dashboard is not used.
func (p *Stripe) CreatePortal(ctx context.Context, r PortalRequest) (string, error) {
	cfg, err := p.portalConfiguration(ctx)
	if err != nil {
		return "", err
	}
	ps, err := p.sc.V1BillingPortalSessions.Create(ctx, &stripe.BillingPortalSessionCreateParams{Customer: stripe.String(r.CustomerID),
		ReturnURL: stripe.String(r.ReturnURL), Configuration: stripe.String(cfg)})
	if err != nil {
		return "", stripeErr(err)
	}
	return ps.URL, nil
}

// portalConfiguration returns the id of streamflix's portal configuration:
// the one whose metadata names this version, made when there is none.
func (p *Stripe) portalConfiguration(ctx context.Context) (string, error) {
	p.portalMu.Lock()
	defer p.portalMu.Unlock()
	if p.portalConfig != "" {
		return p.portalConfig, nil
	}
	list := &stripe.BillingPortalConfigurationListParams{Active: stripe.Bool(true)}
	for c, err := range p.sc.V1BillingPortalConfigurations.List(ctx, list) {
		if err != nil {
			return "", stripeErr(err)
		}
		if c.Metadata[portalConfigKey] == portalConfigVersion {
			p.portalConfig = c.ID
			return c.ID, nil
		}
	}
	on, off := stripe.Bool(true), stripe.Bool(false)
	params := &stripe.BillingPortalConfigurationCreateParams{
		Name: stripe.String("streamflix"),
		Features: &stripe.BillingPortalConfigurationCreateFeaturesParams{
			PaymentMethodUpdate: &stripe.BillingPortalConfigurationCreateFeaturesPaymentMethodUpdateParams{Enabled: on},
			InvoiceHistory:      &stripe.BillingPortalConfigurationCreateFeaturesInvoiceHistoryParams{Enabled: on},
			CustomerUpdate: &stripe.BillingPortalConfigurationCreateFeaturesCustomerUpdateParams{Enabled: on,
				AllowedUpdates: []*string{stripe.String("address"), stripe.String("name"), stripe.String("tax_id")}},
			SubscriptionUpdate: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionUpdateParams{Enabled: off},
			SubscriptionCancel: &stripe.BillingPortalConfigurationCreateFeaturesSubscriptionCancelParams{Enabled: off},
		},
		Metadata: map[string]string{portalConfigKey: portalConfigVersion},
	}
	// Instances starting together make one configuration, not one each.
	params.SetIdempotencyKey("streamflix-portal-configuration-" + portalConfigVersion)
	c, err := p.sc.V1BillingPortalConfigurations.Create(ctx, params)
	if err != nil {
		return "", stripeErr(err)
	}
	p.portalConfig = c.ID
	return c.ID, nil
}

// Subscription retrieves a subscription (with its default payment method).
func (p *Stripe) Subscription(ctx context.Context, id string) (ProviderSubscription, error) {
	params := &stripe.SubscriptionRetrieveParams{}
	params.AddExpand("default_payment_method")
	s, err := p.sc.V1Subscriptions.Retrieve(ctx, id, params)
	if err != nil {
		return ProviderSubscription{}, stripeErr(err)
	}
	ps := subscriptionFromStripe(s)
	ps.At = time.Now().UTC().Truncate(time.Second)
	return ps, nil
}

// ChangePrice swaps the subscription item's price: an upgrade is prorated
// and invoiced at once (always_invoice); a downgrade is not prorated, so
// the new price is first charged at the renewal (streamflix keeps the old
// plan's entitlement until then from the metadata's price_id). A price
// made in Stripe (provider_price_id) is used as it is; otherwise the
// amount goes inline as price_data on the item's product, as at checkout.
func (p *Stripe) ChangePrice(ctx context.Context, r ChangeRequest) (ProviderSubscription, error) {
	cur, err := p.sc.V1Subscriptions.Retrieve(ctx, r.ProviderSubscriptionID, nil)
	if err != nil {
		return ProviderSubscription{}, stripeErr(err)
	}
	if cur.Items == nil || len(cur.Items.Data) == 0 {
		return ProviderSubscription{}, errors.New("payment: stripe subscription without items")
	}
	behavior := "none"
	if r.Now {
		behavior = "always_invoice"
	}
	item := &stripe.SubscriptionUpdateItemParams{ID: stripe.String(cur.Items.Data[0].ID)}
	if r.Price.ProviderPriceID != "" {
		item.Price = stripe.String(r.Price.ProviderPriceID)
	} else {
		old := cur.Items.Data[0].Price
		if old == nil || old.Product == nil || old.Product.ID == "" {
			return ProviderSubscription{}, errors.New("payment: stripe subscription item without a product")
		}
		item.PriceData = &stripe.SubscriptionUpdateItemPriceDataParams{
			Currency: stripe.String(strings.ToLower(r.Price.Currency)), UnitAmount: stripe.Int64(r.Price.Amount),
			Product:   stripe.String(old.Product.ID),
			Recurring: &stripe.SubscriptionUpdateItemPriceDataRecurringParams{Interval: stripe.String(r.Plan.Interval)},
		}
	}
	params := &stripe.SubscriptionUpdateParams{
		Items:             []*stripe.SubscriptionUpdateItemParams{item},
		ProrationBehavior: stripe.String(behavior), Metadata: r.Metadata,
	}
	if r.Now {
		params.PaymentBehavior = stripe.String("error_if_incomplete")
	}
	params.SetIdempotencyKey(r.IdempotencyKey)
	s, err := p.sc.V1Subscriptions.Update(ctx, r.ProviderSubscriptionID, params)
	if err != nil {
		return ProviderSubscription{}, stripeErr(err)
	}
	ps := subscriptionFromStripe(s)
	ps.At = time.Now().UTC().Truncate(time.Second)
	return ps, nil
}

// SetCancelAtPeriodEnd sets cancel_at_period_end.
func (p *Stripe) SetCancelAtPeriodEnd(ctx context.Context, id string, cancel bool, key string) (ProviderSubscription, error) {
	params := &stripe.SubscriptionUpdateParams{CancelAtPeriodEnd: stripe.Bool(cancel)}
	params.SetIdempotencyKey(key)
	s, err := p.sc.V1Subscriptions.Update(ctx, id, params)
	if err != nil {
		return ProviderSubscription{}, stripeErr(err)
	}
	ps := subscriptionFromStripe(s)
	ps.At = time.Now().UTC().Truncate(time.Second)
	return ps, nil
}

// Refund refunds the invoice's PaymentIntent. Webhook payloads do not
// include an invoice's payments (an includable field since API version
// 2025-03-31), so when the invoice was mirrored without one its paid
// payment is looked up in /v1/invoice_payments.
func (p *Stripe) Refund(ctx context.Context, r RefundRequest) (string, error) {
	pi := r.ProviderPaymentID
	if pi == "" && r.ProviderInvoiceID != "" {
		list := &stripe.InvoicePaymentListParams{Invoice: stripe.String(r.ProviderInvoiceID), Status: stripe.String("paid")}
		for ip, err := range p.sc.V1InvoicePayments.List(ctx, list) {
			if err != nil {
				return "", stripeErr(err)
			}
			if ip.Payment != nil && ip.Payment.PaymentIntent != nil && ip.Payment.PaymentIntent.ID != "" {
				pi = ip.Payment.PaymentIntent.ID
				break
			}
		}
	}
	if pi == "" {
		return "", errors.New("payment: stripe: invoice has no payment to refund")
	}
	params := &stripe.RefundCreateParams{PaymentIntent: stripe.String(pi), Amount: stripe.Int64(r.Amount)}
	params.SetIdempotencyKey(r.IdempotencyKey)
	re, err := p.sc.V1Refunds.Create(ctx, params)
	if err != nil {
		return "", stripeErr(err)
	}
	return re.ID, nil
}

// ParseWebhook verifies Stripe-Signature with the SDK.
func (p *Stripe) ParseWebhook(payload []byte, signature string) (ProviderEvent, error) {
	return verifyStripeEvent(payload, signature, p.webhookSecret)
}

// stripeErr turns a card error into ErrCardDeclined; the rest stay internal.
func stripeErr(err error) error {
	var se *stripe.Error
	if errors.As(err, &se) && se.Type == stripe.ErrorTypeCard {
		return ErrCardDeclined
	}
	return fmt.Errorf("stripe: %w", err)
}
