//! attesto side by side with the provider it replaces, in one router: the old provider keeps the
//! host-root discovery documents and its own endpoints, attesto serves only the RFC 8414 §3.1
//! forms of its issuer path (`WellKnownForms::IssuerPathOnly`); and the old provider's tokens,
//! read from its `oauth_tokens` table through the very code of `examples/legacy_clients.rs`
//! (`LegacyTokens`; its client table through `legacy_clients::mapping`), carried over until the cut-off: an old refresh token exchanged once for a
//! new refresh family, an old access token accepted at the guard.

#[path = "../../examples/legacy_clients/tokens.rs"]
mod tokens;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use crate::common::{assert_error, basic, dpop_key, send, send_json, token};
use crate::legacy_clients::mapping::{LEGACY_TABLE, LegacyClients, insert_legacy_client};
use attesto::discovery::WellKnownForms;
use attesto::sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use attesto::testing::{DiscoveryProblem, check_discovery, check_discovery_with};
use attesto::{
    Attesto, Authenticated, Client, ClientStore, ConfigError, EventSink, HostError, Key, LegacyAccessToken,
    LegacyGrant, LegacyTokens, LoginOutcome, LoginRequest, PrincipalStore, RefreshReuseDetected, TokenKind,
    TokenSource,
};
use axum::body::Body;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tokens::{LEGACY_TOKENS_TABLE, LegacyTokenTable, OldGrant, insert_legacy_grant};

/// attesto's issuer: a path on the host the old provider keeps serving.
const ISSUER: &str = "https://auth.example.com/mcp/oauth";
/// The old provider's issuer: the host root.
const OLD_ISSUER: &str = "https://auth.example.com";
const TOKEN: &str = "/mcp/oauth/token";
/// The API the old tokens were for, now protected by attesto's guard.
const API: &str = "https://auth.example.com/api";
const BILLING_SECRET: &str = "legacy-secret-from-the-old-provider";

/// The host: the old tables for clients and tokens, and a count of every question to
/// `LegacyTokens`.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth")]
struct NewAuth {
    clients: LegacyClients,
    tokens: LegacyTokenTable,
    asked: Arc<Asked>,
}

#[derive(Default)]
struct Asked {
    refresh: AtomicUsize,
    access: AtomicUsize,
    reuse_events: AtomicUsize,
}

impl ClientStore for NewAuth {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        self.clients.load_client(client_id).await
    }

    async fn verify_client_secret(&self, client: &Client, secret: &str) -> Result<bool, HostError> {
        self.clients.verify_client_secret(client, secret).await
    }
}

impl PrincipalStore for NewAuth {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

impl LegacyTokens for NewAuth {
    fn accepted_until(&self) -> SystemTime {
        self.tokens.accepted_until()
    }

    async fn verify_refresh_token(&self, token: &str) -> Result<Option<LegacyGrant>, HostError> {
        self.asked.refresh.fetch_add(1, Ordering::SeqCst);
        self.tokens.verify_refresh_token(token).await
    }

    async fn verify_access_token(&self, token: &str) -> Result<Option<LegacyAccessToken>, HostError> {
        self.asked.access.fetch_add(1, Ordering::SeqCst);
        self.tokens.verify_access_token(token).await
    }
}

impl EventSink for NewAuth {
    fn refresh_reuse_detected(&self, _: &RefreshReuseDetected<'_>) {
        self.asked.reuse_events.fetch_add(1, Ordering::SeqCst);
    }
}

/// The old provider's database: its clients and its tokens, written the old way.
async fn old_database() -> SqlitePool {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect("sqlite::memory:")
        .await
        .expect("an in-memory database");
    for table in [LEGACY_TABLE, LEGACY_TOKENS_TABLE] {
        attesto::sqlx::query(table).execute(&pool).await.expect("the legacy tables");
    }
    insert_legacy_client(
        &pool,
        "billing",
        Some(BILLING_SECRET),
        &["https://billing.example.com/cb"],
        "invoices:read invoices:write",
    )
    .await
    .expect("a legacy confidential client");
    insert_legacy_client(&pool, "mobile", None, &["http://127.0.0.1/callback"], "invoices:read")
        .await
        .expect("a legacy public client");
    pool
}

/// A stand-in for the old provider: its host-root RFC 8414 document and its token endpoint.
fn old_provider() -> Router {
    let metadata = json!({
        "issuer": OLD_ISSUER,
        "authorization_endpoint": "https://auth.example.com/oauth/authorize",
        "token_endpoint": "https://auth.example.com/oauth/token",
        "response_types_supported": ["code"],
    });
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(move || std::future::ready(Json(metadata.clone()))))
        .route(
            "/oauth/token",
            post(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "invalid_request", "error_description": "the old provider"})),
                )
            }),
        )
}

