//! The authorization code and refresh token grants, ID tokens and userinfo, through the real
//! router: one test per rule, each trying to break it and checking the exact error.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use attesto::{
    Algorithm, Attesto, ClaimsQuery, Client, ClientStore, HostError, Key, LoginOutcome, LoginRequest, Principal,
    PrincipalStore, Scopes, SecretHash,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, decode_header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256, Sha512};

const TOKEN: &str = TestHost::PATHS.token;
const USERINFO: &str = "/oauth/userinfo";
const JWKS: &str = "/oauth/jwks";
/// Everything the `first-party` client may ask for on behalf of a user.
const FULL_SCOPE: &str = "openid profile email offline_access read";
const API: &str = "https://api.example.com";
/// The P-256 test key (PKCS#8) shared with the runtime's key tests.
const P256_PEM: &str = include_str!("../../attesto-runtime/tests/fixtures/keys/p256.pkcs8.pem");
const P256_PUBLIC_PEM: &str = include_str!("../../attesto-runtime/tests/fixtures/keys/p256.pub.pem");

// ---------------------------------------------------------------------------------------------
// helpers

/// A form body.
fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn first_party() -> String {
    basic("first-party", SECRET)
}

/// A host, a provider over it (test issuer, fresh ES256 key, the two test resources) and its router.
fn setup() -> (TestHost, Router) {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    (host, router)
}

/// `POST {token}` with `grant_type=authorization_code` and `pairs`.
async fn redeem(
    router: &Router,
    authorization: Option<&str>,
    pairs: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut all = vec![("grant_type", "authorization_code")];
    all.extend_from_slice(pairs);
    token(router, TOKEN, authorization, &form(&all)).await
}

/// `POST {token}` with `grant_type=refresh_token`, the token and `pairs`.
async fn refresh(
    router: &Router,
    authorization: Option<&str>,
    refresh_token: &str,
    pairs: &[(&str, &str)],
) -> (StatusCode, HeaderMap, Value) {
    let mut all = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    all.extend_from_slice(pairs);
    token(router, TOKEN, authorization, &form(&all)).await
}

/// `first-party` signs `alice` in with `scope` (and `extra` authorization parameters) and redeems
/// the code with Basic authentication; returns the successful token response.
async fn sign_in(router: &Router, scope: &str, extra: &[(&str, &str)]) -> Value {
    let (verifier, challenge) = pkce();
    let code = authorize_code(router, "first-party", WEB_REDIRECT, &challenge, scope, "alice", extra).await;
    let (status, _, body) = redeem(
        router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Runs the authorization request of a client the test host asks consent for, with the user
/// allowing it on attesto's consent page; returns the code.
async fn authorize_with_consent(router: &Router, client_id: &str, challenge: &str, scope: &str) -> String {
    let uri = authorize_url(
        TestHost::PATHS.authorize,
        &[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("scope", scope),
        ],
    );
    let (_, _, params) = allow_on_consent_page(router, &uri, "alice").await;
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in the redirect, got {params:?}"))
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// The claims of a JWT, unverified (for tokens whose signature another check covers).
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url claims")).expect("JSON claims")
}

/// Verifies a JWT against the served JWKS, with the algorithm the JWKS advertises for its key,
/// checking `typ`, `iss` and `aud`; returns its claims.
async fn verify(router: &Router, token: &str, typ: &str, audience: &str) -> Value {
    let (status, _, jwks) = send_json(router, Request::get(JWKS).body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::OK);
    let jwks: JwkSet = serde_json::from_value(jwks).expect("a JWK set");
    let header = decode_header(token).expect("a JWS header");
    assert_eq!(header.typ.as_deref(), Some(typ));
    let kid = header.kid.expect("kid in header");
    let jwk = jwks.find(&kid).expect("the signing key is in the JWKS");
    let advertised = jwk.common.key_algorithm.expect("alg in the JWK");
    assert_eq!(format!("{advertised:?}"), format!("{:?}", header.alg), "the algorithm the JWKS advertises");
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    let key = DecodingKey::from_jwk(jwk).expect("decoding key");
    decode::<Value>(token, &key, &validation).expect("the token verifies").claims
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// `GET` or `POST {userinfo}` with an optional `Authorization` header value.
async fn userinfo(router: &Router, post: bool, authorization: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = if post { Request::post(USERINFO) } else { Request::get(USERINFO) };
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    send(router, request.body(Body::empty()).expect("request")).await
}

/// Userinfo with `Bearer token`, which must be refused as `invalid_token` (RFC 6750 §3.1).
async fn assert_invalid_token(router: &Router, token: &str) {
    let (status, headers, body) = userinfo(router, false, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", String::from_utf8_lossy(&body));
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII challenge");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!(body["error"], "invalid_token");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// Userinfo claims for `Bearer token`, asserting success.
async fn userinfo_claims(router: &Router, post: bool, token: &str) -> Value {
    let (status, headers, body) = userinfo(router, post, Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    serde_json::from_slice(&body).expect("JSON claims")
}

fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------------------------
// the happy path

#[tokio::test]
async fn code_flow_issues_access_refresh_and_id_tokens() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code =
        authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[("nonce", "n-0S6")])
            .await;
    let response = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    let (status, headers, body) = &response;
    assert_eq!(*status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], FULL_SCOPE);
    let refresh_token = str_of(body, "refresh_token");
    assert_eq!(refresh_token.len(), 43, "256 random bits, base64url");

    // The access token (RFC 9068).
    let access_token = str_of(body, "access_token");
    let claims = verify(&router, access_token, "at+jwt", ISSUER).await;
    assert_eq!(claims["iss"], ISSUER, "the host's `iss` must not override attesto's");
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], ISSUER, "no resource: the default audience");
    assert_eq!(claims["client_id"], "first-party");
    assert_eq!(claims["scope"], FULL_SCOPE);
    assert_eq!(claims["tenant"], "acme", "host claims from build_principal");
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() >= 22), "{claims}");
    assert_eq!(claims["exp"].as_u64().expect("exp") - claims["iat"].as_u64().expect("iat"), 900);

    // The ID token (OIDC Core §2, §3.1.3.6).
    let id_token = str_of(body, "id_token");
    let id = verify(&router, id_token, "JWT", "first-party").await;
    assert_eq!(id["iss"], ISSUER);
    assert_eq!(id["sub"], "alice", "the host cannot override `sub`");
    assert_eq!(id["aud"], "first-party", "the host cannot override `aud`");
    assert_eq!(id["nonce"], "n-0S6", "the host cannot override `nonce`");
    assert_eq!(id["acr"], "urn:test:pwd");
    assert_eq!(id["amr"], json!(["pwd"]));
    assert_eq!(id["name"], "User alice", "host claims from build_id_token_claims");
    assert!(id.get("azp").is_none(), "one audience: no azp ({id})");
    let (iat, exp) = (id["iat"].as_u64().expect("iat"), id["exp"].as_u64().expect("exp"));
    assert!(exp > iat, "{id}");
    assert!(iat.abs_diff(unix_now()) <= 5, "{id}");
    let auth_time = id["auth_time"].as_u64().expect("auth_time");
    assert!(auth_time <= iat && iat - auth_time <= 5, "the session was just signed in: {id}");
    let digest = Sha256::digest(access_token.as_bytes());
    assert_eq!(id["at_hash"], b64u(&digest[..16]), "left half of SHA-256 for ES256");

    // Events: a code, then a token for the user by the code grant; never a secret.
    let events = host.events();
    assert!(events.contains(&format!("code_issued first-party alice {FULL_SCOPE}")), "{events:?}");
    assert!(events.contains(&format!("issued first-party authorization_code {FULL_SCOPE}")), "{events:?}");
    for event in &events {
        assert!(!event.contains(&code) && !event.contains(refresh_token) && !event.contains(access_token));
    }
}

