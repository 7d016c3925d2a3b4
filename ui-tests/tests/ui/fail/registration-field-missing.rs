//! `registration = "field"` names a field the host does not have: the error is on the literal.

#[derive(Clone)]
#[attesto::provider(registration = "registrations")]
struct Auth {
    clients: Vec<String>,
}

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
