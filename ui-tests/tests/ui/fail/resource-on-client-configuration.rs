//! A resource one segment under the registration endpoint would shadow a client configuration URL (RFC 7592).

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(registration, resource = "/oauth/register/mcp")]
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

impl attesto::RegistrationStore for Auth {
    async fn create_client(&self, _: &attesto::ClientRegistration) -> Result<(), HostError> {
        Ok(())
    }
    async fn load_registration(&self, _: &attesto::ClientId) -> Result<Option<attesto::ClientRegistration>, HostError> {
        Ok(None)
    }
    async fn update_client(&self, _: &attesto::ClientRegistration) -> Result<bool, HostError> {
        Ok(false)
    }
    async fn delete_client(&self, _: &attesto::ClientId) -> Result<bool, HostError> {
        Ok(false)
    }
}

fn main() {}
