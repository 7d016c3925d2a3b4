//! The [`EventSink`] host trait: one event per security-relevant outcome.

use crate::client::GrantType;
use crate::error::ErrorCode;

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
}

impl<T: EventSink + ?Sized> EventSink for &T {
    fn token_issued(&self, event: &TokenIssued<'_>) {
        (**self).token_issued(event);
    }
    fn token_denied(&self, event: &TokenDenied<'_>) {
        (**self).token_denied(event);
    }
}
