//! The harness the fuzz targets share: fixed keys, the hosts and providers they drive (built once
//! per process, on one current-thread tokio runtime), the local server of client ID metadata
//! documents, and the helpers that turn fuzz input into requests.
//!
//! Every HTTP call goes through [`send`], which fails the run on a 5xx: whatever a client sends,
//! attesto must answer it as a client error, never as its own failure. The hosts here never fail
//! (no host error can explain a 5xx), and they keep nothing the fuzzer could fill: registrations
//! are accepted and forgotten, and the one registered client is fixed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use attesto::{
    Attesto, Authenticated, AuthenticatedPrincipal, Client, ClientId, ClientMetadataDocuments, ClientRegistration,
    ClientStore, ConsentDecision, ConsentPolicy, ConsentRequest, GrantType, HostError, Key, LoginOutcome, LoginRequest,
    PrincipalStore, RegistrationStore, Scopes, SecretHash,
};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Request, StatusCode, Uri};
use http_body_util::BodyExt as _;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// The issuer of both providers.
pub const ISSUER: &str = "https://auth.example.com";
/// The protected resource of [`server`], guarded at `/mcp`.
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
/// Where [`FuzzHost`] sends a browser without a session.
pub const LOGIN_PAGE: &str = "https://auth.example.com/login";
/// The cookie of a signed-in user of [`FuzzHost`]: `fuzz-session=<subject>`.
pub const SESSION_COOKIE: &str = "fuzz-session";
/// The fixed clock of the targets that call a parser directly, so that a stored input (a proof,
/// a token) means the same on every run.
pub const NOW: u64 = 1_700_000_000;
/// The token endpoint URL, an `htu` for the DPoP target.
pub const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
/// The userinfo endpoint URL, an `htu` for the DPoP target.
pub const USERINFO_URL: &str = "https://auth.example.com/oauth/userinfo";
/// The access token the DPoP target's requirements name when `ath` is required.
pub const ACCESS_TOKEN: &str = "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
/// The client id of [`FuzzHost`]'s one registered client, which `PUT {registration}/{id}` updates.
pub const REGISTERED_ID: &str = "fuzz-registered";
/// The registration access token of [`REGISTERED_ID`].
pub const REGISTRATION_TOKEN: &str = "fuzz-registration-access-token";
/// A valid S256 PKCE challenge (RFC 7636 appendix B).
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEYtLk4Ew";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../attesto-runtime/tests/fixtures/keys/", $name))
    };
}

/// The fixed keys: loaded from the test fixtures, so that signed inputs kept in the corpus stay
/// valid across runs.
pub struct Keys {
    /// The providers' signing key (Ed25519): signs access tokens in the `jwt` and `guard` targets.
    pub signing: Key,
    /// A P-256 key (ES256), for DPoP proofs.
    pub p256: Key,
    /// An Ed25519 key (EdDSA), for DPoP proofs; the same key as `signing`.
    pub ed25519: Key,
}

/// The fixed keys.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let ed25519 = Key::from_pem(fixture!("ed25519.pkcs8.pem")).expect("the Ed25519 fixture loads");
        Keys {
            signing: ed25519.clone(),
            p256: Key::from_pem(fixture!("p256.pkcs8.pem")).expect("the P-256 fixture loads"),
            ed25519,
        }
    })
}

/// The runtime every HTTP target runs on. Current-thread: one input at a time, and the document
/// server's tasks run while a request is driven.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime"))
}

/// Seconds since the Unix epoch, for the HTTP targets, which run on the real clock.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// the main host

/// A host with clients of every kind the authorization endpoint treats differently, a session
/// cookie, a consent policy that grants, denies or asks, and registration.
#[derive(Clone)]
#[attesto::provider(registration)]
pub struct FuzzHost {
    clients: Arc<HashMap<String, Client>>,
    registration: Arc<ClientRegistration>,
}

/// The redirect URI of the confidential web clients.
pub const WEB_REDIRECT: &str = "https://client.example.com/cb";

fn scopes(text: &str) -> Scopes {
    Scopes::parse(text).expect("valid scopes")
}

