//! The engine of attesto: endpoints, tokens, keys and host traits.
//!
//! Use it through the `attesto` crate, which re-exports everything here together with the
//! `#[attesto::provider]` macro.

#[doc(hidden)]
pub mod __fuzz;
mod builder;
pub mod dpop;
mod endpoints;
mod error;
#[cfg(feature = "fetch")]
mod fetch;
mod host;
mod keys;
mod model;
mod protocol;
mod resource_server;
mod settings;
mod state;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use protocol::discovery;
pub use protocol::discovery::WellKnownForms;

pub use builder::Builder;
pub use error::ConfigError;
pub use error::{ErrorCode, HostError};
#[cfg(feature = "fetch")]
pub use fetch::client_metadata::ClientMetadataDocuments;
pub use host::clients::ClientStore;
pub use host::consent::{ConsentDecision, ConsentPolicy, ConsentRequest};
pub use host::events::{
    AuthorizationDenied, BackchannelLogout, BackchannelLogoutOutcome, ClientMetadataDocumentRefused, ClientRegistered,
    CodeIssued, CodeReuseDetected, DpopProofReplayed, EventSink, GrantRevoked, RefreshReuseDetected, RefreshRotated,
    SessionEnded, TokenDenied, TokenIssued, TokenRevoked,
};
pub use host::exchange::{ExchangeDecision, ExchangeRequest, TokenExchangePolicy};
pub use host::identity_assertion::{IdentityAssertion, IdentityAssertionPolicy};
pub use host::legacy::{LegacyAccessToken, LegacyGrant, LegacyTokens};
pub use host::principals::{ClaimsQuery, LoginOutcome, LoginRequest, PrincipalStore};
pub use host::provider::Provider;
pub use host::registrations::{ClientRegistration, GrantRequest, RegistrationStore};
pub use host::scopes::{ScopeDecision, ScopePolicy};
pub use host::sessions::{EndSessionRequest, HostSession, SessionStore};
pub use keys::{Algorithm, Key, KeyError, KeySet};
pub use model::claims::{ClaimRequest, ClaimsRequest, ClaimsTarget, RequestedClaims, standard_claims_of_scope};
pub use model::client::{
    Client, ClientId, ClientKeys, ClientSigningAlgorithm, GrantType, SecretHash, TokenEndpointAuthMethod,
};
pub use model::declaration::{Features, Paths};
pub use model::issuer::Issuer;
pub use model::principal::{AuthenticatedPrincipal, Principal};
pub use model::scope::{InvalidScope, Scope, Scopes};
pub use protocol::client_assertion::ClientAssertionAudience;
pub use resource_server::guard::{Guard, GuardService};
pub use resource_server::mcp::{MAX_JSON_RPC_BODY, ToolScopes, ToolScopesService};
#[cfg(feature = "fetch")]
pub use resource_server::remote::{
    DEFAULT_JWKS_MIN_REFRESH_INTERVAL, DEFAULT_JWKS_REFRESH_INTERVAL, RemoteGuard, RemoteGuardError, TrustedIssuer,
};
pub use resource_server::token_check::InsufficientUserAuthentication;
pub use resource_server::token_check::{Authenticated, InsufficientScope, TokenKind, TokenSource};
pub use state::Attesto;
pub use store::memory::MemoryStore;
pub use store::registrations::MemoryRegistrations;

/// The sqlx the SQL stores are built with (features `sqlite`, `postgres`), so that a host names
/// the very pool and option types that `SqliteStore::from_pool` and `PostgresStore::from_pool`
/// take.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;
#[cfg(feature = "postgres")]
pub use store::sql::postgres::{PostgresRegistrations, PostgresStore};
#[cfg(feature = "sqlite")]
pub use store::sql::sqlite::{SqliteRegistrations, SqliteStore};

#[doc(hidden)]
pub use host::provider::__private;
