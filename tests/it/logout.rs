//! OpenID Connect RP-Initiated Logout 1.0 over real HTTP: the `openidconnect` crate discovers the
//! end-session endpoint, runs a code flow for a real ID token and builds the logout URL with it;
//! then every refusal (forged, foreign or mismatched hints, unregistered or unverifiable redirect
//! URIs), the confirmation page and its CSRF checks, each with the exact answer and whether the
//! host's session ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use attesto::{
    Attesto, Client, ClientStore, EndSessionRequest, GrantType, HostError, HostSession, Key, LoginOutcome,
    LoginRequest, PrincipalStore, Scopes, SecretHash, SessionStore,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreTokenResponse};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl,
};

use crate::common::SESSION_COOKIE;

const SECRET: &str = "logout client secret, long and random enough";
const SUBJECT: &str = "alice";

/// The host: two clients, a session cookie `test-session=<subject>` or
/// `test-session=<subject>.<sid>`, and the list of sessions it was asked to end.
#[derive(Clone)]
#[attesto::provider(end_session)]
struct Host {
    clients: Arc<HashMap<String, Client>>,
    issuer: String,
    ended: Arc<Mutex<Vec<String>>>,
}

impl ClientStore for Host {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        // The host's session id becomes the ID token's `sid`.
        Ok(match crate::common::principal_with_session(request.headers) {
            Some(principal) => LoginOutcome::Authenticated(principal),
            None => LoginOutcome::Redirect(format!("{}/login", self.issuer)),
        })
    }
}

impl SessionStore for Host {
    async fn current_session(&self, headers: &HeaderMap) -> Result<Option<HostSession>, HostError> {
        Ok(crate::common::host_session(headers))
    }

    async fn end_session(&self, request: &EndSessionRequest<'_>) -> Result<Vec<HeaderValue>, HostError> {
        self.ended.lock().expect("not poisoned").push(request.session.subject.clone());
        Ok(vec![HeaderValue::from_static("test-session=; Path=/; Max-Age=0")])
    }
}

/// A provider on a loopback port, its signing key (to mint hints the tests need) and the
/// sessions it ended.
struct Server {
    issuer: String,
    key: Key,
    ended: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    fn end_session_url(&self) -> String {
        format!("{}{}", self.issuer, Host::PATHS.end_session.expect("end_session is on"))
    }

    fn ended(&self) -> Vec<String> {
        self.ended.lock().expect("not poisoned").clone()
    }

    /// An ID token signed by this provider's key, as the token endpoint makes them, with
    /// `claims` over the defaults.
    fn hint(&self, claims: serde_json::Value) -> String {
        sign(&self.key, &self.issuer, claims)
    }
}

/// A compact JWT of `typ` `JWT` signed with `key`: the defaults of an ID token for `SUBJECT` and
/// the client `web`, with `claims` over them.
fn sign(key: &Key, issuer: &str, claims: serde_json::Value) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).expect("after 1970").as_secs();
    let mut all = serde_json::json!({
        "iss": issuer, "sub": SUBJECT, "aud": "web", "iat": now, "exp": now + 300, "auth_time": now,
    });
    if let (Some(all), serde_json::Value::Object(over)) = (all.as_object_mut(), claims) {
        all.extend(over);
    }
    let header = serde_json::json!({ "alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.kid() });
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(all.to_string()));
    let signature = key.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    let issuer = format!("http://127.0.0.1:{port}");
    let scopes = Scopes::parse("openid profile").expect("valid scopes");
    let clients = [
        Client::confidential("web", SecretHash::of(SECRET))
            .with_name("Web App")
            .with_redirect_uris([format!("{issuer}/cb")])
            .with_post_logout_redirect_uris([format!("{issuer}/bye")])
            .with_grant_types([GrantType::AuthorizationCode])
            .with_scopes(scopes.clone()),
        Client::confidential("other", SecretHash::of(SECRET))
            .with_redirect_uris([format!("{issuer}/other/cb")])
            .with_post_logout_redirect_uris(["https://other.example/bye"])
            .with_scopes(scopes),
    ];
    let ended = Arc::new(Mutex::new(Vec::new()));
    let host = Host {
        clients: Arc::new(clients.into_iter().map(|c| (c.client_id.to_string(), c)).collect()),
        issuer: issuer.clone(),
        ended: ended.clone(),
    };
    let key = Key::generate(attesto::Algorithm::ES256).expect("key");
    let auth = Attesto::builder(host)
        .issuer(&issuer)
        .expect("a loopback http issuer is accepted")
        .signing_key(key.clone())
        .build()
        .expect("provider builds");
    let app = axum::Router::new().merge(auth.router());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Server { issuer, key, ended, task }
}