fn fuzz_clients() -> HashMap<String, Client> {
    let user = scopes("openid profile email offline_access read write");
    let code_and_refresh = [GrantType::AuthorizationCode, GrantType::RefreshToken];
    let clients = [
        Client::confidential("web", SecretHash::of("secret"))
            .with_name("Web App")
            .with_scopes(user.clone())
            .with_redirect_uris([WEB_REDIRECT, "https://client.example.com/other?x=1"])
            .with_grant_types(code_and_refresh),
        Client::confidential("first-party", SecretHash::of("secret"))
            .with_scopes(user.clone())
            .with_redirect_uris([WEB_REDIRECT])
            .with_grant_types(code_and_refresh),
        Client::confidential("blocked", SecretHash::of("secret"))
            .with_scopes(user.clone())
            .with_redirect_uris([WEB_REDIRECT])
            .with_grant_types([GrantType::AuthorizationCode]),
        Client::confidential("hostile-name", SecretHash::of("secret"))
            .with_name("<script>alert(1)</script> & 'Co' \"x\"")
            .with_scopes(user.clone())
            .with_redirect_uris([WEB_REDIRECT])
            .with_grant_types([GrantType::AuthorizationCode]),
        // Public, with loopback redirect URIs: the any-port rule of RFC 8252 §7.3.
        Client::public("native").with_name("Native App").with_scopes(user.clone()).with_redirect_uris([
            "http://127.0.0.1/callback",
            "http://[::1]:3000/callback",
            "com.example.app:/cb",
        ]),
        // Confidential with a loopback URI: no any-port exception.
        Client::confidential("loopback-confidential", SecretHash::of("secret"))
            .with_scopes(user.clone())
            .with_redirect_uris(["http://127.0.0.1/callback"])
            .with_grant_types([GrantType::AuthorizationCode]),
        Client::public("spa").with_scopes(user).with_redirect_uris(["https://spa.example.com/cb"]),
        // No code grant: `unauthorized_client`.
        Client::confidential("service", SecretHash::of("secret"))
            .with_scopes(scopes("read write"))
            .with_redirect_uris([WEB_REDIRECT])
            .with_grant_types([GrantType::ClientCredentials]),
    ];
    clients.into_iter().map(|client| (client.client_id.to_string(), client)).collect()
}

impl FuzzHost {
    fn new() -> Self {
        let client = Client::public(REGISTERED_ID)
            .with_name("Registered")
            .with_scopes(scopes("openid read"))
            .with_redirect_uris(["http://127.0.0.1:7777/cb", "https://registered.example/cb"]);
        let registration = ClientRegistration::new(
            client,
            serde_json::Map::new(),
            SecretHash::of(REGISTRATION_TOKEN),
            SystemTime::now(),
        );
        Self { clients: Arc::new(fuzz_clients()), registration: Arc::new(registration) }
    }

    /// Every redirect URI a client of this host registered, the fixed registration's included.
    pub fn registered_redirect_uris(&self) -> impl Iterator<Item = &str> {
        self.clients
            .values()
            .chain([&self.registration.client])
            .flat_map(|client| client.redirect_uris.iter().map(String::as_str))
    }
}

impl ClientStore for FuzzHost {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

/// The subject in a request's [`SESSION_COOKIE`], if any.
fn session(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, subject)| subject)
}

/// A session cookie signs its subject in (`nobody` cannot be asked: `LoginRequired`); without
/// one, or with `prompt=login`, the browser goes to [`LOGIN_PAGE`].
impl PrincipalStore for FuzzHost {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(match session(request.headers) {
            Some("nobody") => LoginOutcome::LoginRequired,
            Some(subject) if !request.force_login && !subject.is_empty() => {
                LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, SystemTime::now()))
            }
            _ => {
                let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
                LoginOutcome::Redirect(format!("{LOGIN_PAGE}?return_to={return_to}"))
            }
        })
    }
}

/// `first-party` and `native` are granted, `blocked` is denied, every other client is asked.
impl ConsentPolicy for FuzzHost {
    async fn consent(
        &self,
        request: &ConsentRequest<'_>,
        _: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        Ok(match request.client.client_id.as_str() {
            "first-party" | "native" if !request.force_prompt => ConsentDecision::Granted,
            "blocked" => ConsentDecision::Denied,
            _ => ConsentDecision::Ask,
        })
    }
}

/// Registration is open; new clients are accepted and forgotten, so that the fuzzer cannot fill
/// memory; the one stored client is [`REGISTERED_ID`], which updates leave as it is.
impl RegistrationStore for FuzzHost {
    async fn create_client(&self, _: &ClientRegistration) -> Result<(), HostError> {
        Ok(())
    }
    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        Ok((client_id.as_str() == REGISTERED_ID).then(|| (*self.registration).clone()))
    }
    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        Ok(registration.client.client_id.as_str() == REGISTERED_ID)
    }
    async fn delete_client(&self, _: &ClientId) -> Result<bool, HostError> {
        Ok(false)
    }
}

/// The provider of [`FuzzHost`] and the router around it: attesto's endpoints, and [`RESOURCE`]'s
/// route `/mcp` behind the provider's guard.
pub struct Server {
    /// The provider.
    pub auth: Attesto<FuzzHost>,
    /// Its router, with `/mcp`.
    pub router: Router,
}

