//! Authentication strength at the resource (RFC 9470): the access token carries the sign-in's
//! `auth_time`, `acr` and `amr` (RFC 9068 §2.2.1), a guard or one operation requires an
//! authentication context class or a recent sign-in, and a token that falls short is answered
//! `401 insufficient_user_authentication` with the challenge the client re-authorizes with.
//!
//! Tokens come from the real authorization and token endpoints: the test host signs the user in
//! with `urn:test:mfa` when the client asks for it in `acr_values`, with `urn:test:pwd` otherwise,
//! at the time its session cookie says.

use std::time::{Duration, SystemTime};

use crate::common::dpop_key::p256;
use crate::common::resource::{METADATA_URL, call, challenges};
use crate::common::*;
use attesto::{Attesto, Authenticated, InsufficientUserAuthentication, Key};
use axum::body::Body;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

const TOKEN: &str = "/oauth/token";
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
const MFA: &str = "urn:test:mfa";
const STRONGER: &str = "a stronger authentication of the user is required (see acr_values)";
const MORE_RECENT: &str = "a more recent authentication of the user is required (see max_age)";

fn auth() -> Attesto<TestHost> {
    Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .protected_resource(RESOURCE, ["read"])
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

async fn whoami(who: Authenticated) -> Json<Value> {
    Json(json!({ "subject": who.subject, "acr": who.acr, "auth_time": who.auth_time.map(unix) }))
}

/// One operation, inside a route that needs `read` only, needs a second factor.
async fn strong_operation(who: Authenticated) -> Result<Json<Value>, InsufficientUserAuthentication> {
    who.require_acr([MFA])?;
    Ok(whoami(who).await)
}

/// One operation needs a sign-in at most five minutes old.
async fn fresh_operation(who: Authenticated) -> Result<Json<Value>, InsufficientUserAuthentication> {
    who.require_max_age(Duration::from_secs(300))?;
    Ok(whoami(who).await)
}

/// `/mcp/strong` (the guard requires `urn:test:mfa`), `/mcp/fresh` (the guard requires a sign-in
/// at most 300 s old), `/mcp/op/strong` and `/mcp/op/fresh` (the guard requires `read`, the
/// operation the rest), and the provider.
fn app(auth: &Attesto<TestHost>) -> Router {
    let guard = auth.guard(RESOURCE).expect("valid resource");
    let strong = Router::new().route("/mcp/strong", get(whoami)).with_state(guard.require_acr([MFA, "urn:test:hwk"]));
    let fresh =
        Router::new().route("/mcp/fresh", get(whoami)).with_state(guard.require_max_age(Duration::from_secs(300)));
    let operations = Router::new()
        .route("/mcp/op/strong", get(strong_operation))
        .route("/mcp/op/fresh", get(fresh_operation))
        .with_state(guard.require_scopes(["read"]));
    Router::new().merge(strong).merge(fresh).merge(operations).merge(auth.router())
}

fn unix(time: SystemTime) -> u64 {
    time.duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs()
}

fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// `first-party` authorizes `alice` (signed in with `cookie`) for the resource with `read
/// offline_access` and `extra` parameters, and redeems the code, DPoP-bound when `proof` is
/// given: the token response.
async fn tokens(router: &Router, cookie: &str, extra: &[(&str, &str)], proof: Option<String>) -> Value {
    let (verifier, challenge) = pkce();
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", "first-party"),
        ("redirect_uri", WEB_REDIRECT),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("scope", "read offline_access"),
        ("state", "xyz"),
        ("resource", RESOURCE),
    ];
    params.extend_from_slice(extra);
    let uri = authorize_url(TestHost::PATHS.authorize, &params);
    let (status, headers, body) = browser_get(router, &uri, Some(cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (_, params) = redirect_params(&headers);
    let code = params.get("code").unwrap_or_else(|| panic!("a code in {params:?}"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", &verifier),
            ("redirect_uri", WEB_REDIRECT),
            ("resource", RESOURCE),
        ])
        .finish();
    let mut request = Request::post(TOKEN)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("first-party", SECRET));
    if let Some(proof) = proof {
        request = request.header("DPoP", proof);
    }
    let (status, _, tokens) = send_json(router, request.body(Body::from(body)).expect("request")).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// The access token of [`tokens`], as a bearer token.
async fn access_token(router: &Router, cookie: &str, extra: &[(&str, &str)]) -> String {
    tokens(router, cookie, extra, None).await["access_token"].as_str().expect("access_token").to_owned()
}

/// The access token of a refresh with `refresh_token`.
async fn refreshed(router: &Router, refresh_token: &str) -> String {
    let body = format!("grant_type=refresh_token&refresh_token={refresh_token}");
    let (status, _, tokens) = token(router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens["access_token"].as_str().expect("access_token").to_owned()
}

/// The value of `name="…"` in `challenge`.
fn parameter<'c>(challenge: &'c str, name: &str) -> &'c str {
    let marker = format!("{name}=\"");
    let start = challenge.find(&marker).unwrap_or_else(|| panic!("{name} in {challenge}")) + marker.len();
    challenge[start..].split('"').next().expect("a quoted value")
}

/// Asserts a 401 `insufficient_user_authentication` with `description` and exactly `challenge`.
fn assert_step_up(reply: &(StatusCode, http::HeaderMap, Value), description: &str, challenge: &str) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "insufficient_user_authentication", "{body}");
    assert_eq!(body["error_description"], description, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(challenges(headers), [challenge]);
}