fn http_client() -> reqwest012::Client {
    reqwest012::Client::builder()
        .redirect(reqwest012::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

fn cookie(subject: &str) -> String {
    format!("{SESSION_COOKIE}={subject}")
}

/// The first `Set-Cookie` whose name starts with `prefix`, as `name=value`.
fn set_cookie(headers: &HeaderMap, prefix: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|pair| pair.starts_with(prefix))
}

fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no `{name}` input in {html}")) + marker.len();
    let end = html[start..].find('"').expect("a closed attribute") + start;
    html[start..end].replace("&amp;", "&").replace("&quot;", "\"").replace("&#x27;", "'")
}

/// GETs the end-session endpoint with `params`, signed in as `subject` (if any).
async fn logout(server: &Server, params: &[(&str, &str)], subject: Option<&str>) -> reqwest012::Response {
    let mut url = url::Url::parse(&server.end_session_url()).expect("URL");
    url.query_pairs_mut().extend_pairs(params);
    let mut request = http_client().get(url);
    if let Some(subject) = subject {
        request = request.header(header::COOKIE, cookie(subject));
    }
    request.send().await.expect("end-session request")
}

/// A refusal page: `status`, the error code and description on it, no redirect.
async fn assert_refused(response: reqwest012::Response, status: StatusCode, error: &str, description: &str) {
    assert_eq!(response.status(), status);
    assert!(response.headers().get(header::LOCATION).is_none(), "a refusal never redirects");
    let page = response.text().await.expect("page");
    assert!(page.contains("Logout request refused"), "{page}");
    assert!(page.contains(&format!("<code>{error}</code>")), "{page}");
    assert!(page.contains(description), "expected {description:?} in {page}");
}

/// The `Location` of a redirect, split into the URL before the query and its parameters.
fn location(response: &reqwest012::Response) -> (String, HashMap<String, String>) {
    let location = response.headers().get(header::LOCATION).expect("a Location").to_str().expect("ASCII");
    let url = url::Url::parse(location).expect("an absolute Location");
    let params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    (location.split('?').next().unwrap_or_default().to_owned(), params)
}

/// A code flow by the `openidconnect` relying party, the browser signed in with the session
/// cookie `session` and allowing on the consent page; returns the token response and the
/// end-session endpoint discovery advertised.
async fn sign_in(server: &Server, session: &str) -> (CoreTokenResponse, String) {
    let http = http_client();
    let issuer = server.issuer.as_str();
    let metadata =
        ProviderMetadataWithLogout::discover_async(IssuerUrl::new(issuer.to_owned()).expect("issuer"), &http)
            .await
            .expect("OpenID Connect discovery");
    let end_session = metadata.additional_metadata().end_session_endpoint.clone().expect("end_session_endpoint");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".to_owned()),
        Some(ClientSecret::new(SECRET.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{issuer}/cb")).expect("redirect URI"));
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, _, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge)
        .url();
    // Signed in already: the consent page, then the decision.
    let response = http.get(authorize_url.as_str()).header(header::COOKIE, session).send().await.expect("authorize");
    assert_eq!(response.status(), StatusCode::OK);
    let consent_cookie = set_cookie(response.headers(), "attesto-consent").expect("consent cookie");
    let page = response.text().await.expect("consent page");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("attesto_consent", &hidden_input(&page, "attesto_consent"))
        .append_pair("attesto_csrf", &hidden_input(&page, "attesto_csrf"))
        .append_pair("attesto_decision", "allow")
        .finish();
    let response = http
        .post(format!("{issuer}{}", Host::PATHS.authorize))
        .header(header::COOKIE, format!("{session}; {consent_cookie}"))
        .header(header::ORIGIN, issuer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("consent decision");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let code = location(&response).1.get("code").expect("a code").clone();
    let tokens: CoreTokenResponse = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    use openidconnect::TokenResponse as _;
    tokens.id_token().expect("an ID token").claims(&client.id_token_verifier(), &nonce).expect("a valid ID token");
    (tokens, end_session.url().to_string())
}

#[tokio::test]
async fn openidconnect_logout_url_ends_the_session_and_returns_with_state() {
    let server = start().await;
    let (tokens, end_session) = sign_in(&server, &cookie(SUBJECT)).await;
    // Discovery advertised the endpoint the router mounts.
    assert_eq!(end_session, server.end_session_url());

    use openidconnect::TokenResponse as _;
    let id_token = tokens.id_token().expect("an ID token");
    let url = LogoutRequest::from(openidconnect::EndSessionUrl::new(end_session).expect("URL"))
        .set_id_token_hint(id_token)
        .set_client_id(ClientId::new("web".to_owned()))
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(format!("{}/bye", server.issuer)).expect("URL"))
        .set_state(CsrfToken::new("opaque & state".to_owned()))
        .http_get_url();
    let response = http_client().get(url).header(header::COOKIE, cookie(SUBJECT)).send().await.expect("logout request");
    // The hint names the signed-in user: no question asked, straight back to the client.
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (target, params) = location(&response);
    assert_eq!(target, format!("{}/bye", server.issuer));
    assert_eq!(params.get("state").map(String::as_str), Some("opaque & state"));
    assert_eq!(set_cookie(response.headers(), "test-session").as_deref(), Some("test-session="));
    assert_eq!(server.ended(), [SUBJECT]);
}

#[tokio::test]
async fn post_takes_the_same_parameters() {
    let server = start().await;
    let hint = server.hint(serde_json::json!({}));
    let bye = format!("{}/bye", server.issuer);
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("id_token_hint", &hint)
        .append_pair("post_logout_redirect_uri", &bye)
        .append_pair("state", "s")
        .finish();
    let response = http_client()
        .post(server.end_session_url())
        .header(header::COOKIE, cookie(SUBJECT))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), (bye, HashMap::from([("state".to_owned(), "s".to_owned())])));
    assert_eq!(server.ended(), [SUBJECT]);
}

