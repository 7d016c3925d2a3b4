//! attesto: an OAuth 2.1 / OpenID Connect authorization server you declare on an axum app.
//!
//! ```no_run
//! use attesto::{Attesto, Client, ClientStore, HostError, Key, LoginOutcome, LoginRequest, PrincipalStore, SecretHash};
//!
//! #[derive(Clone)]
//! #[attesto::provider(prefix = "/mcp/oauth")]
//! struct Auth;
//!
//! impl ClientStore for Auth {
//!     async fn load_client(&self, client_id: &str) -> Result<Option<Client>, HostError> {
//!         // Read your existing client table here.
//!         Ok((client_id == "service").then(|| Client::confidential("service", SecretHash::of("s3cret"))))
//!     }
//! }
//!
//! impl PrincipalStore for Auth {
//!     async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
//!         // Read your session cookie here; send the browser to your login page otherwise.
//!         Ok(LoginOutcome::Redirect("/login".to_owned()))
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = Attesto::builder(Auth)
//!     .issuer("https://auth.example.com")?
//!     .signing_key(Key::from_pem(&std::fs::read_to_string("signing-key.pem")?)?)
//!     .build()?;
//! assert_eq!(Auth::PATHS.token, "/mcp/oauth/token");
//! let app = axum::Router::new().merge(auth.router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! The host implements [`ClientStore`] and [`PrincipalStore`]; [`ScopePolicy`], [`ConsentPolicy`]
//! and [`EventSink`] are optional (implement them to replace the defaults); [`RegistrationStore`]
//! is required with the `registration` flag. The macro resolves every endpoint path at compile
//! time into `Type::PATHS`, from which both the router and the discovery documents are built.
//! `testing::check_discovery` (feature `testing`) checks, in the host's own tests, that the app around the router
//! still serves every URL the documents advertise; `guides/migrating.md` walks through replacing
//! an existing provider.
//!
//! # Declaration options
//!
//! | option | meaning |
//! |---|---|
//! | `prefix = "/…"` | where the endpoints live (default `/oauth`; `/` for the host root) |
//! | `registration` | dynamic client registration (off by default); `registration = "field"` names the host's field that stores the registrations (e.g. a `MemoryRegistrations`) instead of `impl RegistrationStore` on the host |
//! | `openid`, `userinfo`, `revocation`, `introspection`, `par` | on by default; `= false` to switch off |
//! | `authorize_path`, `token_path`, `jwks_path`, `userinfo_path`, `revocation_path`, `introspection_path`, `par_path`, `registration_path` | an absolute path for one endpoint, instead of `{prefix}/…` |
//! | `resource = "/…"` | the protected resource the host serves on the issuer's origin (an MCP server's `/mcp`): tokens may be issued for it (RFC 8707), its RFC 9728 metadata is served at `/.well-known/oauth-protected-resource/…`, and [`Attesto::resource_guard`] protects it |
//! | `dev_sign_in = "subject"` | development only: every authorization request is signed in as `subject` and approved without a page (it implements `PrincipalStore` and `ConsentPolicy`); the builder refuses it unless the issuer is on a loopback host |
//! | `crate = "…"` | the path of the `attesto` crate, when renamed |
//!
//! The well-known documents are always at the host root (RFC 8615).
//!
//! # Cargo features
//!
//! | feature | what it adds |
//! |---|---|
//! | `sqlite` | `SqliteStore` (attesto's state in an SQLite file, kept across restarts) and `SqliteRegistrations` (registered clients); SQLite is compiled in |
//! | `postgres` | `PostgresStore` (attesto's state in PostgreSQL, shared by several instances) and `PostgresRegistrations` |
//! | `fetch` | an HTTPS client for small documents: `ClientMetadataDocuments` (`https` URLs as client ids, the MCP way for clients to identify themselves without registering; `Builder::client_metadata_documents`), and `RemoteGuard` (the guard of a resource server deployed apart from the provider, with the provider's JWKS fetched and cached) |
//!
//! `sqlite` and `postgres` come with their migrations embedded (tables named `attesto_…`), and re-export the
//! [`sqlx`](https://docs.rs/sqlx/0.9) they use as `attesto::sqlx`. Without them, state lives in a
//! [`MemoryStore`].

#[doc(inline)]
pub use attesto_macros::{attesto_routes, provider};
#[doc(inline)]
pub use attesto_runtime::*;

#[doc(hidden)]
pub mod __private {
    pub use attesto_runtime::__private::*;
}

// The guides' Rust blocks, compiled and run as doc tests (`cargo test --workspace
// --all-features`), so that a guide cannot drift from the code it describes.

/// `guides/production.md`, as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../guides/production.md")]
pub struct ProductionGuide;

/// `guides/migrating.md`, as doc tests. Its blocks read PostgreSQL tables with `attesto::sqlx`,
/// hence the feature.
#[cfg(all(doctest, feature = "postgres"))]
#[doc = include_str!("../guides/migrating.md")]
pub struct MigratingGuide;
