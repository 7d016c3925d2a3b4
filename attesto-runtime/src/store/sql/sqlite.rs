//! [`SqliteStore`] and [`SqliteRegistrations`]: attesto's state and the registered clients in an
//! SQLite database, the embedded default that survives a restart.
//!
//! What is SQLite's own is here: opening the database, its migrations, and the two operations it
//! does in a `BEGIN IMMEDIATE` transaction of several statements, where PostgreSQL needs one
//! data-modifying `WITH` statement that SQLite cannot write. The statements both databases spell
//! alike, and the pairs of texts where they spell one differently, are shared with PostgreSQL
//! (`state.rs`, `registrations.rs`).

use std::str::FromStr as _;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult};

use super::registrations::RegisteredClients;
use super::state::StateTables;
use super::{Dialect, PerDialect, expiry_secs, from_json, to_json, unix_secs};
use crate::error::HostError;
use crate::store::{RefreshFamily, Rotation, TokenHash};

/// How long a request waits for a connection, or for another connection's write to finish,
/// before it is answered `503 temporarily_unavailable`.
const WAIT: Duration = Duration::from_secs(5);

/// A [`Store`](crate::store::Store) in an SQLite database (feature `sqlite`): attesto's state
/// survives a restart of the one instance that uses the file. Several instances behind a load
/// balancer need [`PostgresStore`](crate::PostgresStore) (with the feature `postgres`).
///
/// ```no_run
/// # use attesto_runtime as attesto;
/// # async fn run<P: attesto::Provider>(builder: attesto::Builder<P>) -> Result<(), Box<dyn std::error::Error>> {
/// // Connects, and applies the embedded migrations.
/// let store = attesto::SqliteStore::connect("sqlite://attesto.db").await?;
/// let builder = builder.store(store.clone());
/// # Ok(())
/// # }
/// ```
///
/// # Migrations
///
/// The tables (all named `attesto_…`, so they live beside the host's) are created by migrations
/// embedded in the crate and recorded in the table `attesto_migrations`.
/// [`connect`](Self::connect) applies them; a store made with [`from_pool`](Self::from_pool)
/// does not, and the host calls [`migrate`](Self::migrate) once at start.
///
/// # Atomicity
///
/// SQLite lets one connection write at a time. Each operation that decides something is a single
/// statement (`DELETE … RETURNING` to take a pending request, `UPDATE … WHERE NOT used RETURNING`
/// to redeem a code, `INSERT … ON CONFLICT DO UPDATE … WHERE expired` for a DPoP proof), or, where
/// two tables change together (creating a refresh family, rotating a refresh token), one
/// transaction begun with `BEGIN IMMEDIATE`, which takes the write lock before it reads.
///
/// # Expired rows
///
/// Every read checks expiry. Expired rows are deleted by [`sweep`](Self::sweep), which the store
/// also starts by itself in the background, at most once a minute, when it writes; a host may
/// call it too (on a timer of its own, say). A pending request's row is deleted when it is taken,
/// expired or not.
#[derive(Clone)]
pub struct SqliteStore {
    state: StateTables<Sqlite>,
}

impl SqliteStore {
    /// Opens the database at `url` and applies the embedded migrations.
    ///
    /// `sqlite://attesto.db` (or `sqlite://attesto.db?mode=rwc`) is a file, created if missing
    /// unless the URL sets another `mode`; it is put in WAL mode, so that reads do not wait for
    /// writes. `sqlite::memory:` is a fresh in-memory database, for tests and demos: it lives as
    /// long as the store, on a single connection that is never closed.
    pub async fn connect(url: &str) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(url)?.busy_timeout(WAIT);
        let pool = if is_in_memory(url) {
            // An in-memory database lives as long as its connection, and every connection has a
            // database of its own: one connection, never retired.
            SqlitePoolOptions::new()
                .min_connections(1)
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
                .acquire_timeout(WAIT)
                .connect_with(options)
                .await?
        } else {
            let options = if url.contains("mode=") { options } else { options.create_if_missing(true) };
            SqlitePoolOptions::new()
                .acquire_timeout(WAIT)
                .connect_with(options.journal_mode(SqliteJournalMode::Wal))
                .await?
        };
        let store = Self::from_pool(pool);
        store.migrate().await?;
        Ok(store)
    }

    /// A store on a pool the host already has. The migrations are not applied: call
    /// [`migrate`](Self::migrate).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { state: StateTables::new(pool) }
    }

    /// Applies the embedded migrations that have not run yet; safe to call at every start.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        self.state.migrate().await
    }

    /// Deletes every expired row (judged by the database's clock) and returns how many there were.
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        self.state.sweep().await
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &SqlitePool {
        self.state.pool()
    }

    /// The registered clients, in the same database.
    pub fn registrations(&self) -> SqliteRegistrations {
        SqliteRegistrations::from_pool(self.pool().clone())
    }
}

// `Store` and `Debug`, forwarded to `state` (`macros.rs`).
impl_store!(SqliteStore);

