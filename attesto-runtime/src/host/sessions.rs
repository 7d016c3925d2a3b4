//! The [`SessionStore`] host trait: the host's sign-in sessions, which logout ends (OpenID
//! Connect RP-Initiated Logout 1.0).
//!
//! A trait of its own rather than methods with defaults on [`PrincipalStore`](crate::PrincipalStore):
//! a logout that cannot end the session is a lie to the user, so there is no sensible default.
//! With `end_session` on, the macro requires an impl at compile time (the error points at the
//! flag), as `registration` requires a `RegistrationStore`.

use std::future::Future;

use http::{HeaderMap, HeaderValue};

use crate::error::HostError;

/// A signed-in session of the host, as the end-session endpoint sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostSession {
    /// The subject signed in (the `sub` of the ID tokens issued in this session).
    pub subject: String,
    /// The host's identifier of the session, if it has one: the `sid` of the ID tokens issued in
    /// it (OpenID Connect Front-Channel Logout 1.0 §3), when the host put it on the
    /// [`AuthenticatedPrincipal`](crate::AuthenticatedPrincipal) at sign-in. An ID token hint
    /// with a `sid` matches only the session with that identifier.
    pub session_id: Option<String>,
}

impl HostSession {
    /// A session of `subject`, without an identifier.
    pub fn new(subject: impl Into<String>) -> Self {
        Self { subject: subject.into(), session_id: None }
    }

    /// Sets the session's identifier.
    #[must_use]
    pub fn with_session_id(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }
}

/// What attesto asks the host to end.
#[derive(Debug)]
#[non_exhaustive]
pub struct EndSessionRequest<'a> {
    /// The browser request's headers (cookies, where the host's session lives).
    pub headers: &'a HeaderMap,
    /// The session to end, as [`SessionStore::current_session`] found it.
    pub session: &'a HostSession,
    /// The client the logout came from, when the request named one (by its `id_token_hint` or
    /// `client_id`).
    pub client_id: Option<&'a str>,
}

/// The host's sign-in sessions: required when `end_session` is on.
///
/// ```
/// use attesto_runtime::{EndSessionRequest, HostError, HostSession, SessionStore};
/// use http::{HeaderMap, HeaderValue};
///
/// struct Host;
/// impl SessionStore for Host {
///     async fn current_session(&self, headers: &HeaderMap) -> Result<Option<HostSession>, HostError> {
///         // Read the session cookie and look it up in the host's own table.
///         let signed_in = headers.get("cookie").is_some_and(|c| c.as_bytes() == b"session=alice");
///         Ok(signed_in.then(|| HostSession::new("alice").with_session_id("s1")))
///     }
///     async fn end_session(&self, request: &EndSessionRequest<'_>) -> Result<Vec<HeaderValue>, HostError> {
///         // Delete the session row, then clear the browser's cookie.
///         let _ = request.session;
///         Ok(vec![HeaderValue::from_static("session=; Path=/; Max-Age=0; HttpOnly")])
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `attesto::SessionStore`",
    label = "`end_session` needs `impl attesto::SessionStore for {Self}`",
    note = "logout ends the host's session: implement `current_session` and `end_session` against your sessions"
)]
pub trait SessionStore: Send + Sync {
    /// The session of the browser behind `headers`, or `None` when it is not signed in.
    fn current_session(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<HostSession>, HostError>> + Send;

    /// Ends the session `request` names. Returns the `Set-Cookie` header values to send with the
    /// answer (typically one that clears the session cookie); other headers are not the host's
    /// to set here.
    fn end_session(
        &self,
        request: &EndSessionRequest<'_>,
    ) -> impl Future<Output = Result<Vec<HeaderValue>, HostError>> + Send;
}

impl<T: SessionStore + ?Sized> SessionStore for &T {
    fn current_session(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Option<HostSession>, HostError>> + Send {
        (**self).current_session(headers)
    }

    fn end_session(
        &self,
        request: &EndSessionRequest<'_>,
    ) -> impl Future<Output = Result<Vec<HeaderValue>, HostError>> + Send {
        (**self).end_session(request)
    }
}
