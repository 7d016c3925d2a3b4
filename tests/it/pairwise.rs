//! Pairwise subject identifiers of the host's clients (OpenID Connect Core §8.1): a client set up
//! with `Client::with_pairwise_subjects` sees each user under a `sub` of its sector — in its ID
//! tokens, at refresh and at userinfo —, clients of other sectors see another, and access tokens
//! keep the user's own identifier for the host's resource servers. Without the provider's secret,
//! issuing to such a client fails rather than falling back to the user's own identifier.
//! Registration of pairwise clients, sector identifier documents and logout hints are tested
//! through the quickstart (`grants.rs`).

use std::sync::Arc;

use attesto::{Attesto, Key};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{
    ISSUER, NATIVE_REDIRECT, RESOURCE, SECRET, TestHost, WEB_REDIRECT, authorize_code, basic, clients, pkce, send_json,
    token,
};

const TOKEN: &str = TestHost::PATHS.token;
const SCOPE: &str = "openid offline_access read";

/// The test host, its `first-party` web app of the sector `a.example` and its `native` app of
/// `b.example` (both granted without a consent page).
fn host() -> TestHost {
    let mut clients = clients();
    for (id, sector) in [("first-party", "a.example"), ("native", "b.example")] {
        let client = clients.remove(id).expect("a test client");
        clients.insert(id.to_owned(), client.with_pairwise_subjects(sector));
    }
    TestHost { clients: Arc::new(clients), events: Arc::default() }
}

/// The P-256 test key, for two providers that must verify each other's tokens.
const P256_PEM: &str = include_str!("../../attesto-runtime/tests/fixtures/keys/p256.pkcs8.pem");

/// The provider's router, with the pairwise `secret` if any.
fn router(secret: Option<[u8; 32]>) -> Router {
    router_of(host(), Key::generate(attesto::Algorithm::ES256).expect("key"), secret)
}

fn router_of(host: TestHost, key: Key, secret: Option<[u8; 32]>) -> Router {
    let builder = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(key)
        .resource(RESOURCE)
        .expect("valid resource");
    let builder = match secret {
        Some(secret) => builder.pairwise_subject_secret(secret),
        None => builder,
    };
    builder.build().expect("provider builds").router()
}

/// `subject` signs in to `client_id` and redeems the code: the token endpoint's answer.
async fn sign_in(router: &Router, client_id: &str, subject: &str) -> (StatusCode, Value) {
    let (verifier, challenge) = pkce();
    let (redirect, auth) = match client_id {
        "native" => (NATIVE_REDIRECT, None),
        _ => (WEB_REDIRECT, Some(basic(client_id, SECRET))),
    };
    let code = authorize_code(router, client_id, redirect, &challenge, SCOPE, subject, &[]).await;
    let mut body = form_urlencoded::Serializer::new(String::new());
    body.extend_pairs([
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", redirect),
    ]);
    if auth.is_none() {
        body.append_pair("client_id", client_id);
    }
    let (status, _, tokens) = token(router, TOKEN, auth.as_deref(), &body.finish()).await;
    (status, tokens)
}

fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

fn sub_of(tokens: &Value, token: &str) -> String {
    let jwt = tokens[token].as_str().unwrap_or_else(|| panic!("`{token}` in {tokens}"));
    payload(jwt)["sub"].as_str().expect("a sub").to_owned()
}

