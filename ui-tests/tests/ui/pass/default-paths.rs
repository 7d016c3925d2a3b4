//! With no options every endpoint lives under `/oauth`, and registration is off.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
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

fn main() {
    assert_eq!(
        Auth::PATHS,
        attesto::Paths {
            authorize: "/oauth/authorize",
            token: "/oauth/token",
            jwks: "/oauth/jwks",
            userinfo: Some("/oauth/userinfo"),
            revocation: Some("/oauth/revoke"),
            introspection: Some("/oauth/introspect"),
            par: Some("/oauth/par"),
            registration: None,
            device_authorization: None,
            device_verification: None,
            end_session: None,
            resource: None,
            resource_metadata: None,
        }
    );
    assert_eq!(
        Auth::FEATURES,
        attesto::Features {
            openid: true,
            userinfo: true,
            revocation: true,
            introspection: true,
            par: true,
            registration: false,
            device_authorization: false,
            end_session: false,
            dev_sign_in: None,
        }
    );
    // The trait's table is the same one.
    assert_eq!(<Auth as attesto::Provider>::PATHS, Auth::PATHS);
    assert_eq!(<Auth as attesto::Provider>::FEATURES, Auth::FEATURES);
    assert!(attesto::Provider::registration_store(&Auth).is_none());
    assert!(attesto::Provider::session_store(&Auth).is_none());
}
