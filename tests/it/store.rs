//! The store contract suite that every `Store` must pass, run unchanged against the in-memory
//! store, SQLite (a temporary file per test, and in memory) and PostgreSQL (a schema of its own
//! per test); the registered-client tables of both databases against their own small contract;
//! and what the SQL stores add: migrations, sweeping, errors that are errors.
//!
//! PostgreSQL is the database at `ATTESTO_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). Outside CI, the PostgreSQL tests are skipped with a
//! message when it cannot be reached; under `CI=true` they fail.

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::databases;

attesto::store_contract_tests!(memory, attesto::MemoryStore::new());

/// The whole suite in one test, the way a store without one test per case runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_store_passes_run_all() {
    attesto::testing::store_contract::run_all(attesto::MemoryStore::new).await;
}

// A temporary file in WAL mode with a pool of several connections: the races race in SQLite.
#[cfg(feature = "sqlite")]
attesto::store_contract_tests!(sqlite, databases::sqlite_file().await);

// `sqlite::memory:`: one connection that serialises everything.
#[cfg(feature = "sqlite")]
attesto::store_contract_tests!(sqlite_in_memory, databases::sqlite_memory().await);

// A schema of its own per test, a pool of several connections. The `return` skips the test when
// PostgreSQL cannot be reached outside CI (`postgres_store` has said so on stderr).
#[cfg(feature = "postgres")]
attesto::store_contract_tests!(
    postgres,
    match databases::postgres_store().await {
        Some(store) => store,
        None => return,
    }
);

// ---------------------------------------------------------------------------------------------
// Registered clients
// ---------------------------------------------------------------------------------------------

