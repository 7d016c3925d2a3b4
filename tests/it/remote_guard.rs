//! The resource-server guard of a resource deployed apart from the provider (`RemoteGuard`,
//! feature `fetch`): a resource-server app whose guard knows the provider only by its issuer (or
//! JWKS URL), against providers and a JWKS server of the test's own, served on loopback ports.
//!
//! Tokens come from the providers' real token endpoints (`client_credentials` with `resource`,
//! RFC 8707); only the wrong-issuer, bad-signature and expiry cases forge one with a provider's
//! signing key. Key rotation is played by providers of one issuer with different signing keys and
//! a JWKS server whose document the test swaps and whose fetches it counts.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::dpop_key::{DpopKey, ath, claims, p256, with};
use crate::common::resource::{self, METADATA_URL, Reply, call, challenges, forge};
use crate::common::*;
use attesto::{Algorithm, Attesto, Authenticated, Guard, Key, MemoryStore, RemoteGuard, RemoteGuardError};
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

const TOKEN: &str = TestHost::PATHS.token;
const REVOKE: &str = "/oauth/revoke";
/// The resource's URL for a request to `/mcp` (the `htu` of its proofs).
const MCP_URL: &str = "https://mcp.example.com/mcp";
/// The form fields of a token for the MCP resource with `read`.
const FOR_MCP: &str = "scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp";

// ---------------------------------------------------------------------------------------------
// providers, served and not
// ---------------------------------------------------------------------------------------------

/// A provider of `issuer` signing with `key`, knowing the MCP resource and another one.
fn provider_of(issuer: &str, key: Key, store: Option<Arc<MemoryStore>>) -> Attesto<TestHost> {
    let mut builder = Attesto::builder(TestHost::new())
        .issuer(issuer)
        .expect("valid issuer")
        .signing_key(key)
        .resource(RESOURCE)
        .expect("valid resource")
        .resource("https://api.example.com")
        .expect("valid resource");
    if let Some(store) = store {
        builder = builder.store(store);
    }
    builder.build().expect("provider builds")
}

fn es256() -> Key {
    Key::generate(Algorithm::ES256).expect("key")
}

/// Serves `app` on a fresh loopback port until the test's runtime ends: `http://127.0.0.1:<port>`.
async fn serve(listener: tokio::net::TcpListener, app: Router) -> String {
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    base
}

async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port")
}

/// A provider served on a loopback port, its issuer that port's origin (plus `path`).
async fn served_provider(path: &str, store: Option<Arc<MemoryStore>>) -> (Attesto<TestHost>, String) {
    let listener = bind().await;
    let issuer = format!("http://{}{path}", listener.local_addr().expect("address"));
    let auth = provider_of(&issuer, es256(), store);
    serve(listener, auth.router()).await;
    (auth, issuer)
}

/// A URL where nothing listens.
async fn unreachable_base() -> String {
    let listener = bind().await;
    format!("http://{}", listener.local_addr().expect("address"))
}

// ---------------------------------------------------------------------------------------------
// a JWKS server of the test's own
// ---------------------------------------------------------------------------------------------

/// Serves `/jwks` (a document the test swaps, fetches counted, with an optional delay and an
/// outage switch) and `/.well-known/oauth-authorization-server` (a document the test sets).
#[derive(Clone, Default)]
struct JwksServer {
    jwks: Arc<Mutex<Value>>,
    metadata: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    delay: Arc<Mutex<Duration>>,
}

async fn jwks_route(State(server): State<JwksServer>) -> Response {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    let delay = *server.delay.lock().expect("lock");
    tokio::time::sleep(delay).await;
    if server.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    Json(server.jwks.lock().expect("lock").clone()).into_response()
}

async fn metadata_route(State(server): State<JwksServer>) -> Json<Value> {
    Json(server.metadata.lock().expect("lock").clone())
}

impl JwksServer {
    /// Serves the public keys of `keys` on a loopback port: the server and its base URL.
    async fn start(keys: &[&Key]) -> (Self, String) {
        let server = Self::default();
        server.publish(keys);
        let app = Router::new()
            .route("/jwks", get(jwks_route))
            .route("/.well-known/oauth-authorization-server", get(metadata_route))
            .with_state(server.clone());
        let base = serve(bind().await, app).await;
        (server, base)
    }

