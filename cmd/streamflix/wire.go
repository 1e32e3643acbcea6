package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/jmoiron/sqlx"

	"github.com/streamflix/streamflix/internal/auth"
	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/gateway"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/payment"
	"github.com/streamflix/streamflix/internal/reco"
	"github.com/streamflix/streamflix/internal/user"
)

// Adapters between modules: each module declares what it needs; these
// satisfy those interfaces with another module's concrete service. Each
// holds the Main and reads the target service when called, so the order
// in which openX functions run does not matter. When a module is split
// out, its adapter becomes an HTTP client.

// authAccounts gives auth its view of user accounts and profiles.
type authAccounts struct{ m *Main }

func (a authAccounts) AccountByEmail(ctx context.Context, email string) (auth.Account, error) {
	acc, err := a.m.Users.FindByEmail(ctx, email)
	return toAuthAccount(acc, err)
}

func (a authAccounts) AccountByID(ctx context.Context, id string) (auth.Account, error) {
	acc, err := a.m.Users.Account(ctx, id)
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

func (a authAccounts) UnlockProfile(ctx context.Context, accountID, profileID, pin string) (auth.Profile, error) {
	p, err := a.m.Users.UnlockProfile(ctx, accountID, profileID, pin)
	return auth.Profile{ID: p.ID, Kids: p.Kids, MaturityLevel: p.MaturityLevel}, err
}

func (a authAccounts) ProfileOf(ctx context.Context, accountID, profileID string) (auth.Profile, error) {
	p, err := a.m.Users.Profile(ctx, accountID, profileID)
	return auth.Profile{ID: p.ID, Kids: p.Kids, MaturityLevel: p.MaturityLevel}, err
}

// userPasswords gives user auth's credentials: set in the sign-up
// transaction, checked, and sessions revoked on a password change.
type userPasswords struct{ m *Main }

func (a userPasswords) SetTx(ctx context.Context, tx *sqlx.Tx, userID, email, field, password string) error {
	return a.m.Auth.SetTx(ctx, tx, userID, email, field, password)
}

func (a userPasswords) Verify(ctx context.Context, userID, password string) error {
	return a.m.Auth.Verify(ctx, userID, password)
}

func (a userPasswords) RevokeSessionsTx(ctx context.Context, tx *sqlx.Tx, userID, keep, reason string) error {
	return a.m.Auth.RevokeSessionsTx(ctx, tx, userID, keep, reason)
}

// userForgetter has auth forget a deleted account (a job queued in the
// deletion's transaction).
type userForgetter struct{ m *Main }

func (a userForgetter) ForgetUserTx(ctx context.Context, tx *sqlx.Tx, userID string) error {
	return a.m.Auth.ForgetUserTx(ctx, tx, userID)
}

// paymentAccounts gives payment its view of an account.
type paymentAccounts struct{ m *Main }

func (a paymentAccounts) Account(ctx context.Context, id string) (payment.Account, error) {
	acc, err := a.m.Users.Account(ctx, id)
	if err != nil {
		return payment.Account{}, err
	}
	return payment.Account{ID: acc.ID, Email: acc.Email, Verified: acc.EmailVerified}, nil
}

// recoCatalog gives reco the catalog: every published title to rank,
// and the cards a viewer may see.
type recoCatalog struct{ m *Main }

func (a recoCatalog) Items(ctx context.Context) ([]reco.Item, error) {
	its, err := a.m.Catalog.RecoItems(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reco.Item, len(its))
	for i, it := range its {
		r := reco.Item{ID: it.ID, Kind: it.Kind, Name: it.Name, Episodes: it.Episodes, PublishedAt: it.PublishedAt}
		if it.RuntimeMinutes != nil {
			r.RuntimeS = *it.RuntimeMinutes * 60
		}
		for _, g := range it.Genres {
			r.Genres = append(r.Genres, reco.Genre{ID: g.ID, Slug: g.Slug, Name: g.Name})
		}
		out[i] = r
	}
	return out, nil
}

func (a recoCatalog) Cards(ctx context.Context, maturity int, ids []string) ([]reco.Title, error) {
	ts, err := a.m.Catalog.Cards(ctx, content.Viewer{MaturityLevel: maturity}, ids)
	if err != nil {
		return nil, err
	}
	out := make([]reco.Title, len(ts))
	for i, t := range ts {
		c := reco.Title{ID: t.ID, Kind: t.Kind, Name: t.Name, Year: t.Year, MaturityRating: t.MaturityRating, MaturityLevel: t.MaturityLevel,
			Artwork: reco.Artwork{Poster: recoImage(t.Artwork.Poster), Backdrop: recoImage(t.Artwork.Backdrop)}, Playable: t.Playable, Genres: []reco.Genre{}}
		for _, g := range t.Genres {
			c.Genres = append(c.Genres, reco.Genre{ID: g.ID, Slug: g.Slug, Name: g.Name})
		}
		out[i] = c
	}
	return out, nil
}

func recoImage(im *content.Image) *reco.Image {
	if im == nil {
		return nil
	}
	out := &reco.Image{Color: im.Color, Sizes: make([]reco.ImageSize, len(im.Sizes))}
	for i, s := range im.Sizes {
		out.Sizes[i] = reco.ImageSize{Width: s.Width, URL: s.URL}
	}
	return out
}

// recoProfiles gives reco a profile's name.
type recoProfiles struct{ m *Main }

func (a recoProfiles) ProfileName(ctx context.Context, accountID, profileID string) (string, error) {
	p, err := a.m.Users.Profile(ctx, accountID, profileID)
	return p.Name, err
}

// notifyRecipients gives notify the address and language of a user.
type notifyRecipients struct{ m *Main }

func (r notifyRecipients) Recipient(ctx context.Context, userID string) (notify.Recipient, error) {
	acc, err := r.m.Users.Account(ctx, userID)
	if err != nil {
		return notify.Recipient{}, err
	}
	rec := notify.Recipient{Email: acc.Email, Locale: "en"}
	if ps, err := r.m.Users.Profiles(ctx, userID); err == nil && len(ps) > 0 {
		rec.Name, rec.Locale = ps[0].Name, ps[0].Language
	}
	return rec, nil
}

// notification is the shape every module's own notification type has
// (user.Notification, auth.Notification, ...): each module declares its
// own, and they convert to this one.
type notification = struct {
	Kind     string
	UserID   string
	To       string
	Data     map[string]string
	DedupKey string
}

// notifier is the one adapter from a module's Notifier interface to
// notify: N is that module's notification type. A module whose type
// drifts from the shared shape stops compiling here.
type notifier[N ~notification] struct{ m *Main }

func (a notifier[N]) EnqueueTx(ctx context.Context, tx *sqlx.Tx, n N) error {
	v := notification(n)
	return a.m.Notify.EnqueueTx(ctx, tx, notify.Request{Kind: notify.Kind(v.Kind), UserID: v.UserID, To: v.To, Data: v.Data, DedupKey: v.DedupKey})
}

// clientIP hands auth the client address the gateway settled on.
func clientIP(r *http.Request) string { return gateway.ClientIP(r.Context()) }