/// The contract of a registered-client table, run against each database by
/// `registration_contract_tests!`: what is created is loaded back field for field, updated,
/// deleted; unknown ids find nothing.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod registration_contract {
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use attesto::{
        Client, ClientId, ClientRegistration, GrantType, RegistrationStore, Scopes, SecretHash, TokenEndpointAuthMethod,
    };
    use serde_json::json;

    /// A fresh client id, so that cases never collide.
    fn fresh_id() -> String {
        format!("client-{:016x}", rand::random::<u64>())
    }

    /// Now, in whole seconds: registration times are kept to the second (RFC 7591 reports them so).
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs())
    }

    /// A confidential client with every optional field set, and metadata that needs escaping.
    fn confidential() -> ClientRegistration {
        let mut client = Client::confidential(fresh_id(), SecretHash::of("client secret"))
            .with_name("Émile's \"billing\" app")
            .with_redirect_uris(["https://client.example.com/cb", "https://client.example.com/cb?x=1&y=%20"])
            .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .with_scopes(Scopes::parse("openid profile invoices:read").expect("valid scopes"))
            .with_auth_method(TokenEndpointAuthMethod::ClientSecretPost)
            .with_dpop_bound_access_tokens(true)
            .with_authorization_signed_response_alg(attesto::Algorithm::PS256)
            .with_introspection_signed_response_alg(attesto::Algorithm::EdDSA)
            .with_backchannel_logout_uri("https://client.example.com/backchannel?tenant=1")
            .with_backchannel_logout_session_required(true);
        client.jwks = Some(json!({"keys": [{"kty": "EC", "crv": "P-256", "x": "f83O", "y": "x_FE"}]}));
        let metadata = json!({
            "client_name": "Émile's \"billing\" app",
            "redirect_uris": ["https://client.example.com/cb"],
            "logo_uri": "https://client.example.com/logo.png",
            "contacts": ["ops@example.com"],
            // Registration writes the signed-response members with the client's fields.
            "authorization_signed_response_alg": "PS256",
            "introspection_signed_response_alg": "EdDSA",
            // And the back-channel logout members (OpenID Connect Back-Channel Logout 1.0 §2.2).
            "backchannel_logout_uri": "https://client.example.com/backchannel?tenant=1",
            "backchannel_logout_session_required": true,
        });
        let serde_json::Value::Object(metadata) = metadata else { unreachable!("an object literal") };
        let mut registration =
            ClientRegistration::new(client, metadata, SecretHash::of("registration access token"), now());
        registration.secret_expires_at = Some(now() + Duration::from_secs(90 * 24 * 3600));
        registration
    }

    /// A public client with every optional field unset.
    fn public() -> ClientRegistration {
        let client = Client::public(fresh_id()).with_redirect_uris(["http://127.0.0.1/callback"]);
        ClientRegistration::new(client, serde_json::Map::new(), SecretHash::of("another token"), now())
    }

    /// Every field of two registrations is equal (`Client` has no `PartialEq`).
    #[track_caller]
    fn assert_same(found: &ClientRegistration, expected: &ClientRegistration, what: &str) {
        let (f, e) = (&found.client, &expected.client);
        assert_eq!(f.client_id, e.client_id, "{what}: client_id");
        assert_eq!(f.client_name, e.client_name, "{what}: client_name");
        assert_eq!(f.redirect_uris, e.redirect_uris, "{what}: redirect_uris");
        assert_eq!(f.post_logout_redirect_uris, e.post_logout_redirect_uris, "{what}: post_logout_redirect_uris");
        assert_eq!(f.is_public, e.is_public, "{what}: is_public");
        assert_eq!(f.grant_types, e.grant_types, "{what}: grant_types");
        assert_eq!(f.scopes, e.scopes, "{what}: scopes");
        assert_eq!(f.token_endpoint_auth_method, e.token_endpoint_auth_method, "{what}: token_endpoint_auth_method");
        assert_eq!(f.secret_hash, e.secret_hash, "{what}: secret_hash");
        assert_eq!(f.jwks, e.jwks, "{what}: jwks");
        assert_eq!(f.jwks_uri, e.jwks_uri, "{what}: jwks_uri");
        assert_eq!(
            f.token_endpoint_auth_signing_alg, e.token_endpoint_auth_signing_alg,
            "{what}: token_endpoint_auth_signing_alg"
        );
        assert_eq!(f.dpop_bound_access_tokens, e.dpop_bound_access_tokens, "{what}: dpop_bound_access_tokens");
        assert_eq!(
            f.authorization_signed_response_alg, e.authorization_signed_response_alg,
            "{what}: authorization_signed_response_alg"
        );
        assert_eq!(
            f.introspection_signed_response_alg, e.introspection_signed_response_alg,
            "{what}: introspection_signed_response_alg"
        );
        assert_eq!(f.request_object_signing_alg, e.request_object_signing_alg, "{what}: request_object_signing_alg");
        assert_eq!(
            f.userinfo_signed_response_alg, e.userinfo_signed_response_alg,
            "{what}: userinfo_signed_response_alg"
        );
        assert_eq!(
            f.require_signed_request_object, e.require_signed_request_object,
            "{what}: require_signed_request_object"
        );
        assert_eq!(f.backchannel_logout_uri, e.backchannel_logout_uri, "{what}: backchannel_logout_uri");
        assert_eq!(
            f.backchannel_logout_session_required, e.backchannel_logout_session_required,
            "{what}: backchannel_logout_session_required"
        );
        assert_eq!(found.metadata, expected.metadata, "{what}: metadata");
        assert_eq!(
            found.registration_access_token_hash, expected.registration_access_token_hash,
            "{what}: registration_access_token_hash"
        );
        assert_eq!(found.issued_at, expected.issued_at, "{what}: issued_at");
        assert_eq!(found.secret_expires_at, expected.secret_expires_at, "{what}: secret_expires_at");
    }

    async fn load<R: RegistrationStore>(store: &R, id: &ClientId) -> Option<ClientRegistration> {
        store.load_registration(id).await.expect("load_registration")
    }

    /// A `private_key_jwt` client with a `jwks_uri`, a signing algorithm and the request object
    /// members (RFC 9101 §10.5), its metadata as the registration endpoint writes it.
    fn private_key_jwt() -> ClientRegistration {
        let jwks_uri = "https://client.example.com/jwks.json";
        let client = Client::private_key_jwt(fresh_id(), attesto::ClientKeys::JwksUri(jwks_uri.to_owned()))
            .with_token_endpoint_auth_signing_alg(attesto::ClientSigningAlgorithm::PS256)
            .with_request_object_signing_alg(attesto::ClientSigningAlgorithm::ES256)
            .with_require_signed_request_object(true)
            .with_userinfo_signed_response_alg(attesto::Algorithm::ES256)
            .with_post_logout_redirect_uris(["https://client.example.com/bye", "https://client.example.com/bye2"])
            .with_grant_types([GrantType::ClientCredentials]);
        let metadata = json!({
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks_uri": jwks_uri,
            "token_endpoint_auth_signing_alg": "PS256",
            "request_object_signing_alg": "ES256",
            "require_signed_request_object": true,
            "userinfo_signed_response_alg": "ES256",
            "post_logout_redirect_uris": ["https://client.example.com/bye", "https://client.example.com/bye2"],
        });
        let serde_json::Value::Object(metadata) = metadata else { unreachable!("an object literal") };
        ClientRegistration::new(client, metadata, SecretHash::of("a third token"), now())
    }

    /// A `private_key_jwt` client comes back with its keys' URL, its algorithms (its signed
    /// userinfo's among them), its request object requirement and its post-logout redirect URIs,
    /// and no secret.
    pub(crate) async fn registration_keeps_private_key_jwt_keys<R: RegistrationStore>(store: &R) {
        let registration = private_key_jwt();
        store.create_client(&registration).await.expect("create_client");
        let found = load(store, &registration.client.client_id).await.expect("a created client must be loaded");
        assert_same(&found, &registration, "a private_key_jwt client");
    }

    /// Both kinds of client come back field for field, each under its own id.
    pub(crate) async fn registration_round_trips<R: RegistrationStore>(store: &R) {
        let (full, minimal) = (confidential(), public());
        store.create_client(&full).await.expect("create_client");
        store.create_client(&minimal).await.expect("create_client");

        let found = load(store, &full.client.client_id).await.expect("a created client must be loaded");
        assert_same(&found, &full, "a confidential client with every field set");
        let found = load(store, &minimal.client.client_id).await.expect("a created client must be loaded");
        assert_same(&found, &minimal, "a public client with no optional field");
    }

    /// An update replaces every field (a new secret, new redirect URIs, fewer grants) of that
    /// client only.
    pub(crate) async fn registration_update_replaces<R: RegistrationStore>(store: &R) {
        let (original, other) = (confidential(), confidential());
        store.create_client(&original).await.expect("create_client");
        store.create_client(&other).await.expect("create_client");

        let mut updated = original.clone();
        updated.client = Client::confidential(original.client.client_id.clone(), SecretHash::of("rotated secret"))
            .with_redirect_uris(["https://client.example.com/new"])
            .with_grant_types([GrantType::ClientCredentials]);
        updated.metadata.insert("client_name".to_owned(), "renamed".into());
        // The update drops the back-channel logout URI, so its metadata goes too (a store keeps
        // no member its client no longer has).
        updated.metadata.remove("backchannel_logout_uri");
        updated.metadata.remove("backchannel_logout_session_required");
        updated.registration_access_token_hash = SecretHash::of("rotated registration token");
        updated.secret_expires_at = None;
        assert!(store.update_client(&updated).await.expect("update_client"), "updating a client must return true");

        let found = load(store, &original.client.client_id).await.expect("an updated client must be loaded");
        assert_same(&found, &updated, "an updated client");
        let found = load(store, &other.client.client_id).await.expect("another client must stay");
        assert_same(&found, &other, "a client not updated");
    }

    /// A deleted client is gone, once; another one stays.
    pub(crate) async fn registration_delete_removes<R: RegistrationStore>(store: &R) {
        let (deleted, kept) = (public(), public());
        store.create_client(&deleted).await.expect("create_client");
        store.create_client(&kept).await.expect("create_client");

        let id = &deleted.client.client_id;
        assert!(store.delete_client(id).await.expect("delete_client"), "deleting a client must return true");
        assert!(load(store, id).await.is_none(), "a deleted client must not be loaded");
        assert!(!store.delete_client(id).await.expect("delete_client"), "a second delete must return false");
        assert!(
            !store.update_client(&deleted).await.expect("update_client"),
            "updating a deleted client must return false, not recreate it"
        );
        assert!(load(store, &kept.client.client_id).await.is_some(), "deleting one client must keep another");
    }

    /// An id never created finds nothing, and updating or deleting it changes nothing.
    pub(crate) async fn registration_unknown_is_none<R: RegistrationStore>(store: &R) {
        let unknown = public();
        let id = &unknown.client.client_id;
        assert!(load(store, id).await.is_none(), "an unknown client must be None");
        assert!(!store.update_client(&unknown).await.expect("update_client"), "updating an unknown client: false");
        assert!(!store.delete_client(id).await.expect("delete_client"), "deleting an unknown client: false");
        assert!(load(store, id).await.is_none(), "a refused update must not create the client");
    }

    /// Creating a client under an id that exists is an error and leaves the first one intact: a
    /// registration cannot take over another client.
    pub(crate) async fn registration_create_never_overwrites<R: RegistrationStore>(store: &R) {
        let first = confidential();
        store.create_client(&first).await.expect("create_client");
        let mut impostor = public();
        impostor.client.client_id = first.client.client_id.clone();
        assert!(store.create_client(&impostor).await.is_err(), "creating an existing client id must fail");
        let found = load(store, &first.client.client_id).await.expect("the first client must stay");
        assert_same(&found, &first, "a client whose id another creation tried to take");
    }
}

