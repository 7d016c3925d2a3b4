//! The engine of attesto: endpoints, tokens, keys and host traits.
//!
//! Use it through the `attesto` crate, which re-exports everything here together with the
//! `#[attesto::provider]` macro.

mod client;
mod client_auth;
mod config;
mod consent;
pub mod discovery;
mod error;
mod events;
mod form;
mod jwks;
mod jwt;
mod keys;
mod principal;
mod provider;
mod registration;
mod router;
mod scope;
mod token;

pub use client::{Client, ClientId, ClientStore, GrantType, SecretHash, TokenEndpointAuthMethod};
pub use config::{Attesto, Builder, ConfigError, Issuer};
pub use consent::{ConsentDecision, ConsentPolicy, ConsentRequest};
pub use discovery::AuthorizationServerMetadata;
pub use error::{ErrorCode, HostError, OAuthError};
pub use events::{EventSink, TokenDenied, TokenIssued};
pub use keys::{Algorithm, Key, KeyError, KeySet};
pub use principal::{AuthenticatedPrincipal, LoginOutcome, LoginRequest, Principal, PrincipalStore};
pub use provider::{Features, Paths, Provider};
pub use registration::{ClientRegistration, RegistrationStore};
pub use scope::{InvalidScope, Scope, ScopeDecision, ScopePolicy, Scopes};

#[doc(hidden)]
pub use provider::__private;
