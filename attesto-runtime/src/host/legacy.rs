//! The [`LegacyTokens`] host trait: the tokens of the provider attesto replaces, accepted until a
//! cut-off, so that the clients of that provider carry on without signing their users in again.

use std::future::Future;
use std::time::SystemTime;

use crate::error::HostError;
use crate::model::client::ClientId;
use crate::model::principal::AuthenticatedPrincipal;
use crate::model::scope::Scopes;

/// What an old refresh token stood for, as the host's old tables say: the grant attesto carries
/// over into a new refresh family of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyGrant {
    /// The user who signed in, and when (the old grant's sign-in time if the old tables kept
    /// it, else when it was issued): the new tokens' `sub` and `auth_time`.
    pub principal: AuthenticatedPrincipal,
    /// The client the old token was issued to: only that client may exchange it (RFC 6749
    /// §6), authenticated as it authenticates for any refresh.
    pub client_id: ClientId,
    /// The scopes the old grant held: the most the new family holds, narrowed by the token
    /// request's `scope` and by the host's [`ScopePolicy`](crate::ScopePolicy).
    pub scopes: Scopes,
    /// The RFC 8707 resources the old grant was for, each one this provider knows (else the
    /// exchange is refused); empty for the provider's default audience.
    pub resources: Vec<String>,
}

impl LegacyGrant {
    /// A grant of `scopes` to `client_id` for `principal`, for the default audience.
    pub fn new(principal: AuthenticatedPrincipal, client_id: impl Into<String>, scopes: Scopes) -> Self {
        Self { principal, client_id: ClientId::new(client_id), scopes, resources: Vec::new() }
    }

    /// Sets the resources the grant was for (RFC 8707).
    #[must_use]
    pub fn with_resources<I: IntoIterator<Item = S>, S: Into<String>>(mut self, resources: I) -> Self {
        self.resources = resources.into_iter().map(Into::into).collect();
        self
    }
}

/// What an old access token stands for, as the host verified it: attesto maps it to an
/// [`Authenticated`](crate::Authenticated) caller, with the same audience and scope checks as its
/// own tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LegacyAccessToken {
    /// The user (or, for a client's own token, the client): `Authenticated::subject`.
    pub subject: String,
    /// Whether a user authorized the token (`true` by default) or the client got it for itself
    /// (`false`: `Authenticated::kind` is `TokenKind::Client`).
    pub user: bool,
    /// The client it was issued to; a client the host's tables no longer know is refused.
    pub client_id: ClientId,
    /// Its scopes.
    pub scopes: Scopes,
    /// The resources it is for: a guard accepts it only when one of them is its resource (RFC
    /// 8707), compared as attesto compares its own tokens' `aud`.
    pub audience: Vec<String>,
    /// When it expires: refused after (with the guard's usual clock skew).
    pub expires_at: SystemTime,
}

impl LegacyAccessToken {
    /// A user's token for `audience`, issued to `client_id`, with `scopes`, until `expires_at`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(
        subject: impl Into<String>,
        client_id: impl Into<String>,
        scopes: Scopes,
        audience: I,
        expires_at: SystemTime,
    ) -> Self {
        Self {
            subject: subject.into(),
            user: true,
            client_id: ClientId::new(client_id),
            scopes,
            audience: audience.into_iter().map(Into::into).collect(),
            expires_at,
        }
    }

    /// Marks the token as a client's own (the old provider's `client_credentials`), not a
    /// user's.
    #[must_use]
    pub fn client_acting_for_itself(mut self) -> Self {
        self.user = false;
        self
    }
}

/// The tokens of the provider attesto replaces, accepted until [`accepted_until`](Self::accepted_until)
/// so that its clients move over without their users signing in again. Optional: a provider
/// whose host does not implement it accepts only its own tokens.
///
/// - **Refresh tokens**, at the token endpoint: a `refresh_token` grant whose token attesto does
///   not know is offered to [`verify_refresh_token`](Self::verify_refresh_token). If the host
///   vouches for it, and the client presenting it is the one it was issued to, attesto answers as
///   for a refresh, with tokens of a new refresh family of its own, and records the old token as
///   spent (through the [`Store`](crate::store::Store), until the cut-off): a second
///   presentation is reuse, `invalid_grant`, and revokes that new family (RFC 9700 §4.14.2).
/// - **Access tokens**, at an in-process [`Guard`](crate::Guard): a `Bearer` token that is not
///   a valid access token of attesto's is offered to
///   [`verify_access_token`](Self::verify_access_token), and what the host returns is checked as
///   attesto's own tokens are (expiry, audience, client, scopes). Not at userinfo, not with the
///   `DPoP` scheme, and not at a `RemoteGuard` (which has no host to ask).
///
/// Nothing is asked of the host after the cut-off, or for a token that cannot be one (longer
/// than 4096 bytes, or not of RFC 6749 / RFC 6750 token syntax). Each call is one request an
/// anonymous caller can cause: look the token up by an index (its hash), as attesto looks up
/// its own, and keep any signature check to one verification.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use attesto_runtime::{AuthenticatedPrincipal, HostError, LegacyAccessToken, LegacyGrant, LegacyTokens, Scopes};
///
/// struct Host;
/// impl LegacyTokens for Host {
///     fn accepted_until(&self) -> SystemTime {
///         // 2027-01-01: the old provider's refresh tokens lived 90 days at most.
///         SystemTime::UNIX_EPOCH + Duration::from_secs(1_798_761_600)
///     }
///
///     async fn verify_refresh_token(&self, token: &str) -> Result<Option<LegacyGrant>, HostError> {
///         // SELECT user_id, client_id, scopes FROM oauth_tokens WHERE refresh_hash = sha256(token)…
///         let _ = token;
///         Ok(None)
///     }
///
///     async fn verify_access_token(&self, token: &str) -> Result<Option<LegacyAccessToken>, HostError> {
///         let _ = token;
///         Ok(None)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::LegacyTokens`",
    note = "implement `attesto::LegacyTokens` for `{Self}` to accept the tokens of the provider it replaces"
)]
pub trait LegacyTokens: Send + Sync {
    /// The cut-off: from this time on, old tokens are refused without asking the host, and
    /// the records of spent old refresh tokens may be forgotten. Required: carrying tokens over
    /// is for the migration's overlap, and a host says when that ends (the old refresh tokens'
    /// longest remaining lifetime, say).
    fn accepted_until(&self) -> SystemTime;

    /// The grant the old refresh token `token` stands for, or `None` when the old tables do not
    /// know it (or it expired or was revoked there). The default knows none.
    fn verify_refresh_token(&self, token: &str) -> impl Future<Output = Result<Option<LegacyGrant>, HostError>> + Send {
        let _ = token;
        std::future::ready(Ok(None))
    }

    /// What the old access token `token` stands for, or `None` when it is not one (unknown,
    /// revoked, or its signature does not verify). attesto checks the expiry, audience, client
    /// and scopes itself. The default knows none.
    fn verify_access_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<LegacyAccessToken>, HostError>> + Send {
        let _ = token;
        std::future::ready(Ok(None))
    }
}

impl<T: LegacyTokens + ?Sized> LegacyTokens for &T {
    fn accepted_until(&self) -> SystemTime {
        (**self).accepted_until()
    }

    fn verify_refresh_token(&self, token: &str) -> impl Future<Output = Result<Option<LegacyGrant>, HostError>> + Send {
        (**self).verify_refresh_token(token)
    }

    fn verify_access_token(
        &self,
        token: &str,
    ) -> impl Future<Output = Result<Option<LegacyAccessToken>, HostError>> + Send {
        (**self).verify_access_token(token)
    }
}