    fn publish(&self, keys: &[&Key]) {
        let keys: Vec<Value> = keys.iter().map(|key| Value::Object(key.public_jwk())).collect();
        *self.jwks.lock().expect("lock") = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

// ---------------------------------------------------------------------------------------------
// the resource server
// ---------------------------------------------------------------------------------------------

async fn principal(who: Authenticated) -> Json<Value> {
    Json(json!({
        "subject": who.subject,
        "client_id": who.client_id.as_str(),
        "scopes": who.scopes.to_string(),
        "jkt": who.jkt,
    }))
}

async fn layered(Extension(who): Extension<Authenticated>) -> Json<Value> {
    principal(who).await
}

/// `/mcp` (extractor), `/mcp/write` (extractor, `write` required), `/mcp/layer` (the layer).
fn resource_app(guard: &Guard) -> Router {
    let open = Router::new().route("/mcp", get(principal)).with_state(guard.clone());
    let write = Router::new().route("/mcp/write", get(principal)).with_state(guard.require_scopes(["write"]));
    let layer = Router::new().route("/mcp/layer", get(layered)).layer(guard.clone());
    Router::new().merge(open).merge(write).merge(layer)
}

/// A guard for the MCP resource trusting the provider of `issuer`, found by discovery.
async fn discovered_guard(issuer: &str) -> Guard {
    RemoteGuard::new(issuer, RESOURCE).build().await.expect("the guard builds")
}

// ---------------------------------------------------------------------------------------------
// tokens, proofs, calls
// ---------------------------------------------------------------------------------------------

/// A `client_credentials` token of `service` from `auth`'s token endpoint with `extra` form
/// fields, DPoP-bound with `key` if given.
async fn service_token(auth: &Attesto<TestHost>, extra: &str, key: Option<&DpopKey>) -> String {
    let mut request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET));
    if let Some(key) = key {
        request = request.header("DPoP", key.proof("POST", &auth.issuer().url_of(TOKEN)));
    }
    let body = format!("grant_type=client_credentials&{extra}");
    let (status, _, body) = send_json(&auth.router(), request.body(Body::from(body)).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("access_token").to_owned()
}

/// A bearer token of `auth` for the MCP resource with `read`.
async fn mcp_token(auth: &Attesto<TestHost>) -> String {
    service_token(auth, FOR_MCP, None).await
}

async fn bearer(router: &Router, path: &str, token: &str) -> Reply {
    call(router, path, Some(&format!("Bearer {token}")), &[]).await
}

/// A 401 `error` with one challenge of `scheme` that carries `resource_metadata` (RFC 9728
/// §5.1), and the `error_description` `description` if given.
fn assert_refused(reply: &Reply, scheme: &str, error: &str, description: Option<&str>) {
    resource::assert_refused(reply, scheme, error);
    if let Some(description) = description {
        assert_eq!(reply.2["error_description"], description, "{}", reply.2);
    }
}

const INVALID: &str = "the access token is invalid, expired or revoked";

fn assert_accepted(reply: &Reply) {
    let (status, _, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(body["subject"], "service", "{body}");
}

/// The error of a build expected to fail, fetching the keys in `build`.
async fn build_error(guard: RemoteGuard) -> RemoteGuardError {
    match guard.fetch_keys_at_build(true).build().await {
        Ok(guard) => panic!("the guard was built: {guard:?}"),
        Err(error) => error,
    }
}

// ---------------------------------------------------------------------------------------------
// discovery and the token check
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_guard_found_by_discovery_accepts_the_providers_token_for_its_resource() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let token = mcp_token(&auth).await;
    for path in ["/mcp", "/mcp/layer"] {
        let (status, _, body) = bearer(&app, path, &token).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body, json!({ "subject": "service", "client_id": "service", "scopes": "read", "jkt": null }));
    }
}

#[tokio::test]
async fn an_issuer_with_a_path_is_discovered_at_the_rfc_8414_path() {
    // RFC 8414 §3.1: `/.well-known/oauth-authorization-server/tenant`, which the provider serves.
    let (auth, issuer) = served_provider("/tenant", None).await;
    assert!(issuer.ends_with("/tenant"), "{issuer}");
    let app = resource_app(&discovered_guard(&issuer).await);
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&auth).await).await);
}

