//! What the SQL stores share: how attesto's values become columns, the embedded migrations'
//! bookkeeping, and the schedule of the opportunistic sweep.
//!
//! The two stores ([`SqliteStore`](crate::SqliteStore), [`PostgresStore`](crate::PostgresStore))
//! keep the same tables (`migrations/{sqlite,postgres}/`), with the same encoding:
//!
//! - codes, refresh tokens, handles and DPoP proof keys as their SHA-256
//!   ([`TokenHash`](crate::TokenHash)) in a
//!   `BLOB`/`BYTEA` column: the values themselves are never stored;
//! - times as unix seconds in an integer column; expiries are rounded *up*, so that an entry never
//!   lapses before the time it was given (a DPoP proof stays a replay, a revoked token stays
//!   revoked, for the whole of its time, never a fraction of a second less);
//! - attesto's structured values (a pending request, a code's grant, a refresh family) as serde
//!   JSON in a `TEXT` column: read back whole, never queried.
//!
//! Each store decides with the database: every operation that decides something is one statement
//! or one transaction, and two instances sharing the database behave as one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::error::HostError;
use crate::host::registrations::ClientRegistration;
use crate::model::client::{Client, ClientId, ClientSource, GrantType, SecretHash, TokenEndpointAuthMethod};
use crate::model::scope::Scopes;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// The table where the embedded migrations record which of them ran: attesto's own, so that it
/// never mixes with the host's `_sqlx_migrations` (whose migrator would refuse versions it does not
/// know).
const MIGRATIONS_TABLE: &str = "attesto_migrations";

/// A migrator for one database's embedded migrations, `(version, description, sql)` in order.
fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = migrations
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
        })
        .collect();
    let mut migrator = Migrator::with_migrations(migrations);
    // Named "dangerous" because renaming the table of a database already migrated would run every
    // migration again; this one has always had this name.
    migrator.dangerous_set_table_name(MIGRATIONS_TABLE);
    migrator
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// An expiry in unix seconds, rounded up (see the module docs). Times before 1970 are 0, past the
/// `i64` range saturate: both are "long ago" or "never" to a comparison.
fn expiry_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => {
            let secs = since.as_secs().saturating_add(u64::from(since.subsec_nanos() > 0));
            i64::try_from(secs).unwrap_or(i64::MAX)
        }
        Err(_) => 0,
    }
}

