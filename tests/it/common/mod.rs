//! A test host and helpers to drive the real router.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use attesto::{
    Attesto, AuthenticatedPrincipal, AuthorizationDenied, ClaimsQuery, Client, ClientStore, CodeIssued,
    CodeReuseDetected, ConsentDecision, ConsentPolicy, ConsentRequest, EventSink, GrantType, HostError, Key,
    LoginOutcome, LoginRequest, Principal, PrincipalStore, RefreshReuseDetected, RefreshRotated, Scopes, SecretHash,
    TokenDenied, TokenEndpointAuthMethod, TokenIssued, TokenRevoked,
};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use sha2::{Digest, Sha256};
use tower::ServiceExt as _;

pub(crate) mod dpop_key;
pub(crate) mod resource;

pub(crate) const ISSUER: &str = "https://auth.example.com";
pub(crate) const SECRET: &str = "correct horse battery staple";
pub(crate) const RESOURCE: &str = "https://mcp.example.com/mcp";
/// The redirect URI of the `web` and `first-party` clients.
pub(crate) const WEB_REDIRECT: &str = "https://client.example.com/cb";
/// The registered loopback redirect URI of the public `native` client (RFC 8252 §7.3).
pub(crate) const NATIVE_REDIRECT: &str = "http://127.0.0.1/callback";
/// The host's login page, where `TestHost::authenticate` sends a browser without a session.
pub(crate) const LOGIN_PAGE: &str = "https://auth.example.com/login";
/// The cookie that carries the test host's session: `test-session=<subject>[:<auth_time unix>]`.
pub(crate) const SESSION_COOKIE: &str = "test-session";
/// The display name of the `hostile-name` client: markup the consent page must escape.
pub(crate) const HOSTILE_NAME: &str = "<script>alert(\"pwned\")</script><img src=x onerror=alert(1)> & 'Co'";

/// The clients every test host knows.
pub(crate) fn clients() -> HashMap<String, Client> {
    let scopes = Scopes::parse("read write admin").expect("valid scopes");
    let mut clients = HashMap::new();
    let mut add = |client: Client| {
        clients.insert(client.client_id.to_string(), client);
    };
    add(Client::confidential("service", SecretHash::of(SECRET)).with_scopes(scopes.clone()));
    add(Client::confidential("poster", SecretHash::of(SECRET))
        .with_scopes(scopes.clone())
        .with_auth_method(TokenEndpointAuthMethod::ClientSecretPost));
    add(Client::confidential("code-only", SecretHash::of(SECRET))
        .with_scopes(scopes.clone())
        .with_grant_types([GrantType::AuthorizationCode]));
    add(Client::public("spa").with_scopes(scopes).with_redirect_uris(["https://spa.example.com/cb"]));
    let user_scopes = Scopes::parse("openid profile email offline_access read write").expect("valid scopes");
    // A confidential web app: code + refresh, asks for consent (the default policy).
    add(Client::confidential("web", SecretHash::of(SECRET))
        .with_name("Web App")
        .with_scopes(user_scopes.clone())
        .with_redirect_uris([WEB_REDIRECT, "https://client.example.com/other?x=1"])
        .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken]));
    // A first-party app: `TestHost`'s consent policy grants it without asking.
    add(Client::confidential("first-party", SecretHash::of(SECRET))
        .with_name("First Party")
        .with_scopes(user_scopes.clone())
        .with_redirect_uris([WEB_REDIRECT])
        .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken]));
    // An app whose every request the consent policy denies.
    add(Client::confidential("blocked", SecretHash::of(SECRET))
        .with_scopes(user_scopes.clone())
        .with_redirect_uris([WEB_REDIRECT])
        .with_grant_types([GrantType::AuthorizationCode]));
    // A public native app with loopback redirect URIs; consent granted by policy.
    add(Client::public("native")
        .with_name("Native App")
        .with_scopes(user_scopes.clone())
        .with_redirect_uris([NATIVE_REDIRECT, "http://[::1]/callback"]));
    // A confidential client registered with a loopback URI: no any-port exception for it.
    add(Client::confidential("loopback-confidential", SecretHash::of(SECRET))
        .with_scopes(user_scopes.clone())
        .with_redirect_uris([NATIVE_REDIRECT])
        .with_grant_types([GrantType::AuthorizationCode]));
    // A code-flow client without the refresh grant.
    add(Client::confidential("no-refresh", SecretHash::of(SECRET))
        .with_scopes(user_scopes)
        .with_redirect_uris([WEB_REDIRECT])
        .with_grant_types([GrantType::AuthorizationCode]));
    // A client id with characters that need form-encoding in Basic credentials (RFC 6749 §2.3.1).
    add(Client::confidential("weird:id/é", SecretHash::of("p@ss:w rd"))
        .with_scopes(Scopes::parse("read").expect("valid")));
    // A client whose (self-chosen, e.g. dynamically registered) name is HTML; consent is asked.
    add(Client::confidential("hostile-name", SecretHash::of(SECRET))
        .with_name(HOSTILE_NAME)
        .with_scopes(Scopes::parse("openid profile").expect("valid scopes"))
        .with_redirect_uris([WEB_REDIRECT])
        .with_grant_types([GrantType::AuthorizationCode]));
    clients
}

