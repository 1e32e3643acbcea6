-- Accounts, their profiles, and single-use email tokens. Owned by the user
-- module; passwords and sessions live in the auth schema.
CREATE TABLE users.accounts (
    id                uuid PRIMARY KEY,
    email             text NOT NULL,
    -- email_key is the normalised address (trimmed, lower case): unique
    -- regardless of case.
    email_key         text NOT NULL,
    email_verified_at timestamptz,
    roles             text[] NOT NULL DEFAULT '{viewer}',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_email_key_key UNIQUE (email_key)
);

CREATE TABLE users.profiles (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES users.accounts (id) ON DELETE CASCADE,
    name           text NOT NULL,
    avatar         text NOT NULL DEFAULT '',
    language       text NOT NULL DEFAULT 'en',
    kids           boolean NOT NULL DEFAULT false,
    maturity_level integer NOT NULL,
    pin_hash       text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT profiles_account_name_key UNIQUE (account_id, name)
);

CREATE INDEX profiles_account_id_idx ON users.profiles (account_id, created_at);

-- Single-use tokens sent by email: verify the address (purpose verify) or
-- confirm a change to a new one (purpose change). Only a hash is stored.
CREATE TABLE users.email_tokens (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES users.accounts (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify', 'change')),
    email      text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX email_tokens_account_id_idx ON users.email_tokens (account_id);
