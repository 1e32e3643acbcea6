-- Credentials, sessions and tokens. Owned by the auth module; accounts
-- live in the users schema and are referred to by id only.
CREATE TABLE auth.passwords (
    user_id    uuid PRIMARY KEY,
    hash       text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One session per signed-in device.
CREATE TABLE auth.sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL,
    profile_id     uuid,
    device_name    text NOT NULL,
    device_kind    text NOT NULL CHECK (device_kind IN ('web', 'mobile', 'tv', 'other')),
    ip             text NOT NULL,
    user_agent     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_seen_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz,
    revoked_reason text
);

CREATE INDEX sessions_user_id_idx ON auth.sessions (user_id, created_at DESC);

-- Refresh tokens, stored only as SHA-256 hashes. A token is rotated on use;
-- presenting a rotated token again revokes the whole session.
CREATE TABLE auth.refresh_tokens (
    token_hash bytea PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth.sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    rotated_at timestamptz
);

CREATE INDEX refresh_tokens_session_id_idx ON auth.refresh_tokens (session_id);

-- Password reset tokens: single use, one hour.
CREATE TABLE auth.reset_tokens (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX reset_tokens_user_id_idx ON auth.reset_tokens (user_id);

-- Security events: refresh token reuse, lockouts, password changes.
CREATE TABLE auth.security_events (
    id         bigserial PRIMARY KEY,
    user_id    uuid,
    session_id uuid,
    kind       text NOT NULL,
    ip         text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX security_events_user_id_idx ON auth.security_events (user_id, created_at DESC);