#[tokio::test]
async fn the_access_token_carries_the_sign_ins_acr_amr_and_auth_time_and_a_refresh_keeps_them() {
    let auth = auth();
    let router = app(&auth);
    let signed_in = SystemTime::now() - Duration::from_secs(120);
    let tokens = tokens(&router, &session_cookie_at("alice", signed_in), &[("acr_values", MFA)], None).await;
    let access = tokens["access_token"].as_str().expect("access_token");
    let first = claims(access);
    assert_eq!(
        (&first["acr"], &first["amr"], &first["auth_time"]),
        (&json!(MFA), &json!(["pwd", "otp"]), &json!(unix(signed_in)))
    );
    let (status, _, body) = call(&router, "/mcp/strong", Some(&format!("Bearer {access}")), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({ "subject": "alice", "acr": MFA, "auth_time": unix(signed_in) }));
    // A refresh issues a token for the same sign-in, not a new one (RFC 9068 §2.2.1).
    let again = refreshed(&router, tokens["refresh_token"].as_str().expect("refresh_token")).await;
    let second = claims(&again);
    assert_eq!(
        (&second["acr"], &second["amr"], &second["auth_time"]),
        (&first["acr"], &first["amr"], &first["auth_time"])
    );
    let (status, _, body) = call(&router, "/mcp/strong", Some(&format!("Bearer {again}")), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_token_without_the_required_acr_is_challenged_and_passes_once_the_client_asks_for_it() {
    let auth = auth();
    let router = app(&auth);
    let password = access_token(&router, &session_cookie("alice"), &[]).await;
    assert_eq!(claims(&password)["acr"], "urn:test:pwd");
    let reply = call(&router, "/mcp/strong", Some(&format!("Bearer {password}")), &[]).await;
    assert_step_up(
        &reply,
        STRONGER,
        &format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"{STRONGER}\", \
             acr_values=\"{MFA} urn:test:hwk\", resource_metadata=\"{METADATA_URL}\""
        ),
    );
    // The client authorizes again with the challenge's `acr_values` (RFC 9470 §4).
    let acr_values = parameter(challenges(&reply.1)[0], "acr_values").to_owned();
    let stronger = access_token(&router, &session_cookie("alice"), &[("acr_values", &acr_values)]).await;
    let (status, _, body) = call(&router, "/mcp/strong", Some(&format!("Bearer {stronger}")), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["acr"], MFA);
}

#[tokio::test]
async fn a_clients_own_token_has_no_sign_in_to_meet_a_requirement() {
    let auth = auth();
    let router = app(&auth);
    let body = "grant_type=client_credentials&scope=read&resource=https%3A%2F%2Fmcp.example.com%2Fmcp";
    let (status, _, tokens) = token(&router, TOKEN, Some(&basic("service", SECRET)), body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let service = tokens["access_token"].as_str().expect("access_token");
    assert!(claims(service).get("acr").is_none() && claims(service).get("amr").is_none(), "{}", claims(service));
    let bearer = format!("Bearer {service}");
    assert_step_up(
        &call(&router, "/mcp/strong", Some(&bearer), &[]).await,
        STRONGER,
        &format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"{STRONGER}\", \
             acr_values=\"{MFA} urn:test:hwk\", resource_metadata=\"{METADATA_URL}\""
        ),
    );
    assert_step_up(
        &call(&router, "/mcp/fresh", Some(&bearer), &[]).await,
        MORE_RECENT,
        &format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"{MORE_RECENT}\", \
             max_age=\"300\", resource_metadata=\"{METADATA_URL}\""
        ),
    );
}

