-- Back-channel logout (OpenID Connect Back-Channel Logout 1.0): what `PostgresStore` keeps of each client
-- with a `backchannel_logout_uri` that received tokens in a user's session, so that the client is
-- sent a logout token when the session ends. One row per subject, session and client;
-- `session_id` is '' when the host's session had no identifier (keyed by the subject alone).
-- Taken (deleted and returned) when the session ends; kept until `expires_at` otherwise.
CREATE TABLE attesto_logout_sessions (
    subject    TEXT NOT NULL,
    session_id TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (subject, session_id, client_id)
);
CREATE INDEX attesto_logout_sessions_expires_at ON attesto_logout_sessions (expires_at);
