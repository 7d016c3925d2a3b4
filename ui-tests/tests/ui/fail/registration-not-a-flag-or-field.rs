//! `registration` is a flag or names a field; a number is neither.

#[derive(Clone)]
#[attesto::provider(registration = 1)]
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
