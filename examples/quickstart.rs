//! The quickstart: a provider with embedded defaults — in-memory state, a generated ES256 key,
//! a demo confidential client, a demo public (native) client, one demo user and a login page.
//!
//! ```text
//! cargo run --example quickstart [-- --port 8080 --issuer http://127.0.0.1:8080 --key signing-key.pem]
//! cargo run --example quickstart --features sqlite -- --database sqlite://attesto.db --key signing-key.pem
//! cargo run --example quickstart --features postgres -- --database postgres://user@host/db --key signing-key.pem
//! ```
//!
//! Without `--database`, attesto's state (codes, refresh tokens, revocations, DPoP proofs seen)
//! and the registered clients live in memory and are lost on restart. `--database sqlite://FILE`
//! keeps them in an SQLite file across restarts (feature `sqlite`); `--database postgres://…`
//! keeps them in PostgreSQL, shared by every instance started on it (feature `postgres`). Either
//! way the migrations are applied at start. Instances that share a database should share the
//! signing key too (`--key`), or each refuses the others' tokens.
//!
//! The example is the *host*: it owns the login page (`/login`, a plain HTML form) and the
//! sessions behind it, and tells attesto who is signed in through [`PrincipalStore`]. attesto owns
//! the protocol, including its consent page.
//!
//! The host also serves the signed-in user's "connected apps" page (`/account/apps`): every
//! client the user authorized that still holds tokens ([`Attesto::grants`]), with a button that
//! revokes one ([`Attesto::revoke_grant`]): its refresh tokens and every access token issued
//! under it stop working.
//!
//! The demo values come from the environment when set (`ATTESTO_DEMO_CLIENT_ID`,
//! `ATTESTO_DEMO_CLIENT_SECRET`, `ATTESTO_DEMO_REDIRECT_URIS`, `ATTESTO_DEMO_PUBLIC_CLIENT_ID`,
//! `ATTESTO_DEMO_PUBLIC_REDIRECT_URIS`, `ATTESTO_DEMO_SCOPES`, `ATTESTO_DEMO_RESOURCES`,
//! `ATTESTO_DEMO_USER`, `ATTESTO_DEMO_PASSWORD`, `ATTESTO_DEMO_EMAIL`) and are printed at start-up
//! with an authorization URL for the public client and the `curl` lines that complete the flow.
//!
//! Dynamic client registration (RFC 7591, RFC 7592) is on and open: any client may register itself
//! at `/oauth/register` (the start-up text shows a `curl` line), as MCP clients do. The device
//! authorization grant (RFC 8628) is on for both demo clients and any registered client that asks
//! for it: a CLI asks `/oauth/device_authorization` for a code, the user enters it at
//! `/oauth/device`, and the CLI polls the token endpoint (the start-up text shows the `curl` lines).
//!
//!
//! Token exchange (RFC 8693) is served with a demo policy: the demo confidential client, standing
//! in for an MCP server, may exchange any access token of this provider for a token to the demo
//! resources, naming itself as the actor (`act`). With `--trusted-issuer URL` (repeatable; feature
//! `fetch`), the Identity Assertion JWT Authorization Grant (ID-JAG) of that enterprise identity
//! provider is accepted too (`urn:ietf:params:oauth:grant-type:jwt-bearer`); the demo maps an
//! assertion whose `email` is the demo user's to the demo user and refuses every other. The
//! quickstart is a development tool on loopback, so an `http` issuer on a loopback host is
//! accepted.
//!
//! The demo honours the OpenID Connect `claims` parameter (OIDC Core §5.5): a claim of the demo
//! user's (`name`, `preferred_username`, `email`, `email_verified`) requested for the ID token is
//! put in it, and one requested for userinfo is answered there even without its scope.

#[path = "support/flags.rs"]
mod flags;
#[path = "support/html_escape.rs"]
mod html_escape;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use attesto::{
    Attesto, AuthenticatedPrincipal, Builder, ClaimsQuery, Client, ClientId, ClientRegistration, ClientStore,
    EndSessionRequest, ExchangeDecision, ExchangeRequest, GrantType, HostError, HostSession, IdentityAssertion,
    IdentityAssertionPolicy, Issuer, Key, LoginOutcome, LoginRequest, PrincipalStore, RegistrationStore, Scopes,
    SecretHash, SessionStore, TokenExchangePolicy,
};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use sha2::{Digest, Sha256};

// `self::`, not `crate::`: the tests include this file as a module (`tests/it/grants.rs`).
use self::flags::Flags;
use self::html_escape::escape;

/// Where the demo login page lives (on the issuer's origin).
const LOGIN_PATH: &str = "/login";

/// How long a demo session lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 60 * 60);

/// Where the signed-in user sees the clients they authorized, and where its revoke buttons post.
const APPS_PATH: &str = "/account/apps";
const REVOKE_PATH: &str = "/account/apps/revoke";

/// The scopes a user-facing client asks for: OpenID Connect's (OIDC Core §5.4, §11).
const USER_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The host: what a real app keeps in its database, here in memory; with `--database`, the
/// registered clients live in that database. Dynamic client registration (RFC 7591) is on and
/// open, so that a client (an MCP client, say) can register itself; the device authorization grant
/// (RFC 8628) is on, so that a CLI or a headless agent can sign a user in without a browser of its
/// own.
#[derive(Clone)]
#[attesto::provider(registration, device_authorization, end_session)]
struct Demo {
    clients: Arc<HashMap<String, Client>>,
    /// Dynamically registered clients.
    registrations: Registrations,
    user: Arc<DemoUser>,
    sessions: Arc<Mutex<HashMap<[u8; 32], Session>>>,
    site: Arc<Site>,
}

/// The one demo user. The credentials are kept as SHA-256 digests and compared in constant time,
/// like client secrets; a real host keeps slow password hashes (argon2, bcrypt) instead.
struct DemoUser {
    name: String,
    email: String,
    name_hash: SecretHash,
    password_hash: SecretHash,
    /// The demo second factor: a one-time code printed at start, asked for when a client wants
    /// [`ACR_MFA`].
    code_hash: SecretHash,
}

/// The authentication context classes the demo sign-in satisfies (OIDC Core §2 `acr`): a
/// password, and a password with the demo second factor.
const ACR_PASSWORD: &str = "password";
/// Where the demo native app is sent after logout (OpenID Connect RP-Initiated Logout §3).
const PUBLIC_SIGNED_OUT: &str = "http://127.0.0.1/signed-out";
const ACR_MFA: &str = "mfa";

/// A signed-in browser.
#[derive(Clone)]
struct Session {
    subject: String,
    auth_time: SystemTime,
    /// Whether the sign-in included the second factor ([`ACR_MFA`]).
    mfa: bool,
    /// The session's identifier for relying parties (the ID token's `sid`): random, and not the
    /// cookie, which stays a secret of the browser.
    sid: String,
}

