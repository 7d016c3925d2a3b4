//! End to end with a real relying party: the `openidconnect` crate, against a provider on a bound
//! loopback port, runs discovery, the authorization code flow with PKCE (S256), nonce and state,
//! validates the ID token and its `at_hash`, reads userinfo, and refreshes — once for a
//! confidential client (`client_secret_basic`) and once for a public one (`none`).
//!
//! The test plays the browser itself with a reqwest client that follows no redirect: it carries
//! the host's session cookie, reads the consent page and submits the decision.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use attesto::{
    Attesto, AuthenticatedPrincipal, ClaimsQuery, Client, ClientStore, GrantType, HostError, Key, LoginOutcome,
    LoginRequest, PrincipalStore, Scopes, SecretHash,
};
use http::{StatusCode, header};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreErrorResponseType, CoreProviderMetadata, CoreTokenResponse,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, RequestTokenError, Scope, TokenResponse,
};

const SECRET: &str = "e2e client secret, long and random enough";
const SUBJECT: &str = "alice";
const SESSION_COOKIE: &str = "test-session";

/// The host of this test: two clients, and a session cookie that names the signed-in user.
#[derive(Clone)]
#[attesto::provider]
struct Host {
    clients: Arc<HashMap<String, Client>>,
    issuer: String,
    /// When every session of this host signed in.
    auth_time: SystemTime,
}

impl ClientStore for Host {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for Host {
    /// `test-session=<subject>` is a signed-in user; without it the browser is sent to the host's
    /// login page (not served here: the test signs in by setting the cookie).
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        let session = request
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, subject)| subject.to_owned());
        Ok(match session {
            Some(subject) if !request.force_login => {
                LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, self.auth_time).with_amr(["pwd"]))
            }
            _ => {
                let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
                LoginOutcome::Redirect(format!("{}/login?return_to={return_to}", self.issuer))
            }
        })
    }

    async fn build_id_token_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        let mut claims = serde_json::Map::new();
        if query.scopes.contains("profile") {
            claims.insert("name".to_owned(), display_name(query.subject).into());
        }
        Ok(claims)
    }

    async fn build_userinfo_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        let mut claims = serde_json::Map::new();
        if query.scopes.contains("profile") {
            claims.insert("name".to_owned(), display_name(query.subject).into());
        }
        if query.scopes.contains("email") {
            claims.insert("email".to_owned(), format!("{}@example.com", query.subject).into());
            claims.insert("email_verified".to_owned(), true.into());
        }
        Ok(claims)
    }
}

fn display_name(subject: &str) -> String {
    format!("User {subject}")
}

/// A provider serving on `127.0.0.1:<port>`, and its issuer.
struct Server {
    issuer: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds a port, builds the provider for its issuer, and serves it on a task.
async fn start() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    let issuer = format!("http://127.0.0.1:{port}");
    let scopes = Scopes::parse("openid profile email offline_access").expect("valid scopes");
    let clients = [
        Client::confidential("web", SecretHash::of(SECRET))
            .with_name("Web App")
            .with_redirect_uris([format!("{issuer}/cb")])
            .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .with_scopes(scopes.clone()),
        // OIDC Registration §2: its userinfo responses come signed.
        Client::confidential("signed-userinfo", SecretHash::of(SECRET))
            .with_name("Signed Userinfo App")
            .with_redirect_uris([format!("{issuer}/cb")])
            .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .with_userinfo_signed_response_alg(attesto::Algorithm::ES256)
            .with_scopes(scopes.clone()),
        // RFC 8252 §7.3: registered without a port, redirected to on any.
        Client::public("native")
            .with_name("Native App")
            .with_redirect_uris(["http://127.0.0.1/cb"])
            .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken])
            .with_scopes(scopes),
    ];
    let host = Host {
        clients: Arc::new(clients.into_iter().map(|c| (c.client_id.to_string(), c)).collect()),
        issuer: issuer.clone(),
        auth_time: SystemTime::now() - Duration::from_secs(5),
    };
    let auth = Attesto::builder(host)
        .issuer(&issuer)
        .expect("a loopback http issuer is accepted")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider builds");
    let app = axum::Router::new().merge(auth.router());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Server { issuer, task }
}

