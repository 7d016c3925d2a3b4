//! `resource = "…"` names the protected resource the host serves: its path and the path of its
//! RFC 9728 document are in the table; the host root is a valid resource.

use attesto::{Client, ClientStore, HostError, LoginOutcome, LoginRequest, PrincipalStore};

#[derive(Clone)]
#[attesto::provider(prefix = "/mcp/oauth", registration, resource = "/mcp")]
struct Auth;

#[derive(Clone)]
#[attesto::provider(resource = "/")]
struct Root;

macro_rules! host {
    ($ty:ty) => {
        impl ClientStore for $ty {
            async fn load_client(&self, _client_id: &str) -> Result<Option<Client>, HostError> {
                Ok(None)
            }
        }

        impl PrincipalStore for $ty {
            async fn authenticate(&self, _request: &LoginRequest<'_>) -> Result<LoginOutcome, HostError> {
                Ok(LoginOutcome::LoginRequired)
            }
        }
    };
}

host!(Auth);
host!(Root);

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

fn main() {
    assert_eq!(Auth::PATHS.resource, Some("/mcp"));
    assert_eq!(Auth::PATHS.resource_metadata, Some("/.well-known/oauth-protected-resource/mcp"));
    assert_eq!(Auth::PATHS.token, "/mcp/oauth/token");
    assert_eq!(Root::PATHS.resource, Some("/"));
    assert_eq!(Root::PATHS.resource_metadata, Some("/.well-known/oauth-protected-resource"));

    let root = attesto::Attesto::builder(Root)
        .issuer("https://mcp.example.com/tenant")
        .expect("valid issuer")
        .signing_key(attesto::Key::generate(attesto::Algorithm::ES256).expect("key"))
        .build()
        .expect("provider builds");
    // On the issuer's origin, whatever the issuer's path.
    assert_eq!(root.resource_url(), Some("https://mcp.example.com"));
}
