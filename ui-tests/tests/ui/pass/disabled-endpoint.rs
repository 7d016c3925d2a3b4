//! A feature switched off has no path; `openid = false` switches userinfo off too.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(par = false, openid = false, revocation = true)]
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
    assert_eq!(Auth::PATHS.par, None);
    assert_eq!(Auth::PATHS.userinfo, None);
    assert_eq!(Auth::PATHS.revocation, Some("/oauth/revoke"));
    assert!(!Auth::FEATURES.par);
    assert!(!Auth::FEATURES.openid);
    assert!(!Auth::FEATURES.userinfo);
    assert!(Auth::FEATURES.revocation);
}
