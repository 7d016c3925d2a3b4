//! The `Provider` trait the `#[attesto::provider]` macro implements, over the host's traits.

use crate::host::clients::ClientStore;
use crate::host::consent::ConsentPolicy;
use crate::host::events::EventSink;
use crate::host::exchange::TokenExchangePolicy;
use crate::host::identity_assertion::IdentityAssertionPolicy;
use crate::host::legacy::LegacyTokens;
use crate::host::principals::PrincipalStore;
use crate::host::registrations::RegistrationStore;
use crate::host::scopes::ScopePolicy;
use crate::host::sessions::SessionStore;
use crate::model::declaration::{Features, Paths};

/// A declared provider: the host type that `#[attesto::provider]` (or `attesto::attesto_routes!`)
/// was applied to.
///
/// Do not implement this trait by hand: the macro checks the declaration at compile time and
/// implements it. The host implements [`ClientStore`] and [`PrincipalStore`] (required; in
/// development, `dev_sign_in = "subject"` implements `PrincipalStore` and `ConsentPolicy`), and may
/// implement [`ScopePolicy`], [`ConsentPolicy`] and [`EventSink`] to replace their defaults;
/// [`RegistrationStore`] is required when `registration` is on (by the host, or by the field
/// `registration = "field"` names).
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
    /// The host's sessions, present exactly when `end_session` is on.
    fn session_store(&self) -> Option<impl SessionStore + '_>;
    /// The token exchange policy: the host's [`TokenExchangePolicy`] impl, or `None` when it has
    /// none, and then token exchange (RFC 8693) is not served.
    fn token_exchange_policy(&self) -> Option<impl TokenExchangePolicy + '_>;
    /// The identity assertion policy: the host's [`IdentityAssertionPolicy`] impl, or `None`
    /// when it has none, and then no trusted identity issuer may be configured.
    fn identity_assertion_policy(&self) -> Option<impl IdentityAssertionPolicy + '_>;
    /// The tokens of the provider this one replaces: the host's [`LegacyTokens`] impl, or `None`
    /// when it has none, and then only attesto's own tokens are accepted.
    fn legacy_tokens(&self) -> Option<impl LegacyTokens + '_>;
}

/// What the generated code needs; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use super::Provider;
    pub use crate::error::HostError;
    pub use crate::host::clients::ClientStore;
    pub use crate::host::consent::{ConsentDecision, ConsentPolicy, ConsentRequest};
    pub use crate::host::dev::{authenticate as dev_authenticate, consent as dev_consent};
    pub use crate::host::events::EventSink;
    pub use crate::host::exchange::TokenExchangePolicy;
    pub use crate::host::identity_assertion::IdentityAssertionPolicy;
    pub use crate::host::legacy::LegacyTokens;
    pub use crate::host::principals::{LoginOutcome, LoginRequest, PrincipalStore};
    pub use crate::host::registrations::RegistrationStore;
    pub use crate::host::scopes::ScopePolicy;
    pub use crate::host::sessions::SessionStore;
    pub use crate::model::declaration::{Features, Paths};
    pub use crate::model::principal::AuthenticatedPrincipal;

    /// The defaults of the optional host traits.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Defaults;
    impl ScopePolicy for Defaults {}
    impl ConsentPolicy for Defaults {}
    impl EventSink for Defaults {}
    impl TokenExchangePolicy for Defaults {}
    impl IdentityAssertionPolicy for Defaults {}
    impl LegacyTokens for Defaults {
        // Never asked: a host without an impl has no `legacy_tokens()`.
        fn accepted_until(&self) -> std::time::SystemTime {
            std::time::SystemTime::UNIX_EPOCH
        }
    }

    /// The registration store of a provider without `registration`; never called, since the
    /// registration endpoints are not mounted then.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct NoRegistration;
    impl RegistrationStore for NoRegistration {
        async fn create_client(&self, _: &crate::host::registrations::ClientRegistration) -> Result<(), HostError> {
            Err(HostError::msg("registration is not enabled"))
        }
        async fn load_registration(
            &self,
            _: &crate::model::client::ClientId,
        ) -> Result<Option<crate::host::registrations::ClientRegistration>, HostError> {
            Ok(None)
        }
        async fn update_client(&self, _: &crate::host::registrations::ClientRegistration) -> Result<bool, HostError> {
            Ok(false)
        }
        async fn delete_client(&self, _: &crate::model::client::ClientId) -> Result<bool, HostError> {
            Ok(false)
        }
    }

    /// The sessions of a provider without `end_session`; never called, since the end-session
    /// endpoint is not mounted then.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct NoSessions;
    impl SessionStore for NoSessions {
        async fn current_session(
            &self,
            _: &http::HeaderMap,
        ) -> Result<Option<crate::host::sessions::HostSession>, HostError> {
            Ok(None)
        }
        async fn end_session(
            &self,
            _: &crate::host::sessions::EndSessionRequest<'_>,
        ) -> Result<Vec<http::HeaderValue>, HostError> {
            Err(HostError::msg("logout is not enabled"))
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

    // An optional trait whose absence switches a feature off: the host's impl, or `None`.
    macro_rules! feature_trait {
        ($host:ident, $default:ident, $method:ident, $trait:path) => {
            /// Host impl of the optional trait, chosen first.
            pub trait $host<'a> {
                /// The policy type.
                type Policy: $trait + 'a;
                /// The policy to use, if any.
                fn $method(self) -> Option<Self::Policy>;
            }
            impl<'a, T: $trait> $host<'a> for &&Dispatch<'a, T> {
                type Policy = &'a T;
                fn $method(self) -> Option<&'a T> {
                    Some(self.0)
                }
            }
            /// No impl of the optional trait: the feature is off.
            pub trait $default<'a> {
                /// The policy type.
                type Policy: $trait + 'a;
                /// The policy to use, if any.
                fn $method(self) -> Option<Self::Policy>;
            }
            impl<'a, T> $default<'a> for &Dispatch<'a, T> {
                type Policy = Defaults;
                fn $method(self) -> Option<Defaults> {
                    None
                }
            }
        };
    }
    feature_trait!(ExchangeViaHost, ExchangeViaDefault, __attesto_token_exchange_policy, TokenExchangePolicy);
    feature_trait!(AssertionViaHost, AssertionViaDefault, __attesto_identity_assertion_policy, IdentityAssertionPolicy);
    feature_trait!(LegacyViaHost, LegacyViaDefault, __attesto_legacy_tokens, LegacyTokens);
}