/// What the login page needs to know about where it runs.
struct Site {
    /// `{origin}/login`.
    login_url: String,
    /// `{origin}/account/apps`: the login page sends a browser back there too.
    apps_url: String,
    /// The authorization endpoint URL: the only place the login page sends a browser back to.
    authorize_url: String,
    /// The issuer's origin, which a login form POST must come from.
    origin: String,
    /// The session cookie's name: `__Host-` prefixed on https (RFC 6265bis §4.1.3.2).
    cookie_name: &'static str,
    /// Whether cookies are `Secure`.
    secure: bool,
}

impl ClientStore for Demo {
    async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(self.clients.get(client_id).cloned())
    }
}

/// The demo token exchange policy (RFC 8693): a client of the host's own table (the demo
/// confidential client, standing in for an MCP server) may exchange a token for the demo
/// resources; a dynamically registered client may not. attesto has checked the subject token,
/// the client, the audience (a resource this provider knows) and the scopes (never wider than the
/// subject token's) before asking.
impl TokenExchangePolicy for Demo {
    async fn exchange(&self, request: &ExchangeRequest<'_>) -> Result<ExchangeDecision, HostError> {
        if self.clients.contains_key(request.client.client_id.as_str()) {
            return Ok(ExchangeDecision::Grant(request.scopes.clone()));
        }
        Ok(ExchangeDecision::Refuse("only the demo's own clients may exchange tokens".into()))
    }
}

/// The demo mapping of identity assertions (ID-JAG) to users: an assertion whose `email` is the
/// demo user's stands for the demo user (the draft suggests `email` to match users who exist
/// before their first single sign-on); any other is refused.
impl IdentityAssertionPolicy for Demo {
    async fn map_subject(&self, assertion: &IdentityAssertion<'_>) -> Result<Option<String>, HostError> {
        let email = assertion.claims.get("email").and_then(serde_json::Value::as_str);
        Ok((email == Some(self.user.email.as_str())).then(|| self.user.name.clone()))
    }
}

/// Where the registered clients live: in memory (lost on restart), or in the `--database`.
#[derive(Clone)]
enum Registrations {
    /// In memory, bounded, unused registrations forgotten after a day.
    Memory(attesto::MemoryRegistrations),
    #[cfg(feature = "sqlite")]
    Sqlite(attesto::SqliteRegistrations),
    #[cfg(feature = "postgres")]
    Postgres(attesto::PostgresRegistrations),
}

/// Registered clients in memory or in the database. `authorize_registration` keeps its default:
/// open registration, no initial access token.
impl RegistrationStore for Demo {
    async fn create_client(&self, registration: &ClientRegistration) -> Result<(), HostError> {
        match &self.registrations {
            Registrations::Memory(memory) => memory.create_client(registration).await,
            #[cfg(feature = "sqlite")]
            Registrations::Sqlite(sqlite) => sqlite.create_client(registration).await,
            #[cfg(feature = "postgres")]
            Registrations::Postgres(postgres) => postgres.create_client(registration).await,
        }
    }

    async fn load_registration(&self, client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        match &self.registrations {
            Registrations::Memory(memory) => memory.load_registration(client_id).await,
            #[cfg(feature = "sqlite")]
            Registrations::Sqlite(sqlite) => sqlite.load_registration(client_id).await,
            #[cfg(feature = "postgres")]
            Registrations::Postgres(postgres) => postgres.load_registration(client_id).await,
        }
    }

    async fn update_client(&self, registration: &ClientRegistration) -> Result<bool, HostError> {
        match &self.registrations {
            Registrations::Memory(memory) => memory.update_client(registration).await,
            #[cfg(feature = "sqlite")]
            Registrations::Sqlite(sqlite) => sqlite.update_client(registration).await,
            #[cfg(feature = "postgres")]
            Registrations::Postgres(postgres) => postgres.update_client(registration).await,
        }
    }

    async fn delete_client(&self, client_id: &ClientId) -> Result<bool, HostError> {
        match &self.registrations {
            Registrations::Memory(memory) => memory.delete_client(client_id).await,
            #[cfg(feature = "sqlite")]
            Registrations::Sqlite(sqlite) => sqlite.delete_client(client_id).await,
            #[cfg(feature = "postgres")]
            Registrations::Postgres(postgres) => postgres.delete_client(client_id).await,
        }
    }

    /// Only the memory store forgets registrations that never obtained a token; the database
    /// ones keep them (their tables have no such column).
    async fn registration_used(&self, client_id: &ClientId) -> Result<(), HostError> {
        match &self.registrations {
            Registrations::Memory(memory) => memory.registration_used(client_id).await,
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            _ => Ok(()),
        }
    }
}

/// attesto's state and the registered clients: in memory, or in the `--database`.
enum Database {
    Memory,
    /// The store, and the URL of the file for the start-up text.
    #[cfg(feature = "sqlite")]
    Sqlite(attesto::SqliteStore, String),
    #[cfg(feature = "postgres")]
    Postgres(attesto::PostgresStore),
}

impl Database {
    /// Opens the database of `--database URL` and applies the migrations; memory without it. A
    /// URL whose feature is not compiled in is an error that says how to run with it.
    async fn open(url: Option<&str>) -> Result<Self, String> {
        let Some(url) = url else { return Ok(Self::Memory) };
        let scheme = url.split_once(':').map(|(scheme, _)| scheme.to_ascii_lowercase()).unwrap_or_default();
        match scheme.as_str() {
            "sqlite" => Self::sqlite(url).await,
            "postgres" | "postgresql" => Self::postgres(url).await,
            _ => Err(format!(
                "--database {url}: give sqlite://FILE (kept across restarts) or postgres://USER@HOST/DB (shared \
                 between instances)"
            )),
        }
    }

    #[cfg(feature = "sqlite")]
    async fn sqlite(url: &str) -> Result<Self, String> {
        let store = attesto::SqliteStore::connect(url).await.map_err(|e| format!("--database {url}: {e}"))?;
        Ok(Self::Sqlite(store, url.to_owned()))
    }

    #[cfg(not(feature = "sqlite"))]
    async fn sqlite(url: &str) -> Result<Self, String> {
        Err(feature_needed("sqlite", url))
    }

    #[cfg(feature = "postgres")]
    async fn postgres(url: &str) -> Result<Self, String> {
        // Not the URL in the message: it may hold a password.
        let store = attesto::PostgresStore::connect(url).await.map_err(|e| format!("--database (PostgreSQL): {e}"))?;
        Ok(Self::Postgres(store))
    }

    #[cfg(not(feature = "postgres"))]
    async fn postgres(url: &str) -> Result<Self, String> {
        Err(feature_needed("postgres", url))
    }

    fn registrations(&self) -> Registrations {
        match self {
            Self::Memory => Registrations::Memory(attesto::MemoryRegistrations::new()),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store, _) => Registrations::Sqlite(store.registrations()),
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => Registrations::Postgres(store.registrations()),
        }
    }

    /// Gives the store to the provider (the memory store is the builder's default).
    fn install(self, builder: Builder<Demo>) -> Builder<Demo> {
        match self {
            Self::Memory => builder,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(store, _) => builder.store(store),
            #[cfg(feature = "postgres")]
            Self::Postgres(store) => builder.store(store),
        }
    }

    /// For the start-up text.
    fn describe(&self) -> String {
        match self {
            Self::Memory => "in memory (lost on restart; see --database)".to_owned(),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_, url) => format!("{url} (SQLite, kept across restarts)"),
            // Not the URL: it may hold a password.
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => "PostgreSQL (shared by the instances that use it)".to_owned(),
        }
    }
}