/// A host with the default options, recording its events.
#[derive(Clone)]
#[attesto::provider]
pub(crate) struct TestHost {
    pub(crate) clients: Arc<HashMap<String, Client>>,
    pub(crate) events: Arc<Mutex<Vec<String>>>,
}

impl ClientStore for TestHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        if client_id == "db-down" {
            return Err(HostError::msg("connection refused: postgres://secret-host:5432"));
        }
        Ok(self.clients.get(client_id).cloned())
    }
}

/// The value of a request's `test-session` cookie, if it has one.
fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The session in a request's `test-session` cookie: subject and auth time.
pub(crate) fn session(headers: &HeaderMap) -> Option<(String, SystemTime)> {
    let value = session_cookie_value(headers)?;
    match value.split_once(':') {
        Some((subject, time)) => {
            let seconds: u64 = time.parse().ok()?;
            Some((subject.to_owned(), UNIX_EPOCH + Duration::from_secs(seconds)))
        }
        None => Some((value, SystemTime::now())),
    }
}

/// The session of the hosts with logout, in a `test-session=<subject>` or
/// `test-session=<subject>.<sid>` cookie: the subject and the host's session id.
pub(crate) fn session_with_id(headers: &HeaderMap) -> Option<(String, Option<String>)> {
    let value = session_cookie_value(headers)?;
    Some(match value.split_once('.') {
        Some((subject, sid)) => (subject.to_owned(), Some(sid.to_owned())),
        None => (value, None),
    })
}

/// That session as signed in (five seconds ago), its id the ID tokens' `sid`.
pub(crate) fn principal_with_session(headers: &HeaderMap) -> Option<AuthenticatedPrincipal> {
    session_with_id(headers).map(|(subject, sid)| {
        let principal = AuthenticatedPrincipal::new(subject, SystemTime::now() - Duration::from_secs(5));
        match sid {
            Some(sid) => principal.with_session_id(sid),
            None => principal,
        }
    })
}

/// That session as the end-session endpoint sees it.
pub(crate) fn host_session(headers: &HeaderMap) -> Option<attesto::HostSession> {
    session_with_id(headers).map(|(subject, sid)| match sid {
        Some(sid) => attesto::HostSession::new(subject).with_session_id(sid),
        None => attesto::HostSession::new(subject),
    })
}

