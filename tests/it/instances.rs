//! Two instances, one PostgreSQL: two providers serve on two loopback ports, as two instances
//! behind a load balancer do, and behave as one over real HTTP.
//!
//! They share a database schema (each with a `PostgresStore` and a `PostgresRegistrations` on a
//! pool of its own), the signing key (a fixture PEM), the DPoP nonce secret and the issuer — the
//! load balancer's address, which is the first instance's here: tokens name it as `iss`, and DPoP
//! proofs name its URLs as `htu`, whichever instance gets the request. Nothing else is shared: no
//! memory, no connections.
//!
//! PostgreSQL is the one of `tests/it/databases/mod.rs` (a schema per test; skipped with a message
//! when unreachable, a failure under `CI=true`).

use std::time::Duration;

use crate::databases;
use crate::served;
use crate::served::{Host, Http, Instance, NATIVE_REDIRECT, SCOPE, SERVICE_SECRET, basic, dpop_proof, pkce, str_of};
use attesto::PostgresStore;
use http::StatusCode;
use serde_json::json;

/// How often each instance reads the revocations the other made: short, so that the test waits
/// little.
const REFRESH_INTERVAL: Duration = Duration::from_millis(500);
/// The DPoP nonce secret both instances share (RFC 9449 §8: a nonce from one must verify at the
/// other).
const NONCE_SECRET: [u8; 32] = *b"instances test dpop nonce secret";

/// Two instances on one schema, and the HTTP side.
struct Pair {
    a: Instance,
    b: Instance,
    http: Http,
    // Last: the schema is dropped after the instances stop. A test binds it by name (`_schema`,
    // not `..`), or it would be dropped, with the tables, as the test starts.
    _schema: databases::PgSchema,
}

/// Starts the two instances; `None` to skip when PostgreSQL cannot be reached outside CI.
async fn two_instances() -> Option<Pair> {
    let schema = databases::postgres_schema().await?;
    let listeners = [served::bind().await, served::bind().await];
    let issuer = format!("http://127.0.0.1:{}", listeners[0].local_addr().expect("address").port());
    let pools = [schema.pool.clone(), schema.another_pool().await];
    let mut instances = Vec::new();
    for (listener, pool) in listeners.into_iter().zip(pools) {
        let store = PostgresStore::from_pool(pool);
        // Every instance migrates at start; the second finds nothing to do.
        store.migrate().await.expect("migrate");
        instances.push(served::serve(listener, store, &issuer, |builder| {
            builder
                .dpop_nonce_secret(NONCE_SECRET)
                .require_dpop_nonce(true)
                .revocation_refresh_interval(REFRESH_INTERVAL)
        }));
    }
    let b = instances.pop().expect("two instances");
    let a = instances.pop().expect("two instances");
    Some(Pair { a, b, http: Http::new(&issuer), _schema: schema })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_issued_by_one_instance_is_redeemed_at_the_other_once() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let (verifier, challenge) = pkce();
    let code = http.code(&a, "native", NATIVE_REDIRECT, &challenge).await;
    let (status, _, tokens) = http.redeem(&b, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "a code issued by A is redeemed at B: {tokens}");
    for name in ["access_token", "refresh_token", "id_token"] {
        assert!(tokens[name].is_string(), "`{name}` in {tokens}");
    }
    // One key: A accepts what B signed.
    assert_eq!(http.userinfo(&a, str_of(&tokens, "access_token")).await.0, StatusCode::OK);

    let (status, _, body) = http.redeem(&a, &code, &verifier).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "taken once: {body}");
}