/// The error for a `--database` whose store is not compiled in: the command that runs with it.
#[cfg(any(not(feature = "sqlite"), not(feature = "postgres")))]
fn feature_needed(feature: &str, url: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).map(|arg| shell_quote(&arg)).collect();
    format!(
        "--database {url} needs the quickstart built with the `{feature}` feature:\n\n  \
         cargo run --example quickstart --features {feature} -- {}\n",
        args.join(" ")
    )
}

/// An argument as a POSIX shell reads it back.
#[cfg(any(not(feature = "sqlite"), not(feature = "postgres")))]
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain { arg.to_owned() } else { format!("'{}'", arg.replace('\'', "'\\''")) }
}

impl Demo {
    /// The demo user's claims that `query` asks for ([`ClaimsQuery::claim_names`]: the scopes'
    /// at userinfo, and the requested ones). The demo releases what is asked: attesto's consent
    /// page, which the user allows, lists the requested claims beside the scopes (a host's own
    /// consent policy reads them in [`attesto::ConsentRequest::claims`]).
    fn demo_claims(&self, query: &ClaimsQuery<'_>) -> serde_json::Map<String, serde_json::Value> {
        let mut claims = serde_json::Map::new();
        if query.subject != self.user.name {
            return claims;
        }
        for name in query.claim_names() {
            let value: serde_json::Value = match name {
                "name" | "preferred_username" => self.user.name.clone().into(),
                "email" => self.user.email.clone().into(),
                "email_verified" => false.into(),
                _ => continue,
            };
            claims.insert(name.to_owned(), value);
        }
        claims
    }
}

impl PrincipalStore for Demo {
    /// The session cookie is a signed-in user; without one (or when the client asks for a fresh
    /// sign-in, or the sign-in is older than `max_age`), the browser goes to the login page,
    /// which sends it back to `resume_uri`.
    async fn authenticate(&self, request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        let session = self.session(request.headers).filter(|session| {
            // In whole seconds, the unit of `max_age` and `auth_time` (OIDC Core §3.1.2.1): a
            // sign-in of a moment ago satisfies `max_age=0`, or the user would be asked forever.
            let age = SystemTime::now().duration_since(session.auth_time).unwrap_or_default();
            !request.force_login && request.max_age.is_none_or(|max_age| age.as_secs() <= max_age.as_secs())
        });
        // OIDC Core §3.1.2.1: `acr_values` in order of preference. A session that reaches none of
        // the classes asked for, when one of them is the second factor, signs in again with it;
        // otherwise the session's own class is said (`acr`), and the client decides.
        let wanted: Vec<&str> = request.acr_values.unwrap_or_default().split_whitespace().collect();
        let step_up = wanted.contains(&ACR_MFA) && !wanted.contains(&ACR_PASSWORD);
        let session = session.filter(|session| session.mfa || !step_up);
        Ok(match session {
            Some(session) => {
                let (acr, amr): (&str, &[&str]) =
                    if session.mfa { (ACR_MFA, &["pwd", "otp", "mfa"]) } else { (ACR_PASSWORD, &["pwd"]) };
                LoginOutcome::Authenticated(
                    AuthenticatedPrincipal::new(session.subject, session.auth_time)
                        .with_acr(acr)
                        .with_amr(amr.iter().copied())
                        .with_session_id(session.sid),
                )
            }
            None => {
                let return_to: String = form_urlencoded::byte_serialize(request.resume_uri.as_bytes()).collect();
                let second_factor = if step_up { "&factor=code" } else { "" };
                LoginOutcome::Redirect(format!("{}?return_to={return_to}{second_factor}", self.site.login_url))
            }
        })
    }

    /// The ID token's claims: those the client requested for it with the `claims` parameter
    /// (OIDC Core §5.5, e.g. `{"id_token":{"email":null}}`) that the demo user has. The claims of
    /// the scopes are at userinfo (§5.4: an access token comes with every ID token).
    async fn build_id_token_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        Ok(self.demo_claims(query))
    }

    /// Userinfo: the claims of the scopes (OIDC Core §5.4) and those requested for userinfo with
    /// the `claims` parameter (§5.5, e.g. `{"userinfo":{"name":null}}` without `profile`) that
    /// the demo user has.
    async fn build_userinfo_claims(
        &self,
        query: &ClaimsQuery<'_>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, HostError> {
        let mut claims = self.demo_claims(query);
        claims.insert("sub".to_owned(), query.subject.into());
        Ok(claims)
    }
}

/// Logout (OpenID Connect RP-Initiated Logout): the demo session is the login page's cookie.
impl SessionStore for Demo {
    async fn current_session(&self, headers: &HeaderMap) -> Result<Option<HostSession>, HostError> {
        Ok(self.session(headers).map(|session| HostSession::new(session.subject).with_session_id(session.sid)))
    }

    async fn end_session(&self, request: &EndSessionRequest<'_>) -> Result<Vec<HeaderValue>, HostError> {
        if let Some(id) = cookie(request.headers, self.site.cookie_name)
            && let Ok(mut sessions) = self.sessions.lock()
        {
            sessions.remove(SecretHash::of(id).as_bytes());
        }
        let secure = if self.site.secure { "; Secure" } else { "" };
        let clear = format!("{}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}", self.site.cookie_name);
        Ok(HeaderValue::from_str(&clear).into_iter().collect())
    }
}

impl Demo {
    /// The session named by the request's session cookie, if it is live.
    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        let id = cookie(headers, self.site.cookie_name)?;
        // Looked up by the digest of the id, so the map never holds a usable session id.
        let key = *SecretHash::of(id).as_bytes();
        let sessions = self.sessions.lock().ok()?;
        let session = sessions.get(&key)?;
        let age = SystemTime::now().duration_since(session.auth_time).unwrap_or_default();
        (age < SESSION_TTL).then(|| session.clone())
    }

    /// Starts a session for `subject`, with the second factor when `mfa`, and returns its id: 256
    /// random bits.
    fn start_session(&self, subject: &str, mfa: bool) -> Option<String> {
        let id = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let now = SystemTime::now();
        let mut sessions = self.sessions.lock().ok()?;
        sessions.retain(|_, s| now.duration_since(s.auth_time).unwrap_or_default() < SESSION_TTL);
        sessions.insert(
            *SecretHash::of(&id).as_bytes(),
            Session { subject: subject.to_owned(), auth_time: now, mfa, sid: random_secret()[..22].to_owned() },
        );
        Some(id)
    }

    /// Whether `return_to` is the authorization endpoint (the resume URI attesto handed out) or
    /// the connected apps page, so the login page is no open redirector.
    fn may_return_to(&self, return_to: &str) -> bool {
        return_to == self.site.apps_url
            || return_to
                .strip_prefix(&self.site.authorize_url)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
    }

    /// The signed-in user's session and its id, if the request has a live one.
    fn signed_in<'h>(&self, headers: &'h HeaderMap) -> Option<(&'h str, Session)> {
        Some((cookie(headers, self.site.cookie_name)?, self.session(headers)?))
    }

    /// A client's display name: the host's table, then the registered clients.
    async fn client_name(&self, client_id: &ClientId) -> Option<String> {
        if let Some(client) = self.clients.get(client_id.as_str()) {
            return client.client_name.clone();
        }
        self.load_registration(client_id).await.ok().flatten().and_then(|registration| registration.client.client_name)
    }
}