/// The test host's login: a `test-session` cookie is a signed-in user. Without one (or with
/// `prompt=login`), the browser is sent to [`LOGIN_PAGE`] with the resume URI in `return_to`;
/// the subject `nobody` is treated as "cannot be asked" (`LoginRequired`).
impl PrincipalStore for TestHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        self.record(format!("authenticate force_login={}", request.force_login));
        if let Some(acr_values) = request.acr_values {
            self.record(format!("authenticate acr_values={acr_values}"));
        }
        if !request.ui_locales.is_empty() || !request.claims_locales.is_empty() {
            self.record(format!(
                "authenticate ui_locales={} claims_locales={}",
                request.ui_locales.join(" "),
                request.claims_locales.join(" ")
            ));
        }
        match session(request.headers) {
            Some((subject, _)) if subject == "nobody" => Ok(LoginOutcome::LoginRequired),
            // A second factor when the client asks for `urn:test:mfa` (RFC 9470 step-up), a
            // password otherwise.
            Some((subject, auth_time)) if !request.force_login => {
                let principal = AuthenticatedPrincipal::new(subject, auth_time);
                let mfa = request.acr_values.is_some_and(|values| values.split(' ').any(|v| v == "urn:test:mfa"));
                Ok(LoginOutcome::Authenticated(if mfa {
                    principal.with_acr("urn:test:mfa").with_amr(["pwd", "otp"])
                } else {
                    principal.with_acr("urn:test:pwd").with_amr(["pwd"])
                }))
            }
            _ => {
                let return_to = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect::<String>();
                Ok(LoginOutcome::Redirect(format!("{LOGIN_PAGE}?return_to={return_to}")))
            }
        }
    }

    async fn build_principal(&self, _: &Client, subject: &str, scopes: &Scopes) -> Result<Principal, HostError> {
        let mut principal = Principal::new(subject);
        principal.claims.insert("tenant".to_owned(), "acme".into());
        // Registered claims are attesto's: this must not reach the token.
        principal.claims.insert("iss".to_owned(), "https://evil.example".into());
        if scopes.contains("admin") {
            principal.claims.insert("role".to_owned(), "admin".into());
        }
        Ok(principal)
    }

    /// The ID token's claims: `name` with `profile`, and every claim requested for it
    /// (`claims`, OIDC Core §5.5) that the host knows (`name`, `email`); a claim in the first of
    /// `claims_locales` (§5.2) as `name#<tag>`. A query with requested claims or locales is recorded.
    async fn build_id_token_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        self.record_query("id_token", query);
        let subject = query.subject;
        let mut claims = serde_json::Map::new();
        if query.scopes.contains("profile") || query.is_requested("name") {
            claims.insert("name".to_owned(), format!("User {subject}").into());
        }
        for name in query.claim_names() {
            if let Some(value) = Self::claim(subject, name) {
                claims.insert(name.to_owned(), value);
            }
        }
        if let Some(locale) = query.claims_locales.first() {
            claims.insert(format!("name#{locale}"), format!("User {subject} ({locale})").into());
        }
        // Reserved claims: attesto must ignore these.
        claims.insert("sub".to_owned(), "impostor".into());
        claims.insert("aud".to_owned(), "someone-else".into());
        claims.insert("nonce".to_owned(), "forged".into());
        Ok(claims)
    }

    /// Userinfo: the claims of the scopes (OIDC Core §5.4) and those requested for userinfo
    /// (§5.5) that the host knows; a query with requested claims or locales is recorded.
    async fn build_userinfo_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        self.record_query("userinfo", query);
        let mut claims = serde_json::Map::new();
        claims.insert("sub".to_owned(), "impostor".into());
        for name in query.claim_names() {
            if let Some(value) = Self::claim(query.subject, name) {
                claims.insert(name.to_owned(), value);
            }
        }
        if let Some(locale) = query.claims_locales.first() {
            claims.insert(format!("name#{locale}"), format!("User {} ({locale})", query.subject).into());
        }
        Ok(claims)
    }
}

/// Consent: `first-party` and `native` are granted, `blocked` denied, everyone else asked.
impl ConsentPolicy for TestHost {
    async fn consent(
        &self,
        request: &ConsentRequest<'_>,
        _: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        if !request.ui_locales.is_empty() || !request.claims_locales.is_empty() {
            self.record(format!(
                "consent ui_locales={} claims_locales={}",
                request.ui_locales.join(" "),
                request.claims_locales.join(" ")
            ));
        }
        Ok(match request.client.client_id.as_str() {
            "first-party" | "native" if !request.force_prompt => ConsentDecision::Granted,
            "blocked" => ConsentDecision::Denied,
            _ => ConsentDecision::Ask,
        })
    }
}

