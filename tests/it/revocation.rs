//! Token revocation (RFC 7009) and introspection (RFC 7662) through the real router: one test
//! per rule, each checking the exact answer.

use std::time::Duration;

use crate::common::*;
use attesto::{Attesto, Client, ClientStore, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore};
use axum::Router;
use axum::body::Body;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};

const TOKEN: &str = TestHost::PATHS.token;
const REVOKE: &str = "/oauth/revoke";
const INTROSPECT: &str = "/oauth/introspect";
const USERINFO: &str = "/oauth/userinfo";

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn first_party() -> String {
    basic("first-party", SECRET)
}

/// `alice` signs in to `client` (consent granted by the test host's policy) and the code is
/// redeemed; the token response.
async fn sign_in(router: &Router, client: &str, authorization: Option<&str>, redirect: &str) -> Value {
    let (verifier, challenge) = pkce();
    // OIDC Core §11: refresh tokens need `offline_access`.
    let code =
        authorize_code(router, client, redirect, &challenge, "openid profile read offline_access", "alice", &[]).await;
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", redirect),
    ];
    if authorization.is_none() {
        pairs.push(("client_id", client));
    }
    let (status, _, body) = token(router, TOKEN, authorization, &form(&pairs)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// `POST {revocation}`: status and body.
async fn revoke(router: &Router, authorization: Option<&str>, pairs: &[(&str, &str)]) -> (StatusCode, Vec<u8>) {
    let mut request = Request::post(REVOKE).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    let (status, headers, body) = send(router, request.body(Body::from(form(pairs))).expect("request")).await;
    if status == StatusCode::OK {
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }
    (status, body)
}

/// A successful revocation: 200, nothing in the body (RFC 7009 §2.2).
async fn assert_revoked_ok(router: &Router, authorization: Option<&str>, pairs: &[(&str, &str)]) {
    let (status, body) = revoke(router, authorization, pairs).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert!(body.is_empty(), "{}", String::from_utf8_lossy(&body));
}

async fn introspect(router: &Router, authorization: &str, pairs: &[(&str, &str)]) -> Value {
    let (status, headers, body) = token(router, INTROSPECT, Some(authorization), &form(pairs)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    body
}

async fn userinfo_status(router: &Router, access_token: &str) -> StatusCode {
    let request = Request::get(USERINFO).header(header::AUTHORIZATION, format!("Bearer {access_token}"));
    send(router, request.body(Body::empty()).expect("request")).await.0
}

async fn refresh_status(router: &Router, authorization: &str, refresh_token: &str) -> (StatusCode, Value) {
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
    let (status, _, body) = token(router, TOKEN, Some(authorization), &body).await;
    (status, body)
}

#[tokio::test]
async fn a_revoked_access_token_is_refused_by_userinfo_and_inactive_at_introspection() {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let access = str_of(&tokens, "access_token");
    assert_eq!(userinfo_status(&router, access).await, StatusCode::OK);
    assert_eq!(introspect(&router, &first_party(), &[("token", access)]).await["active"], true);

    assert_revoked_ok(&router, Some(&first_party()), &[("token", access), ("token_type_hint", "access_token")]).await;
    assert_eq!(userinfo_status(&router, access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(introspect(&router, &first_party(), &[("token", access)]).await, json!({"active": false}));
    // Revoking the access token leaves the grant alone: the refresh token still works.
    let (status, body) = refresh_status(&router, &first_party(), str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(host.events().contains(&"revoked first-party alice access_token".to_owned()), "{:?}", host.events());
}

#[tokio::test]
async fn a_revoked_refresh_token_revokes_its_family() {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    // Rotate once, so that the family has an old and a current token.
    let (status, rotated) = refresh_status(&router, &first_party(), str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let current = str_of(&rotated, "refresh_token");

    assert_revoked_ok(&router, Some(&first_party()), &[("token", current), ("token_type_hint", "refresh_token")]).await;
    let (status, body) = refresh_status(&router, &first_party(), current).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(introspect(&router, &first_party(), &[("token", current)]).await, json!({"active": false}));
    assert!(host.events().contains(&"revoked first-party alice refresh_token".to_owned()), "{:?}", host.events());
}

/// A grant of `alice` at `first-party` whose refresh token was used `refreshes` times: the
/// access token of each response (the code's first) and the refresh token now current.
async fn grant_with_refreshes(router: &Router, refreshes: usize) -> (Vec<String>, Vec<String>) {
    let tokens = sign_in(router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let mut access = vec![str_of(&tokens, "access_token").to_owned()];
    let mut refresh = vec![str_of(&tokens, "refresh_token").to_owned()];
    for _ in 0..refreshes {
        let current = refresh.last().expect("a refresh token");
        let (status, rotated) = refresh_status(router, &first_party(), current).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        access.push(str_of(&rotated, "access_token").to_owned());
        refresh.push(str_of(&rotated, "refresh_token").to_owned());
    }
    (access, refresh)
}

/// Userinfo refuses `access_token` as `invalid_token` (RFC 6750 §3.1).
async fn assert_invalid_token(router: &Router, access_token: &str) {
    let request = Request::get(USERINFO).header(header::AUTHORIZATION, format!("Bearer {access_token}"));
    let (status, headers, body) = send(router, request.body(Body::empty()).expect("request")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", String::from_utf8_lossy(&body));
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().expect("ASCII challenge");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let body: Value = serde_json::from_slice(&body).expect("JSON error");
    assert_eq!(body["error"], "invalid_token");
}

/// Every one of `access_tokens` is refused at userinfo and inactive at introspection.
async fn assert_all_revoked(router: &Router, access_tokens: &[String]) {
    for (i, access) in access_tokens.iter().enumerate() {
        assert_invalid_token(router, access).await;
        let inactive = introspect(router, &first_party(), &[("token", access)]).await;
        assert_eq!(inactive, json!({"active": false}), "access token {i}");
    }
}

/// Every one of `access_tokens` works at userinfo and is active at introspection.
async fn assert_all_active(router: &Router, access_tokens: &[String]) {
    for (i, access) in access_tokens.iter().enumerate() {
        assert_eq!(userinfo_status(router, access).await, StatusCode::OK, "access token {i}");
        assert_eq!(introspect(router, &first_party(), &[("token", access)]).await["active"], true, "{i}");
    }
}

#[tokio::test]
async fn a_revoked_refresh_token_revokes_every_access_token_of_its_grant() {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    // A0 from the code, A1 and A2 from two refreshes; and another grant of the same user and
    // client.
    let (access, refresh) = grant_with_refreshes(&router, 2).await;
    let (other_access, other_refresh) = grant_with_refreshes(&router, 1).await;
    assert_all_active(&router, &access).await;

    let current = refresh.last().expect("the current refresh token");
    assert_revoked_ok(&router, Some(&first_party()), &[("token", current), ("token_type_hint", "refresh_token")]).await;
    // RFC 7009 §2.1: "SHOULD also invalidate all access tokens based on the same authorization
    // grant" — the earlier refreshes' too, not only the refresh token's family.
    assert_all_revoked(&router, &access).await;
    let (status, body) = refresh_status(&router, &first_party(), current).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{body}");
    // The other grant is untouched.
    assert_all_active(&router, &other_access).await;
    let (status, body) = refresh_status(&router, &first_party(), other_refresh.last().expect("current")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked = host.events().iter().filter(|e| *e == "revoked first-party alice refresh_token").count();
    assert_eq!(revoked, 1, "one `token_revoked` event, as before: {:?}", host.events());
}

#[tokio::test]
async fn a_reused_refresh_token_revokes_every_access_token_of_its_grant() {
    let router = test_provider().router();
    let (access, refresh) = grant_with_refreshes(&router, 2).await;
    let (other_access, _) = grant_with_refreshes(&router, 1).await;
    assert_all_active(&router, &access).await;

    // The code's refresh token, rotated out twice, comes back (RFC 9700 §4.14.2).
    let (status, body) = refresh_status(&router, &first_party(), &refresh[0]).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "{body}");
    assert_all_revoked(&router, &access).await;
    assert_all_active(&router, &other_access).await;
}

#[tokio::test]
async fn the_hint_is_only_a_hint() {
    let router = test_provider().router();
    // A refresh token sent with the access-token hint, and an access token with the refresh
    // hint or an unknown one: each is still found and revoked (RFC 7009 §2.1).
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let refresh = str_of(&tokens, "refresh_token");
    assert_revoked_ok(&router, Some(&first_party()), &[("token", refresh), ("token_type_hint", "access_token")]).await;
    assert_eq!(refresh_status(&router, &first_party(), refresh).await.1["error"], "invalid_grant");

    for hint in ["refresh_token", "something_else"] {
        let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
        let access = str_of(&tokens, "access_token");
        assert_revoked_ok(&router, Some(&first_party()), &[("token", access), ("token_type_hint", hint)]).await;
        assert_eq!(userinfo_status(&router, access).await, StatusCode::UNAUTHORIZED, "hint {hint}");
    }
}

#[tokio::test]
async fn unknown_and_foreign_tokens_are_200_with_no_effect() {
    let host = TestHost::new();
    let router = provider(host.clone()).router();
    for garbage in ["nonsense", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        assert_revoked_ok(&router, Some(&first_party()), &[("token", garbage)]).await;
    }
    // `native`'s tokens, revoked by `first-party`: 200, and they still work.
    let native = sign_in(&router, "native", None, "http://127.0.0.1:50123/callback").await;
    for name in ["access_token", "refresh_token"] {
        assert_revoked_ok(&router, Some(&first_party()), &[("token", str_of(&native, name))]).await;
    }
    assert_eq!(userinfo_status(&router, str_of(&native, "access_token")).await, StatusCode::OK);
    let body = form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", str_of(&native, "refresh_token")),
        ("client_id", "native"),
    ]);
    let (status, _, refreshed) = token(&router, TOKEN, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(!host.events().iter().any(|e| e.starts_with("revoked")), "{:?}", host.events());
}

#[tokio::test]
async fn a_public_client_revokes_its_own_tokens_with_its_client_id() {
    let router = test_provider().router();
    let tokens = sign_in(&router, "native", None, "http://127.0.0.1:50123/callback").await;
    let refresh = str_of(&tokens, "refresh_token");
    assert_revoked_ok(&router, None, &[("token", refresh), ("client_id", "native")]).await;
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", "native")]);
    let (status, _, body) = token(&router, TOKEN, None, &body).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
}

#[tokio::test]
async fn revocation_authenticates_the_client_as_the_token_endpoint_does() {
    let router = test_provider().router();
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let access = str_of(&tokens, "access_token");
    type Case<'a> = (Option<String>, Vec<(&'a str, &'a str)>, StatusCode, &'a str);
    let cases: [Case<'_>; 5] = [
        (None, vec![("token", access)], StatusCode::BAD_REQUEST, "invalid_client"),
        (Some(basic("first-party", "wrong")), vec![("token", access)], StatusCode::UNAUTHORIZED, "invalid_client"),
        (Some(basic("nobody-knows", SECRET)), vec![("token", access)], StatusCode::UNAUTHORIZED, "invalid_client"),
        // A confidential client naming itself without its secret.
        (None, vec![("token", access), ("client_id", "first-party")], StatusCode::BAD_REQUEST, "invalid_client"),
        (Some(first_party()), vec![], StatusCode::BAD_REQUEST, "invalid_request"),
    ];
    for (authorization, pairs, status, error) in cases {
        let (actual, body) = revoke(&router, authorization.as_deref(), &pairs).await;
        let body: Value = serde_json::from_slice(&body).expect("JSON error");
        assert_eq!((actual, body["error"].as_str()), (status, Some(error)), "{pairs:?}");
    }
    // The token is untouched by all of that.
    assert_eq!(userinfo_status(&router, access).await, StatusCode::OK);
    // A form body is required, and parameters appear once.
    let request = Request::post(REVOKE)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, first_party())
        .body(Body::from(format!("{{\"token\":\"{access}\"}}")))
        .expect("request");
    assert_error(&send_json(&router, request).await, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, body) = revoke(&router, Some(&first_party()), &[("token", access), ("token", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn introspection_describes_an_active_access_token() {
    let router = test_provider().router();
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let body = introspect(&router, &first_party(), &[("token", str_of(&tokens, "access_token"))]).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["scope"], "openid profile read offline_access");
    assert_eq!(body["client_id"], "first-party");
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["aud"], json!([ISSUER]));
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["token_type"], "Bearer");
    let (exp, iat) = (body["exp"].as_u64().expect("exp"), body["iat"].as_u64().expect("iat"));
    assert_eq!(exp - iat, 900);
    assert!(body["jti"].is_string());
}

#[tokio::test]
async fn introspection_describes_an_active_refresh_token() {
    let router = test_provider().router();
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let refresh = str_of(&tokens, "refresh_token");
    let body = introspect(&router, &first_party(), &[("token", refresh), ("token_type_hint", "refresh_token")]).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["token_type"], "refresh_token");
    assert_eq!(body["client_id"], "first-party");
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "openid profile read offline_access");
    assert!(body["exp"].as_u64().is_some());
    // Once rotated out it is no longer active.
    assert_eq!(refresh_status(&router, &first_party(), refresh).await.0, StatusCode::OK);
    assert_eq!(introspect(&router, &first_party(), &[("token", refresh)]).await, json!({"active": false}));
}

#[tokio::test]
async fn introspection_never_errs_for_a_bad_token() {
    let router = test_provider().router();
    for garbage in ["", "nonsense", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."] {
        let pairs: Vec<(&str, &str)> = if garbage.is_empty() { vec![] } else { vec![("token", garbage)] };
        if pairs.is_empty() {
            // No token at all is a malformed request, not a bad token.
            let (status, _, body) = token(&router, INTROSPECT, Some(&first_party()), "").await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
            continue;
        }
        assert_eq!(introspect(&router, &first_party(), &pairs).await, json!({"active": false}), "{garbage}");
    }
}

#[tokio::test]
async fn introspection_of_another_clients_token_is_inactive() {
    let router = test_provider().router();
    let native = sign_in(&router, "native", None, "http://127.0.0.1:50123/callback").await;
    for name in ["access_token", "refresh_token"] {
        let body = introspect(&router, &first_party(), &[("token", str_of(&native, name))]).await;
        assert_eq!(body, json!({"active": false}), "{name}");
    }
}

#[tokio::test]
async fn introspection_is_for_authenticated_callers_only() {
    let router = test_provider().router();
    let tokens = sign_in(&router, "native", None, "http://127.0.0.1:50123/callback").await;
    let access = str_of(&tokens, "access_token");
    // A public client cannot authenticate, so it cannot introspect, not even its own token.
    let body = form(&[("token", access), ("client_id", "native")]);
    assert_error(&token(&router, INTROSPECT, None, &body).await, StatusCode::BAD_REQUEST, "invalid_client");
    assert_error(
        &token(&router, INTROSPECT, None, &form(&[("token", access)])).await,
        StatusCode::BAD_REQUEST,
        "invalid_client",
    );
    assert_error(
        &token(&router, INTROSPECT, Some(&basic("first-party", "wrong")), &form(&[("token", access)])).await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

/// A resource server (here the `service` client) may introspect tokens issued for it: its client
/// id is among their audiences. It may not revoke them: only the client holding a token does.
#[tokio::test]
async fn an_audience_may_introspect_but_not_revoke() {
    let auth = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .default_audience("service")
        .build()
        .expect("provider");
    let router = auth.router();
    let tokens = sign_in(&router, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let access = str_of(&tokens, "access_token");
    let service = basic("service", SECRET);
    let body = introspect(&router, &service, &[("token", access)]).await;
    assert_eq!((body["active"].as_bool(), body["aud"].clone()), (Some(true), json!(["service"])));
    assert_revoked_ok(&router, Some(&service), &[("token", access)]).await;
    assert_eq!(introspect(&router, &service, &[("token", access)]).await["active"], true);
    // The `web` client is neither holder nor audience.
    assert_eq!(introspect(&router, &basic("web", SECRET), &[("token", access)]).await, json!({"active": false}));
}

#[tokio::test]
async fn discovery_advertises_revocation_and_introspection_and_they_are_mounted() {
    let router = test_provider().router();
    let request = Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request");
    let (_, _, metadata) = send_json(&router, request).await;
    assert_eq!(metadata["revocation_endpoint"], format!("{ISSUER}{REVOKE}"));
    assert_eq!(
        metadata["revocation_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
    );
    assert_eq!(metadata["introspection_endpoint"], format!("{ISSUER}{INTROSPECT}"));
    assert_eq!(
        metadata["introspection_endpoint_auth_methods_supported"],
        json!(["client_secret_basic", "client_secret_post", "private_key_jwt"])
    );
    for path in [REVOKE, INTROSPECT] {
        let request = Request::get(path).body(Body::empty()).expect("request");
        assert_eq!(send(&router, request).await.0, StatusCode::METHOD_NOT_ALLOWED, "{path} is a POST route");
    }
}

/// A host with revocation and introspection switched off.
#[derive(Clone)]
#[attesto::provider(revocation = false, introspection = false)]
struct Closed;

impl ClientStore for Closed {
    async fn load_client(&self, _: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl PrincipalStore for Closed {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

#[tokio::test]
async fn switched_off_they_are_neither_mounted_nor_advertised() {
    let router = provider(Closed).router();
    let request = Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request");
    let (_, _, metadata) = send_json(&router, request).await;
    for member in [
        "revocation_endpoint",
        "revocation_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
        "introspection_endpoint",
        "introspection_endpoint_auth_methods_supported",
        "introspection_endpoint_auth_signing_alg_values_supported",
    ] {
        assert!(metadata.get(member).is_none(), "{member} in {metadata}");
    }
    for path in [REVOKE, INTROSPECT] {
        let request = Request::post(path).body(Body::empty()).expect("request");
        assert_eq!(send(&router, request).await.0, StatusCode::NOT_FOUND, "{path}");
    }
}

// ---------------------------------------------------------------------------------------------
// Revocations across instances and restarts
// ---------------------------------------------------------------------------------------------

/// A provider on `store` signing with `key`: one instance of several, or one life of a restarted
/// one.
fn instance(store: &std::sync::Arc<attesto::MemoryStore>, key: &Key, interval: Duration) -> Router {
    Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(key.clone())
        .store(store.clone())
        .revocation_refresh_interval(interval)
        .build()
        .expect("provider builds")
        .router()
}

#[tokio::test]
async fn a_revocation_at_one_instance_is_refused_by_another_after_the_refresh_interval() {
    let (store, key) =
        (std::sync::Arc::<attesto::MemoryStore>::default(), Key::generate(attesto::Algorithm::ES256).expect("key"));
    let interval = Duration::from_millis(300);
    let (a, b) = (instance(&store, &key, interval), instance(&store, &key, interval));
    let tokens = sign_in(&a, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let access = str_of(&tokens, "access_token");
    // B reads the (empty) list now, and then not again for an interval.
    assert_eq!(userinfo_status(&b, access).await, StatusCode::OK);

    assert_revoked_ok(&a, Some(&first_party()), &[("token", access)]).await;
    assert_eq!(userinfo_status(&a, access).await, StatusCode::UNAUTHORIZED, "refused at once where revoked");
    tokio::time::sleep(interval).await;
    assert_eq!(userinfo_status(&b, access).await, StatusCode::UNAUTHORIZED, "refused elsewhere after the interval");
    assert_eq!(introspect(&b, &first_party(), &[("token", access)]).await, json!({"active": false}));
}

#[tokio::test]
async fn a_grant_revoked_at_one_instance_is_refused_by_another_after_the_refresh_interval() {
    let (store, key) =
        (std::sync::Arc::<attesto::MemoryStore>::default(), Key::generate(attesto::Algorithm::ES256).expect("key"));
    let interval = Duration::from_millis(300);
    let (a, b) = (instance(&store, &key, interval), instance(&store, &key, interval));
    let (access, refresh) = grant_with_refreshes(&a, 1).await;
    let (other_access, _) = grant_with_refreshes(&a, 0).await;
    // B reads the (empty) list now, and then not again for an interval.
    assert_all_active(&b, &access).await;

    let current = refresh.last().expect("the current refresh token");
    assert_revoked_ok(&a, Some(&first_party()), &[("token", current)]).await;
    assert_all_revoked(&a, &access).await;
    tokio::time::sleep(interval).await;
    assert_all_revoked(&b, &access).await;
    assert_all_active(&b, &other_access).await;
}

#[tokio::test]
async fn a_token_revoked_before_a_restart_is_refused_after_it() {
    let (store, key) =
        (std::sync::Arc::<attesto::MemoryStore>::default(), Key::generate(attesto::Algorithm::ES256).expect("key"));
    let before = instance(&store, &key, Duration::from_secs(5));
    let tokens = sign_in(&before, "first-party", Some(&first_party()), WEB_REDIRECT).await;
    let access = str_of(&tokens, "access_token");
    assert_revoked_ok(&before, Some(&first_party()), &[("token", access)]).await;
    drop(before);

    // The restarted process has read nothing yet: its first check reads the store's list.
    let after = instance(&store, &key, Duration::from_secs(5));
    assert_eq!(userinfo_status(&after, access).await, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_refresh_interval_is_bounded() {
    let built = Attesto::builder(TestHost::new())
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .revocation_refresh_interval(Duration::from_secs(3601))
        .build();
    assert!(
        matches!(built, Err(attesto::ConfigError::Lifetime { what: "revocation_refresh_interval", .. })),
        "an interval over an hour is refused"
    );
}
