//! Fresh, isolated databases for tests, each removed when the test is done: an SQLite database in
//! a temporary file, and a PostgreSQL schema of its own.
//!
//! PostgreSQL is the one at `ATTESTO_TEST_DATABASE_URL` (default [`DEFAULT_POSTGRES_URL`]). When
//! it cannot be reached, a test is skipped with a message on stderr — unless `CI=true`, where a
//! missing database fails the test: CI must run them.

use std::future::Future;
use std::sync::Mutex;
#[cfg(feature = "postgres")]
use std::sync::{Arc, Once};
#[cfg(feature = "postgres")]
use std::time::Duration;
use std::time::SystemTime;

use attesto::HostError;
#[cfg(feature = "postgres")]
use attesto::sqlx;
use attesto::store::{
    AuthorizationCode, CodeIssue, CodeRedemption, DeviceDecision, DeviceGrant, DevicePoll, Grant, PendingAuthorization,
    RefreshFamily, RefreshLookup, Rotation, Store, TokenHash,
};

/// The database the PostgreSQL tests use unless `ATTESTO_TEST_DATABASE_URL` says otherwise: the
/// one CI provides (trust authentication, database `test`).
pub(crate) const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// How many connections a test's pool has: several, so that the race cases race in the database.
pub(crate) const POOL_SIZE: u32 = 8;

/// How long connecting may take before the database counts as unreachable.
#[cfg(feature = "postgres")]
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A store whose database is removed when the store is dropped, that is when the test is done
/// with it (passed or failed). Every [`Store`] method goes to the store inside.
pub(crate) struct Isolated<S> {
    store: S,
    _cleanup: Cleanup,
}

impl<S> Isolated<S> {
    pub(crate) fn new(store: S, cleanup: Cleanup) -> Self {
        Self { store, _cleanup: cleanup }
    }

    pub(crate) fn inner(&self) -> &S {
        &self.store
    }
}

/// Removes a test database when dropped.
pub(crate) struct Cleanup(Mutex<Option<Box<dyn FnOnce() + Send>>>);

