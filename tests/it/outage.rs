//! A provider on PostgreSQL through a database outage, over real HTTP: the endpoints that need
//! state answer `503 temporarily_unavailable` (JSON, nothing about the cause), nothing panics, no
//! token is handed out whose state was not stored, and service resumes when the database returns.
//!
//! What a request answered with 503 did to the store: nothing, unless the database committed its
//! statement before the connection was lost. A code exchange that never reached the database
//! leaves the code as it was, and the client's retry after the outage succeeds (tested below). One
//! whose redemption was committed but whose answer was lost has spent the code: the retry is
//! refused as a replay, which revokes what the first redemption would have issued — of which
//! nothing was handed out. Either way, no token leaves the server unless its state is stored.
//!
//! The first test needs no database: its store points at a port nothing listens on. The second puts
//! a TCP proxy between the provider and the test PostgreSQL (a schema of its own, see
//! `tests/it/databases/mod.rs`), kills the provider's connections with `pg_terminate_backend` from
//! a separate admin connection, keeps new ones from reaching the database until the test brings it
//! back, and then kills them once more with the database up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::databases;
use crate::served;
use crate::served::{
    Host, Http, Instance, NATIVE_REDIRECT, Reply, SCOPE, SERVICE_SECRET, basic, dpop_proof, pkce, str_of,
};
use attesto::PostgresStore;
use attesto::sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use attesto::sqlx::{self, Connection as _};
use http::{StatusCode, header};
use serde_json::{Value, json};

/// How long a request waits for a connection before it is answered 503: short, so that the test
/// does not wait long for each refused request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(300);

/// Words that would tell a client something about the cause: the database, its address, the
/// driver, the error. Checked against every 503 body and error redirect.
fn internals(port: u16) -> Vec<String> {
    ["postgres", "sqlx", "connect", "127.0.0.1", "refused", "pool", "timed out", "database", "backend", "io error"]
        .into_iter()
        .map(str::to_owned)
        .chain([port.to_string()])
        .collect()
}