impl EventSink for TestHost {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        self.record(format!("issued {} {} {}", event.client_id, event.grant_type.as_str(), event.scope));
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        self.record(format!("denied {} {}", event.client_id.unwrap_or("-"), event.error));
    }
    fn code_issued(&self, event: &CodeIssued<'_>) {
        self.record(format!("code_issued {} {} {}", event.client_id, event.subject, event.scope));
    }
    fn authorization_denied(&self, event: &AuthorizationDenied<'_>) {
        self.record(format!(
            "authorization_denied {} {} {}",
            event.client_id,
            event.subject.unwrap_or("-"),
            event.error
        ));
    }
    fn refresh_rotated(&self, event: &RefreshRotated<'_>) {
        self.record(format!("refresh_rotated {} {} {}", event.client_id, event.subject, event.scope));
    }
    fn refresh_reuse_detected(&self, event: &RefreshReuseDetected<'_>) {
        self.record(format!("refresh_reuse_detected {} {}", event.client_id, event.subject));
    }
    fn code_reuse_detected(&self, event: &CodeReuseDetected<'_>) {
        self.record(format!("code_reuse_detected {}", event.client_id));
    }
    fn token_revoked(&self, event: &TokenRevoked<'_>) {
        self.record(format!("revoked {} {} {}", event.client_id, event.subject, event.token_type));
    }
    fn grant_revoked(&self, event: &attesto::GrantRevoked<'_>) {
        self.record(format!("grant_revoked {} {} {}", event.client_id, event.subject, event.grant_id));
    }
    fn client_metadata_document_refused(&self, event: &attesto::ClientMetadataDocumentRefused<'_>) {
        self.record(format!("client_metadata_document_refused {} {}", event.client_id, event.reason));
    }
    fn dpop_proof_replayed(&self, event: &attesto::DpopProofReplayed<'_>) {
        self.record(format!("dpop_proof_replayed {} {} {}", event.method, event.uri, event.jkt));
    }
}

impl TestHost {
    pub(crate) fn new() -> Self {
        Self { clients: Arc::new(clients()), events: Arc::default() }
    }

    fn record(&self, event: String) {
        if let Ok(mut events) = self.events.lock() {
            events.push(event);
        }
    }

    /// The test user's value of the claim `name`, for the claims the test host knows.
    fn claim(subject: &str, name: &str) -> Option<serde_json::Value> {
        Some(match name {
            "name" => format!("User {subject}").into(),
            "email" => format!("{subject}@example.com").into(),
            "email_verified" => true.into(),
            _ => return None,
        })
    }

    /// Records a claims query that carries requested claims or locales:
    /// `claims <target> requested=<names> essential=<names> locales=<tags>`.
    fn record_query(&self, target: &str, query: &ClaimsQuery<'_>) {
        if query.requested.is_none() && query.claims_locales.is_empty() {
            return;
        }
        let requested = query.requested.map(|r| r.names().collect::<Vec<_>>().join(",")).unwrap_or_default();
        let essential = query
            .requested
            .map(|r| r.names().filter(|name| r.is_essential(name)).collect::<Vec<_>>().join(","))
            .unwrap_or_default();
        self.record(format!(
            "claims {target} requested={requested} essential={essential} locales={}",
            query.claims_locales.join(" ")
        ));
    }

    pub(crate) fn events(&self) -> Vec<String> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// A provider for `host` with the test issuer, a fresh ES256 key and one known resource.
pub(crate) fn provider<P: attesto::Provider>(host: P) -> Attesto<P> {
    Attesto::builder(host)
        .issuer(ISSUER)
        .expect("valid issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .resource(RESOURCE)
        .expect("valid resource")
        .resource("https://api.example.com")
        .expect("valid resource")
        .build()
        .expect("provider builds")
}

pub(crate) fn test_provider() -> Attesto<TestHost> {
    provider(TestHost::new())
}

pub(crate) fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(id), encode(secret));
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credentials))
}

/// The time now as a JWT NumericDate (RFC 7519 §2): seconds since 1970.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// The response of `router` to `request`: status, headers and body.
pub(crate) async fn send(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let response = router.clone().oneshot(request).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes().to_vec();
    (status, headers, body)
}

/// The JSON response of `router` to `request`.
pub(crate) async fn send_json(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, serde_json::Value) {
    let (status, headers, body) = send(router, request).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("JSON body expected, got {status}: {}", String::from_utf8_lossy(&body)));
    (status, headers, json)
}

/// POSTs a form body to the token endpoint with optional Basic credentials.
pub(crate) async fn token(
    router: &Router,
    path: &str,
    authorization: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(authorization) = authorization {
        request = request.header(header::AUTHORIZATION, authorization);
    }
    send_json(router, request.body(Body::from(body.to_owned())).expect("request")).await
}

/// Asserts an RFC 6749 §5.2 error response.
pub(crate) fn assert_error(response: &(StatusCode, HeaderMap, serde_json::Value), status: StatusCode, error: &str) {
    let (actual_status, headers, body) = response;
    assert_eq!(body["error"], error, "body: {body}");
    assert_eq!(*actual_status, status, "body: {body}");
    assert!(body["error_description"].is_string(), "body: {body}");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}

