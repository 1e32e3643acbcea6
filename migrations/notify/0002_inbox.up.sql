-- The in-app inbox, per-user preferences and notify's own secrets.

-- One row per in-app notification. Written in the transaction that asks for
-- the notification (Service.EnqueueTx), so a row exists iff the change
-- that caused it committed. seq is the user's event id for Server-Sent
-- Events: it increases with every notification of that user, in commit
-- order (inbox_seq's row lock serialises a user's inserts).
CREATE TABLE notify.notifications (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text NOT NULL,
    seq         bigint NOT NULL,
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL DEFAULT '',
    data        jsonb NOT NULL DEFAULT '{}',
    dedup_key   text,
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_user_seq_key UNIQUE (user_id, seq)
);
-- A user's inbox, newest first (the list's keyset order).
CREATE INDEX notifications_user_created_idx ON notify.notifications (user_id, created_at DESC, id DESC);
-- The unread count.
CREATE INDEX notifications_unread_idx ON notify.notifications (user_id) WHERE read_at IS NULL;
-- A retried request makes one inbox row.
CREATE UNIQUE INDEX notifications_dedup_idx ON notify.notifications (user_id, kind, dedup_key) WHERE dedup_key IS NOT NULL;

-- The last event id handed out per user.
CREATE TABLE notify.inbox_seq (
    user_id text PRIMARY KEY,
    seq     bigint NOT NULL
);

-- A user's choices per kind; no row means the default (on).
CREATE TABLE notify.preferences (
    user_id    text NOT NULL,
    kind       text NOT NULL,
    email      boolean NOT NULL DEFAULT true,
    in_app     boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, kind)
);

-- Secrets notify generates once and every instance shares (the
-- unsubscribe-link key when UNSUBSCRIBE_SECRET is not set).
CREATE TABLE notify.secrets (
    name       text PRIMARY KEY,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- A delivery skipped because the user turned that kind's email off.
ALTER TABLE notify.deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE notify.deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('sending', 'sent', 'failed', 'skipped'));