#[tokio::test]
async fn each_sector_sees_its_own_stable_subject_and_access_tokens_keep_the_users_own() {
    let router = router(Some([9; 32]));
    let (status, web) = sign_in(&router, "first-party", "alice").await;
    assert_eq!(status, StatusCode::OK, "{web}");
    let (status, native) = sign_in(&router, "native", "alice").await;
    assert_eq!(status, StatusCode::OK, "{native}");
    let (a, b) = (sub_of(&web, "id_token"), sub_of(&native, "id_token"));
    assert_ne!(a, "alice");
    assert_ne!(a, b, "two sectors, two subjects");
    assert_eq!(sub_of(&web, "access_token"), "alice");
    assert_eq!(sub_of(&native, "access_token"), "alice");

    // Stable for one user and sector; another user's differs.
    let (_, again) = sign_in(&router, "first-party", "alice").await;
    assert_eq!(sub_of(&again, "id_token"), a);
    let (_, bob) = sign_in(&router, "first-party", "bob").await;
    assert_ne!(sub_of(&bob, "id_token"), a);

    // Userinfo and the ID token of a refresh say the same `sub`.
    let access_token = web["access_token"].as_str().expect("an access token");
    let request = Request::get(TestHost::PATHS.userinfo.expect("userinfo is on"))
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .expect("request");
    let (status, _, claims) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{claims}");
    assert_eq!(claims["sub"], a.as_str());
    let refresh_token = web["refresh_token"].as_str().expect("a refresh token");
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
        .finish();
    let (status, _, refreshed) = token(&router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert_eq!(sub_of(&refreshed, "id_token"), a);

    let request = Request::get("/.well-known/openid-configuration").body(Body::empty()).expect("request");
    let (_, _, discovery) = send_json(&router, request).await;
    assert_eq!(discovery["subject_types_supported"], json!(["public", "pairwise"]));
}

#[tokio::test]
async fn without_the_secret_a_pairwise_client_gets_no_tokens_rather_than_the_users_own_subject() {
    let router = router(None);
    // Refused at the authorization endpoint, once the user is known: no code is issued.
    let (_, challenge) = pkce();
    let uri = crate::common::authorize_url(
        TestHost::PATHS.authorize,
        &[
            ("response_type", "code"),
            ("client_id", "first-party"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("scope", SCOPE),
        ],
    );
    let cookie = crate::common::session_cookie("alice");
    let (status, headers, _) = crate::common::browser_get(&router, &uri, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = crate::common::redirect_params(&headers);
    assert_eq!(params.get("error").map(String::as_str), Some("server_error"), "{params:?}");
    assert_eq!(
        params.get("error_description").map(String::as_str),
        Some("pairwise subject identifiers are not configured")
    );
    assert!(!params.contains_key("code"));
    // Discovery offers `public` alone.
    let request = Request::get("/.well-known/openid-configuration").body(Body::empty()).expect("request");
    let (_, _, discovery) = send_json(&router, request).await;
    assert_eq!(discovery["subject_types_supported"], json!(["public"]));
}

#[tokio::test]
async fn userinfo_refuses_a_token_whose_client_is_gone() {
    let key = || Key::from_pem(P256_PEM).expect("the fixture key");
    let before = router_of(host(), key(), Some([9; 32]));
    let (status, tokens) = sign_in(&before, "first-party", "alice").await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let mut without = host();
    let mut clients = (*without.clients).clone();
    clients.remove("first-party");
    without.clients = Arc::new(clients);
    let after = router_of(without, key(), Some([9; 32]));
    let access_token = tokens["access_token"].as_str().expect("an access token");
    let request = Request::get(TestHost::PATHS.userinfo.expect("userinfo is on"))
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .body(Body::empty())
        .expect("request");
    let (status, headers, body) = send_json(&after, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\", error_description=\"the access token is invalid, expired or revoked\""
    );
    assert_eq!(
        body,
        json!({
            "error": "invalid_token",
            "error_description": "the access token is invalid, expired or revoked",
        })
    );
}

/// A `sub` requested with a value in the `claims` parameter (OIDC Core §5.5.1) names the user as
/// the client knows them: a pairwise client names the signed-in user by the `sub` of its sector,
/// and the user's own identifier is another user to it (`login_required`).
#[tokio::test]
async fn a_requested_sub_is_the_one_of_the_clients_sector() {
    let router = router(Some([9; 32]));
    let (_, first) = sign_in(&router, "first-party", "alice").await;
    let known_as = sub_of(&first, "id_token");
    for (named, outcome) in [(known_as.as_str(), "code"), ("alice", "login_required")] {
        let (_, challenge) = pkce();
        let claims = json!({"id_token": {"sub": {"value": named}}}).to_string();
        let uri = crate::common::authorize_url(
            TestHost::PATHS.authorize,
            &[
                ("response_type", "code"),
                ("client_id", "first-party"),
                ("redirect_uri", WEB_REDIRECT),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("scope", SCOPE),
                ("claims", &claims),
            ],
        );
        let cookie = crate::common::session_cookie("alice");
        let (status, headers, _) = crate::common::browser_get(&router, &uri, Some(&cookie)).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let (_, params) = crate::common::redirect_params(&headers);
        match outcome {
            "code" => assert!(params.contains_key("code"), "{named}: {params:?}"),
            error => assert_eq!(params.get("error").map(String::as_str), Some(error), "{named}: {params:?}"),
        }
    }
}
