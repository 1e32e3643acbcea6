package notify_test

import (
	"testing"

	"github.com/streamflix/streamflix/internal/notify"
)

var billingKinds = []notify.Kind{notify.PaymentReceipt, notify.PaymentFailed, notify.SubscriptionStarted,
	notify.PlanChanged, notify.CancellationScheduled, notify.SubscriptionCanceled}

func isBillingKind(k notify.Kind) bool {
	for _, b := range billingKinds {
		if b == k {
			return true
		}
	}
	return false
}

// TestBillingKinds: billing mail is known, essential (it cannot be turned
// off) and shown in the inbox.
func TestBillingKinds(t *testing.T) {
	t.Parallel()
	for _, k := range billingKinds {
		if !k.Valid() || !k.Essential() || !k.InApp() {
			t.Errorf("%s: valid %v, essential %v, in-app %v; want all true", k, k.Valid(), k.Essential(), k.InApp())
		}
	}
}
