//! The attacks of the security review, each sent through the real router with the exact outcome
//! checked: tokens without a user from open registration, the open redirector, anonymous state,
//! pending requests used after their client changed, redirect-URI policy, attacker text in
//! `error_description`, unauthenticated DPoP work, OpenID Connect rules, what the consent page
//! tells the user, and the login handle bound to its browser. (The code-substitution attack,
//! another client burning a victim's code, is in `tests/it/code_flow.rs`.)

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::common;
use crate::common::{
    ISSUER, LOGIN_PAGE, SECRET, TestStore, assert_error, authorize_url, basic, browser_get, browser_post, hidden_input,
    pkce, redirect_params, send_json, session_cookie, token,
};
use attesto::dpop::{ProofError, ProofRequirements, verify_proof};
use attesto::{
    Attesto, AuthenticatedPrincipal, Client, ClientId, ClientRegistration, ClientStore, ConsentDecision, ConsentPolicy,
    ConsentRequest, GrantRequest, GrantType, HostError, LoginOutcome, LoginRequest, MemoryStore, Principal,
    PrincipalStore, RegistrationStore, Scopes, SecretHash, TokenKind,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

const AUTHORIZE: &str = "/oauth/authorize";
const TOKEN: &str = "/oauth/token";
const REGISTER: &str = "/oauth/register";
const PAR: &str = "/oauth/par";
const RESOURCE: &str = "https://auth.example.com/mcp";
const EVIL: &str = "https://evil.example/cb";
/// The initial access token the host hands its own services: with it, a registration may hold
/// `client_credentials`.
const SERVICE_TOKEN: &str = "service-token";
/// The registered client the host has reviewed: [`Client::with_trusted`].
const REVIEWED: &str = "Reviewed App";

type Reply = (StatusCode, HeaderMap, Vec<u8>);

/// A host with a client table it can change, open registration (clients named [`REVIEWED`] are
/// marked trusted when loaded), sign-in by the `test-session` cookie, consent always asked, and a
/// `build_principal` that tries to put `auth_time` into every token.
#[derive(Clone, Default)]
#[attesto::provider(registration, resource = "/mcp")]
struct Host {
    clients: Arc<Mutex<HashMap<String, Client>>>,
    registered: Arc<Mutex<HashMap<ClientId, ClientRegistration>>>,
}

impl Host {
    fn new() -> Self {
        let host = Self::default();
        let scopes = Scopes::parse("openid offline_access read").expect("scopes");
        host.add(
            Client::confidential("web", SecretHash::of(SECRET))
                .with_name("Web App")
                .with_scopes(scopes.clone())
                .with_redirect_uris(["https://client.example.com/cb"])
                .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken]),
        );
        host.add(
            Client::confidential("service", SecretHash::of(SECRET))
                .with_scopes(scopes.clone())
                .with_grant_types([GrantType::ClientCredentials]),
        );
        host.add(Client::public("native").with_scopes(scopes.clone()).with_redirect_uris(["http://127.0.0.1/cb"]));
        // A record whose redirect URI reads as client.example but goes to evil.example.
        host.add(
            Client::confidential("bad-uri", SecretHash::of(SECRET))
                .with_scopes(scopes)
                .with_redirect_uris(["https://client.example@evil.example/cb"]),
        );
        host
    }

    fn add(&self, client: Client) {
        self.clients.lock().expect("clients").insert(client.client_id.to_string(), client);
    }

    fn change(&self, client_id: &str, change: impl FnOnce(&mut Client)) {
        change(self.clients.lock().expect("clients").get_mut(client_id).expect("a known client"));
    }
}

impl ClientStore for Host {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.lock().expect("clients").get(client_id).cloned())
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(match common::session(request.headers) {
            Some((subject, auth_time)) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, auth_time)),
            None => {
                let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
                LoginOutcome::Redirect(format!("{LOGIN_PAGE}?return_to={return_to}"))
            }
        })
    }

    async fn build_principal(&self, _: &Client, subject: &str, _: &Scopes) -> Result<Principal, HostError> {
        let mut principal = Principal::new(subject);
        // A user's sign-in time in a client's own token would make it pass for a user's.
        principal.claims.insert("auth_time".to_owned(), 1_700_000_000.into());
        Ok(principal)
    }
}

impl ConsentPolicy for Host {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Ask)
    }
}

