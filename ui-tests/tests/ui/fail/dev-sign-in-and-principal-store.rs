//! `dev_sign_in` implements `PrincipalStore` for the host, which cannot implement it as well:
//! the conflict names the option.

#[derive(Clone)]
#[attesto::provider(dev_sign_in = "demo-user")]
struct Auth;

impl attesto::ClientStore for Auth {}

impl attesto::PrincipalStore for Auth {
    async fn authenticate(
        &self,
        _request: &attesto::LoginRequest<'_>,
    ) -> Result<attesto::LoginOutcome, attesto::HostError> {
        Ok(attesto::LoginOutcome::LoginRequired)
    }
}

fn main() {}
