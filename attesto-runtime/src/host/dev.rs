//! The development sign-in a declaration turns on with `dev_sign_in = "subject"`: every
//! authorization request is signed in as that subject and approved, with no page shown, so that
//! automated MCP clients and conformance tools complete the flow without a browser.
//!
//! The macro implements [`PrincipalStore`](crate::PrincipalStore) and
//! [`ConsentPolicy`](crate::ConsentPolicy) for the host with these two functions. The builder
//! refuses it for an issuer that is not on a loopback host, says so on standard error when it
//! builds, and logs every sign-in it makes at `warn`: it must never reach production unnoticed.

use std::future::{Ready, ready};
use std::time::SystemTime;

use crate::error::HostError;
use crate::host::consent::ConsentDecision;
use crate::host::principals::{LoginOutcome, LoginRequest};
use crate::model::principal::AuthenticatedPrincipal;

/// Signs the request in as `subject`, now: `prompt=login` and any `max_age` are satisfied, since
/// the sign-in happens at this moment.
pub fn authenticate(subject: &'static str, request: &LoginRequest<'_>) -> Ready<Result<LoginOutcome, HostError>> {
    tracing::warn!(
        target: "attesto::dev_sign_in",
        subject,
        client_id = request.client.client_id.as_str(),
        "development sign-in: signed in without a login page (`dev_sign_in` is for development only)"
    );
    ready(Ok(LoginOutcome::Authenticated(AuthenticatedPrincipal::new(subject, SystemTime::now()))))
}

/// Approves every request without attesto's consent page.
pub fn consent() -> Ready<Result<ConsentDecision, HostError>> {
    ready(Ok(ConsentDecision::Granted))
}
