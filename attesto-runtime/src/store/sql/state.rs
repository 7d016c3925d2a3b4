//! [`StateTables`]: attesto's state in either database, the [`Store`](crate::store::Store)
//! operations whose statements both databases spell alike (most of them), and the texts of those
//! they spell differently side by side.

use std::sync::Arc;
use std::time::SystemTime;

use sqlx::decode::Decode;
use sqlx::encode::Encode;
use sqlx::migrate::Migrate;
use sqlx::{ColumnIndex, Database, Executor, IntoArguments, Pool, Type};

use super::{
    Dialect, PerDialect, SweepSchedule, expiry_secs, from_json, from_unix_secs, hash_bytes, migrator,
    sweep_in_background, to_json, unix_secs,
};
use crate::error::HostError;
use crate::store::{
    AuthorizationCode, CodeIssue, CodeRedemption, DeviceDecision, DeviceGrant, DevicePoll, Grant, LogoutSession,
    PendingAuthorization, RefreshFamily, RefreshLookup, Rotation, TokenHash,
};

/// How many times a compare-and-set of a device grant is tried before the store gives up: each
/// failure means another request changed the grant in between, and a device grant is changed by
/// one device and one user, so a few are plenty.
const DEVICE_GRANT_ATTEMPTS: usize = 8;

/// Deletes every expired row, judged by the database's clock. The texts differ only in that
/// clock, in unix seconds: SQLite's `unixepoch()` (SQLite 3.38), PostgreSQL's
/// `floor(extract(epoch FROM now()))::bigint` (it has no `unixepoch`; `now()` is the clock every
/// instance shares). One round trip either way.
const SWEEP: PerDialect = PerDialect {
    #[cfg(feature = "sqlite")]
    sqlite: "DELETE FROM attesto_pending WHERE expires_at <= unixepoch();
             DELETE FROM attesto_codes WHERE keep_until <= unixepoch();
             DELETE FROM attesto_refresh_tokens WHERE expires_at <= unixepoch();
             DELETE FROM attesto_refresh_families WHERE expires_at <= unixepoch();
             DELETE FROM attesto_revoked_access_tokens WHERE expires_at <= unixepoch();
             DELETE FROM attesto_dpop_proofs WHERE expires_at <= unixepoch();
             DELETE FROM attesto_device_grants WHERE keep_until <= unixepoch();
             DELETE FROM attesto_grants WHERE expires_at <= unixepoch();
             DELETE FROM attesto_logout_sessions WHERE expires_at <= unixepoch();",
    #[cfg(feature = "postgres")]
    postgres: "DELETE FROM attesto_pending WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_codes WHERE keep_until <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_refresh_tokens WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_refresh_families WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_revoked_access_tokens WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_dpop_proofs WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_device_grants WHERE keep_until <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_grants WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;
               DELETE FROM attesto_logout_sessions WHERE expires_at <= floor(extract(epoch FROM now()))::bigint;",
};

/// attesto's state tables in one database, and when they were last swept (shared by clones).
pub(super) struct StateTables<DB: Database> {
    pool: Pool<DB>,
    schedule: Arc<SweepSchedule>,
}

// Not derived: `#[derive(Clone)]` would ask `DB: Clone` of the database marker type.
impl<DB: Database> Clone for StateTables<DB> {
    fn clone(&self) -> Self {
        Self { pool: self.pool.clone(), schedule: Arc::clone(&self.schedule) }
    }
}

impl<DB: Database> StateTables<DB> {
    /// The tables in the database of `pool`; the migrations are not applied.
    pub(super) fn new(pool: Pool<DB>) -> Self {
        Self { pool, schedule: Arc::default() }
    }

