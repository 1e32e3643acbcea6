package payment

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/pg"
)

type planRow struct {
	Code            string         `db:"code"`
	Name            string         `db:"name"`
	Interval        string         `db:"interval"`
	MaxStreams      int            `db:"max_streams"`
	MaxHeight       int            `db:"max_height"`
	TrialDays       int            `db:"trial_days"`
	Active          bool           `db:"active"`
	PriceID         int64          `db:"price_id"`
	Version         int            `db:"version"`
	Amount          int64          `db:"amount"`
	Currency        string         `db:"currency"`
	ProviderPriceID sql.NullString `db:"provider_price_id"`
}

func (r planRow) plan() Plan {
	return Plan{Code: r.Code, Name: r.Name, Interval: r.Interval, MaxStreams: r.MaxStreams, MaxHeight: r.MaxHeight, TrialDays: r.TrialDays, Active: r.Active,
		Price: Price{ID: r.PriceID, Version: r.Version, Amount: r.Amount, Currency: r.Currency, Display: FormatMoney(r.Amount, r.Currency), ProviderPriceID: r.ProviderPriceID.String}}
}

// planSelect joins a plan with a price: its latest unless a price id is given.
const planSelect = `SELECT p.code, p.name, p.interval, p.max_streams, p.max_height, p.trial_days, p.active,
	pr.id AS price_id, pr.version, pr.amount, pr.currency, pr.provider_price_id
	FROM payment.plans p JOIN payment.prices pr ON pr.plan_code = p.code`

const latestPrice = ` AND pr.version = (SELECT max(version) FROM payment.prices WHERE plan_code = p.code)`

func listPlans(ctx context.Context, q sqlx.QueryerContext, all bool) ([]Plan, error) {
	query := planSelect + ` WHERE true` + latestPrice
	if !all {
		query += ` AND p.active`
	}
	var rows []planRow
	if err := sqlx.SelectContext(ctx, q, &rows, query+` ORDER BY pr.amount, p.code`); err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := make([]Plan, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.plan())
	}
	return out, nil
}

func findPlan(ctx context.Context, q sqlx.QueryerContext, code string) (Plan, error) {
	var row planRow
	err := sqlx.GetContext(ctx, q, &row, planSelect+` WHERE p.code = $1`+latestPrice, code)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, ErrPlanNotFound
	}
	if err != nil {
		return Plan{}, fmt.Errorf("find plan %q: %w", code, err)
	}
	return row.plan(), nil
}

// findPlanByPrice returns the plan with the given price version.
func findPlanByPrice(ctx context.Context, q sqlx.QueryerContext, priceID int64) (Plan, error) {
	var row planRow
	err := sqlx.GetContext(ctx, q, &row, planSelect+` WHERE pr.id = $1`, priceID)
	if errors.Is(err, sql.ErrNoRows) {
		return Plan{}, ErrPlanNotFound
	}
	if err != nil {
		return Plan{}, fmt.Errorf("find price %d: %w", priceID, err)
	}
	return row.plan(), nil
}

// accountCurrency is the currency the account was billed in before, or "".
func accountCurrency(ctx context.Context, q sqlx.QueryerContext, accountID string) (string, error) {
	var cur sql.NullString
	err := sqlx.GetContext(ctx, q, &cur, `SELECT currency FROM payment.invoices WHERE account_id = $1 ORDER BY created_at DESC LIMIT 1`, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("account currency: %w", err)
	}
	return cur.String, nil
}

type subRow struct {
	ID                     string         `db:"id"`
	AccountID              string         `db:"account_id"`
	PriceID                int64          `db:"price_id"`
	Status                 string         `db:"status"`
	Provider               string         `db:"provider"`
	ProviderCustomerID     sql.NullString `db:"provider_customer_id"`
	ProviderSubscriptionID sql.NullString `db:"provider_subscription_id"`
	PeriodStart            sql.NullTime   `db:"current_period_start"`
	PeriodEnd              sql.NullTime   `db:"current_period_end"`
	CancelAtPeriodEnd      bool           `db:"cancel_at_period_end"`
	PendingPlan            sql.NullString `db:"pending_plan_code"`
	CardBrand              sql.NullString `db:"card_brand"`
	CardLast4              sql.NullString `db:"card_last4"`
	LastEventAt            sql.NullTime   `db:"last_event_at"`
	CanceledAt             sql.NullTime   `db:"canceled_at"`
	CreatedAt              time.Time      `db:"created_at"`
}

const subCols = `id, account_id, price_id, status, provider, provider_customer_id, provider_subscription_id, current_period_start,
	current_period_end, cancel_at_period_end, pending_plan_code, card_brand, card_last4, last_event_at, canceled_at, created_at`

