//! The device authorization grant (RFC 8628) through the real router: the device authorization
//! endpoint, the verification page with the host's login and attesto's consent, and the
//! `device_code` grant at the token endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use attesto::{
    Attesto, AuthenticatedPrincipal, AuthorizationDenied, Client, ClientStore, ConsentDecision, ConsentPolicy,
    ConsentRequest, EventSink, GrantType, HostError, Key, LoginOutcome, LoginRequest, Principal, PrincipalStore,
    Scopes, SecretHash, TokenDenied, TokenIssued,
};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{
    ISSUER, LOGIN_PAGE, RESOURCE, SECRET, TestHost, TestStore, assert_error, basic, browser_get, dpop_key,
    hidden_input, registration_keeps_nothing, send, send_json, session_cookie, test_provider, token,
};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const ALPHABET: &str = "BCDFGHJKLMNPQRSTVWXZ";

/// The test host with the device authorization grant on, its own device clients and the test
/// host's others.
#[derive(Clone)]
#[attesto::provider(device_authorization, registration)]
struct DeviceHost {
    inner: TestHost,
}

registration_keeps_nothing!(DeviceHost);

impl ClientStore for DeviceHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        let scopes = Scopes::parse("openid profile offline_access read write").expect("valid scopes");
        let device = [GrantType::DeviceCode, GrantType::RefreshToken];
        Ok(match client_id {
            // A command-line tool: public, allowed the device grant.
            "cli" => Some(Client::public("cli").with_name("Device CLI").with_scopes(scopes).with_grant_types(device)),
            // A television app with a secret.
            "tv" => {
                Some(Client::confidential("tv", SecretHash::of(SECRET)).with_scopes(scopes).with_grant_types(device))
            }
            // A tool whose every request the consent policy grants when it may.
            "trusted-cli" => Some(Client::public("trusted-cli").with_scopes(scopes).with_grant_types(device)),
            // A tool whose every request the consent policy denies.
            "blocked-cli" => Some(Client::public("blocked-cli").with_scopes(scopes).with_grant_types(device)),
            _ => self.inner.load_client(client_id).await?,
        })
    }
}

impl PrincipalStore for DeviceHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.inner.authenticate(request).await
    }

    async fn build_principal(&self, client: &Client, subject: &str, scopes: &Scopes) -> Result<Principal, HostError> {
        self.inner.build_principal(client, subject, scopes).await
    }
}

impl ConsentPolicy for DeviceHost {
    async fn consent(
        &self,
        request: &ConsentRequest<'_>,
        _: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        Ok(match request.client.client_id.as_str() {
            "trusted-cli" if !request.force_prompt => ConsentDecision::Granted,
            "blocked-cli" => ConsentDecision::Denied,
            _ => ConsentDecision::Ask,
        })
    }
}

impl EventSink for DeviceHost {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.inner.token_issued(event);
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        self.inner.token_denied(event);
    }
    fn authorization_denied(&self, event: &AuthorizationDenied<'_>) {
        self.inner.authorization_denied(event);
    }
}

fn host() -> DeviceHost {
    DeviceHost { inner: TestHost::new() }
}

/// A device provider with the test issuer and resources, configured further by `configure`.
fn provider_with(
    host: DeviceHost,
    configure: impl FnOnce(attesto::Builder<DeviceHost>) -> attesto::Builder<DeviceHost>,
) -> Attesto<DeviceHost> {
    let builder = Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("valid resource");
    configure(builder).build().expect("provider builds")
}

fn provider() -> Attesto<DeviceHost> {
    provider_with(host(), |builder| builder)
}

fn device_path() -> &'static str {
    DeviceHost::PATHS.device_authorization.expect("the device endpoint is on")
}

fn verification_path() -> &'static str {
    DeviceHost::PATHS.device_verification.expect("the verification page is on")
}

/// POSTs to the device authorization endpoint.
async fn device_authorization(
    router: &Router,
    authorization: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, Value) {
    token(router, device_path(), authorization, body).await
}

/// A device authorization of `cli` for `scope`: the response, checked for its shape.
async fn start(router: &Router, scope: &str) -> Value {
    let body = form(&[("client_id", "cli"), ("scope", scope)]);
    let (status, headers, json) = device_authorization(router, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    json
}

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn str_of<'v>(json: &'v Value, name: &str) -> &'v str {
    json[name].as_str().unwrap_or_else(|| panic!("`{name}` in {json}"))
}

