//! [`PostgresStore`] and [`PostgresRegistrations`]: attesto's state and the registered clients in
//! PostgreSQL, shared by every instance of a provider.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sqlx::postgres::{PgPool, PgPoolOptions};

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

/// The PostgreSQL migrations, embedded in the crate.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "attesto state", include_str!("../../../migrations/postgres/0001_attesto_state.sql")),
    (2, "attesto registered clients", include_str!("../../../migrations/postgres/0002_attesto_registered_clients.sql")),
];

/// How long a request waits for a pooled connection before it is answered
/// `503 temporarily_unavailable`, rather than hanging while the database is away.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A [`Store`] in PostgreSQL (feature `postgres`): several instances of a provider sharing one
/// database behave as one — a code issued by one is redeemed once across all of them, a refresh
/// token rotated at one is refused at the others, a DPoP proof is accepted once, and an access
/// token revoked at one is refused by the others within
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
    pool: PgPool,
    schedule: Arc<SweepSchedule>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
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
        Self { pool, schedule: Arc::default() }
    }

    /// Applies the embedded migrations that have not run yet; safe to call at every start, from
    /// every instance.
    pub async fn migrate(&self) -> Result<(), sqlx::Error> {
        migrator(MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }

    /// Deletes every expired row (judged by the database's clock) and returns how many there were.
    pub async fn sweep(&self) -> Result<u64, sqlx::Error> {
        sweep(&self.pool).await
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The registered clients, in the same database.
    pub fn registrations(&self) -> PostgresRegistrations {
        PostgresRegistrations::from_pool(self.pool.clone())
    }

    /// Starts a sweep in the background if one is due.
    fn sweep_soon(&self) {
        sweep_in_background(&self.schedule, || {
            let pool = self.pool.clone();
            async move { sweep(&pool).await }
        });
    }
}

async fn sweep(pool: &PgPool) -> Result<u64, sqlx::Error> {
    // One round trip; `now()` is the database's clock, which every instance shares.
    let result = sqlx::raw_sql(
        "DELETE FROM attesto_pending WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
         DELETE FROM attesto_codes WHERE keep_until <= floor(extract(epoch FROM now()))::bigint;
         DELETE FROM attesto_refresh_tokens WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
         DELETE FROM attesto_refresh_families WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
         DELETE FROM attesto_revoked_access_tokens WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
         DELETE FROM attesto_dpop_proofs WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;",
    )
    .execute(pool)
    .await?;
    Ok(result.rows_affected())
}

impl Store for PostgresStore {
    async fn put_pending(&self, handle: &TokenHash, pending: &PendingAuthorization) -> Result<(), HostError> {
        self.sweep_soon();
        // A plain insert: handles are 256-bit random values, and a collision is an error rather
        // than an overwrite.
        sqlx::query("INSERT INTO attesto_pending (handle, pending_json, expires_at) VALUES ($1, $2, $3)")
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
        // Take-once: the delete is the read, and the row lock lets one of two concurrent takes
        // delete it. An expired row is deleted too, and refused.
        let row: Option<(String, i64)> =
            sqlx::query_as("DELETE FROM attesto_pending WHERE handle = $1 RETURNING pending_json, expires_at")
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
        sqlx::query("INSERT INTO attesto_codes (code, grant_json, expires_at, keep_until) VALUES ($1, $2, $3, $3)")
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
             WHERE code = $1 AND ((NOT used AND expires_at > $2) OR (used AND keep_until > $2))",
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
        // Take-once: a concurrent redemption waits for the row lock, then re-checks `NOT used`
        // against the committed row and finds nothing. The used code is kept until the issued
        // access token expires, to recognise a replay.
        let redeemed: Option<(String,)> = sqlx::query_as(
            "UPDATE attesto_codes
             SET used = TRUE, issue_json = $2, keep_until = GREATEST(expires_at, $3)
             WHERE code = $1 AND NOT used AND expires_at > $4
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
        // never changes once committed), or unknown, or expired.
        let used: Option<(Option<String>,)> =
            sqlx::query_as("SELECT issue_json FROM attesto_codes WHERE code = $1 AND used AND keep_until > $2")
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
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(created == 1)
    }

    async fn find_refresh(&self, token: &TokenHash, now: SystemTime) -> Result<RefreshLookup, HostError> {
        let row: Option<(Option<String>, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT f.family_json, f.current_token
             FROM attesto_refresh_tokens t JOIN attesto_refresh_families f ON f.family_id = t.family_id
             WHERE t.token = $1 AND NOT f.revoked AND f.expires_at > $2",
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
        .fetch_optional(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?;
        match reused {
            Some((Some(json),)) => Ok(Rotation::Reused(from_json(&json)?)),
            _ => Ok(Rotation::Unknown),
        }
    }

    async fn revoke_refresh_family(&self, family_id: &str, until: SystemTime) -> Result<(), HostError> {
        self.sweep_soon();
        // One upsert: a family that exists is revoked, one that does not (yet) gets a tombstone,
        // so that a creation racing this revocation loses.
        sqlx::query(
            "INSERT INTO attesto_refresh_families (family_id, revoked, expires_at) VALUES ($1, TRUE, $2)
             ON CONFLICT (family_id) DO UPDATE
             SET revoked = TRUE, current_token = NULL,
                 expires_at = GREATEST(attesto_refresh_families.expires_at, excluded.expires_at)",
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
            "INSERT INTO attesto_revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
             ON CONFLICT (jti) DO UPDATE
             SET expires_at = GREATEST(attesto_revoked_access_tokens.expires_at, excluded.expires_at)",
        )
        .bind(jti)
        .bind(expiry_secs(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
        let row: Option<(i32,)> =
            sqlx::query_as("SELECT 1 FROM attesto_revoked_access_tokens WHERE jti = $1 AND expires_at > $2")
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
            sqlx::query_as("SELECT jti, expires_at FROM attesto_revoked_access_tokens WHERE expires_at > $1")
                .bind(unix_secs(now))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(jti, expires_at)| Ok((jti, from_unix_secs(expires_at)?))).collect()
    }

    async fn insert_dpop_jti(&self, key: &TokenHash, expires_at: SystemTime) -> Result<bool, HostError> {
        self.sweep_soon();
        // Insert-if-absent in one statement, an expired entry counting as absent: the update
        // happens only when the existing row has expired by the database's clock. Concurrent
        // inserts of one key queue on the unique index; one row changed means the proof is new.
        let inserted = sqlx::query(
            "INSERT INTO attesto_dpop_proofs (proof_key, expires_at) VALUES ($1, $2)
             ON CONFLICT (proof_key) DO UPDATE SET expires_at = excluded.expires_at
             WHERE attesto_dpop_proofs.expires_at <= floor(extract(epoch FROM now()))::bigint",
        )
        .bind(key.as_bytes().as_slice())
        .bind(expiry_secs(expires_at))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(inserted == 1)
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
    pool: PgPool,
}

impl fmt::Debug for PostgresRegistrations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresRegistrations").finish_non_exhaustive()
    }
}

impl PostgresRegistrations {
    /// The registered clients in the database of `pool`, whose migrations have run.
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Stores a new registration; an error if its client id exists.
    pub async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        let row = RegistrationRow::from_registration(registration)?;
        sqlx::query(
            "INSERT INTO attesto_registered_clients (client_id, client_name, redirect_uris, is_public, grant_types,
                 scopes, token_endpoint_auth_method, secret_hash, jwks, dpop_bound_access_tokens, metadata,
                 registration_access_token_hash, issued_at, secret_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
             FROM attesto_registered_clients WHERE client_id = $1",
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
             SET client_name = $2, redirect_uris = $3, is_public = $4, grant_types = $5, scopes = $6,
                 token_endpoint_auth_method = $7, secret_hash = $8, jwks = $9, dpop_bound_access_tokens = $10,
                 metadata = $11, registration_access_token_hash = $12, issued_at = $13, secret_expires_at = $14
             WHERE client_id = $1",
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
        let deleted = sqlx::query("DELETE FROM attesto_registered_clients WHERE client_id = $1")
            .bind(client_id.as_str())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(deleted == 1)
    }
}
