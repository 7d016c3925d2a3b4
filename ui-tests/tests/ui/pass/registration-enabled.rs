//! `registration` adds the registration endpoint and hands the host's `RegistrationStore` to the runtime.

use attesto::{
    Client, ClientId, ClientRegistration, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore,
    RegistrationStore,
};

#[derive(Clone)]
#[attesto::provider(registration, registration_path = "/connect/register")]
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
    assert_eq!(Auth::PATHS.registration, Some("/connect/register"));
    assert!(Auth::FEATURES.registration);
    assert!(attesto::Provider::registration_store(&Auth).is_some());
}