#[tokio::test]
async fn a_stale_sign_in_is_challenged_with_max_age_and_a_fresh_sign_in_passes() {
    let auth = auth();
    let router = app(&auth);
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let stale = tokens(&router, &session_cookie_at("alice", an_hour_ago), &[], None).await;
    let access = stale["access_token"].as_str().expect("access_token");
    let challenge = format!(
        "Bearer error=\"insufficient_user_authentication\", error_description=\"{MORE_RECENT}\", max_age=\"300\", \
         resource_metadata=\"{METADATA_URL}\""
    );
    assert_step_up(&call(&router, "/mcp/fresh", Some(&format!("Bearer {access}")), &[]).await, MORE_RECENT, &challenge);
    // A refresh does not make the sign-in recent.
    let refreshed = refreshed(&router, stale["refresh_token"].as_str().expect("refresh_token")).await;
    assert_step_up(
        &call(&router, "/mcp/fresh", Some(&format!("Bearer {refreshed}")), &[]).await,
        MORE_RECENT,
        &challenge,
    );
    // With the challenge's `max_age`, the provider does not take the stale session (OIDC Core
    // §3.1.2.1)...
    let (_, code_challenge) = pkce();
    let uri = authorize_url(
        TestHost::PATHS.authorize,
        &[
            ("response_type", "code"),
            ("client_id", "first-party"),
            ("redirect_uri", WEB_REDIRECT),
            ("code_challenge", &code_challenge),
            ("code_challenge_method", "S256"),
            ("scope", "read"),
            ("state", "xyz"),
            ("resource", RESOURCE),
            ("max_age", "300"),
        ],
    );
    let (status, headers, _) = browser_get(&router, &uri, Some(&session_cookie_at("alice", an_hour_ago))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(redirect_params(&headers).1.get("error").map(String::as_str), Some("login_required"));
    // ...and once the user signed in again, the new token passes.
    let fresh = access_token(&router, &session_cookie("alice"), &[("max_age", "300")]).await;
    let (status, _, body) = call(&router, "/mcp/fresh", Some(&format!("Bearer {fresh}")), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn one_operation_may_require_a_stronger_or_fresher_sign_in_than_its_route() {
    let auth = auth();
    let router = app(&auth);
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let weak = access_token(&router, &session_cookie_at("alice", an_hour_ago), &[]).await;
    let bearer = format!("Bearer {weak}");
    // The route lets the token in; the operation answers as a guard would, with the route's
    // scope for the client's next authorization request.
    assert_step_up(
        &call(&router, "/mcp/op/strong", Some(&bearer), &[]).await,
        STRONGER,
        &format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"{STRONGER}\", \
             acr_values=\"{MFA}\", scope=\"read\", resource_metadata=\"{METADATA_URL}\""
        ),
    );
    assert_step_up(
        &call(&router, "/mcp/op/fresh", Some(&bearer), &[]).await,
        MORE_RECENT,
        &format!(
            "Bearer error=\"insufficient_user_authentication\", error_description=\"{MORE_RECENT}\", \
             max_age=\"300\", scope=\"read\", resource_metadata=\"{METADATA_URL}\""
        ),
    );
    let strong = access_token(&router, &session_cookie("alice"), &[("acr_values", MFA)]).await;
    for path in ["/mcp/op/strong", "/mcp/op/fresh"] {
        let (status, _, body) = call(&router, path, Some(&format!("Bearer {strong}")), &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

#[tokio::test]
async fn a_dpop_bound_token_is_challenged_in_the_dpop_scheme() {
    let auth = auth();
    let router = app(&auth);
    let key = p256();
    let bound = tokens(&router, &session_cookie("alice"), &[], Some(key.proof("POST", TOKEN_URL))).await;
    let access = bound["access_token"].as_str().expect("access_token");
    let proof = key.proof_with_token("GET", "https://mcp.example.com/mcp/strong", access);
    assert_step_up(
        &call(&router, "/mcp/strong", Some(&format!("DPoP {access}")), &[&proof]).await,
        STRONGER,
        &format!(
            "DPoP error=\"insufficient_user_authentication\", error_description=\"{STRONGER}\", \
             acr_values=\"{MFA} urn:test:hwk\", algs=\"ES256 ES384 EdDSA RS256 PS256\", \
             resource_metadata=\"{METADATA_URL}\""
        ),
    );
    let proof = key.proof_with_token("GET", "https://mcp.example.com/mcp/op/fresh", access);
    let (status, _, body) = call(&router, "/mcp/op/fresh", Some(&format!("DPoP {access}")), &[&proof]).await;
    assert_eq!(status, StatusCode::OK, "a fresh sign-in passes: {body}");
}