impl RegistrationStore for Host {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        self.registered.lock().expect("registered").insert(registration.client.client_id.clone(), registration.clone());
        Ok(())
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        let mut found = self.registered.lock().expect("registered").get(client_id).cloned();
        if let Some(registration) = &mut found
            && registration.client.client_name.as_deref() == Some(REVIEWED)
        {
            registration.client = registration.client.clone().with_trusted(true);
        }
        Ok(found)
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        let mut registered = self.registered.lock().expect("registered");
        Ok(registered.insert(registration.client.client_id.clone(), registration.clone()).is_some())
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        Ok(self.registered.lock().expect("registered").remove(client_id).is_some())
    }
    async fn allow_client_credentials(&self, request: &GrantRequest<'_>) -> Result<bool, HostError> {
        Ok(request.initial_access_token.is_some_and(|token| SecretHash::of(SERVICE_TOKEN).verify(token)))
    }
}

/// The provider of `host` on the test issuer, with `store`.
fn provider(host: Host, store: impl attesto::store::Store) -> Attesto<Host> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(attesto::Key::generate(attesto::Algorithm::ES256).expect("key"))
        .scopes_supported(["openid", "offline_access", "read"])
        .store(store)
        .build()
        .expect("provider")
}

fn setup() -> (Host, Attesto<Host>, Router) {
    let host = Host::new();
    let auth = provider(host.clone(), MemoryStore::new());
    let router = auth.router();
    (host, auth, router)
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// `POST {register}` with JSON `metadata` and an optional initial access token.
async fn register(router: &Router, metadata: &Value, initial_token: Option<&str>) -> (StatusCode, HeaderMap, Value) {
    let mut request = Request::post(REGISTER).header(header::CONTENT_TYPE, "application/json");
    if let Some(token) = initial_token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    send_json(router, request.body(Body::from(metadata.to_string())).expect("request")).await
}

/// Registers `metadata` and returns the client information response.
async fn registered(router: &Router, metadata: &Value) -> Value {
    let (status, _, body) = register(router, metadata, None).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// A public client registered with `redirect_uri`, named `name`: its client id.
async fn register_public(router: &Router, redirect_uri: &str, name: &str) -> String {
    let body = registered(
        router,
        &json!({"redirect_uris": [redirect_uri], "token_endpoint_auth_method": "none", "client_name": name, "scope": "openid read"}),
    )
    .await;
    body["client_id"].as_str().expect("client_id").to_owned()
}

/// An authorization request of `client_id` to `redirect_uri`, with `extra` parameters.
fn request<'a>(client_id: &'a str, redirect_uri: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
        ("scope", "read"),
        ("state", "xyz"),
    ];
    for (name, value) in extra {
        params.retain(|(n, _)| n != name);
        params.push((name, value));
    }
    params
}

async fn authorize(router: &Router, params: &[(&str, &str)], cookie: Option<&str>) -> Reply {
    browser_get(router, &authorize_url(AUTHORIZE, params), cookie).await
}

/// Asserts the page shown instead of a redirect, with `error` printed on it.
fn assert_page(reply: &Reply, status: StatusCode, error: &str) -> String {
    let (actual, headers, body) = reply;
    let body = text(body);
    assert_eq!(*actual, status, "{body}");
    assert!(headers.get(header::LOCATION).is_none(), "must not redirect: {headers:?}");
    assert!(body.contains(&format!("<code>{error}</code>")), "`{error}` on the page: {body}");
    body
}

/// The claims of a JWT, unverified.
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

// ---------------------------------------------------------------------------------------------
// 1. Tokens without a user from open registration (RFC 9700 §4.15, RFC 9068 §5)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn open_registration_does_not_give_client_credentials() {
    let (_, _, router) = setup();
    for metadata in [
        json!({"grant_types": ["client_credentials"]}),
        json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post", "scope": "read"}),
        json!({"grant_types": ["authorization_code", "client_credentials"], "redirect_uris": ["https://app.example/cb"]}),
    ] {
        let reply = register(&router, &metadata, None).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client_metadata");
        assert!(reply.2["error_description"].as_str().is_some_and(|d| d.contains("client_credentials")), "{}", reply.2);
        // A wrong token is no opt-in either.
        let reply = register(&router, &metadata, Some("guessed")).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    }
}