#[tokio::test]
async fn an_expired_hint_is_still_a_hint() {
    let server = start().await;
    // RP-Initiated Logout §2: the OP SHOULD accept an expired ID token as a hint.
    let hint = server.hint(serde_json::json!({ "iat": 1_000, "exp": 1_300, "auth_time": 1_000 }));
    let response = logout(&server, &[("id_token_hint", &hint)], Some(SUBJECT)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("page");
    assert!(page.contains("<h1>Signed out</h1>"), "{page}");
    assert_eq!(server.ended(), [SUBJECT]);
}

#[tokio::test]
async fn a_hint_not_issued_by_this_server_is_refused() {
    let server = start().await;
    let bye = format!("{}/bye", server.issuer);
    let other_key = Key::generate(attesto::Algorithm::ES256).expect("key");
    let genuine = server.hint(serde_json::json!({}));
    let (head, rest) = genuine.split_once('.').expect("a JWT");
    let (_, signature) = rest.split_once('.').expect("a JWT");
    let forged_claims = URL_SAFE_NO_PAD.encode(
        serde_json::json!({ "iss": server.issuer, "sub": "mallory", "aud": "web", "exp": 4_000_000_000u64 })
            .to_string(),
    );
    let hints = [
        // Another key, under its own kid.
        sign(&other_key, &server.issuer, serde_json::json!({})),
        // This server's key, for another issuer.
        server.hint(serde_json::json!({ "iss": "https://elsewhere.example" })),
        // Claims swapped under a genuine signature.
        format!("{head}.{forged_claims}.{signature}"),
        // Not a JWT at all.
        "not-a-token".to_owned(),
    ];
    for hint in hints {
        let params = [("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", bye.as_str()), ("state", "s")];
        let response = logout(&server, &params, Some(SUBJECT)).await;
        assert_refused(
            response,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The id_token_hint is not an ID token issued by this server.",
        )
        .await;
    }
    assert!(server.ended().is_empty());
}

#[tokio::test]
async fn only_a_registered_post_logout_redirect_uri_is_redirected_to() {
    let server = start().await;
    let hint = server.hint(serde_json::json!({}));
    let issuer = &server.issuer;
    for uri in [
        format!("{issuer}/bye/"),
        format!("{issuer}/bye?next=x"),
        format!("{issuer}/cb"),
        // Registered, but by another client.
        "https://other.example/bye".to_owned(),
        "https://evil.example/".to_owned(),
    ] {
        let params = [("id_token_hint", hint.as_str()), ("post_logout_redirect_uri", uri.as_str()), ("state", "s")];
        let response = logout(&server, &params, Some(SUBJECT)).await;
        assert_refused(
            response,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The post_logout_redirect_uri is not registered for this client.",
        )
        .await;
    }
    assert!(server.ended().is_empty());
}

#[tokio::test]
async fn a_post_logout_redirect_uri_needs_a_client() {
    let server = start().await;
    let bye = format!("{}/bye", server.issuer);
    let response = logout(&server, &[("post_logout_redirect_uri", &bye), ("state", "s")], Some(SUBJECT)).await;
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "A post_logout_redirect_uri needs an id_token_hint or a client_id naming the client that registered it.",
    )
    .await;
    assert!(server.ended().is_empty());
}