/// What the API answers to the caller attesto's guard let in.
async fn invoices(who: Authenticated) -> Json<Value> {
    Json(json!({
        "subject": who.subject,
        "client_id": who.client_id.as_str(),
        "scope": who.scopes.to_string(),
        "legacy": who.source == TokenSource::Legacy,
        "user": who.kind == TokenKind::User,
    }))
}

struct App {
    auth: Attesto<NewAuth>,
    router: Router,
    pool: SqlitePool,
    asked: Arc<Asked>,
}

/// The host's whole app: the old provider, attesto beside it, and the API behind attesto's guard;
/// old tokens accepted until `accepted_until`.
async fn app(accepted_until: SystemTime) -> App {
    app_with(accepted_until, false).await
}

/// [`app`], in the FAPI 2.0 Security Profile when `fapi2`.
async fn app_with(accepted_until: SystemTime, fapi2: bool) -> App {
    let pool = old_database().await;
    let asked = Arc::new(Asked::default());
    let host = NewAuth {
        clients: LegacyClients::new(pool.clone()),
        tokens: LegacyTokenTable::new(pool.clone(), accepted_until),
        asked: asked.clone(),
    };
    let auth = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .protected_resource(API, ["invoices:read"])
        .expect("valid resource")
        .well_known_forms(WellKnownForms::IssuerPathOnly);
    let auth = if fapi2 { auth.fapi2_security_profile() } else { auth };
    let auth = auth.build().expect("provider builds");
    let guard = auth.guard(API).expect("a guard").require_scopes(["invoices:read"]);
    let api = Router::new().route("/api", get(invoices)).with_state(guard);
    let router = Router::new().merge(old_provider()).merge(auth.router()).merge(api);
    App { auth, router, pool, asked }
}

fn in_a_month() -> SystemTime {
    SystemTime::now() + Duration::from_secs(30 * 86_400)
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

async fn get_json(router: &Router, path: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(router, Request::get(path).body(Body::empty()).expect("request")).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url claims")).expect("JSON claims")
}

/// Writes an old grant of `scopes` for `alice` through `billing`, with these tokens.
async fn old_grant(pool: &SqlitePool, access: &str, refresh: &str, scopes: &str, resource: Option<&str>) {
    let grant = OldGrant {
        access_token: access,
        refresh_token: Some(refresh),
        client_id: "billing",
        user_id: "alice",
        scopes,
        resource,
        access_expires_at: SystemTime::now() + Duration::from_secs(3600),
    };
    insert_legacy_grant(pool, &grant).await.expect("an old grant");
}

async fn refresh(
    app: &App,
    client: Option<&str>,
    refresh_token: &str,
    scope: Option<&str>,
) -> (StatusCode, http::HeaderMap, Value) {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", refresh_token)];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    let authorization = match client {
        Some("billing") => Some(basic("billing", BILLING_SECRET)),
        Some(public) => {
            pairs.push(("client_id", public));
            None
        }
        None => None,
    };
    token(&app.router, TOKEN, authorization.as_deref(), &form(&pairs)).await
}

async fn call_api(app: &App, authorization: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let request =
        Request::get("/api").header(header::AUTHORIZATION, authorization).body(Body::empty()).expect("request");
    send(&app.router, request).await
}

