//! Grants management for the host: `Attesto::grants` lists the authorizations a user gave
//! clients, `Attesto::revoke_grant` and `Attesto::revoke_all_grants` end them — the refresh tokens
//! and every access token issued under them, at this instance at once and at every instance
//! sharing the store within the revocation refresh interval — and the quickstart's "connected
//! apps" page (`examples/quickstart.rs`, included as it is) does both for its signed-in demo user.

// The example as it is: it includes `examples/support/html_escape.rs`, which the login page of
// `quickstart_like` includes too (so it is compiled twice here).
#[allow(dead_code, unreachable_pub, clippy::duplicate_mod)]
#[path = "../../examples/quickstart.rs"]
pub(crate) mod quickstart;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use attesto::store::Grant;
use attesto::{Attesto, Authenticated, Key, MemoryStore};
use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, StatusCode, header};
use serde_json::Value;

use crate::common::resource::call;
use crate::common::{
    ISSUER, RESOURCE, SECRET, TestHost, WEB_REDIRECT, authorize_code, basic, hidden_input, pkce, redirect_params, token,
};

const TOKEN: &str = TestHost::PATHS.token;
const OFFLINE: &str = "openid offline_access read";
const ONLINE: &str = "openid read";
const ACCESS_TTL: Duration = Duration::from_secs(600);
const REFRESH_TTL: Duration = Duration::from_secs(3600);
/// The P-256 test key: two instances sign with one key.
const P256_PEM: &str = include_str!("../../attesto-runtime/tests/fixtures/keys/p256.pkcs8.pem");

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/// A provider over `host` and `store`, with the test issuer and resources, the fixture key,
/// known token lifetimes and `interval` between reads of the shared revocation list.
fn provider(host: TestHost, store: impl attesto::store::Store, interval: Duration) -> Attesto<TestHost> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::from_pem(P256_PEM).expect("the fixture key"))
        .resource(RESOURCE)
        .expect("valid resource")
        .access_token_ttl(ACCESS_TTL)
        .refresh_token_ttl(REFRESH_TTL)
        .store(store)
        .revocation_refresh_interval(interval)
        .build()
        .expect("provider builds")
}

async fn guarded(_: Authenticated) -> StatusCode {
    StatusCode::OK
}

/// The provider's router and `/mcp`, a route of the resource `RESOURCE` behind attesto's guard.
fn app(auth: &Attesto<TestHost>) -> Router {
    let guard = auth.guard(RESOURCE).expect("valid resource");
    Router::new().route("/mcp", get(guarded)).with_state(guard).merge(auth.router())
}

/// One provider on a memory store: the host (for its events), the provider and its app.
fn setup() -> (TestHost, Attesto<TestHost>, Router) {
    let host = TestHost::new();
    let auth = provider(host.clone(), MemoryStore::new(), Duration::from_secs(5));
    let router = app(&auth);
    (host, auth, router)
}