#[tokio::test]
async fn the_sign_in_requirements_of_rfc_9470_apply_through_the_remote_guard_too() {
    let (auth, issuer) = served_provider("", None).await;
    let guard = discovered_guard(&issuer).await;
    let strong = Router::new().route("/mcp", get(principal)).with_state(guard.require_acr(["urn:test:mfa"]));
    let fresh =
        Router::new().route("/mcp/layer", get(principal)).with_state(guard.require_max_age(Duration::from_secs(60)));
    let app = strong.merge(fresh);
    // A client's own token stands for no sign-in: neither requirement is met.
    let token = mcp_token(&auth).await;
    let cases = [
        ("/mcp", "a stronger authentication of the user is required (see acr_values)", "acr_values=\"urn:test:mfa\""),
        ("/mcp/layer", "a more recent authentication of the user is required (see max_age)", "max_age=\"60\""),
    ];
    for (path, description, parameter) in cases {
        let (status, headers, body) = bearer(&app, path, &token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert_eq!(
            (&body["error"], &body["error_description"]),
            (&json!("insufficient_user_authentication"), &json!(description))
        );
        assert_eq!(
            challenges(&headers),
            [format!(
                "Bearer error=\"insufficient_user_authentication\", error_description=\"{description}\", {parameter}, \
                 resource_metadata=\"{METADATA_URL}\""
            )]
        );
    }
}

#[tokio::test]
async fn without_credentials_both_challenges_carry_resource_metadata() {
    let (_, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let (status, headers, _) = call(&app, "/mcp", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenges(&headers),
        [
            format!("Bearer resource_metadata=\"{METADATA_URL}\""),
            format!("DPoP algs=\"ES256 ES384 EdDSA RS256 PS256\", resource_metadata=\"{METADATA_URL}\""),
        ]
    );
}

#[tokio::test]
async fn a_token_for_another_resource_is_not_passed_through() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let token = service_token(&auth, "scope=read&resource=https%3A%2F%2Fapi.example.com", None).await;
    let reply = bearer(&app, "/mcp", &token).await;
    assert_refused(&reply, "Bearer", "invalid_token", Some("the access token is not meant for this resource"));
}

#[tokio::test]
async fn a_token_naming_another_issuer_is_refused_even_when_signed_with_a_trusted_key() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    assert_accepted(&bearer(&app, "/mcp", &forge(&auth, &json!({}))).await);
    let token = forge(&auth, &json!({ "iss": "https://auth.example.com" }));
    assert_refused(&bearer(&app, "/mcp", &token).await, "Bearer", "invalid_token", Some(INVALID));
}

#[tokio::test]
async fn a_token_with_a_bad_signature_is_refused() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let token = mcp_token(&auth).await;
    let (signed, signature) = token.rsplit_once('.').expect("a JWS");
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    bytes[0] ^= 1;
    let tampered = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes));
    assert_refused(&bearer(&app, "/mcp", &tampered).await, "Bearer", "invalid_token", Some(INVALID));
}

#[tokio::test]
async fn expiry_is_checked_with_a_small_skew() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let now = unix_now();
    // Within the 30-second skew: a clock a little behind the provider's.
    assert_accepted(&bearer(&app, "/mcp", &forge(&auth, &json!({ "exp": now - 10 }))).await);
    let expired = forge(&auth, &json!({ "exp": now - 60 }));
    assert_refused(&bearer(&app, "/mcp", &expired).await, "Bearer", "invalid_token", Some(INVALID));
}

#[tokio::test]
async fn a_missing_scope_is_403_naming_the_scopes_required() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let (status, headers, body) = bearer(&app, "/mcp/write", &mcp_token(&auth).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"], "insufficient_scope");
    assert_eq!(
        challenges(&headers),
        [format!("Bearer error=\"insufficient_scope\", scope=\"write\", resource_metadata=\"{METADATA_URL}\"")]
    );
    let token = service_token(&auth, "scope=read%20write&resource=https%3A%2F%2Fmcp.example.com%2Fmcp", None).await;
    assert_accepted(&bearer(&app, "/mcp/write", &token).await);
}

// ---------------------------------------------------------------------------------------------
// DPoP
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_bound_token_needs_a_fresh_proof_of_this_request_and_the_dpop_scheme() {
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let key = p256();
    let token = service_token(&auth, FOR_MCP, Some(&key)).await;
    let authorization = format!("DPoP {token}");
    let proof = key.proof_with_token("GET", MCP_URL, &token);
    let (status, _, body) = call(&app, "/mcp", Some(&authorization), &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["jkt"], key.jkt.as_str());
    // RFC 9449 §11.1: a proof is good once.
    let replayed = call(&app, "/mcp", Some(&authorization), &[&proof]).await;
    assert_refused(
        &replayed,
        "DPoP",
        "invalid_dpop_proof",
        Some("the DPoP proof was already used: its `jti` was seen before"),
    );
    // RFC 9449 §7.2: a bound token presented as a bearer token protects nothing.
    let downgraded = bearer(&app, "/mcp", &token).await;
    assert_refused(
        &downgraded,
        "DPoP",
        "invalid_token",
        Some("the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof"),
    );
    // A proof without the token's hash (RFC 9449 §4.3 check 12) is refused.
    let no_ath = key.proof("GET", MCP_URL);
    assert_refused(&call(&app, "/mcp", Some(&authorization), &[&no_ath]).await, "DPoP", "invalid_dpop_proof", None);
}