impl Cleanup {
    fn new(cleanup: impl FnOnce() + Send + 'static) -> Self {
        Self(Mutex::new(Some(Box::new(cleanup))))
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Ok(slot) = self.0.get_mut()
            && let Some(cleanup) = slot.take()
        {
            cleanup();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------------

/// A new SQLite database in a temporary file, opened with `SqliteStore::connect` (so migrated), in
/// WAL mode with a pool of several connections; the files are deleted when it is dropped.
#[cfg(feature = "sqlite")]
pub(crate) async fn sqlite_file() -> Isolated<attesto::SqliteStore> {
    let path = std::env::temp_dir().join(format!("attesto-test-{:016x}.db", rand::random::<u64>()));
    let url = format!("sqlite://{}", path.display());
    let store = attesto::SqliteStore::connect(&url).await.unwrap_or_else(|error| panic!("open {url}: {error}"));
    Isolated::new(
        store,
        Cleanup::new(move || {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }),
    )
}

/// A new in-memory SQLite database (`sqlite::memory:`), gone with its store.
#[cfg(feature = "sqlite")]
pub(crate) async fn sqlite_memory() -> attesto::SqliteStore {
    attesto::SqliteStore::connect("sqlite::memory:")
        .await
        .unwrap_or_else(|error| panic!("open sqlite::memory:: {error}"))
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

/// The URL of the test PostgreSQL database.
#[cfg(feature = "postgres")]
pub(crate) fn postgres_url() -> String {
    std::env::var("ATTESTO_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// A schema of its own in the test database, dropped (with everything in it) when the last clone
/// of its guard goes.
#[cfg(feature = "postgres")]
pub(crate) struct PgSchema {
    /// A pool of [`POOL_SIZE`] connections whose `search_path` is the schema.
    pub(crate) pool: sqlx::PgPool,
    /// The schema's name.
    pub(crate) name: String,
    /// Connection options of the database, without the schema.
    pub(crate) options: sqlx::postgres::PgConnectOptions,
    cleanup: Arc<Cleanup>,
}

#[cfg(feature = "postgres")]
impl PgSchema {
    /// A guard that keeps the schema alive; the schema is dropped when the last one goes.
    pub(crate) fn guard(&self) -> Arc<Cleanup> {
        Arc::clone(&self.cleanup)
    }

    /// Connection options whose `search_path` is the schema, for a pool of another instance.
    pub(crate) fn schema_options(&self) -> sqlx::postgres::PgConnectOptions {
        self.options.clone().options([("search_path", self.name.as_str())])
    }

    /// Another pool of [`POOL_SIZE`] connections on the same schema, as a second instance of a
    /// provider has: it shares the tables, not the connections.
    pub(crate) async fn another_pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .connect_with(self.schema_options())
            .await
            .expect("connect another pool to the test schema")
    }
}

/// A fresh schema `attesto_test_<random>` in the test database, or `None` (after a message on
/// stderr) when the database cannot be reached outside CI.
#[cfg(feature = "postgres")]
pub(crate) async fn postgres_schema() -> Option<PgSchema> {
    use sqlx::{Connection as _, Executor as _};
    use std::str::FromStr as _;

    let url = postgres_url();
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .unwrap_or_else(|error| panic!("ATTESTO_TEST_DATABASE_URL is not a PostgreSQL URL: {error}"));
    let mut admin = match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::PgConnection::connect_with(&options)).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => return unreachable(&options, &error.to_string()),
        Err(_) => return unreachable(&options, "no answer within 10 s"),
    };
    let name = format!("attesto_test_{:016x}", rand::random::<u64>());
    // The name is made here of hex digits: nothing to inject.
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"))).await.expect("create the test schema");
    let _ = admin.close().await;

    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(POOL_SIZE)
        .connect_with(options.clone().options([("search_path", name.as_str())]))
        .await
        .expect("connect to the test schema");
    let cleanup = {
        let (options, name) = (options.clone(), name.clone());
        Cleanup::new(move || drop_schema(options, name))
    };
    Some(PgSchema { pool, name, options, cleanup: Arc::new(cleanup) })
}

/// A [`attesto::PostgresStore`] on a fresh, migrated schema, dropped with the store; `None` to
/// skip (see [`postgres_schema`]).
#[cfg(feature = "postgres")]
pub(crate) async fn postgres_store() -> Option<Isolated<attesto::PostgresStore>> {
    let schema = postgres_schema().await?;
    let store = attesto::PostgresStore::from_pool(schema.pool.clone());
    store.migrate().await.expect("migrate the test schema");
    let guard = schema.guard();
    Some(Isolated::new(store, Cleanup::new(move || drop(guard))))
}

/// Drops a test schema. Runs in `Drop`, perhaps while a test unwinds and inside the test's
/// runtime, so it uses a thread with a runtime and a connection of its own, and only reports a
/// failure.
#[cfg(feature = "postgres")]
fn drop_schema(options: sqlx::postgres::PgConnectOptions, name: String) {
    use sqlx::{Connection as _, Executor as _};

    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let mut connection = sqlx::PgConnection::connect_with(&options).await.map_err(|e| e.to_string())?;
            connection
                .execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
                .await
                .map_err(|e| e.to_string())?;
            let _ = connection.close().await;
            Ok::<_, String>(())
        })
    })
    .join();
    if let Ok(Err(error)) = dropped {
        eprintln!("could not drop a test schema: {error}");
    }
}

/// What a PostgreSQL test does when the database cannot be reached: fail under `CI=true`, skip
/// with a message otherwise.
#[cfg(feature = "postgres")]
fn unreachable<T>(options: &sqlx::postgres::PgConnectOptions, error: &str) -> Option<T> {
    // The URL without its password, if it has one.
    let database = format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    );
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!(
            "PostgreSQL is not reachable at {database}: {error}\n\
             Under CI=true the PostgreSQL tests must run: start PostgreSQL there, or point \
             ATTESTO_TEST_DATABASE_URL at a database this test may create schemas in."
        );
    }
    static WARNED: Once = Once::new();
    WARNED.call_once(|| {
        // Straight to stderr: the test harness captures `eprintln!` of passing tests, and this
        // must be seen.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPING the PostgreSQL tests: {database} is not reachable ({error}).\n\
             *** Set ATTESTO_TEST_DATABASE_URL to a PostgreSQL database (the tests create and drop \
             schemas in it) to run them; under CI=true they fail instead.\n"
        );
    });
    None
}