/// One poll of the token endpoint by `cli`.
async fn poll(router: &Router, device_code: &str) -> (StatusCode, HeaderMap, Value) {
    token(
        router,
        DeviceHost::PATHS.token,
        None,
        &form(&[("grant_type", GRANT), ("device_code", device_code), ("client_id", "cli")]),
    )
    .await
}

/// The `name=value` of the cookie set by `headers` whose name contains `kind`.
fn set_cookie(headers: &HeaderMap, kind: &str) -> String {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.contains(kind))
        .and_then(|value| value.split(';').next())
        .unwrap_or_else(|| panic!("a `{kind}` cookie in {headers:?}"))
        .to_owned()
}

/// The verification page at `uri`: its HTML and the cookie its form needs.
async fn open_page(router: &Router, uri: &str) -> (String, String) {
    let (status, headers, body) = browser_get(router, uri, None).await;
    let html = String::from_utf8(body).expect("UTF-8 page");
    assert_eq!(status, StatusCode::OK, "{html}");
    (html, set_cookie(&headers, "attesto-device-"))
}

/// Enters `user_code` on the verification page, as a browser with `session` (if any) from
/// `address` (if the server knows it): the answer to the form's POST.
async fn enter(
    router: &Router,
    user_code: &str,
    session: Option<&str>,
    address: Option<SocketAddr>,
) -> (StatusCode, HeaderMap, String) {
    let (html, cookie) = open_page(router, verification_path()).await;
    let csrf = hidden_input(&html, "attesto_csrf");
    let cookies = match session {
        Some(session) => format!("{session}; {cookie}"),
        None => cookie,
    };
    let mut request = Request::post(verification_path())
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies);
    if let Some(address) = address {
        request = request.extension(ConnectInfo(address));
    }
    let body = form(&[("user_code", user_code), ("attesto_csrf", &csrf)]);
    let (status, headers, body) = send(router, request.body(Body::from(body)).expect("request")).await;
    (status, headers, String::from_utf8(body).expect("UTF-8 page"))
}

/// Decides on the consent page `page` (answered with `headers`) as `subject`: the final page.
async fn decide(
    router: &Router,
    page: &str,
    headers: &HeaderMap,
    subject: &str,
    decision: &str,
) -> (StatusCode, String) {
    let consent_cookie = set_cookie(headers, "attesto-consent-");
    let body = form(&[
        ("attesto_consent", &hidden_input(page, "attesto_consent")),
        ("attesto_csrf", &hidden_input(page, "attesto_csrf")),
        ("attesto_decision", decision),
    ]);
    let cookies = format!("{}; {consent_cookie}", session_cookie(subject));
    let (status, _, body) =
        crate::common::browser_post(router, DeviceHost::PATHS.authorize, Some(&cookies), &body).await;
    (status, String::from_utf8(body).expect("UTF-8 page"))
}

/// `subject`, signed in, enters `user_code` and answers `decision` on the consent page: the final
/// page.
async fn approve_as(router: &Router, user_code: &str, subject: &str, decision: &str) -> (StatusCode, String) {
    let (status, headers, page) = enter(router, user_code, Some(&session_cookie(subject)), None).await;
    assert_eq!(status, StatusCode::OK, "the consent page: {page}");
    decide(router, &page, &headers, subject, decision).await
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a compact JWS");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON claims")
}

fn address(last: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, last], 40_000))
}

// ---------------------------------------------------------------------------------------------
// The flow
// ---------------------------------------------------------------------------------------------

