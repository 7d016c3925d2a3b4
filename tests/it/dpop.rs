//! DPoP (RFC 9449) through the real router: bound tokens from the token endpoint, their use at
//! userinfo and introspection, `jti` replay, server nonces, bound refresh tokens, `dpop_jkt` at the
//! authorization and PAR endpoints, clients that must use DPoP, and the `htu` of an overridden
//! token path.
//!
//! Proofs are signed with jsonwebtoken (`common::dpop_key`) from the PEM fixtures in
//! `attesto-runtime/tests/fixtures/keys/`, whose thumbprints were computed by openssl, so the
//! expected `cnf.jkt` values do not come from the code under test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::dpop_key::{DpopKey, ath, claims, ed25519, p256, with};
use crate::common::*;
use attesto::dpop::ProofError;
use attesto::{
    Attesto, Client, ClientId, ClientRegistration, ClientStore, ConfigError, HostError, Key, LoginOutcome,
    LoginRequest, PrincipalStore, RegistrationStore, Scopes, SecretHash,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Value, json};

const TOKEN: &str = "/oauth/token";
const USERINFO: &str = "/oauth/userinfo";
const PAR: &str = "/oauth/par";
const INTROSPECT: &str = "/oauth/introspect";
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
const USERINFO_URL: &str = "https://auth.example.com/oauth/userinfo";
const PAR_URL: &str = "https://auth.example.com/oauth/par";
/// The scope of the user flows: OpenID (for userinfo) and a refresh token.
const SCOPE: &str = "openid offline_access read";
/// The `algs` of every `DPoP` challenge (RFC 9449 §7.1).
const ALGS: &str = "ES256 ES384 EdDSA RS256 PS256";

type JsonReply = (StatusCode, HeaderMap, Value);
type Reply = (StatusCode, HeaderMap, Vec<u8>);

// ---------------------------------------------------------------------------------------------
// DPoP proofs for this provider's endpoints
// ---------------------------------------------------------------------------------------------

impl DpopKey {
    /// A fresh proof for the token endpoint.
    fn token_proof(&self) -> String {
        self.proof("POST", TOKEN_URL)
    }

    /// A fresh proof for the token endpoint with a server nonce.
    fn token_proof_with_nonce(&self, nonce: &str) -> String {
        self.sign(&with(claims("POST", TOKEN_URL), "nonce", nonce))
    }

    /// A fresh proof for userinfo with the access token's hash.
    fn userinfo_proof(&self, method: &Method, access_token: &str) -> String {
        self.proof_with_token(method.as_str(), USERINFO_URL, access_token)
    }
}

// ---------------------------------------------------------------------------------------------
// requests
// ---------------------------------------------------------------------------------------------

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// `POST path` with a form body, optional `Authorization`, and one `DPoP` header per proof.
async fn post(router: &Router, path: &str, authorization: Option<&str>, proofs: &[&str], body: &str) -> JsonReply {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    send_json(router, request.body(Body::from(body.to_owned())).expect("request")).await
}

/// `client_credentials` for the `service` client.
async fn service_token(router: &Router, proofs: &[&str]) -> JsonReply {
    post(router, TOKEN, Some(&basic("service", SECRET)), proofs, "grant_type=client_credentials&scope=read").await
}

/// `GET` or `POST {userinfo}` with an optional `Authorization` and one `DPoP` header per proof.
async fn userinfo(router: &Router, method: &Method, authorization: Option<&str>, proofs: &[&str]) -> Reply {
    let mut request = Request::builder().method(method.clone()).uri(USERINFO);
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    for proof in proofs {
        request = request.header("DPoP", *proof);
    }
    send(router, request.body(Body::empty()).expect("request")).await
}

/// Userinfo with `DPoP <token>` and a proof of `key` for it.
async fn userinfo_with(router: &Router, method: &Method, key: &DpopKey, access_token: &str) -> Reply {
    let proof = key.userinfo_proof(method, access_token);
    userinfo(router, method, Some(&format!("DPoP {access_token}")), &[&proof]).await
}

/// The authorization code of the public `native` client for `alice`, with `extra` parameters.
async fn native_code(router: &Router, challenge: &str, extra: &[(&str, &str)]) -> String {
    authorize_code(router, "native", NATIVE_REDIRECT, challenge, SCOPE, "alice", extra).await
}

/// Redeems a code of `native` (a public client: `client_id` in the body) with these proofs.
async fn redeem_native(router: &Router, code: &str, verifier: &str, proofs: &[&str]) -> JsonReply {
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("code_verifier", verifier),
        ("client_id", "native"),
        ("redirect_uri", NATIVE_REDIRECT),
    ]);
    post(router, TOKEN, None, proofs, &body).await
}

/// Refreshes a token of `native` with these proofs.
async fn refresh_native(router: &Router, refresh_token: &str, proofs: &[&str]) -> JsonReply {
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", "native")]);
    post(router, TOKEN, None, proofs, &body).await
}

/// `native` signs `alice` in and redeems the code with a proof of `key`, when given.
async fn native_tokens(router: &Router, key: Option<&DpopKey>) -> Value {
    let (verifier, challenge) = pkce();
    let code = native_code(router, &challenge, &[]).await;
    let proof = key.map(DpopKey::token_proof);
    let proofs: Vec<&str> = proof.iter().map(String::as_str).collect();
    let (status, _, body) = redeem_native(router, &code, &verifier, &proofs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// `first-party` (confidential) signs `alice` in and redeems the code with these proofs.
async fn first_party_tokens(router: &Router, proofs: &[&str]) -> JsonReply {
    let (verifier, challenge) = pkce();
    let code = authorize_code(router, "first-party", WEB_REDIRECT, &challenge, SCOPE, "alice", &[]).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", WEB_REDIRECT),
    ]);
    post(router, TOKEN, Some(&basic("first-party", SECRET)), proofs, &body).await
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// The claims of a JWT, unverified (the token tests verify signatures).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| panic!("JSON body expected: {}", String::from_utf8_lossy(body)))
}