async fn protected(who: Authenticated) -> String {
    who.subject
}

/// The one [`Server`] of this process.
pub fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let _entered = runtime().enter();
        let auth = Attesto::builder(FuzzHost::new())
            .issuer(ISSUER)
            .expect("valid issuer")
            .signing_key(keys().signing.clone())
            .protected_resource(RESOURCE, ["read", "write"])
            .expect("valid resource")
            .resource("https://api.example.com")
            .expect("valid resource")
            .scopes_supported(["openid", "profile", "email", "offline_access", "read", "write"])
            .build()
            .expect("the provider builds");
        let guard = auth.guard(RESOURCE).expect("valid resource");
        let resource = Router::new().route("/mcp", get(protected).post(protected)).with_state(guard);
        let router = Router::new().merge(resource).merge(auth.router());
        Server { auth, router }
    })
}

// ---------------------------------------------------------------------------------------------
// client ID metadata documents

/// A host that knows no client of its own: every client is a client ID metadata document.
#[derive(Clone, Default)]
#[attesto::provider]
pub struct DocumentsHost;

impl ClientStore for DocumentsHost {
    async fn load_client(&self, _: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

/// Everyone is signed in, so that a good document's client reaches consent.
impl PrincipalStore for DocumentsHost {
    async fn authenticate(&self, _: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::Authenticated(AuthenticatedPrincipal::new("alice", SystemTime::now())))
    }
}

/// Consent is granted: a code is issued, which expires within a minute, rather than a pending
/// request kept for ten.
impl ConsentPolicy for DocumentsHost {
    async fn consent(&self, _: &ConsentRequest<'_>, _: &AuthenticatedPrincipal) -> Result<ConsentDecision, HostError> {
        Ok(ConsentDecision::Granted)
    }
}

/// What the document server answers next, to any path.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// The `Cache-Control` header, if any.
    pub cache_control: Option<HeaderValue>,
    /// The body, served as `application/json`.
    pub body: Bytes,
}

/// The provider of [`DocumentsHost`], with client ID metadata documents fetched from a server on
/// 127.0.0.1 (the development switch allows it), and that server's next answer.
pub struct DocumentsServer {
    /// The provider's router.
    pub router: Router,
    /// `http://127.0.0.1:<port>`, the origin of every document URL.
    pub origin: String,
    document: Arc<Mutex<Document>>,
}

impl DocumentsServer {
    /// Sets what the document server answers next.
    pub fn serve(&self, document: Document) {
        *self.document.lock().unwrap_or_else(PoisonError::into_inner) = document;
    }
}

/// The one [`DocumentsServer`] of this process.
pub fn documents_server() -> &'static DocumentsServer {
    static SERVER: OnceLock<DocumentsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let rt = runtime();
        let _entered = rt.enter();
        let document = Arc::new(Mutex::new(Document::default()));
        let served = Arc::clone(&document);
        // axum over TCP, so that the fetcher's connections are kept alive: a new connection per
        // input would run out of local ports within minutes.
        let app = Router::new().fallback(move || {
            let document = served.lock().unwrap_or_else(PoisonError::into_inner).clone();
            async move {
                let mut response = http::Response::new(Body::from(document.body));
                let headers = response.headers_mut();
                headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                if let Some(cache_control) = document.cache_control {
                    headers.insert(http::header::CACHE_CONTROL, cache_control);
                }
                response
            }
        });
        let listener =
            rt.block_on(tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))).expect("a local port");
        let addr = listener.local_addr().expect("a local address");
        rt.spawn(async move { axum::serve(listener, app).await });
        let documents = ClientMetadataDocuments::new().allow_loopback_for_development(true);
        let auth = Attesto::builder(DocumentsHost)
            .issuer(ISSUER)
            .expect("valid issuer")
            .signing_key(keys().signing.clone())
            .scopes_supported(["openid", "profile", "read", "write"])
            .client_metadata_documents(documents)
            .build()
            .expect("the provider builds");
        DocumentsServer { router: auth.router(), origin: format!("http://{addr}"), document }
    })
}

// ---------------------------------------------------------------------------------------------
// requests and responses

/// A response: status, headers, body.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Reply {
    /// The `Location` header, if it is text.
    pub fn location(&self) -> Option<&str> {
        self.headers.get(http::header::LOCATION).and_then(|v| v.to_str().ok())
    }
}