/// A cookie's value from the request's `Cookie` headers.
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The parameters of a query string or form body; the last value of a repeated name wins.
fn params(input: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(input).into_owned().collect()
}

/// `GET /login?return_to=…`: the sign-in form.
async fn login_page(State(demo): State<Demo>, RawQuery(query): RawQuery) -> Response {
    let params = params(query.unwrap_or_default().as_bytes());
    let return_to = params.get("return_to").map(String::as_str).unwrap_or_default();
    if !demo.may_return_to(return_to) {
        return bad_return_to();
    }
    let code = params.get("factor").is_some_and(|factor| factor == "code");
    login_form(StatusCode::OK, &LoginForm { return_to, username: "", code }, None)
}

/// `POST /login`: checks the credentials, starts a session, and sends the browser back to the
/// authorization endpoint.
async fn login_submit(State(demo): State<Demo>, headers: HeaderMap, body: Bytes) -> Response {
    // A browser sends `Origin` with every form POST: a sign-in must come from this site's page.
    if headers.get(header::ORIGIN).is_some_and(|origin| origin.as_bytes() != demo.site.origin.as_bytes()) {
        return message_page(StatusCode::FORBIDDEN, "This sign-in did not come from the sign-in page.");
    }
    let params = params(&body);
    let field = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let (username, password, return_to) = (field("username"), field("password"), field("return_to"));
    if !demo.may_return_to(return_to) {
        return bad_return_to();
    }
    // The second factor, when the form asked for it: its field is there, and must be right.
    let mfa = params.contains_key("code");
    let form = LoginForm { return_to, username, code: mfa };
    // Each compared, always, in constant time: `&`, not `&&`.
    let valid = demo.user.name_hash.verify(username)
        & demo.user.password_hash.verify(password)
        & (!mfa | demo.user.code_hash.verify(field("code")));
    if !valid {
        let error = if mfa { "Wrong username, password or code." } else { "Wrong username or password." };
        return login_form(StatusCode::UNAUTHORIZED, &form, Some(error));
    }
    let Some(session_id) = demo.start_session(&demo.user.name, mfa) else {
        return message_page(StatusCode::SERVICE_UNAVAILABLE, "The sign-in could not be recorded; try again.");
    };
    let secure = if demo.site.secure { "; Secure" } else { "" };
    let cookie = format!(
        "{}={session_id}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        demo.site.cookie_name,
        SESSION_TTL.as_secs()
    );
    match (HeaderValue::from_str(&cookie), HeaderValue::from_str(return_to)) {
        (Ok(cookie), Ok(location)) => (
            StatusCode::SEE_OTHER,
            [
                (header::SET_COOKIE, cookie),
                (header::LOCATION, location),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        _ => bad_return_to(),
    }
}

fn bad_return_to() -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "This sign-in link is not valid. Start again from the application you were signing in to.",
    )
}

/// What the sign-in form shows: where it returns to, the username typed, and whether it asks
/// for the second factor.
struct LoginForm<'a> {
    return_to: &'a str,
    username: &'a str,
    code: bool,
}

/// The sign-in form; `error` is shown above it.
fn login_form(status: StatusCode, form: &LoginForm<'_>, error: Option<&str>) -> Response {
    let mut body = String::from("<h1>Sign in</h1>");
    if let Some(error) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", escape(error));
    }
    let code = if form.code {
        "<label>One-time code <input name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         required></label>"
    } else {
        ""
    };
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{LOGIN_PATH}\">\
         <input type=\"hidden\" name=\"return_to\" value=\"{return_to}\">\
         <label>Username <input name=\"username\" value=\"{username}\" autocomplete=\"username\" required \
         autofocus></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" \
         required></label>{code}\
         <button type=\"submit\">Sign in</button></form>\
         <p class=\"meta\">attesto quickstart demo login: the credentials are printed where the server \
         started.</p>",
        return_to = escape(form.return_to),
        username = escape(form.username),
    );
    html(status, &body)
}

fn message_page(status: StatusCode, message: &str) -> Response {
    html(status, &format!("<h1>Sign in</h1><p class=\"error\">{}</p>", escape(message)))
}

/// The anti-CSRF token of the connected apps page's forms: a digest of the session id, which
/// only the signed-in browser holds (its cookie is `HttpOnly`), so another site cannot post a
/// revocation in the user's name. The session cookie is `SameSite=Lax` as well, and the POST's
/// `Origin` is checked, as at the login page.
fn csrf_token(session_id: &str) -> String {
    URL_SAFE_NO_PAD
        .encode(Sha256::new().chain_update(b"attesto demo connected apps\0").chain_update(session_id).finalize())
}

