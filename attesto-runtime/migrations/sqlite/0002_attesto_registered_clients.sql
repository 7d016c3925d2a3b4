-- Dynamically registered clients (RFC 7591), what `SqliteRegistrations` keeps: one column per
-- field of `Client`, so that a host can query the table (list clients, say), plus the accepted
-- metadata as returned to the client. Secrets and registration access tokens are stored only as
-- SHA-256 hashes. Times are unix seconds.
CREATE TABLE attesto_registered_clients (
    client_id                      TEXT PRIMARY KEY,
    client_name                    TEXT,
    -- JSON array of strings.
    redirect_uris                  TEXT NOT NULL,
    is_public                      BOOLEAN NOT NULL,
    -- JSON array of grant type wire values (`authorization_code`, …).
    grant_types                    TEXT NOT NULL,
    -- Space-separated, as on the wire (RFC 6749 §3.3).
    scopes                         TEXT NOT NULL,
    -- `client_secret_basic`, `client_secret_post` or `none`.
    token_endpoint_auth_method     TEXT NOT NULL,
    secret_hash                    BLOB,
    -- JSON Web Key Set, as JSON.
    jwks                           TEXT,
    dpop_bound_access_tokens       BOOLEAN NOT NULL,
    -- JSON object: the client metadata as returned to the client (RFC 7591 §3.2.1).
    metadata                       TEXT NOT NULL,
    registration_access_token_hash BLOB NOT NULL,
    issued_at                      INTEGER NOT NULL,
    secret_expires_at              INTEGER
);
