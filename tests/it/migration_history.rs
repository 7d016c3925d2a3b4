//! The migration checklist's step 4, "remove the old provider, keep the migration history
//! runnable", against PostgreSQL, after the old provider's crate is gone.
//!
//! The fixture is an application's sqlx history (`tests/fixtures/migration_history/`): its users
//! table (0001), the old provider's tables as its crate had them created (0002), the application's
//! ALTER of them (0003), a migration that the crate's helper built in code, now the plain SQL it
//! produced (0004), and the application's history going on (0005). The second fixture
//! (`migration_history_squashed/`) is the same history with 0001–0004 squashed into a baseline.
//!
//! What is shown, each on a fresh schema of its own (`tests/it/databases`):
//! - the full history runs with nothing but sqlx, attesto's migrations run beside it (their own
//!   `attesto_migrations` table: neither migrator sees the other's versions), and the old
//!   provider's client rows are read as they are through `ClientStore` and issue tokens;
//! - the squashed baseline leaves the same schema as the full history (columns, constraints,
//!   indexes);
//! - a database migrated while the crate was still there (0004 recorded with the helper's
//!   checksum) refuses the replaced file until the checksum is recorded, and the statement that
//!   does so (guides/migrating.md) refuses a database whose 0004 was something else;
//! - a database adopts the baseline only once it has applied everything the baseline replaces.

use std::borrow::Cow;
use std::path::Path;

use crate::common::{ISSUER, assert_error, basic, token};
use crate::databases::{PgSchema, postgres_schema};
use attesto::sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use attesto::sqlx::{self, AssertSqlSafe, Connection as _, PgConnection, PgPool, SqlSafeStr as _};
use attesto::{
    Attesto, Client, ClientStore, HostError, Key, LoginOutcome, LoginRequest, PostgresStore, PrincipalStore, Scope,
    Scopes, SecretHash,
};
use http::StatusCode;

/// The full history, as the application keeps it once the old crate is removed.
const FULL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migration_history");
/// The same history with 0001–0004 squashed into `0004_baseline.sql`.
const SQUASHED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/migration_history_squashed");
/// The migration that the removed crate's helper built.
const REPLACED: i64 = 4;

/// Records the replacement file's checksum in place of the one the helper's SQL left: guarded by
/// that old checksum, so that a database whose migration was anything else is left alone.
/// guides/migrating.md gives this statement.
const RECORD_REPLACEMENT: &str = "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND checksum = $3";
/// Adopting the baseline: the bookkeeping rows of the migrations it squashed go, and its own
/// version gets its description and checksum. guides/migrating.md gives these statements.
const DELETE_SQUASHED: &str = "DELETE FROM _sqlx_migrations WHERE version < $1";
const RECORD_BASELINE: &str = "UPDATE _sqlx_migrations SET description = $2, checksum = $3 WHERE version = $1";

const BILLING_SECRET: &str = "legacy-secret-from-the-old-provider";

async fn migrator(directory: &str) -> Migrator {
    Migrator::new(Path::new(directory)).await.unwrap_or_else(|error| panic!("read {directory}: {error}"))
}

/// Runs `migrator` (up to `target`) on `schema` through a connection of its own, closed afterwards.
///
/// sqlx takes a session advisory lock for the whole database and, when it refuses a history
/// (`VersionMismatch`, `VersionMissing`), returns without releasing it: a pooled connection would
/// keep the lock, and every later migration of the database, by any test, would wait for it.
async fn migrate(migrator: &Migrator, schema: &PgSchema, target: Option<i64>) -> Result<(), MigrateError> {
    let mut connection = PgConnection::connect_with(&schema.schema_options()).await.expect("connect to the schema");
    let result = match target {
        Some(target) => migrator.run_to(target, &mut connection).await,
        None => migrator.run(&mut connection).await,
    };
    let _ = connection.close().await;
    result
}

/// A migration of `migrator`, by version.
fn migration(migrator: &Migrator, version: i64) -> Migration {
    migrator.iter().find(|m| m.version == version).cloned().unwrap_or_else(|| panic!("no migration {version}"))
}

