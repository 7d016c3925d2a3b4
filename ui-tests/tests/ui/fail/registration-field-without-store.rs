//! The field `registration = "field"` names must store registrations (`RegistrationStore`): the
//! error is on the literal.

#[derive(Clone)]
#[attesto::provider(registration = "clients")]
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
