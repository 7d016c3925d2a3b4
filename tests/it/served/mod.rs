//! A provider on PostgreSQL served over real HTTP on a loopback port, and an HTTP client that
//! plays the browser and the clients: what `tests/it/instances.rs` and `tests/it/outage.rs` share.
//!
//! The host keeps its own clients in memory, its registered clients in PostgreSQL
//! (`PostgresRegistrations` behind `RegistrationStore`), takes the signed-in user from a session
//! cookie, and grants consent without asking.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use attesto::{
    Attesto, AuthenticatedPrincipal, Builder, Client, ClientId, ClientRegistration, ClientStore, ConsentDecision,
    ConsentPolicy, ConsentRequest, GrantType, HostError, Key, LoginOutcome, LoginRequest, PostgresRegistrations,
    PostgresStore, PrincipalStore, RegistrationStore, Scopes, SecretHash,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::{HeaderMap, StatusCode, header};
use jsonwebtoken::{Algorithm as JwtAlgorithm, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../attesto-runtime/tests/fixtures/keys/", $name))
    };
}

pub(crate) const SCOPE: &str = "openid offline_access read";
/// The public client's redirect URI: loopback, any port (RFC 8252 §7.3).
pub(crate) const NATIVE_REDIRECT: &str = "http://127.0.0.1/cb";
/// The secret of the confidential `service` client (`client_credentials` only).
pub(crate) const SERVICE_SECRET: &str = "served test service secret";
const SESSION_COOKIE: &str = "session";

// ---------------------------------------------------------------------------------------------
// The host
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
#[attesto::provider(registration, device_authorization)]
pub(crate) struct Host {
    clients: Arc<HashMap<String, Client>>,
    registrations: PostgresRegistrations,
}

impl ClientStore for Host {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for Host {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        let subject = request
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, subject)| subject.to_owned());
        Ok(match subject {
            Some(subject) => LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, SystemTime::now())),
            None => LoginOutcome::LoginRequired,
        })
    }
}

impl ConsentPolicy for Host {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

impl RegistrationStore for Host {
    /// This test host lets every registration hold `client_credentials` (the default refuses).
    async fn allow_client_credentials(&self, _: &attesto::GrantRequest<'_>) -> Result<bool, HostError> {
        Ok(true)
    }
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        self.registrations.create_client(registration).await
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        self.registrations.load_registration(client_id).await
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        self.registrations.update_client(registration).await
    }
    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        self.registrations.delete_client(client_id).await
    }
}

/// The host's own clients: `native` (public, code + refresh + device) and `service`
/// (confidential, `client_credentials`).
fn clients() -> HashMap<String, Client> {
    let scopes = Scopes::parse(SCOPE).expect("valid scopes");
    [
        Client::public("native")
            .with_redirect_uris([NATIVE_REDIRECT])
            .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::DeviceCode])
            .with_scopes(scopes.clone()),
        Client::confidential("service", SecretHash::of(SERVICE_SECRET))
            .with_grant_types([GrantType::ClientCredentials])
            .with_scopes(scopes),
    ]
    .into_iter()
    .map(|client| (client.client_id.to_string(), client))
    .collect()
}

/// The signing key every instance shares: a fixture PEM.
pub(crate) fn signing_key() -> Key {
    Key::from_pem(fixture!("p256.pkcs8.pem")).expect("the fixture key loads")
}

// ---------------------------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------------------------

