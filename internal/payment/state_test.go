package payment

import (
	"errors"
	"testing"
	"time"
)

func TestCanTransition(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from, to Status
		want     bool
	}{
		{StatusIncomplete, StatusActive, true},
		{StatusIncomplete, StatusTrialing, true},
		{StatusTrialing, StatusActive, true},
		{StatusActive, StatusPastDue, true},
		{StatusPastDue, StatusActive, true},
		{StatusPastDue, StatusCanceled, true},
		{StatusActive, StatusCanceled, true},
		{StatusActive, StatusActive, true},
		// Backwards: what an out-of-order event would ask for.
		{StatusActive, StatusIncomplete, false},
		{StatusCanceled, StatusActive, false},
		{StatusCanceled, StatusPastDue, false},
		{StatusPastDue, StatusTrialing, false},
		{StatusIncomplete, StatusPastDue, false},
	}
	for _, c := range cases {
		if got := CanTransition(c.from, c.to); got != c.want {
			t.Errorf("CanTransition(%s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

func TestProrate(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(0, 0, 30)
	cases := []struct {
		name           string
		old, new       int64
		at             time.Time
		credit, charge int64
		total          int64
	}{
		{"Halfway", 1000, 2000, start.AddDate(0, 0, 15), -500, 1000, 500},
		{"AtStart", 799, 1999, start, -799, 1999, 1200},
		{"AtEnd", 799, 1999, end, 0, 0, 0},
		{"AfterEnd", 799, 1999, end.Add(time.Hour), 0, 0, 0},
		{"OneThirdRoundsHalfUp", 1000, 1000, start.AddDate(0, 0, 20), -333, 333, 0},
		{"Downgrade never negative", 2000, 1000, start.AddDate(0, 0, 15), -1000, 500, 0},
		{"BeforeStart is the whole period", 1000, 3000, start.Add(-time.Hour), -1000, 3000, 2000},
	}
	for _, c := range cases {
		p := Prorate(c.old, c.new, start, end, c.at)
		if p.Credit != c.credit || p.Charge != c.charge || p.Total() != c.total {
			t.Errorf("%s: Prorate = %+v (total %d), want credit %d charge %d total %d", c.name, p, p.Total(), c.credit, c.charge, c.total)
		}
	}
}

func TestAddInterval(t *testing.T) {
	t.Parallel()
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 10, 0, 0, 0, time.UTC) }
	cases := []struct {
		at       time.Time
		interval string
		want     time.Time
	}{
		{d(2026, 1, 15), IntervalMonth, d(2026, 2, 15)},
		{d(2026, 1, 31), IntervalMonth, d(2026, 2, 28)},
		{d(2028, 1, 31), IntervalMonth, d(2028, 2, 29)},
		{d(2026, 12, 4), IntervalMonth, d(2027, 1, 4)},
		{d(2028, 2, 29), IntervalYear, d(2029, 2, 28)},
	}
	for _, c := range cases {
		if got := addInterval(c.at, c.interval); !got.Equal(c.want) {
			t.Errorf("addInterval(%s, %s) = %s, want %s", c.at, c.interval, got, c.want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		FormatMoney(799, "EUR"):  "€7.99",
		FormatMoney(-150, "USD"): "-$1.50",
		FormatMoney(1200, "CHF"): "12.00 CHF",
		FormatMoney(500, "JPY"):  "¥500",
		FormatMoney(5, "eur"):    "€0.05",
		FormatMoney(1234, "KWD"): "1.234 KWD",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestParseCard(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name, number, exp, cvc string
		err                    error
		fails                  bool
	}{
		{"Success", "4242 4242 4242 4242", "12/34", "123", nil, false},
		{"FailsRenewal", "4000000000000341", "01/30", "999", nil, true},
		{"Declined", "4000 0000 0000 0002", "12/34", "123", ErrCardDeclined, false},
		{"NotATestCard", "4111 1111 1111 1111", "12/34", "123", ErrCardDeclined, false},
		{"BadLuhn", "4242 4242 4242 4241", "12/34", "123", ErrCardNumber, false},
		{"Expired", "4242424242424242", "11/26", "123", ErrCardExpiry, false},
		{"ThisMonthIsFine", "4242424242424242", "12/26", "123", nil, false},
		{"BadCVC", "4242424242424242", "12/34", "12", ErrCardCVC, false},
	}
	for _, c := range cases {
		cd, err := parseCard(c.number, c.exp, c.cvc, now)
		if !errors.Is(err, c.err) && (c.err != nil || err != nil) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
		if err == nil && cd.failsRenewal != c.fails {
			t.Errorf("%s: failsRenewal %v", c.name, cd.failsRenewal)
		}
	}
}

func TestParseAdvance(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"31d": 31 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := ParseAdvance(in); err != nil || got != want {
			t.Errorf("ParseAdvance(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "soon", "-3d", "0d"} {
		if _, err := ParseAdvance(in); err == nil {
			t.Errorf("ParseAdvance(%q) accepted", in)
		}
	}
}
