-- autoresponder's PostgreSQL schema, version 3: HTTP API tokens (`autoresponder token create`).
-- Only the SHA-256 of a token is kept; the token is shown once. account NULL: an admin token.
-- IF NOT EXISTS: versions are applied by their own number, in any order they arrive in.

CREATE TABLE IF NOT EXISTS api_tokens (
    token_id    text PRIMARY KEY,           -- public part, for `token list` / `token revoke`
    digest      text NOT NULL,              -- hex SHA-256 of the whole token
    account     text,                       -- normalised address; NULL for an admin token
    label       text,
    created_at  text NOT NULL,
    revoked_at  text                        -- set by `token revoke`; the row stays for audit
);