/// `subject` signs in to `first-party` for `scope` and the resource; the token response.
async fn sign_in(router: &Router, subject: &str, scope: &str) -> Value {
    let (verifier, challenge) = pkce();
    let code =
        authorize_code(router, "first-party", WEB_REDIRECT, &challenge, scope, subject, &[("resource", RESOURCE)])
            .await;
    let body = form(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("code_verifier", &verifier),
        ("redirect_uri", WEB_REDIRECT),
    ]);
    let (status, _, tokens) = token(router, TOKEN, Some(&basic("first-party", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

async fn refresh(router: &Router, refresh_token: &str) -> (StatusCode, HeaderMap, Value) {
    let body = form(&[("grant_type", "refresh_token"), ("refresh_token", refresh_token)]);
    token(router, TOKEN, Some(&basic("first-party", SECRET)), &body).await
}

/// What the guarded route answers to an access token.
async fn at_resource(router: &Router, access_token: &str) -> StatusCode {
    call(router, "/mcp", Some(&format!("Bearer {access_token}")), &[]).await.0
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// The `grant_id` claim of an access token (its signature is checked by the guard elsewhere).
fn grant_id_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).expect("a compact JWS");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON");
    claims["grant_id"].as_str().unwrap_or_else(|| panic!("a `grant_id` in {claims}")).to_owned()
}

/// The one grant of `subject`.
async fn only_grant(auth: &Attesto<TestHost>, subject: &str) -> Grant {
    let grants = auth.grants(subject).await.expect("grants");
    assert_eq!(grants.len(), 1, "{grants:?}");
    grants.into_iter().next().expect("one grant")
}

// ---------------------------------------------------------------------------------------------
// the host API
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_code_with_offline_access_is_listed_with_its_fields_and_its_last_use_moves_on_refresh() {
    let (_, auth, router) = setup();
    let before = SystemTime::now();
    let tokens = sign_in(&router, "alice", OFFLINE).await;
    let grant = only_grant(&auth, "alice").await;
    assert_eq!(grant.grant_id, grant_id_of(str_of(&tokens, "access_token")), "the tokens name the listed grant");
    assert_eq!(grant.client_id.as_str(), "first-party");
    assert_eq!(grant.subject, "alice");
    assert_eq!(grant.scopes.to_string(), OFFLINE);
    assert_eq!(grant.audience, vec![RESOURCE.to_owned()]);
    assert!(grant.created_at >= before && grant.created_at <= SystemTime::now(), "{grant:?}");
    assert_eq!(grant.last_used_at, grant.created_at, "first used when made");
    assert_eq!(grant.expires_at, grant.created_at + REFRESH_TTL, "lives as long as its refresh family");
    assert!(auth.grants("bob").await.expect("grants").is_empty(), "alice's grant is alice's only");

    tokio::time::sleep(Duration::from_millis(20)).await;
    let (status, _, rotated) = refresh(&router, str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_eq!(grant_id_of(str_of(&rotated, "access_token")), grant.grant_id, "one grant across refreshes");
    let used = only_grant(&auth, "alice").await;
    assert!(used.last_used_at > grant.last_used_at, "the refresh is the last use: {used:?}");
    assert_eq!((used.created_at, used.expires_at), (grant.created_at, grant.expires_at), "the rest unchanged");

    // A second sign-in is a second grant, listed first.
    let second = sign_in(&router, "alice", ONLINE).await;
    let grants = auth.grants("alice").await.expect("grants");
    let ids: Vec<&str> = grants.iter().map(|g| g.grant_id.as_str()).collect();
    assert_eq!(ids, [grant_id_of(str_of(&second, "access_token")), grant.grant_id.clone()], "newest first");
}

#[tokio::test]
async fn a_code_without_offline_access_is_a_grant_too_whose_revocation_refuses_its_access_token() {
    let (host, auth, router) = setup();
    let tokens = sign_in(&router, "alice", ONLINE).await;
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let access = str_of(&tokens, "access_token");
    let grant = only_grant(&auth, "alice").await;
    assert_eq!(grant.grant_id, grant_id_of(access), "the lone access token belongs to the grant");
    assert_eq!(grant.scopes.to_string(), ONLINE);
    assert_eq!(grant.expires_at, grant.created_at + ACCESS_TTL, "lives as long as its one access token");
    assert_eq!(at_resource(&router, access).await, StatusCode::OK);

    assert!(auth.revoke_grant("alice", &grant.grant_id).await.expect("revoke"), "alice's own grant");
    let reply = call(&router, "/mcp", Some(&format!("Bearer {access}")), &[]).await;
    assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "{}", reply.2);
    assert_eq!(reply.2["error"], "invalid_token");
    assert!(auth.grants("alice").await.expect("grants").is_empty(), "no longer listed");
    let event = format!("grant_revoked first-party alice {}", grant.grant_id);
    assert!(host.events().contains(&event), "{:?}", host.events());
}

#[tokio::test]
async fn revoking_a_grant_refuses_its_refresh_token_and_every_access_token_issued_under_it() {
    let (_, auth, router) = setup();
    let first = sign_in(&router, "alice", OFFLINE).await;
    let (status, _, second) = refresh(&router, str_of(&first, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let other = sign_in(&router, "alice", OFFLINE).await;
    let accesses = [str_of(&first, "access_token"), str_of(&second, "access_token")];
    for access in accesses {
        assert_eq!(at_resource(&router, access).await, StatusCode::OK);
    }

    let grant_id = grant_id_of(accesses[0]);
    assert!(auth.revoke_grant("alice", &grant_id).await.expect("revoke"));
    let (status, _, body) = refresh(&router, str_of(&second, "refresh_token")).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &Value::from("invalid_grant")), "{body}");
    for access in accesses {
        assert_eq!(at_resource(&router, access).await, StatusCode::UNAUTHORIZED, "every access token of the grant");
    }
    let userinfo = TestHost::PATHS.userinfo.expect("userinfo is on");
    let reply = call(&router, userinfo, Some(&format!("Bearer {}", accesses[1])), &[]).await;
    assert_eq!(reply.0, StatusCode::UNAUTHORIZED, "userinfo refuses it too");

    // The user's other grant is untouched.
    assert_eq!(at_resource(&router, str_of(&other, "access_token")).await, StatusCode::OK);
    let (status, _, body) = refresh(&router, str_of(&other, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed: Vec<String> = auth.grants("alice").await.expect("grants").into_iter().map(|g| g.grant_id).collect();
    assert_eq!(listed, [grant_id_of(str_of(&other, "access_token"))]);
    // Revoking again is harmless (a retry after a failure completes it).
    assert!(auth.revoke_grant("alice", &grant_id).await.expect("revoke again"));
}

#[tokio::test]
async fn a_grant_of_another_user_is_not_revoked_and_the_answer_says_so() {
    let (host, auth, router) = setup();
    let tokens = sign_in(&router, "alice", OFFLINE).await;
    let grant = only_grant(&auth, "alice").await;

    assert!(!auth.revoke_grant("mallory", &grant.grant_id).await.expect("revoke"), "not mallory's grant");
    assert!(!auth.revoke_grant("alice", "no-such-grant").await.expect("revoke"), "an unknown grant id");
    assert_eq!(only_grant(&auth, "alice").await, grant, "still listed, unchanged");
    assert_eq!(at_resource(&router, str_of(&tokens, "access_token")).await, StatusCode::OK);
    let (status, _, body) = refresh(&router, str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "alice's refresh token still works: {body}");
    assert!(!host.events().iter().any(|e| e.starts_with("grant_revoked")), "{:?}", host.events());
}

#[tokio::test]
async fn revoking_all_of_a_users_grants_offboards_that_user_only() {
    let (_, auth, router) = setup();
    let alice = [sign_in(&router, "alice", OFFLINE).await, sign_in(&router, "alice", ONLINE).await];
    let bob = sign_in(&router, "bob", OFFLINE).await;

    assert_eq!(auth.revoke_all_grants("alice").await.expect("revoke all"), 2);
    for tokens in &alice {
        assert_eq!(at_resource(&router, str_of(tokens, "access_token")).await, StatusCode::UNAUTHORIZED);
    }
    let (status, _, body) = refresh(&router, str_of(&alice[0], "refresh_token")).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &Value::from("invalid_grant")), "{body}");
    assert!(auth.grants("alice").await.expect("grants").is_empty());
    assert_eq!(auth.revoke_all_grants("alice").await.expect("revoke all"), 0, "nothing left");

    assert_eq!(at_resource(&router, str_of(&bob, "access_token")).await, StatusCode::OK, "bob keeps his");
    assert_eq!(auth.grants("bob").await.expect("grants").len(), 1);
}

#[tokio::test]
async fn a_refresh_token_revoked_by_its_client_takes_its_grant_off_the_list() {
    let (_, auth, router) = setup();
    let tokens = sign_in(&router, "alice", OFFLINE).await;
    assert_eq!(auth.grants("alice").await.expect("grants").len(), 1);
    let revocation = TestHost::PATHS.revocation.expect("revocation is on");
    let body = form(&[("token", str_of(&tokens, "refresh_token"))]);
    let (status, _, _) = crate::common::send(
        &router,
        http::Request::post(revocation)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, basic("first-party", SECRET))
            .body(axum::body::Body::from(body))
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(auth.grants("alice").await.expect("grants").is_empty(), "a grant revoked by RFC 7009 is not listed");
}

/// Two providers in one process sharing one store, as two instances share a database: a grant
/// revoked at one is refused at once there, and at the other within its refresh interval.
#[tokio::test]
async fn a_grant_revoked_at_one_instance_is_refused_at_another_sharing_the_store() {
    const INTERVAL: Duration = Duration::from_millis(300);
    let store = Arc::new(MemoryStore::new());
    let a = provider(TestHost::new(), Arc::clone(&store), INTERVAL);
    let b = provider(TestHost::new(), Arc::clone(&store), INTERVAL);
    let (router_a, router_b) = (app(&a), app(&b));
    let tokens = sign_in(&router_a, "alice", OFFLINE).await;
    let access = str_of(&tokens, "access_token");
    assert_eq!(at_resource(&router_b, access).await, StatusCode::OK, "B has read the (empty) list");
    let grant = only_grant(&b, "alice").await;
    assert_eq!(grant.grant_id, grant_id_of(access), "B lists the grant A made");

    assert!(a.revoke_grant("alice", &grant.grant_id).await.expect("revoke at A"));
    assert_eq!(at_resource(&router_a, access).await, StatusCode::UNAUTHORIZED, "refused at once at A");
    let (status, _, body) = refresh(&router_b, str_of(&tokens, "refresh_token")).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &Value::from("invalid_grant")), "{body}");
    assert!(b.grants("alice").await.expect("grants").is_empty(), "off B's list at once");
    tokio::time::sleep(INTERVAL + Duration::from_millis(50)).await;
    assert_eq!(at_resource(&router_b, access).await, StatusCode::UNAUTHORIZED, "refused at B after the interval");
}