#[tokio::test]
async fn client_id_must_be_the_hints_audience() {
    let server = start().await;
    let hint = server.hint(serde_json::json!({}));
    let response = logout(&server, &[("id_token_hint", &hint), ("client_id", "other")], Some(SUBJECT)).await;
    assert_refused(
        response,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "The client_id is not the client the id_token_hint was issued to.",
    )
    .await;
    let response = logout(&server, &[("client_id", "nobody")], Some(SUBJECT)).await;
    assert_refused(response, StatusCode::BAD_REQUEST, "invalid_client", "Unknown client.").await;
    assert!(server.ended().is_empty());
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let server = start().await;
    let response = logout(&server, &[("state", "a"), ("state", "b")], Some(SUBJECT)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let page = response.text().await.expect("page");
    assert!(page.contains("<code>invalid_request</code>"), "{page}");
    assert!(server.ended().is_empty());
}

/// The confirmation page for `params`, and the anti-CSRF cookie it set.
async fn confirmation(server: &Server, params: &[(&str, &str)]) -> (String, String) {
    let response = logout(server, params, Some(SUBJECT)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers().get(header::CONTENT_SECURITY_POLICY).expect("a CSP").to_str().expect("ASCII");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    let csrf_cookie = set_cookie(response.headers(), "attesto-logout").expect("the page sets its CSRF cookie");
    let page = response.text().await.expect("page");
    assert!(page.contains("<h1>Sign out?</h1>"), "{page}");
    assert!(page.contains("Signed in as <strong>alice</strong>"), "{page}");
    assert!(server.ended().is_empty(), "nothing ends before the user confirms");
    (page, csrf_cookie)
}

/// Posts the confirmation page's form with `decision`, and the browser's `cookie` and headers.
async fn answer(
    server: &Server,
    page: &str,
    decision: &str,
    cookies: &str,
    extra: &[(&str, &str)],
) -> reqwest012::Response {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for name in ["id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "attesto_csrf"] {
        if page.contains(&format!("name=\"{name}\"")) {
            form.append_pair(name, &hidden_input(page, name));
        }
    }
    form.append_pair("attesto_logout", decision);
    let mut request = http_client()
        .post(server.end_session_url())
        .header(header::COOKIE, cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.body(form.finish()).send().await.expect("confirmation")
}

#[tokio::test]
async fn without_a_hint_the_user_confirms() {
    let server = start().await;
    let bye = format!("{}/bye", server.issuer);
    let (page, csrf) =
        confirmation(&server, &[("client_id", "web"), ("post_logout_redirect_uri", &bye), ("state", "s")]).await;
    assert!(page.contains("<strong>Web App</strong> asks to sign you out"), "{page}");
    let cookies = format!("{}; {csrf}", cookie(SUBJECT));
    let response = answer(&server, &page, "confirm", &cookies, &[("origin", &server.issuer)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), (bye, HashMap::from([("state".to_owned(), "s".to_owned())])));
    let cleared = set_cookie(response.headers(), "attesto-logout").expect("the CSRF cookie is cleared");
    assert!(cleared.ends_with('='), "{cleared}");
    assert_eq!(server.ended(), [SUBJECT]);
}

#[tokio::test]
async fn staying_signed_in_ends_nothing() {
    let server = start().await;
    let (page, csrf) = confirmation(&server, &[]).await;
    let cookies = format!("{}; {csrf}", cookie(SUBJECT));
    let response = answer(&server, &page, "stay", &cookies, &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("page");
    assert!(page.contains("<h1>Still signed in</h1>"), "{page}");
    assert!(server.ended().is_empty());
}

#[tokio::test]
async fn a_hint_for_someone_else_or_another_session_asks() {
    let server = start().await;
    // Another user's ID token: the signed-in user is asked, not silently signed out.
    let bob = server.hint(serde_json::json!({ "sub": "bob" }));
    confirmation(&server, &[("id_token_hint", &bob)]).await;
    // The right user, but a `logout_hint` naming someone else.
    let alice = server.hint(serde_json::json!({}));
    confirmation(&server, &[("id_token_hint", &alice), ("logout_hint", "bob")]).await;
    // The right user, but the hint's `sid` is not this session's.
    let old_session = server.hint(serde_json::json!({ "sid": "s-old" }));
    let response = http_client()
        .get(format!("{}?id_token_hint={old_session}", server.end_session_url()))
        .header(header::COOKIE, format!("{SESSION_COOKIE}={SUBJECT}.s-now"))
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("page").contains("<h1>Sign out?</h1>"));
    // The hint of this very session ends it.
    let this_session = server.hint(serde_json::json!({ "sid": "s-now" }));
    let response = http_client()
        .get(format!("{}?id_token_hint={this_session}", server.end_session_url()))
        .header(header::COOKIE, format!("{SESSION_COOKIE}={SUBJECT}.s-now"))
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("page").contains("<h1>Signed out</h1>"));
    assert_eq!(server.ended(), [SUBJECT]);
}

#[tokio::test]
async fn a_confirmation_from_elsewhere_is_refused() {
    let server = start().await;
    let (page, csrf) = confirmation(&server, &[]).await;
    let session = cookie(SUBJECT);
    let with_csrf = format!("{session}; {csrf}");
    let foreign_csrf = format!("{session}; {}", csrf.replace('=', "=x"));
    let cases: [(&str, &[(&str, &str)]); 4] = [
        // No anti-CSRF cookie: a cross-site form cannot send the SameSite=Strict one.
        (session.as_str(), &[]),
        // A cookie that does not match the field.
        (foreign_csrf.as_str(), &[]),
        // The right cookie, but the browser says the form was on another site.
        (with_csrf.as_str(), &[("sec-fetch-site", "cross-site")]),
        (with_csrf.as_str(), &[("origin", "https://evil.example")]),
    ];
    for (cookies, headers) in cases {
        let response = answer(&server, &page, "confirm", cookies, headers).await;
        assert_refused(
            response,
            StatusCode::FORBIDDEN,
            "access_denied",
            "The logout could not be verified (CSRF check failed); start again from the application.",
        )
        .await;
    }
    assert!(server.ended().is_empty());
}

#[tokio::test]
async fn signed_out_already_completes() {
    let server = start().await;
    let bye = format!("{}/bye", server.issuer);
    // No session: nothing to end, the client still gets its answer.
    let response =
        logout(&server, &[("client_id", "web"), ("post_logout_redirect_uri", &bye), ("state", "s")], None).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), (bye, HashMap::from([("state".to_owned(), "s".to_owned())])));
    let response = logout(&server, &[], None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("page").contains("<h1>Signed out</h1>"));
    assert!(server.ended().is_empty());
}

