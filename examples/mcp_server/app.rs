//! The app of `examples/mcp_server.rs`: an MCP server (the official Rust SDK, `rmcp`, over
//! streamable HTTP) at `/mcp`, protected by attesto's guard, with attesto as its authorization
//! server in the same process. `tests/it/mcp.rs` includes this file with `#[path]` and serves the
//! very same app on a loopback port; `guides/mcp.md` quotes it.
//!
//! What an MCP client finds here, in the order it looks (MCP authorization, 2025-06-18 and later):
//!
//! 1. `POST /mcp` without a token: `401` with `WWW-Authenticate: Bearer scope="mcp:tools",
//!    resource_metadata="…"` (RFC 6750 §3, RFC 9728 §5.1);
//! 2. the protected-resource metadata at `/.well-known/oauth-protected-resource/mcp` (RFC 9728),
//!    naming this server as the authorization server;
//! 3. the authorization-server metadata at `/.well-known/oauth-authorization-server` (RFC 8414);
//! 4. open dynamic client registration at `/mcp/oauth/register` (RFC 7591);
//! 5. the authorization code flow with PKCE S256 and `resource` = the MCP URL (RFC 8707), whose
//!    access token has that URL as its audience, and which `/mcp` alone accepts;
//! 6. a call of the tool `admin-action` with a token without `mcp:admin`: `403` with
//!    `WWW-Authenticate: Bearer error="insufficient_scope", scope="mcp:tools mcp:admin",
//!    resource_metadata="…"` (MCP 2025-11-25, runtime insufficient scope), after which the client
//!    authorizes again with both scopes.
#![allow(dead_code, unreachable_pub)]

#[path = "login.rs"]
mod login;

use std::sync::Arc;
use std::time::SystemTime;

use attesto::{
    Attesto, Authenticated, AuthenticatedPrincipal, Client, ClientId, ClientRegistration, ClientStore, ConsentDecision,
    ConsentPolicy, ConsentRequest, HostError, Key, LoginOutcome, LoginRequest, MemoryRegistrations, PrincipalStore,
    RegistrationStore, ToolScopes,
};
use rmcp::handler::server::tool::Extension;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, Json, ServerHandler, tool, tool_handler, tool_router};
use tower::Layer as _;

/// The scope every request to `/mcp` needs: what the authorization server advertises and what
/// the protected-resource metadata lists, so an MCP client asks for it.
pub const MCP_SCOPE: &str = "mcp:tools";

/// The scope the tool `admin-action` needs besides [`MCP_SCOPE`]: a client asks for it when the
/// tool's `403` names it (step-up), not before.
pub const ADMIN_SCOPE: &str = "mcp:admin";

/// Who signs in at the authorization endpoint.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// Development only: every authorization request is signed in as this user and approved,
    /// with no page shown, so that automated MCP clients complete the flow without a browser.
    AutoApprove(String),
    /// The example's login page, for one demo user, then attesto's consent page.
    Login {
        /// The demo user's name.
        user: String,
        /// The demo user's password.
        password: String,
    },
}

/// What the app is built from.
#[derive(Debug)]
pub struct Options {
    /// Where the app is reached, `http://127.0.0.1:PORT`: the issuer, and the origin of the MCP
    /// server at `{origin}/mcp`.
    pub origin: String,
    /// How users sign in.
    pub sign_in: SignIn,
    /// The key that signs the access tokens.
    pub key: Key,
}