/// A PKCE pair (RFC 7636): a fresh verifier and its S256 challenge.
pub(crate) fn pkce() -> (String, String) {
    let verifier = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A `test-session` cookie header value for `subject`, signed in just now.
pub(crate) fn session_cookie(subject: &str) -> String {
    format!("{SESSION_COOKIE}={subject}")
}

/// A `test-session` cookie for `subject` who signed in at `auth_time`.
pub(crate) fn session_cookie_at(subject: &str, auth_time: SystemTime) -> String {
    let seconds = auth_time.duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    format!("{SESSION_COOKIE}={subject}:{seconds}")
}

/// An authorization endpoint URL with these query parameters (form-encoded).
pub(crate) fn authorize_url(path: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    format!("{path}?{query}")
}

/// A browser GET with an optional `Cookie` header.
pub(crate) async fn browser_get(router: &Router, uri: &str, cookie: Option<&str>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::get(uri).header(header::ACCEPT, "text/html");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::empty()).expect("request")).await
}

/// A browser form POST with an optional `Cookie` header.
pub(crate) async fn browser_post(
    router: &Router,
    uri: &str,
    cookie: Option<&str>,
    body: &str,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut request = Request::post(uri)
        .header(header::ACCEPT, "text/html")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    send(router, request.body(Body::from(body.to_owned())).expect("request")).await
}

/// The `Location` of a redirect, split into the URL before `?` and its query parameters.
pub(crate) fn redirect_params(headers: &HeaderMap) -> (String, HashMap<String, String>) {
    let location = headers.get(header::LOCATION).expect("a Location header").to_str().expect("ASCII Location");
    let url = url::Url::parse(location).expect("absolute Location");
    let params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let base = location.split('?').next().unwrap_or_default().to_owned();
    (base, params)
}

/// Runs the authorization request of `client` (already consented or granted by policy) for
/// `subject` and returns the code. `extra` adds or overrides parameters.
pub(crate) async fn authorize_code(
    router: &Router,
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    scope: &str,
    subject: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
        ("scope", scope),
        ("state", "xyz"),
    ];
    params.extend_from_slice(extra);
    let uri = authorize_url(TestHost::PATHS.authorize, &params);
    let cookie = session_cookie(subject);
    let (status, headers, body) = browser_get(router, &uri, Some(&cookie)).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "body: {}", String::from_utf8_lossy(&body));
    let (_, params) = redirect_params(&headers);
    assert_eq!(params.get("state").map(String::as_str), Some("xyz"));
    params.get("code").cloned().unwrap_or_else(|| panic!("a code in the redirect, got {params:?}"))
}

/// The value of the hidden input `name` of an HTML form.
pub(crate) fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no `{name}` input in {html}")) + marker.len();
    html[start..].split('"').next().expect("a quoted value").to_owned()
}

/// `subject`, signed in, opens the authorization request `uri`, which the host sends to attesto's
/// consent page, and allows it with the page's consent handle and CSRF token: the consent page's
/// HTML, and the redirect to the client (its URL before `?` and its query parameters).
pub(crate) async fn allow_on_consent_page(
    router: &Router,
    uri: &str,
    subject: &str,
) -> (String, String, HashMap<String, String>) {
    let session = session_cookie(subject);
    let (status, headers, page) = browser_get(router, uri, Some(&session)).await;
    let page = String::from_utf8(page).expect("UTF-8 page");
    assert_eq!(status, StatusCode::OK, "the consent page: {page}");
    let csrf_cookie =
        headers[header::SET_COOKIE].to_str().expect("ASCII cookie").split(';').next().expect("name=value");
    let (consent, csrf) = (hidden_input(&page, "attesto_consent"), hidden_input(&page, "attesto_csrf"));
    let decision = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("attesto_consent", consent.as_str()), ("attesto_csrf", &csrf), ("attesto_decision", "allow")])
        .finish();
    let cookies = format!("{session}; {csrf_cookie}");
    let (status, headers, body) = browser_post(router, TestHost::PATHS.authorize, Some(&cookies), &decision).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{}", String::from_utf8_lossy(&body));
    let (base, params) = redirect_params(&headers);
    (page, base, params)
}