/// A provider serving on a loopback port until dropped.
pub(crate) struct Instance {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base: String,
    /// The provider it serves, for what the host calls itself (`Attesto::revoke_grant`).
    pub(crate) auth: Attesto<Host>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub(crate) async fn bind() -> tokio::net::TcpListener {
    tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port")
}

/// Serves a provider on `listener` with `store` (its registered clients in the same database),
/// the shared signing key, `issuer`, and what `configure` adds to the builder.
pub(crate) fn serve(
    listener: tokio::net::TcpListener,
    store: PostgresStore,
    issuer: &str,
    configure: impl FnOnce(Builder<Host>) -> Builder<Host>,
) -> Instance {
    let host = Host { clients: Arc::new(clients()), registrations: store.registrations() };
    let builder = Attesto::builder(host)
        .issuer(issuer)
        .expect("a loopback issuer")
        .signing_key(signing_key())
        .store(store)
        .scopes_supported(SCOPE.split(' '));
    let auth = configure(builder).build().expect("provider builds");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = axum::Router::new().merge(auth.router());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Instance { base, auth, task }
}

// ---------------------------------------------------------------------------------------------
// The HTTP side
// ---------------------------------------------------------------------------------------------

/// A PKCE pair (RFC 7636): a fresh verifier and its S256 challenge.
pub(crate) fn pkce() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1).
pub(crate) fn basic(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(id), encode(secret))))
}

pub(crate) fn str_of<'v>(body: &'v Value, name: &str) -> &'v str {
    body[name].as_str().unwrap_or_else(|| panic!("`{name}` in {body}"))
}

/// A DPoP proof (RFC 9449 §4.2) for `POST htu`, with `nonce` if given, signed with the Ed25519
/// fixture key.
pub(crate) fn dpop_proof(htu: &str, nonce: Option<&str>) -> String {
    let key = EncodingKey::from_ed_pem(fixture!("ed25519.pkcs8.pem").as_bytes()).expect("the fixture key loads");
    let jwk: Value = serde_json::from_str(fixture!("ed25519.pub.jwk.json")).expect("JWK");
    let iat = SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
    let mut claims = json!({
        "jti": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>()),
        "htm": "POST",
        "htu": htu,
        "iat": iat,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = nonce.into();
    }
    let header = json!({ "typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk });
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, JwtAlgorithm::EdDSA).expect("signing");
    format!("{input}.{signature}")
}

/// An HTTP response: status, headers, and the body as JSON (`Null` when empty, a string when not
/// JSON).
pub(crate) type Reply = (StatusCode, HeaderMap, Value);

/// The browser and the clients, talking to instances of one issuer.
pub(crate) struct Http {
    pub(crate) client: reqwest012::Client,
    pub(crate) issuer: String,
}

impl Http {
    pub(crate) fn new(issuer: &str) -> Self {
        let client = reqwest012::Client::builder()
            .redirect(reqwest012::redirect::Policy::none())
            .timeout(Duration::from_secs(20))
            .build()
            .expect("reqwest client");
        Self { client, issuer: issuer.to_owned() }
    }

    /// Alice, signed in at `at`, authorizes `client_id` for `redirect_uri`: the parameters of the
    /// redirect back to the client (a `code`, or an `error`).
    pub(crate) async fn authorize(
        &self,
        at: &Instance,
        client_id: &str,
        redirect_uri: &str,
        challenge: &str,
    ) -> HashMap<String, String> {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", redirect_uri),
                ("scope", SCOPE),
                ("state", "s"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        let url = format!("{}{}?{query}", at.base, Host::PATHS.authorize);
        let response = self
            .client
            .get(url)
            .header(header::COOKIE, format!("{SESSION_COOKIE}=alice"))
            .send()
            .await
            .expect("authorization request");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()[header::LOCATION].to_str().expect("ASCII Location");
        let url = url::Url::parse(location).expect("absolute Location");
        assert!(location.starts_with(redirect_uri), "back to the client: {location}");
        let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(params.get("iss"), Some(&self.issuer), "RFC 9207 `iss`: {location}");
        params
    }

    /// Alice's code for `client_id` from `at`.
    pub(crate) async fn code(&self, at: &Instance, client_id: &str, redirect_uri: &str, challenge: &str) -> String {
        let params = self.authorize(at, client_id, redirect_uri, challenge).await;
        params.get("code").cloned().unwrap_or_else(|| panic!("a code in {params:?}"))
    }

    /// POSTs a form to `path` at `at`, with optional `Authorization` and `DPoP` headers.
    pub(crate) async fn post(
        &self,
        at: &Instance,
        path: &str,
        pairs: &[(&str, &str)],
        authorization: Option<&str>,
        dpop: Option<&str>,
    ) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let mut request = self
            .client
            .post(format!("{}{path}", at.base))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(authorization) = authorization {
            request = request.header(header::AUTHORIZATION, authorization);
        }
        if let Some(proof) = dpop {
            request = request.header("DPoP", proof);
        }
        reply(request.send().await.expect("request")).await
    }

    /// POSTs JSON (a registration, RFC 7591) to `path` at `at`.
    pub(crate) async fn post_json(&self, at: &Instance, path: &str, json: &Value) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", at.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(json.to_string());
        reply(request.send().await.expect("request")).await
    }

    /// A token request at `at` without client credentials in headers (a public client).
    pub(crate) async fn token(&self, at: &Instance, pairs: &[(&str, &str)]) -> Reply {
        self.post(at, Host::PATHS.token, pairs, None, None).await
    }

    /// The public client `native` redeems `code` at `at`.
    pub(crate) async fn redeem(&self, at: &Instance, code: &str, verifier: &str) -> Reply {
        let pairs = [
            ("grant_type", "authorization_code"),
            ("client_id", "native"),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", NATIVE_REDIRECT),
        ];
        self.token(at, &pairs).await
    }

    /// The public client `native` refreshes at `at`.
    pub(crate) async fn refresh(&self, at: &Instance, refresh_token: &str) -> Reply {
        self.token(at, &[("grant_type", "refresh_token"), ("client_id", "native"), ("refresh_token", refresh_token)])
            .await
    }

    /// Alice's code for `native`, from `issued_at`, redeemed at `redeemed_at`: the tokens.
    pub(crate) async fn sign_in(&self, issued_at: &Instance, redeemed_at: &Instance) -> Value {
        let (verifier, challenge) = pkce();
        let code = self.code(issued_at, "native", NATIVE_REDIRECT, &challenge).await;
        let (status, _, tokens) = self.redeem(redeemed_at, &code, &verifier).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        tokens
    }

    /// `GET {userinfo}` at `at` with a Bearer token.
    pub(crate) async fn userinfo(&self, at: &Instance, access_token: &str) -> Reply {
        let url = format!("{}{}", at.base, Host::PATHS.userinfo.expect("userinfo is on"));
        reply(self.client.get(url).bearer_auth(access_token).send().await.expect("userinfo request")).await
    }
}