/// The URLs the app serves, for the start-up text and the tests.
#[derive(Debug, Clone)]
pub struct Info {
    /// The issuer (RFC 8414 §2).
    pub issuer: String,
    /// The MCP endpoint: the protected resource, and the `aud` of the tokens issued for it.
    pub mcp_url: String,
    /// Its protected-resource metadata (RFC 9728 §3.1).
    pub resource_metadata_url: String,
    /// The authorization-server metadata (RFC 8414 §3).
    pub authorization_server_metadata_url: String,
    /// Dynamic client registration (RFC 7591).
    pub registration_url: String,
    /// The login page, when users sign in there.
    pub login_url: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The authorization server
// ---------------------------------------------------------------------------------------------

/// The authorization server's host: registered clients in memory, and the sign-in.
#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", registration, resource = "/mcp")]
pub struct Auth {
    /// Clients registered through RFC 7591 (MCP clients register themselves on first contact),
    /// in memory, bounded, unused ones forgotten after a day: lost on restart.
    registrations: MemoryRegistrations,
    sign_in: Arc<HostSignIn>,
}

/// How [`Auth`] answers "who is signed in?".
enum HostSignIn {
    AutoApprove(String),
    Login(login::Login),
}

/// No pre-registered clients: every client registers itself (the registered ones are found
/// through [`RegistrationStore`]).
impl ClientStore for Auth {
    async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

/// Open registration (the default `authorize_registration`, and no `client_credentials`: the
/// default `allow_client_credentials`), kept in memory.
impl RegistrationStore for Auth {
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

impl PrincipalStore for Auth {
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        match &*self.sign_in {
            // Signed in just now, so `prompt=login` and any `max_age` are satisfied.
            HostSignIn::AutoApprove(user) => {
                Ok(LoginOutcome::Authenticated(AuthenticatedPrincipal::new(user.clone(), SystemTime::now())))
            }
            HostSignIn::Login(login) => Ok(login.authenticate(request)),
        }
    }
}

impl ConsentPolicy for Auth {
    async fn consent(
        &self,
        _request: &ConsentRequest<'_>,
        _principal: &AuthenticatedPrincipal,
    ) -> Result<ConsentDecision, HostError> {
        Ok(match &*self.sign_in {
            HostSignIn::AutoApprove(_) => ConsentDecision::Granted,
            // attesto's consent page: the user sees which client asks for what.
            HostSignIn::Login(_) => ConsentDecision::Ask,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The MCP server
// ---------------------------------------------------------------------------------------------

/// The MCP server: three tools.
#[derive(Debug, Clone, Default)]
pub struct Tools;

/// The arguments of `add`.
#[derive(Debug, rmcp::serde::Deserialize, rmcp::schemars::JsonSchema)]
#[serde(crate = "rmcp::serde")]
#[schemars(crate = "rmcp::schemars")]
pub struct AddRequest {
    /// The first number.
    pub a: i64,
    /// The second number.
    pub b: i64,
}

/// What `whoami` answers: the caller as the guard authenticated it.
#[derive(Debug, rmcp::serde::Serialize, rmcp::schemars::JsonSchema)]
#[serde(crate = "rmcp::serde")]
#[schemars(crate = "rmcp::schemars")]
pub struct Caller {
    /// The signed-in user (the token's `sub`).
    pub subject: String,
    /// The MCP client the user authorized (the token's `client_id`).
    pub client_id: String,
    /// The scopes the token carries.
    pub scopes: Vec<String>,
}

#[tool_router]
impl Tools {
    #[tool(description = "Adds two integers.")]
    fn add(&self, Parameters(AddRequest { a, b }): Parameters<AddRequest>) -> Result<String, ErrorData> {
        a.checked_add(b)
            .map(|sum| sum.to_string())
            .ok_or_else(|| ErrorData::invalid_params("the sum does not fit in a 64-bit integer", None))
    }

    #[tool(description = "Tells who is calling: the signed-in user, the MCP client, and the scopes granted.")]
    fn whoami(&self, Extension(parts): Extension<http::request::Parts>) -> Result<Json<Caller>, ErrorData> {
        // The guard put the caller into the HTTP request; rmcp hands the request's parts to the tool.
        let who = parts
            .extensions
            .get::<Authenticated>()
            .ok_or_else(|| ErrorData::internal_error("the request did not pass the guard", None))?;
        Ok(Json(Caller {
            subject: who.subject.clone(),
            client_id: who.client_id.to_string(),
            scopes: who.scopes.iter().map(ToString::to_string).collect(),
        }))
    }

    #[tool(name = "admin-action", description = "An administrative action: needs the scope `mcp:admin`.")]
    fn admin_action(&self, Extension(parts): Extension<http::request::Parts>) -> Result<String, ErrorData> {
        let who = parts
            .extensions
            .get::<Authenticated>()
            .ok_or_else(|| ErrorData::internal_error("the request did not pass the guard", None))?;
        // `ToolScopes` answered a caller without the scope with a 403 already; the tool keeps the
        // rule where the action is, whatever is mounted in front of it.
        who.require_scopes([ADMIN_SCOPE]).map_err(|missing| ErrorData::invalid_request(missing.to_string(), None))?;
        Ok(format!("administrative action done for {}", who.subject))
    }
}

#[tool_handler(
    name = "attesto-mcp-example",
    version = "0.1.0",
    instructions = "An MCP server protected by attesto: `add` adds two integers, `whoami` names the caller, \
                    `admin-action` needs `mcp:admin`."
)]
impl ServerHandler for Tools {}

// ---------------------------------------------------------------------------------------------
// The app
// ---------------------------------------------------------------------------------------------

/// The router (the authorization server, the MCP server behind its guard, the login page) and
/// its URLs.
pub fn app(options: Options) -> Result<(axum::Router, Info), Box<dyn std::error::Error + Send + Sync>> {
    let Options { origin, sign_in, key } = options;
    let (sign_in, login_routes) = match sign_in {
        SignIn::AutoApprove(user) => (HostSignIn::AutoApprove(user), None),
        SignIn::Login { user, password } => {
            let login = login::Login::new(&origin, Auth::PATHS.authorize, &user, &password);
            let routes = login.router();
            (HostSignIn::Login(login), Some(routes))
        }
    };
    let host = Auth { registrations: MemoryRegistrations::new(), sign_in: Arc::new(sign_in) };

    // The issuer is this origin; the declaration's `resource = "/mcp"` makes `{origin}/mcp` the
    // protected resource: a valid RFC 8707 `resource`, with its RFC 9728 document served.
    let builder = Attesto::builder(host).issuer(&origin)?.scopes_supported([MCP_SCOPE, ADMIN_SCOPE]).signing_key(key);
    // Built with `--features fetch`: `https` URLs are accepted as client ids too (client ID
    // metadata documents, which MCP 2025-11-25 clients prefer to registering).
    #[cfg(feature = "fetch")]
    let builder = builder.client_metadata_documents(attesto::ClientMetadataDocuments::new());
    let auth = builder.build()?;
    // The tools act for the signed-in user: a client's own token is refused.
    let guard = auth.resource_guard()?.require_scopes([MCP_SCOPE]).require_user();

    // Stateless streamable HTTP: each request is served on its own and no MCP session outlives
    // it, so nothing but the access token of *that* request says who is calling (MCP security
    // best practices: sessions are never authentication). `allowed_hosts` keeps its loopback
    // default, rmcp's guard against DNS rebinding.
    let config = StreamableHttpServerConfig::default().with_legacy_session_mode(false).with_json_response(true);
    let mcp = StreamableHttpService::new(|| Ok(Tools), Arc::new(NeverSessionManager::default()), config);
    // Every tool needs `mcp:tools` (the guard); `admin-action` needs `mcp:admin` as well, which
    // `ToolScopes` reads in the JSON-RPC request and answers with the guard's 403 when it is
    // missing: rmcp would answer a tool's error inside an HTTP 200.
    let tools = ToolScopes::new().tool("admin-action", [ADMIN_SCOPE]);
    let protected = auth.protect(guard.clone(), tools.layer(mcp))?;

    let issuer = auth.issuer();
    let info = Info {
        issuer: issuer.to_string(),
        mcp_url: auth.resource_url().unwrap_or_default().to_owned(),
        resource_metadata_url: guard.resource_metadata_url().to_owned(),
        authorization_server_metadata_url: issuer.url_of("/.well-known/oauth-authorization-server"),
        registration_url: Auth::PATHS.registration.map(|path| issuer.url_of(path)).unwrap_or_default(),
        login_url: login_routes.is_some().then(|| issuer.url_of(login::LOGIN_PATH)),
    };
    let mut router = axum::Router::new().merge(auth.router()).merge(protected);
    if let Some(login_routes) = login_routes {
        router = router.merge(login_routes);
    }
    Ok((router, info))
}
