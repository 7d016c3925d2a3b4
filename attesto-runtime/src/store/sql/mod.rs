//! What the SQL stores share: how attesto's values become columns, the statements both databases
//! spell alike, the code that runs them, the embedded migrations' bookkeeping, and the schedule
//! of the opportunistic sweep.
//!
//! The two stores (`SqliteStore`, `PostgresStore`, each behind its feature) keep the same tables
//! (`migrations/{sqlite,postgres}/`), with the same encoding:
//!
//! - codes, refresh tokens, handles and DPoP proof keys as their SHA-256 ([`TokenHash`]) in a
//!   `BLOB`/`BYTEA` column: the values themselves are never stored;
//! - times as unix seconds in an integer column; expiries are rounded *up*, so that an entry never
//!   lapses before the time it was given (a DPoP proof stays a replay, a revoked token stays
//!   revoked, for the whole of its time, never a fraction of a second less);
//! - attesto's structured values (a pending request, a code's grant, a refresh family) as serde
//!   JSON in a `TEXT` column: read back whole, never queried.
//!
//! Each store decides with the database: every operation that decides something is one statement
//! or one transaction, and two instances sharing the database behave as one.
//!
//! # One text per statement
//!
//! A statement both databases spell alike is written once, in the generic code that runs it
//! ([`state`] for attesto's state, [`registrations`] for the registered clients). Its parameters
//! are numbered `$1`, `$2`, …: PostgreSQL's only syntax, and in SQLite a parameter named `$1`
//! (the `$AAAA` form, <https://www.sqlite.org/lang_expr.html#varparam>). SQLite itself numbers
//! named parameters in the order they first appear, a repeated name keeping its number
//! (<https://www.sqlite.org/c3ref/bind_blob.html>); the sqlx SQLite driver does not go by that
//! order but binds `$N` to the N-th value bound (`SqliteArguments::bind`, sqlx-sqlite 0.9
//! `src/arguments.rs`), so `… $2 … $1` and a repeated `$3` mean what they mean in PostgreSQL
//! (tested below). A shared text must not cast a parameter PostgreSQL's way: SQLite reads
//! `$1::bigint` as one parameter of that name, and the cast would be lost.
//!
//! Where the dialects really differ (the larger of two values, the database's clock), a
//! [`PerDialect`] holds the two texts side by side, with why they differ. The two operations whose
//! structure differs, not only their spelling (creating a refresh family and rotating a refresh
//! token: a `BEGIN IMMEDIATE` transaction of several statements in SQLite, one data-modifying
//! `WITH` statement in PostgreSQL), are each [`Dialect`]'s own, in `sqlite.rs` and `postgres.rs`.
//!
//! # Generic code, and where a macro instead
//!
//! The shared code is generic over sqlx's [`Database`], bounded by [`Dialect`] for what sqlx does
//! not say about a database. Its `where` clauses list the Rust types the statements bind and
//! read: a `where String: Encode<'q, Self>` on [`Dialect`] would not be implied wherever
//! `DB: Dialect` is (Rust implies a trait's bounds on `Self` only, rust-lang/rust#20671), and sqlx
//! implements `Encode` for `Option<T>` once per database, not for every database at once.
//!
//! The public types stay four plain, non-generic types, as their API was published. A trait impl
//! or an inherent method cannot be shared by two types (a blanket `impl Store` over a private
//! trait would show in their docs, and bring the private trait into their API), so the macros of
//! `macros.rs` write, once for both databases, the forwarding from each to the generic code.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Database, Pool, SqlSafeStr as _};

use crate::error::HostError;
use crate::store::{RefreshFamily, Rotation, TokenHash};

#[macro_use]
mod macros;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod registrations;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
mod state;

// ---------------------------------------------------------------------------------------------
// The dialects
// ---------------------------------------------------------------------------------------------

/// What the shared code needs of one of attesto's databases beyond what sqlx's [`Database`] says:
/// its migrations, its text of each statement the two spell differently, and the two operations
/// whose structure differs (see the module docs). Implemented for `sqlx::Sqlite` in `sqlite.rs`
/// and `sqlx::Postgres` in `postgres.rs`.
trait Dialect: Database {
    /// The embedded migrations, `(version, description, sql)` in order. The files are never
    /// edited once released: a deployed database has recorded their checksums.
    const MIGRATIONS: &'static [(i64, &'static str, &'static str)];

    /// This database's text of a statement the two spell differently.
    fn pick(texts: &PerDialect) -> &'static str;

    /// How many rows a statement changed: sqlx has it on each database's result type, not on a
    /// trait.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// [`Store::create_refresh_family`](crate::store::Store::create_refresh_family), without the
    /// sweep the caller starts: the family row and its first token, or nothing when the id
    /// exists (a tombstone of a revoked family included).
    fn create_refresh_family(
        pool: &Pool<Self>,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> impl Future<Output = Result<bool, HostError>> + Send;

    /// [`Store::rotate_refresh`](crate::store::Store::rotate_refresh): compare-and-rotate, or
    /// revoke the family on reuse (RFC 9700 §4.14.2).
    fn rotate_refresh(
        pool: &Pool<Self>,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Rotation, HostError>> + Send;
}

/// A statement the two databases spell differently: both texts, side by side, where the
/// statement is run; [`Dialect::pick`] chooses. A text is compiled in only with its database's
/// feature.
struct PerDialect {
    #[cfg(feature = "sqlite")]
    sqlite: &'static str,
    #[cfg(feature = "postgres")]
    postgres: &'static str,
}

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

    /// What the shared texts rely on (see the module docs): the sqlx SQLite driver binds `$N` to
    /// the N-th bound value whatever the order the parameters appear in, and a repeated `$N` to
    /// the same value, as PostgreSQL does.
    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn sqlite_binds_numbered_dollar_parameters_by_their_number() -> Result<(), sqlx::Error> {
        let pool = sqlx::SqlitePool::connect("sqlite::memory:").await?;
        let row: (String, i64, String, i64) =
            sqlx::query_as("SELECT $2, $1, $3, $1").bind(1_i64).bind("two").bind("three").fetch_one(&pool).await?;
        assert_eq!(row, ("two".to_owned(), 1, "three".to_owned(), 1));
        // As in `StateTables::put_code`: a value bound once, used twice.
        sqlx::query("CREATE TABLE t (a INTEGER, b INTEGER, c TEXT)").execute(&pool).await?;
        sqlx::query("INSERT INTO t (c, a, b) VALUES ($2, $1, $1)").bind(7_i64).bind("seven").execute(&pool).await?;
        let row: (i64, i64, String) =
            sqlx::query_as("SELECT a, b, c FROM t WHERE c = $1").bind("seven").fetch_one(&pool).await?;
        assert_eq!(row, (7, 7, "seven".to_owned()));
        Ok(())
    }
}