#[tokio::test]
async fn proofs_shared_through_a_store_are_accepted_once_across_guards() {
    let (auth, issuer) = served_provider("", None).await;
    let replay = Arc::new(MemoryStore::new());
    let guard = |store: Arc<MemoryStore>| RemoteGuard::new(&issuer, RESOURCE).store(store).build();
    let first = resource_app(&guard(Arc::clone(&replay)).await.expect("the guard builds"));
    let second = resource_app(&guard(Arc::clone(&replay)).await.expect("the guard builds"));
    let key = p256();
    let token = service_token(&auth, FOR_MCP, Some(&key)).await;
    let authorization = format!("DPoP {token}");
    let proof = key.proof_with_token("GET", MCP_URL, &token);
    assert_eq!(call(&first, "/mcp", Some(&authorization), &[&proof]).await.0, StatusCode::OK);
    let replayed = call(&second, "/mcp", Some(&authorization), &[&proof]).await;
    assert_refused(&replayed, "DPoP", "invalid_dpop_proof", None);
}

#[tokio::test]
async fn a_required_nonce_is_handed_out_and_then_accepted() {
    let (auth, issuer) = served_provider("", None).await;
    let guard = RemoteGuard::new(&issuer, RESOURCE).require_dpop_nonce([9; 32]).build().await.expect("builds");
    let app = resource_app(&guard);
    let key = p256();
    let token = service_token(&auth, FOR_MCP, Some(&key)).await;
    let authorization = format!("DPoP {token}");
    let reply = call(&app, "/mcp", Some(&authorization), &[&key.proof_with_token("GET", MCP_URL, &token)]).await;
    assert_refused(&reply, "DPoP", "use_dpop_nonce", None);
    let nonce = reply.1["dpop-nonce"].to_str().expect("a DPoP-Nonce").to_owned();
    let proof = key.sign(&with(with(claims("GET", MCP_URL), "ath", ath(&token)), "nonce", nonce.as_str()));
    let (status, headers, body) = call(&app, "/mcp", Some(&authorization), &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // RFC 9449 §8.2: a refused answer carries the next nonce; a good one need not repeat it.
    assert!(headers.get("dpop-nonce").is_none() || headers["dpop-nonce"] == nonce.as_str());
}

// ---------------------------------------------------------------------------------------------
// revocation
// ---------------------------------------------------------------------------------------------

async fn revoke(auth: &Attesto<TestHost>, access_token: &str) {
    let request = Request::post(REVOKE)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .body(Body::from(format!("token={access_token}")))
        .expect("request");
    let (status, _, body) = send(&auth.router(), request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn a_revocation_at_the_provider_is_seen_through_the_shared_store_after_the_interval() {
    let store = Arc::new(MemoryStore::new());
    let (auth, issuer) = served_provider("", Some(Arc::clone(&store))).await;
    let interval = Duration::from_millis(200);
    let guard = RemoteGuard::new(&issuer, RESOURCE)
        .store(Arc::clone(&store))
        .revocation_refresh_interval(interval)
        .build()
        .await
        .expect("the guard builds");
    let app = resource_app(&guard);
    let token = mcp_token(&auth).await;
    let other = mcp_token(&auth).await;
    assert_accepted(&bearer(&app, "/mcp", &token).await);
    revoke(&auth, &token).await;
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    assert_refused(&bearer(&app, "/mcp", &token).await, "Bearer", "invalid_token", Some(INVALID));
    assert_accepted(&bearer(&app, "/mcp", &other).await);
}

/// `alice` signs in to `first-party` at `auth` for the MCP resource and refreshes twice: the
/// three access tokens of the grant and its current refresh token.
async fn mcp_grant(auth: &Attesto<TestHost>) -> (Vec<String>, String) {
    let router = auth.router();
    let (verifier, challenge) = pkce();
    let code =
        authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, "read", "alice", &[("resource", RESOURCE)])
            .await;
    let body =
        format!("grant_type=authorization_code&code={code}&code_verifier={verifier}&redirect_uri={WEB_REDIRECT}");
    let (status, _, mut tokens) = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let mut access = vec![tokens["access_token"].as_str().expect("access_token").to_owned()];
    for _ in 0..2 {
        let body = format!("grant_type=refresh_token&refresh_token={}", tokens["refresh_token"].as_str().expect("one"));
        let (status, _, rotated) = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        access.push(rotated["access_token"].as_str().expect("access_token").to_owned());
        tokens = rotated;
    }
    (access, tokens["refresh_token"].as_str().expect("refresh_token").to_owned())
}

#[tokio::test]
async fn a_grant_revoked_at_the_provider_is_seen_through_the_shared_store_after_the_interval() {
    let store = Arc::new(MemoryStore::new());
    let (auth, issuer) = served_provider("", Some(Arc::clone(&store))).await;
    let interval = Duration::from_millis(200);
    let guard = RemoteGuard::new(&issuer, RESOURCE)
        .store(Arc::clone(&store))
        .revocation_refresh_interval(interval)
        .build()
        .await
        .expect("the guard builds");
    let app = resource_app(&guard);
    let (access, refresh_token) = mcp_grant(&auth).await;
    let (other, _) = mcp_grant(&auth).await;
    for token in access.iter().chain(&other) {
        let (status, _, body) = bearer(&app, "/mcp", token).await;
        assert_eq!((status, &body["subject"]), (StatusCode::OK, &json!("alice")), "{body}");
    }
    // RFC 7009 §2.1: the refresh token's revocation revokes the access tokens of its grant.
    let request = Request::post(REVOKE)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("first-party", SECRET))
        .body(Body::from(format!("token={refresh_token}")))
        .expect("request");
    let (status, _, body) = send(&auth.router(), request).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    tokio::time::sleep(interval + Duration::from_millis(50)).await;
    for token in &access {
        assert_refused(&bearer(&app, "/mcp", token).await, "Bearer", "invalid_token", Some(INVALID));
    }
    for token in &other {
        let (status, _, body) = bearer(&app, "/mcp", token).await;
        assert_eq!(status, StatusCode::OK, "another grant is untouched: {body}");
    }
}

#[tokio::test]
async fn without_a_shared_store_a_revoked_token_lives_until_it_expires() {
    // The documented limit: the guard cannot see the provider's revocations.
    let (auth, issuer) = served_provider("", None).await;
    let app = resource_app(&discovered_guard(&issuer).await);
    let token = mcp_token(&auth).await;
    revoke(&auth, &token).await;
    assert_accepted(&bearer(&app, "/mcp", &token).await);
}

// ---------------------------------------------------------------------------------------------
// the key cache: rotation, unknown keys, withdrawn keys, outages
// ---------------------------------------------------------------------------------------------

/// Providers of one issuer with different keys, and a guard for the JWKS at `jwks`: it fetches
/// at the first token, or in `build` when `configure` sets `fetch_keys_at_build` (the tests of
/// what the cache does once it has keys).
async fn jwks_guard(base: &str, configure: impl FnOnce(RemoteGuard) -> RemoteGuard) -> Router {
    let guard = configure(RemoteGuard::new(ISSUER, RESOURCE).jwks_uri(&format!("{base}/jwks")));
    resource_app(&guard.build().await.expect("the guard builds"))
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_then_verifies() {
    let (old, new) = (es256(), es256());
    let (server, base) = JwksServer::start(&[&old]).await;
    let app = jwks_guard(&base, |guard| guard).await;
    assert_eq!(server.fetches(), 0, "nothing is fetched when built");
    let before = provider_of(ISSUER, old.clone(), None);
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&before).await).await);
    assert_eq!(server.fetches(), 1, "fetched at the first token");
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&before).await).await);
    assert_eq!(server.fetches(), 1, "a known key costs no fetch");

    // The provider rotates: it publishes the new key and signs with it.
    server.publish(&[&new, &old]);
    let after = provider_of(ISSUER, new, None);
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&after).await).await);
    assert_eq!(server.fetches(), 2, "one fetch for the unknown `kid`");
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&after).await).await);
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&before).await).await);
    assert_eq!(server.fetches(), 2, "both keys are known now");
}