/// Device authorization → the page → the host's login → attesto's consent → poll → tokens, once.
#[tokio::test]
async fn the_whole_flow_signs_in_consents_and_issues_tokens_once() {
    let auth = provider();
    let router = auth.router();
    let started = start(&router, "openid profile offline_access read").await;
    let user_code = str_of(&started, "user_code");
    let (first, second) = user_code.split_once('-').expect("XXXX-XXXX");
    assert_eq!((first.len(), second.len()), (4, 4), "{user_code}");
    assert!(format!("{first}{second}").chars().all(|c| ALPHABET.contains(c)), "{user_code}");
    assert_eq!(started["verification_uri"], "https://auth.example.com/oauth/device");
    assert_eq!(
        started["verification_uri_complete"],
        format!("https://auth.example.com/oauth/device?user_code={user_code}")
    );
    assert_eq!(started["expires_in"], 600);
    assert_eq!(started["interval"], 5);
    let device_code = str_of(&started, "device_code");
    assert_eq!(device_code.len(), 43, "256 random bits, base64url");

    let pending = poll(&router, device_code).await;
    assert_error(&pending, StatusCode::BAD_REQUEST, "authorization_pending");

    // No session: the host's login page, with the request sealed in the resume URL.
    let (status, headers, _) = enter(&router, user_code, None, None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = headers[header::LOCATION].to_str().expect("ASCII");
    assert!(location.starts_with(LOGIN_PAGE), "{location}");
    let return_to = url::Url::parse(location)
        .expect("URL")
        .query_pairs()
        .find(|(name, _)| name == "return_to")
        .map(|(_, value)| value.into_owned())
        .expect("return_to");
    let login_cookie = set_cookie(&headers, "attesto-login-");
    let resume = return_to.strip_prefix(ISSUER).expect("on the issuer");
    let cookies = format!("{}; {login_cookie}", session_cookie("alice"));
    let (status, headers, page) = browser_get(&router, resume, Some(&cookies)).await;
    let page = String::from_utf8(page).expect("UTF-8");
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Device CLI"), "the consent page names the client: {page}");
    assert!(page.contains("access goes to the device that showed you the code"), "{page}");
    assert!(page.contains("<code>offline_access</code>"), "the consent page lists the scopes: {page}");

    let (status, done) = decide(&router, &page, &headers, "alice", "allow").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("You may return to your device"), "{done}");

    let (status, headers, tokens) = poll(&router, device_code).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile offline_access read");
    assert!(tokens["refresh_token"].is_string(), "offline_access gives a refresh token: {tokens}");
    let access = claims_of(str_of(&tokens, "access_token"));
    assert_eq!(access["sub"], "alice");
    assert_eq!(access["client_id"], "cli");
    assert_eq!(access["aud"], ISSUER, "no resource asked: the default audience");
    let id = claims_of(str_of(&tokens, "id_token"));
    assert_eq!((id["sub"].as_str(), id["aud"].as_str()), (Some("alice"), Some("cli")));

    // Single use: the same code again is refused, and so is the refresh of nothing new.
    let replay = poll(&router, device_code).await;
    assert_error(&replay, StatusCode::BAD_REQUEST, "invalid_grant");
    let events = auth.provider().inner.events();
    assert!(events.contains(&format!("issued cli {GRANT} openid profile offline_access read")), "{events:?}");
    assert!(events.contains(&"denied cli invalid_grant".to_owned()), "{events:?}");

    // The refresh token works like the code grant's.
    let refresh = token(
        &router,
        DeviceHost::PATHS.token,
        None,
        &form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", str_of(&tokens, "refresh_token")),
            ("client_id", "cli"),
        ]),
    )
    .await;
    assert_eq!(refresh.0, StatusCode::OK, "{}", refresh.2);
}

/// `verification_uri_complete` pre-fills the code but still asks for the click (RFC 8628 §5.4);
/// the code is read whatever its case, dashes and spaces.
#[tokio::test]
async fn the_complete_uri_prefills_and_entry_ignores_case_dashes_and_spaces() {
    let router = provider().router();
    let started = start(&router, "read").await;
    let complete = str_of(&started, "verification_uri_complete").strip_prefix(ISSUER).expect("on the issuer");
    let user_code = str_of(&started, "user_code");
    let (html, _) = open_page(&router, complete).await;
    assert!(html.contains(&format!("value=\"{user_code}\"")), "pre-filled: {html}");
    assert!(html.contains("<form method=\"post\""), "a form to confirm, not a sign-in: {html}");
    assert!(!html.contains("wants to access"), "no consent before the click");

    let typed = user_code.to_lowercase().replace('-', " ");
    let typed = format!(" {}-{} ", &typed[..2], &typed[2..]);
    let (status, _, page) = enter(&router, &typed, Some(&session_cookie("alice")), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("wants to access your account"), "the consent page: {page}");
}