/// A host that keeps its registered clients in an SQL table, delegating each method of
/// `RegistrationStore` to it, as the docs of `SqliteRegistrations` and `PostgresRegistrations`
/// show. The registration cases run against it.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! delegating_host {
    ($host:ident, $registrations:ty) => {
        struct $host {
            registrations: $registrations,
        }

        impl attesto::RegistrationStore for $host {
            async fn create_client(
                &self,
                registration: &attesto::ClientRegistration,
            ) -> Result<(), attesto::HostError> {
                self.registrations.create_client(registration).await
            }
            async fn load_registration(
                &self,
                client_id: &attesto::ClientId,
            ) -> Result<Option<attesto::ClientRegistration>, attesto::HostError> {
                self.registrations.load_registration(client_id).await
            }
            async fn update_client(
                &self,
                registration: &attesto::ClientRegistration,
            ) -> Result<bool, attesto::HostError> {
                self.registrations.update_client(registration).await
            }
            async fn delete_client(&self, client_id: &attesto::ClientId) -> Result<bool, attesto::HostError> {
                self.registrations.delete_client(client_id).await
            }
        }
    };
}

#[cfg(feature = "sqlite")]
delegating_host!(SqliteHost, attesto::SqliteRegistrations);
#[cfg(feature = "postgres")]
delegating_host!(PostgresHost, attesto::PostgresRegistrations);

