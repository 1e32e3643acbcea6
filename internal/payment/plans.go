package payment

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/platform/apperr"
	"github.com/streamflix/streamflix/internal/platform/pg"
)

// MaxAmount is the largest price or refund accepted, in minor units
// (1,000,000.00 in a two-digit currency): anything above is a typo.
const MaxAmount = 100_000_000

// Heights a plan may cap video at.
var validHeights = map[int]bool{480: true, 720: true, 1080: true, 1440: true, 2160: true}

var (
	planCode = regexp.MustCompile(`^[a-z][a-z0-9_]{1,31}$`)
	isoCode  = regexp.MustCompile(`^[A-Z]{3}$`)
)

// PlanInput creates a plan (admin).
type PlanInput struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Interval   string `json:"interval"`
	MaxStreams int    `json:"max_streams"`
	MaxHeight  int    `json:"max_height"`
	TrialDays  int    `json:"trial_days"`
	Amount     int64  `json:"amount"`
	Currency   string `json:"currency"`
	// ProviderPriceID is Stripe's price for this amount, if made there.
	ProviderPriceID string `json:"provider_price_id,omitempty"`
}

// PlanPatch changes a plan (admin); absent fields stay. A new amount or
// currency makes a new price version: subscribers keep theirs until their
// next period.
type PlanPatch struct {
	Name            *string `json:"name,omitempty"`
	MaxStreams      *int    `json:"max_streams,omitempty"`
	MaxHeight       *int    `json:"max_height,omitempty"`
	TrialDays       *int    `json:"trial_days,omitempty"`
	Active          *bool   `json:"active,omitempty"`
	Amount          *int64  `json:"amount,omitempty"`
	Currency        *string `json:"currency,omitempty"`
	ProviderPriceID *string `json:"provider_price_id,omitempty"`
}

func checkPlanFields(name string, streams, height, trial int, amount int64, currency string) []apperr.FieldError {
	var fe []apperr.FieldError
	if n := len(strings.TrimSpace(name)); n < 1 || n > 80 {
		fe = append(fe, apperr.FieldError{Field: "name", Code: "invalid", Message: "A name of 1 to 80 characters."})
	}
	if streams < 1 || streams > 16 {
		fe = append(fe, apperr.FieldError{Field: "max_streams", Code: "out_of_range", Message: "From 1 to 16 streams."})
	}
	if !validHeights[height] {
		fe = append(fe, apperr.FieldError{Field: "max_height", Code: "invalid", Message: "One of 480, 720, 1080, 1440, 2160."})
	}
	if trial < 0 || trial > 90 {
		fe = append(fe, apperr.FieldError{Field: "trial_days", Code: "out_of_range", Message: "From 0 to 90 days."})
	}
	if amount < 1 || amount > MaxAmount {
		fe = append(fe, apperr.FieldError{Field: "amount", Code: "out_of_range", Message: fmt.Sprintf("A price in minor units, from 1 to %d.", MaxAmount)})
	}
	if !isoCode.MatchString(currency) {
		fe = append(fe, apperr.FieldError{Field: "currency", Code: "invalid", Message: "An ISO 4217 code in capitals, such as EUR."})
	}
	return fe
}

