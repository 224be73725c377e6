-- autoresponder's SQLite schema: the one source of truth for its tables.
-- Applied by autoresponder.store on first use of a database; PRAGMA user_version records it.
-- Times are UTC: *_at TEXT columns hold ISO 8601 'YYYY-MM-DDTHH:MM:SSZ' (they sort as text);
-- ledger times are REAL Unix seconds, compared on every delivery.

PRAGMA journal_mode = WAL;

CREATE TABLE IF NOT EXISTS accounts (
    address          TEXT PRIMARY KEY,      -- normalised (addresses.normalize), no +detail
    enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    start_at         TEXT,                  -- NULL: from now on
    end_at           TEXT,                  -- NULL: until disabled; exclusive
    subject          TEXT,                  -- NULL: the template's subject, else "Auto: <orig>"
    message          TEXT,                  -- the account's own words, given to the template
    template         TEXT NOT NULL DEFAULT 'default',
    language         TEXT,                  -- 'pt' | 'en' | NULL (from the message, or config)
    interval_seconds INTEGER CHECK (interval_seconds IS NULL OR interval_seconds >= 0),
    from_name        TEXT,                  -- display name on the reply's From
    handle           TEXT NOT NULL,         -- RFC 5230 :handle of the current reply
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    -- version 4 (issue 13); older files get these columns by ALTER TABLE (store/sqlite.py)
    timezone         TEXT,                  -- IANA zone; NULL: the config's
    start_local      TEXT,                  -- start_at as typed: wall-clock 'YYYY-MM-DDTHH:MM'
    end_local        TEXT,                  -- in the account's zone (what delivery reads)
    internal_domains TEXT,                  -- comma-separated: example.com, .example.com
    external         TEXT CHECK (external IS NULL OR external IN ('reply', 'none')),
    external_subject TEXT,                  -- what outsiders get (NULL: the internal one)
    external_message TEXT,
    external_template TEXT,
    reply_from       TEXT,                  -- NULL/'account', 'addressed', or one own address
    answer_group_mail INTEGER CHECK (answer_group_mail IS NULL OR answer_group_mail IN (0, 1))
);

-- Queued absences and weekly windows (version 4): wall-clock in the account's zone.
CREATE TABLE IF NOT EXISTS schedule_items (
    id                INTEGER PRIMARY KEY,
    account           TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
    kind              TEXT NOT NULL CHECK (kind IN ('absence', 'window')),
    key               TEXT NOT NULL,        -- names it in the reply's handle
    start_local       TEXT,                 -- absence: 'YYYY-MM-DDTHH:MM' or NULL (open)
    end_local         TEXT,                 -- absence: exclusive, or NULL (open)
    spec              TEXT,                 -- window: canonical text (schedule.format_window)
    subject           TEXT,                 -- NULL: the account's
    message           TEXT,
    template          TEXT,
    external_subject  TEXT,
    external_message  TEXT,
    external_template TEXT,
    created_at        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS schedule_items_account ON schedule_items(account, id);

CREATE TABLE IF NOT EXISTS aliases (
    alias    TEXT PRIMARY KEY,              -- normalised; maps to exactly one account
    account  TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS aliases_account ON aliases(account);

-- One row per (account, sender, handle): the claim that makes "once per window" atomic.
CREATE TABLE IF NOT EXISTS ledger (
    account      TEXT NOT NULL,
    sender       TEXT NOT NULL,             -- normalised envelope sender
    handle       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
    claimed_at   REAL NOT NULL,
    lease_until  REAL NOT NULL,             -- a pending claim older than this is void
    sent_at      REAL,
    expires_at   REAL NOT NULL,             -- end of the window
    PRIMARY KEY (account, sender, handle)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_expires ON ledger(expires_at);

-- Every reply that left (or was refused for good), for rate limits and `history`.
CREATE TABLE IF NOT EXISTS replies (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    sender      TEXT NOT NULL,
    handle      TEXT NOT NULL,
    sent_at     REAL NOT NULL,
    message_id  TEXT,
    status      TEXT NOT NULL DEFAULT 'sent' CHECK (status IN ('sent', 'rejected')),
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS replies_account_time ON replies(account, sent_at);
CREATE INDEX IF NOT EXISTS replies_time ON replies(sent_at);

-- Rendered replies whose template depends only on the account (autoresponder.rendercache).
CREATE TABLE IF NOT EXISTS render_cache (
    key         TEXT PRIMARY KEY,
    subject     TEXT,
    text        TEXT NOT NULL,
    html        TEXT,
    mime        BLOB NOT NULL,              -- reply.mime_body(text, html)
    language    TEXT NOT NULL,
    template    TEXT NOT NULL,
    created_at  REAL NOT NULL
);

-- Version 5: HTTP API tokens (`autoresponder token create`). Only the SHA-256 of a token is
-- kept; the token is shown once. account NULL: an admin token (every account).
CREATE TABLE IF NOT EXISTS api_tokens (
    token_id    TEXT PRIMARY KEY,           -- public part, for `token list` / `token revoke`
    digest      TEXT NOT NULL,              -- hex SHA-256 of the whole token
    account     TEXT,                       -- normalised address; NULL for an admin token
    label       TEXT,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT                        -- set by `token revoke`; the row stays for audit
);
