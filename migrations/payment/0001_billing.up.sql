-- payment: plans with versioned prices, one live subscription per account
-- with its transitions, invoices, payment attempts, refunds, received
-- webhook events and idempotency keys; plus the sandbox provider's own
-- objects (sandbox_*), which stand in for Stripe's side.
CREATE SCHEMA IF NOT EXISTS payment;

CREATE TABLE payment.plans (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    interval    text NOT NULL CHECK (interval IN ('month', 'year')),
    max_streams int  NOT NULL CHECK (max_streams BETWEEN 1 AND 16),
    max_height  int  NOT NULL CHECK (max_height IN (480, 720, 1080, 1440, 2160)),
    trial_days  int  NOT NULL DEFAULT 0 CHECK (trial_days BETWEEN 0 AND 90),
    active      bool NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- A price never changes once written: a new price is a new version, and a
-- subscription keeps the version it pays until its next period.
CREATE TABLE payment.prices (
    id                bigserial PRIMARY KEY,
    plan_code         text   NOT NULL REFERENCES payment.plans (code),
    version           int    NOT NULL CHECK (version >= 1),
    amount            bigint NOT NULL CHECK (amount BETWEEN 1 AND 100000000), -- minor units
    currency          text   NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),       -- ISO 4217
    provider_price_id text,                                                  -- Stripe's price, when made there
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_code, version)
);

CREATE TABLE payment.subscriptions (
    id                       uuid PRIMARY KEY,
    account_id               uuid NOT NULL,
    plan_code                text NOT NULL REFERENCES payment.plans (code),
    price_id                 bigint NOT NULL REFERENCES payment.prices (id),
    status                   text NOT NULL CHECK (status IN ('incomplete', 'trialing', 'active', 'past_due', 'canceled')),
    provider                 text NOT NULL,
    provider_customer_id     text,
    provider_subscription_id text,
    checkout_id              text,
    current_period_start     timestamptz,
    current_period_end       timestamptz,
    cancel_at_period_end     bool NOT NULL DEFAULT false,
    pending_plan_code        text REFERENCES payment.plans (code), -- a downgrade waiting for period end
    card_brand               text,
    card_last4               text,
    last_event_at            timestamptz, -- provider time of the last applied change (out-of-order guard)
    canceled_at              timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now()
);
-- One subscription per account: at most one that is not canceled.
CREATE UNIQUE INDEX subscriptions_one_live ON payment.subscriptions (account_id) WHERE status <> 'canceled';
CREATE INDEX subscriptions_account ON payment.subscriptions (account_id, created_at DESC);
CREATE UNIQUE INDEX subscriptions_provider_id ON payment.subscriptions (provider, provider_subscription_id);