/// Sends `request` through `router` and reads the whole answer. Panics on a 5xx, the finding
/// every HTTP target looks for.
pub fn send(router: &Router, request: Request<Body>) -> Reply {
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let reply = runtime().block_on(async {
        let response = router.clone().oneshot(request).await.expect("the router is infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("the body is readable").to_bytes();
        Reply { status: parts.status, headers: parts.headers, body }
    });
    assert!(
        !reply.status.is_server_error(),
        "{method} {uri} answered {}: {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    reply
}

/// `path?query`, as a request URI: the query as the fuzzer wrote it when it is a valid URI
/// query, else with every byte outside RFC 3986's unreserved and sub-delimiter characters, `:`,
/// `@`, `/`, `?` percent-encoded (`%` is kept, so that malformed encodings still get through), so
/// that any input reaches the parser.
pub fn uri_with_query(path: &str, query: &[u8]) -> Uri {
    let raw = std::str::from_utf8(query).ok().and_then(|query| Uri::try_from(format!("{path}?{query}")).ok());
    raw.unwrap_or_else(|| {
        let mut uri = format!("{path}?");
        for &byte in query {
            if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte) {
                uri.push(char::from(byte));
            } else {
                uri.push_str(&format!("%{byte:02X}"));
            }
        }
        Uri::try_from(uri).expect("an encoded query is a valid URI")
    })
}

/// `data` split at its first `N - 1` newlines; missing parts are empty.
pub fn fields<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut fields = [&data[..0]; N];
    let mut rest = data;
    for field in fields.iter_mut().take(N - 1) {
        match rest.iter().position(|b| *b == b'\n') {
            Some(i) => {
                *field = &rest[..i];
                rest = &rest[i + 1..];
            }
            None => {
                *field = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    fields[N - 1] = rest;
    fields
}

/// `data` with every occurrence of each placeholder replaced: the fuzzer writes `@NAME@` where
/// an input needs a value it cannot know (a key, a URL, the time).
pub fn substitute(data: &[u8], replacements: &[(&str, &str)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for (placeholder, value) in replacements {
        let placeholder = placeholder.as_bytes();
        if placeholder.is_empty() || !out.windows(placeholder.len()).any(|w| w == placeholder) {
            continue;
        }
        let mut replaced = Vec::with_capacity(out.len() + value.len());
        let mut i = 0;
        while i < out.len() {
            if out[i..].starts_with(placeholder) {
                replaced.extend_from_slice(value.as_bytes());
                i += placeholder.len();
            } else {
                replaced.push(out[i]);
                i += 1;
            }
        }
        out = replaced;
    }
    out
}

/// A compact JWS of `header` and `payload` (any bytes, base64url-encoded as they are) signed with
/// `key`: lets the fuzzer reach the checks that come after the signature.
pub fn sign_jws(key: &Key, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let signature = key.sign(input.as_bytes()).expect("a fixture key signs");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The public JWK of `key` as JSON text, without `kid` and `use` (a DPoP proof's `jwk`).
pub fn proof_jwk(key: &Key) -> String {
    let mut jwk = key.public_jwk();
    jwk.remove("kid");
    jwk.remove("use");
    serde_json::Value::Object(jwk).to_string()
}

/// The RFC 7638 thumbprint of `key`, as a DPoP-bound token's `cnf.jkt`.
pub fn jkt(key: &Key) -> String {
    // The kid of an attesto key is its RFC 7638 thumbprint.
    key.kid().to_owned()
}

/// The absolute destinations an HTML page offers the browser: the `href` of its links and the
/// `action` of its forms, with HTML escapes undone; relative ones (attesto's own endpoints) are
/// left out. An error page that does not redirect by itself (a redirect URI the provider does not
/// vouch for) offers the redirect URI this way.
pub fn page_destinations(body: &[u8]) -> Vec<String> {
    let page = String::from_utf8_lossy(body);
    let mut destinations = Vec::new();
    for attribute in ["href=\"", "action=\""] {
        for (start, _) in page.match_indices(attribute) {
            let value = &page[start + attribute.len()..];
            let value = &value[..value.find('"').unwrap_or(value.len())];
            let value = value
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&#x27;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            if !value.starts_with('/') && !value.starts_with('#') && !value.is_empty() {
                destinations.push(value);
            }
        }
    }
    destinations
}

/// Whether `destination` is `registered`, compared as URLs (scheme, host, port and path; the
/// query is the response's), with any port on a loopback IP literal (RFC 8252 §7.3).
pub fn same_redirect_uri(destination: &str, registered: &str) -> bool {
    let (Ok(destination), Ok(registered)) = (url::Url::parse(destination), url::Url::parse(registered)) else {
        return false;
    };
    let loopback = matches!(registered.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(registered.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback());
    destination.scheme() == registered.scheme()
        && destination.host() == registered.host()
        && (loopback || destination.port_or_known_default() == registered.port_or_known_default())
        && destination.path() == registered.path()
}
