//! The [`EventSink`] host trait: one event per security-relevant outcome.

use crate::error::ErrorCode;
use crate::model::client::{GrantType, TokenEndpointAuthMethod};

/// A token was issued.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenIssued<'a> {
    /// The client it was issued to.
    pub client_id: &'a str,
    /// The subject of the token.
    pub subject: &'a str,
    /// The grant that produced it.
    pub grant_type: GrantType,
    /// The granted scope, space-delimited.
    pub scope: &'a str,
    /// The token's audiences.
    pub audience: &'a [String],
    /// The access token's `jti`.
    pub jti: &'a str,
}

/// A token request was refused.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenDenied<'a> {
    /// The client id the request named, if it named one (it may not exist).
    pub client_id: Option<&'a str>,
    /// The grant type asked for, when it was one attesto knows.
    pub grant_type: Option<GrantType>,
    /// The error answered.
    pub error: ErrorCode,
    /// The description answered.
    pub description: &'a str,
}

/// An authorization code was issued to a client.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CodeIssued<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The user who authorized it.
    pub subject: &'a str,
    /// The granted scope, space-delimited.
    pub scope: &'a str,
}

/// An authorization request ended with an error sent back to the client (the user denied
/// consent, the request was invalid, the user is not signed in and `prompt=none` was asked).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthorizationDenied<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The user, when known.
    pub subject: Option<&'a str>,
    /// The scope asked for or granted so far, space-delimited (empty when not yet known).
    pub scope: &'a str,
    /// The error sent to the client.
    pub error: ErrorCode,
    /// The description sent to the client.
    pub description: &'a str,
}

/// A refresh token was used and replaced by a new one.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefreshRotated<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The user.
    pub subject: &'a str,
    /// The scope of the new access token, space-delimited.
    pub scope: &'a str,
    /// The refresh family.
    pub family_id: &'a str,
}

/// A refresh token that had been rotated out was presented again: the whole family is revoked
/// (RFC 9700 §4.14.2). Someone holds a copy of a token they should not have.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefreshReuseDetected<'a> {
    /// The client the family belongs to.
    pub client_id: &'a str,
    /// The user.
    pub subject: &'a str,
    /// The family's scope, space-delimited.
    pub scope: &'a str,
    /// The revoked family.
    pub family_id: &'a str,
}

/// An authorization code was presented a second time: what its first redemption issued is
/// revoked (RFC 9700 §4.5.3.1).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CodeReuseDetected<'a> {
    /// The client id of the replaying request.
    pub client_id: &'a str,
    /// The refresh family revoked.
    pub family_id: &'a str,
    /// The access token `jti` revoked.
    pub jti: &'a str,
}

/// A client revoked one of its tokens (RFC 7009).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenRevoked<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The token's subject.
    pub subject: &'a str,
    /// `access_token` or `refresh_token` (a refresh token revokes its whole family).
    pub token_type: &'a str,
}

/// The host revoked a grant a user gave a client ([`Attesto::revoke_grant`](crate::Attesto::revoke_grant),
/// [`Attesto::revoke_all_grants`](crate::Attesto::revoke_all_grants)): its refresh tokens and
/// every access token issued under it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GrantRevoked<'a> {
    /// The client the grant was given to.
    pub client_id: &'a str,
    /// The user.
    pub subject: &'a str,
    /// The grant (the `grant_id` claim of its access tokens).
    pub grant_id: &'a str,
}

/// A user's session at the host ended, by logout at the end-session endpoint or by the host
/// ([`Attesto::session_ended`](crate::Attesto::session_ended)): what attesto did about it
/// (OpenID Connect Back-Channel Logout 1.0 §2.7).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionEnded<'a> {
    /// The user.
    pub subject: &'a str,
    /// The session's identifier (its `sid`), if it had one.
    pub session_id: Option<&'a str>,
    /// How many grants given in the session were revoked (those without `offline_access`).
    pub grants_revoked: usize,
    /// How many relying parties were queued a logout token.
    pub notifications_queued: usize,
    /// How many relying parties were not: the delivery queue was full (see
    /// [`BackchannelLogoutOutcome::Dropped`]).
    pub notifications_dropped: usize,
}

