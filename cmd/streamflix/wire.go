package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/auth"
	"github.com/streamflix/streamflix/internal/gateway"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/user"
)

// Adapters between modules: each module declares what it needs; these
// satisfy those interfaces with another module's concrete service. When a
// module is split out, its adapter becomes an HTTP client.

// authAccounts gives auth its view of user accounts and profiles.
type authAccounts struct{ u *user.Service }

func (a *authAccounts) AccountByEmail(ctx context.Context, email string) (auth.Account, error) {
	acc, err := a.u.FindByEmail(ctx, email)
	return toAuthAccount(acc, err)
}

func (a *authAccounts) AccountByID(ctx context.Context, id string) (auth.Account, error) {
	acc, err := a.u.Account(ctx, id)
	return toAuthAccount(acc, err)
}

func toAuthAccount(acc user.Account, err error) (auth.Account, error) {
	if errors.Is(err, user.ErrAccountNotFound) {
		return auth.Account{}, auth.ErrNoAccount
	}
	if err != nil {
		return auth.Account{}, err
	}
	return auth.Account{ID: acc.ID, Email: acc.Email, Roles: acc.Roles, Verified: acc.EmailVerified}, nil
}

func (a *authAccounts) UnlockProfile(ctx context.Context, accountID, profileID, pin string) (auth.Profile, error) {
	p, err := a.u.UnlockProfile(ctx, accountID, profileID, pin)
	return auth.Profile{ID: p.ID, Kids: p.Kids, MaturityLevel: p.MaturityLevel}, err
}

func (a *authAccounts) ProfileOf(ctx context.Context, accountID, profileID string) (auth.Profile, error) {
	p, err := a.u.Profile(ctx, accountID, profileID)
	return auth.Profile{ID: p.ID, Kids: p.Kids, MaturityLevel: p.MaturityLevel}, err
}

// notifyRecipients gives notify the address and language of a user.
type notifyRecipients struct{ u *user.Service }

func (r *notifyRecipients) Recipient(ctx context.Context, userID string) (notify.Recipient, error) {
	acc, err := r.u.Account(ctx, userID)
	if err != nil {
		return notify.Recipient{}, err
	}
	rec := notify.Recipient{Email: acc.Email, Locale: "en"}
	if ps, err := r.u.Profiles(ctx, userID); err == nil && len(ps) > 0 {
		rec.Name, rec.Locale = ps[0].Name, ps[0].Language
	}
	return rec, nil
}

// userNotifier and authNotifier queue notifications through notify.
type userNotifier struct{ n *notify.Service }

func (a userNotifier) EnqueueTx(ctx context.Context, tx *sqlx.Tx, n user.Notification) error {
	return a.n.EnqueueTx(ctx, tx, notify.Request{Kind: notify.Kind(n.Kind), UserID: n.UserID, To: n.To, Data: n.Data, DedupKey: n.DedupKey})
}

type authNotifier struct{ n *notify.Service }

func (a authNotifier) EnqueueTx(ctx context.Context, tx *sqlx.Tx, n auth.Notification) error {
	return a.n.EnqueueTx(ctx, tx, notify.Request{Kind: notify.Kind(n.Kind), UserID: n.UserID, To: n.To, Data: n.Data, DedupKey: n.DedupKey})
}

// clientIP hands auth the client address the gateway settled on.
func clientIP(r *http.Request) string { return gateway.ClientIP(r.Context()) }