/// RFC 8628: a device code issued by one instance is approved at the other (the user's browser
/// went there) and redeemed once, wherever the device polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_code_issued_by_one_instance_is_approved_at_the_other_and_redeemed_once() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let device_path = Host::PATHS.device_authorization.expect("the device grant is on");
    let (status, _, started) =
        http.post(&a, device_path, &[("client_id", "native"), ("scope", SCOPE)], None, None).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let grant = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("client_id", "native"),
        ("device_code", str_of(&started, "device_code")),
    ];
    let (status, _, pending) = http.token(&b, &grant).await;
    assert_eq!((status, &pending["error"]), (StatusCode::BAD_REQUEST, &json!("authorization_pending")));
    let (status, page) = http.enter_user_code(&b, str_of(&started, "user_code")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("You may return to your device"), "{page}");
    let (status, _, tokens) = http.token(&a, &grant).await;
    assert_eq!(status, StatusCode::OK, "approved at B, redeemed at A: {tokens}");
    assert!(tokens["refresh_token"].is_string() && tokens["id_token"].is_string(), "{tokens}");
    // An approved device code is a grant of the user, as a redeemed code is.
    let grants = b.auth.grants("alice").await.expect("grants");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!((grants[0].client_id.as_str(), grants[0].scopes.to_string().as_str()), ("native", SCOPE));
    let (status, _, again) = http.token(&b, &grant).await;
    assert_eq!((status, &again["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "once: {again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_rotated_at_one_instance_is_refused_at_the_other() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let tokens = http.sign_in(&a, &a).await;
    let first = str_of(&tokens, "refresh_token");

    let (status, _, rotated) = http.refresh(&a, first).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let second = str_of(&rotated, "refresh_token");
    assert_ne!(first, second, "a public client's refresh token rotates");

    let (status, _, body) = http.refresh(&b, first).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "reuse at B: {body}");
    // The reuse detected at B revoked the family for A too (RFC 9700 §4.14.2).
    let (status, _, body) = http.refresh(&a, second).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "family revoked: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_proof_used_at_one_instance_is_refused_at_the_other() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let htu = format!("{}{}", http.issuer, Host::PATHS.token);
    let credentials = basic("service", SERVICE_SECRET);
    let grant = [("grant_type", "client_credentials"), ("scope", "read")];
    let token = Host::PATHS.token;

    // A hands out a nonce (RFC 9449 §8)...
    let (status, headers, body) = http.post(&a, token, &grant, Some(&credentials), Some(&dpop_proof(&htu, None))).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("use_dpop_nonce")), "{body}");
    let nonce = headers["dpop-nonce"].to_str().expect("ASCII nonce").to_owned();

    // ...that B accepts (one secret), with a proof made for the one issuer's URL.
    let proof = dpop_proof(&htu, Some(&nonce));
    let (status, _, body) = http.post(&b, token, &grant, Some(&credentials), Some(&proof)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");

    // The same proof at A: B recorded its `jti` in the shared store (RFC 9449 §11.1).
    let (status, _, body) = http.post(&a, token, &grant, Some(&credentials), Some(&proof)).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_dpop_proof")), "replay: {body}");
    // A fresh proof goes through at A.
    let fresh = dpop_proof(&htu, Some(&nonce));
    let (status, _, body) = http.post(&a, token, &grant, Some(&credentials), Some(&fresh)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registered_at_one_instance_works_at_the_other() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let redirect = "https://app.example.com/cb";
    let metadata = json!({
        "client_name": "registered at A",
        "redirect_uris": [redirect],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": SCOPE,
    });
    let registration = Host::PATHS.registration.expect("registration is on");
    let (status, _, registered) = http.post_json(&a, registration, &metadata).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    let (client_id, secret) = (str_of(&registered, "client_id"), str_of(&registered, "client_secret"));
    let credentials = basic(client_id, secret);

    // A token of its own at B.
    let grant = [("grant_type", "client_credentials"), ("scope", "read")];
    let (status, _, body) = http.post(&b, Host::PATHS.token, &grant, Some(&credentials), None).await;
    assert_eq!(status, StatusCode::OK, "client_credentials at B: {body}");

    // A code from B, redeemed at A.
    let (verifier, challenge) = pkce();
    let code = http.code(&b, client_id, redirect, &challenge).await;
    let redeem = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("code_verifier", verifier.as_str()),
        ("redirect_uri", redirect),
    ];
    let (status, _, tokens) = http.post(&a, Host::PATHS.token, &redeem, Some(&credentials), None).await;
    assert_eq!(status, StatusCode::OK, "code flow across instances: {tokens}");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");

    // Its configuration (RFC 7592) at B, with the registration access token A issued.
    let response = http
        .client
        .get(format!("{}{registration}/{client_id}", b.base))
        .bearer_auth(str_of(&registered, "registration_access_token"))
        .send()
        .await
        .expect("configuration request");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_token_revoked_at_one_instance_is_refused_at_the_other_after_the_refresh_interval() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let tokens = http.sign_in(&a, &a).await;
    let access = str_of(&tokens, "access_token");
    assert_eq!(http.userinfo(&b, access).await.0, StatusCode::OK, "B has read the (empty) list");

    let revocation = Host::PATHS.revocation.expect("revocation is on");
    let (status, _, body) = http.post(&a, revocation, &[("token", access), ("client_id", "native")], None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(http.userinfo(&a, access).await.0, StatusCode::UNAUTHORIZED, "refused at once where revoked");

    tokio::time::sleep(REFRESH_INTERVAL).await;
    assert_eq!(http.userinfo(&b, access).await.0, StatusCode::UNAUTHORIZED, "refused at B after the interval");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_revoked_at_one_instance_is_refused_at_the_other_after_the_refresh_interval() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    // A0 from the code at A, A1 refreshed at B, A2 refreshed at A.
    let tokens = http.sign_in(&a, &a).await;
    let mut access = vec![str_of(&tokens, "access_token").to_owned()];
    let mut refresh_token = str_of(&tokens, "refresh_token").to_owned();
    for at in [&b, &a] {
        let (status, _, rotated) = http.refresh(at, &refresh_token).await;
        assert_eq!(status, StatusCode::OK, "{rotated}");
        access.push(str_of(&rotated, "access_token").to_owned());
        refresh_token = str_of(&rotated, "refresh_token").to_owned();
    }
    let other = http.sign_in(&a, &a).await;
    for token in &access {
        assert_eq!(http.userinfo(&b, token).await.0, StatusCode::OK, "B has read the (empty) list");
    }

    // RFC 7009 §2.1: revoking the refresh token at A revokes its grant's access tokens.
    let revocation = Host::PATHS.revocation.expect("revocation is on");
    let pairs = [("token", refresh_token.as_str()), ("client_id", "native")];
    let (status, _, body) = http.post(&a, revocation, &pairs, None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for token in &access {
        assert_eq!(http.userinfo(&a, token).await.0, StatusCode::UNAUTHORIZED, "refused at once where revoked");
    }
    tokio::time::sleep(REFRESH_INTERVAL).await;
    for token in &access {
        assert_eq!(http.userinfo(&b, token).await.0, StatusCode::UNAUTHORIZED, "refused at B after the interval");
    }
    assert_eq!(http.userinfo(&b, str_of(&other, "access_token")).await.0, StatusCode::OK, "another grant");
}

/// The host revokes a user's grant at one instance (its "connected apps" page,
/// `Attesto::revoke_grant`): the other lists it no more and refuses its refresh token at once,
/// and its access token within the refresh interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_revoked_by_the_host_at_one_instance_is_refused_at_the_other_after_the_refresh_interval() {
    let Some(Pair { a, b, http, _schema }) = two_instances().await else { return };
    let tokens = http.sign_in(&a, &a).await;
    let access = str_of(&tokens, "access_token");
    assert_eq!(http.userinfo(&b, access).await.0, StatusCode::OK, "B has read the (empty) list");
    let grants = b.auth.grants("alice").await.expect("grants at B");
    assert_eq!(grants.len(), 1, "B lists the grant made at A: {grants:?}");

    assert!(a.auth.revoke_grant("alice", &grants[0].grant_id).await.expect("revoke at A"));
    assert!(b.auth.grants("alice").await.expect("grants at B").is_empty(), "off B's list at once");
    assert_eq!(http.userinfo(&a, access).await.0, StatusCode::UNAUTHORIZED, "refused at once where revoked");
    let (status, _, body) = http.refresh(&b, str_of(&tokens, "refresh_token")).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &json!("invalid_grant")), "at B: {body}");
    tokio::time::sleep(REFRESH_INTERVAL).await;
    assert_eq!(http.userinfo(&b, access).await.0, StatusCode::UNAUTHORIZED, "refused at B after the interval");
}
