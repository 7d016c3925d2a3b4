//! `prefix = "/"` puts the endpoints at the host root, without a double slash.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(prefix = "/")]
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
    assert_eq!(Auth::PATHS.authorize, "/authorize");
    assert_eq!(Auth::PATHS.token, "/token");
    assert_eq!(Auth::PATHS.par, Some("/par"));
}
