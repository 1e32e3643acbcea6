package notify

// Billing kinds, sent by the payment module. All are essential (billing
// mail cannot be turned off) and also land in the in-app inbox.
const (
	// PaymentReceipt confirms a payment. Data: plan, amount, invoice_number,
	// period (text), link (the receipt).
	PaymentReceipt Kind = "payment_receipt"
	// PaymentFailed says a payment failed and how to fix it. Data: plan,
	// amount, link (where to update the card); next_attempt (text) when a
	// retry is scheduled.
	PaymentFailed Kind = "payment_failed"
	// SubscriptionStarted welcomes a new subscriber. Data: plan, amount,
	// link; next_charge and trial_end (text) when known.
	SubscriptionStarted Kind = "subscription_started"
	// PlanChanged confirms a change of plan. Data: old_plan, plan, amount, link.
	PlanChanged Kind = "plan_changed"
	// CancellationScheduled confirms a cancellation at the period end. Data:
	// plan, link (where to resume); ends_on (text).
	CancellationScheduled Kind = "cancellation_scheduled"
	// SubscriptionCanceled says the subscription has ended. Data: plan, link.
	SubscriptionCanceled Kind = "subscription_canceled"
)

func init() {
	kinds[PaymentReceipt] = kindSpec{Required: []string{"plan", "amount", "invoice_number", "period", "link"}, Essential: true, InApp: true}
	kinds[PaymentFailed] = kindSpec{Required: []string{"plan", "amount", "link"}, Optional: []string{"next_attempt"}, Essential: true, InApp: true}
	kinds[SubscriptionStarted] = kindSpec{Required: []string{"plan", "amount", "link"}, Optional: []string{"next_charge", "trial_end"}, Essential: true, InApp: true}
	kinds[PlanChanged] = kindSpec{Required: []string{"old_plan", "plan", "amount", "link"}, Essential: true, InApp: true}
	kinds[CancellationScheduled] = kindSpec{Required: []string{"plan", "link"}, Optional: []string{"ends_on"}, Essential: true, InApp: true}
	kinds[SubscriptionCanceled] = kindSpec{Required: []string{"plan", "link"}, Essential: true, InApp: true}
}
