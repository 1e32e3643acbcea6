package payment

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stripeMockVersion is the stripe-mock the request-shape tests run against
// (scripts/deps.sh test installs it; so does this test when it is missing).
const stripeMockVersion = "v0.203.0"

// stripeMock starts stripe-mock on a free port and returns its URL.
// stripe-mock is stateless: it checks each request against Stripe's
// OpenAPI spec (400 for a wrong shape) and answers canned objects.
func stripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		// Where scripts/deps.sh's go install puts it, if not on PATH.
		if gp, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			if p := filepath.Join(strings.TrimSpace(string(gp)), "bin", "stripe-mock"); fileExists(p) {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		gobin := filepath.Join(os.TempDir(), "streamflix-tools")
		bin = filepath.Join(gobin, "stripe-mock")
		if _, err := os.Stat(bin); err != nil {
			cmd := exec.Command("go", "install", "github.com/stripe/stripe-mock@"+stripeMockVersion)
			cmd.Env = append(os.Environ(), "GOBIN="+gobin)
			if out, err := cmd.CombinedOutput(); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("stripe-mock is missing and go install failed: %v\n%s", err, out)
				}
				t.Skipf("stripe-mock is missing and go install failed (run scripts/deps.sh test): %v", err)
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-http-addr", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/v1/customers"); err == nil {
			resp.Body.Close()
			return base
		}
	}
	t.Fatal("stripe-mock did not start")
	return ""
}

// TestStripeRequestShapes sends every call the stripe provider makes to
// stripe-mock, which refuses any request Stripe's API would refuse.
func TestStripeRequestShapes(t *testing.T) {
	t.Parallel()
	p := NewStripe(StripeConfig{SecretKey: "sk_test_123", WebhookSecret: testSecret, APIURL: stripeMock(t)})
	ctx := context.Background()
	plan := Plan{Code: "standard", Name: "Standard", Interval: IntervalMonth, TrialDays: 7}
	for name, price := range map[string]Price{"Inline": {ID: 2, Amount: 1399, Currency: "EUR"}, "StripePrice": {ID: 2, Amount: 1399, Currency: "EUR", ProviderPriceID: "price_123"}} {
		co, err := p.CreateCheckout(ctx, CheckoutRequest{SubscriptionID: "s1", AccountID: "a1", Email: "a@example.com", Plan: plan, Price: price,
			SuccessURL: "https://streamflix.test/ok", CancelURL: "https://streamflix.test/no", IdempotencyKey: "k-" + name})
		if err != nil || co.ID == "" || !strings.HasPrefix(co.URL, "https://") {
			t.Fatalf("%s checkout: %+v %v", name, co, err)
		}
	}
	// The portal runs on streamflix's own configuration (plan changes and
	// cancelling off), found or made once per process.
	for range 2 {
		if u, err := p.CreatePortal(ctx, PortalRequest{CustomerID: "cus_123", ReturnURL: "https://streamflix.test/account"}); err != nil || u == "" {
			t.Fatalf("portal: %q %v", u, err)
		}
	}
	if p.portalConfig == "" {
		t.Fatal("no portal configuration was found or made")
	}
	if _, err := p.SetCancelAtPeriodEnd(ctx, "sub_123", true, "cancel-1"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := p.ChangePrice(ctx, ChangeRequest{ProviderSubscriptionID: "sub_123", Plan: plan, Price: Price{ID: 3, ProviderPriceID: "price_456"}, Now: true,
		Metadata: map[string]string{"price_id": "3"}, IdempotencyKey: "change-1"}); err != nil {
		t.Fatalf("change: %v", err)
	}
	// A plan priced only in streamflix: the new amount goes inline on the
	// subscription item's product (a downgrade: from the next renewal).
	if _, err := p.ChangePrice(ctx, ChangeRequest{ProviderSubscriptionID: "sub_123", Plan: plan, Price: Price{ID: 4, Amount: 899, Currency: "EUR"},
		Metadata: map[string]string{"price_id": "4"}, IdempotencyKey: "change-2"}); err != nil {
		t.Fatalf("change to an inline price: %v", err)
	}
	if _, err := p.Subscription(ctx, "sub_123"); err != nil {
		t.Fatalf("retrieve: %v", err)
	}
	if id, err := p.Refund(ctx, RefundRequest{ProviderPaymentID: "pi_123", Amount: 500, IdempotencyKey: "refund-1"}); err != nil || id == "" {
		t.Fatalf("refund: %q %v", id, err)
	}
	// An invoice mirrored from a webhook, without its payment: looked up in
	// /v1/invoice_payments. stripe-mock accepts the list request (a wrong
	// shape is a 400, "stripe: ...") and answers a canned payment with no
	// PaymentIntent, so the refund stops there, saying so.
	if id, err := p.Refund(ctx, RefundRequest{ProviderInvoiceID: "in_123", Amount: 500, IdempotencyKey: "refund-2"}); err == nil ||
		err.Error() != "payment: stripe: invoice has no payment to refund" {
		t.Fatalf("refund by invoice: %q %v", id, err)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
