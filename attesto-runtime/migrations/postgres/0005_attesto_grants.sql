-- Grants: what `PostgresStore` keeps of each authorization a user gave a client (an authorization code
-- or a device code redeemed), for the host's "connected apps" page. `grant_json` holds the whole
-- record; `last_used_at` (moved by every refresh) and `revoked` are columns so that they change
-- without rewriting it. Listed by `subject`, newest first; kept, revoked or not, until
-- `expires_at` (the end of the grant's last token).
CREATE TABLE attesto_grants (
    grant_id     TEXT PRIMARY KEY,
    subject      TEXT NOT NULL,
    grant_json   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    revoked      BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX attesto_grants_subject ON attesto_grants (subject, created_at);
CREATE INDEX attesto_grants_expires_at ON attesto_grants (expires_at);