    pub(super) fn pool(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB> StateTables<DB>
where
    DB: Dialect,
    // What these statements need of sqlx for `DB` (see the module docs of `sql` for why they are
    // spelled out): a pool that executes them, migrations, and the Rust types they bind and read.
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    DB::Connection: Migrate,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Decode<'q, DB> + Type<DB>,
{
    /// Applies the embedded migrations that have not run yet.
    pub(super) async fn migrate(&self) -> Result<(), sqlx::Error> {
        migrator(DB::MIGRATIONS).run(&self.pool).await?;
        Ok(())
    }

    /// Deletes every expired row and returns how many there were.
    pub(super) async fn sweep(&self) -> Result<u64, sqlx::Error> {
        let result = sqlx::raw_sql(DB::pick(&SWEEP)).execute(&self.pool).await?;
        Ok(DB::rows_affected(&result))
    }

    /// Starts a sweep in the background if one is due.
    fn sweep_soon(&self) {
        sweep_in_background(&self.schedule, || {
            let tables = self.clone();
            async move { tables.sweep().await }
        });
    }

    pub(super) async fn put_pending(
        &self,
        handle: &TokenHash,
        pending: &PendingAuthorization,
    ) -> Result<(), HostError> {
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

    pub(super) async fn take_pending(
        &self,
        handle: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<PendingAuthorization>, HostError> {
        // Take-once: the delete is the read, so two takes cannot both get the row (SQLite has one
        // writer at a time; in PostgreSQL the row lock lets one of two concurrent takes delete
        // it). An expired row is deleted too, and refused.
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

    pub(super) async fn put_code(&self, code: &TokenHash, grant: &AuthorizationCode) -> Result<(), HostError> {
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

    pub(super) async fn find_code(
        &self,
        code: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<AuthorizationCode>, HostError> {
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

    pub(super) async fn redeem_code(
        &self,
        code: &TokenHash,
        issue: &CodeIssue,
        now: SystemTime,
    ) -> Result<CodeRedemption, HostError> {
        /// Marks a live code used, once. The texts differ in the larger of two values: SQLite's
        /// scalar `max(a, b)` (it has no `GREATEST`); PostgreSQL's `max` is an aggregate only, its
        /// scalar is `GREATEST`.
        const REDEEM: PerDialect = PerDialect {
            #[cfg(feature = "sqlite")]
            sqlite: "UPDATE attesto_codes
                     SET used = TRUE, issue_json = $2, keep_until = max(expires_at, $3)
                     WHERE code = $1 AND NOT used AND expires_at > $4
                     RETURNING grant_json",
            #[cfg(feature = "postgres")]
            postgres: "UPDATE attesto_codes
                       SET used = TRUE, issue_json = $2, keep_until = GREATEST(expires_at, $3)
                       WHERE code = $1 AND NOT used AND expires_at > $4
                       RETURNING grant_json",
        };
        let now = unix_secs(now);
        // Take-once: the one statement that flips `used` is the only one that gets the grant (in
        // PostgreSQL a concurrent redemption waits for the row lock, then re-checks `NOT used`
        // against the committed row and finds nothing). The used code is kept until the issued
        // access token expires, to recognise a replay.
        let redeemed: Option<(String,)> = sqlx::query_as(DB::pick(&REDEEM))
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

    pub(super) async fn create_refresh_family(
        &self,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> Result<bool, HostError> {
        self.sweep_soon();
        DB::create_refresh_family(&self.pool, family, token).await
    }

    pub(super) async fn find_refresh(&self, token: &TokenHash, now: SystemTime) -> Result<RefreshLookup, HostError> {
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

    pub(super) async fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> Result<Rotation, HostError> {
        DB::rotate_refresh(&self.pool, presented, next, now).await
    }

    pub(super) async fn revoke_refresh_family(&self, family_id: &str, until: SystemTime) -> Result<(), HostError> {
        /// Revokes a family, or leaves a tombstone. The texts differ in the larger of two
        /// values, as in `redeem_code`: SQLite's scalar `max`, PostgreSQL's `GREATEST`.
        const REVOKE: PerDialect = PerDialect {
            #[cfg(feature = "sqlite")]
            sqlite: "INSERT INTO attesto_refresh_families (family_id, revoked, expires_at) VALUES ($1, TRUE, $2)
                     ON CONFLICT (family_id) DO UPDATE
                     SET revoked = TRUE, current_token = NULL,
                         expires_at = max(attesto_refresh_families.expires_at, excluded.expires_at)",
            #[cfg(feature = "postgres")]
            postgres: "INSERT INTO attesto_refresh_families (family_id, revoked, expires_at) VALUES ($1, TRUE, $2)
                       ON CONFLICT (family_id) DO UPDATE
                       SET revoked = TRUE, current_token = NULL,
                           expires_at = GREATEST(attesto_refresh_families.expires_at, excluded.expires_at)",
        };
        self.sweep_soon();
        // One upsert: a family that exists is revoked, one that does not (yet) gets a tombstone,
        // so that a creation racing this revocation loses.
        sqlx::query(DB::pick(&REVOKE)).bind(family_id).bind(expiry_secs(until)).execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
        /// Records a revoked `jti` until the later of its two expiries. The texts differ in the
        /// larger of two values, as in `redeem_code`: SQLite's scalar `max`, PostgreSQL's
        /// `GREATEST`.
        const REVOKE: PerDialect = PerDialect {
            #[cfg(feature = "sqlite")]
            sqlite: "INSERT INTO attesto_revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
                     ON CONFLICT (jti) DO UPDATE
                     SET expires_at = max(attesto_revoked_access_tokens.expires_at, excluded.expires_at)",
            #[cfg(feature = "postgres")]
            postgres: "INSERT INTO attesto_revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
                       ON CONFLICT (jti) DO UPDATE
                       SET expires_at = GREATEST(attesto_revoked_access_tokens.expires_at, excluded.expires_at)",
        };
        self.sweep_soon();
        sqlx::query(DB::pick(&REVOKE)).bind(jti).bind(expiry_secs(expires_at)).execute(&self.pool).await?;
        Ok(())
    }

    pub(super) async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
        // Whether a row exists; its one column is not read (a literal `1` is an `INTEGER` in
        // SQLite and an `INT4` in PostgreSQL, which would take two Rust types to decode).
        let row = sqlx::query("SELECT 1 FROM attesto_revoked_access_tokens WHERE jti = $1 AND expires_at > $2")
            .bind(jti)
            .bind(unix_secs(now))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    pub(super) async fn revoked_access_tokens(&self, now: SystemTime) -> Result<Vec<(String, SystemTime)>, HostError> {
        // One round trip per refresh of an instance's in-process copy, not per request; the
        // index on `expires_at` keeps it to the live rows.
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT jti, expires_at FROM attesto_revoked_access_tokens WHERE expires_at > $1")
                .bind(unix_secs(now))
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(|(jti, expires_at)| Ok((jti, from_unix_secs(expires_at)?))).collect()
    }

    pub(super) async fn insert_dpop_jti(&self, key: &TokenHash, expires_at: SystemTime) -> Result<bool, HostError> {
        /// Records a proof unless a live entry exists. The texts differ in the database's clock,
        /// as in the sweep: SQLite's `unixepoch()`, PostgreSQL's
        /// `floor(extract(epoch FROM now()))::bigint`.
        const INSERT: PerDialect = PerDialect {
            #[cfg(feature = "sqlite")]
            sqlite: "INSERT INTO attesto_dpop_proofs (proof_key, expires_at) VALUES ($1, $2)
                     ON CONFLICT (proof_key) DO UPDATE SET expires_at = excluded.expires_at
                     WHERE attesto_dpop_proofs.expires_at <= unixepoch()",
            #[cfg(feature = "postgres")]
            postgres: "INSERT INTO attesto_dpop_proofs (proof_key, expires_at) VALUES ($1, $2)
                       ON CONFLICT (proof_key) DO UPDATE SET expires_at = excluded.expires_at
                       WHERE attesto_dpop_proofs.expires_at <= floor(extract(epoch FROM now()))::bigint",
        };
        self.sweep_soon();
        // Insert-if-absent in one statement, an expired entry counting as absent: the update
        // happens only when the existing row has expired by the database's clock. Concurrent
        // inserts of one key are serialised (SQLite's one writer, PostgreSQL's unique index);
        // one row changed means the proof is new.
        let result = sqlx::query(DB::pick(&INSERT))
            .bind(key.as_bytes().as_slice())
            .bind(expiry_secs(expires_at))
            .execute(&self.pool)
            .await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    pub(super) async fn put_device_grant(
        &self,
        device_code: &TokenHash,
        grant: &DeviceGrant,
    ) -> Result<bool, HostError> {
        self.sweep_soon();
        // A grant forgotten but not swept yet must not keep its user code from being drawn again.
        sqlx::query("DELETE FROM attesto_device_grants WHERE user_code = $1 AND keep_until <= $2")
            .bind(grant.user_code.as_str())
            .bind(unix_secs(SystemTime::now()))
            .execute(&self.pool)
            .await?;
        // Insert-if-absent: a user code (or device code) held by another grant changes nothing.
        let result = sqlx::query(
            "INSERT INTO attesto_device_grants (device_code, user_code, grant_json, version, expires_at, keep_until)
             VALUES ($1, $2, $3, 0, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(device_code.as_bytes().as_slice())
        .bind(grant.user_code.as_str())
        .bind(to_json(grant)?)
        .bind(expiry_secs(grant.expires_at))
        .bind(expiry_secs(grant.keep_until))
        .execute(&self.pool)
        .await?;
        Ok(DB::rows_affected(&result) == 1)
    }

    /// The grant under `device_code` and its version, while it is held.
    async fn device_grant_row(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<(DeviceGrant, i64)>, HostError> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT grant_json, version FROM attesto_device_grants WHERE device_code = $1 AND keep_until > $2",
        )
        .bind(device_code.as_bytes().as_slice())
        .bind(unix_secs(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(json, version)| Ok((from_json(&json)?, version))).transpose()
    }

    pub(super) async fn find_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> Result<Option<DeviceGrant>, HostError> {
        Ok(self.device_grant_row(device_code, now).await?.map(|(grant, _)| grant))
    }

    pub(super) async fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> Result<Option<(TokenHash, DeviceGrant)>, HostError> {
        let row: Option<(Vec<u8>, String)> = sqlx::query_as(
            "SELECT device_code, grant_json FROM attesto_device_grants WHERE user_code = $1 AND keep_until > $2",
        )
        .bind(user_code)
        .bind(unix_secs(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some((device_code, json)) = row else { return Ok(None) };
        let grant: DeviceGrant = from_json(&json)?;
        if !grant.awaits_user(now) {
            return Ok(None);
        }
        Ok(Some((TokenHash::from_bytes(hash_bytes(&device_code)?), grant)))
    }

    /// Applies `change` to the grant under `device_code` atomically: read, change, and write back
    /// only if no other request wrote in between (the version is the one read), else again.
    /// `absent` is the answer for a grant that is not held.
    async fn change_device_grant<T>(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
        absent: T,
        change: impl Fn(&mut DeviceGrant) -> T,
    ) -> Result<T, HostError> {
        for _ in 0..DEVICE_GRANT_ATTEMPTS {
            let Some((mut grant, version)) = self.device_grant_row(device_code, now).await? else {
                return Ok(absent);
            };
            let before = grant.clone();
            let outcome = change(&mut grant);
            if grant == before {
                return Ok(outcome);
            }
            let result = sqlx::query(
                "UPDATE attesto_device_grants SET grant_json = $2, version = version + 1
                 WHERE device_code = $1 AND version = $3",
            )
            .bind(device_code.as_bytes().as_slice())
            .bind(to_json(&grant)?)
            .bind(version)
            .execute(&self.pool)
            .await?;
            if DB::rows_affected(&result) == 1 {
                return Ok(outcome);
            }
        }
        Err(HostError::msg("a device grant kept changing under this request; try again"))
    }

    pub(super) async fn decide_device_grant(
        &self,
        device_code: &TokenHash,
        decision: &DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, HostError> {
        self.change_device_grant(device_code, now, false, |grant| grant.decide(decision, now)).await
    }

    pub(super) async fn poll_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> Result<DevicePoll, HostError> {
        self.change_device_grant(device_code, now, DevicePoll::Unknown, |grant| grant.poll(now)).await
    }

    pub(super) async fn put_grant(&self, grant: &Grant) -> Result<(), HostError> {
        self.sweep_soon();
        // Insert-if-absent: grant ids are fresh 128-bit values, and an existing record is kept as
        // it is (its `last_used_at`, its `revoked`).
        sqlx::query(
            "INSERT INTO attesto_grants (grant_id, subject, grant_json, created_at, last_used_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (grant_id) DO NOTHING",
        )
        .bind(grant.grant_id.as_str())
        .bind(grant.subject.as_str())
        .bind(to_json(grant)?)
        .bind(unix_secs(grant.created_at))
        .bind(unix_secs(grant.last_used_at))
        .bind(expiry_secs(grant.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> Result<(), HostError> {
        // The record's JSON keeps the time it was created with; the column is what is read back.
        sqlx::query(
            "UPDATE attesto_grants SET last_used_at = $2 WHERE grant_id = $1 AND NOT revoked AND expires_at > $2",
        )
        .bind(grant_id)
        .bind(unix_secs(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn find_grant(&self, grant_id: &str, now: SystemTime) -> Result<Option<Grant>, HostError> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT grant_json, last_used_at FROM attesto_grants
             WHERE grant_id = $1 AND NOT revoked AND expires_at > $2",
        )
        .bind(grant_id)
        .bind(unix_secs(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(json, last_used_at)| grant_row(&json, last_used_at)).transpose()
    }

    pub(super) async fn grants(&self, subject: &str, now: SystemTime, limit: usize) -> Result<Vec<Grant>, HostError> {
        // The index on `(subject, created_at)` serves the filter and the order.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT grant_json, last_used_at FROM attesto_grants
             WHERE subject = $1 AND NOT revoked AND expires_at > $2
             ORDER BY created_at DESC, grant_id DESC LIMIT $3",
        )
        .bind(subject)
        .bind(unix_secs(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(|(json, last_used_at)| grant_row(&json, last_used_at)).collect()
    }

    pub(super) async fn revoke_grant(
        &self,
        subject: &str,
        grant_id: &str,
        now: SystemTime,
    ) -> Result<Option<Grant>, HostError> {
        self.sweep_soon();
        // One statement: the subject is part of the condition, so another user's grant id
        // changes nothing; a grant revoked before matches again (see `Store::revoke_grant`).
        let row: Option<(String, i64)> = sqlx::query_as(
            "UPDATE attesto_grants SET revoked = TRUE
             WHERE grant_id = $1 AND subject = $2 AND expires_at > $3
             RETURNING grant_json, last_used_at",
        )
        .bind(grant_id)
        .bind(subject)
        .bind(unix_secs(now))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(json, last_used_at)| grant_row(&json, last_used_at)).transpose()
    }

    pub(super) async fn put_logout_session(&self, session: &LogoutSession) -> Result<(), HostError> {
        self.sweep_soon();
        // One row per subject, session and client; recording it again keeps the later expiry
        // (both databases take `excluded` and a `WHERE` on the update).
        sqlx::query(
            "INSERT INTO attesto_logout_sessions (subject, session_id, client_id, expires_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (subject, session_id, client_id) DO UPDATE SET expires_at = excluded.expires_at
             WHERE attesto_logout_sessions.expires_at < excluded.expires_at",
        )
        .bind(session.subject.as_str())
        .bind(session.session_id.as_deref().unwrap_or_default())
        .bind(session.client_id.as_str())
        .bind(expiry_secs(session.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(super) async fn take_logout_sessions(
        &self,
        subject: &str,
        session_id: Option<&str>,
        now: SystemTime,
    ) -> Result<Vec<LogoutSession>, HostError> {
        // Take-once: the one statement that deletes the rows is the only one that returns them,
        // so of two instances ending the session at once only one notifies the clients. Expired
        // rows go too, and are not returned.
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "DELETE FROM attesto_logout_sessions WHERE subject = $1 AND session_id = $2
             RETURNING client_id, expires_at",
        )
        .bind(subject)
        .bind(session_id.unwrap_or_default())
        .fetch_all(&self.pool)
        .await?;
        let now = unix_secs(now);
        let mut taken = rows
            .into_iter()
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(client_id, expires_at)| {
                Ok(LogoutSession::new(
                    subject,
                    session_id.map(str::to_owned),
                    crate::model::client::ClientId::new(client_id),
                    from_unix_secs(expires_at)?,
                ))
            })
            .collect::<Result<Vec<_>, HostError>>()?;
        taken.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        Ok(taken)
    }
}

/// A grant read back: its JSON, with the last use from its column.
fn grant_row(json: &str, last_used_at: i64) -> Result<Grant, HostError> {
    let mut grant: Grant = from_json(json)?;
    grant.last_used_at = from_unix_secs(last_used_at)?;
    Ok(grant)
}
