//! A provider set up as `examples/quickstart.rs` sets up its own, served on a loopback port: what
//! `tests/it/browser.rs` drives a real browser through and `tests/it/abuse.rs` throws garbage at.
//!
//! The quickstart keeps its host type private to its binary, so the setup is repeated here with
//! the public API: the same two demo clients (a confidential web app and a public native app with
//! a loopback redirect URI, any port), the same scopes and resource, open dynamic registration in
//! `MemoryRegistrations`, the device authorization grant (RFC 8628) for both clients, the memory
//! store, attesto's consent page (no `ConsentPolicy`: every
//! request is asked), the demo token exchange policy (the host's own clients may exchange
//! tokens; registered ones may not) and, with trusted identity issuers (`--trusted-issuer`), the
//! demo mapping of identity assertions (the demo user's `email` is the demo user). The login page is the examples' own, `examples/mcp_server/login.rs`, included as it is: the
//! same form (`username`, `password`, `return_to`), session cookie, origin check and CSP without
//! `form-action` as the quickstart's.

// The example's own file, included as it is: its items are `pub` for the example's modules, and
// `mcp`'s copy of the example app includes it too, privately (so it is compiled twice here).
#[allow(unreachable_pub, clippy::duplicate_mod)]
#[path = "../../../examples/mcp_server/login.rs"]
mod login;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use attesto::{
    Attesto, ClaimsQuery, Client, ClientId, ClientRegistration, ClientStore, ExchangeDecision, ExchangeRequest,
    GrantType, HostError, Key, LoginOutcome, LoginRequest, MemoryRegistrations, PrincipalStore, RegistrationStore,
    Scopes, SecretHash, TokenExchangePolicy,
};
#[cfg(feature = "fetch")]
use attesto::{IdentityAssertion, IdentityAssertionPolicy};

/// Where the login page lives.
pub(crate) const LOGIN_PATH: &str = login::LOGIN_PATH;

/// The demo user and password.
pub(crate) const USER: &str = "demo";
pub(crate) const PASSWORD: &str = "correct horse battery staple";
/// The confidential web app (client_secret_basic).
pub(crate) const CONFIDENTIAL_ID: &str = "demo-client";
pub(crate) const CONFIDENTIAL_SECRET: &str = "demo client secret";
pub(crate) const CONFIDENTIAL_REDIRECT: &str = "http://127.0.0.1:9000/callback";
/// The public native app: PKCE only; its loopback redirect URI takes any port (RFC 8252 §7.3).
pub(crate) const PUBLIC_ID: &str = "demo-native";
pub(crate) const PUBLIC_NAME: &str = "attesto demo native app";
pub(crate) const PUBLIC_REDIRECT_PATH: &str = "/callback";
/// The quickstart's default scopes: OpenID Connect's and two API scopes.
pub(crate) const SCOPES: &str = "openid profile email offline_access read write";

/// The host.
#[derive(Clone)]
#[attesto::provider(registration, device_authorization)]
pub(crate) struct Demo {
    clients: Arc<HashMap<String, Client>>,
    registrations: MemoryRegistrations,
    login: login::Login,
}

impl ClientStore for Demo {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

impl PrincipalStore for Demo {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(self.login.authenticate(request))
    }

    async fn build_userinfo_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".to_owned(), query.subject.into());
        if query.scopes.contains("email") {
            claims.insert("email".to_owned(), format!("{}@example.com", query.subject).into());
        }
        Ok(claims)
    }
}

/// Registered clients in attesto's bounded memory table, as the quickstart keeps them without
/// `--database`.
impl RegistrationStore for Demo {
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

    async fn registration_used(&self, client_id: &ClientId) -> Result<(), HostError> {
        self.registrations.registration_used(client_id).await
    }
}

