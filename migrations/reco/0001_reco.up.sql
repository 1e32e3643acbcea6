-- The recommendation module owns two schemas: analytics (the raw log of
-- viewing and client events, what models learn from) and reco (signals
-- given on purpose, and what training computes). Ids of other modules'
-- rows (profiles, titles, episodes) are kept as plain uuids: no
-- cross-schema keys.
CREATE SCHEMA IF NOT EXISTS analytics;

-- Events, one row each, partitioned by month of the event's time. The key
-- includes the partition column (Postgres requires it): an event
-- redelivered with its id and time lands once; the writer inserts with ON
-- CONFLICT DO NOTHING. Partitions are named events_yYYYYmMM and created
-- ahead by the reco.partitions job (and, should one be missing, by the
-- writer itself before it retries).
CREATE TABLE analytics.events (
    id          uuid NOT NULL,
    at          timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('start', 'progress', 'quality', 'stop', 'complete', 'seek', 'error', 'rebuffer')),
    account_id  uuid,
    profile_id  uuid NOT NULL,
    session_id  text NOT NULL DEFAULT '',
    title_id    uuid,
    episode_id  uuid,
    video_id    text NOT NULL DEFAULT '',
    position_s  double precision,
    rendition   text NOT NULL DEFAULT '',
    detail      jsonb,                                 -- client events: from_s, duration_ms, code, message
    source      text NOT NULL CHECK (source IN ('server', 'client')),
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE INDEX events_profile_idx ON analytics.events (profile_id, at);

CREATE FUNCTION analytics.ensure_month(m timestamptz) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', m AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := lo + interval '1 month';
    name text := 'events_' || to_char(lo AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
BEGIN
    EXECUTE format('CREATE TABLE IF NOT EXISTS analytics.%I PARTITION OF analytics.events FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
END $$;

SELECT analytics.ensure_month(now() + make_interval(months => n)) FROM generate_series(-1, 2) AS n;

-- Watching, per profile and title, folded from the events as they are
-- written (only events inserted for the first time count): the furthest
-- position, how many times it was finished, when last watched.
CREATE TABLE reco.watch (
    profile_id       uuid NOT NULL,
    title_id         uuid NOT NULL,
    max_position_s   double precision NOT NULL DEFAULT 0,
    completes        integer NOT NULL DEFAULT 0,
    last_at          timestamptz NOT NULL,
    last_complete_at timestamptz,
    PRIMARY KEY (profile_id, title_id)
);

-- Thumbs up (1) or down (-1), per profile.
CREATE TABLE reco.ratings (
    profile_id uuid NOT NULL,
    title_id   uuid NOT NULL,
    rating     smallint NOT NULL CHECK (rating IN (-1, 1)),
    rated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, title_id)
);

CREATE TABLE reco.my_list (
    profile_id uuid NOT NULL,
    title_id   uuid NOT NULL,
    added_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (profile_id, title_id)
);
CREATE INDEX my_list_recent_idx ON reco.my_list (profile_id, added_at DESC);

-- Cold-start picks: titles and genres a new profile said it likes.
CREATE TABLE reco.picks (
    profile_id uuid PRIMARY KEY,
    title_ids  uuid[] NOT NULL DEFAULT '{}',
    genres     text[] NOT NULL DEFAULT '{}',
    picked_at  timestamptz NOT NULL DEFAULT now()
);

-- Trained models, one row per retrain: which candidate fills "Top picks"
-- and every candidate's validation metrics.
CREATE TABLE reco.models (
    version      bigserial PRIMARY KEY,
    model        text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('item_item', 'popularity')),
    metrics      jsonb NOT NULL,
    profiles     integer NOT NULL,
    items        integer NOT NULL,
    interactions integer NOT NULL,
    train_ms     bigint NOT NULL,
    peak_bytes   bigint NOT NULL,
    trained_at   timestamptz NOT NULL DEFAULT now()
);

-- A model's item × item weights (EASE's B, RP3β's or ItemKNN's W), row by
-- row: what nearline rescoring multiplies a history by, and, positive
-- entries first, "Because you watched" and "More like this".
CREATE TABLE reco.neighbours (
    model_version bigint NOT NULL REFERENCES reco.models (version) ON DELETE CASCADE,
    title_id      uuid NOT NULL,
    items         uuid[] NOT NULL,
    weights       real[] NOT NULL,
    PRIMARY KEY (model_version, title_id)
);

-- Popularity with time decay, overall (scope '') and per genre slug.
CREATE TABLE reco.popular (
    model_version bigint NOT NULL REFERENCES reco.models (version) ON DELETE CASCADE,
    scope         text NOT NULL,
    items         uuid[] NOT NULL,
    scores        real[] NOT NULL,
    PRIMARY KEY (model_version, scope)
);

-- Per-profile top-N, best first, written by a retrain and rescored
-- nearline after a finished watch or a thumbs change.
CREATE TABLE reco.topn (
    profile_id    uuid PRIMARY KEY,
    model_version bigint NOT NULL,
    items         uuid[] NOT NULL,
    scores        real[] NOT NULL,
    scored_at     timestamptz NOT NULL DEFAULT now()
);