/// Implements `ClientStore` and `PrincipalStore` for hosts that know no client and sign nobody
/// in: for tests of what a provider serves before any flow (discovery, CORS).
macro_rules! host_without_clients {
    ($($host:ty),* $(,)?) => {$(
        impl ::attesto::ClientStore for $host {
            async fn load_client(&self, _: &str) -> Result<Option<::attesto::Client>, ::attesto::HostError> {
                Ok(None)
            }
        }
        impl ::attesto::PrincipalStore for $host {
            async fn authenticate(
                &self,
                _: &::attesto::LoginRequest<'_>,
            ) -> Result<::attesto::LoginOutcome, ::attesto::HostError> {
                Ok(::attesto::LoginOutcome::LoginRequired)
            }
        }
    )*};
}
pub(crate) use host_without_clients;

/// Implements `RegistrationStore` for hosts whose registration endpoint keeps nothing: for tests
/// where registration is mounted but is not what they are about.
macro_rules! registration_keeps_nothing {
    ($($host:ty),* $(,)?) => {$(
        impl ::attesto::RegistrationStore for $host {
            async fn create_client(&self, _: &::attesto::ClientRegistration) -> Result<(), ::attesto::HostError> {
                Ok(())
            }
            async fn load_registration(
                &self,
                _: &::attesto::ClientId,
            ) -> Result<Option<::attesto::ClientRegistration>, ::attesto::HostError> {
                Ok(None)
            }
            async fn update_client(&self, _: &::attesto::ClientRegistration) -> Result<bool, ::attesto::HostError> {
                Ok(false)
            }
            async fn delete_client(&self, _: &::attesto::ClientId) -> Result<bool, ::attesto::HostError> {
                Ok(false)
            }
        }
    )*};
}
pub(crate) use registration_keeps_nothing;

/// A [`MemoryStore`](attesto::MemoryStore) with knobs, for the tests that need a store to
/// misbehave: a clock that runs late when codes are redeemed or pending requests taken (so that
/// an expiry can be reached without waiting), failing pending-request operations, or a failing
/// DPoP replay check. Every other method is the memory store's.
#[derive(Default)]
pub(crate) struct TestStore {
    pub(crate) inner: attesto::MemoryStore,
    pub(crate) redeem_late: Duration,
    pub(crate) take_late: Duration,
    pub(crate) fail_pending: bool,
    pub(crate) fail_dpop: bool,
    /// How late the clock runs for device grants (an expiry reached without waiting).
    pub(crate) device_late: Duration,
    /// How many pending requests were stored, and how many DPoP proofs recorded: what requests
    /// cost the store.
    pub(crate) pending_puts: std::sync::atomic::AtomicUsize,
    pub(crate) dpop_inserts: std::sync::atomic::AtomicUsize,
}

impl TestStore {
    fn pending_check(&self) -> Result<(), HostError> {
        if self.fail_pending { Err(HostError::msg("store unavailable")) } else { Ok(()) }
    }
}

