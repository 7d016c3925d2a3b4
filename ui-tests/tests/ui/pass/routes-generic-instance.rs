//! A generic host type cannot carry the attribute, but one concrete instance of it can be
//! declared with `attesto_routes!`.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
struct Auth<Db>(Db);

attesto::attesto_routes! { Auth<u8>, prefix = "/db" }

impl ClientStore for Auth<u8> {
    async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl PrincipalStore for Auth<u8> {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn main() {
    assert_eq!(Auth::<u8>::PATHS.token, "/db/token");
    assert_eq!(<Auth<u8> as attesto::Provider>::PATHS, Auth::<u8>::PATHS);
}
