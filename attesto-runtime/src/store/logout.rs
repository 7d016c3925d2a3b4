//! The record of a relying party to notify when a user's session ends (OpenID Connect
//! Back-Channel Logout 1.0 §2.7): which client received tokens in which of the user's sessions.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::model::client::ClientId;

/// One client that received tokens in one session of a user and registered a
/// `backchannel_logout_uri`: when the session ends, the client is sent a logout token
/// (Back-Channel Logout 1.0 §2.5).
///
/// Recorded by attesto when tokens are issued under a user's grant
/// ([`Store::put_logout_session`](super::Store::put_logout_session)), and taken, once, when the
/// session ends ([`Store::take_logout_sessions`](super::Store::take_logout_sessions)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LogoutSession {
    /// The user (the principal's `sub`).
    pub subject: String,
    /// The host's session identifier (the `sid` of the ID tokens issued in it); `None` when the
    /// host gave the principal none: the record is then keyed by the subject alone, and ended by
    /// a logout of a session without identifier.
    pub session_id: Option<String>,
    /// The client to notify.
    pub client_id: ClientId,
    /// After this the record is forgotten: the client's own session, which its tokens started,
    /// has ended by then (attesto records the refresh token lifetime from the last issue).
    pub expires_at: SystemTime,
}

impl LogoutSession {
    /// The record of `client_id` in the session `session_id` of `subject`, kept until
    /// `expires_at`.
    pub fn new(
        subject: impl Into<String>,
        session_id: Option<String>,
        client_id: ClientId,
        expires_at: SystemTime,
    ) -> Self {
        Self { subject: subject.into(), session_id, client_id, expires_at }
    }
}
