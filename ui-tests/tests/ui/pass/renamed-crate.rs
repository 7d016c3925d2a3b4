//! `crate = "…"` names the attesto crate when the host renamed it: generated code goes through
//! that path only.

extern crate attesto as auth_lib;

use auth_lib::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[auth_lib::provider(crate = "auth_lib", prefix = "/id")]
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
    assert_eq!(Auth::PATHS.token, "/id/token");
    assert_eq!(<Auth as auth_lib::Provider>::PATHS, Auth::PATHS);
}