/// A consent policy that grants without asking is asked with `force_prompt`, so that the user
/// always sees the client before a device gets access (RFC 8628 §5.4).
#[tokio::test]
async fn the_user_always_sees_the_consent_page() {
    let router = provider().router();
    let body = form(&[("client_id", "trusted-cli"), ("scope", "read")]);
    let (status, _, started) = device_authorization(&router, None, &body).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, page) = enter(&router, str_of(&started, "user_code"), Some(&session_cookie("alice")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("wants to access your account"), "{page}");
}

// ---------------------------------------------------------------------------------------------
// Polling
// ---------------------------------------------------------------------------------------------

/// Polling before the interval passed is `slow_down`, and the interval grows by 5 seconds for
/// good: a poll after the old interval is still too soon.
#[tokio::test]
async fn polling_too_fast_is_slow_down_and_the_grown_interval_is_kept() {
    let router = provider_with(host(), |builder| builder.device_poll_interval(Duration::from_secs(1))).router();
    let started = start(&router, "read").await;
    assert_eq!(started["interval"], 1);
    let device_code = str_of(&started, "device_code");
    assert_error(&poll(&router, device_code).await, StatusCode::BAD_REQUEST, "authorization_pending");
    let fast = poll(&router, device_code).await;
    assert_error(&fast, StatusCode::BAD_REQUEST, "slow_down");
    assert_eq!(fast.2["error_description"], "polling too fast: wait at least 6 seconds between requests");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let still = poll(&router, device_code).await;
    assert_error(&still, StatusCode::BAD_REQUEST, "slow_down");
    assert_eq!(still.2["error_description"], "polling too fast: wait at least 11 seconds between requests");
}

/// The user denies on the consent page: the device hears `access_denied`, and the event sink an
/// authorization denied.
#[tokio::test]
async fn a_denial_on_the_consent_page_is_access_denied() {
    let auth = provider();
    let router = auth.router();
    let started = start(&router, "read").await;
    let (status, done) = approve_as(&router, str_of(&started, "user_code"), "alice", "deny").await;
    assert_eq!(status, StatusCode::OK);
    assert!(done.contains("The device was not given access. You may return to your device."), "{done}");
    let denied = poll(&router, str_of(&started, "device_code")).await;
    assert_error(&denied, StatusCode::BAD_REQUEST, "access_denied");
    assert_eq!(denied.2["error_description"], "the user denied the request");
    let events = auth.provider().inner.events();
    assert!(events.contains(&"authorization_denied cli alice access_denied".to_owned()), "{events:?}");
}

/// A consent policy that denies: `access_denied` too, without a consent page.
#[tokio::test]
async fn a_denial_by_the_consent_policy_is_access_denied() {
    let router = provider().router();
    let (_, _, started) = device_authorization(&router, None, &form(&[("client_id", "blocked-cli")])).await;
    let (status, _, page) = enter(&router, str_of(&started, "user_code"), Some(&session_cookie("bob")), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("You may return to your device"), "{page}");
    let body =
        form(&[("grant_type", GRANT), ("device_code", str_of(&started, "device_code")), ("client_id", "blocked-cli")]);
    let denied = token(&router, DeviceHost::PATHS.token, None, &body).await;
    assert_error(&denied, StatusCode::BAD_REQUEST, "access_denied");
}

/// A code past its lifetime: the device hears `expired_token`, and the page refuses the code.
#[tokio::test]
async fn an_expired_device_code_is_expired_token() {
    let store = Arc::new(TestStore { device_late: Duration::from_secs(15 * 60), ..TestStore::default() });
    let router = provider_with(host(), |builder| builder.store(Arc::clone(&store))).router();
    let started = start(&router, "read").await;
    let expired = poll(&router, str_of(&started, "device_code")).await;
    assert_error(&expired, StatusCode::BAD_REQUEST, "expired_token");
    assert_eq!(expired.2["error_description"], "the device code expired before the user decided");
    let (status, _, page) = enter(&router, str_of(&started, "user_code"), Some(&session_cookie("alice")), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("That code is not valid or has expired"), "{page}");
}