#[tokio::test]
async fn concurrent_tokens_with_a_new_key_share_one_fetch() {
    let (old, new) = (es256(), es256());
    let (server, base) = JwksServer::start(&[&old]).await;
    let app = jwks_guard(&base, |guard| guard.jwks_min_refresh_interval(Duration::from_secs(1))).await;
    // The first token fetches the keys there are; the minimum interval passes.
    assert_accepted(&bearer(&app, "/mcp", &mcp_token(&provider_of(ISSUER, old.clone(), None)).await).await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    server.publish(&[&new, &old]);
    *server.delay.lock().expect("lock") = Duration::from_millis(200);
    let token = mcp_token(&provider_of(ISSUER, new, None)).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { bearer(&app, "/mcp", &token).await })
        })
        .collect();
    for call in calls {
        assert_accepted(&call.await.expect("the call ran"));
    }
    assert_eq!(server.fetches(), 2, "20 requests, one fetch");
}

#[tokio::test]
async fn an_unknown_kid_is_refused_and_does_not_refetch_within_the_minimum_interval() {
    let known = es256();
    let (server, base) = JwksServer::start(&[&known]).await;
    let app = jwks_guard(&base, |guard| guard.fetch_keys_at_build(true)).await;
    let stranger = provider_of(ISSUER, es256(), None);
    let reply = bearer(&app, "/mcp", &mcp_token(&stranger).await).await;
    assert_refused(&reply, "Bearer", "invalid_token", Some(INVALID));
    assert_eq!(server.fetches(), 2, "the first unknown `kid` is looked for");
    for _ in 0..10 {
        let reply = bearer(&app, "/mcp", &mcp_token(&stranger).await).await;
        assert_refused(&reply, "Bearer", "invalid_token", Some(INVALID));
    }
    assert_eq!(server.fetches(), 2, "within the minimum interval, no more fetches");
    // Even a rotation must wait for the interval to end.
    let rotated = es256();
    server.publish(&[&rotated, &known]);
    let reply = bearer(&app, "/mcp", &mcp_token(&provider_of(ISSUER, rotated, None)).await).await;
    assert_refused(&reply, "Bearer", "invalid_token", Some(INVALID));
    assert_eq!(server.fetches(), 2);
}

