-- Keys that sign access tokens (RS256, RSA 2048), used when AUTH_SIGNING_KEYS
-- is empty. The first instance to start generates one (under an advisory
-- lock, so instances starting together create only one); every instance
-- reloads the table each minute, so a rotation on one reaches the others.
--
-- kid is the RFC 7638 JWK thumbprint of the public key. The signing key is
-- the newest row without retired_at; the others still verify until retired.
--
-- SECURITY: private keys stored in the database are the development default
-- only: anyone who can read this table can mint tokens for any user.
-- Production should set AUTH_SIGNING_KEYS (PEM-encoded PKCS#8 RSA keys, the
-- first signs) from a secret store, in which case this table stays empty.
CREATE TABLE auth.signing_keys (
    kid         text PRIMARY KEY,
    private_pem text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz
);