impl attesto::store::Store for TestStore {
    async fn put_pending(
        &self,
        handle: &attesto::store::TokenHash,
        pending: &attesto::store::PendingAuthorization,
    ) -> Result<(), HostError> {
        self.pending_check()?;
        self.pending_puts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.put_pending(handle, pending).await
    }
    async fn take_pending(
        &self,
        handle: &attesto::store::TokenHash,
        now: SystemTime,
    ) -> Result<Option<attesto::store::PendingAuthorization>, HostError> {
        self.pending_check()?;
        self.inner.take_pending(handle, now + self.take_late).await
    }
    async fn put_code(
        &self,
        code: &attesto::store::TokenHash,
        grant: &attesto::store::AuthorizationCode,
    ) -> Result<(), HostError> {
        self.inner.put_code(code, grant).await
    }
    async fn find_code(
        &self,
        code: &attesto::store::TokenHash,
        now: SystemTime,
    ) -> Result<Option<attesto::store::AuthorizationCode>, HostError> {
        self.inner.find_code(code, now + self.redeem_late).await
    }
    async fn redeem_code(
        &self,
        code: &attesto::store::TokenHash,
        issue: &attesto::store::CodeIssue,
        now: SystemTime,
    ) -> Result<attesto::store::CodeRedemption, HostError> {
        self.inner.redeem_code(code, issue, now + self.redeem_late).await
    }
    async fn create_refresh_family(
        &self,
        family: &attesto::store::RefreshFamily,
        token: &attesto::store::TokenHash,
    ) -> Result<bool, HostError> {
        self.inner.create_refresh_family(family, token).await
    }
    async fn find_refresh(
        &self,
        token: &attesto::store::TokenHash,
        now: SystemTime,
    ) -> Result<attesto::store::RefreshLookup, HostError> {
        self.inner.find_refresh(token, now).await
    }
    async fn rotate_refresh(
        &self,
        presented: &attesto::store::TokenHash,
        next: &attesto::store::TokenHash,
        now: SystemTime,
    ) -> Result<attesto::store::Rotation, HostError> {
        self.inner.rotate_refresh(presented, next, now).await
    }
    async fn revoke_refresh_family(&self, family_id: &str, until: SystemTime) -> Result<(), HostError> {
        self.inner.revoke_refresh_family(family_id, until).await
    }
    async fn revoke_access_token(&self, jti: &str, expires_at: SystemTime) -> Result<(), HostError> {
        self.inner.revoke_access_token(jti, expires_at).await
    }
    async fn is_access_token_revoked(&self, jti: &str, now: SystemTime) -> Result<bool, HostError> {
        self.inner.is_access_token_revoked(jti, now).await
    }
    async fn revoked_access_tokens(&self, now: SystemTime) -> Result<Vec<(String, SystemTime)>, HostError> {
        self.inner.revoked_access_tokens(now).await
    }
    async fn insert_dpop_jti(
        &self,
        key: &attesto::store::TokenHash,
        expires_at: SystemTime,
    ) -> Result<bool, HostError> {
        if self.fail_dpop {
            return Err(HostError::msg("replay store unavailable"));
        }
        self.dpop_inserts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.insert_dpop_jti(key, expires_at).await
    }
    async fn put_device_grant(
        &self,
        device_code: &attesto::store::TokenHash,
        grant: &attesto::store::DeviceGrant,
    ) -> Result<bool, HostError> {
        self.inner.put_device_grant(device_code, grant).await
    }
    async fn find_device_grant(
        &self,
        device_code: &attesto::store::TokenHash,
        now: SystemTime,
    ) -> Result<Option<attesto::store::DeviceGrant>, HostError> {
        self.inner.find_device_grant(device_code, now + self.device_late).await
    }
    async fn find_device_grant_by_user_code(
        &self,
        user_code: &str,
        now: SystemTime,
    ) -> Result<Option<(attesto::store::TokenHash, attesto::store::DeviceGrant)>, HostError> {
        self.inner.find_device_grant_by_user_code(user_code, now + self.device_late).await
    }
    async fn decide_device_grant(
        &self,
        device_code: &attesto::store::TokenHash,
        decision: &attesto::store::DeviceDecision,
        now: SystemTime,
    ) -> Result<bool, HostError> {
        self.inner.decide_device_grant(device_code, decision, now + self.device_late).await
    }
    async fn poll_device_grant(
        &self,
        device_code: &attesto::store::TokenHash,
        now: SystemTime,
    ) -> Result<attesto::store::DevicePoll, HostError> {
        self.inner.poll_device_grant(device_code, now + self.device_late).await
    }
    async fn put_grant(&self, grant: &attesto::store::Grant) -> Result<(), HostError> {
        self.inner.put_grant(grant).await
    }
    async fn record_grant_use(&self, grant_id: &str, now: SystemTime) -> Result<(), HostError> {
        self.inner.record_grant_use(grant_id, now).await
    }
    async fn find_grant(&self, grant_id: &str, now: SystemTime) -> Result<Option<attesto::store::Grant>, HostError> {
        self.inner.find_grant(grant_id, now).await
    }
    async fn grants(
        &self,
        subject: &str,
        now: SystemTime,
        limit: usize,
    ) -> Result<Vec<attesto::store::Grant>, HostError> {
        self.inner.grants(subject, now, limit).await
    }
    async fn revoke_grant(
        &self,
        subject: &str,
        grant_id: &str,
        now: SystemTime,
    ) -> Result<Option<attesto::store::Grant>, HostError> {
        self.inner.revoke_grant(subject, grant_id, now).await
    }
    async fn put_logout_session(&self, session: &attesto::store::LogoutSession) -> Result<(), HostError> {
        self.inner.put_logout_session(session).await
    }
    async fn take_logout_sessions(
        &self,
        subject: &str,
        session_id: Option<&str>,
        now: SystemTime,
    ) -> Result<Vec<attesto::store::LogoutSession>, HostError> {
        self.inner.take_logout_sessions(subject, session_id, now).await
    }
}
