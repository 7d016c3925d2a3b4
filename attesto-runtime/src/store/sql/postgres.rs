//! [`PostgresStore`] and [`PostgresRegistrations`]: attesto's state and the registered clients in
//! PostgreSQL, shared by every instance of a provider.
//!
//! What is PostgreSQL's own is here: connecting, its migrations, and the two operations it does in
//! one data-modifying `WITH` statement each, where SQLite needs a transaction of several. The
//! statements both databases spell alike, and the pairs of texts where they spell one differently,
//! are shared with SQLite (`state.rs`, `registrations.rs`).

use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgPool, PgPoolOptions, PgQueryResult, Postgres};

use super::registrations::RegisteredClients;
use super::state::StateTables;
use super::{Dialect, PerDialect, expiry_secs, from_json, to_json, unix_secs};
use crate::error::HostError;
use crate::store::{RefreshFamily, Rotation, TokenHash};

/// How long a request waits for a pooled connection before it is answered
/// `503 temporarily_unavailable`, rather than hanging while the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`](crate::store::Store) in PostgreSQL (feature `postgres`): several instances of a
/// provider sharing one database behave as one — a code issued by one is redeemed once across
/// all of them, a refresh token rotated at one is refused at the others, a DPoP proof is accepted
/// once, and an access token revoked at one is refused by the others within
/// [`revocation_refresh_interval`](crate::Builder::revocation_refresh_interval). The instances
/// must also share the signing key, the issuer and the
/// [DPoP nonce secret](crate::Builder::dpop_nonce_secret).
///
/// ```no_run
/// # use attesto_runtime as attesto;
/// # async fn run<P: attesto::Provider>(builder: attesto::Builder<P>) -> Result<(), Box<dyn std::error::Error>> {
/// // Connects, and applies the embedded migrations.
/// let store = attesto::PostgresStore::connect(&std::env::var("DATABASE_URL")?).await?;
/// let builder = builder.store(store.clone());
/// # Ok(())
/// # }
/// ```
///
/// sqlx is built without TLS here; a host whose database needs TLS enables a `tls-*` feature on
/// its own `sqlx` dependency (Cargo unifies the features).
///
/// # Migrations
///
/// The tables (all named `attesto_…`, so they live beside the host's; in the first schema of the
/// connection's `search_path`) are created by migrations embedded in the crate and recorded in the
/// table `attesto_migrations`, apart from the host's own `_sqlx_migrations`.
/// [`connect`](Self::connect) applies them; a store made with [`from_pool`](Self::from_pool)
/// does not, and the host calls [`migrate`](Self::migrate) once at start. Instances starting
/// together are serialised by sqlx's advisory lock.
///
/// # Atomicity
///
/// Every operation that decides something is one statement, so it costs one round trip and the
/// database's row locks decide races between instances:
///
/// - a pending request is taken with `DELETE … RETURNING`;
/// - a code is redeemed with `UPDATE … WHERE NOT used … RETURNING`; only when that finds nothing
///   does a second statement tell a replay (and what the first redemption issued) from an unknown
///   code;
/// - a refresh family is created with one `INSERT … ON CONFLICT DO NOTHING` whose result feeds
///   the insert of its first token (a data-modifying `WITH`);
/// - a refresh token is rotated with one `UPDATE … WHERE current_token = presented` that also
///   inserts the next token; only when that finds nothing does a second statement revoke the
///   family if the presented token is one of its old ones (reuse);
/// - a family is revoked with one upsert that leaves a tombstone;
/// - a DPoP proof is recorded with `INSERT … ON CONFLICT DO UPDATE … WHERE expired`.
///
/// # Expired rows
///
/// Every read checks expiry. Expired rows are deleted by [`sweep`](Self::sweep), which each
/// instance also starts by itself in the background, at most once a minute, when it writes; a host
/// may call it too (on a timer of its own, say). A pending request's row is deleted when it is
/// taken, expired or not.
#[derive(Clone)]
pub struct PostgresStore {
    state: StateTables<Postgres>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:5432/database`) with a pool of up to 10
    /// connections, and applies the embedded migrations. To put the tables in a schema of their
    /// own, set it in the URL: `?options=-c%20search_path%3Dattesto`. For other pool settings, use
    /// [`from_pool`](Self::from_pool).
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let pool = PgPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT).connect(url).await?;
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool the host already has (and shares). The migrations are not applied: call
    /// [`migrate`](Self::migrate).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { state: StateTables::new(pool) }
    }

    /// Applies the embedded migrations that have not run yet; safe to call at every start, from
    /// every instance.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        self.state.migrate().await
    }

    /// Deletes every expired row (judged by the database's clock) and returns how many there were.
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        self.state.sweep().await
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        self.state.pool()
    }

    /// The registered clients, in the same database.
    pub fn registrations(&self) -> PostgresRegistrations {
        PostgresRegistrations::from_pool(self.pool().clone())
    }
}

// `Store` and `Debug`, forwarded to `state` (`macros.rs`).
impl_store!(PostgresStore);

impl Dialect for Postgres {
    /// The PostgreSQL migrations, embedded in the crate.
    const MIGRATIONS: &'static [(i64, &'static str, &'static str)] = &[
        (1, "attesto state", include_str!("../../../migrations/postgres/0001_attesto_state.sql")),
        (
            2,
            "attesto registered clients",
            include_str!("../../../migrations/postgres/0002_attesto_registered_clients.sql"),
        ),
        (3, "attesto device grants", include_str!("../../../migrations/postgres/0003_attesto_device_grants.sql")),
        (
            4,
            "attesto signed response algorithms",
            include_str!("../../../migrations/postgres/0004_attesto_signed_response_algs.sql"),
        ),
        (5, "attesto grants", include_str!("../../../migrations/postgres/0005_attesto_grants.sql")),
        (6, "attesto logout sessions", include_str!("../../../migrations/postgres/0006_attesto_logout_sessions.sql")),
    ];

    fn pick(texts: &PerDialect) -> &'static str {
        texts.postgres
    }

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn create_refresh_family(
        pool: &PgPool,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> Result<bool, HostError> {
        // One statement: the family row, and its first token only if the family row was inserted.
        // `DO NOTHING` refuses an id that exists, a tombstone of a revoked family included.
        let created = sqlx::query(
            "WITH family AS (
                 INSERT INTO attesto_refresh_families (family_id, family_json, current_token, expires_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (family_id) DO NOTHING
                 RETURNING family_id
             )
             INSERT INTO attesto_refresh_tokens (token, family_id, expires_at)
             SELECT $3, family_id, $4 FROM family",
        )
        .bind(&family.family_id)
        .bind(to_json(family)?)
        .bind(token.as_bytes().as_slice())
        .bind(expiry_secs(family.expires_at))
        .execute(pool)
        .await?
        .rows_affected();
        Ok(created == 1)
    }

    async fn rotate_refresh(
        pool: &PgPool,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> Result<Rotation, HostError> {
        let now = unix_secs(now);
        // Compare-and-rotate in one statement: the update matches only while `presented` is the
        // current token of a live family. Concurrent rotations of one token queue on the row lock;
        // after the first commits, the others re-check `current_token = presented`, find it
        // changed, and match nothing. The next token is inserted only for the row rotated.
        let rotated: Option<(Option<String>,)> = sqlx::query_as(
            "WITH rotated AS (
                 UPDATE attesto_refresh_families SET current_token = $2
                 WHERE current_token = $1 AND NOT revoked AND expires_at > $3
                 RETURNING family_id, family_json, expires_at
             ), next_token AS (
                 INSERT INTO attesto_refresh_tokens (token, family_id, expires_at)
                 SELECT $2, family_id, expires_at FROM rotated
             )
             SELECT family_json FROM rotated",
        )
        .bind(presented.as_bytes().as_slice())
        .bind(next.as_bytes().as_slice())
        .bind(now)
        .fetch_optional(pool)
        .await?;
        if let Some((json,)) = rotated {
            let json = json.ok_or_else(|| HostError::msg("a live refresh family row has no family"))?;
            return Ok(Rotation::Rotated(from_json(&json)?));
        }
        // Not current: if `presented` is an old token of a live family, this is reuse (RFC 9700
        // §4.14.2) and the family is revoked, in one statement; its row stays as a tombstone until
        // the family would have ended. Of concurrent reuses, the first revokes and the others
        // re-check `NOT revoked` and match nothing, so reuse is reported once.
        let reused: Option<(Option<String>,)> = sqlx::query_as(
            "UPDATE attesto_refresh_families f SET revoked = TRUE, current_token = NULL
             FROM attesto_refresh_tokens t
             WHERE t.token = $1 AND f.family_id = t.family_id
               AND NOT f.revoked AND f.expires_at > $2 AND f.current_token IS DISTINCT FROM $1
             RETURNING f.family_json",
        )
        .bind(presented.as_bytes().as_slice())
        .bind(now)
        .fetch_optional(pool)
        .await?;
        match reused {
            Some((Some(json),)) => Ok(Rotation::Reused(from_json(&json)?)),
            _ => Ok(Rotation::Unknown),
        }
    }
}

/// Dynamically registered clients (RFC 7591) in PostgreSQL (feature `postgres`), in the table
/// `attesto_registered_clients`, shared by every instance: the storage behind a host's
/// [`RegistrationStore`](crate::RegistrationStore). The registration policy
/// ([`authorize_registration`](crate::RegistrationStore::authorize_registration)) stays the
/// host's, which delegates the rest, method for method:
///
/// ```no_run
/// # use attesto_runtime as attesto;
/// use attesto::{ClientId, ClientRegistration, HostError, PostgresRegistrations, RegistrationStore};
///
/// struct Host {
///     registrations: PostgresRegistrations,
/// }
///
/// impl RegistrationStore for Host {
///     async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
///         self.registrations.create_client(registration).await
///     }
///     async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
///         self.registrations.load_registration(client_id).await
///     }
///     async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
///         self.registrations.update_client(registration).await
///     }
///     async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
///         self.registrations.delete_client(client_id).await
///     }
/// }
/// ```
///
/// Get one from [`PostgresStore::registrations`] (same database, same migrations), or from a pool
/// with [`from_pool`](Self::from_pool) after [`PostgresStore::migrate`]. Times are kept to the
/// second, as RFC 7591 reports them. Creating a client whose id exists is an error, never an
/// overwrite.
#[derive(Clone)]
pub struct PostgresRegistrations {
    clients: RegisteredClients<Postgres>,
}

// `from_pool`, the four operations of a registration store, and `Debug`, forwarded to `clients`
// (`macros.rs`).
impl_registrations!(PostgresRegistrations, PgPool);
