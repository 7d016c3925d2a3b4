//! The identity assertion grant (ID-JAG, draft-ietf-oauth-identity-assertion-authz-grant, with
//! RFC 7523's `jwt-bearer` grant) through the real router, against an enterprise "IdP" of the
//! test's own on a loopback port: its RFC 8414 metadata and its JWKS, whose fetches it counts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use attesto::{
    Algorithm, Attesto, Client, ClientStore, EventSink, GrantType, HostError, IdentityAssertion,
    IdentityAssertionPolicy, Key, LoginOutcome, LoginRequest, Principal, PrincipalStore, Scopes, SecretHash,
    TokenDenied, TokenIssued, TrustedIssuer,
};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::dpop_key::p256;
use crate::common::*;

const TOKEN: &str = "/oauth/token";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

// ---------------------------------------------------------------------------------------------
// the identity provider
// ---------------------------------------------------------------------------------------------

/// The IdP: its published keys (the test swaps them) and how often its JWKS was fetched.
#[derive(Clone, Default)]
struct Idp {
    jwks: Arc<Mutex<Value>>,
    issuer: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_route(State(idp): State<Idp>) -> axum::Json<Value> {
    idp.fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(idp.jwks.lock().expect("lock").clone())
}

async fn metadata_route(State(idp): State<Idp>) -> axum::Json<Value> {
    let issuer = idp.issuer.lock().expect("lock").clone();
    axum::Json(
        json!({ "issuer": issuer, "jwks_uri": format!("{issuer}/jwks"), "token_endpoint": format!("{issuer}/token") }),
    )
}

impl Idp {
    /// Serves the public keys of `keys` on a loopback port: the IdP and its issuer (its origin).
    async fn start(keys: &[&Key]) -> (Self, String) {
        Self::start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port"), keys)
    }

    /// Serves the public keys of `keys` on `listener`.
    fn start_on(listener: tokio::net::TcpListener, keys: &[&Key]) -> (Self, String) {
        let idp = Self::default();
        idp.publish(keys);
        let app = Router::new()
            .route("/jwks", get(jwks_route))
            .route("/.well-known/oauth-authorization-server", get(metadata_route))
            .with_state(idp.clone());
        let issuer = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("server runs");
        });
        *idp.issuer.lock().expect("lock") = issuer.clone();
        (idp, issuer)
    }

    fn publish(&self, keys: &[&Key]) {
        let keys: Vec<Value> = keys.iter().map(|key| Value::Object(key.public_jwk())).collect();
        *self.jwks.lock().expect("lock") = json!({ "keys": keys });
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

/// A JWT with `header` and `claims`, signed with `key`.
fn sign(key: &Key, header: &Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).expect("signing")))
}

/// The claims of a good assertion of `issuer` for the `agent` client and the MCP resource, with
/// `changes` over them (`null` removes a claim).
fn claims(issuer: &str, changes: &Value) -> Value {
    let now = unix_now();
    let mut claims = json!({
        "iss": issuer, "sub": "U019488227", "aud": ISSUER, "client_id": "agent", "exp": now + 300, "iat": now,
        "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()), "resource": RESOURCE, "scope": "read write",
        "email": "ann@acme.example",
    });
    for (name, value) in changes.as_object().expect("an object") {
        match value {
            Value::Null => drop(claims.as_object_mut().expect("object").remove(name)),
            value => claims[name] = value.clone(),
        }
    }
    claims
}

/// A good assertion signed with `key`, with `changes` to its claims.
fn assertion(key: &Key, issuer: &str, changes: &Value) -> String {
    let header = json!({ "alg": key.algorithm().as_str(), "typ": "oauth-id-jag+jwt", "kid": key.kid() });
    sign(key, &header, &claims(issuer, changes))
}

// ---------------------------------------------------------------------------------------------
// the provider
// ---------------------------------------------------------------------------------------------

/// The test host's clients, with an identity assertion policy: the IdP's users are `idp:<sub>`,
/// except `U-blocked`, who is refused.
#[derive(Clone)]
#[attesto::provider]
struct AssertionHost {
    base: TestHost,
    seen: Arc<Mutex<Vec<String>>>,
}

impl ClientStore for AssertionHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        self.base.load_client(client_id).await
    }
}

impl PrincipalStore for AssertionHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.base.authenticate(request).await
    }
    async fn build_principal(&self, client: &Client, subject: &str, scopes: &Scopes) -> Result<Principal, HostError> {
        self.base.build_principal(client, subject, scopes).await
    }
}

