-- attesto's own state: what `SqliteStore` keeps. Every table is prefixed `attesto_` so that it
-- lives beside the host's tables. Times are unix seconds (expiries rounded up); hashes are the
-- SHA-256 of values handed out once (the values themselves are never stored); `*_json` columns
-- hold the serde JSON of attesto's types. Rows past their expiry are swept by
-- `SqliteStore::sweep`, and every read checks expiry anyway.

-- Pending and pushed authorization requests, taken once (DELETE … RETURNING).
CREATE TABLE attesto_pending (
    handle       BLOB PRIMARY KEY,
    pending_json TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX attesto_pending_expires_at ON attesto_pending (expires_at);

-- Authorization codes. A redemption sets `used` and records what it issued in `issue_json`; the
-- row is then kept until `keep_until` (the issued access token's expiry) to recognise a replay.
CREATE TABLE attesto_codes (
    code       BLOB PRIMARY KEY,
    grant_json TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    used       BOOLEAN NOT NULL DEFAULT FALSE,
    issue_json TEXT,
    keep_until INTEGER NOT NULL
);
CREATE INDEX attesto_codes_keep_until ON attesto_codes (keep_until);

-- Refresh-token families. `current_token` is the one token that rotates; a revoked family (for
-- reuse, by revocation, or before it was even created: a tombstone with no `family_json`) has
-- `revoked` set and is kept until `expires_at` so that its id cannot be created again.
CREATE TABLE attesto_refresh_families (
    family_id     TEXT PRIMARY KEY,
    family_json   TEXT,
    current_token BLOB UNIQUE,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX attesto_refresh_families_expires_at ON attesto_refresh_families (expires_at);

-- Every refresh token a family ever had, current or rotated out: presenting a rotated-out one is
-- reuse (RFC 9700 §4.14.2).
CREATE TABLE attesto_refresh_tokens (
    token      BLOB PRIMARY KEY,
    family_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX attesto_refresh_tokens_expires_at ON attesto_refresh_tokens (expires_at);

-- Revoked access tokens, by `jti`, until they expire (RFC 7009).
CREATE TABLE attesto_revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX attesto_revoked_access_tokens_expires_at ON attesto_revoked_access_tokens (expires_at);

-- DPoP proofs seen (RFC 9449 §11.1), by the hash of key thumbprint and `jti`.
CREATE TABLE attesto_dpop_proofs (
    proof_key  BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX attesto_dpop_proofs_expires_at ON attesto_dpop_proofs (expires_at);
