//! The client table of an earlier provider, read as attesto clients without migrating a row (the
//! migration checklist's step 3): shared by `examples/legacy_clients.rs` and
//! `tests/it/legacy_clients.rs`, which includes this file with `#[path]`.
//!
//! The table is the one a typical hand-rolled or Doorkeeper-style provider left behind:
//!
//! | column | what the old provider stored |
//! |---|---|
//! | `id TEXT PRIMARY KEY` | the client id |
//! | `secret_hash TEXT` | the hex SHA-256 of the client secret, lower or upper case (Doorkeeper's `hash_application_secrets` with its default `Sha256Hash`, and most hand-rolled providers); `NULL` for a public client |
//! | `redirect_uris TEXT` | the redirect URIs, one per line (`\n` or `\r\n`) |
//! | `scopes TEXT` | the scopes the client may hold, space-separated |
//! | `confidential BOOLEAN` | whether the client has a secret; a public client authenticates with `none` |
//!
//! The table has no grant types: a confidential client gets `authorization_code`,
//! `refresh_token` and `client_credentials`, a public one the first two (what the old provider
//! allowed). A table whose secrets are bcrypt or PBKDF2 hashes keeps them as they are and checks
//! them in `verify_client_secret` with that algorithm instead (see there).
#![allow(dead_code, unreachable_pub)]

use attesto::sqlx::{self, SqlitePool};
use attesto::{Client, ClientStore, HostError, Scope, Scopes, SecretHash};

/// The table as the old provider created it.
pub const LEGACY_TABLE: &str = "CREATE TABLE IF NOT EXISTS oauth_clients (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT,
    redirect_uris TEXT NOT NULL DEFAULT '',
    scopes        TEXT NOT NULL DEFAULT '',
    confidential  BOOLEAN NOT NULL DEFAULT TRUE
)";

/// A row of `oauth_clients`, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRow {
    pub id: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: String,
    pub scopes: String,
    pub confidential: bool,
}

impl LegacyRow {
    /// The client this row stands for.
    ///
    /// A scope the table holds that is not a valid scope token (RFC 6749 §3.3) is an error: the
    /// row cannot be read, and requests for that client answer `503` until it is fixed, rather
    /// than silently lose a scope. A confidential client's hash that is not 64 hex digits gives
    /// a client without a usable secret: it is refused `invalid_client` until it is fixed.
    pub fn to_client(&self) -> Result<Client, HostError> {
        let scopes =
            self.scopes.split_whitespace().map(Scope::parse).collect::<Result<Scopes, _>>().map_err(|_| {
                HostError::msg(format!("oauth_clients.scopes of `{}` is not a list of scopes", self.id))
            })?;
        let redirect_uris = self.redirect_uris.lines().map(str::trim).filter(|uri| !uri.is_empty());
        let client = if self.confidential {
            let hash = self.secret_hash.as_deref().and_then(parse_hex_sha256);
            if hash.is_none() {
                tracing::warn!(client_id = %self.id, "oauth_clients.secret_hash is not a hex SHA-256: the client cannot authenticate");
            }
            let mut client = Client::confidential(self.id.as_str(), SecretHash::from_bytes([0; 32]));
            client.secret_hash = hash;
            client
        } else {
            Client::public(self.id.as_str())
        };
        Ok(client.with_redirect_uris(redirect_uris).with_scopes(scopes))
    }
}

/// The 32 bytes of a hex SHA-256, or `None` if it is not one.
fn parse_hex_sha256(hex: &str) -> Option<SecretHash> {
    let hex = hex.trim().as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0_u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| (c as char).to_digit(16);
        *byte = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
    }
    Some(SecretHash::from_bytes(bytes))
}

/// The hex SHA-256 of a secret: what the old provider wrote to `secret_hash`.
pub fn legacy_secret_hash(secret: &str) -> String {
    SecretHash::of(secret).as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a client the way the old provider did (for the demo data and the tests; attesto itself
/// never writes to this table).
pub async fn insert_legacy_client(
    pool: &SqlitePool,
    id: &str,
    secret: Option<&str>,
    redirect_uris: &[&str],
    scopes: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO oauth_clients (id, secret_hash, redirect_uris, scopes, confidential) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .bind(id)
    .bind(secret.map(legacy_secret_hash))
    .bind(redirect_uris.join("\n"))
    .bind(scopes)
    .bind(secret.is_some())
    .execute(pool)
    .await?;
    Ok(())
}

/// The legacy table behind attesto's [`ClientStore`]: one `SELECT` by primary key per lookup.
#[derive(Clone)]
pub struct LegacyClients {
    pool: SqlitePool,
}

impl LegacyClients {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

impl ClientStore for LegacyClients {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        let row: Option<(String, Option<String>, String, String, bool)> = sqlx::query_as(
            "SELECT id, secret_hash, redirect_uris, scopes, confidential FROM oauth_clients WHERE id = ?1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, secret_hash, redirect_uris, scopes, confidential)) = row else { return Ok(None) };
        LegacyRow { id, secret_hash, redirect_uris, scopes, confidential }.to_client().map(Some)
    }

    /// The presented secret's SHA-256 against the row's, in constant time. The hash was decoded
    /// when the row was loaded, so this needs no second query, and the decoy client attesto
    /// passes for an unknown id (with a random hash) costs exactly what a known one costs.
    ///
    /// For bcrypt or PBKDF2 secrets, keep the stored string on the side (a map from client id,
    /// filled by `load_client`) and run the algorithm's own verification here, against a fixed
    /// dummy hash for an id with no row, so that unknown ids cost the same.
    async fn verify_client_secret(&self, client: &Client, secret: &str) -> Result<bool, HostError> {
        Ok(client.secret_hash.as_ref().is_some_and(|hash| hash.verify(secret)))
    }
}
