package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stripe/stripe-go/v82/webhook"

	"github.com/streamflix/streamflix/internal/payment"
)

// billing is a test bundle: one instance with the sandbox provider, and a
// verified subscriber.
type billing struct {
	*identity
	email string
	tok   string
}

func setupBilling(t *testing.T, email string) *billing {
	t.Helper()
	return setupBillingWith(t, email, false)
}

// setupBillingWith is setupBilling, with two instances on one database
// when two is set.
func setupBillingWith(t *testing.T, email string, two bool) *billing {
	t.Helper()
	sink := startSMTPSink(t)
	id := setupIdentityWith(t, two, map[string]string{"PAYMENT_WEBHOOK_SECRET": "whsec_test_billing_secret",
		"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port, "SMTP_TLS": "none",
		"MAIL_DIR": t.TempDir()}) // not where mailTo looks: only SMTP reaches it
	// Mail arrives over SMTP; the sink files each message where mailTo looks.
	sink.setDir(id.mailDir)
	b := &billing{identity: id, email: email}
	id.signUp(email)
	tok, _ := id.mailTo(email, "erify")
	st, body := b.call(id.a.URL(), "POST", "/api/v1/account/verify-email", "", map[string]string{"token": tok}, nil)
	wantStatus(t, "verify", st, body, http.StatusOK, "")
	b.tok = id.login(newClient(t, id.a.URL()), email, goodPassword, "Laptop").AccessToken
	return b
}

// smtpSink is a real SMTP server (emersion/go-smtp) on loopback that
// files each message it receives as an .eml file in a directory.
type smtpSink struct {
	port string
	mu   sync.Mutex
	dir  string
	n    int
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	k := &smtpSink{port: port}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{k: k}, nil }))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return k
}

func (k *smtpSink) setDir(dir string) {
	k.mu.Lock()
	k.dir = dir
	k.mu.Unlock()
}

type sinkSession struct{ k *smtpSink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*sinkSession) Reset()                               {}
func (*sinkSession) Logout() error                        { return nil }
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.k.mu.Lock()
	defer x.k.mu.Unlock()
	x.k.n++
	return os.WriteFile(filepath.Join(x.k.dir, fmt.Sprintf("smtp-%04d.eml", x.k.n)), b, 0o600)
}

// call sends a request through the package's apiClient and decodes a JSON
// answer into out (if not nil; an error status then fails the test).
func (b *billing) call(base, method, path, tok string, body any, out any) (int, map[string]any) {
	b.t.Helper()
	r := newClient(b.t, base).as(tok).do(method, path, body)
	if out != nil {
		r.decode(out)
	}
	return r.StatusCode, r.json()
}

// get is a GET through apiClient, answered whole.
func (b *billing) get(path, tok string) *apiResponse {
	b.t.Helper()
	return newClient(b.t, b.a.URL()).as(tok).do("GET", path, nil)
}

func wantStatus(t *testing.T, what string, got int, body map[string]any, want int, code string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d; body %v", what, got, want, body)
	}
	if code != "" && body["code"] != code {
		t.Fatalf("%s: code %v, want %s; body %v", what, body["code"], code, body)
	}
}

// money sends a money-moving request with an Idempotency-Key.
func (b *billing) money(path, key string, body any) (int, map[string]any, http.Header) {
	b.t.Helper()
	return b.moneyAs(b.tok, path, key, body)
}

func (b *billing) moneyAs(tok, path, key string, body any) (int, map[string]any, http.Header) {
	b.t.Helper()
	if body == nil {
		body = map[string]any{}
	}
	r := newClient(b.t, b.a.URL()).as(tok).do("POST", path, body, header("Idempotency-Key", key))
	return r.StatusCode, r.json(), r.Header
}

// pay posts the card form to a sandbox page as an API client does
// (Accept: application/json: the answer names the return URL instead of
// redirecting to it). It returns the status and the return URL or the
// problem's code.
func (b *billing) pay(pageURL, number string) (int, string) {
	b.t.Helper()
	u, err := url.Parse(pageURL)
	if err != nil {
		b.t.Fatal(err)
	}
	form := url.Values{"card_number": {number}, "exp": {"12/34"}, "cvc": {"123"}}
	r := newClient(b.t, b.a.URL()).do("POST", u.Path, raw("application/x-www-form-urlencoded", []byte(form.Encode())), header("Accept", "application/json"))
	m := r.json()
	if r.StatusCode == http.StatusOK {
		s, _ := m["redirect_url"].(string)
		return r.StatusCode, s
	}
	c, _ := m["code"].(string)
	return r.StatusCode, c
}

