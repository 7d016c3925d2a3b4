//! A mistake in the options is reported once: the type still gets its consts and its
//! `Provider` impl (with the default options), so code that uses them adds no errors.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(prefx = "/auth")]
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

const TOKEN: &str = Auth::PATHS.token;

fn require_provider<P: attesto::Provider>() {}

fn use_it() {
    require_provider::<Auth>();
    let _ = TOKEN;
}

fn main() {}