/// A 503 `temporarily_unavailable` with a JSON body that names no internals and holds no token.
#[track_caller]
fn assert_unavailable(reply: &Reply, what: &str, port: u16) {
    let (status, headers, body) = reply;
    assert_eq!(*status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{what}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store", "{what}");
    assert_eq!(body["error"], "temporarily_unavailable", "{what}: {body}");
    for token in ["access_token", "refresh_token", "id_token", "client_secret", "request_uri"] {
        assert!(body.get(token).is_none(), "{what}: no `{token}` may be handed out: {body}");
    }
    assert_no_internals(&body.to_string(), what, port);
}

#[track_caller]
fn assert_no_internals(text: &str, what: &str, port: u16) {
    let lower = text.to_lowercase();
    for word in internals(port) {
        assert!(!lower.contains(&word), "{what}: the answer gives away `{word}`: {text}");
    }
}

/// An authorization response that is an error redirect to the client: RFC 6749 §4.1.2.1 sends
/// `temporarily_unavailable` to the redirect URI once the client and its redirect URI are known,
/// rather than a JSON 503 to the browser.
#[track_caller]
fn assert_authorization_unavailable(params: &std::collections::HashMap<String, String>, port: u16) {
    assert_eq!(params.get("error").map(String::as_str), Some("temporarily_unavailable"), "{params:?}");
    assert!(!params.contains_key("code"), "no code whose state was not stored: {params:?}");
    // `iss` is the issuer's own URL; the description is what could give the cause away.
    let description = params.get("error_description").map(String::as_str).unwrap_or_default();
    assert_no_internals(description, "authorization", port);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_database_unreachable_stateful_endpoints_answer_503_and_hand_out_nothing() {
    // A port that was just free: nothing listens there.
    let port = served::bind().await.local_addr().expect("address").port();
    let options = PgConnectOptions::new().host("127.0.0.1").port(port).username("attesto").database("attesto");
    let pool = PgPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(options);
    let listener = served::bind().await;
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    let instance = served::serve(listener, PostgresStore::from_pool(pool), &issuer, |builder| builder);
    let http = Http::new(&issuer);
    let (verifier, challenge) = pkce();
    let token = Host::PATHS.token;
    let service = basic("service", SERVICE_SECRET);

    // The authorization endpoint cannot store the code: an error redirect, no code.
    let params = http.authorize(&instance, "native", NATIVE_REDIRECT, &challenge).await;
    assert_authorization_unavailable(&params, port);
    // Pushed authorization requests cannot be stored.
    let par = Host::PATHS.par.expect("PAR is on");
    let pushed = [
        ("client_id", "native"),
        ("response_type", "code"),
        ("redirect_uri", NATIVE_REDIRECT),
        ("scope", SCOPE),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    assert_unavailable(&http.post(&instance, par, &pushed, None, None).await, "PAR", port);
    // Codes and refresh tokens cannot be looked up: no tokens.
    assert_unavailable(&http.redeem(&instance, "a-code-the-store-would-know", &verifier).await, "code grant", port);
    assert_unavailable(&http.refresh(&instance, "a-refresh-token-the-store-would-know").await, "refresh grant", port);

    // A grant that needs no state goes on working...
    let grant = [("grant_type", "client_credentials"), ("scope", "read")];
    let (status, _, body) = http.post(&instance, token, &grant, Some(&service), None).await;
    assert_eq!(status, StatusCode::OK, "client_credentials keeps no state: {body}");
    let access = str_of(&body, "access_token");
    // ...unless it comes with a DPoP proof, whose `jti` must be recorded before it is accepted.
    let proof = dpop_proof(&format!("{issuer}{token}"), None);
    let reply = http.post(&instance, token, &grant, Some(&service), Some(&proof)).await;
    assert_unavailable(&reply, "client_credentials with DPoP", port);

    // Whether a token was revoked cannot be learnt (this instance never read the list).
    let introspection = Host::PATHS.introspection.expect("introspection is on");
    let reply = http.post(&instance, introspection, &[("token", access)], Some(&service), None).await;
    assert_unavailable(&reply, "introspection", port);
    assert_unavailable(&http.userinfo(&instance, access).await, "userinfo", port);
    // Revocation cannot be recorded, of a refresh token or of an access token.
    let revocation = Host::PATHS.revocation.expect("revocation is on");
    let reply = http.post(&instance, revocation, &[("token", "an-opaque-token")], Some(&service), None).await;
    assert_unavailable(&reply, "revocation of a refresh token", port);
    let reply = http.post(&instance, revocation, &[("token", access)], Some(&service), None).await;
    assert_unavailable(&reply, "revocation of an access token", port);
    // Registration cannot store the client.
    let registration = Host::PATHS.registration.expect("registration is on");
    let metadata = json!({ "redirect_uris": ["https://app.example.com/cb"], "token_endpoint_auth_method": "none" });
    assert_unavailable(&http.post_json(&instance, registration, &metadata).await, "registration", port);
}

// ---------------------------------------------------------------------------------------------
// Connections killed, the database away and back
// ---------------------------------------------------------------------------------------------

/// A TCP proxy in front of PostgreSQL. While it is down, a new connection is closed as soon as it
/// is accepted: the database is unreachable. Connections already open are left alone (the test
/// kills them on the database side).
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: (String, u16)) -> Self {
        let listener = served::bind().await;
        let port = listener.local_addr().expect("address").port();
        let up = Arc::new(AtomicBool::new(true));
        let accepting = Arc::clone(&up);
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if !accepting.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Self { port, up, task }
    }

    fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Terminates every backend of `application_name` from a connection of its own, and waits until
/// they are gone.
async fn kill_connections(admin: &PgConnectOptions, application_name: &str) {
    let mut connection = sqlx::PgConnection::connect_with(admin).await.expect("admin connection");
    let (killed,): (i64,) =
        sqlx::query_as("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1")
            .bind(application_name)
            .fetch_one(&mut connection)
            .await
            .expect("pg_terminate_backend");
    assert!(killed > 0, "the provider had connections to kill");
    for _ in 0..100 {
        let (left,): (i64,) = sqlx::query_as("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
            .bind(application_name)
            .fetch_one(&mut connection)
            .await
            .expect("count backends");
        if left == 0 {
            let _ = connection.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the provider's backends did not go away");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connections_answer_503_and_service_resumes_when_the_database_returns() {
    let Some(schema) = databases::postgres_schema().await else { return };
    PostgresStore::from_pool(schema.pool.clone()).migrate().await.expect("migrate");
    let target = (schema.options.get_host().to_owned(), schema.options.get_port());
    let proxy = Proxy::start(target).await;
    let application_name = format!("attesto_outage_{:016x}", rand::random::<u64>());
    let options = schema.schema_options().host("127.0.0.1").port(proxy.port).application_name(&application_name);
    let pool = PgPoolOptions::new().max_connections(4).acquire_timeout(ACQUIRE_TIMEOUT).connect_lazy_with(options);
    let listener = served::bind().await;
    let issuer = format!("http://{}", listener.local_addr().expect("address"));
    // A long refresh interval: within it, checking a token needs no database.
    let instance: Instance = served::serve(listener, PostgresStore::from_pool(pool), &issuer, |builder| {
        builder.revocation_refresh_interval(Duration::from_secs(60))
    });
    let http = Http::new(&issuer);
    let port = schema.options.get_port();

    // Up: a signed-in user with tokens, and a code not redeemed yet.
    let tokens = http.sign_in(&instance, &instance).await;
    let (access, refresh) = (str_of(&tokens, "access_token"), str_of(&tokens, "refresh_token"));
    assert_eq!(http.userinfo(&instance, access).await.0, StatusCode::OK);
    let (verifier, challenge) = pkce();
    let code = http.code(&instance, "native", NATIVE_REDIRECT, &challenge).await;

    // The database goes away: every connection killed, no new one gets through.
    proxy.set_up(false);
    kill_connections(&schema.options, &application_name).await;
    assert_unavailable(&http.redeem(&instance, &code, &verifier).await, "code exchange during the outage", port);
    assert_unavailable(&http.refresh(&instance, refresh).await, "refresh during the outage", port);
    let params = http.authorize(&instance, "native", NATIVE_REDIRECT, &challenge).await;
    assert_authorization_unavailable(&params, port);
    // The revoked-token list was read less than an interval ago: a token check needs no database.
    let (status, _, body) = http.userinfo(&instance, access).await;
    assert_eq!(status, StatusCode::OK, "userinfo within the refresh interval: {body}");

    // The database returns: the pool replaces its dead connections, and what failed had changed
    // nothing.
    proxy.set_up(true);
    let (status, _, redeemed) = http.redeem(&instance, &code, &verifier).await;
    assert_eq!(status, StatusCode::OK, "the code whose exchange failed still works: {redeemed}");
    let (status, _, rotated) = http.refresh(&instance, refresh).await;
    assert_eq!(status, StatusCode::OK, "the refresh token whose rotation failed still works: {rotated}");

    // Connections killed with the database up: the next requests reconnect and succeed.
    kill_connections(&schema.options, &application_name).await;
    let (status, _, body) = http.refresh(&instance, str_of(&rotated, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "after the kill: {body}");
    let tokens: Value = http.sign_in(&instance, &instance).await;
    assert!(tokens["access_token"].is_string());
}
