//! A provider is `Clone` (the router clones it into every handler): the error is on the type's name.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[attesto::provider]
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

fn main() {}