/// What the removed crate's helper produced for 0004: the file's SQL below its comment lines (the
/// file says so, and [`the_replaced_migration_is_the_helpers_sql_below_a_comment`] checks it).
fn helper_output() -> String {
    let file = std::fs::read_to_string(format!("{FULL}/0004_oauth_grants.sql")).expect("read 0004");
    file.lines().skip_while(|line| line.starts_with("--")).map(|line| format!("{line}\n")).collect()
}

/// The application's migrator as it was while the old crate was a dependency: 0004 was the
/// `Migration` the crate's helper built, the rest were files.
async fn migrator_before_the_removal() -> Migrator {
    let files = migrator(FULL).await;
    let mut migrations: Vec<Migration> = files.iter().filter(|m| m.version != REPLACED).cloned().collect();
    let sql = AssertSqlSafe(helper_output()).into_sql_str();
    migrations.push(Migration::new(REPLACED, Cow::Borrowed("oauth grants"), MigrationType::Simple, sql, false));
    Migrator::with_migrations(migrations)
}

/// The versions in `_sqlx_migrations`.
async fn recorded(pool: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(pool).await.expect("read")
}

/// The checksum `_sqlx_migrations` holds for `version`.
async fn recorded_checksum(pool: &PgPool, version: i64) -> Vec<u8> {
    sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
        .bind(version)
        .fetch_one(pool)
        .await
        .expect("a recorded migration")
}

/// The schema's shape: every column, constraint and index, with the schema's name taken out.
async fn shape(schema: &PgSchema) -> Vec<String> {
    let columns: Vec<(String, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, column_default::text
         FROM information_schema.columns WHERE table_schema = $1 ORDER BY table_name, ordinal_position",
    )
    .bind(&schema.name)
    .fetch_all(&schema.pool)
    .await
    .expect("read the columns");
    let constraints: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
         FROM pg_constraint WHERE connamespace = $1::regnamespace ORDER BY 1, 2",
    )
    .bind(&schema.name)
    .fetch_all(&schema.pool)
    .await
    .expect("read the constraints");
    let indexes: Vec<(String, String)> =
        sqlx::query_as("SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = $1 ORDER BY indexname")
            .bind(&schema.name)
            .fetch_all(&schema.pool)
            .await
            .expect("read the indexes");
    let columns = columns.into_iter().map(|c| format!("column {}.{} {} null={} default={:?}", c.0, c.1, c.2, c.3, c.4));
    let constraints = constraints.into_iter().map(|c| format!("constraint {}.{} {}", c.0, c.1, c.2));
    let indexes =
        indexes.into_iter().map(|i| format!("index {} {}", i.0, i.1.replace(&format!("{}.", schema.name), "")));
    columns.chain(constraints).chain(indexes).collect()
}

// ---------------------------------------------------------------------------------------------
// The old provider's client table, read as it is
// ---------------------------------------------------------------------------------------------

/// The host after the removal: its clients are the rows the old provider left in `oauth_clients`.
#[derive(Clone)]
#[attesto::provider]
struct Host {
    db: PgPool,
}

