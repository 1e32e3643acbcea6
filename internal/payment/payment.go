package payment

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"
	"github.com/rs/zerolog"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// QueueName is the River queue of payment's jobs (the module's name).
const QueueName = "payment"

// Provider names.
const (
	ProviderSandbox = "sandbox"
	ProviderStripe  = "stripe"
)

// Config configures the module. Each field names the environment
// variable cmd/streamflix reads it from; withDefaults fills the defaults.
type Config struct {
	// Provider (PAYMENT_PROVIDER) is sandbox (the default) or stripe.
	Provider string
	// PublicURL (PUBLIC_URL) is where users reach streamflix: checkout
	// return pages, sandbox pages and links in emails (default
	// http://localhost:8080).
	PublicURL string
	// WebhookURL (PAYMENT_SANDBOX_WEBHOOK_URL) is where the sandbox
	// delivers its signed events: this instance's own
	// /api/v1/billing/webhooks/sandbox unless set (main fills it in).
	WebhookURL string
	// WebhookSecret (PAYMENT_WEBHOOK_SECRET) signs the sandbox's events.
	// Empty (the default): a random secret kept in payment.sandbox_clock,
	// shared by every instance.
	WebhookSecret string
	// StripeSecretKey (STRIPE_SECRET_KEY) and StripeWebhookSecret
	// (STRIPE_WEBHOOK_SECRET) are required with the stripe provider.
	StripeSecretKey, StripeWebhookSecret string
	// StripeAPIURL (STRIPE_API_URL) overrides Stripe's API address, for
	// stripe-mock (default https://api.stripe.com).
	StripeAPIURL string
	// SandboxTick is how often the sandbox runs due renewals and retries
	// (default 10s).
	SandboxTick time.Duration
}

func (c Config) withDefaults() Config {
	if c.Provider == "" {
		c.Provider = ProviderSandbox
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:8080"
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.SandboxTick <= 0 {
		c.SandboxTick = 10 * time.Second
	}
	return c
}

func (c Config) validate() error {
	switch c.Provider {
	case ProviderSandbox:
		if c.WebhookURL == "" {
			return errors.New("payment: PAYMENT_SANDBOX_WEBHOOK_URL is empty")
		}
		if u, err := url.Parse(c.WebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("payment: PAYMENT_SANDBOX_WEBHOOK_URL must be an absolute http(s) URL, got %q", c.WebhookURL)
		}
	case ProviderStripe:
		if !strings.HasPrefix(c.StripeSecretKey, "sk_") && !strings.HasPrefix(c.StripeSecretKey, "rk_") {
			return errors.New("payment: STRIPE_SECRET_KEY must be a Stripe secret key (sk_... or rk_...) with PAYMENT_PROVIDER=stripe")
		}
		if !strings.HasPrefix(c.StripeWebhookSecret, "whsec_") {
			return errors.New("payment: STRIPE_WEBHOOK_SECRET must be the endpoint's signing secret (whsec_...) with PAYMENT_PROVIDER=stripe")
		}
	default:
		return fmt.Errorf("payment: PAYMENT_PROVIDER must be sandbox or stripe, got %q", c.Provider)
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("payment: PUBLIC_URL must be an absolute http(s) URL, got %q", c.PublicURL)
	}
	return nil
}

// Deps are the module's connections and what it needs from other modules.
type Deps struct {
	DB       *sqlx.DB
	Log      zerolog.Logger
	Accounts Accounts
	Notifier Notifier
	// Queue inserts payment's jobs in the caller's transaction
	// (queue.Deferred: it resolves once River's client exists).
	Queue Inserter
	// HTTPClient delivers the sandbox's webhooks (default: a client with a
	// 10s timeout).
	HTTPClient *http.Client
	// Provider, when set, replaces the one Config.Provider names (tests).
	Provider Provider
}

// Service is the payment module's API. Build it with New.
type Service struct {
	db       *sqlx.DB
	log      zerolog.Logger
	cfg      Config
	accounts Accounts
	notifier Notifier
	queue    Inserter
	provider Provider
	sandbox  *Sandbox // nil unless the provider is the sandbox
	http     *http.Client
}

// New builds the module. It returns an error naming the setting at fault.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.DB == nil:
		return nil, errors.New("payment: nil DB")
	case deps.Accounts == nil:
		return nil, errors.New("payment: nil Accounts")
	case deps.Notifier == nil:
		return nil, errors.New("payment: nil Notifier")
	case deps.Queue == nil:
		return nil, errors.New("payment: nil Queue")
	}
	if deps.HTTPClient == nil {
		deps.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	s := &Service{
		db: deps.DB, log: deps.Log.With().Str("module", "payment").Logger(), cfg: cfg,
		accounts: deps.Accounts, notifier: deps.Notifier, queue: deps.Queue, http: deps.HTTPClient,
	}
	switch {
	case deps.Provider != nil:
		s.provider = deps.Provider
	case cfg.Provider == ProviderStripe:
		s.provider = NewStripe(StripeConfig{SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL})
	default:
		s.sandbox = &Sandbox{db: deps.DB, queue: deps.Queue, log: s.log, publicURL: cfg.PublicURL, webhookURL: cfg.WebhookURL, secret: cfg.WebhookSecret, http: deps.HTTPClient}
		s.provider = s.sandbox
	}
	return s, nil
}