func timePtr(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func (r subRow) subscription(ctx context.Context, q sqlx.QueryerContext) (Subscription, error) {
	plan, err := findPlanByPrice(ctx, q, r.PriceID)
	if err != nil {
		return Subscription{}, err
	}
	sub := Subscription{
		ID: r.ID, Status: Status(r.Status), Plan: plan, CurrentPeriodStart: timePtr(r.PeriodStart), CurrentPeriodEnd: timePtr(r.PeriodEnd),
		CancelAtPeriodEnd: r.CancelAtPeriodEnd, PendingPlan: r.PendingPlan.String, CanceledAt: timePtr(r.CanceledAt), CreatedAt: r.CreatedAt.UTC(),
		accountID: r.AccountID, provider: r.Provider, providerCustomerID: r.ProviderCustomerID.String, providerSubscriptionID: r.ProviderSubscriptionID.String,
	}
	if r.CardLast4.Valid {
		sub.Card = &Card{Brand: r.CardBrand.String, Last4: r.CardLast4.String}
	}
	sub.Entitlement = entitlementOf(sub)
	return sub, nil
}

func getSubscription(ctx context.Context, q sqlx.QueryerContext, query string, args ...any) (subRow, error) {
	var row subRow
	err := sqlx.GetContext(ctx, q, &row, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return row, ErrNoSubscription
	}
	if err != nil {
		return row, fmt.Errorf("find subscription: %w", err)
	}
	return row, nil
}

func findLatestSubscription(ctx context.Context, q sqlx.QueryerContext, accountID string) (Subscription, error) {
	row, err := getSubscription(ctx, q, `SELECT `+subCols+` FROM payment.subscriptions WHERE account_id = $1
		ORDER BY (status <> 'canceled') DESC, created_at DESC LIMIT 1`, accountID)
	if err != nil {
		return Subscription{}, err
	}
	return row.subscription(ctx, q)
}

func findLiveSubscriptionForUpdate(ctx context.Context, tx *sqlx.Tx, accountID string) (subRow, error) {
	return getSubscription(ctx, tx, `SELECT `+subCols+` FROM payment.subscriptions WHERE account_id = $1 AND status <> 'canceled' FOR UPDATE`, accountID)
}

// findSubscriptionForUpdate finds the subscription a provider object is
// about: by streamflix's id in its metadata, else by the provider's id.
func findSubscriptionForUpdate(ctx context.Context, tx *sqlx.Tx, provider string, md map[string]string, providerSubID string) (subRow, error) {
	if id := md["subscription_id"]; id != "" && validUUID(id) {
		row, err := getSubscription(ctx, tx, `SELECT `+subCols+` FROM payment.subscriptions WHERE id = $1 AND provider = $2 FOR UPDATE`, id, provider)
		if err == nil && (!row.ProviderSubscriptionID.Valid || providerSubID == "" || row.ProviderSubscriptionID.String == providerSubID) {
			return row, nil
		}
		if err != nil && !errors.Is(err, ErrNoSubscription) {
			return row, err
		}
	}
	if providerSubID == "" {
		return subRow{}, ErrNoSubscription
	}
	return getSubscription(ctx, tx, `SELECT `+subCols+` FROM payment.subscriptions WHERE provider = $1 AND provider_subscription_id = $2 FOR UPDATE`, provider, providerSubID)
}

func insertSubscription(ctx context.Context, tx *sqlx.Tx, id, accountID string, plan Plan, provider string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment.subscriptions (id, account_id, plan_code, price_id, status, provider) VALUES ($1, $2, $3, $4, 'incomplete', $5)`,
		id, accountID, plan.Code, plan.Price.ID, provider)
	if _, ok := pg.IsUniqueViolation(err); ok {
		return ErrSubscriptionExists
	}
	if err != nil {
		return fmt.Errorf("insert subscription: %w", err)
	}
	return nil
}

func setSubscriptionPlan(ctx context.Context, tx *sqlx.Tx, id string, plan Plan) error {
	_, err := tx.ExecContext(ctx, `UPDATE payment.subscriptions SET plan_code = $2, price_id = $3, updated_at = now() WHERE id = $1`, id, plan.Code, plan.Price.ID)
	if err != nil {
		return fmt.Errorf("set plan: %w", err)
	}
	return nil
}

func insertTransition(ctx context.Context, tx *sqlx.Tx, subID string, from, to Status, cause, eventID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO payment.transitions (subscription_id, from_status, to_status, cause, event_id, at)
		VALUES ($1, nullif($2, ''), $3, $4, nullif($5, ''), $6)`, subID, string(from), string(to), cause, eventID, at)
	if err != nil {
		return fmt.Errorf("record transition: %w", err)
	}
	return nil
}

func listTransitions(ctx context.Context, q sqlx.QueryerContext, subID string) ([]Transition, error) {
	var rows []struct {
		From  sql.NullString `db:"from_status"`
		To    string         `db:"to_status"`
		Cause string         `db:"cause"`
		At    time.Time      `db:"at"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT from_status, to_status, cause, at FROM payment.transitions WHERE subscription_id = $1 ORDER BY id`, subID); err != nil {
		return nil, fmt.Errorf("list transitions: %w", err)
	}
	out := make([]Transition, 0, len(rows))
	for _, r := range rows {
		out = append(out, Transition{From: Status(r.From.String), To: Status(r.To), Cause: r.Cause, At: r.At.UTC()})
	}
	return out, nil
}