/// One test per registration case; `make` evaluates to `(host, guard)`, the guard keeping the
/// database until the test ends.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
macro_rules! registration_contract_tests {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            registration_contract_tests!(@cases $make, [
                registration_round_trips,
                registration_update_replaces,
                registration_delete_removes,
                registration_unknown_is_none,
                registration_create_never_overwrites,
                registration_keeps_private_key_jwt_keys,
            ]);
        }
    };
    (@cases $make:expr, [$($case:ident),* $(,)?]) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, _guard) = $make;
                super::registration_contract::$case(&store).await;
            }
        )*
    };
}

#[cfg(feature = "sqlite")]
registration_contract_tests!(sqlite_registrations, {
    let store = databases::sqlite_file().await;
    (SqliteHost { registrations: store.inner().registrations() }, store)
});

#[cfg(feature = "postgres")]
registration_contract_tests!(
    postgres_registrations,
    match databases::postgres_store().await {
        Some(store) => (PostgresHost { registrations: store.inner().registrations() }, store),
        None => return,
    }
);

// ---------------------------------------------------------------------------------------------
// What the SQL stores add: sweeping, migrations, errors
// ---------------------------------------------------------------------------------------------

/// Expired rows and live rows of the tables whose entries a test can make from outside the crate
/// (revoked access tokens, DPoP proofs, refresh-family tombstones, device grants, grants,
/// back-channel logout records), for a sweep to tell apart.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn put_expired_and_live<S: attesto::store::Store>(store: &S) {
    use std::time::{Duration, SystemTime};

    let hour = Duration::from_secs(3600);
    let (past, future) = (SystemTime::now() - hour, SystemTime::now() + hour);
    for (name, expires_at) in [("expired", past), ("live", future)] {
        store.revoke_access_token(name, expires_at).await.expect("revoke_access_token");
        assert!(
            store.insert_dpop_jti(&attesto::store::TokenHash::of(name), expires_at).await.expect("insert_dpop_jti")
        );
        store.revoke_refresh_family(name, expires_at).await.expect("revoke_refresh_family");
        let mut grant = attesto::store::DeviceGrant::new(
            attesto::ClientId::new("cli"),
            if name == "live" { "BCDFGHJK" } else { "LMNPQRST" }.to_owned(),
            attesto::Scopes::default(),
            Vec::new(),
            expires_at - Duration::from_secs(60),
            Duration::from_secs(60),
            Duration::from_secs(5),
        );
        // Forgotten at its expiry, for the sweep to tell apart.
        grant.keep_until = expires_at;
        let device_code = attesto::store::TokenHash::of(&format!("device {name}"));
        assert!(store.put_device_grant(&device_code, &grant).await.expect("put_device_grant"));
        let grant = attesto::store::Grant::new(
            format!("family {name}"),
            attesto::ClientId::new("cli"),
            "user".to_owned(),
            attesto::Scopes::default(),
            Vec::new(),
            expires_at - hour,
            expires_at,
        );
        store.put_grant(&grant).await.expect("put_grant");
        let session = attesto::store::LogoutSession::new(
            "user",
            Some(name.to_owned()),
            attesto::ClientId::new("cli"),
            expires_at,
        );
        store.put_logout_session(&session).await.expect("put_logout_session");
    }
}