// CreatePlan adds a plan with its first price. It returns ErrPlanExists
// or a validation error naming the fields at fault.
func (s *Service) CreatePlan(ctx context.Context, in PlanInput) (Plan, error) {
	fe := checkPlanFields(in.Name, in.MaxStreams, in.MaxHeight, in.TrialDays, in.Amount, in.Currency)
	if !planCode.MatchString(in.Code) {
		fe = append(fe, apperr.FieldError{Field: "code", Code: "invalid", Message: "Lower-case letters, digits and _, 2 to 32 characters."})
	}
	if in.Interval != IntervalMonth && in.Interval != IntervalYear {
		fe = append(fe, apperr.FieldError{Field: "interval", Code: "invalid", Message: "month or year."})
	}
	if len(fe) > 0 {
		return Plan{}, apperr.Validation(fe...)
	}
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO payment.plans (code, name, interval, max_streams, max_height, trial_days) VALUES ($1, $2, $3, $4, $5, $6)`,
			in.Code, strings.TrimSpace(in.Name), in.Interval, in.MaxStreams, in.MaxHeight, in.TrialDays)
		if _, ok := pg.IsUniqueViolation(err); ok {
			return ErrPlanExists
		}
		if err != nil {
			return fmt.Errorf("insert plan: %w", err)
		}
		_, err = insertPrice(ctx, tx, in.Code, in.Amount, in.Currency, in.ProviderPriceID)
		return err
	})
	if err != nil {
		return Plan{}, err
	}
	return findPlan(ctx, s.db, in.Code)
}

// UpdatePlan changes a plan. It returns ErrPlanNotFound or a validation error.
func (s *Service) UpdatePlan(ctx context.Context, code string, in PlanPatch) (Plan, error) {
	p, err := findPlan(ctx, s.db, code)
	if err != nil {
		return p, err
	}
	name, streams, height, trial, amount, currency := p.Name, p.MaxStreams, p.MaxHeight, p.TrialDays, p.Price.Amount, p.Price.Currency
	if in.Name != nil {
		name = *in.Name
	}
	if in.MaxStreams != nil {
		streams = *in.MaxStreams
	}
	if in.MaxHeight != nil {
		height = *in.MaxHeight
	}
	if in.TrialDays != nil {
		trial = *in.TrialDays
	}
	if in.Amount != nil {
		amount = *in.Amount
	}
	if in.Currency != nil {
		currency = *in.Currency
	}
	if fe := checkPlanFields(name, streams, height, trial, amount, currency); len(fe) > 0 {
		return Plan{}, apperr.Validation(fe...)
	}
	active := p.Active
	if in.Active != nil {
		active = *in.Active
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE payment.plans SET name = $2, max_streams = $3, max_height = $4, trial_days = $5, active = $6, updated_at = now()
			WHERE code = $1`, code, strings.TrimSpace(name), streams, height, trial, active); err != nil {
			return fmt.Errorf("update plan: %w", err)
		}
		ppid := p.Price.ProviderPriceID
		if in.ProviderPriceID != nil {
			ppid = *in.ProviderPriceID
		}
		if amount != p.Price.Amount || currency != p.Price.Currency || ppid != p.Price.ProviderPriceID {
			priceID, err := insertPrice(ctx, tx, code, amount, currency, ppid)
			if err != nil {
				return err
			}
			// Subscribers move to the new price at their next period.
			_, err = s.queue.InsertTx(ctx, tx.Tx, RepriceArgs{Plan: code, PriceID: priceID}, nil)
			return err
		}
		return nil
	})
	if err != nil {
		return Plan{}, err
	}
	return findPlan(ctx, s.db, code)
}

// DeactivatePlan stops offering a plan; its subscribers keep it.
func (s *Service) DeactivatePlan(ctx context.Context, code string) error {
	f := false
	_, err := s.UpdatePlan(ctx, code, PlanPatch{Active: &f})
	return err
}

func insertPrice(ctx context.Context, tx *sqlx.Tx, code string, amount int64, currency, providerPriceID string) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, `INSERT INTO payment.prices (plan_code, version, amount, currency, provider_price_id)
		SELECT $1, coalesce(max(version), 0) + 1, $2, $3, nullif($4, '') FROM payment.prices WHERE plan_code = $1 RETURNING id`, code, amount, currency, providerPriceID)
	if err != nil {
		return 0, fmt.Errorf("insert price: %w", err)
	}
	return id, nil
}

// reprice schedules every live subscription of plan on an older price
// (and with no plan change pending) to move to priceID at its next
// renewal. Each is its own provider call and transaction: a crash
// half-way leaves the rest for the job's retry.
func (s *Service) reprice(ctx context.Context, plan string, priceID int64) error {
	p, err := findPlanByPrice(ctx, s.db, priceID)
	if err != nil {
		return err
	}
	var subs []struct {
		ID          string `db:"id"`
		AccountID   string `db:"account_id"`
		PriceID     int64  `db:"price_id"`
		ProviderSub string `db:"provider_subscription_id"`
	}
	if err := s.db.SelectContext(ctx, &subs, `SELECT id, account_id, price_id, provider_subscription_id FROM payment.subscriptions
		WHERE plan_code = $1 AND price_id < $2 AND status IN ('trialing', 'active', 'past_due') AND pending_plan_code IS NULL
		AND provider_subscription_id IS NOT NULL AND provider = $3`, plan, priceID, s.provider.Name()); err != nil {
		return fmt.Errorf("subscriptions to reprice: %w", err)
	}
	for _, sub := range subs {
		ps, err := s.provider.ChangePrice(ctx, ChangeRequest{ProviderSubscriptionID: sub.ProviderSub, Plan: p, Price: p.Price,
			Metadata: subscriptionMetadata(sub.ID, sub.AccountID, priceID, false, sub.PriceID), IdempotencyKey: fmt.Sprintf("reprice:%s:%d", sub.ID, priceID)})
		if err != nil {
			return fmt.Errorf("reprice %s: %w", sub.ID, err)
		}
		if err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
			_, err := s.applySubscriptionTx(ctx, tx, ps, "admin:reprice", "")
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}