/// What became of one logout token (OpenID Connect Back-Channel Logout 1.0 §2.5, §2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackchannelLogoutOutcome<'a> {
    /// The relying party answered 200 or 204 (§2.8), at the given attempt.
    Delivered {
        /// Which attempt succeeded, from 1.
        attempts: u32,
    },
    /// Not delivered: a final refusal (a 4xx other than 429, a redirect, an address the fetch
    /// policy refuses), or every attempt failed.
    Failed {
        /// How many attempts were made.
        attempts: u32,
        /// The last failure, for the operator.
        reason: &'a str,
    },
    /// Never sent: the bounded delivery queue was full.
    Dropped,
}

/// A logout token was delivered to a relying party's `backchannel_logout_uri`, or was not.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackchannelLogout<'a> {
    /// The relying party.
    pub client_id: &'a str,
    /// The user whose session ended.
    pub subject: &'a str,
    /// The session's identifier, if it had one.
    pub session_id: Option<&'a str>,
    /// What happened.
    pub outcome: BackchannelLogoutOutcome<'a>,
}

/// A client registered itself (RFC 7591 §3).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientRegistered<'a> {
    /// The client id attesto issued.
    pub client_id: &'a str,
    /// The `client_name` the client gave, if any (self-asserted: show it as such).
    pub client_name: Option<&'a str>,
    /// How it authenticates at the token endpoint; `none` is a public client.
    pub token_endpoint_auth_method: TokenEndpointAuthMethod,
    /// The grant types it registered.
    pub grant_types: &'a [GrantType],
    /// The scope it may be granted, space-delimited.
    pub scope: &'a str,
}

/// A DPoP proof was presented a second time (RFC 9449 §11.1): refused. A replay means the proof
/// (and likely the token it accompanies) was captured and is being reused, or a client resends
/// requests with the same proof; either is worth an alert.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DpopProofReplayed<'a> {
    /// The thumbprint of the proof's key (RFC 7638): the key the token is bound to.
    pub jkt: &'a str,
    /// The proof's `jti`.
    pub jti: &'a str,
    /// The method of the request (`htm`).
    pub method: &'a str,
    /// The URL of the request (`htu`): a provider endpoint or a protected resource.
    pub uri: &'a str,
}

/// A client ID metadata document could not be used (feature `fetch`). The caller was told only
/// which step failed; this says why: the resolved address refused, the remote status, the
/// document's fault.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientMetadataDocumentRefused<'a> {
    /// The document's URL, the `client_id` presented.
    pub client_id: &'a str,
    /// Why it was refused, for the operator.
    pub reason: &'a str,
}

