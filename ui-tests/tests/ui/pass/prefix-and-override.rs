//! A prefix moves the default paths; an override is an absolute path on the host and wins.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", token_path = "/mcp/token")]
struct Auth;

impl ClientStore for Auth {
    async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl PrincipalStore for Auth {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn main() {
    assert_eq!(Auth::PATHS.authorize, "/mcp/oauth/authorize");
    assert_eq!(Auth::PATHS.token, "/mcp/token");
    assert_eq!(Auth::PATHS.jwks, "/mcp/oauth/jwks");
    assert_eq!(Auth::PATHS.userinfo, Some("/mcp/oauth/userinfo"));
    assert_eq!(Auth::PATHS.revocation, Some("/mcp/oauth/revoke"));
    assert_eq!(Auth::PATHS.introspection, Some("/mcp/oauth/introspect"));
    assert_eq!(Auth::PATHS.par, Some("/mcp/oauth/par"));
    assert_eq!(Auth::PATHS.registration, None);
}
