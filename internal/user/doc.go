// Package user is the accounts module: sign-up, email verification and
// change, profiles (up to five per account, kids profiles with a maturity
// ceiling, optional PINs), password change and account deletion.
//
// It owns the Postgres schema "users" (accounts, profiles, email_tokens)
// and the routes under /api/v1/accounts, /account and /profiles. Passwords
// and sessions belong to the auth module, which user reaches through the
// Passwords interface; emails go out through the notify module's queue
// (Notifier); other modules forget a deleted account through Forgetters.
package user
