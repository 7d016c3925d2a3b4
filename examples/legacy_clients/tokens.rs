//! The token table of an earlier provider, read through attesto's `LegacyTokens` so that the
//! tokens its clients hold keep working until a cut-off (the migration guide's "carry tokens
//! over"): shared by `examples/legacy_clients.rs` and `tests/it/side_by_side.rs`, which include
//! this file with `#[path]`, next to `mapping.rs` (the client table).
//!
//! The table is the one a typical hand-rolled or Doorkeeper-style provider left behind, one row
//! per grant, with the tokens stored hashed:
//!
//! | column | what the old provider stored |
//! |---|---|
//! | `access_token_hash TEXT UNIQUE` | the hex SHA-256 of the access token (opaque) |
//! | `refresh_token_hash TEXT UNIQUE` | the hex SHA-256 of the refresh token; `NULL` without one |
//! | `client_id TEXT` | the client (a row of `oauth_clients`) |
//! | `user_id TEXT` | the user: the subject attesto issues for |
//! | `scopes TEXT` | the scopes, space-separated |
//! | `resource TEXT` | the API the tokens are for; `NULL` when the old provider had none: a refresh then gets attesto's default audience, and the access token no guard accepts |
//! | `created_at INTEGER` | when the user authorized, Unix seconds |
//! | `access_expires_at INTEGER` | when the access token expires, Unix seconds |
//! | `refresh_expires_at INTEGER` | when the refresh token expires, Unix seconds; `NULL` for never |
//! | `revoked BOOLEAN` | revoked by the old provider |
//!
//! Each check is one `SELECT` by a unique index on the hash: the same cost as attesto's own
//! lookup, whatever an anonymous caller sends.
#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, SystemTime};

use attesto::sqlx::{self, SqlitePool};
use attesto::{
    AuthenticatedPrincipal, HostError, LegacyAccessToken, LegacyGrant, LegacyTokens, Scope, Scopes, SecretHash,
};

/// The table as the old provider created it.
pub const LEGACY_TOKENS_TABLE: &str = "CREATE TABLE IF NOT EXISTS oauth_tokens (
    id                 INTEGER PRIMARY KEY,
    access_token_hash  TEXT NOT NULL UNIQUE,
    refresh_token_hash TEXT UNIQUE,
    client_id          TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    scopes             TEXT NOT NULL DEFAULT '',
    resource           TEXT,
    created_at         INTEGER NOT NULL,
    access_expires_at  INTEGER NOT NULL,
    refresh_expires_at INTEGER,
    revoked            BOOLEAN NOT NULL DEFAULT FALSE
)";

/// The hex SHA-256 of a token: what the old provider wrote to the `…_hash` columns.
pub fn token_hash(token: &str) -> String {
    SecretHash::of(token).as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

fn from_unix(seconds: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// A grant as the old provider wrote it (for the demo data and the tests; attesto never writes
/// to this table).
#[derive(Debug, Clone)]
pub struct OldGrant<'a> {
    pub access_token: &'a str,
    pub refresh_token: Option<&'a str>,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub scopes: &'a str,
    pub resource: Option<&'a str>,
    pub access_expires_at: SystemTime,
}

/// Writes `grant` the way the old provider did, its tokens hashed.
pub async fn insert_legacy_grant(pool: &SqlitePool, grant: &OldGrant<'_>) -> Result<(), sqlx::Error> {
    let now = SystemTime::now();
    sqlx::query(
        "INSERT INTO oauth_tokens (access_token_hash, refresh_token_hash, client_id, user_id, scopes, resource, \
         created_at, access_expires_at, refresh_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .bind(token_hash(grant.access_token))
    .bind(grant.refresh_token.map(token_hash))
    .bind(grant.client_id)
    .bind(grant.user_id)
    .bind(grant.scopes)
    .bind(grant.resource)
    .bind(unix(now))
    .bind(unix(grant.access_expires_at))
    .bind(unix(now + Duration::from_secs(90 * 86_400)))
    .execute(pool)
    .await?;
    Ok(())
}

/// The scopes of a row; a value that is not a list of scope tokens is an error (the request
/// answers `503`), not a silently smaller grant.
fn scopes_of(scopes: &str) -> Result<Scopes, HostError> {
    scopes
        .split_whitespace()
        .map(Scope::parse)
        .collect::<Result<Scopes, _>>()
        .map_err(|_| HostError::msg("oauth_tokens.scopes is not a list of scopes"))
}

/// The legacy table behind attesto's [`LegacyTokens`], until `accepted_until`.
#[derive(Clone)]
pub struct LegacyTokenTable {
    pool: SqlitePool,
    accepted_until: SystemTime,
}

impl LegacyTokenTable {
    /// The table of `pool`, accepted until `accepted_until`: past the old refresh tokens' longest
    /// remaining lifetime, every client that was going to come back has.
    pub fn new(pool: SqlitePool, accepted_until: SystemTime) -> Self {
        Self { pool, accepted_until }
    }
}

impl LegacyTokens for LegacyTokenTable {
    fn accepted_until(&self) -> SystemTime {
        self.accepted_until
    }

    /// The row whose refresh token hash is the token's, unrevoked and unexpired. attesto
    /// records the exchange itself (a second presentation is refused without relying on this
    /// table); the old row is left as it is, so that the old provider, still running during the
    /// overlap, does not see its data change under it.
    async fn verify_refresh_token(&self, token: &str) -> Result<Option<LegacyGrant>, HostError> {
        let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT client_id, user_id, scopes, resource, created_at FROM oauth_tokens \
             WHERE refresh_token_hash = ?1 AND NOT revoked \
             AND (refresh_expires_at IS NULL OR refresh_expires_at > ?2)",
        )
        .bind(token_hash(token))
        .bind(unix(SystemTime::now()))
        .fetch_optional(&self.pool)
        .await?;
        let Some((client_id, user_id, scopes, resource, created_at)) = row else { return Ok(None) };
        // The user authorized when the row was written: the new tokens' `auth_time`.
        let principal = AuthenticatedPrincipal::new(user_id, from_unix(created_at));
        Ok(Some(LegacyGrant::new(principal, client_id, scopes_of(&scopes)?).with_resources(resource)))
    }

    /// The row whose access token hash is the token's, unrevoked; attesto checks the expiry,
    /// the audience, the client and the scopes.
    async fn verify_access_token(&self, token: &str) -> Result<Option<LegacyAccessToken>, HostError> {
        let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT client_id, user_id, scopes, resource, access_expires_at FROM oauth_tokens \
             WHERE access_token_hash = ?1 AND NOT revoked",
        )
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await?;
        let Some((client_id, user_id, scopes, resource, expires_at)) = row else { return Ok(None) };
        Ok(Some(LegacyAccessToken::new(user_id, client_id, scopes_of(&scopes)?, resource, from_unix(expires_at))))
    }
}
