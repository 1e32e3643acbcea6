// Package payment is streamflix's billing: plans with versioned prices,
// one subscription per account with an explicit state machine, invoices,
// payment attempts and refunds, webhooks from the payment provider,
// renewals and dunning, and the entitlement other modules ask about.
//
// payment owns:
//   - Postgres schema "payment": plans and prices (integer minor units and
//     an ISO 4217 currency; a price change is a new version, and a
//     subscription keeps its version until its next period),
//     subscriptions and their transitions (each with its cause),
//     invoices, invoice_lines, payment_attempts, refunds, webhook_events
//     (one row per event id: duplicates change nothing),
//     idempotency_keys, and the sandbox provider's sandbox_* tables;
//   - the routes /plans, /subscription[/change|cancel|resume],
//     /billing/checkout, /billing/invoices[/{id}[/receipt]],
//     /billing/portal, /billing/webhooks/{provider}, /admin/billing/...,
//     and the sandbox's hosted pages under /billing/sandbox/;
//   - River queue "payment" with job kinds payment.webhook (apply one
//     recorded event), payment.sandbox_deliver (POST one signed sandbox
//     event) and payment.sandbox_tick (periodic: due renewals and retries).
//
// payment needs (deps.go): Accounts (is the account verified, its
// address) from user, a Notifier (notify's EnqueueTx) for money emails,
// and an Inserter (River) for its jobs.
//
// The provider (Stripe, or the built-in sandbox that behaves like Stripe
// Billing) runs renewals and retries; streamflix mirrors the provider's
// state from signed webhook events. The webhook endpoint only verifies,
// records and queues (2xx within milliseconds); a job applies the event,
// in one transaction with the state change, its transition row and the
// notify jobs. Subscription events re-fetch the subscription and are
// applied only when not older than the last state applied and allowed by
// the state machine, so events in any order converge.
//
// Entitlement: trialing, active and past_due subscriptions are entitled;
// past_due keeps access during the retry window (retries 1, 3 and 5 days
// after a failed renewal; after the last the subscription is canceled).
package payment