/// A point in time (`now`, `issued_at`) in unix seconds, rounded down: together with expiries
/// rounded up, an entry is live while `expires_at > now`, as in [`MemoryStore`](crate::MemoryStore).
fn unix_secs(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// A time read back from an integer column.
fn from_unix_secs(secs: i64) -> Result<SystemTime, HostError> {
    u64::try_from(secs)
        .ok()
        .and_then(|secs| UNIX_EPOCH.checked_add(Duration::from_secs(secs)))
        .ok_or_else(|| HostError::msg(format!("stored time {secs} is out of range")))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, HostError> {
    Ok(serde_json::to_string(value)?)
}

/// A JSON column read back. A row that does not parse is reported, not skipped: it means the
/// table was written by something else, and answering "unknown" would hide that.
fn from_json<T: DeserializeOwned>(json: &str) -> Result<T, HostError> {
    Ok(serde_json::from_str(json)?)
}

fn hash_bytes(bytes: &[u8]) -> Result<[u8; 32], HostError> {
    bytes.try_into().map_err(|_| HostError::msg(format!("stored hash has {} bytes, not 32", bytes.len())))
}

// ---------------------------------------------------------------------------------------------
// Sweeping
// ---------------------------------------------------------------------------------------------

/// How often a store sweeps expired rows on its own.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// When a store last swept, shared by its clones: a write starts a sweep in the background when
/// the last one is [`SWEEP_EVERY`] old.
#[derive(Debug, Default)]
struct SweepSchedule {
    /// Unix seconds before which no new sweep starts; 0 at first, so the first write of a process
    /// sweeps what earlier runs left.
    next: AtomicU64,
}

impl SweepSchedule {
    /// Whether a sweep is due; if so, the caller is the one to run it (the next is scheduled).
    fn claim(&self) -> bool {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
        let next = self.next.load(Ordering::Relaxed);
        now >= next
            && self
                .next
                .compare_exchange(next, now + SWEEP_EVERY.as_secs(), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// Starts `sweep` on the current Tokio runtime if one is due, so that no request waits for it.
/// Outside a runtime nothing happens: the host's own calls to `sweep` are then the only ones.
fn sweep_in_background<F>(schedule: &Arc<SweepSchedule>, sweep: impl FnOnce() -> F)
where
    F: Future<Output = Result<u64, sqlx::Error>> + Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    if !schedule.claim() {
        return;
    }
    let sweep = sweep();
    runtime.spawn(async move {
        match sweep.await {
            Ok(rows) => tracing::debug!(rows, "attesto store: expired rows swept"),
            // Expired rows are refused by every read anyway; a sweep that fails is retried later.
            Err(error) => tracing::warn!(%error, "attesto store: sweeping expired rows failed"),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Registered clients
// ---------------------------------------------------------------------------------------------

/// A [`ClientRegistration`] as the columns of `attesto_registered_clients`, in their order.
struct RegistrationRow {
    client_id: String,
    client_name: Option<String>,
    redirect_uris: String,
    is_public: bool,
    grant_types: String,
    scopes: String,
    token_endpoint_auth_method: String,
    secret_hash: Option<Vec<u8>>,
    jwks: Option<String>,
    dpop_bound_access_tokens: bool,
    metadata: String,
    registration_access_token_hash: Vec<u8>,
    issued_at: i64,
    secret_expires_at: Option<i64>,
}

/// The columns as sqlx reads them: a tuple in the order of [`RegistrationRow`].
type RegistrationColumns = (
    String,
    Option<String>,
    String,
    bool,
    String,
    String,
    String,
    Option<Vec<u8>>,
    Option<String>,
    bool,
    String,
    Vec<u8>,
    i64,
    Option<i64>,
);

impl RegistrationRow {
    fn from_registration(registration: &ClientRegistration) -> Result<Self, HostError> {
        // Destructured, so that a field added to `Client` or `ClientRegistration` fails to compile
        // here until it has a column.
        let ClientRegistration { client, metadata, registration_access_token_hash, issued_at, secret_expires_at } =
            registration;
        let Client {
            client_id,
            client_name,
            redirect_uris,
            is_public,
            grant_types,
            scopes,
            token_endpoint_auth_method,
            secret_hash,
            jwks,
            dpop_bound_access_tokens,
            // Not stored: whether the host vouches for a registered client is the host's decision
            // when it loads the registration (its `RegistrationStore::load_registration` sets it),
            // never something a registration could have written.
            trusted: _,
            // Set by the lookup, never stored.
            source: _,
        } = client;
        Ok(Self {
            client_id: client_id.as_str().to_owned(),
            client_name: client_name.clone(),
            redirect_uris: to_json(redirect_uris)?,
            is_public: *is_public,
            grant_types: to_json(grant_types)?,
            scopes: scopes.to_string(),
            token_endpoint_auth_method: token_endpoint_auth_method.as_str().to_owned(),
            secret_hash: secret_hash.as_ref().map(|hash| hash.as_bytes().to_vec()),
            jwks: jwks.as_ref().map(to_json).transpose()?,
            dpop_bound_access_tokens: *dpop_bound_access_tokens,
            metadata: to_json(metadata)?,
            registration_access_token_hash: registration_access_token_hash.as_bytes().to_vec(),
            issued_at: unix_secs(*issued_at),
            secret_expires_at: secret_expires_at.map(unix_secs),
        })
    }

    fn from_columns(columns: RegistrationColumns) -> Self {
        let (
            client_id,
            client_name,
            redirect_uris,
            is_public,
            grant_types,
            scopes,
            token_endpoint_auth_method,
            secret_hash,
            jwks,
            dpop_bound_access_tokens,
            metadata,
            registration_access_token_hash,
            issued_at,
            secret_expires_at,
        ) = columns;
        Self {
            client_id,
            client_name,
            redirect_uris,
            is_public,
            grant_types,
            scopes,
            token_endpoint_auth_method,
            secret_hash,
            jwks,
            dpop_bound_access_tokens,
            metadata,
            registration_access_token_hash,
            issued_at,
            secret_expires_at,
        }
    }

    fn into_registration(self) -> Result<ClientRegistration, HostError> {
        let token_endpoint_auth_method: TokenEndpointAuthMethod =
            serde_json::from_value(serde_json::Value::String(self.token_endpoint_auth_method))?;
        let grant_types: Vec<GrantType> = from_json(&self.grant_types)?;
        let client = Client {
            client_id: ClientId::new(self.client_id),
            client_name: self.client_name,
            redirect_uris: from_json(&self.redirect_uris)?,
            is_public: self.is_public,
            grant_types,
            scopes: Scopes::parse(&self.scopes)?,
            token_endpoint_auth_method,
            secret_hash: self.secret_hash.as_deref().map(hash_bytes).transpose()?.map(SecretHash::from_bytes),
            jwks: self.jwks.as_deref().map(from_json).transpose()?,
            dpop_bound_access_tokens: self.dpop_bound_access_tokens,
            trusted: false,
            source: ClientSource::SelfAsserted,
        };
        Ok(ClientRegistration {
            client,
            metadata: from_json(&self.metadata)?,
            registration_access_token_hash: SecretHash::from_bytes(hash_bytes(&self.registration_access_token_hash)?),
            issued_at: from_unix_secs(self.issued_at)?,
            secret_expires_at: self.secret_expires_at.map(from_unix_secs).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_round_up_and_instants_round_down() {
        let whole = UNIX_EPOCH + Duration::from_secs(100);
        assert_eq!(expiry_secs(whole), 100);
        assert_eq!(unix_secs(whole), 100);
        let fraction = whole + Duration::from_millis(1);
        assert_eq!(expiry_secs(fraction), 101, "an expiry must not lapse early");
        assert_eq!(unix_secs(fraction), 100);
        assert_eq!(expiry_secs(UNIX_EPOCH - Duration::from_secs(5)), 0);
        assert_eq!(from_unix_secs(100).ok(), Some(whole));
        assert!(from_unix_secs(-1).is_err(), "a negative time is refused, not a panic");
        // Whatever a column holds, reading it back is never a panic.
        let _ = from_unix_secs(i64::MAX);
    }

    #[test]
    fn a_hash_of_the_wrong_length_is_an_error() {
        assert!(hash_bytes(&[0; 31]).is_err());
        assert!(hash_bytes(&[0; 32]).is_ok());
    }

    #[test]
    fn the_sweep_is_claimed_once_per_period() {
        let schedule = SweepSchedule::default();
        assert!(schedule.claim(), "the first sweep is due at once");
        assert!(!schedule.claim(), "the next one waits for the period");
    }
}