/// `GET /account/apps`: the clients the signed-in user authorized, each with a revoke button;
/// without a session, the login page first.
async fn apps_page(State(auth): State<Attesto<Demo>>, headers: HeaderMap) -> Response {
    let demo = auth.provider();
    let Some((session_id, session)) = demo.signed_in(&headers) else {
        let return_to: String = form_urlencoded::byte_serialize(demo.site.apps_url.as_bytes()).collect();
        let location = format!("{}?return_to={return_to}", demo.site.login_url);
        return match HeaderValue::from_str(&location) {
            Ok(location) => (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response(),
            Err(_) => bad_return_to(),
        };
    };
    let grants = match auth.grants(&session.subject).await {
        Ok(grants) => grants,
        Err(_) => {
            return apps_message(StatusCode::SERVICE_UNAVAILABLE, "Your connected apps could not be read; try again.");
        }
    };
    let csrf = csrf_token(session_id);
    let mut body = format!(
        "<h1>Connected apps</h1><p class=\"meta\">Signed in as {}. These applications can act for you \
         until you revoke them: revoking one ends every token it holds.</p>",
        escape(&session.subject)
    );
    if grants.is_empty() {
        body.push_str("<p>No application holds access to your account.</p>");
    }
    for grant in &grants {
        let name = demo.client_name(&grant.client_id).await.unwrap_or_else(|| grant.client_id.to_string());
        let resources = grant.audience.join(", ");
        let _ = write!(
            body,
            "<section class=\"app\"><h2>{name} <span class=\"meta\">{client_id}</span></h2><dl>\
             <dt>Scopes</dt><dd>{scopes}</dd><dt>Resources</dt><dd>{resources}</dd>\
             <dt>First used</dt><dd>{first}</dd><dt>Last used</dt><dd>{last}</dd></dl>\
             <form method=\"post\" action=\"{REVOKE_PATH}\">\
             <input type=\"hidden\" name=\"grant_id\" value=\"{grant_id}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\">Revoke</button></form></section>",
            name = escape(&name),
            client_id = escape(grant.client_id.as_str()),
            scopes = escape(&grant.scopes.to_string()),
            resources = escape(&resources),
            first = utc(grant.created_at),
            last = utc(grant.last_used_at),
            grant_id = escape(&grant.grant_id),
        );
    }
    page(StatusCode::OK, "Connected apps", &body)
}

/// `POST /account/apps/revoke`: revokes one of the signed-in user's grants, then back to the
/// list. A grant id that is not the user's (another user's, or revoked already) revokes nothing.
async fn apps_revoke(State(auth): State<Attesto<Demo>>, headers: HeaderMap, body: Bytes) -> Response {
    let demo = auth.provider();
    if headers.get(header::ORIGIN).is_some_and(|origin| origin.as_bytes() != demo.site.origin.as_bytes()) {
        return apps_message(StatusCode::FORBIDDEN, "This request did not come from the connected apps page.");
    }
    let Some((session_id, session)) = demo.signed_in(&headers) else {
        return apps_message(StatusCode::UNAUTHORIZED, "Sign in first.");
    };
    let params = params(&body);
    let field = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    // Compared in constant time, as secrets are.
    if !SecretHash::of(&csrf_token(session_id)).verify(field("csrf")) {
        return apps_message(StatusCode::FORBIDDEN, "This request did not come from the connected apps page.");
    }
    match auth.revoke_grant(&session.subject, field("grant_id")).await {
        Ok(true) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, HeaderValue::from_static(APPS_PATH)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Ok(false) => apps_message(StatusCode::NOT_FOUND, "You have no such connected app."),
        Err(_) => apps_message(StatusCode::SERVICE_UNAVAILABLE, "The app could not be revoked; try again."),
    }
}

fn apps_message(status: StatusCode, message: &str) -> Response {
    page(status, "Connected apps", &format!("<h1>Connected apps</h1><p class=\"error\">{}</p>", escape(message)))
}

/// A time as `YYYY-MM-DD HH:MM UTC` (the civil date of the proleptic Gregorian calendar, from
/// Howard Hinnant's `civil_from_days`), without a date crate for one line of a demo page.
fn utc(time: SystemTime) -> String {
    let secs = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (i64::try_from(secs / 86_400).unwrap_or(0), secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

/// A page of the login site: no script, no external resources, not framable, forms post only
/// to this origin, never cached.
fn html(status: StatusCode, main: &str) -> Response {
    page(status, "Sign in", main)
}

/// A page of the site titled `title` (see [`html`]).
fn page(status: StatusCode, title: &str, main: &str) -> Response {
    const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;margin:0}\
        main{max-width:22rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;\
        border:1px solid #d0d7de;border-radius:8px}\
        label{display:block;margin:.75rem 0}input{display:block;width:100%;box-sizing:border-box;\
        font:inherit;padding:.35rem}button{font:inherit;padding:.45rem 1.25rem;margin-top:.5rem}\
        .error{color:#b42318}.meta{color:#59636e;font-size:.85rem}\
        section.app{border-top:1px solid #d0d7de;margin-top:1rem}h2{font-size:1.1rem;margin:.75rem 0 .25rem}\
        dl{display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem;margin:.25rem 0}dd{margin:0;\
        overflow-wrap:anywhere}";
    // No `form-action`: browsers apply it to the redirects that follow a form POST, and after a
    // sign-in the browser goes on through the authorization endpoint to the client's redirect URI
    // (directly, when consent needs no page). The form's action is a fixed path of this site.
    const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{main}</main></body></html>",
        title = escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            // Not `no-referrer`: under it a browser sends `Origin: null` with the form POST (Fetch
            // §3.1), and the sign-in's origin check would refuse every real sign-in.
            (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        ],
        page,
    )
        .into_response()
}

pub(crate) struct Options {
    pub(crate) port: u16,
    pub(crate) issuer: Option<String>,
    /// A PEM signing key (`--key FILE`), so that several instances sign with one key and tokens
    /// survive a restart; without it a development key is generated at each start.
    pub(crate) key: Option<std::path::PathBuf>,
    /// Where attesto's state and the registered clients live (`--database URL`); in memory
    /// without it.
    pub(crate) database: Option<String>,
    /// The enterprise identity providers whose identity assertions are accepted
    /// (`--trusted-issuer URL`, repeatable).
    pub(crate) trusted_issuers: Vec<String>,
    /// The FAPI 2.0 Security Profile (`--fapi2`), with Message Signing
    /// (`--fapi2-message-signing`).
    pub(crate) fapi2: Option<Fapi2>,
}

/// Which FAPI 2.0 profile the quickstart runs in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fapi2 {
    SecurityProfile,
    MessageSigning,
}

fn parse_args() -> Result<Options, String> {
    let mut options =
        Options { port: 8080, issuer: None, key: None, database: None, trusted_issuers: Vec::new(), fapi2: None };
    let mut flags = Flags::from_env();
    while let Some(name) = flags.next_flag() {
        match name.as_str() {
            "--port" => options.port = flags.value()?.parse().map_err(|_| "--port must be a port number".to_owned())?,
            "--issuer" => options.issuer = Some(flags.value()?),
            "--key" => options.key = Some(flags.value()?.into()),
            "--database" => options.database = Some(flags.value()?),
            "--trusted-issuer" => options.trusted_issuers.push(flags.value()?),
            "--fapi2" => options.fapi2 = options.fapi2.or(Some(Fapi2::SecurityProfile)),
            "--fapi2-message-signing" => options.fapi2 = Some(Fapi2::MessageSigning),
            "-h" | "--help" => {
                println!(
                    "usage: quickstart [--port PORT] [--issuer URL] [--key SIGNING_KEY.pem] [--database URL] \
                     [--trusted-issuer URL]... [--fapi2 | --fapi2-message-signing]\n\n  \
                     --database sqlite://attesto.db   keep state and registered clients across restarts \
                     (feature sqlite)\n  \
                     --database postgres://…          share them between instances (feature postgres)\n  \
                     --trusted-issuer https://idp…    accept that identity provider's ID-JAG assertions \
                     (feature fetch; repeatable)\n  \
                     --fapi2                          run in the FAPI 2.0 Security Profile (private_key_jwt \
                     clients, PAR, DPoP)\n  \
                     --fapi2-message-signing          and FAPI 2.0 Message Signing (signed requests and \
                     responses)"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(options)
}

fn env_or(name: &str, default: impl FnOnce() -> String) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(default)
}

/// A comma-separated list.
fn list(value: &str) -> Vec<&str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// 256 random bits, base64url: the demo secret when none is given, a PKCE verifier, a state.
fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let options = parse_args()?;
    let address = SocketAddr::from(([127, 0, 0, 1], options.port));
    let (app, banner) = start(options, &address).await?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("{banner}");
    // With each connection's address (`ConnectInfo`), the device verification page also bounds
    // wrong user codes per client address, not only overall (RFC 8628 §5.1).
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    Ok(())
}

/// Everything the quickstart serves (attesto's routes, the login page, the connected apps page)
/// and its start-up text, for `options` and the address it will listen on.
pub(crate) async fn start(
    options: Options,
    address: &SocketAddr,
) -> Result<(axum::Router, String), Box<dyn std::error::Error>> {
    let issuer = options.issuer.unwrap_or_else(|| format!("http://127.0.0.1:{}", options.port));
    let parsed_issuer = Issuer::parse(&issuer)?;

    let default_scopes = format!("{} read write", USER_SCOPES.join(" "));
    let client_id = env_or("ATTESTO_DEMO_CLIENT_ID", || "demo-client".to_owned());
    let client_secret = env_or("ATTESTO_DEMO_CLIENT_SECRET", random_secret);
    let redirect_uris = env_or("ATTESTO_DEMO_REDIRECT_URIS", || "http://127.0.0.1:9000/callback".to_owned());
    let public_id = env_or("ATTESTO_DEMO_PUBLIC_CLIENT_ID", || "demo-native".to_owned());
    // RFC 8252 §7.3: a native app listens on a loopback port it picks at run time, so any port
    // is accepted for a registered loopback IP redirect URI.
    let public_redirect_uris = env_or("ATTESTO_DEMO_PUBLIC_REDIRECT_URIS", || "http://127.0.0.1/callback".to_owned());
    let scopes = env_or("ATTESTO_DEMO_SCOPES", || default_scopes.clone());
    let resources = env_or("ATTESTO_DEMO_RESOURCES", || format!("http://127.0.0.1:{}/mcp", options.port));
    let user = env_or("ATTESTO_DEMO_USER", || "demo".to_owned());
    let password = env_or("ATTESTO_DEMO_PASSWORD", random_secret);
    // The demo second factor: six digits, fixed for the run.
    let code = env_or("ATTESTO_DEMO_CODE", || format!("{:06}", rand::random::<u32>() % 1_000_000));
    let email = env_or("ATTESTO_DEMO_EMAIL", || format!("{user}@example.com"));

    let allowed = Scopes::parse(&scopes).map_err(|e| format!("ATTESTO_DEMO_SCOPES: {e}"))?;
    let redirect_uris = list(&redirect_uris);
    let post_logout_redirect_uris =
        env_or("ATTESTO_DEMO_POST_LOGOUT_REDIRECT_URIS", || "http://127.0.0.1:9000/signed-out".to_owned());
    let post_logout_redirect_uris = list(&post_logout_redirect_uris);
    let public_redirect_uris = list(&public_redirect_uris);
    if public_redirect_uris.is_empty() {
        return Err("ATTESTO_DEMO_PUBLIC_REDIRECT_URIS is empty".into());
    }
    // A confidential web app: the code flow for users, client_credentials for itself, the device
    // grant (RFC 8628) for a device of its own, token exchange as an MCP server calling a
    // downstream API, and identity assertions when an identity provider is trusted: every grant
    // the quickstart serves.
    let mut grants = vec![
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::DeviceCode,
        GrantType::TokenExchange,
    ];
    if !options.trusted_issuers.is_empty() {
        grants.push(GrantType::JwtBearer);
    }
    let confidential = Client::confidential(client_id.as_str(), SecretHash::of(&client_secret))
        .with_name("attesto demo client")
        .with_redirect_uris(redirect_uris.iter().copied())
        .with_grant_types(grants)
        .with_post_logout_redirect_uris(post_logout_redirect_uris.iter().copied())
        .with_scopes(allowed.clone());
    // A native app: no secret (`none`), PKCE only; as a CLI, the device grant.
    let public = Client::public(public_id.as_str())
        .with_name("attesto demo native app")
        .with_redirect_uris(public_redirect_uris.iter().copied())
        .with_grant_types([GrantType::AuthorizationCode, GrantType::RefreshToken, GrantType::DeviceCode])
        .with_post_logout_redirect_uris([PUBLIC_SIGNED_OUT])
        .with_scopes(allowed);
    if public_id == client_id {
        return Err("ATTESTO_DEMO_PUBLIC_CLIENT_ID must differ from ATTESTO_DEMO_CLIENT_ID".into());
    }

    let database = match Database::open(options.database.as_deref()).await {
        Ok(database) => database,
        Err(message) => {
            // Printed as is (not as `main`'s debug-formatted error): it holds a command to copy.
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let state = database.describe();
    let secure = parsed_issuer.origin().starts_with("https:");
    let host = Demo {
        clients: Arc::new(HashMap::from([(client_id.clone(), confidential), (public_id.clone(), public)])),
        registrations: database.registrations(),
        user: Arc::new(DemoUser {
            name: user.clone(),
            email,
            name_hash: SecretHash::of(&user),
            password_hash: SecretHash::of(&password),
            code_hash: SecretHash::of(&code),
        }),
        sessions: Arc::default(),
        site: Arc::new(Site {
            login_url: parsed_issuer.url_of(LOGIN_PATH),
            apps_url: parsed_issuer.url_of(APPS_PATH),
            authorize_url: parsed_issuer.url_of(Demo::PATHS.authorize),
            origin: parsed_issuer.origin().to_owned(),
            cookie_name: if secure { "__Host-attesto-demo-session" } else { "attesto-demo-session" },
            secure,
        }),
    };

    let key = match &options.key {
        Some(path) => {
            let pem = std::fs::read_to_string(path).map_err(|e| format!("--key {}: {e}", path.display()))?;
            Key::from_pem(&pem).map_err(|e| format!("--key {}: {e}", path.display()))?
        }
        None => Key::generate_for_development()?,
    };
    let mut builder = database
        .install(Attesto::builder(host.clone()))
        .issuer(&issuer)?
        .signing_key(key)
        .scopes_supported(scopes.split(' ').filter(|s| !s.is_empty()))
        .acr_values_supported([ACR_PASSWORD, ACR_MFA])
        // Pairwise subject identifiers (OpenID Connect Core §8.1) for clients that register
        // `subject_type` `pairwise`. A demo draws the secret at start, so their `sub` values
        // change at a restart; a real server keeps one secret for good.
        .pairwise_subject_secret(rand::random());
    let resources = list(&resources);
    for resource in &resources {
        builder = builder.resource(resource)?;
    }
    let builder = match trust_issuers(builder, &options.trusted_issuers) {
        Ok(builder) => builder,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    // A development tool on the loopback interface: a `private_key_jwt` client registered with
    // a `jwks_uri` on this machine (`http://127.0.0.1:…/jwks.json`) has its keys fetched. Never
    // in production: any client that registers could make the server fetch from its network.
    // Likewise a relying party registered with a `backchannel_logout_uri` on this machine is sent
    // its logout tokens there (OpenID Connect Back-Channel Logout 1.0), over http.
    #[cfg(feature = "fetch")]
    let builder =
        builder.allow_loopback_jwks_uri_for_development(true).allow_loopback_backchannel_logout_for_development(true);
    let builder = match options.fapi2 {
        None => builder,
        Some(Fapi2::SecurityProfile) => builder.fapi2_security_profile(),
        Some(Fapi2::MessageSigning) => builder.fapi2_message_signing(),
    };
    let auth = builder.build()?;
    let login = axum::Router::new().route(LOGIN_PATH, get(login_page).post(login_submit)).with_state(host);
    let apps = axum::Router::new()
        .route(APPS_PATH, get(apps_page))
        .route(REVOKE_PATH, post(apps_revoke))
        .with_state(auth.clone());
    let app = axum::Router::new().merge(auth.router()).merge(login).merge(apps);
    let banner = banner(
        &auth,
        address,
        &Banner {
            client_id: &client_id,
            client_secret: &client_secret,
            redirect_uris: &redirect_uris,
            public_id: &public_id,
            public_redirect: public_redirect_uris[0],
            scopes: &scopes,
            resources: &resources,
            user: &user,
            password: &password,
            code: &code,
            state: &state,
            trusted_issuers: &options.trusted_issuers,
            fapi2: options.fapi2,
        },
    )?;
    Ok((app, banner))
}

/// What the start-up text shows.
struct Banner<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    redirect_uris: &'a [&'a str],
    public_id: &'a str,
    public_redirect: &'a str,
    scopes: &'a str,
    resources: &'a [&'a str],
    user: &'a str,
    password: &'a str,
    code: &'a str,
    state: &'a str,
    trusted_issuers: &'a [String],
    fapi2: Option<Fapi2>,
}

/// Trusts the identity providers of `--trusted-issuer` (feature `fetch`). The quickstart runs on
/// loopback for development, so an `http` identity provider on a loopback host is accepted.
#[cfg(feature = "fetch")]
fn trust_issuers(mut builder: Builder<Demo>, issuers: &[String]) -> Result<Builder<Demo>, String> {
    for issuer in issuers {
        builder =
            builder.trusted_identity_issuer(attesto::TrustedIssuer::new(issuer).allow_loopback_for_development(true));
    }
    Ok(builder)
}

/// Without feature `fetch`, `--trusted-issuer` cannot be served: the command that runs with it.
#[cfg(not(feature = "fetch"))]
fn trust_issuers(builder: Builder<Demo>, issuers: &[String]) -> Result<Builder<Demo>, String> {
    if issuers.is_empty() {
        return Ok(builder);
    }
    let args: Vec<String> = std::env::args().skip(1).map(|arg| shell_quote(&arg)).collect();
    Err(format!(
        "--trusted-issuer needs the quickstart built with the `fetch` feature:\n\n  \
         cargo run --example quickstart --features fetch -- {}\n",
        args.join(" ")
    ))
}

/// The start-up text: the endpoints, the clients, the user, a complete code flow for the public
/// client with a fresh PKCE pair, and a registration of a new client.
fn banner(auth: &Attesto<Demo>, address: &SocketAddr, b: &Banner<'_>) -> Result<String, url::ParseError> {
    if let Some(profile) = b.fapi2 {
        return Ok(fapi2_banner(auth, address, b, profile));
    }
    let issuer = auth.issuer();
    let token_url = issuer.url_of(Demo::PATHS.token);
    let userinfo_url = Demo::PATHS.userinfo.map(|path| issuer.url_of(path)).unwrap_or_default();
    let registration_url = Demo::PATHS.registration.map(|path| issuer.url_of(path)).unwrap_or_default();
    let device_url = Demo::PATHS.device_authorization.map(|path| issuer.url_of(path)).unwrap_or_default();
    let verification_url = Demo::PATHS.device_verification.map(|path| issuer.url_of(path)).unwrap_or_default();
    // RFC 7636 §4.1, §4.2: a 256-bit verifier and its S256 challenge.
    let verifier = random_secret();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let user_scopes: Vec<&str> = b.scopes.split(' ').filter(|s| USER_SCOPES.contains(s)).collect();
    let api_scopes: Vec<&str> = b.scopes.split(' ').filter(|s| !s.is_empty() && !USER_SCOPES.contains(s)).collect();
    let mut authorize = url::Url::parse(&issuer.url_of(Demo::PATHS.authorize))?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", b.public_id)
        .append_pair("redirect_uri", b.public_redirect)
        .append_pair("scope", &user_scopes.join(" "))
        .append_pair("state", &random_secret()[..16])
        .append_pair("nonce", &random_secret()[..16])
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    // RFC 7591 §3.1: a public client registering itself, as an MCP client does on first contact.
    let metadata = serde_json::json!({
        "client_name": "my app",
        "redirect_uris": [b.public_redirect],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token", GrantType::DeviceCode.as_str()],
        "scope": user_scopes.join(" "),
    });
    let register = format!("curl -s -H 'Content-Type: application/json' -d '{metadata}' {registration_url}");
    let client_credentials = if api_scopes.is_empty() {
        format!("curl -s -u '{}:{}' -d grant_type=client_credentials {token_url}", b.client_id, b.client_secret)
    } else {
        format!(
            "curl -s -u '{}:{}' -d grant_type=client_credentials -d 'scope={}' {token_url}",
            b.client_id,
            b.client_secret,
            api_scopes.join(" ")
        )
    };
    // RFC 8693: the demo client, as an MCP server, exchanges the token its caller sent it for a
    // token to a demo resource.
    let exchange = format!(
        "curl -s -u '{}:{}' -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \
         -d subject_token=ACCESS_TOKEN -d subject_token_type=urn:ietf:params:oauth:token-type:access_token \
         --data-urlencode 'resource={}' {token_url}",
        b.client_id,
        b.client_secret,
        b.resources.first().copied().unwrap_or_default()
    );
    // OpenID Connect Back-Channel Logout 1.0 sends logout tokens through the fetcher.
    let backchannel = if cfg!(feature = "fetch") {
        "a client registered with a `backchannel_logout_uri` (http://127.0.0.1:… accepted here) is\
         \nPOSTed a signed logout token there when the user signs out"
    } else {
        "back-channel logout (logout tokens POSTed to the clients): restart built with\
         \n--features fetch"
    };
    let assertion = if b.trusted_issuers.is_empty() {
        "\n\naccept identity assertions (ID-JAG) of an enterprise identity provider: restart with\
         \n--trusted-issuer URL (feature fetch)"
            .to_owned()
    } else {
        format!(
            "\n\npresent an identity assertion (ID-JAG, typ oauth-id-jag+jwt) of {} whose `email` is the \
             demo user's:\n\n  curl -s -u '{}:{}' -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \
             -d assertion=ID_JAG {token_url}",
            b.trusted_issuers.join(", "),
            b.client_id,
            b.client_secret
        )
    };
    Ok(format!(
        "\nattesto quickstart on http://{address}\n\
         \n  issuer            {issuer}\
         \n  discovery         {origin}/.well-known/openid-configuration\
         \n  token endpoint    {token_url}\
         \n  userinfo          {userinfo_url}\
         \n  registration      {registration_url} (open: RFC 7591, RFC 7592)\
         \n  device grant      {device_url} (RFC 8628; users enter codes at {verification_url})\
         \n  login page        {origin}{LOGIN_PATH}\
         \n  connected apps    {origin}{APPS_PATH} (the demo user's grants, revocable)\
         \n  state             {state}\
         \n\n  confidential client (client_secret_basic)\
         \n    client id       {client_id}\
         \n    client secret   {client_secret}\
         \n    redirect URIs   {redirect}\
         \n  public client (none + PKCE)\
         \n    client id       {public_id}\
         \n    redirect URI    {public_redirect} (any port)\
         \n  scopes            {scopes}\
         \n  resources         {resource_list}\
         \n  demo user         {user} / {password}\
         \n  second factor     {code} (asked for when a client sends acr_values=mfa)\
         \n  acr values        password, mfa (the ID token's `acr` says which the sign-in reached)\
         \n\nsign in as the public client: open this URL in a browser, sign in, allow; the browser then\
         \nlands on {public_redirect}?code=…&state=…&iss=… (nothing listens there: copy the code)\
         \n\n  {authorize}\
         \n\n  PKCE verifier   {verifier}\
         \n  PKCE challenge  {challenge} (S256)\
         \n\nexchange the code (within 60 s):\
         \n\n  curl -s -d grant_type=authorization_code -d client_id={public_id} \
         --data-urlencode 'redirect_uri={public_redirect}' -d code_verifier={verifier} -d code=CODE {token_url}\
         \n\nread userinfo, refresh:\
         \n\n  curl -s -H 'Authorization: Bearer ACCESS_TOKEN' {userinfo_url}\
         \n  curl -s -d grant_type=refresh_token -d client_id={public_id} -d refresh_token=REFRESH_TOKEN {token_url}\
         \n\nsign out (OpenID Connect RP-Initiated Logout): open in the browser, with the ID token as the\
         \nhint (the user is signed out at once and sent back), or without it (a page asks first):\
         \n\n  {end_session_url}?client_id={public_id}&post_logout_redirect_uri={signed_out}&id_token_hint=ID_TOKEN\
         \n\n{backchannel}\
         \n\nsee and revoke what the demo user authorized: {origin}/account/apps\
         \n\nsign in from a CLI or a headless agent (RFC 8628): ask for a code, open the\
         \nverification_uri_complete it returns in a browser, sign in, allow; meanwhile poll\
         \n(every `interval` seconds) until the tokens come:\
         \n\n  curl -s -d client_id={public_id} -d 'scope={user_scope}' {device_url}\
         \n  curl -s -d grant_type={device_grant} -d client_id={public_id} -d device_code=DEVICE_CODE {token_url}\
         \n\nfetch a token for the confidential client itself:\
         \n\n  {client_credentials}\
         \n\nexchange an access token for a token to a resource, as an MCP server calling an API\
         \n(token exchange, RFC 8693; the new token names the demo client in `act`):\
         \n\n  {exchange}{assertion}\
         \n\nregister a client of your own (the response holds its client_id, and the\
         \nregistration_access_token that reads, updates or deletes it at registration_client_uri):\
         \n\n  {register}\n",
        origin = issuer.origin(),
        client_id = b.client_id,
        client_secret = b.client_secret,
        redirect = b.redirect_uris.join(", "),
        public_id = b.public_id,
        public_redirect = b.public_redirect,
        scopes = b.scopes,
        resource_list = b.resources.join(", "),
        user = b.user,
        password = b.password,
        code = b.code,
        state = b.state,
        user_scope = user_scopes.join(" "),
        end_session_url = Demo::PATHS.end_session.map(|path| issuer.url_of(path)).unwrap_or_default(),
        signed_out = PUBLIC_SIGNED_OUT,
        device_grant = GrantType::DeviceCode.as_str(),
    ))
}

/// The start-up text in a FAPI 2.0 profile: the demo clients (a secret, a public client) cannot
/// be used; a client registers with its keys and follows the profile.
fn fapi2_banner(auth: &Attesto<Demo>, address: &SocketAddr, b: &Banner<'_>, profile: Fapi2) -> String {
    let issuer = auth.issuer();
    let url = |path: Option<&str>| path.map(|path| issuer.url_of(path)).unwrap_or_default();
    let (name, signed) = match profile {
        Fapi2::SecurityProfile => ("the FAPI 2.0 Security Profile", ""),
        Fapi2::MessageSigning => (
            "the FAPI 2.0 Security Profile with Message Signing",
            "\n  - every request is a signed request object (`request`, RFC 9101), and asks for a\
             \n    signed response (`response_mode=jwt`, JARM)",
        ),
    };
    // RFC 7591 §2: a `private_key_jwt` client registers its public keys: inline (`jwks`), or at a
    // URL of its own (`jwks_uri`, feature `fetch`; the quickstart fetches loopback ones, as a
    // development tool).
    let metadata = r#"{"client_name":"my FAPI client","redirect_uris":["https://client.example/callback"],"token_endpoint_auth_method":"private_key_jwt","token_endpoint_auth_signing_alg":"ES256","jwks":{"keys":[YOUR_PUBLIC_JWK]},"grant_types":["authorization_code","refresh_token"],"scope":"openid offline_access read","dpop_bound_access_tokens":true}"#;
    format!(
        "\nattesto quickstart on http://{address}, in {name}\n\
         \n  issuer            {issuer}\
         \n  discovery         {origin}/.well-known/oauth-authorization-server\
         \n  PAR endpoint      {par}\
         \n  token endpoint    {token}\
         \n  registration      {registration} (open: private_key_jwt clients only)\
         \n  login page        {origin}{LOGIN_PATH}\
         \n  demo user         {user} / {password}\
         \n  second factor     {code} (asked for when a client sends acr_values=mfa)\
         \n  acr values        password, mfa (the ID token's `acr` says which the sign-in reached)\
         \n  state             {state}\
         \n\nthe profile's rules, enforced at every endpoint:\
         \n  - clients authenticate with private_key_jwt (RFC 7523), its `aud` the issuer; the demo\
         \n    clients `{client_id}` (a secret) and `{public_id}` (public) are refused\
         \n  - every authorization request is pushed (PAR, RFC 9126) with `redirect_uri` and PKCE S256{signed}\
         \n  - every token request carries a DPoP proof (RFC 9449): tokens are sender-constrained\
         \n  - signatures are ES256, PS256 or EdDSA; refresh tokens are not rotated\
         \n\nregister a client with its public key (or `\"jwks_uri\": \"http://127.0.0.1:…/jwks.json\"` with\
         \n--features fetch), then push its requests, sign in at the authorization endpoint, redeem:\
         \n\n  curl -s -H 'Content-Type: application/json' -d '{metadata}' {registration}\
         \n\na client that runs the whole profile against a provider of its own:\
         \n\n  cargo run --example fapi2 -- --demo\n",
        origin = issuer.origin(),
        par = url(Demo::PATHS.par),
        token = issuer.url_of(Demo::PATHS.token),
        registration = url(Demo::PATHS.registration),
        user = b.user,
        password = b.password,
        code = b.code,
        state = b.state,
        client_id = b.client_id,
        public_id = b.public_id,
    )
}

async fn shutdown() {
    let _ = tokio::signal::ctrl_c().await;
}
