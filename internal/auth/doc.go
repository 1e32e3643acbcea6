// Package auth is the sign-in module: password hashing (argon2id),
// sessions per device, short-lived signed access tokens with rotating
// refresh tokens, profile selection, password reset, brute-force
// protection, and the gateway's token check.
//
// It owns the Postgres schema "auth" (passwords, sessions, refresh_tokens,
// reset_tokens, security_events, signing_keys), the routes under
// /api/v1/auth, and the queue "auth" (jobs auth.forget_user and the hourly
// auth.retire_keys). Accounts and profiles belong to the user module,
// reached through Accounts and Profiles; emails go through notify
// (Notifier). Session state is cached in Redis when configured, with
// Postgres the source of truth.
package auth