impl Http {
    /// Alice, signed in, enters `user_code` at the verification page of `at` (RFC 8628 §3.3); the
    /// host's consent policy grants it: the final page.
    pub(crate) async fn enter_user_code(&self, at: &Instance, user_code: &str) -> (StatusCode, String) {
        let url = format!("{}{}", at.base, Host::PATHS.device_verification.expect("the device grant is on"));
        let page = self.client.get(&url).send().await.expect("the verification page");
        let cookie = page
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find(|value| value.contains("attesto-device-"))
            .and_then(|value| value.split(';').next())
            .expect("the page's cookie")
            .to_owned();
        let html = page.text().await.expect("the page");
        let marker = "name=\"attesto_csrf\" value=\"";
        let start = html.find(marker).expect("the form's anti-CSRF field") + marker.len();
        let csrf = html[start..].split('"').next().expect("a quoted value");
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("user_code", user_code), ("attesto_csrf", csrf)])
            .finish();
        let response = self
            .client
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, format!("{SESSION_COOKIE}=alice; {cookie}"))
            .body(body)
            .send()
            .await
            .expect("the code entered");
        (response.status(), response.text().await.expect("the final page"))
    }
}

async fn reply(response: reqwest012::Response) -> Reply {
    let (status, headers) = (response.status(), response.headers().clone());
    let text = response.text().await.expect("body");
    let json = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, headers, json)
}
