//! `end_session` adds the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) under
//! the prefix or where `end_session_path` says, and hands the host's `SessionStore` to the
//! runtime.

use attesto::{
    Client, ClientStore, EndSessionRequest, HostError, HostSession, LoginOutcome, LoginRequest, PrincipalStore,
    SessionStore,
};
use http::{HeaderMap, HeaderValue};

#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", end_session)]
struct Auth;

#[derive(Clone)]
#[attesto::provider(end_session, end_session_path = "/logout")]
struct Other;

macro_rules! host {
    ($ty:ty) => {
        impl ClientStore for $ty {
            async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
                Ok(None)
            }
        }

        impl PrincipalStore for $ty {
            async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
                Ok(LoginOutcome::LoginRequired)
            }
        }

        impl SessionStore for $ty {
            async fn current_session(&self, _headers: &HeaderMap) -> Result<Option<HostSession>, HostError> {
                Ok(None)
            }
            async fn end_session(&self, _request: &EndSessionRequest<'_>) -> Result<Vec<HeaderValue>, HostError> {
                Ok(Vec::new())
            }
        }
    };
}
host!(Auth);
host!(Other);

fn main() {
    assert_eq!(Auth::PATHS.end_session, Some("/mcp/oauth/end_session"));
    assert!(Auth::FEATURES.end_session);
    assert!(attesto::Provider::session_store(&Auth).is_some());
    assert_eq!(Other::PATHS.end_session, Some("/logout"));
}