fn challenge(headers: &http::HeaderMap) -> String {
    headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
}

fn assert_invalid_token(response: &(StatusCode, http::HeaderMap, Vec<u8>), description: &str) {
    let (status, headers, _) = response;
    assert_eq!(*status, StatusCode::UNAUTHORIZED);
    let expected = format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
    assert!(challenge(headers).starts_with(&expected), "{}", challenge(headers));
    assert!(
        challenge(headers)
            .contains("resource_metadata=\"https://auth.example.com/.well-known/oauth-protected-resource/api\""),
        "{}",
        challenge(headers)
    );
}

// ---------------------------------------------------------------------------------------------
// Side by side: each discovery document served by its owner
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_document_is_served_by_its_owner() {
    let app = app(in_a_month()).await;
    // The host root is the old provider's.
    let (status, old) = get_json(&app.router, "/.well-known/oauth-authorization-server").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(old["issuer"], OLD_ISSUER);
    assert_eq!(old["token_endpoint"], "https://auth.example.com/oauth/token");
    let old_token = token(&app.router, "/oauth/token", None, "grant_type=refresh_token").await;
    assert_eq!(old_token.2["error_description"], "the old provider");
    // attesto's forms carry its issuer path (RFC 8414 §3.1, OIDC Discovery §4).
    for path in [
        "/.well-known/oauth-authorization-server/mcp/oauth",
        "/.well-known/openid-configuration/mcp/oauth",
        "/mcp/oauth/.well-known/openid-configuration",
    ] {
        let (status, document) = get_json(&app.router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(document["issuer"], ISSUER, "{path}");
        assert_eq!(document["token_endpoint"], "https://auth.example.com/mcp/oauth/token", "{path}");
    }
    // Host-root documents attesto would serve otherwise are not mounted: neither the OpenID one
    // (the old provider has none) nor the bare protected-resource path; the resource's own
    // RFC 9728 §3.1 form is.
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-protected-resource"] {
        assert_eq!(get_json(&app.router, path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, resource) = get_json(&app.router, "/.well-known/oauth-protected-resource/api").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resource["authorization_servers"], json!([ISSUER]));
}

#[tokio::test]
async fn check_discovery_passes_for_the_path_forms_and_names_what_it_left() {
    let app = app(in_a_month()).await;
    let report = check_discovery_with(&app.router, ISSUER, WellKnownForms::IssuerPathOnly)
        .await
        .unwrap_or_else(|problems| panic!("{problems}"));
    assert_eq!(
        report.documents,
        [
            "/.well-known/oauth-authorization-server/mcp/oauth",
            "/mcp/oauth/.well-known/openid-configuration",
            "/.well-known/openid-configuration/mcp/oauth",
        ]
    );
    assert_eq!(
        report.left_to_another_provider,
        [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration",
            "/.well-known/oauth-protected-resource",
        ]
    );
    assert!(report.openid_configuration);
    assert_eq!(report.endpoint("token_endpoint"), Some("https://auth.example.com/mcp/oauth/token"));

    // The plain check reads the host root too, and finds the old provider's document there.
    let problems = check_discovery(&app.router, ISSUER).await.expect_err("the host root is the old provider's");
    assert!(
        problems.problems().contains(&DiscoveryProblem::IssuerMismatch {
            path: "/.well-known/oauth-authorization-server".to_owned(),
            advertised: format!("\"{OLD_ISSUER}\""),
        }),
        "{problems}"
    );
}

#[tokio::test]
async fn the_path_forms_only_need_an_issuer_path() {
    let pool = old_database().await;
    let host = NewAuth {
        clients: LegacyClients::new(pool.clone()),
        tokens: LegacyTokenTable::new(pool, in_a_month()),
        asked: Arc::default(),
    };
    let error = Attesto::builder(host)
        .issuer(OLD_ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .well_known_forms(WellKnownForms::IssuerPathOnly)
        .build()
        .expect_err("an issuer without a path has only the host-root forms");
    assert!(matches!(&error, ConfigError::WellKnownNeedsIssuerPath { issuer } if issuer == OLD_ISSUER), "{error}");
    assert!(error.to_string().contains("needs an issuer with a path"), "{error}");

    let problems = check_discovery_with(&old_provider(), OLD_ISSUER, WellKnownForms::IssuerPathOnly)
        .await
        .expect_err("no path, no path form");
    assert!(matches!(problems.problems(), [DiscoveryProblem::InvalidIssuer { .. }]), "{problems}");
}

// ---------------------------------------------------------------------------------------------
// Old refresh tokens at the token endpoint
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_old_refresh_token_is_exchanged_once_for_a_new_family() {
    let app = app(in_a_month()).await;
    old_grant(&app.pool, "old-access-1", "old-refresh-1", "invoices:read invoices:write", Some(API)).await;

    let (status, _, tokens) = refresh(&app, Some("billing"), "old-refresh-1", None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "invoices:read invoices:write");
    assert_eq!(tokens["token_type"], "Bearer");
    let claims = claims_of(tokens["access_token"].as_str().expect("an access token"));
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["client_id"], "billing");
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["aud"], API);
    assert!(claims["auth_time"].is_number(), "the old grant's sign-in time: {claims}");
    let new_refresh = tokens["refresh_token"].as_str().expect("a new refresh token").to_owned();
    assert_ne!(new_refresh, "old-refresh-1");
    // The carried-over authorization is one of alice's grants, like one made here.
    let grants = app.auth.grants("alice").await.expect("grants");
    let listed: Vec<(&str, String)> = grants.iter().map(|g| (g.client_id.as_str(), g.scopes.to_string())).collect();
    assert_eq!(listed, [("billing", "invoices:read invoices:write".to_owned())]);

    // The new family rotates as attesto's own.
    let (status, _, rotated) = refresh(&app, Some("billing"), &new_refresh, None).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let current = rotated["refresh_token"].as_str().expect("rotated").to_owned();
    // The new access token works at the guard.
    let bearer = format!("Bearer {}", rotated["access_token"].as_str().expect("an access token"));
    let (status, _, body) = call_api(&app, &bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&body).expect("JSON")["legacy"], false);

    // The old token a second time: reuse. Refused, and the family it created is revoked.
    let second = refresh(&app, Some("billing"), "old-refresh-1", None).await;
    assert_error(&second, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        second.2["error_description"],
        "the refresh token was already used; every token of its grant is revoked"
    );
    assert_eq!(app.asked.reuse_events.load(Ordering::SeqCst), 1);
    let after = refresh(&app, Some("billing"), &current, None).await;
    assert_error(&after, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(after.2["error_description"], "the refresh token is invalid, expired or revoked");
    // RFC 7009 §2.1: the access tokens of the revoked grant go with it.
    let (status, _, _) = call_api(&app, &bearer).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn scopes_are_narrowed_by_the_request_and_the_scope_policy() {
    let app = app(in_a_month()).await;
    // The old grant holds a scope the client may no longer hold (`oauth_clients.scopes`).
    old_grant(&app.pool, "old-access-2", "old-refresh-2", "invoices:read invoices:write invoices:delete", None).await;

    // More than the old grant held: refused, and the old token stays usable.
    let wider = refresh(&app, Some("billing"), "old-refresh-2", Some("invoices:read invoices:admin")).await;
    assert_error(&wider, StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(wider.2["error_description"], "the scope exceeds what was originally granted");

    // The default ScopePolicy keeps what the client may still hold.
    let (status, _, tokens) = refresh(&app, Some("billing"), "old-refresh-2", None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "invoices:read invoices:write");
    // No resource in the old grant: the default audience, the issuer.
    assert_eq!(claims_of(tokens["access_token"].as_str().expect("token"))["aud"], ISSUER);

    // A narrower request gets what it asks.
    old_grant(&app.pool, "old-access-3", "old-refresh-3", "invoices:read invoices:write", None).await;
    let (status, _, tokens) = refresh(&app, Some("billing"), "old-refresh-3", Some("invoices:read")).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "invoices:read");
}

#[tokio::test]
async fn another_client_cannot_exchange_an_old_refresh_token() {
    let app = app(in_a_month()).await;
    old_grant(&app.pool, "old-access-4", "old-refresh-4", "invoices:read", None).await;
    let stolen = refresh(&app, Some("mobile"), "old-refresh-4", None).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(stolen.2["error_description"], "the refresh token was issued to another client");
    // Nothing spent: its own client still exchanges it.
    let (status, _, tokens) = refresh(&app, Some("billing"), "old-refresh-4", None).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
}

#[tokio::test]
async fn unknown_and_malformed_old_refresh_tokens_are_refused() {
    let app = app(in_a_month()).await;
    let unknown = refresh(&app, Some("billing"), "never-issued", None).await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(unknown.2["error_description"], "the refresh token is invalid, expired or revoked");
    assert_eq!(app.asked.refresh.load(Ordering::SeqCst), 1, "an unknown token is one lookup");

    // Not RFC 6749 token syntax, or longer than any token: the host is not asked.
    for malformed in ["tab\tinside", &"x".repeat(4097)] {
        let refused = refresh(&app, Some("billing"), malformed, None).await;
        assert_error(&refused, StatusCode::BAD_REQUEST, "invalid_grant");
        assert_eq!(refused.2["error_description"], "the refresh token is invalid, expired or revoked");
    }
    assert_eq!(app.asked.refresh.load(Ordering::SeqCst), 1, "malformed tokens are never offered");
}

#[tokio::test]
async fn after_the_cut_off_old_refresh_tokens_are_refused_without_asking() {
    let app = app(SystemTime::now() - Duration::from_secs(1)).await;
    old_grant(&app.pool, "old-access-5", "old-refresh-5", "invoices:read", None).await;
    let late = refresh(&app, Some("billing"), "old-refresh-5", None).await;
    assert_error(&late, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        late.2["error_description"],
        "the refresh token is invalid, expired or revoked, and the previous provider's tokens are no longer accepted"
    );
    assert_eq!(app.asked.refresh.load(Ordering::SeqCst), 0);
}

// ---------------------------------------------------------------------------------------------
// Old access tokens at the guard
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_old_access_token_is_accepted_at_the_guard() {
    let app = app(in_a_month()).await;
    old_grant(&app.pool, "old-access-6", "old-refresh-6", "invoices:read invoices:write", Some(API)).await;
    let (status, _, body) = call_api(&app, "Bearer old-access-6").await;
    assert_eq!(status, StatusCode::OK);
    let who: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(
        who,
        json!({
            "subject": "alice",
            "client_id": "billing",
            "scope": "invoices:read invoices:write",
            "legacy": true,
            "user": true,
        })
    );
}

#[tokio::test]
async fn old_access_tokens_get_the_checks_of_attestos_own() {
    let app = app(in_a_month()).await;
    old_grant(&app.pool, "old-access-7", "old-refresh-7", "invoices:read", Some("https://other.example.com")).await;
    old_grant(&app.pool, "old-access-8", "old-refresh-8", "invoices:write", Some(API)).await;
    let expired = OldGrant {
        access_token: "old-access-9",
        refresh_token: None,
        client_id: "billing",
        user_id: "alice",
        scopes: "invoices:read",
        resource: Some(API),
        access_expires_at: SystemTime::now() - Duration::from_secs(3600),
    };
    insert_legacy_grant(&app.pool, &expired).await.expect("an expired grant");

    // RFC 8707: another resource's token, refused as attesto refuses its own.
    assert_invalid_token(
        &call_api(&app, "Bearer old-access-7").await,
        "the access token is not meant for this resource",
    );
    assert_invalid_token(
        &call_api(&app, "Bearer old-access-9").await,
        "the access token is invalid, expired or revoked",
    );
    assert_invalid_token(
        &call_api(&app, "Bearer never-issued").await,
        "the access token is invalid, expired or revoked",
    );
    // The guard's scopes apply.
    let (status, headers, _) = call_api(&app, "Bearer old-access-8").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge(&headers).starts_with("Bearer error=\"insufficient_scope\", scope=\"invoices:read\""),
        "{}",
        challenge(&headers)
    );
    assert_eq!(app.asked.access.load(Ordering::SeqCst), 4);

    // Only as a bearer token, and only of token syntax: not offered otherwise.
    let (status, _, _) = call_api(&app, "DPoP old-access-8").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_invalid_token(
        &call_api(&app, "Bearer not,a,token").await,
        "the access token is invalid, expired or revoked",
    );
    assert_eq!(app.asked.access.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn after_the_cut_off_old_access_tokens_are_refused_without_asking() {
    let app = app(SystemTime::now() - Duration::from_secs(1)).await;
    old_grant(&app.pool, "old-access-10", "old-refresh-10", "invoices:read", Some(API)).await;
    assert_invalid_token(
        &call_api(&app, "Bearer old-access-10").await,
        "the access token is invalid, expired or revoked",
    );
    assert_eq!(app.asked.access.load(Ordering::SeqCst), 0);
}

/// FAPI 2.0 Security Profile §5.3.4: a resource accepts sender-constrained tokens only, and an
/// old provider's bearer token is not one.
#[tokio::test]
async fn under_fapi2_old_access_tokens_are_refused_without_asking() {
    let app = app_with(in_a_month(), true).await;
    old_grant(&app.pool, "old-access-12", "old-refresh-12", "invoices:read", Some(API)).await;
    assert_invalid_token(
        &call_api(&app, "Bearer old-access-12").await,
        "the access token is invalid, expired or revoked",
    );
    assert_eq!(app.asked.access.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn userinfo_does_not_take_old_access_tokens() {
    let app = app(in_a_month()).await;
    old_grant(&app.pool, "old-access-11", "old-refresh-11", "openid invoices:read", Some(ISSUER)).await;
    let request = Request::get("/mcp/oauth/userinfo")
        .header(header::AUTHORIZATION, "Bearer old-access-11")
        .body(Body::empty())
        .expect("request");
    let (status, _, _) = send(&app.router, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.asked.access.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_public_clients_new_family_is_bound_to_its_dpop_key() {
    let app = app(in_a_month()).await;
    let grant = OldGrant {
        access_token: "old-access-12",
        refresh_token: Some("old-refresh-12"),
        client_id: "mobile",
        user_id: "bob",
        scopes: "invoices:read",
        resource: Some(API),
        access_expires_at: SystemTime::now() + Duration::from_secs(3600),
    };
    insert_legacy_grant(&app.pool, &grant).await.expect("an old grant of the public client");
    let key = dpop_key::p256();
    let htu = format!("https://auth.example.com{TOKEN}");
    let exchange = |refresh_token: &str, proof: Option<String>| {
        let body = form(&[("grant_type", "refresh_token"), ("client_id", "mobile"), ("refresh_token", refresh_token)]);
        let mut request = Request::post(TOKEN).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(proof) = proof {
            request = request.header("DPoP", proof);
        }
        request.body(Body::from(body)).expect("request")
    };
    let (status, _, tokens) = send_json(&app.router, exchange("old-refresh-12", Some(key.proof("POST", &htu)))).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let claims = claims_of(tokens["access_token"].as_str().expect("an access token"));
    assert_eq!(claims["sub"], "bob");
    assert!(claims["cnf"]["jkt"].is_string(), "{claims}");
    // RFC 9449 §5: the new family's refresh token works only with a proof of that key.
    let next = tokens["refresh_token"].as_str().expect("a refresh token");
    let without = send_json(&app.router, exchange(next, None)).await;
    assert_error(&without, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let (status, _, rotated) = send_json(&app.router, exchange(next, Some(key.proof("POST", &htu)))).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
}