/// The tables `put_expired_and_live` writes, and the key of the live row of each.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const SWEPT_TABLES: [&str; 6] = [
    "attesto_revoked_access_tokens",
    "attesto_dpop_proofs",
    "attesto_refresh_families",
    "attesto_device_grants",
    "attesto_grants",
    "attesto_logout_sessions",
];

#[cfg(feature = "sqlite")]
mod sqlite_store {
    use std::time::SystemTime;

    use attesto::sqlx;
    use attesto::store::Store as _;

    use super::{SWEPT_TABLES, databases, put_expired_and_live};

    async fn count(pool: &sqlx::SqlitePool, table: &str) -> i64 {
        let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(pool)
            .await
            .expect("count rows");
        count
    }

    /// `sweep` deletes what expired (by the database's clock) and keeps what has not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sweep_deletes_expired_rows_only() {
        let store = databases::sqlite_file().await;
        put_expired_and_live(store.inner()).await;
        // The first write started a sweep in the background too; whichever runs first deletes.
        let swept = store.inner().sweep().await.expect("sweep");
        assert!(swept <= 6, "only the six expired rows may be swept, not {swept}");
        for table in SWEPT_TABLES {
            assert_eq!(count(store.inner().pool(), table).await, 1, "{table}: the live row alone must remain");
        }
    }

    /// Migrations run once, are recorded in attesto's own table (not the host's
    /// `_sqlx_migrations`), and applying them again changes nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn migrations_are_recorded_apart_and_idempotent() {
        let store = databases::sqlite_file().await;
        store.inner().migrate().await.expect("migrate again");
        store.inner().migrate().await.expect("and again");
        assert_eq!(count(store.inner().pool(), "attesto_migrations").await, 6, "six migrations, each recorded once");
        let (host_table,): (i64,) =
            sqlx::query_as("SELECT count(*) FROM sqlite_master WHERE name = '_sqlx_migrations'")
                .fetch_one(store.inner().pool())
                .await
                .expect("look for _sqlx_migrations");
        assert_eq!(host_table, 0, "attesto must not touch the host's migrations table");
    }

    /// A database that is gone is an error from every operation (which the endpoints answer
    /// with 503), never a panic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_database_is_an_error() {
        let store = databases::sqlite_file().await;
        store.inner().pool().close().await;
        let key = attesto::store::TokenHash::of("key");
        assert!(store.is_access_token_revoked("jti", SystemTime::now()).await.is_err());
        assert!(store.insert_dpop_jti(&key, SystemTime::now()).await.is_err());
        assert!(store.find_refresh(&key, SystemTime::now()).await.is_err());
        assert!(store.rotate_refresh(&key, &key, SystemTime::now()).await.is_err());
    }
}

