//! Criterion benchmarks of token minting and discovery serving, in-process through the public API
//! and the real router (`tower::ServiceExt::oneshot` on `auth.router()`).
//!
//! ```text
//! cargo bench --bench tokens
//! ```
//!
//! Groups: `token` (a `client_credentials` request with `client_secret_basic`: form parsing, client
//! authentication, an ES256 signature, the JSON response), `discovery` (the RFC 8414 document and
//! the JWKS, both prepared bytes) and `sign` (`Key::sign` alone for ES256, EdDSA and RS256, to show
//! the signature's share of a token). `benches/README.md` has the load test against the quickstart.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use attesto::{
    Algorithm, Attesto, Client, ClientStore, GrantType, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore,
    Scopes, SecretHash,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

const ISSUER: &str = "https://auth.example.com";
const CLIENT_ID: &str = "bench-client";
const SECRET: &str = "bench-secret-bench-secret-bench-secret";

/// The benchmark host: one confidential client in memory, as in the quickstart.
#[derive(Clone)]
#[attesto::provider]
struct BenchHost {
    clients: Arc<HashMap<String, Client>>,
}

impl ClientStore for BenchHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for BenchHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn router() -> Router {
    let client = Client::confidential(CLIENT_ID, SecretHash::of(SECRET))
        .with_grant_types([GrantType::ClientCredentials])
        .with_scopes(Scopes::parse("read write").expect("valid scopes"));
    let host = BenchHost { clients: Arc::new(HashMap::from([(CLIENT_ID.to_owned(), client)])) };
    let auth = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("ES256 key"))
        .scopes_supported(["read", "write"])
        .build()
        .expect("provider builds");
    auth.router()
}

fn token_request(basic: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(BenchHost::PATHS.token)
        .header(header::AUTHORIZATION, basic)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials&scope=read"))
        .expect("valid request")
}

fn get_request(path: &str) -> Request<Body> {
    Request::builder().uri(path).body(Body::empty()).expect("valid request")
}

/// Sends one request through the router and reads the whole body, checking the status.
async fn send(router: &Router, request: Request<Body>) -> usize {
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    assert_eq!(response.status(), StatusCode::OK, "the benchmarked request must succeed");
    response.into_body().collect().await.expect("body").to_bytes().len()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime")
}

fn token(c: &mut Criterion) {
    let rt = runtime();
    let router = router();
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{SECRET}")));
    let mut group = c.benchmark_group("token");
    group.bench_function("client_credentials_basic_es256", |b| {
        b.iter(|| rt.block_on(send(&router, token_request(black_box(&basic)))));
    });
    group.finish();
}

fn discovery(c: &mut Criterion) {
    let rt = runtime();
    let router = router();
    let mut group = c.benchmark_group("discovery");
    group.bench_function("oauth_authorization_server", |b| {
        b.iter(|| rt.block_on(send(&router, get_request("/.well-known/oauth-authorization-server"))));
    });
    group.bench_function("jwks", |b| {
        b.iter(|| rt.block_on(send(&router, get_request(BenchHost::PATHS.jwks))));
    });
    group.finish();
}

fn sign(c: &mut Criterion) {
    // A typical JWS signing input: base64url header, '.', base64url claims (about 300 bytes).
    let message = vec![b'e'; 300];
    let mut group = c.benchmark_group("sign");
    for (name, alg) in [("es256", Algorithm::ES256), ("eddsa", Algorithm::EdDSA), ("rs256", Algorithm::RS256)] {
        let key = Key::generate(alg).expect("key generation");
        group.bench_function(name, |b| b.iter(|| key.sign(black_box(&message)).expect("signing")));
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = token, discovery, sign
}
criterion_main!(benches);