// ---------------------------------------------------------------------------------------------
// the quickstart's connected apps page
// ---------------------------------------------------------------------------------------------

async fn json_of(response: reqwest012::Response) -> Value {
    let text = response.text().await.expect("a body");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON, not {text}"))
}

/// The quickstart, served on a loopback port, and a browser-like client of it.
pub(crate) struct Quickstart {
    pub(crate) base: String,
    pub(crate) password: String,
    /// What it printed at start.
    pub(crate) banner: String,
    /// The demo second factor, printed at start.
    code: String,
    pub(crate) http: reqwest012::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Quickstart {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Quickstart {
    pub(crate) async fn start() -> Self {
        Self::start_with(None).await
    }

    /// The quickstart in the FAPI 2.0 profile `fapi2` (`--fapi2`, `--fapi2-message-signing`).
    pub(crate) async fn start_with(fapi2: Option<quickstart::Fapi2>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let address = listener.local_addr().expect("address");
        let options = quickstart::Options {
            port: address.port(),
            issuer: None,
            key: None,
            database: None,
            trusted_issuers: Vec::new(),
            fapi2,
        };
        let (app, banner) = quickstart::start(options, &address).await.expect("the quickstart starts");
        // The demo password is random, and printed with the demo user.
        let password = banner
            .lines()
            .find_map(|line| line.trim().strip_prefix("demo user"))
            .and_then(|rest| rest.split(" / ").nth(1))
            .expect("the demo user line")
            .trim()
            .to_owned();
        let server = tokio::spawn(async move {
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, app).await.expect("serve");
        });
        let http = reqwest012::Client::builder()
            .redirect(reqwest012::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client");
        let code = banner
            .lines()
            .find_map(|line| line.trim().strip_prefix("second factor"))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("the second factor line")
            .to_owned();
        Self { base: format!("http://{address}"), password, banner, code, http, server }
    }

    /// Signs the demo user in at the login page, sent there by the connected apps page: the
    /// session cookie (`name=value`).
    pub(crate) async fn sign_in(&self) -> String {
        let apps = format!("{}/account/apps", self.base);
        let response = self.http.get(&apps).send().await.expect("the apps page");
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "signed out: to the login page");
        let location = response.headers()[header::LOCATION].to_str().expect("ASCII").to_owned();
        let return_to = url::Url::parse(&location)
            .expect("absolute")
            .query_pairs()
            .find(|(name, _)| name == "return_to")
            .map(|(_, value)| value.into_owned())
            .expect("a return_to");
        assert_eq!(return_to, apps);
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .header(header::ORIGIN, &self.base)
            .form(&[("username", "demo"), ("password", self.password.as_str()), ("return_to", &return_to)])
            .send()
            .await
            .expect("sign in");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[header::LOCATION], apps.as_str(), "back to the apps page");
        let cookie = response.headers()[header::SET_COOKIE].to_str().expect("ASCII");
        cookie.split(';').next().expect("name=value").to_owned()
    }

