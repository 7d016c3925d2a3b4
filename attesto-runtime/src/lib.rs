//! The engine of attesto: endpoints, tokens, keys and host traits.
//!
//! Use it through the `attesto` crate, which re-exports everything here together with the
//! `#[attesto::provider]` macro.

#[doc(hidden)]
pub mod __fuzz;
mod authorize;
mod client;
mod client_auth;
#[cfg(feature = "fetch")]
mod client_metadata;
mod config;
mod consent;
mod cors;
pub mod discovery;
pub mod dpop;
mod dpop_check;
mod error;
mod events;
#[cfg(feature = "fetch")]
mod fetch;
mod form;
mod guard;
mod html;
mod id_token;
mod jwks;
mod jwt;
mod keys;
mod par;
mod principal;
mod provider;
mod redirect_uri;
mod register;
mod registration;
#[cfg(feature = "fetch")]
mod remote_guard;
mod revoke;
mod revoked;
mod router;
mod scope;
mod sealed;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
mod store;
pub mod store_contract;
pub mod testing;
mod token;
mod userinfo;

pub use client::{Client, ClientId, ClientStore, GrantType, SecretHash, TokenEndpointAuthMethod};
#[cfg(feature = "fetch")]
pub use client_metadata::ClientMetadataDocuments;
pub use config::{Attesto, Builder, ConfigError, Issuer};
pub use consent::{ConsentDecision, ConsentPolicy, ConsentRequest};
pub use discovery::AuthorizationServerMetadata;
pub use error::{ErrorCode, HostError, OAuthError};
pub use events::{
    AuthorizationDenied, ClientMetadataDocumentRefused, ClientRegistered, CodeIssued, CodeReuseDetected,
    DpopProofReplayed, EventSink, RefreshReuseDetected, RefreshRotated, TokenDenied, TokenIssued, TokenRevoked,
};
pub use guard::{Authenticated, Guard, GuardService, TokenKind};
pub use keys::{Algorithm, Key, KeyError, KeySet};
pub use principal::{AuthenticatedPrincipal, LoginOutcome, LoginRequest, Principal, PrincipalStore};
pub use provider::{Features, Paths, Provider};
pub use registration::{ClientRegistration, GrantRequest, MemoryRegistrations, RegistrationStore};
#[cfg(feature = "fetch")]
pub use remote_guard::{
    DEFAULT_JWKS_MIN_REFRESH_INTERVAL, DEFAULT_JWKS_REFRESH_INTERVAL, RemoteGuard, RemoteGuardError,
};
pub use scope::{InvalidScope, Scope, ScopeDecision, ScopePolicy, Scopes};
pub use store::{
    AuthorizationCode, AuthorizationRequest, CodeIssue, CodeRedemption, MemoryStore, PendingAuthorization,
    PendingStage, RefreshFamily, RefreshLookup, ResponseMode, Rotation, Store, TokenHash,
};

#[cfg(feature = "postgres")]
pub use sql::postgres::{PostgresRegistrations, PostgresStore};
#[cfg(feature = "sqlite")]
pub use sql::sqlite::{SqliteRegistrations, SqliteStore};
/// The sqlx the SQL stores are built with (features `sqlite`, `postgres`), so that a host names
/// the very pool and option types that `SqliteStore::from_pool` and `PostgresStore::from_pool`
/// take.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sqlx;

#[doc(hidden)]
pub use provider::__private;