#[tokio::test]
async fn an_update_cannot_add_client_credentials() {
    let (_, _, router) = setup();
    let created = registered(&router, &json!({"redirect_uris": ["https://app.example/cb"], "scope": "read"})).await;
    let client_id = created["client_id"].as_str().expect("client_id");
    let uri = created["registration_client_uri"].as_str().expect("configuration URI");
    let path = uri.strip_prefix(ISSUER).expect("on the issuer");
    let access = created["registration_access_token"].as_str().expect("registration access token");
    let update = json!({
        "client_id": client_id,
        "redirect_uris": ["https://app.example/cb"],
        "grant_types": ["authorization_code", "client_credentials"],
        "scope": "read",
    });
    let request = Request::put(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::from(update.to_string()))
        .expect("request");
    assert_error(&send_json(&router, request).await, StatusCode::BAD_REQUEST, "invalid_client_metadata");
    // The client still cannot get a token for itself.
    let secret = created["client_secret"].as_str().expect("secret");
    let body = "grant_type=client_credentials&scope=read";
    let reply = token(&router, TOKEN, Some(&basic(client_id, secret)), body).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn the_guard_tells_a_clients_token_from_a_users_and_may_refuse_it() {
    let (_, auth, router) = setup();
    // The host opts a service in with the token it handed out.
    let (status, _, service) =
        register(&router, &json!({"grant_types": ["client_credentials"], "scope": "read"}), Some(SERVICE_TOKEN)).await;
    assert_eq!(status, StatusCode::CREATED, "{service}");
    let (id, secret) = (service["client_id"].as_str().expect("id"), service["client_secret"].as_str().expect("secret"));
    let body = format!("grant_type=client_credentials&scope=read&resource={}", urlencode(RESOURCE));
    let (status, _, tokens) = token(&router, TOKEN, Some(&basic(id, secret)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let client_token = tokens["access_token"].as_str().expect("token").to_owned();
    // The host's claims could not slip a sign-in time into it.
    assert!(claims(&client_token).get("auth_time").is_none(), "{}", claims(&client_token));

    // A user's token: through the code flow, with consent.
    let user_token = user_access_token(&router, &[("resource", RESOURCE)]).await;
    assert!(claims(&user_token)["auth_time"].is_u64(), "{}", claims(&user_token));

    let guard = auth.resource_guard().expect("guard");
    let users_only = guard.require_user();
    let call = |guard: attesto::Guard, token: String| async move {
        let request = Request::get("/mcp").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty());
        let (parts, _) = request.expect("request").into_parts();
        guard.check(&parts).await
    };
    let client = call(guard.clone(), client_token.clone()).await.expect("a client token passes a plain guard");
    assert_eq!(client.kind, TokenKind::Client);
    assert_eq!(client.subject, id, "RFC 9068 §2.2: the client names itself");
    let user = call(guard.clone(), user_token.clone()).await.expect("a user token passes");
    assert_eq!(user.kind, TokenKind::User);
    assert_eq!(user.subject, "alice");
    assert_eq!(call(users_only.clone(), user_token).await.expect("a user token passes").kind, TokenKind::User);

    let refused = call(users_only, client_token).await.expect_err("a client token is refused");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()[header::WWW_AUTHENTICATE].to_str().expect("ASCII").to_owned();
    assert!(challenge.starts_with("Bearer error=\"insufficient_user_authentication\""), "{challenge}");
    assert!(challenge.contains("resource_metadata=\""), "{challenge}");
}

fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `alice` authorizes `web` (consent page, allow) and its code is redeemed: the access token.
async fn user_access_token(router: &Router, extra: &[(&str, &str)]) -> String {
    let tokens = user_tokens(router, "read", extra).await;
    tokens["access_token"].as_str().expect("an access token").to_owned()
}

/// `alice` authorizes `web` for `scope` on the consent page; the token response.
async fn user_tokens(router: &Router, scope: &str, extra: &[(&str, &str)]) -> Value {
    let (verifier, challenge) = pkce();
    let mut params = request("web", "https://client.example.com/cb", &[("scope", scope)]);
    params.retain(|(n, _)| *n != "code_challenge");
    params.push(("code_challenge", &challenge));
    params.extend_from_slice(extra);
    let (base, params) = allow(router, &params).await;
    assert_eq!(base, "https://client.example.com/cb");
    let code = params.get("code").unwrap_or_else(|| panic!("a code in {params:?}"));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "https://client.example.com/cb"),
            ("code_verifier", &verifier),
        ])
        .finish();
    let (status, _, tokens) = token(router, TOKEN, Some(&basic("web", SECRET)), &body).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    tokens
}

/// `alice`, signed in, allows the request on the consent page: the redirect's base and params.
async fn allow(router: &Router, params: &[(&str, &str)]) -> (String, HashMap<String, String>) {
    let (status, headers, page) = consent_page(router, params).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    decide(router, &headers, &page, "allow").await
}

async fn consent_page(router: &Router, params: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
    let (status, headers, page) = authorize(router, params, Some(&session_cookie("alice"))).await;
    (status, headers, text(&page))
}