/// Another client presenting the code is refused and changes nothing: the code's own client
/// still hears `authorization_pending`, not `slow_down`.
#[tokio::test]
async fn another_client_presenting_the_code_is_invalid_grant_and_changes_nothing() {
    let router = provider().router();
    let started = start(&router, "read").await;
    let device_code = str_of(&started, "device_code");
    let body = form(&[("grant_type", GRANT), ("device_code", device_code)]);
    let stolen = token(&router, DeviceHost::PATHS.token, Some(&basic("tv", SECRET)), &body).await;
    assert_error(&stolen, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(stolen.2["error_description"], "the device code was issued to another client");
    assert_error(&poll(&router, device_code).await, StatusCode::BAD_REQUEST, "authorization_pending");
}

/// Unknown or missing device codes, and a confidential client that fails authentication.
#[tokio::test]
async fn bad_token_requests_get_their_errors() {
    let router = provider().router();
    let unknown = poll(&router, "not-a-device-code").await;
    assert_error(&unknown, StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(unknown.2["error_description"], "the device code is invalid, expired or was already used");
    let missing =
        token(&router, DeviceHost::PATHS.token, None, &form(&[("grant_type", GRANT), ("client_id", "cli")])).await;
    assert_error(&missing, StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(missing.2["error_description"], "missing `device_code`");
    let body = form(&[("grant_type", GRANT), ("device_code", "x")]);
    let wrong = token(&router, DeviceHost::PATHS.token, Some(&basic("tv", "wrong")), &body).await;
    assert_error(&wrong, StatusCode::UNAUTHORIZED, "invalid_client");
}

/// A DPoP proof at the poll binds the access token to its key, as for the other grants; a
/// `resource` narrows the audience to one the device authorization asked for.
#[tokio::test]
async fn a_dpop_proof_binds_the_tokens_and_resource_sets_the_audience() {
    let router = provider().router();
    let body = form(&[("client_id", "cli"), ("scope", "read"), ("resource", RESOURCE)]);
    let (status, _, started) = device_authorization(&router, None, &body).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let (status, done) = approve_as(&router, str_of(&started, "user_code"), "alice", "allow").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    // A resource the device authorization did not ask for is refused before the code is spent.
    let body = form(&[
        ("grant_type", GRANT),
        ("device_code", str_of(&started, "device_code")),
        ("client_id", "cli"),
        ("resource", ISSUER),
    ]);
    let (status, _, refused) = token(&router, DeviceHost::PATHS.token, None, &body).await;
    assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_target")), "{refused}");
    let key = dpop_key::p256();
    let body = form(&[("grant_type", GRANT), ("device_code", str_of(&started, "device_code")), ("client_id", "cli")]);
    let request = Request::post(DeviceHost::PATHS.token)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("DPoP", key.proof("POST", &format!("{ISSUER}{}", DeviceHost::PATHS.token)))
        .body(Body::from(body))
        .expect("request");
    let (status, _, tokens) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = claims_of(str_of(&tokens, "access_token"));
    assert_eq!(access["cnf"]["jkt"], key.jkt);
    assert_eq!(access["aud"], RESOURCE);
}

// ---------------------------------------------------------------------------------------------
// The device authorization endpoint
// ---------------------------------------------------------------------------------------------

/// Clients are authenticated as at the token endpoint and must be allowed the grant; scopes and
/// resources are checked as at the authorization endpoint.
#[tokio::test]
async fn the_device_authorization_endpoint_refuses_what_it_must() {
    let router = provider().router();
    let cases: [(Option<String>, &str, StatusCode, &str, &str); 6] = [
        (None, "scope=read", StatusCode::BAD_REQUEST, "invalid_client", "client authentication is required"),
        (None, "client_id=nobody", StatusCode::BAD_REQUEST, "invalid_client", "client authentication failed"),
        (Some(basic("tv", "wrong")), "", StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed"),
        (
            None,
            "client_id=native",
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            "the client may not use the device authorization grant",
        ),
        (None, "client_id=cli&scope=%22", StatusCode::BAD_REQUEST, "invalid_scope", ""),
        (None, "client_id=cli&resource=https%3A%2F%2Funknown.example", StatusCode::BAD_REQUEST, "invalid_target", ""),
    ];
    for (authorization, body, status, error, description) in cases {
        let response = device_authorization(&router, authorization.as_deref(), body).await;
        assert_error(&response, status, error);
        if !description.is_empty() {
            assert_eq!(response.2["error_description"], description, "{body}");
        }
    }
    // A confidential client with its secret is served.
    let (status, _, started) = device_authorization(&router, Some(&basic("tv", SECRET)), "scope=read").await;
    assert_eq!(status, StatusCode::OK, "{started}");
}

/// A client not allowed the grant cannot redeem a device code either.
#[tokio::test]
async fn a_client_not_allowed_the_grant_is_unauthorized_client_at_the_token_endpoint() {
    let router = provider().router();
    let body = form(&[("grant_type", GRANT), ("device_code", "whatever")]);
    let refused = token(&router, DeviceHost::PATHS.token, Some(&basic("web", SECRET)), &body).await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "unauthorized_client");
}

/// Registration (RFC 7591) accepts the device grant, for a public client without redirect URIs.
#[tokio::test]
async fn registration_accepts_the_device_grant() {
    let router = provider().router();
    let request = Request::post(DeviceHost::PATHS.registration.expect("on"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"client_name": "CLI", "grant_types": [GRANT], "token_endpoint_auth_method": "none"}).to_string(),
        ))
        .expect("request");
    let (status, _, registered) = send_json(&router, request).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(registered["grant_types"], json!([GRANT]));
}

/// A host with registration and without the device grant.
#[derive(Clone)]
#[attesto::provider(registration)]
struct NoDeviceHost;

crate::common::host_without_clients!(NoDeviceHost);
registration_keeps_nothing!(NoDeviceHost);

/// Without the grant, registration refuses it (RFC 7591 §2: a grant type the server does not
/// serve).
#[tokio::test]
async fn registration_refuses_the_device_grant_when_it_is_off() {
    let router = crate::common::provider(NoDeviceHost).router();
    let request = Request::post(NoDeviceHost::PATHS.registration.expect("on"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"grant_types": [GRANT], "token_endpoint_auth_method": "none"}).to_string()))
        .expect("request");
    let refused = send_json(&router, request).await;
    assert_eq!(refused.0, StatusCode::BAD_REQUEST, "{}", refused.2);
    assert_eq!(refused.2["error"], "invalid_client_metadata");
    assert_eq!(
        refused.2["error_description"],
        "`grant_types`: `urn:ietf:params:oauth:grant-type:device_code` is not supported by this server"
    );
}