/// Asserts a token response bound to `key`: `token_type: DPoP`, `cnf.jkt` its thumbprint.
fn assert_bound(reply: &JsonReply, key: &DpopKey) {
    let (status, _, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP", "RFC 9449 §5: {body}");
    let claims = claims_of(str_of(body, "access_token"));
    assert_eq!(claims["cnf"], json!({ "jkt": key.jkt }), "RFC 9449 §6.1: {claims}");
}

/// Asserts a token response of a bearer token: `token_type: Bearer`, no `cnf`.
fn assert_unbound(reply: &JsonReply) {
    let (status, _, body) = reply;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let claims = claims_of(str_of(body, "access_token"));
    assert!(claims.get("cnf").is_none(), "{claims}");
}

/// Asserts a JSON error of the token or PAR endpoint: 400, the code and the exact description.
fn assert_token_error(reply: &JsonReply, error: &str, description: &str) {
    assert_error(reply, StatusCode::BAD_REQUEST, error);
    assert_eq!(reply.2["error_description"], description, "{}", reply.2);
}

/// Asserts a userinfo refusal with the `DPoP` challenge of RFC 9449 §7.1: 401, the challenge
/// with the error, description and algorithms, and the same error in the JSON body.
fn assert_dpop_challenge(reply: &Reply, error: &str, description: &str) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{}", String::from_utf8_lossy(body));
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        format!("DPoP error=\"{error}\", error_description=\"{description}\", algs=\"{ALGS}\"").as_str()
    );
    let body = json_of(body);
    assert_eq!(body["error"], error);
    assert_eq!(body["error_description"], description);
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// The `DPoP-Nonce` of a response (RFC 9449 §8.1).
fn nonce_of(headers: &HeaderMap) -> String {
    let nonce = headers.get("dpop-nonce").unwrap_or_else(|| panic!("a DPoP-Nonce header in {headers:?}"));
    let nonce = nonce.to_str().expect("ASCII nonce").to_owned();
    assert_eq!(nonce.len(), 32, "base64url of a window and a 128-bit tag: {nonce}");
    assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{nonce}");
    nonce
}

/// A provider over `host` built by `configure` from the test settings.
fn custom_provider<P: attesto::Provider>(
    host: P,
    configure: impl FnOnce(attesto::Builder<P>) -> attesto::Builder<P>,
) -> Result<Attesto<P>, ConfigError> {
    let builder =
        Attesto::builder(host).issuer(ISSUER)?.signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"));
    configure(builder).build()
}

/// The router of a provider that requires DPoP nonces made with `secret`.
fn nonce_router(secret: [u8; 32]) -> Router {
    custom_provider(TestHost::new(), |b| b.require_dpop_nonce(true).dpop_nonce_secret(secret))
        .expect("provider builds")
        .router()
}

// ---------------------------------------------------------------------------------------------
// bound tokens, end to end
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_gets_a_dpop_bound_token_and_calls_userinfo_with_it() {
    let router = test_provider().router();
    let key = p256();
    let (verifier, challenge) = pkce();
    let code = native_code(&router, &challenge, &[]).await;
    let reply = redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await;
    assert_bound(&reply, &key);
    let (_, headers, body) = &reply;
    assert!(headers.get("dpop-nonce").is_none(), "no nonce unless the provider requires them");
    assert!(body["refresh_token"].is_string() && body["id_token"].is_string(), "{body}");
    let access_token = str_of(body, "access_token");
    for method in [Method::GET, Method::POST] {
        let (status, headers, body) = userinfo_with(&router, &method, &key, access_token).await;
        assert_eq!(status, StatusCode::OK, "{method}: {}", String::from_utf8_lossy(&body));
        assert_eq!(json_of(&body)["sub"], "alice");
        assert!(headers.get("dpop-nonce").is_none());
    }
}

#[tokio::test]
async fn a_confidential_client_gets_bound_access_tokens_and_an_unbound_refresh_token() {
    let router = test_provider().router();
    let (key, other) = (p256(), ed25519());
    let reply = first_party_tokens(&router, &[&key.token_proof()]).await;
    assert_bound(&reply, &key);
    let refresh_token = str_of(&reply.2, "refresh_token").to_owned();
    // RFC 9449 §5: a confidential client's refresh token is bound to its credentials, not to the
    // key: it refreshes without a proof (and gets a bearer token), or with a new key.
    let refresh = |token: String, proofs: Vec<String>| {
        let router = router.clone();
        async move {
            let body = form(&[("grant_type", "refresh_token"), ("refresh_token", &token)]);
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            post(&router, TOKEN, Some(&basic("first-party", SECRET)), &proofs, &body).await
        }
    };
    let reply = refresh(refresh_token, Vec::new()).await;
    assert_unbound(&reply);
    let reply = refresh(str_of(&reply.2, "refresh_token").to_owned(), vec![other.token_proof()]).await;
    assert_bound(&reply, &other);
    // client_credentials too.
    assert_bound(&service_token(&router, &[&key.token_proof()]).await, &key);
    assert_unbound(&service_token(&router, &[]).await);
}