/// Receives security events. Optional: the default writes `tracing` events (target
/// `attesto::events`).
///
/// Methods are synchronous and sit on the request path: hand slow work (a database write, a
/// webhook) to a queue or a task.
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::EventSink`",
    note = "implement `attesto::EventSink` for `{Self}`, or leave it out to log with `tracing`"
)]
pub trait EventSink: Send + Sync {
    /// A token was issued.
    fn token_issued(&self, event: &TokenIssued<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            grant_type = event.grant_type.as_str(),
            scope = event.scope,
            aud = ?event.audience,
            jti = event.jti,
            "token issued"
        );
    }

    /// A token request was refused.
    fn token_denied(&self, event: &TokenDenied<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            grant_type = event.grant_type.map(GrantType::as_str),
            error = event.error.as_str(),
            description = event.description,
            "token denied"
        );
    }

    /// An authorization code was issued.
    fn code_issued(&self, event: &CodeIssued<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            scope = event.scope,
            "code issued"
        );
    }

    /// An authorization request was answered with an error.
    fn authorization_denied(&self, event: &AuthorizationDenied<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            scope = event.scope,
            error = event.error.as_str(),
            description = event.description,
            "authorization denied"
        );
    }

    /// A refresh token was rotated.
    fn refresh_rotated(&self, event: &RefreshRotated<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            scope = event.scope,
            family_id = event.family_id,
            "refresh rotated"
        );
    }

    /// A rotated-out refresh token was reused; its family is revoked.
    fn refresh_reuse_detected(&self, event: &RefreshReuseDetected<'_>) {
        tracing::warn!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            scope = event.scope,
            family_id = event.family_id,
            "refresh reuse detected; family revoked"
        );
    }

    /// A client revoked a token.
    fn token_revoked(&self, event: &TokenRevoked<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            token_type = event.token_type,
            "token revoked"
        );
    }

    /// The host revoked a grant.
    fn grant_revoked(&self, event: &GrantRevoked<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            sub = event.subject,
            grant_id = event.grant_id,
            "grant revoked"
        );
    }

    /// A used authorization code was presented again; what it issued is revoked.
    fn code_reuse_detected(&self, event: &CodeReuseDetected<'_>) {
        tracing::warn!(
            target: "attesto::events",
            client_id = event.client_id,
            family_id = event.family_id,
            jti = event.jti,
            "authorization code reuse detected; issued tokens revoked"
        );
    }

    /// A DPoP proof was presented again and refused.
    fn dpop_proof_replayed(&self, event: &DpopProofReplayed<'_>) {
        tracing::warn!(
            target: "attesto::events",
            jkt = event.jkt,
            jti = event.jti,
            method = event.method,
            uri = event.uri,
            "DPoP proof replay refused"
        );
    }

    /// A client ID metadata document could not be used.
    fn client_metadata_document_refused(&self, event: &ClientMetadataDocumentRefused<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            reason = event.reason,
            "client ID metadata document refused"
        );
    }

    /// A user's session ended; its grants were revoked and its relying parties queued logout
    /// tokens.
    fn session_ended(&self, event: &SessionEnded<'_>) {
        tracing::info!(
            target: "attesto::events",
            sub = event.subject,
            sid = event.session_id,
            grants_revoked = event.grants_revoked,
            notifications_queued = event.notifications_queued,
            notifications_dropped = event.notifications_dropped,
            "session ended"
        );
    }

    /// A logout token was delivered, failed, or was dropped. Called from the delivery task, not
    /// a request.
    fn backchannel_logout(&self, event: &BackchannelLogout<'_>) {
        match event.outcome {
            BackchannelLogoutOutcome::Delivered { attempts } => tracing::info!(
                target: "attesto::events",
                client_id = event.client_id,
                sub = event.subject,
                sid = event.session_id,
                attempts,
                "back-channel logout delivered"
            ),
            BackchannelLogoutOutcome::Failed { attempts, reason } => tracing::warn!(
                target: "attesto::events",
                client_id = event.client_id,
                sub = event.subject,
                sid = event.session_id,
                attempts,
                reason,
                "back-channel logout failed"
            ),
            BackchannelLogoutOutcome::Dropped => tracing::error!(
                target: "attesto::events",
                client_id = event.client_id,
                sub = event.subject,
                sid = event.session_id,
                "back-channel logout dropped: the delivery queue is full"
            ),
        }
    }

    /// A client registered itself.
    fn client_registered(&self, event: &ClientRegistered<'_>) {
        tracing::info!(
            target: "attesto::events",
            client_id = event.client_id,
            client_name = event.client_name,
            auth_method = event.token_endpoint_auth_method.as_str(),
            grant_types = ?event.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
            scope = event.scope,
            "client registered"
        );
    }
}

impl<T: EventSink + ?Sized> EventSink for &T {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        (**self).token_issued(event);
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        (**self).token_denied(event);
    }
    fn code_issued(&self, event: &CodeIssued<'_>) {
        (**self).code_issued(event);
    }
    fn authorization_denied(&self, event: &AuthorizationDenied<'_>) {
        (**self).authorization_denied(event);
    }
    fn refresh_rotated(&self, event: &RefreshRotated<'_>) {
        (**self).refresh_rotated(event);
    }
    fn refresh_reuse_detected(&self, event: &RefreshReuseDetected<'_>) {
        (**self).refresh_reuse_detected(event);
    }
    fn code_reuse_detected(&self, event: &CodeReuseDetected<'_>) {
        (**self).code_reuse_detected(event);
    }
    fn token_revoked(&self, event: &TokenRevoked<'_>) {
        (**self).token_revoked(event);
    }
    fn grant_revoked(&self, event: &GrantRevoked<'_>) {
        (**self).grant_revoked(event);
    }
    fn dpop_proof_replayed(&self, event: &DpopProofReplayed<'_>) {
        (**self).dpop_proof_replayed(event);
    }
    fn client_registered(&self, event: &ClientRegistered<'_>) {
        (**self).client_registered(event);
    }
    fn client_metadata_document_refused(&self, event: &ClientMetadataDocumentRefused<'_>) {
        (**self).client_metadata_document_refused(event);
    }
    fn session_ended(&self, event: &SessionEnded<'_>) {
        (**self).session_ended(event);
    }
    fn backchannel_logout(&self, event: &BackchannelLogout<'_>) {
        (**self).backchannel_logout(event);
    }
}
