//! The generated code is clean under strict lints in the host crate: documented public consts,
//! no needless qualification.

#![deny(warnings, missing_docs, unused_qualifications, unreachable_pub, rust_2018_idioms)]

use attesto::{
    Client, ClientId, ClientRegistration, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore,
    RegistrationStore,
};

/// The host.
#[derive(Clone)]
#[attesto::provider(registration)]
pub struct Auth;

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

impl RegistrationStore for Auth {
    async fn create_client(&self, _registration: &ClientRegistration) -> Result<(), HostError> {
        Ok(())
    }
    async fn load_registration(&self, _client_id: &ClientId) -> Result<Option<ClientRegistration>, HostError> {
        Ok(None)
    }
    async fn update_client(&self, _registration: &ClientRegistration) -> Result<bool, HostError> {
        Ok(false)
    }
    async fn delete_client(&self, _client_id: &ClientId) -> Result<bool, HostError> {
        Ok(false)
    }
}

fn main() {
    assert_eq!(Auth::PATHS.registration, Some("/oauth/register"));
}
