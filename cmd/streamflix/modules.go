package main

import (
	"context"
	"fmt"

	"github.com/streamflix/streamflix/internal/auth"
	"github.com/streamflix/streamflix/internal/auth/token"
	"github.com/streamflix/streamflix/internal/content"
	"github.com/streamflix/streamflix/internal/notify"
	"github.com/streamflix/streamflix/internal/payment"
	"github.com/streamflix/streamflix/internal/platform/cache"
	"github.com/streamflix/streamflix/internal/reco"
	"github.com/streamflix/streamflix/internal/user"
)

// One openX per domain module: it maps the configuration onto the
// module's Config, hands it its Deps (connections, and wire.go's adapters
// for what it needs from other modules), builds it and registers it. The
// adapters resolve their target when called, so no openX depends on
// another having run first.

// openNotify builds the notification module (email, inbox, preferences).
func (m *Main) openNotify(ctx context.Context) error {
	cfg := m.Config
	var err error
	m.Notify, err = notify.New(notify.Config{
		SMTPHost: cfg.SMTPHost, SMTPPort: cfg.SMTPPort, SMTPUsername: cfg.SMTPUsername, SMTPPassword: cfg.SMTPPassword,
		SMTPTLS: cfg.SMTPTLS, SMTPTimeout: cfg.SMTPTimeout, From: cfg.MailFrom, MailDir: cfg.MailDir, PublicURL: cfg.PublicURL,
		Workers: cfg.NotifyWorkers, DatabaseURL: cfg.DatabaseURL,
	}, notify.Deps{DB: m.DB, Recipients: notifyRecipients{m}, Queue: m.jobs, Log: m.Log})
	if err != nil {
		return err
	}
	// The inbox listener runs until ctx ends (SIGTERM), closing live streams so shutdown is not held up.
	go m.Notify.Listen(ctx)
	m.Registry.Add(m.Notify.Module(m.Version))
	return nil
}

// openAuth builds the auth module (logins, tokens, sessions, resets).
func (m *Main) openAuth(ctx context.Context) error {
	cfg := m.Config
	tokens, err := token.New(ctx, token.Config{KeysPEM: cfg.AuthSigningKeys, DB: m.DB, Logger: m.Log})
	if err != nil {
		return fmt.Errorf("AUTH_SIGNING_KEYS: %w", err)
	}
	accounts := authAccounts{m}
	m.Auth, err = auth.New(auth.Config{PublicURL: cfg.PublicURL, CacheSessions: m.Store.Backend == cache.BackendRedis}, auth.Deps{
		DB: m.DB, Tokens: tokens, Hasher: m.hasher, Accounts: accounts, Profiles: accounts,
		Notifier: notifier[auth.Notification]{m}, Counter: m.Store.Counter, Cache: m.Store.Cache, Queue: m.jobs,
		ClientIP: clientIP, Log: m.Log,
	})
	if err != nil {
		return err
	}
	m.Registry.Add(m.Auth.Module(m.Version))
	return nil
}

// openUser builds the user module (accounts, profiles, verification).
func (m *Main) openUser(context.Context) error {
	cfg := m.Config
	var err error
	m.Users, err = user.New(user.Config{PublicURL: cfg.PublicURL}, user.Deps{
		DB: m.DB, Passwords: userPasswords{m}, Hasher: m.hasher, Notifier: notifier[user.Notification]{m},
		Counter: m.Store.Counter, Forgetters: []user.Forgetter{userForgetter{m}}, Log: m.Log,
	})
	if err != nil {
		return err
	}
	m.Registry.Add(m.Users.Module(m.Version))
	return nil
}

// openContent builds the catalog module.
func (m *Main) openContent(context.Context) error {
	cfg := m.Config
	var catalogCache content.Cache = m.Store.Cache
	if cfg.CatalogCacheTTL == 0 {
		catalogCache = nil
	}
	var err error
	m.Catalog, err = content.New(content.Config{CacheTTL: cfg.CatalogCacheTTL, MediaURL: cfg.MediaURL},
		content.Deps{DB: m.DB, Cache: catalogCache, Media: m.Media, Log: m.Log})
	if err != nil {
		return err
	}
	m.Registry.Add(m.Catalog.Module(m.Version))
	return nil
}

// openPayment builds the payment module (plans, subscriptions, invoices,
// providers, webhooks) and registers it.
func (m *Main) openPayment(context.Context) error {
	cfg := m.Config
	webhookURL := cfg.PaymentSandboxWebhookURL
	if webhookURL == "" {
		// The sandbox delivers to this very instance, as Stripe would to
		// the public endpoint.
		webhookURL = m.URL() + "/api/v1/billing/webhooks/sandbox"
	}
	svc, err := payment.New(payment.Config{
		Provider: cfg.PaymentProvider, PublicURL: cfg.PublicURL, WebhookURL: webhookURL, WebhookSecret: cfg.PaymentWebhookSecret,
		StripeSecretKey: cfg.StripeSecretKey, StripeWebhookSecret: cfg.StripeWebhookSecret, StripeAPIURL: cfg.StripeAPIURL,
	}, payment.Deps{
		DB: m.DB, Log: m.Log, Accounts: paymentAccounts{m}, Notifier: notifier[payment.Notification]{m}, Queue: m.jobs,
	})
	if err != nil {
		return err
	}
	m.Payment = svc
	m.Registry.Add(svc.Module(m.Version))
	return nil
}

// openReco builds the recommendation module (analytics events, ratings,
// My List, training and rows) and registers it.
func (m *Main) openReco(context.Context) error {
	cfg := m.Config
	var err error
	m.Reco, err = reco.New(reco.Config{TrainInterval: cfg.RecoTrainInterval, EASEMaxItems: cfg.RecoEASEMaxItems}, reco.Deps{
		DB: m.DB, Catalog: recoCatalog{m}, Profiles: recoProfiles{m}, Queue: m.jobs, Cache: m.Store.Cache, Log: m.Log,
		Metrics: m.Metrics.Registry,
	})
	if err != nil {
		return err
	}
	m.Registry.Add(m.Reco.Module(m.Version))
	return nil
}