#[tokio::test]
async fn eddsa_provider_computes_at_hash_with_sha512() {
    let host = TestHost::new();
    let router = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(Algorithm::EdDSA).expect("key"))
        .build()
        .expect("provider builds")
        .router();
    let body = sign_in(&router, FULL_SCOPE, &[]).await;
    let access_token = str_of(&body, "access_token");
    verify(&router, access_token, "at+jwt", ISSUER).await;
    let id = verify(&router, str_of(&body, "id_token"), "JWT", "first-party").await;
    // Ed25519 hashes with SHA-512; the left half of it is 32 bytes.
    let digest = Sha512::digest(access_token.as_bytes());
    assert_eq!(id["at_hash"], b64u(&digest[..32]), "{id}");
    assert_ne!(id["at_hash"], b64u(&Sha256::digest(access_token.as_bytes())[..16]));
}

#[tokio::test]
async fn no_id_token_without_openid() {
    let (_, router) = setup();
    let body = sign_in(&router, "profile offline_access read", &[]).await;
    assert_eq!(body["scope"], "profile offline_access read");
    assert!(body.get("id_token").is_none(), "{body}");
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string(), "{body}");
}

#[tokio::test]
async fn authorized_resource_is_the_audience() {
    let (_, router) = setup();
    let body = sign_in(&router, FULL_SCOPE, &[("resource", RESOURCE)]).await;
    let claims = verify(&router, str_of(&body, "access_token"), "at+jwt", RESOURCE).await;
    assert_eq!(claims["aud"], RESOURCE);
    // The ID token is for the client, whatever the access token's resource.
    let id = verify(&router, str_of(&body, "id_token"), "JWT", "first-party").await;
    assert_eq!(id["aud"], "first-party");
}

#[tokio::test]
async fn token_request_narrows_resources_and_never_widens_them() {
    let (_, router) = setup();
    let both: &[(&str, &str)] = &[("resource", RESOURCE), ("resource", API)];

    // Narrowed to one of the two authorized resources (RFC 8707 §2.2).
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", both).await;
    let pairs = [("code", code.as_str()), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)];
    let (status, _, body) = redeem(&router, Some(&first_party()), &[&pairs[..], &[("resource", API)]].concat()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(claims_of(str_of(&body, "access_token"))["aud"], API);

    // A resource that was not authorized.
    let (verifier, challenge) = pkce();
    let code = authorize_code(
        &router,
        "first-party",
        WEB_REDIRECT,
        &challenge,
        FULL_SCOPE,
        "alice",
        &[("resource", RESOURCE)],
    )
    .await;
    let pairs = [("code", code.as_str()), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)];
    let response = redeem(&router, Some(&first_party()), &[&pairs[..], &[("resource", API)]].concat()).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_target");
}

// ---------------------------------------------------------------------------------------------
// client authentication and PKCE at the token endpoint

#[tokio::test]
async fn public_client_redeems_with_client_id_and_pkce() {
    let (_, router) = setup();
    let (verifier, challenge) = pkce();
    // RFC 8252 §7.3: any port on the loopback interface.
    let redirect = "http://127.0.0.1:49152/callback";
    let code = authorize_code(&router, "native", redirect, &challenge, FULL_SCOPE, "bob", &[]).await;
    let (status, _, body) = redeem(
        &router,
        None,
        &[("client_id", "native"), ("code", &code), ("code_verifier", &verifier), ("redirect_uri", redirect)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = verify(&router, str_of(&body, "access_token"), "at+jwt", ISSUER).await;
    assert_eq!((claims["sub"].as_str(), claims["client_id"].as_str()), (Some("bob"), Some("native")));
    let id = verify(&router, str_of(&body, "id_token"), "JWT", "native").await;
    assert_eq!(id["sub"], "bob");

    // Its refresh token rotates without a secret too, bound to the client id.
    let (status, _, next) = refresh(&router, None, str_of(&body, "refresh_token"), &[("client_id", "native")]).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_ne!(next["refresh_token"], body["refresh_token"]);
}

#[tokio::test]
async fn confidential_client_must_authenticate() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let pairs = [("code", code.as_str()), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)];

    // No secret: a confidential client posing as a public one.
    let response = redeem(&router, None, &[&pairs[..], &[("client_id", "first-party")]].concat()).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    // No credentials at all.
    let response = redeem(&router, None, &pairs).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    // A wrong secret in the Authorization header: 401 with a Basic challenge (RFC 6749 §5.2).
    let response = redeem(&router, Some(&basic("first-party", "wrong")), &pairs).await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(response.1[header::WWW_AUTHENTICATE].to_str().is_ok_and(|v| v.starts_with("Basic ")));

    // Failed authentication does not touch the code: the client still redeems it.
    let (status, _, body) = redeem(&router, Some(&first_party()), &pairs).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(host.events().contains(&"denied first-party invalid_client".to_owned()), "{:?}", host.events());
}