impl ClientStore for Host {
    /// One `SELECT` by primary key; the columns as 0002 and 0003 left them (hex SHA-256 secrets,
    /// one redirect URI per line, space-separated scopes).
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        let row: Option<(Option<String>, String, String, bool)> =
            sqlx::query_as("SELECT secret_hash, redirect_uris, scopes, confidential FROM oauth_clients WHERE id = $1")
                .bind(client_id)
                .fetch_optional(&self.db)
                .await?;
        let Some((secret_hash, redirect_uris, scopes, confidential)) = row else { return Ok(None) };
        let scopes =
            scopes.split_whitespace().map(Scope::parse).collect::<Result<Scopes, _>>().map_err(|_| {
                HostError::msg(format!("oauth_clients.scopes of `{client_id}` is not a list of scopes"))
            })?;
        let client = if confidential {
            // A hash that is not 64 hex digits leaves the client without a usable secret.
            let mut client = Client::confidential(client_id, SecretHash::from_bytes([0; 32]));
            client.secret_hash = secret_hash.as_deref().and_then(parse_hex_sha256);
            client
        } else {
            Client::public(client_id)
        };
        Ok(Some(client.with_redirect_uris(redirect_uris.lines().map(str::trim)).with_scopes(scopes)))
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn parse_hex_sha256(hex: &str) -> Option<SecretHash> {
    let hex = hex.trim();
    if hex.len() != 64 {
        return None;
    }
    let mut bytes = [0_u8; 32];
    for (byte, index) in bytes.iter_mut().zip((0..64).step_by(2)) {
        *byte = u8::from_str_radix(hex.get(index..index + 2)?, 16).ok()?;
    }
    Some(SecretHash::from_bytes(bytes))
}

/// Writes a client the way the old provider did: the hex SHA-256 of the secret.
async fn insert_old_client(pool: &PgPool, id: &str, secret: Option<&str>, redirect_uris: &str, scopes: &str) {
    let hash =
        secret.map(|secret| SecretHash::of(secret).as_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>());
    sqlx::query(
        "INSERT INTO oauth_clients (id, secret_hash, redirect_uris, scopes, confidential) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(hash)
    .bind(redirect_uris)
    .bind(scopes)
    .bind(secret.is_some())
    .execute(pool)
    .await
    .expect("insert an old client");
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_full_history_runs_without_the_old_crate_and_attesto_migrates_beside_it() {
    let Some(schema) = postgres_schema().await else { return };
    let pool = &schema.pool;
    let history = migrator(FULL).await;
    assert_eq!(history.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    migrate(&history, &schema, None).await.expect("the full history runs on a fresh database");
    let host_shape = shape(&schema).await;

    // attesto's migrations, in the same schema, recorded in their own table.
    let store = PostgresStore::from_pool(pool.clone());
    store.migrate().await.expect("attesto migrates beside the history");
    store.migrate().await.expect("and again, as at every start");
    migrate(&history, &schema, None).await.expect("the application's migrator still validates");
    assert_eq!(recorded(pool).await, [1, 2, 3, 4, 5]);
    let attesto_versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM attesto_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .expect("read");
    assert_eq!(attesto_versions, [1, 2, 3, 4, 5, 6]);
    // attesto added tables of its own and changed none of the application's.
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1")
            .bind(&schema.name)
            .fetch_all(pool)
            .await
            .expect("read the tables");
    let (attesto_tables, host_tables): (Vec<&String>, Vec<&String>) =
        tables.iter().partition(|table| table.starts_with("attesto_"));
    assert_eq!(
        host_tables,
        ["_sqlx_migrations", "oauth_access_tokens", "oauth_clients", "oauth_grants", "users"]
            .map(String::from)
            .iter()
            .collect::<Vec<_>>()
    );
    assert!(attesto_tables.len() >= 5, "{attesto_tables:?}");
    let unchanged: Vec<String> = shape(&schema).await.into_iter().filter(|line| !line.contains("attesto_")).collect();
    assert_eq!(unchanged, host_shape);

    // The old provider's rows, used as they are.
    insert_old_client(
        pool,
        "billing-service",
        Some(BILLING_SECRET),
        "https://billing.example.com/cb",
        "invoices:read invoices:write",
    )
    .await;
    insert_old_client(pool, "mobile-app", None, "com.example.app:/cb\nhttp://127.0.0.1/cb", "openid profile").await;
    let host = Host { db: pool.clone() };
    let mobile = host.load_client("mobile-app").await.expect("read").expect("a row");
    assert!(mobile.is_public);
    assert_eq!(mobile.redirect_uris, ["com.example.app:/cb", "http://127.0.0.1/cb"]);
    assert!(host.load_client("nobody").await.expect("read").is_none());

    let auth = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .store(store)
        .build()
        .expect("provider builds");
    let router = auth.router();
    let path = Host::PATHS.token;
    let form = "grant_type=client_credentials&scope=invoices%3Aread";
    let (status, _, body) = token(&router, path, Some(&basic("billing-service", BILLING_SECRET)), form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "invoices:read");
    // The hash in the row is what decides.
    let refused = token(&router, path, Some(&basic("billing-service", "another secret")), form).await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, "invalid_client");
    // A scope the row does not hold.
    let refused = token(
        &router,
        path,
        Some(&basic("billing-service", BILLING_SECRET)),
        "grant_type=client_credentials&scope=admin",
    )
    .await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn the_squashed_baseline_leaves_the_same_schema_as_the_full_history() {
    let (Some(full), Some(squashed)) = (postgres_schema().await, postgres_schema().await) else { return };
    migrate(&migrator(FULL).await, &full, None).await.expect("the full history runs");
    let baseline = migrator(SQUASHED).await;
    assert_eq!(baseline.iter().map(|m| m.version).collect::<Vec<_>>(), [4, 5]);
    migrate(&baseline, &squashed, None).await.expect("the squashed history runs");
    let shape_of_full = shape(&full).await;
    assert!(shape_of_full.iter().any(|line| line.starts_with("column oauth_clients.confidential boolean")));
    assert!(shape_of_full.iter().any(|line| line.starts_with("constraint oauth_grants.oauth_grants_client_id_fkey")));
    assert!(shape_of_full.iter().any(|line| line.starts_with("index oauth_grants_expires_at")));
    assert_eq!(shape(&squashed).await, shape_of_full);
}

#[tokio::test]
async fn the_replaced_migration_is_the_helpers_sql_below_a_comment() {
    let file = migration(&migrator(FULL).await, REPLACED);
    let output = helper_output();
    assert!(output.starts_with("CREATE TABLE oauth_grants ("), "{output}");
    assert!(file.sql.as_str().starts_with("-- Replaced when the old provider's crate was removed."));
    assert!(file.sql.as_str().ends_with(&output));
    // sqlx checksums the whole text, comment included: the two differ.
    let before = migration(&migrator_before_the_removal().await, REPLACED);
    assert_ne!(file.checksum, before.checksum);
}

/// Run once in each database migrated while the old crate was there: what guides/migrating.md
/// gives, with its refusal when the database's 0004 was not the helper's SQL.
async fn record_replacement(pool: &PgPool, file: &Migration, helper_sql: &str) -> Result<(), String> {
    let sql = AssertSqlSafe(helper_sql.to_owned()).into_sql_str();
    let before = Migration::new(file.version, file.description.clone(), MigrationType::Simple, sql, false);
    sqlx::query(RECORD_REPLACEMENT)
        .bind(&*file.checksum)
        .bind(file.version)
        .bind(&*before.checksum)
        .execute(pool)
        .await
        .map_err(|error| error.to_string())?;
    let recorded: Option<Vec<u8>> = sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
        .bind(file.version)
        .fetch_optional(pool)
        .await
        .map_err(|error| error.to_string())?;
    match recorded {
        Some(checksum) if checksum != *file.checksum => {
            Err(format!("migration {} was recorded with other SQL than the helper's: compare first", file.version))
        }
        // Recorded now, or not applied yet (the file will be).
        _ => Ok(()),
    }
}

#[tokio::test]
async fn a_database_migrated_before_the_removal_takes_the_replaced_file_once_its_checksum_is_recorded() {
    let Some(schema) = postgres_schema().await else { return };
    let pool = &schema.pool;
    migrate(&migrator_before_the_removal().await, &schema, None)
        .await
        .expect("the history as it ran with the old crate");
    let after = migrator(FULL).await;
    let error = migrate(&after, &schema, None).await.expect_err("the comment changed the checksum");
    assert!(matches!(error, MigrateError::VersionMismatch(REPLACED)), "{error}");

    let file = migration(&after, REPLACED);
    record_replacement(pool, &file, &helper_output()).await.expect("the checksum is recorded");
    migrate(&after, &schema, None).await.expect("the replaced file now validates");
    assert_eq!(recorded(pool).await, [1, 2, 3, 4, 5]);
    assert_eq!(recorded_checksum(pool, REPLACED).await, *file.checksum);
    record_replacement(pool, &file, &helper_output()).await.expect("running it again changes nothing");

    // A database whose 0004 was not this SQL (another version of the helper, say) is refused, and
    // left as sqlx refuses it.
    let Some(other) = postgres_schema().await else { return };
    let mut migrations: Vec<Migration> = after.iter().filter(|m| m.version < REPLACED).cloned().collect();
    let older = AssertSqlSafe(helper_output().replace("    redirect_uri TEXT NOT NULL,\n", "")).into_sql_str();
    migrations.push(Migration::new(REPLACED, Cow::Borrowed("oauth grants"), MigrationType::Simple, older, false));
    migrate(&Migrator::with_migrations(migrations), &other, None).await.expect("an older helper's history");
    let refused = record_replacement(&other.pool, &file, &helper_output()).await;
    assert_eq!(refused, Err("migration 4 was recorded with other SQL than the helper's: compare first".to_owned()));
    let error = migrate(&after, &other, None).await.expect_err("still refused");
    assert!(matches!(error, MigrateError::VersionMismatch(REPLACED)), "{error}");
}

/// Run once in each existing database when the history is squashed: refused unless the database
/// has applied every migration the baseline replaces (the rule of guides/migrating.md).
async fn adopt_baseline(pool: &PgPool, baseline: &Migration, squashed: &[i64]) -> Result<(), String> {
    let mut transaction = pool.begin().await.map_err(|error| error.to_string())?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
        .fetch_all(&mut *transaction)
        .await
        .map_err(|error| error.to_string())?;
    let adopted = applied.first() == Some(&baseline.version);
    if !adopted && let Some(missing) = squashed.iter().find(|version| !applied.contains(version)) {
        return Err(format!("migration {missing} has not run here: this database cannot take the baseline"));
    }
    sqlx::query(DELETE_SQUASHED).bind(baseline.version).execute(&mut *transaction).await.map_err(|e| e.to_string())?;
    sqlx::query(RECORD_BASELINE)
        .bind(baseline.version)
        .bind(&*baseline.description)
        .bind(&*baseline.checksum)
        .execute(&mut *transaction)
        .await
        .map_err(|error| error.to_string())?;
    transaction.commit().await.map_err(|error| error.to_string())
}

#[tokio::test]
async fn a_database_takes_the_baseline_only_once_past_everything_it_squashes() {
    let (Some(current), Some(behind)) = (postgres_schema().await, postgres_schema().await) else { return };
    let full = migrator(FULL).await;
    let squashed = migrator(SQUASHED).await;
    let baseline = migration(&squashed, REPLACED);
    let replaced: Vec<i64> = full.iter().map(|m| m.version).filter(|&v| v <= REPLACED).collect();

    // Past it: sqlx refuses the squashed history until the bookkeeping is done, then validates it
    // and runs nothing.
    migrate(&full, &current, None).await.expect("the full history");
    let error =
        migrate(&squashed, &current, None).await.expect_err("versions 1 to 3 are unknown to the squashed history");
    assert!(matches!(error, MigrateError::VersionMissing(1)), "{error}");
    adopt_baseline(&current.pool, &baseline, &replaced).await.expect("the baseline is adopted");
    migrate(&squashed, &current, None).await.expect("the squashed history validates");
    assert_eq!(recorded(&current.pool).await, [4, 5]);
    adopt_baseline(&current.pool, &baseline, &replaced).await.expect("adopting again changes nothing");

    // Behind it: refused, and sqlx refuses the squashed history too.
    migrate(&full, &behind, Some(2)).await.expect("an environment at 0002");
    let refused = adopt_baseline(&behind.pool, &baseline, &replaced).await;
    assert_eq!(refused, Err("migration 3 has not run here: this database cannot take the baseline".to_owned()));
    assert_eq!(recorded(&behind.pool).await, [1, 2]);
    let error = migrate(&squashed, &behind, None).await.expect_err("refused");
    assert!(matches!(error, MigrateError::VersionMissing(1)), "{error}");
}

/// The statements above are the ones the guide gives.
#[test]
fn the_guide_gives_the_statements_these_tests_run() {
    let guide = include_str!("../../guides/migrating.md");
    for statement in [RECORD_REPLACEMENT, DELETE_SQUASHED, RECORD_BASELINE] {
        assert!(guide.contains(statement), "guides/migrating.md does not give `{statement}`");
    }
}