/// Posts `decision` on the consent page `page` (served with `headers`).
async fn decide(router: &Router, headers: &HeaderMap, page: &str, decision: &str) -> (String, HashMap<String, String>) {
    let (status, headers, body) = post_decision(router, headers, page, decision).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", text(&body));
    redirect_params(&headers)
}

async fn post_decision(router: &Router, headers: &HeaderMap, page: &str, decision: &str) -> Reply {
    let csrf_cookie =
        headers[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("cookie").to_owned();
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("attesto_consent", hidden_input(page, "attesto_consent").as_str()),
            ("attesto_csrf", &hidden_input(page, "attesto_csrf")),
            ("attesto_decision", decision),
        ])
        .finish();
    let cookies = format!("{}; {csrf_cookie}", session_cookie("alice"));
    browser_post(router, AUTHORIZE, Some(&cookies), &body).await
}

// ---------------------------------------------------------------------------------------------
// 2. No open redirector (RFC 9700 §4.11.2)
// ---------------------------------------------------------------------------------------------

/// Asserts the interstitial: no redirect, the destination's host named, a link or form to it
/// carrying `error`, and returns the page.
fn assert_interstitial(reply: &Reply, error: &str) -> String {
    let page = assert_page(reply, StatusCode::BAD_REQUEST, error);
    assert!(page.contains("<strong>evil.example</strong>"), "the destination's host is named: {page}");
    assert!(page.contains("does not vouch for that address"), "{page}");
    page
}

#[tokio::test]
async fn errors_before_sign_in_are_not_redirected_to_a_self_registered_uri() {
    let (_, _, router) = setup();
    let client_id = register_public(&router, EVIL, "Calendar").await;
    // A request with a bad parameter, no session: an error the client may receive, at a URI
    // anyone registered. Shown, with a link the user may follow.
    let reply = authorize(&router, &request(&client_id, EVIL, &[("response_type", "token")]), None).await;
    let page = assert_interstitial(&reply, "unsupported_response_type");
    assert!(page.contains("href=\"https://evil.example/cb?error=unsupported_response_type&amp;"), "{page}");
    assert!(page.contains("state=xyz"), "{page}");
    let csp = reply.1[header::CONTENT_SECURITY_POLICY].to_str().expect("ASCII");
    assert!(csp.contains("form-action 'none'"), "the link page posts nowhere: {csp}");

    // `prompt=none` without a session: `login_required`, shown too.
    let reply = authorize(&router, &request(&client_id, EVIL, &[("prompt", "none")]), None).await;
    assert_interstitial(&reply, "login_required");

    // form_post: a button posting to the destination, the CSP allowing only that origin.
    let reply =
        authorize(&router, &request(&client_id, EVIL, &[("response_mode", "form_post"), ("prompt", "none")]), None)
            .await;
    let page = assert_interstitial(&reply, "login_required");
    assert!(page.contains("<form method=\"post\" action=\"https://evil.example/cb\">"), "{page}");
    assert!(!page.contains("<script"), "no automatic submission: {page}");
    let csp = reply.1[header::CONTENT_SECURITY_POLICY].to_str().expect("ASCII");
    assert!(csp.ends_with("form-action https://evil.example"), "{csp}");
}

#[tokio::test]
async fn trusted_clients_and_loopback_uris_are_still_redirected_at_once() {
    let (_, _, router) = setup();
    let redirected = |reply: &Reply, base: &str, error: &str| {
        assert_eq!(reply.0, StatusCode::SEE_OTHER, "{}", text(&reply.2));
        let (actual, params) = redirect_params(&reply.1);
        assert_eq!(actual, base);
        assert_eq!(params["error"], error);
    };
    // The host's own client.
    let reply = authorize(&router, &request("web", "https://client.example.com/cb", &[("prompt", "none")]), None).await;
    redirected(&reply, "https://client.example.com/cb", "login_required");
    // A native app's loopback URI (RFC 8252 §7.3): on the user's own device.
    let loopback = register_public(&router, "http://127.0.0.1:4711/cb", "CLI").await;
    let reply = authorize(&router, &request(&loopback, "http://127.0.0.1:4711/cb", &[("prompt", "none")]), None).await;
    redirected(&reply, "http://127.0.0.1:4711/cb", "login_required");
    // A registered client the host has reviewed and marked trusted.
    let reviewed = register_public(&router, EVIL, REVIEWED).await;
    let reply = authorize(&router, &request(&reviewed, EVIL, &[("prompt", "none")]), None).await;
    redirected(&reply, EVIL, "login_required");
}