#[tokio::test]
async fn a_public_clients_refresh_token_is_bound_to_the_proof_key() {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    let (key, other) = (p256(), ed25519());
    let body = native_tokens(&router, Some(&key)).await;
    let refresh_token = str_of(&body, "refresh_token").to_owned();

    // Without a proof, and with another key: refused, and the token is not rotated.
    let reply = refresh_native(&router, &refresh_token, &[]).await;
    assert_token_error(
        &reply,
        "invalid_dpop_proof",
        "the refresh token is bound to a DPoP key: a DPoP proof with that key is required",
    );
    let reply = refresh_native(&router, &refresh_token, &[&other.token_proof()]).await;
    assert_token_error(&reply, "invalid_dpop_proof", "the DPoP proof key is not the one the refresh token is bound to");

    // With the key it works: the token was still current (a rotated-out one would be reuse).
    let reply = refresh_native(&router, &refresh_token, &[&key.token_proof()]).await;
    assert_bound(&reply, &key);
    let next = str_of(&reply.2, "refresh_token").to_owned();
    assert_ne!(next, refresh_token);
    // The family keeps its binding.
    let reply = refresh_native(&router, &next, &[&other.token_proof()]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    assert_bound(&refresh_native(&router, &next, &[&key.token_proof()]).await, &key);
    let events = host.events();
    assert!(!events.iter().any(|e| e.starts_with("refresh_reuse_detected")), "{events:?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("refresh_rotated native")).count(), 2, "{events:?}");
    assert_eq!(events.iter().filter(|e| *e == "denied native invalid_dpop_proof").count(), 3, "{events:?}");
}

#[tokio::test]
async fn a_public_client_without_a_proof_gets_an_unbound_refresh_token() {
    let router = test_provider().router();
    let key = p256();
    let body = native_tokens(&router, None).await;
    assert_eq!(body["token_type"], "Bearer");
    // A proof at refresh binds the new access token; the refresh token stays what it was.
    let reply = refresh_native(&router, str_of(&body, "refresh_token"), &[&key.token_proof()]).await;
    assert_bound(&reply, &key);
    assert_unbound(&refresh_native(&router, str_of(&reply.2, "refresh_token"), &[]).await);
}

// ---------------------------------------------------------------------------------------------
// userinfo
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_dpop_bound_token_presented_as_bearer_is_refused() {
    let router = test_provider().router();
    let key = p256();
    let body = native_tokens(&router, Some(&key)).await;
    let access_token = str_of(&body, "access_token");
    let description = "the access token is DPoP-bound: present it with the DPoP scheme and a DPoP proof";
    // RFC 9449 §7.2: refused, with or without a proof next to it; the challenge names DPoP.
    let proof = key.userinfo_proof(&Method::GET, access_token);
    for proofs in [vec![], vec![proof.as_str()]] {
        let reply = userinfo(&router, &Method::GET, Some(&format!("Bearer {access_token}")), &proofs).await;
        assert_dpop_challenge(&reply, "invalid_token", description);
    }
}

#[tokio::test]
async fn an_unbound_token_presented_with_the_dpop_scheme_is_refused() {
    let router = test_provider().router();
    let key = p256();
    let body = native_tokens(&router, None).await;
    let access_token = str_of(&body, "access_token");
    let (status, headers, body) = userinfo_with(&router, &Method::GET, &key, access_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The challenge names the scheme the token must be presented with.
    let description = "the access token is not DPoP-bound: present it with the Bearer scheme";
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        format!("Bearer error=\"invalid_token\", error_description=\"{description}\"").as_str()
    );
    assert_eq!(json_of(&body)["error"], "invalid_token");
    // As a bearer token it works.
    let (status, _, _) = userinfo(&router, &Method::GET, Some(&format!("Bearer {access_token}")), &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn userinfo_refuses_a_proof_that_does_not_fit_the_request() {
    let router = test_provider().router();
    let (key, other) = (p256(), ed25519());
    let body = native_tokens(&router, Some(&key)).await;
    let access_token = str_of(&body, "access_token");
    let authorization = format!("DPoP {access_token}");
    let get = |proofs: Vec<String>| {
        let router = router.clone();
        let authorization = authorization.clone();
        async move {
            let proofs: Vec<&str> = proofs.iter().map(String::as_str).collect();
            userinfo(&router, &Method::GET, Some(&authorization), &proofs).await
        }
    };
    let userinfo_claims = || with(claims("GET", USERINFO_URL), "ath", ath(access_token));
    let cases = [
        ("ath of another token", key.sign(&with(userinfo_claims(), "ath", ath("another token"))), ProofError::WrongAth),
        ("no ath", key.sign(&claims("GET", USERINFO_URL)), ProofError::MissingAth),
        ("POST proof on GET", key.userinfo_proof(&Method::POST, access_token), ProofError::WrongMethod),
        ("proof for the token endpoint", key.sign(&with(userinfo_claims(), "htu", TOKEN_URL)), ProofError::WrongUri),
        ("not a JWS", "not-a-jws".to_owned(), ProofError::NotThreeParts),
    ];
    for (case, proof, error) in cases {
        let reply = get(vec![proof]).await;
        assert_dpop_challenge(&reply, "invalid_dpop_proof", error.description());
        assert!(reply.1.get("dpop-nonce").is_none(), "{case}");
    }
    // RFC 9449 §4.3 check 12: the proof's key is the token's.
    let reply = get(vec![other.userinfo_proof(&Method::GET, access_token)]).await;
    assert_dpop_challenge(
        &reply,
        "invalid_dpop_proof",
        "the DPoP proof key is not the one the access token is bound to",
    );
    // The DPoP scheme without a proof, and with two.
    let reply = get(Vec::new()).await;
    assert_dpop_challenge(&reply, "invalid_dpop_proof", "the DPoP scheme needs a DPoP proof");
    let two = vec![key.userinfo_proof(&Method::GET, access_token), key.userinfo_proof(&Method::GET, access_token)];
    assert_dpop_challenge(&get(two).await, "invalid_dpop_proof", "the request has more than one DPoP header");
    // After all that, a proper proof still works.
    let (status, _, _) = get(vec![key.userinfo_proof(&Method::GET, access_token)]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn other_token_refusals_answer_in_the_dpop_scheme() {
    let router = test_provider().router();
    let key = p256();
    let (status, headers, _) = userinfo_with(&router, &Method::GET, &key, "not.a-token.at-all").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let description = "the access token is invalid, expired or revoked";
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        format!("DPoP error=\"invalid_token\", error_description=\"{description}\", algs=\"{ALGS}\"").as_str()
    );
    // A bound token without `openid`: 403 with a DPoP challenge.
    let reply = service_token(&router, &[&key.token_proof()]).await;
    assert_bound(&reply, &key);
    let (status, headers, body) = userinfo_with(&router, &Method::GET, &key, str_of(&reply.2, "access_token")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        format!(
            "DPoP error=\"insufficient_scope\", error_description=\"the access token lacks the `openid` scope\", algs=\"{ALGS}\""
        )
        .as_str()
    );
}

#[tokio::test]
async fn the_bare_userinfo_challenge_offers_dpop() {
    let router = test_provider().router();
    let (status, headers, body) = userinfo(&router, &Method::GET, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.is_empty());
    let challenges: Vec<&str> =
        headers.get_all(header::WWW_AUTHENTICATE).iter().map(|v| v.to_str().expect("ASCII")).collect();
    assert_eq!(challenges, ["Bearer".to_owned(), format!("DPoP algs=\"{ALGS}\"")]);
}

// ---------------------------------------------------------------------------------------------
// replay, headers, refusals at the token endpoint
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_proof_is_accepted_once() {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    let key = p256();
    let proof = key.token_proof();
    assert_bound(&service_token(&router, &[&proof]).await, &key);
    let replay = service_token(&router, &[&proof]).await;
    assert_token_error(&replay, "invalid_dpop_proof", "the DPoP proof was already used: its `jti` was seen before");
    // An event to alert on, then the refusal.
    let events = host.events();
    assert_eq!(
        events[events.len() - 2..],
        [format!("dpop_proof_replayed POST {TOKEN_URL} {}", key.jkt), "denied service invalid_dpop_proof".to_owned()]
    );
    // The jti is remembered per key: the same jti from another key is another proof.
    let jti_of = |proof: &str| claims_of(proof)["jti"].clone();
    let same_jti = ed25519().sign(&with(claims("POST", TOKEN_URL), "jti", jti_of(&proof)));
    assert_eq!(service_token(&router, &[&same_jti]).await.0, StatusCode::OK);

    // At userinfo as well.
    let body = native_tokens(&router, Some(&key)).await;
    let access_token = str_of(&body, "access_token");
    let proof = key.userinfo_proof(&Method::GET, access_token);
    let authorization = format!("DPoP {access_token}");
    let (status, _, _) = userinfo(&router, &Method::GET, Some(&authorization), &[&proof]).await;
    assert_eq!(status, StatusCode::OK);
    let replay = userinfo(&router, &Method::GET, Some(&authorization), &[&proof]).await;
    assert_dpop_challenge(&replay, "invalid_dpop_proof", "the DPoP proof was already used: its `jti` was seen before");
    assert_eq!(host.events().last(), Some(&format!("dpop_proof_replayed GET {USERINFO_URL} {}", key.jkt)));
}

#[tokio::test]
async fn two_dpop_headers_are_refused() {
    let router = test_provider().router();
    let key = p256();
    let reply = service_token(&router, &[&key.token_proof(), &key.token_proof()]).await;
    assert_token_error(&reply, "invalid_dpop_proof", "the request has more than one DPoP header");
}

#[tokio::test]
async fn a_refused_proof_spends_nothing() {
    let router = test_provider().router();
    let key = p256();
    let (verifier, challenge) = pkce();
    let code = native_code(&router, &challenge, &[]).await;
    // The proof is checked before the grant: a refused one leaves the code unspent.
    let cases = [
        ("not-a-jws".to_owned(), ProofError::NotThreeParts),
        (key.proof("GET", TOKEN_URL), ProofError::WrongMethod),
        (key.proof("POST", USERINFO_URL), ProofError::WrongUri),
        (key.sign(&with(claims("POST", TOKEN_URL), "iat", unix_now() - 600)), ProofError::IatTooOld),
        (key.sign(&with(claims("POST", TOKEN_URL), "nonce", "n".repeat(300))), ProofError::MalformedNonce),
    ];
    for (proof, error) in cases {
        let reply = redeem_native(&router, &code, &verifier, &[&proof]).await;
        assert_token_error(&reply, "invalid_dpop_proof", error.description());
    }
    assert_bound(&redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await, &key);
}

#[tokio::test]
async fn a_dpop_header_that_is_not_text_is_refused() {
    let router = test_provider().router();
    let request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("service", SECRET))
        .header("DPoP", HeaderValue::from_bytes(b"\xff\xfe.\xff.\xff").expect("obs-text is a valid header value"))
        .body(Body::from("grant_type=client_credentials"))
        .expect("request");
    let reply = send_json(&router, request).await;
    assert_token_error(&reply, "invalid_dpop_proof", ProofError::NotCanonicalBase64.description());
}

#[tokio::test]
async fn the_iat_window_is_configurable() {
    let key = p256();
    let old = || key.sign(&with(claims("POST", TOKEN_URL), "iat", unix_now() - 120));
    let ahead = || key.sign(&with(claims("POST", TOKEN_URL), "iat", unix_now() + 30));
    let default = test_provider().router();
    assert_token_error(
        &service_token(&default, &[&old()]).await,
        "invalid_dpop_proof",
        ProofError::IatTooOld.description(),
    );
    assert_eq!(service_token(&default, &[&ahead()]).await.0, StatusCode::OK, "within the default skew");

    let configured = custom_provider(TestHost::new(), |b| {
        b.dpop_proof_max_age(Duration::from_secs(300)).dpop_proof_max_skew(Duration::ZERO)
    })
    .expect("provider builds")
    .router();
    assert_bound(&service_token(&configured, &[&old()]).await, &key);
    let reply = service_token(&configured, &[&ahead()]).await;
    assert_token_error(&reply, "invalid_dpop_proof", ProofError::IatInFuture.description());
}

#[test]
fn the_iat_window_is_bounded() {
    let build = |max_age: Duration, max_skew: Duration| {
        custom_provider(TestHost::new(), |b| b.dpop_proof_max_age(max_age).dpop_proof_max_skew(max_skew)).map(|_| ())
    };
    let minute = Duration::from_secs(60);
    let age = ConfigError::Lifetime { what: "dpop_proof_max_age", reason: "must be between 1 second and 10 minutes" };
    let skew = ConfigError::Lifetime { what: "dpop_proof_max_skew", reason: "must be at most 10 minutes" };
    assert_eq!(build(Duration::ZERO, minute), Err(age.clone()));
    assert_eq!(build(Duration::from_secs(601), minute), Err(age));
    assert_eq!(build(minute, Duration::from_secs(601)), Err(skew));
    assert_eq!(build(Duration::from_secs(1), Duration::ZERO), Ok(()));
    assert_eq!(build(Duration::from_secs(600), Duration::from_secs(600)), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// nonces
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_provider_that_requires_nonces_challenges_then_accepts_the_retry() {
    let router = nonce_router([1; 32]);
    let key = p256();
    // RFC 9449 §8: a proof without a nonce is refused with a fresh one.
    let reply = service_token(&router, &[&key.token_proof()]).await;
    assert_token_error(&reply, "use_dpop_nonce", "the DPoP proof has no `nonce`: use the one in the DPoP-Nonce header");
    let nonce = nonce_of(&reply.1);
    let reply = service_token(&router, &[&key.token_proof_with_nonce(&nonce)]).await;
    assert_bound(&reply, &key);
    // A successful response carries the next nonce.
    nonce_of(&reply.1);
    // An invalid proof gets one too, and a request without DPoP gets none.
    let reply = service_token(&router, &[&key.proof("GET", TOKEN_URL)]).await;
    assert_token_error(&reply, "invalid_dpop_proof", ProofError::WrongMethod.description());
    nonce_of(&reply.1);
    let reply = service_token(&router, &[]).await;
    assert_unbound(&reply);
    assert!(reply.1.get("dpop-nonce").is_none());

    // A nonce that is not this server's.
    for stale in ["not-a-nonce", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        let reply = service_token(&router, &[&key.token_proof_with_nonce(stale)]).await;
        assert_token_error(
            &reply,
            "use_dpop_nonce",
            "the DPoP proof `nonce` is stale or was not issued by this server: use the one in the DPoP-Nonce header",
        );
        // A fresh one to retry with (not compared: a window may turn between two requests).
        nonce_of(&reply.1);
    }
}

#[tokio::test]
async fn userinfo_challenges_for_a_nonce_with_401() {
    let router = nonce_router([1; 32]);
    let key = p256();
    let (verifier, challenge) = pkce();
    let code = native_code(&router, &challenge, &[]).await;
    let reply = redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let nonce = nonce_of(&reply.1);
    let reply = redeem_native(&router, &code, &verifier, &[&key.token_proof_with_nonce(&nonce)]).await;
    assert_bound(&reply, &key);
    let access_token = str_of(&reply.2, "access_token");

    // RFC 9449 §9: 401 with a `use_dpop_nonce` challenge and the nonce.
    let reply = userinfo_with(&router, &Method::GET, &key, access_token).await;
    assert_dpop_challenge(
        &reply,
        "use_dpop_nonce",
        "the DPoP proof has no `nonce`: use the one in the DPoP-Nonce header",
    );
    let nonce = nonce_of(&reply.1);
    let proof_with =
        |nonce: &str| key.sign(&with(with(claims("GET", USERINFO_URL), "ath", ath(access_token)), "nonce", nonce));
    let authorization = format!("DPoP {access_token}");
    let reply = userinfo(&router, &Method::GET, Some(&authorization), &[&proof_with("not-this-servers-nonce")]).await;
    assert_dpop_challenge(
        &reply,
        "use_dpop_nonce",
        "the DPoP proof `nonce` is stale or was not issued by this server: use the one in the DPoP-Nonce header",
    );
    nonce_of(&reply.1);
    let (status, headers, body) = userinfo(&router, &Method::GET, Some(&authorization), &[&proof_with(&nonce)]).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    nonce_of(&headers);
}

#[tokio::test]
async fn nonces_are_accepted_by_the_instances_that_share_the_secret() {
    let (first, sibling, stranger) = (nonce_router([1; 32]), nonce_router([1; 32]), nonce_router([2; 32]));
    let key = p256();
    let nonce = nonce_of(&service_token(&first, &[&key.token_proof()]).await.1);
    // Another instance with the same secret, without shared storage, accepts it.
    assert_bound(&service_token(&sibling, &[&key.token_proof_with_nonce(&nonce)]).await, &key);
    // One with another secret does not, and answers with its own.
    let reply = service_token(&stranger, &[&key.token_proof_with_nonce(&nonce)]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let own = nonce_of(&reply.1);
    assert_ne!(own, nonce);
    assert_bound(&service_token(&stranger, &[&key.token_proof_with_nonce(&own)]).await, &key);

    // Without a configured secret, the providers of one process share a random one.
    let default =
        || custom_provider(TestHost::new(), |b| b.require_dpop_nonce(true)).expect("provider builds").router();
    let (one, two) = (default(), default());
    let nonce = nonce_of(&service_token(&one, &[&key.token_proof()]).await.1);
    assert_bound(&service_token(&two, &[&key.token_proof_with_nonce(&nonce)]).await, &key);
    let reply = service_token(&first, &[&key.token_proof_with_nonce(&nonce)]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "use_dpop_nonce");
}

// ---------------------------------------------------------------------------------------------
// dpop_jkt and PAR (RFC 9449 §10)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn dpop_jkt_binds_the_code_to_a_key() {
    let router = test_provider().router();
    let (key, other) = (p256(), ed25519());
    let (verifier, challenge) = pkce();
    let code = native_code(&router, &challenge, &[("dpop_jkt", &key.jkt)]).await;
    assert_bound(&redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await, &key);

    let code = native_code(&router, &challenge, &[("dpop_jkt", &key.jkt)]).await;
    let reply = redeem_native(&router, &code, &verifier, &[&other.token_proof()]).await;
    assert_token_error(
        &reply,
        "invalid_dpop_proof",
        "the DPoP proof key is not the one the authorization request was bound to (`dpop_jkt`)",
    );
    // Like any other wrong redemption, it spent the code.
    let reply = redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");

    let code = native_code(&router, &challenge, &[("dpop_jkt", &key.jkt)]).await;
    let reply = redeem_native(&router, &code, &verifier, &[]).await;
    assert_token_error(
        &reply,
        "invalid_dpop_proof",
        "the authorization request was bound to a DPoP key (`dpop_jkt`): a DPoP proof with that key is required",
    );
}

#[tokio::test]
async fn a_malformed_dpop_jkt_is_invalid_request() {
    let router = test_provider().router();
    let (_, challenge) = pkce();
    for bad in ["abc", "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I=", "0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I"] {
        let uri = authorize_url(
            TestHost::PATHS.authorize,
            &[
                ("response_type", "code"),
                ("client_id", "native"),
                ("redirect_uri", NATIVE_REDIRECT),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("scope", SCOPE),
                ("state", "xyz"),
                ("dpop_jkt", bad),
            ],
        );
        let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie("alice"))).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{bad}");
        let (_, params) = redirect_params(&headers);
        assert_eq!(params.get("error").map(String::as_str), Some("invalid_request"), "{bad}");
        assert_eq!(
            params.get("error_description").map(String::as_str),
            Some("`dpop_jkt` is not a base64url SHA-256 JWK thumbprint (RFC 7638)")
        );
    }
}

/// Pushes an authorization request of `native` with these proofs and `extra` parameters.
async fn push_native(router: &Router, challenge: &str, proofs: &[&str], extra: &[(&str, &str)]) -> JsonReply {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "native"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", SCOPE),
        ("state", "xyz"),
    ];
    params.extend_from_slice(extra);
    post(router, PAR, None, proofs, &form(&params)).await
}

/// The code the browser gets for a pushed request.
async fn code_by_reference(router: &Router, reply: &JsonReply) -> String {
    let (status, _, body) = reply;
    assert_eq!(*status, StatusCode::CREATED, "{body}");
    let uri = authorize_url(
        TestHost::PATHS.authorize,
        &[("client_id", "native"), ("request_uri", str_of(body, "request_uri"))],
    );
    let (status, headers, _) = browser_get(router, &uri, Some(&session_cookie("alice"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in {params:?}"))
}

#[tokio::test]
async fn a_proof_sent_to_par_binds_the_code_to_its_key() {
    let router = test_provider().router();
    let (key, other) = (p256(), ed25519());
    let (verifier, challenge) = pkce();
    let par_proof = || key.proof("POST", PAR_URL);

    let code = code_by_reference(&router, &push_native(&router, &challenge, &[&par_proof()], &[]).await).await;
    assert_bound(&redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await, &key);

    let code = code_by_reference(&router, &push_native(&router, &challenge, &[&par_proof()], &[]).await).await;
    let reply = redeem_native(&router, &code, &verifier, &[&other.token_proof()]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    let code = code_by_reference(&router, &push_native(&router, &challenge, &[&par_proof()], &[]).await).await;
    let reply = redeem_native(&router, &code, &verifier, &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");

    // `dpop_jkt` alone binds as well, and with a proof it must name the proof's key.
    let reply = push_native(&router, &challenge, &[], &[("dpop_jkt", &other.jkt)]).await;
    let code = code_by_reference(&router, &reply).await;
    assert_bound(&redeem_native(&router, &code, &verifier, &[&other.token_proof()]).await, &other);
    let reply = push_native(&router, &challenge, &[&par_proof()], &[("dpop_jkt", &key.jkt)]).await;
    let code = code_by_reference(&router, &reply).await;
    assert_bound(&redeem_native(&router, &code, &verifier, &[&key.token_proof()]).await, &key);
    let reply = push_native(&router, &challenge, &[&par_proof()], &[("dpop_jkt", &other.jkt)]).await;
    assert_token_error(&reply, "invalid_dpop_proof", "the DPoP proof key does not match `dpop_jkt`");
}

#[tokio::test]
async fn par_checks_the_proof_as_the_token_endpoint_does() {
    let router = test_provider().router();
    let key = p256();
    let (_, challenge) = pkce();
    // A proof made for the token endpoint is not one for PAR.
    let reply = push_native(&router, &challenge, &[&key.token_proof()], &[]).await;
    assert_token_error(&reply, "invalid_dpop_proof", ProofError::WrongUri.description());
    let proof = key.proof("POST", PAR_URL);
    assert_eq!(push_native(&router, &challenge, &[&proof], &[]).await.0, StatusCode::CREATED);
    let reply = push_native(&router, &challenge, &[&proof], &[]).await;
    assert_token_error(&reply, "invalid_dpop_proof", "the DPoP proof was already used: its `jti` was seen before");
    let reply =
        push_native(&router, &challenge, &[&key.proof("POST", PAR_URL), &key.proof("POST", PAR_URL)], &[]).await;
    assert_token_error(&reply, "invalid_dpop_proof", "the request has more than one DPoP header");

    // With nonces required: 400 `use_dpop_nonce`, then the retry.
    let router = nonce_router([3; 32]);
    let reply = push_native(&router, &challenge, &[&key.proof("POST", PAR_URL)], &[]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "use_dpop_nonce");
    let nonce = nonce_of(&reply.1);
    let proof = key.sign(&with(claims("POST", PAR_URL), "nonce", nonce.as_str()));
    let reply = push_native(&router, &challenge, &[&proof], &[]).await;
    assert_eq!(reply.0, StatusCode::CREATED, "{}", reply.2);
    nonce_of(&reply.1);
}

// ---------------------------------------------------------------------------------------------
// clients that must use DPoP (RFC 9449 §5.2)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_that_must_use_dpop_is_refused_without_a_proof() {
    let mut clients = clients();
    let required = Client::confidential("dpop-only", SecretHash::of(SECRET))
        .with_scopes(Scopes::parse("read").expect("scopes"))
        .with_redirect_uris([WEB_REDIRECT])
        .with_dpop_bound_access_tokens(true);
    clients.insert("dpop-only".to_owned(), required);
    let host = TestHost { clients: Arc::new(clients), events: Arc::default() };
    let router = provider(host).router();
    let key = p256();
    let credentials = basic("dpop-only", SECRET);
    let description = "this client must use DPoP: a DPoP proof is required";
    let grants = [
        "grant_type=client_credentials",
        // Checked before the code or the refresh token is looked at.
        "grant_type=authorization_code&code=unknown&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "grant_type=refresh_token&refresh_token=unknown",
    ];
    for body in grants {
        let reply = post(&router, TOKEN, Some(&credentials), &[], body).await;
        assert_token_error(&reply, "invalid_dpop_proof", description);
    }
    assert_bound(&post(&router, TOKEN, Some(&credentials), &[&key.token_proof()], grants[0]).await, &key);
    let reply = post(&router, TOKEN, Some(&credentials), &[&key.token_proof()], grants[1]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
    let reply = post(&router, TOKEN, Some(&credentials), &[&key.token_proof()], grants[2]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_grant");
}

/// A host with dynamic registration, keeping registrations in memory.
#[derive(Clone, Default)]
#[attesto::provider(registration)]
struct RegistrationHost {
    registry: Arc<Mutex<HashMap<String, ClientRegistration>>>,
}

impl ClientStore for RegistrationHost {
    async fn load_client(&self, _: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl PrincipalStore for RegistrationHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

impl RegistrationStore for RegistrationHost {
    /// This test host lets every registration hold `client_credentials` (the default refuses).
    async fn allow_client_credentials(&self, _: &attesto::GrantRequest<'_>) -> Result<bool, HostError> {
        Ok(true)
    }
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        let mut registry = self.registry.lock().map_err(|_| HostError::msg("poisoned"))?;
        registry.insert(registration.client.client_id.to_string(), registration.clone());
        Ok(())
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        let registry = self.registry.lock().map_err(|_| HostError::msg("poisoned"))?;
        Ok(registry.get(client_id.as_str()).cloned())
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        let mut registry = self.registry.lock().map_err(|_| HostError::msg("poisoned"))?;
        Ok(registry.insert(registration.client.client_id.to_string(), registration.clone()).is_some())
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        let mut registry = self.registry.lock().map_err(|_| HostError::msg("poisoned"))?;
        Ok(registry.remove(client_id.as_str()).is_some())
    }
}

#[tokio::test]
async fn registration_accepts_dpop_bound_access_tokens() {
    let host = RegistrationHost::default();
    let router = custom_provider(host.clone(), |b| b).expect("provider builds").router();
    let register = |metadata: Value| {
        let router = router.clone();
        async move {
            let request = Request::post(RegistrationHost::PATHS.registration.expect("registration is on"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(metadata.to_string()))
                .expect("request");
            send_json(&router, request).await
        }
    };
    let key = p256();
    let grant = "grant_type=client_credentials";

    let (status, _, body) =
        register(json!({ "grant_types": ["client_credentials"], "dpop_bound_access_tokens": true })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["dpop_bound_access_tokens"], true, "{body}");
    let client_id = str_of(&body, "client_id");
    let stored = host.registry.lock().expect("lock").get(client_id).cloned().expect("stored");
    assert!(stored.client.dpop_bound_access_tokens);
    let credentials = basic(client_id, str_of(&body, "client_secret"));
    let reply = post(&router, TOKEN, Some(&credentials), &[], grant).await;
    assert_token_error(&reply, "invalid_dpop_proof", "this client must use DPoP: a DPoP proof is required");
    assert_bound(&post(&router, TOKEN, Some(&credentials), &[&key.token_proof()], grant).await, &key);

    // RFC 9449 §5.2: false when omitted, and said so in the response.
    let (status, _, body) = register(json!({ "grant_types": ["client_credentials"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["dpop_bound_access_tokens"], false, "{body}");
    let credentials = basic(str_of(&body, "client_id"), str_of(&body, "client_secret"));
    assert_unbound(&post(&router, TOKEN, Some(&credentials), &[], grant).await);

    for wrong in [json!("true"), json!(1), json!([true])] {
        let reply = register(json!({ "grant_types": ["client_credentials"], "dpop_bound_access_tokens": wrong })).await;
        assert_token_error(
            &reply,
            "invalid_client_metadata",
            "`dpop_bound_access_tokens` must be a boolean (RFC 9449 section 5.2)",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// htu of an overridden token path
// ---------------------------------------------------------------------------------------------

/// A host whose token endpoint is declared at `/connect/token`.
#[derive(Clone)]
#[attesto::provider(token_path = "/connect/token")]
struct ConnectHost;

impl ClientStore for ConnectHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(clients().get(client_id).cloned())
    }
}

impl PrincipalStore for ConnectHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

#[tokio::test]
async fn the_htu_is_the_url_of_the_declared_token_path() {
    assert_eq!(ConnectHost::PATHS.token, "/connect/token");
    let router = custom_provider(ConnectHost, |b| b).expect("provider builds").router();
    let key = p256();
    let connect = |proof: String, host: Option<&'static str>| {
        let router = router.clone();
        async move {
            let mut request = Request::post("/connect/token")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, basic("service", SECRET))
                .header("DPoP", proof);
            if let Some(host) = host {
                request = request.header(header::HOST, host);
            }
            send_json(&router, request.body(Body::from("grant_type=client_credentials")).expect("request")).await
        }
    };
    // The default path is not this server's token endpoint.
    let reply = connect(key.proof("POST", TOKEN_URL), None).await;
    assert_token_error(&reply, "invalid_dpop_proof", ProofError::WrongUri.description());
    // The URL comes from the issuer, never from the `Host` header the client sends.
    let reply = connect(key.proof("POST", "https://evil.example/connect/token"), Some("evil.example")).await;
    assert_token_error(&reply, "invalid_dpop_proof", ProofError::WrongUri.description());
    let reply = connect(key.proof("POST", "https://auth.example.com/connect/token"), Some("evil.example")).await;
    assert_bound(&reply, &key);
}

// ---------------------------------------------------------------------------------------------
// introspection and discovery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn introspection_shows_the_binding() {
    let router = test_provider().router();
    let key = p256();
    let introspect = |access_token: String| {
        let router = router.clone();
        async move {
            let body = form(&[("token", &access_token)]);
            token(&router, INTROSPECT, Some(&basic("first-party", SECRET)), &body).await
        }
    };
    let reply = first_party_tokens(&router, &[&key.token_proof()]).await;
    assert_bound(&reply, &key);
    let (status, _, body) = introspect(str_of(&reply.2, "access_token").to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "DPoP", "RFC 9449 §6.2: {body}");
    assert_eq!(body["cnf"], json!({ "jkt": key.jkt }), "RFC 9449 §6.2: {body}");

    let reply = first_party_tokens(&router, &[]).await;
    let (_, _, body) = introspect(str_of(&reply.2, "access_token").to_owned()).await;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert!(body.get("cnf").is_none(), "{body}");
}

#[tokio::test]
async fn discovery_lists_the_proof_algorithms() {
    let router = test_provider().router();
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"] {
        let (status, _, body) = send_json(&router, Request::get(path).body(Body::empty()).expect("request")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["dpop_signing_alg_values_supported"], json!(["ES256", "ES384", "EdDSA", "RS256", "PS256"]));
    }
}

// ---------------------------------------------------------------------------------------------
// a store that cannot record proofs
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_replay_store_failure_is_temporarily_unavailable() {
    // Two instances with one signing key: one whose replay store works, one whose store fails.
    let signing = Key::generate(attesto::Algorithm::ES256).expect("key");
    let working = custom_provider(TestHost::new(), |b| b.signing_key(signing.clone())).expect("provider").router();
    let failing = custom_provider(TestHost::new(), |b| {
        b.signing_key(signing).store(TestStore { fail_dpop: true, ..TestStore::default() })
    })
    .expect("provider builds")
    .router();
    let key = p256();
    let reply = service_token(&failing, &[&key.token_proof()]).await;
    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    // A proof refused before the store is asked, and a request without one, do not need it.
    let reply = service_token(&failing, &[&key.proof("GET", TOKEN_URL)]).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    assert_unbound(&service_token(&failing, &[]).await);

    // At userinfo: 503, without a challenge (nothing is wrong with the request).
    let body = native_tokens(&working, Some(&key)).await;
    let (status, headers, body) = userinfo_with(&failing, &Method::GET, &key, str_of(&body, "access_token")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json_of(&body)["error"], "temporarily_unavailable");
    assert!(headers.get(header::WWW_AUTHENTICATE).is_none());
}
