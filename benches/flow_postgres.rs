//! The authorization code flow and a refresh against PostgreSQL, in-process through the real
//! router (`tower::ServiceExt::oneshot` on `auth.router()`), reported in requests per second.
//!
//! ```text
//! cargo bench --bench flow_postgres --features postgres
//! ATTESTO_TEST_DATABASE_URL=postgres://me@db/scratch cargo bench --bench flow_postgres --features postgres
//! ```
//!
//! One flow is three requests — the authorization request (a signed-in user, consent granted by
//! policy: a code is stored), the code exchange (the code taken, the refresh family created, an
//! access token and an ID token signed) and a refresh (the refresh token looked up, then rotated,
//! a new access token signed) — and seven database round trips: each of the six state changes is
//! one statement (`INSERT` the code, `UPDATE … RETURNING` to take it, one `INSERT … ON CONFLICT`
//! with its token for the family, `INSERT` the user's grant, one `UPDATE` with its token to
//! rotate, `UPDATE` the grant's last use), plus the lookup of the refresh token. `sequential` runs one flow at a time (latency bound); `concurrent_16` runs 16
//! flows at once on two worker threads with a pool of 16 connections.
//!
//! The database is the one the tests use (`ATTESTO_TEST_DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`); the bench works in a schema of its own, dropped at
//! the end. Without a database it says so and measures nothing. `benches/README.md` has a result.

use std::hint::black_box;
use std::str::FromStr as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use attesto::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use attesto::sqlx::{self, Connection as _, Executor as _};
use attesto::{
    Algorithm, Attesto, AuthenticatedPrincipal, Client, ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest,
    HostError, Key, LoginOutcome, LoginRequest, PostgresStore, PrincipalStore, Scopes,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;

const ISSUER: &str = "https://auth.example.com";
const CLIENT_ID: &str = "bench-native";
const REDIRECT: &str = "http://127.0.0.1/cb";
const SCOPE: &str = "openid offline_access";
/// Requests in one flow: authorize, code exchange, refresh.
const REQUESTS_PER_FLOW: u64 = 3;
const CONCURRENT_FLOWS: usize = 16;

/// The benchmark host: one public client, every browser signed in, consent granted.
#[derive(Clone)]
#[attesto::provider]
struct BenchHost {
    client: Arc<Client>,
}

impl ClientStore for BenchHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok((client_id == CLIENT_ID).then(|| (*self.client).clone()))
    }
}

impl PrincipalStore for BenchHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::Authenticated(AuthenticatedPrincipal::new("alice", SystemTime::now())))
    }
}

impl ConsentPolicy for BenchHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

/// A schema of its own in the bench database, with attesto's tables.
struct Database {
    options: PgConnectOptions,
    schema: String,
    store: PostgresStore,
}

async fn database() -> Option<Database> {
    let url = std::env::var("ATTESTO_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let options = PgConnectOptions::from_str(&url).expect("ATTESTO_TEST_DATABASE_URL is a PostgreSQL URL");
    let mut admin = match sqlx::PgConnection::connect_with(&options).await {
        Ok(admin) => admin,
        Err(error) => {
            eprintln!("flow_postgres: PostgreSQL is not reachable ({error}); set ATTESTO_TEST_DATABASE_URL");
            return None;
        }
    };
    let schema = format!("attesto_bench_{:016x}", rand::random::<u64>());
    // Hex digits only: nothing to inject.
    admin.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).await.expect("create the bench schema");
    let _ = admin.close().await;
    let pool = PgPoolOptions::new()
        .max_connections(CONCURRENT_FLOWS as u32)
        .connect_with(options.clone().options([("search_path", schema.as_str())]))
        .await
        .expect("connect to the bench schema");
    let store = PostgresStore::from_pool(pool);
    store.migrate().await.expect("migrate the bench schema");
    Some(Database { options, schema, store })
}

impl Database {
    async fn drop_schema(self) {
        self.store.pool().close().await;
        if let Ok(mut admin) = sqlx::PgConnection::connect_with(&self.options).await {
            let _ = admin.execute(sqlx::AssertSqlSafe(format!("DROP SCHEMA {} CASCADE", self.schema))).await;
            let _ = admin.close().await;
        }
    }
}

fn router(store: PostgresStore) -> Router {
    let client = Client::public(CLIENT_ID)
        .with_redirect_uris([REDIRECT])
        .with_scopes(Scopes::parse(SCOPE).expect("valid scopes"));
    Attesto::builder(BenchHost { client: Arc::new(client) })
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("ES256 key"))
        .store(store)
        .build()
        .expect("provider builds")
        .router()
}

/// One request through the router: the status, the `Location` and the body.
async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    let status = response.status();
    let location = response.headers().get(header::LOCATION).and_then(|l| l.to_str().ok()).map(str::to_owned);
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, location, body)
}

fn token_request(body: String) -> Request<Body> {
    Request::post(BenchHost::PATHS.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .expect("valid request")
}

/// The value of `name` in a JSON token response.
fn json_string(body: &[u8], name: &str) -> String {
    let json: serde_json::Value = serde_json::from_slice(body).expect("a JSON body");
    json[name].as_str().unwrap_or_else(|| panic!("`{name}` in {json}")).to_owned()
}

/// Authorize, exchange the code, refresh once; every answer checked.
async fn flow(router: &Router) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("scope", SCOPE),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let authorize = Request::get(format!("{}?{query}", BenchHost::PATHS.authorize)).body(Body::empty());
    let (status, location, _) = send(router, authorize.expect("valid request")).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the authorization request must succeed");
    let location = location.expect("a Location");
    let code = url::Url::parse(&location)
        .expect("an absolute Location")
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("a code");

    let exchange = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("client_id", CLIENT_ID),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", REDIRECT),
        ])
        .finish();
    let (status, _, body) = send(router, token_request(exchange)).await;
    assert_eq!(status, StatusCode::OK, "the code exchange must succeed");
    let refresh_token = json_string(&body, "refresh_token");

    let refresh = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("grant_type", "refresh_token"), ("client_id", CLIENT_ID), ("refresh_token", &refresh_token)])
        .finish();
    let (status, _, body) = send(router, token_request(refresh)).await;
    assert_eq!(status, StatusCode::OK, "the refresh must succeed");
    black_box(body);
}

fn flow_postgres(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let Some(database) = rt.block_on(database()) else { return };
    let router = router(database.store.clone());

    let mut group = c.benchmark_group("flow_postgres");
    group.throughput(Throughput::Elements(REQUESTS_PER_FLOW));
    group.bench_function("sequential", |b| b.iter(|| rt.block_on(flow(&router))));
    group.throughput(Throughput::Elements(REQUESTS_PER_FLOW * CONCURRENT_FLOWS as u64));
    group.bench_function("concurrent_16", |b| {
        b.iter(|| {
            rt.block_on(async {
                let flows: Vec<_> = (0..CONCURRENT_FLOWS)
                    .map(|_| {
                        let router = router.clone();
                        tokio::spawn(async move { flow(&router).await })
                    })
                    .collect();
                for flow in flows {
                    flow.await.expect("a flow panicked");
                }
            });
        });
    });
    group.finish();
    rt.block_on(database.drop_schema());
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = flow_postgres
}
criterion_main!(benches);
