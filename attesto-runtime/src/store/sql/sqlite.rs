//! [`SqliteStore`] and [`SqliteRegistrations`]: attesto's state and the registered clients in an
//! SQLite database, the embedded default that survives a restart.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

use super::{
    RegistrationColumns, RegistrationRow, SweepSchedule, expiry_secs, from_json, from_unix_secs, migrator,
    sweep_in_background, to_json, unix_secs,
};
use crate::error::HostError;
use crate::host::registrations::ClientRegistration;
use crate::model::client::ClientId;
use crate::store::{
    AuthorizationCode, CodeIssue, CodeRedemption, PendingAuthorization, RefreshFamily, RefreshLookup, Rotation, Store,
    TokenHash,
};

/// The SQLite migrations, embedded in the crate.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "attesto state", include_str!("../../../migrations/sqlite/0001_attesto_state.sql")),
    (2, "attesto registered clients", include_str!("../../../migrations/sqlite/0002_attesto_registered_clients.sql")),
];

/// How long a request waits for a connection, or for another connection's write to finish,
/// before it is answered `503 temporarily_unavailable`.
const WAIT: Duration = Duration::from_secs(5);

/// A [`Store`] in an SQLite database (feature `sqlite`): attesto's state survives a restart of
/// the one instance that uses the file. Several instances behind a load balancer need
/// [`PostgresStore`](crate::PostgresStore) (with the feature `postgres`).
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
    pool: SqlitePool,
    schedule: Arc<SweepSchedule>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
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
        Self { pool, schedule: Arc::default() }
    }

    /// Applies the embedded migrations that have not run yet; safe to call at every start.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        migrator(MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }

    /// Deletes every expired row (judged by the database's clock) and returns how many there were.
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        sweep(&self.pool).await
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The registered clients, in the same database.
    pub fn registrations(&self) -> SqliteRegistrations {
        SqliteRegistrations::from_pool(self.pool.clone())
    }

    /// Starts a sweep in the background if one is due.
    fn sweep_soon(&self) {
        sweep_in_background(&self.schedule, || {
            let pool = self.pool.clone();
            async move { sweep(&pool).await }
        });
    }
}

/// A refresh family's row: `family_id`, `family_json`, `current_token`, `expires_at`.
type FamilyColumns = (String, Option<String>, Option<Vec<u8>>, i64);

/// Whether a URL names an in-memory database: `sqlite::memory:`, `sqlite://:memory:` or
/// `mode=memory`, the forms sqlx knows.
fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