// Plan is something to subscribe to.
type Plan struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Interval   string `json:"interval"`
	MaxStreams int    `json:"max_streams"`
	MaxHeight  int    `json:"max_height"`
	TrialDays  int    `json:"trial_days"`
	Active     bool   `json:"active"`
	// Price is the plan's current price for a plan listing, or the price
	// version a subscription pays.
	Price Price `json:"price"`
}

// Price is one version of a plan's price, in minor units of an ISO 4217
// currency. A price never changes: a new price is a new version.
type Price struct {
	ID       int64  `json:"id"`
	Version  int    `json:"version"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	// Display is the amount for people, such as "€7.99".
	Display         string `json:"display"`
	ProviderPriceID string `json:"-"`
}

// Card is the card a subscription is charged to.
type Card struct {
	Brand string `json:"brand"`
	Last4 string `json:"last4"`
}

// Subscription is an account's subscription. Field names are Stripe's.
type Subscription struct {
	ID                 string     `json:"id"`
	Status             Status     `json:"status"`
	Plan               Plan       `json:"plan"`
	CurrentPeriodStart *time.Time `json:"current_period_start"`
	CurrentPeriodEnd   *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd  bool       `json:"cancel_at_period_end"`
	// PendingPlan is a downgrade that takes effect at the period end.
	PendingPlan string      `json:"pending_plan,omitempty"`
	Card        *Card       `json:"card,omitempty"`
	CanceledAt  *time.Time  `json:"canceled_at,omitempty"`
	CreatedAt   time.Time   `json:"created_at"`
	Entitlement Entitlement `json:"entitlement"`
	// Transitions is the subscription's history, oldest first (admin view).
	Transitions []Transition `json:"transitions,omitempty"`

	accountID, provider, providerCustomerID, providerSubscriptionID string
}

// Transition is one recorded change of a subscription's state.
type Transition struct {
	From  Status    `json:"from,omitempty"`
	To    Status    `json:"to"`
	Cause string    `json:"cause"`
	At    time.Time `json:"at"`
}

// Entitlement is what an account may watch: other modules ask for it
// through an interface of their own.
type Entitlement struct {
	Active     bool       `json:"active"`
	Plan       string     `json:"plan,omitempty"`
	MaxStreams int        `json:"max_streams"`
	MaxHeight  int        `json:"max_height"`
	Until      *time.Time `json:"until,omitempty"`
	Status     Status     `json:"status,omitempty"`
}

// Invoice is a bill, paid or not. Tax is always 0: streamflix collects no
// tax yet (prices are tax-inclusive), and the field is there so that
// clients need not change when it does.
type Invoice struct {
	ID             string        `json:"id"`
	Number         string        `json:"number"`
	SubscriptionID string        `json:"subscription_id"`
	Status         string        `json:"status"`
	Reason         string        `json:"reason"`
	Currency       string        `json:"currency"`
	Subtotal       int64         `json:"subtotal"`
	Tax            int64         `json:"tax"`
	Total          int64         `json:"total"`
	AmountPaid     int64         `json:"amount_paid"`
	AmountRefunded int64         `json:"amount_refunded"`
	Lines          []InvoiceLine `json:"lines"`
	PeriodStart    time.Time     `json:"period_start"`
	PeriodEnd      time.Time     `json:"period_end"`
	CreatedAt      time.Time     `json:"created_at"`
	PaidAt         *time.Time    `json:"paid_at,omitempty"`
	// ReceiptURL is the HTML receipt (GET, same authentication).
	ReceiptURL string `json:"receipt_url"`

	accountID, providerInvoiceID, providerPaymentID string
}

// InvoiceLine is one line of an invoice; a proration credit is negative.
type InvoiceLine struct {
	Description string    `json:"description"`
	Amount      int64     `json:"amount"`
	Quantity    int       `json:"quantity"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
}

