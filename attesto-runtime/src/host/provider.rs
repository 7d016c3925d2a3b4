//! The compile-time declaration of a provider: its path table, its feature flags, and the
//! `Provider` trait the `#[attesto::provider]` macro implements.

use crate::model::client::ClientStore;
use crate::host::consent::ConsentPolicy;
use crate::host::events::EventSink;
use crate::model::principal::PrincipalStore;
use crate::host::registrations::RegistrationStore;
use crate::model::scope::ScopePolicy;

/// The resolved endpoint paths of a provider, emitted by the macro as `Type::PATHS`.
///
/// This table is the single source of routing, both discovery documents and (with registration)
/// `registration_client_uri`: an advertised URL is always a mounted route. Paths are absolute on the
/// host (they start with `/`); endpoints whose feature is switched off are `None`.
///
/// [`Attesto::router`](crate::Attesto::router) mounts, and discovery advertises, every endpoint of
/// the table that is `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Paths {
    /// Authorization endpoint (RFC 6749 §3.1), default `{prefix}/authorize`.
    pub authorize: &'static str,
    /// Token endpoint (RFC 6749 §3.2), default `{prefix}/token`.
    pub token: &'static str,
    /// JSON Web Key Set (RFC 7517 §5), default `{prefix}/jwks`.
    pub jwks: &'static str,
    /// OpenID Connect userinfo endpoint, default `{prefix}/userinfo`; needs `openid` and `userinfo`.
    pub userinfo: Option<&'static str>,
    /// Token revocation (RFC 7009), default `{prefix}/revoke`.
    pub revocation: Option<&'static str>,
    /// Token introspection (RFC 7662), default `{prefix}/introspect`.
    pub introspection: Option<&'static str>,
    /// Pushed authorization requests (RFC 9126), default `{prefix}/par`.
    pub par: Option<&'static str>,
    /// Dynamic client registration (RFC 7591), default `{prefix}/register`; the RFC 7592 client
    /// configuration endpoint is `{registration}/{client_id}`.
    pub registration: Option<&'static str>,
    /// The path of the protected resource the host serves (`resource = "/mcp"`), e.g. an MCP
    /// server: tokens may be issued for it (RFC 8707) and
    /// [`Attesto::resource_guard`](crate::Attesto::resource_guard) protects it. Not an attesto
    /// route: the host mounts it.
    pub resource: Option<&'static str>,
    /// Where the router serves the resource's metadata (RFC 9728 §3.1): the well-known path followed
    /// by the resource's path, e.g. `/.well-known/oauth-protected-resource/mcp`.
    pub resource_metadata: Option<&'static str>,
}

/// The feature flags of a provider declaration, emitted by the macro as `Type::FEATURES`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    /// OpenID Connect: ID tokens and `/.well-known/openid-configuration` (on by default).
    pub openid: bool,
    /// The userinfo endpoint (on by default, needs `openid`).
    pub userinfo: bool,
    /// Token revocation, RFC 7009 (on by default).
    pub revocation: bool,
    /// Token introspection, RFC 7662 (on by default).
    pub introspection: bool,
    /// Pushed authorization requests, RFC 9126 (on by default).
    pub par: bool,
    /// Dynamic client registration, RFC 7591 / RFC 7592 (off by default).
    pub registration: bool,
}

