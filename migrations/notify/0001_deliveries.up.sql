-- One row per email job (notify.email): who it went to, what it said, and
-- what became of it. The worker writes the row before it talks to the SMTP
-- server and updates it after, so a job that runs again (a retry, a crash,
-- an operator's retry) knows whether its email already went out.
--
-- status: sending  an attempt is under way, or failed temporarily and River
--                  will retry (error holds the last failure);
--         sent     the SMTP server accepted the message;
--         failed   refused for good (a 5xx reply, unknown user) or out of
--                  attempts; error says why. Never retried by itself.
CREATE TABLE notify.deliveries (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    job_id      bigint NOT NULL,            -- river.river_job.id (no cross-schema key)
    kind        text NOT NULL,              -- notification kind, e.g. password_reset
    user_id     text,                       -- the user it is about; null when addressed only by To
    dedup_key   text,                       -- the request's DedupKey; null when none
    to_address  text NOT NULL DEFAULT '',   -- empty until the recipient is resolved
    subject     text NOT NULL DEFAULT '',
    message_id  text NOT NULL,              -- Message-ID without <>, kept across retries
    status      text NOT NULL DEFAULT 'sending' CHECK (status IN ('sending', 'sent', 'failed')),
    attempts    integer NOT NULL DEFAULT 0, -- SMTP attempts made
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    CONSTRAINT deliveries_job_id_key UNIQUE (job_id)
);

-- A (kind, dedup key) is delivered once, whichever job claims it first.
CREATE UNIQUE INDEX deliveries_dedup_key_idx ON notify.deliveries (kind, dedup_key) WHERE dedup_key IS NOT NULL;
-- A user's deliveries (their history; erasing them with the account).
CREATE INDEX deliveries_user_id_idx ON notify.deliveries (user_id, created_at DESC) WHERE user_id IS NOT NULL;
-- Operators list failed deliveries, newest first.
CREATE INDEX deliveries_failed_idx ON notify.deliveries (created_at DESC) WHERE status = 'failed';
