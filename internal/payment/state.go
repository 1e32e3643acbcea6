package payment

import (
	"fmt"
	"strings"
	"time"
)

// Status is a subscription's state. Names are Stripe's.
type Status string

// The states of a subscription.
const (
	// StatusIncomplete: checkout started, nothing paid yet.
	StatusIncomplete Status = "incomplete"
	// StatusTrialing: in the plan's free trial.
	StatusTrialing Status = "trialing"
	// StatusActive: paid for the current period.
	StatusActive Status = "active"
	// StatusPastDue: a renewal failed and is being retried; access is kept
	// until the last retry.
	StatusPastDue Status = "past_due"
	// StatusCanceled: ended; a canceled subscription never comes back (a
	// new checkout makes a new one).
	StatusCanceled Status = "canceled"
)

// transitions is the state machine: the states each state may move to.
// Staying in the same state is always allowed and is not a transition.
var transitions = map[Status][]Status{
	StatusIncomplete: {StatusTrialing, StatusActive, StatusCanceled},
	StatusTrialing:   {StatusActive, StatusPastDue, StatusCanceled},
	StatusActive:     {StatusPastDue, StatusCanceled},
	StatusPastDue:    {StatusActive, StatusCanceled},
	StatusCanceled:   nil,
}

// CanTransition reports whether a subscription may move from one state to
// another. An event that asks for any other move is out of order and is
// not applied.
func CanTransition(from, to Status) bool {
	if from == to {
		return true
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Live reports whether the subscription still counts as the account's one
// subscription (a new checkout is refused while it does).
func (s Status) Live() bool {
	return s == StatusTrialing || s == StatusActive || s == StatusPastDue
}

// Entitled reports whether the status grants access to watch.
func (s Status) Entitled() bool { return s.Live() }

// providerStatus maps a Stripe subscription status onto ours.
// incomplete_expired ends the subscription; unpaid (Stripe keeps the
// subscription but stops retrying) counts as past_due; paused as past_due.
func providerStatus(s string) (Status, bool) {
	switch s {
	case "incomplete":
		return StatusIncomplete, true
	case "trialing":
		return StatusTrialing, true
	case "active":
		return StatusActive, true
	case "past_due", "unpaid", "paused":
		return StatusPastDue, true
	case "canceled", "incomplete_expired":
		return StatusCanceled, true
	}
	return "", false
}

// Intervals of a plan.
const (
	IntervalMonth = "month"
	IntervalYear  = "year"
)

// addInterval returns t plus one billing interval (calendar months, as
// Stripe bills: Jan 31 + 1 month is Mar 3 in Go, so clamp to the month's
// last day as Stripe does).
func addInterval(t time.Time, interval string) time.Time {
	months := 1
	if interval == IntervalYear {
		months = 12
	}
	y, m, d := t.Date()
	first := time.Date(y, m+time.Month(months), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

// RetrySchedule is when a failed renewal is tried again, counted from the
// failed renewal: after 1, 3 and 5 days. After the last retry fails the
// subscription is canceled.
var RetrySchedule = []time.Duration{24 * time.Hour, 3 * 24 * time.Hour, 5 * 24 * time.Hour}

// Proration is an upgrade's charge for the rest of the period: the unused
// time on the old price as a credit and the remaining time on the new price.
type Proration struct {
	Credit int64 // negative or zero: unused time on the old price
	Charge int64 // remaining time on the new price
}

// Total is what the proration invoice charges (never below zero).
func (p Proration) Total() int64 {
	if t := p.Credit + p.Charge; t > 0 {
		return t
	}
	return 0
}

// Prorate splits the period [start, end) at at, as Stripe does, to the
// second: the unused share of oldAmount is credited and the same share of
// newAmount is charged. Amounts round half away from zero. At or after the
// period end nothing is left to prorate; before the start the whole period
// is.
func Prorate(oldAmount, newAmount int64, start, end, at time.Time) Proration {
	total := int64(end.Sub(start) / time.Second)
	if total <= 0 || !at.Before(end) {
		return Proration{}
	}
	left := int64(end.Sub(at) / time.Second)
	if left > total {
		left = total
	}
	// Prices are positive, so rounding half up is half away from zero.
	share := func(amount int64) int64 { return (2*amount*left + total) / (2 * total) }
	return Proration{Credit: -share(oldAmount), Charge: share(newAmount)}
}

// currencyExponent is the number of minor-unit digits of a currency
// (ISO 4217); 2 unless listed.
var currencyExponent = map[string]int{"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}

var currencySymbol = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// FormatMoney writes an amount in minor units for people: "€7.99",
// "-$1.50", "12.00 CHF", "¥500".
func FormatMoney(amount int64, currency string) string {
	currency = strings.ToUpper(currency)
	exp, ok := currencyExponent[currency]
	if !ok {
		exp = 2
	}
	sign := ""
	if amount < 0 {
		sign, amount = "-", -amount
	}
	num := fmt.Sprint(amount)
	if exp > 0 {
		div := int64(1)
		for i := 0; i < exp; i++ {
			div *= 10
		}
		num = fmt.Sprintf("%d.%0*d", amount/div, exp, amount%div)
	}
	if sym, ok := currencySymbol[currency]; ok {
		return sign + sym + num
	}
	return sign + num + " " + currency
}