#[tokio::test]
async fn after_sign_in_the_users_own_decision_is_redirected() {
    let (_, _, router) = setup();
    let client_id = register_public(&router, EVIL, "Calendar").await;
    let params = request(&client_id, EVIL, &[]);
    let (status, headers, page) = consent_page(&router, &params).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // The consent page named the destination before the user decided.
    assert!(page.contains("you will be sent back to <strong>evil.example</strong>"), "{page}");
    let (base, params) = decide(&router, &headers, &page, "deny").await;
    assert_eq!(base, EVIL);
    assert_eq!(params["error"], "access_denied");
}

// ---------------------------------------------------------------------------------------------
// 3. Anonymous requests store nothing; what can be stored is capped
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn anonymous_authorization_requests_store_nothing() {
    let store = Arc::new(TestStore::default());
    let auth = provider(Host::new(), Arc::clone(&store));
    let router = auth.router();
    let big = "x".repeat(2048);
    for _ in 0..300 {
        let params =
            request("web", "https://client.example.com/cb", &[("state", &big), ("nonce", &big), ("login_hint", &big)]);
        let (status, headers, _) = authorize(&router, &params, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(headers[header::LOCATION].to_str().expect("ASCII").starts_with(LOGIN_PAGE));
    }
    assert_eq!(store.pending_puts.load(Ordering::SeqCst), 0, "a request waiting for sign-in is sealed in its handle");
}

#[tokio::test]
async fn pushed_requests_are_capped_per_client_and_refused_with_503() {
    let host = Host::new();
    let auth = provider(host, MemoryStore::new().max_pending_per_client(3).max_pending(5));
    let router = auth.router();
    let push = |client: &'static str| {
        let router = router.clone();
        async move {
            let body = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(request(client, "https://client.example.com/cb", &[]))
                .finish();
            token(&router, PAR, Some(&basic(client, SECRET)), &body).await
        }
    };
    for _ in 0..3 {
        assert_eq!(push("web").await.0, StatusCode::CREATED);
    }
    let refused = push("web").await;
    assert_error(&refused, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    // One client's flood does not take the others' places, until the overall cap.
    let native = |router: Router| async move {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(request("native", "http://127.0.0.1/cb", &[]))
            .finish();
        token(&router, PAR, None, &body).await
    };
    assert_eq!(native(router.clone()).await.0, StatusCode::CREATED);
    assert_eq!(native(router.clone()).await.0, StatusCode::CREATED);
    assert_error(&native(router.clone()).await, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
}

#[tokio::test]
async fn a_registration_is_a_small_record() {
    let (_, _, router) = setup();
    let uri = |i: usize| format!("https://app.example/cb{i}");
    let long = "x".repeat(2049);
    for (metadata, description) in [
        (
            json!({"redirect_uris": [EVIL], "client_name": "n".repeat(60_000)}),
            "`client_name` is longer than 2048 bytes",
        ),
        (json!({"redirect_uris": (0..17).map(uri).collect::<Vec<_>>()}), "`redirect_uris` has more than 16 items"),
        (json!({"redirect_uris": [EVIL], "contacts": [long]}), "an item of `contacts` is longer than 2048 bytes"),
        (
            json!({"redirect_uris": [EVIL], "contacts": (0..16).map(|i| format!("{i}{}", "c".repeat(900))).collect::<Vec<_>>()}),
            "the client metadata is larger than 8192 bytes",
        ),
    ] {
        let reply = register(&router, &metadata, None).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_client_metadata");
        assert_eq!(reply.2["error_description"], description);
    }
}

#[tokio::test]
async fn a_client_configuration_path_that_is_not_utf8_is_an_unknown_client() {
    let (_, _, router) = setup();
    for method in ["GET", "PUT", "DELETE"] {
        let request = Request::builder()
            .method(method)
            .uri(format!("{REGISTER}/%FF%FE"))
            .header(header::AUTHORIZATION, "Bearer x")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let reply = send_json(&router, request).await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "invalid_token");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. A waiting request is checked again against its client as it is now
// ---------------------------------------------------------------------------------------------

/// A request of `web` that went to the login page: its resume URI (path and query) and cookie.
async fn started_without_session(router: &Router) -> (String, String) {
    let (status, headers, _) = authorize(router, &request("web", "https://client.example.com/cb", &[]), None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    let resume = params["return_to"].strip_prefix(ISSUER).expect("on the issuer").to_owned();
    let cookie = headers[header::SET_COOKIE].to_str().expect("ASCII").split(';').next().expect("cookie").to_owned();
    (resume, cookie)
}

#[tokio::test]
async fn a_redirect_uri_removed_while_the_user_signs_in_receives_nothing() {
    let (host, _, router) = setup();
    let (resume, cookie) = started_without_session(&router).await;
    host.change("web", |client| client.redirect_uris = vec!["https://client.example.com/new".to_owned()]);
    let cookies = format!("{cookie}; {}", session_cookie("alice"));
    let page =
        assert_page(&browser_get(&router, &resume, Some(&cookies)).await, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(page.contains("no longer registered"), "{page}");
}

#[tokio::test]
async fn a_client_changed_while_the_consent_page_is_shown_receives_nothing() {
    let (host, _, router) = setup();
    let params = request("web", "https://client.example.com/cb", &[]);
    let (_, headers, page) = consent_page(&router, &params).await;
    host.change("web", |client| client.redirect_uris = vec!["https://client.example.com/new".to_owned()]);
    let reply = post_decision(&router, &headers, &page, "allow").await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");

    // The grant withdrawn instead.
    let (_, headers, page) = consent_page(&router, &request("web", "https://client.example.com/new", &[])).await;
    host.change("web", |client| client.grant_types = vec![GrantType::RefreshToken]);
    let reply = post_decision(&router, &headers, &page, "allow").await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "unauthorized_client");
}

// ---------------------------------------------------------------------------------------------
// 6. Redirect-URI policy (RFC 9700 §2.6, RFC 8252 §8.3, RFC 3986 §7.6)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn redirect_uris_http_only_on_loopback_for_native_apps_and_never_with_user_information() {
    let (_, _, router) = setup();
    for (metadata, why) in [
        (json!({"redirect_uris": ["http://localhost:1/cb"]}), "http for a web client"),
        (json!({"redirect_uris": ["http://127.0.0.1:1/cb"], "client_name": "web"}), "http for a web client"),
        (json!({"redirect_uris": ["https://a.example@evil.example/cb"]}), "user information"),
        (json!({"redirect_uris": ["https://@evil.example/cb"]}), "an empty user information"),
        (json!({"redirect_uris": ["https://a:b@evil.example/cb"], "token_endpoint_auth_method": "none"}), "a password"),
        (
            json!({"redirect_uris": ["http://app.example/cb"], "token_endpoint_auth_method": "none"}),
            "http off loopback",
        ),
    ] {
        let reply = register(&router, &metadata, None).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_redirect_uri");
        assert!(reply.2["error_description"].is_string(), "{why}");
    }
    // Native apps, public or declared: loopback http.
    register_public(&router, "http://127.0.0.1:7777/cb", "CLI").await;
    registered(&router, &json!({"redirect_uris": ["http://[::1]/cb"], "application_type": "native"})).await;
}

#[tokio::test]
async fn a_host_client_with_a_bad_redirect_uri_is_refused_naming_the_client() {
    let (_, _, router) = setup();
    let reply = authorize(&router, &request("bad-uri", "https://client.example@evil.example/cb", &[]), None).await;
    let page = assert_page(&reply, StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    assert!(page.contains("The client `bad-uri` is misconfigured"), "{page}");
}

// ---------------------------------------------------------------------------------------------
// 7. `error_description` carries no request bytes (RFC 6749 §5.2)
// ---------------------------------------------------------------------------------------------

/// Whether every character is one RFC 6749 §5.2 allows in an `error_description`.
fn rfc6749_description(description: &str) -> bool {
    description.chars().all(|c| matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E'))
}

#[tokio::test]
async fn a_repeated_parameters_name_is_not_echoed() {
    let (_, _, router) = setup();
    let name = urlencode("x\"\\é<script>\u{202e}");
    let body = format!("grant_type=client_credentials&{name}=1&{name}=2");
    let reply = token(&router, TOKEN, Some(&basic("service", SECRET)), &body).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(reply.2["error_description"], "a parameter is repeated");
    // A known parameter is named: attesto's text, not the request's.
    let reply =
        token(&router, TOKEN, Some(&basic("service", SECRET)), "grant_type=client_credentials&scope=a&scope=b").await;
    assert_eq!(reply.2["error_description"], "parameter `scope` is repeated");

    // At the authorization endpoint, the error goes back to the client: same text.
    let mut params = request("web", "https://client.example.com/cb", &[]);
    params.push(("x\"\\é", "1"));
    params.push(("x\"\\é", "2"));
    let (status, headers, _) = authorize(&router, &params, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, params) = redirect_params(&headers);
    assert_eq!(params["error_description"], "a parameter is repeated");
    assert!(rfc6749_description(&params["error_description"]));
}

#[tokio::test]
async fn descriptions_quoting_other_text_keep_to_the_allowed_characters() {
    // A description built from any text is restricted when the error is made.
    let error = attesto_runtime::__fuzz::error_with_description(
        attesto::ErrorCode::InvalidRequest,
        "bad \"value\" \\ é\u{202e}\n end",
    );
    assert_eq!(error.description(), "bad ?value? ? ??? end");
    assert!(rfc6749_description(error.description()));
}

// ---------------------------------------------------------------------------------------------
// 8. Unauthenticated DPoP work (RFC 9449 §4.3, §11.1)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_proof_of_a_caller_who_fails_authentication_is_not_recorded() {
    let store = Arc::new(TestStore::default());
    let auth = provider(Host::new(), Arc::clone(&store));
    let router = auth.router();
    let proof = common::dpop_key::p256().proof("POST", &format!("{ISSUER}{TOKEN}"));
    let request = |authorization: String| {
        Request::post(TOKEN)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, authorization)
            .header("DPoP", &proof)
            .body(Body::from("grant_type=client_credentials&scope=read"))
            .expect("request")
    };
    let refused = send_json(&router, request(basic("service", "wrong"))).await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(store.dpop_inserts.load(Ordering::SeqCst), 0, "no store write for an unauthenticated caller");
    // So the proof is still unused: the rightful client's request with it succeeds, once.
    let (status, _, body) = send_json(&router, request(basic("service", SECRET))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    assert_eq!(store.dpop_inserts.load(Ordering::SeqCst), 1);
    let replayed = send_json(&router, request(basic("service", SECRET))).await;
    assert_error(&replayed, StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

/// A proof with `header` and `claims`, and a signature of random bytes.
fn unsigned_proof(header: &Value, claims: &Value) -> String {
    let encode = |value: &Value| URL_SAFE_NO_PAD.encode(value.to_string());
    format!("{}.{}.{}", encode(header), encode(claims), URL_SAFE_NO_PAD.encode(rand::random::<[u8; 64]>()))
}

#[test]
fn the_cheap_claims_are_checked_before_the_signature() {
    let key = common::dpop_key::p256();
    let good = key.proof("POST", "https://auth.example.com/oauth/token");
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(good.split('.').next().expect("header")).expect("b64"))
            .expect("JSON");
    let now = common::unix_now();
    let requirements = ProofRequirements::new("POST", "https://auth.example.com/oauth/token", now);
    let claims = |htm: &str, htu: &str, iat: u64| json!({"htm": htm, "htu": htu, "iat": iat, "jti": "j"});
    // Each with a bad signature: the free check answers, so no signature was verified.
    let cases = [
        (claims("GET", "https://auth.example.com/oauth/token", now), ProofError::WrongMethod),
        (claims("POST", "https://other.example/token", now), ProofError::WrongUri),
        (claims("POST", "https://auth.example.com/oauth/token", now - 3600), ProofError::IatTooOld),
        (claims("POST", "https://auth.example.com/oauth/token", now + 3600), ProofError::IatInFuture),
    ];
    for (claims, expected) in cases {
        assert_eq!(verify_proof(&unsigned_proof(&header, &claims), &requirements).err(), Some(expected));
    }
    // With good claims, the bad signature is what is found.
    let fine = claims("POST", "https://auth.example.com/oauth/token", now);
    assert_eq!(verify_proof(&unsigned_proof(&header, &fine), &requirements).err(), Some(ProofError::BadSignature));
}

#[test]
fn rsa_proof_keys_are_2048_to_4096_bits_with_exponent_65537() {
    let now = common::unix_now();
    let requirements = ProofRequirements::new("POST", "https://auth.example.com/oauth/token", now);
    let claims = json!({"htm": "POST", "htu": "https://auth.example.com/oauth/token", "iat": now, "jti": "j"});
    let modulus = |bits: usize| {
        let mut n = vec![0xff_u8; bits / 8];
        n[bits / 8 - 1] = 0xf1;
        URL_SAFE_NO_PAD.encode(n)
    };
    let proof = |n: String, e: &[u8]| {
        let jwk = json!({"kty": "RSA", "n": n, "e": URL_SAFE_NO_PAD.encode(e)});
        unsigned_proof(&json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk}), &claims)
    };
    let check = |n: String, e: &[u8]| verify_proof(&proof(n, e), &requirements).err();
    // In range: the key is taken, and the (random) signature is what fails.
    assert_eq!(check(modulus(2048), &[1, 0, 1]), Some(ProofError::BadSignature));
    assert_eq!(check(modulus(4096), &[1, 0, 1]), Some(ProofError::BadSignature));
    // Too large, or another exponent: refused before any RSA operation.
    assert_eq!(check(modulus(4104), &[1, 0, 1]), Some(ProofError::InvalidKey));
    assert_eq!(check(modulus(8192), &[1, 0, 1]), Some(ProofError::InvalidKey));
    assert_eq!(check(modulus(2048), &[3]), Some(ProofError::InvalidKey));
    assert_eq!(check(modulus(2048), &[1, 0, 0, 0, 1]), Some(ProofError::InvalidKey));
    assert_eq!(check(modulus(1024), &[1, 0, 1]), Some(ProofError::RsaKeyTooSmall));
}

// ---------------------------------------------------------------------------------------------
// 10. OpenID Connect: refresh tokens only with `offline_access` (OIDC Core §11)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_openid_grant_gets_a_refresh_token_only_with_offline_access() {
    let (_, _, router) = setup();
    let tokens = user_tokens(&router, "openid read", &[]).await;
    assert!(tokens["id_token"].is_string(), "{tokens}");
    assert!(tokens.get("refresh_token").is_none(), "{tokens}");
    let tokens = user_tokens(&router, "openid offline_access read", &[]).await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    // Plain OAuth is not concerned.
    let tokens = user_tokens(&router, "read", &[]).await;
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
}

// ---------------------------------------------------------------------------------------------
// 11. The consent page says where the code goes, and neutralises what the client named itself
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_consent_page_names_the_destination_and_neutralises_bidi_characters() {
    let (_, _, router) = setup();
    let (_, _, page) = consent_page(&router, &request("web", "https://client.example.com/cb", &[])).await;
    assert!(page.contains("you will be sent back to <strong>client.example.com</strong>"), "{page}");
    let (_, _, page) = consent_page(&router, &request("native", "http://127.0.0.1:5000/cb", &[])).await;
    assert!(page.contains("access goes to an app on this device"), "{page}");

    // "Calendar" followed by a right-to-left override that would show "moc.elgoog" as google.com.
    let client_id = register_public(&router, "http://127.0.0.1:9/cb", "Calendar\u{202e}moc.elgoog\u{2066}\u{7}").await;
    let (_, _, page) = consent_page(&router, &request(&client_id, "http://127.0.0.1:9/cb", &[])).await;
    assert!(!page.contains('\u{202e}') && !page.contains('\u{2066}') && !page.contains('\u{7}'), "{page:?}");
    assert!(page.contains("Calendar\u{fffd}moc.elgoog\u{fffd}\u{fffd}"), "{page}");
}

// ---------------------------------------------------------------------------------------------
// 12. The login resume handle is bound to the browser that started the request
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_resume_handle_works_only_in_the_browser_that_started_the_request() {
    let (_, _, router) = setup();
    let (resume, cookie) = started_without_session(&router).await;
    let (_, other_cookie) = started_without_session(&router).await;
    let session = session_cookie("alice");
    // Leaked to another browser, signed in as someone else, or with another request's cookie.
    for cookies in [session.clone(), format!("{other_cookie}; {session}")] {
        let reply = browser_get(&router, &resume, Some(&cookies)).await;
        let page = assert_page(&reply, StatusCode::FORBIDDEN, "access_denied");
        assert!(page.contains("started in another browser"), "{page}");
    }
    // The browser that started it goes on to the consent page, and the cookie is cleared.
    let (status, headers, page) = browser_get(&router, &resume, Some(&format!("{cookie}; {session}"))).await;
    assert_eq!(status, StatusCode::OK, "{}", text(&page));
    let cleared =
        headers.get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).any(|v| {
            v.starts_with(&format!("{}=;", cookie.split('=').next().expect("name"))) && v.contains("Max-Age=0")
        });
    assert!(cleared, "{headers:?}");
    // Once: the same handle again is refused, even in that browser.
    let reply = browser_get(&router, &resume, Some(&format!("{cookie}; {session}"))).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_resume_handle_opens_only_under_its_providers_secret() {
    let (_, _, router) = setup();
    let (resume, cookie) = started_without_session(&router).await;
    // A provider with another secret (another deployment, or instances not sharing theirs).
    let elsewhere = Attesto::builder(Host::new())
        .issuer(ISSUER)
        .expect("issuer")
        .signing_key(attesto::Key::generate(attesto::Algorithm::ES256).expect("key"))
        .browser_state_secret([9; 32])
        .build()
        .expect("provider")
        .router();
    let reply = browser_get(&elsewhere, &resume, Some(&format!("{cookie}; {}", session_cookie("alice")))).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_huge_resume_handle_is_refused_unread() {
    let (_, _, router) = setup();
    let huge = "A".repeat(40_000);
    let reply = browser_get(&router, &authorize_url(AUTHORIZE, &[("attesto_resume", &huge)]), None).await;
    assert_page(&reply, StatusCode::BAD_REQUEST, "invalid_request");
}
