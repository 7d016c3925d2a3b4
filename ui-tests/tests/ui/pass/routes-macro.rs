//! `attesto_routes!` declares a type defined elsewhere in the crate, with the same options.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

mod host {
    #[derive(Clone)]
    pub struct Auth;
}

attesto::attesto_routes! { host::Auth, prefix = "/auth", openid = false, jwks_path = "/keys" }

impl ClientStore for host::Auth {
    async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl PrincipalStore for host::Auth {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn main() {
    assert_eq!(host::Auth::PATHS.authorize, "/auth/authorize");
    assert_eq!(host::Auth::PATHS.jwks, "/keys");
    assert_eq!(host::Auth::PATHS.userinfo, None);
    assert!(!host::Auth::FEATURES.openid);
    assert_eq!(<host::Auth as attesto::Provider>::PATHS, host::Auth::PATHS);
}