type invoiceRow struct {
	ID                string         `db:"id"`
	Number            string         `db:"number"`
	SubscriptionID    string         `db:"subscription_id"`
	AccountID         string         `db:"account_id"`
	ProviderInvoiceID string         `db:"provider_invoice_id"`
	ProviderPaymentID sql.NullString `db:"provider_payment_id"`
	Status            string         `db:"status"`
	Reason            string         `db:"reason"`
	Currency          string         `db:"currency"`
	Subtotal          int64          `db:"subtotal"`
	Tax               int64          `db:"tax"`
	Total             int64          `db:"total"`
	AmountPaid        int64          `db:"amount_paid"`
	AmountRefunded    int64          `db:"amount_refunded"`
	PeriodStart       time.Time      `db:"period_start"`
	PeriodEnd         time.Time      `db:"period_end"`
	CreatedAt         time.Time      `db:"created_at"`
	PaidAt            sql.NullTime   `db:"paid_at"`
}

const invoiceCols = `id, number, subscription_id, account_id, provider_invoice_id, provider_payment_id, status, reason, currency,
	subtotal, tax, total, amount_paid, amount_refunded, period_start, period_end, created_at, paid_at`

func (r invoiceRow) invoice() Invoice {
	return Invoice{ID: r.ID, Number: r.Number, SubscriptionID: r.SubscriptionID, Status: r.Status, Reason: r.Reason, Currency: r.Currency,
		Subtotal: r.Subtotal, Tax: r.Tax, Total: r.Total, AmountPaid: r.AmountPaid, AmountRefunded: r.AmountRefunded,
		PeriodStart: r.PeriodStart.UTC(), PeriodEnd: r.PeriodEnd.UTC(), CreatedAt: r.CreatedAt.UTC(), PaidAt: timePtr(r.PaidAt),
		ReceiptURL: "/api/v1/billing/invoices/" + r.ID + "/receipt", Lines: []InvoiceLine{},
		accountID: r.AccountID, providerInvoiceID: r.ProviderInvoiceID, providerPaymentID: r.ProviderPaymentID.String}
}

func listInvoices(ctx context.Context, q sqlx.QueryerContext, accountID string) ([]Invoice, error) {
	var rows []invoiceRow
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT `+invoiceCols+` FROM payment.invoices WHERE account_id = $1 ORDER BY created_at DESC, number DESC LIMIT 200`, accountID); err != nil {
		return nil, fmt.Errorf("list invoices: %w", err)
	}
	out := make([]Invoice, 0, len(rows))
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.invoice())
		ids = append(ids, r.ID)
	}
	lines, err := invoiceLines(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	for i := range out {
		if l := lines[out[i].ID]; l != nil {
			out[i].Lines = l
		}
	}
	return out, nil
}

func findInvoice(ctx context.Context, q sqlx.QueryerContext, id string) (Invoice, error) {
	var row invoiceRow
	err := sqlx.GetContext(ctx, q, &row, `SELECT `+invoiceCols+` FROM payment.invoices WHERE id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Invoice{}, ErrInvoiceNotFound
	}
	if err != nil {
		return Invoice{}, fmt.Errorf("find invoice %s: %w", id, err)
	}
	inv := row.invoice()
	lines, err := invoiceLines(ctx, q, []string{id})
	if err != nil {
		return Invoice{}, err
	}
	if l := lines[id]; l != nil {
		inv.Lines = l
	}
	return inv, nil
}

func invoiceLines(ctx context.Context, q sqlx.QueryerContext, ids []string) (map[string][]InvoiceLine, error) {
	out := map[string][]InvoiceLine{}
	if len(ids) == 0 {
		return out, nil
	}
	query, args, err := sqlx.In(`SELECT invoice_id, description, amount, quantity, period_start, period_end FROM payment.invoice_lines WHERE invoice_id IN (?) ORDER BY id`, ids)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		InvoiceID   string    `db:"invoice_id"`
		Description string    `db:"description"`
		Amount      int64     `db:"amount"`
		Quantity    int       `db:"quantity"`
		PeriodStart time.Time `db:"period_start"`
		PeriodEnd   time.Time `db:"period_end"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, sqlx.Rebind(sqlx.DOLLAR, query), args...); err != nil {
		return nil, fmt.Errorf("invoice lines: %w", err)
	}
	for _, r := range rows {
		out[r.InvoiceID] = append(out[r.InvoiceID], InvoiceLine{Description: r.Description, Amount: r.Amount, Quantity: r.Quantity,
			PeriodStart: r.PeriodStart.UTC(), PeriodEnd: r.PeriodEnd.UTC()})
	}
	return out, nil
}