/// The HTTP client of both the relying party and the "browser": redirects are never followed
/// (openidconnect's docs require it of the RP's client, against SSRF; the browser's redirects
/// are what the test inspects).
fn http_client() -> reqwest012::Client {
    reqwest012::Client::builder()
        .redirect(reqwest012::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// The `value` of the `<input name="{name}" value="…">` in `html`.
fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap_or_else(|| panic!("no `{name}` input in {html}")) + marker.len();
    let end = html[start..].find('"').expect("a closed attribute") + start;
    html[start..end].to_owned()
}

/// The query parameters of a redirect's `Location`, and the URL before the query.
fn location(response: &reqwest012::Response) -> (String, HashMap<String, String>) {
    let location = response.headers().get(header::LOCATION).expect("a Location").to_str().expect("ASCII");
    let url = url::Url::parse(location).expect("an absolute Location");
    let params = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    (location.split('?').next().unwrap_or_default().to_owned(), params)
}

/// Plays the user agent from the authorization URL to the redirect back to the client: the host
/// sends it to its login page, the user signs in (the session cookie) and comes back to the resume
/// URI, sees the consent page, and allows. Returns the parameters of the final redirect.
async fn browse(
    browser: &reqwest012::Client,
    issuer: &str,
    authorize_url: &str,
    redirect_uri: &str,
) -> HashMap<String, String> {
    let session = format!("{SESSION_COOKIE}={SUBJECT}");

    // Not signed in: to the host's login page, with where to come back to.
    let response = browser.get(authorize_url).send().await.expect("authorization request");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (login_page, params) = location(&response);
    assert_eq!(login_page, format!("{issuer}/login"));
    let resume = params.get("return_to").expect("a return_to").clone();
    assert!(resume.starts_with(&format!("{issuer}{}?", Host::PATHS.authorize)), "resume URI {resume}");
    // The cookie that binds the resume URI to this browser.
    let login_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a login cookie")
        .to_owned();

    // Signed in, back at the resume URI: the consent page (attesto's default policy asks).
    let cookies = format!("{login_cookie}; {session}");
    let response = browser.get(&resume).header(header::COOKIE, &cookies).send().await.expect("resume");
    assert_eq!(response.status(), StatusCode::OK);
    let consent_cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("the consent page sets its CSRF cookie")
        .to_owned();
    let page = response.text().await.expect("consent page");
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("attesto_consent", &hidden_input(&page, "attesto_consent"))
        .append_pair("attesto_csrf", &hidden_input(&page, "attesto_csrf"))
        .append_pair("attesto_decision", "allow")
        .finish();

    // The decision, as the browser submits the form: both cookies, and the page's origin.
    let response = browser
        .post(format!("{issuer}{}", Host::PATHS.authorize))
        .header(header::COOKIE, format!("{session}; {consent_cookie}"))
        .header(header::ORIGIN, issuer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("consent decision");
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (target, params) = location(&response);
    assert_eq!(target, redirect_uri);
    params
}

/// The whole flow for one client, as an OpenID Connect relying party runs it.
async fn code_flow(client_id: &str, secret: Option<&str>, redirect_uri: impl Fn(&str) -> String) {
    let server = start().await;
    let issuer = server.issuer.as_str();
    let redirect_uri = redirect_uri(issuer);
    let http = http_client();

    // Discovery: the document and the JWKS; openidconnect checks that `issuer` is ours.
    let metadata = CoreProviderMetadata::discover_async(IssuerUrl::new(issuer.to_owned()).expect("issuer"), &http)
        .await
        .expect("OpenID Connect discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.to_owned()),
        secret.map(|s| ClientSecret::new(s.to_owned())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri.clone()).expect("redirect URI"));

    // The authorization request: PKCE S256, state, nonce, scopes (`openid` is added by the RP).
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state, nonce) = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .add_scope(Scope::new("profile".to_owned()))
        .add_scope(Scope::new("email".to_owned()))
        // OIDC Core §11: the refresh token below needs `offline_access`.
        .add_scope(Scope::new("offline_access".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let response = browse(&http, issuer, authorize_url.as_str(), &redirect_uri).await;
    // RFC 9207: the response names its issuer; the state comes back unchanged.
    assert_eq!(response.get("iss").map(String::as_str), Some(issuer));
    assert_eq!(response.get("state"), Some(state.secret()));
    let code = response.get("code").expect("a code").clone();

    // The code exchange, with the verifier.
    let tokens: CoreTokenResponse = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint known")
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let granted: Vec<&str> = tokens.scopes().expect("scope").iter().map(|s| s.as_str()).collect();
    assert_eq!(granted, ["openid", "profile", "email", "offline_access"]);

    // The ID token: signature (JWKS), iss, aud, exp, nonce; then at_hash against the access token.
    let verifier = client.id_token_verifier();
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token.claims(&verifier, &nonce).expect("a valid ID token");
    assert_eq!(claims.subject().as_str(), SUBJECT);
    assert_eq!(claims.issuer().as_str(), issuer);
    assert_eq!(claims.audiences().iter().map(|a| a.as_str()).collect::<Vec<_>>(), [client_id]);
    assert!(claims.auth_time().is_some(), "auth_time");
    assert_eq!(claims.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("User alice"));
    let expected_hash = claims.access_token_hash().expect("at_hash");
    let actual_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().expect("signing alg"),
        id_token.signing_key(&verifier).expect("signing key"),
    )
    .expect("hash the access token");
    assert_eq!(&actual_hash, expected_hash);

    // Userinfo, for the subject of the ID token.
    if client_id == "signed-userinfo" {
        signed_userinfo(&http, issuer, client_id, tokens.access_token().secret()).await;
    } else {
        let userinfo: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), Some(claims.subject().clone()))
            .expect("userinfo endpoint known")
            .request_async(&http)
            .await
            .expect("userinfo");
        assert_eq!(userinfo.name().and_then(|n| n.get(None)).map(|n| n.as_str()), Some("User alice"));
        assert_eq!(userinfo.email().map(|e| e.as_str()), Some("alice@example.com"));
        assert_eq!(userinfo.email_verified(), Some(true));
    }

    // Refresh: new tokens, and an ID token for the same user (no nonce on refresh, OIDC Core
    // §12.2).
    let first_refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed: CoreTokenResponse = client
        .exchange_refresh_token(&first_refresh)
        .expect("token endpoint known")
        .request_async(&http)
        .await
        .expect("refresh");
    let second_refresh = refreshed.refresh_token().expect("a rotated refresh token").clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    assert_ne!(refreshed.access_token().secret(), tokens.access_token().secret());
    let refreshed_claims = refreshed
        .id_token()
        .expect("an ID token on refresh")
        .claims(&verifier, |nonce: Option<&Nonce>| match nonce {
            None => Ok(()),
            Some(_) => Err("a refreshed ID token carries no nonce".to_owned()),
        })
        .expect("a valid refreshed ID token");
    assert_eq!(refreshed_claims.subject(), claims.subject());
    assert_eq!(refreshed_claims.auth_time(), claims.auth_time());
    if client_id == "signed-userinfo" {
        signed_userinfo(&http, issuer, client_id, refreshed.access_token().secret()).await;
    } else {
        let userinfo: CoreUserInfoClaims = client
            .user_info(refreshed.access_token().clone(), Some(claims.subject().clone()))
            .expect("userinfo endpoint known")
            .request_async(&http)
            .await
            .expect("userinfo with the refreshed token");
        assert_eq!(userinfo.subject(), claims.subject());
    }

    // The rotated-out token is refused (RFC 9700 §4.14.2), and that reuse revokes its family:
    // the newest token goes with it.
    for token in [&first_refresh, &second_refresh] {
        let refused = client
            .exchange_refresh_token(token)
            .expect("token endpoint known")
            .request_async(&http)
            .await
            .expect_err("a revoked refresh token is refused");
        match refused {
            RequestTokenError::ServerResponse(error) => assert_eq!(*error.error(), CoreErrorResponseType::InvalidGrant),
            other => panic!("expected invalid_grant, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn confidential_client_with_client_secret_basic() {
    code_flow("web", Some(SECRET), |issuer| format!("{issuer}/cb")).await;
}

/// OIDC Core §5.3.2: userinfo answers `application/jwt`, signed, with `iss` and `aud`. (The
/// `openidconnect` crate verifies signed userinfo with RS256 only, so the JWT is verified here
/// against the provider's JWKS with `jsonwebtoken`.)
#[tokio::test]
async fn a_client_that_registered_signed_userinfo_gets_a_signed_jwt() {
    code_flow("signed-userinfo", Some(SECRET), |issuer| format!("{issuer}/cb")).await;
}

#[tokio::test]
async fn public_client_with_pkce_and_a_loopback_redirect_on_any_port() {
    // The port the native app listens on at run time; nothing needs to listen there, since the
    // test reads the redirect instead of following it.
    code_flow("native", None, |_| "http://127.0.0.1:49152/cb".to_owned()).await;
}

/// Reads userinfo as a client that registered `userinfo_signed_response_alg`: an
/// `application/jwt` answer, verified with the key of the provider's JWKS its `kid` names, for
/// this issuer and this client, with the claims the JSON answer has.
async fn signed_userinfo(http: &reqwest012::Client, issuer: &str, client_id: &str, access_token: &str) {
    use jsonwebtoken::jwk::JwkSet;
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header};

    let response = http
        .get(format!("{issuer}/oauth/userinfo"))
        .header(header::AUTHORIZATION, format!("Bearer {access_token}"))
        .send()
        .await
        .expect("userinfo");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/jwt");
    let jwt = response.text().await.expect("body");
    let jwks: JwkSet = serde_json::from_slice(
        &http.get(format!("{issuer}/oauth/jwks")).send().await.expect("jwks").bytes().await.expect("body"),
    )
    .expect("a JWK Set");
    let kid = decode_header(&jwt).expect("a JWS header").kid.expect("a kid");
    let key = DecodingKey::from_jwk(jwks.find(&kid).expect("the kid is published")).expect("a key");
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[issuer]);
    validation.required_spec_claims.clear();
    let claims = decode::<serde_json::Value>(&jwt, &key, &validation).expect("a valid signed userinfo").claims;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["name"], "User alice");
    assert_eq!(claims["email"], "alice@example.com");
}