    /// The signed-in demo user authorizes `client_id` (a public client with a loopback redirect
    /// URI) on attesto's consent page and redeems the code: the token response.
    pub(crate) async fn authorize(&self, session: &str, client_id: &str) -> Value {
        self.authorize_with(session, client_id, &[]).await
    }

    /// [`authorize`](Self::authorize) with `extra` parameters in the authorization request.
    async fn authorize_with(&self, session: &str, client_id: &str, extra: &[(&str, &str)]) -> Value {
        let (verifier, challenge) = pkce();
        let redirect = "http://127.0.0.1/callback";
        let mut authorize = url::Url::parse(&format!("{}/oauth/authorize", self.base)).expect("URL");
        authorize
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect)
            .append_pair("scope", "openid offline_access")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(extra);
        let response = self.http.get(authorize).header(header::COOKIE, session).send().await.expect("authorize");
        assert_eq!(response.status(), StatusCode::OK, "the consent page");
        let csrf_cookie =
            response.headers()[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("a cookie");
        let csrf_cookie = csrf_cookie.to_owned();
        let page = response.text().await.expect("page");
        let decision = [
            ("attesto_consent", hidden_input(&page, "attesto_consent")),
            ("attesto_csrf", hidden_input(&page, "attesto_csrf")),
            ("attesto_decision", "allow".to_owned()),
        ];
        let response = self
            .http
            .post(format!("{}/oauth/authorize", self.base))
            .header(header::COOKIE, format!("{session}; {csrf_cookie}"))
            .header(header::ORIGIN, &self.base)
            .form(&decision)
            .send()
            .await
            .expect("allow");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (_, params) = redirect_params(response.headers());
        let code = params.get("code").unwrap_or_else(|| panic!("a code: {params:?}"));
        let response = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", client_id),
                ("code", code.as_str()),
                ("code_verifier", verifier.as_str()),
                ("redirect_uri", redirect),
            ])
            .send()
            .await
            .expect("redeem");
        assert_eq!(response.status(), StatusCode::OK);
        json_of(response).await
    }

    /// The connected apps page as `session` sees it.
    async fn apps(&self, session: &str) -> (StatusCode, String) {
        let response = self
            .http
            .get(format!("{}/account/apps", self.base))
            .header(header::COOKIE, session)
            .send()
            .await
            .expect("the apps page");
        (response.status(), response.text().await.expect("page"))
    }

    /// Posts a revocation from the page: `origin` as the browser sends it.
    async fn revoke(&self, session: &str, origin: &str, fields: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        let response = self
            .http
            .post(format!("{}/account/apps/revoke", self.base))
            .header(header::COOKIE, session)
            .header(header::ORIGIN, origin)
            .form(fields)
            .send()
            .await
            .expect("revoke");
        let (status, headers) = (response.status(), response.headers().clone());
        (status, headers, response.text().await.expect("page"))
    }

    async fn refresh(&self, client_id: &str, refresh_token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/oauth/token", self.base))
            .form(&[("grant_type", "refresh_token"), ("client_id", client_id), ("refresh_token", refresh_token)])
            .send()
            .await
            .expect("refresh");
        (response.status(), json_of(response).await)
    }

    /// Registers a client (RFC 7591) with `metadata`: the status and the answer.
    async fn register(&self, metadata: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/oauth/register", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(metadata.to_string())
            .send()
            .await
            .expect("register");
        (response.status(), json_of(response).await)
    }

    /// `GET` of the end-session endpoint with `params`, as `session` (a cookie, or none).
    async fn logout(&self, session: Option<&str>, params: &[(&str, &str)]) -> reqwest012::Response {
        let mut url = url::Url::parse(&format!("{}/oauth/end_session", self.base)).expect("URL");
        url.query_pairs_mut().extend_pairs(params);
        let request = self.http.get(url);
        let request = match session {
            Some(session) => request.header(header::COOKIE, session),
            None => request,
        };
        request.send().await.expect("logout")
    }

    async fn userinfo(&self, access_token: &str) -> StatusCode {
        let url = format!("{}/oauth/userinfo", self.base);
        self.http.get(url).bearer_auth(access_token).send().await.expect("userinfo").status()
    }
}