type subView struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Plan   struct {
		Code string `json:"code"`
	} `json:"plan"`
	CurrentPeriodEnd  time.Time `json:"current_period_end"`
	CancelAtPeriodEnd bool      `json:"cancel_at_period_end"`
	Card              struct {
		Last4 string `json:"last4"`
	} `json:"card"`
	Entitlement struct {
		Active     bool `json:"active"`
		MaxStreams int  `json:"max_streams"`
		MaxHeight  int  `json:"max_height"`
	} `json:"entitlement"`
}

// waitSub polls GET /subscription until ok holds (webhooks are applied by jobs).
func (b *billing) waitSub(what string, ok func(subView) bool) subView {
	b.t.Helper()
	var s subView
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp := b.get("/api/v1/subscription", b.tok)
		if resp.StatusCode == http.StatusOK {
			s = subView{}
			_ = json.Unmarshal(resp.body, &s)
			if ok(s) {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: subscription never got there; last %+v", what, s)
	return s
}

func (b *billing) clock() time.Time {
	b.t.Helper()
	var c struct {
		Now time.Time `json:"now"`
	}
	b.call(b.a.URL(), "GET", "/api/v1/admin/billing/clock", testAdminToken, nil, &c)
	return c.Now
}

func (b *billing) advance(d time.Duration) {
	b.t.Helper()
	var c struct {
		Now time.Time `json:"now"`
	}
	b.call(b.a.URL(), "POST", "/api/v1/admin/billing/clock/advance", testAdminToken, map[string]string{"duration": d.String()}, &c)
}

// advanceTo moves the clock just past t.
func (b *billing) advanceTo(t time.Time) {
	b.t.Helper()
	b.advance(t.Sub(b.clock()) + time.Hour)
}

func (b *billing) invoiceCount() int {
	b.t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	b.call(b.a.URL(), "GET", "/api/v1/billing/invoices", b.tok, nil, &l)
	return len(l.Items)
}

func (b *billing) subscribe(plan, number string) string {
	b.t.Helper()
	st, co, _ := b.money("/api/v1/billing/checkout", "co-"+plan+number, map[string]string{"plan": plan})
	wantStatus(b.t, "checkout", st, co, http.StatusCreated, "")
	curl, _ := co["checkout_url"].(string)
	if !strings.Contains(curl, "/billing/sandbox/checkout/") {
		b.t.Fatalf("checkout_url %q", curl)
	}
	return curl
}

// TestBillingLifecycle is the end-to-end story over HTTP with the
// sandbox: subscribe with 4242, receipt; a month later renewed with a
// second receipt; card 0341 fails the next renewal: past_due and a failure
// email; the retries fail: canceled and no entitlement.
func TestBillingLifecycle(t *testing.T) {
	t.Parallel()
	b := setupBilling(t, "payer@example.com")
	base := b.a.URL()

	var plans struct {
		Items []struct {
			Code  string `json:"code"`
			Price struct {
				Amount   int64  `json:"amount"`
				Currency string `json:"currency"`
			} `json:"price"`
			MaxStreams int `json:"max_streams"`
		} `json:"items"`
	}
	b.call(base, "GET", "/api/v1/plans", "", nil, &plans)
	if len(plans.Items) != 3 || plans.Items[0].Code != "basic" || plans.Items[2].Code != "premium" || plans.Items[2].MaxStreams != 4 {
		t.Fatalf("plans %+v", plans.Items)
	}
	st, body := b.call(base, "GET", "/api/v1/subscription", b.tok, nil, nil)
	wantStatus(t, "no subscription yet", st, body, http.StatusNotFound, "subscription_not_found")

	curl := b.subscribe("standard", "4242")
	// The hosted page is a form.
	page := b.get(mustPath(t, curl), "")
	if page.StatusCode != 200 || !strings.Contains(string(page.body), `name="card_number"`) {
		t.Fatalf("checkout page: %d %.300s", page.StatusCode, page.body)
	}
	if st, loc := b.pay(curl, "4242 4242 4242 4242"); st != http.StatusOK || !strings.Contains(loc, "checkout=success") {
		t.Fatalf("pay: %d %s", st, loc)
	}
	s := b.waitSub("after checkout", func(s subView) bool { return s.Status == "active" && s.Card.Last4 == "4242" })
	if !s.Entitlement.Active || s.Entitlement.MaxStreams != 2 || s.Entitlement.MaxHeight != 1080 || s.Plan.Code != "standard" {
		t.Fatalf("active subscription %+v", s)
	}
	_, text := b.mailTo(b.email, "receipt")
	if !strings.Contains(text, "13.99") {
		t.Fatalf("receipt without the amount:\n%s", text)
	}
	b.mailTo(b.email, "Welcome to streamflix Standard")

	// A second checkout while active is refused.
	st, body, _ = b.money("/api/v1/billing/checkout", "again", map[string]string{"plan": "premium"})
	wantStatus(t, "second checkout", st, body, http.StatusConflict, "subscription_exists")

	// A month later: renewed, with a second receipt.
	firstEnd := s.CurrentPeriodEnd
	b.advanceTo(firstEnd)
	s = b.waitSub("renewed", func(s subView) bool { return s.CurrentPeriodEnd.After(firstEnd) && s.Status == "active" })
	b.mailTo(b.email, "receipt")
	if n := b.invoiceCount(); n != 2 {
		t.Fatalf("%d invoices after the renewal, want 2", n)
	}

	// The card that fails every renewal, through the portal.
	var portal struct {
		URL string `json:"url"`
	}
	b.call(base, "POST", "/api/v1/billing/portal", b.tok, nil, &portal)
	pst, ploc := b.pay(portal.URL+"/card", "4000 0000 0000 0341")
	if pst != http.StatusOK {
		t.Fatalf("change card: %d %s", pst, ploc)
	}
	b.waitSub("card changed", func(s subView) bool { return s.Card.Last4 == "0341" })

	secondEnd := s.CurrentPeriodEnd
	b.advanceTo(secondEnd)
	s = b.waitSub("past due", func(s subView) bool { return s.Status == "past_due" })
	if !s.Entitlement.Active {
		t.Fatal("past_due lost access during the retry window")
	}
	_, text = b.mailTo(b.email, "payment for streamflix failed")
	if !strings.Contains(text, "https://streamflix.test/account/billing") {
		t.Fatalf("failure email without a link to fix it:\n%s", text)
	}

	// Through the retries (1, 3 and 5 days): canceled, entitlement gone.
	b.advance(6 * 24 * time.Hour)
	s = b.waitSub("canceled", func(s subView) bool { return s.Status == "canceled" })
	if s.Entitlement.Active {
		t.Fatalf("canceled subscription still entitled: %+v", s)
	}
	b.mailTo(b.email, "subscription has ended")

	// The admin view records each transition with its cause.
	var adm struct {
		Transitions []struct{ From, To, Cause string } `json:"transitions"`
	}
	b.call(base, "GET", "/api/v1/admin/billing/accounts/"+b.accountID()+"/subscription", testAdminToken, nil, &adm)
	var path []string
	for _, tr := range adm.Transitions {
		path = append(path, tr.To)
	}
	if got := strings.Join(path, ">"); got != "incomplete>active>past_due>canceled" {
		t.Fatalf("transitions %s (%+v)", got, adm.Transitions)
	}
}

func mustPath(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

func (b *billing) accountID() string {
	b.t.Helper()
	var acc struct {
		ID string `json:"id"`
	}
	b.call(b.a.URL(), "GET", "/api/v1/account", b.tok, nil, &acc)
	return acc.ID
}

// TestBillingFaults: the bad inputs and faults of the issue.
func TestBillingFaults(t *testing.T) {
	t.Parallel()
	b := setupBilling(t, "faults@example.com")
	base := b.a.URL()

	t.Run("UnverifiedAccount", func(t *testing.T) {
		b.signUp("unverified@example.com")
		tok := b.login(newClient(t, base), "unverified@example.com", goodPassword, "Phone").AccessToken
		st, body := b.call(base, "POST", "/api/v1/billing/checkout", tok, map[string]string{"plan": "basic"}, nil)
		// Without the header first: 400.
		wantStatus(t, "no key", st, body, http.StatusBadRequest, "idempotency_key_required")
		st, body, _ = b.moneyAs(tok, "/api/v1/billing/checkout", "k1", map[string]string{"plan": "basic"})
		wantStatus(t, "unverified", st, body, http.StatusForbidden, "account_not_verified")
	})
	t.Run("InactivePlan", func(t *testing.T) {
		st, body := b.call(base, "PATCH", "/api/v1/admin/billing/plans/premium", testAdminToken, map[string]any{"active": false}, nil)
		wantStatus(t, "deactivate", st, body, http.StatusOK, "")
		st, body, _ = b.money("/api/v1/billing/checkout", "inactive", map[string]string{"plan": "premium"})
		wantStatus(t, "inactive plan", st, body, http.StatusUnprocessableEntity, "plan_inactive")
		b.call(base, "PATCH", "/api/v1/admin/billing/plans/premium", testAdminToken, map[string]any{"active": true}, nil)
	})
	t.Run("CurrencyMismatch", func(t *testing.T) {
		st, body, _ := b.money("/api/v1/billing/checkout", "usd", map[string]string{"plan": "basic", "currency": "USD"})
		wantStatus(t, "currency", st, body, http.StatusUnprocessableEntity, "currency_mismatch")
	})
	t.Run("AbsurdAdminAmounts", func(t *testing.T) {
		for _, amt := range []int64{-100, 0, 100_000_000_000} {
			st, body := b.call(base, "PATCH", "/api/v1/admin/billing/plans/basic", testAdminToken, map[string]any{"amount": amt}, nil)
			wantStatus(t, fmt.Sprint("amount ", amt), st, body, http.StatusUnprocessableEntity, "validation_failed")
		}
		st, body := b.call(base, "POST", "/api/v1/admin/billing/plans", testAdminToken, map[string]any{"code": "family", "name": "Family", "interval": "week",
			"max_streams": 99, "max_height": 4320, "amount": 999, "currency": "euro"}, nil)
		wantStatus(t, "bad plan", st, body, http.StatusUnprocessableEntity, "validation_failed")
		if errs, _ := body["errors"].([]any); len(errs) != 4 {
			t.Fatalf("want 4 field errors (interval, max_streams, max_height, currency): %v", body)
		}
	})
	t.Run("DeclinedCard", func(t *testing.T) {
		curl := b.subscribe("basic", "0002")
		st, code := b.pay(curl, "4000 0000 0000 0002")
		if st != http.StatusPaymentRequired || code != "card_declined" {
			t.Fatalf("declined card: %d %s", st, code)
		}
		// A browser gets the page again, with the reason.
		form := url.Values{"card_number": {"4000000000000002"}, "exp": {"12/34"}, "cvc": {"123"}}
		r := newClient(t, base).do("POST", mustPath(t, curl), raw("application/x-www-form-urlencoded", []byte(form.Encode())))
		if r.StatusCode != http.StatusPaymentRequired || !strings.Contains(string(r.body), "Your card was declined.") || !strings.Contains(string(r.body), `name="card_number"`) {
			t.Fatalf("declined card page: %d %.300s", r.StatusCode, r.body)
		}
		s := b.waitSub("incomplete", func(s subView) bool { return s.Status == "incomplete" })
		if s.Entitlement.Active {
			t.Fatal("incomplete subscription entitled")
		}
	})
	t.Run("IdempotencyKey", func(t *testing.T) {
		st1, a, _ := b.money("/api/v1/billing/checkout", "same-key", map[string]string{"plan": "basic"})
		st2, c, h := b.money("/api/v1/billing/checkout", "same-key", map[string]string{"plan": "basic"})
		if st1 != http.StatusCreated || st2 != st1 || a["checkout_url"] != c["checkout_url"] || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %v / %d %v %v", st1, a, st2, c, h)
		}
		st, body, _ := b.money("/api/v1/billing/checkout", "same-key", map[string]string{"plan": "standard"})
		wantStatus(t, "key reused", st, body, http.StatusUnprocessableEntity, "idempotency_key_reused")
	})
	t.Run("AbandonedCheckoutExpires", func(t *testing.T) {
		first := b.subscribe("basic", "abandoned")
		second := b.subscribe("standard", "abandoned")
		if st, code := b.pay(first, "4242424242424242"); st != http.StatusGone || code != "checkout_expired" {
			t.Fatalf("paying an abandoned checkout: %d %s", st, code)
		}
		if st, _ := b.pay(second, "4242424242424242"); st != http.StatusOK {
			t.Fatalf("paying the current checkout: %d", st)
		}
		s := b.waitSub("active", func(s subView) bool { return s.Status == "active" })
		if s.Plan.Code != "standard" {
			t.Fatalf("plan %s, want standard", s.Plan.Code)
		}
		var n int
		_ = b.db.Get(&n, `SELECT count(*) FROM payment.sandbox_subscriptions`)
		if n != 1 {
			t.Fatalf("%d provider subscriptions, want 1", n)
		}
	})
	t.Run("BadSignature", func(t *testing.T) {
		payload := []byte(`{"id":"evt_forged","object":"event","type":"customer.subscription.updated","created":1,"data":{"object":{}}}`)
		for name, sig := range map[string]string{
			"missing": "",
			"wrong":   "t=" + fmt.Sprint(time.Now().Unix()) + ",v1=" + strings.Repeat("ab", 32),
			"old": webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: payload, Secret: "whsec_test_billing_secret",
				Timestamp: time.Now().Add(-10 * time.Minute)}).Header,
		} {
			newClient(t, base).do("POST", "/api/v1/billing/webhooks/sandbox", raw("application/json", payload), header("Stripe-Signature", sig)).
				want(name+" signature", http.StatusBadRequest, "signature_invalid")
		}
	})
}