/// A declared provider: the host type that `#[attesto::provider]` (or `attesto::attesto_routes!`)
/// was applied to.
///
/// Do not implement this trait by hand: the macro checks the declaration at compile time and
/// implements it. The host implements [`ClientStore`] and [`PrincipalStore`] (required), and may
/// implement [`ScopePolicy`], [`ConsentPolicy`] and [`EventSink`] to replace their defaults;
/// [`RegistrationStore`] is required when `registration` is on.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an attesto provider",
    label = "not declared as a provider",
    note = "put `#[attesto::provider]` on the struct, or declare it with `attesto::attesto_routes! {{ {Self} }}`"
)]
pub trait Provider: ClientStore + PrincipalStore + Clone + Send + Sync + 'static {
    /// The resolved endpoint paths.
    const PATHS: Paths;
    /// The feature flags.
    const FEATURES: Features;

    /// The scope policy: the host's [`ScopePolicy`] impl, or the default.
    fn scope_policy(&self) -> impl ScopePolicy + '_;
    /// The consent policy: the host's [`ConsentPolicy`] impl, or the default.
    fn consent_policy(&self) -> impl ConsentPolicy + '_;
    /// The event sink: the host's [`EventSink`] impl, or the default (`tracing` events).
    fn event_sink(&self) -> impl EventSink + '_;
    /// The registration store, present exactly when `registration` is on.
    fn registration_store(&self) -> Option<impl RegistrationStore + '_>;
}

/// What the generated code needs; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::{Features, Paths, Provider};
    pub use crate::host::consent::ConsentPolicy;
    pub use crate::host::events::EventSink;
    pub use crate::host::registrations::RegistrationStore;
    pub use crate::model::scope::ScopePolicy;

    /// The defaults of the optional host traits.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Defaults;
    impl ScopePolicy for Defaults {}
    impl ConsentPolicy for Defaults {}
    impl EventSink for Defaults {}

    /// The registration store of a provider without `registration`; never called, since the
    /// registration endpoints are not mounted then.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct NoRegistration;
    impl RegistrationStore for NoRegistration {
        async fn create_client(&self, _: &crate::host::registrations::ClientRegistration) -> Result<(), crate::HostError> {
            Err(crate::HostError::msg("registration is not enabled"))
        }
        async fn load_registration(
            &self,
            _: &crate::model::client::ClientId,
        ) -> Result<Option<crate::host::registrations::ClientRegistration>, crate::HostError> {
            Ok(None)
        }
        async fn update_client(&self, _: &crate::host::registrations::ClientRegistration) -> Result<bool, crate::HostError> {
            Ok(false)
        }
        async fn delete_client(&self, _: &crate::model::client::ClientId) -> Result<bool, crate::HostError> {
            Ok(false)
        }
    }

    /// Picks the host's impl of an optional trait when there is one, else [`Defaults`]
    /// (autoref-based dispatch: the generated code calls these on `&&Dispatch(self)` for the
    /// concrete host type, and method resolution prefers the impl on `&&Dispatch<T>`, which
    /// exists only when `T` implements the trait).
    #[derive(Debug)]
    pub struct Dispatch<'a, T>(pub &'a T);

    // Associated types rather than `impl Trait` returns: an opaque return would capture the
    // lifetimes of the temporary `&&Dispatch` receiver.
    macro_rules! optional_trait {
        ($host:ident, $default:ident, $method:ident, $trait:path) => {
            /// Host impl of the optional trait, chosen first.
            pub trait $host<'a> {
                /// The policy type.
                type Policy: $trait + 'a;
                /// The policy to use.
                fn $method(self) -> Self::Policy;
            }
            impl<'a, T: $trait> $host<'a> for &&Dispatch<'a, T> {
                type Policy = &'a T;
                fn $method(self) -> &'a T {
                    self.0
                }
            }
            /// Default of the optional trait, chosen when the host has no impl.
            pub trait $default<'a> {
                /// The policy type.
                type Policy: $trait + 'a;
                /// The policy to use.
                fn $method(self) -> Self::Policy;
            }
            impl<'a, T> $default<'a> for &Dispatch<'a, T> {
                type Policy = Defaults;
                fn $method(self) -> Defaults {
                    Defaults
                }
            }
        };
    }
    optional_trait!(ScopeViaHost, ScopeViaDefault, __attesto_scope_policy, ScopePolicy);
    optional_trait!(ConsentViaHost, ConsentViaDefault, __attesto_consent_policy, ConsentPolicy);
    optional_trait!(EventsViaHost, EventsViaDefault, __attesto_event_sink, EventSink);
}