// Errors of the Service.
var (
	ErrPlanNotFound         = apperr.New(apperr.NotFound, "plan_not_found", "No such plan.")
	ErrPlanInactive         = apperr.New(apperr.Invalid, "plan_inactive", "This plan is no longer offered.")
	ErrPlanExists           = apperr.New(apperr.Conflict, "plan_exists", "A plan with this code already exists.")
	ErrPlanUnchanged        = apperr.New(apperr.Invalid, "plan_unchanged", "The subscription is already on this plan.")
	ErrNoSubscription       = apperr.New(apperr.NotFound, "subscription_not_found", "There is no subscription.")
	ErrSubscriptionExists   = apperr.New(apperr.Conflict, "subscription_exists", "The account already has a subscription; change its plan instead.")
	ErrSubscriptionInactive = apperr.New(apperr.Conflict, "subscription_inactive", "The subscription is not active.")
	ErrPastDue              = apperr.New(apperr.Conflict, "subscription_past_due", "A payment is overdue; update the card first.")
	ErrNotCanceling         = apperr.New(apperr.Conflict, "not_canceling", "The subscription is not scheduled to end.")
	ErrNotVerified          = apperr.New(apperr.Forbidden, "account_not_verified", "Verify your email address before subscribing.")
	ErrCurrencyMismatch     = apperr.New(apperr.Invalid, "currency_mismatch", "This price is in another currency than the account's billing.")
	ErrInvoiceNotFound      = apperr.New(apperr.NotFound, "invoice_not_found", "No such invoice.")
	ErrRefundTooLarge       = apperr.New(apperr.Invalid, "refund_too_large", "The refund is more than what is left to refund.")
	ErrNotSandbox           = apperr.New(apperr.Conflict, "not_sandbox", "The test clock exists only with the sandbox provider.")
	ErrNoCustomer           = apperr.New(apperr.Conflict, "no_customer", "There is no payment method to manage yet.")
)

// ProviderName is the configured provider's name.
func (s *Service) ProviderName() string { return s.provider.Name() }

// Sandbox is the sandbox provider, or nil with another provider.
func (s *Service) Sandbox() *Sandbox { return s.sandbox }

// Plans returns the plans, cheapest first: the active ones, or all of them
// for admins.
func (s *Service) Plans(ctx context.Context, all bool) ([]Plan, error) {
	return listPlans(ctx, s.db, all)
}

// Entitlement says what accountID may watch: with a trialing, active or
// past_due subscription (past_due keeps access until the last retry),
// Active is true with the plan's limits; otherwise Active is false.
func (s *Service) Entitlement(ctx context.Context, accountID string) (Entitlement, error) {
	sub, err := s.Subscription(ctx, accountID)
	if errors.Is(err, ErrNoSubscription) {
		return Entitlement{}, nil
	}
	if err != nil {
		return Entitlement{}, err
	}
	return sub.Entitlement, nil
}

func entitlementOf(sub Subscription) Entitlement {
	e := Entitlement{Status: sub.Status}
	if !sub.Status.Entitled() {
		return e
	}
	e.Active, e.Plan, e.MaxStreams, e.MaxHeight = true, sub.Plan.Code, sub.Plan.MaxStreams, sub.Plan.MaxHeight
	if sub.CurrentPeriodEnd != nil {
		until := *sub.CurrentPeriodEnd
		if sub.Status == StatusPastDue && sub.CurrentPeriodStart != nil {
			until = sub.CurrentPeriodStart.Add(RetrySchedule[len(RetrySchedule)-1])
		}
		e.Until = &until
	}
	return e
}

// Subscription returns the account's live subscription, else its latest
// one (canceled or incomplete), else ErrNoSubscription.
func (s *Service) Subscription(ctx context.Context, accountID string) (Subscription, error) {
	if err := uuid.Validate(accountID); err != nil {
		return Subscription{}, ErrNoSubscription
	}
	return findLatestSubscription(ctx, s.db, accountID)
}

// AdminSubscription is Subscription with its transitions.
func (s *Service) AdminSubscription(ctx context.Context, accountID string) (Subscription, error) {
	sub, err := s.Subscription(ctx, accountID)
	if err != nil {
		return sub, err
	}
	sub.Transitions, err = listTransitions(ctx, s.db, sub.ID)
	return sub, err
}