/// Whether a URL names an in-memory database: `sqlite::memory:`, `sqlite://:memory:` or
/// `mode=memory`, the forms sqlx knows.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A refresh family's row: `family_id`, `family_json`, `current_token`, `expires_at`.
type FamilyColumns = (String, Option<String>, Option<Vec<u8>>, i64);

/// Adds a token to a family; the two operations below run it in their transactions.
const INSERT_REFRESH_TOKEN: &str =
    "INSERT INTO attesto_refresh_tokens (token, family_id, expires_at) VALUES ($1, $2, $3)";

impl Dialect for Sqlite {
    /// The SQLite migrations, embedded in the crate.
    const MIGRATIONS: &'static [(i64, &'static str, &'static str)] = &[
        (1, "attesto state", include_str!("../../../migrations/sqlite/0001_attesto_state.sql")),
        (
            2,
            "attesto registered clients",
            include_str!("../../../migrations/sqlite/0002_attesto_registered_clients.sql"),
        ),
        (3, "attesto device grants", include_str!("../../../migrations/sqlite/0003_attesto_device_grants.sql")),
        (
            4,
            "attesto signed response algorithms",
            include_str!("../../../migrations/sqlite/0004_attesto_signed_response_algs.sql"),
        ),
        (5, "attesto grants", include_str!("../../../migrations/sqlite/0005_attesto_grants.sql")),
        (6, "attesto logout sessions", include_str!("../../../migrations/sqlite/0006_attesto_logout_sessions.sql")),
    ];

    fn pick(texts: &PerDialect) -> &'static str {
        texts.sqlite
    }

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }

    async fn create_refresh_family(
        pool: &SqlitePool,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> Result<bool, HostError> {
        let expires_at = expiry_secs(family.expires_at);
        // Two tables change together: one write transaction. `DO NOTHING` refuses an id that
        // exists, a tombstone of a revoked family included.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let created = sqlx::query(
            "INSERT INTO attesto_refresh_families (family_id, family_json, current_token, expires_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (family_id) DO NOTHING",
        )
        .bind(&family.family_id)
        .bind(to_json(family)?)
        .bind(token.as_bytes().as_slice())
        .bind(expires_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if created {
            sqlx::query(INSERT_REFRESH_TOKEN)
                .bind(token.as_bytes().as_slice())
                .bind(&family.family_id)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn rotate_refresh(
        pool: &SqlitePool,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> Result<Rotation, HostError> {
        // Compare-and-rotate in one write transaction: `BEGIN IMMEDIATE` takes SQLite's write lock
        // before the read, so no other writer runs between the comparison and the rotation.
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: Option<FamilyColumns> = sqlx::query_as(
            "SELECT f.family_id, f.family_json, f.current_token, f.expires_at
             FROM attesto_refresh_tokens t JOIN attesto_refresh_families f ON f.family_id = t.family_id
             WHERE t.token = $1 AND NOT f.revoked AND f.expires_at > $2",
        )
        .bind(presented.as_bytes().as_slice())
        .bind(unix_secs(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family_id, Some(json), current, expires_at)) = row else { return Ok(Rotation::Unknown) };
        let family: RefreshFamily = from_json(&json)?;
        if current.as_deref() == Some(presented.as_bytes().as_slice()) {
            sqlx::query("UPDATE attesto_refresh_families SET current_token = $2 WHERE family_id = $1")
                .bind(&family_id)
                .bind(next.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
            sqlx::query(INSERT_REFRESH_TOKEN)
                .bind(next.as_bytes().as_slice())
                .bind(&family_id)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Rotation::Rotated(family))
        } else {
            // Reuse (RFC 9700 §4.14.2): the family is revoked, and stays as a tombstone until it
            // would have ended, so that none of its tokens works again.
            sqlx::query(
                "UPDATE attesto_refresh_families SET revoked = TRUE, current_token = NULL WHERE family_id = $1",
            )
            .bind(&family_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Rotation::Reused(family))
        }
    }
}

/// Dynamically registered clients (RFC 7591) in an SQLite database (feature `sqlite`), in the table
/// `attesto_registered_clients`: the storage behind a host's
/// [`RegistrationStore`](crate::RegistrationStore). The registration policy
/// ([`authorize_registration`](crate::RegistrationStore::authorize_registration)) stays the
/// host's, which delegates the rest, method for method:
///
/// ```no_run
/// # use attesto_runtime as attesto;
/// use attesto::{ClientId, ClientRegistration, HostError, RegistrationStore, SqliteRegistrations};
///
/// struct Host {
///     registrations: SqliteRegistrations,
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
/// Get one from [`SqliteStore::registrations`] (same database, same migrations), or from a pool
/// with [`from_pool`](Self::from_pool) after [`SqliteStore::migrate`]. Times are kept to the
/// second, as RFC 7591 reports them. Creating a client whose id exists is an error, never an
/// overwrite.
#[derive(Clone)]
pub struct SqliteRegistrations {
    clients: RegisteredClients<Sqlite>,
}

// `from_pool`, the four operations of a registration store, and `Debug`, forwarded to `clients`
// (`macros.rs`).
impl_registrations!(SqliteRegistrations, SqlitePool);