#[tokio::test]
async fn missing_code_verifier_is_invalid_request() {
    let (_, router) = setup();
    let (_, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let response = redeem(&router, Some(&first_party()), &[("code", &code), ("redirect_uri", WEB_REDIRECT)]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn wrong_code_verifier_is_invalid_grant_and_changes_nothing() {
    let (_, router) = setup();
    let (verifier, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let response = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &other_verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(response.2["error_description"], "`code_verifier` does not match the code challenge");
    // RFC 6749 §4.1.3, RFC 7636 §4.6: checked before the code is spent, so whoever intercepted
    // the code without the verifier cannot burn it: the client redeems it with its verifier.
    // (Guessing a 256-bit verifier within the code's 60 s is no attack.)
    let response = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_eq!(response.0, StatusCode::OK, "{}", response.2);
}

#[tokio::test]
async fn malformed_code_verifier_is_invalid_request() {
    let (_, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let too_long = "a".repeat(129);
    let bad_char = format!("{}+", &verifier[..42]);
    // RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~].
    for bad in ["too-short", &verifier[..42], &too_long, &bad_char] {
        let response = redeem(
            &router,
            Some(&first_party()),
            &[("code", &code), ("code_verifier", bad), ("redirect_uri", WEB_REDIRECT)],
        )
        .await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    }
    // Refused before the code is looked at: the right verifier still works.
    let (status, _, body) = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------------------------
// the code: single use, bound to client, redirect URI, lifetime

#[tokio::test]
async fn replayed_code_is_refused_and_revokes_what_it_issued() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let pairs = [("code", code.as_str()), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)];
    let (status, _, first) = redeem(&router, Some(&first_party()), &pairs).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let access_token = str_of(&first, "access_token");
    // Works until the replay.
    userinfo_claims(&router, false, access_token).await;

    let response = redeem(&router, Some(&first_party()), &pairs).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");

    // RFC 9700 §4.5.3.1: what the first redemption issued is revoked.
    let response = refresh(&router, Some(&first_party()), str_of(&first, "refresh_token"), &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_invalid_token(&router, access_token).await;
    let events = host.events();
    assert!(events.contains(&"code_reuse_detected first-party".to_owned()), "{events:?}");
}

#[tokio::test]
async fn a_replayed_code_revokes_the_access_tokens_of_its_familys_refreshes_too() {
    let (_, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let pairs = [("code", code.as_str()), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)];
    let (status, _, first) = redeem(&router, Some(&first_party()), &pairs).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    // Two refreshes before the replay: three access tokens of one grant.
    let mut access = vec![str_of(&first, "access_token").to_owned()];
    let mut current = str_of(&first, "refresh_token").to_owned();
    for _ in 0..2 {
        let (status, _, rotated) = refresh(&router, Some(&first_party()), &current, &[]).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        access.push(str_of(&rotated, "access_token").to_owned());
        current = str_of(&rotated, "refresh_token").to_owned();
    }
    let other = sign_in(&router, FULL_SCOPE, &[]).await;
    for token in &access {
        userinfo_claims(&router, false, token).await;
    }

    let response = redeem(&router, Some(&first_party()), &pairs).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    // RFC 9700 §4.5.3.1: everything the code led to is revoked — the family, the code's access
    // token, and the access tokens of every refresh of the family.
    for token in &access {
        assert_invalid_token(&router, token).await;
    }
    let response = refresh(&router, Some(&first_party()), &current, &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    // Another sign-in of the same user and client is another grant, untouched.
    userinfo_claims(&router, false, str_of(&other, "access_token")).await;
}

/// Fifty redemptions of one code at once: the store takes it once, so at most one gets tokens.
/// The others are replays, and revoke what the first issued; whether the winner still gets an
/// answer depends on whether a replay revoked its refresh family before it was created, so the
/// test asserts the invariant: at most one success, and nothing issued survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_redemptions_of_one_code_issue_at_most_once() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", WEB_REDIRECT),
    ]);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (router, body) = (router.clone(), body.clone());
            tokio::spawn(async move { token(&router, TOKEN, Some(&first_party()), &body).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let response = task.await.expect("the task completes");
        if response.0 == StatusCode::OK {
            winners.push(response.2);
        } else {
            assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
        }
    }
    assert!(winners.len() <= 1, "a code is redeemed once: {winners:?}");
    for winner in &winners {
        let response = refresh(&router, Some(&first_party()), str_of(winner, "refresh_token"), &[]).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
        assert_invalid_token(&router, str_of(winner, "access_token")).await;
    }
    let events = host.events();
    assert!(events.iter().filter(|e| *e == "code_reuse_detected first-party").count() >= 49, "{events:?}");
}

#[tokio::test]
async fn code_of_another_client_is_invalid_grant_and_changes_nothing() {
    let (host, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let pairs = [("code", code.as_str()), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)];
    // `no-refresh` has the same redirect URI registered; the code is still not its own. It even
    // has the verifier (a leaked authorization response and a leaked verifier, say).
    let response = redeem(&router, Some(&basic("no-refresh", SECRET)), &pairs).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(response.2["error_description"], "the authorization code was issued to another client");
    // A public client with only a client id cannot take it either.
    let response = redeem(
        &router,
        None,
        &[("client_id", "native"), ("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");

    // RFC 6749 §4.1.3: the client is compared before the code is spent, so the attempts burnt
    // nothing: the code's own client redeems it.
    let response = redeem(&router, Some(&first_party()), &pairs).await;
    assert_eq!(response.0, StatusCode::OK, "{}", response.2);
    let access_token = response.2["access_token"].as_str().expect("an access token").to_owned();
    let refresh_token = response.2["refresh_token"].as_str().expect("a refresh token").to_owned();

    // Another client presenting the used code is no replay of the code's client: nothing the
    // first redemption issued is revoked (RFC 9700 §4.5.3.1 is for the code's own client).
    for attacker in [Some(basic("no-refresh", SECRET)), None] {
        let mut pairs = pairs.to_vec();
        if attacker.is_none() {
            pairs.push(("client_id", "native"));
        }
        let response = redeem(&router, attacker.as_deref(), &pairs).await;
        assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    }
    assert!(!host.events().iter().any(|e| e.starts_with("code_reuse_detected")), "{:?}", host.events());
    // The first redemption's access token still works, and so does its refresh token.
    assert_eq!(userinfo_claims(&router, false, &access_token).await["sub"], "alice");
    let response = refresh(&router, Some(&first_party()), &refresh_token, &[]).await;
    assert_eq!(response.0, StatusCode::OK, "{}", response.2);

    // Without the verifier, even the code's own client's replay changes nothing; with it, the
    // replay revokes what the code issued.
    let (other_verifier, _) = pkce();
    let wrong = [("code", code.as_str()), ("code_verifier", &other_verifier), ("redirect_uri", WEB_REDIRECT)];
    assert_error(&redeem(&router, Some(&first_party()), &wrong).await, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(!host.events().iter().any(|e| e.starts_with("code_reuse_detected")), "{:?}", host.events());
    assert_error(&redeem(&router, Some(&first_party()), &pairs).await, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(host.events().iter().any(|e| e == "code_reuse_detected first-party"), "{:?}", host.events());
}

#[tokio::test]
async fn unknown_code_is_invalid_grant() {
    let (_, router) = setup();
    let (verifier, _) = pkce();
    let response = redeem(
        &router,
        Some(&first_party()),
        &[("code", "not-a-code"), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    let response = redeem(&router, Some(&first_party()), &[("code_verifier", &verifier)]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let router = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(Algorithm::ES256).expect("key"))
        .store(TestStore { redeem_late: Duration::from_secs(61), ..TestStore::default() })
        .build()
        .expect("provider builds")
        .router();
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let response = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_must_repeat_the_authorization_request() {
    let (_, router) = setup();
    // A different URI, even one registered for the client.
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let response = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", "https://client.example.com/cb/")],
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");

    // Omitted, when the authorization request carried one (RFC 6749 §4.1.3).
    let (verifier, challenge) = pkce();
    let code = authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, "alice", &[]).await;
    let response = redeem(&router, Some(&first_party()), &[("code", &code), ("code_verifier", &verifier)]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");

    // A loopback redirect with another port than the one the code was sent to.
    let (verifier, challenge) = pkce();
    let code =
        authorize_code(&router, "native", "http://127.0.0.1:50000/callback", &challenge, FULL_SCOPE, "bob", &[]).await;
    let response = redeem(
        &router,
        None,
        &[
            ("client_id", "native"),
            ("code", &code),
            ("code_verifier", &verifier),
            ("redirect_uri", "http://127.0.0.1:50001/callback"),
        ],
    )
    .await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
}

// ---------------------------------------------------------------------------------------------
// refresh tokens

#[tokio::test]
async fn refresh_rotates_both_tokens() {
    let (host, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let (status, headers, second) = refresh(&router, Some(&first_party()), str_of(&first, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(second["scope"], FULL_SCOPE);
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    assert_ne!(second["access_token"], first["access_token"]);
    let claims = verify(&router, str_of(&second, "access_token"), "at+jwt", ISSUER).await;
    assert_eq!((claims["sub"].as_str(), claims["aud"].as_str()), (Some("alice"), Some(ISSUER)));
    assert_eq!(claims["tenant"], "acme");
    assert_ne!(claims["jti"], claims_of(str_of(&first, "access_token"))["jti"]);
    // The refreshed access token is as good as the first at userinfo.
    assert_eq!(userinfo_claims(&router, false, str_of(&second, "access_token")).await["sub"], "alice");

    let (status, _, third) = refresh(&router, Some(&first_party()), str_of(&second, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{third}");

    let events = host.events();
    let rotated = format!("refresh_rotated first-party alice {FULL_SCOPE}");
    assert_eq!(events.iter().filter(|e| **e == rotated).count(), 2, "{events:?}");
    let issued = format!("issued first-party refresh_token {FULL_SCOPE}");
    assert_eq!(events.iter().filter(|e| **e == issued).count(), 2, "{events:?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("issued first-party authorization_code")).count(), 1);
}

#[tokio::test]
async fn reused_refresh_token_revokes_the_family() {
    let (host, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let old = str_of(&first, "refresh_token");
    let (_, _, second) = refresh(&router, Some(&first_party()), old, &[]).await;
    let (status, _, third) = refresh(&router, Some(&first_party()), str_of(&second, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let newest = str_of(&third, "refresh_token");

    // The first token, two rotations old, comes back: someone else holds a copy.
    let response = refresh(&router, Some(&first_party()), old, &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    assert!(host.events().contains(&"refresh_reuse_detected first-party alice".to_owned()), "{:?}", host.events());
    // RFC 9700 §4.14.2: the whole family is revoked, the newest token too.
    let response = refresh(&router, Some(&first_party()), newest, &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    let response = refresh(&router, Some(&first_party()), str_of(&second, "refresh_token"), &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    // A sign-in of its own is a family of its own, untouched.
    let other = sign_in(&router, FULL_SCOPE, &[]).await;
    let (status, _, body) = refresh(&router, Some(&first_party()), str_of(&other, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn refresh_narrows_scope_and_keeps_the_grant() {
    let (_, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let (status, _, narrow) =
        refresh(&router, Some(&first_party()), str_of(&first, "refresh_token"), &[("scope", "openid read")]).await;
    assert_eq!(status, StatusCode::OK, "{narrow}");
    assert_eq!(narrow["scope"], "openid read");
    assert_eq!(claims_of(str_of(&narrow, "access_token"))["scope"], "openid read");
    // Without `email` in the token, userinfo releases no email.
    let claims = userinfo_claims(&router, false, str_of(&narrow, "access_token")).await;
    assert!(claims.get("email").is_none(), "{claims}");

    // RFC 6749 §6: the grant keeps its original scope; a refresh without `scope` gets all of it.
    let (status, _, full) = refresh(&router, Some(&first_party()), str_of(&narrow, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{full}");
    assert_eq!(full["scope"], FULL_SCOPE);
    assert_eq!(claims_of(str_of(&full, "access_token"))["scope"], FULL_SCOPE);
}

#[tokio::test]
async fn refresh_cannot_widen_scope_and_does_not_rotate_when_refused() {
    let (_, router) = setup();
    let first = sign_in(&router, "openid offline_access read", &[]).await;
    let token = str_of(&first, "refresh_token");
    // `write` is allowed to the client, but was not granted.
    let response = refresh(&router, Some(&first_party()), token, &[("scope", "openid read write")]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let response = refresh(&router, Some(&first_party()), token, &[("scope", "admin")]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    // The refused requests rotated nothing: the token is still current.
    let (status, _, body) = refresh(&router, Some(&first_party()), token, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "openid offline_access read");
}

#[tokio::test]
async fn refresh_narrows_resources_and_keeps_them() {
    let (_, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[("resource", RESOURCE), ("resource", API)]).await;
    assert_eq!(claims_of(str_of(&first, "access_token"))["aud"], json!([RESOURCE, API]));
    let (status, _, narrow) =
        refresh(&router, Some(&first_party()), str_of(&first, "refresh_token"), &[("resource", RESOURCE)]).await;
    assert_eq!(status, StatusCode::OK, "{narrow}");
    assert_eq!(claims_of(str_of(&narrow, "access_token"))["aud"], RESOURCE);
    // Without `resource`, the grant's resources.
    let (status, _, again) = refresh(&router, Some(&first_party()), str_of(&narrow, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(claims_of(str_of(&again, "access_token"))["aud"], json!([RESOURCE, API]));

    // A grant for one resource cannot be refreshed into another (RFC 8707 §2.2).
    let single = sign_in(&router, FULL_SCOPE, &[("resource", RESOURCE)]).await;
    let response = refresh(&router, Some(&first_party()), str_of(&single, "refresh_token"), &[("resource", API)]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_target");
    let (status, _, body) = refresh(&router, Some(&first_party()), str_of(&single, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(claims_of(str_of(&body, "access_token"))["aud"], RESOURCE);
}

#[tokio::test]
async fn refresh_token_of_another_client_is_refused_without_rotating() {
    let (_, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let token = str_of(&first, "refresh_token");
    // `web` is a confidential client with the refresh grant, authenticated with its own secret.
    let response = refresh(&router, Some(&basic("web", SECRET)), token, &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    // And a public client naming itself.
    let response = refresh(&router, None, token, &[("client_id", "native")]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    // The token was neither rotated nor revoked: the right client uses it.
    let (status, _, body) = refresh(&router, Some(&first_party()), token, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn refresh_needs_client_authentication() {
    let (_, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let refresh_token = str_of(&first, "refresh_token");
    let response = refresh(&router, None, refresh_token, &[("client_id", "first-party")]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_client");
    let response = refresh(&router, Some(&basic("first-party", "wrong")), refresh_token, &[]).await;
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    let response = refresh(&router, Some(&first_party()), "not-a-refresh-token", &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    let response = token(&router, TOKEN, Some(&first_party()), "grant_type=refresh_token").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, _, body) = refresh(&router, Some(&first_party()), refresh_token, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn id_token_on_refresh_keeps_auth_time_and_drops_nonce() {
    let (_, router) = setup();
    let signed_in_at = unix_now() - 3600;
    let (verifier, challenge) = pkce();
    // The test host's session cookie carries `subject:auth_time`.
    let subject = format!("alice:{signed_in_at}");
    let code =
        authorize_code(&router, "first-party", WEB_REDIRECT, &challenge, FULL_SCOPE, &subject, &[("nonce", "n-1")])
            .await;
    let (status, _, first) = redeem(
        &router,
        Some(&first_party()),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let id = verify(&router, str_of(&first, "id_token"), "JWT", "first-party").await;
    assert_eq!((id["auth_time"].as_u64(), id["nonce"].as_str()), (Some(signed_in_at), Some("n-1")));

    let (status, _, next) = refresh(&router, Some(&first_party()), str_of(&first, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    let id = verify(&router, str_of(&next, "id_token"), "JWT", "first-party").await;
    // OIDC Core §12.2: the original authentication, and no nonce.
    assert_eq!(id["auth_time"].as_u64(), Some(signed_in_at), "{id}");
    assert!(id.get("nonce").is_none(), "{id}");
    assert_eq!((id["sub"].as_str(), id["acr"].as_str()), (Some("alice"), Some("urn:test:pwd")));
    assert!(id["iat"].as_u64().expect("iat") >= unix_now() - 5, "a new ID token: {id}");
    let digest = Sha256::digest(str_of(&next, "access_token").as_bytes());
    assert_eq!(id["at_hash"], b64u(&digest[..16]), "at_hash of the new access token");
}

#[tokio::test]
async fn client_without_refresh_grant_gets_no_refresh_token() {
    let (_, router) = setup();
    let (verifier, challenge) = pkce();
    let code = authorize_with_consent(&router, "no-refresh", &challenge, FULL_SCOPE).await;
    let (status, _, body) = redeem(
        &router,
        Some(&basic("no-refresh", SECRET)),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(body["id_token"].is_string(), "{body}");
    let response = refresh(&router, Some(&basic("no-refresh", SECRET)), "anything", &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "unauthorized_client");
}

/// Fifty requests present one refresh token at once. Exactly one wins the compare-and-rotate.
/// The others presented a token that is no longer current — which is what reuse *is*: two holders
/// of one token, the legitimate client and possibly an attacker, and the server cannot tell which
/// is which (RFC 9700 §4.14.2). So the family is revoked, the winner's new token included; a
/// client must not send concurrent refreshes of one token.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_have_one_winner_and_revoke_the_family() {
    let (host, router) = setup();
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let token = str_of(&first, "refresh_token").to_owned();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (router, token) = (router.clone(), token.clone());
            tokio::spawn(async move { refresh(&router, Some(&first_party()), &token, &[]).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let response = task.await.expect("the task completes");
        if response.0 == StatusCode::OK {
            winners.push(response.2);
        } else {
            assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation: {winners:?}");
    let events = host.events();
    assert!(events.iter().any(|e| e == "refresh_reuse_detected first-party alice"), "{events:?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("refresh_rotated")).count(), 1, "{events:?}");
    let response = refresh(&router, Some(&first_party()), str_of(&winners[0], "refresh_token"), &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
    let response = refresh(&router, Some(&first_party()), &token, &[]).await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_grant");
}

// ---------------------------------------------------------------------------------------------
// userinfo

#[tokio::test]
async fn userinfo_releases_claims_by_scope_for_the_tokens_subject() {
    let (_, router) = setup();
    let body = sign_in(&router, FULL_SCOPE, &[]).await;
    let access_token = str_of(&body, "access_token");
    for post in [false, true] {
        let claims = userinfo_claims(&router, post, access_token).await;
        assert_eq!(claims["sub"], "alice", "OIDC Core §5.3.2: never the host's `sub`");
        assert_eq!(claims["name"], "User alice");
        assert_eq!(claims["email"], "alice@example.com");
    }
    // Without `email`, no email.
    let body = sign_in(&router, "openid profile", &[]).await;
    let claims = userinfo_claims(&router, false, str_of(&body, "access_token")).await;
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["name"], "User alice");
    assert!(claims.get("email").is_none() && claims.get("email_verified").is_none(), "{claims}");
    // Lower-case scheme (RFC 7235 §2.1: case-insensitive).
    let (status, _, _) = userinfo(&router, false, Some(&format!("bearer {}", str_of(&body, "access_token")))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn userinfo_without_a_token_is_a_bare_challenge() {
    let (_, router) = setup();
    for post in [false, true] {
        for authorization in [None, Some("Basic Zm9vOmJhcg=="), Some("Bearer ")] {
            let (status, headers, body) = userinfo(&router, post, authorization).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
            // RFC 6750 §3.1: no error code when the request carried no credentials.
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer", "{authorization:?}");
            let text = String::from_utf8_lossy(&body);
            assert!(!text.contains("invalid_token") && !text.contains("error"), "{authorization:?}: {text}");
        }
    }
}

#[tokio::test]
async fn userinfo_refuses_garbage() {
    let (_, router) = setup();
    for garbage in ["garbage", "a.b.c", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "a.b.c.d.e"] {
        assert_invalid_token(&router, garbage).await;
    }
}

#[tokio::test]
async fn userinfo_needs_the_openid_scope() {
    let (_, router) = setup();
    let (status, _, body) =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&scope=read").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, headers, body) =
        userinfo(&router, false, Some(&format!("Bearer {}", str_of(&body, "access_token")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!(body["error"], "insufficient_scope");
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII");
    assert!(
        challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"openid\""),
        "{challenge}"
    );

    // A user's token without `openid`.
    let body = sign_in(&router, "profile read", &[]).await;
    let (status, _, _) = userinfo(&router, false, Some(&format!("Bearer {}", str_of(&body, "access_token")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// `TestHost`, except that its principals carry a claim named `grant_id` (attesto's own, which it
/// must drop), and that it records the family id of every refresh.
#[derive(Clone)]
#[attesto::provider]
struct GrantForger {
    inner: TestHost,
    families: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl GrantForger {
    fn new() -> Self {
        Self { inner: TestHost::new(), families: std::sync::Arc::default() }
    }

    fn families(&self) -> Vec<String> {
        self.families.lock().expect("lock").clone()
    }
}

impl ClientStore for GrantForger {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        self.inner.load_client(client_id).await
    }
}

impl PrincipalStore for GrantForger {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.inner.authenticate(request).await
    }
    async fn build_principal(&self, client: &Client, subject: &str, scopes: &Scopes) -> Result<Principal, HostError> {
        let mut principal = self.inner.build_principal(client, subject, scopes).await?;
        principal.claims.insert("grant_id".to_owned(), "forged".into());
        Ok(principal)
    }
}

impl attesto::ConsentPolicy for GrantForger {
    async fn consent(
        &self,
        request: &attesto::ConsentRequest<'_>,
        principal: &attesto::AuthenticatedPrincipal,
    ) -> Result<attesto::ConsentDecision, HostError> {
        self.inner.consent(request, principal).await
    }
}

impl attesto::EventSink for GrantForger {
    fn refresh_rotated(&self, event: &attesto::RefreshRotated<'_>) {
        self.families.lock().expect("lock").push(event.family_id.to_owned());
    }
}

/// The `grant_id` claim of an access token, if any, and how many times the payload names it.
fn grant_id_of(access_token: &str) -> (Option<String>, usize) {
    let payload = access_token.split('.').nth(1).expect("a compact JWS");
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("base64url claims")).expect("UTF-8");
    let claims: Value = serde_json::from_str(&json).expect("JSON claims");
    (claims["grant_id"].as_str().map(str::to_owned), json.matches("\"grant_id\"").count())
}

#[tokio::test]
async fn a_host_claim_named_grant_id_never_reaches_an_access_token() {
    let router = provider(GrantForger::new()).router();
    // client_credentials has no grant: the host's claim is dropped, the host's other claims kept.
    let (status, _, body) =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = str_of(&body, "access_token");
    assert_eq!(grant_id_of(access), (None, 0));
    assert_eq!(claims_of(access)["tenant"], "acme");
    // A code with a refresh token has a grant: attesto's `grant_id`, once, not the host's.
    let body = sign_in(&router, FULL_SCOPE, &[]).await;
    let (grant_id, named) = grant_id_of(str_of(&body, "access_token"));
    assert_eq!(named, 1, "no duplicate claim");
    assert!(grant_id.is_some_and(|id| id != "forged"));
}

#[tokio::test]
async fn grant_id_names_the_refresh_family_of_a_token_and_nothing_else() {
    let host = GrantForger::new();
    let router = provider(host.clone()).router();
    // A code with a refresh token, refreshed twice: one grant id, in every access token of it.
    let first = sign_in(&router, FULL_SCOPE, &[]).await;
    let (grant_id, _) = grant_id_of(str_of(&first, "access_token"));
    let grant_id = grant_id.expect("a `grant_id` in a token issued with a refresh token");
    let mut refresh_tokens = vec![str_of(&first, "refresh_token").to_owned()];
    for _ in 0..2 {
        let (status, _, rotated) =
            refresh(&router, Some(&first_party()), refresh_tokens.last().expect("one"), &[]).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        assert_eq!(grant_id_of(str_of(&rotated, "access_token")).0.as_deref(), Some(grant_id.as_str()));
        refresh_tokens.push(str_of(&rotated, "refresh_token").to_owned());
    }
    // Opaque: neither the family id (the store's key, seen here through the events) nor any
    // refresh token shows in it; it is the documented digest of the family id.
    let families = host.families();
    assert_eq!(families.len(), 2, "{families:?}");
    let family = &families[0];
    assert!(families.iter().all(|f| f == family), "one family: {families:?}");
    assert!(!grant_id.contains(family.as_str()) && !family.contains(&grant_id), "{grant_id} / {family}");
    for refresh_token in &refresh_tokens {
        assert!(!refresh_token.contains(&grant_id) && !grant_id.contains(refresh_token.as_str()));
    }
    let digest = Sha256::new().chain_update(b"attesto grant").chain_update(family.as_bytes()).finalize();
    assert_eq!(grant_id, b64u(&digest[..16]), "base64url(SHA-256(\"attesto grant\" || family id)[..16])");

    // Another sign-in is another family: another grant id.
    let second = sign_in(&router, FULL_SCOPE, &[]).await;
    let other = grant_id_of(str_of(&second, "access_token")).0.expect("a `grant_id`");
    assert_ne!(other, grant_id);
    // No user, no grant id: client_credentials. A code flow without a refresh token is a grant
    // all the same (the user authorized the client): its one access token names it, so that
    // revoking the grant (`Attesto::revoke_grant`) cuts that token too.
    let (status, _, body) =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(grant_id_of(str_of(&body, "access_token")), (None, 0));
    let (verifier, challenge) = pkce();
    let code = authorize_with_consent(&router, "no-refresh", &challenge, FULL_SCOPE).await;
    let (status, _, body) = redeem(
        &router,
        Some(&basic("no-refresh", SECRET)),
        &[("code", &code), ("code_verifier", &verifier), ("redirect_uri", WEB_REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (lone, named) = grant_id_of(str_of(&body, "access_token"));
    assert_eq!(named, 1);
    assert!(lone.is_some_and(|id| id != grant_id && id != other), "a grant of its own");
}

/// A host whose client ids and user subjects share one namespace (row ids of one table, say):
/// `alice` is a user, and a confidential client allowed `openid` and client_credentials.
#[derive(Clone)]
#[attesto::provider]
struct SharedIds(TestHost);

impl ClientStore for SharedIds {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        if client_id == "alice" {
            let scopes = Scopes::parse("openid email read").expect("valid scopes");
            return Ok(Some(Client::confidential("alice", SecretHash::of(SECRET)).with_scopes(scopes)));
        }
        self.0.load_client(client_id).await
    }
}

impl PrincipalStore for SharedIds {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.0.authenticate(request).await
    }
    async fn build_userinfo_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, Value>, HostError> {
        self.0.build_userinfo_claims(query).await
    }
}

#[tokio::test]
async fn client_credentials_tokens_never_reach_userinfo() {
    // The client `alice` acting for itself gets a token with `sub` "alice" (RFC 9068 §2.2);
    // with `openid` in it, userinfo would hand out the user alice's claims.
    let router = provider(SharedIds(TestHost::new())).router();
    let auth = basic("alice", SECRET);
    let response = token(&router, TOKEN, Some(&auth), "grant_type=client_credentials&scope=openid+email").await;
    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    // No scope asked: the client's allowed scopes, without `openid`.
    let (status, _, body) = token(&router, TOKEN, Some(&auth), "grant_type=client_credentials").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "email read");
    assert!(body.get("id_token").is_none(), "{body}");
    let (status, _, body) = userinfo(&router, false, Some(&format!("Bearer {}", str_of(&body, "access_token")))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn userinfo_refuses_a_token_for_another_resource() {
    let (_, router) = setup();
    let body = sign_in(&router, FULL_SCOPE, &[("resource", RESOURCE)]).await;
    assert_invalid_token(&router, str_of(&body, "access_token")).await;
}

#[tokio::test]
async fn userinfo_refuses_an_id_token() {
    let (_, router) = setup();
    let body = sign_in(&router, FULL_SCOPE, &[]).await;
    // Signed by the right key, but `typ` JWT and `aud` the client: not an access token.
    assert_invalid_token(&router, str_of(&body, "id_token")).await;
}

/// A provider signing with the P-256 fixture key, whose private half the test holds too.
fn fixture_provider() -> (Attesto<TestHost>, String) {
    let key = Key::from_pem(P256_PEM).expect("the fixture key loads");
    let kid = key.kid().to_owned();
    let attesto = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(key)
        .resource(RESOURCE)
        .expect("valid resource")
        .build()
        .expect("provider builds");
    (attesto, kid)
}

fn crafted_claims(exp: u64) -> Value {
    let now = unix_now();
    json!({
        "iss": ISSUER,
        "sub": "mallory",
        "aud": ISSUER,
        "exp": exp,
        "iat": now.min(exp),
        "jti": format!("crafted-{}", b64u(&rand::random::<[u8; 8]>())),
        "client_id": "first-party",
        "scope": "openid email",
    })
}

fn es256_header(kid: &str) -> Header {
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(kid.to_owned());
    header
}

fn sign_with_fixture(header: &Header, claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(P256_PEM.as_bytes()).expect("the fixture key loads");
    jsonwebtoken::encode(header, claims, &key).expect("signs")
}

#[tokio::test]
async fn userinfo_accepts_a_token_signed_with_the_providers_key() {
    // The control for the tests below: a token crafted here with the provider's own key passes,
    // so their refusals come from the one thing each changes.
    let (attesto, kid) = fixture_provider();
    let router = attesto.router();
    let token = sign_with_fixture(&es256_header(&kid), &crafted_claims(unix_now() + 300));
    let claims = userinfo_claims(&router, false, &token).await;
    assert_eq!(claims["sub"], "mallory");
    assert_eq!(claims["email"], "mallory@example.com");
}

#[tokio::test]
async fn userinfo_refuses_an_expired_token() {
    let (attesto, kid) = fixture_provider();
    let router = attesto.router();
    let token = sign_with_fixture(&es256_header(&kid), &crafted_claims(unix_now() - 1));
    assert_invalid_token(&router, &token).await;
}

#[tokio::test]
async fn userinfo_refuses_a_token_signed_by_another_key() {
    // The provider has a fresh key; the token claims its kid but is signed with the fixture key.
    let attesto = test_provider();
    let kid = attesto.keys().signing_key().kid().to_owned();
    let router = attesto.router();
    let token = sign_with_fixture(&es256_header(&kid), &crafted_claims(unix_now() + 300));
    assert_invalid_token(&router, &token).await;
    // Nor with a kid the provider does not know, or none.
    let token = sign_with_fixture(&es256_header("unknown-kid"), &crafted_claims(unix_now() + 300));
    assert_invalid_token(&router, &token).await;
    let mut header = es256_header(&kid);
    header.kid = None;
    assert_invalid_token(&router, &sign_with_fixture(&header, &crafted_claims(unix_now() + 300))).await;
}

#[tokio::test]
async fn userinfo_refuses_alg_none() {
    let (attesto, kid) = fixture_provider();
    let router = attesto.router();
    let claims = b64u(crafted_claims(unix_now() + 300).to_string().as_bytes());
    for alg in ["none", "None", "NONE"] {
        let header = b64u(json!({"alg": alg, "typ": "at+jwt", "kid": kid}).to_string().as_bytes());
        assert_invalid_token(&router, &format!("{header}.{claims}.")).await;
        // With the signature of a real token glued on.
        let real = sign_with_fixture(&es256_header(&kid), &crafted_claims(unix_now() + 300));
        let signature = real.rsplit('.').next().expect("signature");
        assert_invalid_token(&router, &format!("{header}.{claims}.{signature}")).await;
    }
}

#[tokio::test]
async fn userinfo_refuses_hmac_with_the_public_key() {
    // The classic key confusion: HS256 keyed with the public key the JWKS publishes.
    let (attesto, kid) = fixture_provider();
    let router = attesto.router();
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(kid);
    let claims = crafted_claims(unix_now() + 300);
    for secret in [P256_PUBLIC_PEM.as_bytes(), P256_PEM.as_bytes(), b"secret".as_slice()] {
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).expect("signs");
        assert_invalid_token(&router, &token).await;
    }
}

#[tokio::test]
async fn userinfo_refuses_wrong_type_issuer_and_crit() {
    let (attesto, kid) = fixture_provider();
    let router = attesto.router();
    let claims = crafted_claims(unix_now() + 300);
    let mut header = es256_header(&kid);
    header.typ = Some("JWT".to_owned());
    assert_invalid_token(&router, &sign_with_fixture(&header, &claims)).await;
    header.typ = None;
    assert_invalid_token(&router, &sign_with_fixture(&header, &claims)).await;
    let mut header = es256_header(&kid);
    header.crit = Some(vec!["exp".to_owned()]);
    assert_invalid_token(&router, &sign_with_fixture(&header, &claims)).await;
    let mut other_issuer = claims.clone();
    other_issuer["iss"] = json!("https://evil.example");
    assert_invalid_token(&router, &sign_with_fixture(&es256_header(&kid), &other_issuer)).await;
    let mut other_audience = claims;
    other_audience["aud"] = json!(RESOURCE);
    assert_invalid_token(&router, &sign_with_fixture(&es256_header(&kid), &other_audience)).await;
}

#[tokio::test]
async fn userinfo_rejects_repeated_authorization_headers() {
    let (_, router) = setup();
    let body = sign_in(&router, FULL_SCOPE, &[]).await;
    let bearer = format!("Bearer {}", str_of(&body, "access_token"));
    let request = Request::get(USERINFO)
        .header(header::AUTHORIZATION, &bearer)
        .header(header::AUTHORIZATION, &bearer)
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
}