#[cfg(feature = "postgres")]
mod postgres_store {
    use std::time::SystemTime;

    use attesto::sqlx;
    use attesto::store::Store as _;

    use super::{SWEPT_TABLES, databases, put_expired_and_live};

    async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
        let (count,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
            .fetch_one(pool)
            .await
            .expect("count rows");
        count
    }

    /// `sweep` deletes what expired (by the database's clock) and keeps what has not.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sweep_deletes_expired_rows_only() {
        let Some(store) = databases::postgres_store().await else { return };
        put_expired_and_live(store.inner()).await;
        // The first write started a sweep in the background too; whichever runs first deletes.
        let swept = store.inner().sweep().await.expect("sweep");
        assert!(swept <= 6, "only the six expired rows may be swept, not {swept}");
        for table in SWEPT_TABLES {
            assert_eq!(count(store.inner().pool(), table).await, 1, "{table}: the live row alone must remain");
        }
    }

    /// `connect` applies the migrations, in the schema the URL's `search_path` names; they are
    /// recorded in attesto's own table (not the host's `_sqlx_migrations`), and applying them
    /// again changes nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connect_migrates_in_the_schema_of_the_url() {
        let Some(schema) = databases::postgres_schema().await else { return };
        let url = databases::postgres_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{separator}options=-c%20search_path%3D{}", schema.name);
        let store = attesto::PostgresStore::connect(&url).await.expect("connect with a search_path");
        store.migrate().await.expect("migrate again");

        let (tables,): (i64,) = sqlx::query_as(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'attesto%'",
        )
        .bind(&schema.name)
        .fetch_one(&schema.pool)
        .await
        .expect("list the schema's tables");
        assert_eq!(
            tables, 11,
            "six state tables, the device grants, the grants, the back-channel logout records, the registered \
             clients and attesto_migrations, in the URL's schema"
        );
        assert_eq!(count(&schema.pool, "attesto_migrations").await, 6, "six migrations, each recorded once");
        let (host_table,): (Option<String>,) =
            sqlx::query_as("SELECT to_regclass('_sqlx_migrations')::text").fetch_one(&schema.pool).await.expect("look");
        assert_eq!(host_table, None, "attesto must not touch the host's migrations table");
        store.pool().close().await;
    }

    /// A database that is gone is an error from every operation (which the endpoints answer
    /// with 503), never a panic.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_database_is_an_error() {
        let Some(store) = databases::postgres_store().await else { return };
        store.inner().pool().close().await;
        let key = attesto::store::TokenHash::of("key");
        assert!(store.is_access_token_revoked("jti", SystemTime::now()).await.is_err());
        assert!(store.insert_dpop_jti(&key, SystemTime::now()).await.is_err());
        assert!(store.find_refresh(&key, SystemTime::now()).await.is_err());
        assert!(store.rotate_refresh(&key, &key, SystemTime::now()).await.is_err());
    }
}