// CheckoutInput is the body of POST /billing/checkout.
type CheckoutInput struct {
	Plan string `json:"plan"`
	// Currency, when given, must be the plan's price's currency.
	Currency string `json:"currency,omitempty"`
}

// CheckoutResult is where to pay.
type CheckoutResult struct {
	CheckoutURL    string `json:"checkout_url"`
	CheckoutID     string `json:"checkout_id"`
	SubscriptionID string `json:"subscription_id"`
}

// Checkout starts paying for a plan: it makes (or reuses) the account's
// incomplete subscription and a hosted checkout at the provider. It
// returns ErrNotVerified, ErrPlanNotFound, ErrPlanInactive,
// ErrCurrencyMismatch, or ErrSubscriptionExists when the account already
// has a live subscription.
func (s *Service) Checkout(ctx context.Context, accountID string, in CheckoutInput, idemKey string) (CheckoutResult, error) {
	if strings.TrimSpace(in.Plan) == "" {
		return CheckoutResult{}, apperr.Validation(apperr.FieldError{Field: "plan", Code: "required", Message: "Choose a plan."})
	}
	acc, err := s.accounts.Account(ctx, accountID)
	if err != nil {
		return CheckoutResult{}, err
	}
	if !acc.Verified {
		return CheckoutResult{}, ErrNotVerified
	}
	plan, err := findPlan(ctx, s.db, in.Plan)
	if err != nil {
		return CheckoutResult{}, err
	}
	if !plan.Active {
		return CheckoutResult{}, ErrPlanInactive
	}
	if in.Currency != "" && !strings.EqualFold(in.Currency, plan.Price.Currency) {
		return CheckoutResult{}, ErrCurrencyMismatch
	}
	var subID string
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if cur, err := accountCurrency(ctx, tx, accountID); err != nil {
			return err
		} else if cur != "" && cur != plan.Price.Currency {
			return ErrCurrencyMismatch
		}
		live, err := findLiveSubscriptionForUpdate(ctx, tx, accountID)
		switch {
		case errors.Is(err, ErrNoSubscription):
			subID = uuid.NewString()
			if err := insertSubscription(ctx, tx, subID, accountID, plan, s.provider.Name()); err != nil {
				return err
			}
			return insertTransition(ctx, tx, subID, "", StatusIncomplete, "checkout", "", time.Now())
		case err != nil:
			return err
		case Status(live.Status) != StatusIncomplete:
			return ErrSubscriptionExists
		default:
			// A checkout that was not finished: start again with this plan.
			subID = live.ID
			return setSubscriptionPlan(ctx, tx, subID, plan)
		}
	})
	if err != nil {
		return CheckoutResult{}, err
	}
	co, err := s.provider.CreateCheckout(ctx, CheckoutRequest{
		SubscriptionID: subID, AccountID: accountID, Email: acc.Email, Plan: plan, Price: plan.Price,
		SuccessURL: s.cfg.PublicURL + "/account/billing?checkout=success", CancelURL: s.cfg.PublicURL + "/plans?checkout=canceled",
		IdempotencyKey: "checkout:" + subID + ":" + idemKey,
	})
	if err != nil {
		return CheckoutResult{}, fmt.Errorf("create checkout: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE payment.subscriptions SET checkout_id = $2, updated_at = now() WHERE id = $1`, subID, co.ID); err != nil {
		return CheckoutResult{}, fmt.Errorf("store checkout: %w", err)
	}
	return CheckoutResult{CheckoutURL: co.URL, CheckoutID: co.ID, SubscriptionID: subID}, nil
}

// ChangePlanInput is the body of POST /subscription/change.
type ChangePlanInput struct {
	Plan string `json:"plan"`
}

// monthly is a price per month, to compare plans of different intervals.
func monthly(p Plan) int64 {
	if p.Interval == IntervalYear {
		return p.Price.Amount / 12
	}
	return p.Price.Amount
}

