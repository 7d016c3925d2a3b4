-- Device grants (RFC 8628): what `PostgresStore` keeps of a device authorization request, under the
-- SHA-256 of its device code, found by its user code while the user decides. `grant_json` holds
-- the whole grant (status, interval, last poll); every change rewrites it with `version` one
-- higher, and only if `version` is still the one read (compare-and-set), so that of two
-- concurrent polls of an approved grant one redeems it. Kept until `keep_until` (after expiry,
-- so that a late poll hears `expired_token`).
CREATE TABLE attesto_device_grants (
    device_code BYTEA PRIMARY KEY,
    user_code   TEXT NOT NULL UNIQUE,
    grant_json  TEXT NOT NULL,
    version     BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    keep_until  BIGINT NOT NULL
);
CREATE INDEX attesto_device_grants_keep_until ON attesto_device_grants (keep_until);
