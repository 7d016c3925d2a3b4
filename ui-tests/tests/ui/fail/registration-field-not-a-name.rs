//! `registration = "…"` names a field of the host: the error is on the literal.

#[derive(Clone)]
#[attesto::provider(registration = "the registrations")]
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