#[tokio::test]
async fn the_quickstart_lists_the_signed_in_users_connected_apps_and_revokes_one() {
    let quickstart = Quickstart::start().await;
    let session = quickstart.sign_in().await;
    let (status, page) = quickstart.apps(&session).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("No application holds access to your account."), "{page}");

    // A client that registered itself with a name made of HTML (RFC 7591: anyone may).
    let hostile = "<script>alert(1)</script>\"&";
    let response = quickstart
        .http
        .post(format!("{}/oauth/register", quickstart.base))
        .header(header::CONTENT_TYPE, "application/json")
        .body(
            serde_json::json!({
                "client_name": hostile,
                "redirect_uris": ["http://127.0.0.1/callback"],
                "token_endpoint_auth_method": "none",
                "grant_types": ["authorization_code", "refresh_token"],
                "scope": "openid offline_access",
            })
            .to_string(),
        )
        .send()
        .await
        .expect("register");
    assert_eq!(response.status(), StatusCode::CREATED);
    let registered = json_of(response).await;
    let registered_id = str_of(&registered, "client_id").to_owned();

    let native = quickstart.authorize(&session, "demo-native").await;
    let other = quickstart.authorize(&session, &registered_id).await;
    let (status, page) = quickstart.apps(&session).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for shown in ["attesto demo native app", "demo-native", "openid offline_access", " UTC</dd>"] {
        assert!(page.contains(shown), "`{shown}` in {page}");
    }
    assert!(!page.contains(hostile) && !page.contains("<script>"), "a client's name is escaped: {page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;"), "{page}");
    let native_grant = grant_id_of(str_of(&native, "access_token"));
    let other_grant = grant_id_of(str_of(&other, "access_token"));
    assert!(page.contains(&native_grant) && page.contains(&other_grant), "{page}");
    assert!(page.find(&other_grant) < page.find(&native_grant), "newest first: {page}");
    let csrf = hidden_input(&page, "csrf");

    let (status, headers, body) =
        quickstart.revoke(&session, &quickstart.base, &[("grant_id", &native_grant), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(headers[header::LOCATION], "/account/apps");
    let (status, body) = quickstart.refresh("demo-native", str_of(&native, "refresh_token")).await;
    assert_eq!((status, &body["error"]), (StatusCode::BAD_REQUEST, &Value::from("invalid_grant")), "{body}");
    assert_eq!(quickstart.userinfo(str_of(&native, "access_token")).await, StatusCode::UNAUTHORIZED);
    let (_, page) = quickstart.apps(&session).await;
    assert!(!page.contains(&native_grant) && page.contains(&other_grant), "only the revoked one is gone: {page}");
    assert_eq!(quickstart.userinfo(str_of(&other, "access_token")).await, StatusCode::OK, "the other app keeps its");
}

#[tokio::test]
async fn the_quickstart_refuses_a_revocation_without_its_csrf_token_from_another_site_or_of_no_grant_of_the_user() {
    let quickstart = Quickstart::start().await;
    let session = quickstart.sign_in().await;
    let tokens = quickstart.authorize(&session, "demo-native").await;
    let grant_id = grant_id_of(str_of(&tokens, "access_token"));
    let (_, page) = quickstart.apps(&session).await;
    let csrf = hidden_input(&page, "csrf");
    let refused = "This request did not come from the connected apps page.";

    let (status, _, body) = quickstart.revoke(&session, &quickstart.base, &[("grant_id", &grant_id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token: {body}");
    assert!(body.contains(refused), "{body}");
    let (status, _, body) =
        quickstart.revoke(&session, &quickstart.base, &[("grant_id", &grant_id), ("csrf", "forged")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a wrong CSRF token: {body}");
    let (status, _, body) =
        quickstart.revoke(&session, "https://evil.example", &[("grant_id", &grant_id), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another site's form: {body}");
    assert!(body.contains(refused), "{body}");
    let (status, _, body) = quickstart
        .revoke("attesto-demo-session=stolen", &quickstart.base, &[("grant_id", &grant_id), ("csrf", &csrf)])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no session: {body}");
    // Another user's grant id (here: one no user has) is no grant of this user: nothing happens.
    let (status, _, body) =
        quickstart.revoke(&session, &quickstart.base, &[("grant_id", "another-users-grant"), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("You have no such connected app."), "{body}");

    // None of these revoked anything.
    let (status, body) = quickstart.refresh("demo-native", str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, page) = quickstart.apps(&session).await;
    assert!(page.contains(&grant_id), "{page}");
}

/// The quickstart's two authentication context classes (`acr_values_supported`): a password
/// sign-in is `password`; a client that asks for `acr_values=mfa` sends a password-only session
/// back to the login page, which then asks for the demo second factor, and the ID token says
/// `mfa` with `amr` `otp`. A wrong code is refused.
#[tokio::test]
async fn the_quickstart_steps_up_to_its_second_factor_for_acr_values_mfa() {
    let quickstart = Quickstart::start().await;
    let metadata = quickstart
        .http
        .get(format!("{}/.well-known/openid-configuration", quickstart.base))
        .send()
        .await
        .expect("discovery");
    assert_eq!(json_of(metadata).await["acr_values_supported"], serde_json::json!(["password", "mfa"]));
    let session = quickstart.sign_in().await;
    // A password sign-in satisfies `password`.
    let tokens = quickstart.authorize_with(&session, "demo-native", &[("acr_values", "password")]).await;
    let claims = payload(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!((claims["acr"].as_str(), claims["amr"].clone()), (Some("password"), serde_json::json!(["pwd"])));
    // `mfa` sends the same session to the login page, asking for the code.
    let (_, challenge) = pkce();
    let mut authorize = url::Url::parse(&format!("{}/oauth/authorize", quickstart.base)).expect("URL");
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", "demo-native")
        .append_pair("redirect_uri", "http://127.0.0.1/callback")
        .append_pair("scope", "openid")
        .append_pair("acr_values", "mfa")
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let response = quickstart.http.get(authorize).header(header::COOKIE, &session).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = url::Url::parse(response.headers()[header::LOCATION].to_str().expect("ASCII")).expect("a URL");
    assert_eq!(login.path(), "/login");
    assert!(login.query_pairs().any(|(name, value)| name == "factor" && value == "code"), "{login}");
    let page = quickstart.http.get(login.as_str()).send().await.expect("login page").text().await.expect("page");
    assert!(page.contains("name=\"code\""), "the page asks for the code: {page}");
    let return_to = login.query_pairs().find(|(name, _)| name == "return_to").expect("return_to").1.into_owned();
    let sign_in = |code: String| {
        let form = [
            ("username", "demo".to_owned()),
            ("password", quickstart.password.clone()),
            ("code", code),
            ("return_to", return_to.clone()),
        ];
        quickstart
            .http
            .post(format!("{}/login", quickstart.base))
            .header(header::ORIGIN, &quickstart.base)
            .form(&form)
            .send()
    };
    let wrong = sign_in("not the code".to_owned()).await.expect("sign in");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.text().await.expect("page").contains("Wrong username, password or code."));
    let right = sign_in(quickstart.code.clone()).await.expect("sign in");
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    let strong = right.headers()[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("a cookie");
    let strong = strong.to_owned();
    // With the second factor, `mfa` is reached.
    let tokens = quickstart.authorize_with(&strong, "demo-native", &[("acr_values", "mfa")]).await;
    let claims = payload(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!(claims["acr"], "mfa");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
}

/// The claims of a JWT, unverified (the tests above check what the provider put in them).
fn payload(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("JSON")
}

/// The quickstart serves RP-initiated logout: an ID token from the demo user's sign-in carries
/// the session's `sid`; with it as the hint, the end-session endpoint ends the session at once,
/// clears the cookie and sends the browser to the native app's registered post-logout URI with
/// its `state`; the session is gone afterwards.
#[tokio::test]
async fn the_quickstart_signs_the_demo_user_out_with_an_id_token_hint() {
    let quickstart = Quickstart::start().await;
    let session = quickstart.sign_in().await;
    let tokens = quickstart.authorize(&session, "demo-native").await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    assert!(payload(id_token)["sid"].as_str().is_some_and(|sid| sid.len() >= 16), "a sid");
    let mut logout = url::Url::parse(&format!("{}/oauth/end_session", quickstart.base)).expect("URL");
    logout
        .query_pairs_mut()
        .append_pair("client_id", "demo-native")
        .append_pair("post_logout_redirect_uri", "http://127.0.0.1/signed-out")
        .append_pair("state", "bye")
        .append_pair("id_token_hint", id_token);
    let response = quickstart.http.get(logout).header(header::COOKIE, &session).send().await.expect("logout");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "http://127.0.0.1/signed-out?state=bye");
    let cleared = response.headers()[header::SET_COOKIE].to_str().expect("ASCII");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The old cookie names no session any more: the apps page sends the browser to sign in.
    let (status, _) = quickstart.apps(&session).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// A client registers its `post_logout_redirect_uris` at the quickstart (RFC 7591, RP-Initiated
/// Logout 1.0 §3.1); a bad one is refused. Nobody vouches for a self-registered URI, so the
/// browser goes there at once only with an ID token hint that matched the signed-in session;
/// otherwise — signed out already, or confirming on attesto's page — it is shown where the
/// client asks to send it, with `state`, and goes only by following the link.
#[tokio::test]
async fn the_quickstart_takes_post_logout_redirect_uris_at_registration_and_sends_the_browser_there_only_when_vouched_for()
 {
    let quickstart = Quickstart::start().await;
    let bye = "https://rp.example/signed-out";
    let metadata = serde_json::json!({
        "client_name": "RP",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "post_logout_redirect_uris": [bye],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid offline_access",
    });
    for (uris, description) in [
        (
            serde_json::json!(["http://rp.example/signed-out"]),
            "`post_logout_redirect_uris`: a redirect URI must use https; http is accepted only on a loopback host: 127.0.0.1, [::1] or localhost, for native apps (RFC 8252 section 7.3)",
        ),
        (
            serde_json::json!(["https://rp.example/signed-out#x"]),
            "`post_logout_redirect_uris`: a redirect URI must not have a fragment (RFC 6749 section 3.1.2)",
        ),
        (serde_json::json!(bye), "`post_logout_redirect_uris` must be an array of strings"),
    ] {
        let mut bad = metadata.clone();
        bad["post_logout_redirect_uris"] = uris;
        let (status, body) = quickstart.register(&bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{body}");
        assert_eq!(body["error_description"], description);
    }
    let (status, registered) = quickstart.register(&metadata).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["post_logout_redirect_uris"], serde_json::json!([bye]));
    let client_id = str_of(&registered, "client_id").to_owned();

    // Signed out already, with the client's id: a page that says so and links to the URI.
    let asked = [("client_id", client_id.as_str()), ("post_logout_redirect_uri", bye), ("state", "s1")];
    let response = quickstart.logout(None, &asked).await;
    assert_eq!(response.status(), StatusCode::OK, "not a redirect");
    let page = response.text().await.expect("page");
    assert!(page.contains("You are signed out."), "{page}");
    assert!(
        page.contains("The application <strong>RP</strong> asks to take you to <strong>rp.example</strong>"),
        "{page}"
    );
    assert!(page.contains("href=\"https://rp.example/signed-out?state=s1\""), "{page}");
    // Still verified: an unregistered URI is refused, not linked to.
    let response = quickstart
        .logout(None, &[("client_id", client_id.as_str()), ("post_logout_redirect_uri", "https://evil.example/")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.expect("page").contains("is not registered for this client"));

    // Signed in, without a hint: attesto asks; confirmed, the user is signed out and shown the link.
    let session = quickstart.sign_in().await;
    let response = quickstart.logout(Some(&session), &asked).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csrf_cookie =
        response.headers()[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("a cookie");
    let csrf_cookie = csrf_cookie.to_owned();
    let page = response.text().await.expect("page");
    assert!(page.contains("Sign out?"), "{page}");
    let mut fields: Vec<(&str, String)> = asked.iter().map(|(name, value)| (*name, (*value).to_owned())).collect();
    fields.push(("attesto_csrf", hidden_input(&page, "attesto_csrf")));
    fields.push(("attesto_logout", "confirm".to_owned()));
    let response = quickstart
        .http
        .post(format!("{}/oauth/end_session", quickstart.base))
        .header(header::COOKIE, format!("{session}; {csrf_cookie}"))
        .header(header::ORIGIN, &quickstart.base)
        .form(&fields)
        .send()
        .await
        .expect("confirm");
    assert_eq!(response.status(), StatusCode::OK, "not a redirect");
    assert!(response.headers()[header::SET_COOKIE].to_str().expect("ASCII").contains("Max-Age=0"));
    let page = response.text().await.expect("page");
    assert!(page.contains("href=\"https://rp.example/signed-out?state=s1\""), "{page}");
    assert_eq!(quickstart.apps(&session).await.0, StatusCode::SEE_OTHER, "signed out");

    // The client's own ID token for this session as the hint: straight to the URI.
    let session = quickstart.sign_in().await;
    let tokens = quickstart.authorize(&session, &client_id).await;
    let id_token = str_of(&tokens, "id_token");
    let mut hinted = asked.to_vec();
    hinted.push(("id_token_hint", id_token));
    let response = quickstart.logout(Some(&session), &hinted).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "https://rp.example/signed-out?state=s1");
    assert_eq!(quickstart.apps(&session).await.0, StatusCode::SEE_OTHER, "signed out");
}

/// Serves `documents` (path, JSON) on a loopback port: a client's documents, as the sector
/// identifier documents of pairwise clients. The base URL.
async fn serve_documents(documents: Vec<(&'static str, Value)>) -> (String, tokio::task::JoinHandle<()>) {
    let mut app = Router::new();
    for (path, document) in documents {
        app = app.route(path, get(move || std::future::ready(axum::Json(document.clone()))));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (base, task)
}

/// Pairwise subject identifiers at the quickstart (OpenID Connect Core §8.1, Registration §5):
/// registration checks `subject_type` and the sector identifier document, fetched from loopback
/// (the quickstart's development switch); two clients of one sector see the demo user under one
/// `sub`, in the ID token and at userinfo, which is not the user's own identifier, while a
/// public client and the access tokens keep that one; and an ID token hint with the pairwise
/// `sub` still proves the session at logout.
#[tokio::test]
async fn the_quickstart_gives_pairwise_clients_the_subject_of_their_sector() {
    let quickstart = Quickstart::start().await;
    let redirect = "http://127.0.0.1/callback";
    let (documents, _server) = serve_documents(vec![
        ("/sector.json", serde_json::json!([redirect, "https://rp.example/cb"])),
        ("/other.json", serde_json::json!(["https://rp.example/cb"])),
        ("/object.json", serde_json::json!({ "redirect_uris": [redirect] })),
    ])
    .await;
    let metadata = |extra: Value| {
        let mut metadata = serde_json::json!({
            "redirect_uris": [redirect],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid offline_access",
        });
        if let (Some(all), Value::Object(extra)) = (metadata.as_object_mut(), extra) {
            all.extend(extra);
        }
        metadata
    };
    let sector_uri = |path: &str| format!("{documents}{path}");
    for (extra, description) in [
        (serde_json::json!({"subject_type": "secret"}), "this `subject_type` is not supported: use public or pairwise"),
        (
            serde_json::json!({"subject_type": "pairwise", "redirect_uris": [redirect, "http://localhost/callback"]}),
            "`subject_type` `pairwise` with redirect URIs on more than one host (or none) needs a `sector_identifier_uri`",
        ),
        (
            serde_json::json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri("/other.json")}),
            "the document at `sector_identifier_uri` must list every one of the client's `redirect_uris`",
        ),
        (
            serde_json::json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri("/object.json")}),
            "the document at `sector_identifier_uri` must be a JSON array of URIs",
        ),
        (
            serde_json::json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri("/missing.json")}),
            "the document at `sector_identifier_uri` could not be fetched",
        ),
        (
            serde_json::json!({"sector_identifier_uri": sector_uri("/sector.json")}),
            "`sector_identifier_uri` goes with `subject_type` `pairwise`",
        ),
    ] {
        let (status, body) = quickstart.register(&metadata(extra.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{extra}: {body}");
        assert_eq!(body["error"], "invalid_client_metadata", "{body}");
        assert_eq!(body["error_description"], description, "{extra}");
    }
    let (status, by_hosts) = quickstart
        .register(&metadata(serde_json::json!({
            "subject_type": "pairwise",
            "post_logout_redirect_uris": ["http://127.0.0.1/signed-out"],
        })))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_hosts}");
    assert_eq!(by_hosts["subject_type"], "pairwise");
    let (status, by_document) = quickstart
        .register(&metadata(
            serde_json::json!({"subject_type": "pairwise", "sector_identifier_uri": sector_uri("/sector.json")}),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{by_document}");
    assert_eq!(by_document["sector_identifier_uri"], sector_uri("/sector.json"));
    let (status, public) = quickstart.register(&metadata(serde_json::json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{public}");
    assert!(public.get("subject_type").is_none(), "{public}");

    let session = quickstart.sign_in().await;
    let by_hosts_tokens = quickstart.authorize(&session, str_of(&by_hosts, "client_id")).await;
    let by_document_tokens = quickstart.authorize(&session, str_of(&by_document, "client_id")).await;
    let public_tokens = quickstart.authorize(&session, str_of(&public, "client_id")).await;
    let sub = |tokens: &Value| payload(str_of(tokens, "id_token"))["sub"].as_str().expect("a sub").to_owned();
    let user = sub(&public_tokens);
    let pairwise = sub(&by_hosts_tokens);
    // Both sectors are the host 127.0.0.1: that of the redirect URIs, that of the document's URL.
    assert_eq!(sub(&by_document_tokens), pairwise, "one sector, one subject");
    assert_ne!(pairwise, user);
    assert_eq!(pairwise.len(), 43, "{pairwise}");
    for tokens in [&by_hosts_tokens, &by_document_tokens, &public_tokens] {
        assert_eq!(payload(str_of(tokens, "access_token"))["sub"], user.as_str(), "access tokens keep the user's own");
    }
    let response = quickstart
        .http
        .get(format!("{}/oauth/userinfo", quickstart.base))
        .bearer_auth(str_of(&by_hosts_tokens, "access_token"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await["sub"], pairwise.as_str(), "userinfo's sub is the ID token's");

    // The hint names the user by the pairwise `sub`: it matches the session, which ends at once.
    let hint = str_of(&by_hosts_tokens, "id_token");
    let response = quickstart
        .logout(Some(&session), &[("id_token_hint", hint), ("post_logout_redirect_uri", "http://127.0.0.1/signed-out")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[header::LOCATION], "http://127.0.0.1/signed-out");
    assert_eq!(quickstart.apps(&session).await.0, StatusCode::SEE_OTHER, "signed out");
}

/// The quickstart honours the `claims` parameter (OIDC Core §5.5), and says so in its OpenID
/// document: `{"id_token":{"email":null}}` puts the demo user's `email` in the ID token, and
/// `{"userinfo":{"name":null}}` answers `name` at userinfo without the `profile` scope; neither
/// leaks to the other place, the refreshed ID token has the email again, and `sid` is among the
/// claims it advertises (its sign-in sessions have ids, for logout).
#[tokio::test]
async fn the_quickstart_releases_the_claims_a_client_requests() {
    let quickstart = Quickstart::start().await;
    let metadata = quickstart
        .http
        .get(format!("{}/.well-known/openid-configuration", quickstart.base))
        .send()
        .await
        .expect("discovery");
    let metadata = json_of(metadata).await;
    assert_eq!(metadata["claims_parameter_supported"], true, "{metadata}");
    assert!(metadata["claims_supported"].as_array().expect("claims").contains(&"sid".into()), "{metadata}");

    let session = quickstart.sign_in().await;
    let requested = r#"{"id_token":{"email":null},"userinfo":{"name":null}}"#;
    let tokens = quickstart.authorize_with(&session, "demo-native", &[("claims", requested)]).await;
    let id_token = payload(tokens["id_token"].as_str().expect("an ID token"));
    assert_eq!((id_token["sub"].as_str(), id_token["email"].as_str()), (Some("demo"), Some("demo@example.com")));
    assert!(id_token.get("name").is_none(), "`name` was requested for userinfo only: {id_token}");

    let userinfo =
        |access: String| quickstart.http.get(format!("{}/oauth/userinfo", quickstart.base)).bearer_auth(access).send();
    let response = userinfo(str_of(&tokens, "access_token").to_owned()).await.expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json_of(response).await, serde_json::json!({"sub": "demo", "name": "demo"}));

    let response = quickstart
        .http
        .post(format!("{}/oauth/token", quickstart.base))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "demo-native"),
            ("refresh_token", str_of(&tokens, "refresh_token")),
        ])
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status(), StatusCode::OK);
    let refreshed = json_of(response).await;
    let id_token = payload(refreshed["id_token"].as_str().expect("an ID token at the refresh"));
    assert_eq!(id_token["email"], "demo@example.com", "the refreshed ID token keeps the requested claim");
    let response = userinfo(str_of(&refreshed, "access_token").to_owned()).await.expect("userinfo");
    assert_eq!(json_of(response).await, serde_json::json!({"sub": "demo", "name": "demo"}));
}