CREATE TABLE payment.transitions (
    id              bigserial PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES payment.subscriptions (id) ON DELETE CASCADE,
    from_status     text,
    to_status       text NOT NULL,
    cause           text NOT NULL, -- checkout, event:<type>, api:<action>, admin
    event_id        text,
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transitions_subscription ON payment.transitions (subscription_id, id);

CREATE SEQUENCE payment.invoice_number;
CREATE TABLE payment.invoices (
    id                  uuid PRIMARY KEY,
    number              text NOT NULL UNIQUE,
    subscription_id     uuid NOT NULL REFERENCES payment.subscriptions (id) ON DELETE CASCADE,
    account_id          uuid NOT NULL,
    provider_invoice_id text NOT NULL,
    provider_payment_id text,
    status              text NOT NULL CHECK (status IN ('open', 'paid', 'uncollectible', 'void')),
    reason              text NOT NULL, -- subscription_create, subscription_cycle, subscription_update
    currency            text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    subtotal            bigint NOT NULL,
    tax                 bigint NOT NULL DEFAULT 0 CHECK (tax = 0), -- no tax is collected yet: always 0
    total               bigint NOT NULL,
    amount_paid         bigint NOT NULL DEFAULT 0 CHECK (amount_paid >= 0),
    amount_refunded     bigint NOT NULL DEFAULT 0 CHECK (amount_refunded >= 0 AND amount_refunded <= amount_paid),
    period_start        timestamptz NOT NULL,
    period_end          timestamptz NOT NULL,
    created_at          timestamptz NOT NULL,
    paid_at             timestamptz,
    UNIQUE (subscription_id, provider_invoice_id)
);
CREATE INDEX invoices_account ON payment.invoices (account_id, created_at DESC);

CREATE TABLE payment.invoice_lines (
    id           bigserial PRIMARY KEY,
    invoice_id   uuid NOT NULL REFERENCES payment.invoices (id) ON DELETE CASCADE,
    description  text NOT NULL,
    amount       bigint NOT NULL, -- negative for a proration credit
    quantity     int NOT NULL DEFAULT 1,
    period_start timestamptz NOT NULL,
    period_end   timestamptz NOT NULL
);

CREATE TABLE payment.payment_attempts (
    id           bigserial PRIMARY KEY,
    invoice_id   uuid NOT NULL REFERENCES payment.invoices (id) ON DELETE CASCADE,
    attempt      int NOT NULL,
    succeeded    bool NOT NULL,
    failure_code text,
    event_id     text NOT NULL,
    at           timestamptz NOT NULL,
    UNIQUE (invoice_id, attempt)
);

CREATE TABLE payment.refunds (
    id                 uuid PRIMARY KEY,
    invoice_id         uuid NOT NULL REFERENCES payment.invoices (id) ON DELETE CASCADE,
    amount             bigint NOT NULL CHECK (amount > 0),
    reason             text NOT NULL,
    provider_refund_id text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- Every webhook event, recorded once by its id: a duplicate changes nothing.
CREATE TABLE payment.webhook_events (
    provider     text NOT NULL,
    event_id     text NOT NULL,
    type         text NOT NULL,
    created      timestamptz NOT NULL, -- the provider's time of the event
    payload      jsonb NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    outcome      text, -- applied, stale, ignored: <why>
    PRIMARY KEY (provider, event_id)
);

-- Idempotency-Key of money-moving requests: a replay gets the first answer.
CREATE TABLE payment.idempotency_keys (
    account_id   text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    status       int,   -- null while the first request runs
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);

-- The sandbox provider: Stripe Billing's side, kept here so the whole flow
-- runs on one machine.
CREATE TABLE payment.sandbox_clock (
    id             bool PRIMARY KEY DEFAULT true CHECK (id),
    offset_seconds bigint NOT NULL DEFAULT 0,
    -- Signs the sandbox's webhook events unless PAYMENT_WEBHOOK_SECRET is set.
    webhook_secret text NOT NULL DEFAULT 'whsec_' || md5(random()::text || clock_timestamp()::text) || md5(random()::text)
);
INSERT INTO payment.sandbox_clock DEFAULT VALUES;

CREATE TABLE payment.sandbox_checkouts (
    id              text PRIMARY KEY,
    account_id      uuid NOT NULL,
    email           text NOT NULL,
    subscription_id uuid NOT NULL, -- streamflix's
    price_id        bigint NOT NULL,
    plan_name       text NOT NULL,
    amount          bigint NOT NULL,
    currency        text NOT NULL,
    interval        text NOT NULL,
    trial_days      int NOT NULL,
    success_url     text NOT NULL,
    cancel_url      text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'expired')),
    provider_subscription_id text,
    idempotency_key text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payment.sandbox_subscriptions (
    id                   text PRIMARY KEY,
    customer_id          text NOT NULL,
    metadata             jsonb NOT NULL,
    price_id             bigint NOT NULL,
    plan_name            text NOT NULL,
    amount               bigint NOT NULL,
    currency             text NOT NULL,
    interval             text NOT NULL,
    pending_price        jsonb, -- a downgrade applied at the next renewal
    status               text NOT NULL,
    card_last4           text NOT NULL,
    card_brand           text NOT NULL,
    card_fails_renewal   bool NOT NULL,
    current_period_start timestamptz NOT NULL,
    current_period_end   timestamptz NOT NULL,
    cancel_at_period_end bool NOT NULL DEFAULT false,
    open_invoice         text,          -- the unpaid renewal invoice
    failed_attempts      int NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz,   -- the next retry of open_invoice
    canceled_at          timestamptz,
    created_at           timestamptz NOT NULL
);
CREATE INDEX sandbox_subscriptions_due ON payment.sandbox_subscriptions (current_period_end) WHERE status <> 'canceled';

CREATE TABLE payment.sandbox_invoices (
    id              text PRIMARY KEY,
    subscription_id text NOT NULL REFERENCES payment.sandbox_subscriptions (id),
    payload         jsonb NOT NULL, -- the Stripe-shaped invoice
    amount_paid     bigint NOT NULL DEFAULT 0,
    amount_refunded bigint NOT NULL DEFAULT 0
);

CREATE TABLE payment.sandbox_portal_sessions (
    id              text PRIMARY KEY,
    subscription_id text NOT NULL REFERENCES payment.sandbox_subscriptions (id),
    return_url      text NOT NULL,
    expires_at      timestamptz NOT NULL
);

-- Idempotency keys of calls to the sandbox, as Stripe keeps them: a
-- repeated call returns the first result and charges nothing again.
CREATE TABLE payment.sandbox_requests (
    idempotency_key text PRIMARY KEY,
    result          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payment.sandbox_events (
    id         text PRIMARY KEY,
    payload    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO payment.plans (code, name, interval, max_streams, max_height) VALUES
    ('basic', 'Basic', 'month', 1, 720),
    ('standard', 'Standard', 'month', 2, 1080),
    ('premium', 'Premium', 'month', 4, 2160);
INSERT INTO payment.prices (plan_code, version, amount, currency) VALUES
    ('basic', 1, 799, 'EUR'),
    ('standard', 1, 1399, 'EUR'),
    ('premium', 1, 1999, 'EUR');