type invoiceView struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	Reason string `json:"reason"`
	Total  int64  `json:"total"`
	Tax    int64  `json:"tax"`
	Lines  []struct {
		Amount int64 `json:"amount"`
	} `json:"lines"`
	AmountRefunded int64 `json:"amount_refunded"`
}

func (b *billing) invoices() []invoiceView {
	b.t.Helper()
	var l struct {
		Items []invoiceView `json:"items"`
	}
	b.call(b.a.URL(), "GET", "/api/v1/billing/invoices", b.tok, nil, &l)
	return l.Items
}

// waitInvoices waits for n invoices and returns them, newest first.
func (b *billing) waitInvoices(n int) []invoiceView {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		invs := b.invoices()
		if len(invs) >= n {
			return invs
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%d invoices, want %d", len(invs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBillingPlanChanges: a new price waits for the next period; an
// upgrade is at once and prorated; a downgrade waits for the period end;
// cancel and resume; receipts in HTML; refunds; the end of a canceled
// subscription.
func TestBillingPlanChanges(t *testing.T) {
	t.Parallel()
	b := setupBilling(t, "changer@example.com")
	base := b.a.URL()
	b.pay(b.subscribe("basic", "4242"), "4242424242424242")
	s := b.waitSub("active", func(s subView) bool { return s.Status == "active" })
	b.mailTo(b.email, "receipt")

	// A new price: the subscriber pays the old one until the next period.
	st, body := b.call(base, "PATCH", "/api/v1/admin/billing/plans/basic", testAdminToken, map[string]any{"amount": 899}, nil)
	wantStatus(t, "new price", st, body, http.StatusOK, "")
	if price := body["price"].(map[string]any); price["amount"].(float64) != 899 || price["version"].(float64) != 2 {
		t.Fatalf("new price %v", price)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var pending bool
		_ = b.db.Get(&pending, `SELECT pending_price IS NOT NULL FROM payment.sandbox_subscriptions`)
		if pending {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new price was never scheduled for the subscriber")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var sub map[string]any
	b.call(base, "GET", "/api/v1/subscription", b.tok, nil, &sub)
	if amt := sub["plan"].(map[string]any)["price"].(map[string]any)["amount"].(float64); amt != 799 {
		t.Fatalf("the subscriber's price moved before the next period: %v", amt)
	}
	b.advanceTo(s.CurrentPeriodEnd)
	if invs := b.waitInvoices(2); invs[0].Total != 899 || invs[0].Reason != "subscription_cycle" || invs[0].Tax != 0 {
		t.Fatalf("renewal invoice %+v, want 899 at the new price", invs[0])
	}
	s = b.waitSub("renewed", func(s subView) bool { return s.CurrentPeriodEnd.After(b.clock()) })
	b.mailTo(b.email, "receipt")

	// Upgrade: at once, prorated.
	st, body, _ = b.money("/api/v1/subscription/change", "up", map[string]string{"plan": "premium"})
	wantStatus(t, "upgrade", st, body, http.StatusOK, "")
	s = b.waitSub("premium", func(s subView) bool {
		return s.Plan.Code == "premium" && s.Entitlement.MaxStreams == 4 && s.Entitlement.MaxHeight == 2160
	})
	invs := b.waitInvoices(3)
	if up := invs[0]; up.Reason != "subscription_update" || up.Total <= 0 || up.Total >= 1999-899 || len(up.Lines) != 2 || up.Lines[0].Amount >= 0 {
		t.Fatalf("proration invoice %+v", up)
	}
	b.mailTo(b.email, "plan is now Premium")

	// Downgrade: at the period end.
	st, body, _ = b.money("/api/v1/subscription/change", "down", map[string]string{"plan": "standard"})
	wantStatus(t, "downgrade", st, body, http.StatusOK, "")
	if body["pending_plan"] != "standard" || body["plan"].(map[string]any)["code"] != "premium" {
		t.Fatalf("downgrade answer %v", body)
	}
	st, body, _ = b.money("/api/v1/subscription/change", "same", map[string]string{"plan": "premium"})
	wantStatus(t, "take back the downgrade", st, body, http.StatusOK, "")
	if body["pending_plan"] != nil {
		t.Fatalf("pending plan kept: %v", body)
	}
	b.money("/api/v1/subscription/change", "down2", map[string]string{"plan": "standard"})

	// Cancel, then resume before the end.
	st, body, _ = b.money("/api/v1/subscription/cancel", "c1", nil)
	wantStatus(t, "cancel", st, body, http.StatusOK, "")
	if body["cancel_at_period_end"] != true {
		t.Fatalf("cancel: %v", body)
	}
	b.mailTo(b.email, "will end")
	st, body, _ = b.money("/api/v1/subscription/resume", "r1", nil)
	wantStatus(t, "resume", st, body, http.StatusOK, "")
	if body["cancel_at_period_end"] != false {
		t.Fatalf("resume: %v", body)
	}
	st, body, _ = b.money("/api/v1/subscription/resume", "r2", nil)
	wantStatus(t, "resume twice", st, body, http.StatusConflict, "not_canceling")

	// The period ends: the downgrade takes effect.
	b.advanceTo(s.CurrentPeriodEnd)
	b.waitSub("standard", func(s subView) bool { return s.Plan.Code == "standard" && s.Entitlement.MaxStreams == 2 })
	invs = b.waitInvoices(4)
	if invs[0].Total != 1399 {
		t.Fatalf("first invoice on standard %+v", invs[0])
	}
	b.mailTo(b.email, "plan is now Standard")

	// The HTML receipt.
	receipt := b.get("/api/v1/billing/invoices/"+invs[0].ID+"/receipt", b.tok)
	if receipt.StatusCode != 200 || !strings.HasPrefix(receipt.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(receipt.body), invs[0].Number) ||
		!strings.Contains(string(receipt.body), "€13.99") {
		t.Fatalf("receipt: %d %s %.400s", receipt.StatusCode, receipt.Header.Get("Content-Type"), receipt.body)
	}
	// Someone else's invoice is not found.
	other := setupBillingOn(b, "other@example.com")
	st, body = b.call(base, "GET", "/api/v1/billing/invoices/"+invs[0].ID, other, nil, nil)
	wantStatus(t, "another account's invoice", st, body, http.StatusNotFound, "invoice_not_found")

	// Refunds (admin), idempotent, never more than was paid.
	refund := func(key string, amount int64) (int, map[string]any) {
		st, m, _ := b.moneyAs(testAdminToken, "/api/v1/admin/billing/invoices/"+invs[0].ID+"/refund", key, map[string]any{"amount": amount, "reason": "goodwill"})
		return st, m
	}
	st, body = refund("rf1", 500)
	wantStatus(t, "refund", st, body, http.StatusOK, "")
	st, body = refund("rf1", 500)
	if st != http.StatusOK || body["amount_refunded"].(float64) != 500 {
		t.Fatalf("replayed refund: %d %v", st, body)
	}
	st, body = refund("rf2", 1000)
	wantStatus(t, "refund too large", st, body, http.StatusUnprocessableEntity, "refund_too_large")

	// Cancel for good: it ends at the period end.
	b.money("/api/v1/subscription/cancel", "c2", nil)
	b.mailTo(b.email, "will end")
	s = b.waitSub("canceling", func(s subView) bool { return s.CancelAtPeriodEnd })
	if !s.Entitlement.Active {
		t.Fatal("access lost before the period end")
	}
	b.advanceTo(s.CurrentPeriodEnd)
	b.waitSub("ended", func(s subView) bool { return s.Status == "canceled" && !s.Entitlement.Active })
	b.mailTo(b.email, "subscription has ended")
	// A new checkout is possible again.
	st, body, _ = b.money("/api/v1/billing/checkout", "back", map[string]string{"plan": "basic"})
	wantStatus(t, "checkout after the end", st, body, http.StatusCreated, "")
}

// setupBillingOn signs up and verifies another account on b's instance and
// returns its access token.
func setupBillingOn(b *billing, email string) string {
	b.t.Helper()
	b.signUp(email)
	tok, _ := b.mailTo(email, "erify")
	b.call(b.a.URL(), "POST", "/api/v1/account/verify-email", "", map[string]string{"token": tok}, nil)
	return b.login(newClient(b.t, b.a.URL()), email, goodPassword, "Tablet").AccessToken
}

// TestBillingCrashBetweenProviderAndCommit: the process dies after the
// provider changed the subscription but before streamflix recorded it (the
// provider call is made here directly, as the dead request made it). The
// client retries with the same Idempotency-Key: nothing is charged twice
// and the state converges on the provider's. A first request that never
// answered does not hold its key forever.
func TestBillingCrashBetweenProviderAndCommit(t *testing.T) {
	t.Parallel()
	b := setupBilling(t, "crash@example.com")
	ctx := context.Background()
	b.pay(b.subscribe("basic", "4242"), "4242424242424242")
	b.waitSub("active", func(s subView) bool { return s.Status == "active" })
	var sub struct {
		ID                     string `db:"id"`
		AccountID              string `db:"account_id"`
		ProviderSubscriptionID string `db:"provider_subscription_id"`
	}
	if err := b.db.Get(&sub, `SELECT id, account_id, provider_subscription_id FROM payment.subscriptions`); err != nil {
		t.Fatal(err)
	}
	plans, err := b.a.Payment.Plans(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var premium payment.Plan
	for _, p := range plans {
		if p.Code == "premium" {
			premium = p
		}
	}
	// The dead request: its idempotency row is still "running" (from 5
	// minutes ago), and the provider did the upgrade and charged for it.
	body, _ := json.Marshal(map[string]string{"plan": "premium"})
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00", "POST", "/api/v1/subscription/change")
	h.Write(body)
	if _, err := b.db.Exec(`INSERT INTO payment.idempotency_keys (account_id, key, request_hash, created_at) VALUES ($1, 'crash-1', $2, now() - interval '5 minutes')`,
		sub.AccountID, h.Sum(nil)); err != nil {
		t.Fatal(err)
	}
	_, err = b.a.Payment.Sandbox().ChangePrice(ctx, payment.ChangeRequest{ProviderSubscriptionID: sub.ProviderSubscriptionID, Plan: premium, Price: premium.Price, Now: true,
		Metadata:       map[string]string{"subscription_id": sub.ID, "account_id": sub.AccountID, "price_id": fmt.Sprint(premium.Price.ID)},
		IdempotencyKey: "change:" + sub.ID + ":crash-1"})
	if err != nil {
		t.Fatal(err)
	}
	// The retry.
	st, resp, _ := b.money("/api/v1/subscription/change", "crash-1", map[string]string{"plan": "premium"})
	if st != http.StatusOK && !(st == http.StatusUnprocessableEntity && resp["code"] == "plan_unchanged") {
		t.Fatalf("retry: %d %v", st, resp)
	}
	b.waitSub("converged", func(s subView) bool { return s.Plan.Code == "premium" && s.Entitlement.MaxStreams == 4 })
	var charges int
	if err := b.db.Get(&charges, `SELECT count(*) FROM payment.sandbox_invoices WHERE payload->>'billing_reason' = 'subscription_update'`); err != nil {
		t.Fatal(err)
	}
	if charges != 1 {
		t.Fatalf("%d proration charges at the provider, want 1", charges)
	}
	b.waitInvoices(2)
	time.Sleep(200 * time.Millisecond) // let a wrongly duplicated event land, if any
	if n := len(b.invoices()); n != 2 {
		t.Fatalf("%d invoices, want 2 (the first and one proration)", n)
	}
}

// TestBillingTwoInstancesRenew: both instances run the sandbox's due
// renewals at once, many times over; each renewal happens once.
func TestBillingTwoInstancesRenew(t *testing.T) {
	t.Parallel()
	b := setupBillingWith(t, "twice@example.com", true)
	ctx := context.Background()
	b.pay(b.subscribe("standard", "4242"), "4242424242424242")
	s := b.waitSub("active", func(s subView) bool { return s.Status == "active" })
	// Move the clock without running what falls due, then race.
	if _, err := b.db.Exec(`UPDATE payment.sandbox_clock SET offset_seconds = offset_seconds + $1`, int64(time.Until(s.CurrentPeriodEnd)/time.Second)+3600); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 16; i++ {
		in := b.a
		if i%2 == 1 {
			in = b.b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- in.Payment.Sandbox().RunDue(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.waitSub("renewed", func(s2 subView) bool { return s2.CurrentPeriodEnd.After(s.CurrentPeriodEnd) })
	b.waitInvoices(2)
	time.Sleep(300 * time.Millisecond) // let a duplicated renewal's events land, if any
	if invs := b.invoices(); len(invs) != 2 {
		t.Fatalf("%d invoices after racing renewals, want 2", len(invs))
	}
	var renewals int
	_ = b.db.Get(&renewals, `SELECT count(*) FROM payment.sandbox_invoices WHERE payload->>'billing_reason' = 'subscription_cycle'`)
	if renewals != 1 {
		t.Fatalf("%d renewal charges, want 1", renewals)
	}
}

// TestBillingAdvanceCommand: `streamflix billing advance` moves the
// sandbox clock that the serving instances share.
func TestBillingAdvanceCommand(t *testing.T) {
	t.Parallel()
	b := setupBilling(t, "clock@example.com")
	before := b.clock()
	var stdout, stderr bytes.Buffer
	getenv := env(b.dbURL, map[string]string{"MEDIA_DIR": t.TempDir(), "MAIL_DIR": t.TempDir()})
	if code := run(context.Background(), []string{"billing", "advance", "3d"}, getenv, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "sandbox clock now") {
		t.Fatalf("stdout %q", stdout.String())
	}
	if d := b.clock().Sub(before); d < 72*time.Hour || d > 73*time.Hour {
		t.Fatalf("the clock moved by %s, want 3 days", d)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"billing", "advance", "soon"}, getenv, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "31d") {
		t.Fatalf("bad duration: exit %d, %q", code, stderr.String())
	}
}

// TestBillingTrialAndCurrency: a plan with a trial starts trialing with
// full access and nothing charged, and the first charge comes when the
// trial ends; a price in another currency than the account's earlier
// invoices is refused, on a plan change and on a new checkout.
func TestBillingTrialAndCurrency(t *testing.T) {
	t.Parallel()
	b := setupBilling(t, "trial@example.com")
	base := b.a.URL()
	st, body := b.call(base, "PATCH", "/api/v1/admin/billing/plans/standard", testAdminToken, map[string]any{"trial_days": 7}, nil)
	wantStatus(t, "trial", st, body, http.StatusOK, "")

	st, _ = b.pay(b.subscribe("standard", "4242"), "4242424242424242")
	if st != http.StatusOK {
		t.Fatalf("pay: %d", st)
	}
	s := b.waitSub("trialing", func(s subView) bool { return s.Status == "trialing" })
	if !s.Entitlement.Active || s.Entitlement.MaxStreams != 2 || s.CurrentPeriodEnd.Sub(b.clock()) > 7*24*time.Hour+time.Minute {
		t.Fatalf("trialing: %+v", s)
	}
	if invs := b.waitInvoices(1); invs[0].Total != 0 {
		t.Fatalf("the trial's invoice charges %d", invs[0].Total)
	}
	b.advanceTo(s.CurrentPeriodEnd)
	s = b.waitSub("active after the trial", func(s subView) bool { return s.Status == "active" })
	if invs := b.waitInvoices(2); invs[0].Total != 1399 || invs[0].Reason != "subscription_cycle" {
		t.Fatalf("first charge after the trial: %+v", invs[0])
	}
	b.mailTo(b.email, "receipt")

	// Premium moves to dollars: the account has paid in euros.
	st, body = b.call(base, "PATCH", "/api/v1/admin/billing/plans/premium", testAdminToken, map[string]any{"currency": "USD", "amount": 2199}, nil)
	wantStatus(t, "dollars", st, body, http.StatusOK, "")
	st, body, _ = b.money("/api/v1/subscription/change", "to-usd", map[string]string{"plan": "premium"})
	wantStatus(t, "change to another currency", st, body, http.StatusUnprocessableEntity, "currency_mismatch")
	if got := b.waitSub("unchanged", func(subView) bool { return true }); got.Plan.Code != "standard" {
		t.Fatalf("a refused change moved the plan to %s", got.Plan.Code)
	}
	// Cancelled, then back through checkout: still not in dollars.
	st, body, _ = b.money("/api/v1/subscription/cancel", "cancel", nil)
	wantStatus(t, "cancel", st, body, http.StatusOK, "")
	b.advanceTo(s.CurrentPeriodEnd)
	b.waitSub("canceled", func(s subView) bool { return s.Status == "canceled" })
	st, body, _ = b.money("/api/v1/billing/checkout", "co-usd", map[string]string{"plan": "premium"})
	wantStatus(t, "checkout in another currency", st, body, http.StatusUnprocessableEntity, "currency_mismatch")
	st, body, _ = b.money("/api/v1/billing/checkout", "co-eur", map[string]string{"plan": "basic"})
	wantStatus(t, "checkout in euros", st, body, http.StatusCreated, "")
}