/// Without the flag, discovery says nothing of the grant and the token endpoint does not take it;
/// with it, both members are there and every advertised URL is mounted.
#[tokio::test]
async fn discovery_names_the_grant_only_when_it_is_on() {
    let off = test_provider().router();
    let (_, _, document) =
        send_json(&off, Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request"))
            .await;
    assert!(document.get("device_authorization_endpoint").is_none(), "{document}");
    assert!(!document["grant_types_supported"].as_array().expect("array").contains(&json!(GRANT)));
    let refused = token(
        &off,
        TestHost::PATHS.token,
        None,
        &form(&[("grant_type", GRANT), ("device_code", "x"), ("client_id", "native")]),
    )
    .await;
    assert_error(&refused, StatusCode::BAD_REQUEST, "unsupported_grant_type");
    assert_eq!(TestHost::PATHS.device_authorization, None);

    let on = provider().router();
    let (_, _, document) =
        send_json(&on, Request::get("/.well-known/oauth-authorization-server").body(Body::empty()).expect("request"))
            .await;
    assert_eq!(document["device_authorization_endpoint"], "https://auth.example.com/oauth/device_authorization");
    assert_eq!(
        document["grant_types_supported"],
        json!(["authorization_code", "refresh_token", "client_credentials", GRANT])
    );
    attesto::testing::check_discovery(&on, ISSUER).await.expect("every advertised URL is mounted");
}

// ---------------------------------------------------------------------------------------------
// The verification page
// ---------------------------------------------------------------------------------------------

/// An unknown code, and a code already used, get one answer that says nothing more.
#[tokio::test]
async fn unknown_and_used_codes_get_one_page() {
    let router = provider().router();
    let (status, _, page) = enter(&router, "BCDF-GHJK", Some(&session_cookie("alice")), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("That code is not valid or has expired"), "{page}");
    let started = start(&router, "read").await;
    let user_code = str_of(&started, "user_code");
    approve_as(&router, user_code, "alice", "allow").await;
    let (status, _, again) = enter(&router, user_code, Some(&session_cookie("alice")), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(again.contains("That code is not valid or has expired"), "{again}");
    // Not a code at all: told how a code looks.
    let (status, _, page) = enter(&router, "hello", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("like BCDF-GHJK"), "{page}");
}

/// Wrong codes are counted per client address and overall; past either budget the page answers
/// 429 and does not look the code up, even a valid one.
#[tokio::test]
async fn wrong_codes_are_rate_limited_per_address_and_overall() {
    let router = provider_with(host(), |builder| builder.user_code_attempts(3, 2)).router();
    let started = start(&router, "read").await;
    let valid = str_of(&started, "user_code");
    let session = session_cookie("alice");
    for _ in 0..2 {
        let (status, _, _) = enter(&router, "BCDF-GHJK", None, Some(address(1))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, headers, page) = enter(&router, valid, Some(&session), Some(address(1))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("Too many wrong codes were entered; wait a minute, then try again."), "{page}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    // Another address still has its budget, until the overall one is spent.
    let (status, _, _) = enter(&router, "BCDF-GHJK", None, Some(address(2))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    for who in [Some(address(3)), None] {
        let (status, _, _) = enter(&router, valid, Some(&session), who).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    }
    // The valid code was never looked up: the device is still waiting.
    assert_error(
        &poll(&router, str_of(&started, "device_code")).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
}

/// The code must be entered on this server's page: without the page's cookie, or from another
/// site, the POST is refused.
#[tokio::test]
async fn a_code_posted_from_elsewhere_is_refused() {
    let router = provider().router();
    let started = start(&router, "read").await;
    let body = form(&[("user_code", str_of(&started, "user_code")), ("attesto_csrf", "forged")]);
    let session = session_cookie("alice");
    let (status, _, page) = crate::common::browser_post(&router, verification_path(), Some(&session), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&page));
    let (html, cookie) = open_page(&router, verification_path()).await;
    let body =
        form(&[("user_code", str_of(&started, "user_code")), ("attesto_csrf", &hidden_input(&html, "attesto_csrf"))]);
    let request = Request::post(verification_path())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{session}; {cookie}"))
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(body))
        .expect("request");
    let (status, _, _) = send(&router, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error(
        &poll(&router, str_of(&started, "device_code")).await,
        StatusCode::BAD_REQUEST,
        "authorization_pending",
    );
}

/// The pre-filled code comes from a link anyone can craft: it is escaped, and the page allows no
/// script and posts nowhere else.
#[tokio::test]
async fn a_crafted_prefill_is_escaped() {
    let router = provider().router();
    let uri = format!("{}?user_code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E", verification_path());
    let (status, headers, body) = browser_get(&router, &uri, None).await;
    let html = String::from_utf8(body).expect("UTF-8 page");
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""), "{html}");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ASCII");
    assert!(csp.contains("default-src 'none'") && csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// The memory store holds a bounded number of device grants per client: past it the device
/// authorization endpoint answers 503 `temporarily_unavailable`, and another client is still
/// served.
#[tokio::test]
async fn device_grants_are_bounded_per_client_in_memory() {
    let store = attesto::MemoryStore::new().max_device_grants_per_client(2);
    let router = provider_with(host(), |builder| builder.store(store)).router();
    for _ in 0..2 {
        start(&router, "read").await;
    }
    let full = device_authorization(&router, None, &form(&[("client_id", "cli")])).await;
    assert_error(&full, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    let (status, _, _) = device_authorization(&router, None, &form(&[("client_id", "trusted-cli")])).await;
    assert_eq!(status, StatusCode::OK);
}

/// The first decision stands: a second consent page for the same code (another tab) can neither
/// approve it again nor turn the approval into a denial.
#[tokio::test]
async fn a_second_decision_on_the_same_code_is_refused() {
    let router = provider().router();
    let started = start(&router, "read").await;
    let user_code = str_of(&started, "user_code");
    let session = session_cookie("alice");
    let (status, first_headers, first) = enter(&router, user_code, Some(&session), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, second_headers, second) = enter(&router, user_code, Some(&session), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, done) = decide(&router, &first, &first_headers, "alice", "allow").await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, refused) = decide(&router, &second, &second_headers, "alice", "deny").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    assert!(refused.contains("This code expired or was already used; start again on your device"), "{refused}");
    let (status, _, tokens) = poll(&router, str_of(&started, "device_code")).await;
    assert_eq!(status, StatusCode::OK, "the approval stands: {tokens}");
}
