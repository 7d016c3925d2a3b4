//! `device_authorization` adds the device authorization endpoint and the verification page
//! (RFC 8628), each under the prefix or where its override says.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", device_authorization, device_verification_path = "/activate")]
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

#[derive(Clone)]
#[attesto::provider(device_authorization, device_path = "/oauth/device/code")]
struct Other;

impl ClientStore for Other {
    async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
        Ok(None)
    }
}

impl PrincipalStore for Other {
    async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
        Ok(LoginOutcome::LoginRequired)
    }
}

fn main() {
    assert_eq!(Auth::PATHS.device_authorization, Some("/mcp/oauth/device_authorization"));
    assert_eq!(Auth::PATHS.device_verification, Some("/activate"));
    assert!(Auth::FEATURES.device_authorization);
    assert_eq!(Other::PATHS.device_authorization, Some("/oauth/device/code"));
    assert_eq!(Other::PATHS.device_verification, Some("/oauth/device"));
}