#[tokio::test]
async fn a_token_that_is_not_an_access_token_costs_no_fetch() {
    let known = es256();
    let (server, base) = JwksServer::start(&[&known]).await;
    let app = jwks_guard(&base, |guard| guard.fetch_keys_at_build(true)).await;
    // An ID-token-like JWT (RFC 9068 §4: `typ` must be `at+jwt`) naming a key nobody knows.
    let stranger = es256();
    let header = json!({ "alg": "ES256", "typ": "JWT", "kid": stranger.kid() });
    let claims = json!({ "iss": ISSUER, "sub": "service", "aud": RESOURCE, "exp": unix_now() + 60 });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(stranger.sign(input.as_bytes()).expect("signing")));
    assert_refused(&bearer(&app, "/mcp", &token).await, "Bearer", "invalid_token", Some(INVALID));
    assert_refused(&bearer(&app, "/mcp", "not.a.jwt").await, "Bearer", "invalid_token", Some(INVALID));
    assert_eq!(server.fetches(), 1, "only the fetch at build");
}

#[tokio::test]
async fn after_the_minimum_interval_an_unknown_kid_is_looked_for_again() {
    let known = es256();
    let (server, base) = JwksServer::start(&[&known]).await;
    let app =
        jwks_guard(&base, |guard| guard.fetch_keys_at_build(true).jwks_min_refresh_interval(Duration::from_secs(1)))
            .await;
    let rotated = es256();
    let token = mcp_token(&provider_of(ISSUER, rotated.clone(), None)).await;
    assert_refused(&bearer(&app, "/mcp", &token).await, "Bearer", "invalid_token", Some(INVALID));
    assert_eq!(server.fetches(), 2);
    server.publish(&[&rotated, &known]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&bearer(&app, "/mcp", &token).await);
    assert_eq!(server.fetches(), 3);
}

#[tokio::test]
async fn a_key_withdrawn_from_the_jwks_stops_verifying_after_the_refresh() {
    let (kept, withdrawn) = (es256(), es256());
    let (server, base) = JwksServer::start(&[&kept, &withdrawn]).await;
    let app = jwks_guard(&base, |guard| guard.jwks_refresh_interval(Duration::from_secs(1))).await;
    let withdrawn_token = mcp_token(&provider_of(ISSUER, withdrawn, None)).await;
    let kept_token = mcp_token(&provider_of(ISSUER, kept.clone(), None)).await;
    assert_accepted(&bearer(&app, "/mcp", &withdrawn_token).await);
    server.publish(&[&kept]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.fetches() >= 2, "the periodic refresh ran");
    assert_refused(&bearer(&app, "/mcp", &withdrawn_token).await, "Bearer", "invalid_token", Some(INVALID));
    assert_accepted(&bearer(&app, "/mcp", &kept_token).await);
}