/// The quickstart's demo token exchange policy: the host's own clients may exchange tokens.
impl TokenExchangePolicy for Demo {
    async fn exchange(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, HostError> {
        if self.clients.contains_key(request.client.client_id.as_str()) {
            return Ok(ExchangeDecision::Grant(request.scopes.clone()));
        }
        Ok(ExchangeDecision::Refuse("only the demo's own clients may exchange tokens".into()))
    }
}

/// The quickstart's demo mapping of identity assertions: an assertion whose `email` is the demo
/// user's stands for the demo user.
#[cfg(feature = "fetch")]
impl IdentityAssertionPolicy for Demo {
    async fn map_subject(&self, assertion: &IdentityAssertion<'_>) -> Result<Option<String>, HostError> {
        let email = assertion.claims.get("email").and_then(serde_json::Value::as_str);
        Ok((email == Some(EMAIL)).then(|| USER.to_owned()))
    }
}

/// The demo user's email.
#[cfg(feature = "fetch")]
pub(crate) const EMAIL: &str = "demo@example.com";

/// The quickstart's two clients; the confidential one may use every grant served (the identity
/// assertion grant with a trusted issuer).
fn clients(trusting: bool) -> HashMap<String, Client> {
    let scopes = Scopes::parse(SCOPES).expect("valid scopes");
    let confidential = Client::confidential(CONFIDENTIAL_ID, SecretHash::of(CONFIDENTIAL_SECRET))
        .with_name("attesto demo client")
        .with_redirect_uris([CONFIDENTIAL_REDIRECT])
        .with_grant_types(
            [
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
                GrantType::DeviceCode,
                GrantType::TokenExchange,
            ]
            .into_iter()
            .chain(trusting.then_some(GrantType::JwtBearer)),
        )
        .with_scopes(scopes.clone());
    let public = Client::public(PUBLIC_ID)
        .with_name(PUBLIC_NAME)
        .with_redirect_uris([format!("http://127.0.0.1{PUBLIC_REDIRECT_PATH}")])
        .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::DeviceCode])
        .with_scopes(scopes);
    [confidential, public].into_iter().map(|client| (client.client_id.to_string(), client)).collect()
}

/// The app of the provider of `origin` (`http://127.0.0.1:PORT`): attesto's routes and the login
/// page, with `body_deadline` for request bodies (the router's default without it).
pub(crate) fn app(origin: &str, body_deadline: Option<Duration>) -> axum::Router {
    app_trusting(origin, body_deadline, &[])
}

/// [`app`], trusting the identity assertions of `trusted_issuers` as `--trusted-issuer` does
/// (feature `fetch`; loopback `http` accepted).
pub(crate) fn app_trusting(origin: &str, body_deadline: Option<Duration>, trusted_issuers: &[&str]) -> axum::Router {
    let login = login::Login::new(origin, Demo::PATHS.authorize, USER, PASSWORD);
    let clients = clients(!trusted_issuers.is_empty());
    let host = Demo { clients: Arc::new(clients), registrations: MemoryRegistrations::new(), login: login.clone() };
    #[cfg_attr(not(feature = "fetch"), allow(unused_mut))]
    let mut builder = Attesto::builder(host);
    #[cfg(feature = "fetch")]
    for issuer in trusted_issuers {
        builder =
            builder.trusted_identity_issuer(attesto::TrustedIssuer::new(issuer).allow_loopback_for_development(true));
    }
    #[cfg(not(feature = "fetch"))]
    assert!(trusted_issuers.is_empty(), "trusting identity issuers needs feature `fetch`");
    let auth = builder
        .issuer(origin)
        .expect("a loopback issuer")
        .signing_key(Key::generate(attesto::Algorithm::ES256).expect("a key"))
        .scopes_supported(SCOPES.split(' '))
        .resource(&format!("{origin}/mcp"))
        .expect("a loopback resource")
        .build()
        .expect("the provider builds");
    let router = match body_deadline {
        Some(deadline) => auth.router_with_body_deadline(deadline),
        None => auth.router(),
    };
    axum::Router::new().merge(router).merge(login.router())
}

/// The provider serving on a loopback port (with `axum::serve`, as the quickstart does) until
/// dropped.
pub(crate) struct Served {
    /// `http://127.0.0.1:PORT`, the issuer.
    pub(crate) base: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Served {
    /// The URL of `path` on the provider.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Serves the provider on a fresh loopback port.
pub(crate) async fn serve(body_deadline: Option<Duration>) -> Served {
    serve_trusting(body_deadline, &[]).await
}

/// Serves the provider on a fresh loopback port, trusting `trusted_issuers` (see [`app_trusting`]).
pub(crate) async fn serve_trusting(body_deadline: Option<Duration>, trusted_issuers: &[&str]) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let app = app_trusting(&base, body_deadline, trusted_issuers);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("server runs");
    });
    Served { base, task }
}