/// The claims of a compact JWT, not verified (the relying party verified it).
fn claims_of(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

#[tokio::test]
async fn the_id_tokens_sid_is_the_host_session_and_logout_names_it() {
    use openidconnect::TokenResponse as _;
    let server = start().await;
    let (tokens, _) = sign_in(&server, &format!("{SESSION_COOKIE}={SUBJECT}.s-1")).await;
    let id_token = tokens.id_token().expect("an ID token").to_string();
    assert_eq!(claims_of(&id_token)["sid"], "s-1");
    // Without a session id from the host, no `sid`.
    let (tokens, _) = sign_in(&server, &cookie(SUBJECT)).await;
    assert!(claims_of(&tokens.id_token().expect("an ID token").to_string()).get("sid").is_none());

    // The same user in a later session: the old session's token does not end it unasked.
    let response = http_client()
        .get(format!("{}?id_token_hint={id_token}", server.end_session_url()))
        .header(header::COOKIE, format!("{SESSION_COOKIE}={SUBJECT}.s-2"))
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("page").contains("<h1>Sign out?</h1>"));
    assert!(server.ended().is_empty());
    // In its own session it does.
    let response = http_client()
        .get(format!("{}?id_token_hint={id_token}", server.end_session_url()))
        .header(header::COOKIE, format!("{SESSION_COOKIE}={SUBJECT}.s-1"))
        .send()
        .await
        .expect("logout request");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("page").contains("<h1>Signed out</h1>"));
    assert_eq!(server.ended(), [SUBJECT]);
}