#[tokio::test]
async fn when_the_provider_goes_away_the_cached_keys_keep_working() {
    let key = es256();
    let (server, base) = JwksServer::start(&[&key]).await;
    let app =
        jwks_guard(&base, |guard| guard.fetch_keys_at_build(true).jwks_refresh_interval(Duration::from_secs(1))).await;
    let token = mcp_token(&provider_of(ISSUER, key, None)).await;
    server.down.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(server.fetches() >= 2, "the periodic refresh ran and failed");
    assert_accepted(&bearer(&app, "/mcp", &token).await);
    // A JWKS with no usable key is a failed refresh too, not an order to trust nothing.
    server.publish(&[]);
    server.down.store(false, Ordering::SeqCst);
    let fetches = server.fetches();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(server.fetches() > fetches, "the periodic refresh ran again");
    assert_accepted(&bearer(&app, "/mcp", &token).await);
}

#[tokio::test]
async fn a_guard_fetching_at_build_fails_when_the_provider_is_unreachable() {
    let nowhere = unreachable_base().await;
    let error = build_error(RemoteGuard::new(&nowhere, RESOURCE)).await;
    let metadata_url = format!("{nowhere}/.well-known/oauth-authorization-server");
    assert!(matches!(&error, RemoteGuardError::Metadata { url, .. } if *url == metadata_url), "{error:?}");
    assert!(
        error.to_string().starts_with(&format!("the authorization server metadata at `{metadata_url}`")),
        "{error}"
    );

    let jwks_uri = format!("{nowhere}/jwks");
    let error = build_error(RemoteGuard::new(ISSUER, RESOURCE).jwks_uri(&jwks_uri)).await;
    assert!(matches!(&error, RemoteGuardError::Jwks { url, .. } if *url == jwks_uri), "{error:?}");
}