impl EventSink for AssertionHost {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.base.token_issued(event);
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        self.base.token_denied(event);
    }
}

impl IdentityAssertionPolicy for AssertionHost {
    async fn map_subject(&self, assertion: &IdentityAssertion<'_>) -> Result<Option<String>, HostError> {
        if let Ok(mut seen) = self.seen.lock() {
            let email = assertion.claims.get("email").and_then(Value::as_str).unwrap_or("-");
            seen.push(format!("{} {} {} {email}", assertion.issuer, assertion.subject, assertion.client.client_id));
        }
        Ok((assertion.subject != "U-blocked").then(|| format!("idp:{}", assertion.subject)))
    }
}

fn assertion_host() -> AssertionHost {
    let mut clients: HashMap<String, Client> = clients();
    let scopes = Scopes::parse("read write").expect("scopes");
    let mut add = |client: Client| {
        clients.insert(client.client_id.to_string(), client);
    };
    add(Client::confidential("agent", SecretHash::of(SECRET))
        .with_scopes(scopes.clone())
        .with_grant_types([GrantType::JwtBearer]));
    add(Client::public("agent-public").with_scopes(scopes.clone()).with_grant_types([GrantType::JwtBearer]));
    add(Client::confidential("no-jag", SecretHash::of(SECRET))
        .with_scopes(scopes)
        .with_grant_types([GrantType::ClientCredentials]));
    AssertionHost { base: TestHost { clients: Arc::new(clients), events: Arc::default() }, seen: Arc::default() }
}

fn provider_trusting(host: AssertionHost, idp: &str, min_refresh: Duration) -> Attesto<AssertionHost> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("resource")
        .resource("https://api.example.com")
        .expect("resource")
        .trusted_identity_issuer(
            TrustedIssuer::new(idp).allow_loopback_for_development(true).jwks_min_refresh_interval(min_refresh),
        )
        .build()
        .expect("provider builds")
}

/// An IdP with one ES256 key, and a provider trusting it.
async fn setup() -> (Idp, String, Key, AssertionHost, Router) {
    let key = Key::generate(Algorithm::ES256).expect("key");
    let (idp, issuer) = Idp::start(&[&key]).await;
    let host = assertion_host();
    let router = provider_trusting(host.clone(), &issuer, Duration::from_secs(30)).router();
    (idp, issuer, key, host, router)
}

/// Presents `assertion` as `client` (Basic credentials; `client_id` alone for `agent-public`).
async fn present(router: &Router, client: &str, assertion: &str, extra: &str) -> (StatusCode, http::HeaderMap, Value) {
    let body = format!("grant_type={JWT_BEARER}&assertion={assertion}{extra}");
    if client == "agent-public" {
        return token(router, TOKEN, None, &format!("{body}&client_id=agent-public")).await;
    }
    token(router, TOKEN, Some(&basic(client, SECRET)), &body).await
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

fn assert_invalid_grant(response: &(StatusCode, http::HeaderMap, Value), description: &str) {
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(response.2["error_description"], description, "{}", response.2);
}

// ---------------------------------------------------------------------------------------------
// the grant
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_assertion_of_a_trusted_idp_gets_a_token_for_the_mapped_user_and_its_resource() {
    let (_, issuer, key, host, router) = setup().await;
    let response = present(&router, "agent", &assertion(&key, &issuer, &json!({"auth_time": 1_800_000_000})), "").await;
    let (status, headers, body) = &response;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write", "without `scope`, the assertion's");
    assert!(body.get("refresh_token").is_none(), "no refresh token: {body}");
    assert!(body.get("issued_token_type").is_none(), "{body}");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], RESOURCE, "audience-restricted to the assertion's resource");
    assert_eq!(claims["sub"], "idp:U019488227", "the host's mapping");
    assert_eq!(claims["client_id"], "agent");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["auth_time"], 1_800_000_000, "the user's sign-in at the IdP");
    assert!(claims.get("act").is_none(), "{claims}");
    assert_eq!(*host.seen.lock().expect("lock"), [format!("{issuer} U019488227 agent ann@acme.example")]);
    assert!(host.base.events().contains(&format!("issued agent {JWT_BEARER} read write")), "{:?}", host.base.events());
}

