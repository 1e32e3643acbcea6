// Package notify tells people things: verify your email, reset your
// password, a new sign-in on your account. Other modules ask for a
// notification inside their own transaction (Service.EnqueueTx), so a
// rolled-back change sends nothing and a committed one is always sent; a
// River job then renders and delivers it.
//
// notify owns:
//   - the notification kinds (kind.go), their data fields and their
//     templates (templates/<locale>/<kind>.subject, .txt, .html inside a
//     shared layout), all parsed and test-rendered when the service starts;
//   - Postgres schema "notify": notify.deliveries, one row per email job
//     recording its recipient, subject, Message-ID, status (sending, sent,
//     failed, skipped), attempts and last error, written in batches shared
//     by the jobs running at the same time (batch.go);
//   - River queue "notify" (Config.Workers jobs at once per instance) and
//     the job kind "notify.email" (EmailArgs, jobs.go), each job allowed
//     EmailTimeoutFactor × SMTPTimeout (90 s by default); a job of a
//     crashed instance runs again once that and the queue's rescue window
//     have passed (internal/platform/queue);
//   - the Mailer adapters: SMTPMailer (SMTP through wneessen/go-mail, its
//     connections kept open and reused) and DirMailer (.eml files, for
//     development).
//
// notify needs (Deps; the interfaces are in deps.go):
//   - Recipients: a user's address, name and locale, from the user domain;
//   - Queue: the River client to insert jobs with, as a handle that
//     resolves when called (queue.Deferred), since the client needs
//     notify's workers first.
//
// Its SQL is in store.go (deliveries, secrets), store_inbox.go and
// store_prefs.go; its routes in http.go (Handler); its registry entry in
// module.go. A new kind is one line in kind.go's kinds table and its
// template files under templates/<locale>/.
//
// Delivery is at least once. A job that is retried after a crash between
// the SMTP server accepting the message and notify recording it sends the
// message again, with the same Message-ID; every other retry (after a
// commit but before the send, or after the delivery was recorded) sends
// nothing twice.
//
// Also here: the in-app inbox (notify.notifications, written in the
// caller's transaction by EnqueueTx for kinds marked InApp), live updates
// over SSE (pg_notify on channel notify_inbox at commit; one LISTEN
// connection per instance, Service.Listen, reads what changed in batches
// and fans out to local streams;
// Last-Event-ID replays by the per-user event id), per-user preferences
// (notify.preferences; essential kinds cannot be turned off), signed
// one-click unsubscribe links (HMAC-SHA256, key in notify.secrets) and the
// operators' list of failed deliveries (retried through the queue admin's
// job retry).
package notify