// ---------------------------------------------------------------------------------------------
// The wrapper's Store
// ---------------------------------------------------------------------------------------------

impl<S: Store> Store for Isolated<S> {
    fn put_pending(
        &self,
        handle: &TokenHash,
        pending: &PendingAuthorization,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.put_pending(handle, pending)
    }
    fn take_pending(
        &self,
        handle: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<PendingAuthorization>, HostError>> + Send {
        self.store.take_pending(handle, now)
    }
    fn put_code(
        &self,
        code: &TokenHash,
        grant: &AuthorizationCode,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.put_code(code, grant)
    }
    fn find_code(
        &self,
        code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<AuthorizationCode>, HostError>> + Send {
        self.store.find_code(code, now)
    }
    fn redeem_code(
        &self,
        code: &TokenHash,
        issue: &CodeIssue,
        now: SystemTime,
    ) -> impl Future<Output = Result<CodeRedemption, HostError>> + Send {
        self.store.redeem_code(code, issue, now)
    }
    fn create_refresh_family(
        &self,
        family: &RefreshFamily,
        token: &TokenHash,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        self.store.create_refresh_family(family, token)
    }
    fn find_refresh(
        &self,
        token: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<RefreshLookup, HostError>> + Send {
        self.store.find_refresh(token, now)
    }
    fn rotate_refresh(
        &self,
        presented: &TokenHash,
        next: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Rotation, HostError>> + Send {
        self.store.rotate_refresh(presented, next, now)
    }
    fn revoke_refresh_family(
        &self,
        family_id: &str,
        until: SystemTime,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.revoke_refresh_family(family_id, until)
    }
    fn revoke_access_token(
        &self,
        jti: &str,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.revoke_access_token(jti, expires_at)
    }
    fn is_access_token_revoked(
        &self,
        jti: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        self.store.is_access_token_revoked(jti, now)
    }
    fn revoked_access_tokens(
        &self,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<(String, SystemTime)>, HostError>> + Send {
        self.store.revoked_access_tokens(now)
    }
    fn insert_dpop_jti(
        &self,
        key: &TokenHash,
        expires_at: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        self.store.insert_dpop_jti(key, expires_at)
    }
    fn put_device_grant(
        &self,
        device_code: &TokenHash,
        grant: &DeviceGrant,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        self.store.put_device_grant(device_code, grant)
    }
    fn find_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<DeviceGrant>, HostError>> + Send {
        self.store.find_device_grant(device_code, now)
    }
    fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<(TokenHash, DeviceGrant)>, HostError>> + Send {
        self.store.find_device_grant_by_user_code(user_code, now)
    }
    fn decide_device_grant(
        &self,
        device_code: &TokenHash,
        decision: &DeviceDecision,
        now: SystemTime,
    ) -> impl Future<Output = Result<bool, HostError>> + Send {
        self.store.decide_device_grant(device_code, decision, now)
    }
    fn poll_device_grant(
        &self,
        device_code: &TokenHash,
        now: SystemTime,
    ) -> impl Future<Output = Result<DevicePoll, HostError>> + Send {
        self.store.poll_device_grant(device_code, now)
    }
    fn put_grant(&self, grant: &Grant) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.put_grant(grant)
    }
    fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.record_grant_use(grant_id, now)
    }
    fn find_grant(
        &self,
        grant_id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Grant>, HostError>> + Send {
        self.store.find_grant(grant_id, now)
    }
    fn grants(
        &self,
        subject: &str,
        now: SystemTime,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Grant>, HostError>> + Send {
        self.store.grants(subject, now, limit)
    }
    fn revoke_grant(
        &self,
        subject: &str,
        grant_id: &str,
        now: SystemTime,
    ) -> impl Future<Output = Result<Option<Grant>, HostError>> + Send {
        self.store.revoke_grant(subject, grant_id, now)
    }
    fn put_logout_session(
        &self,
        session: &attesto::store::LogoutSession,
    ) -> impl Future<Output = Result<(), HostError>> + Send {
        self.store.put_logout_session(session)
    }
    fn take_logout_sessions(
        &self,
        subject: &str,
        session_id: Option<&str>,
        now: SystemTime,
    ) -> impl Future<Output = Result<Vec<attesto::store::LogoutSession>, HostError>> + Send {
        self.store.take_logout_sessions(subject, session_id, now)
    }
}