#[tokio::test]
async fn the_scope_asked_narrows_the_assertions_and_may_not_leave_it() {
    let (_, issuer, key, _, router) = setup().await;
    let (status, _, body) = present(&router, "agent", &assertion(&key, &issuer, &json!({})), "&scope=read").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read");
    let response =
        present(&router, "agent", &assertion(&key, &issuer, &json!({"scope": "read"})), "&scope=read+write").await;
    assert_invalid_grant(&response, "a requested scope is not in the assertion's `scope`");
}

#[tokio::test]
async fn a_dpop_proof_binds_the_token() {
    let (_, issuer, key, _, router) = setup().await;
    let dpop = p256();
    let body = format!("grant_type={JWT_BEARER}&assertion={}", assertion(&key, &issuer, &json!({})));
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("agent", SECRET))
        .header("DPoP", dpop.proof("POST", &format!("{ISSUER}{TOKEN}")))
        .body(Body::from(body))
        .expect("request");
    let (status, _, body) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(claims_of(body["access_token"].as_str().expect("token"))["cnf"], json!({"jkt": dpop.jkt}));
}

#[tokio::test]
async fn every_algorithm_of_an_idp_key_verifies() {
    let keys: Vec<Key> = [Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA, Algorithm::ES256]
        .into_iter()
        .map(|alg| Key::generate(alg).expect("key"))
        .collect();
    let (_, issuer) = Idp::start(&keys.iter().collect::<Vec<_>>()).await;
    let router = provider_trusting(assertion_host(), &issuer, Duration::from_secs(30)).router();
    for key in &keys {
        let (status, _, body) = present(&router, "agent", &assertion(key, &issuer, &json!({})), "").await;
        assert_eq!(status, StatusCode::OK, "{:?}: {body}", key.algorithm());
    }
}

#[tokio::test]
async fn a_wrong_typ_an_untrusted_issuer_a_wrong_aud_or_another_client_id_is_refused() {
    let (_, issuer, key, _, router) = setup().await;
    let as_jwt = sign(&key, &json!({"alg": "ES256", "typ": "JWT", "kid": key.kid()}), &claims(&issuer, &json!({})));
    assert_invalid_grant(
        &present(&router, "agent", &as_jwt, "").await,
        "the assertion's `typ` is not oauth-id-jag+jwt",
    );
    // An access token is not an assertion either (RFC 8725 §3.11).
    let as_at = sign(&key, &json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid()}), &claims(&issuer, &json!({})));
    assert_invalid_grant(&present(&router, "agent", &as_at, "").await, "the assertion's `typ` is not oauth-id-jag+jwt");
    let untrusted = assertion(&key, "https://evil.example", &json!({}));
    assert_invalid_grant(&present(&router, "agent", &untrusted, "").await, "the assertion's issuer is not trusted");
    let wrong_aud = assertion(&key, &issuer, &json!({"aud": "https://other-as.example"}));
    assert_invalid_grant(
        &present(&router, "agent", &wrong_aud, "").await,
        "the assertion's `aud` is not this authorization server's issuer",
    );
    let token_endpoint_aud = assertion(&key, &issuer, &json!({"aud": format!("{ISSUER}{TOKEN}")}));
    assert_invalid_grant(
        &present(&router, "agent", &token_endpoint_aud, "").await,
        "the assertion's `aud` is not this authorization server's issuer",
    );
    let other_client = assertion(&key, &issuer, &json!({"client_id": "someone-else"}));
    assert_invalid_grant(
        &present(&router, "agent", &other_client, "").await,
        "the assertion was issued for another client (`client_id`)",
    );
}