async fn sweep(pool: &SqlitePool) -> Result<u64, sqlx::Error> {
    let result = sqlx::raw_sql(
        "DELETE FROM attesto_pending WHERE expires_at <= unixepoch();
         DELETE FROM attesto_codes WHERE keep_until <= unixepoch();
         DELETE FROM attesto_refresh_tokens WHERE expires_at <= unixepoch();
         DELETE FROM attesto_refresh_families WHERE expires_at <= unixepoch();
         DELETE FROM attesto_revoked_access_tokens WHERE expires_at <= unixepoch();
         DELETE FROM attesto_dpop_proofs WHERE expires_at <= unixepoch();",
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

impl Store for SqliteStore {
    async fn put_pending(&self, handle: &TokenHash, pending: &PendingAuthorization) -> Result<(), HostError> {
        self.sweep_soon();
        // A plain insert: handles are 256-bit random values, and a collision is an error rather
        // than an overwrite.
        sqlx::query("INSERT INTO attesto_pending (handle, pending_json, expires_at) VALUES (?1, ?2, ?3)")
            .bind(handle.as_bytes().as_slice())
            .bind(to_json(pending)?)
            .bind(expiry_secs(pending.expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn take_pending(
        &self,
        handle: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<PendingAuthorization>, HostError> {
        // Take-once: the delete is the read, so two takes cannot both get the row. An expired row
        // is deleted too, and refused.
        let row: Option<(String, i64)> =
            sqlx::query_as("DELETE FROM attesto_pending WHERE handle = ?1 RETURNING pending_json, expires_at")
                .bind(handle.as_bytes().as_slice())
                .fetch_optional(&self.pool)
                .await?;
        match row {
            Some((json, expires_at)) if expires_at > unix_secs(now) => Ok(Some(from_json(&json)?)),
            _ => Ok(None),
        }
    }

    async fn put_code(&self, code: &TokenHash, grant: &AuthorizationCode) -> Result<(), HostError> {
        self.sweep_soon();
        // A plain insert: overwriting a used code would make it redeemable again.
        sqlx::query("INSERT INTO attesto_codes (code, grant_json, expires_at, keep_until) VALUES (?1, ?2, ?3, ?3)")
            .bind(code.as_bytes().as_slice())
            .bind(to_json(grant)?)
            .bind(expiry_secs(grant.expires_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_code(&self, code: &TokenHash, now: SystemTime) -> Result<Option<AuthorizationCode>, HostError> {
        // A live code, or a used one still remembered for replay detection: its grant either way.
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT grant_json FROM attesto_codes
             WHERE code = ?1 AND ((NOT used AND expires_at > ?2) OR (used AND keep_until > ?2))",
        )
        .bind(code.as_bytes().as_slice())
        .bind(unix_secs(now))
        .fetch_optional(&self.pool)
        .await?;
        found.map(|(grant,)| from_json(&grant)).transpose()
    }

    async fn redeem_code(
        &self,
        code: &TokenHash,
        issue: &CodeIssue,
        now: SystemTime,
    ) -> Result<CodeRedemption, HostError> {
        let now = unix_secs(now);
        // Take-once: the one statement that flips `used` is the only one that gets the grant.
        let redeemed: Option<(String,)> = sqlx::query_as(
            "UPDATE attesto_codes
             SET used = TRUE, issue_json = ?2, keep_until = max(expires_at, ?3)
             WHERE code = ?1 AND NOT used AND expires_at > ?4
             RETURNING grant_json",
        )
        .bind(code.as_bytes().as_slice())
        .bind(to_json(issue)?)
        .bind(expiry_secs(issue.access_token_expires_at))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        if let Some((grant,)) = redeemed {
            return Ok(CodeRedemption::Redeemed(from_json(&grant)?));
        }
        // Not live: used before (a replay, reported with what the first redemption issued, which
        // never changes once written), or unknown, or expired.
        let used: Option<(Option<String>,)> =
            sqlx::query_as("SELECT issue_json FROM attesto_codes WHERE code = ?1 AND used AND keep_until > ?2")
                .bind(code.as_bytes().as_slice())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        match used {
            Some((Some(issue),)) => Ok(CodeRedemption::Replayed(from_json(&issue)?)),
            _ => Ok(CodeRedemption::Unknown),
        }
    }

    async fn create_refresh_family(&self, family: &RefreshFamily, token: &TokenHash) -> Result<bool, HostError> {
        self.sweep_soon();
        let expires_at = expiry_secs(family.expires_at);
        // Two tables change together: one write transaction. `DO NOTHING` refuses an id that
        // exists, a tombstone of a revoked family included.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let created = sqlx::query(
            "INSERT INTO attesto_refresh_families (family_id, family_json, current_token, expires_at)
             VALUES (?1, ?2, ?3, ?4)
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
            sqlx::query("INSERT INTO attesto_refresh_tokens (token, family_id, expires_at) VALUES (?1, ?2, ?3)")
                .bind(token.as_bytes().as_slice())
                .bind(&family.family_id)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    async fn find_refresh(&self, token: &TokenHash, now: SystemTime) -> Result<RefreshLookup, HostError> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT f.family_json, f.current_token
             FROM attesto_refresh_tokens t JOIN attesto_refresh_families f ON f.family_id = t.family_id
             WHERE t.token = ?1 AND NOT f.revoked AND f.expires_at > ?2",
        )
        .bind(token.as_bytes().as_slice())
        .bind(unix_secs(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some((Some(json), current)) = row else { return Ok(RefreshLookup::Unknown) };
        let family = from_json(&json)?;
        Ok(if current.as_deref() == Some(token.as_bytes().as_slice()) {
            RefreshLookup::Current(family)
        } else {
            RefreshLookup::RotatedOut(family)
        })
    }

    async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> Result<Rotation, HostError> {
        // Compare-and-rotate in one write transaction: `BEGIN IMMEDIATE` takes SQLite's write lock
        // before the read, so no other writer runs between the comparison and the rotation.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row: Option<FamilyColumns> = sqlx::query_as(
            "SELECT f.family_id, f.family_json, f.current_token, f.expires_at
             FROM attesto_refresh_tokens t JOIN attesto_refresh_families f ON f.family_id = t.family_id
             WHERE t.token = ?1 AND NOT f.revoked AND f.expires_at > ?2",
        )
        .bind(presented.as_bytes().as_slice())
        .bind(unix_secs(now))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family_id, Some(json), current, expires_at)) = row else { return Ok(Rotation::Unknown) };
        let family: RefreshFamily = from_json(&json)?;
        if current.as_deref() == Some(presented.as_bytes().as_slice()) {
            sqlx::query("UPDATE attesto_refresh_families SET current_token = ?2 WHERE family_id = ?1")
                .bind(&family_id)
                .bind(next.as_bytes().as_slice())
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO attesto_refresh_tokens (token, family_id, expires_at) VALUES (?1, ?2, ?3)")
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
                "UPDATE attesto_refresh_families SET revoked = TRUE, current_token = NULL WHERE family_id = ?1",
            )
            .bind(&family_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Rotation::Reused(family))
        }
    }

    async fn revoke_refresh_family(&self, family_id: &str, until: SystemTime) -> Result<(), HostError> {
        self.sweep_soon();
        // One upsert: a family that exists is revoked, one that does not (yet) gets a tombstone,
        // so that a creation racing this revocation loses.
        sqlx::query(
            "INSERT INTO attesto_refresh_families (family_id, revoked, expires_at) VALUES (?1, TRUE, ?2)
             ON CONFLICT (family_id) DO UPDATE
             SET revoked = TRUE, current_token = NULL,
                 expires_at = max(attesto_refresh_families.expires_at, excluded.expires_at)",
        )
        .bind(family_id)
        .bind(expiry_secs(until))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
        self.sweep_soon();
        sqlx::query(
            "INSERT INTO attesto_revoked_access_tokens (jti, expires_at) VALUES (?1, ?2)
             ON CONFLICT (jti) DO UPDATE
             SET expires_at = max(attesto_revoked_access_tokens.expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(expiry_secs(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM attesto_revoked_access_tokens WHERE jti = ?1 AND expires_at > ?2")
                .bind(jti)
                .bind(unix_secs(now))
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.is_some())
    }

    async fn revoked_access_tokens(&self, now: SystemTime) -> Result<Vec<(String, SystemTime)>, HostError> {
        // One round trip per refresh of an instance's in-process copy, not per request; the
        // index on `expires_at` keeps it to the live rows.
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT jti, expires_at FROM attesto_revoked_access_tokens WHERE expires_at > ?1")
                .bind(unix_secs(now))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(jti, expires_at)| Ok((jti, from_unix_secs(expires_at)?))).collect()
    }

    async fn insert_dpop_jti(&self, key: &TokenHash, expires_at: SystemTime) -> Result<bool, HostError> {
        self.sweep_soon();
        // Insert-if-absent in one statement, an expired entry counting as absent: the update
        // happens only when the existing row has expired by the database's clock. One row changed
        // means the proof is new.
        let inserted = sqlx::query(
            "INSERT INTO attesto_dpop_proofs (proof_key, expires_at) VALUES (?1, ?2)
             ON CONFLICT (proof_key) DO UPDATE SET expires_at = excluded.expires_at
             WHERE attesto_dpop_proofs.expires_at <= unixepoch()",
        )
        .bind(key.as_bytes().as_slice())
        .bind(expiry_secs(expires_at))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
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
    pool: SqlitePool,
}

impl fmt::Debug for SqliteRegistrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteRegistrations").finish_non_exhaustive()
    }
}

impl SqliteRegistrations {
    /// The registered clients in the database of `pool`, whose migrations have run.
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Stores a new registration; an error if its client id exists.
    pub async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        let row = RegistrationRow::from_registration(registration)?;
        sqlx::query(
            "INSERT INTO attesto_registered_clients (client_id, client_name, redirect_uris, is_public, grant_types,
                 scopes, token_endpoint_auth_method, secret_hash, jwks, dpop_bound_access_tokens, metadata,
                 registration_access_token_hash, issued_at, secret_expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )
        .bind(row.client_id)
        .bind(row.client_name)
        .bind(row.redirect_uris)
        .bind(row.is_public)
        .bind(row.grant_types)
        .bind(row.scopes)
        .bind(row.token_endpoint_auth_method)
        .bind(row.secret_hash)
        .bind(row.jwks)
        .bind(row.dpop_bound_access_tokens)
        .bind(row.metadata)
        .bind(row.registration_access_token_hash)
        .bind(row.issued_at)
        .bind(row.secret_expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Loads a registration by client id.
    pub async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        let row: Option<RegistrationColumns> = sqlx::query_as(
            "SELECT client_id, client_name, redirect_uris, is_public, grant_types, scopes,
                 token_endpoint_auth_method, secret_hash, jwks, dpop_bound_access_tokens, metadata,
                 registration_access_token_hash, issued_at, secret_expires_at
             FROM attesto_registered_clients WHERE client_id = ?1",
        )
        .bind(client_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|columns| RegistrationRow::from_columns(columns).into_registration()).transpose()
    }

    /// Replaces a registration; `false` when there was none.
    pub async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        let row = RegistrationRow::from_registration(registration)?;
        let updated = sqlx::query(
            "UPDATE attesto_registered_clients
             SET client_name = ?2, redirect_uris = ?3, is_public = ?4, grant_types = ?5, scopes = ?6,
                 token_endpoint_auth_method = ?7, secret_hash = ?8, jwks = ?9, dpop_bound_access_tokens = ?10,
                 metadata = ?11, registration_access_token_hash = ?12, issued_at = ?13, secret_expires_at = ?14
             WHERE client_id = ?1",
        )
        .bind(row.client_id)
        .bind(row.client_name)
        .bind(row.redirect_uris)
        .bind(row.is_public)
        .bind(row.grant_types)
        .bind(row.scopes)
        .bind(row.token_endpoint_auth_method)
        .bind(row.secret_hash)
        .bind(row.jwks)
        .bind(row.dpop_bound_access_tokens)
        .bind(row.metadata)
        .bind(row.registration_access_token_hash)
        .bind(row.issued_at)
        .bind(row.secret_expires_at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(updated == 1)
    }

    /// Deletes a registration; `false` when there was none.
    pub async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        let deleted = sqlx::query("DELETE FROM attesto_registered_clients WHERE client_id = ?1")
            .bind(client_id.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }
}
