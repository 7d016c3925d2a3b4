//! A provider implements `attesto::ClientStore`: the error is on the type's name.

use attesto::{HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider]
struct Auth;

impl PrincipalStore for Auth {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn main() {}