#[tokio::test]
async fn a_guard_built_while_the_provider_is_down_answers_503_until_the_keys_come() {
    let key = es256();
    let (server, base) = JwksServer::start(&[&key]).await;
    server.down.store(true, Ordering::SeqCst);
    let app = jwks_guard(&base, |guard| guard.jwks_min_refresh_interval(Duration::from_secs(1))).await;
    assert_eq!(server.fetches(), 0, "nothing is fetched when built");
    let token = mcp_token(&provider_of(ISSUER, key, None)).await;
    let (status, headers, body) = bearer(&app, "/mcp", &token).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(server.fetches(), 1, "the first token tried");
    server.down.store(false, Ordering::SeqCst);
    // Within the minimum interval of the last attempt: still no keys, no fetch.
    assert_eq!(bearer(&app, "/mcp", &token).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(server.fetches(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_accepted(&bearer(&app, "/mcp", &token).await);
    assert_eq!(server.fetches(), 2);
    // A request without a token is challenged whether or not the keys are there.
    assert_eq!(call(&app, "/mcp", None, &[]).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn discovery_happens_at_the_first_request_and_concurrent_first_requests_share_it() {
    let key = es256();
    let (server, base) = JwksServer::start(&[&key]).await;
    *server.metadata.lock().expect("lock") = json!({ "issuer": base, "jwks_uri": format!("{base}/jwks") });
    *server.delay.lock().expect("lock") = Duration::from_millis(200);
    let app = resource_app(&discovered_guard(&base).await);
    assert_eq!(server.fetches(), 0, "nothing is fetched when built");
    let token = mcp_token(&provider_of(&base, key, None)).await;
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { bearer(&app, "/mcp", &token).await })
        })
        .collect();
    for call in calls {
        assert_accepted(&call.await.expect("the call ran"));
    }
    assert_eq!(server.fetches(), 1, "20 first requests, one discovery and one JWKS fetch");
}

#[tokio::test]
async fn a_lazily_discovered_provider_of_another_issuer_is_never_trusted() {
    let key = es256();
    let (server, base) = JwksServer::start(&[&key]).await;
    *server.metadata.lock().expect("lock") =
        json!({ "issuer": "https://impostor.example", "jwks_uri": format!("{base}/jwks") });
    let app = resource_app(&discovered_guard(&base).await);
    let (status, _, body) = bearer(&app, "/mcp", &mcp_token(&provider_of(&base, key, None)).await).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(server.fetches(), 0, "no key of an unverified provider is fetched");
}

// ---------------------------------------------------------------------------------------------
// configuration errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn metadata_of_another_issuer_fails_the_build() {
    let (server, base) = JwksServer::start(&[&es256()]).await;
    *server.metadata.lock().expect("lock") =
        json!({ "issuer": "https://impostor.example", "jwks_uri": format!("{base}/jwks") });
    let error = build_error(RemoteGuard::new(&base, RESOURCE)).await;
    assert_eq!(
        error.to_string(),
        format!(
            "the authorization server metadata at `{base}/.well-known/oauth-authorization-server` is that of the \
             issuer `https://impostor.example`, not `{base}`"
        )
    );
    assert_eq!(server.fetches(), 0, "no key of an unverified provider is fetched");
}

#[tokio::test]
async fn unusable_metadata_fails_the_build() {
    let (server, base) = JwksServer::start(&[&es256()]).await;
    let metadata_url = format!("{base}/.well-known/oauth-authorization-server");
    let cases = [
        (json!({ "issuer": base }), "it has no `jwks_uri`".to_owned()),
        (
            json!({ "jwks_uri": format!("{base}/jwks") }),
            "the document is not valid JSON of the expected shape".to_owned(),
        ),
    ];
    for (metadata, reason) in cases {
        *server.metadata.lock().expect("lock") = metadata;
        let error = build_error(RemoteGuard::new(&base, RESOURCE)).await;
        assert_eq!(
            error.to_string(),
            format!("the authorization server metadata at `{metadata_url}` could not be used: {reason}")
        );
    }
    // A `jwks_uri` over plain http to another host: its keys could be swapped on the way.
    *server.metadata.lock().expect("lock") = json!({ "issuer": base, "jwks_uri": "http://auth.example.com/jwks" });
    let error = build_error(RemoteGuard::new(&base, RESOURCE)).await;
    assert_eq!(
        error.to_string(),
        "invalid jwks_uri of the authorization server metadata `http://auth.example.com/jwks`: must use https (http \
         is accepted only on a loopback host)"
    );
}

#[tokio::test]
async fn a_jwks_without_a_usable_key_fails_the_build() {
    let (server, base) = JwksServer::start(&[]).await;
    let error = build_error(RemoteGuard::new(ISSUER, RESOURCE).jwks_uri(&format!("{base}/jwks"))).await;
    assert_eq!(
        error.to_string(),
        format!("the JWKS at `{base}/jwks` could not be used: it holds no usable signature verification key")
    );
    server.down.store(true, Ordering::SeqCst);
    let error = build_error(RemoteGuard::new(ISSUER, RESOURCE).jwks_uri(&format!("{base}/jwks"))).await;
    assert_eq!(error.to_string(), format!("the JWKS at `{base}/jwks` could not be used: the server answered 503"));
}

#[tokio::test]
async fn bad_configuration_fails_the_build_before_any_fetch() {
    let error = build_error(RemoteGuard::new(ISSUER, RESOURCE).jwks_uri("http://auth.example.com/jwks")).await;
    assert_eq!(
        error.to_string(),
        "invalid jwks_uri `http://auth.example.com/jwks`: must use https (http is accepted only on a loopback host)"
    );
    let error = build_error(RemoteGuard::new(ISSUER, RESOURCE).jwks_uri("jwks.json")).await;
    assert_eq!(error.to_string(), "invalid jwks_uri `jwks.json`: not an absolute URL");
    let error = build_error(RemoteGuard::new("http://auth.example.com", RESOURCE)).await;
    assert!(matches!(error, RemoteGuardError::Config(attesto::ConfigError::Issuer { .. })), "{error:?}");
    let error = build_error(RemoteGuard::new(ISSUER, "not a resource").jwks_uri("https://auth.example.com/jwks")).await;
    assert!(matches!(error, RemoteGuardError::Config(attesto::ConfigError::Resource { .. })), "{error:?}");

    let guard = || RemoteGuard::new(ISSUER, RESOURCE);
    let cases = [
        (
            guard().jwks_refresh_interval(Duration::from_millis(999)),
            "`jwks_refresh_interval` must be from 1 second to 1 day",
        ),
        (
            guard().jwks_refresh_interval(Duration::from_secs(86_401)),
            "`jwks_refresh_interval` must be from 1 second to 1 day",
        ),
        (
            guard().jwks_min_refresh_interval(Duration::ZERO),
            "`jwks_min_refresh_interval` must be from 1 second to 1 hour",
        ),
        (
            guard().jwks_min_refresh_interval(Duration::from_secs(3601)),
            "`jwks_min_refresh_interval` must be from 1 second to 1 hour",
        ),
        (
            guard().revocation_refresh_interval(Duration::from_secs(3601)),
            "`revocation_refresh_interval` must be at most 1 hour",
        ),
    ];
    for (guard, message) in cases {
        assert_eq!(build_error(guard).await.to_string(), message);
    }
}
