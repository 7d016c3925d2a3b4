//! The signed-in user and the [`PrincipalStore`] host trait: attesto asks the host who the user is.

use std::time::SystemTime;

/// A user who has authenticated with the host.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AuthenticatedPrincipal {
    /// The stable subject identifier (`sub`).
    pub subject: String,
    /// When the user authenticated (`auth_time`).
    pub auth_time: SystemTime,
    /// The authentication context class reference (`acr`), if any.
    pub acr: Option<String>,
    /// The authentication methods used (`amr`), if known.
    pub amr: Vec<String>,
    /// The host's identifier of the sign-in session, if it gives one: the `sid` claim of the ID
    /// tokens of this sign-in (OpenID Connect Front-Channel Logout 1.0 §3, Back-Channel Logout
    /// 1.0 §2.4), kept by their refreshes. It must stay the same for the whole host session and
    /// be what [`SessionStore::current_session`](crate::SessionStore::current_session) reports as
    /// [`HostSession::session_id`](crate::HostSession::session_id), so that a logout names it.
    /// Records stored before it existed read back without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
}

impl AuthenticatedPrincipal {
    /// A principal with a subject and the time of authentication.
    pub fn new(subject: impl Into<String>, auth_time: SystemTime) -> Self {
        Self { subject: subject.into(), auth_time, acr: None, amr: Vec::new(), session_id: None }
    }

    /// Sets `acr`.
    #[must_use]
    pub fn with_acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// Sets the host's session identifier, the ID tokens' `sid`
    /// ([`session_id`](Self::session_id)).
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Sets `amr`.
    #[must_use]
    pub fn with_amr<I: IntoIterator<Item = S>, S: Into<String>>(mut self, amr: I) -> Self {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }
}

/// The subject of a token and the extra claims the host puts in it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Principal {
    /// The subject (`sub`).
    pub subject: String,
    /// Extra claims for the access token. Registered claims attesto sets itself (`iss`, `sub`,
    /// `aud`, `exp`, `iat`, `nbf`, `jti`, `client_id`, `scope`, `cnf`, `grant_id`, and the
    /// sign-in's `auth_time`, `acr` and `amr`) are never set from here.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Principal {
    /// A principal with no extra claims.
    pub fn new(subject: impl Into<String>) -> Self {
        Self { subject: subject.into(), claims: serde_json::Map::new() }
    }
}