// ChangePlan moves the account's subscription to another plan: an upgrade
// at once, charging the prorated difference; a downgrade at the period
// end. Choosing the current plan again takes back a pending downgrade.
// It returns ErrNoSubscription, ErrSubscriptionInactive, ErrPastDue,
// ErrPlanNotFound, ErrPlanInactive, ErrPlanUnchanged, ErrCurrencyMismatch
// or ErrCardDeclined.
func (s *Service) ChangePlan(ctx context.Context, accountID string, in ChangePlanInput, idemKey string) (Subscription, error) {
	sub, err := s.liveSubscription(ctx, accountID)
	if err != nil {
		return Subscription{}, err
	}
	if sub.Status == StatusPastDue {
		return Subscription{}, ErrPastDue
	}
	plan, err := findPlan(ctx, s.db, in.Plan)
	if err != nil {
		return Subscription{}, err
	}
	if plan.Code == sub.Plan.Code {
		if sub.PendingPlan == "" {
			return Subscription{}, ErrPlanUnchanged
		}
		plan.Price = sub.Plan.Price // keep the price version it pays
	} else if !plan.Active {
		return Subscription{}, ErrPlanInactive
	}
	if plan.Price.Currency != sub.Plan.Price.Currency {
		return Subscription{}, ErrCurrencyMismatch
	}
	now := plan.Code != sub.Plan.Code && monthly(plan) > monthly(sub.Plan)
	ps, err := s.provider.ChangePrice(ctx, ChangeRequest{
		ProviderSubscriptionID: sub.providerSubscriptionID, Plan: plan, Price: plan.Price, Now: now,
		Metadata:       subscriptionMetadata(sub.ID, accountID, plan.Price.ID, now, sub.Plan.Price.ID),
		IdempotencyKey: "change:" + sub.ID + ":" + idemKey,
	})
	if err != nil {
		return Subscription{}, err
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		pending := ""
		if !now && plan.Code != sub.Plan.Code {
			pending = plan.Code
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payment.subscriptions SET pending_plan_code = nullif($2, ''), updated_at = now() WHERE id = $1`, sub.ID, pending); err != nil {
			return fmt.Errorf("set pending plan: %w", err)
		}
		_, err := s.applySubscriptionTx(ctx, tx, ps, "api:change", "")
		return err
	})
	if err != nil {
		return Subscription{}, err
	}
	return s.Subscription(ctx, accountID)
}

// subscriptionMetadata is what streamflix stores on the provider's
// subscription to find its own again: ids, and the price it pays (the
// current one until a scheduled change takes effect).
func subscriptionMetadata(subID, accountID string, priceID int64, now bool, currentPriceID int64) map[string]string {
	md := map[string]string{"subscription_id": subID, "account_id": accountID, "price_id": fmt.Sprint(priceID)}
	if !now {
		md["price_id"] = fmt.Sprint(currentPriceID)
		md["next_price_id"] = fmt.Sprint(priceID)
	}
	return md
}

// Cancel schedules the end of the subscription at its period end (access
// stays until then). It returns ErrNoSubscription or
// ErrSubscriptionInactive; cancelling twice is not an error.
func (s *Service) Cancel(ctx context.Context, accountID, idemKey string) (Subscription, error) {
	return s.setCancel(ctx, accountID, true, idemKey)
}

// Resume takes back a scheduled cancellation before the period ends. It
// returns ErrNoSubscription, ErrSubscriptionInactive or ErrNotCanceling.
func (s *Service) Resume(ctx context.Context, accountID, idemKey string) (Subscription, error) {
	return s.setCancel(ctx, accountID, false, idemKey)
}

func (s *Service) setCancel(ctx context.Context, accountID string, cancel bool, idemKey string) (Subscription, error) {
	sub, err := s.liveSubscription(ctx, accountID)
	if err != nil {
		return Subscription{}, err
	}
	if sub.CancelAtPeriodEnd == cancel {
		if !cancel {
			return Subscription{}, ErrNotCanceling
		}
		return sub, nil
	}
	action := "resume"
	if cancel {
		action = "cancel"
	}
	ps, err := s.provider.SetCancelAtPeriodEnd(ctx, sub.providerSubscriptionID, cancel, action+":"+sub.ID+":"+idemKey)
	if err != nil {
		return Subscription{}, err
	}
	if err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		_, err := s.applySubscriptionTx(ctx, tx, ps, "api:"+action, "")
		return err
	}); err != nil {
		return Subscription{}, err
	}
	return s.Subscription(ctx, accountID)
}

// liveSubscription is the account's trialing, active or past_due
// subscription, known to the provider.
func (s *Service) liveSubscription(ctx context.Context, accountID string) (Subscription, error) {
	sub, err := s.Subscription(ctx, accountID)
	if err != nil {
		return sub, err
	}
	if !sub.Status.Live() || sub.providerSubscriptionID == "" {
		return Subscription{}, ErrSubscriptionInactive
	}
	return sub, nil
}

// Portal returns the URL of the provider's page where the customer changes
// their card or cancels. It returns ErrNoSubscription or ErrNoCustomer.
func (s *Service) Portal(ctx context.Context, accountID string) (string, error) {
	sub, err := s.Subscription(ctx, accountID)
	if err != nil {
		return "", err
	}
	if sub.providerCustomerID == "" || sub.providerSubscriptionID == "" {
		return "", ErrNoCustomer
	}
	return s.provider.CreatePortal(ctx, PortalRequest{CustomerID: sub.providerCustomerID, ProviderSubscriptionID: sub.providerSubscriptionID,
		ReturnURL: s.cfg.PublicURL + "/account/billing"})
}

// Invoices returns the account's invoices, newest first.
func (s *Service) Invoices(ctx context.Context, accountID string) ([]Invoice, error) {
	if uuid.Validate(accountID) != nil {
		return []Invoice{}, nil
	}
	return listInvoices(ctx, s.db, accountID)
}

// Invoice returns one of the account's invoices ("" account: any, for
// admins), or ErrInvoiceNotFound.
func (s *Service) Invoice(ctx context.Context, accountID, id string) (Invoice, error) {
	if uuid.Validate(id) != nil {
		return Invoice{}, ErrInvoiceNotFound
	}
	inv, err := findInvoice(ctx, s.db, id)
	if err != nil {
		return inv, err
	}
	if accountID != "" && inv.accountID != accountID {
		return Invoice{}, ErrInvoiceNotFound
	}
	return inv, nil
}

// RefundInput is the body of an admin refund.
type RefundInput struct {
	// Amount in minor units; 0 refunds what is left.
	Amount int64  `json:"amount"`
	Reason string `json:"reason"`
}

// Refund gives back part or all of a paid invoice. It returns
// ErrInvoiceNotFound, ErrRefundTooLarge or a validation error.
func (s *Service) Refund(ctx context.Context, invoiceID string, in RefundInput, idemKey string) (Invoice, error) {
	inv, err := s.Invoice(ctx, "", invoiceID)
	if err != nil {
		return inv, err
	}
	left := inv.AmountPaid - inv.AmountRefunded
	if in.Amount == 0 {
		in.Amount = left
	}
	if in.Amount < 0 || in.Amount > MaxAmount {
		return Invoice{}, apperr.Validation(apperr.FieldError{Field: "amount", Code: "out_of_range", Message: "A refund is a positive amount in minor units."})
	}
	if in.Amount > left || left == 0 {
		return Invoice{}, ErrRefundTooLarge
	}
	if len(in.Reason) > 200 {
		return Invoice{}, apperr.Validation(apperr.FieldError{Field: "reason", Code: "too_long", Message: "At most 200 characters."})
	}
	if in.Reason == "" {
		in.Reason = "requested_by_customer"
	}
	refundID, err := s.provider.Refund(ctx, RefundRequest{ProviderInvoiceID: inv.providerInvoiceID, ProviderPaymentID: inv.providerPaymentID,
		Amount: in.Amount, Currency: inv.Currency, IdempotencyKey: "refund:" + inv.ID + ":" + idemKey})
	if err != nil {
		return Invoice{}, err
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payment.invoices SET amount_refunded = amount_refunded + $2
			WHERE id = $1 AND amount_refunded + $2 <= amount_paid`, inv.ID, in.Amount)
		if err != nil {
			return fmt.Errorf("record refund: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrRefundTooLarge
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO payment.refunds (id, invoice_id, amount, reason, provider_refund_id) VALUES ($1, $2, $3, $4, $5)`,
			uuid.NewString(), inv.ID, in.Amount, in.Reason, refundID)
		return err
	})
	if err != nil {
		return Invoice{}, err
	}
	return s.Invoice(ctx, "", invoiceID)
}

// AdvanceClock moves the sandbox's test clock forward by d and runs every
// renewal and retry that falls due, in order. It returns ErrNotSandbox with
// another provider.
func (s *Service) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	if s.sandbox == nil {
		return time.Time{}, ErrNotSandbox
	}
	return s.sandbox.Advance(ctx, d)
}

// Clock returns the sandbox's current time, or ErrNotSandbox.
func (s *Service) Clock(ctx context.Context) (time.Time, error) {
	if s.sandbox == nil {
		return time.Time{}, ErrNotSandbox
	}
	return s.sandbox.Now(ctx)
}