#[tokio::test]
async fn expired_future_and_reused_assertions_are_refused() {
    let (_, issuer, key, _, router) = setup().await;
    let now = unix_now();
    let expired = assertion(&key, &issuer, &json!({"exp": now - 60, "iat": now - 400}));
    assert_invalid_grant(&present(&router, "agent", &expired, "").await, "the assertion has expired");
    let future = assertion(&key, &issuer, &json!({"iat": now + 600, "exp": now + 900}));
    assert_invalid_grant(&present(&router, "agent", &future, "").await, "the assertion's `iat` is in the future");
    let long_lived = assertion(&key, &issuer, &json!({"exp": now + 86_400}));
    assert_invalid_grant(
        &present(&router, "agent", &long_lived, "").await,
        "the assertion expires more than an hour from now",
    );
    let without_jti = assertion(&key, &issuer, &json!({"jti": null}));
    assert_invalid_grant(&present(&router, "agent", &without_jti, "").await, "the assertion has no `jti`");
    // Single use: the same assertion again, even by its own client, is refused.
    let once = assertion(&key, &issuer, &json!({}));
    let (status, _, body) = present(&router, "agent", &once, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_invalid_grant(&present(&router, "agent", &once, "").await, "the assertion was already used (`jti`)");
}

#[tokio::test]
async fn a_refused_assertion_is_not_spent() {
    let (_, issuer, key, _, router) = setup().await;
    let assertion = assertion(&key, &issuer, &json!({"scope": "read"}));
    let response = present(&router, "agent", &assertion, "&scope=write").await;
    assert_invalid_grant(&response, "a requested scope is not in the assertion's `scope`");
    let (status, _, body) = present(&router, "agent", &assertion, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_unknown_kid_makes_one_refetch_then_is_refused() {
    let key = Key::generate(Algorithm::ES256).expect("key");
    let (idp, issuer) = Idp::start(&[&key]).await;
    let router = provider_trusting(assertion_host(), &issuer, Duration::from_secs(1)).router();
    let (status, _, _) = present(&router, "agent", &assertion(&key, &issuer, &json!({})), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(idp.fetches(), 1, "the JWKS is fetched on the first assertion");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stranger = Key::generate(Algorithm::ES256).expect("key");
    let unknown_kid = "the assertion is signed with a key its issuer does not publish (`kid`)";
    assert_invalid_grant(&present(&router, "agent", &assertion(&stranger, &issuer, &json!({})), "").await, unknown_kid);
    assert_eq!(idp.fetches(), 2, "an unknown `kid` fetches the JWKS again before refusing");
    assert_invalid_grant(&present(&router, "agent", &assertion(&stranger, &issuer, &json!({})), "").await, unknown_kid);
    assert_eq!(idp.fetches(), 2, "within the minimum interval, an unknown `kid` costs no fetch");
}

#[tokio::test]
async fn a_key_the_idp_rotated_in_is_fetched_on_its_first_assertion() {
    let key = Key::generate(Algorithm::ES256).expect("key");
    let (idp, issuer) = Idp::start(&[&key]).await;
    let router = provider_trusting(assertion_host(), &issuer, Duration::from_secs(1)).router();
    let (status, _, _) = present(&router, "agent", &assertion(&key, &issuer, &json!({})), "").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let rotated = Key::generate(Algorithm::EdDSA).expect("key");
    idp.publish(&[&key, &rotated]);
    let (status, _, body) = present(&router, "agent", &assertion(&rotated, &issuer, &json!({})), "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(idp.fetches(), 2);
}

#[tokio::test]
async fn alg_none_hmac_with_the_public_key_and_a_bad_signature_are_refused() {
    let (_, issuer, key, _, router) = setup().await;
    let good_claims = claims(&issuer, &json!({}));
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let none = format!(
        "{}.{}.",
        encode(&json!({"alg": "none", "typ": "oauth-id-jag+jwt", "kid": key.kid()})),
        encode(&good_claims)
    );
    let algorithms = "the assertion's `alg` is not one of ES256, PS256, RS256 and EdDSA";
    assert_invalid_grant(&present(&router, "agent", &none, "").await, algorithms);
    // HS256 keyed with the IdP's public JWK, which anyone can read (RFC 8725 §2.1).
    let header = json!({"alg": "HS256", "typ": "oauth-id-jag+jwt", "kid": key.kid()});
    let input = format!("{}.{}", encode(&header), encode(&good_claims));
    let secret = jsonwebtoken::EncodingKey::from_secret(Value::Object(key.public_jwk()).to_string().as_bytes());
    let signature =
        jsonwebtoken::crypto::sign(input.as_bytes(), &secret, jsonwebtoken::Algorithm::HS256).expect("HMAC");
    assert_invalid_grant(&present(&router, "agent", &format!("{input}.{signature}"), "").await, algorithms);
    // A header naming another algorithm than the key's.
    let header = json!({"alg": "RS256", "typ": "oauth-id-jag+jwt", "kid": key.kid()});
    assert_invalid_grant(
        &present(&router, "agent", &sign(&key, &header, &good_claims), "").await,
        "the assertion's `alg` is not the algorithm of its issuer's key",
    );
    // Claims changed after signing.
    let good = assertion(&key, &issuer, &json!({}));
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], encode(&claims(&issuer, &json!({"sub": "admin"}))), parts[2]);
    assert_invalid_grant(&present(&router, "agent", &tampered, "").await, "the assertion's signature does not verify");
    assert_invalid_grant(&present(&router, "agent", "garbage", "").await, "the assertion is not a signed JWT");
}

#[tokio::test]
async fn an_unknown_resource_or_another_resource_parameter_is_refused() {
    let (_, issuer, key, _, router) = setup().await;
    let unknown = assertion(&key, &issuer, &json!({"resource": "https://unknown.example/mcp"}));
    assert_invalid_grant(
        &present(&router, "agent", &unknown, "").await,
        "the assertion's `resource` is not a resource of this server",
    );
    let response =
        present(&router, "agent", &assertion(&key, &issuer, &json!({})), "&resource=https://api.example.com").await;
    assert_invalid_grant(&response, "the `resource` parameter is not the assertion's `resource`");
    let twice = format!("&resource={RESOURCE}&resource={RESOURCE}");
    let response = present(&router, "agent", &assertion(&key, &issuer, &json!({})), &twice).await;
    assert_invalid_grant(&response, "the token is for one `resource`, the assertion's");
}

#[tokio::test]
async fn the_host_may_refuse_the_subject() {
    let (_, issuer, key, _, router) = setup().await;
    let blocked = assertion(&key, &issuer, &json!({"sub": "U-blocked"}));
    assert_invalid_grant(
        &present(&router, "agent", &blocked, "").await,
        "the assertion's subject is not a user of this server",
    );
}

#[tokio::test]
async fn public_clients_and_clients_without_the_grant_are_refused() {
    let (_, issuer, key, host, router) = setup().await;
    let for_public = assertion(&key, &issuer, &json!({"client_id": "agent-public"}));
    let response = present(&router, "agent-public", &for_public, "").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    assert_eq!(
        response.2["error_description"],
        "identity assertions are for confidential clients: authenticate with the client's secret"
    );
    let for_no_jag = assertion(&key, &issuer, &json!({"client_id": "no-jag"}));
    let response = present(&router, "no-jag", &for_no_jag, "").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "unauthorized_client");
    assert_eq!(response.2["error_description"], "the client may not use the jwt-bearer grant");
    let response = token(&router, TOKEN, Some(&basic("agent", SECRET)), &format!("grant_type={JWT_BEARER}")).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(response.2["error_description"], "missing `assertion`");
    assert!(host.seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn discovery_lists_the_grant_only_with_a_trusted_issuer() {
    let (_, _, _, _, router) = setup().await;
    let request = || Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request");
    let (_, _, metadata) = send_json(&router, request()).await;
    assert_eq!(
        metadata["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials", JWT_BEARER])
    );
    let plain = provider(assertion_host()).router();
    let (_, _, metadata) = send_json(&plain, request()).await;
    assert_eq!(metadata["grant_types_supported"], json!(["authorization_code", "refresh_token", "client_credentials"]));
    let response =
        token(&plain, TOKEN, Some(&basic("agent", SECRET)), &format!("grant_type={JWT_BEARER}&assertion=x")).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "unsupported_grant_type");
}

#[tokio::test]
async fn the_builder_refuses_unusable_trusted_issuers() {
    let build = |host: TestHost, trusted: TrustedIssuer| {
        Attesto::builder(host)
            .issuer(ISSUER)
            .expect("issuer")
            .signing_key(Key::generate(Algorithm::ES256).expect("key"))
            .trusted_identity_issuer(trusted)
            .build()
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        build(TestHost::new(), TrustedIssuer::new("https://idp.example")),
        "invalid trusted identity issuer `https://idp.example`: the host does not implement `IdentityAssertionPolicy`, which maps an assertion's subject to a user"
    );
    let build = |trusted: TrustedIssuer| {
        Attesto::builder(assertion_host())
            .issuer(ISSUER)
            .expect("issuer")
            .signing_key(Key::generate(Algorithm::ES256).expect("key"))
            .trusted_identity_issuer(trusted)
            .build()
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        build(TrustedIssuer::new("http://127.0.0.1:9")),
        "invalid trusted identity issuer `http://127.0.0.1:9`: must use https (http on a loopback host needs `allow_loopback_for_development`)"
    );
    assert_eq!(
        build(TrustedIssuer::new(ISSUER)),
        format!("invalid trusted identity issuer `{ISSUER}`: is this provider's own issuer")
    );
    assert_eq!(
        build(TrustedIssuer::new("http://idp.example")),
        "invalid trusted identity issuer `http://idp.example`: invalid issuer `http://idp.example`: must use https (http is accepted only on a loopback host)"
    );
}

/// Two instances sharing one PostgreSQL store: an assertion used at one is refused at the other,
/// the single use of its `jti` being kept in the store.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn an_assertion_used_at_one_instance_is_refused_at_another_sharing_the_store() {
    let Some(schema) = crate::databases::postgres_schema().await else {
        return;
    };
    let first_store = attesto::PostgresStore::from_pool(schema.pool.clone());
    first_store.migrate().await.expect("migrate");
    let second_store = attesto::PostgresStore::from_pool(schema.another_pool().await);
    let key = Key::generate(Algorithm::ES256).expect("key");
    let (_, issuer) = Idp::start(&[&key]).await;
    let instance = |store: attesto::PostgresStore| {
        Attesto::builder(assertion_host())
            .issuer(ISSUER)
            .expect("issuer")
            .signing_key(Key::generate(Algorithm::ES256).expect("key"))
            .resource(RESOURCE)
            .expect("resource")
            .store(store)
            .trusted_identity_issuer(TrustedIssuer::new(&issuer).allow_loopback_for_development(true))
            .build()
            .expect("provider builds")
            .router()
    };
    let (first, second) = (instance(first_store), instance(second_store));
    let assertion = assertion(&key, &issuer, &json!({}));
    let (status, _, body) = present(&first, "agent", &assertion, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_invalid_grant(&present(&second, "agent", &assertion, "").await, "the assertion was already used (`jti`)");
}

/// The quickstart's setup with `--trusted-issuer`, over real HTTP: the demo client presents an
/// assertion for the demo user (by `email`), and one for anyone else is refused.
#[tokio::test]
async fn the_quickstart_accepts_assertions_of_its_trusted_issuer_for_the_demo_user() {
    use crate::quickstart_like::{self, CONFIDENTIAL_ID, CONFIDENTIAL_SECRET, EMAIL, USER};
    let key = Key::generate(Algorithm::ES256).expect("key");
    let (_, idp) = Idp::start(&[&key]).await;
    let served = quickstart_like::serve_trusting(None, &[idp.as_str()]).await;
    let resource = served.url("/mcp");
    let present = |email: &'static str| {
        let changes = json!({"aud": served.base, "client_id": CONFIDENTIAL_ID, "resource": resource, "scope": "read", "email": email});
        let assertion = assertion(&key, &idp, &changes);
        let url = served.url(TOKEN);
        async move {
            let response = reqwest012::Client::new()
                .post(url)
                .basic_auth(CONFIDENTIAL_ID, Some(CONFIDENTIAL_SECRET))
                .form(&[("grant_type", JWT_BEARER), ("assertion", assertion.as_str())])
                .send()
                .await
                .expect("the provider answers");
            let status = response.status().as_u16();
            let body: Value = serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
            (status, body)
        }
    };
    let (status, body) = present(EMAIL).await;
    assert_eq!(status, 200, "{body}");
    let claims = claims_of(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["aud"], resource);
    assert_eq!(claims["client_id"], CONFIDENTIAL_ID);
    assert_eq!(claims["scope"], "read");
    let (status, body) = present("stranger@example.com").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "the assertion's subject is not a user of this server");
}

/// An identity provider whose keys cannot be fetched makes the grant unavailable, not the
/// assertion invalid: `503 temporarily_unavailable`, and the assertion is not spent.
#[tokio::test]
async fn an_unreachable_identity_provider_is_temporarily_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let address = listener.local_addr().expect("address");
    let issuer = format!("http://{address}");
    drop(listener);
    let router = provider_trusting(assertion_host(), &issuer, Duration::from_secs(1)).router();
    let key = Key::generate(Algorithm::ES256).expect("key");
    let assertion = assertion(&key, &issuer, &json!({}));
    let response = present(&router, "agent", &assertion, "").await;
    assert_error(&response, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    // The identity provider comes back: the same assertion works.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let listener = tokio::net::TcpListener::bind(address).await.expect("bind the same port again");
    let _idp = Idp::start_on(listener, &[&key]);
    let (status, _, body) = present(&router, "agent", &assertion, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
